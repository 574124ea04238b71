/* A small HTTP listener for /metrics, /healthz and /readyz (metrics.c
 * renders them). One request per connection.
 *
 * The listener shares the process's descriptors with the pipelines, so it
 * must not let clients hold them: a connection gets metrics_timeout to
 * send its request and read the answer, and past metrics_max_connections
 * open ones a new connection is closed at once. Otherwise idle clients
 * (a scanner, a stuck scraper) could starve a file source of descriptors
 * and /healthz of answers. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "metrics.h"
#include "metrics_server.h"

#define PL_METRICS_MAX_REQUEST 8192
/* For engines whose settings were not parsed (the config's defaults are
 * the same). */
#define PL_METRICS_DEFAULT_TIMEOUT_MS 10000
#define PL_METRICS_DEFAULT_MAX_CONNECTIONS 64

int pl__metrics_parse_listen(const char *text, struct sockaddr_storage *addr) {
  const char *colon = strrchr(text, ':');
  if (!colon || colon == text || colon[1] == '\0')
    return PL_EINVAL;
  long port = 0;
  for (const char *d = colon + 1; *d; d++) {
    if (*d < '0' || *d > '9' || port > 65535)
      return PL_EINVAL;
    port = port * 10 + (*d - '0');
  }
  if (port > 65535)
    return PL_EINVAL;
  char host[64];
  size_t len = (size_t)(colon - text);
  if (text[0] == '[' && len >= 2 && text[len - 1] == ']') {
    text++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof(host))
    return PL_EINVAL;
  memcpy(host, text, len);
  host[len] = '\0';
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr) == 0 ||
      uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr) == 0)
    return 0;
  return PL_EINVAL;
}

typedef struct connection connection_t;

struct pl_metrics_server {
  pl_engine_t *engine;
  uv_tcp_t listener;
  uv_timer_t reaper; /* closes connections past their timeout */
  connection_t *connections;
  size_t connection_count; /* accepted and not yet freed */
  size_t max_connections;
  uint64_t timeout_ms;
  uint64_t refused;    /* connections closed at once since the last log */
  bool refusing;       /* at the cap: a warning was logged */
  size_t open_handles; /* freed when the last close callback ran */
  bool closing;
};

struct connection {
  uv_tcp_t tcp;
  pl_metrics_server_t *server;
  connection_t *next;
  uint64_t opened_ms; /* loop time of the accept */
  pl_buf_t request;
  pl_buf_t response;
  uv_write_t write;
  bool responded;
};

static void release(pl_metrics_server_t *server) {
  if (--server->open_handles == 0)
    free(server);
}

static void on_connection_closed(uv_handle_t *handle) {
  connection_t *conn = handle->data;
  pl_metrics_server_t *server = conn->server;
  connection_t **link = &server->connections;
  while (*link && *link != conn)
    link = &(*link)->next;
  if (*link)
    *link = conn->next;
  pl_buf_free(&conn->request);
  pl_buf_free(&conn->response);
  free(conn);
  server->connection_count--;
  if (server->refusing && !server->closing &&
      server->connection_count < server->max_connections) {
    server->refusing = false;
    pl__log(&server->engine->log, PL_LOG_INFO,
            "metrics: taking connections again (%llu closed at once)",
            (unsigned long long)server->refused);
    server->refused = 0;
  }
  release(server);
}

static void close_connection(connection_t *conn) {
  if (!uv_is_closing((uv_handle_t *)&conn->tcp))
    uv_close((uv_handle_t *)&conn->tcp, on_connection_closed);
}

static void on_written(uv_write_t *req, int status) {
  close_connection(req->data);
}

/* Answers and closes. A HEAD answer has the headers of the GET one,
 * Content-Length included, and no body (RFC 9110 section 9.3.2). */
