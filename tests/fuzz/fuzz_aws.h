/* What the AWS-answer fuzz harnesses share: a check that aborts naming
 * its line, response headers given as "name: value" lines, and the check
 * of a reason appended to a buffer (one line, no control characters).
 * Test tooling, included by fuzz_aws_json_error.c, fuzz_s3_xml.c,
 * fuzz_sqs_receive.c, fuzz_sqs_body.c and fuzz_json_scan.c. */
#ifndef PL_FUZZ_AWS_H
#define PL_FUZZ_AWS_H

#include <pipelined/common.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "before\n"
#define MAX_HEADERS 8

/* Stops the run at the first broken promise, naming the check's line. */
static inline void check_at(bool ok, const char *file, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", file, line);
    abort();
  }
}
#define check(ok) check_at((ok), __FILE__, __LINE__)

typedef struct headers {
  char *names[MAX_HEADERS];
  char *values[MAX_HEADERS];
  size_t count;
} headers_t;

static inline const char *header(const void *data, const char *name) {
  const headers_t *h = data;
  for (size_t i = 0; i < h->count; i++)
    if (strcasecmp(h->names[i], name) == 0)
      return h->values[i];
  return NULL;
}

/* Splits "name: value" lines (NUL bytes end a line's text early). */
static inline void parse_headers(const char *text, size_t len, headers_t *h) {
  const char *end = text + len;
  while (text < end && h->count < MAX_HEADERS) {
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    const char *line_end = nl ? nl : end;
    const char *colon = memchr(text, ':', (size_t)(line_end - text));
    if (colon) {
      const char *v = colon + 1;
      while (v < line_end && *v == ' ')
        v++;
      h->names[h->count] = strndup(text, (size_t)(colon - text));
      h->values[h->count] = strndup(v, (size_t)(line_end - v));
      h->count++;
    }
    text = nl ? nl + 1 : end;
  }
}

static inline void free_headers(headers_t *h) {
  for (size_t i = 0; i < h->count; i++) {
    free(h->names[i]);
    free(h->values[i]);
  }
}

/* The reason appended after PREFIX: one line, no control characters. */
static inline void check_line(const pl_buf_t *buf, size_t max) {
  check(buf->data && strncmp(buf->data, PREFIX, strlen(PREFIX)) == 0);
  const char *line = buf->data + strlen(PREFIX);
  size_t n = strlen(line);
  check(n > 0 && n == buf->len - strlen(PREFIX) && n <= max);
  for (size_t i = 0; i < n; i++)
    check((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
}

#endif
