/* The engine: builds every pipeline from a validated config, runs them on
 * one loop, and decides when the run is over (--once, shutdown). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_tree.h"
#include "engine.h"
#include "extension.h"
#include "metrics.h"
#include "metrics_server.h"
#include "options.h"
#include "pipeline_build.h"
#include "reload.h"

static const char *const log_level_choices[] = {"error", "warn", "info",
                                                "debug", NULL};
static const char *const log_format_choices[] = {"text", "json", NULL};

static const pl_option_t settings_table[] = {
    PL_OPTION_ENUM(pl_engine_settings_t, log_level, "log_level", "info",
                   log_level_choices, 0, "Least severe level that is logged."),
    PL_OPTION_ENUM(pl_engine_settings_t, log_format, "log_format", "text",
                   log_format_choices, 0,
                   "Log lines as plain text or as JSON objects."),
    PL_OPTION_LIST(pl_engine_settings_t, plugin_path, "plugin_path", NULL,
                   PL_OPT_PATH,
                   "Directories searched for plugins before "
                   "PIPELINED_PLUGIN_PATH and the installed plugin directory; "
                   "a relative one is relative to the config file's "
                   "directory."),
    PL_OPTION_STRING(pl_engine_settings_t, metrics_listen, "metrics_listen",
                     NULL, 0,
                     "Serve Prometheus /metrics and /healthz on this IP "
                     "address and port (e.g. 127.0.0.1:9100, [::1]:9100; "
                     "a host name is not resolved)."),
    PL_OPTION_DURATION_RANGE(pl_engine_settings_t, metrics_timeout_ms,
                             "metrics_timeout", "10s", 1, UINT64_MAX, 0,
                             "How long a connection to metrics_listen may "
                             "take to ask and read its answer before it is "
                             "closed."),
    /* Zero would close every metrics connection at once. */
    PL_OPTION_INT_RANGE(pl_engine_settings_t, metrics_max_connections,
                        "metrics_max_connections", "64", 1, INT64_MAX, 0,
                        "Connections to metrics_listen open at once; past it "
                        "new ones are closed at once."),
    PL_OPTION_DURATION(pl_engine_settings_t, unhealthy_after_ms,
                       "unhealthy_after", "60s", 0,
                       "/healthz answers 503, naming the stage and its last "
                       "error, once a sink's writes, or a source's reads, "
                       "have failed without a success for this long."),
    PL_OPTION_SIZE(pl_engine_settings_t, memory_limit, "memory_limit", "0", 0,
                   "Most bytes the records of all pipelines may hold at once "
                   "in queues, batches and requests in flight; sources pause "
                   "at it and resume at 90% of it. 0: no limit."),
    PL_OPTION_DURATION(pl_engine_settings_t, shutdown_timeout_ms,
                       "shutdown_timeout", "30s", 0,
                       "On SIGTERM, how long records in flight may take to "
                       "finish before the daemon gives up on them."),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int pl__engine_read_settings(const pl_cfg_node_t *root,
                             pl_engine_settings_t *settings,
                             pl_buf_t *errors) {
  pl_cfg_node_t view;
  if (pl__cfg_settings_view(root, &view) < 0)
    return PL_ENOMEM;
  pl_opt_table_t table = {settings_table, COUNT(settings_table), settings};
  int rc = pl__options_apply(&table, 1, &view, "top level", errors);
  free(view.children);
  return rc;
}

void pl__engine_free_settings(pl_engine_settings_t *settings) {
  pl__options_free(settings_table, COUNT(settings_table), settings);
}

const pl_option_t *pl__engine_settings_table(size_t *count) {
  *count = COUNT(settings_table);
  return settings_table;
}

pl_pipeline_t *pl__engine_find_pipeline(pl_pipeline_t *const *list,
                                        size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(list[i]->name, name) == 0)
      return list[i];
  return NULL;
}

static void add_pipeline(pl_engine_t *engine, const pl_cfg_node_t *root,
                         size_t index, pl_buf_t *errors) {
  if (!pl__pipeline_block_ok(root, index, errors))
    return;
  const pl_cfg_node_t *block = root->children[index];
  pl_pipeline_t **list = realloc(engine->pipelines,
                                 (engine->pipeline_count + 1) * sizeof(*list));
  if (!list)
    return;
  engine->pipelines = list;
  pl_pipeline_t *pipeline = pl__pipeline_build(engine, block, errors);
  if (pipeline)
    list[engine->pipeline_count++] = pipeline;
}

/* Where the value of top-level setting `key` is, or the file's start. */
static const pl_cfg_loc_t *top_level_loc(const pl_cfg_node_t *root,
                                         const char *key) {
  for (size_t i = 0; i < root->count; i++)
    if (strcmp(root->children[i]->key, key) == 0)
      return &root->children[i]->value.loc;
  return &root->loc;
}

