/* SendMessageBatch results (see sqs_response.h). */
#include <string.h>

#include <pipelined/json_scan.h>

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

/* One item of "Successful": an object's "Id" marks its entry delivered.
 * An item that is not an object, or has no string Id, names none. */
static bool scan_successful_item(pl_json_scan_t *s, size_t count,
                                 sqs_entry_result_t *out) {
  if (!pl_json_scan_peek(s, '{'))
    return pl_json_scan_skip(s);
  if (!pl_json_scan_enter(s))
    return false;
  pl_json_scan_str_t key, id = {0};
  bool first = true, ok = true;
  while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
    if (!pl_json_scan_str_is(&key, "Id")) {
      ok = pl_json_scan_skip(s);
    } else if (id.present) {
      ok = false; /* a repeated key: jansson keeps the last */
    } else if (pl_json_scan_peek(s, '"')) {
      ok = pl_json_scan_string(s, &id);
    } else {
      ok = pl_json_scan_skip(s); /* not a string: names no entry */
      id.present = true;
    }
  }
  if (!ok)
    return false;
  s->depth--;
  size_t e = entry_named(id.raw, id.raw_len, count);
  if (e < count)
    out[e] = (sqs_entry_result_t){.result = PL_RESULT_DELIVERED};
  return true;
}

/* The items of "Successful" after its '['. */
static bool scan_successful(pl_json_scan_t *s, size_t count,
                            sqs_entry_result_t *out) {
  if (pl_json_scan_take(s, ']'))
    return true;
  do {
    if (!scan_successful_item(s, count, out))
      return false;
  } while (pl_json_scan_take(s, ','));
  return pl_json_scan_take(s, ']');
}

int sqs_response_scan(const char *text, size_t len, size_t count,
                      sqs_entry_result_t *out) {
  for (size_t i = 0; i < count; i++)
    out[i] = (sqs_entry_result_t){.result = PL_RESULT_PENDING};
  if (!text)
    return PL_EAGAIN;
  /* No escapes: Ids are compared as written, and a failed entry's code
   * and message are jansson's to decode anyway. */
  pl_json_scan_t s;
  pl_json_scan_init(&s, text, len, PL_JSON_SCAN_SCALARS, SCAN_MAX_DEPTH);
  pl_json_scan_str_t key;
  bool first = true, ok = true, seen_ok = false, seen_failed = false;
  if (!pl_json_scan_peek(&s, '{') || !pl_json_scan_enter(&s))
    return PL_EAGAIN;
  while (ok && pl_json_scan_member(&s, &first, &key, &ok)) {
    bool successful = pl_json_scan_str_is(&key, "Successful");
    bool failed = pl_json_scan_str_is(&key, "Failed");
    if ((successful && seen_ok) || (failed && seen_failed))
      return PL_EAGAIN;
    seen_ok |= successful;
    seen_failed |= failed;
    if (successful && pl_json_scan_take(&s, '['))
      ok = scan_successful(&s, count, out);
    else if (failed && pl_json_scan_take(&s, '['))
      /* A failed entry has a code and a message to keep: jansson's. */
      ok = pl_json_scan_take(&s, ']');
    else
      ok = pl_json_scan_skip(&s);
  }
  return ok && pl_json_scan_at_end(&s) ? 0 : PL_EAGAIN;
}
