/* Streams one S3 object at a time into records of bytes (GetObject, never
 * buffered whole): each piece of the body becomes a chunk with origin
 * "s3://<bucket>/<key>", the object's etag and the time the owner gives
 * (eventTime or LastModified), and an empty chunk marked
 * last ends the object. A chunk never ends inside a UTF-8 character: the
 * bytes that begin one wait for the next piece (a sink that writes a
 * chunk's bytes as a JSON string refused such a chunk). When pl_emit()
 * says the next queue is full the download pauses (curl's pause) until
 * s3_reader_resume().
 *
 * When the connection drops in the middle, or the server stalls (nothing
 * for aws { read_timeout } while the download is not paused: the client
 * ends it with a retryable Timeout), the rest is asked for with a Range
 * request from the last byte received and If-Match on the etag. If the
 * object changed meanwhile (412), the bytes sent so far end with a cut
 * chunk (the transforms drop their partial row) and the object is read
 * again from the beginning, which the log says (s3_recover.h).
 *
 * A compressed object (gzip or zstd: see s3_reader_set_decompress()) is
 * decompressed on the way: its chunks are of decompressed bytes, at most
 * S3_READER_CHUNK each, and a piece of the body is held (copied) while
 * the next queue is full and given out as room comes back, before the
 * download goes on. Range requests continue the compressed stream. */
#ifndef PL_SOURCE_S3_READER_H
#define PL_SOURCE_S3_READER_H

#include <pipelined/aws.h>
#include <pipelined/decompress.h>
#include <pipelined/plugin.h>

/* The most decompressed bytes in one chunk. */
#define S3_READER_CHUNK (64 * 1024)

/* The owner's record of how the object it tracks is read (see
 * s3_reader_track()): `etag` (malloc()ed by the reader, freed by the
 * owner) is the object's ETag without quotes once the reader knows it;
 * `off` is set when the offsets of the marks no longer say where to
 * resume (the object turned out compressed, or changed while read). */
typedef struct s3_track {
  char *etag;
  bool off;
} s3_track_t;

typedef enum {
  S3_READ_DONE,   /* every byte emitted, then a last chunk */
  S3_READ_GONE,   /* permanent: the object does not exist, access denied */
  S3_READ_FAILED, /* transient failures ran out, or s3_reader_stop() */
  /* Permanent, for a compressed object: its stream is corrupt or truncated
   * (CORRUPT), or it decompresses past max_decompressed_bytes (TOO_LARGE).
   * The bytes before that point were emitted. */
  S3_READ_CORRUPT,
  S3_READ_TOO_LARGE,
  /* Another version of the object took its key before its first byte was
   * read (412 to If-Match, s3_reader_expect()): nothing was emitted, and
   * that version has an event (a listing entry) of its own. */
  S3_READ_REPLACED,
} s3_read_result_t;

/* The object is finished with: the reader is idle again. `why` (borrowed
 * for the call) says what went wrong unless DONE. Bytes emitted before a
 * GONE or FAILED end with a cut chunk. */
typedef void (*s3_reader_done_cb)(void *data, s3_read_result_t result,
                                  const char *why);

/* Embedded in its owner; the fields are private. */
typedef struct s3_reader {
  pl_instance_t *inst;
  pl_aws_client_t *client; /* borrowed; NULL until started */
  s3_reader_done_cb done;
  void *data;
  pl_group_t *group; /* borrowed while reading */
  char *bucket;
  char *key;
  char *origin;
  char *time;     /* the origin time of the records, or NULL */
  char *etag;     /* as the first response sent it (quoted), or NULL */
  char *etag_raw; /* the same without quotes, for the records */
  uint64_t offset;       /* bytes received (of the object as stored) */
  uint64_t skip;         /* bytes of a response to drop (Range ignored) */
  uint64_t request_from; /* offset when the current request was sent */
  unsigned resumes;      /* in a row without progress */
  unsigned restarts;     /* the object changed under us */
  pl_aws_call_t *call;
  const pl_decompress_options_t *decompress; /* borrowed; NULL: none */
  char *content_encoding; /* of the first response, or NULL */
  pl_decompress_t *dec;   /* the object is compressed: its decoder */
  char *chunk;            /* S3_READER_CHUNK bytes for the decoder's output */
  int decode_error;       /* the decoder failed: PL_EPARSE or PL_ERANGE */
  bool sniffed;           /* whether the object is compressed is known */
  int status;
  bool reading;
  bool paused;
  bool stopped;
  bool out_of_memory;
  bool mismatch; /* a later response is of another version */
  bool canceled; /* the mismatched response is being cancelled */
  bool sized;    /* its size went to pl_source_progress() */
  s3_track_t *track;     /* borrowed; NULL: no marks */
  uint64_t resume_at;    /* the object is taken up here, or 0 */
  uint64_t resume_line;  /* the line there (0: unknown) */
  uint64_t next_line;    /* the line of the next chunk's first byte, or 0 */
  /* The first bytes of a UTF-8 character that the last piece (of the
   * object, or of the decoder's output) cut: they begin the next chunk
   * (pl_utf8_partial_tail). Of the object's, the last tail_len bytes
   * before `offset`. */
  char tail[3];
  size_t tail_len;
  bool heading;          /* reading the first piece for the header line */
  pl_buf_t head;         /* that piece */
} s3_reader_t;

