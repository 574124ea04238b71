/* Conditional updates in batches (see ddb_statement.h). */
#include <string.h>

#include <pipelined/json.h>

#include "ddb_statement.h"
#include "ddb_update.h"

/* Letters, digits, '_' and '-' only: such a name needs nothing but the
 * double quotes around it. */
static bool plain_name(const char *name) {
  if (!name || !*name)
    return false;
  for (const char *p = name; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* Appends `before`, then "<name>" quoted, then `after`. */
static int put_name(pl_buf_t *sql, const char *before, const char *name,
                    const char *after) {
  int rc = pl_buf_append_str(sql, before);
  if (rc == 0)
    rc = pl_buf_append(sql, "\"", 1);
  if (rc == 0)
    rc = pl_buf_append_str(sql, name);
  if (rc == 0)
    rc = pl_buf_append(sql, "\"", 1);
  return rc == 0 ? pl_buf_append_str(sql, after) : rc;
}

/* Appends the version as the next parameter of those from `start`,
 * {"S":"..."}. */
static int put_version(pl_buf_t *params, size_t start,
                       const pl_buf_t *version) {
  int rc = params->len > start ? pl_buf_append(params, ",", 1) : 0;
  if (rc == 0)
    rc = pl_buf_append(params, "{\"S\":", 5);
  if (rc == 0)
    rc = pl_json_encode_string(version->data, version->len, params, NULL);
  return rc == 0 ? pl_buf_append(params, "}", 1) : rc;
}

/* The names the condition and the keys use, all plain. */
static bool plain_schema(const ddb_schema_t *schema) {
  if (!plain_name(schema->table))
    return false;
  for (size_t i = 0; i < schema->key_count; i++)
    if (!plain_name(schema->keys[i].name))
      return false;
  return (!schema->newer_than || plain_name(schema->newer_than)) &&
         (!schema->version || plain_name(schema->version));
}

/* Makes the statement of the shape's records, the same for each:
 * DDB_SHAPE_STATEMENT_MADE with `{"Statement":"...","Parameters":[` in
 * shape->statement_head, or DDB_SHAPE_STATEMENT_NONE. Returns 0 or
 * PL_ENOMEM. */
static int shape_statement(ddb_update_shape_t *shape,
                           const ddb_schema_t *schema) {
  shape->statement = DDB_SHAPE_STATEMENT_NONE;
  pl_buf_reset(&shape->statement_head);
  if (!plain_schema(schema))
    return 0;
  pl_buf_t sql = {0};
  int rc = put_name(&sql, "UPDATE ", schema->table, "");
  size_t set = 0;
  for (const char *entry = shape->names.data, *end = entry + shape->names.len;
       rc == 0 && entry < end;) {
    const char *name = entry + 1;
    if (!ddb_shape_step(&entry))
      continue;
    if (!plain_name(name)) {
      pl_buf_free(&sql);
      return 0;
    }
    rc = put_name(&sql, " SET ", name, "=?");
    set++;
  }
  if (rc == 0 && schema->version) {
    rc = put_name(&sql, " SET ", schema->version, "=?");
    set++;
  }
  if (rc == 0 && set == 0) {
    pl_buf_free(&sql);
    return 0;
  }
  for (size_t i = 0; rc == 0 && i < schema->key_count; i++)
    rc = put_name(&sql, i ? " AND " : " WHERE ", schema->keys[i].name, "=?");
  const char *newer = schema->newer_than;
  if (rc == 0 && schema->version) {
    rc = put_name(&sql, " AND (", schema->version, "<?");
    if (rc == 0)
      rc = put_name(&sql, newer ? " OR (" : " OR ", schema->version,
                    newer ? " IS MISSING AND " : " IS MISSING)");
    /* As ddb_update.c's condition: an item without the field is older. */
    if (rc == 0 && newer)
      rc = put_name(&sql, "(", newer, " IS MISSING OR ");
    if (rc == 0 && newer)
      rc = put_name(&sql, "", newer, "<=?)))");
  } else if (rc == 0 && newer) {
    rc = put_name(&sql, " AND (", newer, " IS MISSING OR ");
    if (rc == 0)
      rc = put_name(&sql, "", newer, "<=?)");
  }
  pl_buf_t *head = &shape->statement_head;
  if (rc == 0)
    rc = pl_buf_append_str(head, "{\"Statement\":");
  if (rc == 0)
    rc = pl_json_encode_string(sql.data, sql.len, head, NULL);
  if (rc == 0)
    rc = pl_buf_append_str(head, ",\"Parameters\":[");
  pl_buf_free(&sql);
  if (rc < 0) {
    shape->statement = DDB_SHAPE_STATEMENT_UNKNOWN;
    return PL_ENOMEM;
  }
  shape->statement = DDB_SHAPE_STATEMENT_MADE;
  return 0;
}

/* The parameters of `record`'s statement, in the order of its text: the
 * fields set, the version, the keys, then the condition's. */
static int put_params(const ddb_schema_t *schema,
                      const ddb_update_shape_t *shape,
                      const pl_record_t *record, const json_t *object,
                      const json_t *newest, const pl_buf_t *version,
                      pl_buf_t *params, pl_buf_t *why) {
  size_t start = params->len;
  const char *entry = shape->names.data;
  const char *name;
  json_t *value;
  int rc = 0;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (rc < 0)
      break;
    if (!ddb_shape_step(&entry))
      continue;
    if (params->len > start)
      rc = pl_buf_append(params, ",", 1);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, name, value, params, why);
  }
  if (rc == 0 && schema->version)
    rc = put_version(params, start, version);
  for (size_t i = 0; rc == 0 && i < schema->key_count; i++) {
    rc = params->len > start ? pl_buf_append(params, ",", 1) : 0;
    if (rc == 0)
      rc = ddb_key_value_text(schema, i, record, params, why);
  }
  if (rc == 0 && schema->version)
    rc = put_version(params, start, version);
  if (rc == 0 && newest) {
    rc = params->len > start ? pl_buf_append(params, ",", 1) : 0;
    if (rc == 0)
      rc = ddb_put_field_attr(schema, schema->newer_than, newest, params, why);
  }
  return rc;
}

