/* Check suite for src/decompress.c: gzip and zstd round trips through the
 * pull interface whatever the sizes of the pieces fed and read, several
 * members and frames, the magic-number sniffing of AUTO, detection from
 * Content-Encoding and names, and the failures a source must report: a
 * truncated stream, a corrupt one, bytes after the end, and the limit. */
#include <check.h>
#include <pipelined/decompress.h>
#include <stdlib.h>
#include <string.h>

#include "test_compress.h"
#include "test_suite.h"

/* ---- Inputs ---- */

/* Text of `len` bytes that compresses well but not to nothing. */
static unsigned char *sample(size_t len) {
  unsigned char *p = malloc(len + 1);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < len; i++)
    p[i] = (unsigned char)("P0001,Warehouse A,100,2023-05-01\n"[i % 33] +
                           (i % 997 == 0 ? 1 : 0));
  return p;
}

/* ---- Running a decoder ---- */

typedef struct result {
  int rc;       /* the last read's */
  pl_buf_t out; /* everything read */
  char *error;  /* pl_decompress_error() at the end, or NULL */
  bool finished;
  size_t largest; /* the largest single read */
  pl_compression_t kind;
} result_t;

static void result_free(result_t *r) {
  pl_buf_free(&r->out);
  free(r->error);
}

/* Feeds `in` in pieces of `piece` bytes and reads with a buffer of `cap`
 * bytes, as a source does; ends the input unless `open_end`. */
static result_t run(pl_compression_t kind, uint64_t limit,
                    const unsigned char *in, size_t len, size_t piece,
                    size_t cap) {
  result_t r = {0};
  pl_decompress_t *d = NULL;
  ck_assert_int_eq(pl_decompress_create(kind, limit, &d), 0);
  unsigned char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  size_t at = 0;
  bool ended = false;
  for (;;) {
    size_t n = 0;
    r.rc = pl_decompress_read(d, buf, cap, &n);
    if (r.rc < 0)
      break;
    ck_assert_uint_le(n, cap);
    if (n > r.largest)
      r.largest = n;
    if (n > 0) {
      ck_assert_int_eq(pl_buf_append(&r.out, buf, n), 0);
      continue;
    }
    if (ended)
      break;
    if (at == len) {
      pl_decompress_end(d);
      ended = true;
      continue;
    }
    size_t step = len - at < piece ? len - at : piece;
    ck_assert_int_eq(pl_decompress_feed(d, in + at, step), 0);
    at += step;
  }
  r.finished = pl_decompress_finished(d);
  r.kind = pl_decompress_kind(d);
  ck_assert_uint_eq(pl_decompress_produced(d),
                    r.kind == PL_COMPRESSION_NONE ? 0 : r.out.len);
  ck_assert_uint_le(pl_decompress_consumed(d), len);
  if (pl_decompress_error(d))
    r.error = strdup(pl_decompress_error(d));
  free(buf);
  pl_decompress_destroy(d);
  return r;
}

static void assert_same(const result_t *r, const unsigned char *want,
                        size_t len) {
  ck_assert_msg(r->rc == 0, "read failed: %d %s", r->rc,
                r->error ? r->error : "");
  ck_assert(r->finished);
  ck_assert_uint_eq(r->out.len, len);
  ck_assert(len == 0 || memcmp(r->out.data, want, len) == 0);
}

/* ---- Round trips ---- */

START_TEST(gzip_and_zstd_round_trip_whatever_the_piece_sizes) {
  size_t len = 60000;
  unsigned char *text = sample(len);
  size_t gz_len, zs_len;
  unsigned char *gz = test_gzip(text, len, &gz_len);
  unsigned char *zs = test_zstd(text, len, &zs_len);
  static const size_t pieces[] = {1, 7, 4096, 1 << 20};
  static const size_t caps[] = {1, 100, 65536};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 3; j++) {
      if ((pieces[i] == 1 || pieces[i] == 7) && caps[j] == 1)
        continue; /* slow under the sanitizers, and covered by the others */
      for (int k = 0; k < 2; k++) {
        pl_compression_t kind = k ? PL_COMPRESSION_ZSTD : PL_COMPRESSION_GZIP;
        result_t r = run(kind, UINT64_MAX, k ? zs : gz, k ? zs_len : gz_len,
                         pieces[i], caps[j]);
        assert_same(&r, text, len);
        ck_assert_int_eq(r.kind, kind);
        result_free(&r);
        /* AUTO finds the same from the magic number. */
        r = run(PL_COMPRESSION_AUTO, UINT64_MAX, k ? zs : gz,
                k ? zs_len : gz_len, pieces[i], caps[j]);
        assert_same(&r, text, len);
        ck_assert_int_eq(r.kind, kind);
        result_free(&r);
      }
    }
  free(text);
  free(gz);
  free(zs);
}
END_TEST

