/* Reload: validate a new config whole, then swap the pipelines whose
 * blocks changed, one at a time as each drains. */
#include <stdlib.h>
#include <string.h>

#include "config_tree.h"
#include "engine.h"
#include "extension.h"
#include "pipeline_build.h"
#include "reload.h"

/* Top-level settings a running daemon takes on a reload. */
static bool reloadable(const pl_cfg_node_t *node) {
  if (node->is_block)
    return strcmp(node->key, "pipeline") == 0;
  return strcmp(node->key, "log_level") == 0 ||
         strcmp(node->key, "log_format") == 0;
}

void pl__reload_top_free(pl_reload_top_t *top) {
  for (size_t i = 0; i < top->count; i++) {
    free(top->keys[i]);
    free(top->fingerprints[i]);
  }
  free(top->keys);
  free(top->fingerprints);
  *top = (pl_reload_top_t){0};
}

int pl__reload_top_read(const pl_cfg_node_t *root, pl_reload_top_t *top) {
  size_t n = root->count ? root->count : 1;
  top->keys = calloc(n, sizeof(*top->keys));
  top->fingerprints = calloc(n, sizeof(*top->fingerprints));
  if (!top->keys || !top->fingerprints) {
    pl__reload_top_free(top);
    return PL_ENOMEM;
  }
  for (size_t i = 0; i < root->count; i++) {
    const pl_cfg_node_t *child = root->children[i];
    if (reloadable(child))
      continue;
    pl_buf_t fingerprint = {0};
    pl__cfg_fingerprint(child, &fingerprint);
    top->keys[top->count] = strdup(child->key);
    top->fingerprints[top->count] = fingerprint.data;
    top->count++;
    if (!fingerprint.data || !top->keys[top->count - 1]) {
      pl__reload_top_free(top);
      return PL_ENOMEM;
    }
  }
  return 0;
}

static bool has_fingerprint(const pl_reload_top_t *top, const char *fp) {
  for (size_t i = 0; i < top->count; i++)
    if (strcmp(top->fingerprints[i], fp) == 0)
      return true;
  return false;
}

static void list_key(pl_buf_t *keys, const char *key) {
  pl_buf_t quoted = {0};
  pl_buf_printf(&quoted, "'%s'", key);
  if (!keys->data || !strstr(keys->data, quoted.data))
    pl_buf_printf(keys, "%s%s", keys->len ? ", " : "", quoted.data);
  pl_buf_free(&quoted);
}

/* The keys of the entries added, removed or changed from `old` to `new`
 * (an entry's fingerprint holds its key), each once. */
static void top_changes(const pl_reload_top_t *old, const pl_reload_top_t *new,
                        pl_buf_t *keys) {
  for (size_t i = 0; i < new->count; i++)
    if (!has_fingerprint(old, new->fingerprints[i]))
      list_key(keys, new->keys[i]);
  for (size_t i = 0; i < old->count; i++)
    if (!has_fingerprint(new, old->fingerprints[i]))
      list_key(keys, old->keys[i]);
}

static bool engine_has_extension(const pl_engine_t *engine,
                                 const pl_extension_type_t *type) {
  for (size_t i = 0; i < engine->extension_count; i++)
    if (engine->extensions[i].type == type)
      return true;
  return false;
}

/* A stage of a new pipeline may not need an extension (the AWS layer)
 * that the running daemon did not set up at start. */
static void check_extensions(const pl_engine_t *engine,
                             const pl_pipeline_t *pipeline,
                             const char *file, pl_buf_t *errors) {
  for (size_t s = 0; s < pipeline->stage_count; s++) {
    const pl_instance_t *inst = pipeline->stages[s];
    const pl_extension_type_t *const *types = inst->plugin->extensions;
    for (size_t e = 0; types && types[e]; e++)
      if (!engine_has_extension(engine, types[e]))
        pl_buf_printf(errors,
                      "%s:%d:%d: pipeline \"%s\": %s needs the '%s' "
                      "extension, which this daemon did not load at start: "
                      "restart the daemon to add it\n",
                      inst->file ? inst->file : file, inst->line, inst->col,
                      pipeline->name, inst->name,
                      types[e]->name);
  }
}

