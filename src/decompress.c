/* Streaming gzip and zstd decoders behind one pull interface (see
 * <pipelined/decompress.h>). */
#include <pipelined/decompress.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

static const unsigned char gzip_magic[] = {0x1f, 0x8b};
static const unsigned char zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};

struct pl_decompress {
  pl_compression_t kind; /* AUTO until sniffed */
  uint64_t limit;
  /* Input fed and not used yet: in[pos..len). */
  unsigned char *in;
  size_t pos;
  size_t len;
  size_t cap;
  uint64_t consumed; /* input used, over the whole stream */
  uint64_t produced; /* output given */
  z_stream z;
  bool z_open;
  bool member_done; /* gzip: the last member ended (none begun since) */
  ZSTD_DCtx *zstd;
  bool frame_open; /* zstd: inside a frame (not at a frame boundary) */
  bool ended;
  bool finished;
  int error;
  pl_buf_t message;
};

const char *pl_compression_name(pl_compression_t kind) {
  switch (kind) {
#define NAME_CASE(name, text)                                                  \
  case PL_COMPRESSION_##name:                                                  \
    return text;
    PL_COMPRESSION_MAP(NAME_CASE)
#undef NAME_CASE
  }
  return "unknown";
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

pl_compression_t pl_compression_detect(pl_compression_t option,
                                       const char *content_encoding,
                                       const char *name) {
  if (option != PL_COMPRESSION_AUTO)
    return option;
  if (content_encoding) {
    if (strcasecmp(content_encoding, "gzip") == 0 ||
        strcasecmp(content_encoding, "x-gzip") == 0)
      return PL_COMPRESSION_GZIP;
    if (strcasecmp(content_encoding, "zstd") == 0)
      return PL_COMPRESSION_ZSTD;
  }
  if (name && ends_with(name, ".gz"))
    return PL_COMPRESSION_GZIP;
  if (name && ends_with(name, ".zst"))
    return PL_COMPRESSION_ZSTD;
  return PL_COMPRESSION_AUTO;
}

/* ---- Life cycle ---- */

static int open_gzip(pl_decompress_t *d) {
  /* 16 + 15: a gzip wrapper only (not zlib's), the largest window. */
  if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK)
    return PL_ENOMEM;
  d->z_open = true;
  return 0;
}

static int open_zstd(pl_decompress_t *d) {
  d->zstd = ZSTD_createDCtx();
  return d->zstd ? 0 : PL_ENOMEM;
}

static int open_kind(pl_decompress_t *d, pl_compression_t kind) {
  d->kind = kind;
  if (kind == PL_COMPRESSION_GZIP)
    return open_gzip(d);
  if (kind == PL_COMPRESSION_ZSTD)
    return open_zstd(d);
  return 0;
}

int pl_decompress_create(pl_compression_t kind, uint64_t limit,
                         pl_decompress_t **out) {
  *out = NULL;
  if (limit == 0 ||
      (kind != PL_COMPRESSION_AUTO && kind != PL_COMPRESSION_NONE &&
       kind != PL_COMPRESSION_GZIP && kind != PL_COMPRESSION_ZSTD))
    return PL_EINVAL;
  pl_decompress_t *d = calloc(1, sizeof(*d));
  if (!d)
    return PL_ENOMEM;
  d->limit = limit;
  int rc = open_kind(d, kind);
  if (rc < 0) {
    pl_decompress_destroy(d);
    return rc;
  }
  *out = d;
  return 0;
}

void pl_decompress_destroy(pl_decompress_t *d) {
  if (!d)
    return;
  if (d->z_open)
    inflateEnd(&d->z);
  ZSTD_freeDCtx(d->zstd);
  free(d->in);
  pl_buf_free(&d->message);
  free(d);
}

/* ---- Input ---- */

int pl_decompress_feed(pl_decompress_t *d, const void *in, size_t len) {
  if (d->ended)
    return PL_EINVAL;
  if (len == 0)
    return 0;
  /* What is left moves to the front: the buffer stays the size of one
   * piece (plus the few bytes a sniff may hold back). */
  size_t left = d->len - d->pos;
  if (d->pos > 0 && left > 0)
    memmove(d->in, d->in + d->pos, left);
  d->pos = 0;
  d->len = left;
  if (len > SIZE_MAX - left)
    return PL_ENOMEM;
  if (left + len > d->cap) {
    unsigned char *bigger = realloc(d->in, left + len);
    if (!bigger)
      return PL_ENOMEM;
    d->in = bigger;
    d->cap = left + len;
  }
  memcpy(d->in + d->len, in, len);
  d->len += len;
  return 0;
}

