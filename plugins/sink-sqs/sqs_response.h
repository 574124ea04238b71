/* SendMessageBatch results: what became of each entry of a request.
 *
 * The result lists entries under "Successful" ({"Id", "MessageId", ...})
 * and "Failed" ({"Id", "SenderFault", "Code", "Message"}). An entry is
 *   - delivered when it is listed as successful;
 *   - rejected (to the dead letter, with the code and message) when it
 *     failed with SenderFault true: the message itself is at fault
 *     (InvalidMessageContents, too large, a bad attribute), and sending it
 *     again would fail again;
 *   - failed (the engine retries only these records, with backoff) when it
 *     failed without SenderFault (an error on SQS's side), or when the
 *     result does not mention it at all.
 * An entry listed as both successful and failed counts as failed: sending
 * it again risks a duplicate, never a loss. Ids that are not those of the
 * request are ignored. Parsing is jansson's, never string search
 * (HACKING.md#s8), but for the usual result (every entry successful),
 * which sqs_response_scan reads with a strict parser of JSON's grammar
 * that builds no tree and hands anything else to jansson. */
#ifndef PL_SINK_SQS_RESPONSE_H
#define PL_SINK_SQS_RESPONSE_H

#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

#include "sqs_batch.h"

/* What became of one entry. `code` and `message` are borrowed from the
 * result (NULL when it gave none). */
typedef struct sqs_entry_result {
  pl_result_t result; /* PENDING: the result does not mention the entry */
  const char *code;
  const char *message;
} sqs_entry_result_t;

/* Counts of one request's entries by what became of them. */
typedef struct sqs_outcome {
  size_t delivered;
  size_t rejected;
  size_t failed;
} sqs_outcome_t;

/* Reads `result` (borrowed) for a request of `count` entries with the Ids
 * "0" to "count - 1" into out[0 .. count - 1]. Pure: tests call it on
 * scripted results. */
void sqs_response_parse(const json_t *result, size_t count,
                        sqs_entry_result_t *out);

/* Reads the usual result, `len` bytes of JSON text: an object whose
 * "Failed" is empty or missing, without escapes in its strings, numbers
 * other than short integers, repeated "Successful", "Failed" or "Id" keys
 * or deep nesting. Fills out[0 .. count - 1] as sqs_response_parse would
 * from jansson's tree of the same text, and returns 0; returns PL_EAGAIN
 * for any other text (a failed entry, or text that is not JSON), which is
 * then jansson's to parse. It checks the whole text as JSON's grammar
 * does (with the core's scanner, <pipelined/json_scan.h>), so that what
 * it accepts jansson accepts too, and reads it without building a tree:
 * the result of every request is on the sink's hot path. */
int sqs_response_scan(const char *text, size_t len, size_t count,
                      sqs_entry_result_t *out);

/* Resolves the records of `request` in `batch` from the results of its
 * entries (request->count of them) and adds them to *outcome. */
void sqs_response_resolve(pl_batch_t *batch, const sqs_request_t *request,
                          const sqs_entry_result_t *entries,
                          sqs_outcome_t *outcome);

/* Resolves the records of `request` in `batch` from `result` and adds
 * them to *outcome. */
void sqs_response_apply(pl_batch_t *batch, const sqs_request_t *request,
                        const json_t *result, sqs_outcome_t *outcome);

/* The whole request failed: every record of it fails (retryable), whether
 * or not the error is, with `reason` (from sqs_response_reason) as its
 * reason; adds them to *outcome. */
void sqs_response_fail(pl_batch_t *batch, const sqs_request_t *request,
                       const char *reason, sqs_outcome_t *outcome);

/* The reason of a failed request, appended to `out`: the formatted error
 * and, when the error is not one that retrying cures, why the records fail
 * rather than go to the dead letter. */
void sqs_response_reason(const pl_aws_error_t *error, pl_buf_t *out);

#endif
