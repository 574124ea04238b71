/* What the plugin suites on libpipelined-testing (<pipelined/testing.h>)
 * share that only this tree has: Check assertions around a run, and the
 * engine's own metrics of the stage under test (src/stage.h), which a
 * plugin outside the tree cannot see. */
#ifndef PL_TEST_PLUGIN_H
#define PL_TEST_PLUGIN_H

#include <pipelined/testing.h>

#include "stage.h"

/* Runs `t` (pl_test_run with `timeout_ms`) and fails the test unless the
 * run ended by itself (the config's errors and the log are the message). */
void test_plugin_run(pl_test_t *t, uint64_t timeout_ms);
/* Fails the test unless the run's status is 0 (the log is the message). */
void test_plugin_assert_clean(pl_test_t *t);
/* The engine's metrics of the stage under test (borrowed for the
 * harness's life); fails the test before the run. */
const pl_stage_metrics_t *test_plugin_metrics(pl_test_t *t);

#endif
