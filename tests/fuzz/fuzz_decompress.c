/* libFuzzer harness for the streaming decoder (src/decompress.c). The
 * first byte of the input chooses the kind (AUTO, NONE, GZIP or ZSTD), the
 * size of the pieces fed and of the reads, and a limit; the rest is the
 * stream, decoded as a source would (feed, read until nothing comes, feed
 * again; end; read what is left).
 *
 * Checked: no read gives more than its buffer; a decoded stream never
 * gives more than the limit; the input used is never more than was fed;
 * an error has a message, is PL_EPARSE or PL_ERANGE, and comes again at
 * the next read; plain bytes (NONE, or AUTO that found no magic number)
 * come out exactly as they went in. Then the rest of the input is
 * compressed with zlib and with zstd and must decode, through AUTO, back
 * to the same bytes. */
#include <pipelined/decompress.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run at the first broken promise, naming the check's line. */
static void check_at(bool ok, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

/* Decodes `in` fed in pieces of `piece` bytes, read `cap` bytes at a
 * time; the output goes to `out`. Returns the last read's code. */
static int decode(pl_compression_t kind, uint64_t limit, const uint8_t *in,
                  size_t len, size_t piece, size_t cap, pl_buf_t *out) {
  pl_decompress_t *d = NULL;
  if (pl_decompress_create(kind, limit, &d) < 0)
    return PL_ENOMEM;
  uint8_t *buf = malloc(cap);
  check(buf != NULL);
  size_t at = 0;
  bool ended = false;
  int rc;
  for (;;) {
    size_t n = 0;
    rc = pl_decompress_read(d, buf, cap, &n);
    check(pl_decompress_consumed(d) <= at);
    if (rc < 0) {
      check(n == 0);
      check(rc == PL_EPARSE || rc == PL_ERANGE || rc == PL_ENOMEM);
      check(pl_decompress_error(d) != NULL);
      size_t again = 0;
      check(pl_decompress_read(d, buf, cap, &again) == rc && again == 0);
      break;
    }
    check(n <= cap);
    if (n > 0) {
      check(pl_buf_append(out, buf, n) == 0);
      continue;
    }
    if (ended) {
      check(pl_decompress_finished(d));
      break;
    }
    if (at == len) {
      pl_decompress_end(d);
      ended = true;
      continue;
    }
    size_t step = len - at < piece ? len - at : piece;
    check(pl_decompress_feed(d, in + at, step) == 0);
    at += step;
  }
  pl_compression_t found = pl_decompress_kind(d);
  if (found == PL_COMPRESSION_NONE) {
    check(pl_decompress_produced(d) == 0);
    if (rc == 0) /* plain bytes come out as they went in */
      check(out->len == len && (len == 0 || memcmp(out->data, in, len) == 0));
  } else if (found != PL_COMPRESSION_AUTO) {
    check(out->len <= limit);
    check(pl_decompress_produced(d) == out->len);
  }
  free(buf);
  pl_decompress_destroy(d);
  return rc;
}

/* `in` compressed by zlib (gzip wrapper) or zstd must come back whole. */
static void round_trip(bool zstd, const uint8_t *in, size_t len, size_t piece,
                       size_t cap) {
  size_t bound = zstd ? ZSTD_compressBound(len) : compressBound(len) + 32;
  uint8_t *packed = malloc(bound + 1);
  check(packed != NULL);
  size_t packed_len = bound;
  if (zstd) {
    packed_len = ZSTD_compress(packed, bound, in, len, 1);
    check(!ZSTD_isError(packed_len));
  } else {
    z_stream z = {0};
    check(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (uint8_t *)in;
    z.avail_in = (uInt)len;
    z.next_out = packed;
    z.avail_out = (uInt)bound;
    check(deflate(&z, Z_FINISH) == Z_STREAM_END);
    packed_len = bound - z.avail_out;
    deflateEnd(&z);
  }
  pl_buf_t out = {0};
  check(decode(PL_COMPRESSION_AUTO, len > 0 ? len : 1, packed, packed_len,
               piece, cap, &out) == 0);
  check(out.len == len && (len == 0 || memcmp(out.data, in, len) == 0));
  pl_buf_free(&out);
  free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t sel = data[0];
  static const pl_compression_t kinds[] = {
      PL_COMPRESSION_AUTO, PL_COMPRESSION_NONE, PL_COMPRESSION_GZIP,
      PL_COMPRESSION_ZSTD};
  pl_compression_t kind = kinds[sel & 3];
  size_t piece = (size_t)1 << ((sel >> 2) & 7);      /* 1 .. 128 */
  size_t cap = (size_t)1 << (((sel >> 5) & 3) * 4);  /* 1 .. 4096 */
  uint64_t limit = (sel & 0x80) ? 1000 : UINT64_MAX; /* a small bomb guard */
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  pl_buf_t out = {0};
  decode(kind, limit, in, len, piece, cap, &out);
  pl_buf_free(&out);
  if (cap > 1 || len < 512) {
    round_trip(false, in, len, piece, cap);
    round_trip(true, in, len, piece, cap);
  }
  return 0;
}
