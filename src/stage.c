/* Stages: the instance handle plugins see, emission into the next stage's
 * queue, and the small accessors of the plugin API. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "options.h"
#include "registry.h"
#include "sink.h"
#include "stage.h"

/* A queue also counts as full once its records add up to this many bytes
 * (pl_record_size). queue_size alone would let large records, such as the
 * 64 KiB chunks of source-file, hold queue_size times their size: 64 MiB
 * before a transform, for no gain in throughput. */
#define PL_QUEUE_MAX_BYTES ((uint64_t)4 << 20)

const char *pl__role_name(pl_role_t role) {
  switch (role) {
  case PL_ROLE_SOURCE:
    return "source";
  case PL_ROLE_TRANSFORM:
    return "transform";
  case PL_ROLE_SINK:
    return "sink";
  case PL_ROLE_DEAD_LETTER:
    return "dead_letter";
  }
  return "unknown";
}

int pl__stage_create(pl_pipeline_t *pipeline, const pl_plugin_t *plugin,
                     pl_role_t role, void *options,
                     const pl_stage_options_t *stage, pl_instance_t **out) {
  pl_instance_t *inst = calloc(1, sizeof(*inst));
  if (!inst)
    return PL_ENOMEM;
  inst->pipeline = pipeline;
  inst->plugin = plugin;
  inst->role = role;
  inst->options = options;
  inst->stage = *stage;
  inst->capacity = (size_t)stage->queue_size;
  inst->capacity_bytes = PL_QUEUE_MAX_BYTES;
  if (role == PL_ROLE_SINK || role == PL_ROLE_DEAD_LETTER) {
    /* Room for the batches in flight and the next one, so that upstream
     * keeps working while a sink writes. */
    size_t batches = (size_t)stage->batch_size * ((size_t)stage->max_in_flight + 1);
    if (inst->capacity < batches)
      inst->capacity = batches;
    /* The same in bytes, so that batch_bytes can always be reached. */
    uint64_t n = (uint64_t)stage->max_in_flight + 1;
    uint64_t batch_bytes = stage->batch_bytes > UINT64_MAX / n
                               ? UINT64_MAX
                               : stage->batch_bytes * n;
    if (inst->capacity_bytes < batch_bytes)
      inst->capacity_bytes = batch_bytes;
  }
  inst->name = pl__plugin_full_name(plugin);
  if (!inst->name) {
    inst->options = NULL;
    pl__stage_destroy(inst);
    return PL_ENOMEM;
  }
  if (role == PL_ROLE_SINK || role == PL_ROLE_DEAD_LETTER) {
    int rc = pl__sink_init(inst);
    if (rc < 0) {
      inst->options = NULL;
      pl__stage_destroy(inst);
      return rc;
    }
  }
  *out = inst;
  return 0;
}

void pl__stage_destroy(pl_instance_t *inst) {
  if (!inst)
    return;
  if (inst->initialized && inst->plugin->destroy)
    inst->plugin->destroy(inst->ctx);
  pl_record_t *record;
  while ((record = pl__queue_pop(&inst->queue)))
    pl__record_resolve(record, false);
  if (inst->sink)
    pl__sink_free(inst->sink);
  if (inst->options) {
    pl__options_free(inst->plugin->options, inst->plugin->options_count,
                     inst->options);
    free(inst->options);
  }
  for (size_t i = 0; i < inst->counter_count; i++)
    free(inst->counters[i].name);
  free(inst->counters);
  for (size_t i = 0; i < inst->rejection_count; i++)
    free(inst->rejections[i].name);
  free(inst->rejections);
  pl__failing_set_free(&inst->reads);
  for (size_t i = 0; i < inst->input_path_count; i++)
    free(inst->input_paths[i]);
  free(inst->input_paths);
  free(inst->name);
  free(inst->file);
  free(inst);
}

bool pl__stage_has_room(const pl_instance_t *inst) {
  return inst->queue.count < inst->capacity &&
         inst->queue.bytes < inst->capacity_bytes;
}

void pl__stage_enqueue(pl_instance_t *inst, pl_record_t *record) {
  inst->metrics.records_in++;
  /* Charged as it is now: a transform may have changed its size. */
  pl_engine_t *engine = inst->pipeline->engine;
  if (pl__memory_budget_charge(&engine->memory, &record->charged,
                               pl__memory_budget_cost(record)))
    pl__engine_memory_available(engine);
  pl__queue_push(&inst->queue, record);
  pl__pipeline_kick(inst->pipeline);
}

