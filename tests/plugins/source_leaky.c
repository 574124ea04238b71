/* Test plugin for tests/e2e/daemon.sh: a source "leaky" that breaks the
 * rule that an instance closes its handles (HACKING.md#s6). It initialises
 * a timer it never starts nor closes, and is exhausted at once, so that a
 * --once run ends with that handle still open. */
#include <pipelined/plugin.h>

/* Static, not in a context: the handle stays in the loop after destroy,
 * where uv_loop_close() and uv_walk() still read it. */
static uv_timer_t leaked;

static int leaky_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = NULL;
  return 0;
}

static int leaky_start(pl_instance_t *inst, void *ctx) {
  uv_timer_init(pl_instance_loop(inst), &leaked);
  pl_source_exhausted(inst);
  return 0;
}

static void leaky_destroy(void *ctx) {}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "leaky",
    .kind = PL_KIND_SOURCE,
    .description = "Test source that leaves a handle open.",
    .init = leaky_init,
    .start = leaky_start,
    .destroy = leaky_destroy,
};
