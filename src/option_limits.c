/* Limits of option-table rows: checks and their one wording. */
#include "option_limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

/* How a row's bounds are compared and written. */
typedef enum {
  LIMIT_NONE,   /* the type takes no limits */
  LIMIT_INT,    /* .i */
  LIMIT_DOUBLE, /* .d */
  LIMIT_MS,     /* .u, milliseconds */
  LIMIT_BYTES,  /* .u, bytes */
  LIMIT_LENGTH, /* .u, a count of bytes, items or entries */
} limit_kind_t;

static limit_kind_t kind_of(pl_opt_type_t type) {
  switch (type) {
  case PL_OPT_INT:
    return LIMIT_INT;
  case PL_OPT_DOUBLE:
    return LIMIT_DOUBLE;
  case PL_OPT_DURATION:
    return LIMIT_MS;
  case PL_OPT_SIZE:
    return LIMIT_BYTES;
  case PL_OPT_STRING:
  case PL_OPT_LIST:
  case PL_OPT_MAP:
    return LIMIT_LENGTH;
  default:
    return LIMIT_NONE;
  }
}

/* Whether each side limits anything: the end of the type's range does
 * not. */
static bool has_min(const pl_option_t *o) {
  switch (kind_of(o->type)) {
  case LIMIT_INT:
    return o->min.i != INT64_MIN;
  case LIMIT_DOUBLE:
    return o->min.d != -HUGE_VAL;
  case LIMIT_NONE:
    return false;
  default:
    return o->min.u != 0;
  }
}

static bool has_max(const pl_option_t *o) {
  switch (kind_of(o->type)) {
  case LIMIT_INT:
    return o->max.i != INT64_MAX;
  case LIMIT_DOUBLE:
    return o->max.d != HUGE_VAL;
  case LIMIT_NONE:
    return false;
  default:
    return o->max.u != UINT64_MAX;
  }
}

int pl__option_limits_valid(const pl_option_t *o, char **error) {
  if (!o->has_limits)
    return 0;
  const char *why = NULL;
  switch (kind_of(o->type)) {
  case LIMIT_NONE:
    why = "limits are for int, double, duration, size, string, list and "
          "map options";
    break;
  case LIMIT_INT:
    why = o->min.i > o->max.i ? "its minimum is above its maximum" : NULL;
    break;
  case LIMIT_DOUBLE:
    /* A NaN bound compares false: refused as well. */
    why = !(o->min.d <= o->max.d) ? "its minimum is above its maximum" : NULL;
    break;
  default:
    why = o->min.u > o->max.u ? "its minimum is above its maximum" : NULL;
    break;
  }
  if (!why)
    return 0;
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, "option '%s': %s", o->name, why);
  *error = buf.data;
  return PL_EINVAL;
}

/* The quantity a LIMIT_LENGTH row bounds. */
static uint64_t length_of(const pl_option_t *o, const void *value) {
  switch (o->type) {
  case PL_OPT_STRING: {
    const char *text = *(char *const *)value;
    return text ? strlen(text) : 0;
  }
  case PL_OPT_LIST:
    return ((const pl_list_t *)value)->count;
  case PL_OPT_MAP:
    return ((const pl_map_t *)value)->count;
  default:
    return 0;
  }
}

bool pl__option_limits_hold(const pl_option_t *o, const void *value) {
  if (!o->has_limits)
    return true;
  switch (kind_of(o->type)) {
  case LIMIT_NONE:
    return true;
  case LIMIT_INT: {
    int64_t v = *(const int64_t *)value;
    return v >= o->min.i && v <= o->max.i;
  }
  case LIMIT_DOUBLE: {
    double v = *(const double *)value;
    return v >= o->min.d && v <= o->max.d;
  }
  case LIMIT_LENGTH: {
    if (o->type == PL_OPT_STRING && !*(char *const *)value)
      return true;
    uint64_t n = length_of(o, value);
    return n >= o->min.u && n <= o->max.u;
  }
  default: {
    uint64_t v = *(const uint64_t *)value;
    return v >= o->min.u && v <= o->max.u;
  }
  }
}

/* "byte", "item" or "entry", in the plural unless `n` is 1. */
static const char *unit_word(pl_opt_type_t type, uint64_t n) {
  bool one = n == 1;
  switch (type) {
  case PL_OPT_STRING:
    return one ? "byte" : "bytes";
  case PL_OPT_LIST:
    return one ? "item" : "items";
  default:
    return one ? "entry" : "entries";
  }
}

