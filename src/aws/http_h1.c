/* The builtin HTTP/1.1 client (http_h1.h): the transport vtable, the
 * request each call writes, the relay to the fallback transport, the
 * timeouts (one watchdog timer for every call) and the delivery of on_done
 * from the loop, never from inside submit. Connections and pools are in
 * http_h1_conn.c, the response parser in http_h1_parse.c. */
#include "http_h1.h"
#include "http_h1_conn.h"
#include "http_h1_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t DEFAULT_CONNECT_TIMEOUT_MS = 10000;

static void call_free(h1_call_t *call) {
  pl_buf_free(&call->request);
  pl_buf_free(&call->body);
  pl_buf_free(&call->undelivered);
  pl_buf_free(&call->unread);
  pl__http_h1_parser_free(&call->parser);
  free(call);
}

/* ---- Ending calls and delivering on_done ---- */

static void on_deliver(uv_idle_t *idle);
static void on_deliver_now(uv_check_t *check);

void pl__http_h1_call_finish(h1_call_t *call, int error) {
  pl_http_h1_t *h1 = call->h1;
  if (call->state == H1_CALL_DONE || call->state == H1_CALL_RELAYED)
    return;
  if (call->state == H1_CALL_RESOLVING) {
    pl__dlist_remove(&call->pool->resolving, &call->wait_node);
  }
  if (call->resuming) {
    pl__dlist_remove(&h1->resuming, &call->resume_node);
    call->resuming = false;
  }
  /* A call that ends while on a connection leaves it mid-exchange. */
  if (call->conn)
    pl__http_h1_conn_close(call->conn);
  if (call->too_large && error == PL_ERANGE) {
    pl__http_too_large_text(call->max_body, call->errbuf, sizeof call->errbuf);
    call->error_text = call->errbuf;
  }
  pl__dlist_remove(&h1->calls, &call->node);
  call->error = error;
  call->state = H1_CALL_DONE;
  pl__dlist_push(&h1->done, &call->node);
  uv_idle_start(&h1->deliver, on_deliver);
  uv_check_start(&h1->deliver_now, on_deliver_now);
}

void pl__http_h1_maybe_free(pl_http_h1_t *h1) {
  if (!h1->closing || h1->handles_open > 0 || h1->resolvers_open > 0)
    return;
  void (*closed)(void *) = h1->closed;
  void *data = h1->closed_data;
  pl__tls_context_free(h1->tls_ctx);
  free(h1->ca_file);
  free(h1);
  if (closed)
    closed(data);
}

static void on_core_closed(uv_handle_t *handle) {
  pl_http_h1_t *h1 = handle->data;
  h1->handles_open--;
  pl__http_h1_maybe_free(h1);
}

static void maybe_close_deliver(pl_http_h1_t *h1) {
  if (!h1->closing || h1->deliver_closing || h1->delivering ||
      !pl__dlist_empty(&h1->done) || !pl__dlist_empty(&h1->resuming))
    return;
  h1->deliver_closing = true;
  uv_close((uv_handle_t *)&h1->deliver, on_core_closed);
  uv_close((uv_handle_t *)&h1->deliver_now, on_core_closed);
}

/* Delivers every finished call, from either handle: after the poll whose
 * I/O ended them (the check), so that the caller's next requests leave in
 * the same turn, or before the next poll (the idle) for the calls ended by
 * a timer or inside submit. Resumed calls go on first: one that ends joins
 * the finished. */
