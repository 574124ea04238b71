/* Lists of typed columns and the check of a JSON object against one (see
 * <pipelined/schema.h>). */
#include <pipelined/schema.h>

#include <stdlib.h>
#include <string.h>

struct pl_schema {
  size_t count;
  pl_column_t *items; /* each name is its own allocation */
  /* Name -> position in items, as a JSON integer. A header can have
   * hundreds of thousands of columns, and comparing each name with every
   * earlier one took seconds; jansson's object is a hash table. */
  json_t *index;
};

/* ---- Column lists ---- */

static void columns_free_items(pl_column_t *items, size_t count) {
  for (size_t i = 0; i < count; i++)
    free((char *)items[i].name);
  free(items);
}

void pl_schema_destroy(pl_schema_t *cols) {
  if (!cols)
    return;
  columns_free_items(cols->items, cols->count);
  json_decref(cols->index);
  free(cols);
}

size_t pl_schema_count(const pl_schema_t *cols) {
  return cols->count;
}

const pl_column_t *pl_schema_column(const pl_schema_t *cols, size_t i) {
  return i < cols->count ? &cols->items[i] : NULL;
}

const pl_column_t *pl_schema_columns(const pl_schema_t *cols) {
  return cols->items;
}

const pl_column_t *pl_schema_find(const pl_schema_t *cols, const char *name,
                                  size_t len, size_t *index) {
  if (!cols || (!name && len > 0))
    return NULL;
  json_t *at = json_object_getn(cols->index, name, len);
  if (!at)
    return NULL;
  size_t i = (size_t)json_integer_value(at);
  if (index)
    *index = i;
  return &cols->items[i];
}

/* Appends *col, whose name `cols` now owns, and indexes it. The caller
 * checked that the name is not in the list yet. */
static int add_column(pl_schema_t *cols, const pl_column_t *col) {
  json_t *at = json_integer((json_int_t)cols->count);
  /* Names are valid UTF-8 without NUL: no need for jansson to check. */
  if (!at || json_object_setn_new_nocheck(cols->index, col->name, col->name_len,
                                          at) < 0) {
    free((char *)col->name);
    return PL_ENOMEM;
  }
  cols->items[cols->count++] = *col;
  return 0;
}

/* [*start, *end) without ASCII spaces and tabs around it. */
static void trim(const char **start, const char **end) {
  while (*start < *end && (**start == ' ' || **start == '\t'))
    (*start)++;
  while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
    (*end)--;
}

static int type_list_fail(pl_buf_t *reason, size_t n, const char *spec,
                          const char *type, size_t type_len) {
  char quoted_spec[PL_SCHEMA_QUOTE_BUF_SIZE],
      quoted_type[PL_SCHEMA_QUOTE_BUF_SIZE];
  pl_schema_quote(quoted_spec, spec, strlen(spec));
  pl_schema_quote(quoted_type, type, type_len);
  return pl_schema_reason(
      reason,
      "column %zu '%s': unknown type '%s' (expected one of string, "
      "int, number, bool, date, timestamp)",
      n, quoted_spec, quoted_type);
}

/* Parses spec number n (1-based) into *col, whose name it allocates. */
static int parse_spec(const char *spec, size_t n, const pl_schema_t *done,
                      pl_column_t *col, pl_buf_t *reason) {
  char quoted[PL_SCHEMA_QUOTE_BUF_SIZE];
  if (!spec)
    return PL_EINVAL;
  pl_schema_quote(quoted, spec, strlen(spec));
  const char *end = spec + strlen(spec);
  const char *colon1 = memchr(spec, ':', (size_t)(end - spec));
  if (!colon1)
    return pl_schema_reason(
        reason, "column %zu '%s': expected name:type or name:type:required", n,
        quoted);
  const char *name = spec, *name_end = colon1;
  trim(&name, &name_end);
  const char *type = colon1 + 1;
  const char *colon2 = memchr(type, ':', (size_t)(end - type));
  const char *type_end = colon2 ? colon2 : end;
  trim(&type, &type_end);

  if (name == name_end)
    return pl_schema_reason(reason, "column %zu '%s': empty name", n, quoted);
  if (!pl_utf8_valid(name, (size_t)(name_end - name)))
    return pl_schema_reason(reason, "column %zu '%s': name is not valid UTF-8",
                            n, quoted);
  pl_schema_type_t t;
  if (pl_schema_type_parse(type, (size_t)(type_end - type), &t) < 0)
    return type_list_fail(reason, n, spec, type, (size_t)(type_end - type));
  bool required = false;
  if (colon2) {
    const char *flag = colon2 + 1, *flag_end = end;
    trim(&flag, &flag_end);
    size_t flag_len = (size_t)(flag_end - flag);
    if (flag_len == 8 && memcmp(flag, "required", 8) == 0) {
      required = true;
    } else {
      char quoted_flag[PL_SCHEMA_QUOTE_BUF_SIZE];
      pl_schema_quote(quoted_flag, flag, flag_len);
      return pl_schema_reason(
          reason, "column %zu '%s': unknown flag '%s' (expected 'required')", n,
          quoted, quoted_flag);
    }
  }
  size_t name_len = (size_t)(name_end - name);
  size_t other;
  if (pl_schema_find(done, name, name_len, &other))
    return pl_schema_reason(reason,
                            "column %zu '%s': duplicate name (also column %zu)",
                            n, quoted, other + 1);
  char *copy = strndup(name, name_len);
  if (!copy)
    return PL_ENOMEM;
  *col = (pl_column_t){
      .name = copy, .name_len = name_len, .type = t, .required = required};
  return 0;
}

