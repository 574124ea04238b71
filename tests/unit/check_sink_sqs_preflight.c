/* sink-sqs's preflight through the engine against a scripted SQS: the
 * queue it writes exists (GetQueueAttributes; nothing is sent), without
 * the checks of a reader, and a missing one fails. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_preflight.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

static test_report_t run_sink(int status, const char *answer,
                              test_aws_t **out) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_preflight_push_answer(aws, "POST", status, answer);
  char *pipelines = test_aws_format(
      "pipeline \"p\" {\n  source \"script\" { records = [] }\n"
      "  sink \"sqs\" {\n    queue_url = \"%s/111122223333/out\"\n"
      "    endpoint = \"%s\"\n  }\n}\n",
      fake_http_url(aws->server), fake_http_url(aws->server));
  test_report_t report = test_preflight_run_pipelines(aws, pipelines, true);
  free(pipelines);
  *out = aws;
  return report;
}

START_TEST(the_queue_it_writes_exists) {
  test_aws_t *aws = NULL;
  /* No redrive policy, a short timeout: a writer does not care. */
  test_report_t r =
      run_sink(200, "{\"Attributes\":{\"VisibilityTimeout\":\"1\"}}", &aws);
  test_report_has(&r, "ok   pipeline p: sink sqs: queue out\n");
  test_report_lacks(&r, "\nwarn ");
  ck_assert_int_eq(r.status, 0);
  ck_assert(test_preflight_asked(aws, "AmazonSQS.GetQueueAttributes", NULL));
  ck_assert(!test_preflight_asked(aws, "AmazonSQS.SendMessageBatch", NULL));
  ck_assert(!test_preflight_asked(aws, "AmazonSQS.SendMessage", NULL));
  test_report_free(&r);
  test_aws_free(aws);
}
END_TEST

START_TEST(a_missing_queue_fails) {
  test_aws_t *aws = NULL;
  test_report_t r = run_sink(400, TEST_PREFLIGHT_NO_QUEUE, &aws);
  test_report_has(&r, "FAIL pipeline p: sink sqs: queue out: "
                      "QueueDoesNotExist: The specified queue does not "
                      "exist.\n");
  test_preflight_end(&r, aws, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink_sqs_preflight");
  TCase *tc = tcase_create("preflight");
  tcase_add_test(tc, the_queue_it_writes_exists);
  tcase_add_test(tc, a_missing_queue_fails);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