static void deliver(pl_http_h1_t *h1) {
  if (h1->delivering)
    return;
  h1->delivering = true;
  /* on_body and on_done may submit, pause, resume, cancel or close: calls
   * they resume or end join the lists and are served in the same pass. */
  for (;;) {
    h1_call_t *call = pl_dlist_first(&h1->resuming, h1_call_t, resume_node);
    if (call) {
      pl__dlist_remove(&h1->resuming, &call->resume_node);
      call->resuming = false;
      pl__http_h1_conn_resume(call);
      continue;
    }
    if (!(call = pl_dlist_first(&h1->done, h1_call_t, node)))
      break;
    pl__dlist_remove(&h1->done, &call->node);
    bool whole = call->error == 0 && call->parser.headers_done;
    /* A streamed 2xx body went to on_body: none is buffered. */
    bool buffered = whole && !(call->streamed && call->parser.status < 300);
    pl_http_response_t response = {
        .status = whole ? call->parser.status : 0,
        .error = call->error,
        .error_text = call->error == 0 ? NULL : call->error_text,
        .headers = call->parser.headers_done ? call->parser.headers : NULL,
        .header_count =
            call->parser.headers_done ? call->parser.header_count : 0,
        .body = buffered ? (call->body.data ? call->body.data : "") : NULL,
        .body_len = buffered ? call->body.len : 0,
        .body_truncated = whole && call->body_truncated,
        .resent = call->retried,
    };
    call->handlers.on_done(call->handlers.data, &response);
    call_free(call);
  }
  h1->delivering = false;
  uv_idle_stop(&h1->deliver);
  uv_check_stop(&h1->deliver_now);
  maybe_close_deliver(h1);
}

static void on_deliver(uv_idle_t *idle) { deliver(idle->data); }

static void on_deliver_now(uv_check_t *check) { deliver(check->data); }

/* ---- Timeouts ---- */

typedef enum { LIMIT_NONE, LIMIT_WHOLE, LIMIT_CONNECT, LIMIT_READ } limit_t;

static void consider(uint64_t *first, limit_t *which, uint64_t start,
                     uint64_t ms, limit_t kind) {
  if (ms == 0 || ms > UINT64_MAX - start)
    return;
  if (start + ms < *first) {
    *first = start + ms;
    *which = kind;
  }
}

/* The earliest loop time at which `call` times out, and which limit. */
static uint64_t call_deadline(const h1_call_t *call, limit_t *which) {
  uint64_t first = UINT64_MAX;
  *which = LIMIT_NONE;
  consider(&first, which, call->started_ms, call->timeout_ms, LIMIT_WHOLE);
  const h1_conn_t *conn = call->conn;
  /* Connecting includes the TLS handshake, as libcurl counts it. */
  if (conn && (!conn->connected ||
               (conn->tls && !pl__tls_established(conn->tls))))
    consider(&first, which, conn->connect_started_ms, call->connect_timeout_ms,
             LIMIT_CONNECT);
  else if (conn && !call->paused) /* time paused is not a stall */
    consider(&first, which, call->last_progress_ms, call->read_timeout_ms,
             LIMIT_READ);
  return first;
}

static void on_watchdog(uv_timer_t *timer);

/* Makes the watchdog fire no later than `deadline`. A deadline only moves
 * later (a byte read, a connection made), so a timer that fires early
 * finds nothing and re-arms. */
static void watchdog_at(pl_http_h1_t *h1, uint64_t deadline) {
  if (deadline == UINT64_MAX || h1->closing)
    return;
  uint64_t now = uv_now(h1->loop);
  uint64_t in = deadline > now ? deadline - now : 0;
  if (uv_is_active((uv_handle_t *)&h1->watchdog) &&
      uv_timer_get_due_in(&h1->watchdog) <= in)
    return;
  uv_timer_start(&h1->watchdog, on_watchdog, in, 0);
}

void pl__http_h1_call_rearm(h1_call_t *call) {
  limit_t which;
  watchdog_at(call->h1, call_deadline(call, &which));
}

