/* Storage for secrets (secret access keys, session tokens, web identity
 * and metadata tokens): each secret lives in its own anonymous mapping that
 * is excluded from core dumps (madvise MADV_DONTDUMP), locked in memory
 * when the limit allows, and wiped before it is unmapped. The text is
 * always NUL-terminated.
 *
 * Nothing here formats or logs: a secret's only way out is the pointer
 * that pl__secret_str() returns, and callers hand that to a signer or an
 * HTTP header, never to a formatter (HACKING.md#s9). */
#ifndef PL_AWS_SECRET_H
#define PL_AWS_SECRET_H

#include <pipelined/common.h>

typedef struct pl_secret pl_secret_t;

/* A new secret of `len` zero bytes (plus the terminating NUL) for the
 * caller to fill through pl__secret_data(). Returns 0, PL_ERANGE (over
 * 16 MiB) or PL_ENOMEM. */
int pl__secret_alloc(size_t len, pl_secret_t **out);

/* A new secret holding a copy of `len` bytes of `text`. */
int pl__secret_new(const char *text, size_t len, pl_secret_t **out);

/* The text (borrowed, NUL-terminated, valid until pl__secret_free). */
const char *pl__secret_str(const pl_secret_t *secret);
/* The same bytes, writable (for filling a pl__secret_alloc() buffer). */
char *pl__secret_data(pl_secret_t *secret);
size_t pl__secret_len(const pl_secret_t *secret);
/* Shortens the text to `len` bytes (<= the current length), wiping the
 * rest; used to trim a trailing newline read from a token file. */
void pl__secret_truncate(pl_secret_t *secret, size_t len);

/* Wipes and unmaps; NULL is accepted. */
void pl__secret_free(pl_secret_t *secret);

/* Overwrites `len` bytes in a way the compiler may not elide. */
void pl__secret_wipe(void *data, size_t len);

/* Reads a whole regular file of at most `max` bytes into a new secret.
 * Returns 0, PL_ENOENT (missing), PL_ERANGE (larger than max) or PL_EIO;
 * *errno_out (optional) gets errno for the two last for messages. This
 * blocks: it is meant for small local files (credentials, token files)
 * read at refresh time. */
int pl__secret_read_file(const char *path, size_t max, pl_secret_t **out,
                         int *errno_out);

/* Allocation functions that remember each block's size and wipe it when it
 * is freed or moved, for parsers that copy secret text into their own
 * buffers (the XML reader takes them per parse, pl_aws_xml_alloc_t in
 * xml.h, so nothing global changes). Same contracts as malloc, realloc and
 * free. */
void *pl__secret_wiping_malloc(size_t size);
void *pl__secret_wiping_realloc(void *ptr, size_t size);
void pl__secret_wiping_free(void *ptr);

/* Replaces every occurrence of `secret` (when not NULL and not empty) in
 * the NUL-terminated `text` by "***", in place: for text that came from a
 * remote service and goes into an error message. */
void pl__secret_redact(char *text, const char *secret);

#endif
