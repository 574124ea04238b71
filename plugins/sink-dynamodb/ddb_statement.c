/* Conditional updates in batches (see ddb_statement.h). */
#include <string.h>

#include <pipelined/json.h>

#include "ddb_statement.h"
#include "ddb_update.h"

/* write_statement's answer for a record without a statement (errors are
 * negative). */
enum { NO_STATEMENT = 1 };

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

/* Starts the next parameter: a comma after the first. */
static int next_param(pl_buf_t *params) {
  return params->len ? pl_buf_append(params, ",", 1) : 0;
}

/* Appends the version as the next parameter, {"S":"..."}. */
static int put_version(pl_buf_t *params, const pl_buf_t *version) {
  int rc = next_param(params);
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

/* The statement's text in `sql` and its parameters in `params`: 0,
 * NO_STATEMENT, or an error. */
static int write_statement(const ddb_schema_t *schema,
                           const pl_record_t *record, const json_t *object,
                           const json_t *newest, const pl_buf_t *version,
                           pl_buf_t *sql, pl_buf_t *params, pl_buf_t *why) {
  if (!plain_schema(schema))
    return NO_STATEMENT;
  int rc = put_name(sql, "UPDATE ", schema->table, "");
  size_t set = 0;
  const char *name;
  json_t *value;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (rc < 0)
      break;
    if (ddb_is_key(schema, name))
      continue;
    if (!plain_name(name))
      return NO_STATEMENT;
    rc = put_name(sql, " SET ", name, "=?");
    if (rc == 0)
      rc = next_param(params);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, name, value, params, why);
    set++;
  }
  if (rc == 0 && schema->version) {
    rc = put_name(sql, " SET ", schema->version, "=?");
    if (rc == 0)
      rc = put_version(params, version);
    set++;
  }
  if (rc == 0 && set == 0)
    return NO_STATEMENT;
  for (size_t i = 0; rc == 0 && i < schema->key_count; i++) {
    rc = put_name(sql, i ? " AND " : " WHERE ", schema->keys[i].name, "=?");
    if (rc == 0)
      rc = next_param(params);
    if (rc == 0)
      rc = ddb_key_value_text(schema, i, record, params, why);
  }
  if (rc == 0 && schema->version) {
    rc = put_name(sql, " AND (", schema->version, "<?");
    if (rc == 0)
      rc = put_name(sql, newest ? " OR (" : " OR ", schema->version,
                    newest ? " IS MISSING AND " : " IS MISSING)");
    if (rc == 0 && newest)
      rc = put_name(sql, "", schema->newer_than, "<=?))");
    if (rc == 0)
      rc = put_version(params, version);
  } else if (rc == 0 && newest) {
    rc = put_name(sql, " AND ", schema->newer_than, "<=?");
  }
  if (rc == 0 && newest) {
    rc = next_param(params);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, schema->newer_than, newest, params, why);
  }
  return rc;
}

int ddb_statement_text(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *out, pl_buf_t *why) {
  const json_t *object, *newest;
  pl_buf_t version = {0}, sql = {0}, params = {0};
  size_t start = out->len;
  int rc = ddb_update_prepare(schema, record, &object, &newest, &version, why);
  if (rc == 0)
    rc = pl_buf_reserve(&sql, 256) < 0 || pl_buf_reserve(&params, 512) < 0
             ? PL_ENOMEM
             : write_statement(schema, record, object, newest, &version, &sql,
                               &params, why);
  if (rc == 0)
    rc = pl_buf_reserve(out, sql.len + params.len + 128);
  if (rc == 0)
    rc = pl_buf_append_str(out, "{\"Statement\":");
  if (rc == 0)
    rc = pl_json_encode_string(sql.data, sql.len, out, NULL);
  if (rc == 0)
    rc = pl_buf_append_str(out, ",\"Parameters\":[");
  if (rc == 0)
    rc = pl_buf_append(out, params.data, params.len);
  if (rc == 0)
    rc = pl_buf_append_str(
        out, "],\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}");
  pl_buf_free(&version);
  pl_buf_free(&sql);
  pl_buf_free(&params);
  if (rc == NO_STATEMENT) {
    pl_buf_truncate(out, start);
    return PL_ENOENT;
  }
  return ddb_settle(out, start, rc, why);
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

size_t ddb_statement_results(const char *text, size_t len, size_t count,
                             bool conditional,
                             ddb_statement_result_t *results, pl_buf_t *why) {
  json_t *answer = json_loadb(text, len, 0, NULL);
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
      results[i] = DDB_STATEMENT_STALE;
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
