/* The connection side of the builtin HTTP/1.1 client (http_h1_conn.h):
 * pools per scheme://host:port, their addresses (uv_getaddrinfo, cached
 * 60 s like libcurl's DNS cache), and connections that carry one request
 * at a time: connect, one write of the whole request, reads fed to the
 * response parser, back to the pool when the answer allows it. */
#include "http_h1_conn.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcurl's default DNS cache lifetime (CURLOPT_DNS_CACHE_TIMEOUT). */
static const uint64_t DNS_CACHE_MS = 60000;
/* TCP keep-alive idle time, in seconds: libcurl's default. */
static const unsigned TCP_KEEPALIVE_S = 60;

/* ---- Pools ---- */

static int numeric_address(h1_pool_t *pool) {
  int port = atoi(pool->port);
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
  if (uv_ip4_addr(pool->host, port, &v4) == 0) {
    memcpy(&pool->addrs[0], &v4, sizeof v4);
  } else if (uv_ip6_addr(pool->host, port, &v6) == 0) {
    memcpy(&pool->addrs[0], &v6, sizeof v6);
  } else {
    return PL_ENOENT;
  }
  pool->addr_count = 1;
  pool->numeric = true;
  return 0;
}

/* Splits "host[:port]" or "[v6][:port]" of an http:// URL. */
static int pool_new(const char *url, size_t key_len, h1_pool_t **out) {
  const char *authority = url + 7, *end = url + key_len;
  const char *host = authority, *host_end, *port = NULL;
  if (*host == '[') {
    host_end = memchr(host, ']', (size_t)(end - host));
    if (!host_end)
      return PL_ENOENT;
    host++;
    if (host_end + 1 < end) {
      if (host_end[1] != ':')
        return PL_ENOENT;
      port = host_end + 2;
    }
  } else {
    const char *colon = memchr(host, ':', (size_t)(end - host));
    host_end = colon ? colon : end;
    port = colon ? colon + 1 : NULL;
  }
  if (host_end == host)
    return PL_ENOENT;
  size_t port_len = port ? (size_t)(end - port) : 0;
  unsigned long port_value = 80;
  if (port) {
    if (port_len == 0 || port_len > 5)
      return PL_ENOENT;
    port_value = 0;
    for (const char *c = port; c < end; c++) {
      if (*c < '0' || *c > '9')
        return PL_ENOENT;
      port_value = port_value * 10 + (unsigned long)(*c - '0');
    }
    if (port_value == 0 || port_value > 65535)
      return PL_ENOENT;
  }
  h1_pool_t *pool = calloc(1, sizeof *pool + key_len + 1);
  size_t host_len = (size_t)(host_end - host);
  char *host_copy = malloc(host_len + 1);
  if (!pool || !host_copy) {
    free(pool);
    free(host_copy);
    return PL_ENOMEM;
  }
  memcpy(host_copy, host, host_len);
  host_copy[host_len] = '\0';
  pool->host = host_copy;
  snprintf(pool->port, sizeof pool->port, "%lu", port_value);
  memcpy(pool->key, url, key_len);
  pool->key_len = key_len;
  (void)numeric_address(pool);
  *out = pool;
  return 0;
}

int pl__http_h1_pool_find(pl_http_h1_t *h1, const char *url,
                          h1_pool_t **out) {
  for (h1_pool_t *pool = h1->pools; pool; pool = pool->next) {
    char next = url[pool->key_len];
    if ((next == '/' || next == '?' || next == '\0') &&
        memcmp(url, pool->key, pool->key_len) == 0) {
      *out = pool;
      return 0;
    }
  }
  if (strncmp(url, "http://", 7) != 0)
    return PL_ENOENT;
  size_t key_len = 7 + strcspn(url + 7, "/?#");
  if (memchr(url + 7, '@', key_len - 7) || url[key_len] == '#')
    return PL_ENOENT;
  h1_pool_t *pool = NULL;
  int rc = pool_new(url, key_len, &pool);
  if (rc < 0)
    return rc;
  pool->next = h1->pools;
  h1->pools = pool;
  *out = pool;
  return 0;
}

void pl__http_h1_pool_free(h1_pool_t *pool) {
  if (pool->resolver) {
    pool->resolver->pool = NULL;
    uv_cancel((uv_req_t *)&pool->resolver->req);
  }
  free(pool->host);
  free(pool);
}

