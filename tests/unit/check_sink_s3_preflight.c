/* Check suite for sink-s3's live checks (`--check --live`) through the
 * engine against a scripted S3: the bucket is checked with HeadBucket, and
 * nothing is written. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_preflight.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

static test_report_t run_sink(test_aws_t *aws) {
  char *pipelines = test_aws_format(
      "pipeline \"p\" {\n  source \"script\" { records = [\"1\"] }\n"
      "  sink \"s3\" {\n    endpoint = \"%s\"\n    bucket = \"archive\"\n"
      "  }\n}\n",
      fake_http_url(aws->server));
  test_report_t report = test_preflight_run_pipelines(aws, pipelines, false);
  free(pipelines);
  return report;
}

/* No request but HeadBucket (and the identity's) reached the server. */
static void assert_only_head(test_aws_t *aws) {
  for (size_t i = 0; i < fake_http_request_count(aws->server); i++) {
    const fake_http_request_t *req = fake_http_request(aws->server, i);
    if (strncmp(req->path, "/sts", 4) == 0)
      continue;
    ck_assert_str_eq(req->method, "HEAD");
    ck_assert_str_eq(req->path, "/archive");
  }
}

START_TEST(checks_its_bucket) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "HEAD", 200, NULL);
  test_report_t r = run_sink(aws);
  test_report_has(&r, "ok   pipeline p: sink s3: s3 in region eu-west-1");
  test_report_has(&r, "ok   pipeline p: sink s3: bucket archive\n");
  assert_only_head(aws);
  test_preflight_end(&r, aws, 0);
}
END_TEST

START_TEST(a_missing_bucket_fails) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "HEAD", 404, NULL);
  test_report_t r = run_sink(aws);
  test_report_has(&r, "FAIL pipeline p: sink s3: bucket archive: no such "
                      "bucket (HTTP 404)\n");
  assert_only_head(aws);
  test_preflight_end(&r, aws, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink_s3_preflight");
  TCase *tc = tcase_create("preflight");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, checks_its_bucket);
  tcase_add_test(tc, a_missing_bucket_fails);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