/* Why the daemon cannot take a new config now, or NULL. */
static const char *not_now(const pl_engine_t *engine, const char **name) {
  *name = NULL;
  if (engine->once)
    return "a --once run does not reload its config";
  if (engine->stopping || engine->closing)
    return "the daemon is shutting down";
  if (!engine->started)
    return "the daemon has not started yet";
  for (size_t i = 0; i < engine->pipeline_count; i++)
    if (engine->pipelines[i]->retiring) {
      *name = engine->pipelines[i]->name;
      /* Closed: drained, or it could not start; freed from the loop once
       * its plugins' last callbacks ran (a few ms). */
      return engine->pipelines[i]->closed
                 ? "is closing after the previous reload; reload again in a "
                   "moment"
                 : "is still draining from the previous reload; reload "
                   "again once it has drained";
    }
  return NULL;
}

typedef struct plan {
  const pl_cfg_node_t **blocks; /* the new config's pipelines, borrowed */
  pl_pipeline_t **built;        /* new or changed ones (else NULL), owned */
  size_t count;
} plan_t;

static void plan_free(plan_t *plan) {
  for (size_t i = 0; i < plan->count; i++)
    pl__pipeline_destroy(plan->built[i]);
  free(plan->blocks);
  free(plan->built);
}

/* Builds every pipeline block of `root` that is new or differs from the
 * running one of its name; problems go to `errors`. */
static int plan_build(pl_engine_t *engine, const pl_cfg_node_t *root,
                      plan_t *plan, pl_buf_t *errors) {
  size_t n = root->count ? root->count : 1;
  plan->blocks = calloc(n, sizeof(*plan->blocks));
  plan->built = calloc(n, sizeof(*plan->built));
  if (!plan->blocks || !plan->built)
    return PL_ENOMEM;
  for (size_t i = 0; i < root->count; i++) {
    const pl_cfg_node_t *block = root->children[i];
    if (!block->is_block || strcmp(block->key, "pipeline") != 0 ||
        !pl__pipeline_block_ok(root, i, errors))
      continue;
    size_t at = plan->count++;
    plan->blocks[at] = block;
    pl_pipeline_t *live = pl__engine_find_pipeline(
        engine->pipelines, engine->pipeline_count, block->label);
    pl_buf_t fingerprint = {0};
    pl__cfg_fingerprint(block, &fingerprint);
    bool same = live && fingerprint.data &&
                strcmp(live->fingerprint, fingerprint.data) == 0;
    pl_buf_free(&fingerprint);
    if (same)
      continue;
    plan->built[at] = pl__pipeline_build(engine, block, errors);
    if (!plan->built[at])
      return PL_ENOMEM;
    check_extensions(engine, plan->built[at], root->loc.file, errors);
  }
  if (plan->count == 0)
    pl__cfg_error(errors, &root->loc,
                  "no pipeline defined: add pipeline \"name\" { source ... "
                  "sink ... }");
  return 0;
}

static pl_pipeline_t *plan_take(plan_t *plan, const char *name, bool *listed) {
  for (size_t i = 0; i < plan->count; i++) {
    if (strcmp(plan->blocks[i]->label, name) != 0)
      continue;
    *listed = true;
    pl_pipeline_t *built = plan->built[i];
    plan->built[i] = NULL;
    return built;
  }
  *listed = false;
  return NULL;
}

/* The running pipeline stops taking work; once it has drained it is
 * closed, freed and replaced by `successor` (stolen; NULL: removed). */
static void retire(pl_pipeline_t *pipeline, pl_pipeline_t *successor) {
  pipeline->retiring = true;
  pipeline->successor = successor;
  pl__pipeline_stop(pipeline);
}

static int add_pipeline(pl_engine_t *engine, pl_pipeline_t *pipeline) {
  pl_pipeline_t **list = realloc(engine->pipelines,
                                 (engine->pipeline_count + 1) * sizeof(*list));
  if (!list) {
    pl__pipeline_destroy(pipeline);
    return PL_ENOMEM;
  }
  engine->pipelines = list;
  list[engine->pipeline_count++] = pipeline;
  return 0;
}

static void start_or_retire(pl_engine_t *engine, pl_pipeline_t *pipeline);

/* Starts the pipelines a reload added, once none is retiring. */
static void start_pending(pl_engine_t *engine) {
  for (size_t i = 0; i < engine->pipeline_count; i++)
    if (engine->pipelines[i]->retiring)
      return;
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    pl_pipeline_t *pipeline = engine->pipelines[i];
    if (!pipeline->pending_start)
      continue;
    pipeline->pending_start = false;
    start_or_retire(engine, pipeline);
  }
}

