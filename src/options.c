/* Option tables: validation of config blocks, storage of values at their
 * offsets, defaults and the closest valid name of an unknown option. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "option_limits.h"
#include "options.h"
#include "units.h"

const char *pl_opt_type_name(pl_opt_type_t type) {
  switch (type) {
#define PL__OPT_TYPE_CASE(name, text)                                          \
  case PL_OPT_##name:                                                          \
    return text;
    PL_OPT_TYPE_MAP(PL__OPT_TYPE_CASE)
#undef PL__OPT_TYPE_CASE
  }
  return "unknown";
}

static const char *expected_text(pl_opt_type_t type) {
  switch (type) {
  case PL_OPT_STRING:
    return "a \"string\"";
  case PL_OPT_INT:
    return "an integer";
  case PL_OPT_BOOL:
    return "true or false";
  case PL_OPT_DOUBLE:
    return "a number";
  case PL_OPT_DURATION:
    return "a duration such as 500ms, 30s or 5m";
  case PL_OPT_SIZE:
    return "a size such as 512KiB or 1MiB";
  case PL_OPT_LIST:
    return "a list such as [\"a\", \"b\"]";
  case PL_OPT_ENUM:
    return "one of";
  case PL_OPT_TEMPLATE:
    return "a \"template\" string";
  case PL_OPT_MAP:
    return "a block { key = \"value\" }";
  }
  return "a value";
}

const char *pl__options_closest(const pl_opt_table_t *tables, size_t count,
                                const char *name) {
  const char *best = NULL;
  size_t best_distance = pl__name_max_distance(name) + 1;
  for (size_t t = 0; t < count; t++) {
    for (size_t i = 0; i < tables[t].count; i++) {
      size_t d = pl__name_distance(tables[t].options[i].name, name);
      if (d < best_distance) {
        best = tables[t].options[i].name;
        best_distance = d;
      }
    }
  }
  return best;
}

/* ---- Storing values ---- */

static void *field(void *dest, const pl_option_t *option) {
  return (char *)dest + option->offset;
}

static int enum_index(const pl_option_t *option, const char *text) {
  for (int i = 0; option->choices && option->choices[i]; i++)
    if (strcmp(option->choices[i], text) == 0)
      return i;
  return -1;
}

static void free_value(const pl_option_t *option, void *dest) {
  void *p = field(dest, option);
  switch (option->type) {
  case PL_OPT_STRING: {
    char **s = p;
    free(*s);
    *s = NULL;
    break;
  }
  case PL_OPT_TEMPLATE: {
    pl_template_t **t = p;
    pl_template_destroy(*t);
    *t = NULL;
    break;
  }
  case PL_OPT_LIST: {
    pl_list_t *list = p;
    for (size_t i = 0; i < list->count; i++)
      free(list->items[i]);
    free(list->items);
    *list = (pl_list_t){0};
    break;
  }
  case PL_OPT_MAP: {
    pl_map_t *map = p;
    for (size_t i = 0; i < map->count; i++) {
      free(map->keys[i]);
      free(map->values[i]);
    }
    free(map->keys);
    free(map->values);
    *map = (pl_map_t){0};
    break;
  }
  default:
    break;
  }
}

/* The text to store for a string value of `option`: a relative path
 * written in a config file is made relative to that file's directory
 * (PL_OPT_PATH). `out` holds the new text when one is made. */
static const char *path_text(const pl_option_t *option,
                             const pl_cfg_value_t *value, pl_buf_t *out) {
  const char *text = value->text;
  const char *file = value->loc.file;
  const char *slash = file ? strrchr(file, '/') : NULL;
  if (!(option->flags & PL_OPT_PATH) || value->kind != PL_CFG_STRING ||
      value->from_env || !slash ||
      !text[0] || text[0] == '/' || strcmp(text, "-") == 0)
    return text;
  pl_buf_append(out, file, (size_t)(slash - file) + 1);
  pl_buf_append_str(out, text);
  return out->data ? out->data : text;
}

/* Parses a scalar text as the option's type and stores it. On failure
 * returns a negative code and, for templates and enums, a message. */
