/* The sink runner: forms batches from a sink's queue (batch_size,
 * batch_bytes, linger), bounds batches in flight (max_in_flight), retries
 * failed records with exponential backoff and full jitter, and routes
 * rejected records to the dead letter. */
#ifndef PL_CORE_SINK_H
#define PL_CORE_SINK_H

#include <uv.h>

#include "failing.h"
#include "stage.h"

struct pl_sink {
  pl_instance_t *inst;
  size_t in_flight; /* batches written or waiting for a retry */
  uv_timer_t linger;
  bool timer_open;
  bool linger_armed;
  bool linger_expired; /* cut a partial batch now */
  pl_batch_t *waiting; /* batches waiting for a retry timer */
  pl_batch_t *batches; /* every batch not freed yet */
  bool broken;         /* pl_sink_broken(): nothing is written any more */
  bool broken_handled; /* the pump has stopped the source */
  bool drain_told;     /* plugin->drain() called since the last batch */
  /* Failures that repeat batch after batch, logged per call site. */
  pl_complain_t retries;  /* batches retried */
  pl_complain_t failures; /* records failed after their retries */
  pl_complain_t letters;  /* letters a dead letter could not take */
  /* Health (/healthz): whether the last batches kept failing, since when,
   * and the reason of the last failure. A batch whose records all went
   * through ends the run; rejections are not failures. */
  pl_failing_t writes;
};

/* The batches of the sink failed (retried or given up) for `reason`; or
 * every record of one went through. */
void pl__sink_note_failure(pl_sink_t *sink, const char *reason);
void pl__sink_note_success(pl_sink_t *sink);

/* Creates the runner of a sink stage (no handles yet). */
int pl__sink_init(pl_instance_t *inst);
/* Opens the linger timer on the engine's loop. */
int pl__sink_open(pl_sink_t *sink);
/* Writes as many batches as the limits allow; returns true when it wrote
 * something. */
bool pl__sink_pump(pl_sink_t *sink);
/* True when nothing is queued or in flight. */
bool pl__sink_idle(const pl_sink_t *sink);
void pl__sink_close(pl_sink_t *sink);
/* Frees the runner and the batches its plugin never finished (a shutdown
 * that timed out); its timers must be closed. */
void pl__sink_free(pl_sink_t *sink);

#endif
