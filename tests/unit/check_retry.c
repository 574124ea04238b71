/* Check suite for src/aws/retry.c: every class of error, the backoff bounds
 * with a scripted random source, the retry quota's arithmetic, clock skew
 * from the Date header (the HTTP-date parser is check_timestamp's). */
#include "retry.h"

#include <check.h>
#include <pipelined/backoff.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* 2024-01-01T00:00:00Z, the local clock of most tests. */
#define NOW_MS INT64_C(1704067200000)

/* A random source that replays `values` (then repeats the last) and
 * counts its calls. */
typedef struct script {
  const uint32_t *values;
  size_t count;
  size_t calls;
} script_t;

static uint32_t script_next(void *data) {
  script_t *s = data;
  size_t i = s->calls < s->count ? s->calls : s->count - 1;
  s->calls++;
  return s->values[i];
}

static const uint32_t R_ZERO[] = {0};
static const uint32_t R_MAX[] = {UINT32_MAX};
static const uint32_t R_HALF[] = {UINT32_C(0x80000000)};

static pl_aws_rng_t rng_of(script_t *s) {
  return (pl_aws_rng_t){.next = script_next, .data = s};
}

/* An error made the way the parsers make it, so flags are computed. */
static pl_aws_error_detail_t *http_error(int status, const char *code,
                                         const char *message,
                                         const char *date) {
  pl_aws_error_fields_t fields = {
      .service = "sqs",
      .operation = "SendMessageBatch",
      .status = status,
      .code = code,
      .message = message,
      .date = date,
  };
  pl_aws_error_detail_t *error = NULL;
  ck_assert_int_eq(pl__aws_error_create(&fields, &error), 0);
  return error;
}

static pl_aws_error_detail_t *transport_error(int code) {
  pl_aws_error_detail_t *error = NULL;
  ck_assert_int_eq(
      pl__aws_error_from_transport("s3", "PutObject", code, "text", &error), 0);
  return error;
}

typedef struct fixture {
  pl_aws_retry_config_t cfg;
  pl_aws_retry_bucket_t bucket;
  pl_aws_retry_state_t state;
  script_t script;
  pl_aws_rng_t rng;
} fixture_t;

static void fixture_init(fixture_t *f, const uint32_t *values, size_t count) {
  pl__aws_retry_config_init(&f->cfg);
  pl__aws_retry_bucket_init(&f->bucket, 0);
  pl__aws_retry_state_init(&f->state);
  f->script = (script_t){.values = values, .count = count};
  f->rng = rng_of(&f->script);
}

static pl_aws_retry_decision_t
decide(fixture_t *f, const pl_aws_error_detail_t *e, int64_t now_ms) {
  pl_aws_retry_decision_t d;
  memset(&d, 0xAB, sizeof d);
  ck_assert_int_eq(pl__aws_retry_decide(&f->cfg, &f->bucket, &f->state, e,
                                        now_ms, &f->rng, &d),
                   0);
  return d;
}

/* ---- Classification ---- */

