/* libFuzzer harness for sink-sqs's reading of SendMessageBatch results:
 * sqs_response_scan, the strict reader of the usual result that builds no
 * tree (plugins/sink-sqs/sqs_response.c), against jansson and
 * sqs_response_parse on the same text.
 *
 * Input: a first byte whose low bits give the request's entry count (1 to
 * 10), then the result's text. Promises: the scanner returns 0 or
 * PL_EAGAIN; when it returns 0, jansson reads the text as an object and
 * sqs_response_parse makes the same verdict of every entry (result, code
 * and message). */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "sqs_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

/* What sqs_response.c links but the readers never call. */
void pl_aws_error_format(const pl_aws_error_t *error, pl_buf_t *out) {
  (void)error;
  (void)out;
  abort();
}
void pl_batch_resolve(pl_batch_t *batch, size_t i, pl_result_t result,
                      const char *fmt, ...) {
  (void)batch, (void)i, (void)result, (void)fmt;
  abort();
}
void pl_batch_resolve_as(pl_batch_t *batch, size_t i, pl_result_t result,
                         const char *reason_class, const char *fmt, ...) {
  (void)batch, (void)i, (void)result, (void)reason_class, (void)fmt;
  abort();
}

static bool same_text(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t count = 1 + data[0] % 10;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  sqs_entry_result_t scanned[10], parsed[10];
  memset(scanned, 0, sizeof(scanned));
  int rc = sqs_response_scan(text, len, count, scanned);
  check(rc == 0 || rc == PL_EAGAIN);
  if (rc != 0)
    return 0;
  json_error_t error;
  json_t *doc = json_loadb(text, len, 0, &error);
  check(doc != NULL && json_is_object(doc));
  memset(parsed, 0, sizeof(parsed));
  sqs_response_parse(doc, count, parsed);
  for (size_t i = 0; i < count; i++) {
    check(scanned[i].result == parsed[i].result);
    check(same_text(scanned[i].code, parsed[i].code));
    check(same_text(scanned[i].message, parsed[i].message));
  }
  json_decref(doc);
  return 0;
}
