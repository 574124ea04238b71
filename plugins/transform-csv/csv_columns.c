/* Typed columns: text to JSON conversion and JSON validation (see
 * csv_columns.h). */
#include "csv_columns.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_columns {
  size_t count;
  csv_column_t *items; /* each name is its own allocation */
  /* Name -> position in items, as a JSON integer. A header can have
   * hundreds of thousands of columns, and comparing each name with every
   * earlier one took seconds; jansson's object is a hash table. */
  json_t *index;
};


/* ---- Reasons ---- */

/* Puts a reason into `reason` (when wanted) and returns PL_EPARSE, or
 * PL_ENOMEM when the reason itself cannot be stored. */
static int fail(pl_buf_t *reason, const char *fmt, ...) PL_PRINTF(2, 3);
static int fail(pl_buf_t *reason, const char *fmt, ...) {
  if (!reason)
    return PL_EPARSE;
  pl_buf_reset(reason);
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(reason, fmt, ap);
  va_end(ap);
  return rc == PL_ENOMEM ? PL_ENOMEM : PL_EPARSE;
}

/* A column's name as reasons show it. A name can come from a header row,
 * that is from the data, so it is quoted like field text: cut to
 * CSV_QUOTE_MAX_BYTES and with control characters escaped, so that a
 * reason stays short and on one line whatever the header holds. */
static void quote_name(char dst[CSV_QUOTE_BUF_SIZE], const csv_column_t *col) {
  csv_quote_text(dst, col->name, col->name_len);
}

/* ---- Types ---- */

static const char *const type_names[] = {
#define CSV__TYPE_NAME(name, text) [CSV_TYPE_##name] = text,
    CSV_TYPE_MAP(CSV__TYPE_NAME)
#undef CSV__TYPE_NAME
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

const char *csv_type_name(csv_type_t type) {
  return (size_t)type < TYPE_COUNT ? type_names[type] : "unknown";
}

int csv_type_parse(const char *name, size_t len, csv_type_t *out) {
  for (size_t i = 0; i < TYPE_COUNT; i++) {
    if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0) {
      *out = (csv_type_t)i;
      return 0;
    }
  }
  return PL_ENOENT;
}

/* ---- Text to value ---- */

/* Decimal syntax: [+-](digits[.digits*] | .digits)([eE][+-]digits). No
 * hex, inf or nan, which strtod() would otherwise accept. */
static bool is_decimal(const char *s, size_t len) {
  size_t i = 0;
  if (i < len && (s[i] == '+' || s[i] == '-'))
    i++;
  size_t int_digits = 0, frac_digits = 0;
  while (i < len && csv_is_digit(s[i]))
    i++, int_digits++;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && csv_is_digit(s[i]))
      i++, frac_digits++;
  }
  if (int_digits + frac_digits == 0)
    return false;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t exp_digits = 0;
    while (i < len && csv_is_digit(s[i]))
      i++, exp_digits++;
    if (exp_digits == 0)
      return false;
  }
  return i == len;
}

/* strtod() needs a NUL-terminated string, and `text` may not be one. The
 * daemon never calls setlocale(), so the decimal point is '.'. */
static int parse_real(const char *text, size_t len, double *out) {
  char small[64];
  char *buf = len < sizeof(small) ? small : malloc(len + 1);
  if (!buf)
    return PL_ENOMEM;
  memcpy(buf, text, len);
  buf[len] = '\0';
  errno = 0;
  char *end;
  double v = strtod(buf, &end);
  bool whole = end == buf + len;
  int err = errno;
  if (buf != small)
    free(buf);
  if (!whole)
    return PL_EPARSE;
  /* Underflow to zero or a subnormal is fine; overflow to inf is not. */
  if (err == ERANGE && isinf(v))
    return PL_ERANGE;
  *out = v;
  return 0;
}

static bool ascii_equal_nocase(const char *s, size_t len, const char *lower) {
  size_t n = strlen(lower);
  if (len != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != lower[i])
      return false;
  }
  return true;
}

static json_t *string_value(const char *text, size_t len) {
  return json_stringn_nocheck(text, len);
}

