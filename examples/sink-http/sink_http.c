/* sink-http: POSTs each batch as a JSON array to an HTTP endpoint (an
 * example plugin, built outside pipelined's tree; see README.md).
 *
 *   sink "http" { url = "http://127.0.0.1:8080/ingest" }
 *
 * A 2xx answer delivers the batch's records; a 4xx rejects them to the
 * dead letter with the status and the first line of the answer as the
 * reason; a 5xx, a timeout or a connection error fails them, and the core
 * retries the batch with backoff (retry_limit, retry_backoff). Each batch
 * goes on its own connection ("Connection: close") on the engine's loop:
 * nothing blocks. Plain http:// only: TLS is out of scope for an example
 * (put a local TLS proxy in front). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pipelined/pipelined.h>

/* The answer kept from the server: enough for the head and a reason. */
enum { MAX_ANSWER = 64 * 1024 };

typedef struct http_options {
  char *url;
  uint64_t timeout_ms;
} http_options_t;

static const pl_option_t http_options[] = {
    PL_OPTION_STRING(http_options_t, url, "url", NULL, PL_OPT_REQUIRED,
                     "Where to POST: http://host[:port][/path]."),
    PL_OPTION_DURATION(http_options_t, timeout_ms, "timeout", "10s", 0,
                       "The longest a request may take, connect included."),
};

typedef struct request request_t;

typedef struct http_sink {
  pl_instance_t *inst;
  const http_options_t *opts;
  char host[256]; /* as written in the URL, without [] */
  char port[8];
  char path[1024];
  request_t *requests; /* in flight */
  pl_complain_t failing;
} http_sink_t;

struct request {
  http_sink_t *sink;
  request_t *prev, *next;
  pl_batch_t *batch; /* NULL once resolved */
  uv_getaddrinfo_t resolve;
  bool resolving;
  uv_tcp_t tcp;
  bool tcp_open;
  uv_connect_t connect;
  uv_write_t write;
  uv_timer_t timer;
  bool timer_open;
  pl_buf_t out; /* the request */
  pl_buf_t in;  /* the answer */
  char chunk[16 * 1024];
};

/* ---- The URL ---- */

/* Copies `len` bytes of `text` into `out` (of `size`) as a string. */
static bool copy_part(char *out, size_t size, const char *text, size_t len) {
  if (len >= size)
    return false;
  memcpy(out, text, len);
  out[len] = '\0';
  return true;
}

/* Splits "http://host[:port][/path]" (an IPv6 host in brackets). */
static int parse_url(http_sink_t *s, const char *url) {
  static const char scheme[] = "http://";
  if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
    return PL_EINVAL;
  const char *host = url + sizeof(scheme) - 1;
  const char *path = host + strcspn(host, "/");
  const char *host_end = path, *port = NULL;
  if (host[0] == '[') {
    const char *close = memchr(host, ']', (size_t)(path - host));
    if (!close || (close + 1 < path && close[1] != ':'))
      return PL_EINVAL;
    host_end = close;
    port = close + 1 < path ? close + 2 : NULL;
    host++;
  } else {
    const char *colon = memchr(host, ':', (size_t)(path - host));
    if (colon) {
      host_end = colon;
      port = colon + 1;
    }
  }
  if (host_end == host || (port && port == path) ||
      !copy_part(s->host, sizeof(s->host), host, (size_t)(host_end - host)) ||
      !copy_part(s->port, sizeof(s->port), port ? port : "80",
                 port ? (size_t)(path - port) : 2) ||
      !copy_part(s->path, sizeof(s->path), *path ? path : "/",
                 *path ? strlen(path) : 1))
    return PL_EINVAL;
  return 0;
}

/* ---- One request ---- */

static void request_maybe_free(request_t *r) {
  if (r->batch || r->resolving || r->tcp_open || r->timer_open)
    return;
  pl_buf_free(&r->out);
  pl_buf_free(&r->in);
  free(r);
}

static void on_tcp_closed(uv_handle_t *handle) {
  request_t *r = handle->data;
  r->tcp_open = false;
  request_maybe_free(r);
}

static void on_timer_closed(uv_handle_t *handle) {
  request_t *r = handle->data;
  r->timer_open = false;
  request_maybe_free(r);
}

