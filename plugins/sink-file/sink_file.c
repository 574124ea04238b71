/* sink-file: appends records to a file (or standard output) as JSON lines.
 *
 * Each batch is encoded into one reused buffer (<pipelined/jsonl.h>: what a line
 * holds, and which records are rejected) and written with one uv_fs_write
 * (continued after a short write), then, when fsync is on, flushed with
 * fdatasync before any record is acknowledged: it flushes the data and the
 * file size, which is all a reader needs (fsync would add timestamps). The
 * default (`fsync = "auto"`) turns it on for a dead letter only: a rejected
 * record's source is committed once the letter is acknowledged, so the
 * letter is the only copy, and a power loss before the page cache reaches
 * the disk would lose it. An ordinary sink's records can be read again
 * from their source, and a sync per batch costs a disk flush each.
 * Writes never overlap: with max_in_flight above 1, batches wait their turn
 * in the order the engine handed them over (records retried after a failure
 * then land after later batches; the default of 1 keeps the input order).
 *
 * A write that fails part-way leaves the file ending in the beginning of a
 * line. The records whose lines were completely written are delivered; the
 * others fail (the engine retries them). The start of the torn line is
 * remembered: when the next write begins with that same text (the usual
 * case: the retry of the same record) only the rest of it is written, so the
 * file ends up with whole lines and no duplicates; otherwise a newline ends
 * the torn line first, so that the damage stays on one line of its own. A
 * file that an earlier run left ending in the middle of a line gets that
 * newline too. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pipelined/pipelined.h>

#include <pipelined/jsonl.h>

/* A buffer grown beyond this by an unusually large batch is given back
 * after the write rather than kept for the next batch. */
#define SINK_FILE_KEEP_BUFFER ((size_t)64 << 20)

/* uv_buf_t lengths are unsigned int; write(2) takes at most about 2 GiB. */
#define SINK_FILE_MAX_WRITE ((size_t)1 << 30)

/* The choices of `fsync`; "true" and "false" are what it took as a bool. */
enum { SINK_FILE_FSYNC_AUTO, SINK_FILE_FSYNC_TRUE, SINK_FILE_FSYNC_FALSE };
static const char *const sink_file_fsync_choices[] = {"auto", "true", "false",
                                                      NULL};

typedef struct sink_file_options {
  char *path;
  int fsync;
  bool append;
  char *mode;
} sink_file_options_t;

static const pl_option_t sink_file_option_table[] = {
    PL_OPTION_STRING(sink_file_options_t, path, "path", NULL,
                     PL_OPT_REQUIRED | PL_OPT_PATH,
                     "File the JSON lines are appended to; \"-\" or "
                     "\"/dev/stdout\" is standard output."),
    PL_OPTION_ENUM(sink_file_options_t, fsync, "fsync", "auto",
                   sink_file_fsync_choices, 0,
                   "Flush every batch to disk (fdatasync) before its records "
                   "are acknowledged. auto: only as a dead_letter, whose "
                   "letters are the only copy of rejected records once their "
                   "source is committed; true or false: always or never."),
    PL_OPTION_BOOL(sink_file_options_t, append, "append", "true", 0,
                   "Keep what the file holds; false empties it at start "
                   "(refused for a file a source of the daemon reads)."),
    PL_OPTION_STRING(sink_file_options_t, mode, "mode", "0644", 0,
                     "Permissions (octal) of a file this sink creates, before "
                     "the umask."),
};

typedef struct sink_file {
  pl_instance_t *inst;
  const sink_file_options_t *opts;
  const char *name; /* in messages: the path, or "standard output" */
  int mode;
  uv_file fd;  /* -1: not open */
  bool own_fd; /* false for standard output, which is never closed */
  bool fsync;  /* turned off when the file cannot be synced */
  bool closing;
  bool broken; /* a permanent error: nothing is written any more */

  /* The batch being written, its lines and where each record's line ends.
   * Byte 0 of `lines` is a newline that is written only to end a torn
   * line; the records' lines follow it. */
  pl_batch_t *batch;
  pl_buf_t lines;
  size_t *ends;
  size_t ends_cap;
  size_t begin;     /* first byte of `lines` to write */
  size_t written;   /* bytes written from `begin` on */
  int error;        /* libuv error of the write or of the sync, or 0 */
  bool sync_failed; /* the error is the sync's */
  uv_fs_t req;

  /* Batches handed over while another one was being written (FIFO). */
  pl_batch_t **waiting;
  size_t waiting_head;
  size_t waiting_count;
  size_t waiting_cap;

  /* The file ends in the middle of a line; `tail` is the text of that line
   * as far as this sink wrote it (empty when an earlier run left it). */
  bool tail_open;
  pl_buf_t tail;

  uv_fs_t close_req;
} sink_file_t;

