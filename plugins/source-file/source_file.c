/* source-file: reads local files in chunks of bytes, one ack group per
 * file (the plugin descriptor and the glue of its parts).
 *
 * A scan (file_scan.c, in the thread pool) expands `paths` into files; the
 * ones not committed yet (file_state.c) are queued and read one at a time,
 * in order (file_reader.c). When a group is committed its file is
 * remembered, moved or deleted (file_done.c); a failed group's file is not
 * remembered, so it is read again at the next scan (watch) or run.
 *
 * With `watch` (the default, but not with --once), a timer scans again
 * every poll_interval; a file found by a later scan is read once two scans
 * in a row saw it with the same size and mtime, so that a file still being
 * written is not read half-way. Polling, rather than inotify, works the
 * same on every file system (NFS, bind mounts, globs over directories that
 * appear later) and costs one stat per file per interval. */
#include <pipelined/pipelined.h>

#include <stdlib.h>
#include <string.h>

#include "file_config.h"
#include "file_done.h"
#include "file_reader.h"
#include "file_scan.h"
#include "file_state.h"

/* A daemon whose state could not be saved tries again after this. */
#define SAVE_RETRY_MS 5000

/* ---- Options ---- */

static const char *const on_commit_choices[] = {"keep", "move", "delete", NULL};

static const pl_option_t file_option_table[] = {
    PL_OPTION_LIST_LENGTH(file_options_t, paths, "paths", NULL, 1, UINT64_MAX,
                          PL_OPT_REQUIRED | PL_OPT_PATH,
                          "Files, directories (their regular files, sorted by "
                          "name, not recursively, skipping names that start "
                          "with '.') or glob patterns to read, in this "
                          "order."),
    PL_OPTION_BOOL(file_options_t, watch, "watch", "true", 0,
                   "Keep scanning paths until SIGTERM and read new or "
                   "changed files as they appear; false reads the files "
                   "found at start, then the source is done (the daemon "
                   "idles until SIGTERM). --once reads once either way."),
    PL_OPTION_DURATION(file_options_t, poll_interval_ms, "poll_interval", "1s",
                       0,
                       "With watch: time between two scans of paths. A new "
                       "file is read once two scans saw it unchanged."),
    /* One read(2) returns at most about 2 GiB; a chunk is one read. */
    PL_OPTION_SIZE_RANGE(file_options_t, chunk_size, "chunk_size", "64KiB", 1,
                         1024ull * 1024 * 1024, 0,
                         "Bytes per record: files are read in chunks of this "
                         "size."),
    PL_OPTION_ENUM(file_options_t, on_commit, "on_commit", "keep",
                   on_commit_choices, 0,
                   "What to do with a file once all of it is delivered: keep "
                   "it, move it to done_dir, or delete it (a file changed "
                   "since it was read is left in place)."),
    PL_OPTION_STRING(file_options_t, done_dir, "done_dir", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "With on_commit = move (required then): where committed "
                     "files go (created if missing; a name already there "
                     "gets a .N suffix)."),
    PL_OPTION_STRING(file_options_t, state_dir, "state_dir", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "Directory of a state file, <pipeline>.state, that "
                     "remembers committed files by path, size and mtime so "
                     "that a restart does not read them again (created if "
                     "missing)."),
    PL_DECOMPRESS_OPTIONS(file_options_t, decompress, "file", ""),
};

/* A file from the moment it is queued until its group is committed and
 * the on_commit action is done. */
typedef struct file_entry {
  struct source_file *src;
  struct file_entry *prev; /* every entry, for destroy */
  struct file_entry *next;
  struct file_entry *queue_next; /* queued, not opened yet */
  char *path;
  uint64_t size; /* as read (fstat at open time); before, as scanned */
  int64_t mtime_ns;
  bool rejected; /* not decompressed to its end: on_commit leaves it */
} file_entry_t;

