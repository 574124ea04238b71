/* What the plugins are: --list-plugins, --describe NAME [--json] (a
 * plugin, the top-level settings, or the block of an extension such as
 * aws) and --describe-json (every plugin and the stage options as one
 * document); and what a config sets: --print-setting NAME. */
#include <pipelined/extension.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_describe.h"
#include "config_load.h"
#include "engine.h"
#include "options.h"
#include "options_describe.h"
#include "stage_options.h"

static void print_plugin(void *data, const pl_plugin_t *plugin,
                         const char *path) {
  char *name = pl__plugin_full_name(plugin);
  printf("%-20s %s\n", name ? name : plugin->name, plugin->description);
  free(name);
}

int pl__cli_list_plugins(pl_registry_t *reg) {
  pl_buf_t errors = {0};
  int rc = pl__registry_each(reg, print_plugin, NULL, &errors);
  if (errors.len)
    fprintf(stderr, "%s", errors.data);
  pl_buf_free(&errors);
  return rc < 0 ? 1 : 0;
}

/* The JSON description of one plugin: its options and the stage options
 * of its kind, with its defaults (new reference). */
static json_t *plugin_json(const pl_plugin_t *plugin, const char *full_name) {
  pl_option_t stage[PL_STAGE_OPTION_MAX];
  size_t stage_count = pl__stage_table_for(plugin, stage);
  return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", full_name, "kind",
                   pl_kind_name(plugin->kind), "description",
                   plugin->description, "options",
                   pl__options_describe_json(plugin->options,
                                             plugin->options_count),
                   "stage_options",
                   pl__options_describe_json(stage, stage_count));
}

static void print_json(json_t *doc) {
  json_dumpf(doc, stdout, JSON_INDENT(2));
  printf("\n");
  json_decref(doc);
}

static void append_plugin(void *data, const pl_plugin_t *plugin,
                          const char *path) {
  char *name = pl__plugin_full_name(plugin);
  json_array_append_new(data, plugin_json(plugin, name ? name : plugin->name));
  free(name);
}

/* --describe-json without a NAME: one document of every plugin found (by
 * full name) and the stage-wide table with the kinds each option applies
 * to. scripts/gen-plugin-docs renders docs/plugins.md from it. */
int pl__cli_describe_all(pl_registry_t *reg) {
  static const pl_kind_t kinds[] = {PL_KIND_SOURCE, PL_KIND_TRANSFORM,
                                    PL_KIND_SINK};
  json_t *plugins = json_array();
  pl_buf_t errors = {0};
  int rc = pl__registry_each(reg, append_plugin, plugins, &errors);
  if (errors.len)
    fprintf(stderr, "%s", errors.data);
  pl_buf_free(&errors);
  json_t *stage = pl__options_describe_json(pl__stage_option_table,
                                            pl__stage_option_count);
  for (size_t i = 0; i < pl__stage_option_count; i++) {
    json_t *applies = json_array();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      if (pl__stage_option_applies(&pl__stage_option_table[i], kinds[k]))
        json_array_append_new(applies, json_string(pl_kind_name(kinds[k])));
    json_object_set_new(json_array_get(stage, i), "kinds", applies);
  }
  print_json(json_pack("{s:i, s:o, s:o}", "abi_version", PL_ABI_VERSION,
                       "stage_options", stage, "plugins", plugins));
  return rc < 0 ? 1 : 0;
}

/* --describe settings: the top-level settings (memory_limit,
 * metrics_listen...), from the table the engine validates them with. */
static int describe_settings(bool json) {
  size_t count = 0;
  const pl_option_t *table = pl__engine_settings_table(&count);
  if (json) {
    print_json(json_pack("{s:s, s:o}", "name", "settings", "options",
                         pl__options_describe_json(table, count)));
    return 0;
  }
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "Top-level settings (outside any block):\n");
  pl__options_describe(table, count, &out);
  fputs(out.data, stdout);
  pl_buf_free(&out);
  return 0;
}

/* The extension named `name` and the plugins that declare it, found by
 * loading every plugin of the registry. */
typedef struct extension_readers {
  const char *name;
  const pl_extension_type_t *type; /* borrowed from a plugin; NULL: none */
  pl_buf_t plugins;                /* "sink-s3, source-sqs" */
  json_t *names;                   /* the same as an array (new reference) */
} extension_readers_t;

static void match_extension(void *data, const pl_plugin_t *plugin,
                            const char *path) {
  (void)path;
  extension_readers_t *found = data;
  for (size_t e = 0; plugin->extensions && plugin->extensions[e]; e++) {
    if (strcmp(plugin->extensions[e]->name, found->name) != 0)
      continue;
    if (!found->type)
      found->type = plugin->extensions[e];
    char *name = pl__plugin_full_name(plugin);
    pl_buf_printf(&found->plugins, "%s%s", found->plugins.len ? ", " : "",
                  name ? name : plugin->name);
    json_array_append_new(found->names,
                          json_string(name ? name : plugin->name));
    free(name);
    return;
  }
}

/* --describe aws: the settings of an extension's top-level block, from
 * its option table, when a plugin found declares it. Returns -1 when none
 * does, else the exit status. */
