/* Check suite for the adaptive concurrency of AWS clients
 * (src/aws/concurrency.c): the AIMD state machine with scripted round
 * trips, then a client on the scripted loopback server whose concurrent
 * requests drop under throttling answers and grow again after them. */
#include <check.h>
#include <stdlib.h>

#include <pipelined/aws.h>

#include "concurrency.h"
#include "fake_http.h"
#include "stage.h"
#include "test_aws.h"
#include "test_aws_idle.h"
#include "test_suite.h"

#define MS ((uint64_t)1000000)

/* `n` requests sent with `in_flight` holding a slot, each ending after
 * `rtt` with `signal`; true when one changed the limit. */
static bool end_n(pl_aws_concurrency_t *c, size_t n, size_t in_flight,
                  uint64_t rtt, pl_aws_signal_t signal) {
  bool changed = false;
  for (size_t i = 0; i < n; i++) {
    uint64_t epoch = pl__aws_concurrency_sent(c, in_flight);
    changed |= pl__aws_concurrency_ended(c, epoch, rtt, signal);
  }
  return changed;
}

/* A window of `n` requests sent at the limit, each answered after
 * `rtt`. */
static void answer(pl_aws_concurrency_t *c, size_t n, uint64_t rtt) {
  for (size_t i = 0; i < n; i++)
    end_n(c, 1, pl__aws_concurrency_limit(c), rtt, PL_AWS_SIGNAL_ANSWER);
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
  ck_assert(!end_n(&c, 40, 1, 20 * MS, PL_AWS_SIGNAL_ANSWER));
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
  /* Every request of two windows in a row over twice the baseline:
   * queueing. The first holds the limit. */
  window(&c, 90 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 32);
  window(&c, 90 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  /* Growth is additive after a decrease. */
  window(&c, 25 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 17);
}
END_TEST

START_TEST(one_slow_window_holds_the_limit) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  window(&c, 20 * MS);
  ck_assert(throttle(&c));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 9);
  /* The client's own pause: every answer of one round trip late. The
   * limit neither halves nor grows. */
  window(&c, 60 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 9);
  /* Answers as fast again: it grows, and a later lone slow window is
   * again only held. */
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 10);
  window(&c, 60 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 10);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 11);
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

START_TEST(large_uploads_grow_the_limit_without_timing_it) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  window(&c, 20 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
  /* Parts of megabytes take a second each: bandwidth, not a queue. */
  ck_assert(end_n(&c, 8, 8, 1000 * MS, PL_AWS_SIGNAL_ANSWER_UNTIMED));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  /* The baseline did not move: timed windows at 90 ms are growth (the
   * first holds the limit, the second halves it). */
  window(&c, 90 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 16);
  window(&c, 90 * MS);
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 8);
}
END_TEST

START_TEST(signals_of_nothing_are_ignored) {
  pl_aws_concurrency_t c;
  pl__aws_concurrency_init(&c, true, 64);
  ck_assert(!end_n(&c, 40, 4, 20000 * MS, PL_AWS_SIGNAL_NONE));
  ck_assert_uint_eq(pl__aws_concurrency_limit(&c), 4);
}
END_TEST

/* ---- Through a sink's AWS client ---- */

/* A sink stage's client on the scripted server, and a producer that keeps
 * more calls submitted than the client may send (so that the limit, not
 * the producer, decides what is in flight) until `total` were made. */
typedef struct driver {
  test_aws_t *aws;
  fake_http_t *server;
  pl_instance_t *inst;
  pl_aws_sink_t sink;
  size_t submitted, done, failed, total;
} driver_t;

static void submit(driver_t *d);

static void on_answer(void *data, json_t *value, const pl_aws_error_t *error) {
  (void)value;
  driver_t *d = data;
  d->done++;
  if (error)
    d->failed++;
  if (d->submitted < d->total)
    submit(d);
}

static void submit(driver_t *d) {
  json_t *body = json_pack("{s:s, s:[{s:s, s:s}]}", "QueueUrl", "http://q/1",
                           "Entries", "Id", "0", "MessageBody", "hello");
  d->submitted++;
  ck_assert_int_eq(pl_aws_json_call(d->sink.client,
                                    "AmazonSQS.SendMessageBatch", body,
                                    on_answer, d),
                   0);
  json_decref(body);
}

/* A sink stage with max_in_flight 16 and `concurrency`; no retries, so
 * that every throttling answer is one request. */
static driver_t *driver_create(const char *concurrency) {
  static const pl_plugin_t *const plugins[] = {&test_sink_aws_idle, NULL};
  driver_t *d = calloc(1, sizeof(*d));
  d->aws = test_aws_create(plugins);
  d->server = d->aws->server;
  char *config =
      test_aws_format("pipeline \"p\" { source \"script\" { records = [] }\n"
                      "  sink \"aws-idle\" { max_in_flight = 16\n"
                      "    concurrency = \"%s\" } }\n"
                      "aws { endpoint = \"%s\"\n  max_attempts = 1 }\n",
                      concurrency, fake_http_url(d->server));
  ck_assert_msg(test_run_configure(d->aws->run, config, false, &d->aws->env) ==
                    0,
                "%s", d->aws->run->errors.data);
  free(config);
  d->inst = test_stage(d->aws->run, "p", PL_ROLE_SINK);
  ck_assert_int_eq(pl_aws_sink_start(&d->sink, d->inst, "sqs", NULL, NULL), 0);
  return d;
}

