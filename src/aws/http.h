/* HTTP for the AWS layer: requests on one libuv loop through a transport
 * vtable. The real transports are the builtin HTTP/1.1 client (http_h1.c)
 * and libcurl's multi interface driven by the loop (http_curl.c), libcurl
 * opened at its first call; unit tests inject a scripted one
 * (HACKING.md#s12). */
#ifndef PL_AWS_HTTP_H
#define PL_AWS_HTTP_H

#include <pipelined/common.h>
#include <uv.h>

typedef struct pl_http_header {
  const char *name;
  const char *value;
} pl_http_header_t;

/* A request. Everything is borrowed for the pl_http_submit() call only:
 * the transport copies what it keeps (URL, headers, body). */
typedef struct pl_http_request {
  const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
  const char *url;    /* absolute, query included, already encoded */
  const pl_http_header_t *headers;
  size_t header_count;
  const void *body;
  size_t body_len;
  uint64_t timeout_ms;         /* whole request, 0: none */
  uint64_t connect_timeout_ms; /* 0: the transport's default (10 s) */
  /* The stall limit of a download: when no byte of the response arrives
   * for this long while the caller has not paused the transfer, the call
   * ends with PL_EAGAIN. Time paused (backpressure) does not count, so a
   * slow consumer never looks like a stalled server. Only received bytes
   * count: meant for downloads, not for long uploads. 0: none. */
  uint64_t read_timeout_ms;
  /* The most a buffered 2xx body may have; 0: PL_HTTP_MAX_BODY. */
  size_t max_body;
} pl_http_request_t;

/* What the transport buffers of one response. A broken or hostile endpoint
 * could otherwise send a body that takes the process's memory: a buffered
 * 2xx body (one the caller parses) past PL_HTTP_MAX_BODY (or the request's
 * max_body) fails the call with PL_ERANGE, and of an error body the first
 * PL_HTTP_MAX_ERROR_BODY
 * bytes are kept (enough for any AWS error document) and the rest is not
 * read. Streamed 2xx bodies are not buffered and have no such limit. */
#define PL_HTTP_MAX_BODY ((size_t)8 << 20)
#define PL_HTTP_MAX_ERROR_BODY ((size_t)64 << 10)

/* What came back. Borrowed for the callback it is passed to. */
typedef struct pl_http_response {
  int status;  /* HTTP status; 0 when the request failed in transport */
  int error;   /* 0, or a negative PL_E* code for a transport failure
                  (PL_EIO connection/DNS/TLS, PL_EAGAIN timeout,
                  PL_ECANCELED cancelled, PL_ERANGE a 2xx body past
                  max_body, PL_ENOMEM) */
  const char *error_text;           /* curl's message, or NULL */
  const pl_http_header_t *headers;  /* names lower-cased */
  size_t header_count;
  const char *body; /* the whole body, NUL-terminated; NULL when streamed */
  size_t body_len;
  bool body_truncated; /* an error body cut at PL_HTTP_MAX_ERROR_BODY */
  /* The request went out twice: a reused connection closed without a byte
   * of the answer, and it was sent again on a new one (the server may have
   * done it the first time). */
  bool resent;
} pl_http_response_t;

typedef struct pl_http_call pl_http_call_t;

/* Callbacks of one request. on_done is required and runs exactly once
 * (also for cancellation, with error PL_ECANCELED), never from inside
 * submit. With on_body set a 2xx body is not buffered: it arrives in
 * pieces; returning false pauses the transfer (the piece is consumed) until
 * pl_http_resume(). The body of any other status is buffered and given to
 * on_done, for the error parser. on_headers, when set, runs once before
 * the body. */
typedef struct pl_http_handlers {
  void (*on_headers)(void *data, const pl_http_response_t *response);
  bool (*on_body)(void *data, const char *bytes, size_t len);
  void (*on_done)(void *data, const pl_http_response_t *response);
  void *data;
} pl_http_handlers_t;

/* A transport: the curl one, or a test's scripted one. */
typedef struct pl_http_transport {
  void *self;
  /* Starts (or queues, above max_in_flight) a request; *call (optional)
   * stays valid until on_done returns. Returns 0 or a PL_E* code, in which
   * case no callback runs. */
  int (*submit)(void *self, const pl_http_request_t *request,
                const pl_http_handlers_t *handlers, pl_http_call_t **call);
  void (*pause)(void *self, pl_http_call_t *call);
  void (*resume)(void *self, pl_http_call_t *call);
  void (*cancel)(void *self, pl_http_call_t *call);
} pl_http_transport_t;

static inline int pl__http_submit(const pl_http_transport_t *t,
                                  const pl_http_request_t *request,
                                  const pl_http_handlers_t *handlers,
                                  pl_http_call_t **call) {
  return t->submit(t->self, request, handlers, call);
}

/* ---- The curl transport ---- */

typedef struct pl_http_curl pl_http_curl_t;

typedef struct pl_http_curl_options {
  bool tls_verify;       /* false only with a logged warning by the caller */
  size_t max_in_flight;  /* per host:port; more requests wait in order */
  const char *ca_file;   /* NULL: the system's */
  /* The libcurl opened at the first call (curl_api.h); NULL: the one
   * pipelined was built with. Tests name one that is not there. */
  const char *library;
} pl_http_curl_options_t;

int pl__http_curl_create(uv_loop_t *loop, const pl_http_curl_options_t *opts,
                         pl_http_curl_t **out);
/* The vtable of this transport (borrowed, lives as long as it). */
const pl_http_transport_t *pl__http_curl_transport(pl_http_curl_t *http);
/* Cancels every request (on_done with PL_ECANCELED) and closes the
 * handles; `closed` runs once everything is freed. */
void pl__http_curl_close(pl_http_curl_t *http, void (*closed)(void *data),
                         void *data);

/* Writes into buf (cap bytes) the error text of a buffered 2xx body over
 * `max_body` bytes (PL_ERANGE), the same for every transport. */
void pl__http_too_large_text(size_t max_body, char *buf, size_t cap);

/* ASCII case-insensitive equality (a locale must not change how
 * "Content-Length" compares). */
bool pl__http_case_equal(const char *a, const char *b);

/* RFC 9110 token: what a header name or a method may hold (false for
 * NULL and ""). */
bool pl__http_is_token(const char *text);
/* The length of `text` when it is a token, else 0. */
size_t pl__http_token_len(const char *text);
/* Whether every transport sends header `h` as given: a name that is a
 * token, and a value (not NULL) without CR or LF, which would begin a
 * header of its own. Their lengths go to *name_len and *value_len. */
bool pl__http_header_sendable(const pl_http_header_t *h, size_t *name_len,
                              size_t *value_len);

/* What every transport's submit checks first (else PL_EINVAL): a request
 * and handlers with on_done, a method that is a token, a URL, and a body
 * and headers where their counts say so. */
bool pl__http_submit_valid(const pl_http_request_t *request,
                           const pl_http_handlers_t *handlers);

/* The value of header `name` (lower-case) in a response, or NULL. */
const char *pl__http_header(const pl_http_response_t *response,
                            const char *name);

#endif
