/* The HTTP/1.1 response reader of the builtin client (http_h1_parse.h). */
#include "http_h1_parse.h"

#include <stdlib.h>
#include <string.h>

void pl__http_h1_parser_init(pl_http_h1_parser_t *p, bool head,
                             pl_h1_body_cb on_body, void *data) {
  *p = (pl_http_h1_parser_t){
      .head = head, .keep_alive = true, .on_body = on_body, .data = data};
}

void pl__http_h1_parser_free(pl_http_h1_parser_t *p) {
  pl_buf_free(&p->line);
  pl_buf_free(&p->text);
  free(p->headers);
  p->headers = NULL;
  p->header_count = 0;
}

/* What an answer's headers usually take as "name\0value\0" text (an AWS
 * answer has five to ten short ones). */
#define HEAD_TEXT_ROOM 512

static int fail(pl_http_h1_parser_t *p, const char *what) {
  if (!p->error)
    p->error = what;
  return PL_EIO;
}

static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether [s, s+len) equals the lower-case `word` without regard to case. */
static bool word_is(const char *s, size_t len, const char *word) {
  if (strlen(word) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (ascii_lower((unsigned char)s[i]) != word[i])
      return false;
  return true;
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

/* Whether the comma-separated list `value` holds `word` (any case). */
static bool list_has(const char *value, const char *word) {
  while (*value) {
    while (*value == ',' || is_blank(*value))
      value++;
    const char *end = value;
    while (*end && *end != ',')
      end++;
    const char *last = end;
    while (last > value && is_blank(last[-1]))
      last--;
    if (word_is(value, (size_t)(last - value), word))
      return true;
    value = end;
  }
  return false;
}

/* Whether the last element of the list `value` is `word`. */
static bool list_ends_with(const char *value, const char *word) {
  const char *end = value + strlen(value);
  while (end > value && is_blank(end[-1]))
    end--;
  const char *start = end;
  while (start > value && start[-1] != ',')
    start--;
  while (start < end && is_blank(*start))
    start++;
  return word_is(start, (size_t)(end - start), word);
}

/* Reads "HTTP/1.x NNN reason". */
static int status_line(pl_http_h1_parser_t *p, const char *s, size_t len) {
  if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
      (s[7] != '0' && s[7] != '1') || s[8] != ' ' || s[9] < '1' || s[9] > '5' ||
      s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
      (len > 12 && s[12] != ' '))
    return fail(p, "malformed status line");
  p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  /* HTTP/1.0 closes unless it says otherwise (read in the headers). */
  p->keep_alive = s[7] == '1';
  p->state = PL_H1_HEADERS;
  return 0;
}

static int content_length(pl_http_h1_parser_t *p, const char *value) {
  uint64_t n = 0;
  if (!*value)
    return fail(p, "malformed Content-Length");
  for (const char *c = value; *c; c++) {
    if (*c < '0' || *c > '9' || n > (UINT64_MAX - 9) / 10)
      return fail(p, "malformed Content-Length");
    n = n * 10 + (uint64_t)(*c - '0');
  }
  if (p->has_length && n != p->length)
    return fail(p, "conflicting Content-Length headers");
  p->has_length = true;
  p->length = n;
  return 0;
}

/* An obsolete folded line (RFC 9112, 5.2) continues the previous value,
 * joined by one blank, as libcurl hands it over. */
static int folded_line(pl_http_h1_parser_t *p, const char *s, size_t len) {
  if (p->header_count == 0)
    return fail(p, "folded line before any header");
  const char *end = s + len;
  while (s < end && is_blank(*s))
    s++;
  while (end > s && is_blank(end[-1]))
    end--;
  if (memchr(s, '\0', (size_t)(end - s)))
    return fail(p, "NUL in a header value");
  if (s == end)
    return 0;
  /* The text ends with the previous value's NUL: replace it. */
  p->text.len--;
  if (pl_buf_append(&p->text, " ", 1) < 0 ||
      pl_buf_append(&p->text, s, (size_t)(end - s)) < 0 ||
      pl_buf_append(&p->text, "", 1) < 0)
    return PL_ENOMEM;
  return 0;
}

/* Stores one header line "Name: value" as "name\0value\0". */
static int header_line(pl_http_h1_parser_t *p, const char *s, size_t len) {
  if (is_blank(s[0]))
    return folded_line(p, s, len);
  const char *colon = memchr(s, ':', len);
  if (!colon || colon == s)
    return fail(p, "malformed header line");
  for (const char *c = s; c < colon; c++)
    if ((unsigned char)*c <= ' ' || *c == 0x7f)
      return fail(p, "malformed header name");
  const char *value = colon + 1, *end = s + len;
  while (value < end && is_blank(*value))
    value++;
  while (end > value && is_blank(end[-1]))
    end--;
  if (memchr(value, '\0', (size_t)(end - value)))
    return fail(p, "NUL in a header value");
  size_t at = p->text.len;
  size_t name_len = (size_t)(colon - s);
  size_t room = name_len + (size_t)(end - value) + 2;
  /* The first header makes room for a usual head's, rather than growing
   * the text from 64 bytes a doubling at a time. */
  if (p->text.cap == 0 && room < HEAD_TEXT_ROOM)
    room = HEAD_TEXT_ROOM;
  if (pl_buf_reserve(&p->text, room) < 0)
    return PL_ENOMEM;
  char *name = p->text.data + at;
  for (size_t i = 0; i < name_len; i++)
    name[i] = (char)ascii_lower((unsigned char)s[i]);
  name[name_len] = '\0';
  char *v = name + name_len + 1;
  memcpy(v, value, (size_t)(end - value));
  v[end - value] = '\0';
  p->text.len = at + name_len + (size_t)(end - value) + 2;
  p->header_count++;
  if (strcmp(name, "content-length") == 0)
    return content_length(p, v);
  if (strcmp(name, "transfer-encoding") == 0) {
    if (!list_ends_with(v, "chunked"))
      return fail(p, "unsupported Transfer-Encoding");
    p->chunked = true;
  } else if (strcmp(name, "connection") == 0) {
    if (list_has(v, "close"))
      p->keep_alive = false;
    else if (list_has(v, "keep-alive"))
      p->keep_alive = true;
  }
  return 0;
}

/* The blank line after the headers: decides how the body is delimited. */
static int headers_end(pl_http_h1_parser_t *p) {
  if (p->status < 200) {
    /* An interim answer: the real one follows; forget its headers. */
    pl_buf_reset(&p->text);
    p->header_count = 0;
    p->has_length = p->chunked = false;
    p->state = PL_H1_STATUS;
    return 0;
  }
  p->headers =
      calloc(p->header_count ? p->header_count : 1, sizeof *p->headers);
  if (!p->headers)
    return PL_ENOMEM;
  const char *at = p->text.data;
  for (size_t i = 0; i < p->header_count; i++) {
    p->headers[i].name = at;
    at += strlen(at) + 1;
    p->headers[i].value = at;
    at += strlen(at) + 1;
  }
  p->headers_done = true;
  if (p->head || p->status == 204 || p->status == 304) {
    p->state = PL_H1_DONE;
  } else if (p->chunked) {
    /* Transfer-Encoding wins over Content-Length (RFC 9112, 6.3), and a
     * message with both may be an attempt to smuggle: never reuse. */
    if (p->has_length)
      p->keep_alive = false;
    p->state = PL_H1_CHUNK_SIZE;
  } else if (p->has_length) {
    p->remaining = p->length;
    p->state = p->length ? PL_H1_BODY : PL_H1_DONE;
  } else {
    p->keep_alive = false;
    p->state = PL_H1_UNTIL_EOF;
  }
  return 0;
}

static int chunk_size_line(pl_http_h1_parser_t *p, const char *s, size_t len) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < len; i++) {
    int d = pl_hex_value((unsigned char)s[i]);
    if (d < 0)
      break;
    if (n > (UINT64_MAX >> 4))
      return fail(p, "malformed chunk size");
    n = n << 4 | (uint64_t)d;
  }
  while (i < len && is_blank(s[i]))
    i++;
  if (i == 0 || (i < len && s[i] != ';'))
    return fail(p, "malformed chunk size");
  p->remaining = n;
  p->state = n ? PL_H1_CHUNK_DATA : PL_H1_TRAILERS;
  return 0;
}

