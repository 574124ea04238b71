/* Parsing HTTP/1.1 requests for the scripted server of
 * <pipelined/testing_http.h>: request heads, chunked bodies, and the
 * case-insensitive matching of header names. */
#ifndef PL_TESTING_HTTP_PARSE_H
#define PL_TESTING_HTTP_PARSE_H

#include <pipelined/common.h>

/* A request head larger than this is refused. */
#define PL__HTTP_MAX_HEAD (64 * 1024)

/* What the server needs of a request head. */
typedef struct pl__http_head {
  size_t head_len; /* through the blank line */
  size_t line_end; /* end of the request line */
  size_t method_len;
  size_t target_at, target_len;
  bool has_length;
  unsigned long long length;
  bool chunked;
  bool expect_continue;
  bool close;
} pl__http_head_t;

/* Returns 1 with a complete head in *info, 0 when more bytes are needed,
 * -1 when the bytes are not an HTTP/1.x request. */
int pl__http_parse_head(const char *in, size_t len, pl__http_head_t *info);
/* Decodes a chunked body from bytes[0, len) into `body`. Returns 1 with
 * the body and the bytes used in *used, 0 for more bytes, -1 when
 * malformed. Aborts when memory runs out (test code). */
int pl__http_parse_chunked(const char *bytes, size_t len, pl_buf_t *body,
                           size_t *used);
/* The first CRLF in bytes[0, len), or NULL. */
const char *pl__http_find_crlf(const char *bytes, size_t len);
/* ASCII case-insensitive comparisons. */
bool pl__http_case_equal_n(const char *a, const char *b, size_t n);
bool pl__http_case_contains(const char *bytes, size_t len, const char *needle);

#endif
