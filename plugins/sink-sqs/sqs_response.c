/* SendMessageBatch results (see sqs_response.h). */
#include <string.h>

#include "sqs_response.h"

/* The entry an Id names: "0" to "count - 1", written as the encoder
 * writes them (no sign, no leading zero). Returns count when it names
 * none. */
static size_t entry_named(const char *id, size_t len, size_t count) {
  if (!id || len == 0 || len > 2 || (id[0] == '0' && len > 1))
    return count;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (id[i] < '0' || id[i] > '9')
      return count;
    n = n * 10 + (size_t)(id[i] - '0');
  }
  return n < count ? n : count;
}

static size_t entry_of(const json_t *item, size_t count) {
  const json_t *id = json_object_get(item, "Id");
  return entry_named(json_string_value(id), json_string_length(id), count);
}

void sqs_response_parse(const json_t *result, size_t count,
                        sqs_entry_result_t *out) {
  for (size_t i = 0; i < count; i++)
    out[i] = (sqs_entry_result_t){.result = PL_RESULT_PENDING};
  const json_t *ok = json_object_get(result, "Successful");
  size_t i;
  json_t *item;
  json_array_foreach(ok, i, item) {
    size_t e = entry_of(item, count);
    if (e < count)
      out[e] = (sqs_entry_result_t){.result = PL_RESULT_DELIVERED};
  }
  /* After the successful ones, so that a failure wins. */
  const json_t *failed = json_object_get(result, "Failed");
  json_array_foreach(failed, i, item) {
    size_t e = entry_of(item, count);
    if (e == count)
      continue;
    /* SenderFault is a boolean; anything else is not the sender's fault
     * as far as we can tell, and is worth another try. */
    bool sender = json_is_true(json_object_get(item, "SenderFault"));
    out[e] = (sqs_entry_result_t){
        .result = sender ? PL_RESULT_REJECTED : PL_RESULT_FAILED,
        .code = json_string_value(json_object_get(item, "Code")),
        .message = json_string_value(json_object_get(item, "Message")),
    };
  }
}

void sqs_response_resolve(pl_batch_t *batch, const sqs_request_t *request,
                          const sqs_entry_result_t *entries,
                          sqs_outcome_t *outcome) {
  size_t count = request->count;
  for (size_t e = 0; e < count; e++) {
    size_t record = request->records[e];
    const sqs_entry_result_t *r = &entries[e];
    const char *code = r->code ? r->code : "UnknownError";
    const char *sep = r->message && *r->message ? ": " : "";
    const char *message = r->message ? r->message : "";
    switch (r->result) {
    case PL_RESULT_DELIVERED:
      pl_batch_resolve(batch, record, PL_RESULT_DELIVERED, NULL);
      outcome->delivered++;
      break;
    case PL_RESULT_REJECTED:
      pl_batch_resolve_as(batch, record, PL_RESULT_REJECTED, "refused",
                          "SQS refused the message: %s%s%s", code, sep,
                          message);
      outcome->rejected++;
      break;
    case PL_RESULT_FAILED:
      pl_batch_resolve(batch, record, PL_RESULT_FAILED,
                       "SQS could not take the message: %s%s%s", code, sep,
                       message);
      outcome->failed++;
      break;
    case PL_RESULT_PENDING:
      pl_batch_resolve(batch, record, PL_RESULT_FAILED,
                       "the SendMessageBatch result does not mention the "
                       "message");
      outcome->failed++;
      break;
    }
  }
}

void sqs_response_apply(pl_batch_t *batch, const sqs_request_t *request,
                        const json_t *result, sqs_outcome_t *outcome) {
  sqs_entry_result_t entries[SQS_MAX_ENTRIES];
  sqs_response_parse(result, request->count, entries);
  sqs_response_resolve(batch, request, entries, outcome);
}

void sqs_response_fail(pl_batch_t *batch, const sqs_request_t *request,
                       const char *reason, sqs_outcome_t *outcome) {
  for (size_t e = 0; e < request->count; e++)
    pl_batch_resolve(batch, request->records[e], PL_RESULT_FAILED, "%s",
                     reason);
  outcome->failed += request->count;
}

void sqs_response_reason(const pl_aws_error_t *error, pl_buf_t *out) {
  pl_aws_error_format(error, out);
  /* A cancelled call (shutdown) says so itself; a missing queue or a
   * denied permission does not cure itself, but rejecting every record
   * would send whole inputs to the dead letter for one configuration
   * mistake. Failing keeps them: their groups are not committed, and they
   * are sent again once the queue or its permissions are fixed. */
  if (pl_aws_error_lasting(error))
    pl_buf_append_str(out, " (retrying will not help until the queue or "
                           "the permissions are fixed; the records fail "
                           "rather than go to the dead letter)");
}

/* ---- The usual result without a tree ---- */

/* Deeper nesting than the result ever has goes to jansson. */
#define SCAN_MAX_DEPTH 32
/* Longer numbers than an integer of the result goes to jansson, which
 * refuses integers it cannot hold. */
#define SCAN_MAX_DIGITS 15

typedef struct scan {
  const unsigned char *p;
  const unsigned char *end;
  unsigned depth;
} scan_t;

