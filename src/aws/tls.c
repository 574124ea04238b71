/* A TLS client over memory BIOs (tls.h). The SSL reads the server's
 * ciphertext from one memory BIO, which pl__tls_feed() fills, and writes
 * its own into another, which pl__tls_output() shows; the caller owns the
 * socket. OpenSSL does the protocol and the certificate checks: this file
 * only sets them up, moves bytes and turns failures into one line. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many hosts keep a session: a client talks to a handful of endpoints
 * (SQS, DynamoDB, S3, STS of one region); past this, the oldest entry
 * goes. */
#define PL_TLS_SESSIONS 16

/* The most plaintext one TLS record carries (RFC 8446 5.1; libssl's
 * default max_send_fragment). */
#define PL_TLS_RECORD 16384

typedef struct pl_tls_session {
  char *host;           /* NULL: free slot */
  SSL_SESSION *session; /* our reference */
} pl_tls_session_t;

struct pl_tls_context {
  SSL_CTX *ssl_ctx;
  bool verify;
  pl_tls_session_t sessions[PL_TLS_SESSIONS];
  size_t next_evict; /* the slot replaced when every slot is taken */
};

struct pl_tls {
  pl_tls_context_t *ctx;
  SSL *ssl;
  BIO *in;  /* the server's ciphertext, for the SSL to read (the SSL owns it) */
  BIO *out; /* the SSL's ciphertext, for the socket (the SSL owns it) */
  char *host;
  pl_buf_t pending; /* plaintext written before the handshake ended */
  pl_buf_t gather;  /* pl__tls_writev()'s small pieces, up to one record */
  bool established;
  bool failed;
  bool closed;
  /* What the verify callback saw of the first certificate it refused. */
  char verify_detail[256];
  char error[512];
};

/* libssl's error queue must be empty before an SSL call for
 * SSL_get_error() to be right; whatever else the thread ran (libcurl,
 * libcrypto) may have left errors there. ERR_clear_error() walks the whole
 * queue (about 800 instructions, a tenth of what reading a small record
 * costs), so it runs only when the queue holds something. */
