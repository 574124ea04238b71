/* Records as DynamoDB items (see ddb_item.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/json.h>

#include "ddb_item.h"

static const char *const ddb_type_names[] = {
#define DDB__TYPE_NAME(name, text) text,
    DDB_TYPE_MAP(DDB__TYPE_NAME)
#undef DDB__TYPE_NAME
};

int ddb_type_parse(const char *name, ddb_type_t *out) {
  for (size_t i = 0; i < sizeof(ddb_type_names) / sizeof(*ddb_type_names);
       i++)
    if (strcmp(name, ddb_type_names[i]) == 0) {
      *out = (ddb_type_t)i;
      return 0;
    }
  return PL_EINVAL;
}

const char *ddb_type_name(ddb_type_t type) {
  return (size_t)type < sizeof(ddb_type_names) / sizeof(*ddb_type_names)
             ? ddb_type_names[type]
             : "?";
}

int ddb_number_text(const json_t *value, pl_buf_t *out) {
  if (json_is_integer(value))
    return pl_buf_printf(out, "%lld", (long long)json_integer_value(value));
  if (!json_is_real(value))
    return PL_EINVAL;
  double d = json_real_value(value);
  char text[64];
  /* The shortest text that reads back as the same double: %.17g always
   * does, but prints 0.1 as 0.10000000000000001. */
  for (int precision = 15; precision <= 17; precision++) {
    snprintf(text, sizeof(text), "%.*g", precision, d);
    if (strtod(text, NULL) == d)
      break;
  }
  return pl_buf_append_str(out, text);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool ddb_number_valid(const char *p) {
  if (*p == '-')
    p++;
  size_t digits = 0;
  for (; is_digit(*p); p++)
    digits++;
  if (*p == '.') {
    p++;
    for (; is_digit(*p); p++)
      digits++;
  }
  if (digits == 0)
    return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!is_digit(*p))
      return false;
    while (is_digit(*p))
      p++;
  }
  return *p == '\0';
}

static json_t *typed(const char *type, json_t *value) {
  if (!value)
    return NULL;
  json_t *attr = json_object();
  if (attr && json_object_set_new(attr, type, value) == 0)
    return attr;
  json_decref(attr);
  return NULL;
}

static json_t *number_attr(const json_t *value) {
  pl_buf_t text = {0};
  json_t *attr = NULL;
  if (ddb_number_text(value, &text) == 0 && text.data)
    attr = typed("N", json_string(text.data));
  pl_buf_free(&text);
  return attr;
}

static json_t *encode_auto(const json_t *value, pl_buf_t *why);

static json_t *encode_map(const json_t *object, pl_buf_t *why) {
  json_t *map = json_object();
  const char *name;
  json_t *member;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, member) {
    json_t *attr = encode_auto(member, why);
    if (!attr || json_object_set_new(map, name, attr) < 0) {
      json_decref(map);
      return NULL;
    }
  }
  return typed("M", map);
}

static json_t *encode_list(const json_t *array, pl_buf_t *why) {
  json_t *list = json_array();
  size_t i;
  json_t *member;
  json_array_foreach(array, i, member) {
    json_t *attr = encode_auto(member, why);
    if (!attr || json_array_append_new(list, attr) < 0) {
      json_decref(list);
      return NULL;
    }
  }
  return typed("L", list);
}

static json_t *encode_auto(const json_t *value, pl_buf_t *why) {
  switch (json_typeof(value)) {
  case JSON_STRING:
    return typed("S", json_stringn(json_string_value(value),
                                   json_string_length(value)));
  case JSON_INTEGER:
  case JSON_REAL:
    return number_attr(value);
  case JSON_TRUE:
  case JSON_FALSE:
    return typed("BOOL", json_boolean(json_is_true(value)));
  case JSON_NULL:
    return typed("NULL", json_true());
  case JSON_OBJECT:
    return encode_map(value, why);
  case JSON_ARRAY:
    return encode_list(value, why);
  }
  return NULL;
}