static const char *const THROTTLING[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static const char *const TRANSIENT[] = {
    "RequestTimeout", "RequestTimeoutException", "InternalError",
    "TransactionConflictException"};

static const char *const NEVER[] = {
    "ValidationException",
    "AccessDenied",
    "AccessDeniedException",
    "ConditionalCheckFailedException",
    "NoSuchKey",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",
    "UnrecognizedClientException",
    "throttling",     /* codes are case-sensitive */
    "SlowDownPlease", /* and matched whole */
    "NotFound",
    "BadRequest",
};

START_TEST(test_classify_codes) {
  for (size_t i = 0; i < sizeof THROTTLING / sizeof THROTTLING[0]; i++) {
    /* The code decides even on a 5xx. */
    int statuses[] = {400, 503};
    for (size_t j = 0; j < 2; j++) {
      pl_aws_error_detail_t *e =
          http_error(statuses[j], THROTTLING[i], NULL, NULL);
      ck_assert_msg(pl__aws_retry_classify(e) == PL_AWS_RETRY_THROTTLING, "%s",
                    THROTTLING[i]);
      ck_assert(e->retryable && e->throttling);
      pl__aws_error_destroy(e);
    }
  }
  for (size_t i = 0; i < sizeof TRANSIENT / sizeof TRANSIENT[0]; i++) {
    pl_aws_error_detail_t *e = http_error(400, TRANSIENT[i], NULL, NULL);
    ck_assert_msg(pl__aws_retry_classify(e) == PL_AWS_RETRY_TRANSIENT, "%s",
                  TRANSIENT[i]);
    ck_assert(e->retryable && !e->throttling);
    pl__aws_error_destroy(e);
  }
  for (size_t i = 0; i < sizeof NEVER / sizeof NEVER[0]; i++) {
    pl_aws_error_detail_t *e = http_error(400, NEVER[i], "m", NULL);
    ck_assert_msg(pl__aws_retry_classify(e) == PL_AWS_RETRY_NEVER, "%s",
                  NEVER[i]);
    ck_assert(!e->retryable && !e->throttling);
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_classify_status) {
  const struct {
    int status;
    pl_aws_retry_class_t cls;
  } cases[] = {
      {500, PL_AWS_RETRY_TRANSIENT},  {502, PL_AWS_RETRY_TRANSIENT},
      {503, PL_AWS_RETRY_TRANSIENT},  {504, PL_AWS_RETRY_TRANSIENT},
      {429, PL_AWS_RETRY_THROTTLING}, {501, PL_AWS_RETRY_NEVER},
      {505, PL_AWS_RETRY_NEVER},      {400, PL_AWS_RETRY_NEVER},
      {403, PL_AWS_RETRY_NEVER},      {404, PL_AWS_RETRY_NEVER},
      {408, PL_AWS_RETRY_NEVER},      {200, PL_AWS_RETRY_NEVER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_error_detail_t *e =
        http_error(cases[i].status, "SomeUnknownCode", NULL, NULL);
    ck_assert_msg(pl__aws_retry_classify(e) == cases[i].cls, "%d",
                  cases[i].status);
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_classify_transport) {
  const struct {
    int code;
    pl_aws_retry_class_t cls;
  } cases[] = {
      {PL_EAGAIN, PL_AWS_RETRY_TIMEOUT},  {PL_EIO, PL_AWS_RETRY_TRANSPORT},
      {PL_ECANCELED, PL_AWS_RETRY_NEVER}, {PL_ENOMEM, PL_AWS_RETRY_NEVER},
      {PL_EINVAL, PL_AWS_RETRY_NEVER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_error_detail_t *e = transport_error(cases[i].code);
    ck_assert_int_eq(pl__aws_retry_classify(e), cases[i].cls);
    ck_assert(e->retryable == (cases[i].cls != PL_AWS_RETRY_NEVER));
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_classify_skew) {
  const char *codes[] = {"RequestTimeTooSkewed", "RequestExpired",
                         "RequestInTheFuture"};
  for (size_t i = 0; i < 3; i++) {
    pl_aws_error_detail_t *e = http_error(403, codes[i], NULL, NULL);
    ck_assert_int_eq(pl__aws_retry_classify(e), PL_AWS_RETRY_CLOCK_SKEW);
    ck_assert(e->retryable && !e->throttling);
    pl__aws_error_destroy(e);
  }
  const struct {
    const char *message;
    pl_aws_retry_class_t cls;
  } messages[] = {
      {"Signature expired: 20240101T000000Z is now earlier than "
       "20240101T000500Z (20240101T001000Z - 5 min.)",
       PL_AWS_RETRY_CLOCK_SKEW},
      {"Signature not yet current: 20240101T002000Z is still later than "
       "20240101T001500Z (20240101T001000Z + 5 min.)",
       PL_AWS_RETRY_CLOCK_SKEW},
      {"SIGNATURE EXPIRED", PL_AWS_RETRY_CLOCK_SKEW},
      {"The request signature we calculated does not match the signature "
       "you provided.",
       PL_AWS_RETRY_NEVER},
      {"Signature", PL_AWS_RETRY_NEVER},
      {NULL, PL_AWS_RETRY_NEVER},
  };
  for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
    pl_aws_error_detail_t *e =
        http_error(400, "InvalidSignatureException", messages[i].message, NULL);
    ck_assert_int_eq(pl__aws_retry_classify(e), messages[i].cls);
    pl__aws_error_destroy(e);
  }
  /* The message only counts for InvalidSignatureException. */
  pl_aws_error_detail_t *e =
      http_error(403, "SignatureDoesNotMatch", "Signature expired", NULL);
  ck_assert_int_eq(pl__aws_retry_classify(e), PL_AWS_RETRY_NEVER);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_names) {
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_NEVER),
                   "not retryable");
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_THROTTLING),
                   "throttling");
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_TRANSIENT),
                   "transient");
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_TRANSPORT),
                   "connection error");
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_TIMEOUT), "timeout");
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_CLOCK_SKEW),
                   "clock skew");
  ck_assert_str_eq(pl__aws_retry_class_name((pl_aws_retry_class_t)99),
                   "unknown");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_NONE), "retrying");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_NOT_RETRYABLE),
                   "not retryable");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_MAX_ATTEMPTS),
                   "max attempts reached");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_QUOTA),
                   "retry quota exhausted");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_SKEW_UNKNOWN),
                   "clock skew without a usable Date header");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_SKEW_REPEATED),
                   "clock skew persisted after correction");
  ck_assert_str_eq(pl__aws_retry_stop_name((pl_aws_retry_stop_t)99), "unknown");
}
END_TEST

/* ---- Defaults and init ---- */