typedef struct source_file {
  pl_instance_t *inst;
  const file_options_t *opts;
  file_config_t cfg;
  uv_loop_t *loop;
  int *reported;            /* per entry of paths: the status last logged */
  file_state_t *committed;  /* remembered files; saved with state_dir */
  file_state_t *tracked;    /* paths of every file_entry_t */
  file_state_t *candidates; /* watch: new files seen once, not read yet */
  file_state_t *complaints; /* watch: files whose failure was logged */
  file_entry_t *all;
  file_entry_t *queue_head;
  file_entry_t *queue_tail;
  file_reader_t reader;
  uv_work_t scan_req;
  file_scan_t scan; /* filled in the thread pool */
  int scan_rc;
  bool scanning;
  size_t scans_done;
  uv_timer_t poll_timer;
  uv_timer_t save_timer;
  bool save_lost; /* the last save failed: the state on disk is behind */
  bool timers_open;
  bool dirty; /* the committed set changed since the last save */
  bool stopped;
  bool closed;
  bool exhausted;
} source_file_t;

/* ---- Entries ---- */

static file_entry_t *entry_create(source_file_t *s, const file_found_t *f) {
  file_entry_t *e = calloc(1, sizeof(*e));
  if (!e || !(e->path = strdup(f->path)) ||
      file_state_put(s->tracked, f->path, 0, 0) < 0) {
    if (e)
      free(e->path);
    free(e);
    return NULL;
  }
  e->src = s;
  e->size = f->size;
  e->mtime_ns = f->mtime_ns;
  e->next = s->all;
  if (s->all)
    s->all->prev = e;
  s->all = e;
  return e;
}

static void entry_destroy(source_file_t *s, file_entry_t *e) {
  file_state_remove(s->tracked, e->path);
  if (e->prev)
    e->prev->next = e->next;
  else
    s->all = e->next;
  if (e->next)
    e->next->prev = e->prev;
  free(e->path);
  free(e);
}

static void enqueue(source_file_t *s, file_entry_t *e) {
  e->queue_next = NULL;
  if (s->queue_tail)
    s->queue_tail->queue_next = e;
  else
    s->queue_head = e;
  s->queue_tail = e;
}

static file_entry_t *dequeue(source_file_t *s) {
  file_entry_t *e = s->queue_head;
  if (e) {
    s->queue_head = e->queue_next;
    if (!s->queue_head)
      s->queue_tail = NULL;
  }
  return e;
}

/* ---- The state file ---- */

/* The source is busy while its state is not on disk, so that a --once run
 * or a shutdown waits for the write (which runs on the thread pool). */
static void update_busy(source_file_t *s) {
  pl_state_file_t *file = file_state_owner(s->committed);
  if (!s->closed)
    pl_source_busy(s->inst,
                   s->dirty || (file && pl_state_file_saving(file)));
}

static void on_save_timer(uv_timer_t *timer);

static void save_failed(source_file_t *s, const char *error) {
  pl_log(s->inst, PL_LOG_ERROR,
         "state not saved (committed files may be read again after a "
         "restart): %s",
         error);
  /* The state on disk is behind: a daemon tries again later (and at
   * close), so that an idle daemon does not keep an old state forever. */
  s->save_lost = true;
  if (!pl_instance_once(s->inst) && s->timers_open && !s->closed &&
      !uv_is_active((uv_handle_t *)&s->save_timer))
    uv_timer_start(&s->save_timer, on_save_timer, SAVE_RETRY_MS, 0);
  /* A --once run that did its work but lost its state must not look
   * like a success to a scheduler: it would read everything again. */
  if (pl_instance_once(s->inst))
    pl_instance_error(s->inst);
}

/* After each write of the state file, on the loop. */
static void on_saved(void *arg, int status, const char *error) {
  source_file_t *s = arg;
  if (status < 0)
    save_failed(s, error);
  else
    s->save_lost = false;
  update_busy(s);
}

/* Starts a write of the state on the thread pool (never on the loop: two
 * fsyncs and a rename); a write in flight is followed by the latest one. */
static void save_now(source_file_t *s) {
  if (!s->dirty)
    return;
  if (file_state_save_async(s->committed, s->loop) < 0)
    save_failed(s, "out of memory");
  s->dirty = false;
  update_busy(s);
}

static void on_save_timer(uv_timer_t *timer) {
  source_file_t *s = timer->data;
  if (s->save_lost)
    s->dirty = true;
  save_now(s);
}