/* The compact JSON text of any value, for S of an object or an array. */
static json_t *dump_string(const json_t *value) {
  char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  json_t *s = text ? json_string(text) : NULL;
  free(text);
  return s;
}

static json_t *encode_as(const json_t *value, ddb_type_t type,
                         pl_buf_t *why) {
  if (json_is_null(value) || type == DDB_TYPE_AUTO)
    return encode_auto(value, why);
  const char *text = json_string_value(value);
  switch (type) {
  case DDB_TYPE_S:
    if (text)
      return encode_auto(value, why);
    if (json_is_number(value)) {
      pl_buf_t buf = {0};
      json_t *attr = NULL;
      if (ddb_number_text(value, &buf) == 0 && buf.data)
        attr = typed("S", json_string(buf.data));
      pl_buf_free(&buf);
      return attr;
    }
    if (json_is_boolean(value))
      return typed("S", json_string(json_is_true(value) ? "true" : "false"));
    return typed("S", dump_string(value));
  case DDB_TYPE_N:
    if (json_is_number(value))
      return number_attr(value);
    if (text && ddb_number_valid(text))
      return typed("N", json_string(text));
    if (text)
      pl_buf_printf(why, "\"%s\" is not a number", text);
    else
      pl_buf_printf(why, "%s is not a number", pl_json_type_phrase(value));
    return NULL;
  case DDB_TYPE_BOOL:
    if (json_is_boolean(value))
      return encode_auto(value, why);
    if (text && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0))
      return typed("BOOL", json_boolean(text[0] == 't'));
    if (text)
      pl_buf_printf(why, "\"%s\" is not true or false", text);
    else
      pl_buf_printf(why, "%s is not true or false", pl_json_type_phrase(value));
    return NULL;
  case DDB_TYPE_NULL:
    if (text && !*text)
      return typed("NULL", json_true());
    pl_buf_printf(why, "%s is not null or empty", pl_json_type_phrase(value));
    return NULL;
  case DDB_TYPE_M:
  case DDB_TYPE_L: {
    /* A string holding JSON (a CSV column, say) is parsed first. The
     * cast: jansson counts references only on non-const values. */
    json_t *parsed =
        text ? json_loads(text, 0, NULL) : json_incref((json_t *)value);
    bool want_object = type == DDB_TYPE_M;
    json_t *attr = NULL;
    if (parsed &&
        (want_object ? json_is_object(parsed) : json_is_array(parsed)))
      attr = encode_auto(parsed, why);
    else
      pl_buf_printf(why, "%s is not %s",
                    text ? "the text" : pl_json_type_phrase(value),
                    want_object ? "a JSON object" : "a JSON array");
    json_decref(parsed);
    return attr;
  }
  case DDB_TYPE_AUTO:
    break;
  }
  return encode_auto(value, why);
}

json_t *ddb_value_encode(const json_t *value, ddb_type_t type, pl_buf_t *why) {
  return encode_as(value, type, why);
}

static const json_t *record_object(const pl_record_t *record, pl_buf_t *why) {
  const json_t *value = pl_record_value(record);
  if (!json_is_object(value)) {
    pl_buf_append_str(why, value ? "the record is not a JSON object"
                                 : "the record holds bytes, not a JSON "
                                   "object");
    return NULL;
  }
  return value;
}