static int columns_new(size_t count, pl_schema_t **out) {
  pl_schema_t *cols = malloc(sizeof(*cols));
  pl_column_t *items = calloc(count, sizeof(*items));
  json_t *index = json_object();
  if (!cols || !items || !index) {
    free(cols);
    free(items);
    json_decref(index);
    return PL_ENOMEM;
  }
  *cols = (pl_schema_t){.count = 0, .items = items, .index = index};
  *out = cols;
  return 0;
}

int pl_schema_create(const char *const *specs, size_t count, pl_schema_t **out,
                     pl_buf_t *reason) {
  if (!out || (!specs && count > 0))
    return PL_EINVAL;
  if (count == 0)
    return pl_schema_reason(reason, "no columns");
  pl_schema_t *cols;
  int rc = columns_new(count, &cols);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < count; i++) {
    pl_column_t col;
    rc = parse_spec(specs[i], i + 1, cols, &col, reason);
    if (rc == 0)
      rc = add_column(cols, &col);
    if (rc < 0) {
      pl_schema_destroy(cols);
      return rc;
    }
  }
  *out = cols;
  return 0;
}

int pl_schema_create_from_header(const char *const *names, const size_t *lens,
                                 size_t count, const pl_schema_t *typed,
                                 pl_schema_t **out, pl_buf_t *reason) {
  if (!out || (count > 0 && (!names || !lens)))
    return PL_EINVAL;
  if (count == 0)
    return pl_schema_reason(reason, "the header has no fields");
  pl_schema_t *cols;
  int rc = columns_new(count, &cols);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < count && rc == 0; i++) {
    const char *name = names[i];
    size_t len = lens[i];
    char quoted[PL_SCHEMA_QUOTE_BUF_SIZE];
    pl_schema_quote(quoted, name, len);
    size_t other;
    if (len == 0) {
      rc = pl_schema_reason(reason, "header field %zu is empty", i + 1);
    } else if (memchr(name, '\0', len)) {
      rc = pl_schema_reason(reason,
                            "header field %zu '%s' contains a NUL byte (\\0)",
                            i + 1, quoted);
    } else if (!pl_utf8_valid(name, len)) {
      rc = pl_schema_reason(reason,
                            "header field %zu '%s' is not valid UTF-8 text",
                            i + 1, quoted);
    } else if (pl_schema_find(cols, name, len, &other)) {
      rc = pl_schema_reason(reason,
                            "header field %zu '%s' repeats header field %zu",
                            i + 1, quoted, other + 1);
    } else {
      const pl_column_t *t =
          typed ? pl_schema_find(typed, name, len, NULL) : NULL;
      char *copy = strndup(name, len);
      if (!copy) {
        rc = PL_ENOMEM;
        break;
      }
      rc = add_column(cols, &(pl_column_t){
                                .name = copy,
                                .name_len = len,
                                .type = t ? t->type : PL_SCHEMA_STRING,
                                .required = t ? t->required : false,
                            });
    }
  }
  for (size_t i = 0; typed && rc == 0 && i < typed->count; i++) {
    const pl_column_t *t = &typed->items[i];
    if (!pl_schema_find(cols, t->name, t->name_len, NULL)) {
      char name[PL_SCHEMA_QUOTE_BUF_SIZE];
      pl_schema_quote(name, t->name, t->name_len);
      rc = pl_schema_reason(reason, "column '%s' is not in the header", name);
    }
  }
  if (rc < 0) {
    pl_schema_destroy(cols);
    return rc;
  }
  *out = cols;
  return 0;
}

/* ---- Validating JSON ---- */

int pl_schema_validate(const pl_schema_t *cols, const json_t *value,
                       pl_buf_t *reason) {
  if (!cols || !value)
    return PL_EINVAL;
  if (!json_is_object(value))
    return pl_schema_reason(reason, "expected an object, found %s",
                            pl_schema_json_type_name(value));
  for (size_t i = 0; i < cols->count; i++) {
    const pl_column_t *col = &cols->items[i];
    json_t *v = json_object_getn(value, col->name, col->name_len);
    if (!v || json_is_null(v)) {
      if (col->required) {
        char name[PL_SCHEMA_QUOTE_BUF_SIZE];
        pl_schema_quote(name, col->name, col->name_len);
        return pl_schema_reason(reason, "field '%s' is required but %s", name,
                                v ? "null" : "missing");
      }
      continue;
    }
    int rc = pl_column_check(col, v, reason);
    if (rc < 0)
      return rc;
  }
  return 0;
}