START_TEST(test_defaults) {
  pl_aws_retry_config_t cfg;
  memset(&cfg, 0xFF, sizeof cfg);
  pl__aws_retry_config_init(&cfg);
  ck_assert_uint_eq(cfg.max_attempts, 3);
  ck_assert_uint_eq(cfg.base_delay_ms, 1000);
  ck_assert_uint_eq(cfg.throttling_base_delay_ms, 1000);
  ck_assert_uint_eq(cfg.max_backoff_ms, 20000);
  pl_aws_retry_bucket_t bucket;
  pl__aws_retry_bucket_init(&bucket, 0);
  ck_assert_uint_eq(bucket.tokens, 500);
  ck_assert_uint_eq(bucket.capacity, 500);
  pl__aws_retry_bucket_init(&bucket, 20);
  ck_assert_uint_eq(bucket.tokens, 20);
  ck_assert_uint_eq(bucket.capacity, 20);
  pl_aws_retry_state_t state;
  memset(&state, 0xFF, sizeof state);
  pl__aws_retry_state_init(&state);
  ck_assert_uint_eq(state.attempt, 1);
  ck_assert_uint_eq(state.last_cost, 0);
  ck_assert(!state.skew_retried);
  ck_assert_uint_eq(PL_AWS_RETRY_COST, 5);
  ck_assert_uint_eq(PL_AWS_RETRY_TIMEOUT_COST, 10);
  ck_assert_uint_eq(PL_AWS_RETRY_NO_RETRY_INCREMENT, 1);
}
END_TEST

/* ---- Backoff ---- */

START_TEST(test_backoff_bounds) {
  /* Full jitter: r = 0 gives 0, r = 2^32-1 the ceiling itself, r = 2^31
   * half of ceiling + 1, for the 1st and 2nd retries (ceilings 1 s, 2 s). */
  const struct {
    const uint32_t *r;
    uint64_t first, second;
  } cases[] = {
      {R_ZERO, 0, 0},
      {R_MAX, 1000, 2000},
      {R_HALF, 500, 1000},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fixture_t f;
    fixture_init(&f, cases[i].r, 1);
    pl_aws_error_detail_t *e = http_error(500, "InternalError", NULL, NULL);
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert(d.retry);
    ck_assert_int_eq(d.cls, PL_AWS_RETRY_TRANSIENT);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NONE);
    ck_assert_uint_eq(d.delay_ms, cases[i].first);
    ck_assert_uint_eq(d.cost, 5);
    ck_assert(!d.adjust_clock);
    ck_assert_int_eq(d.clock_offset_ms, 0);
    ck_assert_uint_eq(f.state.attempt, 2);
    d = decide(&f, e, NOW_MS);
    ck_assert(d.retry);
    ck_assert_uint_eq(d.delay_ms, cases[i].second);
    ck_assert_uint_eq(f.state.attempt, 3);
    ck_assert_uint_eq(f.script.calls, 2);
    /* The third failure is the last of 3 attempts: no rng, no tokens. */
    d = decide(&f, e, NOW_MS);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_MAX_ATTEMPTS);
    ck_assert_int_eq(d.cls, PL_AWS_RETRY_TRANSIENT);
    ck_assert_uint_eq(d.delay_ms, 0);
    ck_assert_uint_eq(d.cost, 0);
    ck_assert_uint_eq(f.script.calls, 2);
    ck_assert_uint_eq(f.bucket.tokens, 490);
    ck_assert_uint_eq(f.state.attempt, 3);
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_backoff_cap) {
  fixture_t f;
  fixture_init(&f, R_MAX, 1);
  f.cfg.max_attempts = 100;
  pl_aws_error_detail_t *e = http_error(503, "ServiceUnavailable", NULL, NULL);
  const uint64_t ceilings[] = {1000,  2000,  4000,  8000,  16000,
                               20000, 20000, 20000, 20000, 20000};
  for (size_t i = 0; i < sizeof ceilings / sizeof ceilings[0]; i++) {
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert(d.retry);
    ck_assert_uint_eq(d.delay_ms, ceilings[i]);
  }
  /* Far past 2^63: still the cap, no overflow. */
  f.state.attempt = 90;
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert_uint_eq(d.delay_ms, 20000);
  /* A cap above 32 bits is clamped rather than overflowing the jitter. */
  f.cfg.max_backoff_ms = UINT64_C(1) << 40;
  f.cfg.base_delay_ms = UINT64_C(1) << 40;
  d = decide(&f, e, NOW_MS);
  ck_assert_uint_eq(d.delay_ms, UINT32_MAX);
  /* A zero base never waits. */
  f.cfg.base_delay_ms = 0;
  d = decide(&f, e, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(d.delay_ms, 0);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_backoff_throttling_base) {
  fixture_t f;
  fixture_init(&f, R_MAX, 1);
  f.cfg.base_delay_ms = 100;
  f.cfg.throttling_base_delay_ms = 500;
  f.cfg.max_attempts = 5;
  pl_aws_error_detail_t *slow = http_error(503, "SlowDown", NULL, NULL);
  pl_aws_error_detail_t *transient =
      http_error(500, "InternalError", NULL, NULL);
  pl_aws_error_detail_t *timeout = transport_error(PL_EAGAIN);
  pl_aws_retry_decision_t d = decide(&f, slow, NOW_MS);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_THROTTLING);
  ck_assert_uint_eq(d.delay_ms, 500);
  d = decide(&f, transient, NOW_MS);
  ck_assert_uint_eq(d.delay_ms, 200);
  d = decide(&f, timeout, NOW_MS);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_TIMEOUT);
  ck_assert_uint_eq(d.delay_ms, 400);
  d = decide(&f, slow, NOW_MS);
  ck_assert_uint_eq(d.delay_ms, 4000);
  pl__aws_error_destroy(slow);
  pl__aws_error_destroy(transient);
  pl__aws_error_destroy(timeout);
}
END_TEST

