/* ReceiveMessage requests and responses (AWS JSON protocol), the
 * messages they bring, and the queue's VisibilityTimeout. */
#include "sqs_receive.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *pl_sqs_message_id(const pl_sqs_message_t *msg) {
  return msg->message_id;
}

const char *pl_sqs_message_body(const pl_sqs_message_t *msg, size_t *len) {
  if (len)
    *len = msg->body_len;
  return msg->body;
}

int64_t pl_sqs_message_receive_count(const pl_sqs_message_t *msg) {
  return msg->receive_count;
}

int64_t pl_sqs_message_sent_timestamp(const pl_sqs_message_t *msg) {
  return msg->sent_timestamp;
}

const json_t *pl_sqs_message_attributes(const pl_sqs_message_t *msg) {
  return msg->attributes;
}

void pl__sqs_message_destroy(pl_sqs_message_t *msg) {
  if (!msg)
    return;
  free(msg->message_id);
  free(msg->receipt_handle);
  free(msg->body);
  json_decref(msg->attributes);
  free(msg);
}

json_t *pl__sqs_receive_request(const pl__sqs_receive_params_t *p) {
  /* Both names of the system attribute list: AttributeNames is the one
   * older services and emulators know, MessageSystemAttributeNames the
   * current one. */
  return json_pack("{s:s, s:I, s:I, s:I, s:[s,s], s:[s,s], s:[s]}", "QueueUrl",
                   p->queue_url, "MaxNumberOfMessages",
                   (json_int_t)p->max_messages, "WaitTimeSeconds",
                   (json_int_t)p->wait_seconds, "VisibilityTimeout",
                   (json_int_t)p->visibility_seconds, "AttributeNames",
                   "ApproximateReceiveCount", "SentTimestamp",
                   "MessageSystemAttributeNames", "ApproximateReceiveCount",
                   "SentTimestamp", "MessageAttributeNames", "All");
}

/* A whole decimal number that fits in int64_t ("-12", not "+1", "1.0" or
 * " 1"). */