static void time_out(h1_call_t *call, limit_t which, uint64_t now) {
  const char *addr = call->conn ? call->conn->addr : call->pool->host;
  switch (which) {
  case LIMIT_CONNECT:
    if (call->conn && call->conn->connected)
      snprintf(call->errbuf, sizeof call->errbuf,
               "TLS handshake with %s: timed out after %llu ms", addr,
               (unsigned long long)call->connect_timeout_ms);
    else
      snprintf(call->errbuf, sizeof call->errbuf,
               "connect to %s: timed out after %llu ms", addr,
               (unsigned long long)call->connect_timeout_ms);
    break;
  case LIMIT_READ:
    snprintf(call->errbuf, sizeof call->errbuf,
             "no data received for %llu ms from %s",
             (unsigned long long)(now - call->last_progress_ms), addr);
    break;
  default:
    snprintf(call->errbuf, sizeof call->errbuf,
             "timed out after %llu ms waiting for %s",
             (unsigned long long)call->timeout_ms, addr);
    break;
  }
  call->error_text = call->errbuf;
  pl__http_h1_call_finish(call, PL_EAGAIN);
}

static void on_watchdog(uv_timer_t *timer) {
  pl_http_h1_t *h1 = timer->data;
  uint64_t now = uv_now(h1->loop), next = UINT64_MAX;
  for (pl_dlist_node_t *n = h1->calls.head; n;) {
    pl_dlist_node_t *following = n->next;
    h1_call_t *call = pl_dlist_entry(n, h1_call_t, node);
    limit_t which;
    uint64_t deadline = call_deadline(call, &which);
    if (deadline <= now)
      time_out(call, which, now);
    else if (deadline < next)
      next = deadline;
    n = following;
  }
  watchdog_at(h1, next);
}

/* ---- The request ---- */

/* Copies `len` bytes to `w`; returns the end. */
static char *put(char *w, const void *data, size_t len) {
  memcpy(w, data, len);
  return w + len;
}

/* Writes the request line, the headers and the body into call->request:
 * the Host header unless the caller gave one (a signed request does), and
 * Content-Length for the methods that carry a body, as libcurl sends them.
 * PL_EINVAL for a header that cannot be sent as given. Each header is
 * checked and measured in one pass, then everything is copied into room
 * reserved once (the names and values measured again as they go). */
static int build_request(h1_call_t *call, const pl_http_request_t *request) {
  const char *target = request->url + call->pool->key_len;
  bool slash = *target != '/';
  bool has_body = request->body_len > 0 ||
                  strcmp(request->method, "POST") == 0 ||
                  strcmp(request->method, "PUT") == 0 ||
                  strcmp(request->method, "PATCH") == 0;
  /* A blank or a line break in the target would end the request line. */
  if (strpbrk(target, " \t\r\n"))
    return PL_EINVAL;
  size_t method_len = strlen(request->method), target_len = strlen(target);
  /* The fixed texts take at most 64 bytes: the request line's 13, Host's
   * 8, Content-Length's 38 and the blank line's 2. */
  size_t size =
      method_len + target_len + 64 + call->pool->key_len + request->body_len;
  bool has_host = false, has_length = false;
  for (size_t i = 0; i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    size_t name_len, value_len;
    if (!pl__http_header_sendable(h, &name_len, &value_len))
      return PL_EINVAL;
    has_host =
        has_host || (name_len == 4 && pl__http_case_equal(h->name, "host"));
    has_length = has_length || (name_len == 14 &&
                                pl__http_case_equal(h->name, "content-length"));
    size += name_len + value_len + 4;
  }
  pl_buf_t *b = &call->request;
  if (pl_buf_reserve(b, size) < 0)
    return PL_ENOMEM;
  char *w = b->data + b->len;
  w = put(w, request->method, method_len);
  w = put(w, slash ? " /" : " ", slash ? 2 : 1);
  w = put(w, target, target_len);
  w = put(w, " HTTP/1.1\r\n", 11);
  if (!has_host) {
    w = put(w, "Host: ", 6);
    w = put(w, call->pool->key + call->pool->scheme_len,
            call->pool->key_len - call->pool->scheme_len);
    w = put(w, "\r\n", 2);
  }
  for (size_t i = 0; i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    size_t value_len = strlen(h->value);
    w = put(w, h->name, strlen(h->name));
    w = put(w, value_len ? ": " : ":", value_len ? 2 : 1);
    w = put(w, h->value, value_len);
    w = put(w, "\r\n", 2);
  }
  b->len = (size_t)(w - b->data);
  /* Every append fits in the reservation above, so none can fail. */
  if (has_body && !has_length) {
    pl_buf_append(b, "Content-Length: ", 16);
    pl_buf_append_int(b, (long long)request->body_len);
    pl_buf_append(b, "\r\n", 2);
  }
  pl_buf_append(b, "\r\n", 2);
  if (request->body_len)
    pl_buf_append(b, request->body, request->body_len);
  return 0;
}

