/* ReceiveMessage requests and responses (AWS JSON protocol), the
 * messages they bring, and the queue's VisibilityTimeout. */
#include "sqs_receive.h"

#include <stdlib.h>
#include <string.h>

#include <pipelined/json_scan.h>
#include <pipelined/schema_value.h>

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

json_t *pl_sqs_message_take_attributes(pl_sqs_message_t *msg) {
  json_t *attributes = msg->attributes;
  msg->attributes = NULL;
  return attributes;
}

/* What one attribute costs besides its texts: jansson's pair and value
 * and their allocations (as PL_MEMORY_VALUE_ENTRY for a record's value). */
#define SQS_ATTRIBUTE_COST 160
/* Each allocation's overhead in the allocator (size classes, headers). */
#define SQS_ALLOCATION_COST 16

size_t pl_sqs_message_memory(const pl_sqs_message_t *msg) {
  size_t attributes = msg->attributes ? json_object_size(msg->attributes) : 0;
  return sizeof(*msg) + strlen(msg->message_id) +
         strlen(msg->receipt_handle) + msg->body_len + 4 * SQS_ALLOCATION_COST +
         attributes * SQS_ATTRIBUTE_COST;
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
 * " 1"): the core's integer reader, without the '+' it also takes. */
static bool parse_int(const char *text, int64_t *out) {
  json_int_t v;
  if (!text || text[0] == '+' ||
      pl_schema_parse_int(text, strlen(text), &v) < 0)
    return false;
  *out = (int64_t)v;
  return true;
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The value of an attribute of data type `type` from its StringValue
 * (`text`, `len` bytes, NUL-terminated) or BinaryValue (`b64`), either
 * NULL when absent. The texts are valid UTF-8 (jansson's strings, or
 * checked by the scanner), so they are not checked again. */
static json_t *attribute_value(const char *type, const char *text, size_t len,
                               const char *b64) {
  if (!type)
    return NULL;
  /* Custom types ("Number.float", "String.uuid") keep their base type. */
  if (starts_with(type, "Binary"))
    return b64 ? json_stringn_nocheck(b64, strlen(b64)) : NULL;
  if (!text)
    return NULL;
  int64_t n;
  if (starts_with(type, "Number") && parse_int(text, &n))
    return json_integer((json_int_t)n);
  /* Strings, and numbers that are not whole or too large for an integer:
   * their text, exactly as sent. */
  return json_stringn_nocheck(text, len);
}

json_t *pl__sqs_attribute_value(const json_t *attribute) {
  const json_t *value = json_object_get(attribute, "StringValue");
  return attribute_value(
      json_string_value(json_object_get(attribute, "DataType")),
      json_string_value(value), json_string_length(value),
      json_string_value(json_object_get(attribute, "BinaryValue")));
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

/* ---- The usual answer, read without a tree ----
 *
 * A strict reader of JSON's grammar for the shape SQS answers in:
 * {"Messages": [{"MessageId": "...", "ReceiptHandle": "...", "Body":
 * "...", "Attributes": {"name": "..."}, "MessageAttributes": {"name":
 * {"DataType": "...", "StringValue": "..."}}, other: strings}]}. It gives
 * up (PL_EAGAIN) on anything else: \u escapes, numbers, literals, lists of
 * attribute values, keys with escapes, a repeated key it reads, nesting
 * deeper than the shape, bytes that are not UTF-8, text that is not JSON.
 * jansson then reads the text and pl__sqs_receive_parse its tree, so that
 * the result is always what that pair gives. The walking is the core's
 * JSON text scanner's (<pipelined/json_scan.h>). */

/* A string value for a key read at most once. */
static bool scan_once(pl_json_scan_t *s, pl_json_scan_str_t *value) {
  return !value->present && pl_json_scan_string(s, value);
}

/* A message's system attributes: the two it uses, as parse_message reads
 * them from the tree (0 when absent or not a whole number). */
static bool scan_system(pl_json_scan_t *s, pl_sqs_message_t *msg,
                        pl_buf_t *scratch) {
  bool first = true, ok = true;
  pl_json_scan_str_t key, count = {0}, sent = {0}, other;
  while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
    if (pl_json_scan_str_is(&key, "ApproximateReceiveCount"))
      ok = scan_once(s, &count);
    else if (pl_json_scan_str_is(&key, "SentTimestamp"))
      ok = scan_once(s, &sent);
    else
      ok = pl_json_scan_string(s, &other);
  }
  if (!ok)
    return false;
  const pl_json_scan_str_t *values[] = {&count, &sent};
  int64_t *fields[] = {&msg->receive_count, &msg->sent_timestamp};
  for (size_t i = 0; i < 2; i++) {
    *fields[i] = 0;
    if (!values[i]->present)
      continue;
    pl_buf_reset(scratch);
    if (pl_buf_reserve(scratch, values[i]->len + 1) < 0)
      return false;
    pl_json_scan_str_unescape(values[i], scratch->data);
    int64_t n;
    if (parse_int(scratch->data, &n))
      *fields[i] = n;
  }
  return true;
}

/* Texts up to this size are unescaped on the stack. */
#define SMALL_TEXT 128

/* `str` unescaped and NUL-terminated: in `small` (SMALL_TEXT bytes) when it
 * fits, else a new malloc()ed copy; NULL when `str` is absent or memory
 * ran out. */
static char *unescaped(const pl_json_scan_str_t *str, char *small) {
  if (!str->present)
    return NULL;
  if (str->len >= SMALL_TEXT)
    return pl_json_scan_str_dup(str);
  pl_json_scan_str_unescape(str, small);
  return small;
}

/* One message attribute into msg->attributes (created on the first). */
static bool scan_attribute(pl_json_scan_t *s, const pl_json_scan_str_t *name,
                           pl_sqs_message_t *msg) {
  bool first = true, ok = true;
  pl_json_scan_str_t key, type = {0}, text = {0}, b64 = {0}, other;
  while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
    if (pl_json_scan_str_is(&key, "DataType"))
      ok = scan_once(s, &type);
    else if (pl_json_scan_str_is(&key, "StringValue"))
      ok = scan_once(s, &text);
    else if (pl_json_scan_str_is(&key, "BinaryValue"))
      ok = scan_once(s, &b64);
    else
      ok = pl_json_scan_string(s, &other);
  }
  if (!ok)
    return false;
  /* The usual short texts are unescaped on the stack. */
  char small[3][SMALL_TEXT];
  char *t = unescaped(&type, small[0]);
  char *v = unescaped(&text, small[1]);
  char *b = unescaped(&b64, small[2]);
  ok = (t || !type.present) && (v || !text.present) && (b || !b64.present);
  /* As parse_message: an attribute without a usable value is left out. */
  json_t *value = ok ? attribute_value(t, v, text.len, b) : NULL;
  if (value) {
    if (!msg->attributes)
      msg->attributes = json_object();
    /* A key has no escapes (pl_json_scan_key), no NUL and checked UTF-8:
     * its text as written is the name. */
    ok = msg->attributes &&
         json_object_setn_new_nocheck(msg->attributes, name->raw,
                                      name->raw_len, value) == 0;
  }
  char *texts[] = {t, v, b};
  for (size_t i = 0; i < 3; i++)
    if (texts[i] != small[i])
      free(texts[i]);
  return ok;
}

