/* Check suite for src/aws/aws_preflight.c (<pipelined/aws_preflight.h>):
 * a probe sink whose preflight checks the queue and bucket of its options
 * through the AWS layer, against a scripted server: the credentials'
 * provider and the caller's identity once per run, the region and where it
 * came from, a queue's redrive policy and visibility timeout, a missing
 * queue or bucket, a denied or failed identity. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws_preflight.h>

#include "test_aws_probe.h"
#include "test_preflight.h"
#include "test_suite.h"

/* ---- Helpers ---- */

static test_aws_t *fixture(void) {
  static const pl_plugin_t *const plugins[] = {&test_aws_probe, NULL};
  return test_aws_create(plugins);
}

/* One pipeline "p" (or as many as `count`, "p1".."pN") with the probe
 * configured by `probe_settings` (the server's URL is its endpoint). */
static test_report_t run_probe(test_aws_t *aws, const char *aws_extra,
                               const char *probe_settings, size_t count,
                               bool strict) {
  pl_buf_t pipelines = {0};
  for (size_t i = 0; i < count; i++) {
    char name[16] = "p";
    if (count > 1)
      snprintf(name, sizeof name, "p%zu", i + 1);
    pl_buf_printf(&pipelines,
                  "pipeline \"%s\" {\n  source \"script\" { records = [] }\n"
                  "  sink \"probe\" {\n    endpoint = \"%s\"\n    %s\n  }\n}\n",
                  name, fake_http_url(aws->server), probe_settings);
  }
  char *config = test_preflight_config(aws, aws_extra, pipelines.data);
  test_report_t report = test_preflight_run(aws, config, strict);
  free(config);
  pl_buf_free(&pipelines);
  return report;
}

static void push_queue(test_aws_t *aws, const char *attributes) {
  char *body = test_aws_format("{\"Attributes\":%s}", attributes);
  test_preflight_push_answer(aws, "POST", 200, body);
  free(body);
}

static const char redrive[] =
    "\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":"
    "\\\"arn:aws:sqs:eu-west-1:111122223333:updates-dlq\\\","
    "\\\"maxReceiveCount\\\":5}\"";

static size_t count_lines(const char *text, const char *part) {
  size_t n = 0;
  for (const char *at = text; (at = strstr(at, part)); at += strlen(part))
    n++;
  return n;
}

/* ---- Tests ---- */

START_TEST(a_good_queue_is_ok_and_the_identity_is_said) {
  test_aws_t *aws = fixture();
  test_preflight_push_identity(aws);
  char *attrs = test_aws_format("{\"VisibilityTimeout\":\"300\",%s}", redrive);
  push_queue(aws, attrs);
  free(attrs);
  test_report_t r =
      run_probe(aws, "region = \"eu-west-1\"",
                "queue_url = \"http://q.example/111122223333/updates\"\n"
                "reads = true",
                1, true);
  test_report_has(&r, "ok   aws: credentials from environment");
  test_report_has(&r, "ok   aws: identity "
                      "arn:aws:iam::111122223333:user/preflight (account "
                      "111122223333)");
  test_report_has(&r, "ok   pipeline p: sink probe: sqs in region eu-west-1 "
                      "(aws {} block) at http://127.0.0.1:");
  test_report_has(&r, "ok   pipeline p: sink probe: queue updates, "
                      "visibility timeout 300s (the queue's), redrive to "
                      "updates-dlq after 5 receives\n");
  test_report_has(&r, "-    pipeline p: source script: nothing to check "
                      "live");
  test_report_has(&r, "preflight: 4 ok, 0 warning(s), 0 failed");
  test_report_lacks(&r, "sekrit");
  ck_assert_int_eq(r.status, 0);
  /* What was asked: the queue's attributes by its URL, and STS. */
  char *text = NULL;
  ck_assert(test_preflight_asked(aws, "AmazonSQS.GetQueueAttributes", &text));
  json_t *body = json_loads(text, 0, NULL);
  ck_assert_str_eq(json_string_value(json_object_get(body, "QueueUrl")),
                   "http://q.example/111122223333/updates");
  json_decref(body);
  free(text);
  bool sts = false;
  for (size_t i = 0; i < fake_http_request_count(aws->server); i++) {
    const fake_http_request_t *req = fake_http_request(aws->server, i);
    if (strncmp(req->path, "/sts", 4) == 0) {
      ck_assert_str_eq(req->body,
                       "Action=GetCallerIdentity&Version=2011-06-15");
      sts = true;
    }
  }
  ck_assert(sts);
  test_report_free(&r);
  test_aws_free(aws);
}
END_TEST