json_t *ddb_key_encode(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *why) {
  json_t *key = json_object();
  pl_buf_t text = {0};
  for (size_t i = 0; key && i < schema->key_count; i++) {
    const ddb_key_attr_t *k = &schema->keys[i];
    const char *missing = NULL;
    pl_buf_reset(&text);
    int rc = pl_template_render(k->tpl, record, &text, &missing);
    if (rc == PL_ENOENT) {
      pl_buf_printf(why, "key '%s': field '%s' is missing (or null)", k->name,
                    missing ? missing : "?");
    } else if (rc < 0) {
      pl_buf_printf(why, "key '%s': %s", k->name, pl_strerror(rc));
    } else if (text.len == 0) {
      pl_buf_printf(why,
                    "key '%s' is empty (%s); DynamoDB refuses empty keys",
                    k->name, pl_template_text(k->tpl));
      rc = PL_EINVAL;
    } else {
      json_t *attr = typed("S", json_stringn(text.data, text.len));
      if (attr && json_object_set_new(key, k->name, attr) == 0)
        continue;
      pl_buf_append_str(why, "out of memory");
      rc = PL_ENOMEM;
    }
    json_decref(key);
    key = NULL;
  }
  pl_buf_free(&text);
  return key;
}

static bool is_key(const ddb_schema_t *schema, const char *name) {
  for (size_t i = 0; i < schema->key_count; i++)
    if (strcmp(schema->keys[i].name, name) == 0)
      return true;
  return false;
}

static ddb_type_t type_of_field(const ddb_schema_t *schema, const char *name) {
  for (size_t i = 0; i < schema->type_count; i++)
    if (strcmp(schema->types[i].name, name) == 0)
      return schema->types[i].type;
  return DDB_TYPE_AUTO;
}

/* The attribute of field `name`, with the field named in the reason. */
static json_t *field_attr(const ddb_schema_t *schema, const char *name,
                          const json_t *value, pl_buf_t *why) {
  ddb_type_t type = type_of_field(schema, name);
  pl_buf_t reason = {0};
  json_t *attr = encode_as(value, type, &reason);
  if (!attr) {
    if (type != DDB_TYPE_AUTO)
      pl_buf_printf(why, "field '%s': %s (types: %s = \"%s\")", name,
                    reason.data ? reason.data : "cannot be encoded", name,
                    ddb_type_name(type));
    else
      pl_buf_printf(why, "field '%s': %s", name,
                    reason.data ? reason.data : "cannot be encoded");
  }
  pl_buf_free(&reason);
  return attr;
}

json_t *ddb_item_encode(const ddb_schema_t *schema, const pl_record_t *record,
                        pl_buf_t *why) {
  const json_t *object = record_object(record, why);
  if (!object)
    return NULL;
  json_t *item = ddb_key_encode(schema, record, why);
  if (!item)
    return NULL;
  const char *name;
  json_t *value;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (is_key(schema, name))
      continue;
    json_t *attr = field_attr(schema, name, value, why);
    if (!attr || json_object_set_new(item, name, attr) < 0) {
      json_decref(item);
      return NULL;
    }
  }
  return item;
}

/* Sets `name` = `value` in `object`, stealing value; false on failure. */
static bool set_new(json_t *object, const char *name, json_t *value) {
  return json_object_set_new(object, name, value) == 0;
}