/* Buffers a piece of the body within the limits of http.h: past the limit
 * of a 2xx body the call fails; of an error body the head is all the error
 * parser needs, so the rest is not read (the connection is closed). */
/* The most take_body() reserves for a body before its bytes come. */
#define BODY_ROOM_AHEAD_MAX ((uint64_t)1 << 20)

/* A piece of a streamed 2xx body: to on_body (on_headers first), or held
 * while the call is paused. Returns 0, H1_BODY_PAUSED when the call is
 * paused now, or PL_ECANCELED when a callback ended the call. */
static int stream_body(h1_call_t *call, const char *bytes, size_t len) {
  if (!call->headers_told) {
    pl__http_h1_tell_headers(call);
    if (call->state != H1_CALL_RUNNING || !call->conn)
      return PL_ECANCELED;
  }
  if (call->paused)
    return pl_buf_append(&call->undelivered, bytes, len) < 0 ? PL_ENOMEM
                                                             : H1_BODY_PAUSED;
  if (!call->handlers.on_body(call->handlers.data, bytes, len))
    pl__http_h1_conn_pause(call);
  if (call->state != H1_CALL_RUNNING || !call->conn)
    return PL_ECANCELED;
  return call->paused ? H1_BODY_PAUSED : 0;
}

static int take_body(void *data, const char *bytes, size_t len) {
  h1_call_t *call = data;
  bool error_body = call->parser.status >= 300;
  if (call->streamed && !error_body)
    return stream_body(call, bytes, len);
  size_t cap = error_body ? PL_HTTP_MAX_ERROR_BODY : call->max_body;
  size_t room = cap - call->body.len;
  size_t keep = len < room ? len : room;
  /* The body's room at once when its length was declared, rather than
   * doubling from 64 bytes (a receive of ten messages took eight
   * reallocations); at most 1 MiB before the bytes come, whatever a
   * server declares. */
  if (call->body.cap == 0 && call->parser.has_length) {
    uint64_t room_ahead = call->parser.length;
    if (room_ahead > cap)
      room_ahead = cap;
    if (room_ahead > BODY_ROOM_AHEAD_MAX)
      room_ahead = BODY_ROOM_AHEAD_MAX;
    if (pl_buf_reserve(&call->body, (size_t)room_ahead) < 0)
      return PL_ENOMEM;
  }
  if (keep > 0 && pl_buf_append(&call->body, bytes, keep) < 0)
    return PL_ENOMEM;
  if (keep == len)
    return 0;
  if (error_body) {
    call->body_truncated = true;
    return PL_ECANCELED;
  }
  call->too_large = true;
  return PL_ERANGE;
}

/* ---- Relaying to the fallback ---- */

static void relay_headers(void *data, const pl_http_response_t *response) {
  h1_call_t *call = data;
  if (call->handlers.on_headers)
    call->handlers.on_headers(call->handlers.data, response);
}

static bool relay_body(void *data, const char *bytes, size_t len) {
  h1_call_t *call = data;
  return call->handlers.on_body(call->handlers.data, bytes, len);
}

static void relay_done(void *data, const pl_http_response_t *response) {
  h1_call_t *call = data;
  call->handlers.on_done(call->handlers.data, response);
  free(call);
}