START_TEST(several_members_and_frames_are_one_stream) {
  unsigned char *a = sample(5000), *b = sample(7000);
  size_t la, lb;
  pl_buf_t in = {0}, want = {0};
  pl_buf_append(&want, a, 5000);
  pl_buf_append(&want, b, 7000);
  for (int k = 0; k < 2; k++) {
    unsigned char *ca = k ? test_zstd(a, 5000, &la) : test_gzip(a, 5000, &la);
    unsigned char *cb = k ? test_zstd(b, 7000, &lb) : test_gzip(b, 7000, &lb);
    pl_buf_reset(&in);
    pl_buf_append(&in, ca, la);
    pl_buf_append(&in, cb, lb);
    result_t r = run(PL_COMPRESSION_AUTO, UINT64_MAX, (unsigned char *)in.data,
                     in.len, 333, 1000);
    assert_same(&r, (unsigned char *)want.data, want.len);
    result_free(&r);
    free(ca);
    free(cb);
  }
  pl_buf_free(&in);
  pl_buf_free(&want);
  free(a);
  free(b);
}
END_TEST

START_TEST(auto_passes_plain_bytes_through_and_waits_for_a_magic_number) {
  const char *csv = "id,name\n1,a\n";
  result_t r = run(PL_COMPRESSION_AUTO, 1, (const unsigned char *)csv,
                   strlen(csv), 1, 4);
  /* Plain bytes are not counted against the limit (1 byte here). */
  assert_same(&r, (const unsigned char *)csv, strlen(csv));
  ck_assert_int_eq(r.kind, PL_COMPRESSION_NONE);
  result_free(&r);
  /* Bytes that begin like a magic number are held until they can tell;
   * a short input that only looks like one is plain. */
  const unsigned char looks[] = {0x28, 0xb5, 0x2f};
  r = run(PL_COMPRESSION_AUTO, 100, looks, 3, 1, 10);
  assert_same(&r, looks, 3);
  ck_assert_int_eq(r.kind, PL_COMPRESSION_NONE);
  result_free(&r);
  const unsigned char paren[] = "(x) is plain";
  r = run(PL_COMPRESSION_AUTO, 100, paren, 12, 1, 10);
  assert_same(&r, paren, 12);
  result_free(&r);
  /* Empty input: nothing, and finished. */
  r = run(PL_COMPRESSION_AUTO, 100, paren, 0, 1, 10);
  assert_same(&r, paren, 0);
  result_free(&r);
  /* NONE passes even a gzip file through. */
  size_t gl;
  unsigned char *gz = test_gzip(paren, 12, &gl);
  r = run(PL_COMPRESSION_NONE, 100, gz, gl, 5, 10);
  assert_same(&r, gz, gl);
  result_free(&r);
  free(gz);
}
END_TEST

/* ---- Failures ---- */

