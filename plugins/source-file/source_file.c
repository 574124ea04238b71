/* source-file: reads local files in chunks of bytes, one ack group per
 * file (the plugin descriptor and the glue of its parts).
 *
 * A scan (file_scan.c, in the thread pool, started by file_poll.c)
 * expands `paths` into files; the ones not committed yet (file_state.c)
 * are queued and read one at a time, in order (file_reader.c). When a
 * group is committed its file is remembered (file_save.c writes the state
 * file), moved or deleted (file_done.c); a failed group's file is not
 * remembered, so it is read again at the next scan (watch) or run.
 *
 * With `watch` (the default, but not with --once), a timer scans again
 * every poll_interval; a file found by a later scan is read once two scans
 * in a row saw it with the same size and mtime, so that a file still being
 * written is not read half-way. Polling, rather than inotify, works the
 * same on every file system (NFS, bind mounts, globs over directories that
 * appear later) and costs one stat per file per interval. */
#include <pipelined/pipelined.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_config.h"
#include "file_done.h"
#include "file_poll.h"
#include "file_reader.h"
#include "file_save.h"
#include "file_scan.h"
#include "file_state.h"
#include "source_file.h"

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
    PL_OPTION_DURATION_RANGE(
        file_options_t, poll_interval_ms, "poll_interval", "1s", 1, UINT64_MAX,
        0,
        "With watch: time between two scans of paths. A new "
        "file is read once two scans saw it unchanged."),
    /* One read(2) returns at most about 2 GiB; a chunk is one read. */
    PL_OPTION_SIZE_RANGE(file_options_t, chunk_size, "chunk_size", "64KiB", 1,
                         1024ull * 1024 * 1024, 0,
                         "Bytes per record: files are read in chunks of this "
                         "size (one ends before a UTF-8 character it would "
                         "cut)."),
    PL_OPTION_ENUM(file_options_t, on_commit, "on_commit", "keep",
                   on_commit_choices, 0,
                   "What to do with a file once all of it is delivered: keep "
                   "it, move it to done_dir, or delete it (a file changed, "
                   "or replaced by another one, since it was read is left in "
                   "place)."),
    PL_OPTION_STRING(file_options_t, done_dir, "done_dir", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "With on_commit = move (required then): where committed "
                     "files go (created if missing; a name already there "
                     "gets a .N suffix)."),
    PL_OPTION_STRING(file_options_t, state_dir, "state_dir", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "Directory of a state file, <pipeline>.state, that "
                     "remembers committed files by path, size and mtime so "
                     "that a restart does not read them again, and of a "
                     "ledger, <pipeline>.ledger, of how far into each file "
                     "its rows are committed, so that a restart takes a "
                     "file read in part up there (created if missing)."),
    PL_DECOMPRESS_OPTIONS(file_options_t, decompress, "file", ""),
};

/* ---- Entries ---- */

file_entry_t *source_file_entry_create(source_file_t *s,
                                       const file_found_t *f) {
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

void source_file_entry_destroy(source_file_t *s, file_entry_t *e) {
  file_state_remove(s->tracked, e->path);
  if (e->prev)
    e->prev->next = e->next;
  else
    s->all = e->next;
  if (e->next)
    e->next->prev = e->prev;
  free(e->path);
  free(e->origin);
  free(e->version);
  free(e);
}

void source_file_enqueue(source_file_t *s, file_entry_t *e) {
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
void source_file_advance(source_file_t *s) {
  if (s->stopped || !file_reader_idle(&s->reader) ||
      file_reader_paused(&s->reader))
    return;
  file_entry_t *e;
  while ((e = dequeue(s))) {
    int rc = file_reader_open(&s->reader, e->path, e);
    if (rc == 0)
      return;
    complain(s, e, "open", rc);
    source_file_entry_destroy(s, e);
  }
  check_exhausted(s);
}

static void on_reader_failed(void *data, void *file, const char *step,
                             int err) {
  source_file_t *s = data;
  /* Forgotten: tried again at the next scan (watch) or run. */
  if (err != UV_ECANCELED)
    complain(s, file, step, err);
  source_file_entry_destroy(s, file);
}

/* The committed prefix of a file grew: the ledger says where a restart
 * takes it up (pl_group_progress_cb). */
static void on_progress(void *data, pl_group_t *group, uint64_t offset,
                        uint64_t line) {
  (void)group;
  file_entry_t *e = data;
  source_file_t *s = e->src;
  if (e->origin && e->version)
    pl_ledger_advance(s->ledger, s->inst, e->origin, e->version, offset, line);
}

static void on_reader_opened(void *data, void *file, const uv_stat_t *st) {
  source_file_t *s = data;
  file_entry_t *e = file;
  e->size = st->st_size;
  e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  e->dev = st->st_dev;
  e->ino = st->st_ino;
  if (!s->ledger)
    return;
  /* This version of the file (its size and mtime) may have been read in
   * part by an earlier run: take it up where its committed rows end. */
  pl_buf_t version = {0};
  free(e->origin);
  free(e->version);
  e->origin = file_reader_origin(e->path);
  e->version = pl_buf_printf(&version, "%llu-%lld",
                             (unsigned long long)e->size,
                             (long long)e->mtime_ns) == 0
                   ? version.data
                   : NULL;
  uint64_t offset = 0, line = 0;
  if (e->origin && e->version &&
      pl_ledger_find(s->ledger, e->origin, e->version, &offset, &line) &&
      offset > 0)
    file_reader_resume_at(&s->reader, offset, line);
  pl_group_on_progress(file_reader_group(&s->reader), on_progress, e);
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
  source_file_advance(data);
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
      file_save_changed(s);
  } else if (result->status == FILE_DONE_REPLACED) {
    /* Not a fault: files are often replaced by a rename. */
    pl_log(s->inst, PL_LOG_INFO,
           "%s was replaced by another file after it was read: left in "
           "place, to be read as a new file",
           e->path);
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
    file_save_remember(s, e);
  }
  /* Moved, deleted, changed or replaced: no restart will find this
   * version of the file at its path (a replacement may have its size and
   * mtime, so its entry must go). */
  if (result->status >= 0)
    file_save_forget_progress(s, e);
  source_file_entry_destroy(s, e);
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
    source_file_entry_destroy(s, e);
    return;
  }
  pl_instance_count(inst, "files_committed", 1);
  /* All of it is in. The entry stays, at the file's end, until the state
   * remembers the file or the file is gone (file_save.c): removed now, a
   * crash before the state's write would read the file again whole. */
  if (s->ledger && e->origin && e->version)
    pl_ledger_complete(s->ledger, e->origin, e->version, e->size);
  /* A file in the dead letter stays where it is, for a look at it. */
  if (s->opts->on_commit == FILE_ON_COMMIT_KEEP || e->rejected) {
    file_save_remember(s, e);
    source_file_entry_destroy(s, e);
    return;
  }
  file_done_action_t action = s->opts->on_commit == FILE_ON_COMMIT_MOVE
                                  ? FILE_DONE_MOVE
                                  : FILE_DONE_DELETE;
  file_done_version_t read = {
      .size = e->size, .mtime_ns = e->mtime_ns, .dev = e->dev, .ino = e->ino};
  int rc = file_done_start(s->loop, action, e->path, &read, s->cfg.done_dir,
                           on_done, e);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "cannot %s %s: %s",
           action == FILE_DONE_MOVE ? "move" : "delete", e->path,
           pl_strerror(rc));
    file_save_remember(s, e);
    source_file_entry_destroy(s, e);
  }
}

