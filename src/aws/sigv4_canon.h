/* The canonicalisation half of SigV4 (sigv4_canon.c): the canonical URI,
 * query and headers that sigv4.c puts into the canonical request. Internal
 * to the signer; pl__aws_uri_encode, defined there too, stays declared in
 * sigv4.h because other parts of the AWS layer use it. */
#ifndef PL_AWS_SIGV4_CANON_H
#define PL_AWS_SIGV4_CANON_H

#include <pipelined/common.h>

#include "sigv4.h"

/* The headers the signer adds, already canonical (lower-case names). */
typedef struct pl__aws_sigv4_added_headers {
  const char *amz_date;       /* "20150830T123600Z" */
  const char *session_token;  /* when signed */
  const char *content_sha256; /* S3 */
} pl__aws_sigv4_added_headers_t;

/* Sets *room to a length that no canonical text of request signed with
 * session_token (may be NULL) exceeds: the canonical request, each of its
 * parts and the working copies of pl__aws_sigv4_canon_query() and
 * pl__aws_sigv4_canon_headers(). A buffer with that room reserved never
 * moves while it is written, so no copy of a secret in it is freed
 * unwiped. PL_ENOMEM when the lengths add up past SIZE_MAX. */
int pl__aws_sigv4_canon_room(const pl_aws_sigv4_request_t *request,
                             const char *session_token, size_t *room);

/* Frees a buffer that may have held the session token, wiping it first. */
void pl__aws_sigv4_canon_free_wiped(pl_buf_t *buf);

/* Appends the canonical URI of path ("/" when NULL or empty), normalised
 * and encoded as params asks; PL_EINVAL for an S3 path that is not valid
 * on the wire. */
int pl__aws_sigv4_canon_uri(pl_buf_t *out, const pl_aws_sigv4_params_t *params,
                            const char *path);

/* Appends the canonical query of query (may be NULL), sorted; scratch is
 * working space. */
int pl__aws_sigv4_canon_query(pl_buf_t *out, pl_buf_t *scratch,
                              const char *query);

/* Appends "name:value\n" for each signed header to lines and the
 * ';'-separated names to names; scratch is working space, which holds the
 * session token after (the caller wipes it). */
int pl__aws_sigv4_canon_headers(pl_buf_t *lines, pl_buf_t *names,
                                pl_buf_t *scratch,
                                const pl_aws_sigv4_request_t *request,
                                const pl__aws_sigv4_added_headers_t *added);

#endif
