/* The standard retry mode: classification, backoff, the retry quota and
 * clock-skew correction. See retry.h for the sources of the numbers. */
#include "retry.h"

#include <errno.h>
#include <stdlib.h>

#include <pipelined/backoff.h>
#include <pipelined/timestamp.h>

#include <string.h>
#include <strings.h>

const char *pl__aws_retry_class_name(pl_aws_retry_class_t cls) {
  switch (cls) {
#define PL__AWS_RETRY_CLASS_CASE(name, text)                                   \
  case PL_AWS_RETRY_##name:                                                    \
    return text;
    PL_AWS_RETRY_CLASS_MAP(PL__AWS_RETRY_CLASS_CASE)
#undef PL__AWS_RETRY_CLASS_CASE
  }
  return "unknown";
}

const char *pl__aws_retry_stop_name(pl_aws_retry_stop_t stop) {
  switch (stop) {
#define PL__AWS_RETRY_STOP_CASE(name, text)                                    \
  case PL_AWS_RETRY_STOP_##name:                                               \
    return text;
    PL_AWS_RETRY_STOP_MAP(PL__AWS_RETRY_STOP_CASE)
#undef PL__AWS_RETRY_STOP_CASE
  }
  return "unknown";
}

void pl__aws_retry_config_init(pl_aws_retry_config_t *cfg) {
  *cfg = (pl_aws_retry_config_t){
      .max_attempts = PL_AWS_RETRY_MAX_ATTEMPTS,
      .base_delay_ms = PL_AWS_RETRY_BASE_DELAY_MS,
      .throttling_base_delay_ms = PL_AWS_RETRY_THROTTLING_BASE_DELAY_MS,
      .max_backoff_ms = PL_AWS_RETRY_MAX_BACKOFF_MS,
  };
}

void pl__aws_retry_bucket_init(pl_aws_retry_bucket_t *bucket,
                               unsigned capacity) {
  if (capacity == 0)
    capacity = PL_AWS_RETRY_INITIAL_TOKENS;
  *bucket = (pl_aws_retry_bucket_t){.tokens = capacity, .capacity = capacity};
}

void pl__aws_retry_state_init(pl_aws_retry_state_t *state) {
  *state = (pl_aws_retry_state_t){.attempt = 1};
}

uint32_t pl__aws_rng_splitmix(void *data) {
  return (uint32_t)(pl_rng_next(data) >> 32);
}

/* ---- Classification ---- */

static bool code_in(const char *code, const char *const *list) {
  for (; *list; list++)
    if (strcmp(code, *list) == 0)
      return true;
  return false;
}

/* The union of throttling codes seen across services, as in botocore's
 * standard mode (ThrottledRetryableChecker). */
static const char *const throttling_codes[] = {
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
    NULL,
};

static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    /* DynamoDB: another request (a transaction) held the item; the same
     * request goes through once it is done. */
    "TransactionConflictException",
    NULL,
};

/* Codes that always mean the request's signing time was off. */
static const char *const skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    NULL,
};

/* Codes that mean the credentials' session token is no longer valid:
 * fetching them again cures it, retrying with the same ones does not. */
static const char *const stale_credentials_codes[] = {
    "ExpiredToken",
    "ExpiredTokenException",
    NULL,
};

/* Codes that mean a clock problem only when the clocks really differ; a
 * wrong secret key gives the same codes. */
static const char *const maybe_skew_codes[] = {
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",
    NULL,
};

/* ASCII only, so the daemon's locale cannot change the answer. */
static char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool contains_nocase(const char *text, const char *needle) {
  size_t n = strlen(needle);
  for (; *text; text++) {
    size_t i = 0;
    while (i < n && text[i] && ascii_lower(text[i]) == ascii_lower(needle[i]))
      i++;
    if (i == n)
      return true;
  }
  return false;
}

/* Services that check SigV4 in front of the operation say why in the
 * message: "Signature expired: 20240101T000000Z is now earlier than …" or
 * "Signature not yet current: …". This reads our own classification from
 * a human sentence; nothing else in the response says it. */
static bool skew_message(const char *message) {
  return message && (contains_nocase(message, "signature expired") ||
                     contains_nocase(message, "signature not yet current"));
}

