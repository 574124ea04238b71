/* The embedding API (<pipelined/embed.h>): thin wrappers over the
 * engine's internal functions, for code outside libpipelined. */
#include <pipelined/embed.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "registry.h"

/* Hands the collected error lines to the caller (or frees them). */
static void give_errors(pl_buf_t *buf, char **errors) {
  if (errors) {
    *errors = buf->len ? buf->data : NULL;
    if (buf->len)
      return;
  }
  pl_buf_free(buf);
}

int pl_engine_create_from_text(uv_loop_t *loop, const char *config_name,
                               const char *config_text,
                               const pl_plugin_t *const *plugins,
                               const pl_env_t *env, FILE *log, bool once,
                               pl_engine_t **out, char **errors) {
  *out = NULL;
  if (errors)
    *errors = NULL;
  if (!loop || !config_text)
    return PL_EINVAL;
  pl_buf_t buf = {0};
  pl_registry_t *registry = NULL;
  int rc = pl__registry_create(NULL, 0, &registry);
  for (size_t i = 0; rc == 0 && plugins && plugins[i]; i++) {
    rc = pl__registry_add(registry, plugins[i]);
    if (rc < 0)
      pl_buf_printf(&buf, "cannot register plugin %zu: %s\n", i,
                    pl_strerror(rc));
  }
  pl_cfg_node_t *root = NULL;
  if (rc == 0) {
    char *error = NULL;
    rc = pl__cfg_parse(config_name ? config_name : "<config>", config_text,
                       strlen(config_text), env ? env : &pl__cfg_process_env,
                       &root, &error);
    if (rc < 0)
      pl_buf_printf(&buf, "%s\n", error ? error : pl_strerror(rc));
    free(error);
  }
  pl_engine_t *engine = NULL;
  if (rc == 0) {
    pl_engine_params_t params = {.loop = loop,
                                 .registry = registry,
                                 .log_stream = log,
                                 .once = once,
                                 .env = env ? env : &pl__cfg_process_env};
    rc = pl__engine_create(&params, root, &engine, &buf);
  }
  pl__cfg_destroy(root);
  if (rc < 0) {
    pl__registry_destroy(registry);
    give_errors(&buf, errors);
    return rc;
  }
  engine->own_registry = registry;
  pl_buf_free(&buf);
  *out = engine;
  return 0;
}

int pl_engine_start(pl_engine_t *engine) {
  return pl__engine_start(engine);
}

void pl_engine_shutdown(pl_engine_t *engine) {
  pl__engine_shutdown(engine);
}

bool pl_engine_finished(const pl_engine_t *engine) {
  return engine->closing;
}

int pl_engine_status(const pl_engine_t *engine) {
  return pl__engine_status(engine);
}

void pl_engine_destroy(pl_engine_t *engine) {
  pl__engine_destroy(engine);
}

pl_instance_t *pl_engine_stage(const pl_engine_t *engine, const char *pipeline,
                               size_t index) {
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pl = engine->pipelines[p];
    if (strcmp(pl->name, pipeline) == 0)
      return index < pl->stage_count ? pl->stages[index] : NULL;
  }
  return NULL;
}

void *pl_instance_context(const pl_instance_t *inst) {
  return inst->ctx;
}

uint64_t pl_instance_counter(const pl_instance_t *inst, const char *name) {
  for (size_t i = 0; i < inst->counter_count; i++)
    if (strcmp(inst->counters[i].name, name) == 0)
      return inst->counters[i].value;
  return 0;
}