/* ---- Connections ---- */

static void conn_connect(h1_call_t *call, size_t addr_index);

static void on_conn_closed(uv_handle_t *handle) {
  h1_conn_t *conn = handle->data;
  pl_http_h1_t *h1 = conn->h1;
  free(conn);
  h1->handles_open--;
  pl__http_h1_maybe_free(h1);
}

void pl__http_h1_conn_close(h1_conn_t *conn) {
  if (conn->closing)
    return;
  conn->closing = true;
  if (conn->call) {
    conn->call->conn = NULL;
    conn->call = NULL;
  }
  if (conn->idle) {
    for (h1_conn_t **link = &conn->pool->idle; *link;
         link = &(*link)->idle_next)
      if (*link == conn) {
        *link = conn->idle_next;
        break;
      }
    conn->idle = false;
  }
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    conn->h1->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

/* The connection failed or ended early while carrying its call: a request
 * written on a reused connection that the server closed before any byte
 * of the answer (it had closed an idle keep-alive connection) is sent once
 * more on a new connection, as libcurl does; anything else ends the call. */
static void conn_fail(h1_conn_t *conn, int uv_error, const char *doing) {
  h1_call_t *call = conn->call;
  bool reused = conn->served > 0;
  char addr[sizeof conn->addr];
  memcpy(addr, conn->addr, sizeof addr);
  pl__http_h1_conn_close(conn);
  if (!call)
    return;
  if (reused && !call->parser.got_bytes && !call->retried) {
    call->retried = true;
    call->fresh_conn = true;
    pl__http_h1_conn_start(call);
    return;
  }
  if (uv_error == UV_EOF)
    snprintf(call->errbuf, sizeof call->errbuf,
             "connection to %s closed before the %s", addr,
             call->parser.got_bytes ? "answer was complete" : "answer");
  else
    snprintf(call->errbuf, sizeof call->errbuf, "%s %s: %s", doing, addr,
             uv_strerror(uv_error));
  call->error_text = call->errbuf;
  pl__http_h1_call_finish(call, PL_EIO);
}

/* The answer is complete: the call ends, and the connection goes back to
 * its pool when the answer allows another request on it. */
static void conn_done(h1_conn_t *conn, bool reusable) {
  h1_call_t *call = conn->call;
  conn->call = NULL;
  call->conn = NULL;
  conn->served++;
  pl__http_h1_call_finish(call, 0);
  if (!reusable || conn->h1->closing) {
    pl__http_h1_conn_close(conn);
    return;
  }
  conn->idle = true;
  conn->idle_next = conn->pool->idle;
  conn->pool->idle = conn;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  h1_conn_t *conn = handle->data;
  *buf = uv_buf_init(conn->h1->readbuf, sizeof conn->h1->readbuf);
}

static void tell_headers(h1_call_t *call) {
  call->headers_told = true;
  if (!call->handlers.on_headers)
    return;
  pl_http_response_t response = {
      .status = call->parser.status,
      .headers = call->parser.headers,
      .header_count = call->parser.header_count,
  };
  call->handlers.on_headers(call->handlers.data, &response);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  h1_conn_t *conn = stream->data;
  if (n == 0 || conn->closing)
    return;
  h1_call_t *call = conn->call;
  if (!call) {
    /* An idle connection: the server closed it, or sent what no request
     * asked for. Either way it cannot carry another request. */
    pl__http_h1_conn_close(conn);
    return;
  }
  if (n < 0) {
    if (n == UV_EOF && pl__http_h1_parse_eof(&call->parser) == 1) {
      conn_done(conn, false);
      return;
    }
    conn_fail(conn, (int)n, "read from");
    return;
  }
  call->last_progress_ms = uv_now(conn->h1->loop);
  size_t used = 0;
  int rc = pl__http_h1_parse(&call->parser, buf->base, (size_t)n, &used);
  if (call->parser.headers_done && !call->headers_told) {
    tell_headers(call);
    if (conn->call != call || conn->closing)
      return; /* cancelled or closed from on_headers */
  }
  if (rc == 1) {
    conn_done(conn, call->parser.keep_alive && used == (size_t)n &&
                        !uv_is_active((uv_handle_t *)&conn->write));
    return;
  }
  if (rc == 0)
    return;
  pl__http_h1_conn_close(conn);
  if (call->body_truncated) {
    pl__http_h1_call_finish(call, 0);
    return;
  }
  if (rc == PL_EIO) {
    snprintf(call->errbuf, sizeof call->errbuf, "%s from %s",
             call->parser.error ? call->parser.error : "malformed answer",
             conn->addr);
    call->error_text = call->errbuf;
  }
  pl__http_h1_call_finish(call, rc);
}

static void on_write(uv_write_t *req, int status) {
  h1_conn_t *conn = req->data;
  if (status < 0 && !conn->closing)
    conn_fail(conn, status, "write to");
}

/* Sends the whole request, in one write when the socket takes it. */
static void conn_send(h1_conn_t *conn) {
  h1_call_t *call = conn->call;
  call->last_progress_ms = uv_now(conn->h1->loop);
  if (call->read_timeout_ms)
    pl__http_h1_call_sent(call);
  uv_buf_t buf = uv_buf_init(call->request.data, (unsigned)call->request.len);
  int n = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
  if (n == (int)call->request.len)
    return;
  if (n < 0 && n != UV_EAGAIN) {
    conn_fail(conn, n, "write to");
    return;
  }
  if (n > 0)
    buf = uv_buf_init(buf.base + n, buf.len - (unsigned)n);
  conn->write.data = conn;
  int rc = uv_write(&conn->write, (uv_stream_t *)&conn->tcp, &buf, 1, on_write);
  if (rc < 0)
    conn_fail(conn, rc, "write to");
}

static void on_connect(uv_connect_t *req, int status) {
  h1_conn_t *conn = req->data;
  if (conn->closing)
    return;
  h1_call_t *call = conn->call;
  if (status < 0) {
    size_t next = conn->addr_index + 1;
    char addr[sizeof conn->addr];
    memcpy(addr, conn->addr, sizeof addr);
    pl__http_h1_conn_close(conn);
    if (!call)
      return;
    if (next < call->pool->addr_count) {
      conn_connect(call, next);
      return;
    }
    snprintf(call->errbuf, sizeof call->errbuf, "connect to %s: %s", addr,
             uv_strerror(status));
    call->error_text = call->errbuf;
    pl__http_h1_call_finish(call, PL_EIO);
    return;
  }
  conn->connected = true;
  /* What libcurl sets too: no Nagle delay on the request's last segment,
   * and keep-alive probes for a connection a middlebox dropped. */
  (void)uv_tcp_nodelay(&conn->tcp, 1);
  (void)uv_tcp_keepalive(&conn->tcp, 1, TCP_KEEPALIVE_S);
  int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
  if (rc < 0) {
    conn_fail(conn, rc, "read from");
    return;
  }
  if (call)
    conn_send(conn);
}

static void address_text(const struct sockaddr_storage *sa, const char *port,
                         char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->ss_family == AF_INET6) {
    uv_ip6_name((const struct sockaddr_in6 *)(const void *)sa, ip, sizeof ip);
    snprintf(out, cap, "[%s]:%s", ip, port);
  } else {
    uv_ip4_name((const struct sockaddr_in *)(const void *)sa, ip, sizeof ip);
    snprintf(out, cap, "%s:%s", ip, port);
  }
}

