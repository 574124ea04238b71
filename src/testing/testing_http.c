/* The scripted HTTP/1.1 server of <pipelined/testing_http.h>. Each connection
 * parses requests in order (keep-alive and pipelining: several per connection),
 * with Content-Length or chunked bodies and "Expect: 100-continue", and
 * answers one request at a time from the queue.
 *
 * Every response also carries "X-Fake-Http-Connection: N", the 1-based
 * number of the accepted connection it went out on, so that tests can see
 * connection reuse from the client side.
 *
 * This is test code: an allocation failure aborts rather than being
 * threaded through every callback. */
#include <pipelined/testing_http.h>

#include "testing_http_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/common.h>

/* A request head larger than this is refused by closing the connection. */
enum { READ_CHUNK = 64 * 1024 };

typedef struct conn conn_t;

struct pl_test_http {
  uv_loop_t *loop;
  uv_tcp_t listener;
  int port;
  char url[40];
  pl_test_http_response_t *queue;
  size_t queue_len, queue_cap;
  pl_test_http_request_t **requests; /* one allocation each: pointers stay */
  size_t request_count, request_cap;
  conn_t *conns;
  unsigned accepted;
  unsigned open_handles;
  size_t unanswered; /* requests received whose answer has not started */
  bool closing;
};

struct conn {
  pl_test_http_t *server;
  conn_t *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t delay;
  unsigned id;
  unsigned open_handles;
  char *in;
  size_t in_len, in_cap;
  bool busy;    /* answering a request; later ones wait */
  bool stalled; /* a "hang" answer: nothing more is said */
  bool closing;
  bool continue_sent; /* "100 Continue" for the request being received */
  bool unanswered;    /* counted in server->unanswered */
  pl_test_http_response_t *answer; /* chosen, waiting for its delay */
  bool answer_head;
  bool close_after;
};

typedef struct out_write {
  uv_write_t req;
  conn_t *conn;
  bool close_after;
  bool interim; /* "100 Continue": says nothing about the answer */
  pl_buf_t bytes;
} out_write_t;

static void *must(void *p) {
  if (!p) {
    fputs("pl_test_http: out of memory\n", stderr);
    abort();
  }
  return p;
}

static char *dup_bytes(const char *bytes, size_t len) {
  char *copy = must(malloc(len + 1));
  if (len)
    memcpy(copy, bytes, len);
  copy[len] = '\0';
  return copy;
}

static char *dup_or_null(const char *text) {
  return text ? dup_bytes(text, strlen(text)) : NULL;
}

static void append(pl_buf_t *buf, const void *bytes, size_t len) {
  if (pl_buf_append(buf, bytes, len) < 0)
    must(NULL);
}

static void response_free(pl_test_http_response_t *r) {
  free((char *)r->method);
  free((char *)r->path_prefix);
  free((char *)r->headers);
  free((char *)r->body);
}

static void request_free(pl_test_http_request_t *r) {
  free(r->method);
  free(r->path);
  free(r->headers);
  free(r->body);
  free(r);
}

/* ---- Answering ---- */

static void conn_close(conn_t *c);
static void conn_process(conn_t *c);

