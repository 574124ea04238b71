/* Test plugin for the registry suite: a source built for a future ABI. The
 * loader must refuse it from abi_version alone, naming the file and both
 * versions, before it reads any other field. */
#include <pipelined/plugin.h>

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION + 1,
    .struct_size = sizeof(pl_plugin_t),
    .name = "badabi",
    .kind = PL_KIND_SOURCE,
    .description = "Test source from a future ABI.",
};