json_t *ddb_update_encode(const ddb_schema_t *schema,
                          const pl_record_t *record, pl_buf_t *why) {
  const json_t *object = record_object(record, why);
  if (!object)
    return NULL;
  const json_t *newest = NULL;
  if (schema->newer_than) {
    newest = json_object_get(object, schema->newer_than);
    if (!newest || json_is_null(newest)) {
      pl_buf_printf(why, "field '%s' (newer_than) is missing (or null)",
                    schema->newer_than);
      return NULL;
    }
    if (is_key(schema, schema->newer_than)) {
      pl_buf_printf(why, "field '%s' (newer_than) is a key attribute",
                    schema->newer_than);
      return NULL;
    }
  }
  pl_buf_t version = {0};
  if (schema->version) {
    if (json_object_get(object, schema->version)) {
      pl_buf_printf(why,
                    "field '%s' has the name of the version attribute; "
                    "choose another version_attribute",
                    schema->version);
      return NULL;
    }
    if (ddb_version_encode(schema->order, schema->order_count, record,
                           &version, why) < 0) {
      if (why->len == 0)
        pl_buf_append_str(why, "out of memory");
      pl_buf_free(&version);
      return NULL;
    }
  }
  json_t *key = ddb_key_encode(schema, record, why);
  if (!key) {
    pl_buf_free(&version);
    return NULL;
  }
  json_t *request = json_object();
  json_t *names = json_object();
  json_t *values = json_object();
  pl_buf_t expr = {0};
  char placeholder[32];
  bool ok = request && names && values;
  if (!ok)
    json_decref(key);
  /* set_new steals its value even when it fails. */
  ok = ok && set_new(request, "Key", key) &&
       set_new(request, "TableName", json_string(schema->table));
  size_t n = 0;
  const char *name;
  json_t *value;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (!ok)
      break;
    if (is_key(schema, name))
      continue;
    json_t *attr = field_attr(schema, name, value, why);
    if (!attr) {
      ok = false;
      break;
    }
    snprintf(placeholder, sizeof(placeholder), "#a%zu", n);
    ok = set_new(names, placeholder, json_string(name));
    placeholder[0] = ':';
    if (ok)
      ok = set_new(values, placeholder, attr);
    else
      json_decref(attr);
    ok = ok && pl_buf_printf(&expr, "%s#a%zu = :a%zu", n ? ", " : "SET ", n,
                             n) == 0;
    n++;
  }
  if (ok && schema->version) {
    ok = set_new(names, "#ver", json_string(schema->version)) &&
         set_new(values, ":ver", typed("S", json_string(version.data))) &&
         pl_buf_printf(&expr, "%s#ver = :ver", n ? ", " : "SET ") == 0;
  }
  if (ok && newest)
    ok = set_new(values, ":nt",
                 field_attr(schema, schema->newer_than, newest, why)) &&
         set_new(names, "#nt", json_string(schema->newer_than));
  if (ok && (newest || schema->version)) {
    const char *condition =
        !schema->version ? "attribute_not_exists(#k0) OR #nt <= :nt"
        : newest ? "attribute_not_exists(#k0) OR #ver < :ver OR "
                   "(attribute_not_exists(#ver) AND #nt <= :nt)"
                 : "attribute_not_exists(#k0) OR #ver < :ver OR "
                   "attribute_not_exists(#ver)";
    ok = set_new(names, "#k0", json_string(schema->keys[0].name)) &&
         set_new(request, "ConditionExpression", json_string(condition));
  }
  if (ok && expr.data)
    ok = set_new(request, "UpdateExpression", json_string(expr.data));
  if (ok && json_object_size(names) > 0)
    ok = set_new(request, "ExpressionAttributeNames", json_incref(names));
  if (ok && json_object_size(values) > 0)
    ok = set_new(request, "ExpressionAttributeValues", json_incref(values));
  pl_buf_free(&expr);
  pl_buf_free(&version);
  json_decref(names);
  json_decref(values);
  if (!ok) {
    if (why->len == 0)
      pl_buf_append_str(why, "out of memory");
    json_decref(request);
    return NULL;
  }
  return request;
}

int ddb_batch_text(const char *table, const char *const *items,
                   const size_t *lens, size_t count, pl_buf_t *out) {
  size_t start = out->len;
  int rc = pl_buf_append_str(out, "{\"RequestItems\":{");
  if (rc == 0)
    rc = pl_json_encode_string(table, strlen(table), out, NULL);
  if (rc == 0)
    rc = pl_buf_append_str(out, ":[");
  for (size_t i = 0; rc == 0 && i < count; i++) {
    rc = pl_buf_append_str(out, i ? ",{\"PutRequest\":{\"Item\":"
                                  : "{\"PutRequest\":{\"Item\":");
    if (rc == 0)
      rc = pl_buf_append(out, items[i], lens[i]);
    if (rc == 0)
      rc = pl_buf_append_str(out, "}}");
  }
  if (rc == 0)
    rc = pl_buf_append_str(out, "]}}");
  if (rc < 0) {
    pl_buf_truncate(out, start);
    return PL_ENOMEM;
  }
  return 0;
}
