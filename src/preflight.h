/* The engine's side of <pipelined/preflight.h>: `pipelined --check
 * --live` runs each stage's live checks and prints what they found. */
#ifndef PL_CORE_PREFLIGHT_H
#define PL_CORE_PREFLIGHT_H

#include <pipelined/preflight.h>
#include <stdio.h>

#include "engine.h"

/* The preflight callback of `plugin`, or NULL when it has none or its
 * descriptor predates the field (struct_size does not cover it). */
typedef int (*pl_preflight_cb)(pl_instance_t *inst, void *ctx,
                               pl_preflight_t *check);
pl_preflight_cb pl__preflight_callback(const pl_plugin_t *plugin);

typedef struct pl_preflight_run pl_preflight_run_t;

/* Calls the preflight callback of every stage of `engine` (created, not
 * started); their checks go on on the engine's loop. Returns 0 and a new
 * run, or PL_ENOMEM. */
int pl__preflight_start(pl_engine_t *engine, bool strict,
                        pl_preflight_run_t **out);
/* True once every stage is done and the state the stages shared (the
 * engine's extensions) is closing: the loop then ends by itself. */
bool pl__preflight_over(const pl_preflight_run_t *run);
/* Fails the stages that are not done, closes the shared state if it is
 * not closing yet (the caller runs the loop again to let it close), and
 * prints to `out` the shared lines, then each stage's lines in pipeline
 * order (a stage without checks gets one "-" line), then one summary line
 * "preflight: N ok, N warning(s), N failed". Frees `run`. Returns the exit
 * status: 1 when a check failed, or warned under `strict`; else 0. */
int pl__preflight_finish(pl_preflight_run_t *run, FILE *out);

/* pl__preflight_start, the loop until it ends, pl__preflight_finish, and
 * the loop again. The caller destroys the engine. */
int pl__preflight_run(pl_engine_t *engine, FILE *out, bool strict);

#endif