void pl_decompress_end(pl_decompress_t *d) {
  d->ended = true;
}

/* ---- Errors ---- */

static int fail(pl_decompress_t *d, int code, const char *fmt, ...)
    PL_PRINTF(3, 4);

static int fail(pl_decompress_t *d, int code, const char *fmt, ...) {
  pl_buf_reset(&d->message);
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(&d->message, fmt, ap);
  va_end(ap);
  d->error = rc < 0 ? PL_ENOMEM : code;
  return d->error;
}

static int corrupt(pl_decompress_t *d, const char *why) {
  return fail(
      d, PL_EPARSE, "%s stream is corrupt at byte %llu of the input: %s",
      pl_compression_name(d->kind), (unsigned long long)d->consumed, why);
}

static int truncated(pl_decompress_t *d) {
  if (d->consumed == 0)
    return fail(d, PL_EPARSE, "%s stream is empty: the input has no bytes",
                pl_compression_name(d->kind));
  return fail(d, PL_EPARSE,
              "%s stream is truncated: the input ends at byte %llu, inside "
              "a %s",
              pl_compression_name(d->kind), (unsigned long long)d->consumed,
              d->kind == PL_COMPRESSION_GZIP ? "member" : "frame");
}

static int too_large(pl_decompress_t *d) {
  return fail(d, PL_ERANGE,
              "%s stream decompresses to more than %llu bytes "
              "(max_decompressed_bytes), at byte %llu of the input",
              pl_compression_name(d->kind), (unsigned long long)d->limit,
              (unsigned long long)d->consumed);
}

/* ---- Decoding ---- */

/* The input not used yet (NULL before any was fed). */
static unsigned char *pending(const pl_decompress_t *d) {
  return d->in ? d->in + d->pos : NULL;
}

pl_compression_t pl_compression_sniff(const void *bytes, size_t len,
                                      bool more) {
  const unsigned char *p = bytes;
  if (len == 0)
    return more ? PL_COMPRESSION_AUTO : PL_COMPRESSION_NONE;
  if (len >= sizeof(gzip_magic) && memcmp(p, gzip_magic, 2) == 0)
    return PL_COMPRESSION_GZIP;
  if (len >= sizeof(zstd_magic) && memcmp(p, zstd_magic, 4) == 0)
    return PL_COMPRESSION_ZSTD;
  bool prefix = (len < sizeof(gzip_magic) && memcmp(p, gzip_magic, len) == 0) ||
                (len < sizeof(zstd_magic) && memcmp(p, zstd_magic, len) == 0);
  return prefix && more ? PL_COMPRESSION_AUTO : PL_COMPRESSION_NONE;
}

/* AUTO: decides from the first bytes once they are enough to tell (or
 * the input ended). Returns 0 with d->kind still AUTO when it needs more. */
static int sniff(pl_decompress_t *d) {
  pl_compression_t kind =
      pl_compression_sniff(pending(d), d->len - d->pos, !d->ended);
  return kind == PL_COMPRESSION_AUTO ? 0 : open_kind(d, kind);
}

static int read_plain(pl_decompress_t *d, unsigned char *out, size_t cap,
                      size_t *len) {
  size_t n = d->len - d->pos;
  if (n > cap)
    n = cap;
  if (n > 0)
    memcpy(out, pending(d), n);
  d->pos += n;
  d->consumed += n;
  *len = n;
  return 0;
}

static int read_gzip(pl_decompress_t *d, unsigned char *out, size_t cap,
                     size_t *len) {
  size_t got = 0;
  /* inflate may hold output after using all the input (the rest of a long
   * match): it is called until it says it can do nothing more. */
  while (got < cap) {
    if (d->member_done) {
      if (d->pos == d->len)
        break;
      /* Another member follows (gzip -d reads them all as one stream). */
      if (inflateReset(&d->z) != Z_OK)
        return corrupt(d, "cannot start the next member");
      d->member_done = false;
    }
    size_t in_n = d->len - d->pos, out_n = cap - got;
    d->z.next_in = pending(d);
    d->z.avail_in = in_n > UINT_MAX ? UINT_MAX : (uInt)in_n;
    d->z.next_out = out + got;
    d->z.avail_out = out_n > UINT_MAX ? UINT_MAX : (uInt)out_n;
    uInt in_before = d->z.avail_in, out_before = d->z.avail_out;
    int zrc = inflate(&d->z, Z_NO_FLUSH);
    size_t used = in_before - d->z.avail_in;
    d->pos += used;
    d->consumed += used;
    got += out_before - d->z.avail_out;
    *len = got;
    if (zrc == Z_STREAM_END)
      d->member_done = true;
    else if (zrc == Z_BUF_ERROR)
      break; /* no progress possible with this input and room */
    else if (zrc == Z_MEM_ERROR)
      return fail(d, PL_ENOMEM, "out of memory");
    else if (zrc != Z_OK)
      return corrupt(d, d->z.msg ? d->z.msg : "invalid data");
    else if (d->z.avail_in == 0 && d->z.avail_out > 0)
      break; /* everything it could give from this input */
  }
  *len = got;
  return 0;
}

