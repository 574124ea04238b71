/* libFuzzer harness for the reader of STS answers (pl__creds_sts_answer
 * in src/aws/creds_sts_answer.c, through src/aws/xml.c and expat), which
 * reads role credentials for web identity and role chains.
 *
 * Input: two bytes that choose the HTTP status (100..599), then the body.
 *
 * Checked: the call returns 0; FOUND only for a 200 answer, with a set
 * whose key id and secret are not empty and whose source is the one
 * given; FAILED with a reason that starts with "WHAT at URL: ", is one
 * line without control characters, has a bounded length and never holds
 * the request's secret (the web identity token, redacted). */
#include "creds_sts_answer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

#define WHAT "AssumeRole of arn:aws:iam::1:role/r"
#define URL "https://sts.amazonaws.com/"
#define SECRET "FUZZWEBTOKENSECRET"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  int status = 100 + (data[0] << 8 | data[1]) % 500;
  static const pl__creds_sts_answer_t answer = {
      .action = "AssumeRole",
      .what = WHAT,
      .url = URL,
      .source = "profile fuzz",
      .redact = SECRET,
  };
  const pl_http_response_t response = {
      .status = status,
      .body = (const char *)data + 2,
      .body_len = size - 2,
  };
  pl__creds_result_t result = {0};
  check(pl__creds_sts_answer(&answer, &response, &result) == 0);
  if (result.outcome == PL__CREDS_FOUND) {
    check(status == 200 && result.set && !result.reason);
    check(*result.set->view.access_key_id &&
          *result.set->view.secret_access_key);
    check(strcmp(result.set->view.source, "profile fuzz") == 0);
  } else {
    check(result.outcome == PL__CREDS_FAILED && !result.set && result.reason);
    const char *reason = result.reason;
    check(strncmp(reason, WHAT " at " URL ": ", strlen(WHAT URL) + 6) == 0);
    size_t n = strlen(reason);
    check(n <= strlen(WHAT URL) + 400);
    for (size_t i = 0; i < n; i++)
      check((unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f);
    check(!strstr(reason, SECRET));
  }
  pl__creds_result_clear(&result);
  return 0;
}
