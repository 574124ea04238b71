/* What the plugin suites on libpipelined-testing (<pipelined/testing.h>)
 * share that only this tree has: Check assertions around a run, and the
 * engine's own view of the stage under test (src/stage.h, src/pipeline.h:
 * its metrics, its pipeline's groups, the depth of a queue), which a
 * plugin outside the tree cannot see. */
#ifndef PL_TEST_PLUGIN_H
#define PL_TEST_PLUGIN_H

#include <pipelined/testing.h>

#include "pipeline.h"
#include "stage.h"

/* Runs `t` (pl_test_run with `timeout_ms`) and fails the test unless the
 * run ended by itself (the config's errors and the log are the message). */
void test_plugin_run(pl_test_t *t, uint64_t timeout_ms);
/* Fails the test unless the run's status is 0 (the log is the message). */
void test_plugin_assert_clean(pl_test_t *t);
/* The engine's metrics of the stage under test (borrowed for the
 * harness's life); fails the test before the run. */
const pl_stage_metrics_t *test_plugin_metrics(pl_test_t *t);
/* Whether the source under test says its reads of kind `what` fail, and
 * why (borrowed for the harness's life: pl_source_failing,
 * pl_source_reading); NULL when that kind never failed. */
const pl_failing_t *test_plugin_reads(pl_test_t *t, const char *what);
/* The pipeline of the stage under test (borrowed for the harness's life):
 * the groups it saw committed and failed and its input errors, what a
 * source under test is judged by. Fails the test before the run. */
const pl_pipeline_t *test_plugin_pipeline(pl_test_t *t);

/* A harness around an AWS plugin (`plugin`, borrowed) with its scripted
 * AWS server (pl_test_aws_server, owned by the harness) and the globals
 * "aws { max_attempts = 1 }" (the plugin's own retries are what a test
 * counts); asserted. */
typedef struct test_plugin_aws {
  pl_test_t *t;
  pl_test_http_t *server;
} test_plugin_aws_t;
test_plugin_aws_t *test_plugin_aws_create(const pl_plugin_t *plugin);
/* Destroys the harness (and its server) and frees `aws`; fails the test
 * when pl_test_destroy() found a handle still open. */
void test_plugin_aws_free(test_plugin_aws_t *aws);

/* Runs `t` as test_plugin_run() does while sampling the input queue of
 * the pipeline's sink or dead letter (`role`) at the end of each turn of
 * the loop, after the stages' callbacks of that turn ran (a uv_check_t on
 * pl_test_loop()). Returns the deepest seen, and in *capacity that queue's
 * capacity (the most its stage takes before the one before it waits). */
size_t test_plugin_run_depth(pl_test_t *t, pl_role_t role, uint64_t timeout_ms,
                             size_t *capacity);

#endif
