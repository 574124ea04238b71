/* Check suite for src/backoff.c: the generator and full-jitter backoff
 * that sink retries, AWS retries, credential refreshes and SQS pollers
 * share. */
#include <check.h>
#include <pipelined/backoff.h>
#include <stdlib.h>

#include "test_suite.h"

START_TEST(the_generator_is_splitmix64) {
  /* SplitMix64's published first outputs for seed 0. */
  pl_rng_t rng = {0};
  ck_assert_uint_eq(pl_rng_next(&rng), UINT64_C(0xE220A8397B1DCDAF));
  ck_assert_uint_eq(pl_rng_next(&rng), UINT64_C(0x6E789E6AA1B965F4));
  pl_rng_t a = {7}, b = {7};
  for (int i = 0; i < 10; i++)
    ck_assert_uint_eq(pl_rng_next(&a), pl_rng_next(&b));
  pl_rng_t c, d;
  pl_rng_seed(&c, 1);
  pl_rng_seed(&d, 2);
  ck_assert_uint_ne(c.state, d.state); /* the salt tells owners apart */
}
END_TEST

START_TEST(upto_stays_within_its_bound) {
  pl_rng_t rng = {12345};
  uint64_t most = 0;
  for (int i = 0; i < 5000; i++) {
    uint64_t v = pl_rng_upto(&rng, 9);
    ck_assert_uint_le(v, 9);
    most = v > most ? v : most;
  }
  ck_assert_uint_eq(most, 9);
  ck_assert_uint_eq(pl_rng_upto(&rng, 0), 0);
  (void)pl_rng_upto(&rng, UINT64_MAX); /* no overflow */
}
END_TEST

START_TEST(the_ceiling_doubles_up_to_its_cap_without_overflow) {
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 1), 100);
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 2), 200);
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 4), 800);
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 5), 1000);
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 200), 1000);
  ck_assert_uint_eq(pl_backoff_ceiling(UINT64_MAX / 2, UINT64_MAX, 3),
                    UINT64_MAX);
  ck_assert_uint_eq(pl_backoff_ceiling(0, 1000, 3), 0);
  ck_assert_uint_eq(pl_backoff_ceiling(100, 1000, 0), 100);
}
END_TEST

START_TEST(full_jitter_spreads_over_the_whole_range) {
  pl_rng_t rng = {12345};
  uint64_t most[8] = {0};
  for (int i = 0; i < 2000; i++)
    for (unsigned round = 1; round <= 8; round++) {
      uint64_t d = pl_backoff_full_jitter(&rng, 100, 1000, round);
      uint64_t ceiling = round >= 5 ? 1000 : 100u << (round - 1);
      ck_assert_uint_le(d, ceiling);
      if (d > most[round - 1])
        most[round - 1] = d;
    }
  ck_assert_uint_gt(most[0], 80);
  ck_assert_uint_gt(most[7], 900);
}
END_TEST

int main(void) {
  Suite *s = suite_create("backoff");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, the_generator_is_splitmix64);
  tcase_add_test(tc, upto_stays_within_its_bound);
  tcase_add_test(tc, the_ceiling_doubles_up_to_its_cap_without_overflow);
  tcase_add_test(tc, full_jitter_spreads_over_the_whole_range);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