int csv_value_parse(csv_type_t type, const char *text, size_t len,
                    json_t **out) {
  if (!out || (!text && len > 0))
    return PL_EINVAL;
  if (len == 0)
    return PL_EPARSE;
  json_t *v = NULL;
  switch (type) {
  case CSV_TYPE_STRING:
    /* jansson would check too, but could not tell bad text from no memory. */
    if (!csv_text_is_utf8(text, len))
      return PL_EPARSE;
    v = string_value(text, len);
    break;
  case CSV_TYPE_INT: {
    json_int_t i;
    int rc = csv_text_parse_int(text, len, &i);
    if (rc < 0)
      return rc;
    v = json_integer(i);
    break;
  }
  case CSV_TYPE_NUMBER: {
    json_int_t i;
    int rc = csv_text_parse_int(text, len, &i);
    if (rc == 0) {
      v = json_integer(i);
      break;
    }
    if (!is_decimal(text, len))
      return PL_EPARSE;
    double d;
    rc = parse_real(text, len, &d);
    if (rc < 0)
      return rc;
    v = json_real(d);
    break;
  }
  case CSV_TYPE_BOOL:
    if (ascii_equal_nocase(text, len, "true") || (len == 1 && text[0] == '1'))
      v = json_true();
    else if (ascii_equal_nocase(text, len, "false") ||
             (len == 1 && text[0] == '0'))
      v = json_false();
    else
      return PL_EPARSE;
    break;
  case CSV_TYPE_DATE:
    if (!csv_text_is_date(text, len))
      return PL_EPARSE;
    v = string_value(text, len);
    break;
  case CSV_TYPE_TIMESTAMP:
    if (!csv_text_is_timestamp(text, len))
      return PL_EPARSE;
    v = string_value(text, len);
    break;
  default:
    return PL_EINVAL;
  }
  if (!v)
    return PL_ENOMEM;
  *out = v;
  return 0;
}

/* The end of "'abc' is not an int" for each type. */
static const char *type_expectation(csv_type_t type) {
  switch (type) {
  case CSV_TYPE_STRING:
    return "is not valid UTF-8";
  case CSV_TYPE_INT:
    return "is not an int";
  case CSV_TYPE_NUMBER:
    return "is not a number";
  case CSV_TYPE_BOOL:
    return "is not a bool (true, false, 1 or 0)";
  case CSV_TYPE_DATE:
    return "is not a valid date (YYYY-MM-DD)";
  case CSV_TYPE_TIMESTAMP:
    return "is not a valid timestamp (RFC 3339, e.g. 2023-05-01T12:00:00Z)";
  }
  return "is not valid";
}

int csv_column_convert(const csv_column_t *col, const char *text, size_t len,
                       json_t **out, pl_buf_t *reason) {
  if (!col || !out || (!text && len > 0))
    return PL_EINVAL;
  char name[CSV_QUOTE_BUF_SIZE];
  if (len == 0) {
    if (!col->required) {
      *out = json_null();
      return 0;
    }
    quote_name(name, col);
    return fail(reason, "column '%s' is required but empty", name);
  }
  int rc = csv_value_parse(col->type, text, len, out);
  if (rc != PL_EPARSE && rc != PL_ERANGE)
    return rc;
  char quoted[CSV_QUOTE_BUF_SIZE];
  quote_name(name, col);
  csv_quote_text(quoted, text, len);
  if (rc == PL_ERANGE)
    return fail(reason, "column '%s': '%s' is out of range for %s", name,
                quoted, col->type == CSV_TYPE_INT ? "an int" : "a number");
  return fail(reason, "column '%s': '%s' %s", name, quoted,
              type_expectation(col->type));
}

/* ---- Column lists ---- */

static void columns_free_items(csv_column_t *items, size_t count) {
  for (size_t i = 0; i < count; i++)
    free((char *)items[i].name);
  free(items);
}

void csv_columns_destroy(csv_columns_t *cols) {
  if (!cols)
    return;
  columns_free_items(cols->items, cols->count);
  json_decref(cols->index);
  free(cols);
}

size_t csv_columns_count(const csv_columns_t *cols) { return cols->count; }

const csv_column_t *csv_columns_get(const csv_columns_t *cols, size_t i) {
  return i < cols->count ? &cols->items[i] : NULL;
}

const csv_column_t *csv_columns_items(const csv_columns_t *cols) {
  return cols->items;
}

/* The column of `cols` called `name` (length `len`), or NULL; its position
 * goes to *index when index is not NULL. */
static const csv_column_t *find_column(const csv_columns_t *cols,
                                       const char *name, size_t len,
                                       size_t *index) {
  json_t *at = json_object_getn(cols->index, name, len);
  if (!at)
    return NULL;
  size_t i = (size_t)json_integer_value(at);
  if (index)
    *index = i;
  return &cols->items[i];
}

/* Appends *col, whose name `cols` now owns, and indexes it. The caller
 * checked that the name is not in the list yet. */
