/* A pipeline from its config block: the stages its plugins make from their
 * option tables, in pipeline order, then their init callbacks. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "closest_name.h"
#include "config_tree.h"
#include "engine.h"
#include "log.h"
#include "options.h"
#include "pipeline_build.h"
#include "stage_options.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const stage_blocks[] = {"source", "transform", "sink",
                                           "dead_letter", NULL};

static void unknown_name(pl_buf_t *errors, const pl_cfg_node_t *node,
                         const char *where, const char *const *valid) {
  const char *closest = pl__closest_name(valid, node->key);
  pl_buf_t list = {0};
  for (size_t i = 0; valid[i]; i++)
    pl_buf_printf(&list, "%s%s", i ? ", " : "", valid[i]);
  if (closest)
    pl__cfg_error(errors, &node->loc, "%s: unknown block '%s' (did you mean '%s'?)",
              where, node->key, closest);
  else
    pl__cfg_error(errors, &node->loc, "%s: unknown block '%s' (expected one of %s)",
              where, node->key, list.data);
  pl_buf_free(&list);
}

static bool is_one_of(const char *const *names, const char *name) {
  for (size_t i = 0; names[i]; i++)
    if (strcmp(names[i], name) == 0)
      return true;
  return false;
}

static pl_role_t role_of(const char *key) {
  if (strcmp(key, "source") == 0)
    return PL_ROLE_SOURCE;
  if (strcmp(key, "transform") == 0)
    return PL_ROLE_TRANSFORM;
  if (strcmp(key, "sink") == 0)
    return PL_ROLE_SINK;
  return PL_ROLE_DEAD_LETTER;
}

static pl_kind_t kind_of(pl_role_t role) {
  switch (role) {
  case PL_ROLE_SOURCE:
    return PL_KIND_SOURCE;
  case PL_ROLE_TRANSFORM:
    return PL_KIND_TRANSFORM;
  case PL_ROLE_SINK:
  case PL_ROLE_DEAD_LETTER:
    break;
  }
  return PL_KIND_SINK;
}

/* A deprecated option the user set still works, with a warning that says
 * where and what to do instead (its description). */
static void warn_deprecated(pl_engine_t *engine, const pl_plugin_t *plugin,
                            const pl_cfg_node_t *block, const char *what) {
  for (size_t i = 0; i < plugin->options_count; i++) {
    const pl_option_t *option = &plugin->options[i];
    if (!(option->flags & PL_OPT_DEPRECATED))
      continue;
    for (size_t c = 0; c < block->count; c++) {
      const pl_cfg_node_t *node = block->children[c];
      if (strcmp(node->key, option->name) == 0)
        pl__log(&engine->log, PL_LOG_WARN,
                "%s:%d:%d: %s: option '%s' is deprecated: %s", node->loc.file,
                node->loc.line, node->loc.col, what, option->name,
                option->description);
    }
  }
}

static void add_stage(pl_engine_t *engine, pl_pipeline_t *pipeline,
                      const pl_cfg_node_t *block, pl_buf_t *errors) {
  pl_role_t role = role_of(block->key);
  pl_kind_t kind = kind_of(role);
  pl_buf_t what = {0};
  pl_buf_printf(&what, "pipeline \"%s\": %s \"%s\"", pipeline->name,
                block->key, block->label);
  const pl_plugin_t *plugin = NULL;
  char *message = NULL;
  if (pl__registry_find(engine->registry, kind, block->label, &plugin,
                        &message) < 0) {
    pl__cfg_error(errors, &block->loc, "%s: %s", what.data, message);
    free(message);
    pl_buf_free(&what);
    return;
  }
  void *options = calloc(1, plugin->options_size ? plugin->options_size : 1);
  pl_option_t stage_table[PL_STAGE_OPTION_MAX];
  size_t stage_count = pl__stage_table_for(plugin, stage_table);
  pl_stage_options_t stage = {.log_level = -1};
  pl_opt_table_t tables[] = {
      {plugin->options, plugin->options_count, options},
      {stage_table, stage_count, &stage},
  };
  int rc = options ? pl__options_apply(tables, 2, block, what.data, errors)
                   : PL_ENOMEM;
  if (rc == 0)
    warn_deprecated(engine, plugin, block, what.data);
  pl__options_free(stage_table, stage_count, &stage);
  pl_buf_free(&what);
  pl_instance_t *inst = NULL;
  if (rc == 0)
    rc = pl__stage_create(pipeline, plugin, role, options, &stage, &inst);
  if (rc < 0) {
    if (options)
      pl__options_free(plugin->options, plugin->options_count, options);
    free(options);
    return;
  }
  inst->file = strdup(block->loc.file); /* NULL: the caller's file */
  inst->line = block->loc.line;
  inst->col = block->loc.col;
  pl__pipeline_add(pipeline, inst);
}

