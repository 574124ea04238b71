/* A stage: one plugin instance in one pipeline (the public pl_instance_t). */
#ifndef PL_CORE_STAGE_H
#define PL_CORE_STAGE_H

#include <pipelined/plugin.h>

#include "failing.h"
#include "record.h"

typedef struct pl_pipeline pl_pipeline_t;
typedef struct pl_sink pl_sink_t;

/* The stage option `concurrency`: its values and their names. */
#define PL_STAGE_CONCURRENCY_MAP(XX)                                           \
  XX(ADAPTIVE, "adaptive")                                                     \
  XX(FIXED, "fixed")

typedef enum {
#define PL__CONCURRENCY_ENUM(name, text) PL_STAGE_CONCURRENCY_##name,
  PL_STAGE_CONCURRENCY_MAP(PL__CONCURRENCY_ENUM)
#undef PL__CONCURRENCY_ENUM
} pl_stage_concurrency_t;

/* Stage-wide options (one table for every stage, HACKING.md#s3). */
typedef struct pl_stage_options {
  int64_t batch_size;
  uint64_t batch_bytes;
  uint64_t linger_ms;
  int64_t max_in_flight;
  int concurrency; /* pl_stage_concurrency_t */
  int64_t retry_limit;
  uint64_t retry_backoff_ms;
  uint64_t retry_backoff_max_ms;
  int64_t queue_size;
  int log_level; /* -1: the engine's */
} pl_stage_options_t;

#define PL_STAGE_METRICS_MAP(XX)                                               \
  XX(records_in, "records taken in")                                          \
  XX(records_out, "records passed on, or delivered by a sink")                \
  XX(rejected, "records rejected to the dead letter, by class of reason")      \
  XX(failed, "records failed after every retry")                              \
  XX(retried, "records written again after a retryable failure")              \
  XX(batches, "batches written by a sink")                                    \
  XX(bytes, "bytes written by a sink (approximate)")

typedef struct pl_stage_metrics {
#define PL__METRIC_FIELD(name, help) uint64_t name;
  PL_STAGE_METRICS_MAP(PL__METRIC_FIELD)
#undef PL__METRIC_FIELD
} pl_stage_metrics_t;

/* A plugin counter's name is at most this long, less one. */
#define PL_COUNTER_NAME_MAX 64

typedef struct pl_counter {
  char *name; /* [a-zA-Z0-9_]: a part of a metric name */
  uint64_t value;
} pl_counter_t;

typedef enum {
  PL_ROLE_SOURCE,
  PL_ROLE_TRANSFORM,
  PL_ROLE_SINK,
  PL_ROLE_DEAD_LETTER,
} pl_role_t;

struct pl_instance {
  pl_pipeline_t *pipeline;
  const pl_plugin_t *plugin;
  char *name; /* "source-file" */
  pl_role_t role;
  int line, col; /* of the stage's block in the config, for messages */
  char *file;    /* the file of that block (an include, a second -c) */
  /* Where a source finds its input files (pl_input_path_add), owned. */
  char **input_paths;
  size_t input_path_count;
  void *options; /* the plugin's options struct, owned */
  void *ctx;     /* the plugin's context */
  bool initialized;
  pl_stage_options_t stage;
  pl_instance_t *next; /* where pl_emit() puts records; NULL for sinks */
  pl_queue_t queue;    /* input (transforms and sinks) */
  size_t capacity;     /* of the queue: above it, the stage before waits */
  uint64_t capacity_bytes; /* the same bound on the records' sizes */
  pl_sink_t *sink;     /* batching, in-flight and retries (sinks) */
  /* Sources. */
  bool paused;    /* pl_emit() returned false; resume pending */
  bool exhausted; /* pl_source_exhausted() or stopped */
  bool stopped;
  bool busy; /* pl_source_busy() */
  size_t holds; /* pl_instance_hold() not yet released */
  pl_stage_metrics_t metrics;
  size_t counter_count;
  pl_counter_t *counters;
  /* Sources: input read and input of known size (pl_source_progress). */
  uint64_t progress_read;
  uint64_t progress_total;
  /* Sinks: the requests the stage may have in flight now, as its plugin
   * last reported (pl_instance_set_concurrency_limit). */
  bool has_concurrency_limit;
  uint64_t concurrency_limit;
  /* Rejections by class (metrics.rejected is their sum). */
  size_t rejection_count;
  pl_counter_t *rejections;
  /* Sources: reading failing, by kind (pl_source_failing,
   * pl_source_reading). */
  pl_failing_set_t reads;
};

/* "source", "transform", "sink" or "dead_letter": the role's config key,
 * as metrics labels and reports name it. */
const char *pl__role_name(pl_role_t role);

/* Creates a stage for `plugin` from its config block values; the options
 * struct is stolen. */
int pl__stage_create(pl_pipeline_t *pipeline, const pl_plugin_t *plugin,
                     pl_role_t role, void *options,
                     const pl_stage_options_t *stage, pl_instance_t **out);
void pl__stage_destroy(pl_instance_t *inst);
/* True when the input queue has room: below queue_size records and below
 * capacity_bytes of them (by pl_record_size). */
bool pl__stage_has_room(const pl_instance_t *inst);
/* Counts one record rejected by `inst`, of `reason_class` (NULL:
 * "other"). */
void pl__stage_count_rejection(pl_instance_t *inst, const char *reason_class);
/* Puts a record on the stage's input queue (steals it). */
void pl__stage_enqueue(pl_instance_t *inst, pl_record_t *record);

#endif