static void clear_errors(void) {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

/* ---- Sessions of the context, one per host ---- */

static pl_tls_session_t *session_find(pl_tls_context_t *ctx, const char *host) {
  for (size_t i = 0; i < PL_TLS_SESSIONS; i++)
    if (ctx->sessions[i].host && strcmp(ctx->sessions[i].host, host) == 0)
      return &ctx->sessions[i];
  return NULL;
}

static void session_clear(pl_tls_session_t *slot) {
  free(slot->host);
  SSL_SESSION_free(slot->session);
  *slot = (pl_tls_session_t){0};
}

/* Keeps `session` (steals the reference) as the one of `host`. Returns
 * false when out of memory (the caller keeps the reference). */
static bool session_keep(pl_tls_context_t *ctx, const char *host,
                         SSL_SESSION *session) {
  pl_tls_session_t *slot = session_find(ctx, host);
  if (slot) {
    SSL_SESSION_free(slot->session);
    slot->session = session;
    return true;
  }
  for (size_t i = 0; i < PL_TLS_SESSIONS && !slot; i++)
    if (!ctx->sessions[i].host)
      slot = &ctx->sessions[i];
  char *copy = strdup(host);
  if (!copy)
    return false;
  if (!slot) {
    slot = &ctx->sessions[ctx->next_evict];
    ctx->next_evict = (ctx->next_evict + 1) % PL_TLS_SESSIONS;
    session_clear(slot);
  }
  *slot = (pl_tls_session_t){.host = copy, .session = session};
  return true;
}

/* libssl's callback for a session the server gave (after a full
 * handshake, or a TLS 1.3 ticket after it): 1 takes the reference. */
static int on_new_session(SSL *ssl, SSL_SESSION *session) {
  pl_tls_t *tls = SSL_get_app_data(ssl);
  if (!tls || tls->failed || !SSL_SESSION_is_resumable(session))
    return 0;
  return session_keep(tls->ctx, tls->host, session) ? 1 : 0;
}

/* ---- Failures ---- */

/* The first certificate the chain check refused, for the error text (the
 * name check ends here too: X509_V_ERR_HOSTNAME_MISMATCH). Keeps the
 * answer of the check. */
static int on_verify(int ok, X509_STORE_CTX *store) {
  if (ok)
    return ok;
  SSL *ssl =
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  pl_tls_t *tls = ssl ? SSL_get_app_data(ssl) : NULL;
  X509 *cert = X509_STORE_CTX_get_current_cert(store);
  if (tls && cert && !tls->verify_detail[0]) {
    char subject[96], issuer[96];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    X509_NAME_oneline(X509_get_issuer_name(cert), issuer, sizeof issuer);
    snprintf(tls->verify_detail, sizeof tls->verify_detail,
             "certificate %s issued by %s", subject, issuer);
  }
  return ok;
}

/* The reason of libssl's last error, or `otherwise`. */
static const char *ssl_reason(const char *otherwise) {
  unsigned long err = ERR_peek_last_error();
  const char *reason = err ? ERR_reason_error_string(err) : NULL;
  return reason ? reason : otherwise;
}

/* Marks the connection dead and says why, from the verify result or
 * libssl's error queue (which it empties). Returns PL_EIO. */
static int fail(pl_tls_t *tls) {
  tls->failed = true;
  long verify = tls->ctx->verify ? SSL_get_verify_result(tls->ssl) : X509_V_OK;
  const char *reason = ssl_reason("unexpected end of data");
  if (verify != X509_V_OK)
    snprintf(tls->error, sizeof tls->error,
             "certificate verify failed: %s (%s, for %s)",
             X509_verify_cert_error_string(verify), tls->verify_detail,
             tls->host);
  else if (!tls->established)
    snprintf(tls->error, sizeof tls->error, "TLS handshake with %s failed: %s",
             tls->host, reason);
  else
    snprintf(tls->error, sizeof tls->error, "TLS error from %s: %s", tls->host,
             reason);
  ERR_clear_error();
  /* A session that led here is not offered again. */
  pl_tls_session_t *slot = session_find(tls->ctx, tls->host);
  if (slot && !tls->established)
    session_clear(slot);
  return PL_EIO;
}

/* ---- The handshake and the pending plaintext ---- */

/* Seals `len` bytes into the output. libssl's memory BIO grows, so one
 * SSL_write takes everything. */
static int seal(pl_tls_t *tls, const void *bytes, size_t len) {
  if (len == 0)
    return 0;
  clear_errors();
  size_t written = 0;
  if (SSL_write_ex(tls->ssl, bytes, len, &written) != 1 || written != len)
    return fail(tls);
  return 0;
}

/* Advances the handshake with what was fed. Returns 1 once it has ended
 * (and the pending plaintext is sealed), 0 when it needs more input,
 * PL_EIO. */
static int handshake(pl_tls_t *tls) {
  if (tls->established)
    return 1;
  clear_errors();
  int rc = SSL_do_handshake(tls->ssl);
  if (rc != 1) {
    if (SSL_get_error(tls->ssl, rc) == SSL_ERROR_WANT_READ)
      return 0;
    return fail(tls);
  }
  tls->established = true;
  rc = seal(tls, tls->pending.data, tls->pending.len);
  pl_buf_free(&tls->pending);
  return rc < 0 ? rc : 1;
}

/* ---- Context ---- */

/* Sets the CAs to trust. Returns NULL, or why it failed (static text). */
static const char *load_cas(SSL_CTX *ssl_ctx, const char *ca_file) {
  if (!ca_file)
    return SSL_CTX_set_default_verify_paths(ssl_ctx)
               ? NULL
               : ssl_reason("no certificate");
  /* libssl's error for a missing file is vague: say which one. */
  FILE *f = fopen(ca_file, "r");
  if (!f)
    return strerror(errno);
  fclose(f);
  return SSL_CTX_load_verify_file(ssl_ctx, ca_file)
             ? NULL
             : ssl_reason("no certificate");
}

int pl__tls_context_create(bool verify, const char *ca_file,
                           pl_tls_context_t **out, char **error) {
  *out = NULL;
  pl_tls_context_t *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    return PL_ENOMEM;
  ctx->verify = verify;
  ERR_clear_error();
  ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
  const char *why = NULL;
  if (!ctx->ssl_ctx ||
      !SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION)) {
    pl_error_set(error, "cannot set up TLS: %s", ssl_reason("unknown error"));
  } else {
    /* No renegotiation (TLS 1.2): nothing here needs it. */
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(
        ctx->ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx->ssl_ctx, on_new_session);
    SSL_CTX_set_verify(ctx->ssl_ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       verify ? on_verify : NULL);
    if (!verify || !(why = load_cas(ctx->ssl_ctx, ca_file))) {
      *out = ctx;
      return 0;
    }
    if (ca_file)
      pl_error_set(error, "cannot load CA file %s: %s", ca_file, why);
    else
      pl_error_set(error, "cannot load the system's CA certificates: %s", why);
  }
  ERR_clear_error();
  pl__tls_context_free(ctx);
  return PL_EIO;
}