static int store_text(const pl_option_t *option, const char *text, void *dest,
                      char **message) {
  void *p = field(dest, option);
  switch (option->type) {
  case PL_OPT_STRING: {
    char *copy = strdup(text);
    if (!copy)
      return PL_ENOMEM;
    free_value(option, dest);
    *(char **)p = copy;
    return 0;
  }
  case PL_OPT_INT:
    return pl__parse_int(text, p);
  case PL_OPT_BOOL:
    return pl__parse_bool(text, p);
  case PL_OPT_DOUBLE:
    return pl__parse_double(text, p);
  case PL_OPT_DURATION:
    return pl__parse_duration(text, p);
  case PL_OPT_SIZE:
    return pl__parse_size(text, p);
  case PL_OPT_ENUM: {
    int index = enum_index(option, text);
    if (index < 0)
      return PL_EPARSE;
    *(int *)p = index;
    return 0;
  }
  case PL_OPT_TEMPLATE: {
    pl_template_t *tpl = NULL;
    int rc = pl_template_create(text, &tpl, message);
    if (rc < 0)
      return rc;
    free_value(option, dest);
    *(pl_template_t **)p = tpl;
    return 0;
  }
  case PL_OPT_LIST: {
    pl_list_t *list = p;
    char **items = realloc(list->items, (list->count + 1) * sizeof(*items));
    if (!items)
      return PL_ENOMEM;
    list->items = items;
    if (!(items[list->count] = strdup(text)))
      return PL_ENOMEM;
    list->count++;
    return 0;
  }
  case PL_OPT_MAP:
    break;
  }
  return PL_EINVAL;
}

static void describe_found(const pl_option_t *option,
                           const pl_cfg_value_t *value, pl_buf_t *out) {
  if (option->flags & PL_OPT_SECRET) {
    pl_buf_append_str(out, "a value (not shown: the option is secret)");
    return;
  }
  switch (value->kind) {
  case PL_CFG_STRING: {
    /* Escaped, so that the message stays on one line. */
    json_t *text = json_stringn_nocheck(value->text, value->text_len);
    char *quoted = text ? json_dumps(text, JSON_ENCODE_ANY) : NULL;
    pl_buf_append_str(out, quoted ? quoted : "a string");
    free(quoted);
    json_decref(text);
    break;
  }
  case PL_CFG_LIST:
    pl_buf_append_str(out, "a list");
    break;
  default:
    pl_buf_printf(out, "%s", value->text ? value->text : "?");
    break;
  }
}

/* "file:line:col: what: option 'name' expects ": where the value of
 * `node` is (a block's or list's own line when it has none). */
static void expects(pl_buf_t *errors, const char *what,
                    const pl_option_t *option, const pl_cfg_node_t *node) {
  const pl_cfg_loc_t *at = node->value.loc.line ? &node->value.loc : &node->loc;
  pl_buf_printf(errors, "%s:%d:%d: %s: option '%s' expects ", node->loc.file,
                at->line, at->col, what, option->name);
}

static void type_error(pl_buf_t *errors, const char *what,
                       const pl_option_t *option, const pl_cfg_node_t *node,
                       const char *detail) {
  expects(errors, what, option, node);
  pl_buf_append_str(errors, expected_text(option->type));
  if (option->type == PL_OPT_ENUM) {
    for (size_t i = 0; option->choices && option->choices[i]; i++)
      pl_buf_printf(errors, "%s %s", i ? "," : "", option->choices[i]);
  }
  if (node->is_block) {
    pl_buf_append_str(errors, ", found a block");
  } else {
    pl_buf_append_str(errors, ", found ");
    describe_found(option, &node->value, errors);
  }
  if (detail)
    pl_buf_printf(errors, " (%s)", detail);
  pl_buf_append_str(errors, "\n");
}

/* A stored value outside the option's limits: the one message of every
 * limit, "...: option 'pollers' expects an integer from 1 to 64, found 0". */
