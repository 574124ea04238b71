/* The memory budget (top-level memory_limit): one count of the bytes the
 * records of every pipeline of an engine hold, in queues, in batches and
 * in the requests in flight, and the rule that pauses sources at the limit
 * and lets them resume below a low-water mark.
 *
 * A record is charged when it enters a stage's queue (pl_emit, a letter to
 * the dead letter) and charged again, by the difference, when it enters
 * the next one with another size; it is released when it is freed
 * (delivered, dead-lettered, failed or dropped). A source observes the
 * budget through the backpressure it already obeys: pl_emit() returns false
 * once the bytes held reach the limit, and the pump resumes it as it
 * resumes a source paused by a full queue, once they are at the low-water
 * mark or below. A transform waits only while something after it is
 * queued or in flight (pipeline.c); batches, retries and letters never
 * wait, so what is held can always be delivered and released (no
 * deadlock). A record is never refused for the
 * budget, even one larger than the whole limit: it is taken while the
 * bytes held are below the limit, and its source then waits until it has
 * gone, so the bytes held exceed the limit by at most what each source
 * emitted after its last pl_emit() that returned true (one record for a
 * source that stops at once).
 *
 * Bookkeeping on plain integers (and a look at a record's value for its
 * cost): no allocation, no loop, no logging
 * (tests/unit/check_memory_budget.c). */
#ifndef PL_CORE_MEMORY_BUDGET_H
#define PL_CORE_MEMORY_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sources paused for the budget resume once the bytes held are at or
 * below this share of the limit (percent). */
#define PL_MEMORY_LOW_WATER_PERCENT 90

typedef struct pl_memory_budget {
  uint64_t limit;  /* bytes; 0: no limit (the bytes are counted all the same) */
  uint64_t held;   /* bytes charged now */
  uint64_t peak;   /* the most ever held at once */
  uint64_t pauses; /* times a source paused because the limit was reached */
  /* A source paused for the budget and the bytes held have not been down
   * to the low-water mark since. */
  bool waiting;
} pl_memory_budget_t;

/* A budget of `limit` bytes (0: none) holding nothing. */
void pl__memory_budget_init(pl_memory_budget_t *budget, uint64_t limit);

/* What a member of an object or an element of an array costs in memory
 * besides its encoded bytes (jansson's pair, value and allocations): a
 * 6-field CSV row parsed into an object takes about 1 KiB against its
 * 55-byte line. */
#define PL_MEMORY_VALUE_ENTRY 128
/* What a record's metadata costs besides its attributes: the structure
 * and up to four strings (origin, etag, origin time, message id) with
 * jansson's values; shared by the records of one chunk. */
#define PL_MEMORY_META 384

struct pl_record;
/* The bytes `record` is charged: its size (pl_record_size), what its
 * source keeps for it (pl_record_set_source_cost), the engine's
 * record structure, so that records of size 0 still count, and
 * PL_MEMORY_VALUE_ENTRY per member of its value when that is an object or
 * an array (nested values are not walked: the cost stays O(1)), and its
 * share of its metadata (PL_MEMORY_META plus PL_MEMORY_VALUE_ENTRY per
 * attribute, divided among the records that share it). */
uint64_t pl__memory_budget_cost(const struct pl_record *record);

/* Moves what a record is charged from `*charged` to `cost` (0: releases
 * it) and stores `cost` in `*charged`. Returns true when this takes the
 * bytes held to the low-water mark or below while a source waits for the
 * budget: the caller then wakes the paused sources (the wait is over). */
bool pl__memory_budget_charge(pl_memory_budget_t *budget, uint64_t *charged,
                              uint64_t cost);

/* True when a source may go on emitting: no limit, or the bytes held are
 * below it. */
bool pl__memory_budget_has_room(const pl_memory_budget_t *budget);

/* A source found no room (pl__memory_budget_has_room() was false): the
 * budget is waited for until the low-water mark. `newly_paused`: the
 * source was running until now, which counts one pause. */
void pl__memory_budget_note_pause(pl_memory_budget_t *budget,
                                  bool newly_paused);

/* True when a paused source may resume as far as the budget is
 * concerned: no source waits for it, or the bytes held are at or below
 * the low-water mark. */
bool pl__memory_budget_may_resume(const pl_memory_budget_t *budget);

/* The low-water mark in bytes (0 without a limit). */
uint64_t pl__memory_budget_low_water(const pl_memory_budget_t *budget);

#endif
