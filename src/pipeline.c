/* The pump: one idle handle per pipeline moves records through the stages
 * while there is work and room, resumes a paused source below the low
 * watermark, and runs commit callbacks of resolved groups. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "group.h"
#include "pipeline.h"
#include "sink.h"
#include "text.h"

/* Records a transform may process in one pump pass. A turn of the loop
 * makes up to PUMP_PASSES passes before it polls for I/O again, so up to
 * four slices a turn where the sinks keep taking records at once (after
 * the first pass, what a transform can take is bounded by the room the
 * sinks freed). */
#define PL_PUMP_SLICE 4096

int pl__pipeline_create(pl_engine_t *engine, const char *name,
                        pl_pipeline_t **out) {
  pl_pipeline_t *pipeline = calloc(1, sizeof(*pipeline));
  if (!pipeline || !(pipeline->name = strdup(name))) {
    free(pipeline);
    return PL_ENOMEM;
  }
  pipeline->engine = engine;
  *out = pipeline;
  return 0;
}

int pl__pipeline_add(pl_pipeline_t *pipeline, pl_instance_t *stage) {
  pl_instance_t **stages =
      realloc(pipeline->stages, (pipeline->stage_count + 1) * sizeof(*stages));
  if (!stages) {
    pl__stage_destroy(stage);
    return PL_ENOMEM;
  }
  pipeline->stages = stages;
  stages[pipeline->stage_count++] = stage;
  switch (stage->role) {
  case PL_ROLE_SOURCE:
    pipeline->source = stage;
    break;
  case PL_ROLE_SINK:
    pipeline->sink = stage;
    break;
  case PL_ROLE_DEAD_LETTER:
    pipeline->dead_letter = stage;
    break;
  case PL_ROLE_TRANSFORM:
    break;
  }
  return 0;
}

int pl__pipeline_link(pl_pipeline_t *pipeline) {
  if (!pipeline->source || !pipeline->sink)
    return PL_EINVAL;
  /* Source, transforms and sink are in order; the dead letter is last and
   * fed only by rejections. */
  for (size_t i = 0; i + 1 < pipeline->stage_count; i++) {
    pl_instance_t *stage = pipeline->stages[i];
    if (stage->role == PL_ROLE_SOURCE || stage->role == PL_ROLE_TRANSFORM)
      stage->next = pipeline->stages[i + 1];
  }
  return 0;
}

bool pl__pipeline_dead_letter_has_room(const pl_pipeline_t *pipeline) {
  return !pipeline->dead_letter || pl__stage_has_room(pipeline->dead_letter);
}

/* Below the low watermark: half of the queue's records and bytes. */
static bool below_half(const pl_instance_t *stage) {
  return stage->queue.count <= stage->capacity / 2 &&
         stage->queue.bytes <= stage->capacity_bytes / 2;
}

/* A transform turns records already held into others, often more of them
 * (a chunk into its rows). While the memory budget is full it goes on only
 * when nothing after it is queued or in flight, one record at a time: what
 * is downstream will release the budget by itself, and when nothing is,
 * the transform gives the sink work that will (no deadlock). The bytes held
 * then exceed the limit by at most one record's expansion. */
static bool transform_may_run(const pl_pipeline_t *pipeline,
                              const pl_instance_t *stage) {
  if (pl__memory_budget_has_room(&pipeline->engine->memory))
    return true;
  for (const pl_instance_t *after = stage->next; after; after = after->next)
    if (after->queue.count > 0 || (after->sink && after->sink->in_flight > 0))
      return false;
  return true;
}

static bool run_transform(pl_pipeline_t *pipeline, pl_instance_t *stage) {
  size_t n = 0;
  while (n < PL_PUMP_SLICE && stage->queue.count > 0 &&
         pl__stage_has_room(stage->next) &&
         pl__pipeline_dead_letter_has_room(pipeline) &&
         transform_may_run(pipeline, stage)) {
    pl_record_t *record = pl__queue_pop(&stage->queue);
    pipeline->current = stage;
    stage->plugin->process(stage, stage->ctx, record);
    pipeline->current = NULL;
    n++;
  }
  return n > 0;
}

static bool resume_source(pl_instance_t *source) {
  const pl_instance_t *dead_letter = source->pipeline->dead_letter;
  if (!source->paused || source->stopped || !below_half(source->next) ||
      (dead_letter && !below_half(dead_letter)) ||
      !pl__memory_budget_may_resume(&source->pipeline->engine->memory))
    return false;
  source->paused = false;
  if (source->plugin->resume)
    source->plugin->resume(source, source->ctx);
  return true;
}

