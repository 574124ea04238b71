/* The pipelined executable. */
#include "build_config.h"

#include "cli.h"

#ifdef PL_JEMALLOC_OPTIONS
/* jemalloc's options, read once at its start; MALLOC_CONF in the
 * environment overrides them. A consumer holds hundreds of messages'
 * records, each a few dozen small allocations freed in batches when a
 * write is answered: the default thread cache (two slabs' worth of each
 * size) overflowed, and most frees past it went to the arena. Eight
 * slabs' worth (at most 2,000 of a size) keeps them in the cache. Its
 * collector, which empties part of one size's cache after every 64 KiB
 * allocated, ran often enough in update mode (a request or two of buffers
 * a row) to send a fifth of the allocations there back to the arena: after
 * every MiB instead. Put mode 4.7% fewer instructions, update mode 3.6%,
 * the producer unchanged, the same peak RSS (docs/performance.md). The
 * library's own weak definition gives way to this one, which must be seen
 * from outside the executable for that. */
extern __attribute__((visibility("default"))) const char *const malloc_conf;
const char *const malloc_conf = "tcache_nslots_small_max:2000,"
                                "lg_tcache_nslots_mul:3,"
                                "tcache_gc_incr_bytes:1048576";
#endif

int main(int argc, char **argv) { return pl_cli_main(argc, argv); }