/* Opens a new connection for `call` to its pool's address `addr_index`. */
static void conn_connect(h1_call_t *call, size_t addr_index) {
  pl_http_h1_t *h1 = call->h1;
  h1_pool_t *pool = call->pool;
  h1_conn_t *conn = calloc(1, sizeof *conn);
  if (!conn) {
    pl__http_h1_call_finish(call, PL_ENOMEM);
    return;
  }
  conn->h1 = h1;
  conn->pool = pool;
  conn->addr_index = addr_index;
  conn->connect_started_ms = uv_now(h1->loop);
  address_text(&pool->addrs[addr_index], pool->port, conn->addr,
               sizeof conn->addr);
  int rc = uv_tcp_init(h1->loop, &conn->tcp);
  if (rc < 0) {
    free(conn);
    snprintf(call->errbuf, sizeof call->errbuf, "connect to %s: %s",
             pool->host, uv_strerror(rc));
    call->error_text = call->errbuf;
    pl__http_h1_call_finish(call, PL_EIO);
    return;
  }
  conn->tcp.data = conn;
  conn->connect.data = conn;
  h1->handles_open++;
  conn->next = h1->conns;
  if (h1->conns)
    h1->conns->prev = conn;
  h1->conns = conn;
  conn->call = call;
  call->conn = conn;
  rc = uv_tcp_connect(&conn->connect, &conn->tcp,
                      (const struct sockaddr *)&pool->addrs[addr_index],
                      on_connect);
  if (rc < 0) {
    conn_fail(conn, rc, "connect to");
  }
}

