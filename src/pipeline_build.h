/* A pipeline from its config block (the engine's start and a reload). */
#ifndef PL_CORE_PIPELINE_BUILD_H
#define PL_CORE_PIPELINE_BUILD_H

#include "config.h"
#include "pipeline.h"

/* True when the pipeline block root->children[index] has a name that no
 * pipeline block before it has; else says why in `errors`. */
bool pl__pipeline_block_ok(const pl_cfg_node_t *root, size_t index,
                           pl_buf_t *errors);
/* A new pipeline named by `block`'s label (pl__pipeline_block_ok() said
 * yes) with the stages its source, transform, sink
 * and dead_letter blocks make, in pipeline order, and the block's
 * fingerprint (pl__cfg_fingerprint). Nothing is initialised. Every problem
 * is appended to `errors` as "file:line:col: ..." and the pipeline is still
 * returned, so that one pass finds every problem of a config: the caller
 * destroys it then. NULL only when out of memory. */
pl_pipeline_t *pl__pipeline_build(pl_engine_t *engine,
                                  const pl_cfg_node_t *block,
                                  pl_buf_t *errors);
/* Links the stages of a pipeline built without errors and runs their init
 * callbacks in order, up to the first that fails: that one is named in
 * `errors` (as in `file`) and its code returned. No I/O happens here. */
int pl__pipeline_init(pl_pipeline_t *pipeline, const char *file,
                      pl_buf_t *errors);

#endif