/* Commits come in bursts (one sink batch may resolve many groups): the
 * state file is written once per loop iteration, not once per file. */
static void state_changed(source_file_t *s) {
  if (!file_state_file(s->committed))
    return;
  s->dirty = true;
  update_busy(s);
  if (s->closed || !s->timers_open)
    save_now(s);
  else if (!uv_is_active((uv_handle_t *)&s->save_timer))
    uv_timer_start(&s->save_timer, on_save_timer, 0, 0);
}

static void remember(source_file_t *s, const file_entry_t *e) {
  if (file_state_put(s->committed, e->path, e->size, e->mtime_ns) < 0) {
    pl_log(s->inst, PL_LOG_ERROR, "out of memory: %s is not remembered",
           e->path);
    return;
  }
  state_changed(s);
}

/* ---- Reading ---- */

/* In watch mode the same file fails again at every scan: its error is
 * logged once, until the file changes or is read. */
static void complain(source_file_t *s, const file_entry_t *e, const char *step,
                     int err) {
  const char *why =
      err == FILE_READER_NOT_REGULAR ? "not a regular file" : uv_strerror(err);
  if (s->cfg.watch) {
    if (file_state_has(s->complaints, e->path, e->size, e->mtime_ns)) {
      pl_log(s->inst, PL_LOG_DEBUG, "cannot %s %s: %s (again)", step, e->path,
             why);
      return;
    }
    file_state_put(s->complaints, e->path, e->size, e->mtime_ns);
  }
  pl_log(s->inst, PL_LOG_ERROR, "cannot %s %s: %s", step, e->path, why);
}

/* Outside watch mode, the source is exhausted once the scan is done and
 * every queued file is read. */
static void check_exhausted(source_file_t *s) {
  if (s->cfg.watch || s->exhausted || s->stopped || s->scans_done == 0 ||
      s->scanning || s->queue_head || !file_reader_idle(&s->reader))
    return;
  s->exhausted = true;
  pl_source_exhausted(s->inst);
}

/* Opens the next queued file when the reader can take it. */
static void advance(source_file_t *s) {
  if (s->stopped || !file_reader_idle(&s->reader) ||
      file_reader_paused(&s->reader))
    return;
  file_entry_t *e;
  while ((e = dequeue(s))) {
    int rc = file_reader_open(&s->reader, e->path, e);
    if (rc == 0)
      return;
    complain(s, e, "open", rc);
    entry_destroy(s, e);
  }
  check_exhausted(s);
}

static void on_reader_failed(void *data, void *file, const char *step,
                             int err) {
  source_file_t *s = data;
  /* Forgotten: tried again at the next scan (watch) or run. */
  if (err != UV_ECANCELED)
    complain(s, file, step, err);
  entry_destroy(s, file);
}