bool pl_emit(pl_instance_t *inst, pl_record_t *record) {
  pl_instance_t *next = inst->next;
  if (!next) {
    /* A sink cannot emit: fail the record rather than lose it silently. */
    pl_log(inst, PL_LOG_ERROR, "a sink called pl_emit(); record failed");
    pl__record_resolve(record, false);
    return false;
  }
  inst->metrics.records_out++;
  pl__stage_enqueue(next, record);
  bool room = pl__stage_has_room(next) &&
              pl__pipeline_dead_letter_has_room(inst->pipeline);
  if (inst->role != PL_ROLE_SOURCE)
    return room;
  /* The memory budget is one more reason for a source to wait, resumed
   * by the same pump (pipeline.c). */
  pl_memory_budget_t *memory = &inst->pipeline->engine->memory;
  if (!pl__memory_budget_has_room(memory)) {
    pl__memory_budget_note_pause(memory, !inst->paused);
    room = false;
  }
  if (!room)
    inst->paused = true;
  return room;
}

int64_t pl_instance_max_in_flight(const pl_instance_t *inst) {
  return inst->stage.max_in_flight;
}

bool pl_instance_concurrency_adaptive(const pl_instance_t *inst) {
  return inst->stage.concurrency == PL_STAGE_CONCURRENCY_ADAPTIVE;
}

void pl_instance_set_concurrency_limit(pl_instance_t *inst, uint64_t limit) {
  inst->has_concurrency_limit = true;
  inst->concurrency_limit = limit;
}

int64_t pl_instance_retry_limit(const pl_instance_t *inst) {
  return inst->stage.retry_limit;
}

void pl_instance_error(pl_instance_t *inst) {
  inst->pipeline->input_errors++;
}

void pl_source_busy(pl_instance_t *inst, bool busy) {
  inst->busy = busy;
  if (!busy)
    pl__pipeline_kick(inst->pipeline);
}

void pl_instance_hold(pl_instance_t *inst) {
  inst->holds++;
}

void pl_instance_release(pl_instance_t *inst) {
  if (inst->holds > 0)
    inst->holds--;
}

void pl_source_failing(pl_instance_t *inst, const char *what,
                       const char *error) {
  pl__failing_set_note(&inst->reads, what, uv_now(inst->pipeline->engine->loop),
                       error);
}

void pl_source_reading(pl_instance_t *inst, const char *what) {
  pl__failing_set_clear(&inst->reads, what);
}

void pl_source_exhausted(pl_instance_t *inst) {
  inst->exhausted = true;
  pl__pipeline_kick(inst->pipeline);
}

uv_loop_t *pl_instance_loop(const pl_instance_t *inst) {
  return inst->pipeline->engine->loop;
}

const char *pl_instance_pipeline(const pl_instance_t *inst) {
  return inst->pipeline->name;
}

const char *pl_instance_plugin(const pl_instance_t *inst) { return inst->name; }

bool pl_instance_dead_letter(const pl_instance_t *inst) {
  return inst->role == PL_ROLE_DEAD_LETTER;
}

bool pl_instance_once(const pl_instance_t *inst) {
  return inst->pipeline->engine->once;
}

/* `name` as a part of a metric name: [a-zA-Z0-9_], anything else '_',
 * at most `size` - 1 bytes. */
static void metric_name(const char *name, char *out, size_t size) {
  size_t n = 0;
  for (; name[n] && n + 1 < size; n++) {
    char c = name[n];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_';
    out[n] = ok ? c : '_';
  }
  out[n] = '\0';
}

/* Adds `delta` to the counter `name` (made a part of a metric name) of
 * `list`, adding it when it is new. */
static bool add_to(pl_counter_t *list, size_t count, const char *name,
                   uint64_t delta) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(list[i].name, name) == 0) {
      list[i].value += delta;
      return true;
    }
  }
  return false;
}

static void count_in(pl_counter_t **list, size_t *count, const char *name,
                     uint64_t delta) {
  /* Names are clean as plugins write them: a per-message count finds its
   * counter without making a metric name of it first. */
  if (add_to(*list, *count, name, delta))
    return;
  char clean[PL_COUNTER_NAME_MAX];
  metric_name(name, clean, sizeof(clean));
  if (add_to(*list, *count, clean, delta))
    return;
  pl_counter_t *grown = realloc(*list, (*count + 1) * sizeof(*grown));
  if (!grown)
    return;
  *list = grown;
  char *copy = strdup(clean);
  if (!copy)
    return;
  grown[(*count)++] = (pl_counter_t){copy, delta};
}

void pl_instance_count(pl_instance_t *inst, const char *name, uint64_t delta) {
  count_in(&inst->counters, &inst->counter_count, name, delta);
}

void pl_source_progress(pl_instance_t *inst, uint64_t read_bytes,
                        uint64_t total_bytes) {
  inst->progress_read += read_bytes;
  inst->progress_total += total_bytes;
}

void pl__stage_count_rejection(pl_instance_t *inst, const char *reason_class) {
  inst->metrics.rejected++;
  count_in(&inst->rejections, &inst->rejection_count,
           reason_class ? reason_class : "other", 1);
}

const char *pl_kind_name(pl_kind_t kind) {
  switch (kind) {
#define PL__KIND_CASE(name, text)                                              \
  case PL_KIND_##name:                                                         \
    return text;
    PL_KIND_MAP(PL__KIND_CASE)
#undef PL__KIND_CASE
  }
  return "unknown";
}
