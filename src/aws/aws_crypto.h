/* SHA-256, HMAC-SHA256 and lower-case hex for the AWS layer, on OpenSSL's
 * libcrypto (EVP). Kept apart from the signer so that the one place that
 * touches key material is small enough to review at a glance. */
#ifndef PL_AWS_CRYPTO_H
#define PL_AWS_CRYPTO_H

#include <pipelined/common.h>

#define PL_AWS_SHA256_LEN 32
/* 64 hex digits and the terminating NUL. */
#define PL_AWS_SHA256_HEX_LEN 65

/* SHA-256 of len bytes (data may be NULL when len is 0). Returns 0 or
 * PL_ENOMEM / PL_EIO when libcrypto fails. */
int pl__aws_sha256(const void *data, size_t len,
                   unsigned char out[PL_AWS_SHA256_LEN]);

/* The same digest as 64 lower-case hex digits and a NUL. */
int pl__aws_sha256_hex(const void *data, size_t len,
                       char out[PL_AWS_SHA256_HEX_LEN]);

/* HMAC-SHA256 of data under key. The key is only read; libcrypto cleanses
 * its own copies. Returns 0 or PL_ENOMEM / PL_EIO. */
int pl__aws_hmac_sha256(const void *key, size_t key_len, const void *data,
                        size_t len, unsigned char out[PL_AWS_SHA256_LEN]);

/* What signing many requests keeps between them: SHA-256 fetched once
 * from libcrypto's provider, with a digest context, and an HMAC-SHA256
 * context. Without it, each digest and each HMAC fetches its algorithm
 * again, which costs more than hashing a small text. Opaque. */
typedef struct pl_aws_hasher pl_aws_hasher_t;

/* A new hasher in *out. Returns 0, PL_ENOMEM or PL_EIO (libcrypto has no
 * SHA-256 or HMAC). */
int pl__aws_hasher_new(pl_aws_hasher_t **out);

/* Frees the hasher; libcrypto cleanses the key schedule it held. NULL is
 * allowed. */
void pl__aws_hasher_free(pl_aws_hasher_t *hasher);

/* pl__aws_sha256_hex() through the hasher. */
int pl__aws_hasher_sha256_hex(pl_aws_hasher_t *hasher, const void *data,
                              size_t len, char out[PL_AWS_SHA256_HEX_LEN]);

/* pl__aws_hmac_sha256() through the hasher: keyed with `key` (only read)
 * on each call. A key of at most PL_AWS_SHA256_LEN bytes is kept (a copy,
 * cleansed by pl__aws_hasher_free) so that the next HMAC with the same
 * key, the usual case of a signer, skips preparing it again. */
int pl__aws_hasher_hmac(pl_aws_hasher_t *hasher, const void *key,
                        size_t key_len, const void *data, size_t len,
                        unsigned char out[PL_AWS_SHA256_LEN]);

/* Writes 2 * len lower-case hex digits and a NUL to out (2 * len + 1
 * bytes). */
void pl__aws_hex(const unsigned char *data, size_t len, char *out);

/* Overwrites len bytes in a way the compiler may not elide (for key
 * material before it goes out of scope or is freed). */
void pl__aws_cleanse(void *data, size_t len);

#endif