/* ---- Resolving ---- */

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  h1_resolver_t *resolver = (h1_resolver_t *)(void *)req;
  h1_pool_t *pool = resolver->pool;
  pl_http_h1_t *h1 = resolver->h1;
  free(resolver);
  h1->resolvers_open--;
  if (!pool) {
    uv_freeaddrinfo(res);
    pl__http_h1_maybe_free(h1);
    return;
  }
  pool->resolver = NULL;
  size_t count = 0;
  for (struct addrinfo *ai = res; ai && count < H1_MAX_ADDRS;
       ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    memcpy(&pool->addrs[count], ai->ai_addr, ai->ai_addrlen);
    count++;
  }
  uv_freeaddrinfo(res);
  if (status == 0 && count == 0)
    status = UV_EAI_NONAME;
  if (status == 0) {
    pool->addr_count = count;
    pool->resolved_ms = uv_now(h1->loop);
  }
  h1_call_t *call;
  while ((call = pool->resolving.head)) {
    pool->resolving.head = call->wait_next;
    if (!pool->resolving.head)
      pool->resolving.tail = NULL;
    call->wait_next = call->wait_prev = NULL;
    call->state = H1_CALL_RUNNING;
    if (status == 0) {
      conn_connect(call, 0);
      continue;
    }
    snprintf(call->errbuf, sizeof call->errbuf, "resolve %s: %s", pool->host,
             uv_strerror(status));
    call->error_text = call->errbuf;
    pl__http_h1_call_finish(call, PL_EIO);
  }
}

static int resolve(pl_http_h1_t *h1, h1_pool_t *pool) {
  h1_resolver_t *resolver = calloc(1, sizeof *resolver);
  if (!resolver)
    return PL_ENOMEM;
  resolver->h1 = h1;
  resolver->pool = pool;
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_protocol = IPPROTO_TCP};
  int rc = uv_getaddrinfo(h1->loop, &resolver->req, on_resolved, pool->host,
                          pool->port, &hints);
  if (rc < 0) {
    free(resolver);
    return rc;
  }
  pool->resolver = resolver;
  h1->resolvers_open++;
  return 0;
}

void pl__http_h1_conn_start(h1_call_t *call) {
  pl_http_h1_t *h1 = call->h1;
  h1_pool_t *pool = call->pool;
  call->state = H1_CALL_RUNNING;
  if (!call->fresh_conn && pool->idle) {
    h1_conn_t *conn = pool->idle;
    pool->idle = conn->idle_next;
    conn->idle_next = NULL;
    conn->idle = false;
    conn->call = call;
    call->conn = conn;
    conn_send(conn);
    return;
  }
  bool fresh = pool->numeric ||
               (pool->addr_count > 0 &&
                uv_now(h1->loop) - pool->resolved_ms < DNS_CACHE_MS);
  if (fresh) {
    conn_connect(call, 0);
    return;
  }
  if (!pool->resolver) {
    int rc = resolve(h1, pool);
    if (rc < 0) {
      snprintf(call->errbuf, sizeof call->errbuf, "resolve %s: %s", pool->host,
               uv_strerror(rc));
      call->error_text = call->errbuf;
      pl__http_h1_call_finish(call, PL_EIO);
      return;
    }
  }
  call->state = H1_CALL_RESOLVING;
  call->wait_prev = pool->resolving.tail;
  call->wait_next = NULL;
  if (pool->resolving.tail)
    pool->resolving.tail->wait_next = call;
  else
    pool->resolving.head = call;
  pool->resolving.tail = call;
}
