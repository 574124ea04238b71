/* Internal side of sink batches. */
#ifndef PL_CORE_BATCH_H
#define PL_CORE_BATCH_H

#include <uv.h>

#include "stage.h"

struct pl_batch {
  pl_instance_t *sink;
  size_t count;
  pl_record_t **records;
  unsigned attempt;
  bool done; /* pl_batch_done() was called for this attempt */
  uv_timer_t retry_timer;
  pl_batch_t *next_waiting; /* in the sink's list while a retry waits */
};

/* Takes up to `max_count` records (and about `max_bytes`) from the sink's
 * queue into a new batch and writes it. */
int pl__batch_write_from_queue(pl_instance_t *sink, size_t max_count,
                               uint64_t max_bytes);

/* Forced shutdown: batches waiting for a retry give up (their records
 * fail, so their groups are not committed). */
void pl__batch_abandon_waiting(pl_sink_t *sink);

#endif
