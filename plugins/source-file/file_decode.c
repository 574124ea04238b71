/* Decompressing files for the reader (see file_decode.h). */
#include "file_decode.h"

#include <stdlib.h>
#include <string.h>

int file_decode_open(file_decode_t *d, const pl_decompress_options_t *opts,
                     const char *path, uint64_t chunk_size) {
  *d = (file_decode_t){.chunk_size = chunk_size};
  pl_compression_t kind =
      pl_compression_detect((pl_compression_t)opts->compression, NULL, path);
  if (kind == PL_COMPRESSION_NONE)
    return 0;
  return pl_decompress_create(kind, opts->max_decompressed_bytes, &d->dec);
}

int file_decode_feed(file_decode_t *d, const char *bytes, size_t len,
                     bool end) {
  if (!d->fed && pl_decompress_kind(d->dec) == PL_COMPRESSION_AUTO &&
      pl_compression_sniff(bytes, len, !end) == PL_COMPRESSION_NONE) {
    file_decode_close(d);
    return FILE_DECODE_PLAIN;
  }
  d->fed = true;
  int rc = pl_decompress_feed(d->dec, bytes, len);
  if (rc == 0 && end)
    pl_decompress_end(d->dec);
  return rc;
}

int file_decode_next(file_decode_t *d, char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  char *buf = malloc((size_t)d->chunk_size + 1); /* + 1: a NUL */
  if (!buf)
    return PL_ENOMEM;
  for (;;) {
    /* tail_len < chunk_size: there is room for more. */
    memcpy(buf, d->tail, d->tail_len);
    size_t got = 0;
    int rc = pl_decompress_read(d->dec, buf + d->tail_len,
                                (size_t)d->chunk_size - d->tail_len, &got);
    bool finished = got == 0 && pl_decompress_finished(d->dec);
    size_t n = d->tail_len + got;
    if (rc < 0 || n == 0 || (got == 0 && !finished)) {
      free(buf);
      if (rc < 0)
        return rc;
      return finished ? FILE_DECODE_END : FILE_DECODE_NEED_INPUT;
    }
    /* Unless the stream ended, a character it cut waits for its rest
     * (all of a chunk too small for one is not cut: chunk_size < 4). */
    size_t cut = finished ? 0 : pl_utf8_partial_tail(buf, n);
    if (cut == n && n >= d->chunk_size)
      cut = 0;
    d->tail_len = cut;
    memcpy(d->tail, buf + n - cut, cut);
    if (cut == n)
      continue; /* all of it begins one character: read on */
    buf[n - cut] = '\0';
    *data = buf;
    *len = n - cut;
    return FILE_DECODE_CHUNK;
  }
}

void file_decode_close(file_decode_t *d) {
  pl_decompress_destroy(d->dec);
  *d = (file_decode_t){0};
}

int file_decode_reject(pl_group_t *group, const char *origin, int rc,
                       const char *why) {
  /* The origin's path is UTF-8 (bytes that are not are %XX), as JSON
   * needs. */
  const char *path = strncmp(origin, "file:", 5) == 0 ? origin + 5 : origin;
  pl_record_t *rec = pl_record_create(group);
  json_t *value = json_pack("{s:s}", "path", path);
  if (!rec || !value || pl_record_set_origin(rec, origin) < 0) {
    if (rec)
      pl_record_done(rec);
    json_decref(value);
    return PL_ENOMEM;
  }
  pl_record_set_value_new(rec, value);
  pl_record_set_size(rec, 64);
  pl_record_reject_as(rec, rc == PL_ERANGE ? "too_large" : "corrupt", "%s: %s",
                      path, why);
  return 0;
}
