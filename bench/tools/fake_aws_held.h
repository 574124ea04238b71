/* The answers the fake AWS (bench/tools/fake_aws.c) holds until they are
 * due: a binary min-heap by due time, so that one timer, set to the first,
 * serves them all. An entry is embedded in what holds the answer (a
 * connection), which owns it; the heap only points to it. Pure: no I/O. */
#ifndef FAKE_AWS_HELD_H
#define FAKE_AWS_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `at` of an entry that is not held. */
#define FAKE_HELD_NONE SIZE_MAX

typedef struct fake_held_entry {
  uint64_t due_ns; /* set before fake_held_push */
  size_t at;       /* its place in the heap; FAKE_HELD_NONE: not held */
} fake_held_entry_t;

/* Zero-initialised is empty. */
typedef struct fake_held {
  fake_held_entry_t **items;
  size_t count, cap;
} fake_held_t;

/* Holds `e` (not held yet); false when out of memory. */
bool fake_held_push(fake_held_t *held, fake_held_entry_t *e);
/* Lets `e` go; nothing when it is not held. */
void fake_held_remove(fake_held_t *held, fake_held_entry_t *e);
/* The entry due first (of equal times, any), or NULL when none is held. */
fake_held_entry_t *fake_held_first(const fake_held_t *held);
void fake_held_free(fake_held_t *held);

#endif
