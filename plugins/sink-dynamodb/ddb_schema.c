/* sink-dynamodb's options as a schema (see ddb_schema.h). */
#include "ddb_schema.h"

#include <stdlib.h>
#include <string.h>

/* The map has 1 or 2 entries: the table's limits (the option's own). */
static int compile_keys(ddb_compiled_t *c, const pl_map_t *map, pl_buf_t *why) {
  size_t n = map->count;
  if (n == 0 || n > 2) {
    pl_buf_printf(why, "key: %zu attributes; a table's key has 1 or 2", n);
    return PL_EINVAL;
  }
  c->keys = calloc(n, sizeof(*c->keys));
  if (!c->keys)
    return PL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    pl_template_t *tpl = NULL;
    char *error = NULL;
    int rc = pl_template_create(map->values[i], &tpl, &error);
    if (rc < 0) {
      pl_buf_printf(why, "key: '%s': %s", map->keys[i],
                    error ? error : pl_strerror(rc));
      free(error);
      return rc == PL_ENOMEM ? PL_ENOMEM : PL_EINVAL;
    }
    c->templates[i] = tpl;
    c->keys[i] = (ddb_key_attr_t){map->keys[i], tpl};
    c->schema.key_count = i + 1;
  }
  return 0;
}

static int compile_types(ddb_compiled_t *c, const pl_map_t *map,
                         pl_buf_t *why) {
  if (map->count == 0)
    return 0;
  c->types = calloc(map->count, sizeof(*c->types));
  if (!c->types)
    return PL_ENOMEM;
  for (size_t i = 0; i < map->count; i++) {
    ddb_type_t type;
    if (ddb_type_parse(map->values[i], &type) < 0 || type == DDB_TYPE_AUTO) {
      pl_buf_printf(why,
                    "types: '%s' = \"%s\" is not a DynamoDB type (S, N, "
                    "BOOL, NULL, M or L)",
                    map->keys[i], map->values[i]);
      return PL_EINVAL;
    }
    c->types[i] = (ddb_override_t){map->keys[i], type};
  }
  c->schema.type_count = map->count;
  return 0;
}

/* newer_than: one field is compared as it is stored; more entries (or
 * metadata) go through the version attribute, with the first field as the
 * fallback for items stored before it. */
static int compile_order(ddb_compiled_t *c, const ddb_schema_options_t *opts,
                         pl_buf_t *why) {
  const pl_list_t *list = opts->newer_than;
  if (list->count == 0)
    return 0;
  c->order = calloc(list->count, sizeof(*c->order));
  if (!c->order)
    return PL_ENOMEM;
  for (size_t i = 0; i < list->count; i++)
    if (ddb_order_parse(list->items[i], &c->order[i]) < 0) {
      pl_buf_printf(why,
                    "newer_than: '%s' names no field nor metadata "
                    "(@origin_time, @line, @name)",
                    list->items[i]);
      return PL_EINVAL;
    }
  bool first_field = c->order[0].kind == DDB_ORDER_FIELD;
  if (first_field)
    c->schema.newer_than = c->order[0].name;
  if (list->count > 1 || !first_field) {
    c->schema.order = c->order;
    c->schema.order_count = list->count;
    c->schema.version = opts->version_attribute;
  }
  for (size_t i = 0; i < c->schema.key_count; i++) {
    const char *key = c->keys[i].name;
    if (c->schema.newer_than && strcmp(key, c->schema.newer_than) == 0) {
      pl_buf_printf(why, "option 'newer_than' names the key attribute '%s'",
                    key);
      return PL_EINVAL;
    }
    if (c->schema.version && strcmp(key, c->schema.version) == 0) {
      pl_buf_printf(
          why, "option 'version_attribute' names the key attribute '%s'", key);
      return PL_EINVAL;
    }
  }
  return 0;
}

int ddb_schema_compile(const ddb_schema_options_t *opts, ddb_compiled_t *out,
                       pl_buf_t *why) {
  *out = (ddb_compiled_t){0};
  int rc = compile_keys(out, opts->key, why);
  if (rc == 0)
    rc = compile_types(out, opts->types, why);
  if (rc == 0)
    rc = compile_order(out, opts, why);
  if (rc < 0) {
    if (rc == PL_ENOMEM && why->len == 0)
      pl_buf_append_str(why, "out of memory");
    ddb_schema_close(out);
    return rc;
  }
  out->schema.table = opts->table;
  out->schema.keys = out->keys;
  out->schema.types = out->types;
  return 0;
}

void ddb_schema_close(ddb_compiled_t *compiled) {
  for (size_t i = 0; i < 2; i++)
    pl_template_destroy(compiled->templates[i]);
  free(compiled->keys);
  free(compiled->types);
  free(compiled->order);
  *compiled = (ddb_compiled_t){0};
}