static void on_reader_opened(void *data, void *file, const uv_stat_t *st) {
  file_entry_t *e = file;
  e->size = st->st_size;
  e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void on_reader_sealed(void *data, void *file, bool complete) {
  source_file_t *s = data;
  file_entry_t *e = file;
  if (complete) {
    pl_instance_count(s->inst, "files_read", 1);
    file_state_remove(s->complaints, e->path);
  }
}

static void on_reader_rejected(void *data, void *file) {
  file_entry_t *e = file;
  e->rejected = true;
}

static void on_reader_idle(void *data) {
  advance(data);
}

/* ---- Scanning ---- */

static bool is_error(int status) {
  return status < 0 || status == FILE_SCAN_NOT_REGULAR;
}

/* Logs what changed about one entry of `paths`. Outside watch mode there
 * is one scan, and every entry is expected to give at least one file. */
static void report_entry(source_file_t *s, size_t i, int status) {
  const char *entry = s->cfg.entries[i];
  int before = s->reported[i];
  s->reported[i] = status;
  if (s->cfg.watch && status == before)
    return;
  if (status == FILE_SCAN_OK) {
    /* In watch mode a missing entry is only waited for. */
    if (is_error(before) && !(s->cfg.watch && before == UV_ENOENT))
      pl_log(s->inst, PL_LOG_INFO, "%s can be read again", entry);
  } else if (status == FILE_SCAN_NO_MATCH) {
    if (s->cfg.watch)
      pl_log(s->inst, PL_LOG_INFO, "%s has no file yet; watching it", entry);
    else if (file_scan_is_glob(entry))
      pl_log(s->inst, PL_LOG_ERROR, "no file matches %s", entry);
    else
      pl_log(s->inst, PL_LOG_ERROR, "no file to read in directory %s", entry);
  } else if (status == UV_ENOENT && s->cfg.watch) {
    pl_log(s->inst, PL_LOG_INFO, "%s does not exist yet; watching it", entry);
  } else if (status == FILE_SCAN_NOT_REGULAR) {
    pl_log(s->inst, PL_LOG_ERROR,
           "cannot read %s: not a regular file or a directory", entry);
  } else {
    pl_log(s->inst, PL_LOG_ERROR, "cannot read %s: %s", entry,
           uv_strerror(status));
  }
  /* Without watch, a path that gives nothing is an error of the run. */
  if (status != FILE_SCAN_OK && !s->cfg.watch)
    pl_instance_error(s->inst);
}

static void scan_work(uv_work_t *req) {
  source_file_t *s = req->data;
  s->scan_rc = file_scan_run((const char *const *)s->cfg.entries,
                             s->cfg.entry_count, &s->scan);
}

/* True for a file a sink of this daemon writes (its output, a dead
 * letter): it is never read, and the first time it is skipped says so. */
static bool own_output(source_file_t *s, const file_found_t *f) {
  if (!pl_output_file_has(s->inst, f->dev, f->ino))
    return false;
  if (!file_state_find(s->complaints, f->path, NULL, NULL)) {
    pl_log(s->inst, PL_LOG_WARN,
           "%s is not read: this daemon writes it (a sink or dead letter)",
           f->path);
    file_state_put(s->complaints, f->path, 0, -1);
  }
  return true;
}

static void consider(source_file_t *s, const file_found_t *f, bool first) {
  if (own_output(s, f))
    return;
  if (file_state_find(s->tracked, f->path, NULL, NULL) ||
      file_state_has(s->committed, f->path, f->size, f->mtime_ns))
    return;
  if (s->cfg.watch && !first) {
    if (!file_state_has(s->candidates, f->path, f->size, f->mtime_ns)) {
      file_state_put(s->candidates, f->path, f->size, f->mtime_ns);
      return;
    }
    file_state_remove(s->candidates, f->path);
  }
  file_entry_t *e = entry_create(s, f);
  if (!e) {
    pl_log(s->inst, PL_LOG_ERROR, "out of memory: %s is not read now", f->path);
    return;
  }
  enqueue(s, e);
}

/* Sets the marks of `set` to the files of `scan` (for a sweep). */
static void mark_found(file_state_t *set, const file_scan_t *scan) {
  file_state_unmark_all(set);
  for (size_t i = 0; i < scan->count; i++)
    file_state_mark(set, scan->files[i].path);
}

static void on_poll(uv_timer_t *timer);

static void after_scan(uv_work_t *req, int status) {
  source_file_t *s = req->data;
  file_scan_t *scan = &s->scan;
  s->scanning = false;
  if (status < 0 || s->stopped) {
    file_scan_free(scan);
    return;
  }
  if (s->scan_rc < 0)
    pl_log(s->inst, PL_LOG_ERROR, "cannot scan paths: %s",
           pl_strerror(s->scan_rc));
  bool complete = s->scan_rc == 0;
  for (size_t i = 0; i < scan->entry_count; i++) {
    report_entry(s, i, scan->status[i]);
    complete &= scan->status[i] == FILE_SCAN_OK;
  }
  /* Forget files that are gone, but only after a scan in which every
   * entry gave files: an unmounted or unreadable directory must not make
   * its files look new when it comes back. */
  if (complete) {
    mark_found(s->committed, scan);
    if (file_state_sweep(s->committed) > 0)
      state_changed(s);
  }
  mark_found(s->candidates, scan);
  mark_found(s->complaints, scan);
  for (size_t i = 0; i < scan->count; i++)
    consider(s, &scan->files[i], s->scans_done == 0);
  file_state_sweep(s->candidates);
  file_state_sweep(s->complaints);
  file_scan_free(scan);
  s->scans_done++;
  if (s->cfg.watch && !s->closed)
    uv_timer_start(&s->poll_timer, on_poll, s->opts->poll_interval_ms, 0);
  advance(s);
}

static int start_scan(source_file_t *s) {
  s->scan_req.data = s;
  s->scan = (file_scan_t){0};
  s->scan_rc = 0;
  int rc = uv_queue_work(s->loop, &s->scan_req, scan_work, after_scan);
  if (rc < 0) {
    pl_log(s->inst, PL_LOG_ERROR, "cannot scan paths: %s", uv_strerror(rc));
    return PL_EIO;
  }
  s->scanning = true;
  return 0;
}

static void on_poll(uv_timer_t *timer) {
  source_file_t *s = timer->data;
  if (s->stopped || s->scanning)
    return;
  if (start_scan(s) < 0)
    uv_timer_start(&s->poll_timer, on_poll, s->opts->poll_interval_ms, 0);
}

/* ---- Commit ---- */

static void on_done(void *data, const file_done_result_t *result) {
  file_entry_t *e = data;
  source_file_t *s = e->src;
  bool move = s->opts->on_commit == FILE_ON_COMMIT_MOVE;
  if (result->status == 0) {
    if (move)
      pl_log(s->inst, PL_LOG_DEBUG, "moved %s to %s", e->path, result->dest);
    else
      pl_log(s->inst, PL_LOG_DEBUG, "deleted %s", e->path);
    if (file_state_remove(s->committed, e->path))
      state_changed(s);
  } else if (result->status == FILE_DONE_CHANGED) {
    pl_log(s->inst, PL_LOG_WARN,
           "%s changed after it was read: left in place, it will be read "
           "again",
           e->path);
  } else {
    /* Delivered all the same: remembered, so that it is not read again. */
    if (move)
      pl_log(s->inst, PL_LOG_ERROR,
             "cannot move %s to %s (%s failed: %s); it stays where it is",
             e->path, result->dest ? result->dest : s->cfg.done_dir,
             result->step, uv_strerror(result->status));
    else
      pl_log(s->inst, PL_LOG_ERROR,
             "cannot delete %s (%s failed: %s); it stays where it is", e->path,
             result->step, uv_strerror(result->status));
    remember(s, e);
  }
  entry_destroy(s, e);
}

static void source_file_commit(pl_instance_t *inst, void *ctx,
                               pl_group_t *group, pl_outcome_t outcome) {
  source_file_t *s = ctx;
  file_entry_t *e = pl_group_data(group);
  if (outcome == PL_OUTCOME_FAILED) {
    pl_instance_count(inst, "files_failed", 1);
    pl_log(inst, PL_LOG_WARN,
           "%s was not delivered completely; it will be read again %s", e->path,
           s->cfg.watch && !s->stopped ? "at the next scan"
                                       : "at the next run");
    /* A failed file needs no second look to be read again. */
    if (s->cfg.watch)
      file_state_put(s->candidates, e->path, e->size, e->mtime_ns);
    entry_destroy(s, e);
    return;
  }
  pl_instance_count(inst, "files_committed", 1);
  /* A file in the dead letter stays where it is, for a look at it. */
  if (s->opts->on_commit == FILE_ON_COMMIT_KEEP || e->rejected) {
    remember(s, e);
    entry_destroy(s, e);
    return;
  }
  file_done_action_t action = s->opts->on_commit == FILE_ON_COMMIT_MOVE
                                  ? FILE_DONE_MOVE
                                  : FILE_DONE_DELETE;
  int rc = file_done_start(s->loop, action, e->path, e->size, e->mtime_ns,
                           s->cfg.done_dir, on_done, e);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "cannot %s %s: %s",
           action == FILE_DONE_MOVE ? "move" : "delete", e->path,
           pl_strerror(rc));
    remember(s, e);
    entry_destroy(s, e);
  }
}

