/* The sink runner: when to cut a batch and how many may be in flight. */
#include <stdarg.h>
#include <stddef.h>
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

/* The plugin's drain callback, when its descriptor is recent enough to
 * have one (appended after ABI 2: read only when struct_size covers it). */
static void (*drain_of(const pl_plugin_t *plugin))(pl_instance_t *, void *) {
  size_t end = offsetof(pl_plugin_t, drain) + sizeof(plugin->drain);
  return plugin->struct_size >= end ? plugin->drain : NULL;
}

/* Nothing more is coming and the sink holds batches: it is told to write
 * what it holds back (pl_plugin_t.drain), once per batch it got. */
static void tell_drain(pl_sink_t *sink) {
  pl_instance_t *inst = sink->inst;
  void (*drain)(pl_instance_t *, void *) = drain_of(inst->plugin);
  if (!drain || sink->drain_told || sink->in_flight == 0 ||
      inst->queue.count > 0 || !upstream_drained(inst))
    return;
  sink->drain_told = true;
  drain(inst, inst->ctx);
}

/* A broken stage writes nothing: its source stops (once), and what reaches
 * its queue fails at once, so that the groups end and the run with them. */
static bool drain_broken(pl_sink_t *sink) {
  pl_instance_t *inst = sink->inst;
  bool progress = false;
  if (!sink->broken_handled) {
    sink->broken_handled = true;
    pl__batch_abandon_waiting(sink);
    pl__pipeline_stop(inst->pipeline);
    progress = true;
  }
  pl_record_t *record;
  while ((record = pl__queue_pop(&inst->queue))) {
    inst->metrics.failed++;
    pl__record_resolve(record, false);
    progress = true;
  }
  return progress;
}

void pl_sink_broken(pl_instance_t *inst, const char *fmt, ...) {
  pl_sink_t *sink = inst->sink;
  if (!sink || sink->broken)
    return;
  sink->broken = true;
  inst->pipeline->engine->broken = true;
  pl_buf_t reason = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(&reason, fmt, ap);
  va_end(ap);
  pl_log(inst, PL_LOG_ERROR,
         "%s; the stage cannot write any more, so pipeline \"%s\" stops and "
         "its unwritten input is not committed",
         rc == 0 ? reason.data : "a permanent error", inst->pipeline->name);
  pl_buf_free(&reason);
  pl__pipeline_kick(inst->pipeline);
}

bool pl__sink_pump(pl_sink_t *sink) {
  pl_instance_t *inst = sink->inst;
  if (sink->broken)
    return drain_broken(sink);
  const pl_stage_options_t *opts = &inst->stage;
  bool wrote = false;
  /* A sink's batch may reject all of its records: none starts while the
   * dead letter is full (the dead letter itself is never held back). */
  bool feeds_dead_letter = inst->role != PL_ROLE_DEAD_LETTER;
  /* A write may break the sink (pl_sink_broken()): none follows it. */
  while (!sink->broken && inst->queue.count > 0 &&
         sink->in_flight < (size_t)opts->max_in_flight &&
         (!feeds_dead_letter ||
          pl__pipeline_dead_letter_has_room(inst->pipeline))) {
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
  tell_drain(sink);
  return wrote;
}

bool pl__sink_idle(const pl_sink_t *sink) {
  /* A broken stage that has not been drained yet still has work. */
  if (sink->broken && !sink->broken_handled)
    return false;
  return sink->in_flight == 0 && sink->inst->queue.count == 0;
}

void pl__sink_close(pl_sink_t *sink) {
  pl__batch_close_all(sink);
  if (sink->timer_open && !uv_is_closing((uv_handle_t *)&sink->linger))
    uv_close((uv_handle_t *)&sink->linger, NULL);
}

void pl__sink_note_failure(pl_sink_t *sink, const char *reason) {
  pl__failing_note(&sink->writes, uv_now(sink->inst->pipeline->engine->loop),
                   reason);
}

void pl__sink_note_success(pl_sink_t *sink) {
  pl__failing_clear(&sink->writes);
}

void pl__sink_free(pl_sink_t *sink) {
  pl__batch_free_all(sink);
  pl__failing_free(&sink->writes);
  free(sink);
}
