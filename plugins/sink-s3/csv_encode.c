/* CSV rows for sink-s3 (csv_encode.h). */
#include <string.h>

#include <pipelined/json.h>

#include "csv_encode.h"

/* Appends one field, quoted when it must be. */
static int put_field(pl_buf_t *out, const char *text, size_t len) {
  /* `text` is NUL-terminated; a NUL inside it gets the field quoted. */
  if (strcspn(text, ",\"\r\n") >= len)
    return pl_buf_append(out, text, len);
  int rc = pl_buf_append(out, "\"", 1);
  for (size_t i = 0; rc == 0 && i < len; i++)
    rc = text[i] == '"' ? pl_buf_append(out, "\"\"", 2)
                        : pl_buf_append(out, &text[i], 1);
  return rc == 0 ? pl_buf_append(out, "\"", 1) : rc;
}

int csv_encode_header(const pl_list_t *columns, pl_buf_t *out) {
  size_t start = out->len;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < columns->count; i++) {
    if (i > 0)
      rc = pl_buf_append(out, ",", 1);
    if (rc == 0)
      rc = put_field(out, columns->items[i], strlen(columns->items[i]));
  }
  if (rc == 0)
    rc = pl_buf_append(out, "\n", 1);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

/* Appends the field of one value. */
static int put_value(pl_buf_t *out, pl_buf_t *scratch, const json_t *value,
                     const char **why) {
  if (!value || json_is_null(value))
    return 0;
  if (json_is_string(value))
    return put_field(out, json_string_value(value), json_string_length(value));
  pl_buf_reset(scratch);
  int rc = pl_json_encode(value, scratch, why);
  if (rc == 0)
    rc = put_field(out, scratch->data, scratch->len);
  return rc;
}

int csv_encode_record(const pl_record_t *record, const pl_list_t *columns,
                      pl_buf_t *out, const char **why) {
  const json_t *value = pl_record_value(record);
  if (!json_is_object(value)) {
    if (why)
      *why = "a CSV row needs a record that is a JSON object";
    return PL_EINVAL;
  }
  size_t start = out->len;
  pl_buf_t scratch = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < columns->count; i++) {
    if (i > 0)
      rc = pl_buf_append(out, ",", 1);
    if (rc == 0)
      rc = put_value(out, &scratch,
                     json_object_get(value, columns->items[i]), why);
  }
  pl_buf_free(&scratch);
  if (rc == 0)
    rc = pl_buf_append(out, "\n", 1);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}