/* MessageAttributes, each name at most once. */
static bool scan_attributes(pl_json_scan_t *s, pl_sqs_message_t *msg) {
  bool first = true, ok = true;
  pl_json_scan_str_t key, names[16];
  size_t count = 0;
  while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
    for (size_t i = 0; i < count; i++)
      if (names[i].raw_len == key.raw_len &&
          memcmp(names[i].raw, key.raw, key.raw_len) == 0)
        return false;
    if (count == sizeof(names) / sizeof(*names))
      return false;
    names[count++] = key;
    ok = scan_attribute(s, &key, msg);
  }
  return ok;
}

/* One message: false to give up (`*msg` is then freed by the caller). */
static bool scan_message(pl_json_scan_t *s, pl_sqs_message_t *msg, pl_json_scan_str_t *id,
                         pl_json_scan_str_t *handle, pl_buf_t *scratch) {
  bool first = true, ok = true, system = false, attrs = false;
  pl_json_scan_str_t key, body = {0};
  while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
    if (pl_json_scan_str_is(&key, "MessageId")) {
      ok = scan_once(s, id);
    } else if (pl_json_scan_str_is(&key, "ReceiptHandle")) {
      ok = scan_once(s, handle);
    } else if (pl_json_scan_str_is(&key, "Body")) {
      ok = scan_once(s, &body);
    } else if (pl_json_scan_str_is(&key, "Attributes")) {
      ok = !system && scan_system(s, msg, scratch);
      system = true;
    } else if (pl_json_scan_str_is(&key, "MessageAttributes")) {
      ok = !attrs && scan_attributes(s, msg);
      attrs = true;
    } else {
      ok = pl_json_scan_string(s, &key);
    }
  }
  if (!ok)
    return false;
  msg->body_len = body.len;
  msg->body = malloc(body.len + 1);
  if (msg->body) {
    if (body.present)
      pl_json_scan_str_unescape(&body, msg->body);
    else
      msg->body[0] = '\0';
  }
  return true;
}

