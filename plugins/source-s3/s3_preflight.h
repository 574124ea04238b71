/* source-s3's live checks (pipelined --check --live): its preflight
 * callback, named in the descriptor. */
#ifndef PL_SOURCE_S3_PREFLIGHT_H
#define PL_SOURCE_S3_PREFLIGHT_H

#include <pipelined/preflight.h>

/* The bucket exists and may be listed (HeadBucket: list mode, or the
 * bucket that filters notifications); in notifications mode the queue
 * exists, has a redrive policy and a visibility timeout that suits a
 * reader. `ctx` is the source's (source_s3_t). Returns 0 and the checks
 * end later (pl_preflight_done()), or PL_ENOMEM. */
int s3_preflight(pl_instance_t *inst, void *ctx, pl_preflight_t *check);

#endif