void s3_reader_init(s3_reader_t *r, pl_instance_t *inst, s3_reader_done_cb done,
                    void *data);
/* Decompress objects as `opts` (borrowed for the reader's life) says: the
 * `compression` option, else the object's Content-Encoding, its key's
 * suffix, or its first bytes. Without this call objects are read as they
 * are. */
void s3_reader_set_decompress(s3_reader_t *r,
                              const pl_decompress_options_t *opts);
/* The client to read with (borrowed until the reader is done). */
void s3_reader_set_client(s3_reader_t *r, pl_aws_client_t *client);
/* Starts reading `key` of `bucket` (both copied) into `group`, its chunks
 * carrying `time` (copied; NULL: none) as their origin time. The reader
 * must be idle. Returns 0 and `done` is called later, or a negative code
 * (PL_EPARSE: the key is not UTF-8) and it is not. */
int s3_reader_start(s3_reader_t *r, pl_group_t *group, const char *bucket,
                    const char *key, const char *time);
/* For the next s3_reader_start() only (call before it). The chunks of
 * the object, read as it is, carry marks (pl_record_set_mark(): where
 * each ends), and `track` (borrowed until the object's group is
 * committed; its fields are set by the reader) says for which version of
 * it they hold. */
void s3_reader_track(s3_reader_t *r, s3_track_t *track);
/* For the next s3_reader_start() only: take the object up at byte
 * `offset` (line `line`, 0: unknown), where an earlier run's committed
 * rows end, if it is still version `etag` (no quotes). The reader first
 * asks for its first piece (Range bytes=0-65535, If-Match) and emits its
 * first line as a replay chunk (pl_record_set_replay) for the header,
 * then asks for the rest from `offset` (Range, If-Match) and gives the
 * first chunk that line. The object is read from its start instead, as
 * the log says, when it changed (412), is compressed, or its first piece
 * has no whole line before `offset`. Returns 0 or PL_ENOMEM. */
int s3_reader_resume_at(s3_reader_t *r, uint64_t offset, uint64_t line,
                        const char *etag);
/* Before s3_reader_start(): the version the object's event or listing
 * announced (`etag`, quoted or not; NULL or empty: none known). Its first
 * request asks for that version alone (If-Match), so that a version that
 * replaced it since, which is announced on its own, is not read twice;
 * S3_READ_REPLACED says it was. Nothing when s3_reader_resume_at() named
 * a version already. Returns 0 or PL_ENOMEM. */
int s3_reader_expect(s3_reader_t *r, const char *etag);
bool s3_reader_busy(const s3_reader_t *r);
/* True from a pl_emit() that said the next queue is full until
 * s3_reader_resume(), even between objects: start none meanwhile. */
bool s3_reader_paused(const s3_reader_t *r);
/* The engine's resume: the download goes on. */
void s3_reader_resume(s3_reader_t *r);
/* Cancels the object being read: `done` follows with S3_READ_FAILED. */
void s3_reader_stop(s3_reader_t *r);
void s3_reader_free(s3_reader_t *r);

/* "s3://<bucket>/<key>" in *out (a new string). Returns 0, PL_ENOMEM, or
 * PL_EPARSE for a key that is not UTF-8 (it cannot be a JSON string). */
int s3_reader_origin(const char *bucket, const char *key, char **out);

/* ---- Internal: shared by s3_reader.c and s3_recover.c ---- */

/* Sends the GetObject of the object from `offset` (a Range and If-Match
 * once it has bytes, or its first piece while heading). Returns 0 and the
 * response comes to the reader, or a negative PL_E* code. */
int s3_reader_request(s3_reader_t *r);
/* Emits a chunk of the object: `len` bytes (borrowed, copied), or an
 * empty last or cut one. False: out of memory (nothing was emitted). */
bool s3_reader_emit(s3_reader_t *r, const char *bytes, size_t len, bool last,
                    bool cut);
/* The object is finished with, as `result` and `why` (borrowed) say: the
 * owner's `done` is called, and may start another object. */
void s3_reader_finish(s3_reader_t *r, s3_read_result_t result, const char *why);
/* The object is read again from its first byte: whether it is compressed
 * is decided again, and the bytes a piece held back are dropped. */
void s3_reader_forget_decoder(s3_reader_t *r);

#endif