static void respond(connection_t *conn, const char *status, const char *type,
                    const pl_buf_t *body, bool head) {
  conn->responded = true;
  pl_buf_printf(&conn->response,
                "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n",
                status, type, body->len);
  if (!head)
    pl_buf_append(&conn->response, body->data ? body->data : "", body->len);
  uv_buf_t buf = uv_buf_init(conn->response.data, (unsigned)conn->response.len);
  conn->write.data = conn;
  if (uv_write(&conn->write, (uv_stream_t *)&conn->tcp, &buf, 1, on_written) < 0)
    close_connection(conn);
}

/* Whether the request target `target` is `path`, with or without a query
 * string ("/metrics", "/metrics?x"). */
static bool target_is(const char *target, const char *path) {
  size_t n = strlen(path);
  return strncmp(target, path, n) == 0 &&
         (target[n] == ' ' || target[n] == '?');
}

static void handle_request(connection_t *conn) {
  pl_buf_t body = {0};
  const char *req = conn->request.data;
  bool head = strncmp(req, "HEAD ", 5) == 0;
  const char *target = head                           ? req + 5
                       : strncmp(req, "GET ", 4) == 0 ? req + 4
                                                      : NULL;
  if (!target) {
    pl_buf_append_str(&body, "only GET and HEAD are served\n");
    respond(conn, "405 Method Not Allowed", "text/plain", &body, false);
  } else if (target_is(target, "/metrics")) {
    pl__metrics_render(conn->server->engine, &body);
    respond(conn, "200 OK", "text/plain; version=0.0.4", &body, head);
  } else if (target_is(target, "/healthz")) {
    bool ok = pl__metrics_health(conn->server->engine, &body);
    bool json = body.len > 0 && body.data[0] == '{';
    respond(conn, ok ? "200 OK" : "503 Service Unavailable",
            json ? "application/json" : "text/plain", &body, head);
  } else if (target_is(target, "/readyz")) {
    bool ok = pl__metrics_ready(conn->server->engine, &body);
    respond(conn, ok ? "200 OK" : "503 Service Unavailable", "text/plain",
            &body, head);
  } else {
    pl_buf_append_str(&body,
                      "not found: try /metrics, /healthz or /readyz\n");
    respond(conn, "404 Not Found", "text/plain", &body, head);
  }
  pl_buf_free(&body);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  connection_t *conn = handle->data;
  if (pl_buf_reserve(&conn->request, 1024) < 0) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init(conn->request.data + conn->request.len,
                     (unsigned)(conn->request.cap - conn->request.len - 1));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  connection_t *conn = stream->data;
  if (nread < 0) {
    close_connection(conn);
    return;
  }
  conn->request.len += (size_t)nread;
  conn->request.data[conn->request.len] = '\0';
  if (conn->responded)
    return;
  /* No request holds a NUL: the searches below would stop at it, and the
   * client would wait for an answer until the timeout. */
  if (memchr(conn->request.data, '\0', conn->request.len)) {
    uv_read_stop(stream);
    pl_buf_t body = {0};
    pl_buf_append_str(&body, "bad request: a NUL byte\n");
    respond(conn, "400 Bad Request", "text/plain", &body, false);
    pl_buf_free(&body);
    return;
  }
  if (strstr(conn->request.data, "\r\n\r\n") ||
      strstr(conn->request.data, "\n\n")) {
    uv_read_stop(stream);
    handle_request(conn);
  } else if (conn->request.len > PL_METRICS_MAX_REQUEST) {
    close_connection(conn);
  }
}

/* Closes the connections older than the timeout (answered or not: a
 * client that does not read its answer holds a descriptor too), then
 * waits for the next one to expire. */
static void on_reap(uv_timer_t *timer) {
  pl_metrics_server_t *server = timer->data;
  uint64_t now = uv_now(timer->loop);
  uint64_t next = UINT64_MAX;
  for (connection_t *conn = server->connections; conn; conn = conn->next) {
    if (uv_is_closing((uv_handle_t *)&conn->tcp))
      continue;
    uint64_t deadline = conn->opened_ms + server->timeout_ms;
    if (deadline <= now)
      close_connection(conn);
    else if (deadline < next)
      next = deadline;
  }
  if (next != UINT64_MAX)
    uv_timer_start(&server->reaper, on_reap, next - now, 0);
}

