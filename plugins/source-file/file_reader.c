/* One file at a time into records of bytes: open, fstat, read, close. */
#include "file_reader.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void read_next(file_reader_t *r);

void file_reader_init(file_reader_t *r, pl_instance_t *inst,
                      uint64_t chunk_size, const file_reader_events_t *events) {
  *r = (file_reader_t){.inst = inst,
                       .loop = pl_instance_loop(inst),
                       .chunk_size = chunk_size,
                       .events = *events,
                       .fd = -1};
  r->req.data = r;
}

void file_reader_set_decompress(file_reader_t *r,
                                const pl_decompress_options_t *opts) {
  r->decompress = opts;
}

void file_reader_free(file_reader_t *r) {
  file_decode_close(&r->decode);
  free(r->buf);
  free(r->path);
  free(r->origin);
  r->buf = r->path = r->origin = NULL;
}

bool file_reader_idle(const file_reader_t *r) {
  return !r->busy && r->fd < 0 && !r->group && !r->file;
}

bool file_reader_paused(const file_reader_t *r) {
  return r->paused;
}

static void send_idle(file_reader_t *r) {
  if (!r->stopped && !r->paused && file_reader_idle(r))
    r->events.idle(r->events.data);
}

static void on_close(uv_fs_t *req) {
  file_reader_t *r = req->data;
  r->busy = false;
  uv_fs_req_cleanup(req);
  send_idle(r);
}

/* The reader is done with its file: closes it, then tells the owner. */
static void close_file(file_reader_t *r) {
  free(r->path);
  r->path = NULL;
  if (r->fd >= 0) {
    uv_file fd = r->fd;
    r->fd = -1;
    r->busy = true;
    if (uv_fs_close(r->loop, &r->req, fd, on_close) == 0)
      return;
    r->busy = false;
  }
  send_idle(r);
}

/* A file left in the middle: the transforms drop the partial row they hold
 * (best effort: without memory the stream stays until the plugin closes). */
static void emit_cut(file_reader_t *r) {
  pl_record_t *rec = pl_record_create(r->group);
  if (!rec)
    return;
  pl_record_set_origin(rec, r->origin);
  pl_record_set_cut(rec);
  if (!pl_emit(r->inst, rec))
    r->paused = true;
}

/* From here on the group, and `file` with it, belong to the core until
 * the owner's commit callback. */
static void seal(file_reader_t *r, bool complete) {
  void *file = r->file;
  if (!complete && r->offset > 0)
    emit_cut(r);
  pl_group_seal(r->group, complete);
  r->group = NULL;
  file_decode_close(&r->decode);
  r->file = NULL;
  free(r->origin);
  r->origin = NULL;
  r->events.sealed(r->events.data, file, complete);
}

/* Before a group exists: the owner learns why and keeps `file`. */
static void give_up(file_reader_t *r, const char *step, int err) {
  void *file = r->file;
  r->file = NULL;
  r->events.failed(r->events.data, file, step, r->stopped ? UV_ECANCELED : err);
  close_file(r);
}

static void read_failed(file_reader_t *r, int err) {
  pl_log(r->inst, PL_LOG_ERROR,
         "cannot read %s: %s (its records so far are not committed)", r->path,
         uv_strerror(err));
  seal(r, false);
  close_file(r);
}

static bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}

char *file_reader_origin(const char *path) {
  bool utf8 = pl_utf8_valid(path, strlen(path));
  pl_buf_t buf = {0};
  int rc = pl_buf_append_str(&buf, "file:");
  for (const unsigned char *p = (const unsigned char *)path; rc == 0 && *p; p++)
    rc = is_control(*p) || (!utf8 && *p >= 0x80)
             ? pl_buf_printf(&buf, "%%%02X", *p)
             : pl_buf_append(&buf, p, 1);
  if (rc < 0) {
    pl_buf_free(&buf);
    return NULL;
  }
  return buf.data;
}

