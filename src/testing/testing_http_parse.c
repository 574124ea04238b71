/* Parsing HTTP/1.1 requests for the scripted server of testing_http.c. */
#include "testing_http_parse.h"

#include <stdlib.h>
#include <string.h>

static int lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool pl__http_case_equal_n(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return false;
  return true;
}

/* Whether `needle` occurs in bytes[0..len), ignoring case. */
bool pl__http_case_contains(const char *bytes, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= len; i++)
    if (pl__http_case_equal_n(bytes + i, needle, n))
      return true;
  return false;
}

const char *pl__http_find_crlf(const char *bytes, size_t len) {
  for (size_t i = 0; i + 1 < len; i++)
    if (bytes[i] == '\r' && bytes[i + 1] == '\n')
      return bytes + i;
  return NULL;
}

/* Returns 1 with a complete head, 0 for more bytes, -1 when malformed. */
int pl__http_parse_head(const char *in, size_t len, pl__http_head_t *info) {
  /* Reject what is not HTTP (a TLS hello, say) at once instead of waiting
   * for a blank line that never comes. */
  for (size_t i = 0; i < len && in[i] != ' '; i++)
    if (i >= 32 || in[i] < 'A' || in[i] > 'Z')
      return -1;
  const char *end = NULL;
  for (size_t i = 0; i + 3 < len && !end; i++)
    if (memcmp(in + i, "\r\n\r\n", 4) == 0)
      end = in + i;
  if (!end)
    return len > PL__HTTP_MAX_HEAD ? -1 : 0;
  *info = (pl__http_head_t){.head_len = (size_t)(end - in) + 4};
  const char *line_end = pl__http_find_crlf(in, len);
  info->line_end = (size_t)(line_end - in);
  const char *version = NULL;
  for (const char *p = line_end; p > in && !version; p--)
    if (p[-1] == ' ')
      version = p;
  if (!version || line_end - version < 8 || memcmp(version, "HTTP/1.", 7) != 0)
    return -1;
  const char *space = memchr(in, ' ', info->line_end);
  if (space == in || space + 1 >= version - 1)
    return -1; /* no method, or no target */
  info->method_len = (size_t)(space - in);
  info->target_at = info->method_len + 1;
  info->target_len = (size_t)(version - 1 - (space + 1));
  bool http10 = version[7] == '0';
  bool keep_alive = false;
  for (const char *line = line_end + 2; line < end + 2;) {
    const char *eol = pl__http_find_crlf(line, (size_t)(end + 2 - line));
    size_t n = (size_t)(eol - line);
    const char *colon = memchr(line, ':', n);
    if (!colon)
      return -1;
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = (size_t)(eol - value);
    if (name_len == 14 && pl__http_case_equal_n(line, "content-length", 14)) {
      char digits[32];
      while (value_len > 0 && *value == ' ')
        value++, value_len--;
      if (value_len == 0 || value_len >= sizeof digits)
        return -1;
      memcpy(digits, value, value_len);
      digits[value_len] = '\0';
      char *stop = NULL;
      info->length = strtoull(digits, &stop, 10);
      while (*stop == ' ')
        stop++;
      if (*stop || digits[0] == '-')
        return -1;
      info->has_length = true;
    } else if (name_len == 17 &&
               pl__http_case_equal_n(line, "transfer-encoding", 17)) {
      info->chunked = pl__http_case_contains(value, value_len, "chunked");
    } else if (name_len == 6 && pl__http_case_equal_n(line, "expect", 6)) {
      info->expect_continue =
          pl__http_case_contains(value, value_len, "100-continue");
    } else if (name_len == 10 &&
               pl__http_case_equal_n(line, "connection", 10)) {
      info->close = pl__http_case_contains(value, value_len, "close");
      keep_alive = pl__http_case_contains(value, value_len, "keep-alive");
    }
    line = eol + 2;
  }
  if (http10 && !keep_alive)
    info->close = true;
  return 1;
}

/* Decodes a chunked body from bytes[0..len). Returns 1 with the body and
 * the bytes used, 0 for more bytes, -1 when malformed. */
int pl__http_parse_chunked(const char *bytes, size_t len, pl_buf_t *body,
                           size_t *used) {
  size_t off = 0;
  for (;;) {
    const char *eol = pl__http_find_crlf(bytes + off, len - off);
    if (!eol)
      return len - off > 1024 ? -1 : 0;
    char *stop = NULL;
    char digits[20] = {0};
    size_t n = (size_t)(eol - (bytes + off));
    memcpy(digits, bytes + off, n < sizeof digits - 1 ? n : sizeof digits - 1);
    unsigned long long size = strtoull(digits, &stop, 16);
    if (stop == digits || (*stop && *stop != ';' && *stop != ' '))
      return -1;
    off = (size_t)(eol - bytes) + 2;
    if (size == 0)
      break;
    if (size > len - off || len - off - size < 2)
      return 0;
    if (memcmp(bytes + off + size, "\r\n", 2) != 0)
      return -1;
    if (pl_buf_append(body, bytes + off, size) < 0)
      abort(); /* test code: see testing_http.c */
    off += size + 2;
  }
  for (;;) { /* trailers, up to the blank line */
    const char *eol = pl__http_find_crlf(bytes + off, len - off);
    if (!eol)
      return 0;
    bool blank = eol == bytes + off;
    off = (size_t)(eol - bytes) + 2;
    if (blank)
      break;
  }
  *used = off;
  return 1;
}
