/* Engine extensions (<pipelined/extension.h>): the blocks they own in the
 * config, validated with their tables, and their state, made on first use
 * and closed after the stages. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "extension.h"
#include "options.h"

/* Adds `type` to the engine's extensions unless it is there. Two types of
 * one name from different libraries are refused: one block cannot set
 * both. */
static int add_type(pl_engine_t *engine, const pl_extension_type_t *type,
                    const pl_cfg_node_t *root, pl_buf_t *errors) {
  for (size_t i = 0; i < engine->extension_count; i++) {
    const pl_extension_type_t *known = engine->extensions[i].type;
    if (known == type)
      return 0;
    if (strcmp(known->name, type->name) == 0) {
      pl_buf_printf(errors,
                    "%s:%d:%d: two different extensions are named '%s' (the "
                    "plugins were built against different libraries)\n",
                    root->loc.file, root->loc.line, root->loc.col, type->name);
      return PL_EINVAL;
    }
  }
  pl_extension_t *grown =
      realloc(engine->extensions,
              (engine->extension_count + 1) * sizeof(*engine->extensions));
  if (!grown)
    return PL_ENOMEM;
  engine->extensions = grown;
  void *settings = calloc(1, type->settings_size ? type->settings_size : 1);
  if (!settings)
    return PL_ENOMEM;
  engine->extensions[engine->extension_count++] =
      (pl_extension_t){.engine = engine, .type = type, .settings = settings};
  return 0;
}

static int collect_types(pl_engine_t *engine, const pl_cfg_node_t *root,
                         pl_buf_t *errors) {
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t i = 0; i < pipeline->stage_count; i++) {
      const pl_plugin_t *plugin = pipeline->stages[i]->plugin;
      for (size_t e = 0; plugin->extensions && plugin->extensions[e]; e++) {
        int rc = add_type(engine, plugin->extensions[e], root, errors);
        if (rc < 0)
          return rc;
      }
    }
  }
  return 0;
}

static pl_extension_t *find_named(pl_engine_t *engine, const char *name) {
  for (size_t i = 0; i < engine->extension_count; i++)
    if (strcmp(engine->extensions[i].type->name, name) == 0)
      return &engine->extensions[i];
  return NULL;
}

/* "pipeline" and the name of every extension, NULL-terminated (new). */
static const char **block_names(const pl_engine_t *engine) {
  const char **names = calloc(engine->extension_count + 2, sizeof(*names));
  if (!names)
    return NULL;
  names[0] = "pipeline";
  for (size_t i = 0; i < engine->extension_count; i++)
    names[i + 1] = engine->extensions[i].type->name;
  return names;
}

/* The plugins of the registry that declare an extension named `name`:
 * what the error of its block names when no stage of the config uses one. */
typedef struct readers {
  const char *name;
  pl_buf_t list;
  size_t count;
} readers_t;

static void add_reader(void *data, const pl_plugin_t *plugin,
                       const char *path) {
  (void)path;
  readers_t *readers = data;
  for (size_t e = 0; plugin->extensions && plugin->extensions[e]; e++) {
    if (strcmp(plugin->extensions[e]->name, readers->name) != 0)
      continue;
    char *full = pl__plugin_full_name(plugin);
    if (full)
      pl_buf_printf(&readers->list, "%s%s", readers->count++ ? ", " : "", full);
    free(full);
    return;
  }
}

/* Appends the error of a block that an extension of a plugin the config
 * does not use would read, naming those plugins, and returns true; returns
 * false when no plugin the registry finds declares one of that name. The
 * registry loads every plugin it finds for this, on an error's path only;
 * plugins that fail to load are ignored here (a stage that names one
 * reports it). */
static bool unused_extension(const pl_engine_t *engine,
                             const pl_cfg_node_t *node, pl_buf_t *errors) {
  if (!engine->registry)
    return false;
  readers_t readers = {.name = node->key};
  pl_buf_t ignored = {0};
  pl__registry_each(engine->registry, add_reader, &readers, &ignored);
  pl_buf_free(&ignored);
  bool found = readers.count > 0 && readers.list.data;
  if (found)
    pl_buf_printf(errors,
                  "%s:%d:%d: top level: block '%s' is read only by the "
                  "plugin%s %s, and no stage of this config uses %s\n",
                  node->loc.file, node->loc.line, node->loc.col, node->key,
                  readers.count > 1 ? "s" : "", readers.list.data,
                  readers.count > 1 ? "one" : "it");
  pl_buf_free(&readers.list);
  return found;
}

/* Appends the error of a top-level block no extension owns and returns
 * true; when the pipelines were not `complete` (a plugin that did not load
 * could own it), only a block named like a known one (a typo) is. */
