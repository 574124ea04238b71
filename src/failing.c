/* A stage's work failing, for /healthz (see failing.h). */
#include <stdlib.h>
#include <string.h>

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

static pl_failing_kind_t *find_kind(const pl_failing_set_t *set,
                                    const char *what) {
  for (size_t i = 0; i < set->count; i++)
    if (strcmp(set->kinds[i].what, what) == 0)
      return &set->kinds[i];
  return NULL;
}

void pl__failing_set_note(pl_failing_set_t *set, const char *what,
                          uint64_t now_ms, const char *why) {
  pl_failing_kind_t *kind = find_kind(set, what);
  if (!kind) {
    pl_failing_kind_t *grown =
        realloc(set->kinds, (set->count + 1) * sizeof(*grown));
    if (!grown)
      return;
    set->kinds = grown;
    char *copy = strdup(what);
    if (!copy)
      return;
    kind = &grown[set->count++];
    *kind = (pl_failing_kind_t){.what = copy};
  }
  pl__failing_note(&kind->failing, now_ms, why);
}

void pl__failing_set_clear(pl_failing_set_t *set, const char *what) {
  pl_failing_kind_t *kind = find_kind(set, what);
  if (kind)
    pl__failing_clear(&kind->failing);
}

const pl_failing_t *pl__failing_set_longer_than(const pl_failing_set_t *set,
                                                uint64_t now_ms,
                                                uint64_t after_ms,
                                                uint64_t *for_ms) {
  for (size_t i = 0; i < set->count; i++)
    if (pl__failing_longer_than(&set->kinds[i].failing, now_ms, after_ms,
                                for_ms))
      return &set->kinds[i].failing;
  return NULL;
}

const pl_failing_t *pl__failing_set_get(const pl_failing_set_t *set,
                                        const char *what) {
  const pl_failing_kind_t *kind = find_kind(set, what);
  return kind ? &kind->failing : NULL;
}

void pl__failing_set_free(pl_failing_set_t *set) {
  for (size_t i = 0; i < set->count; i++) {
    free(set->kinds[i].what);
    pl__failing_free(&set->kinds[i].failing);
  }
  free(set->kinds);
  *set = (pl_failing_set_t){0};
}