/* Resolves the batch with `result` (once), and closes the handles. */
static void request_finish(request_t *r, pl_result_t result,
                           const char *reason) {
  http_sink_t *s = r->sink;
  if (r->batch) {
    pl_batch_t *batch = r->batch;
    r->batch = NULL;
    if (result == PL_RESULT_DELIVERED) {
      pl_complain_release(s->inst, &s->failing, "POST to %s works again",
                          s->opts->url);
    } else {
      pl_instance_count(s->inst, "http_errors", 1);
      pl_complain(s->inst, &s->failing, PL_LOG_WARN,
                  "POST of %zu record(s) to %s: %s", pl_batch_count(batch),
                  s->opts->url, reason);
    }
    pl_batch_done(batch, result, reason);
    if (r->prev)
      r->prev->next = r->next;
    else
      s->requests = r->next;
    if (r->next)
      r->next->prev = r->prev;
  }
  if (r->resolving)
    uv_cancel((uv_req_t *)&r->resolve); /* its callback still runs */
  if (r->tcp_open && !uv_is_closing((uv_handle_t *)&r->tcp))
    uv_close((uv_handle_t *)&r->tcp, on_tcp_closed);
  if (r->timer_open && !uv_is_closing((uv_handle_t *)&r->timer))
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
  request_maybe_free(r);
}

static void finish_uv(request_t *r, const char *what, int status) {
  char reason[320];
  snprintf(reason, sizeof(reason), "%.256s: %s", what, uv_strerror(status));
  request_finish(r, PL_RESULT_FAILED, reason);
}

/* The value of header `name` in the head text[0, end), or NULL. */
static const char *header(const char *text, const char *end, const char *name) {
  size_t len = strlen(name);
  for (const char *line = strstr(text, "\r\n"); line && line < end;
       line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, name, len) == 0 && line[2 + len] == ':')
      return line + 3 + len;
  }
  return NULL;
}

/* When the answer in r->in is complete (by Content-Length, or at the end
 * of the connection when `eof`), resolves the batch by its status. */
static void request_answered(request_t *r, bool eof) {
  const char *text = r->in.data ? r->in.data : "";
  const char *head_end = strstr(text, "\r\n\r\n");
  int status = 0;
  if (!head_end || sscanf(text, "HTTP/%*d.%*d %d", &status) != 1) {
    if (eof)
      request_finish(r, PL_RESULT_FAILED, "the server's answer is not HTTP");
    return;
  }
  const char *body = head_end + 4;
  size_t have = r->in.len - (size_t)(body - text);
  const char *length = header(text, head_end, "Content-Length");
  if (!eof && (!length || have < strtoull(length, NULL, 10)))
    return; /* more to come: without a length, until the connection ends */
  char reason[256];
  size_t line = strcspn(body, "\r\n");
  snprintf(reason, sizeof(reason), "HTTP %d%s%.*s", status, line ? ": " : "",
           (int)(line < 200 ? line : 200), body);
  pl_instance_count(r->sink->inst, "requests", 1);
  if (status >= 200 && status < 300)
    request_finish(r, PL_RESULT_DELIVERED, NULL);
  else if (status >= 400 && status < 500)
    request_finish(r, PL_RESULT_REJECTED, reason);
  else
    request_finish(r, PL_RESULT_FAILED, reason);
}

static void on_alloc(uv_handle_t *handle, size_t size, uv_buf_t *buf) {
  request_t *r = handle->data;
  *buf = uv_buf_init(r->chunk, sizeof(r->chunk));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  request_t *r = stream->data;
  if (!r->batch)
    return;
  if (nread == UV_EOF) {
    request_answered(r, true);
    return;
  }
  if (nread < 0) {
    finish_uv(r, "reading the answer", (int)nread);
    return;
  }
  size_t room = MAX_ANSWER - r->in.len;
  if (pl_buf_append(&r->in, buf->base,
                    (size_t)nread < room ? (size_t)nread : room) < 0) {
    request_finish(r, PL_RESULT_FAILED, "out of memory");
    return;
  }
  request_answered(r, r->in.len >= MAX_ANSWER);
}

static void on_written(uv_write_t *req, int status) {
  request_t *r = req->data;
  if (status < 0 && r->batch)
    finish_uv(r, "sending", status);
}

