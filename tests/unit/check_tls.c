/* Check suite for src/aws/tls.c: a client pl_tls_t against an OpenSSL
 * server that also runs over memory BIOs, in this process, with the test
 * certificates of tests/data/tls ($PIPELINED_TEST_DATA). The test moves the
 * bytes between them as a socket would: handshakes, round trips both ways,
 * a large payload, each verification failure, close_notify, garbage and
 * session resumption. */
#include "tls.h"

#include <check.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* The path of a file of tests/data/tls (static buffer: one at a time). */
static const char *data_file(const char *name) {
  static char path[4096];
  const char *dir = getenv("PIPELINED_TEST_DATA");
  snprintf(path, sizeof path, "%s/tls/%s", dir ? dir : "tests/data", name);
  return path;
}

/* ---- The in-memory server ---- */

typedef struct server {
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *in;      /* what the client sent */
  BIO *out;     /* what the server sends */
  pl_buf_t got; /* plaintext received */
  bool failed;
  bool closed; /* the client's close_notify arrived */
} server_t;

/* A server context with certificate `cert` (server, wrong, self-signed)
 * and at most TLS `max_version` (0: any). */
static SSL_CTX *server_ctx(const char *cert, int max_version) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  ck_assert_ptr_nonnull(ctx);
  char name[64];
  snprintf(name, sizeof name, "%s.pem", cert);
  ck_assert_int_eq(
      SSL_CTX_use_certificate_file(ctx, data_file(name), SSL_FILETYPE_PEM), 1);
  snprintf(name, sizeof name, "%s.key", cert);
  ck_assert_int_eq(
      SSL_CTX_use_PrivateKey_file(ctx, data_file(name), SSL_FILETYPE_PEM), 1);
  if (max_version)
    ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
  return ctx;
}

/* A server connection on `ctx` (a reference is taken). */
static void server_start(server_t *s, SSL_CTX *ctx) {
  *s = (server_t){.ctx = ctx};
  SSL_CTX_up_ref(ctx);
  s->ssl = SSL_new(ctx);
  s->in = BIO_new(BIO_s_mem());
  s->out = BIO_new(BIO_s_mem());
  ck_assert(s->ssl && s->in && s->out);
  SSL_set_bio(s->ssl, s->in, s->out);
  SSL_set_accept_state(s->ssl);
}

static void server_stop(server_t *s) {
  SSL_free(s->ssl);
  SSL_CTX_free(s->ctx);
  pl_buf_free(&s->got);
  ERR_clear_error();
}

/* Plaintext from the server to the client. */
static void server_send(server_t *s, const void *bytes, size_t len) {
  size_t written = 0;
  ck_assert_int_eq(SSL_write_ex(s->ssl, bytes, len, &written), 1);
  ck_assert_uint_eq(written, len);
}

/* The server's side of a pump: handshake, then read what came. */
static void server_run(server_t *s) {
  if (s->failed || s->closed)
    return;
  char buf[16384];
  for (;;) {
    size_t got = 0;
    int rc = SSL_read_ex(s->ssl, buf, sizeof buf, &got);
    if (rc == 1) {
      ck_assert_int_eq(pl_buf_append(&s->got, buf, got), 0);
      continue;
    }
    int err = SSL_get_error(s->ssl, rc);
    if (err == SSL_ERROR_ZERO_RETURN)
      s->closed = true;
    else if (err != SSL_ERROR_WANT_READ)
      s->failed = true;
    ERR_clear_error();
    return;
  }
}

/* The client reads all it can, into `got`; the last answer of
 * pl__tls_read() (0, PL_TLS_CLOSED or PL_EIO). */
static ssize_t client_read(pl_tls_t *tls, pl_buf_t *got, size_t cap) {
  char buf[65536];
  ck_assert_uint_le(cap, sizeof buf);
  ssize_t n;
  while ((n = pl__tls_read(tls, buf, cap)) > 0)
    ck_assert_int_eq(pl_buf_append(got, buf, (size_t)n), 0);
  return n;
}

/* Moves bytes both ways until neither side has anything to send: the
 * client's plaintext lands in `client_got` (NULL: not read), and the last
 * answer of pl__tls_read() is returned (0, PL_TLS_CLOSED, PL_EIO). The
 * client reads `cap` bytes at a time, and is fed `piece` bytes at a time
 * (0: all there is), reading after each piece, as a socket may cut a
 * record anywhere. */
