/* Parsing of the fake AWS's HTTP requests (see fake_aws_http.h). */
#include "fake_aws_http.h"

#include <stdint.h>
#include <string.h>

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_is(const char *at, size_t len, const char *name) {
  if (strlen(name) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (lower(at[i]) != name[i])
      return false;
  return true;
}

bool fake_text_is(fake_text_t text, const char *word) {
  return strlen(word) == text.len && memcmp(text.at, word, text.len) == 0;
}

static bool text_has_nocase(fake_text_t text, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n <= text.len; i++)
    if (name_is(text.at + i, n, word))
      return true;
  return false;
}

/* The offset just past the blank line that ends the headers, or 0. */
static size_t headers_end(const char *buf, size_t len) {
  for (size_t i = 0; i + 3 < len; i++)
    if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
        buf[i + 3] == '\n')
      return i + 4;
  return 0;
}

static fake_text_t trim(const char *at, size_t len) {
  while (len > 0 && (*at == ' ' || *at == '\t')) {
    at++;
    len--;
  }
  while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t'))
    len--;
  return (fake_text_t){at, len};
}

/* "GET /path?query HTTP/1.1": false when it is not that shape. */
static bool request_line(const char *at, size_t len, fake_aws_http_request_t *out,
                         bool *http11) {
  const char *sp1 = memchr(at, ' ', len);
  if (!sp1 || sp1 == at)
    return false;
  const char *target = sp1 + 1;
  const char *sp2 = memchr(target, ' ', len - (size_t)(target - at));
  if (!sp2 || sp2 == target || *target != '/')
    return false;
  fake_text_t version = {sp2 + 1, len - (size_t)(sp2 + 1 - at)};
  if (fake_text_is(version, "HTTP/1.1"))
    *http11 = true;
  else if (!fake_text_is(version, "HTTP/1.0"))
    return false;
  out->method = (fake_text_t){at, (size_t)(sp1 - at)};
  size_t target_len = (size_t)(sp2 - target);
  const char *q = memchr(target, '?', target_len);
  size_t path_len = q ? (size_t)(q - target) : target_len;
  out->path = (fake_text_t){target, path_len};
  out->query = q ? (fake_text_t){q + 1, target_len - path_len - 1}
                 : (fake_text_t){target + path_len, 0};
  return true;
}

/* A decimal Content-Length, at most FAKE_AWS_HTTP_MAX_BODY. */
static bool parse_length(fake_text_t v, size_t *out) {
  if (v.len == 0 || v.len > 10)
    return false;
  uint64_t n = 0;
  for (size_t i = 0; i < v.len; i++) {
    if (v.at[i] < '0' || v.at[i] > '9')
      return false;
    n = n * 10 + (uint64_t)(v.at[i] - '0');
  }
  if (n > FAKE_AWS_HTTP_MAX_BODY)
    return false;
  *out = (size_t)n;
  return true;
}

fake_aws_http_status_t fake_aws_http_parse(const char *buf, size_t len,
                                   fake_aws_http_request_t *out) {
  *out = (fake_aws_http_request_t){0};
  size_t end = headers_end(buf, len);
  if (end == 0)
    return len > FAKE_AWS_HTTP_MAX_HEADERS ? FAKE_AWS_HTTP_BAD : FAKE_AWS_HTTP_MORE;
  const char *line_end = memchr(buf, '\r', end);
  bool http11 = false;
  if (!request_line(buf, (size_t)(line_end - buf), out, &http11))
    return FAKE_AWS_HTTP_BAD;
  out->keep_alive = http11;
  size_t body_len = 0;
  const char *at = line_end + 2;
  while (at < buf + end - 2) {
    const char *eol = memchr(at, '\r', (size_t)(buf + end - at));
    const char *colon = memchr(at, ':', (size_t)(eol - at));
    if (!colon)
      return FAKE_AWS_HTTP_BAD;
    size_t name_len = (size_t)(colon - at);
    fake_text_t value = trim(colon + 1, (size_t)(eol - colon - 1));
    if (name_is(at, name_len, "content-length")) {
      if (!parse_length(value, &body_len))
        return FAKE_AWS_HTTP_BAD;
    } else if (name_is(at, name_len, "transfer-encoding")) {
      return FAKE_AWS_HTTP_BAD; /* chunked bodies: not sent by pipelined */
    } else if (name_is(at, name_len, "x-amz-target")) {
      out->target = value;
    } else if (name_is(at, name_len, "range")) {
      out->range = value;
    } else if (name_is(at, name_len, "expect")) {
      out->expect_continue = text_has_nocase(value, "100-continue");
    } else if (name_is(at, name_len, "connection")) {
      if (text_has_nocase(value, "close"))
        out->keep_alive = false;
      else if (text_has_nocase(value, "keep-alive"))
        out->keep_alive = true;
    }
    at = eol + 2;
  }
  out->headers_done = true;
  if (len - end < body_len)
    return FAKE_AWS_HTTP_MORE;
  out->body = (fake_text_t){buf + end, body_len};
  out->size = end + body_len;
  return FAKE_AWS_HTTP_DONE;
}

bool fake_aws_http_query(fake_text_t query, const char *name, fake_text_t *value) {
  size_t n = strlen(name);
  const char *at = query.at;
  const char *end = query.at + query.len;
  while (at < end) {
    const char *amp = memchr(at, '&', (size_t)(end - at));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - at) >= n && memcmp(at, name, n) == 0 &&
        (at + n == stop || at[n] == '=')) {
      const char *v = at + n == stop ? stop : at + n + 1;
      *value = (fake_text_t){v, (size_t)(stop - v)};
      return true;
    }
    at = stop + 1;
  }
  return false;
}