static bool commit_resolved(pl_pipeline_t *pipeline) {
  bool any = false;
  pl_group_t *group;
  while ((group = pipeline->resolved_head)) {
    pipeline->resolved_head = pl__group_next(group);
    if (!pipeline->resolved_head)
      pipeline->resolved_tail = NULL;
    pl__group_commit(group);
    any = true;
  }
  return any;
}

/* One pass over the stages; whether anything moved. */
static bool pump_once(pl_pipeline_t *pipeline) {
  bool progress = false;
  /* Downstream first, so that room frees up before upstream fills it. */
  for (size_t i = pipeline->stage_count; i-- > 0;) {
    pl_instance_t *stage = pipeline->stages[i];
    if (stage->sink)
      progress |= pl__sink_pump(stage->sink);
    else if (stage->role == PL_ROLE_TRANSFORM)
      progress |= run_transform(pipeline, stage);
  }
  progress |= resume_source(pipeline->source);
  progress |= commit_resolved(pipeline);
  return progress;
}

/* Passes of one pump turn at most, before the loop polls again. What one
 * pass frees the next one uses (a sink's answer lets the transform run,
 * whose records the sink sends), and the pass that finds nothing to do
 * is the one that lets the loop sleep: in the same turn, instead of a
 * turn of its own with a poll that does not wait (a system call per
 * wake-up). The bound keeps a pipeline that never waits from holding the
 * loop away from I/O, timers and signals. */
#define PUMP_PASSES 4

static void on_pump(uv_idle_t *idle) {
  pl_pipeline_t *pipeline = idle->data;
  bool progress = true;
  for (int pass = 0; progress && !pipeline->closed && pass < PUMP_PASSES;
       pass++)
    progress = pump_once(pipeline);
  if (!progress) {
    uv_idle_stop(idle);
    pipeline->pump_active = false;
    pl__engine_check_done(pipeline->engine);
  }
}

void pl__pipeline_kick(pl_pipeline_t *pipeline) {
  if (pipeline->pump_active || pipeline->closed)
    return;
  pipeline->pump_active = true;
  uv_idle_start(&pipeline->pump, on_pump);
}

void pl__pipeline_group_resolved(pl_pipeline_t *pipeline, pl_group_t *group) {
  pl__group_set_next(group, NULL);
  if (pipeline->resolved_tail)
    pl__group_set_next(pipeline->resolved_tail, group);
  else
    pipeline->resolved_head = group;
  pipeline->resolved_tail = group;
  pl__pipeline_kick(pipeline);
}

int pl__pipeline_start(pl_pipeline_t *pipeline) {
  uv_loop_t *loop = pipeline->engine->loop;
  uv_idle_init(loop, &pipeline->pump);
  pipeline->pump.data = pipeline;
  /* Sinks first: a source may emit as soon as it starts. */
  for (size_t i = pipeline->stage_count; i-- > 0;) {
    pl_instance_t *stage = pipeline->stages[i];
    if (stage->sink) {
      int rc = pl__sink_open(stage->sink);
      if (rc < 0)
        return rc;
    }
    if (stage->plugin->start) {
      int rc = stage->plugin->start(stage, stage->ctx);
      if (rc < 0) {
        pl_log(stage, PL_LOG_ERROR, "cannot start: %s", pl_strerror(rc));
        return rc;
      }
    }
  }
  pl__pipeline_kick(pipeline);
  return 0;
}

void pl__pipeline_stop(pl_pipeline_t *pipeline) {
  pl_instance_t *source = pipeline->source;
  if (source->stopped)
    return;
  source->stopped = true;
  source->exhausted = true;
  /* Never started (a reload's new pipeline waiting for the one it follows
   * to drain, or an engine shut down before its start): nothing of it
   * runs, and it has no pump to kick. */
  if (!pipeline->pump.loop)
    return;
  if (source->plugin->stop)
    source->plugin->stop(source, source->ctx);
  pl__pipeline_kick(pipeline);
}

bool pl__pipeline_held(const pl_pipeline_t *pipeline) {
  for (size_t i = 0; i < pipeline->stage_count; i++)
    if (pipeline->stages[i]->holds > 0)
      return true;
  return false;
}

bool pl__pipeline_idle(const pl_pipeline_t *pipeline) {
  if (!pipeline->source->exhausted || pipeline->source->busy ||
      pipeline->open_groups > 0)
    return false;
  for (size_t i = 0; i < pipeline->stage_count; i++) {
    const pl_instance_t *stage = pipeline->stages[i];
    if (stage->queue.count > 0 || (stage->sink && !pl__sink_idle(stage->sink)))
      return false;
  }
  return true;
}

