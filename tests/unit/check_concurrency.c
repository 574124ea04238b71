/* Check suite for the adaptive concurrency of AWS clients
 * (src/aws/concurrency.c): the AIMD state machine with scripted round
 * trips, then a client on the scripted loopback server whose concurrent
 * requests drop under throttling answers and grow again after them. */
#include <check.h>

#include "concurrency.h"

#define MS ((uint64_t)1000000)

/* A window of `n` requests sent at the limit, each answered after
 * `rtt`. */
static void answer(pl_aws_concurrency_t *c, size_t n, uint64_t rtt) {
  for (size_t i = 0; i < n; i++) {
    uint64_t epoch =
        pl__aws_concurrency_sent(c, pl__aws_concurrency_limit(c));
    pl__aws_concurrency_ended(c, epoch, rtt, PL_AWS_SIGNAL_ANSWER);
  }
}

/* One window: as many answers as the limit. */
static void window(pl_aws_concurrency_t *c, uint64_t rtt) {
  answer(c, pl__aws_concurrency_limit(c), rtt);
}

/* A throttling answer to a request sent now. */
static bool throttle(pl_aws_concurrency_t *c) {
  uint64_t epoch = pl__aws_concurrency_sent(c, 1);
  return pl__aws_concurrency_ended(c, epoch, 10 * MS, PL_AWS_SIGNAL_OVERLOAD);
}

START_TEST(adaptive_starts_small_under_the_ceiling) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), PL_AWS_CONCURRENCY_START);
  pl__aws_concurrency_init(&c, true, 2);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 2);
  pl__aws_concurrency_init(&c, true, 0);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 1);
}
END_TEST

START_TEST(fixed_stays_at_the_ceiling) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, false, 64);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 64);
  ck_assert(!throttle(&c));
  answer(&c, 200, 10 * MS);
  answer(&c, 200, 500 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 64);
}
END_TEST

START_TEST(slow_start_doubles_while_latency_holds) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  /* Three answers of four: the window is not over. */
  answer(&c, 3, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 4);
  answer(&c, 1, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  window(&c, 21 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  window(&c, 25 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 32);
}
END_TEST

START_TEST(the_ceiling_is_never_passed) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 10);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 10);
  for (int i = 0; i < 20; i++)
    window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 10);
}
END_TEST

START_TEST(an_unused_limit_does_not_grow) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  /* One request at a time: nothing says that five would do as well. */
  for (int i = 0; i < 40; i++) {
    uint64_t epoch = pl__aws_concurrency_sent(&c, 1);
    ck_assert(!pl__aws_concurrency_ended(&c, epoch, 20 * MS,
                                         PL_AWS_SIGNAL_ANSWER));
  }
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 4);
}
END_TEST

START_TEST(throttling_halves_down_to_one) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  ck_assert(throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  ck_assert(throttle(&c));
  ck_assert(throttle(&c));
  ck_assert(throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 1);
  /* The floor: one request at a time still goes out. */
  ck_assert(!throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 1);
}
END_TEST

START_TEST(one_decrease_per_round_trip) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  /* Sixteen requests out at once, all throttled: one halving. */
  uint64_t epochs[16];
  for (size_t i = 0; i < 16; i++)
    epochs[i] = pl__aws_concurrency_sent(&c, i + 1);
  ck_assert(pl__aws_concurrency_ended(&c, epochs[0], 20 * MS,
                                      PL_AWS_SIGNAL_OVERLOAD));
  for (size_t i = 1; i < 16; i++)
    ck_assert(!pl__aws_concurrency_ended(&c, epochs[i], 20 * MS,
                                         PL_AWS_SIGNAL_OVERLOAD));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* Their late answers do not count in the window after the decrease
   * either: eight fresh answers are needed to grow. */
  for (size_t i = 0; i < 16; i++)
    pl__aws_concurrency_ended(&c, epochs[0], 20 * MS, PL_AWS_SIGNAL_ANSWER);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* A request sent after the decrease may decrease again. */
  ck_assert(throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 4);
}
END_TEST

START_TEST(latency_growth_halves_the_limit) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  /* Within twice the baseline: it holds, and the limit grows. */
  window(&c, 38 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 32);
  /* Every request of the window over twice the baseline: queueing. */
  window(&c, 90 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  /* Growth is additive after a decrease. */
  window(&c, 25 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 17);
}
END_TEST

START_TEST(a_slow_tail_is_not_latency_growth) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* Half the window on new connections (a handshake more), the fastest
   * as before: the limit grows. */
  answer(&c, 4, 80 * MS);
  answer(&c, 4, 21 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
}
END_TEST

START_TEST(sub_millisecond_noise_is_not_latency_growth) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, MS / 10);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* Ten times the baseline, but only a millisecond more. */
  window(&c, MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
}
END_TEST

START_TEST(a_lasting_longer_path_becomes_the_baseline) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 10 * MS);
  window(&c, 10 * MS);
  ck_assert(throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* The service is now three times farther away, whatever the load: after
   * the halvings that cannot help, the limit grows again. */
  for (int i = 0; i < 12; i++)
    window(&c, 30 * MS);
  size_t low = pl__aws_concurrency_limit(&c);
  for (int i = 0; i < 12; i++)
    window(&c, 30 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), low + 12);
}
END_TEST

START_TEST(recovers_after_throttling_ends) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 16);
  window(&c, 20 * MS);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  while (pl__aws_concurrency_limit(&c) > 1)
    throttle(&c);
  /* One more request per window of answers, back to the ceiling. */
  for (size_t want = 2; want <= 16; want++) {
    window(&c, 20 * MS);
    ck_assert_uint_eq(pl__aws_concurrency_limit(&c), want);
  }
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
}
END_TEST

START_TEST(signals_of_nothing_are_ignored) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  for (int i = 0; i < 40; i++) {
    uint64_t epoch = pl__aws_concurrency_sent(&c, 4);
    ck_assert(!pl__aws_concurrency_ended(&c, epoch, 20000 * MS,
                                         PL_AWS_SIGNAL_NONE));
  }
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 4);
}
END_TEST

Suite *concurrency_suite(void);

Suite *concurrency_suite(void) {
  Suite *s = suite_create("concurrency");
  TCase *aimd = tcase_create("aimd");
  tcase_add_test(aimd, adaptive_starts_small_under_the_ceiling);
  tcase_add_test(aimd, fixed_stays_at_the_ceiling);
  tcase_add_test(aimd, slow_start_doubles_while_latency_holds);
  tcase_add_test(aimd, the_ceiling_is_never_passed);
  tcase_add_test(aimd, an_unused_limit_does_not_grow);
  tcase_add_test(aimd, throttling_halves_down_to_one);
  tcase_add_test(aimd, one_decrease_per_round_trip);
  tcase_add_test(aimd, latency_growth_halves_the_limit);
  tcase_add_test(aimd, a_slow_tail_is_not_latency_growth);
  tcase_add_test(aimd, sub_millisecond_noise_is_not_latency_growth);
  tcase_add_test(aimd, a_lasting_longer_path_becomes_the_baseline);
  tcase_add_test(aimd, recovers_after_throttling_ends);
  tcase_add_test(aimd, signals_of_nothing_are_ignored);
  suite_add_tcase(s, aimd);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(concurrency_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