static ssize_t pump_with(pl_tls_t *tls, server_t *s, pl_buf_t *client_got,
                         size_t cap, size_t piece) {
  ssize_t last = 0;
  for (bool moved = true; moved;) {
    moved = false;
    const char *bytes;
    size_t len = pl__tls_output(tls, &bytes);
    if (len > 0) {
      ck_assert_int_eq(BIO_write(s->in, bytes, (int)len), (int)len);
      pl__tls_consume(tls, len);
      moved = true;
    }
    server_run(s);
    char *data = NULL;
    long pending = BIO_get_mem_data(s->out, &data);
    size_t off = 0;
    while (off < (size_t)pending) {
      size_t n = (size_t)pending - off;
      if (piece && n > piece)
        n = piece;
      int rc = pl__tls_feed(tls, data + off, n);
      if (rc != 0)
        return rc;
      off += n;
      moved = true;
      if (client_got && off < (size_t)pending &&
          (last = client_read(tls, client_got, cap)) < 0)
        return last;
    }
    char sink[4096];
    while (pending > 0) {
      int chunk = pending < (long)sizeof sink ? (int)pending : (int)sizeof sink;
      ck_assert_int_eq(BIO_read(s->out, sink, chunk), chunk);
      pending -= chunk;
    }
    if (client_got && (last = client_read(tls, client_got, cap)) < 0)
      return last;
  }
  return last;
}

static ssize_t pump_cap(pl_tls_t *tls, server_t *s, pl_buf_t *client_got,
                        size_t cap) {
  return pump_with(tls, s, client_got, cap, 0);
}

static ssize_t pump(pl_tls_t *tls, server_t *s, pl_buf_t *client_got) {
  return pump_with(tls, s, client_got, 16384, 0);
}

/* A client context: verification against the test CA, or none. */
static pl_tls_context_t *client_ctx(bool verify, const char *ca) {
  pl_tls_context_t *ctx = NULL;
  char *error = NULL;
  int rc =
      pl__tls_context_create(verify, ca ? data_file(ca) : NULL, &ctx, &error);
  ck_assert_msg(rc == 0, "context: %s", error ? error : "?");
  free(error);
  return ctx;
}

/* A client connection and its server, and what the client read. */
typedef struct pair {
  pl_tls_t *tls;
  server_t s;
  pl_buf_t got;
} pair_t;

/* A client of `ctx` for `host` facing a server of `server` (borrowed). */
static void pair_start(pair_t *p, pl_tls_context_t *ctx, const char *host,
                       SSL_CTX *server) {
  *p = (pair_t){0};
  server_start(&p->s, server);
  ck_assert_int_eq(pl__tls_create(ctx, host, &p->tls), 0);
}

/* The same with a new server context showing certificate `cert`. */
static void pair_open(pair_t *p, pl_tls_context_t *ctx, const char *host,
                      const char *cert) {
  SSL_CTX *server = server_ctx(cert, 0);
  pair_start(p, ctx, host, server);
  SSL_CTX_free(server);
}

static ssize_t pair_pump(pair_t *p) {
  return pump(p->tls, &p->s, &p->got);
}

/* pair_open(), then the handshake to its end: the connection is up. */
static void pair_connect(pair_t *p, pl_tls_context_t *ctx, const char *host,
                         const char *cert) {
  pair_open(p, ctx, host, cert);
  ck_assert_int_eq(pair_pump(p), 0);
  ck_assert_msg(pl__tls_established(p->tls), "%s", pl__tls_error(p->tls));
}

static void pair_close(pair_t *p) {
  pl_buf_free(&p->got);
  pl__tls_free(p->tls);
  server_stop(&p->s);
}

/* ---- Tests ---- */

START_TEST(test_round_trip) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_open(&p, ctx, "localhost", "server");
  const char *bytes;
  ck_assert_uint_gt(pl__tls_output(p.tls, &bytes), 0); /* the ClientHello */
  ck_assert(!pl__tls_established(p.tls));
  /* Written before the handshake: kept, then sealed. */
  const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ck_assert_int_eq(pl__tls_write(p.tls, req, strlen(req)), 0);
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert(pl__tls_established(p.tls));
  ck_assert(!pl__tls_resumed(p.tls));
  ck_assert_str_eq(pl__tls_error(p.tls), "");
  ck_assert_uint_eq(p.s.got.len, strlen(req));
  ck_assert(memcmp(p.s.got.data, req, p.s.got.len) == 0);
  ck_assert_str_eq(SSL_get_servername(p.s.ssl, TLSEXT_NAMETYPE_host_name),
                   "localhost");
  const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  server_send(&p.s, answer, strlen(answer));
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert_uint_eq(p.got.len, strlen(answer));
  ck_assert(memcmp(p.got.data, answer, p.got.len) == 0);
  /* A second exchange on the established connection: sealed at once. */
  ck_assert_int_eq(pl__tls_write(p.tls, "ping", 4), 0);
  ck_assert_uint_gt(pl__tls_output(p.tls, &bytes), 0);
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert_uint_eq(p.s.got.len, strlen(req) + 4);
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* 1 MiB each way: the client writes it in pieces, reads it through a small
 * buffer; the bytes arrive whole and in order. */