/* Emits one chunk (`data`, stolen; NULL for an empty last chunk); false
 * when out of memory (the group is then abandoned). A chunk of a file read
 * as it is ends at r->offset: its mark. */
static bool emit_record(file_reader_t *r, char *data, size_t len, bool last) {
  pl_record_t *rec = pl_record_create(r->group);
  if (!data)
    data = calloc(1, 1);
  if (!rec || !data ||
      (!r->decode.dec && !last && pl_record_set_mark(rec, r->offset) < 0)) {
    free(data);
    if (rec)
      pl_record_done(rec);
    read_failed(r, UV_ENOMEM);
    return false;
  }
  data[len] = '\0';
  pl_record_set_bytes_new(rec, data, len);
  pl_record_set_size(rec, len);
  pl_record_set_origin(rec, r->origin);
  pl_record_set_last(rec, last);
  if (r->next_line) {
    pl_record_set_line(rec, r->next_line);
    r->next_line = 0;
  }
  if (last)
    seal(r, true);
  if (!pl_emit(r->inst, rec))
    r->paused = true;
  return true;
}

static void emit_chunk(file_reader_t *r, char *data, size_t len, bool last);

/* The first read of a file to resume (`data`, its first `len` bytes):
 * its first line goes out as a replay for the header, and reading goes on
 * at resume_at. False when it cannot be done (no whole line before
 * resume_at): the file is then read from its start. */
static bool jump(file_reader_t *r, char *data, size_t len, bool last) {
  uint64_t at = r->resume_at;
  r->resume_at = 0;
  const char *lf = memchr(data, '\n', len);
  if (!lf || (uint64_t)(lf - data) + 1 > at || at > r->size)
    return false;
  size_t header = (size_t)(lf - data) + 1;
  pl_record_t *replay = pl_record_create(r->group);
  if (!replay || pl_record_set_bytes(replay, data, header) < 0) {
    if (replay)
      pl_record_done(replay);
    return false;
  }
  pl_record_set_size(replay, header);
  pl_record_set_origin(replay, r->origin);
  pl_record_set_replay(replay);
  pl_log(r->inst, PL_LOG_INFO,
         "resuming %s at byte %llu (line %llu): the rows before it were "
         "committed by an earlier run",
         r->path, (unsigned long long)at, (unsigned long long)r->resume_line);
  pl_instance_count(r->inst, "files_resumed", 1);
  if (!pl_emit(r->inst, replay))
    r->paused = true;
  r->next_line = r->resume_line;
  if (len > at) {
    /* The first read went past the resume point: its rest is the data. */
    size_t rest = len - (size_t)at;
    pl_source_progress(r->inst, at, 0); /* skipped: as good as read */
    memmove(data, data + at, rest);
    emit_chunk(r, data, rest, last); /* resume_at is 0 now */
    return true;
  }
  free(data);
  pl_source_progress(r->inst, at - len, 0); /* skipped: as good as read */
  r->offset = at;
  if (at >= r->size) {
    if (emit_record(r, NULL, 0, true))
      close_file(r);
  } else if (!r->paused) {
    read_next(r);
  }
  return true;
}

/* Emits a chunk read from a file read as it is, then goes on. */
static void emit_chunk(file_reader_t *r, char *data, size_t len, bool last) {
  if (r->resume_at && data && jump(r, data, len, last))
    return;
  if (!last && data) {
    /* A chunk that ends inside a UTF-8 character is not text to a sink
     * that takes its bytes as they are ({"raw":...}): the character's
     * first bytes are read again at the start of the next chunk. */
    size_t cut = pl_utf8_partial_tail(data, len);
    if (cut < len) { /* a chunk_size below 4 may hold no whole one */
      len -= cut;
      r->offset -= cut;
    }
  }
  if (!emit_record(r, data, len, last))
    return;
  pl_instance_count(r->inst, "bytes_read", len);
  pl_source_progress(r->inst, len, 0);
  if (last)
    close_file(r);
  else if (!r->paused)
    read_next(r);
}

