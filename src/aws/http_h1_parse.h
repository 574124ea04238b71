/* The HTTP/1.1 response reader of the builtin client (http_h1.c): an
 * incremental parser fed the bytes of one connection as they arrive. It
 * reads the status line, the headers (names lower-cased), skips 1xx interim
 * answers, and delimits the body by Content-Length, chunked coding or the
 * end of the connection (RFC 9112, section 6.3). It holds no socket and
 * calls nothing but its body callback, so the fuzzer drives it directly
 * (tests/fuzz/fuzz_http_h1_parse.c). Internal to the AWS layer. */
#ifndef PL_AWS_HTTP_H1_PARSE_H
#define PL_AWS_HTTP_H1_PARSE_H

#include <pipelined/common.h>

#include "http.h"

/* The most a status line and its headers may take together: a hostile or
 * broken server must not make the reader hold unbounded text. */
#define PL_HTTP_H1_MAX_HEAD ((size_t)64 << 10)

typedef enum {
  PL_H1_STATUS,     /* reading the status line */
  PL_H1_HEADERS,    /* reading header lines */
  PL_H1_BODY,       /* Content-Length bytes left in `remaining` */
  PL_H1_CHUNK_SIZE, /* a chunk-size line */
  PL_H1_CHUNK_DATA, /* `remaining` bytes of a chunk */
  PL_H1_CHUNK_END,  /* the CRLF after a chunk's data */
  PL_H1_TRAILERS,   /* trailer lines after the last chunk (ignored) */
  PL_H1_UNTIL_EOF,  /* a body that ends with the connection */
  PL_H1_DONE,
} pl_h1_state_t;

/* Receives body bytes; returns 0 to go on or a negative PL_E* code, which
 * stops the parser and is returned by pl__http_h1_parse(). */
typedef int (*pl_h1_body_cb)(void *data, const char *bytes, size_t len);

typedef struct pl_http_h1_parser {
  pl_h1_state_t state;
  bool head;       /* the answer to a HEAD request: never a body */
  int status;      /* of the final (non-1xx) answer once headers are read */
  bool keep_alive; /* the connection may carry another request */
  bool headers_done;
  bool got_bytes;     /* any byte of the answer arrived */
  bool has_length;    /* a Content-Length header was read */
  bool chunked;       /* Transfer-Encoding ends with chunked */
  uint64_t length;    /* the Content-Length */
  uint64_t remaining; /* of the body or the current chunk */
  size_t head_bytes;  /* of the status line and headers so far */
  pl_buf_t line;      /* a line cut by the end of a read (owned) */
  pl_buf_t text;      /* "name\0value\0" of each header (owned) */
  size_t header_count;
  pl_http_header_t *headers; /* views into `text`, made when headers end */
  const char *error;         /* static text of the first malformation */
  pl_h1_body_cb on_body;
  void *data;
} pl_http_h1_parser_t;

/* Prepares a parser for one answer; `head`: the request was HEAD. */
void pl__http_h1_parser_init(pl_http_h1_parser_t *p, bool head,
                             pl_h1_body_cb on_body, void *data);
/* Frees what the parser holds (the header views included). */
void pl__http_h1_parser_free(pl_http_h1_parser_t *p);

/* Feeds `len` bytes. Returns 1 once the answer is complete, with *used the
 * bytes it took (what follows belongs to no request of ours), 0 when it
 * needs more, PL_EIO for a malformed answer (p->error says what), PL_ENOMEM,
 * or the negative code on_body returned. After headers_done, p->headers and
 * p->header_count hold the headers of the final answer. */
int pl__http_h1_parse(pl_http_h1_parser_t *p, const char *bytes, size_t len,
                      size_t *used);

/* The connection ended: 1 when that completes the answer (a body that runs
 * to the end of the connection), else PL_EIO. */
int pl__http_h1_parse_eof(pl_http_h1_parser_t *p);

#endif
