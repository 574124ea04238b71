/* A stage's work failing, for /healthz: since when it has failed with no
 * success between, and the last reason. A sink keeps one for its writes
 * (each batch, src/batch.c), a source for its reads (pl_source_failing(),
 * pl_source_reading()). */
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

#endif
