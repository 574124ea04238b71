/* A scripted HTTP/1.1 server on a loopback port, driven by the test's own
 * libuv loop (part of libpipelined-testing, <pipelined/testing.h>): a
 * plugin that talks HTTP (an AWS plugin through libpipelined-aws, or its
 * own client) is tested through real sockets without leaving the machine.
 *
 * Responses are queued; each request takes the first queued response whose
 * method and path prefix match (NULL matches anything). With nothing
 * queued a request gets 500. Requests are recorded for assertions.
 * Connections keep alive; bodies may be sized or chunked; "Expect:
 * 100-continue" is answered. Every response carries
 * "X-Fake-Http-Connection: N", the 1-based number of the connection it
 * went out on, so that a test sees connection reuse.
 *
 * This is test code: an allocation failure aborts the process rather
 * than being threaded through every callback. */
#ifndef PIPELINED_TESTING_HTTP_H
#define PIPELINED_TESTING_HTTP_H

#include <jansson.h>
#include <pipelined/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct pl_test_http pl_test_http_t;

typedef struct pl_test_http_response {
  const char *method;      /* match: "PUT", or NULL for any */
  const char *path_prefix; /* match: "/latest/api/token", or NULL */
  int status;
  const char *headers; /* extra "Name: value\r\n" lines, or NULL */
  const char *body;    /* NULL: empty */
  size_t body_len;     /* 0: strlen(body) */
  unsigned delay_ms;   /* wait before answering */
  bool hang;           /* never answer (timeouts) */
  bool drop;           /* close the connection without answering */
  size_t cut_after;    /* >0: send headers and this many body bytes of
                          the announced Content-Length, then close */
  bool stall;          /* send headers and the first stall_after body
                          bytes, then nothing more; the connection
                          stays open (a stalled download) */
  size_t stall_after;
} pl_test_http_response_t;

/* A request the server received, owned by the server. */
typedef struct pl_test_http_request {
  char *method;
  char *path;    /* with the query */
  char *headers; /* raw header lines, names as sent */
  char *body;    /* NUL-terminated after body_len bytes */
  size_t body_len;
  /* Requests the server had received and not yet begun to answer when
   * this one arrived, itself included (its delay_ms counts as not
   * answered): how many a client had in flight at once. */
  size_t concurrent;
} pl_test_http_request_t;

/* Listens on 127.0.0.1 on a free port, on `loop` (borrowed: it must
 * outlive the server). Returns 0 and the new server in *out, or PL_EIO
 * (nothing to free; the loop must still run once to release a socket). */
PL_EXTERN int pl_test_http_start(uv_loop_t *loop, pl_test_http_t **out);
PL_EXTERN int pl_test_http_port(const pl_test_http_t *server);
/* "http://127.0.0.1:PORT" (borrowed for the server's life). */
PL_EXTERN const char *pl_test_http_url(const pl_test_http_t *server);
/* Queues a response; `response` and its texts are copied. */
PL_EXTERN void pl_test_http_push(pl_test_http_t *server,
                                 const pl_test_http_response_t *response);
/* Queues `count` plain answers of `status` with `body` (NULL: empty). */
PL_EXTERN void pl_test_http_push_status(pl_test_http_t *server, int status,
                                        const char *body, size_t count);
PL_EXTERN size_t pl_test_http_request_count(const pl_test_http_t *server);
/* The i-th request received (borrowed for the server's life), or NULL. */
PL_EXTERN const pl_test_http_request_t *
pl_test_http_request(const pl_test_http_t *server, size_t i);
/* The body of the i-th request parsed as JSON (new reference), or NULL
 * when there is no such request or its body is not JSON. */
PL_EXTERN json_t *pl_test_http_request_json(const pl_test_http_t *server,
                                            size_t i);
/* The value of a header of a recorded request (case-insensitive), as a
 * new malloc()ed string, or NULL when the request has none. */
PL_EXTERN char *
pl_test_http_request_header(const pl_test_http_request_t *request,
                            const char *name);
/* Closes every handle; the server is freed once the loop has run the
 * close callbacks (so: before the loop's last run). NULL is allowed. */
PL_EXTERN void pl_test_http_close(pl_test_http_t *server);

#endif