int pl__engine_reload(pl_engine_t *engine, const pl_cfg_node_t *root,
                      pl_buf_t *errors) {
  const char *name = NULL;
  const char *why = not_now(engine, &name);
  if (why) {
    if (name)
      pl_buf_printf(errors, "pipeline \"%s\" %s\n", name, why);
    else
      pl_buf_printf(errors, "%s\n", why);
    return PL_EINVAL;
  }
  size_t errors_before = errors->len;
  pl_engine_settings_t settings = {0};
  pl__engine_read_settings(root, &settings, errors);
  pl_reload_top_t top = {0};
  if (pl__reload_top_read(root, &top) < 0)
    pl_buf_append_str(errors, "out of memory\n");
  pl_buf_t changed = {0};
  top_changes(&engine->top, &top, &changed);
  pl__reload_top_free(&top);
  if (changed.len)
    pl__cfg_error(errors, &root->loc,
                  "%s changed: a reload applies the pipeline blocks, "
                  "log_level and log_format; restart the daemon to apply "
                  "the rest",
                  changed.data);
  pl_buf_free(&changed);
  plan_t plan = {0};
  if (plan_build(engine, root, &plan, errors) < 0)
    pl_buf_append_str(errors, "out of memory\n");
  /* Nothing is initialised until the whole config is valid. */
  for (size_t i = 0; i < plan.count && errors->len == errors_before; i++)
    if (plan.built[i])
      (void)pl__pipeline_init(plan.built[i], root->loc.file, errors);
  if (errors->len != errors_before) {
    plan_free(&plan);
    pl__engine_free_settings(&settings);
    return PL_EINVAL;
  }

  /* This config is tried afresh: a pipeline that could not start before
   * is in it again as new (or gone from it). */
  pl__reload_forget_not_running(engine);
  engine->settings.log_level = settings.log_level;
  engine->settings.log_format = settings.log_format;
  engine->log.level = (pl_log_level_t)settings.log_level;
  engine->log.format = (pl_log_format_t)settings.log_format;
  pl__engine_free_settings(&settings);
  size_t changes = 0;
  size_t running = engine->pipeline_count;
  for (size_t i = 0; i < running; i++) {
    pl_pipeline_t *pipeline = engine->pipelines[i];
    bool listed;
    pl_pipeline_t *successor = plan_take(&plan, pipeline->name, &listed);
    if (listed && !successor)
      continue; /* unchanged */
    pl__log(&engine->log, PL_LOG_INFO,
            successor ? "reload: pipeline \"%s\" changed: draining it, then "
                        "starting it with its new config"
                      : "reload: pipeline \"%s\" removed: draining it",
            pipeline->name);
    retire(pipeline, successor);
    changes++;
  }
  for (size_t i = 0; i < plan.count; i++) {
    pl_pipeline_t *added = plan.built[i];
    if (!added)
      continue;
    plan.built[i] = NULL;
    pl__log(&engine->log, PL_LOG_INFO, "reload: pipeline \"%s\" added",
            added->name);
    changes++;
    /* It starts once the pipelines a reload stops are gone: a pipeline
     * renamed must not read its input twice at once. */
    added->pending_start = true;
    (void)add_pipeline(engine, added);
  }
  if (changes == 0)
    pl__log(&engine->log, PL_LOG_INFO,
            "reload: no pipeline changed; log settings applied");
  plan_free(&plan);
  engine->idle_logged = false;
  pl__reload_progress(engine);
  start_pending(engine);
  /* A new pipeline that could not start is closed now: its reaping starts
   * here, or nothing would (its pump is closed; an idle daemon runs no
   * other), and every later reload would find it still draining. */
  pl__reload_progress(engine);
  return 0;
}

/* A plugin's close may start work that ends later: a handle's close
 * callback, a request (a file's close). The engine frees a closed pipeline
 * only when the loop has neither (uv_loop_t's public active_reqs): then
 * every callback its plugins started has run, as when a run ends. Another
 * pipeline's requests delay it too; it is checked every few ms. */
#define PL_REAP_EVERY_MS 10

static void find_closing(uv_handle_t *handle, void *arg) {
  if (uv_is_closing(handle))
    *(bool *)arg = true;
}

static bool loop_quiescent(uv_loop_t *loop) {
  if (loop->active_reqs.count > 0)
    return false;
  bool closing = false;
  uv_walk(loop, find_closing, &closing);
  return !closing;
}

