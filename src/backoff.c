/* Randomness for jitter and exponential backoff (see <pipelined/backoff.h>). */
#include <pipelined/backoff.h>

#include <unistd.h>
#include <uv.h>

void pl_rng_seed(pl_rng_t *rng, uint64_t salt) {
  rng->state = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ salt;
}

uint64_t pl_rng_next(pl_rng_t *rng) {
  uint64_t z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

uint64_t pl_rng_upto(pl_rng_t *rng, uint64_t bound) {
  uint64_t r = pl_rng_next(rng);
  /* The modulo's bias is below 2^-32 for the delays this serves. */
  return bound == UINT64_MAX ? r : r % (bound + 1);
}

uint64_t pl_backoff_ceiling(uint64_t base, uint64_t cap, unsigned attempt) {
  unsigned shift = attempt > 0 ? attempt - 1 : 0;
  if (base == 0)
    return 0;
  if (shift < 64 && base <= cap >> shift)
    return base << shift;
  return cap;
}

uint64_t pl_backoff_full_jitter(pl_rng_t *rng, uint64_t base, uint64_t cap,
                                unsigned attempt) {
  return pl_rng_upto(rng, pl_backoff_ceiling(base, cap, attempt));
}
