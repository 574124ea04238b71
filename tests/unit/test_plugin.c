/* The plugin suites' in-tree helpers. */
#include <check.h>

#include "test_plugin.h"

void test_plugin_run(pl_test_t *t, uint64_t timeout_ms) {
  int rc = pl_test_run(t, timeout_ms);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
}

void test_plugin_assert_clean(pl_test_t *t) {
  ck_assert_msg(pl_test_status(t) == 0, "%s%s", pl_test_errors(t),
                pl_test_log(t));
}

const pl_stage_metrics_t *test_plugin_metrics(pl_test_t *t) {
  pl_instance_t *inst = pl_test_instance(t);
  ck_assert_ptr_nonnull(inst);
  return &inst->metrics;
}