START_TEST(risky_queue_settings_warn_and_fail_only_under_strict) {
  for (int strict = 0; strict <= 1; strict++) {
    test_aws_t *aws = fixture();
    test_preflight_push_identity(aws);
    push_queue(aws, "{\"VisibilityTimeout\":\"30\"}");
    /* The region comes from AWS_REGION (the fixture's environment). */
    test_report_t r =
        run_probe(aws, "request_timeout = \"20s\"",
                  "queue_url = \"http://q.example/1/plain\"\nreads = true", 1,
                  strict);
    test_report_has(&r, "warn aws: region us-east-1 defaulted to AWS_REGION");
    test_report_has(&r, "ok   pipeline p: sink probe: queue plain, "
                        "visibility timeout 30s (the queue's)\n");
    test_report_has(&r, "warn pipeline p: sink probe: queue plain has no "
                        "redrive policy");
    test_report_has(&r, "warn pipeline p: sink probe: queue plain: "
                        "visibility timeout 30s: the heartbeat extends "
                        "messages in flight every 15s, but one extension "
                        "may take up to request_timeout (20s)");
    test_report_has(&r, "preflight: 4 ok, 3 warning(s), 0 failed");
    test_preflight_end(&r, aws, strict ? 1 : 0);
  }
}
END_TEST

START_TEST(the_stage_visibility_timeout_is_the_one_checked) {
  test_aws_t *aws = fixture();
  test_preflight_push_identity(aws);
  char *attrs = test_aws_format("{\"VisibilityTimeout\":\"30\",%s}", redrive);
  push_queue(aws, attrs);
  free(attrs);
  test_report_t r = run_probe(aws, "region = \"eu-west-1\"",
                              "queue_url = \"http://q.example/1/updates\"\n"
                              "reads = true\nvisibility_timeout = \"600s\"",
                              1, false);
  test_report_has(&r, "ok   pipeline p: sink probe: queue updates, "
                      "visibility timeout 600s (the stage's "
                      "visibility_timeout)");
  test_report_lacks(&r, "\nwarn ");
  test_preflight_end(&r, aws, 0);
}
END_TEST

START_TEST(a_queue_the_stage_only_writes_is_not_held_to_a_reader) {
  test_aws_t *aws = fixture();
  test_preflight_push_identity(aws);
  push_queue(aws, "{\"VisibilityTimeout\":\"1\",\"FifoQueue\":\"true\"}");
  test_report_t r = run_probe(aws, "region = \"eu-west-1\"",
                              "queue_url = \"http://q.example/1/out.fifo\"",
                              1, true);
  test_report_has(&r, "ok   pipeline p: sink probe: queue out.fifo (FIFO)\n");
  test_report_lacks(&r, "\nwarn ");
  test_preflight_end(&r, aws, 0);
}
END_TEST

START_TEST(a_missing_queue_fails) {
  test_aws_t *aws = fixture();
  test_preflight_push_identity(aws);
  test_preflight_push_answer(aws, "POST", 400, TEST_PREFLIGHT_NO_QUEUE);
  test_report_t r = run_probe(aws, "region = \"eu-west-1\"",
                              "queue_url = \"http://q.example/1/gone\"\n"
                              "reads = true",
                              1, false);
  test_report_has(&r, "FAIL pipeline p: sink probe: queue gone: "
                      "QueueDoesNotExist: The specified queue does not "
                      "exist.");
  test_report_has(&r, "preflight: 3 ok, 0 warning(s), 1 failed");
  test_preflight_end(&r, aws, 1);
}
END_TEST