START_TEST(test_jitter_spread) {
  /* With a real generator every delay stays within [0, ceiling] and the
   * draws spread over the range. */
  pl_rng_t seed = {42};
  pl_aws_rng_t rng = {.next = pl__aws_rng_splitmix, .data = &seed};
  pl_aws_retry_config_t cfg;
  pl__aws_retry_config_init(&cfg);
  pl_aws_error_detail_t *e = http_error(500, "InternalError", NULL, NULL);
  uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
  const int n = 2000;
  for (int i = 0; i < n; i++) {
    pl_aws_retry_bucket_t bucket;
    pl__aws_retry_bucket_init(&bucket, 0);
    pl_aws_retry_state_t state;
    pl__aws_retry_state_init(&state);
    state.attempt = 2; /* second retry: ceiling 2000 */
    pl_aws_retry_decision_t d;
    ck_assert_int_eq(
        pl__aws_retry_decide(&cfg, &bucket, &state, e, NOW_MS, &rng, &d), 0);
    ck_assert(d.retry);
    ck_assert_uint_le(d.delay_ms, 2000);
    sum += d.delay_ms;
    lo = d.delay_ms < lo ? d.delay_ms : lo;
    hi = d.delay_ms > hi ? d.delay_ms : hi;
  }
  ck_assert_uint_lt(lo, 50);
  ck_assert_uint_gt(hi, 1950);
  ck_assert_uint_gt(sum / n, 900);
  ck_assert_uint_lt(sum / n, 1100);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_splitmix) {
  /* SplitMix64's published first output for seed 0 is 0xE220A8397B1DCDAF;
   * the generator hands out its upper 32 bits. */
  pl_rng_t seed = {0};
  ck_assert_uint_eq(pl__aws_rng_splitmix(&seed), UINT32_C(0xE220A839));
  ck_assert_uint_eq(seed.state, UINT64_C(0x9E3779B97F4A7C15));
  pl_rng_t a = {7}, b = {7};
  for (int i = 0; i < 10; i++)
    ck_assert_uint_eq(pl__aws_rng_splitmix(&a), pl__aws_rng_splitmix(&b));
}
END_TEST

/* ---- Retry quota ---- */

START_TEST(test_quota_costs) {
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  f.cfg.max_attempts = 10;
  pl_aws_error_detail_t *transient =
      http_error(500, "InternalError", NULL, NULL);
  pl_aws_error_detail_t *throttle =
      http_error(400, "ThrottlingException", NULL, NULL);
  pl_aws_error_detail_t *conn = transport_error(PL_EIO);
  pl_aws_error_detail_t *timeout = transport_error(PL_EAGAIN);
  pl_aws_retry_decision_t d = decide(&f, transient, NOW_MS);
  ck_assert_uint_eq(d.cost, 5);
  ck_assert_uint_eq(f.bucket.tokens, 495);
  ck_assert_uint_eq(f.state.last_cost, 5);
  d = decide(&f, throttle, NOW_MS);
  ck_assert_uint_eq(d.cost, 5);
  ck_assert_uint_eq(f.bucket.tokens, 490);
  d = decide(&f, conn, NOW_MS);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_TRANSPORT);
  ck_assert_uint_eq(d.cost, 5);
  ck_assert_uint_eq(f.bucket.tokens, 485);
  d = decide(&f, timeout, NOW_MS);
  ck_assert_uint_eq(d.cost, 10);
  ck_assert_uint_eq(f.bucket.tokens, 475);
  ck_assert_uint_eq(f.state.last_cost, 10);
  /* A success after retries gives back the last retry's cost only. */
  pl__aws_retry_on_success(&f.bucket, &f.state);
  ck_assert_uint_eq(f.bucket.tokens, 485);
  pl__aws_error_destroy(transient);
  pl__aws_error_destroy(throttle);
  pl__aws_error_destroy(conn);
  pl__aws_error_destroy(timeout);
}
END_TEST

