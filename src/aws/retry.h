/* The AWS SDKs' "standard" retry mode (HACKING.md#s8), as pure logic: the
 * caller owns every piece of state (a token bucket per client, a state per
 * request), passes the clock and the random source in, and schedules the
 * retries itself on the loop. Nothing here allocates, reads the time or
 * keeps globals, so tests are deterministic.
 *
 * Use:
 *   once per client:   pl__aws_retry_config_init(&cfg);
 *                      pl__aws_retry_bucket_init(&bucket, 0);
 *   per request:       pl__aws_retry_state_init(&state);
 *   on a 2xx:          pl__aws_retry_on_success(&bucket, &state);
 *   on an error:       pl__aws_retry_decide(&cfg, &bucket, &state, err,
 *                                           now_ms, &rng, &decision);
 *                      then retry after decision.delay_ms, or give up.
 * All of it runs on the loop thread (HACKING.md#s7); nothing is locked. */
#ifndef PL_AWS_RETRY_H
#define PL_AWS_RETRY_H

#include "aws_error.h"

#include <pipelined/common.h>

/* Defaults, from the standard mode as the SDKs implement it:
 * - 3 attempts in all: AWS SDKs and Tools reference guide, "Retry
 *   behavior" (max_attempts); botocore retries/standard.py
 *   DEFAULT_MAX_ATTEMPTS.
 * - Full-jitter backoff rand[0,1] * min(base * 2^i, 20 s) for the i-th
 *   retry (0-based) with base 1 s: botocore retries/standard.py
 *   ExponentialBackoff (_BASE 2, _MAX_BACKOFF 20, t_i = rand(0, 1) *
 *   min(2 ** attempt, MAX_BACKOFF)). The Java v2 and JS v3 SDKs use a
 *   100 ms base (500 ms when throttled) with the same 20 s cap; the two
 *   bases are therefore separate settings.
 * - Retry quota: 500 tokens, 5 per retry, 10 per retry after a timeout, 1
 *   back for a success at the first attempt, the last retry's cost back
 *   for a success after retries: botocore retries/quota.py and
 *   RetryQuotaChecker; @smithy/util-retry constants.ts (INITIAL_RETRY_TOKENS,
 *   RETRY_COST, TIMEOUT_RETRY_COST, NO_RETRY_INCREMENT).
 * - Clock skew is corrected when server and local time differ by more than
 *   4 minutes: Java v2 SDK ClockSkew.CLOCK_SKEW_ADJUST_THRESHOLD (SigV4
 *   accepts 5 minutes of skew). */
#define PL_AWS_RETRY_MAX_ATTEMPTS 3u
/* Legacy mode's default: botocore retries/legacy (5 attempts in all). */
#define PL_AWS_RETRY_LEGACY_MAX_ATTEMPTS 5u
#define PL_AWS_RETRY_BASE_DELAY_MS 1000u
#define PL_AWS_RETRY_THROTTLING_BASE_DELAY_MS 1000u
#define PL_AWS_RETRY_MAX_BACKOFF_MS 20000u
#define PL_AWS_RETRY_INITIAL_TOKENS 500u
#define PL_AWS_RETRY_COST 5u
#define PL_AWS_RETRY_TIMEOUT_COST 10u
#define PL_AWS_RETRY_NO_RETRY_INCREMENT 1u
#define PL_AWS_RETRY_SKEW_THRESHOLD_MS (4 * 60 * 1000)

/* Why an error is (not) retried. */
#define PL_AWS_RETRY_CLASS_MAP(XX)                                             \
  XX(NEVER, "not retryable")                                                   \
  XX(THROTTLING, "throttling")                                                 \
  XX(TRANSIENT, "transient")                                                   \
  XX(TRANSPORT, "connection error")                                            \
  XX(TIMEOUT, "timeout")                                                       \
  XX(CLOCK_SKEW, "clock skew")                                                 \
  XX(STALE_CREDENTIALS, "stale credentials")

typedef enum {
#define PL__AWS_RETRY_CLASS_ENUM(name, text) PL_AWS_RETRY_##name,
  PL_AWS_RETRY_CLASS_MAP(PL__AWS_RETRY_CLASS_ENUM)
#undef PL__AWS_RETRY_CLASS_ENUM
} pl_aws_retry_class_t;

