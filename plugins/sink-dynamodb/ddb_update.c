/* Records as DynamoDB UpdateItem requests (see ddb_update.h). */
#include <string.h>

#include <pipelined/json.h>

#include "ddb_update.h"

/* Appends `"#a<n>":` or `":a<n>":` (a comma first unless `first`) to
 * `out`, in one append. */
static int put_placeholder(pl_buf_t *out, bool first, char sigil, size_t n) {
  char digits[24];
  size_t d = 0;
  do {
    digits[d++] = (char)('0' + n % 10);
    n /= 10;
  } while (n > 0);
  char text[32] = {',', '"', sigil, 'a'};
  size_t len = 4;
  while (d > 0)
    text[len++] = digits[--d];
  text[len++] = '"';
  text[len++] = ':';
  return first ? pl_buf_append(out, text + 1, len - 1)
               : pl_buf_append(out, text, len);
}

static int put_string_member(pl_buf_t *out, const char *member,
                             const char *text) {
  int rc = pl_buf_append_str(out, member);
  return rc == 0 ? pl_json_encode_string(text, strlen(text), out, NULL) : rc;
}

/* The checks of ddb_update_shape_prepare(), and the version. */
static int prepare(const ddb_schema_t *schema, const pl_record_t *record,
                   const json_t **object, const json_t **newest,
                   pl_buf_t *version, pl_buf_t *why) {
  *newest = NULL;
  if (!(*object = ddb_record_object(record, why)))
    return PL_EINVAL;
  if (schema->newer_than) {
    *newest = json_object_get(*object, schema->newer_than);
    if (!*newest || json_is_null(*newest)) {
      pl_buf_printf(why, "field '%s' (newer_than) is missing (or null)",
                    schema->newer_than);
      return PL_EINVAL;
    }
    if (ddb_is_key(schema, schema->newer_than)) {
      pl_buf_printf(why, "field '%s' (newer_than) is a key attribute",
                    schema->newer_than);
      return PL_EINVAL;
    }
  }
  if (schema->version) {
    if (json_object_get(*object, schema->version)) {
      pl_buf_printf(why,
                    "field '%s' has the name of the version attribute; "
                    "choose another version_attribute",
                    schema->version);
      return PL_EINVAL;
    }
    if (ddb_version_encode(schema->order, schema->order_count, record, version,
                           why) < 0) {
      if (why->len == 0)
        pl_buf_append_str(why, "out of memory");
      return PL_EINVAL;
    }
  }
  return 0;
}

/* ---- The shape: what the updates of records with the same fields share
 * ---- */

void ddb_update_shape_free(ddb_update_shape_t *shape) {
  pl_buf_free(&shape->names);
  pl_buf_free(&shape->lead);
  pl_buf_free(&shape->head);
  pl_buf_free(&shape->version);
  pl_buf_free(&shape->statement_head);
  *shape = (ddb_update_shape_t){0};
}

/* Whether `object`'s fields are the shape's, by name and in order. */
static bool shape_fits(const ddb_update_shape_t *shape, json_t *object) {
  if (!shape->valid || json_object_size(object) != shape->count)
    return false;
  const char *entry = shape->names.data;
  const char *name;
  json_t *value;
  json_object_foreach(object, name, value) {
    if (strcmp(entry + 1, name) != 0)
      return false;
    entry += strlen(entry) + 1;
  }
  return true;
}

/* Makes `shape` that of `object`'s fields: their names, each after 'k'
 * for a key attribute or 'f' for a field the update sets, then the texts
 * around the Key and the values, which depend on nothing else. Returns 0,
 * or PL_ENOMEM or PL_EINVAL (a name JSON cannot hold) with `shape` left
 * invalid. */