static int count_role(const pl_cfg_node_t *block, const char *key) {
  int n = 0;
  for (size_t i = 0; i < block->count; i++)
    if (block->children[i]->is_block && strcmp(block->children[i]->key, key) == 0)
      n++;
  return n;
}

pl_pipeline_t *pl__pipeline_build(pl_engine_t *engine,
                                  const pl_cfg_node_t *block,
                                  pl_buf_t *errors) {
  pl_pipeline_t *pipeline = NULL;
  if (pl__pipeline_create(engine, block->label, &pipeline) < 0)
    return NULL;
  pl_buf_t fingerprint = {0};
  pl__cfg_fingerprint(block, &fingerprint);
  pipeline->fingerprint = fingerprint.data;

  static const struct {
    const char *key;
    int min, max;
  } roles[] = {
      {"source", 1, 1}, {"sink", 1, 1}, {"dead_letter", 0, 1}};
  for (size_t i = 0; i < COUNT(roles); i++) {
    int n = count_role(block, roles[i].key);
    if (n < roles[i].min)
      pl__cfg_error(errors, &block->loc, "pipeline \"%s\": missing %s \"plugin\" { ... }",
                block->label, roles[i].key);
    else if (n > roles[i].max)
      pl__cfg_error(errors, &block->loc,
                "pipeline \"%s\": only one %s is allowed, found %d",
                block->label, roles[i].key, n);
  }
  /* Stages in pipeline order, whatever their order in the file. */
  static const char *const order[] = {"source", "transform", "sink",
                                      "dead_letter"};
  for (size_t o = 0; o < COUNT(order); o++) {
    for (size_t i = 0; i < block->count; i++) {
      const pl_cfg_node_t *child = block->children[i];
      if (!child->is_block || strcmp(child->key, order[o]) != 0)
        continue;
      if (!child->label) {
        pl__cfg_error(errors, &child->loc,
                  "pipeline \"%s\": %s needs a plugin name: %s \"name\" { ... }",
                  block->label, child->key, child->key);
        continue;
      }
      add_stage(engine, pipeline, child, errors);
    }
  }
  for (size_t i = 0; i < block->count; i++) {
    const pl_cfg_node_t *child = block->children[i];
    if (!child->is_block)
      pl__cfg_error(errors, &child->loc,
                "pipeline \"%s\": unexpected setting '%s' (settings go inside "
                "a source, transform, sink or dead_letter block)",
                block->label, child->key);
    else if (!is_one_of(stage_blocks, child->key)) {
      pl_buf_t where = {0};
      pl_buf_printf(&where, "pipeline \"%s\"", block->label);
      unknown_name(errors, child, where.data, stage_blocks);
      pl_buf_free(&where);
    }
  }
  return pipeline;
}

int pl__pipeline_init(pl_pipeline_t *pipeline, const char *file,
                      pl_buf_t *errors) {
  pl__pipeline_link(pipeline);
  for (size_t i = 0; i < pipeline->stage_count; i++) {
    pl_instance_t *inst = pipeline->stages[i];
    int rc = inst->plugin->init
                 ? inst->plugin->init(inst, inst->options, &inst->ctx)
                 : 0;
    if (rc < 0) {
      /* The plugin logged the details; this names the place. */
      pl_buf_printf(errors,
                    "%s:%d:%d: pipeline \"%s\": %s: cannot initialise: %s "
                    "(see the log above)\n",
                    inst->file ? inst->file : file, inst->line, inst->col,
                    pipeline->name, inst->name, pl_strerror(rc));
      return rc;
    }
    inst->initialized = true;
  }
  return 0;
}

bool pl__pipeline_block_ok(const pl_cfg_node_t *root, size_t index,
                           pl_buf_t *errors) {
  const pl_cfg_node_t *block = root->children[index];
  if (!block->label) {
    pl__cfg_error(errors, &block->loc,
                  "a pipeline needs a name: pipeline \"name\" { ... }");
    return false;
  }
  for (size_t i = 0; i < index; i++) {
    const pl_cfg_node_t *other = root->children[i];
    if (other->is_block && strcmp(other->key, "pipeline") == 0 &&
        other->label && strcmp(other->label, block->label) == 0) {
      pl__cfg_error(errors, &block->loc,
                    "pipeline \"%s\" is defined twice (first at line %d)",
                    block->label, other->loc.line);
      return false;
    }
  }
  return true;
}