void pl__reload_forget_not_running(pl_engine_t *engine) {
  for (size_t i = 0; i < engine->not_running_count; i++) {
    free(engine->not_running[i].pipeline);
    free(engine->not_running[i].why);
  }
  free(engine->not_running);
  engine->not_running = NULL;
  engine->not_running_count = 0;
}

/* Remembers that `pipeline` could not start: the daemon must not look
 * healthy while a pipeline of its config runs nothing. Out of memory, the
 * log line stays the only trace. */
static void note_not_running(pl_engine_t *engine, const pl_pipeline_t *pipeline,
                             int rc) {
  pl_not_running_t *grown = realloc(
      engine->not_running, (engine->not_running_count + 1) * sizeof(*grown));
  if (!grown)
    return;
  engine->not_running = grown;
  pl_buf_t why = {0};
  pl_buf_printf(&why, "cannot start (%s); fix the config and reload again",
                pl_strerror(rc));
  char *name = strdup(pipeline->name);
  if (!name || !why.data) {
    free(name);
    pl_buf_free(&why);
    return;
  }
  grown[engine->not_running_count++] =
      (pl_not_running_t){.pipeline = name, .why = why.data};
}

static void start_or_retire(pl_engine_t *engine, pl_pipeline_t *pipeline) {
  int rc = pl__pipeline_start(pipeline);
  if (rc == 0)
    return;
  /* The stage that failed logged why; the others are closed again. */
  pl__log(&engine->log, PL_LOG_ERROR,
          "reload: pipeline \"%s\" cannot start (%s): it is not running; "
          "fix the config and reload again",
          pipeline->name, pl_strerror(rc));
  note_not_running(engine, pipeline, rc);
  pipeline->retiring = true;
  pl__pipeline_stop(pipeline);
  pl__pipeline_close(pipeline);
}

static void on_reap(uv_timer_t *timer) {
  pl_engine_t *engine = timer->data;
  if (engine->stopping || engine->closing) {
    uv_timer_stop(timer);
    return; /* the shutdown frees them all */
  }
  if (!loop_quiescent(engine->loop))
    return;
  /* A held pipeline waits for its last callbacks (pl_instance_hold()): the
   * timer goes on for it. */
  bool held = false;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    held |= engine->pipelines[i]->retiring && engine->pipelines[i]->closed &&
            pl__pipeline_held(engine->pipelines[i]);
  if (!held)
    uv_timer_stop(timer);
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    pl_pipeline_t *pipeline = engine->pipelines[i];
    if (!pipeline->retiring || !pipeline->closed || pl__pipeline_held(pipeline))
      continue;
    pl_pipeline_t *successor = pipeline->successor;
    pipeline->successor = NULL;
    pl__pipeline_destroy(pipeline);
    if (successor) {
      engine->pipelines[i] = successor;
      start_or_retire(engine, successor);
    } else {
      memmove(&engine->pipelines[i], &engine->pipelines[i + 1],
              (engine->pipeline_count - i - 1) * sizeof(*engine->pipelines));
      engine->pipeline_count--;
      i--;
    }
  }
  start_pending(engine);
  /* A pipeline that could not start is closing now. */
  pl__reload_progress(engine);
}

void pl__reload_progress(pl_engine_t *engine) {
  if (engine->stopping || engine->closing)
    return;
  bool reap = false;
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    pl_pipeline_t *pipeline = engine->pipelines[i];
    if (!pipeline->retiring)
      continue;
    if (!pipeline->closed && pl__pipeline_idle(pipeline)) {
      pl__log(&engine->log, PL_LOG_INFO,
              "reload: pipeline \"%s\" drained (%llu group(s) committed, "
              "%llu failed)",
              pipeline->name,
              (unsigned long long)pipeline->groups_committed,
              (unsigned long long)pipeline->groups_failed);
      pl__pipeline_close(pipeline);
    }
    reap |= pipeline->closed;
  }
  if (!reap)
    return;
  if (!engine->reaper_open) {
    uv_timer_init(engine->loop, &engine->reaper);
    engine->reaper.data = engine;
    engine->reaper_open = true;
  }
  if (!uv_is_active((uv_handle_t *)&engine->reaper))
    uv_timer_start(&engine->reaper, on_reap, 0, PL_REAP_EVERY_MS);
}

void pl__reload_close(pl_engine_t *engine) {
  if (engine->reaper_open)
    uv_close((uv_handle_t *)&engine->reaper, NULL);
  engine->reaper_open = false;
}
