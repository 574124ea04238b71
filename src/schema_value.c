/* The values of typed columns: types, text to value, checking a value,
 * and the quoting of reasons (see <pipelined/schema_value.h>). */
#include <pipelined/schema_value.h>

#include <pipelined/timestamp.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* ---- Reasons ---- */

int pl_schema_reason(pl_buf_t *reason, const char *fmt, ...) {
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
 * PL_SCHEMA_QUOTE_MAX_BYTES and with control characters escaped, so that a
 * reason stays short and on one line whatever the header holds. */
static void quote_name(char dst[PL_SCHEMA_QUOTE_BUF_SIZE],
                       const pl_column_t *col) {
  pl_schema_quote(dst, col->name, col->name_len);
}

/* ---- Types ---- */

static const char *const type_names[] = {
#define PL__SCHEMA_TYPE_NAME(name, text) [PL_SCHEMA_##name] = text,
    PL_SCHEMA_TYPE_MAP(PL__SCHEMA_TYPE_NAME)
#undef PL__SCHEMA_TYPE_NAME
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

const char *pl_schema_type_name(pl_schema_type_t type) {
  return (size_t)type < TYPE_COUNT ? type_names[type] : "unknown";
}

int pl_schema_type_parse(const char *name, size_t len, pl_schema_type_t *out) {
  for (size_t i = 0; i < TYPE_COUNT; i++) {
    if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0) {
      *out = (pl_schema_type_t)i;
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
  while (i < len && is_digit(s[i]))
    i++, int_digits++;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && is_digit(s[i]))
      i++, frac_digits++;
  }
  if (int_digits + frac_digits == 0)
    return false;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t exp_digits = 0;
    while (i < len && is_digit(s[i]))
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

/* At most this many significant digits tell a double apart from its
 * neighbours (DBL_DECIMAL_DIG). */
#define REAL_MAX_DIGITS 17

/* A decimal text (is_decimal's syntax, or printf's %e) as 0.D x 10^*exp:
 * returns how many significant digits D has (no leading or trailing
 * zero; 0 for zero), of which the first REAL_MAX_DIGITS go to `digits`. */
static size_t decimal_digits(const char *s, size_t len,
                             char digits[REAL_MAX_DIGITS], int64_t *exp) {
  size_t i = 0, count = 0, zeros = 0; /* zeros: pending, maybe trailing */
  int64_t e = 0;
  bool fraction = false;
  if (i < len && (s[i] == '+' || s[i] == '-'))
    i++;
  for (; i < len && (is_digit(s[i]) || (s[i] == '.' && !fraction)); i++) {
    if (s[i] == '.') {
      fraction = true;
      continue;
    }
    if (count == 0 && s[i] == '0') {
      e -= fraction; /* a leading zero after the point */
      continue;
    }
    e += !fraction;
    if (s[i] == '0') {
      zeros++;
      continue;
    }
    for (; zeros > 0; zeros--, count++)
      if (count < REAL_MAX_DIGITS)
        digits[count] = '0';
    if (count < REAL_MAX_DIGITS)
      digits[count] = s[i];
    count++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool negative = i < len && s[i] == '-';
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    /* Saturated: a value this far out is inf or 0 to strtod() already. */
    int64_t x = 0;
    for (; i < len && is_digit(s[i]); i++)
      if (x < 1000000000)
        x = x * 10 + (s[i] - '0');
    e += negative ? -x : x;
  }
  *exp = count > 0 ? e : 0;
  return count;
}

/* Whether the double `d` that strtod() made of `text` is the value the
 * text says, written the shortest way that reads back as `d` (as sinks
 * write it: sink-dynamodb's N, templates): otherwise the number was
 * changed on the way in (3.141592653589793238 became 3.141592653589793,
 * 1e-400 became 0). */
static bool real_keeps_text(const char *text, size_t len, double d) {
  char want[REAL_MAX_DIGITS], got[REAL_MAX_DIGITS];
  int64_t want_exp, got_exp;
  size_t n = decimal_digits(text, len, want, &want_exp);
  if (n == 0 || d == 0)
    return n == 0 && d == 0; /* a non-zero text that became 0 underflowed */
  if (n > REAL_MAX_DIGITS)
    return false;
  /* Any text of up to DBL_DIG digits reads back from a normal double. */
  if (n <= DBL_DIG && fabs(d) >= DBL_MIN)
    return true;
  /* Written with as many digits as the text has, the double must give the
   * text's digits back, and with one digit fewer it must not read back as
   * itself: then no shorter text does either. */
  char buf[40];
  int w = snprintf(buf, sizeof(buf), "%.*e", (int)n - 1, d);
  if (w <= 0 || (size_t)w >= sizeof(buf) ||
      decimal_digits(buf, (size_t)w, got, &got_exp) != n ||
      got_exp != want_exp || memcmp(got, want, n) != 0)
    return false;
  if (n == 1)
    return true;
  snprintf(buf, sizeof(buf), "%.*e", (int)n - 2, d);
  return strtod(buf, NULL) != d;
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

int pl_schema_parse_value(pl_schema_type_t type, const char *text, size_t len,
                          json_t **out) {
  if (!out || (!text && len > 0))
    return PL_EINVAL;
  if (len == 0)
    return PL_EPARSE;
  json_t *v = NULL;
  switch (type) {
  case PL_SCHEMA_STRING:
    /* jansson would check too, but could not tell bad text from no memory. */
    if (!pl_utf8_valid(text, len))
      return PL_EPARSE;
    v = string_value(text, len);
    break;
  case PL_SCHEMA_INT: {
    json_int_t i;
    int rc = pl_schema_parse_int(text, len, &i);
    if (rc < 0)
      return rc;
    v = json_integer(i);
    break;
  }
  case PL_SCHEMA_NUMBER: {
    json_int_t i;
    int rc = pl_schema_parse_int(text, len, &i);
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
    if (!real_keeps_text(text, len, d))
      return PL_ERANGE;
    v = json_real(d);
    break;
  }
  case PL_SCHEMA_BOOL:
    if (ascii_equal_nocase(text, len, "true") || (len == 1 && text[0] == '1'))
      v = json_true();
    else if (ascii_equal_nocase(text, len, "false") ||
             (len == 1 && text[0] == '0'))
      v = json_false();
    else
      return PL_EPARSE;
    break;
  case PL_SCHEMA_DATE:
    if (pl_timestamp_parse_date(text, len, NULL) < 0)
      return PL_EPARSE;
    v = string_value(text, len);
    break;
  case PL_SCHEMA_TIMESTAMP:
    if (pl_timestamp_parse_rfc3339(text, len, 0, NULL) < 0)
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
static const char *type_expectation(pl_schema_type_t type) {
  switch (type) {
  case PL_SCHEMA_STRING:
    return "is not valid UTF-8";
  case PL_SCHEMA_INT:
    return "is not an int";
  case PL_SCHEMA_NUMBER:
    return "is not a number";
  case PL_SCHEMA_BOOL:
    return "is not a bool (true, false, 1 or 0)";
  case PL_SCHEMA_DATE:
    return "is not a valid date (YYYY-MM-DD)";
  case PL_SCHEMA_TIMESTAMP:
    return "is not a valid timestamp (RFC 3339, e.g. 2023-05-01T12:00:00Z)";
  }
  return "is not valid";
}

int pl_column_convert(const pl_column_t *col, const char *text, size_t len,
                      json_t **out, pl_buf_t *reason) {
  if (!col || !out || (!text && len > 0))
    return PL_EINVAL;
  char name[PL_SCHEMA_QUOTE_BUF_SIZE];
  if (len == 0) {
    if (!col->required) {
      *out = json_null();
      return 0;
    }
    quote_name(name, col);
    return pl_schema_reason(reason, "column '%s' is required but empty", name);
  }
  int rc = pl_schema_parse_value(col->type, text, len, out);
  if (rc != PL_EPARSE && rc != PL_ERANGE)
    return rc;
  char quoted[PL_SCHEMA_QUOTE_BUF_SIZE];
  quote_name(name, col);
  pl_schema_quote(quoted, text, len);
  if (rc == PL_ERANGE && col->type == PL_SCHEMA_NUMBER)
    return pl_schema_reason(reason,
                            "column '%s': '%s' does not fit a number (a "
                            "double: 15 to 17 significant digits, magnitudes "
                            "5e-324 to 1.8e308)",
                            name, quoted);
  if (rc == PL_ERANGE)
    return pl_schema_reason(reason, "column '%s': '%s' is out of range for %s",
                            name, quoted, "an int");
  return pl_schema_reason(reason, "column '%s': '%s' %s", name, quoted,
                          type_expectation(col->type));
}

/* At most this many digits cannot overflow 64 bits (10^18 - 1 < 2^63). */
#define SHORT_INT_DIGITS 18

int pl_schema_parse_int(const char *s, size_t len, json_int_t *out) {
  size_t i = 0;
  bool negative = false;
  if (len > 0 && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == len)
    return PL_EPARSE;
  if (len - i <= SHORT_INT_DIGITS) {
    /* The usual field: no overflow check (a division) per digit. */
    uint64_t v = 0;
    for (; i < len; i++) {
      unsigned d = (unsigned)(unsigned char)s[i] - '0';
      if (d > 9)
        return PL_EPARSE;
      v = v * 10 + d;
    }
    *out = negative ? -(json_int_t)v : (json_int_t)v;
    return 0;
  }
  /* The magnitude limit is 2^63 - 1, or 2^63 for a negative value. */
  const uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
  uint64_t v = 0;
  bool overflow = false;
  for (; i < len; i++) {
    if (!is_digit(s[i]))
      return PL_EPARSE;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10)
      overflow = true; /* keep going: "99999999999999999999x" is EPARSE */
    else
      v = v * 10 + d;
  }
  if (overflow)
    return PL_ERANGE;
  if (negative)
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v;
  else
    *out = (json_int_t)v;
  return 0;
}

/* True when `v` (a string) is a valid text for a date or timestamp column;
 * true for the other types, whose JSON type says it all. */
static bool text_valid(pl_schema_type_t type, const json_t *v) {
  const char *text = json_string_value(v);
  size_t len = json_string_length(v);
  if (type == PL_SCHEMA_DATE)
    return pl_timestamp_parse_date(text, len, NULL) == 0;
  if (type == PL_SCHEMA_TIMESTAMP)
    return pl_timestamp_parse_rfc3339(text, len, 0, NULL) == 0;
  return true;
}

int pl_column_check(const pl_column_t *col, const json_t *v, pl_buf_t *reason) {
  if (!col || !v)
    return PL_EINVAL;
  bool ok = false;
  switch (col->type) {
  case PL_SCHEMA_STRING:
    ok = json_is_string(v);
    break;
  case PL_SCHEMA_INT:
    ok = json_is_integer(v);
    break;
  case PL_SCHEMA_NUMBER:
    ok = json_is_number(v);
    break;
  case PL_SCHEMA_BOOL:
    ok = json_is_boolean(v);
    break;
  case PL_SCHEMA_DATE:
  case PL_SCHEMA_TIMESTAMP:
    ok = json_is_string(v);
    break;
  }
  char name[PL_SCHEMA_QUOTE_BUF_SIZE];
  if (!ok) {
    quote_name(name, col);
    return pl_schema_reason(reason, "field '%s': expected %s, found %s", name,
                            pl_schema_type_name(col->type),
                            pl_schema_json_type_name(v));
  }
  if (!text_valid(col->type, v)) {
    char quoted[PL_SCHEMA_QUOTE_BUF_SIZE];
    quote_name(name, col);
    pl_schema_quote(quoted, json_string_value(v), json_string_length(v));
    return pl_schema_reason(reason, "field '%s': '%s' %s", name, quoted,
                            type_expectation(col->type));
  }
  return 0;
}

/* Copies at most PL_SCHEMA_QUOTE_MAX_BYTES of text into dst for a reason,
 * escaping control characters and invalid UTF-8 so the reason stays valid UTF-8
 * whatever the input was. */
void pl_schema_quote(char dst[PL_SCHEMA_QUOTE_BUF_SIZE], const char *text,
                     size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, o = 0;
  while (i < len && i < PL_SCHEMA_QUOTE_MAX_BYTES) {
    size_t n = pl_utf8_sequence(s + i, len - i);
    if (n > 0 && s[i] >= 0x20 && s[i] != 0x7F) {
      if (i + n > PL_SCHEMA_QUOTE_MAX_BYTES)
        break; /* never cut a character in two */
      memcpy(dst + o, s + i, n);
      o += n;
      i += n;
    } else {
      dst[o++] = '\\';
      dst[o++] = 'x';
      dst[o++] = hex[s[i] >> 4];
      dst[o++] = hex[s[i] & 0xF];
      i++;
    }
  }
  if (i < len) {
    memcpy(dst + o, "...", 3);
    o += 3;
  }
  dst[o] = '\0';
}

const char *pl_schema_json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "object";
  case JSON_ARRAY:
    return "array";
  case JSON_STRING:
    return "string";
  case JSON_INTEGER:
    return "int";
  case JSON_REAL:
    return "number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "bool";
  case JSON_NULL:
    return "null";
  }
  return "unknown";
}
