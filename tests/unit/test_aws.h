/* An engine whose AWS clients talk to a scripted loopback server, built
 * and driven by hand: the fixture of the preflight suites (test_preflight.h),
 * which run `--check --live` on an engine that is created but not started.
 * The clients read test credentials, region us-east-1 and no instance
 * metadata from an injected environment. A plugin's own suite runs under
 * libpipelined-testing instead (<pipelined/testing.h>, pl_test_aws_server). */
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
/* A formatted new string (asserted). */
char *test_aws_format(const char *fmt, ...) PL_PRINTF(1, 2);
/* Closes the server and frees the run; fails the test when a handle was
 * left open. */
void test_aws_free(test_aws_t *aws);

#endif
