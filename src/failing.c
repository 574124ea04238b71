/* A stage's work failing, for /healthz (see failing.h). */
#include "failing.h"

void pl__failing_note(pl_failing_t *f, uint64_t now_ms, const char *why) {
  if (!f->failing) {
    f->failing = true;
    f->since_ms = now_ms;
  }
  pl_buf_reset(&f->last_error);
  pl_buf_append_str(&f->last_error, why ? why : "no reason given");
}

void pl__failing_clear(pl_failing_t *f) { f->failing = false; }

bool pl__failing_longer_than(const pl_failing_t *f, uint64_t now_ms,
                             uint64_t after_ms, uint64_t *for_ms) {
  if (!f->failing)
    return false;
  *for_ms = now_ms - f->since_ms;
  return *for_ms >= after_ms;
}

void pl__failing_free(pl_failing_t *f) { pl_buf_free(&f->last_error); }