static int relay(pl_http_h1_t *h1, const pl_http_request_t *request,
                 const pl_http_handlers_t *handlers, pl_http_call_t **out) {
  h1_call_t *call = calloc(1, sizeof *call);
  if (!call)
    return PL_ENOMEM;
  call->state = H1_CALL_RELAYED;
  call->handlers = *handlers;
  call->fallback = h1->fallback;
  pl_http_handlers_t wrapped = {
      .on_headers = relay_headers,
      .on_body = handlers->on_body ? relay_body : NULL,
      .on_done = relay_done,
      .data = call,
  };
  int rc = pl__http_submit(h1->fallback, request, &wrapped, &call->relayed);
  if (rc < 0) {
    free(call);
    return rc;
  }
  if (out)
    *out = (pl_http_call_t *)(void *)call;
  return 0;
}

/* ---- The vtable ---- */

/* The TLS context, made at the first https request: loading the CAs takes
 * a moment, and a daemon that speaks only http never pays it. When it
 * cannot be made, libcurl takes https instead (it reports its own error
 * if the CAs are really unusable). */
static bool tls_ready(pl_http_h1_t *h1) {
  if (h1->tls_ctx || h1->tls_failed)
    return h1->tls_ctx != NULL;
  char *error = NULL;
  if (pl__tls_context_create(h1->tls_verify, h1->ca_file, &h1->tls_ctx,
                             &error) < 0) {
    h1->tls_ctx = NULL;
    h1->tls_failed = true;
  }
  free(error);
  return h1->tls_ctx != NULL;
}

static int h1_submit(void *self, const pl_http_request_t *request,
                     const pl_http_handlers_t *handlers, pl_http_call_t **out) {
  pl_http_h1_t *h1 = self;
  if (!pl__http_submit_valid(request, handlers))
    return PL_EINVAL;
  if (h1->closing)
    return PL_ECANCELED;
  if (request->body_len > PL_HTTP_H1_MAX_REQUEST_BODY)
    return relay(h1, request, handlers, out);
  h1_pool_t *pool = NULL;
  int rc = pl__http_h1_pool_find(h1, request->url, &pool);
  if (rc == 0 && pool->tls && !tls_ready(h1))
    rc = PL_ENOENT;
  if (rc == PL_ENOENT)
    return relay(h1, request, handlers, out);
  if (rc < 0)
    return rc;
  h1_call_t *call = calloc(1, sizeof *call);
  if (!call)
    return PL_ENOMEM;
  call->h1 = h1;
  call->pool = pool;
  call->handlers = *handlers;
  call->streamed = handlers->on_body != NULL;
  call->head = strcmp(request->method, "HEAD") == 0;
  call->timeout_ms = request->timeout_ms;
  call->connect_timeout_ms = request->connect_timeout_ms
                                 ? request->connect_timeout_ms
                                 : DEFAULT_CONNECT_TIMEOUT_MS;
  call->read_timeout_ms = request->read_timeout_ms;
  call->max_body = request->max_body ? request->max_body : PL_HTTP_MAX_BODY;
  pl__http_h1_parser_init(&call->parser, call->head, take_body, call);
  rc = build_request(call, request);
  if (rc < 0) {
    call_free(call);
    return rc;
  }
  call->started_ms = uv_now(h1->loop);
  call->state = H1_CALL_RUNNING;
  pl__dlist_push(&h1->calls, &call->node);
  uint64_t first = UINT64_MAX;
  limit_t which = LIMIT_NONE;
  consider(&first, &which, call->started_ms, call->timeout_ms, LIMIT_WHOLE);
  consider(&first, &which, call->started_ms, call->connect_timeout_ms,
           LIMIT_CONNECT);
  watchdog_at(h1, first);
  if (out)
    *out = (pl_http_call_t *)(void *)call;
  /* A failure here ends the call through the deferred on_done. */
  pl__http_h1_conn_start(call);
  return 0;
}