START_TEST(test_quota_exhaustion) {
  /* 500 tokens pay for exactly 100 retries of 5, across requests. */
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *e = http_error(503, "ServiceUnavailable", NULL, NULL);
  for (int i = 0; i < 100; i++) {
    pl__aws_retry_state_init(&f.state);
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert_msg(d.retry, "retry %d", i);
  }
  ck_assert_uint_eq(f.bucket.tokens, 0);
  pl__aws_retry_state_init(&f.state);
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert(!d.retry);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_QUOTA);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_TRANSIENT);
  ck_assert_uint_eq(d.cost, 0);
  ck_assert_uint_eq(d.delay_ms, 0);
  /* Nothing changed: the attempt number stays for the caller's report. */
  ck_assert_uint_eq(f.state.attempt, 1);
  ck_assert_uint_eq(f.state.last_cost, 0);
  ck_assert_uint_eq(f.script.calls, 100);
  /* Successes at the first attempt refill one token each. */
  for (int i = 0; i < 5; i++)
    pl__aws_retry_on_success(&f.bucket, &f.state);
  ck_assert_uint_eq(f.bucket.tokens, 5);
  d = decide(&f, e, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(f.bucket.tokens, 0);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_quota_edges) {
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *timeout = transport_error(PL_EAGAIN);
  pl_aws_error_detail_t *transient =
      http_error(500, "InternalError", NULL, NULL);
  f.bucket.tokens = 9;
  pl_aws_retry_decision_t d = decide(&f, timeout, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_QUOTA);
  ck_assert_uint_eq(f.bucket.tokens, 9);
  /* The same bucket still pays for a cheaper retry. */
  d = decide(&f, transient, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(f.bucket.tokens, 4);
  pl__aws_retry_state_init(&f.state);
  f.bucket.tokens = 10;
  d = decide(&f, timeout, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(f.bucket.tokens, 0);
  pl__aws_error_destroy(timeout);
  pl__aws_error_destroy(transient);
}
END_TEST

START_TEST(test_success_refunds) {
  pl_aws_retry_bucket_t bucket;
  pl__aws_retry_bucket_init(&bucket, 0);
  pl_aws_retry_state_t state;
  pl__aws_retry_state_init(&state);
  /* A full bucket stays at its capacity. */
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 500);
  bucket.tokens = 100;
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 101);
  state.last_cost = 5;
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 106);
  state.last_cost = 10;
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 116);
  /* Refunds are capped. */
  bucket.tokens = 498;
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 500);
  /* A bucket its owner overfilled is left alone. */
  bucket.tokens = 600;
  pl__aws_retry_on_success(&bucket, &state);
  ck_assert_uint_eq(bucket.tokens, 600);
}
END_TEST

START_TEST(test_not_retryable) {
  fixture_t f;
  fixture_init(&f, R_MAX, 1);
  const char *codes[] = {"ValidationException", "AccessDenied",
                         "ConditionalCheckFailedException", "NoSuchKey"};
  for (size_t i = 0; i < 4; i++) {
    pl_aws_error_detail_t *e = http_error(400, codes[i], "m", NULL);
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.cls, PL_AWS_RETRY_NEVER);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NOT_RETRYABLE);
    ck_assert_uint_eq(d.delay_ms, 0);
    ck_assert_uint_eq(d.cost, 0);
    ck_assert(!d.adjust_clock);
    pl__aws_error_destroy(e);
  }
  pl_aws_error_detail_t *e = transport_error(PL_ECANCELED);
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NOT_RETRYABLE);
  pl__aws_error_destroy(e);
  ck_assert_uint_eq(f.script.calls, 0);
  ck_assert_uint_eq(f.bucket.tokens, 500);
  ck_assert_uint_eq(f.state.attempt, 1);
}
END_TEST

