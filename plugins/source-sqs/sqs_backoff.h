/* Exponential backoff with full jitter (HACKING.md#s8), for failed receives
 * and for delete / visibility batches sent again. */
#ifndef PL_SOURCE_SQS_BACKOFF_H
#define PL_SOURCE_SQS_BACKOFF_H

#include <stdint.h>

/* Seeds a xorshift generator (never zero). */
uint64_t sqs_rng_seed(uint64_t seed);
uint64_t sqs_rng_next(uint64_t *state);

/* The delay before try number `round` + 1 after `round` (>= 1) failures in
 * a row: uniform in [0, min(cap, base * 2^(round - 1))]. */
uint64_t sqs_backoff_ms(uint64_t *rng, unsigned round, uint64_t base_ms,
                        uint64_t cap_ms);

#endif