pl_aws_retry_class_t
pl__aws_retry_classify(const pl_aws_error_detail_t *error) {
  if (error->status == 0) {
    if (error->transport == PL_EAGAIN)
      return PL_AWS_RETRY_TIMEOUT;
    if (error->transport == PL_EIO)
      return PL_AWS_RETRY_TRANSPORT;
    return PL_AWS_RETRY_NEVER;
  }
  const char *code = error->code ? error->code : "";
  /* SQS's JSON protocol names its legacy query codes with a service
   * prefix ("AWS.SimpleQueueService.RequestThrottled"): the rules are
   * about the last part. */
  const char *dot = strrchr(code, '.');
  if (dot)
    code = dot + 1;
  if (code_in(code, skew_codes))
    return PL_AWS_RETRY_CLOCK_SKEW;
  if (strcmp(code, "InvalidSignatureException") == 0 &&
      skew_message(error->message))
    return PL_AWS_RETRY_CLOCK_SKEW;
  if (code_in(code, stale_credentials_codes))
    return PL_AWS_RETRY_STALE_CREDENTIALS;
  if (code_in(code, throttling_codes) || error->status == 429)
    return PL_AWS_RETRY_THROTTLING;
  if (code_in(code, transient_codes))
    return PL_AWS_RETRY_TRANSIENT;
  switch (error->status) {
  case 500:
  case 502:
  case 503:
  case 504:
    return PL_AWS_RETRY_TRANSIENT;
  }
  return PL_AWS_RETRY_NEVER;
}

/* ---- Decisions ---- */

static int64_t abs64(int64_t v) {
  return v < 0 ? -v : v;
}

/* The full-jitter delay: uniform in [0, ceiling], ceiling being
 * min(base * 2^retry, cap), scaled from the injected 32-bit source so that
 * tests can script it. */
static uint64_t backoff(uint64_t base, uint64_t cap, unsigned retry,
                        const pl_aws_rng_t *rng) {
  uint64_t ceiling = pl_backoff_ceiling(base, cap, retry + 1);
  if (ceiling > UINT32_MAX)
    ceiling = UINT32_MAX; /* keeps the product below 2^64 */
  uint64_t r = rng->next(rng->data);
  return ((ceiling + 1) * r) >> 32;
}

int pl__aws_retry_decide(const pl_aws_retry_config_t *cfg,
                         pl_aws_retry_bucket_t *bucket,
                         pl_aws_retry_state_t *state,
                         const pl_aws_error_detail_t *error, int64_t now_ms,
                         const pl_aws_rng_t *rng,
                         pl_aws_retry_decision_t *out) {
  if (!cfg || !bucket || !state || !error || !rng || !rng->next || !out ||
      cfg->max_attempts == 0)
    return PL_EINVAL;
  pl_aws_retry_decision_t d = {.cls = pl__aws_retry_classify(error)};
  int64_t server_s = 0;
  int64_t offset_ms = 0;
  /* The Date header has whole seconds, so the offset is exact to within a
   * second, far below the minutes SigV4 tolerates. Dates stop at year 9999
   * (under 2^48 ms), so bounding `now_ms` keeps the difference from
   * overflowing; a clock that far off has no usable offset anyway. */
  bool have_date = error->date &&
                   pl_timestamp_parse_http_date(error->date, strlen(error->date),
                                                &server_s) == 0 &&
                   now_ms > INT64_MIN / 2 && now_ms < INT64_MAX / 2;
  if (have_date)
    offset_ms = server_s * 1000 - now_ms;
  if (d.cls == PL_AWS_RETRY_NEVER && error->code &&
      code_in(error->code, maybe_skew_codes) && have_date &&
      abs64(offset_ms) > PL_AWS_RETRY_SKEW_THRESHOLD_MS)
    d.cls = PL_AWS_RETRY_CLOCK_SKEW;

  if (d.cls == PL_AWS_RETRY_NEVER)
    d.stop = PL_AWS_RETRY_STOP_NOT_RETRYABLE;
  else if (state->attempt >= cfg->max_attempts)
    d.stop = PL_AWS_RETRY_STOP_MAX_ATTEMPTS;
  else if (d.cls == PL_AWS_RETRY_CLOCK_SKEW && !have_date)
    d.stop = PL_AWS_RETRY_STOP_SKEW_UNKNOWN;
  else if (d.cls == PL_AWS_RETRY_CLOCK_SKEW && state->skew_retried)
    d.stop = PL_AWS_RETRY_STOP_SKEW_REPEATED;
  else if (d.cls == PL_AWS_RETRY_STALE_CREDENTIALS &&
           state->credentials_refreshed)
    d.stop = PL_AWS_RETRY_STOP_STALE_REPEATED;
  if (d.stop != PL_AWS_RETRY_STOP_NONE) {
    *out = d;
    return 0;
  }

  if (d.cls == PL_AWS_RETRY_CLOCK_SKEW) {
    /* Our clock, not the service, failed: correcting it fixes the next
     * attempt, so waiting or spending the quota would only delay it. One
     * such retry per request keeps a wrong Date from looping. */
    state->skew_retried = true;
    d.adjust_clock = true;
    d.clock_offset_ms = offset_ms;
  } else if (d.cls == PL_AWS_RETRY_STALE_CREDENTIALS) {
    /* As for the clock: new credentials fix the next attempt, and
     * fetching them is the wait. Once per request, so that credentials
     * refused again do not loop. */
    state->credentials_refreshed = true;
  } else {
    unsigned cost = d.cls == PL_AWS_RETRY_TIMEOUT ? PL_AWS_RETRY_TIMEOUT_COST
                                                  : PL_AWS_RETRY_COST;
    if (bucket->unlimited)
      cost = 0;
    if (bucket->tokens < cost) {
      d.stop = PL_AWS_RETRY_STOP_QUOTA;
      *out = d;
      return 0;
    }
    bucket->tokens -= cost;
    state->last_cost = cost;
    d.cost = cost;
    uint64_t base = d.cls == PL_AWS_RETRY_THROTTLING
                        ? cfg->throttling_base_delay_ms
                        : cfg->base_delay_ms;
    d.delay_ms = backoff(base, cfg->max_backoff_ms, state->attempt - 1, rng);
  }
  state->attempt++;
  d.retry = true;
  *out = d;
  return 0;
}