/* ---- Life cycle ---- */

static void source_file_destroy(void *ctx) {
  source_file_t *s = ctx;
  while (s->all)
    source_file_entry_destroy(s, s->all);
  file_save_free(s);
  file_reader_free(&s->reader);
  file_scan_free(&s->scan);
  file_config_free(&s->cfg);
  free(s->reported);
  file_state_destroy(s->committed);
  file_state_destroy(s->tracked);
  file_state_destroy(s->candidates);
  file_state_destroy(s->complaints);
  pl_ledger_destroy(s->ledger);
  free(s);
}

/* What identifies a file's content for a reread: its size and change time
 * ("-" when it does not exist or `path` is NULL). */
static void progress_stamp(const char *path, char out[64]) {
  struct stat st;
  if (!path || stat(path, &st) < 0)
    snprintf(out, 64, "-");
  else
    snprintf(out, 64, "%lld %lld.%09ld", (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

/* Reads what earlier runs committed (the state file) and how far they got
 * in each file (the ledger), in place of what was read before. */
static int load_progress(source_file_t *s) {
  file_state_destroy(s->committed);
  s->committed = NULL;
  pl_ledger_destroy(s->ledger);
  s->ledger = NULL;
  progress_stamp(s->cfg.state_file, s->progress_read[0]);
  progress_stamp(s->cfg.ledger_file, s->progress_read[1]);
  char *error = NULL;
  int rc = file_state_create(s->cfg.state_file, &s->committed, &error);
  if (rc < 0)
    pl_log(s->inst, PL_LOG_ERROR, "%s", error ? error : "out of memory");
  free(error);
  if (rc == 0 && file_state_owner(s->committed))
    pl_state_file_on_saved(file_state_owner(s->committed), file_save_on_saved,
                           s);
  if (rc == 0 && s->cfg.ledger_file) {
    error = NULL;
    rc = pl_ledger_create(s->cfg.ledger_file, &s->ledger, &error);
    if (rc < 0 || error)
      pl_log(s->inst, rc < 0 ? PL_LOG_ERROR : PL_LOG_WARN, "%s",
             error ? error : "out of memory");
    free(error);
  }
  return rc;
}

/* The progress files changed since they were read: a reload's new
 * pipeline is made (and inits) while the one it replaces still drains,
 * commits and saves; it starts from what that one left. */
static bool progress_changed(const source_file_t *s) {
  char now[2][64];
  progress_stamp(s->cfg.state_file, now[0]);
  progress_stamp(s->cfg.ledger_file, now[1]);
  return strcmp(now[0], s->progress_read[0]) != 0 ||
         strcmp(now[1], s->progress_read[1]) != 0;
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
  /* So that no sink of this daemon empties an input at its start. */
  for (size_t i = 0; rc == 0 && i < s->cfg.entry_count; i++)
    rc = pl_input_path_add(inst, s->cfg.entries[i]);
  /* Read here too, so that a broken file is an error of the config (and
   * of --check, which starts nothing). */
  if (rc == 0)
    rc = load_progress(s);
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
  if (progress_changed(s) && load_progress(s) < 0)
    return PL_EIO;
  /* Locked at the start, not at init, so that --check (which does not
   * start sources) can run beside the daemon that owns the state. */
  char *error = NULL;
  int rc = pl_state_file_lock(file_state_owner(s->committed), &error);
  /* The ledger is locked as well (as source-s3's is): the lock is what
   * sweeps the temporary files a kill in the middle of a save left beside
   * the file, which only its owner may remove. */
  if (rc == 0 && s->ledger)
    rc = pl_state_file_lock(pl_ledger_file(s->ledger), &error);
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
  return file_poll_start(s);
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
    source_file_entry_destroy(s, e);
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
  file_save_now(s);
  char *error = NULL;
  if (s->ledger && pl_ledger_flush(s->ledger, &error) < 0)
    pl_log(inst, PL_LOG_ERROR, "%s", error ? error : "out of memory");
  free(error);
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