static bool unknown_block(const pl_engine_t *engine, const pl_cfg_node_t *node,
                          bool complete, pl_buf_t *errors) {
  if (complete && unused_extension(engine, node, errors))
    return true;
  const char **names = block_names(engine);
  const char *closest = names ? pl__closest_name(names, node->key) : NULL;
  if (!closest && !complete) {
    free(names);
    return false;
  }
  pl_buf_printf(errors, "%s:%d:%d: top level: unknown block '%s'",
                node->loc.file, node->loc.line, node->loc.col, node->key);
  if (closest) {
    pl_buf_printf(errors, " (did you mean '%s'?)\n", closest);
  } else if (names) {
    pl_buf_append_str(errors, " (no plugin reads it; the top-level blocks of "
                              "this config are: ");
    for (size_t i = 0; names[i]; i++)
      pl_buf_printf(errors, "%s%s", i ? ", " : "", names[i]);
    pl_buf_append_str(errors, ")\n");
  } else {
    pl_buf_append_str(errors, "\n");
  }
  free(names);
  return true;
}

int pl__extensions_configure(pl_engine_t *engine, const pl_cfg_node_t *root,
                             bool complete, pl_buf_t *errors) {
  int rc = collect_types(engine, root, errors);
  if (rc < 0)
    return rc;
  /* Each extension's block: at most one, validated by its table. */
  for (size_t i = 0; i < engine->extension_count; i++) {
    pl_extension_t *ext = &engine->extensions[i];
    const pl_cfg_node_t *block = NULL;
    for (size_t c = 0; c < root->count; c++) {
      const pl_cfg_node_t *child = root->children[c];
      if (!child->is_block || strcmp(child->key, ext->type->name) != 0)
        continue;
      if (block) {
        pl_buf_printf(errors, "%s:%d:%d: only one %s block is allowed\n",
                      child->loc.file, child->loc.line, child->loc.col,
                      child->key);
        rc = PL_EINVAL;
      }
      block = child;
    }
    pl_opt_table_t table = {ext->type->options, ext->type->options_count,
                            ext->settings};
    if (pl__options_apply(&table, 1, block, ext->type->name, errors) < 0)
      rc = PL_EINVAL;
  }
  for (size_t c = 0; c < root->count; c++) {
    const pl_cfg_node_t *child = root->children[c];
    if (child->is_block && strcmp(child->key, "pipeline") != 0 &&
        !find_named(engine, child->key) &&
        unknown_block(engine, child, complete, errors))
      rc = PL_EINVAL;
  }
  return rc;
}

void pl__extensions_metrics(const pl_engine_t *engine, pl_buf_t *out) {
  for (size_t i = 0; i < engine->extension_count; i++) {
    const pl_extension_t *ext = &engine->extensions[i];
    if (ext->state && ext->type->metrics)
      ext->type->metrics(ext->state, out);
  }
}

void pl__extensions_close(pl_engine_t *engine) {
  for (size_t i = 0; i < engine->extension_count; i++) {
    pl_extension_t *ext = &engine->extensions[i];
    if (ext->state && ext->type->close)
      ext->type->close(ext->state);
    ext->state = NULL;
  }
}

void pl__extensions_free(pl_engine_t *engine) {
  for (size_t i = 0; i < engine->extension_count; i++) {
    pl_extension_t *ext = &engine->extensions[i];
    pl__options_free(ext->type->options, ext->type->options_count,
                     ext->settings);
    free(ext->settings);
  }
  free(engine->extensions);
  engine->extensions = NULL;
  engine->extension_count = 0;
}

/* ---- Public ---- */

static bool plugin_names(const pl_plugin_t *plugin,
                         const pl_extension_type_t *type) {
  for (size_t e = 0; plugin->extensions && plugin->extensions[e]; e++)
    if (plugin->extensions[e] == type)
      return true;
  return false;
}

int pl_extension_get(pl_instance_t *inst, const pl_extension_type_t *type,
                     void **state) {
  pl_engine_t *engine = inst->pipeline->engine;
  if (engine->closing)
    return PL_ECANCELED;
  pl_extension_t *ext = NULL;
  for (size_t i = 0; i < engine->extension_count && !ext; i++)
    if (engine->extensions[i].type == type)
      ext = &engine->extensions[i];
  if (!ext || !plugin_names(inst->plugin, type))
    return PL_ENOENT;
  if (!ext->state) {
    int rc = type->create(ext, ext->settings, &ext->state);
    if (rc < 0) {
      ext->state = NULL;
      return rc;
    }
  }
  *state = ext->state;
  return 0;
}

uv_loop_t *pl_extension_loop(const pl_extension_t *ext) {
  return ext->engine->loop;
}

const pl_env_t *pl_extension_env(const pl_extension_t *ext) {
  static const pl_env_t none = {0};
  return ext->engine->env ? ext->engine->env : &none;
}

void pl_extension_log(const pl_extension_t *ext, pl_log_level_t level,
                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pl__log_write(&ext->engine->log, level, ext->type->name, NULL, fmt, ap);
  va_end(ap);
}
