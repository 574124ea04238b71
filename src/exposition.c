/* Reading the Prometheus text exposition. */
#include <stdlib.h>
#include <string.h>

#include "exposition.h"

static bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || (!first && c >= '0' && c <= '9');
}

static void sample_free(pl_sample_t *s) {
  for (size_t i = 0; i < s->label_count; i++) {
    free(s->labels[i].name);
    free(s->labels[i].value);
  }
  free(s->labels);
  free(s->name);
}

/* Parses `{a="x",b="y"}` at *p into `s`; moves *p past it. */
static int parse_labels(const char **p, const char *end, pl_sample_t *s) {
  const char *q = *p + 1;
  while (q < end && *q != '}') {
    const char *name = q;
    while (q < end && is_name_char(*q, q == name))
      q++;
    if (q == name || q + 1 >= end || q[0] != '=' || q[1] != '"')
      return PL_EPARSE;
    size_t name_len = (size_t)(q - name);
    q += 2;
    pl_buf_t value = {0};
    while (q < end && *q != '"') {
      char c = *q++;
      if (c == '\\' && q < end) {
        c = *q++;
        if (c == 'n')
          c = '\n';
      }
      if (pl_buf_append(&value, &c, 1) < 0) {
        pl_buf_free(&value);
        return PL_ENOMEM;
      }
    }
    if (q >= end) {
      pl_buf_free(&value);
      return PL_EPARSE;
    }
    q++; /* the closing quote */
    char *copy = strndup(name, name_len);
    char *text = value.data ? value.data : strdup("");
    pl_label_t *grown =
        copy && text ? realloc(s->labels, (s->label_count + 1) * sizeof(*grown))
                     : NULL;
    if (!grown) {
      free(copy);
      free(text);
      return PL_ENOMEM;
    }
    s->labels = grown;
    s->labels[s->label_count++] = (pl_label_t){copy, text};
    if (q < end && *q == ',')
      q++;
  }
  if (q >= end)
    return PL_EPARSE;
  *p = q + 1;
  return 0;
}

static int parse_line(const char *line, const char *end, pl_sample_t *s) {
  const char *p = line;
  while (p < end && is_name_char(*p, p == line))
    p++;
  if (p == line)
    return PL_EPARSE;
  s->name = strndup(line, (size_t)(p - line));
  if (!s->name)
    return PL_ENOMEM;
  if (p < end && *p == '{') {
    int rc = parse_labels(&p, end, s);
    if (rc < 0)
      return rc;
  }
  if (p >= end || *p != ' ')
    return PL_EPARSE;
  char number[64];
  size_t n = (size_t)(end - p - 1);
  /* A timestamp may follow the value: it is ignored. */
  const char *space = memchr(p + 1, ' ', n);
  if (space)
    n = (size_t)(space - p - 1);
  if (n == 0 || n >= sizeof(number))
    return PL_EPARSE;
  memcpy(number, p + 1, n);
  number[n] = '\0';
  char *stop = NULL;
  s->value = strtod(number, &stop);
  return *stop == '\0' ? 0 : PL_EPARSE;
}

int pl__exposition_parse(const char *text, size_t len, pl_exposition_t *out,
                         char **error) {
  const char *p = text, *end = text + len;
  size_t lineno = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = nl ? nl : end;
    lineno++;
    if (line_end > p && line_end[-1] == '\r')
      line_end--;
    if (line_end > p && *p != '#') {
      pl_sample_t s = {0};
      int rc = parse_line(p, line_end, &s);
      pl_sample_t *grown =
          rc == 0 ? realloc(out->samples, (out->count + 1) * sizeof(*grown))
                  : NULL;
      if (rc == 0 && !grown)
        rc = PL_ENOMEM;
      if (rc < 0) {
        sample_free(&s);
        if (error && rc == PL_EPARSE) {
          pl_buf_t why = {0};
          pl_buf_printf(&why, "line %zu is not a sample: %.*s", lineno,
                        (int)(line_end - p > 80 ? 80 : line_end - p), p);
          *error = why.data;
        }
        return rc;
      }
      out->samples = grown;
      out->samples[out->count++] = s;
    }
    p = nl ? nl + 1 : end;
  }
  return 0;
}

const char *pl__sample_label(const pl_sample_t *sample, const char *name) {
  for (size_t i = 0; i < sample->label_count; i++)
    if (strcmp(sample->labels[i].name, name) == 0)
      return sample->labels[i].value;
  return NULL;
}

void pl__exposition_free(pl_exposition_t *exposition) {
  for (size_t i = 0; i < exposition->count; i++)
    sample_free(&exposition->samples[i]);
  free(exposition->samples);
  *exposition = (pl_exposition_t){0};
}