static void limit_error(pl_buf_t *errors, const char *what,
                        const pl_option_t *option, const pl_cfg_node_t *node,
                        const void *value) {
  expects(errors, what, option, node);
  pl__option_limits_expected(option, errors);
  pl_buf_append_str(errors, ", found ");
  if (option->type == PL_OPT_LIST || option->type == PL_OPT_MAP ||
      (option->flags & PL_OPT_SECRET)) {
    if (option->flags & PL_OPT_SECRET)
      pl_buf_append_str(errors, "a value (not shown: the option is secret)");
    else
      pl__option_limits_found(option, value, errors);
  } else {
    describe_found(option, &node->value, errors);
    if (option->type == PL_OPT_STRING) {
      pl_buf_append_str(errors, " (");
      pl__option_limits_found(option, value, errors);
      pl_buf_append_str(errors, ")");
    }
  }
  pl_buf_append_str(errors, "\n");
}

/* The literal kinds that may stand for each option type without quotes. */
static bool literal_fits(pl_opt_type_t type, pl_cfg_kind_t kind) {
  switch (type) {
  case PL_OPT_INT:
    return kind == PL_CFG_INT;
  case PL_OPT_DOUBLE:
    return kind == PL_CFG_INT || kind == PL_CFG_FLOAT;
  case PL_OPT_BOOL:
    return kind == PL_CFG_BOOL;
  case PL_OPT_ENUM:
    /* An enum that grew out of a bool (true, false, auto) keeps taking
     * the bare words; one without them says which choices there are. */
    return kind == PL_CFG_BOOL;
  case PL_OPT_DURATION:
    return kind == PL_CFG_DURATION || kind == PL_CFG_INT;
  case PL_OPT_SIZE:
    return kind == PL_CFG_SIZE || kind == PL_CFG_INT;
  default:
    return false;
  }
}

/* True (after writing the error) when the string `text` cannot be stored:
 * it holds a NUL byte, or it is empty and the option may not be. The error
 * points at the string itself, so a list item is named exactly. */
static bool text_refused(const pl_option_t *option, const pl_cfg_node_t *node,
                         const pl_cfg_value_t *text, const char *what,
                         pl_buf_t *errors) {
  if (strlen(text->text) != text->text_len) {
    type_error(errors, what, option, node, "it contains a \\0 byte");
    return true;
  }
  if (text->text_len > 0 ||
      !(option->flags & (PL_OPT_REQUIRED | PL_OPT_NOT_EMPTY)))
    return false;
  const pl_cfg_loc_t *at = text->loc.line ? &text->loc : &node->loc;
  pl_buf_printf(errors,
                "%s:%d:%d: %s: option '%s' is empty; it needs a value (a "
                "${VAR} in it may be unset or empty)\n",
                node->loc.file, at->line, at->col, what, option->name);
  return true;
}