/* A connection past the cap: accepted (else the listener stops being
 * polled until it is) and closed at once; the first one of a run says so
 * in the log, the end of the run says how many there were. */
static void refuse(pl_metrics_server_t *server, connection_t *conn) {
  server->refused++;
  if (!server->refusing) {
    server->refusing = true;
    pl__log(&server->engine->log, PL_LOG_WARN,
            "metrics: %zu connections open, the most allowed "
            "(metrics_max_connections); closing new ones at once",
            server->max_connections);
  }
  close_connection(conn);
}

static void on_accept(uv_stream_t *listener, int status) {
  pl_metrics_server_t *server = listener->data;
  if (status < 0 || server->closing)
    return;
  connection_t *conn = calloc(1, sizeof(*conn));
  if (!conn)
    return;
  conn->server = server;
  conn->opened_ms = uv_now(listener->loop);
  uv_tcp_init(listener->loop, &conn->tcp);
  conn->tcp.data = conn;
  server->open_handles++;
  bool over = server->connection_count >= server->max_connections;
  server->connection_count++;
  conn->next = server->connections;
  server->connections = conn;
  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) < 0) {
    close_connection(conn);
    return;
  }
  if (over) {
    refuse(server, conn);
    return;
  }
  if (uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read) < 0) {
    close_connection(conn);
    return;
  }
  if (!uv_is_active((uv_handle_t *)&server->reaper))
    uv_timer_start(&server->reaper, on_reap, server->timeout_ms, 0);
}

static void on_server_handle_closed(uv_handle_t *handle) {
  release(handle->data);
}

int pl__metrics_server_create(pl_engine_t *engine, const char *listen,
                              pl_metrics_server_t **out) {
  struct sockaddr_storage addr;
  if (pl__metrics_parse_listen(listen, &addr) < 0)
    return PL_EINVAL;
  pl_metrics_server_t *server = calloc(1, sizeof(*server));
  if (!server)
    return PL_ENOMEM;
  server->engine = engine;
  server->timeout_ms = engine->settings.metrics_timeout_ms
                           ? engine->settings.metrics_timeout_ms
                           : PL_METRICS_DEFAULT_TIMEOUT_MS;
  server->max_connections =
      engine->settings.metrics_max_connections > 0
          ? (size_t)engine->settings.metrics_max_connections
          : PL_METRICS_DEFAULT_MAX_CONNECTIONS;
  uv_tcp_init(engine->loop, &server->listener);
  server->listener.data = server;
  uv_timer_init(engine->loop, &server->reaper);
  server->reaper.data = server;
  server->open_handles = 2;
  int rc = uv_tcp_bind(&server->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server->listener, 16, on_accept);
  if (rc < 0) {
    pl__log(&engine->log, PL_LOG_ERROR, "metrics_listen %s: %s", listen,
            uv_strerror(rc));
    server->closing = true;
    uv_close((uv_handle_t *)&server->listener, on_server_handle_closed);
    uv_close((uv_handle_t *)&server->reaper, on_server_handle_closed);
    return PL_EIO;
  }
  pl__log(&engine->log, PL_LOG_INFO, "metrics on http://%s/metrics", listen);
  *out = server;
  return 0;
}

int pl__metrics_server_port(const pl_metrics_server_t *server) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  if (uv_tcp_getsockname(&server->listener, (struct sockaddr *)&addr, &len) < 0)
    return -1;
  if (addr.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

size_t pl__metrics_server_connections(const pl_metrics_server_t *server) {
  return server->connection_count;
}

void pl__metrics_server_close(pl_metrics_server_t *server) {
  server->closing = true;
  for (connection_t *conn = server->connections; conn; conn = conn->next)
    close_connection(conn);
  uv_close((uv_handle_t *)&server->listener, on_server_handle_closed);
  uv_close((uv_handle_t *)&server->reaper, on_server_handle_closed);
}