/* Where the number of attempts came from, first that is set. */
#define PL_AWS_ATTEMPTS_SOURCE_MAP(XX)                                         \
  XX(PLUGIN, "plugin option")                                                  \
  XX(BLOCK, "aws {} block")                                                    \
  XX(ENV, "AWS_MAX_ATTEMPTS")                                                  \
  XX(PROFILE, "profile max_attempts")                                          \
  XX(DEFAULT, "default")

typedef enum {
#define PL__AWS_ATTEMPTS_SOURCE_ENUM(name, text) PL_AWS_ATTEMPTS_FROM_##name,
  PL_AWS_ATTEMPTS_SOURCE_MAP(PL__AWS_ATTEMPTS_SOURCE_ENUM)
#undef PL__AWS_ATTEMPTS_SOURCE_ENUM
} pl_aws_attempts_source_t;

const char *pl__aws_attempts_source_name(pl_aws_attempts_source_t source);

/* The name of `source` as the origin of the retry mode: as above, but
 * "AWS_RETRY_MODE" and "profile retry_mode". */
const char *pl__aws_retry_mode_source_name(pl_aws_attempts_source_t source);

/* The retry modes of the AWS SDKs (retry_mode, AWS_RETRY_MODE):
 *  - legacy: PL_AWS_RETRY_LEGACY_MAX_ATTEMPTS attempts unless set, and no
 *    retry quota (retries are not rationed); the same classification and
 *    backoff as standard.
 *  - standard: everything above (the default, as in the AWS SDKs
 *    reference guide).
 *  - adaptive: standard retries. The SDKs add a client-side rate limiter
 *    that backs off on throttling; here every AWS client already adapts
 *    its concurrency to throttling (on by default, aws_call.c), so this
 *    mode selects nothing more. */
#define PL_AWS_RETRY_MODE_MAP(XX)                                              \
  XX(LEGACY, "legacy")                                                         \
  XX(STANDARD, "standard")                                                     \
  XX(ADAPTIVE, "adaptive")

typedef enum {
#define PL__AWS_RETRY_MODE_ENUM(name, text) PL_AWS_RETRY_MODE_##name,
  PL_AWS_RETRY_MODE_MAP(PL__AWS_RETRY_MODE_ENUM)
#undef PL__AWS_RETRY_MODE_ENUM
} pl_aws_retry_mode_t;

const char *pl__aws_retry_mode_name(pl_aws_retry_mode_t mode);

/* The choices of the aws {} block's retry_mode option: "default" (unset,
 * 0), then the modes in their order (mode + 1). */
#define PL_AWS_RETRY_MODE_CHOICES                                              \
  ((const char *const[]){"default", "legacy", "standard", "adaptive", NULL})

/* The inputs, each 0 / NULL when not set. */
typedef struct pl_aws_attempts_inputs {
  int64_t plugin;      /* a plugin's own setting */
  int64_t block;       /* aws { max_attempts } */
  const char *env;     /* AWS_MAX_ATTEMPTS */
  const char *profile; /* the profile's max_attempts */
  /* aws { retry_mode }: 0 unset, else mode + 1. */
  int block_mode;
  const char *env_mode;     /* AWS_RETRY_MODE */
  const char *profile_mode; /* the profile's retry_mode */
  /* Where the profile's max_attempts and retry_mode were read, for
   * messages: "profile prod in /root/.aws/config line 3"; NULL:
   * "profile". */
  const char *profile_attempts_where;
  const char *profile_mode_where;
  /* The attempts when nothing sets them; 0: PL_AWS_RETRY_MAX_ATTEMPTS. */
  unsigned default_attempts;
} pl_aws_attempts_inputs_t;

/* The attempts per request (first set of: plugin, block, AWS_MAX_ATTEMPTS,
 * the profile's, else the default) and where they came from. A text that
 * is not a whole number from 1 to 100 is PL_EINVAL with a new sentence in
 * *error naming it ("AWS_MAX_ATTEMPTS is 'x', not a whole number from 1 to
 * 100"; "profile prod in /root/.aws/config line 3: max_attempts is 'x',
 * ..."). */
int pl__aws_attempts_resolve(const pl_aws_attempts_inputs_t *in,
                             unsigned *attempts,
                             pl_aws_attempts_source_t *source, char **error);

