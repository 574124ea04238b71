/* What the curl transport (http_curl.c), its per-request half
 * (http_curl_call.c) and its loop side (http_curl_socket.c) share: the
 * transport and call structures, and the call functions the transport
 * drives. Internal to the transport. */
#ifndef PL_AWS_HTTP_CURL_CALL_H
#define PL_AWS_HTTP_CURL_CALL_H

#include <pipelined/common.h>

#include "http.h"
#include "dlist.h"

#include "curl_api.h"

#include <curl/curl.h>

/* Easy handles kept for reuse: a small number covers the steady state of a
 * sink without holding memory for a burst that has passed. */
enum { FREE_EASY_MAX = 8 };

/* One host:port: how many of its calls are in the multi handle, and the
 * calls waiting for a slot, oldest first. Freed when both are empty. */
typedef struct http_host {
  struct http_host *next;
  size_t active;
  pl_dlist_t waiting; /* pl_http_call_t.node */
  char key[];
} http_host_t;

/* A socket libcurl asked us to watch, or a parked one: a pooled
 * connection's, kept between transfers (http_curl_socket.c). */
typedef struct http_socket {
  uv_poll_t poll;
  pl_http_curl_t *http;
  curl_socket_t fd;
  int events;  /* UV_READABLE | UV_WRITABLE polled now; 0: stopped */
  bool parked; /* no transfer owns it (after CURL_POLL_REMOVE) */
  pl_dlist_node_t node; /* in pl_http_curl_t.sockets */
} http_socket_t;

typedef enum { CALL_WAITING, CALL_RUNNING, CALL_DONE } call_state_t;

struct pl_http_call {
  pl_http_curl_t *http;
  http_host_t *host;           /* NULL once done */
  pl_dlist_node_t node;         /* in waiting, running or done */
  call_state_t state;
  pl_http_handlers_t handlers;
  /* The request, copied at submit into one block (owned): the texts and
   * the header list point into it. */
  char *block;
  const char *method;
  const char *url;
  struct curl_slist *headers;
  const char *body;
  size_t body_len;
  bool has_body;
  uint64_t timeout_ms;
  uint64_t connect_timeout_ms;
  uint64_t read_timeout_ms;  /* 0: no stall watchdog */
  size_t max_body;           /* of a buffered 2xx body */
  uint64_t last_progress_ms; /* loop time of the start, a resume or a byte */
  CURL *easy; /* while running */
  /* The response. */
  int status;
  int error;
  const char *error_text; /* errbuf, a static curl text, or NULL */
  pl_http_header_t *resp_headers; /* views into resp_header_text */
  char **resp_header_text;        /* owned: "name\0value\0" of each */
  size_t resp_header_count;
  size_t resp_header_cap;
  pl_buf_t resp_body;
  bool headers_done;
  bool out_of_memory;
  bool too_large;      /* a buffered 2xx body went past max_body */
  bool body_truncated; /* an error body was cut; the transfer was ended */
  /* Requests made while inside libcurl, applied by settle(). */
  bool cancel_requested;
  bool want_paused;
  bool curl_paused;
  /* Bytes libcurl will hand again after a pause that on_body has seen. */
  size_t redeliver;
  char errbuf[CURL_ERROR_SIZE];
};

struct pl_http_curl {
  uv_loop_t *loop;
  /* libcurl, opened with `multi` when the first call starts (most runs
   * never need it: the builtin client serves them). */
  pl_curl_api_t curl;
  CURLM *multi;           /* NULL until then */
  char *start_error;      /* why libcurl could not be started, or NULL */
  char *library;          /* the libcurl to open; NULL: PL_CURL_SONAME */
  uv_timer_t timer;  /* libcurl's timeout */
  uv_prepare_t kick; /* libcurl's timeout of 0, before the loop polls */
  uv_idle_t deliver; /* runs on_done of finished calls */
  uv_timer_t watchdog; /* ends stalled downloads (read_timeout_ms) */
  pl_http_transport_t vtable;
  bool tls_verify;
  size_t max_in_flight; /* 0: no limit */
  char *ca_file;
  http_host_t *hosts;
  /* The URL of the last request and its host: the next request almost
   * always goes to the same one, without parsing its URL again. */
  char *last_url;
  http_host_t *last_host;
  pl_dlist_t running; /* pl_http_call_t.node */
  size_t running_count;
  long max_connects; /* CURLMOPT_MAXCONNECTS, raised with running_count */
  pl_dlist_t done;    /* pl_http_call_t.node */
  pl_dlist_t sockets; /* http_socket_t.node */
  CURL *free_easy[FREE_EASY_MAX];
  size_t free_easy_count;
  unsigned in_curl;
  bool delivering;
  bool close_pending; /* close() was called inside libcurl */
  bool closing;       /* close_now() ran: no more requests */
  bool deliver_closing;
  unsigned handles_open;
  void (*closed)(void *data);
  void *closed_data;
};

/* ---- Small helpers ---- */

/* A malloc'd copy of text, or NULL. */
char *pl__http_curl_call_dup_str(const char *text);

/* ---- Calls ---- */

/* Copies the request into the call, in one block (method, URL, body,
 * libcurl's header list); PL_EINVAL for a header libcurl cannot send as
 * given, PL_ENOMEM. */
int pl__http_curl_call_copy_request(pl_http_call_t *call,
                                    const pl_http_request_t *request);

/* Sets every option of call->easy for the call, callbacks included. */
CURLcode pl__http_curl_call_configure(pl_http_curl_t *http,
                                      pl_http_call_t *call);

/* The loop time at which the stall watchdog ends the running call, or
 * UINT64_MAX when it has no read timeout or is paused: a pause is the
 * consumer's backpressure, not a stalled server. */
uint64_t pl__http_curl_call_stall_deadline(const pl_http_call_t *call);

/* The response so far; `final` once the body is complete (on_done). */
pl_http_response_t pl__http_curl_call_response(const pl_http_call_t *call,
                                               bool final);

/* Frees the call with its request copy and response. */
void pl__http_curl_call_free(pl_http_call_t *call);

#endif
