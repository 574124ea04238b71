/* Strict parsers for the scalar texts of the config file and of option
 * defaults. They never skip spaces and never accept a prefix: the config
 * lexer relies on that to classify a bare word by trying each parser in
 * turn. Numbers are accumulated by hand rather than with strtoll(), which
 * would accept leading spaces and would need errno juggling. */
#include "units.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Accumulates the run of decimal digits at *text into *value. Returns the
 * number of digits read (0 when there are none) or PL_ERANGE on overflow,
 * in which case the run is still consumed so that callers can tell a
 * too-large number from a malformed one. */
static int read_digits(const char **text, uint64_t *value) {
  const char *p = *text;
  uint64_t v = 0;
  bool overflow = false;
  while (is_digit(*p)) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      overflow = true;
    else
      v = v * 10 + d;
    p++;
  }
  int count = (int)(p - *text);
  *text = p;
  *value = v;
  if (overflow)
    return PL_ERANGE;
  return count;
}

int pl__parse_uint(const char *text, uint64_t *out) {
  const char *p = text;
  uint64_t value = 0;
  int n = read_digits(&p, &value);
  if (n == 0 || *p != '\0')
    return PL_EPARSE;
  if (n < 0)
    return PL_ERANGE;
  *out = value;
  return 0;
}

int pl__parse_int(const char *text, int64_t *out) {
  const char *p = text;
  bool negative = false;
  if (*p == '+' || *p == '-')
    negative = *p++ == '-';
  uint64_t magnitude = 0;
  int rc = pl__parse_uint(p, &magnitude);
  if (rc < 0)
    return rc;
  /* INT64_MIN has no positive counterpart, so the limit depends on the
   * sign. */
  uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (magnitude > limit)
    return PL_ERANGE;
  if (negative)
    *out =
        magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
  else
    *out = (int64_t)magnitude;
  return 0;
}

/* Moves *p past a run of one or more digits; false when there is none. */
static bool skip_digits(const char **p) {
  if (!is_digit(**p))
    return false;
  while (is_digit(**p))
    (*p)++;
  return true;
}

int pl__parse_double(const char *text, double *out) {
  /* The syntax is checked here because strtod() also takes "inf", "nan",
   * hexadecimal floats and leading spaces, none of which belong in a
   * config file. */
  const char *p = text;
  if (*p == '+' || *p == '-')
    p++;
  if (!skip_digits(&p))
    return PL_EPARSE;
  if (*p == '.') {
    p++;
    if (!skip_digits(&p))
      return PL_EPARSE;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!skip_digits(&p))
      return PL_EPARSE;
  }
  if (*p != '\0')
    return PL_EPARSE;

  /* strtod() reads the locale's decimal point; a daemon that called
   * setlocale() must still read "1.5", so the point is swapped for the
   * locale's own in a copy when they differ. */
  const char *point = localeconv()->decimal_point;
  size_t len = (size_t)(p - text);
  char *copy = NULL;
  const char *input = text;
  if (point && strcmp(point, ".") != 0 && strchr(text, '.')) {
    size_t point_len = strlen(point);
    copy = malloc(len + point_len + 1);
    if (!copy)
      return PL_ENOMEM;
    const char *dot = strchr(text, '.');
    size_t head = (size_t)(dot - text);
    memcpy(copy, text, head);
    memcpy(copy + head, point, point_len);
    memcpy(copy + head + point_len, dot + 1, len - head); /* with the NUL */
    input = copy;
  }
  char *end = NULL;
  double value = strtod(input, &end);
  bool complete = end && *end == '\0';
  free(copy);
  if (!complete)
    return PL_EPARSE;
  /* Underflow towards zero is accepted (the nearest double is the best
   * answer); only a result that does not fit at all is an error. */
  if (isinf(value))
    return PL_ERANGE;
  *out = value;
  return 0;
}

int pl__parse_bool(const char *text, bool *out) {
  if (strcmp(text, "true") == 0) {
    *out = true;
    return 0;
  }
  if (strcmp(text, "false") == 0) {
    *out = false;
    return 0;
  }
  return PL_EPARSE;
}

/* A suffix and how many base units it stands for. */
typedef struct unit {
  const char *suffix;
  uint64_t factor;
} unit_t;