static void on_connected(uv_connect_t *req, int status) {
  request_t *r = req->data;
  if (!r->batch)
    return;
  if (status < 0) {
    finish_uv(r, "connecting", status);
    return;
  }
  uv_buf_t buf = uv_buf_init(r->out.data, (unsigned)r->out.len);
  int rc = uv_write(&r->write, (uv_stream_t *)&r->tcp, &buf, 1, on_written);
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
  if (rc < 0)
    finish_uv(r, "sending", rc);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  request_t *r = req->data;
  r->resolving = false;
  if (!r->batch || status < 0) {
    uv_freeaddrinfo(res);
    if (r->batch)
      finish_uv(r, r->sink->host, status);
    else
      request_maybe_free(r);
    return;
  }
  int rc = uv_tcp_init(pl_instance_loop(r->sink->inst), &r->tcp);
  if (rc == 0) {
    r->tcp_open = true;
    r->tcp.data = r->connect.data = r->write.data = r;
    rc = uv_tcp_connect(&r->connect, &r->tcp, res->ai_addr, on_connected);
  }
  uv_freeaddrinfo(res);
  if (rc < 0)
    finish_uv(r, "connecting", rc);
}

static void on_timeout(uv_timer_t *timer) {
  request_t *r = timer->data;
  request_finish(r, PL_RESULT_FAILED, "timed out");
}

/* The batch as a JSON array, and the request around it. Records that
 * cannot be sent (bytes that are not UTF-8) are rejected here. */
static int request_encode(http_sink_t *s, request_t *r, pl_batch_t *batch) {
  json_t *array = json_array();
  for (size_t i = 0; array && i < pl_batch_count(batch); i++) {
    pl_record_t *rec = pl_batch_record(batch, i);
    json_t *value = pl_record_value(rec);
    size_t len = 0;
    const char *bytes = pl_record_bytes(rec, &len);
    json_t *item =
        value ? json_incref(value) : json_stringn(bytes ? bytes : "", len);
    if (!item)
      pl_batch_resolve(batch, i, PL_RESULT_REJECTED, "bytes are not UTF-8");
    else
      json_array_append_new(array, item);
  }
  char *body = array ? json_dumps(array, JSON_COMPACT) : NULL;
  json_decref(array);
  if (!body)
    return PL_ENOMEM;
  bool v6 = strchr(s->host, ':') != NULL;
  int rc = pl_buf_printf(&r->out,
                         "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
                         "Content-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         s->path, v6 ? "[" : "", s->host, v6 ? "]" : "",
                         s->port, strlen(body), body);
  free(body);
  return rc;
}

static void http_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  http_sink_t *s = ctx;
  request_t *r = calloc(1, sizeof(*r));
  if (!r || request_encode(s, r, batch) < 0) {
    if (r)
      pl_buf_free(&r->out);
    free(r);
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  r->sink = s;
  r->batch = batch;
  r->next = s->requests;
  if (s->requests)
    s->requests->prev = r;
  s->requests = r;
  uv_loop_t *loop = pl_instance_loop(inst);
  uv_timer_init(loop, &r->timer);
  r->timer_open = true;
  r->timer.data = r->resolve.data = r;
  uv_timer_start(&r->timer, on_timeout, s->opts->timeout_ms, 0);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc =
      uv_getaddrinfo(loop, &r->resolve, on_resolved, s->host, s->port, &hints);
  if (rc < 0) {
    finish_uv(r, s->host, rc);
    return;
  }
  r->resolving = true;
}

/* ---- The plugin ---- */

static int http_init(pl_instance_t *inst, const void *options, void **ctx) {
  http_sink_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = options;
  if (parse_url(s, s->opts->url) < 0) {
    pl_log(inst, PL_LOG_ERROR,
           "url \"%s\": expected http://host[:port][/path] (https is not "
           "supported)",
           s->opts->url);
    free(s);
    return PL_EINVAL;
  }
  *ctx = s;
  return 0;
}

static void http_close(pl_instance_t *inst, void *ctx) {
  http_sink_t *s = ctx;
  while (s->requests)
    request_finish(s->requests, PL_RESULT_FAILED, "the sink is closing");
}

static void http_destroy(void *ctx) {
  free(ctx);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "http",
    .kind = PL_KIND_SINK,
    .description = "POSTs batches as JSON arrays (an example plugin).",
    .options = http_options,
    .options_count = sizeof(http_options) / sizeof(http_options[0]),
    .options_size = sizeof(http_options_t),
    .defaults = {.batch_size = "100", .linger = "200ms", .max_in_flight = "4"},
    .init = http_init,
    .write = http_write,
    .close = http_close,
    .destroy = http_destroy,
};