static void h1_pause(void *self, pl_http_call_t *opaque) {
  (void)self;
  h1_call_t *call = (h1_call_t *)(void *)opaque;
  if (call && call->state == H1_CALL_RELAYED && call->fallback->pause)
    call->fallback->pause(call->fallback->self, call->relayed);
  /* A buffered call has no body to hold back. */
  else if (call && call->streamed &&
           (call->state == H1_CALL_RUNNING || call->state == H1_CALL_RESOLVING))
    pl__http_h1_conn_pause(call);
}

/* Resumes from the loop, not from inside this call: the caller may be in
 * on_body of another call, or hold state that on_body would change. */
static void h1_resume(void *self, pl_http_call_t *opaque) {
  pl_http_h1_t *h1 = self;
  h1_call_t *call = (h1_call_t *)(void *)opaque;
  if (call && call->state == H1_CALL_RELAYED && call->fallback->resume) {
    call->fallback->resume(call->fallback->self, call->relayed);
    return;
  }
  if (!call || !call->paused ||
      (call->state != H1_CALL_RUNNING && call->state != H1_CALL_RESOLVING))
    return;
  call->paused = false;
  /* Time paused is not a stall: the read clock starts again now, not at
   * the deliver pass (a watchdog may run before it). */
  call->last_progress_ms = uv_now(h1->loop);
  if (!call->resuming) {
    call->resuming = true;
    pl__dlist_push(&h1->resuming, &call->resume_node);
    uv_idle_start(&h1->deliver, on_deliver);
  }
}

static void h1_cancel(void *self, pl_http_call_t *opaque) {
  (void)self;
  h1_call_t *call = (h1_call_t *)(void *)opaque;
  if (!call || call->state == H1_CALL_DONE)
    return;
  if (call->state == H1_CALL_RELAYED) {
    call->fallback->cancel(call->fallback->self, call->relayed);
    return;
  }
  pl__http_h1_call_finish(call, PL_ECANCELED);
}

int pl__http_h1_create(uv_loop_t *loop, const pl_http_h1_options_t *opts,
                       pl_http_h1_t **out) {
  if (!loop || !opts || !opts->fallback || !out)
    return PL_EINVAL;
  *out = NULL;
  pl_http_h1_t *h1 = calloc(1, sizeof *h1);
  if (!h1)
    return PL_ENOMEM;
  if (opts->ca_file && !(h1->ca_file = strdup(opts->ca_file))) {
    free(h1);
    return PL_ENOMEM;
  }
  h1->loop = loop;
  h1->fallback = opts->fallback;
  h1->tls_verify = opts->tls_verify;
  uv_idle_init(loop, &h1->deliver);
  h1->deliver.data = h1;
  uv_check_init(loop, &h1->deliver_now);
  h1->deliver_now.data = h1;
  uv_timer_init(loop, &h1->watchdog);
  h1->watchdog.data = h1;
  h1->handles_open = 3;
  h1->vtable = (pl_http_transport_t){
      .self = h1,
      .submit = h1_submit,
      .pause = h1_pause,
      .resume = h1_resume,
      .cancel = h1_cancel,
  };
  *out = h1;
  return 0;
}

const pl_http_transport_t *pl__http_h1_transport(pl_http_h1_t *h1) {
  return &h1->vtable;
}

void pl__http_h1_close(pl_http_h1_t *h1, void (*closed)(void *data),
                       void *data) {
  if (!h1 || h1->closing)
    return;
  h1->closing = true;
  h1->closed = closed;
  h1->closed_data = data;
  while (!pl__dlist_empty(&h1->calls))
    pl__http_h1_call_finish(pl_dlist_first(&h1->calls, h1_call_t, node),
                            PL_ECANCELED);
  while (!pl__dlist_empty(&h1->conns))
    pl__http_h1_conn_close(pl_dlist_first(&h1->conns, h1_conn_t, node));
  while (h1->pools) {
    h1_pool_t *next = h1->pools->next;
    pl__http_h1_pool_free(h1->pools);
    h1->pools = next;
  }
  uv_close((uv_handle_t *)&h1->watchdog, on_core_closed);
  maybe_close_deliver(h1);
}
