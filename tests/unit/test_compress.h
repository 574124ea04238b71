/* Compressed test data made at test time (nothing big is kept in the
 * tree): gzip with zlib, zstd with libzstd, whole streams in memory. */
#ifndef PL_TEST_COMPRESS_H
#define PL_TEST_COMPRESS_H

#include <stddef.h>

/* `data` (`len` bytes) as one gzip member, or one zstd frame: a new buffer
 * of *out_len bytes (asserted). */
unsigned char *test_gzip(const void *data, size_t len, size_t *out_len);
unsigned char *test_zstd(const void *data, size_t len, size_t *out_len);

#endif