/* One complete line (without its CR LF) in the current state. */
static int on_line(pl_http_h1_parser_t *p, const char *s, size_t len) {
  switch (p->state) {
  case PL_H1_STATUS:
    return status_line(p, s, len);
  case PL_H1_HEADERS:
    return len ? header_line(p, s, len) : headers_end(p);
  case PL_H1_CHUNK_SIZE:
    return chunk_size_line(p, s, len);
  case PL_H1_CHUNK_END:
    if (len)
      return fail(p, "malformed chunk end");
    p->state = PL_H1_CHUNK_SIZE;
    return 0;
  case PL_H1_TRAILERS:
    if (!len)
      p->state = PL_H1_DONE;
    return 0;
  default:
    return fail(p, "internal parser state");
  }
}

/* Takes the bytes of a line state: whole lines go to on_line(), a cut one
 * waits in p->line. Returns what on_line() returned, or 0. */
static int line_bytes(pl_http_h1_parser_t *p, const char *bytes, size_t len,
                      size_t *used) {
  const char *nl = memchr(bytes, '\n', len);
  size_t take = nl ? (size_t)(nl - bytes) + 1 : len;
  bool in_head = p->state == PL_H1_STATUS || p->state == PL_H1_HEADERS;
  size_t limit = in_head ? PL_HTTP_H1_MAX_HEAD - p->head_bytes
                         : PL_HTTP_H1_MAX_HEAD - p->line.len;
  if (take > limit)
    return fail(p, in_head ? "headers too large" : "line too long");
  if (in_head)
    p->head_bytes += take;
  *used = take;
  if (!nl)
    return pl_buf_append(&p->line, bytes, len) < 0 ? PL_ENOMEM : 0;
  const char *s = bytes;
  size_t n = take - 1;
  if (p->line.len) {
    if (pl_buf_append(&p->line, bytes, n) < 0)
      return PL_ENOMEM;
    s = p->line.data;
    n = p->line.len;
  }
  if (n > 0 && s[n - 1] == '\r')
    n--;
  int rc = on_line(p, s, n);
  pl_buf_reset(&p->line);
  return rc;
}

