/* Compressing test data (see test_compress.h). */
#include "test_compress.h"

#include <check.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

unsigned char *test_gzip(const void *data, size_t len, size_t *out_len) {
  z_stream z = {0};
  ck_assert_int_eq(
      deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  size_t cap = deflateBound(&z, len) + 64;
  unsigned char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

unsigned char *test_zstd(const void *data, size_t len, size_t *out_len) {
  size_t cap = ZSTD_compressBound(len);
  unsigned char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  size_t n = ZSTD_compress(out, cap, data, len, 3);
  ck_assert(!ZSTD_isError(n));
  *out_len = n;
  return out;
}
