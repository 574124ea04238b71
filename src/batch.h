/* Internal side of sink batches. */
#ifndef PL_CORE_BATCH_H
#define PL_CORE_BATCH_H

#include <uv.h>

#include "stage.h"

/* The retry timer: initialised for the first retry, closed when the
 * batch is over or the sink closes. The batch is freed once it is over
 * and its timer, if any, is closed. */
typedef enum {
  PL_BATCH_TIMER_NONE,
  PL_BATCH_TIMER_OPEN,
  PL_BATCH_TIMER_CLOSING, /* uv_close() called, its callback not run yet */
  PL_BATCH_TIMER_CLOSED,
} pl_batch_timer_t;

struct pl_batch {
  pl_instance_t *sink;
  size_t count;
  pl_record_t **records;
  unsigned attempt;
  bool done; /* pl_batch_done() was called for this attempt */
  bool over; /* no attempt is left: nothing refers to it but the runner */
  pl_batch_timer_t timer;
  uv_timer_t retry_timer;
  pl_batch_t *next_waiting; /* in the sink's list while a retry waits */
  /* Every batch of the sink until it is freed (pl_sink_t.batches). */
  pl_batch_t *prev_batch;
  pl_batch_t *next_batch;
};

/* Takes up to `max_count` records (and about `max_bytes`) from the sink's
 * queue into a new batch and writes it. */
int pl__batch_write_from_queue(pl_instance_t *sink, size_t max_count,
                               uint64_t max_bytes);

/* The batches waiting for a retry fail now (a broken stage retries
 * nothing); batches being written are left to their plugin. */
void pl__batch_abandon_waiting(pl_sink_t *sink);
/* The sink closes: batches waiting for a retry give up (their records
 * fail, so their groups are not committed), and the retry timers of
 * batches still being written (a write stuck past shutdown_timeout) are
 * closed, since no retry may start any more. */
void pl__batch_close_all(pl_sink_t *sink);
/* The sink is destroyed (its plugin already was, and the loop has
 * returned): the records of batches its plugin never finished fail, which
 * resolves their groups, and the batches are freed. */
void pl__batch_free_all(pl_sink_t *sink);

#endif
