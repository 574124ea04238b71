/* The idle AWS fixture. */
#include <check.h>
#include <pipelined/aws.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_aws_idle.h"

static int idle_init(pl_instance_t *inst, const void *options, void **ctx) {
  (void)inst;
  (void)options;
  *ctx = NULL;
  return 0;
}

static void idle_destroy(void *ctx) { (void)ctx; }

static void idle_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  (void)inst;
  (void)ctx;
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

const pl_plugin_t test_sink_aws_idle = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "aws-idle",
    .kind = PL_KIND_SINK,
    .description = "Test sink: a stage that may create AWS clients.",
    .init = idle_init,
    .write = idle_write,
    .destroy = idle_destroy,
    .extensions = PL_AWS_EXTENSIONS,
};

test_run_t *test_aws_idle(const pl_env_t *env, const char *aws_block) {
  static const pl_plugin_t *const extra[] = {&test_sink_aws_idle, NULL};
  test_run_t *run = test_run_create(extra);
  char text[1024];
  int n = snprintf(text, sizeof(text),
                   "pipeline \"p\" { source \"script\" { records = [] }\n"
                   "  sink \"aws-idle\" { } }\n%s\n",
                   aws_block ? aws_block : "");
  ck_assert_int_lt(n, (int)sizeof(text));
  ck_assert_msg(test_run_configure(run, text, false, env) == 0, "%s",
                run->errors.data);
  return run;
}
