/* sink-dynamodb's live checks: the table exists, is reachable with the
 * stage's credentials, and has the key the sink writes. */
#include <pipelined/aws_preflight.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_preflight.h"

/* The type of attribute `name` in the table's AttributeDefinitions, or
 * "?" when it is not there. */
static const char *attribute_type(const json_t *table, const char *name) {
  size_t i;
  json_t *def;
  json_array_foreach(json_object_get(table, "AttributeDefinitions"), i, def) {
    const char *n = json_string_value(json_object_get(def, "AttributeName"));
    if (n && strcmp(n, name) == 0) {
      const char *type =
          json_string_value(json_object_get(def, "AttributeType"));
      return type ? type : "?";
    }
  }
  return "?";
}

static bool sink_has_key(char *const *keys, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(keys[i], name) == 0)
      return true;
  return false;
}

pl_check_t ddb_key_schema_check(const json_t *table, const char *name,
                                char *const *keys, size_t key_count,
                                pl_buf_t *text) {
  const json_t *schema = json_object_get(table, "KeySchema");
  pl_buf_t described = {0};
  bool same = json_array_size(schema) == key_count;
  const char *not_s = NULL; /* a key attribute of another type than S */
  size_t i;
  json_t *element;
  json_array_foreach(schema, i, element) {
    const char *attr =
        json_string_value(json_object_get(element, "AttributeName"));
    const char *role = json_string_value(json_object_get(element, "KeyType"));
    if (!attr)
      attr = "?";
    const char *type = attribute_type(table, attr);
    pl_buf_printf(&described, "%s%s (%s, %s)", i ? ", " : "", attr,
                  role ? role : "?", type);
    if (!sink_has_key(keys, key_count, attr))
      same = false;
    else if (strcmp(type, "S") != 0 && !not_s)
      not_s = attr;
  }
  const char *status = json_string_value(json_object_get(table, "TableStatus"));
  const char *keys_text = described.data ? described.data : "none";
  pl_check_t level = PL_CHECK_OK;
  if (!same) {
    pl_buf_printf(text, "table %s: its key is %s, but the sink's key is ",
                  name, keys_text);
    for (size_t k = 0; k < key_count; k++)
      pl_buf_printf(text, "%s%s", k ? ", " : "", keys[k]);
    pl_buf_append_str(text, ": DynamoDB would refuse every write");
    level = PL_CHECK_FAIL;
  } else if (not_s) {
    pl_buf_printf(text,
                  "table %s: key attribute %s is of type %s, but the sink "
                  "writes its key as text (S): DynamoDB would refuse every "
                  "write",
                  name, not_s, attribute_type(table, not_s));
    level = PL_CHECK_FAIL;
  } else if (status && strcmp(status, "ACTIVE") != 0) {
    pl_buf_printf(text,
                  "table %s is %s, not ACTIVE: writes fail until it is "
                  "(keys %s)",
                  name, status, keys_text);
    level = PL_CHECK_WARN;
  } else {
    pl_buf_printf(text, "table %s (keys %s)", name, keys_text);
  }
  pl_buf_free(&described);
  return level;
}

typedef struct ddb_check {
  ddb_preflight_params_t params;
  char *what; /* "table NAME" */
} ddb_check_t;

static void on_table(void *data, pl_preflight_t *check, json_t *result,
                     const pl_aws_error_t *error) {
  ddb_check_t *c = data;
  if (error) {
    pl_aws_preflight_fail(check, c->what, error);
  } else {
    pl_buf_t text = {0};
    pl_check_t level = ddb_key_schema_check(
        json_object_get(result, "Table"), c->params.table, c->params.keys,
        c->params.key_count, &text);
    pl_preflight_report(check, level, "%s", text.data ? text.data : c->what);
    pl_buf_free(&text);
  }
  free(c->what);
  free(c);
}

int ddb_preflight_start(pl_preflight_t *check,
                        const ddb_preflight_params_t *params) {
  pl_aws_preflight_t *p = NULL;
  ddb_check_t *c = calloc(1, sizeof(*c));
  json_t *body = json_pack("{s:s}", "TableName", params->table);
  pl_buf_t what = {0};
  int rc = c && body ? pl_buf_printf(&what, "table %s", params->table)
                     : PL_ENOMEM;
  if (rc == 0)
    rc = pl_aws_preflight_create(check, &p);
  if (rc < 0) {
    free(c);
    json_decref(body);
    pl_buf_free(&what);
    return PL_ENOMEM;
  }
  c->params = *params;
  c->what = what.data;
  pl_aws_client_t *client = pl_aws_preflight_client(
      p, &(pl_aws_client_options_t){.service = "dynamodb",
                                    .endpoint = params->endpoint,
                                    .region = params->region});
  if (client) {
    pl_aws_preflight_json(p, client, "DynamoDB_20120810.DescribeTable", body,
                          on_table, c);
  } else {
    free(c->what);
    free(c);
  }
  json_decref(body);
  pl_aws_preflight_finish(p);
  return 0;
}
