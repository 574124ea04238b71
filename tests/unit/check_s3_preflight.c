/* Check suite for plugins/source-s3/s3_preflight.c through the engine
 * against a scripted S3 and SQS: list mode checks its bucket (HeadBucket),
 * notifications mode its queue as a reader and the bucket it filters on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_preflight.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

static test_report_t run_source(test_aws_t *aws, const char *settings) {
  char *pipelines = test_aws_format(
      "pipeline \"p\" {\n  source \"s3\" {\n    endpoint = \"%s\"\n"
      "    sqs_endpoint = \"%s\"\n    %s\n  }\n  sink \"capture\" { }\n}\n",
      fake_http_url(aws->server), fake_http_url(aws->server), settings);
  test_report_t report = test_preflight_run_pipelines(aws, pipelines, false);
  free(pipelines);
  return report;
}

START_TEST(list_mode_checks_its_bucket) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "HEAD", 404, NULL);
  test_report_t r = run_source(aws, "bucket = \"uploads\"");
  test_report_has(&r, "ok   pipeline p: source s3: s3 in region eu-west-1");
  test_report_has(&r, "FAIL pipeline p: source s3: bucket uploads: no such "
                      "bucket (HTTP 404)\n");
  test_report_lacks(&r, "sqs in region");
  test_preflight_end(&r, aws, 1);
}
END_TEST

START_TEST(notifications_mode_checks_its_queue_and_bucket) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "HEAD", 200, NULL);
  test_preflight_push_answer(aws, "POST", 200,
                             "{\"Attributes\":{\"VisibilityTimeout\":\"300\"}}");
  char *settings = test_aws_format(
      "notifications = \"%s/1/events\"\n    bucket = \"uploads\"",
      fake_http_url(aws->server));
  test_report_t r = run_source(aws, settings);
  free(settings);
  test_report_has(&r, "ok   pipeline p: source s3: sqs in region eu-west-1");
  test_report_has(&r, "ok   pipeline p: source s3: notifications queue "
                      "events, visibility timeout 300s (the queue's)\n");
  test_report_has(&r, "warn pipeline p: source s3: notifications queue "
                      "events has no redrive policy");
  test_report_has(&r, "ok   pipeline p: source s3: bucket uploads\n");
  test_preflight_end(&r, aws, 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3_preflight");
  TCase *tc = tcase_create("preflight");
  tcase_add_test(tc, list_mode_checks_its_bucket);
  tcase_add_test(tc, notifications_mode_checks_its_queue_and_bucket);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