int pl__sqs_receive_scan(const char *text, size_t len,
                         pl__sqs_receive_result_t *out) {
  *out = (pl__sqs_receive_result_t){0};
  /* The answer is 1 level deep, and what it holds that the reader does
   * not use at most 4 more. */
  pl_json_scan_t s;
  pl_json_scan_init(&s, text, len, PL_JSON_SCAN_ESCAPES, 5);
  s.depth = 1;
  pl_buf_t scratch = {0};
  bool first = true, ok = true, messages = false;
  size_t cap = 0;
  pl_json_scan_str_t key;
  int rc = 0;
  while (ok && rc == 0 && pl_json_scan_member(&s, &first, &key, &ok)) {
    if (!pl_json_scan_str_is(&key, "Messages") || messages) {
      ok = !pl_json_scan_str_is(&key, "Messages") && pl_json_scan_skip(&s);
      continue;
    }
    messages = true;
    if (!pl_json_scan_take(&s, '[')) {
      ok = false;
      break;
    }
    if (pl_json_scan_take(&s, ']'))
      continue;
    do {
      pl_sqs_message_t *msg = calloc(1, sizeof(*msg));
      pl_json_scan_str_t id = {0}, handle = {0};
      if (!msg) {
        rc = PL_ENOMEM;
        break;
      }
      ok = scan_message(&s, msg, &id, &handle, &scratch);
      const char *problem = !id.present || id.len == 0
                                ? "a message without a MessageId"
                            : !handle.present || handle.len == 0
                                ? "a message without a ReceiptHandle"
                                : NULL;
      if (ok && !problem) {
        msg->message_id = pl_json_scan_str_dup(&id);
        msg->receipt_handle = pl_json_scan_str_dup(&handle);
      }
      if (!ok || problem) {
        pl__sqs_message_destroy(msg);
        if (ok && out->skipped++ == 0)
          out->problem = problem;
        continue;
      }
      if (out->count == cap) {
        pl_sqs_message_t **grown =
            realloc(out->messages, (cap ? cap * 2 : 10) * sizeof(*grown));
        if (grown) {
          out->messages = grown;
          cap = cap ? cap * 2 : 10;
        }
      }
      if (!msg->body || !msg->message_id || !msg->receipt_handle ||
          out->count == cap) {
        pl__sqs_message_destroy(msg);
        rc = PL_ENOMEM;
        break;
      }
      out->messages[out->count++] = msg;
    } while (ok && pl_json_scan_take(&s, ','));
    if (ok && rc == 0)
      ok = pl_json_scan_take(&s, ']');
  }
  pl_buf_free(&scratch);
  if (rc == 0 && (!ok || !pl_json_scan_at_end(&s)))
    rc = PL_EAGAIN;
  if (rc < 0)
    pl__sqs_receive_result_free(out);
  return rc;
}

int pl__sqs_receive_read(const char *text, size_t len,
                         pl__sqs_receive_result_t *out, json_error_t *error) {
  int rc = pl__sqs_receive_scan(text, len, out);
  if (rc != PL_EAGAIN)
    return rc;
  json_t *response = len ? json_loadb(text, len, JSON_DECODE_ANY, error)
                         : json_object();
  if (!response) {
    *out = (pl__sqs_receive_result_t){0};
    return PL_EINVAL;
  }
  rc = pl__sqs_receive_parse(response, out);
  json_decref(response);
  return rc;
}
