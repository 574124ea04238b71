/* Pools of the builtin HTTP/1.1 client: one per scheme://host:port, with
 * the host's addresses (the structure is in http_h1_conn.h, which the
 * client's files share). Internal to the client. */
#ifndef PL_AWS_HTTP_H1_POOL_H
#define PL_AWS_HTTP_H1_POOL_H

#include "http_h1_conn.h"

/* The pool of an http:// or https:// URL, made on first use; PL_ENOENT for a
 * URL the client leaves to the fallback (another scheme, user info, a fragment,
 * a port it cannot read), PL_ENOMEM. */
int pl__http_h1_pool_find(pl_http_h1_t *h1, const char *url, h1_pool_t **out);
/* Whether the pool's addresses are known and fresh (an IP literal's
 * always; a name's for 60 s). */
bool pl__http_h1_pool_resolved(const pl_http_h1_t *h1, const h1_pool_t *pool);
/* Starts resolving the pool's host; the calls in pool->resolving then
 * connect, or end with the resolver's error. Returns 0 or a libuv error
 * (nothing started). */
int pl__http_h1_pool_resolve(pl_http_h1_t *h1, h1_pool_t *pool);
/* Frees a pool whose connections are all closed and that has no call
 * waiting; cancels its resolution, whose callback then only frees it. */
void pl__http_h1_pool_free(h1_pool_t *pool);

#endif