int pl__engine_create(const pl_engine_params_t *params,
                      const pl_cfg_node_t *root, pl_engine_t **out,
                      pl_buf_t *errors) {
  pl_engine_t *engine = calloc(1, sizeof(*engine));
  if (!engine)
    return PL_ENOMEM;
  engine->loop = params->loop;
  engine->registry = params->registry;
  engine->once = params->once;
  engine->env = params->env;
  engine->notify = params->notify;
  engine->log = (pl_logger_t){
      .stream = params->log_stream ? params->log_stream : stderr,
      .level = PL_LOG_INFO,
      .format = PL_LOG_TEXT};
  pl_rng_seed(&engine->rng, (uint64_t)(uintptr_t)engine);
  size_t errors_before = errors->len;

  pl__engine_read_settings(root, &engine->settings, errors);
  engine->log.level = (pl_log_level_t)engine->settings.log_level;
  engine->log.format = (pl_log_format_t)engine->settings.log_format;
  pl__memory_budget_init(&engine->memory, engine->settings.memory_limit);
  if (engine->settings.plugin_path.count > 0)
    pl__registry_prepend_config_dirs(
        engine->registry,
        (const char *const *)engine->settings.plugin_path.items,
        engine->settings.plugin_path.count);
  if (engine->settings.metrics_listen) {
    struct sockaddr_storage addr;
    if (pl__metrics_parse_listen(engine->settings.metrics_listen, &addr) < 0)
      pl__cfg_error(
          errors, top_level_loc(root, "metrics_listen"),
          "metrics_listen: '%s' is not an IP address and port (e.g. "
          "127.0.0.1:9100 or [::1]:9100; host names are not resolved)",
          engine->settings.metrics_listen);
  }
  for (size_t i = 0; i < root->count; i++) {
    const pl_cfg_node_t *child = root->children[i];
    if (!child->is_block)
      continue;
    if (strcmp(child->key, "pipeline") == 0)
      add_pipeline(engine, root, i, errors);
  }
  if (pl__reload_top_read(root, &engine->top) < 0)
    pl_buf_append_str(errors, "out of memory\n");
  /* The other blocks belong to the extensions the plugins name. */
  if (pl__extensions_configure(engine, root, errors->len == errors_before,
                               errors) == PL_ENOMEM)
    pl_buf_append_str(errors, "out of memory\n");
  if (engine->pipeline_count == 0 && errors->len == errors_before)
    pl__cfg_error(errors, &root->loc,
              "no pipeline defined: add pipeline \"name\" { source ... sink ... }");

  /* Nothing is initialised until the whole config is valid. */
  if (errors->len == errors_before) {
    for (size_t p = 0; p < engine->pipeline_count; p++)
      if (pl__pipeline_init(engine->pipelines[p], root->loc.file, errors) < 0)
        break;
  }
  if (errors->len != errors_before) {
    pl__engine_destroy(engine);
    return PL_EINVAL;
  }
  *out = engine;
  return 0;
}

static void on_shutdown_timeout(uv_timer_t *timer);

static void close_all(pl_engine_t *engine) {
  if (engine->closing)
    return;
  engine->closing = true;
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    /* A source is always stopped before it is closed. */
    if (engine->pipelines[i]->pump.loop)
      pl__pipeline_stop(engine->pipelines[i]);
    pl__pipeline_close(engine->pipelines[i]);
  }
  pl__reload_close(engine);
  if (engine->metrics)
    pl__metrics_server_close(engine->metrics);
  engine->metrics = NULL;
  /* After the plugins: the clients of their extensions (AWS) were
   * destroyed in close. */
  pl__extensions_close(engine);
  if (engine->shutdown_timer_open)
    uv_close((uv_handle_t *)&engine->shutdown_timer, NULL);
  engine->shutdown_timer_open = false;
  if (engine->keepalive_open)
    uv_close((uv_handle_t *)&engine->keepalive, NULL);
  engine->keepalive_open = false;
}

/* Tells the service manager, if there is one, a new state. A failure is
 * said, never fatal: the daemon works without its supervisor's view. */
static void notify(pl_engine_t *engine, const char *state) {
  if (engine->notify && pl__notify_send(engine->notify, state) < 0)
    pl__log(&engine->log, PL_LOG_WARN,
            "cannot notify the service manager (NOTIFY_SOCKET): %s",
            strerror(errno));
}

