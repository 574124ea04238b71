/* Test plugin for the registry suite: a valid sink whose descriptor says
 * "other" while its file is sink-misnamed; the loader must refuse it. */
#include <pipelined/plugin.h>

static int misnamed_init(pl_instance_t *inst, const void *options,
                         void **ctx) {
  *ctx = NULL;
  return 0;
}

static void misnamed_write(pl_instance_t *inst, void *ctx,
                           pl_batch_t *batch) {
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void misnamed_destroy(void *ctx) {}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "other",
    .kind = PL_KIND_SINK,
    .description = "Test sink whose file name does not match its name.",
    .init = misnamed_init,
    .write = misnamed_write,
    .destroy = misnamed_destroy,
};
