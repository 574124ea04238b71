/* The fake AWS's held answers, a heap by due time (see fake_aws_held.h). */
#include "fake_aws_held.h"

#include <stdlib.h>

static void place(fake_held_t *held, size_t i, fake_held_entry_t *e) {
  held->items[i] = e;
  e->at = i;
}

/* Moves the entry at i up or down to its place. */
static void fix(fake_held_t *held, size_t i) {
  fake_held_entry_t *e = held->items[i];
  while (i > 0 && e->due_ns < held->items[(i - 1) / 2]->due_ns) {
    place(held, i, held->items[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= held->count)
      break;
    if (child + 1 < held->count &&
        held->items[child + 1]->due_ns < held->items[child]->due_ns)
      child++;
    if (held->items[child]->due_ns >= e->due_ns)
      break;
    place(held, i, held->items[child]);
    i = child;
  }
  place(held, i, e);
}

bool fake_held_push(fake_held_t *held, fake_held_entry_t *e) {
  if (held->count == held->cap) {
    size_t cap = held->cap ? held->cap * 2 : 64;
    fake_held_entry_t **items = realloc(held->items, cap * sizeof(*items));
    if (!items)
      return false;
    held->items = items;
    held->cap = cap;
  }
  place(held, held->count++, e);
  fix(held, held->count - 1);
  return true;
}

void fake_held_remove(fake_held_t *held, fake_held_entry_t *e) {
  size_t i = e->at;
  if (i == FAKE_HELD_NONE)
    return;
  e->at = FAKE_HELD_NONE;
  fake_held_entry_t *last = held->items[--held->count];
  if (i < held->count) {
    place(held, i, last);
    fix(held, i);
  }
}

fake_held_entry_t *fake_held_first(const fake_held_t *held) {
  return held->count ? held->items[0] : NULL;
}

void fake_held_free(fake_held_t *held) {
  free(held->items);
  *held = (fake_held_t){0};
}
