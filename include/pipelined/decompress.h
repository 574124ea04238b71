/* Streaming decompression for sources that read compressed files or
 * objects: gzip (zlib) and zstd (libzstd), or plain bytes passed through
 * when the first bytes carry no known magic number.
 *
 * The decoder is pull-based, so that a source keeps its backpressure
 * (HACKING.md#s7) and memory stays flat whatever the ratio: the source
 * feeds compressed bytes (copied), then reads decompressed bytes into a
 * buffer of its own size, one chunk at a time, and stops reading while the
 * next queue is full. It feeds again only once read says the input is used
 * up, so the decoder holds at most one piece of input (plus 3 bytes while
 * it sniffs) and its own window (32 KiB for gzip, up to 8 MiB for zstd
 * frames made with the default settings).
 *
 *   pl_decompress_create(kind, limit, &d);
 *   for each piece of input:
 *     pl_decompress_feed(d, piece, len);
 *     while (pl_decompress_read(d, buf, cap, &n) == 0 && n > 0)
 *       emit n bytes;           (stop here while paused; read on resume)
 *   pl_decompress_end(d);
 *   while (pl_decompress_read(d, buf, cap, &n) == 0 && n > 0)
 *     emit n bytes;
 *   pl_decompress_finished(d) is now true, or read returned an error.
 *
 * A gzip input may hold several members (`cat a.gz b.gz`) and a zstd input
 * several frames; they decompress as one stream, as gzip -d and zstd -d do.
 * Every decoder runs on the caller's thread and keeps no global state. */
#ifndef PIPELINED_DECOMPRESS_H
#define PIPELINED_DECOMPRESS_H

#include <pipelined/common.h>
#include <pipelined/plugin.h>

/* The kinds, and their names in the `compression` option. The order is
 * the enum's, and the option's choices. */
#define PL_COMPRESSION_MAP(X)                                                  \
  X(AUTO, "auto")                                                              \
  X(NONE, "none")                                                              \
  X(GZIP, "gzip")                                                              \
  X(ZSTD, "zstd")

typedef enum {
#define PL__COMPRESSION_ENUM(name, text) PL_COMPRESSION_##name,
  PL_COMPRESSION_MAP(PL__COMPRESSION_ENUM)
#undef PL__COMPRESSION_ENUM
} pl_compression_t;

/* "auto", "none", "gzip" or "zstd"; "unknown" for another value. */
PL_EXTERN const char *pl_compression_name(pl_compression_t kind);

/* What a source should decode, in this order: `option` unless it is
 * AUTO; else what `content_encoding` says (an S3 object's Content-Encoding,
 * or NULL: "gzip" or "x-gzip" is GZIP, "zstd" is ZSTD, compared without
 * case; a list such as "gzip, identity" or another coding says nothing);
 * else the suffix of `name` (a key or a path, or NULL: ".gz" is GZIP,
 * ".zst" is ZSTD); else AUTO, for the decoder to decide from the magic
 * numbers of the first bytes (1f 8b: gzip; 28 b5 2f fd: zstd; anything
 * else: plain bytes, passed through). Strings are borrowed for the call. */
PL_EXTERN pl_compression_t pl_compression_detect(pl_compression_t option,
                                                 const char *content_encoding,
                                                 const char *name);

/* What the first `len` bytes of a stream say: GZIP or ZSTD (their magic
 * number), NONE, or AUTO when they are too few to tell (they begin a magic
 * number and `more` says more bytes may follow). A source can read a
 * stream that is plain as it is, without a decoder. */
PL_EXTERN pl_compression_t pl_compression_sniff(const void *bytes, size_t len,
                                                bool more);

/* ---- The option rows of a source that reads compressed input ---- */

/* The values of the rows PL_DECOMPRESS_OPTIONS() adds to a plugin's
 * option table; the plugin embeds this struct in its options struct. */
typedef struct pl_decompress_options {
  int compression;                 /* pl_compression_t */
  uint64_t max_decompressed_bytes; /* per file or object */
} pl_decompress_options_t;

#define PL__COMPRESSION_TEXT(name, text) text,
/* The choices of the `compression` row, from PL_COMPRESSION_MAP (a
 * compound literal: static storage at file scope). */
#define PL_COMPRESSION_CHOICES                                                 \
  ((const char *const[]){PL_COMPRESSION_MAP(PL__COMPRESSION_TEXT) NULL})