static const char *reason(int status) {
  static const struct {
    int status;
    const char *text;
  } reasons[] = {
      {100, "Continue"},
      {200, "OK"},
      {201, "Created"},
      {204, "No Content"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {304, "Not Modified"},
      {307, "Temporary Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {413, "Content Too Large"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
    if (reasons[i].status == status)
      return reasons[i].text;
  return "Status";
}

static void on_written(uv_write_t *req, int status) {
  out_write_t *out = (out_write_t *)req;
  conn_t *c = out->conn;
  bool close_after = out->close_after;
  bool interim = out->interim;
  pl_buf_free(&out->bytes);
  free(out);
  /* Writes cancelled by a close report here before the close callback. */
  if (c->closing)
    return;
  if (status < 0 || close_after) {
    conn_close(c);
    return;
  }
  if (interim)
    return;
  c->busy = false;
  conn_process(c);
}

static void conn_write(conn_t *c, pl_buf_t *bytes, bool close_after,
                       bool interim) {
  out_write_t *out = must(calloc(1, sizeof *out));
  out->conn = c;
  out->close_after = close_after;
  out->interim = interim;
  out->bytes = *bytes;
  *bytes = (pl_buf_t){0};
  uv_buf_t buf = uv_buf_init(out->bytes.data, (unsigned)out->bytes.len);
  if (uv_write(&out->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0) {
    pl_buf_free(&out->bytes);
    free(out);
    conn_close(c);
  }
}

/* The request of `c` is answered (or never will be): it no longer counts
 * as one the server is busy with. */
static void conn_answered(conn_t *c) {
  if (!c->unanswered)
    return;
  c->unanswered = false;
  c->server->unanswered--;
}

static void conn_answer(conn_t *c) {
  pl_test_http_response_t *r = c->answer;
  c->answer = NULL;
  conn_answered(c);
  if (r && r->drop) {
    response_free(r);
    free(r);
    conn_close(c);
    return;
  }
  static const char unmatched[] = "pl_test_http: no queued response matches\n";
  int status = r ? r->status : 500;
  const char *body = r ? r->body : unmatched;
  size_t body_len = r ? r->body_len : sizeof unmatched - 1;
  const char *extra = r && r->headers ? r->headers : "";
  bool cut = r && r->cut_after > 0;
  bool stall = r && r->stall;
  bool may_have_body = status >= 200 && status != 204 && status != 304;
  pl_buf_t bytes = {0};
  if (pl_buf_printf(&bytes, "HTTP/1.1 %d %s\r\n", status, reason(status)) < 0)
    must(NULL);
  /* A scripted Content-Length wins (to lie about the length on purpose). */
  if (may_have_body &&
      !pl__http_case_contains(extra, strlen(extra), "content-length:"))
    if (pl_buf_printf(&bytes, "Content-Length: %zu\r\n", body_len) < 0)
      must(NULL);
  if (pl_buf_printf(&bytes, "%sX-Fake-Http-Connection: %u\r\n%s\r\n", extra,
                    c->id, c->close_after ? "Connection: close\r\n" : "") < 0)
    must(NULL);
  size_t send = body_len;
  if (cut && r->cut_after < send)
    send = r->cut_after;
  if (stall && r->stall_after < send)
    send = r->stall_after;
  if (may_have_body && !c->answer_head && send > 0)
    append(&bytes, body, send);
  if (r) {
    response_free(r);
    free(r);
  }
  /* Later requests on this connection wait forever, as after a hang. */
  if (stall)
    c->stalled = true;
  conn_write(c, &bytes, c->close_after || cut, false);
}

static void on_delay(uv_timer_t *timer) {
  conn_answer(timer->data);
}

/* Takes the first queued response that matches, or NULL. */
static pl_test_http_response_t *
take_response(pl_test_http_t *server, const pl_test_http_request_t *req) {
  for (size_t i = 0; i < server->queue_len; i++) {
    pl_test_http_response_t *r = &server->queue[i];
    if (r->method && strcmp(r->method, req->method) != 0)
      continue;
    if (r->path_prefix &&
        strncmp(req->path, r->path_prefix, strlen(r->path_prefix)) != 0)
      continue;
    pl_test_http_response_t *taken = must(malloc(sizeof *taken));
    *taken = *r;
    memmove(r, r + 1, (server->queue_len - i - 1) * sizeof *r);
    server->queue_len--;
    return taken;
  }
  return NULL;
}

static void record(pl_test_http_t *server, pl_test_http_request_t *req) {
  if (server->request_count == server->request_cap) {
    server->request_cap = server->request_cap ? server->request_cap * 2 : 16;
    server->requests = must(realloc(
        server->requests, server->request_cap * sizeof *server->requests));
  }
  server->requests[server->request_count++] = req;
}

/* Parses and answers buffered requests until one has to wait. */
static void conn_process(conn_t *c) {
  while (!c->busy && !c->stalled && !c->closing && c->in_len > 0) {
    pl__http_head_t info;
    int rc = pl__http_parse_head(c->in, c->in_len, &info);
    if (rc < 0 || (rc == 1 && info.has_length && info.chunked)) {
      conn_close(c);
      return;
    }
    if (rc == 0)
      return;
    pl_buf_t body = {0};
    size_t used = info.head_len;
    if (info.chunked) {
      size_t body_used = 0;
      rc = pl__http_parse_chunked(c->in + info.head_len,
                                  c->in_len - info.head_len, &body, &body_used);
      used += body_used;
    } else if (info.length > c->in_len - info.head_len) {
      rc = 0;
    } else {
      append(&body, c->in + info.head_len, (size_t)info.length);
      used += (size_t)info.length;
    }
    if (rc <= 0) {
      pl_buf_free(&body);
      if (rc < 0) {
        conn_close(c);
      } else if (info.expect_continue && !c->continue_sent) {
        c->continue_sent = true;
        pl_buf_t bytes = {0};
        append(&bytes, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        conn_write(c, &bytes, false, true);
      }
      return;
    }
    pl_test_http_request_t *req = must(calloc(1, sizeof *req));
    req->method = dup_bytes(c->in, info.method_len);
    req->path = dup_bytes(c->in + info.target_at, info.target_len);
    req->headers = dup_bytes(c->in + info.line_end + 2,
                             info.head_len - 2 - (info.line_end + 2));
    req->body_len = body.len;
    req->body = dup_bytes(body.data ? body.data : "", body.len);
    pl_buf_free(&body);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->continue_sent = false;
    c->unanswered = true;
    req->concurrent = ++c->server->unanswered;
    record(c->server, req);
    c->busy = true;
    c->close_after = info.close;
    c->answer_head = strcmp(req->method, "HEAD") == 0;
    c->answer = take_response(c->server, req);
    if (c->answer && c->answer->hang) {
      c->stalled = true;
      return;
    }
    if (c->answer && c->answer->delay_ms > 0) {
      uv_timer_start(&c->delay, on_delay, c->answer->delay_ms, 0);
      return;
    }
    conn_answer(c);
  }
}

/* ---- Connections ---- */

static void maybe_free_server(pl_test_http_t *server) {
  if (!server->closing || server->open_handles > 0)
    return;
  for (size_t i = 0; i < server->queue_len; i++)
    response_free(&server->queue[i]);
  free(server->queue);
  for (size_t i = 0; i < server->request_count; i++)
    request_free(server->requests[i]);
  free(server->requests);
  free(server);
}

static void on_conn_closed(uv_handle_t *handle) {
  conn_t *c = handle->data;
  pl_test_http_t *server = c->server;
  server->open_handles--;
  if (--c->open_handles == 0) {
    if (c->answer) {
      response_free(c->answer);
      free(c->answer);
    }
    free(c->in);
    free(c);
  }
  maybe_free_server(server);
}

static void conn_close(conn_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  conn_answered(c);
  if (c->prev)
    c->prev->next = c->next;
  else
    c->server->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->delay, on_conn_closed);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  conn_t *c = handle->data;
  if (c->in_cap - c->in_len < READ_CHUNK) {
    size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
    while (cap - c->in_len < READ_CHUNK)
      cap *= 2;
    c->in = must(realloc(c->in, cap));
    c->in_cap = cap;
  }
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = stream->data;
  if (nread < 0) {
    conn_close(c); /* EOF or error: the client is gone */
    return;
  }
  if (c->stalled) {
    return; /* a hung answer ignores whatever follows */
  }
  c->in_len += (size_t)nread;
  conn_process(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  pl_test_http_t *server = listener->data;
  if (status < 0 || server->closing)
    return;
  conn_t *c = must(calloc(1, sizeof *c));
  c->server = server;
  uv_tcp_init(server->loop, &c->tcp);
  uv_timer_init(server->loop, &c->delay);
  c->tcp.data = c;
  c->delay.data = c;
  c->open_handles = 2;
  server->open_handles += 2;
  c->next = server->conns;
  if (server->conns)
    server->conns->prev = c;
  server->conns = c;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  c->id = ++server->accepted;
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    conn_close(c);
}

/* ---- The API ---- */

static void on_listener_closed(uv_handle_t *handle) {
  pl_test_http_t *server = handle->data;
  server->open_handles--;
  maybe_free_server(server);
}

int pl_test_http_start(uv_loop_t *loop, pl_test_http_t **out) {
  *out = NULL;
  pl_test_http_t *server = must(calloc(1, sizeof *server));
  server->loop = loop;
  uv_tcp_init(loop, &server->listener);
  server->listener.data = server;
  server->open_handles = 1;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  int rc = uv_ip4_addr("127.0.0.1", 0, &addr);
  if (rc == 0)
    rc = uv_tcp_bind(&server->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server->listener, 128, on_connection);
  if (rc == 0)
    rc = uv_tcp_getsockname(&server->listener, (struct sockaddr *)&bound, &len);
  if (rc != 0) {
    /* Freed by the close callback when the loop runs. */
    server->closing = true;
    uv_close((uv_handle_t *)&server->listener, on_listener_closed);
    return PL_EIO;
  }
  server->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  snprintf(server->url, sizeof server->url, "http://127.0.0.1:%d",
           server->port);
  *out = server;
  return 0;
}

int pl_test_http_port(const pl_test_http_t *server) {
  return server->port;
}

const char *pl_test_http_url(const pl_test_http_t *server) {
  return server->url;
}

void pl_test_http_push(pl_test_http_t *server,
                       const pl_test_http_response_t *response) {
  if (server->queue_len == server->queue_cap) {
    server->queue_cap = server->queue_cap ? server->queue_cap * 2 : 8;
    server->queue =
        must(realloc(server->queue, server->queue_cap * sizeof *server->queue));
  }
  pl_test_http_response_t copy = *response;
  size_t body_len =
      response->body
          ? (response->body_len ? response->body_len : strlen(response->body))
          : 0;
  copy.method = dup_or_null(response->method);
  copy.path_prefix = dup_or_null(response->path_prefix);
  copy.headers = dup_or_null(response->headers);
  copy.body = dup_bytes(response->body ? response->body : "", body_len);
  copy.body_len = body_len;
  server->queue[server->queue_len++] = copy;
}

size_t pl_test_http_request_count(const pl_test_http_t *server) {
  return server->request_count;
}

const pl_test_http_request_t *pl_test_http_request(const pl_test_http_t *server,
                                                   size_t i) {
  return i < server->request_count ? server->requests[i] : NULL;
}

char *pl_test_http_request_header(const pl_test_http_request_t *request,
                                  const char *name) {
  size_t name_len = strlen(name);
  const char *line = request->headers;
  const char *end = line + strlen(line);
  while (line < end) {
    const char *eol = pl__http_find_crlf(line, (size_t)(end - line));
    if (!eol)
      eol = end;
    const char *colon = memchr(line, ':', (size_t)(eol - line));
    if (colon && (size_t)(colon - line) == name_len &&
        pl__http_case_equal_n(line, name, name_len)) {
      const char *value = colon + 1;
      const char *value_end = eol;
      while (value < value_end && (*value == ' ' || *value == '\t'))
        value++;
      while (value_end > value &&
             (value_end[-1] == ' ' || value_end[-1] == '\t'))
        value_end--;
      return dup_bytes(value, (size_t)(value_end - value));
    }
    line = eol + 2;
  }
  return NULL;
}

void pl_test_http_close(pl_test_http_t *server) {
  if (!server || server->closing)
    return;
  server->closing = true;
  uv_close((uv_handle_t *)&server->listener, on_listener_closed);
  while (server->conns)
    conn_close(server->conns);
}

void pl_test_http_push_status(pl_test_http_t *server, int status,
                              const char *body, size_t count) {
  for (size_t i = 0; i < count; i++)
    pl_test_http_push(
        server, &(pl_test_http_response_t){.status = status, .body = body});
}

json_t *pl_test_http_request_json(const pl_test_http_t *server, size_t i) {
  const pl_test_http_request_t *req = pl_test_http_request(server, i);
  return req ? json_loadb(req->body, req->body_len, JSON_DECODE_ANY, NULL)
             : NULL;
}