START_TEST(test_large_payload) {
  size_t size = (size_t)1 << 20;
  char *payload = malloc(size);
  ck_assert_ptr_nonnull(payload);
  for (size_t i = 0; i < size; i++)
    payload[i] = (char)(i * 7 + i / 251);
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_open(&p, ctx, "localhost", "server");
  for (size_t off = 0; off < size; off += 10000) {
    size_t n = size - off < 10000 ? size - off : 10000;
    ck_assert_int_eq(pl__tls_write(p.tls, payload + off, n), 0);
    if (off % 200000 == 0)
      ck_assert_int_eq(pair_pump(&p), 0);
  }
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert_uint_eq(p.s.got.len, size);
  ck_assert(memcmp(p.s.got.data, payload, size) == 0);
  server_send(&p.s, payload, size);
  ck_assert_int_eq(pump_cap(p.tls, &p.s, &p.got, 1000), 0);
  ck_assert_uint_eq(p.got.len, size);
  ck_assert(memcmp(p.got.data, payload, size) == 0);
  free(payload);
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* pl__tls_writev(): the pieces arrive as one stream, in as few records as
 * they fill (TLS 1.3 adds 22 bytes to each: header, type and tag). */
START_TEST(test_writev) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_open(&p, ctx, "localhost", "server");
  static char text[80000];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = (char)('A' + i % 31);
  /* Before the handshake: kept with the rest. */
  uv_buf_t early[] = {{.base = text, .len = 10},
                      {.base = text + 10, .len = 0},
                      {.base = text + 10, .len = 20}};
  ck_assert_int_eq(pl__tls_writev(p.tls, early, 3), 0);
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert(pl__tls_established(p.tls));
  ck_assert_uint_eq(p.s.got.len, 30);
  ck_assert(memcmp(p.s.got.data, text, 30) == 0);
  /* A head and a small body: one record. */
  const char *bytes;
  size_t before = pl__tls_output(p.tls, &bytes);
  uv_buf_t small[] = {{.base = text + 30, .len = 600},
                      {.base = text + 630, .len = 900}};
  ck_assert_int_eq(pl__tls_writev(p.tls, small, 2), 0);
  ck_assert_uint_eq(pl__tls_output(p.tls, &bytes) - before, 1500 + 22);
  /* Pieces across record boundaries: 1 + 20000 + 16383 + 3 + 33000 bytes,
   * 69387 in ceil(69387 / 16384) = 5 records. */
  size_t lens[] = {1, 20000, 16383, 3, 33000};
  uv_buf_t big[5];
  size_t off = 1530, total = 0;
  for (size_t i = 0; i < 5; i++) {
    big[i] = (uv_buf_t){.base = text + off + total, .len = lens[i]};
    total += lens[i];
  }
  ck_assert_uint_le(off + total, sizeof text);
  before = pl__tls_output(p.tls, &bytes);
  ck_assert_int_eq(pl__tls_writev(p.tls, big, 5), 0);
  ck_assert_uint_eq(pl__tls_output(p.tls, &bytes) - before, total + 5 * 22);
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert_uint_eq(p.s.got.len, off + total);
  ck_assert(memcmp(p.s.got.data, text, off + total) == 0);
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* The server's bytes arrive one at a time (the handshake, then records of
 * every size): the client reads after each and gets everything once. */
START_TEST(test_bytes_one_at_a_time) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_open(&p, ctx, "localhost", "server");
  ck_assert_int_eq(pl__tls_write(p.tls, "GET", 3), 0);
  ck_assert_int_eq(pump_with(p.tls, &p.s, &p.got, 16384, 1), 0);
  ck_assert_msg(pl__tls_established(p.tls), "%s", pl__tls_error(p.tls));
  ck_assert_uint_eq(p.s.got.len, 3);
  char text[40000];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = (char)('a' + i % 26);
  for (size_t len = 1; len <= sizeof text; len *= 10)
    server_send(&p.s, text, len);
  ck_assert_int_eq(pump_with(p.tls, &p.s, &p.got, 7, 1), 0);
  ck_assert_uint_eq(p.got.len, 1 + 10 + 100 + 1000 + 10000);
  size_t off = 0;
  for (size_t len = 1; len <= sizeof text; len *= 10) {
    ck_assert(memcmp(p.got.data + off, text, len) == 0);
    off += len;
  }
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* A handshake that must fail on the client with PL_EIO and an error text
 * holding `want` and `want2`. */
