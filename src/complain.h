/* The decisions of the per-call-site limiter of repeating failures
 * (pl_complain, HACKING.md#s9), on a clock the caller passes in, so that
 * tests can drive the timing. */
#ifndef PL_CORE_COMPLAIN_H
#define PL_CORE_COMPLAIN_H

#include <pipelined/log.h>
#include <stdbool.h>
#include <stdint.h>

/* The wait after the first line, doubled after each line up to the cap. */
#define PL_COMPLAIN_FIRST_MS ((uint64_t)1000)
#define PL_COMPLAIN_MAX_MS ((uint64_t)86400 * 1000)

/* Counts one failure at `now_ms`. True when it is to be logged: the first
 * of a run at once, then once the wait is over. `*suppressed` is then the
 * number of failures not logged since the previous line. */
bool pl__complain_admit(pl_complain_t *c, uint64_t now_ms,
                        uint64_t *suppressed);
/* The failure is over. True when it had been logged, so that its recovery
 * is worth a line; `*failures` is how many there were. Resets `c`. */
bool pl__complain_release(pl_complain_t *c, uint64_t *failures);

#endif
