/* The sink runner: when to cut a batch and how many may be in flight. */
#include <stdlib.h>

#include "batch.h"
#include "engine.h"
#include "sink.h"

static void on_linger(uv_timer_t *timer) {
  pl_sink_t *sink = timer->data;
  sink->linger_armed = false;
  sink->linger_expired = true;
  pl__pipeline_kick(sink->inst->pipeline);
}

int pl__sink_init(pl_instance_t *inst) {
  pl_sink_t *sink = calloc(1, sizeof(*sink));
  if (!sink)
    return PL_ENOMEM;
  sink->inst = inst;
  inst->sink = sink;
  return 0;
}

int pl__sink_open(pl_sink_t *sink) {
  int rc = uv_timer_init(sink->inst->pipeline->engine->loop, &sink->linger);
  if (rc < 0)
    return PL_EIO;
  sink->linger.data = sink;
  sink->timer_open = true;
  return 0;
}

/* No more records can arrive from upstream soon: waiting for the linger
 * time would only delay the end of a run. */
static bool upstream_drained(const pl_instance_t *inst) {
  const pl_pipeline_t *pipeline = inst->pipeline;
  if (!pipeline->source->exhausted)
    return false;
  for (size_t i = 1; i < pipeline->stage_count; i++) {
    const pl_instance_t *stage = pipeline->stages[i];
    if (stage == inst)
      break;
    if (stage->queue.count > 0)
      return false;
  }
  return true;
}

bool pl__sink_pump(pl_sink_t *sink) {
  pl_instance_t *inst = sink->inst;
  const pl_stage_options_t *opts = &inst->stage;
  bool wrote = false;
  while (inst->queue.count > 0 && sink->in_flight < (size_t)opts->max_in_flight) {
    bool full = inst->queue.count >= (size_t)opts->batch_size ||
                inst->queue.bytes >= opts->batch_bytes;
    if (!full && opts->linger_ms > 0 && !sink->linger_expired &&
        !upstream_drained(inst)) {
      if (!sink->linger_armed && sink->timer_open) {
        uv_timer_start(&sink->linger, on_linger, opts->linger_ms, 0);
        sink->linger_armed = true;
      }
      break;
    }
    if (sink->linger_armed) {
      uv_timer_stop(&sink->linger);
      sink->linger_armed = false;
    }
    sink->linger_expired = false;
    if (pl__batch_write_from_queue(inst, (size_t)opts->batch_size,
                                   opts->batch_bytes) < 0)
      break; /* out of memory: try again on the next pump */
    wrote = true;
  }
  return wrote;
}

bool pl__sink_idle(const pl_sink_t *sink) {
  return sink->in_flight == 0 && sink->inst->queue.count == 0;
}

void pl__sink_close(pl_sink_t *sink) {
  pl__batch_close_all(sink);
  if (sink->timer_open && !uv_is_closing((uv_handle_t *)&sink->linger))
    uv_close((uv_handle_t *)&sink->linger, NULL);
}

void pl__sink_free(pl_sink_t *sink) {
  pl__batch_free_all(sink);
  free(sink);
}