static const unit_t *find_unit(const unit_t *units, size_t count,
                               const char *suffix) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(units[i].suffix, suffix) == 0)
      return &units[i];
  return NULL;
}

static const unit_t duration_units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 3600 * 1000},
    {"d", 24 * 3600 * 1000},
};

int pl__parse_duration(const char *text, uint64_t *out_ms) {
  const unit_t *units = duration_units;
  if (strcmp(text, "0") == 0) {
    *out_ms = 0;
    return 0;
  }
  const char *p = text;
  uint64_t whole = 0;
  int n = read_digits(&p, &whole);
  if (n == 0)
    return PL_EPARSE;
  bool overflow = n < 0;

  /* The fraction is kept as an exact decimal (digits and their count) so
   * that "1.5s" is exactly 1500 and "0.0001s" can be refused instead of
   * being silently rounded. Trailing zeros carry no value and are
   * dropped; more than 10 significant fraction digits can never make a
   * whole number of milliseconds, because no unit has more than ten
   * factors of 2 or of 5 in its size in milliseconds. */
  uint64_t fraction = 0;
  int fraction_digits = 0;
  int pending_zeros = 0;
  bool too_precise = false;
  if (*p == '.') {
    p++;
    if (!is_digit(*p))
      return PL_EPARSE;
    for (; is_digit(*p); p++) {
      if (*p == '0') {
        pending_zeros++;
        continue;
      }
      if (fraction_digits + pending_zeros + 1 > 10) {
        too_precise = true;
        continue;
      }
      for (; pending_zeros > 0; pending_zeros--, fraction_digits++)
        fraction *= 10;
      fraction = fraction * 10 + (uint64_t)(*p - '0');
      fraction_digits++;
    }
  }
  const unit_t *unit = find_unit(
      units, sizeof duration_units / sizeof duration_units[0], p);
  if (!unit)
    return PL_EPARSE;
  if (overflow || too_precise)
    return PL_ERANGE;

  uint64_t scale = 1;
  for (int i = 0; i < fraction_digits; i++)
    scale *= 10;
  /* fraction < 10^10 and factor < 10^8, so the product fits. */
  uint64_t fraction_ms = fraction * unit->factor;
  if (fraction_ms % scale != 0)
    return PL_ERANGE;
  fraction_ms /= scale;
  if (whole > (UINT64_MAX - fraction_ms) / unit->factor)
    return PL_ERANGE;
  *out_ms = whole * unit->factor + fraction_ms;
  return 0;
}

static const unit_t size_units[] = {
    {"", 1},
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
};

int pl__parse_size(const char *text, uint64_t *out_bytes) {
  const unit_t *units = size_units;
  const char *p = text;
  uint64_t count = 0;
  int n = read_digits(&p, &count);
  if (n == 0)
    return PL_EPARSE;
  const unit_t *unit =
      find_unit(units, sizeof size_units / sizeof size_units[0], p);
  if (!unit)
    return PL_EPARSE;
  if (n < 0 || count > UINT64_MAX / unit->factor)
    return PL_ERANGE;
  *out_bytes = count * unit->factor;
  return 0;
}

/* The unit of `units` (in the order given) with the largest factor that
 * divides `value`. */
static const unit_t *exact_unit(const unit_t *units, size_t count,
                                uint64_t value) {
  const unit_t *best = &units[0];
  for (size_t i = 0; i < count; i++)
    if (value % units[i].factor == 0 && units[i].factor > best->factor)
      best = &units[i];
  return best;
}

int pl__format_duration(uint64_t ms, pl_buf_t *out) {
  if (ms == 0)
    return pl_buf_append_str(out, "0");
  const unit_t *unit = exact_unit(
      duration_units, sizeof duration_units / sizeof duration_units[0], ms);
  return pl_buf_printf(out, "%llu%s", (unsigned long long)(ms / unit->factor),
                       unit->suffix);
}

int pl__format_size(uint64_t bytes, pl_buf_t *out) {
  /* From "B" on: a bare number reads as bytes too, but says less. */
  const unit_t *unit =
      bytes == 0 ? &size_units[1]
                 : exact_unit(size_units + 1,
                              sizeof size_units / sizeof size_units[0] - 1,
                              bytes);
  return pl_buf_printf(out, "%llu%s",
                       (unsigned long long)(bytes / unit->factor),
                       unit->suffix);
}
