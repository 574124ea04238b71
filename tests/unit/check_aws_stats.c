/* Check suite for src/aws/aws_stats.c: the latency histogram's buckets
 * (a value on a bound is in that bucket, counts are cumulative), errors by
 * class, and the exposition text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "aws_stats.h"
#include "test_suite.h"

static void assert_has(const char *text, const char *line) {
  ck_assert_msg(strstr(text, line) != NULL, "no '%s' in:\n%s", line, text);
}

START_TEST(nothing_recorded_renders_nothing) {
  pl_aws_stats_t stats = {0};
  pl_buf_t out = {0};
  pl__aws_stats_render(&stats, &out);
  ck_assert_uint_eq(out.len, 0);
  pl_buf_free(&out);
  pl__aws_stats_free(&stats);
}
END_TEST

START_TEST(buckets_are_cumulative_and_bounds_inclusive) {
  pl_aws_stats_t stats = {0};
  pl__aws_stats_record(&stats, "sqs", "SendMessageBatch", 0.005,
                       PL_AWS_ATTEMPT_OK);
  pl__aws_stats_record(&stats, "sqs", "SendMessageBatch", 0.0051,
                       PL_AWS_ATTEMPT_OK);
  pl__aws_stats_record(&stats, "sqs", "SendMessageBatch", 0.3,
                       PL_AWS_ATTEMPT_SERVER);
  pl__aws_stats_record(&stats, "sqs", "SendMessageBatch", 99,
                       PL_AWS_ATTEMPT_NETWORK);
  pl__aws_stats_record(&stats, "dynamodb", "UpdateItem", -1,
                       PL_AWS_ATTEMPT_THROTTLING);
  pl_buf_t out = {0};
  pl__aws_stats_render(&stats, &out);
  const char *t = out.data;
  assert_has(t, "# TYPE pipelined_aws_request_duration_seconds histogram\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"0.005\"} 1\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"0.01\"} 2\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"0.25\"} 2\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"0.5\"} 3\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"30\"} 3\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service=\"sqs\","
                "operation=\"SendMessageBatch\",le=\"+Inf\"} 4\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_count{service=\"sqs\","
                "operation=\"SendMessageBatch\"} 4\n");
  assert_has(t, "pipelined_aws_request_duration_seconds_sum{service=\"sqs\","
                "operation=\"SendMessageBatch\"} 99.310100\n");
  /* A negative time (a clock step) counts as 0. */
  assert_has(t, "pipelined_aws_request_duration_seconds_bucket{service="
                "\"dynamodb\",operation=\"UpdateItem\",le=\"0.005\"} 1\n");
  assert_has(t, "# TYPE pipelined_aws_request_errors_total counter\n");
  assert_has(t, "pipelined_aws_request_errors_total{service=\"sqs\","
                "operation=\"SendMessageBatch\",class=\"5xx\"} 1\n");
  assert_has(t, "pipelined_aws_request_errors_total{service=\"sqs\","
                "operation=\"SendMessageBatch\",class=\"network\"} 1\n");
  assert_has(t, "pipelined_aws_request_errors_total{service=\"sqs\","
                "operation=\"SendMessageBatch\",class=\"throttling\"} 0\n");
  assert_has(t, "pipelined_aws_request_errors_total{service=\"dynamodb\","
                "operation=\"UpdateItem\",class=\"throttling\"} 1\n");
  /* Each family once: the histogram's HELP precedes every sample. */
  const char *help = "# HELP pipelined_aws_request_duration_seconds ";
  ck_assert_ptr_eq(strstr(t, help), t);
  ck_assert_ptr_null(strstr(t + 1, help));
  assert_has(t, "# TYPE pipelined_aws_request_duration_seconds histogram\n");
  assert_has(t, "# HELP pipelined_aws_request_errors_total failed AWS "
                "requests (attempts) by class: throttling, 5xx, 4xx, "
                "network\n# TYPE pipelined_aws_request_errors_total "
                "counter\n");
  pl_buf_free(&out);
  pl__aws_stats_free(&stats);
}
END_TEST

int main(void) {
  Suite *s = suite_create("aws_stats");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, nothing_recorded_renders_nothing);
  tcase_add_test(tc, buckets_are_cumulative_and_bounds_inclusive);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