static bool is_stdout(const char *path) {
  return strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0;
}

static int parse_mode(const char *text, int *out) {
  if (!*text || strlen(text) > 5)
    return PL_EINVAL;
  int mode = 0;
  for (const char *p = text; *p; p++) {
    if (*p < '0' || *p > '7')
      return PL_EINVAL;
    mode = mode * 8 + (*p - '0');
  }
  if (mode > 07777)
    return PL_EINVAL;
  *out = mode;
  return 0;
}

static int sink_file_init(pl_instance_t *inst, const void *options,
                          void **ctx) {
  const sink_file_options_t *opts = options;
  /* An empty path never gets here: the core refuses it (PL_OPT_REQUIRED). */
  int mode = 0;
  if (parse_mode(opts->mode, &mode) < 0) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'mode' must be octal permissions such as \"0644\", not "
           "\"%s\"",
           opts->mode);
    return PL_EINVAL;
  }
  sink_file_t *f = calloc(1, sizeof(*f));
  if (!f)
    return PL_ENOMEM;
  f->inst = inst;
  f->opts = opts;
  f->name = is_stdout(opts->path) ? "standard output" : opts->path;
  f->mode = mode;
  f->fd = -1;
  f->fsync =
      opts->fsync == SINK_FILE_FSYNC_TRUE ||
      (opts->fsync == SINK_FILE_FSYNC_AUTO && pl_instance_dead_letter(inst));
  *ctx = f;
  return 0;
}

static int pl_code(int uv_error) {
  switch (uv_error) {
  case UV_ENOENT:
  case UV_ENOTDIR:
    return PL_ENOENT;
  case UV_ENOMEM:
    return PL_ENOMEM;
  case UV_EINVAL:
    return PL_EINVAL;
  default:
    return PL_EIO;
  }
}

/* True when the regular file at `path` is not empty and does not end with
 * a newline. Best effort, at start only: false when it cannot tell. */
