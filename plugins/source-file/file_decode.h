/* The decompression of source-file: a file read in chunks goes through a
 * decoder (<pipelined/decompress.h>) unless `compression = "none"`, and
 * comes out in chunks of the same size, one at a time, so that the reader
 * (file_reader.c) keeps its backpressure. A file whose stream is corrupt,
 * truncated or too large becomes one rejected record naming it. */
#ifndef PL_SOURCE_FILE_DECODE_H
#define PL_SOURCE_FILE_DECODE_H

#include <pipelined/decompress.h>
#include <pipelined/plugin.h>

/* What file_decode_next() gives besides an error. */
typedef enum {
  FILE_DECODE_CHUNK,      /* a chunk of decompressed bytes */
  FILE_DECODE_NEED_INPUT, /* feed the next piece of the file */
  FILE_DECODE_END,        /* the stream is complete */
  FILE_DECODE_PLAIN,      /* feed: the file is not compressed (see there) */
} file_decode_step_t;

/* Embedded in the reader; zeroed when no file is decoded. */
typedef struct file_decode {
  pl_decompress_t *dec; /* NULL: the file is read as it is */
  uint64_t chunk_size;
  bool fed; /* the decoder has had bytes */
  /* The first bytes of a UTF-8 character that the last chunk would have
   * cut: they begin the next one (see pl_utf8_partial_tail). */
  char tail[3];
  size_t tail_len;
} file_decode_t;

/* Prepares `d` for the file `path` (borrowed for the call): `opts`
 * (borrowed) and the path's suffix choose the kind (AUTO sniffs the first
 * bytes; NONE leaves d->dec NULL). Returns 0 or PL_ENOMEM. */
int file_decode_open(file_decode_t *d, const pl_decompress_options_t *opts,
                     const char *path, uint64_t chunk_size);
/* Hands `len` bytes read from the file to the decoder (copied); `end`
 * when they are the last. Returns 0 or PL_ENOMEM; or FILE_DECODE_PLAIN
 * when these are the first bytes of a file whose kind was left to AUTO
 * and they carry no magic number: the decoder is closed and the file is
 * read as it is, these bytes included, as if compression were "none" (the
 * same chunks, at no cost). */
int file_decode_feed(file_decode_t *d, const char *bytes, size_t len, bool end);
/* The next step: with FILE_DECODE_CHUNK, *data is a new buffer of *len
 * bytes plus a NUL (for pl_record_set_bytes_new()). Returns the step, or
 * a negative code (PL_EPARSE: corrupt or truncated; PL_ERANGE: past
 * max_decompressed_bytes; PL_ENOMEM) and pl_decompress_error() says why. */
int file_decode_next(file_decode_t *d, char **data, size_t *len);
/* Frees the decoder; `d` is zeroed. */
void file_decode_close(file_decode_t *d);

/* Rejects the file of `origin` ("file:<path>", from file_reader_origin(),
 * borrowed) into `group` after a decode error `rc` whose text is `why`:
 * one record with value {"path": <path>} and the origin, rejected with
 * reason class "corrupt" (PL_EPARSE) or "too_large" (PL_ERANGE) and
 * "<path>: <why>". Returns 0 or PL_ENOMEM (nothing was added). */
int file_decode_reject(pl_group_t *group, const char *origin, int rc,
                       const char *why);

#endif
