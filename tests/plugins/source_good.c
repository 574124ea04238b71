/* Test plugin for the registry suite: a minimal valid source "good", with
 * one option of each kind the loader checks (a default that parses, an
 * enum with choices). */
#include <pipelined/plugin.h>

#include <stdlib.h>

typedef struct good_options {
  int64_t count;
  int mode;
} good_options_t;

static const char *const good_modes[] = {"fast", "slow", NULL};

static const pl_option_t good_option_table[] = {
    PL_OPTION_INT(good_options_t, count, "count", "3", 0,
                  "How many records the source would emit."),
    PL_OPTION_ENUM(good_options_t, mode, "mode", "fast", good_modes, 0,
                   "How it would emit them."),
};

static int good_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = NULL;
  return 0;
}

static int good_start(pl_instance_t *inst, void *ctx) { return 0; }

static void good_destroy(void *ctx) {}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "good",
    .kind = PL_KIND_SOURCE,
    .description = "Test source that loads and validates.",
    .options = good_option_table,
    .options_count = sizeof(good_option_table) / sizeof(good_option_table[0]),
    .options_size = sizeof(good_options_t),
    .init = good_init,
    .start = good_start,
    .destroy = good_destroy,
};