static bool ends_in_mid_line(uv_loop_t *loop, const char *path) {
  uv_fs_t req;
  /* O_NONBLOCK: opening a FIFO to read would otherwise wait for a writer. */
  int fd = uv_fs_open(loop, &req, path, O_RDONLY | O_NONBLOCK, 0, NULL);
  uv_fs_req_cleanup(&req);
  if (fd < 0)
    return false;
  bool mid_line = false;
  if (uv_fs_fstat(loop, &req, fd, NULL) == 0 && S_ISREG(req.statbuf.st_mode) &&
      req.statbuf.st_size > 0) {
    int64_t size = (int64_t)req.statbuf.st_size;
    uv_fs_req_cleanup(&req);
    char last = '\n';
    uv_buf_t buf = uv_buf_init(&last, 1);
    if (uv_fs_read(loop, &req, fd, &buf, 1, size - 1, NULL) == 1)
      mid_line = last != '\n';
  }
  uv_fs_req_cleanup(&req);
  uv_fs_close(loop, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
  return mid_line;
}

/* With append = false the file is emptied at the start: refused (and
 * said) when a source of this daemon reads it, which would lose what it
 * held before a row of it was read. */
static bool empties_an_input(pl_instance_t *inst, const char *path) {
  char cwd[PATH_MAX], absolute[PATH_MAX];
  size_t cwd_len = sizeof(cwd);
  if (path[0] != '/') {
    if (uv_cwd(cwd, &cwd_len) != 0 ||
        snprintf(absolute, sizeof(absolute), "%s/%s", cwd, path) >=
            (int)sizeof(absolute))
      return false;
    path = absolute;
  }
  const pl_instance_t *reader = pl_input_file_reader(inst, path);
  if (!reader)
    return false;
  pl_log(inst, PL_LOG_ERROR,
         "%s is an input of pipeline \"%s\" (%s): append = false would "
         "empty it before it is read",
         path, pl_instance_pipeline(reader), pl_instance_plugin(reader));
  return true;
}

static int sink_file_start(pl_instance_t *inst, void *ctx) {
  sink_file_t *f = ctx;
  const char *path = f->opts->path;
  if (is_stdout(path)) {
    f->fd = STDOUT_FILENO;
    f->own_fd = false;
    return 0;
  }
  uv_loop_t *loop = pl_instance_loop(inst);
  /* Synchronous, once, before any record flows: a bad path stops the
   * daemon at start with a clear error. O_NONBLOCK: a FIFO with no reader
   * would otherwise hold the loop (signals, /metrics) until one came; it
   * is cleared once open, so that writes (on the thread pool) wait. */
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK;
  if (!f->opts->append) {
    if (empties_an_input(inst, path))
      return PL_EINVAL;
    flags |= O_TRUNC;
  } else {
    f->tail_open = ends_in_mid_line(loop, path);
  }
  uv_fs_t req;
  int fd = uv_fs_open(loop, &req, path, flags, f->mode, NULL);
  uv_fs_req_cleanup(&req);
  if (fd == UV_ENXIO) {
    pl_log(inst, PL_LOG_ERROR,
           "cannot open %s: a FIFO that no process reads (start its reader "
           "first)",
           path);
    return PL_EIO;
  }
  if (fd < 0) {
    pl_log(inst, PL_LOG_ERROR, "cannot open %s: %s", path, uv_strerror(fd));
    return pl_code(fd);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  f->fd = fd;
  f->own_fd = true;
  int rc = pl_output_file_add(inst, fd);
  if (rc < 0)
    return rc;
  if (f->tail_open)
    pl_log(inst, PL_LOG_WARN,
           "%s ends in the middle of a line; a newline ends it before the "
           "first record",
           path);
  return 0;
}

/* ---- Closing ---- */

static void on_closed(uv_fs_t *req) {
  sink_file_t *f = req->data;
  if (req->result < 0)
    pl_log(f->inst, PL_LOG_ERROR, "closing %s failed: %s", f->opts->path,
           uv_strerror((int)req->result));
  uv_fs_req_cleanup(req);
}

static void close_fd(sink_file_t *f) {
  if (f->fd < 0 || !f->own_fd) {
    f->fd = -1;
    return;
  }
  f->close_req.data = f;
  if (uv_fs_close(pl_instance_loop(f->inst), &f->close_req, f->fd, on_closed) <
      0)
    uv_fs_req_cleanup(&f->close_req);
  f->fd = -1;
}

/* ---- Writing ---- */

static void start_batch(sink_file_t *f, pl_batch_t *batch);

static void start_next(sink_file_t *f) {
  if (f->closing) {
    close_fd(f);
    return;
  }
  if (f->waiting_count == 0)
    return;
  pl_batch_t *next = f->waiting[f->waiting_head];
  f->waiting_head = (f->waiting_head + 1) % f->waiting_cap;
  f->waiting_count--;
  if (f->broken) {
    pl_batch_done(next, PL_RESULT_FAILED, "the sink is broken");
    start_next(f);
    return;
  }
  start_batch(f, next);
}

/* Errors that no retry can mend: the reader of a pipe went away, the
 * descriptor or the file system does not let this process write. A full
 * disk may be freed, so ENOSPC is permanent only once retries ran out. */
static bool is_permanent(const sink_file_t *f, const pl_batch_t *batch) {
  switch (f->error) {
  case UV_EPIPE:
  case UV_EBADF:
  case UV_EACCES:
  case UV_EPERM:
  case UV_EROFS:
    return true;
  case UV_ENOSPC:
    return (int64_t)pl_batch_attempt(batch) >= pl_instance_retry_limit(f->inst);
  default:
    return false;
  }
}

/* Where the file's last line starts, as an offset in `lines`, once it holds
 * the lines up to `pos`. */
static size_t line_start(const sink_file_t *f, size_t count, size_t pos) {
  size_t start = 1;
  for (size_t i = 0; i < count && f->ends[i] <= pos; i++)
    start = f->ends[i];
  return start;
}

/* Remembers what the file ends with after the bytes of `lines` up to
 * `pos` were written (pos == 0: nothing was, not even the newline). */
static void update_tail(sink_file_t *f, size_t count, size_t pos) {
  if (pos == f->lines.len) {
    f->tail_open = false;
    pl_buf_reset(&f->tail);
    return;
  }
  if (pos == 0)
    return;
  size_t start = line_start(f, count, pos);
  pl_buf_reset(&f->tail);
  f->tail_open = start < pos;
  if (f->tail_open &&
      pl_buf_append(&f->tail, f->lines.data + start, pos - start) < 0)
    pl_buf_reset(&f->tail); /* unknown text: the next write adds a newline */
}

/* The write (and sync) of the current batch is over: acknowledge the
 * records whose lines are in the file, fail the others. */
static void finish_batch(sink_file_t *f) {
  pl_batch_t *batch = f->batch;
  size_t count = pl_batch_count(batch);
  size_t pos = f->written > 0 ? f->begin + f->written : 0;
  if (f->written > 0)
    pl_instance_count(f->inst, "bytes_written", f->written);
  f->batch = NULL;
  if (f->error == 0) {
    update_tail(f, count, f->lines.len);
    pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
  } else {
    update_tail(f, count, pos);
    /* After a failed write, the lines written before it are safe; after a
     * failed sync nothing is certain, and every record goes again. */
    const char *what = f->sync_failed ? "fdatasync of" : "write to";
    if (!f->broken && is_permanent(f, batch)) {
      f->broken = true;
      pl_sink_broken(f->inst, "%s %s failed after %u attempt(s): %s", what,
                     f->name, pl_batch_attempt(batch) + 1,
                     uv_strerror(f->error));
    }
    for (size_t i = 0; i < count; i++) {
      if (pl_batch_result(batch, i) != PL_RESULT_PENDING)
        continue;
      if (!f->sync_failed && f->ends[i] <= pos)
        pl_batch_resolve(batch, i, PL_RESULT_DELIVERED, NULL);
      else
        pl_batch_resolve(batch, i, PL_RESULT_FAILED, "%s %s failed: %s", what,
                         f->name, uv_strerror(f->error));
    }
    pl_batch_done(batch, PL_RESULT_FAILED, NULL);
  }
  if (f->lines.cap > SINK_FILE_KEEP_BUFFER)
    pl_buf_free(&f->lines);
  start_next(f);
}

static void on_synced(uv_fs_t *req) {
  sink_file_t *f = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  if (rc == UV_EINVAL || rc == UV_EROFS) {
    /* Pipes, terminals and some special files cannot be synced. */
    pl_log(f->inst, PL_LOG_WARN, "%s cannot be synced (%s); fsync is off",
           f->name, uv_strerror(rc));
    f->fsync = false;
  } else if (rc < 0) {
    f->error = rc;
    f->sync_failed = true;
  } else {
    /* Counted before the records are acknowledged: the metric, and the
     * tests, can tell that the sync came first. */
    pl_instance_count(f->inst, "fdatasyncs", 1);
  }
  finish_batch(f);
}

/* Syncs what was written when asked to, then finishes the batch. */
static void after_write(sink_file_t *f) {
  if (f->fsync && f->written > 0) {
    f->req.data = f;
    int rc =
        uv_fs_fdatasync(pl_instance_loop(f->inst), &f->req, f->fd, on_synced);
    if (rc == 0)
      return;
    f->req.result = rc;
    on_synced(&f->req);
    return;
  }
  finish_batch(f);
}

static void write_rest(sink_file_t *f);

static void on_written(uv_fs_t *req) {
  sink_file_t *f = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  if (n <= 0) {
    /* Only a non-empty rest is ever written: 0 bytes is an error too. */
    f->error = n < 0 ? (int)n : UV_EIO;
    after_write(f);
    return;
  }
  f->written += (size_t)n;
  if (f->begin + f->written < f->lines.len) {
    write_rest(f); /* a short write: go on with the rest */
    return;
  }
  after_write(f);
}

static void write_rest(sink_file_t *f) {
  size_t from = f->begin + f->written;
  size_t len = f->lines.len - from;
  if (len > SINK_FILE_MAX_WRITE)
    len = SINK_FILE_MAX_WRITE; /* the rest goes in the next write */
  uv_buf_t buf = uv_buf_init(f->lines.data + from, (unsigned)len);
  f->req.data = f;
  int rc = uv_fs_write(pl_instance_loop(f->inst), &f->req, f->fd, &buf, 1, -1,
                       on_written);
  if (rc < 0) {
    f->req.result = rc;
    on_written(&f->req);
  }
}

static int reserve_ends(sink_file_t *f, size_t count) {
  if (count <= f->ends_cap)
    return 0;
  size_t *ends = realloc(f->ends, count * sizeof(*ends));
  if (!ends)
    return PL_ENOMEM;
  f->ends = ends;
  f->ends_cap = count;
  return 0;
}

/* Where to start writing `lines` so that a torn line is completed or
 * ended (see the top of this file). */
static size_t first_byte(const sink_file_t *f) {
  if (!f->tail_open)
    return 1;
  const pl_buf_t *tail = &f->tail;
  if (tail->len > 0 && f->lines.len - 1 > tail->len &&
      memcmp(f->lines.data + 1, tail->data, tail->len) == 0)
    return 1 + tail->len;
  return 0;
}

static void start_batch(sink_file_t *f, pl_batch_t *batch) {
  size_t count = pl_batch_count(batch);
  pl_buf_reset(&f->lines);
  if (reserve_ends(f, count) < 0 || pl_buf_append(&f->lines, "\n", 1) < 0) {
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    start_next(f);
    return;
  }
  pl_jsonl_encode_batch(batch, &f->lines, f->ends);
  if (f->lines.len == 1) {
    /* Nothing to write: every record was resolved or had no line. */
    pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
    start_next(f);
    return;
  }
  f->batch = batch;
  f->begin = first_byte(f);
  f->written = 0;
  f->error = 0;
  f->sync_failed = false;
  write_rest(f);
}

static bool push_waiting(sink_file_t *f, pl_batch_t *batch) {
  if (f->waiting_count == f->waiting_cap) {
    size_t cap = f->waiting_cap ? f->waiting_cap * 2 : 4;
    pl_batch_t **ring = malloc(cap * sizeof(*ring));
    if (!ring)
      return false;
    for (size_t i = 0; i < f->waiting_count; i++)
      ring[i] = f->waiting[(f->waiting_head + i) % f->waiting_cap];
    free(f->waiting);
    f->waiting = ring;
    f->waiting_cap = cap;
    f->waiting_head = 0;
  }
  f->waiting[(f->waiting_head + f->waiting_count) % f->waiting_cap] = batch;
  f->waiting_count++;
  return true;
}

static void sink_file_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  sink_file_t *f = ctx;
  if (f->closing || f->fd < 0) {
    /* A retry whose timer outlived the shutdown. */
    pl_batch_done(batch, PL_RESULT_FAILED, "the sink is closed");
    return;
  }
  if (f->broken) {
    pl_batch_done(batch, PL_RESULT_FAILED, "the sink is broken");
    return;
  }
  if (f->batch) {
    if (!push_waiting(f, batch))
      pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  start_batch(f, batch);
}

static void sink_file_close(pl_instance_t *inst, void *ctx) {
  sink_file_t *f = ctx;
  f->closing = true;
  while (f->waiting_count > 0) {
    pl_batch_t *batch = f->waiting[f->waiting_head];
    f->waiting_head = (f->waiting_head + 1) % f->waiting_cap;
    f->waiting_count--;
    pl_batch_done(batch, PL_RESULT_FAILED,
                  "the sink closed before the batch was written");
  }
  /* A write in progress finishes first; the file is closed after it. */
  if (!f->batch)
    close_fd(f);
}

static void sink_file_destroy(void *ctx) {
  sink_file_t *f = ctx;
  if (f->fd >= 0 && f->own_fd)
    close(f->fd); /* started but never closed: nothing is in flight */
  pl_buf_free(&f->lines);
  pl_buf_free(&f->tail);
  free(f->ends);
  free(f->waiting);
  free(f);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "file",
    .kind = PL_KIND_SINK,
    .description = "Writes records to a file or standard output as JSON "
                   "lines.",
    .options = sink_file_option_table,
    .options_count =
        sizeof(sink_file_option_table) / sizeof(sink_file_option_table[0]),
    .options_size = sizeof(sink_file_options_t),
    .defaults = {.batch_size = "1000",
                 .batch_bytes = "4MiB",
                 .linger = "0",
                 .max_in_flight = "1"},
    .init = sink_file_init,
    .start = sink_file_start,
    .write = sink_file_write,
    .close = sink_file_close,
    .destroy = sink_file_destroy,
};