static void expect_failure(pl_tls_context_t *ctx, const char *cert,
                           const char *host, const char *want,
                           const char *want2) {
  pair_t p;
  pair_open(&p, ctx, host, cert);
  ck_assert_int_eq(pl__tls_write(p.tls, "secret", 6), 0);
  ck_assert_int_eq(pair_pump(&p), PL_EIO);
  ck_assert(!pl__tls_established(p.tls));
  const char *error = pl__tls_error(p.tls);
  ck_assert_msg(strstr(error, want) && strstr(error, want2),
                "error \"%s\" lacks \"%s\" or \"%s\"", error, want, want2);
  /* The plaintext never left, and the connection stays dead. */
  ck_assert_uint_eq(p.s.got.len, 0);
  char buf[16];
  ck_assert_int_eq(pl__tls_read(p.tls, buf, sizeof buf), PL_EIO);
  ck_assert_int_eq(pl__tls_write(p.tls, "x", 1), PL_EIO);
  ck_assert_int_eq(pl__tls_feed(p.tls, "x", 1), PL_EIO);
  pair_close(&p);
}

START_TEST(test_self_signed_refused) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  expect_failure(ctx, "self-signed", "localhost", "certificate verify failed",
                 "self-signed certificate");
  pl__tls_context_free(ctx);
}
END_TEST

/* A server whose CA the client does not trust: the error names the
 * issuer. */
START_TEST(test_unknown_ca_refused) {
  pl_tls_context_t *ctx = client_ctx(true, "self-signed.pem");
  expect_failure(ctx, "server", "localhost",
                 "unable to get local issuer certificate",
                 "CN=pipelined test CA");
  pl__tls_context_free(ctx);
}
END_TEST

START_TEST(test_hostname_mismatch) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  expect_failure(ctx, "wrong", "localhost", "hostname mismatch",
                 "CN=wrong.example");
  expect_failure(ctx, "wrong", "127.0.0.1", "IP address mismatch",
                 "for 127.0.0.1");
  /* The right certificate for another name fails the same way. */
  expect_failure(ctx, "server", "example.com", "hostname mismatch",
                 "for example.com");
  pl__tls_context_free(ctx);
}
END_TEST

/* Without verification any certificate does, and no CA is loaded. */
START_TEST(test_no_verify_accepts_any) {
  pl_tls_context_t *ctx = client_ctx(false, NULL);
  const char *certs[] = {"self-signed", "wrong"};
  for (size_t i = 0; i < 2; i++) {
    pair_t p;
    pair_connect(&p, ctx, "localhost", certs[i]);
    ck_assert_int_eq(pl__tls_write(p.tls, "hello", 5), 0);
    ck_assert_int_eq(pair_pump(&p), 0);
    ck_assert_uint_eq(p.s.got.len, 5);
    pair_close(&p);
  }
  pl__tls_context_free(ctx);
}
END_TEST

/* An IP literal is verified against the certificate's IP addresses and is
 * not sent as SNI. */
START_TEST(test_ip_literal) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_connect(&p, ctx, "127.0.0.1", "server");
  ck_assert_ptr_null(SSL_get_servername(p.s.ssl, TLSEXT_NAMETYPE_host_name));
  pair_close(&p);
  /* ::1 is not in the certificate. */
  expect_failure(ctx, "server", "::1", "IP address mismatch", "for ::1");
  pl__tls_context_free(ctx);
}
END_TEST

/* The server's close_notify is PL_TLS_CLOSED, not a failure, after the
 * data before it; the client's own goes to the server. */
