/* source-file's state file: what is committed is remembered, and written
 * once per loop iteration on the thread pool, with retries when a write
 * fails. */
#include <pipelined/pipelined.h>

#include "file_save.h"

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

/* After each write of the state file, on the loop. */
void file_save_on_saved(void *arg, int status, const char *error) {
  source_file_t *s = arg;
  if (status < 0)
    save_failed(s, error);
  else
    s->save_lost = false;
  update_busy(s);
}

/* Starts a write of the state on the thread pool (never on the loop: two
 * fsyncs and a rename); a write in flight is followed by the latest one. */
void file_save_now(source_file_t *s) {
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
}
