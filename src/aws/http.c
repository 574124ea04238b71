/* Helpers of http.h shared by every transport. */
#include "http.h"

#include <stdio.h>
#include <string.h>

/* ASCII only: header names are tokens, and a locale must not change how
 * "Content-Length" compares. */
static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool pl__http_case_equal(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
      return false;
  return *a == *b;
}

const char *pl__http_header(const pl_http_response_t *response,
                            const char *name) {
  if (!response || !name)
    return NULL;
  /* Transports store names lower-cased; comparing without case as well
   * keeps a caller that passes "Content-Length" from silently missing. */
  for (size_t i = 0; i < response->header_count; i++)
    if (pl__http_case_equal(response->headers[i].name, name))
      return response->headers[i].value;
  return NULL;
}

void pl__http_too_large_text(size_t max_body, char *buf, size_t cap) {
  size_t mib = max_body >> 20;
  if (mib << 20 == max_body)
    snprintf(buf, cap,
             "the response body is over the %zu MiB limit of a response "
             "that is read whole",
             mib);
  else
    snprintf(buf, cap,
             "the response body is over the %zu-byte limit of a response "
             "that is read whole",
             max_body);
}

/* RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~, as a map of the
 * 128 ASCII codes (bit c of word c / 64). */
static bool is_token_char(unsigned char c) {
  static const uint64_t tchar[2] = {0x03ff6cfa00000000, 0x57ffffffc7fffffe};
  return c < 128 && (tchar[c >> 6] >> (c & 63) & 1);
}

size_t pl__http_token_len(const char *text) {
  if (!text)
    return 0;
  const char *p = text;
  while (is_token_char((unsigned char)*p))
    p++;
  return *p ? 0 : (size_t)(p - text);
}

bool pl__http_is_token(const char *text) {
  return pl__http_token_len(text) > 0;
}

bool pl__http_header_sendable(const pl_http_header_t *h, size_t *name_len,
                              size_t *value_len) {
  *name_len = pl__http_token_len(h->name);
  if (*name_len == 0 || !h->value)
    return false;
  *value_len = strcspn(h->value, "\r\n");
  return h->value[*value_len] == '\0';
}

bool pl__http_submit_valid(const pl_http_request_t *request,
                           const pl_http_handlers_t *handlers) {
  return request && handlers && handlers->on_done && request->method &&
         request->url && pl__http_is_token(request->method) &&
         (request->body_len == 0 || request->body) &&
         (request->header_count == 0 || request->headers);
}
