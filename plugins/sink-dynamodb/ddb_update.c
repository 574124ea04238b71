/* Records as DynamoDB UpdateItem requests (see ddb_update.h). */
#include <string.h>

#include <pipelined/json.h>

#include "ddb_update.h"

/* Appends `"#a<n>":` or `":a<n>":` to `out`. */
static int put_placeholder(pl_buf_t *out, bool first, char sigil, size_t n) {
  int rc = pl_buf_append(out, first ? "\"" : ",\"", first ? 1 : 2);
  char head[2] = {sigil, 'a'};
  if (rc == 0)
    rc = pl_buf_append(out, head, 2);
  if (rc == 0)
    rc = pl_buf_append_int(out, (long long)n);
  return rc == 0 ? pl_buf_append(out, "\":", 2) : rc;
}

static int put_string_member(pl_buf_t *out, const char *member,
                             const char *text) {
  int rc = pl_buf_append_str(out, member);
  return rc == 0 ? pl_json_encode_string(text, strlen(text), out, NULL) : rc;
}

int ddb_update_prepare(const ddb_schema_t *schema, const pl_record_t *record,
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

int ddb_update_text(const ddb_schema_t *schema, const pl_record_t *record,
                    const char *key_text, pl_buf_t *out, pl_buf_t *why) {
  const json_t *object, *newest;
  pl_buf_t version = {0};
  if (pl_buf_reserve(&version, 128) < 0)
    return PL_ENOMEM;
  if (ddb_update_prepare(schema, record, &object, &newest, &version, why) <
      0) {
    pl_buf_free(&version);
    return PL_EINVAL;
  }
  /* The expression, the names and the values, written side by side. Room
   * for a row of a few fields at once, rather than growing each buffer
   * from 64 bytes a doubling at a time. */
  pl_buf_t expr = {0}, names = {0}, values = {0};
  size_t start = out->len, n = 0;
  const char *name;
  json_t *value;
  int rc = pl_buf_reserve(&expr, 128);
  if (rc == 0)
    rc = pl_buf_reserve(&names, 256);
  if (rc == 0)
    rc = pl_buf_reserve(&values, 512);
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (rc < 0)
      break;
    if (ddb_is_key(schema, name))
      continue;
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
    if (rc == 0)
      rc = put_placeholder(&values, n == 0, ':', n);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, name, value, &values, why);
    if (rc < 0)
      break;
    n++;
  }
  if (rc == 0 && schema->version) {
    rc = pl_buf_append_str(&expr, n ? ", #ver = :ver" : "SET #ver = :ver");
    if (rc == 0)
      rc = put_string_member(
          &names, names.len ? ",\"#ver\":" : "\"#ver\":", schema->version);
    if (rc == 0)
      rc = put_string_member(
          &values,
          values.len ? ",\":ver\":{\"S\":" : "\":ver\":{\"S\":", version.data);
    if (rc == 0)
      rc = pl_buf_append(&values, "}", 1);
  }
  if (rc == 0 && newest) {
    rc = pl_buf_append_str(&values, values.len ? ",\":nt\":" : "\":nt\":");
    if (rc == 0)
      rc = ddb_put_field_attr(schema, schema->newer_than, newest, &values, why);
    if (rc == 0)
      rc = put_string_member(
          &names, names.len ? ",\"#nt\":" : "\"#nt\":", schema->newer_than);
  }
  const char *condition = NULL;
  if (rc == 0 && (newest || schema->version)) {
    condition = !schema->version ? "attribute_not_exists(#k0) OR #nt <= :nt"
                : newest ? "attribute_not_exists(#k0) OR #ver < :ver OR "
                           "(attribute_not_exists(#ver) AND #nt <= :nt)"
                         : "attribute_not_exists(#k0) OR #ver < :ver OR "
                           "attribute_not_exists(#ver)";
    rc = put_string_member(
        &names, names.len ? ",\"#k0\":" : "\"#k0\":", schema->keys[0].name);
  }
  /* The request is about the three parts and the key, with room for the
   * constant texts around them. */
  if (rc == 0)
    rc = pl_buf_reserve(out, expr.len + names.len + values.len +
                                 strlen(key_text) + 384);
  if (rc == 0)
    rc = put_string_member(out, "{\"TableName\":", schema->table);
  if (rc == 0)
    rc = pl_buf_append_str(out, ",\"Key\":");
  if (rc == 0)
    rc = pl_buf_append_str(out, key_text);
  if (rc == 0 && expr.len)
    rc = put_string_member(out, ",\"UpdateExpression\":", expr.data);
  if (rc == 0 && condition)
    rc = put_string_member(out, ",\"ConditionExpression\":", condition);
  if (rc == 0 && names.len) {
    rc = pl_buf_append_str(out, ",\"ExpressionAttributeNames\":{");
    if (rc == 0)
      rc = pl_buf_append(out, names.data, names.len);
    if (rc == 0)
      rc = pl_buf_append(out, "}", 1);
  }
  if (rc == 0 && values.len) {
    rc = pl_buf_append_str(out, ",\"ExpressionAttributeValues\":{");
    if (rc == 0)
      rc = pl_buf_append(out, values.data, values.len);
    if (rc == 0)
      rc = pl_buf_append(out, "}", 1);
  }
  if (rc == 0)
    rc = pl_buf_append(out, "}", 1);
  pl_buf_free(&expr);
  pl_buf_free(&names);
  pl_buf_free(&values);
  pl_buf_free(&version);
  return ddb_settle(out, start, rc, why);
}

json_t *ddb_update_encode(const ddb_schema_t *schema, const pl_record_t *record,
                          pl_buf_t *why) {
  return ddb_read_back(schema, record, why, ddb_update_text);
}