static void skip_ws(scan_t *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static bool take(scan_t *s, unsigned char c) {
  skip_ws(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* A string without escapes: its bytes (valid UTF-8, no control
 * character) in *text and *len. An escape hands the text to jansson,
 * which decodes them. */
static bool scan_string(scan_t *s, const char **text, size_t *len) {
  if (!take(s, '"'))
    return false;
  const unsigned char *start = s->p;
  while (s->p < s->end) {
    unsigned char c = *s->p;
    if (c == '"') {
      *text = (const char *)start;
      *len = (size_t)(s->p - start);
      s->p++;
      return true;
    }
    if (c == '\\' || c < 0x20)
      return false;
    if (c < 0x80) {
      s->p++;
      continue;
    }
    size_t n = pl_utf8_sequence(s->p, (size_t)(s->end - s->p));
    if (n == 0)
      return false;
    s->p += n;
  }
  return false;
}

static bool is_digit(const scan_t *s) {
  return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* An integer of JSON's grammar and at most SCAN_MAX_DIGITS digits. */
static bool scan_integer(scan_t *s) {
  if (s->p < s->end && *s->p == '-')
    s->p++;
  const unsigned char *digits = s->p;
  if (!is_digit(s))
    return false;
  if (*s->p == '0') {
    s->p++;
  } else {
    while (is_digit(s))
      s->p++;
  }
  if (s->p - digits > SCAN_MAX_DIGITS)
    return false;
  /* A fraction or an exponent: jansson's to read. */
  return !(s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'));
}

static bool scan_word(scan_t *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return false;
  s->p += n;
  return true;
}

static bool skip_value(scan_t *s);

/* The rest of an object or array after its opening character. */
static bool skip_members(scan_t *s, unsigned char close, bool keys) {
  if (take(s, close))
    return true;
  do {
    const char *key;
    size_t len;
    if (keys && (!scan_string(s, &key, &len) || !take(s, ':')))
      return false;
    if (!skip_value(s))
      return false;
  } while (take(s, ','));
  return take(s, close);
}

static bool skip_value(scan_t *s) {
  skip_ws(s);
  if (s->p >= s->end)
    return false;
  const char *text;
  size_t len;
  switch (*s->p) {
  case '{':
  case '[': {
    if (++s->depth > SCAN_MAX_DEPTH)
      return false;
    unsigned char open = *s->p++;
    bool ok = skip_members(s, open == '{' ? '}' : ']', open == '{');
    s->depth--;
    return ok;
  }
  case '"':
    return scan_string(s, &text, &len);
  case 't':
    return scan_word(s, "true");
  case 'f':
    return scan_word(s, "false");
  case 'n':
    return scan_word(s, "null");
  default:
    return scan_integer(s);
  }
}

static bool key_is(const char *key, size_t len, const char *name) {
  return len == strlen(name) && memcmp(key, name, len) == 0;
}

/* One item of "Successful": an object's "Id" marks its entry delivered.
 * An item that is not an object, or has no string Id, names none. */
static bool scan_successful_item(scan_t *s, size_t count,
                                 sqs_entry_result_t *out) {
  if (!take(s, '{'))
    return skip_value(s);
  if (++s->depth > SCAN_MAX_DEPTH)
    return false;
  const char *id = NULL;
  size_t id_len = 0;
  bool has_id = false;
  if (!take(s, '}')) {
    do {
      const char *key;
      size_t len;
      if (!scan_string(s, &key, &len) || !take(s, ':'))
        return false;
      if (key_is(key, len, "Id")) {
        if (has_id)
          return false; /* a repeated key: jansson keeps the last */
        has_id = true;
        skip_ws(s);
        if (s->p < s->end && *s->p == '"') {
          if (!scan_string(s, &id, &id_len))
            return false;
          continue;
        }
      }
      if (!skip_value(s))
        return false;
    } while (take(s, ','));
    if (!take(s, '}'))
      return false;
  }
  s->depth--;
  size_t e = entry_named(id, id_len, count);
  if (e < count)
    out[e] = (sqs_entry_result_t){.result = PL_RESULT_DELIVERED};
  return true;
}

int sqs_response_scan(const char *text, size_t len, size_t count,
                      sqs_entry_result_t *out) {
  for (size_t i = 0; i < count; i++)
    out[i] = (sqs_entry_result_t){.result = PL_RESULT_PENDING};
  scan_t s = {(const unsigned char *)text, (const unsigned char *)text + len,
              1};
  if (!text || !take(&s, '{'))
    return PL_EAGAIN;
  bool seen_ok = false, seen_failed = false;
  if (!take(&s, '}')) {
    do {
      const char *key;
      size_t key_len;
      if (!scan_string(&s, &key, &key_len) || !take(&s, ':'))
        return PL_EAGAIN;
      bool ok = key_is(key, key_len, "Successful");
      bool failed = key_is(key, key_len, "Failed");
      if ((ok && seen_ok) || (failed && seen_failed))
        return PL_EAGAIN;
      seen_ok |= ok;
      seen_failed |= failed;
      if (ok && take(&s, '[')) {
        if (!take(&s, ']')) {
          do {
            if (!scan_successful_item(&s, count, out))
              return PL_EAGAIN;
          } while (take(&s, ','));
          if (!take(&s, ']'))
            return PL_EAGAIN;
        }
      } else if (failed && take(&s, '[')) {
        /* A failed entry has a code and a message to keep: jansson's. */
        if (!take(&s, ']'))
          return PL_EAGAIN;
      } else if (!skip_value(&s)) {
        return PL_EAGAIN;
      }
    } while (take(&s, ','));
    if (!take(&s, '}'))
      return PL_EAGAIN;
  }
  skip_ws(&s);
  return s.p == s.end ? 0 : PL_EAGAIN;
}
