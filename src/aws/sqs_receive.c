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

/* The value of an attribute of data type `type` from its StringValue
 * (`text`, `len` bytes, NUL-terminated) or BinaryValue (`b64`), either
 * NULL when absent. */
static json_t *attribute_value(const char *type, const char *text, size_t len,
                               const char *b64) {
  if (!type)
    return NULL;
  /* Custom types ("Number.float", "String.uuid") keep their base type. */
  if (starts_with(type, "Binary"))
    return b64 ? json_string(b64) : NULL;
  if (!text)
    return NULL;
  int64_t n;
  if (starts_with(type, "Number") && parse_int(text, &n))
    return json_integer((json_int_t)n);
  /* Strings, and numbers that are not whole or too large for an integer:
   * their text, exactly as sent. */
  return json_stringn(text, len);
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
 * the result is always what that pair gives. */

typedef struct scan {
  const char *p;
  const char *end;
} scan_t;

/* A string as it stands between its quotes, and its length unescaped. */
typedef struct scan_str {
  const char *raw;
  size_t raw_len;
  size_t len;
  bool present;
} scan_str_t;

static void skip_ws(scan_t *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* Consumes `c` (after whitespace); false when the next byte is another. */
static bool take_char(scan_t *s, char c) {
  skip_ws(s);
  if (s->p >= s->end || *s->p != c)
    return false;
  s->p++;
  return true;
}

static bool peek_char(scan_t *s, char c) {
  skip_ws(s);
  return s->p < s->end && *s->p == c;
}

/* The length of the UTF-8 sequence at `p` (at most `n` bytes), or 0 when
 * it is not a valid one (overlong, a surrogate, above U+10FFFF). */
static size_t utf8_length(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  size_t len;
  unsigned cp;
  if (c < 0xC2)
    return 0; /* a continuation byte, or an overlong 2-byte lead */
  if (c < 0xE0) {
    len = 2;
    cp = c & 0x1F;
  } else if (c < 0xF0) {
    len = 3;
    cp = c & 0x0F;
  } else if (c < 0xF5) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return len;
}

/* Reads a string token; false (give up) on anything the reader leaves to
 * jansson. */
static bool scan_string(scan_t *s, scan_str_t *out) {
  if (!take_char(s, '"'))
    return false;
  const char *start = s->p;
  size_t len = 0;
  while (s->p < s->end) {
    /* A run of plain ASCII first: most of every answer. */
    const char *run = s->p;
    while (run < s->end && (unsigned char)*run >= 0x20 &&
           (unsigned char)*run < 0x80 && *run != '"' && *run != '\\')
      run++;
    len += (size_t)(run - s->p);
    s->p = run;
    if (s->p >= s->end)
      break;
    unsigned char c = (unsigned char)*s->p;
    if (c == '"') {
      *out = (scan_str_t){.raw = start, .raw_len = (size_t)(s->p - start),
                          .len = len, .present = true};
      s->p++;
      return true;
    }
    if (c < 0x20)
      return false;
    if (c == '\\') {
      if (s->p + 1 >= s->end || !s->p[1] || !strchr("\"\\/bfnrt", s->p[1]))
        return false;
      s->p += 2;
      len++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_length((const unsigned char *)s->p,
                             (size_t)(s->end - s->p));
      if (n == 0)
        return false;
      s->p += n;
      len += n;
      continue;
    }
    s->p++;
    len++;
  }
  return false;
}

/* Writes the unescaped string and a NUL to `dst` (str->len + 1 bytes). */
static void unescape(const scan_str_t *str, char *dst) {
  const char *p = str->raw, *end = str->raw + str->raw_len;
  while (p < end) {
    if (*p != '\\') {
      *dst++ = *p++;
      continue;
    }
    char e = p[1];
    p += 2;
    *dst++ = e == 'b'   ? '\b'
             : e == 'f' ? '\f'
             : e == 'n' ? '\n'
             : e == 'r' ? '\r'
             : e == 't' ? '\t'
                        : e; /* '"', '\\' and '/' stand for themselves */
  }
  *dst = '\0';
}

/* A new NUL-terminated copy, or NULL when out of memory. */
static char *str_dup(const scan_str_t *str) {
  char *copy = malloc(str->len + 1);
  if (copy)
    unescape(str, copy);
  return copy;
}

/* Reads a key without escapes and its colon. */
static bool scan_key(scan_t *s, scan_str_t *key) {
  return scan_string(s, key) && key->len == key->raw_len && take_char(s, ':');
}

static bool key_is(const scan_str_t *key, const char *name) {
  size_t n = strlen(name);
  return key->raw_len == n && memcmp(key->raw, name, n) == 0;
}

/* A string value for a key read at most once. */
static bool scan_once(scan_t *s, scan_str_t *value) {
  return !value->present && scan_string(s, value);
}

/* Skips a value made of strings, objects and arrays, `depth` levels at
 * most. */
static bool skip_value(scan_t *s, int depth) {
  scan_str_t ignored;
  if (peek_char(s, '"'))
    return scan_string(s, &ignored);
  bool object = peek_char(s, '{');
  if (depth == 0 || (!object && !peek_char(s, '[')))
    return false;
  s->p++;
  char close = object ? '}' : ']';
  if (take_char(s, close))
    return true;
  do {
    if ((object && !scan_key(s, &ignored)) || !skip_value(s, depth - 1))
      return false;
  } while (take_char(s, ','));
  return take_char(s, close);
}

/* Iterates the members of an object: `*first` starts true; returns true
 * with the next key read, false at the end (`*ok` false when the text is
 * not what the reader takes). */
static bool next_member(scan_t *s, bool *first, scan_str_t *key, bool *ok) {
  if (*first) {
    *first = false;
    if (!take_char(s, '{')) {
      *ok = false;
      return false;
    }
    if (take_char(s, '}'))
      return false;
  } else if (!take_char(s, ',')) {
    *ok = take_char(s, '}');
    return false;
  }
  if (!scan_key(s, key)) {
    *ok = false;
    return false;
  }
  return true;
}

/* A message's system attributes: the two it uses, as parse_message reads
 * them from the tree (0 when absent or not a whole number). */
static bool scan_system(scan_t *s, pl_sqs_message_t *msg, pl_buf_t *scratch) {
  bool first = true, ok = true;
  scan_str_t key, count = {0}, sent = {0}, other;
  while (ok && next_member(s, &first, &key, &ok)) {
    if (key_is(&key, "ApproximateReceiveCount"))
      ok = scan_once(s, &count);
    else if (key_is(&key, "SentTimestamp"))
      ok = scan_once(s, &sent);
    else
      ok = scan_string(s, &other);
  }
  if (!ok)
    return false;
  const scan_str_t *values[] = {&count, &sent};
  int64_t *fields[] = {&msg->receive_count, &msg->sent_timestamp};
  for (size_t i = 0; i < 2; i++) {
    *fields[i] = 0;
    if (!values[i]->present)
      continue;
    pl_buf_reset(scratch);
    if (pl_buf_reserve(scratch, values[i]->len + 1) < 0)
      return false;
    unescape(values[i], scratch->data);
    int64_t n;
    if (parse_int(scratch->data, &n))
      *fields[i] = n;
  }
  return true;
}

/* One message attribute into msg->attributes (created on the first). */
static bool scan_attribute(scan_t *s, const scan_str_t *name,
                           pl_sqs_message_t *msg) {
  bool first = true, ok = true;
  scan_str_t key, type = {0}, text = {0}, b64 = {0}, other;
  while (ok && next_member(s, &first, &key, &ok)) {
    if (key_is(&key, "DataType"))
      ok = scan_once(s, &type);
    else if (key_is(&key, "StringValue"))
      ok = scan_once(s, &text);
    else if (key_is(&key, "BinaryValue"))
      ok = scan_once(s, &b64);
    else
      ok = scan_string(s, &other);
  }
  if (!ok)
    return false;
  char *t = type.present ? str_dup(&type) : NULL;
  char *v = text.present ? str_dup(&text) : NULL;
  char *b = b64.present ? str_dup(&b64) : NULL;
  char *n = str_dup(name);
  ok = n && (t || !type.present) && (v || !text.present) &&
       (b || !b64.present);
  /* As parse_message: an attribute without a usable value is left out. */
  json_t *value = ok ? attribute_value(t, v, text.len, b) : NULL;
  if (value) {
    if (!msg->attributes)
      msg->attributes = json_object();
    ok = msg->attributes &&
         json_object_set_new(msg->attributes, n, value) == 0;
  }
  free(t);
  free(v);
  free(b);
  free(n);
  return ok;
}

/* MessageAttributes, each name at most once. */
static bool scan_attributes(scan_t *s, pl_sqs_message_t *msg) {
  bool first = true, ok = true;
  scan_str_t key, names[16];
  size_t count = 0;
  while (ok && next_member(s, &first, &key, &ok)) {
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
static bool scan_message(scan_t *s, pl_sqs_message_t *msg, scan_str_t *id,
                         scan_str_t *handle, pl_buf_t *scratch) {
  bool first = true, ok = true, system = false, attrs = false;
  scan_str_t key, body = {0};
  while (ok && next_member(s, &first, &key, &ok)) {
    if (key_is(&key, "MessageId")) {
      ok = scan_once(s, id);
    } else if (key_is(&key, "ReceiptHandle")) {
      ok = scan_once(s, handle);
    } else if (key_is(&key, "Body")) {
      ok = scan_once(s, &body);
    } else if (key_is(&key, "Attributes")) {
      ok = !system && scan_system(s, msg, scratch);
      system = true;
    } else if (key_is(&key, "MessageAttributes")) {
      ok = !attrs && scan_attributes(s, msg);
      attrs = true;
    } else {
      ok = scan_string(s, &key);
    }
  }
  if (!ok)
    return false;
  msg->body_len = body.len;
  msg->body = malloc(body.len + 1);
  if (msg->body) {
    if (body.present)
      unescape(&body, msg->body);
    else
      msg->body[0] = '\0';
  }
  return true;
}

int pl__sqs_receive_scan(const char *text, size_t len,
                         pl__sqs_receive_result_t *out) {
  *out = (pl__sqs_receive_result_t){0};
  scan_t s = {text, text + len};
  pl_buf_t scratch = {0};
  bool first = true, ok = true, messages = false;
  size_t cap = 0;
  scan_str_t key;
  int rc = 0;
  while (ok && rc == 0 && next_member(&s, &first, &key, &ok)) {
    if (!key_is(&key, "Messages") || messages) {
      ok = !key_is(&key, "Messages") && skip_value(&s, 4);
      continue;
    }
    messages = true;
    if (!take_char(&s, '[')) {
      ok = false;
      break;
    }
    if (take_char(&s, ']'))
      continue;
    do {
      pl_sqs_message_t *msg = calloc(1, sizeof(*msg));
      scan_str_t id = {0}, handle = {0};
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
        msg->message_id = str_dup(&id);
        msg->receipt_handle = str_dup(&handle);
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
    } while (ok && take_char(&s, ','));
    if (ok && rc == 0)
      ok = take_char(&s, ']');
  }
  pl_buf_free(&scratch);
  skip_ws(&s);
  if (rc == 0 && (!ok || s.p != s.end))
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
