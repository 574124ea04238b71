/* The connection side of the builtin HTTP/1.1 client (http_h1_conn.h):
 * connections that carry one request at a time: connect (and the TLS
 * handshake for https), one write of the whole request, reads fed to the
 * response parser, back to their pool (http_h1_pool.c) when the answer
 * allows it. */
#include "http_h1_conn.h"
#include "http_h1_pool.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A connection idle for longer is not reused (libcurl's
 * CURLOPT_MAXAGE_CONN): a middlebox may have dropped it without a word,
 * and a request on it would wait for its whole timeout. */
static const uint64_t MAX_IDLE_MS = 118000;
/* TCP keep-alive idle time, in seconds: libcurl's default. */
static const unsigned TCP_KEEPALIVE_S = 60;

/* ---- Connections ---- */

static int tls_flush(h1_conn_t *conn);
static void tls_fail(h1_conn_t *conn);

static void on_conn_closed(uv_handle_t *handle) {
  h1_conn_t *conn = handle->data;
  pl_http_h1_t *h1 = conn->h1;
  pl__tls_free(conn->tls);
  pl_buf_free(&conn->wbuf);
  pl_buf_free(&conn->wnext);
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
    pl__dlist_remove(&conn->pool->idle, &conn->idle_node);
    conn->idle = false;
  }
  pl__dlist_remove(&conn->h1->conns, &conn->node);
  uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

/* The connection failed or ended early while carrying its call: a request
 * written on a reused connection that the server closed before any byte
 * of the answer (it had closed an idle keep-alive connection) is sent once
 * more on a new connection, as libcurl does; anything else ends the call. */
static void conn_fail(h1_conn_t *conn, int uv_error, const char *doing) {
  h1_call_t *call = conn->call;
  bool reused = conn->served > 0;
  /* Cut before TLS was set up: likely not the TLS server expected (a
   * plain port, a proxy), which "read from" alone would not say. */
  bool handshake = conn->tls && !pl__tls_established(conn->tls);
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
  if (handshake)
    snprintf(call->errbuf, sizeof call->errbuf, "TLS handshake with %s: %s",
             addr,
             uv_error == UV_EOF ? "the server closed the connection"
                                : uv_strerror(uv_error));
  else if (uv_error == UV_EOF)
    snprintf(call->errbuf, sizeof call->errbuf,
             "connection to %s closed before the %s", addr,
             call->parser.got_bytes ? "answer was complete" : "answer");
  else
    snprintf(call->errbuf, sizeof call->errbuf, "%s %s: %s", doing, addr,
             uv_strerror(uv_error));
  call->error_text = call->errbuf;
  pl__http_h1_call_finish(call, PL_EIO);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

/* The answer is complete: the call ends, and the connection goes back to
 * its pool when the answer allows another request on it (read again if a
 * pause had stopped that: an idle connection must see its close). */
static void conn_done(h1_conn_t *conn, bool reusable) {
  h1_call_t *call = conn->call;
  conn->call = NULL;
  call->conn = NULL;
  conn->served++;
  pl__http_h1_call_finish(call, 0);
  if (reusable && conn->read_stopped && !conn->closing) {
    conn->read_stopped = false;
    reusable = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read) == 0;
  }
  if (!reusable || conn->h1->closing) {
    pl__http_h1_conn_close(conn);
    return;
  }
  conn->idle = true;
  conn->idle_since_ms = uv_now(conn->h1->loop);
  pl__dlist_push(&conn->pool->idle, &conn->idle_node);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  h1_conn_t *conn = handle->data;
  *buf = uv_buf_init(conn->h1->readbuf, sizeof conn->h1->readbuf);
}