/* ---- Life cycle ---- */

static void source_file_destroy(void *ctx) {
  source_file_t *s = ctx;
  while (s->all)
    entry_destroy(s, s->all);
  file_reader_free(&s->reader);
  file_scan_free(&s->scan);
  file_config_free(&s->cfg);
  free(s->reported);
  file_state_destroy(s->committed);
  file_state_destroy(s->tracked);
  file_state_destroy(s->candidates);
  file_state_destroy(s->complaints);
  free(s);
}

static int source_file_init(pl_instance_t *inst, const void *options,
                            void **ctx) {
  source_file_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = options;
  s->loop = pl_instance_loop(inst);
  file_reader_events_t events = {.data = s,
                                 .failed = on_reader_failed,
                                 .opened = on_reader_opened,
                                 .sealed = on_reader_sealed,
                                 .rejected = on_reader_rejected,
                                 .idle = on_reader_idle};
  file_reader_init(&s->reader, inst, s->opts->chunk_size, &events);
  file_reader_set_decompress(&s->reader, &s->opts->decompress);
  int rc = file_config_init(&s->cfg, inst, s->opts);
  char *error = NULL;
  if (rc == 0 &&
      (rc = file_state_create(s->cfg.state_file, &s->committed, &error)) < 0)
    pl_log(inst, PL_LOG_ERROR, "%s", error ? error : "out of memory");
  free(error);
  if (rc == 0 && file_state_owner(s->committed))
    pl_state_file_on_saved(file_state_owner(s->committed), on_saved, s);
  if (rc == 0 &&
      (file_state_create(NULL, &s->tracked, NULL) < 0 ||
       file_state_create(NULL, &s->candidates, NULL) < 0 ||
       file_state_create(NULL, &s->complaints, NULL) < 0 ||
       !(s->reported = calloc(s->cfg.entry_count, sizeof(*s->reported)))))
    rc = PL_ENOMEM;
  if (rc < 0) {
    source_file_destroy(s);
    return rc;
  }
  *ctx = s;
  return 0;
}