static int body_bytes(pl_http_h1_parser_t *p, const char *bytes, size_t len,
                      size_t *used) {
  size_t take = len;
  if (p->state != PL_H1_UNTIL_EOF && p->remaining < take)
    take = (size_t)p->remaining;
  *used = take;
  if (p->state != PL_H1_UNTIL_EOF) {
    p->remaining -= take;
    if (p->remaining == 0)
      p->state = p->state == PL_H1_BODY ? PL_H1_DONE : PL_H1_CHUNK_END;
  }
  return p->on_body && take ? p->on_body(p->data, bytes, take) : 0;
}

int pl__http_h1_parse(pl_http_h1_parser_t *p, const char *bytes, size_t len,
                      size_t *used) {
  size_t at = 0;
  if (len)
    p->got_bytes = true;
  while (at < len && p->state != PL_H1_DONE) {
    size_t n = 0;
    bool body = p->state == PL_H1_BODY || p->state == PL_H1_CHUNK_DATA ||
                p->state == PL_H1_UNTIL_EOF;
    int rc = body ? body_bytes(p, bytes + at, len - at, &n)
                  : line_bytes(p, bytes + at, len - at, &n);
    at += n;
    if (rc < 0) {
      *used = at;
      return rc;
    }
  }
  *used = at;
  return p->state == PL_H1_DONE ? 1 : 0;
}

int pl__http_h1_parse_eof(pl_http_h1_parser_t *p) {
  if (p->state == PL_H1_UNTIL_EOF) {
    p->state = PL_H1_DONE;
    return 1;
  }
  return p->state == PL_H1_DONE ? 1 : PL_EIO;
}