static int read_zstd(pl_decompress_t *d, unsigned char *out, size_t cap,
                     size_t *len) {
  ZSTD_inBuffer in = {pending(d), d->len - d->pos, 0};
  ZSTD_outBuffer ob = {out, cap, 0};
  while (ob.pos < ob.size && in.pos < in.size) {
    size_t before = in.pos, out_before = ob.pos;
    size_t zrc = ZSTD_decompressStream(d->zstd, &ob, &in);
    d->consumed += in.pos - before;
    d->pos += in.pos - before;
    *len = ob.pos;
    if (ZSTD_isError(zrc))
      return corrupt(d, ZSTD_getErrorName(zrc));
    /* 0: a frame ended and is flushed; anything else: inside one. */
    d->frame_open = zrc != 0;
    if (in.pos == before && ob.pos == out_before)
      break;
  }
  /* Output may be held in the context with all input used: flush it. */
  while (ob.pos < ob.size && d->frame_open && in.pos == in.size) {
    size_t out_before = ob.pos;
    size_t zrc = ZSTD_decompressStream(d->zstd, &ob, &in);
    *len = ob.pos;
    if (ZSTD_isError(zrc))
      return corrupt(d, ZSTD_getErrorName(zrc));
    d->frame_open = zrc != 0;
    if (ob.pos == out_before)
      break;
  }
  *len = ob.pos;
  return 0;
}

/* At the end of the input, with nothing more to give: was it whole? */
static int check_end(pl_decompress_t *d) {
  if ((d->kind == PL_COMPRESSION_GZIP && !d->member_done) ||
      (d->kind == PL_COMPRESSION_ZSTD && (d->frame_open || d->consumed == 0)))
    return truncated(d);
  d->finished = true;
  return 0;
}

int pl_decompress_read(pl_decompress_t *d, void *out, size_t cap, size_t *len) {
  *len = 0;
  if (d->error)
    return d->error;
  if (cap == 0)
    return PL_EINVAL;
  if (d->finished)
    return 0;
  if (d->kind == PL_COMPRESSION_AUTO && (d->pos < d->len || d->ended)) {
    int rc = sniff(d);
    if (rc < 0)
      return fail(d, rc, "out of memory");
  }
  if (d->kind == PL_COMPRESSION_AUTO)
    return 0;
  if (d->kind == PL_COMPRESSION_NONE) {
    read_plain(d, out, cap, len);
  } else {
    /* One byte more than the limit allows tells a stream that passes it
     * from one that ends exactly there. */
    uint64_t room = d->limit - d->produced;
    size_t want = room < (uint64_t)cap ? (size_t)room + 1 : cap;
    int rc = d->kind == PL_COMPRESSION_GZIP ? read_gzip(d, out, want, len)
                                            : read_zstd(d, out, want, len);
    /* Output made before an error is given first; the error is kept
     * and the next read returns it. */
    if (rc < 0 && *len == 0)
      return rc;
    if (*len > room) {
      *len = 0;
      return too_large(d);
    }
    d->produced += *len;
  }
  if (*len == 0 && d->ended && d->pos == d->len)
    return check_end(d);
  return 0;
}

bool pl_decompress_finished(const pl_decompress_t *d) {
  return d->finished;
}

const char *pl_decompress_error(const pl_decompress_t *d) {
  return d->error ? (d->message.data ? d->message.data : "out of memory")
                  : NULL;
}

pl_compression_t pl_decompress_kind(const pl_decompress_t *d) {
  return d->kind;
}

uint64_t pl_decompress_consumed(const pl_decompress_t *d) {
  return d->consumed;
}

uint64_t pl_decompress_produced(const pl_decompress_t *d) {
  return d->produced;
}