void pl__aws_retry_on_success(pl_aws_retry_bucket_t *bucket,
                              const pl_aws_retry_state_t *state) {
  unsigned refund =
      state->last_cost ? state->last_cost : PL_AWS_RETRY_NO_RETRY_INCREMENT;
  if (bucket->tokens >= bucket->capacity)
    return;
  unsigned room = bucket->capacity - bucket->tokens;
  bucket->tokens += refund < room ? refund : room;
}

const char *pl__aws_attempts_source_name(pl_aws_attempts_source_t source) {
  switch (source) {
#define PL__AWS_ATTEMPTS_SOURCE_CASE(name, text)                               \
  case PL_AWS_ATTEMPTS_FROM_##name:                                            \
    return text;
    PL_AWS_ATTEMPTS_SOURCE_MAP(PL__AWS_ATTEMPTS_SOURCE_CASE)
#undef PL__AWS_ATTEMPTS_SOURCE_CASE
  }
  return "unknown";
}

#define PL_AWS_MAX_ATTEMPTS_LIMIT 100

/* `text` as attempts, or 0 when it is not a whole number in range. */
static unsigned attempts_of(const char *text) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < 1 || v > PL_AWS_MAX_ATTEMPTS_LIMIT)
    return 0;
  return (unsigned)v;
}

int pl__aws_attempts_resolve(const pl_aws_attempts_inputs_t *in,
                             unsigned *attempts,
                             pl_aws_attempts_source_t *source, char **error) {
  const struct {
    const char *text;
    pl_aws_attempts_source_t source;
  } texts[] = {{in->env, PL_AWS_ATTEMPTS_FROM_ENV},
               {in->profile, PL_AWS_ATTEMPTS_FROM_PROFILE}};
  if (in->plugin > 0 || in->block > 0) {
    *source = in->plugin > 0 ? PL_AWS_ATTEMPTS_FROM_PLUGIN
                             : PL_AWS_ATTEMPTS_FROM_BLOCK;
    *attempts = (unsigned)(in->plugin > 0 ? in->plugin : in->block);
    return 0;
  }
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    if (!texts[i].text || !*texts[i].text)
      continue;
    *attempts = attempts_of(texts[i].text);
    *source = texts[i].source;
    if (*attempts > 0)
      return 0;
    if (error) {
      pl_buf_t why = {0};
      if (texts[i].source == PL_AWS_ATTEMPTS_FROM_PROFILE &&
          in->profile_attempts_where)
        pl_buf_printf(&why, "%s: max_attempts", in->profile_attempts_where);
      else
        pl_buf_append_str(&why, pl__aws_attempts_source_name(texts[i].source));
      pl_buf_printf(&why, " is '%.32s', not a whole number from 1 to %d",
                    texts[i].text, PL_AWS_MAX_ATTEMPTS_LIMIT);
      *error = why.data;
    }
    return PL_EINVAL;
  }
  *attempts =
      in->default_attempts ? in->default_attempts : PL_AWS_RETRY_MAX_ATTEMPTS;
  *source = PL_AWS_ATTEMPTS_FROM_DEFAULT;
  return 0;
}