static int add_column(csv_columns_t *cols, const csv_column_t *col) {
  json_t *at = json_integer((json_int_t)cols->count);
  /* Names are valid UTF-8 without NUL: no need for jansson to check. */
  if (!at || json_object_setn_new_nocheck(cols->index, col->name, col->name_len,
                                          at) < 0) {
    free((char *)col->name);
    return PL_ENOMEM;
  }
  cols->items[cols->count++] = *col;
  return 0;
}

static char *copy_name(const char *name, size_t len) {
  char *copy = malloc(len + 1);
  if (copy) {
    memcpy(copy, name, len);
    copy[len] = '\0';
  }
  return copy;
}

/* [*start, *end) without ASCII spaces and tabs around it. */
static void trim(const char **start, const char **end) {
  while (*start < *end && (**start == ' ' || **start == '\t'))
    (*start)++;
  while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
    (*end)--;
}

static int type_list_fail(pl_buf_t *reason, size_t n, const char *spec,
                          const char *type, size_t type_len) {
  char quoted_spec[CSV_QUOTE_BUF_SIZE], quoted_type[CSV_QUOTE_BUF_SIZE];
  csv_quote_text(quoted_spec, spec, strlen(spec));
  csv_quote_text(quoted_type, type, type_len);
  return fail(reason,
              "column %zu '%s': unknown type '%s' (expected one of string, "
              "int, number, bool, date, timestamp)",
              n, quoted_spec, quoted_type);
}

/* Parses spec number n (1-based) into *col, whose name it allocates. */
static int parse_spec(const char *spec, size_t n, const csv_columns_t *done,
                      csv_column_t *col, pl_buf_t *reason) {
  char quoted[CSV_QUOTE_BUF_SIZE];
  if (!spec)
    return PL_EINVAL;
  csv_quote_text(quoted, spec, strlen(spec));
  const char *end = spec + strlen(spec);
  const char *colon1 = memchr(spec, ':', (size_t)(end - spec));
  if (!colon1)
    return fail(reason,
                "column %zu '%s': expected name:type or name:type:required", n,
                quoted);
  const char *name = spec, *name_end = colon1;
  trim(&name, &name_end);
  const char *type = colon1 + 1;
  const char *colon2 = memchr(type, ':', (size_t)(end - type));
  const char *type_end = colon2 ? colon2 : end;
  trim(&type, &type_end);

  if (name == name_end)
    return fail(reason, "column %zu '%s': empty name", n, quoted);
  if (!csv_text_is_utf8(name, (size_t)(name_end - name)))
    return fail(reason, "column %zu '%s': name is not valid UTF-8", n, quoted);
  csv_type_t t;
  if (csv_type_parse(type, (size_t)(type_end - type), &t) < 0)
    return type_list_fail(reason, n, spec, type, (size_t)(type_end - type));
  bool required = false;
  if (colon2) {
    const char *flag = colon2 + 1, *flag_end = end;
    trim(&flag, &flag_end);
    size_t flag_len = (size_t)(flag_end - flag);
    if (flag_len == 8 && memcmp(flag, "required", 8) == 0) {
      required = true;
    } else {
      char quoted_flag[CSV_QUOTE_BUF_SIZE];
      csv_quote_text(quoted_flag, flag, flag_len);
      return fail(reason,
                  "column %zu '%s': unknown flag '%s' (expected 'required')",
                  n, quoted, quoted_flag);
    }
  }
  size_t name_len = (size_t)(name_end - name);
  size_t other;
  if (find_column(done, name, name_len, &other))
    return fail(reason, "column %zu '%s': duplicate name (also column %zu)", n,
                quoted, other + 1);
  char *copy = copy_name(name, name_len);
  if (!copy)
    return PL_ENOMEM;
  *col = (csv_column_t){
      .name = copy, .name_len = name_len, .type = t, .required = required};
  return 0;
}

static int columns_new(size_t count, csv_columns_t **out) {
  csv_columns_t *cols = malloc(sizeof(*cols));
  csv_column_t *items = calloc(count, sizeof(*items));
  json_t *index = json_object();
  if (!cols || !items || !index) {
    free(cols);
    free(items);
    json_decref(index);
    return PL_ENOMEM;
  }
  *cols = (csv_columns_t){.count = 0, .items = items, .index = index};
  *out = cols;
  return 0;
}

int csv_columns_parse(const char *const *specs, size_t count,
                      csv_columns_t **out, pl_buf_t *reason) {
  if (!out || (!specs && count > 0))
    return PL_EINVAL;
  if (count == 0)
    return fail(reason, "no columns");
  csv_columns_t *cols;
  int rc = columns_new(count, &cols);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < count; i++) {
    csv_column_t col;
    rc = parse_spec(specs[i], i + 1, cols, &col, reason);
    if (rc == 0)
      rc = add_column(cols, &col);
    if (rc < 0) {
      csv_columns_destroy(cols);
      return rc;
    }
  }
  *out = cols;
  return 0;
}