void pl__http_h1_tell_headers(h1_call_t *call) {
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

/* The end of the connection (EOF or an error) while it carries a call. */
static void conn_ended(h1_conn_t *conn, int uv_error) {
  h1_call_t *call = conn->call;
  if (uv_error == UV_EOF && pl__http_h1_parse_eof(&call->parser) == 1) {
    conn_done(conn, false);
    return;
  }
  conn_fail(conn, uv_error, "read from");
}

/* Bytes of the answer (plaintext). Returns true when the connection no
 * longer carries the call (done, failed, cancelled or closed). */
static bool conn_answer(h1_conn_t *conn, const char *bytes, size_t n) {
  h1_call_t *call = conn->call;
  call->last_progress_ms = uv_now(conn->h1->loop);
  size_t used = 0;
  int rc = pl__http_h1_parse(&call->parser, bytes, n, &used);
  if (conn->call != call || conn->closing)
    return true; /* cancelled or closed from on_headers or on_body */
  if (call->parser.headers_done && !call->headers_told) {
    pl__http_h1_tell_headers(call);
    if (conn->call != call || conn->closing)
      return true; /* cancelled or closed from on_headers */
  }
  /* Paused, by on_body or from outside (on_headers, another call): the
   * rest of this read waits for the resume, and an answer that ended here
   * ends then. */
  if (rc == H1_BODY_PAUSED || (rc == 1 && call->paused)) {
    pl__http_h1_conn_pause(call); /* reading stops, if it had not yet */
    if (call->parser.state == PL_H1_DONE) {
      call->done_held = true;
      call->keep_held = call->parser.keep_alive && used == n && !conn->writing;
    } else if (used < n &&
               pl_buf_append(&call->unread, bytes + used, n - used) < 0) {
      pl__http_h1_conn_close(conn);
      pl__http_h1_call_finish(call, PL_ENOMEM);
      return true;
    }
    return false;
  }
  if (rc == 1) {
    conn_done(conn, call->parser.keep_alive && used == n && !conn->writing);
    return true;
  }
  if (rc == 0)
    return false;
  char addr[sizeof conn->addr];
  memcpy(addr, conn->addr, sizeof addr);
  pl__http_h1_conn_close(conn);
  if (call->body_truncated) {
    pl__http_h1_call_finish(call, 0);
    return true;
  }
  if (rc == PL_EIO) {
    snprintf(call->errbuf, sizeof call->errbuf, "%s from %s",
             call->parser.error ? call->parser.error : "malformed answer",
             addr);
    call->error_text = call->errbuf;
  }
  pl__http_h1_call_finish(call, rc);
  return true;
}

/* What TLS holds decrypted goes to the answer, until the call pauses;
 * plaintext on an idle connection, a close_notify or a failure ends the
 * connection. */
static void tls_drain(h1_conn_t *conn) {
  char *plain = conn->h1->plainbuf;
  while (!conn->closing && !(conn->call && conn->call->paused &&
                             pl__tls_established(conn->tls))) {
    ssize_t m = pl__tls_read(conn->tls, plain, sizeof conn->h1->plainbuf);
    if (m == 0)
      break;
    if (m == PL_TLS_CLOSED && conn->call) {
      conn_ended(conn, UV_EOF);
      return;
    }
    if (m == PL_TLS_CLOSED || (m > 0 && !conn->call)) {
      pl__http_h1_conn_close(conn);
      return;
    }
    if (m < 0) {
      tls_fail(conn);
      return;
    }
    conn_answer(conn, plain, (size_t)m);
  }
  if (!conn->closing) {
    int rc = tls_flush(conn);
    if (rc < 0)
      conn_fail(conn, rc, "write to");
  }
  /* A call paused during the handshake: reading stops now that it ended. */
  if (!conn->closing && conn->call && conn->call->paused)
    pl__http_h1_conn_pause(conn->call);
}

/* Ciphertext from the socket, for tls_drain(). Handshake records and
 * tickets need no call. */
static void tls_bytes(h1_conn_t *conn, const char *bytes, size_t n) {
  if (pl__tls_feed(conn->tls, bytes, n) < 0) {
    tls_fail(conn);
    return;
  }
  tls_drain(conn);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  h1_conn_t *conn = stream->data;
  if (n == 0 || conn->closing)
    return;
  if (n > 0 && conn->tls) {
    tls_bytes(conn, buf->base, (size_t)n);
    return;
  }
  if (!conn->call) {
    /* An idle connection: the server closed it, or sent what no request
     * asked for. Either way it cannot carry another request. */
    pl__http_h1_conn_close(conn);
    return;
  }
  if (n < 0 && conn->tls)
    /* TLS ends with close_notify (conn_ended from tls_bytes); a bare EOF
     * may be an attacker or a middlebox cutting the answer short, so it
     * never ends a body that runs to the close. */
    conn_fail(conn, (int)n, "read from");
  else if (n < 0)
    conn_ended(conn, (int)n);
  else
    conn_answer(conn, buf->base, (size_t)n);
}

/* ---- Pausing a streamed answer ---- */

void pl__http_h1_conn_pause(h1_call_t *call) {
  call->paused = true;
  h1_conn_t *conn = call->conn;
  if (conn && conn->connected && !conn->closing && !conn->read_stopped &&
      (!conn->tls || pl__tls_established(conn->tls))) {
    uv_read_stop((uv_stream_t *)&conn->tcp);
    conn->read_stopped = true;
  }
}

/* Gives on_body what was held for it; false when the call paused again
 * or ended. */
static bool give_undelivered(h1_call_t *call) {
  if (call->undelivered.len == 0)
    return true;
  pl_buf_t held = call->undelivered;
  call->undelivered = (pl_buf_t){0};
  bool more = call->handlers.on_body(call->handlers.data, held.data, held.len);
  pl_buf_free(&held);
  if (call->state != H1_CALL_RUNNING)
    return false;
  if (!more)
    pl__http_h1_conn_pause(call);
  return !call->paused;
}

/* After an answer that ended on a resume, from what was held while
 * paused: reading had stopped, so what TLS decrypted behind the answer is
 * read now. Bytes no request asked for, or a close_notify, end the idle
 * connection here rather than meet the next request on it. */
static void drain_idle(h1_conn_t *conn) {
  if (conn->tls && conn->idle && !conn->closing)
    tls_drain(conn);
}

void pl__http_h1_conn_resume(h1_call_t *call) {
  h1_conn_t *conn = call->conn;
  if (call->state != H1_CALL_RUNNING || call->paused || !conn ||
      conn->closing || !give_undelivered(call))
    return;
  conn = call->conn;
  if (!conn || conn->closing)
    return;
  if (call->done_held) {
    call->done_held = false;
    conn_done(conn, call->keep_held);
    drain_idle(conn);
    return;
  }
  if (call->unread.len > 0) {
    pl_buf_t held = call->unread;
    call->unread = (pl_buf_t){0};
    bool ended = conn_answer(conn, held.data, held.len);
    pl_buf_free(&held);
    if (ended)
      drain_idle(conn);
    if (ended || call->paused)
      return;
  }
  if (conn->tls) {
    tls_drain(conn);
    if (conn->closing || conn->call != call || call->paused)
      return;
  }
  call->last_progress_ms = uv_now(conn->h1->loop);
  pl__http_h1_call_rearm(call);
  if (conn->read_stopped) {
    conn->read_stopped = false;
    int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
    if (rc < 0)
      conn_fail(conn, rc, "read from");
  }
}

static void on_write(uv_write_t *req, int status);

static int write_buffered(h1_conn_t *conn) {
  uv_buf_t buf = uv_buf_init(conn->wbuf.data, (unsigned)conn->wbuf.len);
  conn->write.data = conn;
  conn->writing = true;
  return uv_write(&conn->write, (uv_stream_t *)&conn->tcp, &buf, 1, on_write);
}

static void on_write(uv_write_t *req, int status) {
  h1_conn_t *conn = req->data;
  conn->writing = false;
  if (conn->closing)
    return;
  if (status < 0) {
    conn_fail(conn, status, "write to");
    return;
  }
  pl_buf_reset(&conn->wbuf);
  if (conn->wnext.len == 0)
    return;
  pl_buf_t next = conn->wnext;
  conn->wnext = conn->wbuf;
  conn->wbuf = next;
  int rc = write_buffered(conn);
  if (rc < 0)
    conn_fail(conn, rc, "write to");
}

/* Sends `len` bytes (borrowed for the call): at once when the socket takes
 * them all (the usual case: one write(2) per request), else the rest is
 * copied and written when the socket is ready, after what waits already.
 * Returns 0 or a libuv error. */
static int conn_out(h1_conn_t *conn, const char *bytes, size_t len) {
  if (conn->writing)
    return pl_buf_append(&conn->wnext, bytes, len) < 0 ? UV_ENOMEM : 0;
  uv_buf_t buf = uv_buf_init((char *)bytes, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
  if (n == (int)len)
    return 0;
  if (n < 0 && n != UV_EAGAIN)
    return n;
  size_t sent = n > 0 ? (size_t)n : 0;
  if (pl_buf_append(&conn->wbuf, bytes + sent, len - sent) < 0)
    return UV_ENOMEM;
  return write_buffered(conn);
}

/* Sends what TLS has for the socket (handshake records, sealed data). */
static int tls_flush(h1_conn_t *conn) {
  const char *bytes = NULL;
  size_t len = pl__tls_output(conn->tls, &bytes);
  if (len == 0)
    return 0;
  int rc = conn_out(conn, bytes, len);
  pl__tls_consume(conn->tls, len);
  return rc;
}

/* Ends the call of a connection whose TLS session failed. */
static void tls_fail(h1_conn_t *conn) {
  h1_call_t *call = conn->call;
  /* Both stay valid: the session is freed when the handle closes, the
   * pool with the transport. */
  const char *why = pl__tls_error(conn->tls);
  const char *host = conn->pool->host;
  bool handshake = !pl__tls_established(conn->tls);
  pl__http_h1_conn_close(conn);
  if (!call)
    return;
  if (strncmp(why, "TLS ", 4) == 0)
    snprintf(call->errbuf, sizeof call->errbuf, "%s", why);
  else
    snprintf(call->errbuf, sizeof call->errbuf, "TLS %s with %.80s: %s",
             handshake ? "handshake" : "session", host, *why ? why : "failed");
  call->error_text = call->errbuf;
  pl__http_h1_call_finish(call, PL_EIO);
}

/* Sends the whole request: one write when the socket takes it; through
 * TLS, sealed (held by TLS until the handshake ends). */
static void conn_send(h1_conn_t *conn) {
  h1_call_t *call = conn->call;
  call->last_progress_ms = uv_now(conn->h1->loop);
  if (call->read_timeout_ms)
    pl__http_h1_call_rearm(call);
  if (conn->tls) {
    if (pl__tls_write(conn->tls, call->request.data, call->request.len) < 0) {
      tls_fail(conn);
      return;
    }
    int rc = tls_flush(conn);
    if (rc < 0)
      conn_fail(conn, rc, "write to");
    return;
  }
  int rc = conn_out(conn, call->request.data, call->request.len);
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
      pl__http_h1_conn_connect(call, next);
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
  if (conn->pool->tls) {
    rc = pl__tls_create(conn->h1->tls_ctx, conn->pool->host, &conn->tls);
    if (rc == 0)
      rc = tls_flush(conn); /* the ClientHello */
    if (rc < 0 && !conn->tls) {
      pl__http_h1_conn_close(conn);
      if (call) {
        snprintf(call->errbuf, sizeof call->errbuf,
                 "TLS handshake with %s: could not start", conn->pool->host);
        call->error_text = call->errbuf;
        pl__http_h1_call_finish(call, PL_EIO);
      }
      return;
    }
    if (rc < 0) {
      conn_fail(conn, rc, "write to");
      return;
    }
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

void pl__http_h1_conn_connect(h1_call_t *call, size_t addr_index) {
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
    snprintf(call->errbuf, sizeof call->errbuf, "connect to %s: %s", pool->host,
             uv_strerror(rc));
    call->error_text = call->errbuf;
    pl__http_h1_call_finish(call, PL_EIO);
    return;
  }
  conn->tcp.data = conn;
  conn->connect.data = conn;
  h1->handles_open++;
  pl__dlist_push(&h1->conns, &conn->node);
  conn->call = call;
  call->conn = conn;
  /* Its connect deadline runs from now: after a slow DNS answer, a retry
   * or another address, the one armed at submit is gone. */
  pl__http_h1_call_rearm(call);
  rc = uv_tcp_connect(&conn->connect, &conn->tcp,
                      (const struct sockaddr *)&pool->addrs[addr_index],
                      on_connect);
  if (rc < 0) {
    conn_fail(conn, rc, "connect to");
  }
}

void pl__http_h1_conn_start(h1_call_t *call) {
  pl_http_h1_t *h1 = call->h1;
  h1_pool_t *pool = call->pool;
  call->state = H1_CALL_RUNNING;
  /* The most recent idle connection is the last: once it is too old, so
   * are all the others. */
  h1_conn_t *recent = pl_dlist_last(&pool->idle, h1_conn_t, idle_node);
  if (recent && uv_now(h1->loop) - recent->idle_since_ms > MAX_IDLE_MS)
    while (!pl__dlist_empty(&pool->idle))
      pl__http_h1_conn_close(pl_dlist_first(&pool->idle, h1_conn_t, idle_node));
  if (!call->fresh_conn && !pl__dlist_empty(&pool->idle)) {
    h1_conn_t *conn = pl_dlist_last(&pool->idle, h1_conn_t, idle_node);
    pl__dlist_remove(&pool->idle, &conn->idle_node);
    conn->idle = false;
    conn->call = call;
    call->conn = conn;
    conn_send(conn);
    return;
  }
  if (pl__http_h1_pool_resolved(h1, pool)) {
    pl__http_h1_conn_connect(call, 0);
    return;
  }
  if (!pool->resolver) {
    int rc = pl__http_h1_pool_resolve(h1, pool);
    if (rc < 0) {
      snprintf(call->errbuf, sizeof call->errbuf, "resolve %s: %s", pool->host,
               uv_strerror(rc));
      call->error_text = call->errbuf;
      pl__http_h1_call_finish(call, PL_EIO);
      return;
    }
  }
  call->state = H1_CALL_RESOLVING;
  pl__dlist_push(&pool->resolving, &call->wait_node);
}
