/* Backoff delays. */
#include "sqs_backoff.h"

uint64_t sqs_rng_seed(uint64_t seed) {
  return seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t sqs_rng_next(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

uint64_t sqs_backoff_ms(uint64_t *rng, unsigned round, uint64_t base_ms,
                        uint64_t cap_ms) {
  uint64_t ceiling = base_ms;
  for (unsigned i = 1; i < round && ceiling < cap_ms; i++)
    ceiling *= 2;
  if (ceiling > cap_ms)
    ceiling = cap_ms;
  return sqs_rng_next(rng) % (ceiling + 1);
}
