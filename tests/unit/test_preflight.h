/* `--check --live` in-process: the fixture of the preflight suites. An
 * engine of the test AWS fixture (tests/unit/test_aws.h) is created but
 * not started, its stages' checks run against the scripted server, and
 * the report comes back as text. */
#ifndef PL_TEST_PREFLIGHT_H
#define PL_TEST_PREFLIGHT_H

#include "preflight.h"
#include "test_aws.h"

/* What one run printed, and its exit status. */
typedef struct test_report {
  char *text;
  int status;
} test_report_t;

/* The config "aws { <aws_extra> endpoint = "<server>/sts" max_attempts =
 * 1 }" then `pipelines` (new string): the AWS identity check goes to the
 * server's /sts path, the stages' own `endpoint` to the server's root. */
char *test_preflight_config(test_aws_t *aws, const char *aws_extra,
                            const char *pipelines);
/* Queues the STS answer naming the caller
 * arn:aws:iam::111122223333:user/preflight (answers /sts only). */
void test_preflight_push_identity(test_aws_t *aws);
/* Queues an answer to a `method` request ("POST": the JSON protocol,
 * "HEAD": S3's HeadBucket) outside /sts, with `body` (NULL: none). */
void test_preflight_push_answer(test_aws_t *aws, const char *method,
                                int status, const char *body);
/* SQS's answer for a queue that does not exist (HTTP 400). */
#define TEST_PREFLIGHT_NO_QUEUE                                                \
  "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":"          \
  "\"The specified queue does not exist.\"}"
/* Whether the server saw a request with X-Amz-Target `target`; its body
 * is then copied to *body (free it) unless body is NULL. */
bool test_preflight_asked(test_aws_t *aws, const char *target, char **body);

/* Creates the engine of `config` (asserted), runs its live checks until
 * they are over (the server stays open), and returns the report (free
 * with test_report_free). */
test_report_t test_preflight_run(test_aws_t *aws, const char *config,
                                 bool strict);
/* A fixture with `plugin` (borrowed; static) registered and the STS
 * answer queued. */
test_aws_t *test_preflight_fixture(const pl_plugin_t *plugin);
/* Runs `pipelines` (text; their stages name the server as `endpoint`)
 * with region "eu-west-1" in the aws block: test_preflight_config, then
 * test_preflight_run. */
test_report_t test_preflight_run_pipelines(test_aws_t *aws,
                                           const char *pipelines,
                                           bool strict);
/* Asserts that the report has a line that starts with `line` (the whole
 * report is the failure message). */
void test_report_has(const test_report_t *report, const char *line);
/* Asserts that no line of the report contains `text`. */
void test_report_lacks(const test_report_t *report, const char *text);
void test_report_free(test_report_t *report);
/* Asserts the report's exit status (the report is the failure message),
 * then frees the report and `aws`. */
void test_preflight_end(test_report_t *report, test_aws_t *aws, int status);

#endif
