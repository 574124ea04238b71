/* The plugin suites' in-tree helpers. */
#include <check.h>
#include <stdlib.h>

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

const pl_failing_t *test_plugin_reads(pl_test_t *t, const char *what) {
  pl_instance_t *inst = pl_test_instance(t);
  ck_assert_ptr_nonnull(inst);
  return pl__failing_set_get(&inst->reads, what);
}

const pl_pipeline_t *test_plugin_pipeline(pl_test_t *t) {
  pl_instance_t *inst = pl_test_instance(t);
  ck_assert_ptr_nonnull(inst);
  return inst->pipeline;
}

test_plugin_aws_t *test_plugin_aws_create(const pl_plugin_t *plugin) {
  test_plugin_aws_t *aws = calloc(1, sizeof(*aws));
  ck_assert_ptr_nonnull(aws);
  ck_assert_int_eq(pl_test_create(plugin, &aws->t), 0);
  aws->server = pl_test_aws_server(aws->t);
  ck_assert_ptr_nonnull(aws->server);
  ck_assert_int_eq(pl_test_set_globals(aws->t, "aws { max_attempts = 1 }"), 0);
  return aws;
}

void test_plugin_aws_free(test_plugin_aws_t *aws) {
  ck_assert_int_eq(pl_test_destroy(aws->t), 0);
  free(aws);
}

typedef struct depth {
  uv_check_t check;
  pl_test_t *t;
  pl_role_t role;
  size_t max;
  bool closed;
} depth_t;

/* The stage whose queue `d` watches, or NULL before the run. */
static const pl_instance_t *depth_stage(const depth_t *d) {
  pl_instance_t *inst = pl_test_instance(d->t);
  if (!inst)
    return NULL;
  return d->role == PL_ROLE_DEAD_LETTER ? inst->pipeline->dead_letter
                                        : inst->pipeline->sink;
}

static void depth_sample(uv_check_t *check) {
  depth_t *d = check->data;
  const pl_instance_t *stage = depth_stage(d);
  if (stage && stage->queue.count > d->max)
    d->max = stage->queue.count;
}

static void depth_closed(uv_handle_t *handle) {
  ((depth_t *)handle->data)->closed = true;
}

size_t test_plugin_run_depth(pl_test_t *t, pl_role_t role, uint64_t timeout_ms,
                             size_t *capacity) {
  depth_t d = {.t = t, .role = role};
  ck_assert_int_eq(uv_check_init(pl_test_loop(t), &d.check), 0);
  d.check.data = &d;
  ck_assert_int_eq(uv_check_start(&d.check, depth_sample), 0);
  /* The run decides when the loop ends, not this. */
  uv_unref((uv_handle_t *)&d.check);
  int rc = pl_test_run(t, timeout_ms);
  uv_close((uv_handle_t *)&d.check, depth_closed);
  while (!d.closed) /* before `d` goes out of scope */
    uv_run(pl_test_loop(t), UV_RUN_NOWAIT);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
  const pl_instance_t *stage = depth_stage(&d);
  ck_assert_ptr_nonnull(stage);
  *capacity = stage->capacity;
  return d.max;
}