START_TEST(test_max_attempts) {
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  f.cfg.max_attempts = 1; /* retries off */
  pl_aws_error_detail_t *e = http_error(400, "ThrottlingException", NULL, NULL);
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert(!d.retry);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_MAX_ATTEMPTS);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_THROTTLING);
  f.cfg.max_attempts = 5;
  for (unsigned i = 1; i < 5; i++) {
    d = decide(&f, e, NOW_MS);
    ck_assert(d.retry);
    ck_assert_uint_eq(f.state.attempt, i + 1);
  }
  d = decide(&f, e, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_MAX_ATTEMPTS);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_invalid) {
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *e = http_error(500, "InternalError", NULL, NULL);
  pl_aws_retry_decision_t d = {.delay_ms = 77};
  ck_assert_int_eq(
      pl__aws_retry_decide(NULL, &f.bucket, &f.state, e, NOW_MS, &f.rng, &d),
      PL_EINVAL);
  ck_assert_int_eq(
      pl__aws_retry_decide(&f.cfg, NULL, &f.state, e, NOW_MS, &f.rng, &d),
      PL_EINVAL);
  ck_assert_int_eq(
      pl__aws_retry_decide(&f.cfg, &f.bucket, NULL, e, NOW_MS, &f.rng, &d),
      PL_EINVAL);
  ck_assert_int_eq(pl__aws_retry_decide(&f.cfg, &f.bucket, &f.state, NULL,
                                        NOW_MS, &f.rng, &d),
                   PL_EINVAL);
  ck_assert_int_eq(
      pl__aws_retry_decide(&f.cfg, &f.bucket, &f.state, e, NOW_MS, NULL, &d),
      PL_EINVAL);
  ck_assert_int_eq(pl__aws_retry_decide(&f.cfg, &f.bucket, &f.state, e, NOW_MS,
                                        &f.rng, NULL),
                   PL_EINVAL);
  pl_aws_rng_t no_next = {.next = NULL};
  ck_assert_int_eq(pl__aws_retry_decide(&f.cfg, &f.bucket, &f.state, e, NOW_MS,
                                        &no_next, &d),
                   PL_EINVAL);
  f.cfg.max_attempts = 0;
  ck_assert_int_eq(
      pl__aws_retry_decide(&f.cfg, &f.bucket, &f.state, e, NOW_MS, &f.rng, &d),
      PL_EINVAL);
  ck_assert_uint_eq(d.delay_ms, 77);
  ck_assert_uint_eq(f.bucket.tokens, 500);
  pl__aws_error_destroy(e);
}
END_TEST

/* ---- Clock skew ---- */

START_TEST(test_skew_definite) {
  fixture_t f;
  fixture_init(&f, R_MAX, 1);
  /* The server is 10 minutes ahead of a local clock at 00:00:00.250. */
  pl_aws_error_detail_t *e =
      http_error(403, "RequestTimeTooSkewed",
                 "The difference between the request time and the current "
                 "time is too large.",
                 "Mon, 01 Jan 2024 00:10:00 GMT");
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS + 250);
  ck_assert(d.retry);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_CLOCK_SKEW);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NONE);
  ck_assert(d.adjust_clock);
  ck_assert_int_eq(d.clock_offset_ms, 599750);
  ck_assert_uint_eq(d.delay_ms, 0);
  ck_assert_uint_eq(d.cost, 0);
  ck_assert_uint_eq(f.bucket.tokens, 500);
  ck_assert_uint_eq(f.script.calls, 0);
  ck_assert_uint_eq(f.state.attempt, 2);
  ck_assert(f.state.skew_retried);
  /* The correction did not help: no second skew retry. */
  d = decide(&f, e, NOW_MS + 250);
  ck_assert(!d.retry);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_SKEW_REPEATED);
  ck_assert_int_eq(d.cls, PL_AWS_RETRY_CLOCK_SKEW);
  ck_assert(!d.adjust_clock);
  ck_assert_uint_eq(f.state.attempt, 2);
  /* Other errors of the same request still retry normally. */
  pl_aws_error_detail_t *t = http_error(400, "ThrottlingException", NULL, NULL);
  d = decide(&f, t, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(d.delay_ms, 2000);
  pl__aws_error_destroy(t);
  pl__aws_error_destroy(e);
}
END_TEST

/* A token the service says has expired: fresh credentials are fetched
 * and the request sent again at once, once per request. A wrong key
 * (InvalidClientTokenId) is not stale: fetching again gives it back. */
START_TEST(test_stale_credentials) {
  const char *codes[] = {"ExpiredToken", "ExpiredTokenException",
                         "AWS.SimpleQueueService.ExpiredToken"};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    pl_aws_error_detail_t *e = http_error(400, codes[i], "expired", NULL);
    ck_assert_int_eq(pl__aws_retry_classify(e), PL_AWS_RETRY_STALE_CREDENTIALS);
    ck_assert(e->retryable && !e->throttling);
    fixture_t f;
    fixture_init(&f, R_MAX, 1);
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert(d.retry);
    ck_assert_int_eq(d.cls, PL_AWS_RETRY_STALE_CREDENTIALS);
    ck_assert(!d.adjust_clock);
    ck_assert_uint_eq(d.delay_ms, 0);
    ck_assert_uint_eq(d.cost, 0);
    ck_assert_uint_eq(f.bucket.tokens, 500);
    ck_assert_uint_eq(f.script.calls, 0);
    ck_assert_uint_eq(f.state.attempt, 2);
    /* Refused again with the new ones: no second refresh. */
    d = decide(&f, e, NOW_MS);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_STALE_REPEATED);
    /* The attempts still bound it. */
    fixture_init(&f, R_MAX, 1);
    f.cfg.max_attempts = 1;
    d = decide(&f, e, NOW_MS);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_MAX_ATTEMPTS);
    pl__aws_error_destroy(e);
  }
  pl_aws_error_detail_t *e =
      http_error(403, "InvalidClientTokenId", "invalid", NULL);
  ck_assert_int_eq(pl__aws_retry_classify(e), PL_AWS_RETRY_NEVER);
  pl__aws_error_destroy(e);
  ck_assert_str_eq(pl__aws_retry_class_name(PL_AWS_RETRY_STALE_CREDENTIALS),
                   "stale credentials");
  ck_assert_str_eq(pl__aws_retry_stop_name(PL_AWS_RETRY_STOP_STALE_REPEATED),
                   "credentials refused again after a refresh");
}
END_TEST