int pl__engine_start(pl_engine_t *engine) {
  engine->started = true;
  /* A daemon runs until it is told to stop: a source that has nothing more
   * to read (source-file without watch) must not end the loop with every
   * handle still open. An async handle is active from init to close and is
   * never sent. */
  if (!engine->once) {
    int rc = uv_async_init(engine->loop, &engine->keepalive, NULL);
    if (rc < 0) {
      pl__log(&engine->log, PL_LOG_ERROR, "cannot start the loop: %s",
              uv_strerror(rc));
      return PL_EIO;
    }
    engine->keepalive_open = true;
  }
  if (engine->settings.metrics_listen) {
    int rc = pl__metrics_server_create(engine, engine->settings.metrics_listen,
                                       &engine->metrics);
    if (rc < 0) { /* the server logged why */
      close_all(engine);
      return rc;
    }
  }
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    int rc = pl__pipeline_start(engine->pipelines[i]);
    if (rc < 0) {
      close_all(engine);
      return rc;
    }
  }
  engine->ready = true;
  notify(engine, "READY=1\nSTATUS=running");
  return 0;
}

void pl__engine_check_done(pl_engine_t *engine) {
  /* A daemon with a broken stage shuts down (a supervisor may restart it),
   * from here, where no pump or plugin callback is running. */
  if (engine->broken && !engine->once && !engine->stopping &&
      !engine->closing) {
    pl__engine_shutdown(engine);
    return;
  }
  pl__reload_progress(engine);
  if (engine->closing ||
      (!engine->once && engine->idle_logged && !engine->stopping))
    return;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    if (!pl__pipeline_idle(engine->pipelines[i]) ||
        (engine->pipelines[i]->retiring && !engine->stopping))
      return;
  if (engine->once || engine->stopping) {
    close_all(engine);
    return;
  }
  /* A daemon whose sources are all done stays up (for /metrics, and so
   * that a supervisor does not restart it in a loop); it says so once. */
  engine->idle_logged = true;
  pl__log(&engine->log, PL_LOG_INFO,
          "every source is exhausted; idle until SIGTERM (--once exits "
          "instead)");
}

static void on_shutdown_timeout(uv_timer_t *timer) {
  pl_engine_t *engine = timer->data;
  size_t open = 0;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    open += engine->pipelines[i]->open_groups;
  pl__log(&engine->log, PL_LOG_ERROR,
          "shutdown timed out after %llu ms with %zu group(s) in flight; they "
          "are not committed and will be processed again",
          (unsigned long long)engine->settings.shutdown_timeout_ms, open);
  engine->timed_out = true;
  close_all(engine);
  /* Requests still running (a write stuck on a full pipe) would keep the
   * loop alive: the caller exits without waiting for them. */
  uv_stop(engine->loop);
}

void pl__engine_shutdown(pl_engine_t *engine) {
  if (engine->stopping || engine->closing)
    return;
  engine->stopping = true;
  notify(engine, "STOPPING=1\nSTATUS=draining");
  pl__log(&engine->log, PL_LOG_INFO,
          "shutting down: finishing records in flight (at most %llu ms)",
          (unsigned long long)engine->settings.shutdown_timeout_ms);
  uv_timer_init(engine->loop, &engine->shutdown_timer);
  engine->shutdown_timer.data = engine;
  engine->shutdown_timer_open = true;
  uv_timer_start(&engine->shutdown_timer, on_shutdown_timeout,
                 engine->settings.shutdown_timeout_ms, 0);
  for (size_t i = 0; i < engine->pipeline_count; i++)
    pl__pipeline_stop(engine->pipelines[i]);
  pl__engine_check_done(engine);
}

bool pl__engine_timed_out(const pl_engine_t *engine) {
  return engine->timed_out;
}

int pl__engine_status(const pl_engine_t *engine) {
  if (engine->timed_out || engine->broken)
    return 1;
  if (!engine->once)
    return 0;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    if (engine->pipelines[i]->groups_failed > 0 ||
        engine->pipelines[i]->input_errors > 0)
      return 1;
  return 0;
}

void pl__engine_memory_available(pl_engine_t *engine) {
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    pl_pipeline_t *pipeline = engine->pipelines[i];
    /* Not started yet (a reload's pending pipeline): nothing to resume. */
    if (pipeline->pump.loop && pipeline->source->paused)
      pl__pipeline_kick(pipeline);
  }
}

void pl__engine_destroy(pl_engine_t *engine) {
  if (!engine)
    return;
  /* The records freed below release their bytes: nobody is to be woken
   * in pipelines being freed. */
  engine->memory.waiting = false;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    pl__pipeline_destroy(engine->pipelines[i]);
  free(engine->pipelines);
  free(engine->outputs);
  pl__record_free_spares(engine);
  pl__engine_free_settings(&engine->settings);
  pl__reload_top_free(&engine->top);
  pl__reload_forget_not_running(engine);
  pl__extensions_free(engine);
  /* After the stages: the plugins it opened may be unloaded now. */
  pl__registry_destroy(engine->own_registry);
  free(engine);
}
