/* The engine: every pipeline of one config on one libuv loop. */
#ifndef PL_CORE_ENGINE_H
#define PL_CORE_ENGINE_H

#include <pipelined/backoff.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "memory_budget.h"
#include "notify.h"
#include "pipeline.h"
#include "registry.h"
#include "reload.h"

typedef struct pl_metrics_server pl_metrics_server_t;

/* Top-level settings of the config file. */
typedef struct pl_engine_settings {
  int log_level;
  int log_format;
  pl_list_t plugin_path;
  char *metrics_listen;
  uint64_t metrics_timeout_ms;
  int64_t metrics_max_connections;
  uint64_t shutdown_timeout_ms;
  uint64_t unhealthy_after_ms;
  uint64_t memory_limit; /* bytes; 0: none */
} pl_engine_settings_t;

typedef struct pl_extension pl_extension_t;

/* A pipeline of the config that a reload could not start: it runs nothing
 * until a later reload starts it. */
typedef struct pl_not_running {
  char *pipeline; /* owned */
  char *why;      /* owned: the error the log gave */
} pl_not_running_t;

/* A file by device and inode: the same file whatever path names it. */
typedef struct pl_file_id {
  uint64_t dev;
  uint64_t ino;
} pl_file_id_t;

struct pl_engine {
  uv_loop_t *loop;           /* borrowed */
  pl_registry_t *registry;   /* borrowed */
  /* The registry of an engine made by pl_engine_create_from_text()
   * (src/embed.c): owned, destroyed after the stages. NULL otherwise. */
  pl_registry_t *own_registry;
  pl_logger_t log;
  pl_engine_settings_t settings;
  bool once;
  pl_pipeline_t **pipelines;
  size_t pipeline_count;
  bool started;
  bool ready; /* every pipeline started (/readyz) */
  bool stopping; /* shutdown requested */
  bool closing;  /* handles are being closed */
  uv_timer_t shutdown_timer;
  bool shutdown_timer_open;
  /* Without --once: keeps the loop running until shutdown, when every
   * source is exhausted and nothing else is active. */
  uv_async_t keepalive;
  bool keepalive_open;
  bool idle_logged; /* "every source is exhausted" was said */
  pl_metrics_server_t *metrics;
  const pl_cfg_env_t *env; /* borrowed */
  /* The extensions the plugins name (src/extension.h), owned. */
  pl_extension_t *extensions;
  size_t extension_count;
  pl_rng_t rng; /* for retry jitter */
  /* Freed records kept for reuse: a record per row is the hot path. */
  pl_record_t *spare_records;
  size_t spare_count;
  /* The bytes every record of every pipeline holds (memory_limit). */
  pl_memory_budget_t memory;
  bool timed_out;
  /* Files the sinks write (pl_output_file_add), which no source reads. */
  pl_file_id_t *outputs;
  size_t output_count;
  bool broken; /* a stage called pl_sink_broken(): the run fails */
  const pl_notify_t *notify; /* borrowed; NULL: no service manager */
  /* What a reload may not change (src/reload.h). */
  pl_reload_top_t top;
  /* Frees the pipelines a reload closed, once their plugins' close
   * callbacks have run (src/reload.c). */
  uv_timer_t reaper;
  bool reaper_open;
  /* Since the last reload (src/reload.c), owned: /healthz and /readyz
   * fail naming the first, and /metrics lists them, as the pipelines
   * themselves are gone. */
  pl_not_running_t *not_running;
  size_t not_running_count;
};
typedef struct pl_engine pl_engine_t;

typedef struct pl_engine_params {
  uv_loop_t *loop;
  pl_registry_t *registry;
  FILE *log_stream; /* NULL: stderr */
  bool once;
  /* The environment extensions read (AWS credentials); NULL: none. */
  const pl_cfg_env_t *env;
  /* The service manager, told READY=1 when every pipeline has started and
   * STOPPING=1 when a shutdown begins (NULL: none). Borrowed: it outlives
   * the engine. */
  const pl_notify_t *notify;
} pl_engine_params_t;

/* Validates the whole config, loads every plugin and creates every stage
 * (plugin init callbacks run here; nothing starts). On failure returns a
 * negative code and appends one line per problem to `errors`. */
int pl__engine_create(const pl_engine_params_t *params,
                      const pl_cfg_node_t *root, pl_engine_t **out,
                      pl_buf_t *errors);
/* The top-level settings of `root` into `settings` (zeroed by the caller;
 * free with pl__engine_free_settings() whatever the result); problems are
 * appended to `errors`. */
int pl__engine_read_settings(const pl_cfg_node_t *root,
                             pl_engine_settings_t *settings, pl_buf_t *errors);
void pl__engine_free_settings(pl_engine_settings_t *settings);
/* The option table of the top-level settings (--describe settings);
 * static, `*count` entries. */
const pl_option_t *pl__engine_settings_table(size_t *count);
/* The pipeline of `list` named `name`, or NULL. */
pl_pipeline_t *pl__engine_find_pipeline(pl_pipeline_t *const *list,
                                        size_t count, const char *name);
/* Starts every pipeline; the caller then runs the loop. With --once the
 * loop ends when every source is exhausted and every group resolved;
 * without, it runs until pl__engine_shutdown(), even when there is nothing
 * left to do. Either way every handle is closed when it ends. */
int pl__engine_start(pl_engine_t *engine);
/* SIGTERM: sources stop taking work; the loop ends once everything in
 * flight is resolved, or when shutdown_timeout expires. */
void pl__engine_shutdown(pl_engine_t *engine);
/* A pipeline may have finished (--once) or drained (shutdown). */
void pl__engine_check_done(pl_engine_t *engine);
/* True when shutdown timed out: the loop was stopped with work still in
 * flight (a write stuck in the kernel, say). The daemon then exits without
 * cleaning up. A caller that goes on runs the loop again, to let the
 * handles that were closed finish closing, then destroys the engine: the
 * groups it gave up on are freed with their records and batches. */
bool pl__engine_timed_out(const pl_engine_t *engine);
/* Exit status once the loop has returned: 0, or 1 when a group failed, a
 * plugin counted an input error (--once), a stage broke, or shutdown timed
 * out. */
int pl__engine_status(const pl_engine_t *engine);
/* The bytes held went down to the memory budget's low-water mark while
 * sources waited for it: every pipeline whose source is paused runs its
 * pump, which resumes the source when its queues have room too. */
void pl__engine_memory_available(pl_engine_t *engine);
/* Frees everything; call after the loop returned. */
void pl__engine_destroy(pl_engine_t *engine);

#endif
