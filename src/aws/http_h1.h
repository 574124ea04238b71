/* The builtin HTTP/1.1 client of the AWS layer: a transport of http.h on
 * libuv, for the buffered requests of the hot paths (SendMessageBatch,
 * ReceiveMessage, BatchWriteItem, ...). Each request goes out in one write
 * on a kept-alive connection (pooled per scheme, host and port, reused
 * most recent first, one request at a time: no pipelining) and its answer
 * is read as it arrives, without the per-header formatting and the polls
 * libcurl spends (docs/performance.md).
 *
 * Streamed downloads (on_body) are its own too: each piece of a 2xx body
 * goes to on_body as it is read; a pause stops reading the socket, and
 * what was read already (body not yet given, answer not yet parsed, the
 * answer's end) waits for the resume, which goes on from the loop. What
 * it does not do it relays, unchanged, to a fallback transport (the curl
 * one): request bodies over PL_HTTP_H1_MAX_REQUEST_BODY (S3 parts).
 * on_done runs from the loop, never inside submit: right after the poll
 * that ended the call, so that what the caller sends next leaves in the
 * same turn of the loop, or, for a call ended by a timer, a cancel, a
 * close or a failure inside submit, before the next poll. https:// goes through
 * the TLS engine of tls.h over the same connections. Proxies and the operator's
 * choice of libcurl (aws { http_client = "curl" }) are decided by its creator,
 * which then uses the fallback alone (aws_context.c). */
#ifndef PL_AWS_HTTP_H1_H
#define PL_AWS_HTTP_H1_H

#include "http.h"

typedef struct pl_http_h1 pl_http_h1_t;

typedef struct pl_http_h1_options {
  /* Receives what the client does not handle itself (borrowed: it must
   * outlive the client). Required. */
  const pl_http_transport_t *fallback;
  bool tls_verify;     /* false only with a logged warning by the caller */
  const char *ca_file; /* NULL: the system's store (borrowed, copied) */
} pl_http_h1_options_t;

/* Requests with a larger body go to the fallback: libcurl sends a body as
 * it reads it, where this client copies the request whole (and seals it
 * whole through TLS) and keeps the buffers with the connection. SQS and
 * DynamoDB requests are smaller; S3 parts are larger. */
#define PL_HTTP_H1_MAX_REQUEST_BODY ((size_t)1 << 20)

/* Creates the client on `loop`. Its TLS context (tls.h) is made at the
 * first https:// request; when that fails, https goes to the fallback.
 * Returns 0, PL_EINVAL or PL_ENOMEM. */
int pl__http_h1_create(uv_loop_t *loop, const pl_http_h1_options_t *opts,
                       pl_http_h1_t **out);
/* The vtable of this transport (borrowed, lives as long as it). */
const pl_http_transport_t *pl__http_h1_transport(pl_http_h1_t *h1);
/* Cancels every request of its own (on_done with PL_ECANCELED, from the
 * loop), closes its connections and frees it; `closed` runs once
 * everything is freed. Relayed requests belong to the fallback: closing
 * the fallback cancels them. */
void pl__http_h1_close(pl_http_h1_t *h1, void (*closed)(void *data),
                       void *data);

#endif