/* A compressed file that cannot be decompressed to its end: the rows
 * before that point stay, the transforms drop the partial row, and one
 * rejected record says which file and why; the group is complete. */
static void reject_file(file_reader_t *r, int rc) {
  const char *why = pl_decompress_error(r->decode.dec);
  if (rc == PL_ENOMEM || !why) {
    read_failed(r, UV_ENOMEM);
    return;
  }
  pl_log(r->inst, PL_LOG_ERROR,
         "%s: %s; the rest of the file is dropped and it goes to the dead "
         "letter",
         r->path, why);
  if (pl_decompress_produced(r->decode.dec) > 0)
    emit_cut(r);
  if (file_decode_reject(r->group, r->origin, rc, why) < 0) {
    read_failed(r, UV_ENOMEM);
    return;
  }
  pl_instance_count(r->inst, "files_rejected", 1);
  pl_instance_error(r->inst);
  if (r->events.rejected)
    r->events.rejected(r->events.data, r->file);
  seal(r, true);
  close_file(r);
}

/* Takes decompressed chunks out while the next stage has room; reads the
 * next piece of the file when the decoder needs it. */
static void pump(file_reader_t *r) {
  while (!r->paused) {
    char *data;
    size_t len;
    int step = file_decode_next(&r->decode, &data, &len);
    if (step < 0) {
      reject_file(r, step);
      return;
    }
    if (step == FILE_DECODE_NEED_INPUT) {
      read_next(r);
      return;
    }
    if (step == FILE_DECODE_END) {
      if (emit_record(r, NULL, 0, true))
        close_file(r);
      return;
    }
    pl_instance_count(r->inst, "bytes_decompressed", len);
    if (!emit_record(r, data, len, false))
      return;
  }
}

/* `len` bytes of a compressed file (`data`, freed here) go to the decoder;
 * `end` when the file has no more. */
static void decode_chunk(file_reader_t *r, char *data, size_t len, bool end) {
  int rc = file_decode_feed(&r->decode, data, len, end);
  if (rc == FILE_DECODE_PLAIN) {
    emit_chunk(r, data, len, end);
    return;
  }
  free(data);
  if (rc < 0) {
    read_failed(r, UV_ENOMEM);
    return;
  }
  pl_instance_count(r->inst, "bytes_read", len);
  pl_source_progress(r->inst, len, 0);
  pump(r);
}

static void on_read(uv_fs_t *req) {
  file_reader_t *r = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  r->busy = false;
  char *buf = r->buf;
  r->buf = NULL;
  if (r->stopped) { /* file_reader_stop() sealed the group already */
    free(buf);
    close_file(r);
  } else if (n < 0) {
    free(buf);
    read_failed(r, (int)n);
  } else if (n == 0) {
    /* The file ends before the size fstat() gave: it was emptied or cut
     * while it was read, and what was read is no whole version of it (the
     * last bytes read may be half a row that is gone now). The group is
     * abandoned with a cut (the transforms drop the partial row they
     * hold) and not committed; the file's new size and mtime get it read
     * again, as a new file. */
    free(buf);
    pl_log(r->inst, PL_LOG_WARN,
           "%s ended at byte %llu of the %llu it had when it was opened: it "
           "changed while it was read; the partial row is dropped, and what "
           "it holds now will be read as a new file",
           r->path, (unsigned long long)r->offset, (unsigned long long)r->size);
    seal(r, false);
    close_file(r);
  } else {
    r->offset += (uint64_t)n;
    if (r->decode.dec)
      decode_chunk(r, buf, (size_t)n, r->offset >= r->size);
    else
      emit_chunk(r, buf, (size_t)n, r->offset >= r->size);
  }
}