static int store_node(const pl_option_t *option, const pl_cfg_node_t *node,
                      void *dest, const char *what, pl_buf_t *errors) {
  char *message = NULL;
  int rc = 0;
  if (option->type == PL_OPT_MAP) {
    if (!node->is_block) {
      type_error(errors, what, option, node, NULL);
      return PL_EINVAL;
    }
    pl_map_t *map = field(dest, option);
    for (size_t i = 0; i < node->count; i++) {
      const pl_cfg_node_t *entry = node->children[i];
      if (!entry->is_block && entry->value.kind == PL_CFG_STRING &&
          strlen(entry->value.text) != entry->value.text_len) {
        pl_buf_printf(errors,
                      "%s:%d:%d: %s: option '%s': '%s' contains a \\0 byte\n",
                      entry->loc.file, entry->loc.line, entry->loc.col, what,
                      option->name, entry->key);
        return PL_EINVAL;
      }
      if (entry->is_block || entry->value.kind == PL_CFG_LIST) {
        pl_buf_printf(errors,
                      "%s:%d:%d: %s: option '%s': '%s' must be a value such "
                      "as \"text\", not a %s\n",
                      entry->loc.file, entry->loc.line, entry->loc.col, what,
                      option->name, entry->key,
                      entry->is_block ? "block" : "list");
        return PL_EINVAL;
      }
      char **keys = realloc(map->keys, (map->count + 1) * sizeof(*keys));
      if (keys)
        map->keys = keys;
      char **values = realloc(map->values, (map->count + 1) * sizeof(*values));
      if (values)
        map->values = values;
      if (!keys || !values)
        return PL_ENOMEM;
      keys[map->count] = strdup(entry->key);
      values[map->count] = strdup(entry->value.text);
      map->count++;
      if (!keys[map->count - 1] || !values[map->count - 1])
        return PL_ENOMEM;
    }
    return 0;
  }
  if (node->is_block) {
    type_error(errors, what, option, node, NULL);
    return PL_EINVAL;
  }
  const pl_cfg_value_t *value = &node->value;
  if (option->type == PL_OPT_LIST) {
    free_value(option, dest);
    if (value->kind != PL_CFG_LIST) {
      if (value->kind != PL_CFG_STRING) {
        type_error(errors, what, option, node, NULL);
        return PL_EINVAL;
      }
      if (text_refused(option, node, value, what, errors))
        return PL_EINVAL;
      pl_buf_t path = {0};
      rc = store_text(option, path_text(option, value, &path), dest, NULL);
      pl_buf_free(&path);
      return rc;
    }
    for (size_t i = 0; i < value->count; i++) {
      if (value->items[i].kind == PL_CFG_LIST) {
        type_error(errors, what, option, node, "lists do not nest");
        return PL_EINVAL;
      }
      if (value->items[i].kind == PL_CFG_STRING &&
          text_refused(option, node, &value->items[i], what, errors))
        return PL_EINVAL;
      pl_buf_t path = {0};
      rc = store_text(option, path_text(option, &value->items[i], &path), dest,
                      NULL);
      pl_buf_free(&path);
      if (rc < 0)
        return rc;
    }
    return 0;
  }
  if (value->kind == PL_CFG_LIST ||
      (value->kind != PL_CFG_STRING && !literal_fits(option->type, value->kind))) {
    type_error(errors, what, option, node, NULL);
    return PL_EINVAL;
  }
  if (value->kind == PL_CFG_STRING &&
      text_refused(option, node, value, what, errors))
    return PL_EINVAL;
  pl_buf_t path = {0};
  rc = store_text(option, path_text(option, value, &path), dest, &message);
  pl_buf_free(&path);
  if (rc == PL_ERANGE) {
    type_error(errors, what, option, node, "out of range");
  } else if (rc < 0) {
    type_error(errors, what, option, node, message);
  }
  free(message);
  return rc;
}

static const pl_cfg_node_t *find_setting(const pl_cfg_node_t *block,
                                         const char *name) {
  for (size_t i = 0; block && i < block->count; i++)
    if (strcmp(block->children[i]->key, name) == 0)
      return block->children[i];
  return NULL;
}

static bool known(const pl_opt_table_t *tables, size_t count,
                  const char *name) {
  for (size_t t = 0; t < count; t++)
    for (size_t i = 0; i < tables[t].count; i++)
      if (strcmp(tables[t].options[i].name, name) == 0)
        return true;
  return false;
}

