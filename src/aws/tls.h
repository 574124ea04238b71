/* A TLS client over memory buffers, on OpenSSL's libssl: no sockets, so
 * that a libuv connection (the lean HTTP/1.1 client) drives it. The caller
 * moves bytes: what arrives from the socket goes in with pl__tls_feed(),
 * what pl__tls_output() holds goes out on the socket, and plaintext passes
 * through pl__tls_write() and pl__tls_read().
 *
 * The usual loop of a connection:
 *   pl__tls_create()            the ClientHello is in the output at once
 *   send pl__tls_output(), pl__tls_consume() what was sent
 *   pl__tls_write(request)      kept until the handshake ends, then sealed
 *   on socket bytes: pl__tls_feed(), then pl__tls_read() until it returns
 *     0 (it also advances the handshake), then send the output again
 * After any call, new ciphertext may wait in the output (handshake records,
 * the sealed request, a key update): send it.
 *
 * Errors are 0 or negative PL_E* codes; after a failure the connection is
 * dead (every later call returns PL_EIO) and pl__tls_error() says why.
 * Nothing here is shared between threads: a context and its connections
 * belong to one loop. */
#ifndef PL_AWS_TLS_H
#define PL_AWS_TLS_H

#include <pipelined/common.h>
#include <sys/types.h>
#include <uv.h>

/* What pl__tls_read() returns when the server closed the TLS session
 * cleanly (close_notify): no more plaintext will come. Distinct from a
 * failure (PL_EIO) and from "nothing yet" (0). An alias of PL_ENOENT, so
 * callers compare with it and never log it through pl_strerror(). */
#define PL_TLS_CLOSED PL_ENOENT

/* What every connection of a client shares: the SSL_CTX (TLS 1.2 or
 * later, the trusted CAs) and the last session of each host, for
 * resumption. Opaque. */
typedef struct pl_tls_context pl_tls_context_t;

/* One TLS connection: an SSL with a memory BIO each way. Opaque. */
typedef struct pl_tls pl_tls_t;

/* A new context in *out. With `verify`, servers must show a certificate
 * chain to a trusted CA for the name given to pl__tls_create(): the CAs
 * of `ca_file` (a PEM bundle, borrowed for the call) or, when it is NULL,
 * OpenSSL's default store (the system's; the SSL_CERT_FILE and
 * SSL_CERT_DIR environment variables override it, as OpenSSL documents).
 * Without `verify` any certificate is accepted (the caller logs a
 * warning). Reads the CA files: for start-up, not the loop's hot path.
 * Returns 0; PL_ENOMEM; PL_EIO when libssl fails or `ca_file` cannot be
 * loaded, with a new message in *error (pl_error_set(), e.g. "cannot load
 * CA file /x.pem: No such file or directory"). */
int pl__tls_context_create(bool verify, const char *ca_file,
                           pl_tls_context_t **out, char **error);

/* Frees the context and the sessions it keeps. Free its connections
 * first: they refer to it (a session the server gives is kept here). NULL
 * is allowed. */
void pl__tls_context_free(pl_tls_context_t *ctx);

/* A new connection in *out, to `host` (borrowed, copied: a DNS name, or a
 * bare IPv4/IPv6 literal without brackets). A name is sent as SNI and,
 * with verification, must match the certificate's DNS names; a literal is
 * not sent and must match an IP address of the certificate. When the
 * context holds a session of `host`, the connection offers it
 * (resumption: pl__tls_resumed(); sessions are kept by host, not
 * port). The ClientHello is in the output when this returns. Returns 0,
 * PL_EINVAL (host NULL or empty), PL_ENOMEM or PL_EIO (libssl refused; nothing
 * is made). */
int pl__tls_create(pl_tls_context_t *ctx, const char *host, pl_tls_t **out);

/* Frees the connection (without sending anything: see
 * pl__tls_shutdown()). The session of a connection that did not fail stays
 * resumable. NULL is allowed. */
void pl__tls_free(pl_tls_t *tls);

/* Ciphertext from the server: copies `len` bytes (borrowed) into the
 * connection's input buffer. Decrypts nothing: pl__tls_read() does.
 * Returns 0, PL_ENOMEM or PL_EIO (the connection had failed). */
int pl__tls_feed(pl_tls_t *tls, const char *bytes, size_t len);

/* Plaintext from the server into `buf` (at most `cap` bytes, cap > 0):
 * advances the handshake first, then decrypts what was fed. Returns the
 * number of bytes (> 0); 0 when it needs more input (the handshake may
 * have put records in the output: send them); PL_TLS_CLOSED after the
 * server's close_notify; PL_EIO when the handshake or a record fails
 * (certificate, name, protocol, garbage: pl__tls_error() says which).
 * Call it until it returns 0 after each pl__tls_feed(): one record may
 * hold more than `cap` bytes. No allocation on this path. */
ssize_t pl__tls_read(pl_tls_t *tls, char *buf, size_t cap);

/* Plaintext for the server (`len` bytes, borrowed). Before the handshake
 * ends, the bytes are copied and kept, and sealed in one go when it ends;
 * after, they are sealed at once into the output (one SSL_write, records
 * of up to 16 KiB). Returns 0, PL_ENOMEM or PL_EIO. */
int pl__tls_write(pl_tls_t *tls, const void *bytes, size_t len);

/* The same for `nbufs` pieces (borrowed, as uv_write() takes them), sent
 * as if they were one: pieces smaller than a record are gathered into
 * full records (copied once into a buffer the connection keeps), whole
 * records of a large piece are sealed where they are. Each record costs
 * libssl about 7,000 instructions, as much as sealing 2 KiB, so a
 * request's head and its small body go in one record this way, and in
 * two with two pl__tls_write() calls (600 + 900 bytes: 12.4k instructions
 * instead of 19.7k). Returns 0, PL_ENOMEM or PL_EIO. */
int pl__tls_writev(pl_tls_t *tls, const uv_buf_t *bufs, unsigned int nbufs);

/* Queues the close_notify alert in the output: the polite end of a
 * connection that is to be closed. Returns 0 or PL_EIO. */
int pl__tls_shutdown(pl_tls_t *tls);

/* The ciphertext waiting to be sent: its length, and in *bytes a pointer
 * to it, borrowed until the next call on `tls` (which may move it). The
 * buffer behind it is libssl's memory BIO: it keeps the size of the most
 * that ever waited (a large body written at once), until pl__tls_free(). */
size_t pl__tls_output(pl_tls_t *tls, const char **bytes);

/* Drops the first `n` bytes of the output (those sent); n is at most what
 * pl__tls_output() returned. A memory BIO drops bytes only by reading
 * them, so this copies them once to a buffer on the stack (a memcpy, no
 * allocation). */
void pl__tls_consume(pl_tls_t *tls, size_t n);

/* True once the handshake has completed (and the peer is verified when
 * the context verifies). */
bool pl__tls_established(const pl_tls_t *tls);

/* True when the handshake resumed a session of the context (no
 * certificate exchange). */
bool pl__tls_resumed(const pl_tls_t *tls);

/* Why the connection failed, or "" when it has not; borrowed from the
 * connection. One line naming the host, e.g.
 *   certificate verify failed: unable to get local issuer certificate
 *     (certificate /CN=localhost issued by /CN=Some CA, for localhost)
 *   certificate verify failed: hostname mismatch (certificate
 *     /CN=wrong.example issued by /CN=Some CA, for localhost)
 *   TLS handshake with localhost failed: wrong version number
 *   TLS error from localhost: decryption failed or bad record mac */
const char *pl__tls_error(const pl_tls_t *tls);

#endif