int csv_columns_from_header(const char *const *names, const size_t *lens,
                            size_t count, const csv_columns_t *typed,
                            csv_columns_t **out, pl_buf_t *reason) {
  if (!out || (count > 0 && (!names || !lens)))
    return PL_EINVAL;
  if (count == 0)
    return fail(reason, "the header has no fields");
  csv_columns_t *cols;
  int rc = columns_new(count, &cols);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < count && rc == 0; i++) {
    const char *name = names[i];
    size_t len = lens[i];
    char quoted[CSV_QUOTE_BUF_SIZE];
    csv_quote_text(quoted, name, len);
    size_t other;
    if (len == 0) {
      rc = fail(reason, "header field %zu is empty", i + 1);
    } else if (memchr(name, '\0', len)) {
      rc = fail(reason, "header field %zu '%s' contains a NUL byte (\\0)",
                i + 1, quoted);
    } else if (!csv_text_is_utf8(name, len)) {
      rc = fail(reason, "header field %zu '%s' is not valid UTF-8 text", i + 1,
                quoted);
    } else if (find_column(cols, name, len, &other)) {
      rc = fail(reason, "header field %zu '%s' repeats header field %zu",
                i + 1, quoted, other + 1);
    } else {
      const csv_column_t *t =
          typed ? find_column(typed, name, len, NULL) : NULL;
      char *copy = copy_name(name, len);
      if (!copy) {
        rc = PL_ENOMEM;
        break;
      }
      rc = add_column(cols, &(csv_column_t){
                                .name = copy,
                                .name_len = len,
                                .type = t ? t->type : CSV_TYPE_STRING,
                                .required = t ? t->required : false,
                            });
    }
  }
  for (size_t i = 0; typed && rc == 0 && i < typed->count; i++) {
    const csv_column_t *t = &typed->items[i];
    if (!find_column(cols, t->name, t->name_len, NULL)) {
      char name[CSV_QUOTE_BUF_SIZE];
      quote_name(name, t);
      rc = fail(reason, "column '%s' is not in the header", name);
    }
  }
  if (rc < 0) {
    csv_columns_destroy(cols);
    return rc;
  }
  *out = cols;
  return 0;
}

/* ---- Validating JSON ---- */

static int check_member(const csv_column_t *col, const json_t *v,
                        pl_buf_t *reason) {
  bool ok = false;
  bool (*text_check)(const char *, size_t) = NULL;
  switch (col->type) {
  case CSV_TYPE_STRING:
    ok = json_is_string(v);
    break;
  case CSV_TYPE_INT:
    ok = json_is_integer(v);
    break;
  case CSV_TYPE_NUMBER:
    ok = json_is_number(v);
    break;
  case CSV_TYPE_BOOL:
    ok = json_is_boolean(v);
    break;
  case CSV_TYPE_DATE:
    ok = json_is_string(v);
    text_check = csv_text_is_date;
    break;
  case CSV_TYPE_TIMESTAMP:
    ok = json_is_string(v);
    text_check = csv_text_is_timestamp;
    break;
  }
  char name[CSV_QUOTE_BUF_SIZE];
  if (!ok) {
    quote_name(name, col);
    return fail(reason, "field '%s': expected %s, found %s", name,
                csv_type_name(col->type), csv_json_type_word(v));
  }
  if (text_check && !text_check(json_string_value(v), json_string_length(v))) {
    char quoted[CSV_QUOTE_BUF_SIZE];
    quote_name(name, col);
    csv_quote_text(quoted, json_string_value(v), json_string_length(v));
    return fail(reason, "field '%s': '%s' %s", name, quoted,
                type_expectation(col->type));
  }
  return 0;
}

int csv_columns_validate(const csv_columns_t *cols, const json_t *value,
                         pl_buf_t *reason) {
  if (!cols || !value)
    return PL_EINVAL;
  if (!json_is_object(value))
    return fail(reason, "expected an object, found %s", csv_json_type_word(value));
  for (size_t i = 0; i < cols->count; i++) {
    const csv_column_t *col = &cols->items[i];
    json_t *v = json_object_getn(value, col->name, col->name_len);
    if (!v || json_is_null(v)) {
      if (col->required) {
        char name[CSV_QUOTE_BUF_SIZE];
        quote_name(name, col);
        return fail(reason, "field '%s' is required but %s", name,
                    v ? "null" : "missing");
      }
      continue;
    }
    int rc = check_member(col, v, reason);
    if (rc < 0)
      return rc;
  }
  return 0;
}
