/* The object of one row: built from its fields, or refilled in place (see
 * csv_row_object.h). */
#include "csv_row_object.h"

#include <pipelined/timestamp.h>
#include <string.h>

#include "csv_copy.h"

/* The reason for a row with `count` fields where `want` were expected:
 * PL_EPARSE, or PL_ENOMEM when the reason cannot be stored. */
static int wrong_count(size_t want, size_t count, pl_buf_t *reason) {
  if (!reason)
    return PL_EPARSE;
  pl_buf_reset(reason);
  int rc = pl_buf_printf(reason, "expected %zu field%s, found %zu", want,
                         want == 1 ? "" : "s", count);
  return rc == PL_ENOMEM ? PL_ENOMEM : PL_EPARSE;
}

/* pl_column_convert() for one field of a row, with the usual cases (a
 * non-empty string, int or date that is valid) done here without its
 * argument checks and dispatch; everything else goes through it. */
static inline int convert_field(const pl_column_t *col, const char *text,
                                size_t len, json_t **out, pl_buf_t *reason) {
  if (len > 0) {
    json_t *v = NULL;
    switch (col->type) {
    case PL_SCHEMA_STRING:
      if (pl_utf8_valid(text, len))
        v = json_stringn_nocheck(text, len);
      break;
    case PL_SCHEMA_INT: {
      json_int_t i;
      if (pl_schema_parse_int(text, len, &i) == 0)
        v = json_integer(i);
      break;
    }
    case PL_SCHEMA_DATE:
      if (pl_timestamp_parse_date(text, len, NULL) == 0)
        v = json_stringn_nocheck(text, len);
      break;
    default:
      break;
    }
    if (v) {
      *out = v;
      return 0;
    }
  }
  return pl_column_convert(col, text, len, out, reason);
}

int csv_row_object_build(const pl_schema_t *cols, const char *const *fields,
                         const size_t *lens, size_t count, json_t **out,
                         pl_buf_t *reason) {
  if (!cols || !out || (count > 0 && (!fields || !lens)))
    return PL_EINVAL;
  size_t want = pl_schema_count(cols);
  if (count != want)
    return wrong_count(want, count, reason);
  const pl_column_t *items = pl_schema_columns(cols);
  json_t *obj = json_object();
  if (!obj)
    return PL_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    const pl_column_t *col = &items[i];
    json_t *v;
    int rc = convert_field(col, fields[i], lens[i], &v, reason);
    if (rc == 0 && json_object_setn_new_nocheck(obj, col->name, col->name_len,
                                                v) < 0)
      rc = PL_ENOMEM; /* setn_new released v */
    if (rc < 0) {
      json_decref(obj);
      return rc;
    }
  }
  *out = obj;
  return 0;
}

/* Gives `str`, a string value nobody but the caller holds, the `len` bytes
 * at `text` (checked by the caller). jansson's text is read-only, so it
 * copies: one allocation a string, kept rather than writing into it. */
static inline int string_refill(json_t *str, const char *text, size_t len) {
  return json_string_setn_nocheck(str, text, len) < 0 ? PL_ENOMEM : 0;
}

/* Puts the value of one field into `old`, a member value of an object only
 * the caller holds, when `old` is of the right JSON type and nobody else
 * holds it either: a string or an integer then costs no allocation of a
 * value (a string of another length still copies its text). Returns 0
 * with *out = old when it did, else a conversion as convert_field() does
 * (*out is then a new reference). */
static inline int update_field(const pl_column_t *col, const char *text,
                               size_t len, json_t *old, json_t **out,
                               pl_buf_t *reason) {
  if (len > 0 && old->refcount == 1) {
    switch (col->type) {
    case PL_SCHEMA_STRING:
    case PL_SCHEMA_DATE:
      if (json_is_string(old) &&
          (col->type == PL_SCHEMA_STRING
               ? pl_utf8_valid(text, len)
               : pl_timestamp_parse_date(text, len, NULL) == 0)) {
        if (string_refill(old, text, len) < 0)
          return PL_ENOMEM;
        *out = old;
        return 0;
      }
      break;
    case PL_SCHEMA_INT: {
      json_int_t i;
      if (json_is_integer(old) && pl_schema_parse_int(text, len, &i) == 0) {
        json_integer_set(old, i);
        *out = old;
        return 0;
      }
      break;
    }
    default:
      break;
    }
  }
  return convert_field(col, text, len, out, reason);
}

int csv_row_object_refill(const pl_schema_t *cols, const char *const *fields,
                          const size_t *lens, size_t count, json_t *row,
                          pl_buf_t *reason) {
  if (!cols || !row || (count > 0 && (!fields || !lens)))
    return PL_EINVAL;
  size_t want = pl_schema_count(cols);
  if (!json_is_object(row) || json_object_size(row) != want)
    return PL_ENOENT;
  if (count != want)
    return wrong_count(want, count, reason);
  const pl_column_t *items = pl_schema_columns(cols);
  void *it = json_object_iter(row);
  for (size_t i = 0; i < count; i++, it = json_object_iter_next(row, it)) {
    const pl_column_t *col = &items[i];
    /* The size matched, so `it` is not NULL; the key may differ. */
    if (json_object_iter_key_len(it) != col->name_len ||
        !csv_same_text(json_object_iter_key(it), col->name, col->name_len))
      return PL_ENOENT;
    json_t *old = json_object_iter_value(it), *v;
    int rc = update_field(col, fields[i], lens[i], old, &v, reason);
    if (rc < 0)
      return rc;
    if (v != old && json_object_iter_set_new(row, it, v) < 0)
      return PL_ENOMEM; /* set_new released v */
  }
  return 0;
}