static void driver_run(driver_t *d, size_t total) {
  d->total = total;
  for (int i = 0; i < 32; i++)
    submit(d);
  while (d->done < d->total)
    ck_assert(uv_run(&d->aws->run->loop, UV_RUN_ONCE) != 0 ||
              d->done >= d->total);
  ck_assert_uint_eq(fake_http_request_count(d->server), total);
}

static void driver_free(driver_t *d) {
  pl_aws_sink_close(&d->sink);
  fake_http_close(d->server);
  ck_assert_int_eq(test_run_stop(d->aws->run), 0);
  free(d->aws);
  free(d);
}

static void push_answers(driver_t *d, size_t n, unsigned delay_ms) {
  for (size_t i = 0; i < n; i++)
    fake_http_push(d->server, &(fake_http_response_t){
                                  .status = 200,
                                  .body = "{\"Successful\":[],\"Failed\":[]}",
                                  .delay_ms = delay_ms});
}

static void push_throttling(driver_t *d, size_t n) {
  for (size_t i = 0; i < n; i++)
    fake_http_push(d->server,
                   &(fake_http_response_t){
                       .status = 400,
                       .headers = "x-amzn-query-error: "
                                  "AWS.SimpleQueueService.RequestThrottled;"
                                  "Sender\r\n",
                       .body = "{\"__type\":\"RequestThrottled\"}",
                       .delay_ms = 5});
}

/* The most requests the server had at once while receiving requests
 * [from, to). Every answer is delayed, so that requests overlap at the
 * server as long as the client has them in flight. */
static size_t most_at_once(driver_t *d, size_t from, size_t to) {
  size_t most = 0;
  for (size_t i = from; i < to; i++) {
    const fake_http_request_t *r = fake_http_request(d->server, i);
    ck_assert_ptr_nonnull(r);
    if (r->concurrent > most)
      most = r->concurrent;
  }
  return most;
}

START_TEST(throttling_drops_the_requests_at_once_then_they_recover) {
  driver_t *d = driver_create("adaptive");
  ck_assert_uint_eq(d->inst->concurrency_limit, PL_AWS_CONCURRENCY_START);
  /* Requests 0-39 answered after 40 ms, 40-79 throttled after 5 ms,
   * 80-279 answered after 40 ms (each request takes the next answer).
   * Round trips of 40 ms, so that the test process losing the CPU for a
   * few milliseconds on a busy machine does not look like queueing. */
  push_answers(d, 40, 40);
  push_throttling(d, 40);
  push_answers(d, 200, 40);
  driver_run(d, 280);
  ck_assert_uint_eq(d->failed, 40);
  /* It starts with four, grows while latency holds, never past 16. */
  ck_assert_uint_le(most_at_once(d, 0, 4), PL_AWS_CONCURRENCY_START);
  ck_assert_uint_ge(most_at_once(d, 0, 40), 8);
  ck_assert_uint_le(most_at_once(d, 0, 280), 16);
  /* Halved once per round trip down to one request at a time: the end of
   * the throttling meets a serial client, not sixteen requests a turn. */
  ck_assert_uint_le(most_at_once(d, 60, 80), 2);
  ck_assert_uint_le(most_at_once(d, 80, 84), 2);
  /* One more per round trip once answers come again: back up towards the
   * ceiling. */
  ck_assert_uint_ge(most_at_once(d, 240, 280), 8);
  ck_assert_uint_ge(d->inst->concurrency_limit, 8);
  ck_assert(d->inst->has_concurrency_limit);
  driver_free(d);
}
END_TEST

START_TEST(fixed_concurrency_keeps_max_in_flight) {
  driver_t *d = driver_create("fixed");
  ck_assert_uint_eq(d->inst->concurrency_limit, 16);
  push_answers(d, 40, 20);
  push_throttling(d, 40);
  push_answers(d, 40, 10);
  driver_run(d, 120);
  /* Sixteen at once from the start, and through the throttling. */
  ck_assert_uint_ge(most_at_once(d, 0, 16), 12);
  ck_assert_uint_ge(most_at_once(d, 60, 80), 8);
  ck_assert_uint_le(most_at_once(d, 0, 120), 16);
  ck_assert_uint_eq(d->inst->concurrency_limit, 16);
  driver_free(d);
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
  tcase_add_test(aimd, one_slow_window_holds_the_limit);
  tcase_add_test(aimd, a_slow_tail_is_not_latency_growth);
  tcase_add_test(aimd, sub_millisecond_noise_is_not_latency_growth);
  tcase_add_test(aimd, a_lasting_longer_path_becomes_the_baseline);
  tcase_add_test(aimd, recovers_after_throttling_ends);
  tcase_add_test(aimd, large_uploads_grow_the_limit_without_timing_it);
  tcase_add_test(aimd, signals_of_nothing_are_ignored);
  suite_add_tcase(s, aimd);
  TCase *client = tcase_create("client");
  tcase_set_timeout(client, 30);
  tcase_add_test(client,
                 throttling_drops_the_requests_at_once_then_they_recover);
  tcase_add_test(client, fixed_concurrency_keeps_max_in_flight);
  suite_add_tcase(s, client);
  return s;
}

int main(void) {
  return test_suite_run(concurrency_suite());
}