/* ---- Retry modes ---- */

/* The modes' names, in the enum's order. */
static const char *const mode_names[] = {
#define PL__AWS_RETRY_MODE_TEXT(name, text) text,
    PL_AWS_RETRY_MODE_MAP(PL__AWS_RETRY_MODE_TEXT)
#undef PL__AWS_RETRY_MODE_TEXT
};
#define MODE_COUNT (sizeof(mode_names) / sizeof(mode_names[0]))

const char *pl__aws_retry_mode_name(pl_aws_retry_mode_t mode) {
  return (unsigned)mode < MODE_COUNT ? mode_names[mode] : "unknown";
}

const char *pl__aws_retry_mode_source_name(pl_aws_attempts_source_t source) {
  switch (source) {
  case PL_AWS_ATTEMPTS_FROM_ENV:
    return "AWS_RETRY_MODE";
  case PL_AWS_ATTEMPTS_FROM_PROFILE:
    return "profile retry_mode";
  default:
    return pl__aws_attempts_source_name(source);
  }
}

/* The mode a text names (any case, as the SDKs accept), or false. */
static bool mode_of(const char *text, pl_aws_retry_mode_t *mode) {
  for (size_t i = 0; i < MODE_COUNT; i++) {
    if (strcasecmp(text, mode_names[i]) == 0) {
      *mode = (pl_aws_retry_mode_t)i;
      return true;
    }
  }
  return false;
}

int pl__aws_retry_resolve(const pl_aws_attempts_inputs_t *in,
                          pl_aws_retry_choice_t *out, char **error) {
  *out = (pl_aws_retry_choice_t){.mode = PL_AWS_RETRY_MODE_STANDARD,
                                 .mode_from = PL_AWS_ATTEMPTS_FROM_DEFAULT};
  const struct {
    const char *text;
    pl_aws_attempts_source_t source;
  } texts[] = {{in->env_mode, PL_AWS_ATTEMPTS_FROM_ENV},
               {in->profile_mode, PL_AWS_ATTEMPTS_FROM_PROFILE}};
  if (in->block_mode > 0) {
    out->mode = (pl_aws_retry_mode_t)(in->block_mode - 1);
    out->mode_from = PL_AWS_ATTEMPTS_FROM_BLOCK;
  } else {
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
      if (!texts[i].text || !*texts[i].text)
        continue;
      out->mode_from = texts[i].source;
      if (mode_of(texts[i].text, &out->mode))
        break;
      if (error) {
        pl_buf_t why = {0};
        if (texts[i].source == PL_AWS_ATTEMPTS_FROM_ENV)
          pl_buf_append_str(&why, "AWS_RETRY_MODE");
        else
          pl_buf_printf(&why, "%s: retry_mode",
                        in->profile_mode_where ? in->profile_mode_where
                                               : "profile");
        pl_buf_printf(&why, "=%.32s: expected legacy, standard or adaptive",
                      texts[i].text);
        *error = why.data;
      }
      return PL_EINVAL;
    }
  }
  pl_aws_attempts_inputs_t attempts = *in;
  if (!attempts.default_attempts)
    attempts.default_attempts = out->mode == PL_AWS_RETRY_MODE_LEGACY
                                    ? PL_AWS_RETRY_LEGACY_MAX_ATTEMPTS
                                    : PL_AWS_RETRY_MAX_ATTEMPTS;
  return pl__aws_attempts_resolve(&attempts, &out->attempts,
                                  &out->attempts_from, error);
}

void pl__aws_retry_apply(const pl_aws_retry_choice_t *choice,
                         pl_aws_retry_config_t *cfg,
                         pl_aws_retry_bucket_t *bucket) {
  cfg->max_attempts = choice->attempts;
  bucket->unlimited = choice->mode == PL_AWS_RETRY_MODE_LEGACY;
}
