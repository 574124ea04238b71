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
  for (size_t i = 0; i < sizeof(ddb_type_names) / sizeof(*ddb_type_names); i++)
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
  /* The shortest text that reads back as the same double (0.1). */
  return pl_buf_append_real(out, json_real_value(value));
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

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
    return typed(
        "S", json_stringn(json_string_value(value), json_string_length(value)));
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

static json_t *encode_as(const json_t *value, ddb_type_t type, pl_buf_t *why) {
  if (json_is_null(value) || type == DDB_TYPE_AUTO)
    return encode_auto(value, why);
  const char *text = json_string_value(value);
  size_t len = json_string_length(value);
  /* A string may hold a NUL (a body's \u0000): read as C text it would
   * end there, so it is no number, boolean, null or JSON. */
  if (text && type != DDB_TYPE_S && strlen(text) != len) {
    pl_buf_printf(why,
                  "the text holds a NUL character (\\u0000), so it is "
                  "not %s",
                  ddb_type_name(type));
    return NULL;
  }
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
        text ? json_loadb(text, len, 0, NULL) : json_incref((json_t *)value);
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

const json_t *ddb_record_object(const pl_record_t *record, pl_buf_t *why) {
  const json_t *value = pl_record_value(record);
  if (!json_is_object(value)) {
    pl_buf_append_str(why, value ? "the record is not a JSON object"
                                 : "the record holds bytes, not a JSON "
                                   "object");
    return NULL;
  }
  return value;
}

int ddb_key_value_text(const ddb_schema_t *schema, size_t i,
                       const pl_record_t *record, pl_buf_t *out,
                       pl_buf_t *why) {
  const ddb_key_attr_t *k = &schema->keys[i];
  const char *missing = NULL, *fail = NULL;
  pl_buf_t text = {0};
  int rc = pl_template_render(k->tpl, record, &text, &missing);
  if (rc == PL_ENOENT) {
    pl_buf_printf(why, "key '%s': field '%s' is missing (or null)", k->name,
                  missing ? missing : "?");
  } else if (rc < 0) {
    pl_buf_printf(why, "key '%s': %s", k->name, pl_strerror(rc));
  } else if (text.len == 0) {
    pl_buf_printf(why, "key '%s' is empty (%s); DynamoDB refuses empty keys",
                  k->name, pl_template_text(k->tpl));
    rc = PL_EINVAL;
  } else {
    rc = pl_buf_append_str(out, "{\"S\":");
    if (rc == 0)
      rc = pl_json_encode_string(text.data, text.len, out, &fail);
    if (rc == PL_EINVAL)
      pl_buf_printf(why, "key '%s': %s", k->name, fail ? fail : "bad text");
    if (rc == 0)
      rc = pl_buf_append(out, "}", 1);
  }
  pl_buf_free(&text);
  return rc;
}

int ddb_key_text(const ddb_schema_t *schema, const pl_record_t *record,
                 pl_buf_t *out, pl_buf_t *why) {
  size_t start = out->len;
  int rc = pl_buf_append(out, "{", 1);
  for (size_t i = 0; rc == 0 && i < schema->key_count; i++) {
    const char *name = schema->keys[i].name;
    rc = i ? pl_buf_append(out, ",", 1) : 0;
    if (rc == 0)
      rc = pl_json_encode_string(name, strlen(name), out, NULL);
    if (rc == 0)
      rc = pl_buf_append(out, ":", 1);
    if (rc == 0)
      rc = ddb_key_value_text(schema, i, record, out, why);
  }
  if (rc == 0)
    rc = pl_buf_append(out, "}", 1);
  return ddb_settle(out, start, rc, why);
}

json_t *ddb_key_encode(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *why) {
  pl_buf_t text = {0};
  json_t *key = NULL;
  if (ddb_key_text(schema, record, &text, why) == 0 &&
      !(key = json_loadb(text.data, text.len, JSON_ALLOW_NUL, NULL)))
    pl_buf_append_str(why, "out of memory");
  pl_buf_free(&text);
  return key;
}

bool ddb_is_key(const ddb_schema_t *schema, const char *name) {
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

/* Strings and integers of fields without a `types` entry are written
 * directly ({"S":...} and {"N":"..."}, as encode_auto makes them), any
 * other value through field_attr. */
int ddb_put_field_attr(const ddb_schema_t *schema, const char *name,
                       const json_t *value, pl_buf_t *out, pl_buf_t *why) {
  int rc;
  if (json_is_string(value) && type_of_field(schema, name) == DDB_TYPE_AUTO) {
    const char *fail = NULL;
    rc = pl_buf_append(out, "{\"S\":", 5);
    if (rc == 0)
      rc = pl_json_encode_string(json_string_value(value),
                                 json_string_length(value), out, &fail);
    if (rc == PL_EINVAL)
      pl_buf_printf(why, "field '%s': %s", name, fail ? fail : "bad text");
  } else if (json_is_integer(value) &&
             type_of_field(schema, name) == DDB_TYPE_AUTO) {
    rc = pl_buf_append(out, "{\"N\":\"", 6);
    if (rc == 0)
      rc = pl_buf_append_int(out, (long long)json_integer_value(value));
    if (rc == 0)
      rc = pl_buf_append(out, "\"", 1);
  } else {
    json_t *attr = field_attr(schema, name, value, why);
    const char *fail = NULL;
    rc = attr ? pl_json_encode(attr, out, &fail) : PL_EINVAL;
    if (attr && rc == PL_EINVAL)
      pl_buf_printf(why, "field '%s': %s", name, fail ? fail : "bad value");
    json_decref(attr);
    return rc;
  }
  return rc == 0 ? pl_buf_append(out, "}", 1) : rc;
}

int ddb_settle(pl_buf_t *out, size_t start, int rc, pl_buf_t *why) {
  if (rc == 0)
    return 0;
  if (why->len == 0)
    pl_buf_append_str(why, "out of memory");
  pl_buf_truncate(out, start);
  return rc == PL_ENOMEM ? PL_ENOMEM : PL_EINVAL;
}

int ddb_item_text(const ddb_schema_t *schema, const pl_record_t *record,
                  const char *key_text, pl_buf_t *out, pl_buf_t *why) {
  const json_t *object = ddb_record_object(record, why);
  size_t key_len = strlen(key_text);
  if (!object)
    return PL_EINVAL;
  if (key_len < 2 || key_text[key_len - 1] != '}')
    return PL_EINVAL;
  /* The key's members, then the other fields'. */
  size_t start = out->len;
  int rc = pl_buf_append(out, key_text, key_len - 1);
  const char *name;
  json_t *value;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)object, name, value) {
    if (rc < 0)
      break;
    if (ddb_is_key(schema, name))
      continue;
    rc = pl_buf_append(out, ",", 1);
    if (rc == 0)
      rc = pl_json_encode_string(name, strlen(name), out, NULL);
    if (rc == 0)
      rc = pl_buf_append(out, ":", 1);
    if (rc == 0)
      rc = ddb_put_field_attr(schema, name, value, out, why);
  }
  if (rc == 0)
    rc = pl_buf_append(out, "}", 1);
  return ddb_settle(out, start, rc, why);
}

json_t *ddb_read_back(const ddb_schema_t *schema, const pl_record_t *record,
                      pl_buf_t *why, ddb_text_fn text_of) {
  if (!ddb_record_object(record, why))
    return NULL;
  pl_buf_t key_text = {0}, text = {0};
  json_t *tree = NULL;
  if (ddb_key_text(schema, record, &key_text, why) == 0 &&
      text_of(schema, record, key_text.data, &text, why) == 0 &&
      !(tree = json_loadb(text.data, text.len, JSON_ALLOW_NUL, NULL)) &&
      why->len == 0)
    pl_buf_append_str(why, "out of memory");
  pl_buf_free(&key_text);
  pl_buf_free(&text);
  return tree;
}

json_t *ddb_item_encode(const ddb_schema_t *schema, const pl_record_t *record,
                        pl_buf_t *why) {
  return ddb_read_back(schema, record, why, ddb_item_text);
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
