/* source-file's state file: what is committed is remembered, and written
 * once per loop iteration on the thread pool, with retries when a write
 * fails. */
#include <pipelined/pipelined.h>

#include <stdlib.h>
#include <string.h>

#include "file_save.h"

/* A committed file whose ledger entry waits for a write of the state that
 * holds the file. */
typedef struct file_unsaved {
  struct file_unsaved *next;
  char *origin;
  char *version;
  uint64_t save; /* the number of the first write that holds it */
} file_unsaved_t;

/* A daemon whose state could not be saved tries again after this. */
#define SAVE_RETRY_MS 5000

/* The source is busy while its state is not on disk, so that a --once run
 * or a shutdown waits for the write (which runs on the thread pool). */
static void update_busy(source_file_t *s) {
  pl_state_file_t *file = file_state_owner(s->committed);
  if (!s->closed)
    pl_source_busy(s->inst, s->dirty || (file && pl_state_file_saving(file)));
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

static void forget(source_file_t *s, const char *origin, const char *version) {
  uint64_t offset, line;
  if (s->ledger && origin &&
      pl_ledger_find(s->ledger, origin, version, &offset, &line))
    pl_ledger_remove(s->ledger, origin);
}

void file_save_forget_progress(source_file_t *s, const file_entry_t *e) {
  forget(s, e->origin, e->version);
}

static void unsaved_free(file_unsaved_t *u) {
  free(u->origin);
  free(u->version);
  free(u);
}

/* Write number `written` succeeded: the files it holds need their ledger
 * entries no more. */
static void release(source_file_t *s, uint64_t written) {
  file_unsaved_t **link = &s->unsaved;
  while (*link) {
    file_unsaved_t *u = *link;
    if (u->save > written) {
      link = &u->next;
      continue;
    }
    forget(s, u->origin, u->version);
    *link = u->next;
    unsaved_free(u);
  }
}

void file_save_free(source_file_t *s) {
  /* No write holds these files: their entries stay in the ledger. */
  file_unsaved_t *u;
  while ((u = s->unsaved)) {
    s->unsaved = u->next;
    unsaved_free(u);
  }
}

/* After each write of the state file, on the loop. A write asked for
 * while another was in flight starts before this runs. */
void file_save_on_saved(void *arg, int status, const char *error) {
  source_file_t *s = arg;
  uint64_t written = s->save_writing;
  s->save_writing = s->save_waiting;
  s->save_waiting = 0;
  if (status < 0) {
    save_failed(s, error);
  } else {
    s->save_lost = false;
    release(s, written);
  }
  update_busy(s);
}

/* Starts a write of the state on the thread pool (never on the loop: two
 * fsyncs and a rename); a write in flight is followed by the latest one. */
void file_save_now(source_file_t *s) {
  if (!s->dirty)
    return;
  pl_state_file_t *file = file_state_owner(s->committed);
  bool queued = file && pl_state_file_saving(file);
  if (file_state_save_async(s->committed, s->loop) < 0) {
    save_failed(s, "out of memory");
  } else if (file) {
    /* A write asked for meanwhile replaces one that waits (the latest
     * state holds all the earlier one did). */
    s->saves_asked++;
    if (queued)
      s->save_waiting = s->saves_asked;
    else
      s->save_writing = s->saves_asked;
  }
  s->dirty = false;
  update_busy(s);
}

static void on_save_timer(uv_timer_t *timer) {
  source_file_t *s = timer->data;
  if (s->save_lost)
    s->dirty = true;
  file_save_now(s);
}

/* Commits come in bursts (one sink batch may resolve many groups): the
 * state file is written once per loop iteration, not once per file. */
void file_save_changed(source_file_t *s) {
  if (!file_state_file(s->committed))
    return;
  s->dirty = true;
  update_busy(s);
  if (s->closed || !s->timers_open)
    file_save_now(s);
  else if (!uv_is_active((uv_handle_t *)&s->save_timer))
    uv_timer_start(&s->save_timer, on_save_timer, 0, 0);
}

void file_save_remember(source_file_t *s, const file_entry_t *e) {
  if (file_state_put(s->committed, e->path, e->size, e->mtime_ns) < 0) {
    pl_log(s->inst, PL_LOG_ERROR, "out of memory: %s is not remembered",
           e->path);
    return;
  }
  file_save_changed(s);
  if (!s->ledger || !e->origin || !file_state_file(s->committed))
    return;
  /* The next write asked for renders the set as it is now, `e` in it. */
  file_unsaved_t *u = calloc(1, sizeof(*u));
  if (!u || !(u->origin = strdup(e->origin)) ||
      (e->version && !(u->version = strdup(e->version)))) {
    /* The entry stays: a hint at the file's end, stale once it changes. */
    if (u)
      free(u->origin);
    free(u);
    return;
  }
  u->save = s->saves_asked + 1;
  u->next = s->unsaved;
  s->unsaved = u;
}