/* The retry settings of a client and where each came from. */
typedef struct pl_aws_retry_choice {
  pl_aws_retry_mode_t mode;
  pl_aws_attempts_source_t mode_from;
  unsigned attempts;
  pl_aws_attempts_source_t attempts_from;
} pl_aws_retry_choice_t;

/* The mode (first set of: block, AWS_RETRY_MODE, the profile's, else
 * standard), then the attempts as pl__aws_attempts_resolve() with the
 * mode's default. A mode text other than legacy, standard or adaptive
 * (any case) is PL_EINVAL with a new sentence in *error naming where it
 * came from ("AWS_RETRY_MODE=foo: expected legacy, standard or adaptive",
 * "profile prod in /root/.aws/config line 4: retry_mode=foo: expected
 * ..."). */
int pl__aws_retry_resolve(const pl_aws_attempts_inputs_t *in,
                          pl_aws_retry_choice_t *out, char **error);

/* Why a decision is not to retry (NONE when it is to retry). */
#define PL_AWS_RETRY_STOP_MAP(XX)                                              \
  XX(NONE, "retrying")                                                         \
  XX(NOT_RETRYABLE, "not retryable")                                           \
  XX(MAX_ATTEMPTS, "max attempts reached")                                     \
  XX(QUOTA, "retry quota exhausted")                                           \
  XX(SKEW_UNKNOWN, "clock skew without a usable Date header")                  \
  XX(SKEW_REPEATED, "clock skew persisted after correction")                   \
  XX(STALE_REPEATED, "credentials refused again after a refresh")

typedef enum {
#define PL__AWS_RETRY_STOP_ENUM(name, text) PL_AWS_RETRY_STOP_##name,
  PL_AWS_RETRY_STOP_MAP(PL__AWS_RETRY_STOP_ENUM)
#undef PL__AWS_RETRY_STOP_ENUM
} pl_aws_retry_stop_t;

/* Static names: "throttling", "retry quota exhausted". */
const char *pl__aws_retry_class_name(pl_aws_retry_class_t cls);
const char *pl__aws_retry_stop_name(pl_aws_retry_stop_t stop);

typedef struct pl_aws_retry_config {
  unsigned max_attempts;             /* attempts in all, >= 1; 1: no retry */
  uint64_t base_delay_ms;            /* backoff base for other errors */
  uint64_t throttling_base_delay_ms; /* backoff base for throttling */
  uint64_t max_backoff_ms;           /* cap of one delay */
} pl_aws_retry_config_t;

/* Fills the defaults above. */
void pl__aws_retry_config_init(pl_aws_retry_config_t *cfg);

/* The retry quota of one client, shared by all its requests. */
typedef struct pl_aws_retry_bucket {
  unsigned tokens;
  unsigned capacity;
  bool unlimited; /* legacy mode: retries never take tokens */
} pl_aws_retry_bucket_t;

/* A full bucket of `capacity` tokens (0: PL_AWS_RETRY_INITIAL_TOKENS). */
void pl__aws_retry_bucket_init(pl_aws_retry_bucket_t *bucket,
                               unsigned capacity);

/* One request's progress through its attempts. */
typedef struct pl_aws_retry_state {
  unsigned attempt;   /* 1-based number of the attempt in flight */
  unsigned last_cost; /* tokens taken by the latest retry, 0: none yet */
  bool skew_retried;  /* the one clock-skew retry was used */
  bool credentials_refreshed; /* the one stale-credentials retry was used */
} pl_aws_retry_state_t;

void pl__aws_retry_state_init(pl_aws_retry_state_t *state);

/* The random source: `next` returns 32 uniformly random bits. The caller
 * owns `data` (a pl__aws_rng_splitmix state in production, a script in
 * tests). */
typedef struct pl_aws_rng {
  uint32_t (*next)(void *data);
  void *data;
} pl_aws_rng_t;

/* pl_aws_rng_t.next over <pipelined/backoff.h>'s generator: `data` is a
 * pl_rng_t the caller seeds once and owns; the upper 32 bits of each draw. */
uint32_t pl__aws_rng_splitmix(void *data);

