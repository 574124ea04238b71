/* Check suite for the reader of STS answers (src/aws/creds_sts_answer.c):
 * the Credentials of each action's success, refusals with their code and
 * message (redacted and cleaned), and every malformed document. */
#include "creds_sts_answer.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

#define KEY "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLESESSIONTOKENsecret"
#define CREDENTIALS                                                            \
  "<Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"                           \
  "<SecretAccessKey>" KEY "</SecretAccessKey>"                                 \
  "<SessionToken>" TOKEN "</SessionToken>"                                     \
  "<Expiration>2023-11-14T23:13:20Z</Expiration></Credentials>"

static const pl__creds_sts_answer_t assume_role = {
    .action = "AssumeRole",
    .what = "AssumeRole of arn:aws:iam::1:role/r",
    .url = "https://sts.amazonaws.com/",
    .source = "profile p (assume role arn:aws:iam::1:role/r via profile b)",
    .redact = "WEBTOKENSECRET",
};

/* Reads `body` answered with `status`; returns the result. */
static pl__creds_result_t answer(int status, const char *body) {
  const pl_http_response_t response = {
      .status = status,
      .body = body,
      .body_len = body ? strlen(body) : 0,
  };
  pl__creds_result_t result = {0};
  ck_assert_int_eq(pl__creds_sts_answer(&assume_role, &response, &result), 0);
  return result;
}

START_TEST(test_success) {
  pl__creds_result_t r =
      answer(200, "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/"
                  "2011-06-15/\"><AssumeRoleResult>" CREDENTIALS
                  "<AssumedRoleUser><Arn>a</Arn></AssumedRoleUser>"
                  "</AssumeRoleResult></AssumeRoleResponse>");
  ck_assert_int_eq(r.outcome, PL__CREDS_FOUND);
  ck_assert_str_eq(r.set->view.access_key_id, "ASIAROLE");
  ck_assert_str_eq(r.set->view.secret_access_key, KEY);
  ck_assert_str_eq(r.set->view.session_token, TOKEN);
  ck_assert_int_eq(r.set->view.expires_at, 1700000000 + 3600);
  ck_assert_str_eq(r.set->view.source, assume_role.source);
  pl__creds_result_clear(&r);

  /* The other action's elements are not this one's answer. */
  r = answer(200, "<AssumeRoleWithWebIdentityResponse>"
                  "<AssumeRoleWithWebIdentityResult>" CREDENTIALS
                  "</AssumeRoleWithWebIdentityResult>"
                  "</AssumeRoleWithWebIdentityResponse>");
  ck_assert_int_eq(r.outcome, PL__CREDS_FAILED);
  ck_assert_str_eq(r.reason, "AssumeRole of arn:aws:iam::1:role/r at "
                             "https://sts.amazonaws.com/: response has no "
                             "complete Credentials element");
  pl__creds_result_clear(&r);
}
END_TEST

START_TEST(test_refusal) {
  pl__creds_result_t r =
      answer(403, "<ErrorResponse><Error><Type>Sender</Type>"
                  "<Code>AccessDenied</Code><Message>not\nallowed with "
                  "WEBTOKENSECRET</Message></Error></ErrorResponse>");
  ck_assert_int_eq(r.outcome, PL__CREDS_FAILED);
  ck_assert_ptr_null(r.set);
  ck_assert_str_eq(r.reason, "AssumeRole of arn:aws:iam::1:role/r at "
                             "https://sts.amazonaws.com/: HTTP 403 "
                             "AccessDenied: not allowed with ***");
  pl__creds_result_clear(&r);

  /* Not XML: the status alone. */
  r = answer(503, "Service Unavailable");
  ck_assert_str_eq(r.reason, "AssumeRole of arn:aws:iam::1:role/r at "
                             "https://sts.amazonaws.com/: HTTP 503");
  pl__creds_result_clear(&r);
}
END_TEST

START_TEST(test_malformed) {
  static const struct {
    const char *body;
    const char *reason;
  } cases[] = {
      {"<AssumeRoleResponse>", "response is not valid XML (line 1"},
      {NULL, "response is not valid XML"},
      {"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
       "<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult>"
       "</AssumeRoleResponse>",
       "response has no complete Credentials element"},
      {"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
       "<AccessKeyId>A</AccessKeyId><SecretAccessKey>K</SecretAccessKey>"
       "<SessionToken>T</SessionToken><Expiration>soon</Expiration>"
       "</Credentials></AssumeRoleResult></AssumeRoleResponse>",
       "Expiration is not an ISO 8601 time"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl__creds_result_t r = answer(200, cases[i].body);
    ck_assert_int_eq(r.outcome, PL__CREDS_FAILED);
    ck_assert_msg(strstr(r.reason, cases[i].reason) != NULL, "%zu: %s", i,
                  r.reason);
    pl__creds_result_clear(&r);
  }

  /* A field past 64 KiB. */
  size_t n = ((size_t)64 << 10) + 1;
  char *big = malloc(n + 256);
  strcpy(big, "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
              "<SessionToken>");
  size_t len = strlen(big);
  memset(big + len, 'x', n);
  strcpy(big + len + n, "</SessionToken></Credentials></AssumeRoleResult>"
                        "</AssumeRoleResponse>");
  pl__creds_result_t r = answer(200, big);
  ck_assert_ptr_nonnull(
      strstr(r.reason, "a field of the response is too long"));
  pl__creds_result_clear(&r);
  free(big);
}
END_TEST

static Suite *sts_answer_suite(void) {
  Suite *s = suite_create("creds_sts_answer");
  TCase *tc = tcase_create("answers");
  tcase_add_test(tc, test_success);
  tcase_add_test(tc, test_refusal);
  tcase_add_test(tc, test_malformed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(sts_answer_suite());
}
