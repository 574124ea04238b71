/* A pipeline: source, transforms, sink and optional dead letter, joined by
 * bounded queues and driven by one idle handle (the pump). */
#ifndef PL_CORE_PIPELINE_H
#define PL_CORE_PIPELINE_H

#include <uv.h>

#include "stage.h"

typedef struct pl_engine pl_engine_t;

struct pl_pipeline {
  pl_engine_t *engine;
  char *name;
  pl_instance_t **stages; /* source, transforms..., sink, [dead letter] */
  size_t stage_count;
  pl_instance_t *source;
  pl_instance_t *sink;
  pl_instance_t *dead_letter; /* or NULL */
  pl_instance_t *current;     /* the stage inside a process callback */
  uv_idle_t pump;
  bool pump_active;
  bool closed;
  pl_group_t *resolved_head; /* groups waiting for their commit callback */
  pl_group_t *resolved_tail;
  size_t open_groups;
  uint64_t groups_committed;
  uint64_t groups_failed;
  uint64_t input_errors; /* pl_instance_error() */
  char *fingerprint; /* of its config block (pl__cfg_fingerprint), owned */
  /* A reload stopped it: it is closed once drained, then freed and
   * replaced by its successor (owned; NULL: removed). */
  bool retiring;
  pl_pipeline_t *successor;
  /* Added by a reload: starts once no pipeline is retiring. */
  bool pending_start;
};

/* Creates an empty pipeline; stages are added in order with
 * pl__pipeline_add(), which steals them. */
int pl__pipeline_create(pl_engine_t *engine, const char *name,
                        pl_pipeline_t **out);
int pl__pipeline_add(pl_pipeline_t *pipeline, pl_instance_t *stage);
/* Links the stages; call once every stage is added. */
int pl__pipeline_link(pl_pipeline_t *pipeline);
/* Starts the stages, sinks first, then the source. */
int pl__pipeline_start(pl_pipeline_t *pipeline);
/* Shutdown: the source takes no new work. */
void pl__pipeline_stop(pl_pipeline_t *pipeline);
/* True when the source is exhausted and every group is resolved. */
/* True when the pipeline has no dead letter or its queue has room. The dead
 * letter is downstream of every stage that can reject (HACKING.md#s7): a
 * source, a transform or a sink that could fill it without bound pauses
 * instead, so an input of nothing but bad rows keeps memory flat too. */
bool pl__pipeline_dead_letter_has_room(const pl_pipeline_t *pipeline);

bool pl__pipeline_idle(const pl_pipeline_t *pipeline);
/* A stage of the pipeline is held (pl_instance_hold()): callbacks into it
 * are still to come, and the pipeline may not be freed yet. */
bool pl__pipeline_held(const pl_pipeline_t *pipeline);
/* Closes every handle (plugins' and the pump). */
void pl__pipeline_close(pl_pipeline_t *pipeline);
void pl__pipeline_destroy(pl_pipeline_t *pipeline);

/* Something changed (records queued, a batch done, a group resolved): run
 * the pump on the next loop iteration. */
void pl__pipeline_kick(pl_pipeline_t *pipeline);
/* A group of this pipeline is resolved: queue its commit. */
void pl__pipeline_group_resolved(pl_pipeline_t *pipeline, pl_group_t *group);
/* Sends a rejected record (stolen) to the dead letter, or fails it when
 * there is none. `stage` is the stage that rejected it. */
void pl__pipeline_dead_letter(pl_pipeline_t *pipeline,
                              const pl_instance_t *stage,
                              pl_record_t *record);

#endif