static int source_file_start(pl_instance_t *inst, void *ctx) {
  source_file_t *s = ctx;
  /* Locked at the start, not at init, so that --check (which does not
   * start sources) can run beside the daemon that owns the state. */
  char *error = NULL;
  int rc = file_state_lock(s->committed, &error);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "%s", error ? error : pl_strerror(rc));
    free(error);
    return rc;
  }
  uv_timer_init(s->loop, &s->poll_timer);
  uv_timer_init(s->loop, &s->save_timer);
  s->poll_timer.data = s;
  s->save_timer.data = s;
  s->timers_open = true;
  return start_scan(s);
}

static void source_file_resume(pl_instance_t *inst, void *ctx) {
  source_file_t *s = ctx;
  file_reader_resume(&s->reader);
}

static void source_file_stop(pl_instance_t *inst, void *ctx) {
  source_file_t *s = ctx;
  s->stopped = true;
  if (s->timers_open)
    uv_timer_stop(&s->poll_timer);
  if (s->scanning)
    uv_cancel((uv_req_t *)&s->scan_req);
  file_entry_t *e;
  while ((e = dequeue(s)))
    entry_destroy(s, e);
  file_reader_stop(&s->reader);
}

static void source_file_close(pl_instance_t *inst, void *ctx) {
  source_file_t *s = ctx;
  /* The engine also closes a running pipeline without stopping it when
   * another one fails to start: no work may begin after this. */
  if (!s->stopped)
    source_file_stop(inst, ctx);
  s->closed = true;
  if (s->save_lost && !pl_instance_once(s->inst))
    s->dirty = true; /* one more try */
  save_now(s);
  if (s->timers_open) {
    uv_close((uv_handle_t *)&s->poll_timer, NULL);
    uv_close((uv_handle_t *)&s->save_timer, NULL);
  }
  s->timers_open = false;
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "file",
    .kind = PL_KIND_SOURCE,
    .description = "Reads local files (paths, directories or globs) in "
                   "chunks of bytes, one ack group per file.",
    .options = file_option_table,
    .options_count = sizeof(file_option_table) / sizeof(file_option_table[0]),
    .options_size = sizeof(file_options_t),
    .init = source_file_init,
    .start = source_file_start,
    .resume = source_file_resume,
    .stop = source_file_stop,
    .commit = source_file_commit,
    .close = source_file_close,
    .destroy = source_file_destroy,
};