void pl__tls_context_free(pl_tls_context_t *ctx) {
  if (!ctx)
    return;
  for (size_t i = 0; i < PL_TLS_SESSIONS; i++)
    session_clear(&ctx->sessions[i]);
  SSL_CTX_free(ctx->ssl_ctx);
  free(ctx);
}

/* ---- Connection ---- */

static bool is_ip_literal(const char *host) {
  unsigned char addr[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, addr) == 1 ||
         inet_pton(AF_INET6, host, addr) == 1;
}

/* Names the server must prove (verification) and SNI. Returns 1 or 0
 * (libssl refused). */
static int set_names(pl_tls_t *tls) {
  bool ip = is_ip_literal(tls->host);
  /* RFC 6066: SNI carries host names only, never an address. */
  if (!ip && !SSL_set_tlsext_host_name(tls->ssl, tls->host))
    return 0;
  if (!tls->ctx->verify)
    return 1;
  X509_VERIFY_PARAM *param = SSL_get0_param(tls->ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (ip)
    return X509_VERIFY_PARAM_set1_ip_asc(param, tls->host);
  return X509_VERIFY_PARAM_set1_host(param, tls->host, 0);
}

int pl__tls_create(pl_tls_context_t *ctx, const char *host, pl_tls_t **out) {
  *out = NULL;
  if (!host || !*host)
    return PL_EINVAL;
  pl_tls_t *tls = calloc(1, sizeof *tls);
  if (!tls)
    return PL_ENOMEM;
  tls->ctx = ctx;
  if (!(tls->host = strdup(host))) {
    free(tls);
    return PL_ENOMEM;
  }
  ERR_clear_error();
  tls->ssl = SSL_new(ctx->ssl_ctx);
  tls->in = BIO_new(BIO_s_mem());
  tls->out = BIO_new(BIO_s_mem());
  if (!tls->ssl || !tls->in || !tls->out) {
    BIO_free(tls->in);
    BIO_free(tls->out);
    tls->in = tls->out = NULL;
    pl__tls_free(tls);
    ERR_clear_error();
    return PL_ENOMEM;
  }
  SSL_set_bio(tls->ssl, tls->in, tls->out);
  SSL_set_app_data(tls->ssl, tls);
  SSL_set_connect_state(tls->ssl);
  pl_tls_session_t *slot = session_find(ctx, host);
  if (!set_names(tls) ||
      (slot && SSL_SESSION_is_resumable(slot->session) &&
       !SSL_set_session(tls->ssl, slot->session)) ||
      handshake(tls) < 0) {
    ERR_clear_error();
    pl__tls_free(tls);
    return PL_EIO;
  }
  *out = tls;
  return 0;
}

void pl__tls_free(pl_tls_t *tls) {
  if (!tls)
    return;
  /* libssl marks the session of a connection freed without a shutdown as
   * not resumable (the stored one is that session under TLS 1.3). Closing
   * a healthy connection (an idle keep-alive one, say) says nothing bad
   * about its session: a failed one keeps the mark. */
  if (tls->ssl && tls->established && !tls->failed)
    SSL_set_shutdown(tls->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(tls->ssl); /* and both BIOs */
  pl_buf_free(&tls->pending);
  pl_buf_free(&tls->gather);
  free(tls->host);
  free(tls);
}

int pl__tls_feed(pl_tls_t *tls, const char *bytes, size_t len) {
  if (tls->failed)
    return PL_EIO;
  while (len > 0) {
    int chunk = len > INT_MAX ? INT_MAX : (int)len;
    int wrote = BIO_write(tls->in, bytes, chunk);
    if (wrote <= 0) {
      ERR_clear_error();
      return PL_ENOMEM;
    }
    bytes += wrote;
    len -= (size_t)wrote;
  }
  return 0;
}

ssize_t pl__tls_read(pl_tls_t *tls, char *buf, size_t cap) {
  if (tls->failed)
    return PL_EIO;
  if (tls->closed)
    return PL_TLS_CLOSED;
  int rc = handshake(tls);
  if (rc <= 0)
    return rc;
  /* Nothing fed and nothing decrypted left: the usual last call of a read
   * loop answers without a trip through libssl's record layer (it reads
   * no more than a record needs, so no whole record hides in it). */
  if (BIO_ctrl_pending(tls->in) == 0 && !SSL_has_pending(tls->ssl))
    return 0;
  if (cap > SSIZE_MAX)
    cap = SSIZE_MAX;
  clear_errors();
  size_t got = 0;
  int ok = SSL_read_ex(tls->ssl, buf, cap, &got);
  if (ok == 1)
    return (ssize_t)got;
  switch (SSL_get_error(tls->ssl, ok)) {
  case SSL_ERROR_WANT_READ:
    return 0;
  case SSL_ERROR_ZERO_RETURN:
    tls->closed = true;
    return PL_TLS_CLOSED;
  default:
    return fail(tls);
  }
}

/* Seals the pieces as full records: pieces smaller than a record are
 * gathered (copied) into one, whole records of a large piece go as they
 * are. A record costs libssl about as much as sealing 2 KiB, more than
 * copying 16 KiB, so a request's head and small body make one record. */
static int seal_pieces(pl_tls_t *tls, const uv_buf_t *bufs,
                       unsigned int nbufs) {
  pl_buf_t *gather = &tls->gather;
  pl_buf_reset(gather);
  for (unsigned int i = 0; i < nbufs; i++) {
    const char *at = bufs[i].base;
    size_t left = bufs[i].len;
    while (left > 0) {
      size_t n;
      int rc;
      if (gather->len == 0 && left >= PL_TLS_RECORD) {
        n = left - left % PL_TLS_RECORD;
        rc = seal(tls, at, n);
      } else {
        n = PL_TLS_RECORD - gather->len < left ? PL_TLS_RECORD - gather->len
                                               : left;
        rc = pl_buf_append(gather, at, n);
        if (rc == 0 && gather->len == PL_TLS_RECORD) {
          rc = seal(tls, gather->data, gather->len);
          pl_buf_reset(gather);
        }
      }
      if (rc < 0)
        return rc;
      at += n;
      left -= n;
    }
  }
  int rc = seal(tls, gather->data, gather->len);
  pl_buf_reset(gather);
  return rc;
}

int pl__tls_writev(pl_tls_t *tls, const uv_buf_t *bufs, unsigned int nbufs) {
  if (tls->failed)
    return PL_EIO;
  int rc = handshake(tls);
  if (rc < 0)
    return rc;
  if (rc > 0)
    return nbufs == 1 ? seal(tls, bufs[0].base, bufs[0].len)
                      : seal_pieces(tls, bufs, nbufs);
  size_t was = tls->pending.len;
  for (unsigned int i = 0; i < nbufs && rc == 0; i++)
    rc = pl_buf_append(&tls->pending, bufs[i].base, bufs[i].len);
  if (rc < 0)
    pl_buf_truncate(&tls->pending, was);
  return rc;
}

int pl__tls_write(pl_tls_t *tls, const void *bytes, size_t len) {
  /* uv_buf_t's base is not const; nothing writes through it. */
  uv_buf_t buf = {.base = (char *)bytes, .len = len};
  return pl__tls_writev(tls, &buf, 1);
}

int pl__tls_shutdown(pl_tls_t *tls) {
  if (tls->failed)
    return PL_EIO;
  if (!tls->established)
    return 0; /* nothing to close politely yet */
  clear_errors();
  int rc = SSL_shutdown(tls->ssl);
  if (rc < 0 && SSL_get_error(tls->ssl, rc) != SSL_ERROR_WANT_READ)
    return fail(tls);
  return 0;
}

size_t pl__tls_output(pl_tls_t *tls, const char **bytes) {
  char *data = NULL;
  long len = BIO_get_mem_data(tls->out, &data);
  *bytes = data;
  return len > 0 ? (size_t)len : 0;
}

void pl__tls_consume(pl_tls_t *tls, size_t n) {
  /* A memory BIO drops bytes only by reading them: through a small
   * buffer on the stack, no allocation. */
  char sink[4096];
  while (n > 0) {
    int r =
        BIO_read(tls->out, sink, n < sizeof sink ? (int)n : (int)sizeof sink);
    if (r <= 0)
      break;
    n -= (size_t)r;
  }
}

bool pl__tls_established(const pl_tls_t *tls) {
  return tls->established && !tls->failed;
}

bool pl__tls_resumed(const pl_tls_t *tls) {
  return tls->established && SSL_session_reused(tls->ssl);
}

const char *pl__tls_error(const pl_tls_t *tls) {
  return tls->error;
}
