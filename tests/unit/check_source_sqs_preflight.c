/* source-sqs's preflight (its descriptor's hookup of
 * pl_aws_preflight_queue_stage) through the engine against a scripted SQS:
 * the queue it reads, with and without a redrive policy, and missing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_preflight.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

static test_report_t run_source(int status, const char *answer,
                                const char *extra, test_aws_t **out) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "POST", status, answer);
  char *pipelines = test_aws_format(
      "pipeline \"p\" {\n  source \"sqs\" {\n"
      "    queue_url = \"%s/111122223333/updates\"\n    endpoint = \"%s\"\n"
      "    %s\n  }\n  sink \"capture\" { }\n}\n",
      fake_http_url(aws->server), fake_http_url(aws->server), extra);
  test_report_t report = test_preflight_run_pipelines(aws, pipelines, false);
  free(pipelines);
  *out = aws;
  return report;
}

START_TEST(the_queue_it_reads_is_checked_as_a_reader) {
  test_aws_t *aws = NULL;
  test_report_t r = run_source(
      200,
      "{\"Attributes\":{\"VisibilityTimeout\":\"300\",\"RedrivePolicy\":"
      "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:eu-west-1:1:dlq\\\","
      "\\\"maxReceiveCount\\\":\\\"3\\\"}\"}}",
      "", &aws);
  test_report_has(&r, "ok   pipeline p: source sqs: queue updates, visibility "
                      "timeout 300s (the queue's), redrive to dlq after 3 "
                      "receives\n");
  test_report_has(&r, "-    pipeline p: sink capture: nothing to check live");
  ck_assert_int_eq(r.status, 0);
  char *url = test_aws_format("%s/111122223333/updates",
                              fake_http_url(aws->server));
  char *text = NULL;
  ck_assert(test_preflight_asked(aws, "AmazonSQS.GetQueueAttributes", &text));
  json_t *body = json_loads(text, 0, NULL);
  ck_assert_str_eq(json_string_value(json_object_get(body, "QueueUrl")), url);
  json_decref(body);
  free(text);
  free(url);
  test_report_free(&r);
  test_aws_free(aws);
}
END_TEST

START_TEST(its_visibility_timeout_option_counts) {
  test_aws_t *aws = NULL;
  test_report_t r = run_source(
      200, "{\"Attributes\":{\"VisibilityTimeout\":\"300\"}}",
      "visibility_timeout = \"10s\"", &aws);
  test_report_has(&r, "warn pipeline p: source sqs: queue updates has no "
                      "redrive policy");
  test_report_has(&r, "warn pipeline p: source sqs: queue updates: "
                      "visibility timeout 10s: the heartbeat extends "
                      "messages in flight every 5s, but one extension may "
                      "take up to request_timeout (60s)");
  test_preflight_end(&r, aws, 0);
}
END_TEST

START_TEST(a_missing_queue_fails) {
  test_aws_t *aws = NULL;
  test_report_t r = run_source(400, TEST_PREFLIGHT_NO_QUEUE, "", &aws);
  test_report_has(&r, "FAIL pipeline p: source sqs: queue updates: "
                      "QueueDoesNotExist: The specified queue does not "
                      "exist.\n");
  test_preflight_end(&r, aws, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("source_sqs_preflight");
  TCase *tc = tcase_create("preflight");
  tcase_add_test(tc, the_queue_it_reads_is_checked_as_a_reader);
  tcase_add_test(tc, its_visibility_timeout_option_counts);
  tcase_add_test(tc, a_missing_queue_fails);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