START_TEST(a_missing_or_denied_bucket_fails) {
  static const struct {
    int status;
    const char *line;
  } cases[] = {
      {200, "ok   pipeline p: sink probe: bucket uploads\n"},
      {404, "FAIL pipeline p: sink probe: bucket uploads: no such bucket "
            "(HTTP 404)"},
      {403, "FAIL pipeline p: sink probe: bucket uploads: Forbidden (HTTP "
            "403) (the credentials lack the permission"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_aws_t *aws = fixture();
    test_preflight_push_identity(aws);
    test_preflight_push_answer(aws, "HEAD", cases[i].status, NULL);
    test_report_t r =
        run_probe(aws, "region = \"eu-west-1\"", "bucket = \"uploads\"", 1,
                  false);
    test_report_has(&r, cases[i].line);
    const fake_http_request_t *head = NULL;
    for (size_t k = 0; k < fake_http_request_count(aws->server); k++)
      if (strcmp(fake_http_request(aws->server, k)->method, "HEAD") == 0)
        head = fake_http_request(aws->server, k);
    ck_assert_ptr_nonnull(head);
    ck_assert_str_eq(head->path, "/uploads");
    test_preflight_end(&r, aws, cases[i].status == 200 ? 0 : 1);
  }
}
END_TEST

START_TEST(the_identity_is_checked_once_per_run) {
  test_aws_t *aws = fixture();
  test_preflight_push_identity(aws);
  test_preflight_push_identity(aws);
  test_preflight_push_answer(aws, "HEAD", 200, NULL);
  test_preflight_push_answer(aws, "HEAD", 200, NULL);
  test_report_t r = run_probe(aws, NULL, "bucket = \"uploads\"", 2, false);
  ck_assert_uint_eq(count_lines(r.text, "aws: identity"), 1);
  ck_assert_uint_eq(count_lines(r.text, "aws: credentials"), 1);
  /* The defaulted region, too, is said once for both stages. */
  ck_assert_uint_eq(count_lines(r.text, "defaulted"), 1);
  test_report_has(&r, "ok   pipeline p1: sink probe: bucket uploads");
  test_report_has(&r, "ok   pipeline p2: sink probe: bucket uploads");
  size_t sts = 0;
  for (size_t k = 0; k < fake_http_request_count(aws->server); k++)
    sts += strncmp(fake_http_request(aws->server, k)->path, "/sts", 4) == 0;
  ck_assert_uint_eq(sts, 1);
  test_preflight_end(&r, aws, 0);
}
END_TEST

START_TEST(a_denied_identity_fails) {
  test_aws_t *aws = fixture();
  fake_http_push(aws->server,
                 &(fake_http_response_t){
                     .method = "POST",
                     .path_prefix = "/sts",
                     .status = 403,
                     .body = "<ErrorResponse><Error><Type>Sender</Type>"
                             "<Code>InvalidClientTokenId</Code><Message>The "
                             "security token included in the request is "
                             "invalid.</Message></Error></ErrorResponse>"});
  test_preflight_push_answer(aws, "HEAD", 200, NULL);
  test_report_t r = run_probe(aws, "region = \"eu-west-1\"",
                              "bucket = \"uploads\"", 1, false);
  test_report_has(&r, "ok   aws: credentials from environment");
  test_report_has(&r, "FAIL aws: identity: sts GetCallerIdentity: HTTP 403 "
                      "InvalidClientTokenId");
  test_preflight_end(&r, aws, 1);
}
END_TEST

static const char *no_keys(void *data, const char *name) {
  (void)data;
  if (strcmp(name, "AWS_REGION") == 0)
    return "eu-west-1";
  if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
    return "true";
  if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0 ||
      strcmp(name, "AWS_CONFIG_FILE") == 0)
    return "/nonexistent/preflight";
  return NULL;
}

START_TEST(missing_credentials_fail_with_every_provider_tried) {
  test_aws_t *aws = fixture();
  aws->env = (pl_env_t){no_keys, NULL};
  test_preflight_push_answer(aws, "HEAD", 403, NULL);
  test_report_t r = run_probe(aws, NULL, "bucket = \"uploads\"", 1, false);
  test_report_has(&r, "FAIL aws: credentials: no AWS credentials: "
                      "environment: ");
  test_report_lacks(&r, "aws: identity");
  test_preflight_end(&r, aws, 1);
}
END_TEST

static const char *no_region(void *data, const char *name) {
  (void)data;
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
    return "AKIDEXAMPLE";
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return "sekrit-do-not-log";
  if (strcmp(name, "AWS_REGION") == 0)
    return NULL;
  return no_keys(data, name);
}

START_TEST(no_region_at_all_fails) {
  test_aws_t *aws = fixture();
  aws->env = (pl_env_t){no_region, NULL};
  test_report_t r = run_probe(aws, NULL, "bucket = \"uploads\"", 1, false);
  test_report_has(&r, "FAIL pipeline p: sink probe: s3: cannot set up a "
                      "client (");
  test_report_lacks(&r, "aws: identity");
  ck_assert_uint_eq(fake_http_request_count(aws->server), 0);
  test_preflight_end(&r, aws, 1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("aws_preflight");
  TCase *tc = tcase_create("checks");
  tcase_add_test(tc, a_good_queue_is_ok_and_the_identity_is_said);
  tcase_add_test(tc, risky_queue_settings_warn_and_fail_only_under_strict);
  tcase_add_test(tc, the_stage_visibility_timeout_is_the_one_checked);
  tcase_add_test(tc, a_queue_the_stage_only_writes_is_not_held_to_a_reader);
  tcase_add_test(tc, a_missing_queue_fails);
  tcase_add_test(tc, a_missing_or_denied_bucket_fails);
  tcase_add_test(tc, the_identity_is_checked_once_per_run);
  tcase_add_test(tc, a_denied_identity_fails);
  tcase_add_test(tc, missing_credentials_fail_with_every_provider_tried);
  tcase_add_test(tc, no_region_at_all_fails);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(suite());
}