START_TEST(test_skew_negative_and_small) {
  /* The local clock runs 2 s ahead: RequestExpired still corrects it. */
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *e =
      http_error(400, "RequestExpired", "Request has expired.",
                 "Mon, 01 Jan 2024 00:00:00 GMT");
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS + 2000);
  ck_assert(d.retry);
  ck_assert(d.adjust_clock);
  ck_assert_int_eq(d.clock_offset_ms, -2000);
  pl__aws_error_destroy(e);
  /* An hour behind the server. */
  fixture_init(&f, R_ZERO, 1);
  e = http_error(403, "RequestInTheFuture", NULL,
                 "Mon, 01 Jan 2024 00:00:00 GMT");
  d = decide(&f, e, NOW_MS + 3600 * 1000);
  ck_assert_int_eq(d.clock_offset_ms, -3600 * 1000);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_skew_without_date) {
  const char *dates[] = {NULL, "", "yesterday", "Mon, 01 Jan 2024 00:10:00"};
  for (size_t i = 0; i < 4; i++) {
    fixture_t f;
    fixture_init(&f, R_ZERO, 1);
    pl_aws_error_detail_t *e =
        http_error(403, "RequestTimeTooSkewed", NULL, dates[i]);
    pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
    ck_assert(!d.retry);
    ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_SKEW_UNKNOWN);
    ck_assert_int_eq(d.cls, PL_AWS_RETRY_CLOCK_SKEW);
    ck_assert_uint_eq(f.state.attempt, 1);
    ck_assert(!f.state.skew_retried);
    pl__aws_error_destroy(e);
  }
  /* An InvalidSignatureException that says "expired" needs it too. */
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *e =
      http_error(400, "InvalidSignatureException",
                 "Signature expired: 20240101T000000Z is now earlier than "
                 "20240101T000500Z (20240101T001000Z - 5 min.)",
                 NULL);
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_SKEW_UNKNOWN);
  pl__aws_error_destroy(e);
  /* A `now` so far off that the offset would overflow: no usable Date. */
  e = http_error(403, "RequestTimeTooSkewed", NULL,
                 "Mon, 01 Jan 2024 00:10:00 GMT");
  d = decide(&f, e, INT64_MIN);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_SKEW_UNKNOWN);
  d = decide(&f, e, INT64_MAX);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_SKEW_UNKNOWN);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_skew_maybe_codes) {
  /* A signature mismatch is a clock problem only past the 4 minute
   * threshold; below it the key is wrong and retrying cannot help. */
  const char *codes[] = {"SignatureDoesNotMatch", "InvalidSignatureException",
                         "AuthFailure"};
  const struct {
    int64_t local_ms; /* local clock; the server says 00:00:00 */
    bool skew;
  } cases[] = {
      {NOW_MS, false},
      {NOW_MS - 240000, false}, /* exactly 4 min: not beyond */
      {NOW_MS + 240000, false},
      {NOW_MS - 240001, true},
      {NOW_MS + 240001, true},
      {NOW_MS + 900000, true},
  };
  for (size_t c = 0; c < 3; c++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      fixture_t f;
      fixture_init(&f, R_ZERO, 1);
      pl_aws_error_detail_t *e =
          http_error(403, codes[c], "m", "Mon, 01 Jan 2024 00:00:00 GMT");
      ck_assert(!e->retryable); /* without the clock it looks permanent */
      pl_aws_retry_decision_t d = decide(&f, e, cases[i].local_ms);
      ck_assert_msg(d.retry == cases[i].skew, "%s %zu", codes[c], i);
      if (cases[i].skew) {
        ck_assert_int_eq(d.cls, PL_AWS_RETRY_CLOCK_SKEW);
        ck_assert(d.adjust_clock);
        ck_assert_int_eq(d.clock_offset_ms, NOW_MS - cases[i].local_ms);
      } else {
        ck_assert_int_eq(d.cls, PL_AWS_RETRY_NEVER);
        ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NOT_RETRYABLE);
      }
      pl__aws_error_destroy(e);
    }
  }
  /* Without a Date there is nothing to compare. */
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  pl_aws_error_detail_t *e =
      http_error(403, "SignatureDoesNotMatch", "m", NULL);
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NOT_RETRYABLE);
  pl__aws_error_destroy(e);
  /* Other codes ignore the Date even when the clocks differ. */
  e = http_error(403, "AccessDenied", "m", "Mon, 01 Jan 2024 01:00:00 GMT");
  d = decide(&f, e, NOW_MS);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_NOT_RETRYABLE);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_skew_at_max_attempts) {
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  f.cfg.max_attempts = 1;
  pl_aws_error_detail_t *e = http_error(403, "RequestTimeTooSkewed", NULL,
                                        "Mon, 01 Jan 2024 00:10:00 GMT");
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert(!d.retry);
  ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_MAX_ATTEMPTS);
  ck_assert(!d.adjust_clock);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_skew_empty_bucket) {
  /* The skew retry needs no tokens. */
  fixture_t f;
  fixture_init(&f, R_ZERO, 1);
  f.bucket.tokens = 0;
  pl_aws_error_detail_t *e = http_error(403, "RequestTimeTooSkewed", NULL,
                                        "Mon, 01 Jan 2024 00:10:00 GMT");
  pl_aws_retry_decision_t d = decide(&f, e, NOW_MS);
  ck_assert(d.retry);
  ck_assert_uint_eq(f.bucket.tokens, 0);
  /* Success after only a skew retry counts as "no retry tokens taken". */
  pl__aws_retry_on_success(&f.bucket, &f.state);
  ck_assert_uint_eq(f.bucket.tokens, 1);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_attempts_first_set_source_wins) {
  unsigned n = 0;
  pl_aws_attempts_source_t from;
  char *error = NULL;
  pl_aws_attempts_inputs_t in = {0};
  ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error), 0);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(pl__aws_attempts_source_name(from), "default");
  in.profile = "7";
  ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error), 0);
  ck_assert_uint_eq(n, 7);
  ck_assert_str_eq(pl__aws_attempts_source_name(from), "profile max_attempts");
  in.env = "5";
  ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error), 0);
  ck_assert_uint_eq(n, 5);
  ck_assert_str_eq(pl__aws_attempts_source_name(from), "AWS_MAX_ATTEMPTS");
  in.block = 2;
  ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(pl__aws_attempts_source_name(from), "aws {} block");
  in.plugin = 1;
  ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(pl__aws_attempts_source_name(from), "plugin option");
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(test_attempts_bad_text_is_named) {
  static const struct {
    const char *env, *profile, *error;
  } cases[] = {
      {"0", NULL, "AWS_MAX_ATTEMPTS is '0', not a whole number from 1 to 100"},
      {"3x", NULL, "AWS_MAX_ATTEMPTS is '3x', not a whole number from 1 to 100"},
      {NULL, "101",
       "profile max_attempts is '101', not a whole number from 1 to 100"},
      {"", "-2", "profile max_attempts is '-2', not a whole number from 1 to "
                 "100"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_aws_attempts_inputs_t in = {.env = cases[i].env,
                                   .profile = cases[i].profile};
    unsigned n = 0;
    pl_aws_attempts_source_t from;
    char *error = NULL;
    ck_assert_int_eq(pl__aws_attempts_resolve(&in, &n, &from, &error),
                     PL_EINVAL);
    ck_assert_str_eq(error, cases[i].error);
    free(error);
  }
}
END_TEST

static Suite *retry_suite(void) {
  Suite *s = suite_create("retry");
  TCase *cls = tcase_create("classify");
  tcase_add_test(cls, test_classify_codes);
  tcase_add_test(cls, test_classify_status);
  tcase_add_test(cls, test_classify_transport);
  tcase_add_test(cls, test_classify_skew);
  tcase_add_test(cls, test_names);
  tcase_add_test(cls, test_defaults);
  suite_add_tcase(s, cls);
  TCase *backoff = tcase_create("backoff");
  tcase_add_test(backoff, test_backoff_bounds);
  tcase_add_test(backoff, test_backoff_cap);
  tcase_add_test(backoff, test_backoff_throttling_base);
  tcase_add_test(backoff, test_jitter_spread);
  tcase_add_test(backoff, test_splitmix);
  suite_add_tcase(s, backoff);
  TCase *quota = tcase_create("quota");
  tcase_add_test(quota, test_quota_costs);
  tcase_add_test(quota, test_quota_exhaustion);
  tcase_add_test(quota, test_quota_edges);
  tcase_add_test(quota, test_success_refunds);
  tcase_add_test(quota, test_not_retryable);
  tcase_add_test(quota, test_max_attempts);
  tcase_add_test(quota, test_invalid);
  suite_add_tcase(s, quota);
  TCase *skew = tcase_create("skew");
  tcase_add_test(skew, test_skew_definite);
  tcase_add_test(skew, test_stale_credentials);
  tcase_add_test(skew, test_skew_negative_and_small);
  tcase_add_test(skew, test_skew_without_date);
  tcase_add_test(skew, test_skew_maybe_codes);
  tcase_add_test(skew, test_skew_at_max_attempts);
  tcase_add_test(skew, test_skew_empty_bucket);
  tcase_add_test(skew, test_attempts_first_set_source_wins);
  tcase_add_test(skew, test_attempts_bad_text_is_named);
  suite_add_tcase(s, skew);
  return s;
}

int main(void) {
  return test_suite_run(retry_suite());
}