/* Classifies an error without looking at the clock. Codes, matched
 * exactly:
 *  - CLOCK_SKEW: RequestTimeTooSkewed, RequestExpired, RequestInTheFuture,
 *    and InvalidSignatureException whose message says "Signature expired"
 *    or "Signature not yet current";
 *  - THROTTLING: Throttling, ThrottlingException, ThrottledException,
 *    RequestThrottledException, TooManyRequestsException,
 *    ProvisionedThroughputExceededException, TransactionInProgressException,
 *    RequestLimitExceeded, BandwidthLimitExceeded, LimitExceededException,
 *    RequestThrottled, SlowDown, PriorRequestNotComplete,
 *    EC2ThrottledException, and any HTTP 429;
 *  - TRANSIENT: RequestTimeout, RequestTimeoutException, InternalError, and
 *    any HTTP 500, 502, 503 or 504;
 *  - STALE_CREDENTIALS: ExpiredToken, ExpiredTokenException (the session
 *    token expired, or was revoked, before the Expiration its provider
 *    gave). InvalidClientTokenId is not one: it says the key is unknown,
 *    which fetching the same credentials again does not cure;
 *  - TIMEOUT: transport PL_EAGAIN; TRANSPORT: transport PL_EIO;
 *  - NEVER: everything else (ValidationException, AccessDenied, NoSuchKey,
 *    ConditionalCheckFailedException…, a cancelled request).
 * SignatureDoesNotMatch, InvalidSignatureException and AuthFailure are
 * NEVER here: pl__aws_retry_decide() turns them into CLOCK_SKEW when the
 * response's Date shows the skew. */
pl_aws_retry_class_t pl__aws_retry_classify(const pl_aws_error_detail_t *error);

typedef struct pl_aws_retry_decision {
  bool retry;
  pl_aws_retry_class_t cls;
  pl_aws_retry_stop_t stop; /* NONE when retry is true */
  uint64_t delay_ms;        /* wait before the next attempt */
  unsigned cost;            /* tokens this retry took from the bucket */
  /* When true, sign from now on with local time + clock_offset_ms (set
   * the offset, do not add to it) and retry at once. */
  bool adjust_clock;
  int64_t clock_offset_ms; /* server time minus local time */
} pl_aws_retry_decision_t;

/* Decides what to do after the attempt state->attempt failed with
 * `error`; `now_ms` is the local wall clock (ms since the epoch) without
 * any skew correction. In order:
 *  1. Not retryable (after the Date check for skew): stop NOT_RETRYABLE.
 *  2. state->attempt >= max_attempts: stop MAX_ATTEMPTS.
 *  3. Clock skew: needs the error's Date (else stop SKEW_UNKNOWN) and is
 *     retried once per request (else stop SKEW_REPEATED), at once and
 *     without tokens, with adjust_clock set.
 *  4. Stale credentials are retried once per request (else stop
 *     STALE_REPEATED), at once and without tokens: the caller drops
 *     them whatever the decision (pl__aws_creds_invalidate), and
 *     fetching new ones is the wait.
 *  5. Otherwise the retry costs PL_AWS_RETRY_TIMEOUT_COST after a timeout
 *     and PL_AWS_RETRY_COST after anything else; when the bucket cannot
 *     pay, stop QUOTA (an unlimited bucket always pays, and keeps its
 *     tokens). The delay is uniform in [0, min(base * 2^(attempt -
 *     1), max_backoff_ms)] with the throttling base for throttling.
 * A retry increments state->attempt. The bucket and state change only when
 * the decision is to retry. `rng` is called once for a backoff retry and
 * never otherwise. Returns 0, or PL_EINVAL for a NULL argument or
 * max_attempts 0 (then *out is not written). */
int pl__aws_retry_decide(const pl_aws_retry_config_t *cfg,
                         pl_aws_retry_bucket_t *bucket,
                         pl_aws_retry_state_t *state,
                         const pl_aws_error_detail_t *error, int64_t now_ms,
                         const pl_aws_rng_t *rng, pl_aws_retry_decision_t *out);

/* A request succeeded (2xx): returns PL_AWS_RETRY_NO_RETRY_INCREMENT token
 * when it took no retry tokens, else the last retry's cost, never beyond
 * the capacity. A request that finally failed returns nothing. */
void pl__aws_retry_on_success(pl_aws_retry_bucket_t *bucket,
                              const pl_aws_retry_state_t *state);

/* Applies a choice to a client's config and bucket: the attempts, and in
 * legacy mode a bucket that never runs out (unlimited). */
void pl__aws_retry_apply(const pl_aws_retry_choice_t *choice,
                         pl_aws_retry_config_t *cfg,
                         pl_aws_retry_bucket_t *bucket);

#endif