/* The rows `compression` and `max_decompressed_bytes` for the field
 * `field` (a pl_decompress_options_t) of the options struct `T`. `what`
 * names the unit of input ("file" or "object") in the descriptions, and
 * `declared` what auto looks at before the name ("" or "its
 * Content-Encoding, else "). */
#define PL_DECOMPRESS_OPTIONS(T, field, what, declared)                        \
  PL_OPTION_ENUM(T, field.compression, "compression", "auto",                  \
                 PL_COMPRESSION_CHOICES, 0,                                    \
                 "How each " what " is compressed: gzip, zstd, none, or auto " \
                 "(" declared "its name's suffix .gz or .zst, else the magic " \
                 "number of its first bytes; anything else is read as it "     \
                 "is). Decompressed as a stream, one chunk at a time."),       \
      PL_OPTION_SIZE_RANGE(                                                    \
          T, field.max_decompressed_bytes, "max_decompressed_bytes", "16GiB",  \
          1, UINT64_MAX, 0,                                                    \
          "Most bytes one compressed " what " may decompress to (a guard "     \
          "against decompression bombs): past it, and when its stream is "     \
          "corrupt or truncated, the rest of the " what " is dropped and "     \
          "one record naming it and the reason goes to the dead letter "       \
          "(rows before that point are delivered).")

/* ---- The decoder ---- */

typedef struct pl_decompress pl_decompress_t;

/* A new decoder in *out for `kind` (AUTO: sniff the magic numbers; NONE:
 * pass bytes through) that fails with PL_ERANGE once its output would pass
 * `limit` bytes (plain bytes passed through are not counted against it).
 * Returns 0, PL_EINVAL (an unknown kind, limit 0) or PL_ENOMEM. */
PL_EXTERN int pl_decompress_create(pl_compression_t kind, uint64_t limit,
                                   pl_decompress_t **out);
/* Frees the decoder and what it holds. NULL is allowed. */
PL_EXTERN void pl_decompress_destroy(pl_decompress_t *d);

/* Hands `len` bytes of input to the decoder (copied). Feed when read has
 * said the input is used up (or before the first read): input fed before
 * that waits behind what is left. Returns 0, PL_ENOMEM, or PL_EINVAL after
 * pl_decompress_end(). */
PL_EXTERN int pl_decompress_feed(pl_decompress_t *d, const void *in,
                                 size_t len);
/* No more input: the next reads give what is left and check that the
 * stream ended where it should. */
PL_EXTERN void pl_decompress_end(pl_decompress_t *d);

/* Decompresses up to `cap` (> 0) bytes into `out`; *len says how many.
 * Returns 0 with *len > 0, or 0 with *len == 0 when nothing more comes out
 * of the input fed so far (feed more, or, after pl_decompress_end(), the
 * stream is complete and pl_decompress_finished() is true). Or an error,
 * and every later read returns it again:
 *   PL_EPARSE  the stream is corrupt, truncated (the input ended inside a
 *              gzip member or a zstd frame, or there was none), or bytes
 *              after its end are not another member or frame;
 *   PL_ERANGE  the output would pass the limit (the bytes past it are not
 *              given);
 *   PL_ENOMEM;  PL_EINVAL  cap 0.
 * Output made before an error comes first; the read after it returns the
 * error. pl_decompress_error() then says why, with the position in the
 * input. */
PL_EXTERN int pl_decompress_read(pl_decompress_t *d, void *out, size_t cap,
                                 size_t *len);

/* True once the input ended and everything was read without error. */
PL_EXTERN bool pl_decompress_finished(const pl_decompress_t *d);
/* Once a read returned an error: one line (borrowed until the decoder is
 * destroyed), e.g.
 *   "gzip stream is corrupt at byte 1234 of the input: invalid block type"
 *   "gzip stream is truncated: the input ends at byte 5000, inside a member"
 *   "zstd stream decompresses to more than 1048576 bytes (max_decompressed_
 *    bytes), at byte 812 of the input"
 * NULL while there was none (it may be set already while the output made
 * before the error is read). */
PL_EXTERN const char *pl_decompress_error(const pl_decompress_t *d);
/* The kind being decoded: GZIP, ZSTD or NONE once known; AUTO while an
 * AUTO decoder has not seen enough bytes to decide. */
PL_EXTERN pl_compression_t pl_decompress_kind(const pl_decompress_t *d);
/* Bytes of input used so far, and bytes of output given. */
PL_EXTERN uint64_t pl_decompress_consumed(const pl_decompress_t *d);
PL_EXTERN uint64_t pl_decompress_produced(const pl_decompress_t *d);

#endif