int pl__options_apply(const pl_opt_table_t *tables, size_t count,
                      const pl_cfg_node_t *block, const char *what,
                      pl_buf_t *errors) {
  int result = 0;
  for (size_t i = 0; block && i < block->count; i++) {
    const pl_cfg_node_t *node = block->children[i];
    const pl_cfg_node_t *first = find_setting(block, node->key);
    if (first != node) {
      /* The parser refuses repeated settings; repeated blocks reach here. */
      pl_buf_printf(errors,
                    "%s:%d:%d: %s: option '%s' is given twice (first at "
                    "line %d)\n",
                    node->loc.file, node->loc.line, node->loc.col, what,
                    node->key, first->loc.line);
      result = PL_EINVAL;
      continue;
    }
    if (known(tables, count, node->key))
      continue;
    const char *closest = pl__options_closest(tables, count, node->key);
    pl_buf_printf(errors, "%s:%d:%d: %s: unknown option '%s'", node->loc.file,
                  node->loc.line, node->loc.col, what, node->key);
    if (closest)
      pl_buf_printf(errors, " (did you mean '%s'?)", closest);
    pl_buf_append_str(errors, "\n");
    result = PL_EINVAL;
  }
  for (size_t t = 0; t < count; t++) {
    for (size_t i = 0; i < tables[t].count; i++) {
      const pl_option_t *option = &tables[t].options[i];
      const pl_cfg_node_t *node = find_setting(block, option->name);
      int rc = 0;
      const void *value = field(tables[t].dest, option);
      if (node) {
        rc = store_node(option, node, tables[t].dest, what, errors);
        if (rc == 0 && !pl__option_limits_hold(option, value)) {
          limit_error(errors, what, option, node, value);
          rc = PL_EINVAL;
        }
      } else if (option->default_value) {
        char *message = NULL;
        rc = store_text(option, option->default_value, tables[t].dest,
                        &message);
        if (rc < 0) {
          pl_buf_printf(errors, "%s: option '%s': bad default '%s'%s%s\n",
                        what, option->name, option->default_value,
                        message ? ": " : "", message ? message : "");
        } else if (!pl__option_limits_hold(option, value)) {
          /* A table's own defaults are checked when it is loaded; this is
           * a sink's default of a stage option (pl_stage_defaults_t). */
          pl_buf_printf(errors, "%s: option '%s': bad default '%s': not ",
                        what, option->name, option->default_value);
          pl__option_limits_expected(option, errors);
          pl_buf_append_str(errors, "\n");
          rc = PL_EINVAL;
        }
        free(message);
      } else if (option->flags & PL_OPT_REQUIRED) {
        const pl_cfg_loc_t *loc = block ? &block->loc : NULL;
        if (loc)
          pl_buf_printf(errors, "%s:%d:%d: ", loc->file, loc->line, loc->col);
        pl_buf_printf(errors, "%s: missing required option '%s' (%s: %s)\n",
                      what, option->name, pl_opt_type_name(option->type),
                      option->description);
        rc = PL_EINVAL;
      }
      if (rc < 0)
        result = PL_EINVAL;
    }
  }
  return result;
}

void pl__options_free(const pl_option_t *options, size_t count, void *dest) {
  if (!dest)
    return;
  for (size_t i = 0; i < count; i++)
    free_value(&options[i], dest);
}

int pl__option_check_default(const pl_option_t *option, char **error) {
  if (pl__option_limits_valid(option, error) < 0)
    return PL_EINVAL;
  if (!option->default_value)
    return 0;
  if (option->type == PL_OPT_LIST || option->type == PL_OPT_MAP) {
    *error = strdup("list and map options cannot have a default");
    return PL_EINVAL;
  }
  /* Parse into a scratch struct big enough for any option type. */
  union {
    char *s;
    int64_t i;
    double d;
    uint64_t u;
    bool b;
    int e;
    pl_template_t *t;
  } scratch = {0};
  pl_option_t probe = *option;
  probe.offset = 0;
  char *message = NULL;
  int rc = store_text(&probe, option->default_value, &scratch, &message);
  bool out_of_range = rc == 0 && !pl__option_limits_hold(&probe, &scratch);
  free_value(&probe, &scratch);
  if (out_of_range) {
    pl_buf_t buf = {0};
    pl_buf_printf(&buf, "option '%s': default '%s' is not ", option->name,
                  option->default_value);
    pl__option_limits_expected(option, &buf);
    *error = buf.data;
    rc = PL_EINVAL;
  } else if (rc < 0) {
    pl_buf_t buf = {0};
    pl_buf_printf(&buf, "option '%s': default '%s' is not %s",
                  option->name, option->default_value,
                  expected_text(option->type));
    for (size_t i = 0; option->type == PL_OPT_ENUM && option->choices &&
                       option->choices[i];
         i++)
      pl_buf_printf(&buf, "%s %s", i ? "," : "", option->choices[i]);
    if (message)
      pl_buf_printf(&buf, ": %s", message);
    *error = buf.data;
  }
  free(message);
  return rc;
}