static void read_next(file_reader_t *r) {
  uint64_t remaining = r->size - r->offset;
  if (remaining == 0) { /* an empty file */
    if (r->decode.dec)
      decode_chunk(r, NULL, 0, true);
    else
      emit_chunk(r, NULL, 0, true);
    return;
  }
  size_t want = (size_t)(remaining < r->chunk_size ? remaining : r->chunk_size);
  r->buf = malloc(want + 1); /* + 1: records' bytes end with a NUL */
  if (!r->buf) {
    read_failed(r, UV_ENOMEM);
    return;
  }
  uv_buf_t buf = uv_buf_init(r->buf, (unsigned)want);
  r->busy = true;
  int rc =
      uv_fs_read(r->loop, &r->req, r->fd, &buf, 1, (int64_t)r->offset, on_read);
  if (rc < 0) {
    r->busy = false;
    free(r->buf);
    r->buf = NULL;
    read_failed(r, rc);
  }
}

static void on_fstat(uv_fs_t *req) {
  file_reader_t *r = req->data;
  int rc = (int)req->result;
  uv_stat_t st = req->statbuf;
  uv_fs_req_cleanup(req);
  r->busy = false;
  if (rc < 0 || r->stopped) {
    give_up(r, "stat", rc);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    give_up(r, "read", FILE_READER_NOT_REGULAR);
    return;
  }
  r->origin = file_reader_origin(r->path);
  r->group = r->origin ? pl_group_create(r->inst, r->file) : NULL;
  if (!r->group) {
    give_up(r, "read", UV_ENOMEM);
    return;
  }
  r->offset = 0;
  r->size = st.st_size;
  r->resume_at = 0;
  r->next_line = 0;
  if (r->decompress &&
      file_decode_open(&r->decode, r->decompress, r->path, r->chunk_size) < 0) {
    /* The group exists: it is sealed incomplete, the file read again. */
    read_failed(r, UV_ENOMEM);
    return;
  }
  pl_source_progress(r->inst, 0, r->size);
  r->events.opened(r->events.data, r->file, &st);
  pl_log(r->inst, PL_LOG_DEBUG, "reading %s (%llu bytes)", r->path,
         (unsigned long long)r->size);
  read_next(r);
}

static void on_open(uv_fs_t *req) {
  file_reader_t *r = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  r->busy = false;
  if (rc >= 0)
    r->fd = rc;
  if (rc < 0 || r->stopped) {
    give_up(r, "open", rc);
    return;
  }
  r->busy = true;
  rc = uv_fs_fstat(r->loop, &r->req, r->fd, on_fstat);
  if (rc < 0) {
    r->busy = false;
    give_up(r, "stat", rc);
  }
}

int file_reader_open(file_reader_t *r, const char *path, void *file) {
  char *copy = strdup(path);
  if (!copy)
    return UV_ENOMEM;
  r->path = copy;
  r->file = file;
  r->busy = true;
  int rc = uv_fs_open(r->loop, &r->req, path, O_RDONLY | O_CLOEXEC, 0, on_open);
  if (rc < 0) {
    r->busy = false;
    r->file = NULL;
    free(r->path);
    r->path = NULL;
  }
  return rc;
}

void file_reader_resume_at(file_reader_t *r, uint64_t offset, uint64_t line) {
  r->resume_at = offset;
  r->resume_line = line;
}

pl_group_t *file_reader_group(const file_reader_t *r) { return r->group; }

void file_reader_resume(file_reader_t *r) {
  r->paused = false;
  if (r->stopped)
    return;
  if (r->group && !r->busy && r->decode.dec)
    pump(r);
  else if (r->group && !r->busy)
    read_next(r);
  else
    send_idle(r);
}

void file_reader_stop(file_reader_t *r) {
  r->stopped = true;
  if (r->group) {
    pl_log(r->inst, PL_LOG_INFO, "stopped in the middle of %s", r->path);
    seal(r, false);
  }
  /* A request in flight finishes the work in its callback. */
  if (!r->busy && r->fd >= 0)
    close_file(r);
}