static int append_bound(const pl_option_t *o, const pl_opt_bound_t *b,
                        pl_buf_t *out) {
  switch (kind_of(o->type)) {
  case LIMIT_INT:
    return pl_buf_printf(out, "%lld", (long long)b->i);
  case LIMIT_DOUBLE:
    return pl_buf_printf(out, "%g", b->d);
  case LIMIT_MS:
    return pl__format_duration(b->u, out);
  case LIMIT_BYTES:
    return pl__format_size(b->u, out);
  default:
    return pl_buf_printf(out, "%llu", (unsigned long long)b->u);
  }
}

int pl__option_limits_text(const pl_option_t *o, pl_buf_t *out) {
  bool lo = o->has_limits && has_min(o), hi = o->has_limits && has_max(o);
  if (!lo && !hi)
    return 0;
  bool length = kind_of(o->type) == LIMIT_LENGTH;
  int rc = 0;
  if (lo && hi && length && o->min.u == o->max.u) {
    rc = append_bound(o, &o->min, out);
  } else if (lo && hi) {
    rc = append_bound(o, &o->min, out);
    if (rc == 0)
      rc = pl_buf_append_str(out, " to ");
    if (rc == 0)
      rc = append_bound(o, &o->max, out);
  } else {
    rc = pl_buf_append_str(out, lo ? "at least " : "at most ");
    if (rc == 0)
      rc = append_bound(o, lo ? &o->min : &o->max, out);
  }
  if (rc == 0 && length)
    rc = pl_buf_printf(out, " %s",
                       unit_word(o->type, hi ? o->max.u : o->min.u));
  return rc;
}

int pl__option_limits_expected(const pl_option_t *o, pl_buf_t *out) {
  static const struct {
    pl_opt_type_t type;
    const char *noun;
  } nouns[] = {
      {PL_OPT_INT, "an integer"},      {PL_OPT_DOUBLE, "a number"},
      {PL_OPT_DURATION, "a duration"}, {PL_OPT_SIZE, "a size"},
      {PL_OPT_STRING, "a \"string\""}, {PL_OPT_LIST, "a list"},
      {PL_OPT_MAP, "a block"},
  };
  const char *noun = "a value";
  for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
    if (nouns[i].type == o->type)
      noun = nouns[i].noun;
  int rc = pl_buf_append_str(out, noun);
  if (rc < 0 || !o->has_limits || (!has_min(o) && !has_max(o)))
    return rc;
  const char *joint = o->type == PL_OPT_STRING ? " of"
                      : kind_of(o->type) == LIMIT_LENGTH ? " with"
                      : has_min(o) && has_max(o)         ? " from"
                                                         : " of";
  rc = pl_buf_printf(out, "%s ", joint);
  return rc < 0 ? rc : pl__option_limits_text(o, out);
}

int pl__option_limits_found(const pl_option_t *o, const void *value,
                            pl_buf_t *out) {
  if (kind_of(o->type) != LIMIT_LENGTH)
    return 0;
  uint64_t n = length_of(o, value);
  return pl_buf_printf(out, "%llu %s", (unsigned long long)n,
                       unit_word(o->type, n));
}

static json_t *bound_json(const pl_option_t *o, const pl_opt_bound_t *b) {
  switch (kind_of(o->type)) {
  case LIMIT_INT:
    return json_integer(b->i);
  case LIMIT_DOUBLE:
    return json_real(b->d);
  default:
    /* JSON integers are signed: a bound past INT64_MAX is said as text. */
    if (b->u > INT64_MAX) {
      char text[24];
      snprintf(text, sizeof text, "%llu", (unsigned long long)b->u);
      return json_string(text);
    }
    return json_integer((json_int_t)b->u);
  }
}

void pl__option_limits_json(const pl_option_t *o, json_t *item) {
  if (!o->has_limits || (!has_min(o) && !has_max(o)))
    return;
  bool length = kind_of(o->type) == LIMIT_LENGTH;
  if (has_min(o))
    json_object_set_new(item, length ? "min_length" : "min",
                        bound_json(o, &o->min));
  if (has_max(o))
    json_object_set_new(item, length ? "max_length" : "max",
                        bound_json(o, &o->max));
  pl_buf_t text = {0};
  if (pl__option_limits_text(o, &text) == 0 && text.data)
    json_object_set_new(item, "limits", json_string(text.data));
  pl_buf_free(&text);
}
