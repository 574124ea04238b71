/* The order of the updates of one item as one string (see ddb_version.h). */
#include "ddb_version.h"

#include <pipelined/timestamp.h>
#include <stdio.h>
#include <string.h>

/* What a missing origin time encodes as: below every real time. */
static const char no_time[DDB_VERSION_TIME_LEN + 1] =
    "0000-00-00T00:00:00.000000Z";

int ddb_order_parse(const char *entry, ddb_order_t *out) {
  if (!entry || !*entry || strcmp(entry, "@") == 0)
    return PL_EINVAL;
  if (entry[0] != '@')
    *out = (ddb_order_t){DDB_ORDER_FIELD, entry};
  else if (strcmp(entry, "@line") == 0)
    *out = (ddb_order_t){DDB_ORDER_LINE, NULL};
  else if (strcmp(entry, "@origin_time") == 0)
    *out = (ddb_order_t){DDB_ORDER_ORIGIN_TIME, NULL};
  else
    *out = (ddb_order_t){DDB_ORDER_ATTRIBUTE, entry + 1};
  return 0;
}

/* Appends `prefix` (when not NUL) and the `width` last decimal digits of
 * `n`, zero-padded: printf's "%0<width>llu" without its formatter, once
 * per row and entry. */
static int append_padded(char prefix, uint64_t n, size_t width, pl_buf_t *out) {
  char text[21];
  size_t at = sizeof(text);
  for (size_t i = 0; i < width; i++, n /= 10)
    text[--at] = (char)('0' + n % 10);
  if (prefix)
    text[--at] = prefix;
  return pl_buf_append(out, text + at, sizeof(text) - at);
}

int ddb_version_append_uint(uint64_t n, pl_buf_t *out) {
  /* 20 digits hold every uint64_t. */
  return append_padded('\0', n, 20, out);
}

static int append_int(json_int_t n, pl_buf_t *out) {
  if (n >= 0)
    return ddb_version_append_uint((uint64_t)n, out);
  /* The distance from INT64_MIN: -1 is 2^63 - 1, the smallest is 0. The
   * '-' sorts before every digit, so negatives come before 0; 19 digits
   * hold every distance (below 2^63). */
  uint64_t distance = (uint64_t)n + ((uint64_t)1 << 63);
  return append_padded('-', distance, 19, out);
}

/* True when the `n` bytes at `p` are digits; their value in *value. */
static bool digits(const char *p, size_t n, unsigned *value) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return false;
    v = v * 10 + (unsigned)(p[i] - '0');
  }
  *value = v;
  return true;
}

bool ddb_version_time(const char *text, char out[DDB_VERSION_TIME_LEN + 1]) {
  char t[DDB_VERSION_TIME_LEN + 1];
  memcpy(t, no_time, sizeof(t));
  const char *p = text;
  /* The date is read as everywhere (no 2023-02-30); the rest of the
   * forms, seconds and zone optional, are this encoding's own. */
  if (strnlen(p, 10) < 10 || pl_timestamp_parse_date(p, 10, NULL) < 0)
    return false;
  memcpy(t, p, 10);
  p += 10;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    unsigned hour, minute, second;
    if (strnlen(p, 6) < 6 || !digits(p + 1, 2, &hour) || p[3] != ':' ||
        !digits(p + 4, 2, &minute) || hour > 23 || minute > 59)
      return false;
    memcpy(t + 11, p + 1, 5);
    p += 6;
    if (*p == ':') {
      /* 60: a leap second. */
      if (strnlen(p, 3) < 3 || !digits(p + 1, 2, &second) || second > 60)
        return false;
      memcpy(t + 17, p + 1, 2);
      p += 3;
      if (*p == '.' || *p == ',') {
        p++;
        size_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
          if (n < 6) /* to the microsecond; more is cut off */
            t[20 + n] = *p;
        if (n == 0)
          return false;
      }
    }
    if (*p == 'Z' || *p == 'z')
      p++;
    else if (strcmp(p, "+00:00") == 0 || strcmp(p, "-00:00") == 0)
      p += 6;
  }
  if (*p != '\0')
    return false;
  memcpy(out, t, sizeof(t));
  return true;
}

static int append_text(const char *text, size_t len, pl_buf_t *out) {
  char time[DDB_VERSION_TIME_LEN + 1];
  if (strlen(text) == len && ddb_version_time(text, time))
    return pl_buf_append(out, time, DDB_VERSION_TIME_LEN);
  return pl_buf_append(out, text, len);
}

int ddb_version_append_value(const json_t *value, pl_buf_t *out) {
  if (json_is_integer(value))
    return append_int(json_integer_value(value), out);
  if (json_is_string(value))
    return append_text(json_string_value(value), json_string_length(value),
                       out);
  return PL_EINVAL;
}

static const char *kind_of(const json_t *value) {
  switch (json_typeof(value)) {
  case JSON_REAL:
    return "a number with a fraction";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  default:
    return "a value";
  }
}

/* One entry of the order. */
static int append_entry(const ddb_order_t *o, const pl_record_t *record,
                        pl_buf_t *out, pl_buf_t *why) {
  switch (o->kind) {
  case DDB_ORDER_LINE:
    return ddb_version_append_uint(pl_record_line(record), out);
  case DDB_ORDER_ORIGIN_TIME: {
    const char *time = pl_record_origin_time(record);
    if (!time)
      return pl_buf_append(out, no_time, DDB_VERSION_TIME_LEN);
    /* It comes from a message attribute anyone can set. Taken as text it
     * would sort at another width, above every real time of its date
     * ("zzzz"), and pin the item for good. */
    char utc[DDB_VERSION_TIME_LEN + 1];
    if (!ddb_version_time(time, utc)) {
      pl_buf_printf(why,
                    "origin time '%.64s' (newer_than) is not a date or a UTC "
                    "time",
                    time);
      return PL_EINVAL;
    }
    return pl_buf_append(out, utc, DDB_VERSION_TIME_LEN);
  }
  case DDB_ORDER_ATTRIBUTE: {
    const json_t *attrs = pl_record_attributes(record);
    const json_t *value = attrs ? json_object_get(attrs, o->name) : NULL;
    if (!value)
      return 0; /* empty: before any text */
    int rc = ddb_version_append_value(value, out);
    if (rc == PL_EINVAL)
      pl_buf_printf(why, "attribute '%s' (newer_than) is %s", o->name,
                    kind_of(value));
    return rc;
  }
  case DDB_ORDER_FIELD:
    break;
  }
  const json_t *value = json_object_get(pl_record_value(record), o->name);
  if (!value || json_is_null(value)) {
    pl_buf_printf(why, "field '%s' (newer_than) is missing (or null)", o->name);
    return PL_EINVAL;
  }
  int rc = ddb_version_append_value(value, out);
  if (rc == PL_EINVAL)
    pl_buf_printf(why,
                  "field '%s' (newer_than) is %s; the order takes whole "
                  "numbers, dates, times and text",
                  o->name, kind_of(value));
  return rc;
}

int ddb_version_encode(const ddb_order_t *order, size_t count,
                       const pl_record_t *record, pl_buf_t *out,
                       pl_buf_t *why) {
  for (size_t i = 0; i < count; i++) {
    int rc = i ? pl_buf_append(out, " ", 1) : 0;
    if (rc == 0)
      rc = append_entry(&order[i], record, out, why);
    if (rc < 0)
      return rc == PL_EINVAL ? rc : PL_ENOMEM;
  }
  /* A valid, empty string even for an empty order. */
  return pl_buf_reserve(out, 0) < 0 ? PL_ENOMEM : 0;
}
