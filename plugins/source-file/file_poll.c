/* source-file's scans: one on the thread pool at start and, with watch,
 * one every poll_interval; what they find is reported per entry of paths,
 * and new files are queued. */
#include <pipelined/pipelined.h>

#include "file_poll.h"
#include "file_save.h"

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
  file_entry_t *e = source_file_entry_create(s, f);
  if (!e) {
    pl_log(s->inst, PL_LOG_ERROR, "out of memory: %s is not read now", f->path);
    return;
  }
  source_file_enqueue(s, e);
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
      file_save_changed(s);
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
  source_file_advance(s);
}

int file_poll_start(source_file_t *s) {
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
  if (file_poll_start(s) < 0)
    uv_timer_start(&s->poll_timer, on_poll, s->opts->poll_interval_ms, 0);
}