static int shape_build(ddb_update_shape_t *shape, const ddb_schema_t *schema,
                       json_t *object) {
  shape->valid = false;
  shape->count = 0;
  shape->fields = 0;
  shape->statement = DDB_SHAPE_STATEMENT_UNKNOWN;
  pl_buf_reset(&shape->names);
  pl_buf_reset(&shape->lead);
  pl_buf_reset(&shape->head);
  pl_buf_t expr = {0}, names = {0};
  int rc = put_string_member(&shape->lead, "{\"TableName\":", schema->table);
  if (rc == 0)
    rc = pl_buf_append_str(&shape->lead, ",\"Key\":");
  const char *name;
  json_t *value;
  json_object_foreach(object, name, value) {
    if (rc < 0)
      break;
    bool key = ddb_is_key(schema, name);
    rc = pl_buf_append(&shape->names, key ? "k" : "f", 1);
    if (rc == 0)
      rc = pl_buf_append(&shape->names, name, strlen(name) + 1);
    shape->count++;
    if (rc < 0 || key)
      continue;
    size_t n = shape->fields++;
    rc = pl_buf_append_str(&expr, n ? ", #a" : "SET #a");
    if (rc == 0)
      rc = pl_buf_append_int(&expr, (long long)n);
    if (rc == 0)
      rc = pl_buf_append(&expr, " = :a", 5);
    if (rc == 0)
      rc = pl_buf_append_int(&expr, (long long)n);
    if (rc == 0)
      rc = put_placeholder(&names, n == 0, '#', n);
    if (rc == 0)
      rc = pl_json_encode_string(name, strlen(name), &names, NULL);
  }
  if (rc == 0 && schema->version) {
    rc = pl_buf_append_str(&expr,
                           shape->fields ? ", #ver = :ver" : "SET #ver = :ver");
    if (rc == 0)
      rc = put_string_member(
          &names, names.len ? ",\"#ver\":" : "\"#ver\":", schema->version);
  }
  if (rc == 0 && schema->newer_than)
    rc = put_string_member(
        &names, names.len ? ",\"#nt\":" : "\"#nt\":", schema->newer_than);
  const char *condition = NULL;
  if (rc == 0 && (schema->newer_than || schema->version)) {
    /* An item without the field is older than any record that has it:
     * a comparison with a missing attribute is false, which would keep
     * such an item (made by another writer) from ever being updated. */
    condition = !schema->version
                    ? "attribute_not_exists(#k0) OR attribute_not_exists(#nt) "
                      "OR #nt <= :nt"
                : schema->newer_than
                    ? "attribute_not_exists(#k0) OR #ver < :ver OR "
                      "(attribute_not_exists(#ver) AND "
                      "(attribute_not_exists(#nt) OR #nt <= :nt))"
                    : "attribute_not_exists(#k0) OR #ver < :ver OR "
                      "attribute_not_exists(#ver)";
    rc = put_string_member(
        &names, names.len ? ",\"#k0\":" : "\"#k0\":", schema->keys[0].name);
  }
  if (rc == 0 && expr.len)
    rc = put_string_member(&shape->head, ",\"UpdateExpression\":", expr.data);
  if (rc == 0 && condition)
    rc =
        put_string_member(&shape->head, ",\"ConditionExpression\":", condition);
  /* A failed condition's answer holds the stored item: one that holds the
   * record's own version is its own write, met by a retry whose first
   * answer was lost (ddb_condition_met_own_write). */
  if (rc == 0 && condition)
    rc = pl_buf_append_str(&shape->head,
                           ",\"ReturnValuesOnConditionCheckFailure\":"
                           "\"ALL_OLD\"");
  if (rc == 0 && names.len) {
    rc = pl_buf_append_str(&shape->head, ",\"ExpressionAttributeNames\":{");
    if (rc == 0)
      rc = pl_buf_append(&shape->head, names.data, names.len);
    if (rc == 0)
      rc = pl_buf_append(&shape->head, "}", 1);
  }
  /* Values: one for each field set, the version's and newer_than's. */
  shape->has_values =
      shape->fields > 0 || schema->version || schema->newer_than;
  if (rc == 0 && shape->has_values)
    rc = pl_buf_append_str(&shape->head, ",\"ExpressionAttributeValues\":{");
  pl_buf_free(&expr);
  pl_buf_free(&names);
  shape->valid = rc == 0;
  return rc;
}

int ddb_update_shape_prepare(const ddb_schema_t *schema,
                             ddb_update_shape_t *shape,
                             const pl_record_t *record, const json_t **object,
                             const json_t **newest, pl_buf_t *why) {
  pl_buf_reset(&shape->version);
  if (pl_buf_reserve(&shape->version, 128) < 0)
    return PL_ENOMEM;
  if (prepare(schema, record, object, newest, &shape->version, why) < 0)
    return PL_EINVAL;
  /* jansson iterates only non-const objects; this one is only read. */
  json_t *fields = (json_t *)*object;
  return shape_fits(shape, fields) ? 0 : shape_build(shape, schema, fields);
}

/* ---- The request ---- */

int ddb_update_text_shaped(const ddb_schema_t *schema,
                           ddb_update_shape_t *shape, const pl_record_t *record,
                           const char *key_text, pl_buf_t *out, pl_buf_t *why) {
  const json_t *object, *newest;
  size_t start = out->len;
  int rc =
      ddb_update_shape_prepare(schema, shape, record, &object, &newest, why);
  if (rc < 0)
    return ddb_settle(out, start, rc, why);
  /* jansson iterates only non-const objects; this one is only read. */
  json_t *fields = (json_t *)object;
  /* Room for the texts of the shape and the key, and a row's usual
   * values. */
  rc = pl_buf_reserve(out, shape->lead.len + strlen(key_text) +
                               shape->head.len + 512);
  if (rc == 0)
    rc = pl_buf_append(out, shape->lead.data, shape->lead.len);
  if (rc == 0)
    rc = pl_buf_append_str(out, key_text);
  if (rc == 0)
    rc = pl_buf_append(out, shape->head.data, shape->head.len);
  /* The values, in the order of the shape's names. */
  const char *entry = shape->names.data;
  size_t n = 0;
  const char *name;
  json_t *value;
  json_object_foreach(fields, name, value) {
    if (rc < 0)
      break;
    if (!ddb_shape_step(&entry))
      continue;
    rc = put_placeholder(out, n == 0, ':', n);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, name, value, out, why);
    n++;
  }
  if (rc == 0 && schema->version) {
    rc = put_string_member(
        out, n ? ",\":ver\":{\"S\":" : "\":ver\":{\"S\":", shape->version.data);
    if (rc == 0)
      rc = pl_buf_append(out, "}", 1);
  }
  if (rc == 0 && newest) {
    rc =
        pl_buf_append_str(out, n || schema->version ? ",\":nt\":" : "\":nt\":");
    if (rc == 0)
      rc = ddb_put_field_attr(schema, schema->newer_than, newest, out, why);
  }
  if (rc == 0)
    rc = pl_buf_append(out, shape->has_values ? "}}" : "}",
                       shape->has_values ? 2 : 1);
  return ddb_settle(out, start, rc, why);
}

int ddb_update_text(const ddb_schema_t *schema, const pl_record_t *record,
                    const char *key_text, pl_buf_t *out, pl_buf_t *why) {
  ddb_update_shape_t shape = {0};
  int rc = ddb_update_text_shaped(schema, &shape, record, key_text, out, why);
  ddb_update_shape_free(&shape);
  return rc;
}

json_t *ddb_update_encode(const ddb_schema_t *schema, const pl_record_t *record,
                          pl_buf_t *why) {
  return ddb_read_back(schema, record, why, ddb_update_text);
}
