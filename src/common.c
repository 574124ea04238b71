/* Error names and the growable buffer of the public API. */
#include <pipelined/common.h>

#include <errno.h>
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decimal.h"

const char *pl_strerror(int err) {
  switch (err) {
  case PL_OK:
    return "success";
#define PL__ERRNO_CASE(name, value, text)                                      \
  case PL_##name:                                                              \
    return text;
    PL_ERRNO_MAP(PL__ERRNO_CASE)
#undef PL__ERRNO_CASE
  }
  return "unknown error";
}

int pl_buf_reserve(pl_buf_t *buf, size_t extra) {
  if (extra > SIZE_MAX - buf->len - 1)
    return PL_ENOMEM;
  size_t need = buf->len + extra + 1;
  if (need <= buf->cap)
    return 0;
  size_t cap = buf->cap ? buf->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *data = realloc(buf->data, cap);
  if (!data)
    return PL_ENOMEM;
  buf->data = data;
  buf->cap = cap;
  buf->data[buf->len] = '\0';
  return 0;
}

/* pl_buf_append: when the room is there (the usual case: buffers are
 * reused and reserved ahead), the copy is done here, without the call to
 * pl_buf_reserve, which as an exported function goes through the PLT and
 * is never inlined. An empty buffer (cap 0) takes the slow path. */
static inline int append(pl_buf_t *buf, const void *data, size_t len) {
  if (buf->len >= buf->cap || len >= buf->cap - buf->len) {
    int rc = pl_buf_reserve(buf, len);
    if (rc < 0)
      return rc;
  }
  if (len > 0)
    memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
  return 0;
}

int pl_buf_append(pl_buf_t *buf, const void *data, size_t len) {
  return append(buf, data, len);
}

int pl_buf_append_str(pl_buf_t *buf, const char *str) {
  return append(buf, str, strlen(str));
}

int pl_buf_append_int(pl_buf_t *buf, long long n) {
  char text[PL_DECIMAL_ROOM];
  return append(buf, text, (size_t)(pl__decimal_write(text, n) - text));
}

int pl_buf_append_real(pl_buf_t *buf, double d) {
  char text[40];
  /* A normal double holds every text of up to 15 significant digits, so
   * when one of them reads back as `d`, %.15g writes it (and drops its
   * trailing zeros); 17 digits always give `d` back. A subnormal holds
   * fewer digits: there the shortest may have fewer than 15 (5e-324). */
  int first = d != 0 && d < DBL_MIN && d > -DBL_MIN ? 1 : 15;
  for (int precision = first; precision <= 17; precision++) {
    snprintf(text, sizeof(text), "%.*g", precision, d);
    if (strtod(text, NULL) == d)
      break;
  }
  return append(buf, text, strlen(text));
}

int pl_buf_vprintf(pl_buf_t *buf, const char *fmt, va_list ap) {
  /* Formatted once into the room the buffer has (most texts fit), and
   * again only when it did not fit. */
  size_t room = buf->data ? buf->cap - buf->len : 0;
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(room ? buf->data + buf->len : NULL, room, fmt, copy);
  va_end(copy);
  if (n >= 0 && (size_t)n < room) {
    buf->len += (size_t)n;
    return 0;
  }
  if (room)
    buf->data[buf->len] = '\0'; /* unchanged, whatever happens next */
  if (n < 0)
    return PL_EINVAL;
  int rc = pl_buf_reserve(buf, (size_t)n);
  if (rc < 0)
    return rc;
  vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
  buf->len += (size_t)n;
  return 0;
}

int pl_buf_printf(pl_buf_t *buf, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(buf, fmt, ap);
  va_end(ap);
  return rc;
}

char *pl_vformat(const char *fmt, va_list ap) {
  pl_buf_t text = {0};
  if (pl_buf_vprintf(&text, fmt, ap) < 0) {
    pl_buf_free(&text);
    return NULL;
  }
  return text.data ? text.data : strdup("");
}

void pl_error_set(char **error, const char *fmt, ...) {
  if (!error)
    return;
  va_list ap;
  va_start(ap, fmt);
  *error = pl_vformat(fmt, ap);
  va_end(ap);
}

void pl_buf_reset(pl_buf_t *buf) {
  pl_buf_truncate(buf, 0);
}

void pl_buf_truncate(pl_buf_t *buf, size_t len) {
  if (len < buf->len)
    buf->len = len;
  if (buf->data)
    buf->data[buf->len] = '\0';
}

void pl_buf_free(pl_buf_t *buf) {
  free(buf->data);
  *buf = (pl_buf_t){0};
}

size_t pl_utf8_sequence(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0;
  }
  if (avail < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

size_t pl_utf8_partial_tail(const char *bytes, size_t len) {
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    unsigned char c = (unsigned char)bytes[len - back];
    if ((c & 0xC0) == 0x80)
      continue; /* a continuation byte: look further back */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back && c < 0xF8 ? back : 0;
  }
  return 0;
}

/* Called for every text field of every CSV row, so the ASCII that most
 * fields are is settled eight bytes at a time. */
bool pl_utf8_valid(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  if (len >= 8 && len <= 16) {
    /* The usual field: two overlapping words without a high bit are ASCII,
     * settled without a loop. */
    uint64_t head, tail;
    memcpy(&head, s, 8);
    memcpy(&tail, s + len - 8, 8);
    if (((head | tail) & UINT64_C(0x8080808080808080)) == 0)
      return true;
  }
  size_t i = 0;
  while (len - i >= 8) {
    uint64_t word;
    memcpy(&word, s + i, 8);
    if (word & UINT64_C(0x8080808080808080))
      break;
    i += 8;
  }
  while (i < len) {
    size_t n = s[i] < 0x80 ? 1 : pl_utf8_sequence(s + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

/* Creates `dir` unless it is a directory already. Returns 0 or an errno. */
static int make_dir(const char *dir) {
  struct stat st;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return errno;
  if (stat(dir, &st) != 0)
    return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

int pl_make_dirs(const char *path, bool parent_only) {
  char *copy = strdup(path);
  if (!copy)
    return ENOMEM;
  int err = 0;
  /* Each '/' after the first character ends a directory to create. */
  for (char *p = copy + 1; err == 0 && (p = strchr(p, '/')); p++) {
    *p = '\0';
    err = make_dir(copy);
    *p = '/';
  }
  if (err == 0 && !parent_only)
    err = make_dir(copy);
  free(copy);
  return err;
}

int pl_hex_value(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