START_TEST(test_close_notify) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pair_t p;
  pair_connect(&p, ctx, "localhost", "server");
  server_send(&p.s, "bye", 3);
  ck_assert_int_ge(SSL_shutdown(p.s.ssl), 0);
  ck_assert_int_eq(pair_pump(&p), PL_TLS_CLOSED);
  ck_assert_uint_eq(p.got.len, 3);
  ck_assert(memcmp(p.got.data, "bye", 3) == 0);
  char buf[16];
  ck_assert_int_eq(pl__tls_read(p.tls, buf, sizeof buf), PL_TLS_CLOSED);
  ck_assert_str_eq(pl__tls_error(p.tls), "");
  pair_close(&p);

  /* The client closes: the server sees a clean close. */
  pair_connect(&p, ctx, "localhost", "server");
  ck_assert_int_eq(pl__tls_shutdown(p.tls), 0);
  ck_assert_int_eq(pump(p.tls, &p.s, NULL), 0);
  ck_assert(p.s.closed);
  ck_assert(!p.s.failed);
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* Bytes that are not TLS, before and after the handshake: PL_EIO and a
 * reason, never a crash. */
START_TEST(test_garbage) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  pl_tls_t *tls = NULL;
  ck_assert_int_eq(pl__tls_create(ctx, "localhost", &tls), 0);
  const char *http = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  ck_assert_int_eq(pl__tls_feed(tls, http, strlen(http)), 0);
  char buf[64];
  ck_assert_int_eq(pl__tls_read(tls, buf, sizeof buf), PL_EIO);
  ck_assert_msg(strstr(pl__tls_error(tls), "TLS handshake with localhost"),
                "%s", pl__tls_error(tls));
  pl__tls_free(tls);

  /* A record with a valid header and a body that does not decrypt. */
  pair_t p;
  pair_connect(&p, ctx, "localhost", "server");
  unsigned char record[5 + 64] = {0x17, 0x03, 0x03, 0x00, 64};
  for (size_t i = 5; i < sizeof record; i++)
    record[i] = (unsigned char)(i * 13);
  ck_assert_int_eq(pl__tls_feed(p.tls, (const char *)record, sizeof record), 0);
  ck_assert_int_eq(pl__tls_read(p.tls, buf, sizeof buf), PL_EIO);
  ck_assert_msg(strstr(pl__tls_error(p.tls), "TLS error from localhost"), "%s",
                pl__tls_error(p.tls));
  ck_assert(!pl__tls_established(p.tls));
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

/* Bad CA files fail at creation with a message naming the file. */
START_TEST(test_bad_ca_file) {
  pl_tls_context_t *ctx = (pl_tls_context_t *)1;
  char *error = NULL;
  ck_assert_int_eq(
      pl__tls_context_create(true, "/nonexistent/ca.pem", &ctx, &error),
      PL_EIO);
  ck_assert_ptr_null(ctx);
  ck_assert_str_eq(error,
                   "cannot load CA file /nonexistent/ca.pem: No such file or "
                   "directory");
  free(error);
  error = NULL;
  /* A file without a certificate (the script that made them). */
  char path[4096];
  snprintf(path, sizeof path, "%s", data_file("make-certs.sh"));
  ck_assert_int_eq(pl__tls_context_create(true, path, &ctx, &error), PL_EIO);
  ck_assert_ptr_null(ctx);
  ck_assert_msg(strstr(error, path) != NULL, "%s", error);
  free(error);
  /* Without verification the CA file is not read. */
  ck_assert_int_eq(
      pl__tls_context_create(false, "/nonexistent/ca.pem", &ctx, NULL), 0);
  pl__tls_context_free(ctx);
  /* The system store loads. */
  ck_assert_int_eq(pl__tls_context_create(true, NULL, &ctx, NULL), 0);
  pl__tls_context_free(ctx);
  pl_tls_t *tls = (pl_tls_t *)1;
  ck_assert_int_eq(pl__tls_context_create(false, NULL, &ctx, NULL), 0);
  ck_assert_int_eq(pl__tls_create(ctx, "", &tls), PL_EINVAL);
  ck_assert_ptr_null(tls);
  pl__tls_context_free(ctx);
}
END_TEST

/* Without a CA file, OpenSSL's default store is used, which the
 * SSL_CERT_FILE environment variable replaces: how an operator trusts a
 * private CA (here the test CA) without a setting of pipelined. */
START_TEST(test_ssl_cert_file) {
  char ca[4096];
  snprintf(ca, sizeof ca, "%s", data_file("ca.pem"));
  ck_assert_int_eq(setenv("SSL_CERT_FILE", ca, 1), 0);
  pl_tls_context_t *ctx = client_ctx(true, NULL);
  ck_assert_int_eq(unsetenv("SSL_CERT_FILE"), 0);
  pair_t p;
  pair_connect(&p, ctx, "localhost", "server");
  pair_close(&p);
  pl__tls_context_free(ctx);
  /* The system's store alone does not know the test CA. */
  ctx = client_ctx(true, NULL);
  expect_failure(ctx, "server", "localhost",
                 "unable to get local issuer certificate", "for localhost");
  pl__tls_context_free(ctx);
}
END_TEST

