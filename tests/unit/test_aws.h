/* An engine whose AWS clients talk to a scripted loopback server, built
 * and driven by hand: the fixture of the preflight suites (test_preflight.h),
 * which run `--check --live` on an engine that is created but not started,
 * and, until it moves to libpipelined-testing as the other plugin suites
 * did, of check_sink_s3 (the run helpers below). The clients read test
 * credentials, region us-east-1 and no instance metadata from an injected
 * environment; each plugin block names the server as its `endpoint`. */
#ifndef PL_TEST_AWS_H
#define PL_TEST_AWS_H

#include "fake_http.h"
#include "test_stages.h"

typedef struct test_aws {
  test_run_t *run;
  fake_http_t *server;
  pl_env_t env;
} test_aws_t;

/* The run (with the test plugins and `extra`) and the started server. */
test_aws_t *test_aws_create(const pl_plugin_t *const *extra);
/* Parses and starts `config` with the environment; returns create_rc
 * (the errors are in run->errors). */
int test_aws_start(test_aws_t *aws, const char *config, bool once);
/* Runs the loop until the engine has closed its stages (the server keeps
 * the loop alive after that) and sets run->status. */
void test_aws_run(test_aws_t *aws);
/* Pipeline "p"'s stages: the script source's and the dead letter's
 * contexts, the sink's instance, and a counter of the sink's
 * (pl_instance_count; 0 when never counted). */
test_source_t *test_aws_source(test_aws_t *aws);
test_sink_t *test_aws_dead_letter(test_aws_t *aws);
pl_instance_t *test_aws_sink(test_aws_t *aws);
uint64_t test_aws_counter(test_aws_t *aws, const char *name);
/* The run ended with status 0 (the log is the failure message). */
void test_aws_assert_clean(test_aws_t *aws);

/* ---- Helpers of the AWS plugins' suites ---- */

/* A formatted new string (asserted). */
char *test_aws_format(const char *fmt, ...) PL_PRINTF(1, 2);
/* Appends `count` JSON texts to `out` as a config list's items, each
 * quoted and escaped: "a", "b". */
void test_aws_append_records(pl_buf_t *out, const char *const *records,
                             size_t count);
/* Starts `config` with --once, asserts the engine was created, and runs it
 * to the end. */
void test_aws_run_config(test_aws_t *aws, const char *config);
/* Queues one answer of the fake server, for any request. */
void test_aws_push_json(test_aws_t *aws, int status, const char *headers,
                        const char *body);
/* The parsed body of the i-th request the server saw (new reference). */
json_t *test_aws_request_body(test_aws_t *aws, size_t i);

/* Closes the server and frees the run; fails the test when a handle was
 * left open. */
void test_aws_free(test_aws_t *aws);

#endif
