/* A stage's work failing, for /healthz: since when it has failed with no
 * success between, and the last reason. A sink keeps one for its writes
 * (each batch, src/batch.c), a source one for each kind of its reads
 * (pl_source_failing(), pl_source_reading()). */
#ifndef PL_CORE_FAILING_H
#define PL_CORE_FAILING_H

#include <stdbool.h>
#include <stdint.h>

#include <pipelined/common.h>

typedef struct pl_failing {
  bool failing;
  uint64_t since_ms; /* loop time of the first failure of the run */
  pl_buf_t last_error;
} pl_failing_t;

/* A failure at `now_ms`, for `why` (copied; NULL: "no reason given"). */
void pl__failing_note(pl_failing_t *f, uint64_t now_ms, const char *why);
/* A success: the run of failures ends. */
void pl__failing_clear(pl_failing_t *f);
/* True when it has failed with no success between for at least `after_ms`
 * at `now_ms`; then *for_ms says for how long. */
bool pl__failing_longer_than(const pl_failing_t *f, uint64_t now_ms,
                             uint64_t after_ms, uint64_t *for_ms);
void pl__failing_free(pl_failing_t *f);

/* Several kinds of work of one stage, each failing on its own (a source's
 * receives, its listings, its downloads): a success of one kind does not
 * end another's failures. */
typedef struct pl_failing_kind {
  char *what; /* owned */
  pl_failing_t failing;
} pl_failing_kind_t;

typedef struct pl_failing_set {
  pl_failing_kind_t *kinds; /* owned */
  size_t count;
} pl_failing_set_t;

/* A failure of kind `what` at `now_ms`, for `why` (both copied). Out of
 * memory for a new kind, nothing is noted. */
void pl__failing_set_note(pl_failing_set_t *set, const char *what,
                          uint64_t now_ms, const char *why);
/* A success of kind `what`: its run of failures ends. */
void pl__failing_set_clear(pl_failing_set_t *set, const char *what);
/* The first kind that has failed for at least `after_ms` at `now_ms`
 * (*for_ms: for how long), or NULL. */
const pl_failing_t *pl__failing_set_longer_than(const pl_failing_set_t *set,
                                                uint64_t now_ms,
                                                uint64_t after_ms,
                                                uint64_t *for_ms);
/* Kind `what`, or NULL when it never failed. */
const pl_failing_t *pl__failing_set_get(const pl_failing_set_t *set,
                                        const char *what);
void pl__failing_set_free(pl_failing_set_t *set);

#endif