void pl__pipeline_close(pl_pipeline_t *pipeline) {
  if (pipeline->closed)
    return;
  pipeline->closed = true;
  for (size_t i = 0; i < pipeline->stage_count; i++) {
    pl_instance_t *stage = pipeline->stages[i];
    if (stage->initialized && stage->plugin->close)
      stage->plugin->close(stage, stage->ctx);
    if (stage->sink)
      pl__sink_close(stage->sink);
  }
  if (pipeline->pump.loop) /* started */
    uv_close((uv_handle_t *)&pipeline->pump, NULL);
}

void pl__pipeline_destroy(pl_pipeline_t *pipeline) {
  if (!pipeline)
    return;
  /* Downstream first: records still queued (after a forced exit) refer to
   * their source through their group. */
  for (size_t i = pipeline->stage_count; i-- > 0;)
    pl__stage_destroy(pipeline->stages[i]);
  /* Groups whose commit never ran (forced exit) are not committed. */
  pl_group_t *group;
  while ((group = pipeline->resolved_head)) {
    pipeline->resolved_head = pl__group_next(group);
    pl__group_free(group);
  }
  free(pipeline->stages);
  free(pipeline->name);
  free(pipeline->fingerprint);
  pl__pipeline_destroy(pipeline->successor);
  free(pipeline);
}

/* Sets the rejected bytes on the letter `doc` as "raw": usually text, and
 * when it is not UTF-8 (a Latin-1 file), its valid characters as they are,
 * each other byte as U+FFFD, and "raw_base64", the exact bytes: once the
 * group is committed the letter is their only copy. */
static void set_raw(json_t *doc, const char *bytes, size_t len) {
  if (pl_utf8_valid(bytes, len)) {
    json_object_set_new(doc, "raw", json_stringn(bytes, len));
    return;
  }
  pl_buf_t text = {0};
  if (pl__text_repair(bytes, len, false, &text) == 0)
    json_object_set_new(doc, "raw", json_stringn(text.data, text.len));
  pl_buf_reset(&text);
  if (pl__text_base64(bytes, len, &text) == 0)
    json_object_set_new(doc, "raw_base64", json_stringn(text.data, text.len));
  pl_buf_free(&text);
}

static json_t *dead_letter_document(const pl_pipeline_t *pipeline,
                                    const pl_instance_t *stage,
                                    const pl_record_t *record) {
  json_t *doc = json_object();
  if (!doc)
    return NULL;
  json_object_set_new(doc, "reason",
                      json_string(record->reason ? record->reason
                                                 : "rejected"));
  json_object_set_new(doc, "pipeline", json_string(pipeline->name));
  if (stage)
    json_object_set_new(doc, "stage", json_string(stage->name));
  const pl_record_meta_t *meta = record->meta;
  if (meta && meta->origin)
    json_object_set(doc, "origin", meta->origin);
  if (record->line)
    json_object_set_new(doc, "line", json_integer((json_int_t)record->line));
  if (meta && meta->etag)
    json_object_set(doc, "etag", meta->etag);
  if (meta && meta->message_id)
    json_object_set(doc, "message_id", meta->message_id);
  if (record->value)
    json_object_set(doc, "record", record->value);
  else if (record->bytes)
    set_raw(doc, record->bytes, record->len);
  return doc;
}

void pl__pipeline_dead_letter(pl_pipeline_t *pipeline,
                              const pl_instance_t *stage,
                              pl_record_t *record) {
  /* Logged once for the whole group, at its commit. */
  pl__group_note_reject(record->group, stage, record,
                        pipeline->dead_letter != NULL);
  if (!pipeline->dead_letter) {
    pl__record_resolve(record, false);
    return;
  }
  pl_buf_t where = {0};
  pl__record_location(record, &where);
  pl_log(stage ? stage : pipeline->source, PL_LOG_DEBUG,
         "record from %s to the dead letter: %s", where.data,
         record->reason ? record->reason : "rejected");
  pl_buf_free(&where);
  json_t *doc = dead_letter_document(pipeline, stage, record);
  pl_record_t *letter = doc ? pl_record_derive(record) : NULL;
  if (!letter) {
    json_decref(doc);
    pl__record_resolve(record, false);
    return;
  }
  letter->line = record->line;
  letter->value = doc;
  letter->size = record->size ? record->size : 256;
  /* The letter carries the record's place in its group from here on. */
  pl__record_resolve(record, true);
  pl__stage_enqueue(pipeline->dead_letter, letter);
}
