/* Randomness for jitter, and exponential backoff with full jitter
 * (HACKING.md#s8): one implementation for the core (sink retries), the AWS
 * layer (request retries, credential refreshes) and plugins (an SQS
 * poller's receives and deletes).
 *
 * The generator is SplitMix64: jitter needs spread, not secrecy. Its state
 * belongs to the caller (no globals, HACKING.md#s2), so a test seeds it and
 * gets the same numbers every time. */
#ifndef PIPELINED_BACKOFF_H
#define PIPELINED_BACKOFF_H

#include <pipelined/common.h>

typedef struct pl_rng {
  uint64_t state;
} pl_rng_t;

/* Seeds `rng` from the clock and the process, mixed with `salt` (the
 * owner's address, say) so that owners seeded at once still differ. */
PL_EXTERN void pl_rng_seed(pl_rng_t *rng, uint64_t salt);
/* The next 64 random bits. */
PL_EXTERN uint64_t pl_rng_next(pl_rng_t *rng);
/* A number in [0, bound], bound included, every one about as likely. */
PL_EXTERN uint64_t pl_rng_upto(pl_rng_t *rng, uint64_t bound);

/* The exponential ceiling of try `attempt` (1 for the first retry):
 * min(cap, base * 2^(attempt - 1)), without overflow. */
PL_EXTERN uint64_t pl_backoff_ceiling(uint64_t base, uint64_t cap,
                                      unsigned attempt);
/* Full jitter: a delay in [0, pl_backoff_ceiling(base, cap, attempt)]. */
PL_EXTERN uint64_t pl_backoff_full_jitter(pl_rng_t *rng, uint64_t base,
                                          uint64_t cap, unsigned attempt);

#endif