static int describe_extension(pl_registry_t *reg, const char *name, bool json) {
  extension_readers_t found = {.name = name, .names = json_array()};
  pl_buf_t errors = {0};
  pl__registry_each(reg, match_extension, &found, &errors);
  pl_buf_free(&errors);
  int rc = -1;
  if (found.type && json) {
    print_json(json_pack("{s:s, s:s, s:s, s:O, s:o}", "name", name, "kind",
                         "extension", "description", found.type->description,
                         "read_by", found.names, "options",
                         pl__options_describe_json(found.type->options,
                                                   found.type->options_count)));
    rc = 0;
  } else if (found.type) {
    pl_buf_t out = {0};
    pl_buf_printf(&out,
                  "%s: %s\n\nSettings of the top-level %s { } block (read "
                  "by %s):\n",
                  name, found.type->description, name, found.plugins.data);
    pl__options_describe(found.type->options, found.type->options_count, &out);
    fputs(out.data, stdout);
    pl_buf_free(&out);
    rc = 0;
  }
  pl_buf_free(&found.plugins);
  json_decref(found.names);
  return rc;
}

int pl__cli_describe(pl_registry_t *reg, const char *full_name, bool json) {
  static const pl_kind_t kinds[] = {PL_KIND_SOURCE, PL_KIND_TRANSFORM,
                                    PL_KIND_SINK};
  if (strcmp(full_name, "settings") == 0)
    return describe_settings(json);
  if (!strchr(full_name, '-')) {
    int status = describe_extension(reg, full_name, json);
    if (status >= 0)
      return status;
  }
  const pl_plugin_t *plugin = NULL;
  char *error = NULL;
  int rc = PL_ENOENT;
  for (size_t i = 0; i < 3 && !plugin; i++) {
    const char *kind = pl_kind_name(kinds[i]);
    size_t len = strlen(kind);
    if (strncmp(full_name, kind, len) == 0 && full_name[len] == '-' &&
        (rc = pl__registry_find(reg, kinds[i], full_name + len + 1, &plugin,
                                &error)) < 0)
      break;
  }
  if (!plugin) {
    fprintf(stderr, "pipelined: %s\n",
            error ? error
                  : "name a plugin as <kind>-<name>, e.g. source-file "
                    "(pipelined --list-plugins)");
    free(error);
    /* A name no plugin has is the user's mistake, as an unknown option
     * is; a plugin that is there but does not load is not. */
    return rc == PL_ENOENT ? EXIT_USAGE : 1;
  }
  if (json) {
    print_json(plugin_json(plugin, full_name));
    return 0;
  }
  pl_option_t stage[PL_STAGE_OPTION_MAX];
  size_t stage_count = pl__stage_table_for(plugin, stage);
  pl_buf_t out = {0};
  pl_buf_printf(&out, "%s: %s\n\nOptions:\n", full_name, plugin->description);
  if (plugin->options_count == 0)
    pl_buf_append_str(&out, "  (none)\n");
  pl__options_describe(plugin->options, plugin->options_count, &out);
  pl_buf_append_str(&out, "\nStage options (every stage of this kind):\n");
  pl__options_describe(stage, stage_count, &out);
  fputs(out.data, stdout);
  pl_buf_free(&out);
  return 0;
}

/* Prints a config value's text: a scalar as written (a string after its
 * escapes and ${VAR}s), a list one item a line. */
static void print_value(const pl_cfg_value_t *value) {
  if (value->kind == PL_CFG_LIST) {
    for (size_t i = 0; i < value->count; i++)
      print_value(&value->items[i]);
    return;
  }
  fwrite(value->text, 1, value->text_len, stdout);
  putchar('\n');
}

int pl__cli_print_setting(const char *const *configs, size_t count,
                          const char *name) {
  size_t table_count = 0;
  const pl_option_t *table = pl__engine_settings_table(&table_count);
  const pl_option_t *option = NULL;
  for (size_t i = 0; i < table_count && !option; i++)
    if (strcmp(table[i].name, name) == 0)
      option = &table[i];
  if (!option) {
    pl_opt_table_t tables = {table, table_count, NULL};
    const char *closest = pl__options_closest(&tables, 1, name);
    fprintf(stderr, "pipelined: --print-setting: no top-level setting %s",
            name);
    if (closest)
      fprintf(stderr, " (did you mean %s?)", closest);
    fprintf(stderr, "; pipelined --describe settings lists them\n");
    return 2;
  }
  /* The files are read as a run reads them, and the settings validated
   * with the table the engine uses: what is printed is what the daemon
   * would use. The pipelines are not built. */
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  if (pl__cfg_load(configs, count, &pl__cfg_process_env, &root, &error) < 0) {
    fprintf(stderr, "pipelined: %s\n", error ? error : "cannot read config");
    free(error);
    return 2;
  }
  pl_buf_t errors = {0};
  pl_engine_settings_t settings = {0};
  int rc = pl__engine_read_settings(root, &settings, &errors);
  pl__engine_free_settings(&settings);
  if (rc < 0) {
    fprintf(stderr, "pipelined: %s is not valid:\n%s", configs[0],
            errors.data ? errors.data : "(no details)\n");
    pl_buf_free(&errors);
    pl__cfg_destroy(root);
    return 2;
  }
  pl_buf_free(&errors);
  const pl_cfg_node_t *node = NULL;
  for (size_t i = 0; i < root->count && !node; i++)
    if (!root->children[i]->is_block &&
        strcmp(root->children[i]->key, name) == 0)
      node = root->children[i];
  if (node)
    print_value(&node->value);
  else if (option->default_value)
    printf("%s\n", option->default_value);
  pl__cfg_destroy(root);
  return 0;
}
