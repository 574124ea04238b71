/* Reads one file at a time into records of bytes, one ack group per file
 * (HACKING.md#s7: uv_fs_* requests, one in flight at a time).
 *
 * A file is opened, fstat()ed, then read in chunks up to the size it had
 * when it was opened; each chunk becomes a record with origin
 * "file:<path>", and the last one (empty for an empty file) has
 * pl_record_set_last() and seals the group. A file that ends before that
 * size (emptied or cut while read) is abandoned: a cut record, its group
 * sealed incomplete. When
 * pl_emit() says the next queue is full the reader stops until
 * file_reader_resume(). A compressed file is decompressed on the way
 * (file_decode.c): its chunks are of decompressed bytes, and the reader
 * reads the next piece of the file only once the last one is used up.
 *
 * The chunks of a file read as it is carry marks (pl_record_set_mark():
 * the offset where each ends), so that the owner hears how far the
 * committed prefix of the file reached (pl_group_on_progress()) and can
 * resume there after a crash (file_reader_resume_at()). */
#ifndef PL_SOURCE_FILE_READER_H
#define PL_SOURCE_FILE_READER_H

#include <pipelined/plugin.h>

#include "file_decode.h"

/* `err` of the failed event for a file that is not a regular file. */
#define FILE_READER_NOT_REGULAR 1

/* What the reader tells its owner. `file` is the owner's pointer given to
 * file_reader_open(); it becomes the data of the file's group. */
typedef struct file_reader_events {
  void *data;
  /* No group was created for `file`: `step` ("open", "stat" or "read")
   * failed with a libuv error or FILE_READER_NOT_REGULAR; UV_ECANCELED
   * after file_reader_stop(). */
  void (*failed)(void *data, void *file, const char *step, int err);
  /* The group of `file` is created; `st` is what fstat() said (borrowed). */
  void (*opened)(void *data, void *file, const uv_stat_t *st);
  /* The group of `file` is sealed: complete, or abandoned (a read error,
   * out of memory, or file_reader_stop()). The reader is done with `file`. */
  void (*sealed)(void *data, void *file, bool complete);
  /* Optional, just before `sealed`: the stream of `file` could not be
   * decompressed to its end, and its group holds a rejected record saying
   * why (see file_reader_set_decompress()). */
  void (*rejected)(void *data, void *file);
  /* No file is open, nothing is in flight and the next queue has room:
   * the owner may open the next file. Not called after file_reader_stop(). */
  void (*idle)(void *data);
} file_reader_events_t;

/* Embedded in its owner; the fields are private. */
typedef struct file_reader {
  pl_instance_t *inst;
  uv_loop_t *loop;
  uint64_t chunk_size;
  file_reader_events_t events;
  void *file;        /* until its group is sealed */
  char *path;        /* of the file being read */
  char *origin;      /* "file:<path>" */
  pl_group_t *group; /* open group, or NULL */
  uv_file fd;        /* -1 when closed */
  uint64_t offset;
  uint64_t size; /* what is read: the size at open time */
  char *buf;     /* the chunk being read */
  const pl_decompress_options_t *decompress; /* borrowed; NULL: none */
  file_decode_t decode;                      /* of the file being read */
  uint64_t resume_at;   /* take the file up here after its header, or 0 */
  uint64_t resume_line; /* the line there (0: unknown) */
  uint64_t next_line;   /* the line of the next chunk's first byte, or 0 */
  uv_fs_t req;
  bool busy; /* req is in flight */
  bool paused;
  bool stopped;
} file_reader_t;

void file_reader_init(file_reader_t *r, pl_instance_t *inst,
                      uint64_t chunk_size, const file_reader_events_t *events);
/* Decompress files as `opts` (borrowed for the reader's life) says: each
 * file's chunks are decompressed, and a file whose stream is corrupt,
 * truncated or past max_decompressed_bytes ends with the rows before that
 * point, then one rejected record naming it and why (its group is sealed
 * complete: it is not read again until it changes) and an input error
 * (pl_instance_error). Without this call files are read as they are. */
void file_reader_set_decompress(file_reader_t *r,
                                const pl_decompress_options_t *opts);
/* From the `opened` event only: the file is taken up at byte `offset`
 * (line `line`, 0: unknown) instead of its start, where an earlier run's
 * committed rows end (a progress ledger). Its first line, the header, is
 * read and emitted first as a replay chunk (pl_record_set_replay) for the
 * transforms, then the chunks from `offset`, the first with that line. A
 * compressed file, a file whose first read holds no whole line before
 * `offset`, or an `offset` past the file is read from its start. */
void file_reader_resume_at(file_reader_t *r, uint64_t offset, uint64_t line);
/* The group of the file being read (borrowed), or NULL. */
pl_group_t *file_reader_group(const file_reader_t *r);
/* Frees what the reader holds; call once the loop has ended. */
void file_reader_free(file_reader_t *r);

/* Starts reading `path` (copied). The reader must be idle and not paused.
 * Returns 0, and events follow; or a negative libuv error, and no event
 * is sent about `file`. */
int file_reader_open(file_reader_t *r, const char *path, void *file);
/* True when no file is open and nothing is in flight. */
bool file_reader_idle(const file_reader_t *r);
/* True while pl_emit() has said the next queue is full. */
bool file_reader_paused(const file_reader_t *r);
/* The engine's resume: reading goes on, or `idle` is sent. */
void file_reader_resume(file_reader_t *r);
/* Shutdown: the group being read is sealed incomplete, the file closed. */
void file_reader_stop(file_reader_t *r);

/* "file:" and `path`; bytes that are not UTF-8 (which JSON strings, and so
 * origins, cannot hold) and control characters (which SQS's message
 * attributes cannot: every row of such a file was refused) are written as
 * %XX. A new string or NULL. */
char *file_reader_origin(const char *path);

#endif
