/* Records from messages. */
#include "sqs_record.h"

#include "sqs_body.h"
#include "sqs_number.h"

#include <stdlib.h>
#include <string.h>

static int set_attribute(pl_record_t *rec, const char *name, json_t *value) {
  return value ? pl_record_set_attribute_new(rec, name, value) : PL_ENOMEM;
}

int sqs_record_metadata(pl_record_t *rec, pl_sqs_message_t *msg,
                        const char *queue_url) {
  const char *id = pl_sqs_message_id(msg);
  /* The message's attributes become the record's (no copy), and the
   * metadata a producer sent among them its metadata. */
  int rc = pl_record_set_message_id(rec, id);
  if (rc == 0)
    rc = pl_record_set_attributes_new(rec, pl_sqs_message_take_attributes(msg));
  if (rc == 0)
    rc = pl_record_set_meta_from_attributes(rec);
  if (rc == 0 && !pl_record_origin(rec)) {
    pl_buf_t text = {0};
    rc = pl_buf_printf(&text, "sqs:%s#%s", queue_url, id);
    if (rc == 0)
      rc = pl_record_set_origin(rec, text.data);
    pl_buf_free(&text);
  }
  int64_t receive_count = pl_sqs_message_receive_count(msg);
  if (rc == 0 && receive_count > 0)
    rc = set_attribute(rec, "receive_count",
                       json_integer((json_int_t)receive_count));
  int64_t sent = pl_sqs_message_sent_timestamp(msg);
  if (rc == 0 && sent > 0)
    rc = set_attribute(rec, "sent_timestamp", json_integer((json_int_t)sent));
  return rc < 0 ? PL_ENOMEM : 0;
}

int sqs_record_value(const pl_sqs_message_t *msg, sqs_format_t format,
                     json_t **out, pl_buf_t *reason) {
  *out = NULL;
  size_t len = 0;
  const char *body = pl_sqs_message_body(msg, &len);
  if (format == SQS_FORMAT_RAW) {
    *out = json_pack("{s:s%}", "body", body, len);
    return *out ? 0 : PL_ENOMEM;
  }
  /* The usual body, a flat object, without jansson's parser. */
  if ((*out = sqs_body_scan(body, len)))
    return 0;
  json_error_t error;
  /* A \u0000 is a character like any other: every stage writes
   * strings by their length. */
  *out = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
  if (*out) {
    /* jansson made its reals doubles: one whose digits did not survive
     * makes the message poison, never a rounded number downstream. */
    int rc = sqs_numbers_check(body, len, reason);
    if (rc < 0) {
      json_decref(*out);
      *out = NULL;
    }
    return rc;
  }
  if (json_error_code(&error) == json_error_out_of_memory)
    return PL_ENOMEM;
  /* Valid JSON with a number jansson cannot hold ("too big integer"):
   * said as what it is, with the field. */
  if (json_error_code(&error) == json_error_numeric_overflow) {
    int rc = sqs_numbers_check(body, len, reason);
    if (rc < 0)
      return rc;
  }
  pl_buf_printf(reason, "invalid JSON: %s (line %d, column %d)", error.text,
                error.line, error.column);
  return PL_EPARSE;
}