START_TEST(a_truncated_stream_fails_at_the_end_saying_where) {
  size_t len = 100000, gl, zl;
  unsigned char *text = sample(len);
  unsigned char *gz = test_gzip(text, len, &gl);
  unsigned char *zs = test_zstd(text, len, &zl);
  result_t r = run(PL_COMPRESSION_GZIP, UINT64_MAX, gz, gl / 2, 1000, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert(!r.finished);
  ck_assert_uint_gt(r.out.len, 0); /* what came before was given */
  ck_assert(memcmp(r.out.data, text, r.out.len) == 0);
  char want[128];
  snprintf(want, sizeof(want),
           "gzip stream is truncated: the input ends at byte %zu, inside a "
           "member",
           gl / 2);
  ck_assert_str_eq(r.error, want);
  result_free(&r);
  /* Without its 8-byte trailer (CRC and size) a member is not whole. */
  r = run(PL_COMPRESSION_GZIP, UINT64_MAX, gz, gl - 4, 1000, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(r.error, "truncated"));
  result_free(&r);
  r = run(PL_COMPRESSION_ZSTD, UINT64_MAX, zs, zl - 1, 1000, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  snprintf(want, sizeof(want),
           "zstd stream is truncated: the input ends at byte %zu, inside a "
           "frame",
           zl - 1);
  ck_assert_str_eq(r.error, want);
  result_free(&r);
  /* Forced gzip on an empty input. */
  r = run(PL_COMPRESSION_GZIP, UINT64_MAX, gz, 0, 1000, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_str_eq(r.error, "gzip stream is empty: the input has no bytes");
  result_free(&r);
  free(text);
  free(gz);
  free(zs);
}
END_TEST

START_TEST(a_corrupt_stream_fails_naming_the_byte) {
  size_t len = 100000, gl, zl;
  unsigned char *text = sample(len);
  unsigned char *gz = test_gzip(text, len, &gl);
  unsigned char *zs = test_zstd(text, len, &zl);
  /* A deflate block type of 3 is invalid: the first block header is the
   * byte after the 10-byte gzip header. */
  gz[10] |= 0x06;
  result_t r = run(PL_COMPRESSION_AUTO, UINT64_MAX, gz, gl, 4096, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_str_eq(r.error, "gzip stream is corrupt at byte 11 of the input: "
                            "invalid block type");
  result_free(&r);
  /* A wrong CRC is found at the end of the member. */
  unsigned char *gz2 = test_gzip(text, len, &gl);
  gz2[gl - 6] ^= 0xff;
  r = run(PL_COMPRESSION_GZIP, UINT64_MAX, gz2, gl, 4096, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(r.error, "incorrect data check"));
  result_free(&r);
  /* zstd: the reserved bit of the frame header descriptor. */
  zs[4] |= 0x08;
  r = run(PL_COMPRESSION_ZSTD, UINT64_MAX, zs, zl, 4096, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_msg(strncmp(r.error, "zstd stream is corrupt at byte ", 31) == 0,
                "%s", r.error);
  result_free(&r);
  /* A forced kind on input that is not of it. */
  r = run(PL_COMPRESSION_ZSTD, UINT64_MAX, text, 1000, 4096, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  result_free(&r);
  free(text);
  free(gz);
  free(gz2);
  free(zs);
}
END_TEST

START_TEST(bytes_after_the_end_are_an_error) {
  size_t gl;
  unsigned char *text = sample(1000);
  unsigned char *gz = test_gzip(text, 1000, &gl);
  pl_buf_t in = {0};
  pl_buf_append(&in, gz, gl);
  pl_buf_append_str(&in, "garbage!");
  result_t r = run(PL_COMPRESSION_GZIP, UINT64_MAX, (unsigned char *)in.data,
                   in.len, 100000, 4096);
  ck_assert_int_eq(r.rc, PL_EPARSE);
  ck_assert_uint_eq(r.out.len, 1000);
  ck_assert_ptr_nonnull(strstr(r.error, "corrupt"));
  result_free(&r);
  pl_buf_free(&in);
  free(text);
  free(gz);
}
END_TEST

START_TEST(the_limit_stops_a_bomb_and_allows_exactly_its_size) {
  size_t len = 10 * 1024 * 1024, gl, zl;
  unsigned char *zeros = calloc(1, len);
  unsigned char *gz = test_gzip(zeros, len, &gl);
  unsigned char *zs = test_zstd(zeros, len, &zl);
  ck_assert_uint_lt(gl, len / 500); /* it is a bomb */
  for (int k = 0; k < 2; k++) {
    const unsigned char *in = k ? zs : gz;
    size_t in_len = k ? zl : gl;
    result_t r = run(PL_COMPRESSION_AUTO, 1000000, in, in_len, 4096, 65536);
    ck_assert_int_eq(r.rc, PL_ERANGE);
    ck_assert_uint_le(r.out.len, 1000000);
    ck_assert_msg(strstr(r.error, "decompresses to more than 1000000 bytes "
                                  "(max_decompressed_bytes), at byte "),
                  "%s", r.error);
    ck_assert(strncmp(r.error, k ? "zstd" : "gzip", 4) == 0);
    result_free(&r);
    /* A limit of exactly the size lets it through. */
    r = run(PL_COMPRESSION_AUTO, len, in, in_len, 4096, 65536);
    assert_same(&r, zeros, len);
    result_free(&r);
    r = run(PL_COMPRESSION_AUTO, len - 1, in, in_len, 4096, 65536);
    ck_assert_int_eq(r.rc, PL_ERANGE);
    result_free(&r);
  }
  free(zeros);
  free(gz);
  free(zs);
}
END_TEST

START_TEST(an_error_stays_and_arguments_are_checked) {
  pl_decompress_t *d = NULL;
  ck_assert_int_eq(pl_decompress_create(PL_COMPRESSION_GZIP, 0, &d), PL_EINVAL);
  ck_assert_int_eq(pl_decompress_create((pl_compression_t)9, 10, &d),
                   PL_EINVAL);
  ck_assert_int_eq(pl_decompress_create(PL_COMPRESSION_GZIP, 10, &d), 0);
  ck_assert_ptr_null(pl_decompress_error(d));
  char buf[16];
  size_t n = 99;
  ck_assert_int_eq(pl_decompress_read(d, buf, 0, &n), PL_EINVAL);
  ck_assert_int_eq(pl_decompress_feed(d, "not gzip", 8), 0);
  ck_assert_int_eq(pl_decompress_read(d, buf, sizeof(buf), &n), PL_EPARSE);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(pl_decompress_read(d, buf, sizeof(buf), &n), PL_EPARSE);
  ck_assert_ptr_nonnull(pl_decompress_error(d));
  pl_decompress_end(d);
  ck_assert_int_eq(pl_decompress_feed(d, "x", 1), PL_EINVAL);
  pl_decompress_destroy(d);
  pl_decompress_destroy(NULL);
}
END_TEST

/* ---- Detection ---- */

START_TEST(detection_prefers_the_option_then_the_encoding_then_the_name) {
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_NONE, "gzip", "a.gz"),
                   PL_COMPRESSION_NONE);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_ZSTD, NULL, "a.gz"),
                   PL_COMPRESSION_ZSTD);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, "GZIP", "a.zst"),
                   PL_COMPRESSION_GZIP);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, "x-gzip", NULL),
                   PL_COMPRESSION_GZIP);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, "zstd", "a.gz"),
                   PL_COMPRESSION_ZSTD);
  ck_assert_int_eq(
      pl_compression_detect(PL_COMPRESSION_AUTO, "identity", "d/a.csv.gz"),
      PL_COMPRESSION_GZIP);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, NULL, "a.zst"),
                   PL_COMPRESSION_ZSTD);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, NULL, "a.csv"),
                   PL_COMPRESSION_AUTO);
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, NULL, ".gz"),
                   PL_COMPRESSION_AUTO); /* a name, not only a suffix */
  ck_assert_int_eq(pl_compression_detect(PL_COMPRESSION_AUTO, NULL, NULL),
                   PL_COMPRESSION_AUTO);
  ck_assert_str_eq(pl_compression_name(PL_COMPRESSION_ZSTD), "zstd");
  ck_assert_str_eq(pl_compression_name(PL_COMPRESSION_AUTO), "auto");
  ck_assert_str_eq(pl_compression_name((pl_compression_t)42), "unknown");
  /* The magic numbers, and too few bytes to tell. */
  ck_assert_int_eq(pl_compression_sniff("\x1f\x8b\x08", 3, true),
                   PL_COMPRESSION_GZIP);
  ck_assert_int_eq(pl_compression_sniff("\x28\xb5\x2f\xfd", 4, false),
                   PL_COMPRESSION_ZSTD);
  ck_assert_int_eq(pl_compression_sniff("\x28\xb5\x2f", 3, true),
                   PL_COMPRESSION_AUTO);
  ck_assert_int_eq(pl_compression_sniff("\x28\xb5\x2f", 3, false),
                   PL_COMPRESSION_NONE);
  ck_assert_int_eq(pl_compression_sniff("\x1f", 1, true), PL_COMPRESSION_AUTO);
  ck_assert_int_eq(pl_compression_sniff("(x)", 3, true), PL_COMPRESSION_NONE);
  ck_assert_int_eq(pl_compression_sniff("id,name", 7, true),
                   PL_COMPRESSION_NONE);
  ck_assert_int_eq(pl_compression_sniff(NULL, 0, true), PL_COMPRESSION_AUTO);
  ck_assert_int_eq(pl_compression_sniff(NULL, 0, false), PL_COMPRESSION_NONE);
  /* The option's choices are the enum's names, in its order. */
  const char *const *choices = PL_COMPRESSION_CHOICES;
  for (int i = 0; i <= PL_COMPRESSION_ZSTD; i++)
    ck_assert_str_eq(choices[i], pl_compression_name((pl_compression_t)i));
  ck_assert_ptr_null(choices[PL_COMPRESSION_ZSTD + 1]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("decompress");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, gzip_and_zstd_round_trip_whatever_the_piece_sizes);
  tcase_add_test(tc, several_members_and_frames_are_one_stream);
  tcase_add_test(tc,
                 auto_passes_plain_bytes_through_and_waits_for_a_magic_number);
  tcase_add_test(tc, a_truncated_stream_fails_at_the_end_saying_where);
  tcase_add_test(tc, a_corrupt_stream_fails_naming_the_byte);
  tcase_add_test(tc, bytes_after_the_end_are_an_error);
  tcase_add_test(tc, the_limit_stops_a_bomb_and_allows_exactly_its_size);
  tcase_add_test(tc, an_error_stays_and_arguments_are_checked);
  tcase_add_test(tc,
                 detection_prefers_the_option_then_the_encoding_then_the_name);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
