/* Templates: "${field}" and "${@meta}" references compiled once into
 * segments and rendered per record without parsing again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/template.h>

#include "record.h"

typedef enum { SEG_TEXT, SEG_FIELD, SEG_META } seg_kind_t;

typedef struct segment {
  seg_kind_t kind;
  char *text; /* literal text, field name or metadata name */
  size_t len;
} segment_t;

struct pl_template {
  char *source;
  size_t count;
  segment_t *segments;
};

static int add_segment(pl_template_t *tpl, seg_kind_t kind, const char *text,
                       size_t len) {
  if (len == 0 && kind == SEG_TEXT)
    return 0;
  segment_t *segs =
      realloc(tpl->segments, (tpl->count + 1) * sizeof(*segs));
  if (!segs)
    return PL_ENOMEM;
  tpl->segments = segs;
  char *copy = strndup(text, len);
  if (!copy)
    return PL_ENOMEM;
  segs[tpl->count++] = (segment_t){kind, copy, len};
  return 0;
}

static void set_error(char **error, const char *text, size_t at,
                      const char *what) {
  if (!error)
    return;
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, "template \"%s\", at character %zu: %s", text, at + 1,
                what);
  *error = buf.data;
}

int pl_template_create(const char *text, pl_template_t **out, char **error) {
  pl_template_t *tpl = calloc(1, sizeof(*tpl));
  if (!tpl || !(tpl->source = strdup(text))) {
    free(tpl);
    return PL_ENOMEM;
  }
  pl_buf_t literal = {0};
  int rc = 0;
  const char *p = text;
  while (*p && rc == 0) {
    if (p[0] == '$' && p[1] == '$') {
      rc = pl_buf_append(&literal, "$", 1);
      p += 2;
      continue;
    }
    if (p[0] != '$' || p[1] != '{') {
      rc = pl_buf_append(&literal, p, 1);
      p++;
      continue;
    }
    const char *start = p + 2;
    const char *end = strchr(start, '}');
    if (!end) {
      set_error(error, text, (size_t)(p - text), "'${' is not closed by '}'");
      rc = PL_EPARSE;
      break;
    }
    bool meta = *start == '@';
    const char *name = meta ? start + 1 : start;
    size_t len = (size_t)(end - name);
    if (len == 0 || memchr(name, '$', len) || memchr(name, '{', len)) {
      set_error(error, text, (size_t)(p - text),
                len == 0 ? "empty field name" : "bad field name");
      rc = PL_EPARSE;
      break;
    }
    rc = add_segment(tpl, SEG_TEXT, literal.data ? literal.data : "",
                     literal.len);
    pl_buf_reset(&literal);
    if (rc == 0)
      rc = add_segment(tpl, meta ? SEG_META : SEG_FIELD, name, len);
    p = end + 1;
  }
  if (rc == 0)
    rc = add_segment(tpl, SEG_TEXT, literal.data ? literal.data : "",
                     literal.len);
  pl_buf_free(&literal);
  if (rc < 0) {
    pl_template_destroy(tpl);
    return rc;
  }
  *out = tpl;
  return 0;
}

void pl_template_destroy(pl_template_t *tpl) {
  if (!tpl)
    return;
  for (size_t i = 0; i < tpl->count; i++)
    free(tpl->segments[i].text);
  free(tpl->segments);
  free(tpl->source);
  free(tpl);
}

const char *pl_template_text(const pl_template_t *tpl) { return tpl->source; }

bool pl_template_is_constant(const pl_template_t *tpl) {
  for (size_t i = 0; i < tpl->count; i++)
    if (tpl->segments[i].kind != SEG_TEXT)
      return false;
  return true;
}

/* Strings as they are; numbers and booleans as JSON text. */
static int append_json(pl_buf_t *out, const json_t *value) {
  switch (json_typeof(value)) {
  case JSON_STRING:
    return pl_buf_append(out, json_string_value(value),
                         json_string_length(value));
  case JSON_INTEGER:
    return pl_buf_printf(out, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(value));
  case JSON_REAL: {
    /* The shortest text that reads back as the same double (0.1), which
     * stays recognisable as a real: 3.0, not 3. */
    size_t start = out->len;
    int rc = pl_buf_append_real(out, json_real_value(value));
    if (rc == 0 && !strpbrk(out->data + start, ".eEn"))
      rc = pl_buf_append_str(out, ".0");
    return rc;
  }
  case JSON_TRUE:
  case JSON_FALSE: {
    char text[64];
    size_t n = json_dumpb(value, text, sizeof(text), JSON_ENCODE_ANY);
    return n > 0 && n < sizeof(text) ? pl_buf_append(out, text, n)
                                     : PL_ERANGE;
  }
  default:
    return PL_ENOENT; /* null, object, array: not a template value */
  }
}

static int append_meta(pl_buf_t *out, const pl_record_t *record,
                       const char *name) {
  const char *text = NULL;
  if (strcmp(name, "origin") == 0)
    text = pl_record_origin(record);
  else if (strcmp(name, "etag") == 0)
    text = pl_record_etag(record);
  else if (strcmp(name, "origin_time") == 0)
    text = pl_record_origin_time(record);
  else if (strcmp(name, "message_id") == 0)
    text = pl_record_message_id(record);
  else if (strcmp(name, "line") == 0)
    return record->line
               ? pl_buf_printf(out, "%llu", (unsigned long long)record->line)
               : PL_ENOENT;
  else {
    const json_t *attrs = pl_record_attributes(record);
    const json_t *value = attrs ? json_object_get(attrs, name) : NULL;
    return value ? append_json(out, value) : PL_ENOENT;
  }
  return text ? pl_buf_append_str(out, text) : PL_ENOENT;
}

int pl_template_render(const pl_template_t *tpl, const pl_record_t *record,
                       pl_buf_t *out, const char **missing) {
  const json_t *object = pl_record_value(record);
  for (size_t i = 0; i < tpl->count; i++) {
    const segment_t *seg = &tpl->segments[i];
    int rc;
    if (seg->kind == SEG_TEXT) {
      rc = pl_buf_append(out, seg->text, seg->len);
    } else if (seg->kind == SEG_META) {
      rc = append_meta(out, record, seg->text);
    } else {
      const json_t *value =
          json_is_object(object) ? json_object_get(object, seg->text) : NULL;
      rc = value ? append_json(out, value) : PL_ENOENT;
    }
    if (rc == PL_ENOENT && missing)
      *missing = seg->text;
    if (rc < 0)
      return rc;
  }
  return 0;
}