int ddb_statement_text_shaped(const ddb_schema_t *schema,
                              ddb_update_shape_t *shape,
                              const pl_record_t *record, pl_buf_t *out,
                              pl_buf_t *why) {
  const json_t *object, *newest;
  size_t start = out->len;
  int rc =
      ddb_update_shape_prepare(schema, shape, record, &object, &newest, why);
  if (rc == 0 && shape->statement == DDB_SHAPE_STATEMENT_UNKNOWN)
    rc = shape_statement(shape, schema);
  if (rc == 0 && shape->statement == DDB_SHAPE_STATEMENT_NONE)
    return PL_ENOENT;
  /* Room for the statement and a row's usual parameters. */
  if (rc == 0)
    rc = pl_buf_reserve(out, shape->statement_head.len + 640);
  if (rc == 0)
    rc = pl_buf_append(out, shape->statement_head.data,
                       shape->statement_head.len);
  if (rc == 0)
    rc = put_params(schema, shape, record, object, newest, &shape->version, out,
                    why);
  if (rc == 0)
    rc = pl_buf_append_str(
        out, "],\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}");
  return ddb_settle(out, start, rc, why);
}

int ddb_statement_text(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *out, pl_buf_t *why) {
  ddb_update_shape_t shape = {0};
  int rc = ddb_statement_text_shaped(schema, &shape, record, out, why);
  ddb_update_shape_free(&shape);
  return rc;
}

int ddb_statements_body(const char *const *texts, const size_t *lens,
                        size_t count, pl_buf_t *out) {
  size_t start = out->len, room = 32;
  for (size_t i = 0; i < count; i++)
    room += lens[i] + 1;
  int rc = pl_buf_reserve(out, room);
  if (rc == 0)
    rc = pl_buf_append_str(out, "{\"Statements\":[");
  for (size_t i = 0; rc == 0 && i < count; i++) {
    if (i)
      rc = pl_buf_append(out, ",", 1);
    if (rc == 0)
      rc = pl_buf_append(out, texts[i], lens[i]);
  }
  if (rc == 0)
    rc = pl_buf_append(out, "]}", 2);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

/* Marks every result AGAIN, saying why once. */
static size_t all_again(size_t count, ddb_statement_result_t *results,
                        pl_buf_t *why, const char *reason) {
  for (size_t i = 0; i < count; i++)
    results[i] = DDB_STATEMENT_AGAIN;
  if (count > 0)
    pl_buf_append_str(why, reason);
  return count;
}

/* True when `item` holds `version` (the attribute) with the text `own`. */
static bool holds_own_version(const json_t *item, const char *version,
                              const char *own) {
  const json_t *stored =
      version && own ? json_object_get(json_object_get(item, version), "S")
                     : NULL;
  return stored && json_string_length(stored) == strlen(own) &&
         memcmp(json_string_value(stored), own, strlen(own)) == 0;
}

size_t ddb_statement_results(const char *text, size_t len, size_t count,
                             bool conditional, const char *version,
                             const char *const *own,
                             ddb_statement_result_t *results, pl_buf_t *why) {
  json_t *answer = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
  const json_t *responses = json_object_get(answer, "Responses");
  if (!json_is_array(responses) || json_array_size(responses) != count) {
    json_decref(answer);
    return all_again(count, results, why,
                     "the answer does not hold one response per statement");
  }
  size_t again = 0;
  for (size_t i = 0; i < count; i++) {
    const json_t *error = json_object_get(json_array_get(responses, i), "Error");
    const char *code = json_string_value(json_object_get(error, "Code"));
    if (!error) {
      results[i] = DDB_STATEMENT_WRITTEN;
    } else if (conditional && code &&
               strcmp(code, "ConditionalCheckFailed") == 0 &&
               json_is_object(json_object_get(error, "Item"))) {
      results[i] = holds_own_version(json_object_get(error, "Item"), version,
                                     own ? own[i] : NULL)
                       ? DDB_STATEMENT_WRITTEN
                       : DDB_STATEMENT_STALE;
    } else {
      results[i] = DDB_STATEMENT_AGAIN;
      if (again++ == 0) {
        const char *message =
            json_string_value(json_object_get(error, "Message"));
        pl_buf_printf(why, "%s%s%s", code ? code : "an error without a code",
                      message ? ": " : "", message ? message : "");
      }
    }
  }
  json_decref(answer);
  return again;
}