static bool parse_int(const char *text, int64_t *out) {
  if (!text || !*text)
    return false;
  const char *digits = text[0] == '-' ? text + 1 : text;
  if (*digits < '0' || *digits > '9')
    return false;
  for (const char *p = digits; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || *end)
    return false;
  *out = v;
  return true;
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

json_t *pl__sqs_attribute_value(const json_t *attribute) {
  const char *type = json_string_value(json_object_get(attribute, "DataType"));
  if (!type)
    return NULL;
  /* Custom types ("Number.float", "String.uuid") keep their base type. */
  if (starts_with(type, "Binary")) {
    const char *b64 =
        json_string_value(json_object_get(attribute, "BinaryValue"));
    return b64 ? json_string(b64) : NULL;
  }
  const json_t *value = json_object_get(attribute, "StringValue");
  const char *text = json_string_value(value);
  if (!text)
    return NULL;
  int64_t n;
  if (starts_with(type, "Number") && parse_int(text, &n))
    return json_integer((json_int_t)n);
  /* Strings, and numbers that are not whole or too large for an integer:
   * their text, exactly as sent. */
  return json_stringn(text, json_string_length(value));
}

/* A system attribute ("ApproximateReceiveCount": "2") as an integer. */
static int64_t system_int(const json_t *attributes, const char *name) {
  int64_t n = 0;
  if (!parse_int(json_string_value(json_object_get(attributes, name)), &n))
    return 0;
  return n;
}

static char *dup_string(const json_t *value) {
  const char *text = json_string_value(value);
  return text ? strdup(text) : NULL;
}

/* Builds one message, or returns NULL with `*problem` set (or not set when
 * out of memory). */
static pl_sqs_message_t *parse_message(const json_t *entry, const char **problem) {
  const json_t *id = json_object_get(entry, "MessageId");
  const json_t *handle = json_object_get(entry, "ReceiptHandle");
  if (!json_is_string(id) || json_string_length(id) == 0) {
    *problem = "a message without a MessageId";
    return NULL;
  }
  if (!json_is_string(handle) || json_string_length(handle) == 0) {
    *problem = "a message without a ReceiptHandle";
    return NULL;
  }
  pl_sqs_message_t *msg = calloc(1, sizeof(*msg));
  if (!msg)
    return NULL;
  /* A body is always present in SQS; a missing one reads as empty. */
  const json_t *body = json_object_get(entry, "Body");
  const char *text = json_is_string(body) ? json_string_value(body) : "";
  msg->body_len = json_is_string(body) ? json_string_length(body) : 0;
  msg->body = malloc(msg->body_len + 1);
  msg->message_id = dup_string(id);
  msg->receipt_handle = dup_string(handle);
  if (!msg->body || !msg->message_id || !msg->receipt_handle) {
    pl__sqs_message_destroy(msg);
    return NULL;
  }
  memcpy(msg->body, text, msg->body_len);
  msg->body[msg->body_len] = '\0';
  const json_t *system = json_object_get(entry, "Attributes");
  msg->receive_count = system_int(system, "ApproximateReceiveCount");
  msg->sent_timestamp = system_int(system, "SentTimestamp");
  const json_t *attrs = json_object_get(entry, "MessageAttributes");
  if (json_is_object(attrs) && json_object_size(attrs) > 0) {
    if (!(msg->attributes = json_object())) {
      pl__sqs_message_destroy(msg);
      return NULL;
    }
    const char *name;
    json_t *attribute;
    json_object_foreach((json_t *)attrs, name, attribute) {
      json_t *value = pl__sqs_attribute_value(attribute);
      if (value && json_object_set_new(msg->attributes, name, value) < 0) {
        pl__sqs_message_destroy(msg);
        return NULL;
      }
    }
    /* None had a usable value: the message has no attributes. */
    if (json_object_size(msg->attributes) == 0) {
      json_decref(msg->attributes);
      msg->attributes = NULL;
    }
  }
  return msg;
}

int pl__sqs_receive_parse(const json_t *response, pl__sqs_receive_result_t *out) {
  *out = (pl__sqs_receive_result_t){0};
  if (!json_is_object(response))
    return PL_EPARSE;
  const json_t *list = json_object_get(response, "Messages");
  if (!list || json_is_null(list))
    return 0;
  if (!json_is_array(list))
    return PL_EPARSE;
  size_t n = json_array_size(list);
  if (n == 0)
    return 0;
  out->messages = calloc(n, sizeof(*out->messages));
  if (!out->messages)
    return PL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *problem = NULL;
    pl_sqs_message_t *msg = parse_message(json_array_get(list, i), &problem);
    if (msg) {
      out->messages[out->count++] = msg;
      continue;
    }
    if (!problem) {
      pl__sqs_receive_result_free(out);
      return PL_ENOMEM;
    }
    if (out->skipped++ == 0)
      out->problem = problem;
  }
  return 0;
}

void pl__sqs_receive_result_free(pl__sqs_receive_result_t *result) {
  for (size_t i = 0; i < result->count; i++)
    pl__sqs_message_destroy(result->messages[i]);
  free(result->messages);
  *result = (pl__sqs_receive_result_t){0};
}

json_t *pl__sqs_visibility_request(const char *queue_url) {
  return json_pack("{s:s, s:[s]}", "QueueUrl", queue_url, "AttributeNames",
                   "VisibilityTimeout");
}

#define MAX_VISIBILITY_S 43200 /* 12 h, the SQS maximum */

int pl__sqs_visibility_parse(const json_t *response, uint64_t *ms) {
  const json_t *attributes = json_object_get(response, "Attributes");
  int64_t seconds = -1;
  /* SQS sends every attribute as a string. */
  if (!parse_int(json_string_value(
                     json_object_get(attributes, "VisibilityTimeout")),
                 &seconds) ||
      seconds < 0 || seconds > MAX_VISIBILITY_S)
    return PL_EPARSE;
  *ms = (uint64_t)seconds * 1000;
  return 0;
}
