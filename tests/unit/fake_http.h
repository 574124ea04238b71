/* A scripted HTTP/1.1 server on a loopback port, driven by the test's own
 * libuv loop: tests of the AWS layer talk to it through real sockets.
 * Responses are queued; each request takes the first queued response whose
 * method and path prefix match (NULL matches anything). With nothing
 * queued a request gets 500. Requests are recorded for assertions. */
#ifndef PL_TEST_FAKE_HTTP_H
#define PL_TEST_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct fake_http fake_http_t;

typedef struct fake_http_response {
  const char *method;      /* match: "PUT", or NULL for any */
  const char *path_prefix; /* match: "/latest/api/token", or NULL */
  int status;
  const char *headers;     /* extra "Name: value\r\n" lines, or NULL */
  const char *body;        /* NULL: empty */
  size_t body_len;         /* 0: strlen(body) */
  unsigned delay_ms;       /* wait before answering */
  bool hang;               /* never answer (timeouts) */
  bool drop;               /* close the connection without answering */
  size_t cut_after;        /* >0: send headers and this many body bytes of
                              the announced Content-Length, then close */
  bool stall;              /* send headers and the first stall_after body
                              bytes, then nothing more; the connection
                              stays open (a stalled download) */
  size_t stall_after;
} fake_http_response_t;

typedef struct fake_http_request {
  char *method;
  char *path;    /* with the query */
  char *headers; /* raw header lines, names as sent */
  char *body;
  size_t body_len;
} fake_http_request_t;

/* Listens on 127.0.0.1 on a free port. */
int fake_http_start(uv_loop_t *loop, fake_http_t **out);
int fake_http_port(const fake_http_t *server);
/* "http://127.0.0.1:PORT" (borrowed). */
const char *fake_http_url(const fake_http_t *server);
/* Queues a response (copied). */
void fake_http_push(fake_http_t *server, const fake_http_response_t *response);
size_t fake_http_request_count(const fake_http_t *server);
/* The i-th request received (borrowed). */
const fake_http_request_t *fake_http_request(const fake_http_t *server,
                                             size_t i);
/* The value of a header of a recorded request (case-insensitive), as a
 * new string, or NULL. */
char *fake_http_request_header(const fake_http_request_t *request,
                               const char *name);
/* Closes every handle; frees once the loop ran the close callbacks. */
void fake_http_close(fake_http_t *server);

#endif
