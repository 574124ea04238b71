/* Records from messages. */
#include "sqs_record.h"

#include "sqs_body.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The "line" attribute: a Number attribute (an integer by then) or a
 * string of digits. 0 when absent or not a positive whole number. */
static uint64_t line_of(const json_t *value) {
  if (json_is_integer(value))
    return json_integer_value(value) > 0 ? (uint64_t)json_integer_value(value)
                                         : 0;
  const char *text = json_string_value(value);
  if (!text || *text < '0' || *text > '9')
    return 0;
  errno = 0;
  char *end = NULL;
  unsigned long long n = strtoull(text, &end, 10);
  return errno == 0 && *end == '\0' ? (uint64_t)n : 0;
}

static int set_attribute(pl_record_t *rec, const char *name, json_t *value) {
  return value ? pl_record_set_attribute_new(rec, name, value) : PL_ENOMEM;
}

int sqs_record_metadata(pl_record_t *rec, const pl_sqs_message_t *msg,
                        const char *queue_url) {
  const char *id = pl_sqs_message_id(msg);
  int rc = pl_record_set_message_id(rec, id);
  const json_t *attrs = pl_sqs_message_attributes(msg);
  const char *origin = json_string_value(json_object_get(attrs, "origin"));
  if (rc == 0 && origin && *origin) {
    rc = pl_record_set_origin(rec, origin);
  } else if (rc == 0) {
    pl_buf_t text = {0};
    rc = pl_buf_printf(&text, "sqs:%s#%s", queue_url, id);
    if (rc == 0)
      rc = pl_record_set_origin(rec, text.data);
    pl_buf_free(&text);
  }
  const char *etag = json_string_value(json_object_get(attrs, "etag"));
  if (rc == 0 && etag)
    rc = pl_record_set_etag(rec, etag);
  const char *time = json_string_value(json_object_get(attrs, "origin_time"));
  if (rc == 0 && time && *time)
    rc = pl_record_set_origin_time(rec, time);
  pl_record_set_line(rec, line_of(json_object_get(attrs, "line")));
  const char *name;
  json_t *value;
  json_object_foreach((json_t *)attrs, name, value) {
    if (rc == 0)
      rc = set_attribute(rec, name, json_incref(value));
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
  *out = json_loadb(body, len, JSON_DECODE_ANY, &error);
  if (*out)
    return 0;
  if (json_error_code(&error) == json_error_out_of_memory)
    return PL_ENOMEM;
  pl_buf_printf(reason, "invalid JSON: %s (line %d, column %d)", error.text,
                error.line, error.column);
  return PL_EPARSE;
}