/* A connection with one exchange done (so TLS 1.3 tickets arrived); returns
 * whether it resumed. */
static bool connect_once(pl_tls_context_t *ctx, SSL_CTX *server,
                         const char *host) {
  pair_t p;
  pair_start(&p, ctx, host, server);
  ck_assert_int_eq(pl__tls_write(p.tls, "q", 1), 0);
  ck_assert_int_eq(pair_pump(&p), 0);
  server_send(&p.s, "a", 1);
  ck_assert_int_eq(pair_pump(&p), 0);
  ck_assert_msg(pl__tls_established(p.tls), "%s", pl__tls_error(p.tls));
  ck_assert_uint_eq(p.got.len, 1);
  bool resumed = pl__tls_resumed(p.tls);
  ck_assert_int_eq(SSL_session_reused(p.s.ssl), resumed);
  pair_close(&p);
  return resumed;
}

/* The second connection to a host resumes the first one's session (TLS 1.3
 * and 1.2); another host does not. */
START_TEST(test_resumption) {
  int versions[] = {0, TLS1_2_VERSION};
  for (size_t i = 0; i < 2; i++) {
    pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
    SSL_CTX *server = server_ctx("server", versions[i]);
    ck_assert(!connect_once(ctx, server, "localhost"));
    ck_assert(connect_once(ctx, server, "localhost"));
    ck_assert(connect_once(ctx, server, "localhost"));
    ck_assert(!connect_once(ctx, server, "127.0.0.1"));
    ck_assert(connect_once(ctx, server, "127.0.0.1"));
    SSL_CTX_free(server);
    pl__tls_context_free(ctx);
  }
}
END_TEST

/* The context keeps the sessions of 16 hosts: a 17th replaces the oldest,
 * the others still resume. */
START_TEST(test_sessions_evicted) {
  pl_tls_context_t *ctx = client_ctx(false, NULL);
  SSL_CTX *server = server_ctx("server", 0);
  char host[32];
  for (int i = 0; i <= 16; i++) {
    snprintf(host, sizeof host, "host%d.example", i);
    ck_assert(!connect_once(ctx, server, host));
  }
  ck_assert(!connect_once(ctx, server, "host0.example"));
  ck_assert(connect_once(ctx, server, "host16.example"));
  ck_assert(connect_once(ctx, server, "host5.example"));
  SSL_CTX_free(server);
  pl__tls_context_free(ctx);
}
END_TEST

/* A server that offers only TLS 1.1 is refused (TLS 1.2 at least). */
START_TEST(test_old_protocol_refused) {
  pl_tls_context_t *ctx = client_ctx(true, "ca.pem");
  SSL_CTX *server = server_ctx("server", TLS1_1_VERSION);
  SSL_CTX_set_security_level(server, 0);
  SSL_CTX_set_min_proto_version(server, TLS1_VERSION);
  pair_t p;
  pair_start(&p, ctx, "localhost", server);
  SSL_CTX_free(server);
  ck_assert_int_eq(pair_pump(&p), PL_EIO);
  ck_assert(!pl__tls_established(p.tls));
  ck_assert_msg(strstr(pl__tls_error(p.tls), "TLS handshake with localhost"),
                "%s", pl__tls_error(p.tls));
  pair_close(&p);
  pl__tls_context_free(ctx);
}
END_TEST

static Suite *tls_suite(void) {
  Suite *s = suite_create("tls");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_large_payload);
  tcase_add_test(tc, test_writev);
  tcase_add_test(tc, test_bytes_one_at_a_time);
  tcase_add_test(tc, test_self_signed_refused);
  tcase_add_test(tc, test_unknown_ca_refused);
  tcase_add_test(tc, test_hostname_mismatch);
  tcase_add_test(tc, test_no_verify_accepts_any);
  tcase_add_test(tc, test_ip_literal);
  tcase_add_test(tc, test_close_notify);
  tcase_add_test(tc, test_garbage);
  tcase_add_test(tc, test_bad_ca_file);
  tcase_add_test(tc, test_ssl_cert_file);
  tcase_add_test(tc, test_resumption);
  tcase_add_test(tc, test_sessions_evicted);
  tcase_add_test(tc, test_old_protocol_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(tls_suite());
}
