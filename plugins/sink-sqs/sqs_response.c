/* SendMessageBatch results (see sqs_response.h). */
#include <string.h>

#include "sqs_response.h"

/* The entry an Id names: "0" to "count - 1", written as the encoder
 * writes them (no sign, no leading zero). Returns count when it names
 * none. */
static size_t entry_of(const json_t *item, size_t count) {
  const char *id = json_string_value(json_object_get(item, "Id"));
  if (!id || !*id || (id[0] == '0' && id[1]) || strlen(id) > 2)
    return count;
  size_t n = 0;
  for (const char *p = id; *p; p++) {
    if (*p < '0' || *p > '9')
      return count;
    n = n * 10 + (size_t)(*p - '0');
  }
  return n < count ? n : count;
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

void sqs_response_apply(pl_batch_t *batch, const sqs_request_t *request,
                        const json_t *result, sqs_outcome_t *outcome) {
  sqs_entry_result_t entries[SQS_MAX_ENTRIES];
  size_t count = request->count;
  sqs_response_parse(result, count, entries);
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
  if (!error->retryable && error->status != 0)
    pl_buf_append_str(out, " (retrying will not help until the queue or "
                           "the permissions are fixed; the records fail "
                           "rather than go to the dead letter)");
}
