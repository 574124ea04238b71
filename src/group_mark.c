/* The FIFO of marks of a group's byte stream (see group_mark.h). */
#include <stdlib.h>

#include "group_mark.h"

struct pl__mark {
  pl__mark_t *next;
  pl__marks_t *marks;
  uint64_t end;     /* offset just past the marked chunk */
  uint64_t held;    /* of those bytes, held unfinished by a transform */
  uint64_t line;    /* where the held row (or the next one) starts */
  size_t pending;   /* records of the mark not yet resolved */
  bool failed;      /* one of them failed: the prefix stops before it */
};

pl__mark_t *pl__marks_add(pl__marks_t *marks, uint64_t end) {
  pl__mark_t *mark = calloc(1, sizeof(*mark));
  if (!mark)
    return NULL;
  *mark = (pl__mark_t){.marks = marks, .end = end, .pending = 1};
  if (marks->tail)
    marks->tail->next = mark;
  else
    marks->head = mark;
  marks->tail = mark;
  return mark;
}

void pl__mark_hold(pl__mark_t *mark) { mark->pending++; }

void pl__mark_set_held(pl__mark_t *mark, uint64_t held, uint64_t line) {
  mark->held = held < mark->end ? held : mark->end;
  mark->line = line;
}

void pl__mark_release(pl__mark_t *mark, bool ok) {
  if (!ok)
    mark->failed = true;
  mark->pending--;
  pl__marks_t *marks = mark->marks;
  if (mark != marks->head || mark->pending > 0)
    return;
  uint64_t offset = 0, line = 0;
  bool moved = false;
  pl__mark_t *m;
  while ((m = marks->head) && m->pending == 0 && !m->failed) {
    offset = m->end - m->held;
    line = m->line;
    moved = true;
    marks->head = m->next;
    if (!marks->head)
      marks->tail = NULL;
    free(m);
  }
  if (moved && marks->cb)
    marks->cb(marks->data, marks->group, offset, line);
}

void pl__marks_free(pl__marks_t *marks) {
  pl__mark_t *m;
  while ((m = marks->head)) {
    marks->head = m->next;
    free(m);
  }
  marks->tail = NULL;
}
