/* The credentials chain: runs the providers in order on the loop, caches
 * what one yields, refreshes temporary credentials in the background and
 * hands one result to every caller that waited for it.
 *
 * States, for review: `current` (valid or not), `fetch` (a chain run in
 * progress, at most one) and `pending` (callers waiting for that run).
 * A run starts from the timer, never inside get(): a caller that gets
 * PL_EAGAIN is always called back from the loop (HACKING.md#s5). The same
 * timer waits for the next background refresh (5 minutes before expiry)
 * or for a retry after a failed one; it is unreferenced while it only
 * waits, so it never keeps a loop alive on its own. */
#include "credentials.h"

#include <pipelined/backoff.h>
#include <pipelined/timestamp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_profile.h"
#include "creds_ecs.h"
#include "creds_env.h"
#include "creds_imds.h"
#include "creds_profile.h"
#include "creds_providers.h"
#include "creds_sts.h"
#include "creds_sts_url.h"

/* Background refresh starts this long before credentials expire. */
#define PL__CREDS_REFRESH_BEFORE_S 300
/* Credentials this close to expiry are no longer handed out: a request
 * signed with them could arrive after they expired. */
#define PL__CREDS_EXPIRY_MARGIN_S 10
/* Retries of a failed background refresh: full jitter over an exponential
 * ceiling, at least a second apart. */
#define PL__CREDS_RETRY_BASE_S 1
#define PL__CREDS_RETRY_CAP_S 60

#define PL__CREDS_CLOSED_MESSAGE "AWS credentials provider closed"
#define PL__CREDS_DROPPED_MESSAGE "AWS credentials refused as expired"

typedef struct pending {
  pl_aws_creds_cb cb;
  void *data;
  struct pending *next;
} pending_t;

typedef struct fetch {
  pl_aws_creds_t *creds;
  size_t next;        /* the provider to run next */
  size_t running;     /* the provider of `op` */
  pl__creds_op_t *op; /* an asynchronous provider in flight, or NULL */
  pl_buf_t tried;     /* "environment: ...; profile default: ..." */
} fetch_t;

/* The services whose profile endpoint_url is read (the AWS SDKs' service
 * ids for the services section). */
#define PL_AWS_PROFILE_SERVICES 4
static const char *const profile_services[PL_AWS_PROFILE_SERVICES] = {
    "s3", "sqs", "dynamodb", "sts"};

/* The profile settings the clients read, in the order of
 * profile_where_of[]. */
static const char *const profile_settings[] = {"region", "max_attempts",
                                               "retry_mode", "endpoint_url"};
#define PROFILE_SETTINGS (sizeof profile_settings / sizeof *profile_settings)

struct pl_aws_creds {
  uv_loop_t *loop;
  const pl_http_transport_t *http;
  pl_env_t env;
  int64_t (*now)(void *data);
  void *now_data;
  uint64_t process_timeout_ms;
  char *profile;
  bool profile_chosen;
  bool profile_option; /* named by the option: the environment is skipped */
  char *profile_region;
  char *profile_max_attempts;
  char *profile_retry_mode;
  char *profile_where; /* "profile prod in /root/.aws/config" */
  /* Where each of profile_settings[] was set ("... line 3"), or NULL. */
  char *profile_where_of[PROFILE_SETTINGS];
  void (*on_new)(void *data, const pl_aws_credentials_t *credentials);
  void *on_new_data;
  char *profile_endpoint; /* the profile's endpoint_url */
  /* endpoint_url of each service in the profile's services section. */
  char *profile_service_endpoints[PL_AWS_PROFILE_SERVICES];
  char *sts_url;
  char *sts_region; /* signs AssumeRole */

  pl__creds_set_t *current;
  fetch_t *fetch;
  pending_t *pending;
  pending_t **pending_tail;
  /* The callers of the run that ended, each taken off before its turn:
   * a callback may forget another (pl__aws_creds_forget) or close the
   * provider (the others then get the closed message, from this list). */
  pending_t *delivering;
  bool in_delivery;
  uv_timer_t timer;
  bool timer_now;     /* armed to start a run on the next iteration */
  int64_t refresh_at; /* start a background run from then on; 0: never */
  unsigned failures;  /* background runs failed in a row */
  uint64_t generation; /* of the last set kept */
  pl_rng_t rng;       /* for the retry jitter */
  bool closing;
  bool timer_closed;
};

static const struct {
  const char *label; /* NULL: "profile NAME" */
  pl__creds_start_fn start;
} chain[] = {
    {"environment", pl__creds_env_start},
    {NULL, pl__creds_profile_start},
    {"web identity", pl__creds_web_identity_start},
    {"container", pl__creds_ecs_start},
    {"instance metadata", pl__creds_imds_start},
};
#define CHAIN_LENGTH (sizeof chain / sizeof chain[0])

static int64_t clock_now(const pl_aws_creds_t *creds) {
  return creds->now ? creds->now(creds->now_data) : (int64_t)time(NULL);
}

static bool usable(const pl__creds_set_t *set, int64_t now) {
  return set && (set->view.expires_at == 0 ||
                 now < set->view.expires_at - PL__CREDS_EXPIRY_MARGIN_S);
}

static void on_timer(uv_timer_t *timer);

/* Arms the one timer. A run due now keeps the loop alive (callers may be
 * waiting); a later one does not. */
static void arm_timer(pl_aws_creds_t *creds, int64_t delay_s) {
  uint64_t delay_ms = delay_s > 0 ? (uint64_t)delay_s * 1000 : 0;
  uv_timer_start(&creds->timer, on_timer, delay_ms, 0);
  creds->timer_now = delay_ms == 0;
  if (creds->timer_now)
    uv_ref((uv_handle_t *)&creds->timer);
  else
    uv_unref((uv_handle_t *)&creds->timer);
}

static void stop_timer(pl_aws_creds_t *creds) {
  uv_timer_stop(&creds->timer);
  creds->timer_now = false;
}

/* Seconds before the next refresh after `failures` in a row: full jitter
 * over an exponential ceiling, at least 1. */
static int64_t retry_delay(pl_aws_creds_t *creds) {
  uint64_t ceiling = pl_backoff_ceiling(PL__CREDS_RETRY_BASE_S,
                                        PL__CREDS_RETRY_CAP_S, creds->failures);
  return 1 + (int64_t)pl_rng_upto(&creds->rng, ceiling - 1);
}

static void free_creds(pl_aws_creds_t *creds) {
  pl__creds_set_free(creds->current);
  free(creds->profile);
  free(creds->profile_region);
  free(creds->profile_max_attempts);
  free(creds->profile_retry_mode);
  free(creds->profile_where);
  for (size_t i = 0; i < PROFILE_SETTINGS; i++)
    free(creds->profile_where_of[i]);
  free(creds->profile_endpoint);
  for (size_t i = 0; i < PL_AWS_PROFILE_SERVICES; i++)
    free(creds->profile_service_endpoints[i]);
  free(creds->sts_url);
  free(creds->sts_region);
  free(creds);
}

static void maybe_free(pl_aws_creds_t *creds) {
  if (creds->closing && creds->timer_closed && !creds->fetch)
    free_creds(creds);
}

static void fetch_free(fetch_t *fetch) {
  pl_buf_free(&fetch->tried);
  free(fetch);
}

/* Calls every waiting caller once, with the credentials or the error.
 * Callers that come meanwhile wait for the next run. Inside a callback
 * (a close), the waiting callers join the list being delivered. */
static void deliver(pl_aws_creds_t *creds, const char *error) {
  pending_t **tail = &creds->delivering;
  while (*tail)
    tail = &(*tail)->next;
  *tail = creds->pending;
  creds->pending = NULL;
  creds->pending_tail = &creds->pending;
  if (creds->in_delivery)
    return;
  creds->in_delivery = true;
  while (creds->delivering) {
    pending_t *entry = creds->delivering;
    creds->delivering = entry->next;
    /* A callback may close the provider: the rest are then cancelled. */
    if (creds->closing)
      entry->cb(entry->data, NULL, PL__CREDS_CLOSED_MESSAGE);
    else if (error || !creds->current) /* dropped by a callback */
      entry->cb(entry->data, NULL, error ? error : PL__CREDS_DROPPED_MESSAGE);
    else
      entry->cb(entry->data, &creds->current->view, NULL);
    free(entry);
  }
  creds->in_delivery = false;
}

/* Takes the entries of `cb` with `data` off `list`; returns the new last
 * `next` pointer of the list. */
static pending_t **forget_in(pending_t **list, pl_aws_creds_cb cb, void *data) {
  pending_t **at = list;
  while (*at) {
    pending_t *entry = *at;
    if (entry->cb == cb && entry->data == data) {
      *at = entry->next;
      free(entry);
    } else {
      at = &entry->next;
    }
  }
  return at;
}

void pl__aws_creds_forget(pl_aws_creds_t *creds, pl_aws_creds_cb cb,
                          void *data) {
  if (!creds)
    return;
  creds->pending_tail = forget_in(&creds->pending, cb, data);
  forget_in(&creds->delivering, cb, data);
}

/* Ends a run with `set` (stolen) or, when NULL, with the failure that
 * `fetch->tried` describes. */
static void finish(fetch_t *fetch, pl__creds_set_t *set) {
  pl_aws_creds_t *creds = fetch->creds;
  creds->fetch = NULL;
  int64_t now = clock_now(creds);
  pl_buf_t message = {0};
  if (set) {
    pl__creds_set_free(creds->current);
    creds->current = set;
    set->view.generation = ++creds->generation;
    creds->failures = 0;
    if (creds->on_new)
      creds->on_new(creds->on_new_data, &set->view);
    int64_t expires_at = set->view.expires_at;
    if (expires_at == 0) {
      creds->refresh_at = 0;
      stop_timer(creds);
    } else {
      creds->refresh_at = expires_at - PL__CREDS_REFRESH_BEFORE_S;
      /* Credentials that arrive already inside the refresh window would
       * make every get() start a run: wait half the life they have left
       * to be handed out (take_result() refused any that had none). */
      if (creds->refresh_at < now + 1) {
        int64_t half = (expires_at - PL__CREDS_EXPIRY_MARGIN_S - now) / 2;
        creds->refresh_at = now + (half > 1 ? half : 1);
      }
      arm_timer(creds, creds->refresh_at - now);
    }
  } else {
    if (pl_buf_printf(&message, "no AWS credentials: %s",
                      fetch->tried.data ? fetch->tried.data : "") < 0)
      pl_buf_free(&message);
    if (usable(creds->current, now)) {
      /* A background refresh failed: keep serving, retry later. */
      creds->failures++;
      int64_t delay = retry_delay(creds);
      creds->refresh_at = now + delay;
      arm_timer(creds, delay);
    } else {
      pl__creds_set_free(creds->current);
      creds->current = NULL;
      creds->refresh_at = 0;
      creds->failures = 0;
      stop_timer(creds);
    }
  }
  fetch_free(fetch);
  deliver(creds, set            ? NULL
                 : message.data ? message.data
                                : "no AWS credentials: out of memory");
  pl_buf_free(&message);
}

/* Why credentials that expire at `expires_at` cannot be used at `now`
 * (new string, NULL when out of memory). */
static char *unusable_reason(int64_t expires_at, int64_t now) {
  pl_timestamp_t t;
  char when[32] = "?";
  if (pl_timestamp_from_epoch(expires_at, &t) == 0)
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year,
             t.month, t.day, t.hour, t.minute, t.second);
  pl_buf_t reason = {0};
  int rc = expires_at <= now
               ? pl_buf_printf(&reason,
                               "the credentials it gave expired at %s, %lld s "
                               "ago (is the clock right?)",
                               when, (long long)(now - expires_at))
               : pl_buf_printf(&reason,
                               "the credentials it gave expire at %s, in %lld "
                               "s: too soon to use them (is the clock right?)",
                               when, (long long)(expires_at - now));
  if (rc < 0)
    pl_buf_free(&reason);
  return reason.data;
}

/* Records one provider's answer; returns true when the run is over. */
static bool take_result(fetch_t *fetch, size_t index,
                        pl__creds_result_t *result) {
  if (result->outcome == PL__CREDS_FOUND && result->set) {
    int64_t now = clock_now(fetch->creds);
    if (usable(result->set, now)) {
      pl__creds_set_t *set = result->set;
      result->set = NULL;
      pl__creds_result_clear(result);
      finish(fetch, set);
      return true;
    }
    /* Credentials already expired (a clock far off, an endpoint serving
     * stale ones) are a failure of their provider: kept, they would be
     * refused by every service, and every get() would fetch them again. */
    char *reason = unusable_reason(result->set->view.expires_at, now);
    pl__creds_result_clear(result);
    result->outcome = PL__CREDS_FAILED;
    result->reason = reason;
  }
  pl_buf_t *tried = &fetch->tried;
  const char *reason = result->reason ? result->reason : "out of memory";
  int rc = tried->len ? pl_buf_append_str(tried, "; ") : 0;
  if (rc == 0 && chain[index].label)
    rc = pl_buf_printf(tried, "%s: %s", chain[index].label, reason);
  else if (rc == 0)
    rc = pl_buf_printf(tried, "profile %s: %s", fetch->creds->profile, reason);
  (void)rc; /* a message cut short by ENOMEM still says what it can */
  bool failed = result->outcome != PL__CREDS_ABSENT;
  pl__creds_result_clear(result);
  if (failed)
    finish(fetch, NULL);
  return failed;
}

static void on_provider_done(void *data, pl__creds_result_t *result);

/* Runs providers from fetch->next until one answers asynchronously or
 * the run is over. */
static void run_chain(fetch_t *fetch) {
  pl_aws_creds_t *creds = fetch->creds;
  const pl__creds_ctx_t ctx = {
      .loop = creds->loop,
      .http = creds->http,
      .env = &creds->env,
      .now = clock_now(creds),
      .sts_url = creds->sts_url,
      .sts_region = creds->sts_region,
      .profile = creds->profile,
      .profile_chosen = creds->profile_chosen,
      .process_timeout_ms = creds->process_timeout_ms,
  };
  while (fetch->next < CHAIN_LENGTH) {
    size_t index = fetch->next++;
    /* As the SDKs do with an explicit profile (aws --profile): the
     * profile's credentials, not the environment's, which a role's
     * credential_source = Environment may still use. */
    if (chain[index].start == pl__creds_env_start && creds->profile_option)
      continue;
    pl__creds_result_t result = {0};
    pl__creds_op_t *op = NULL;
    int rc = chain[index].start(&ctx, &result, on_provider_done, fetch, &op);
    if (rc == PL_EAGAIN) {
      fetch->op = op;
      fetch->running = index;
      return;
    }
    if (rc < 0) {
      pl__creds_result_clear(&result);
      result.outcome = PL__CREDS_FAILED; /* no reason: out of memory */
    }
    if (take_result(fetch, index, &result))
      return;
  }
  finish(fetch, NULL);
}

static void on_provider_done(void *data, pl__creds_result_t *result) {
  fetch_t *fetch = data;
  pl_aws_creds_t *creds = fetch->creds;
  fetch->op = NULL;
  if (creds->closing) {
    pl__creds_result_clear(result);
    creds->fetch = NULL;
    fetch_free(fetch);
    maybe_free(creds);
    return;
  }
  if (!take_result(fetch, fetch->running, result))
    run_chain(fetch);
}

static void on_timer(uv_timer_t *timer) {
  pl_aws_creds_t *creds = timer->data;
  creds->timer_now = false;
  if (creds->closing || creds->fetch)
    return;
  fetch_t *fetch = calloc(1, sizeof *fetch);
  if (!fetch) {
    deliver(creds, "no AWS credentials: out of memory");
    return;
  }
  fetch->creds = creds;
  creds->fetch = fetch;
  run_chain(fetch);
}

static void on_timer_closed(uv_handle_t *handle) {
  pl_aws_creds_t *creds = handle->data;
  creds->timer_closed = true;
  maybe_free(creds);
}

int pl__aws_creds_create(const pl_aws_creds_options_t *opts,
                         pl_aws_creds_t **out) {
  *out = NULL;
  if (!opts || !opts->loop || !opts->http || !opts->http->submit)
    return PL_EINVAL;
  pl_aws_creds_t *creds = calloc(1, sizeof *creds);
  if (!creds)
    return PL_ENOMEM;
  creds->loop = opts->loop;
  creds->http = opts->http;
  if (opts->env)
    creds->env = *opts->env;
  creds->now = opts->now;
  creds->now_data = opts->now_data;
  creds->process_timeout_ms = opts->process_timeout_ms;
  creds->on_new = opts->on_new;
  creds->on_new_data = opts->on_new_data;
  creds->pending_tail = &creds->pending;
  creds->profile_option = opts->profile != NULL;
  pl_rng_seed(&creds->rng, (uint64_t)(uintptr_t)creds);
  creds->profile = strdup(pl__aws_profile_select(&creds->env, opts->profile,
                                                 &creds->profile_chosen));
  int rc = creds->profile ? 0 : PL_ENOMEM;
  if (rc == 0) {
    /* The region only: credentials are read again at every run, and a
     * broken file is reported by the run that needs it. */
    pl_aws_profile_t *profile = NULL;
    char *error = NULL;
    if (pl__aws_profile_load(&creds->env, creds->profile, &profile, &error) ==
        0) {
      char **to[] = {&creds->profile_region, &creds->profile_max_attempts,
                     &creds->profile_retry_mode, &creds->profile_endpoint};
      for (size_t i = 0; rc == 0 && i < PROFILE_SETTINGS; i++) {
        const char *value = pl__aws_profile_get(profile, profile_settings[i]);
        if (value && *value) {
          *to[i] = strdup(value);
          rc = *to[i] ? pl__aws_profile_where(profile, profile_settings[i],
                                              &creds->profile_where_of[i])
                      : PL_ENOMEM;
        }
      }
      /* No key of that name: the profile and its config file. */
      if (rc == 0)
        rc = pl__aws_profile_where(profile, "", &creds->profile_where);
      for (size_t i = 0; rc == 0 && i < PL_AWS_PROFILE_SERVICES; i++)
        creds->profile_service_endpoints[i] = pl__aws_profile_service_setting(
            profile, profile_services[i], "endpoint_url");
    }
    free(error);
    pl__aws_profile_destroy(profile);
  }
  if (rc == 0) {
    bool specific = false;
    const char *sts_endpoint =
        pl__aws_creds_profile_endpoint(creds, "sts", &specific);
    const pl__creds_sts_inputs_t sts = {
        .env = &creds->env,
        .region = opts->region,
        .endpoint = opts->sts_endpoint,
        .profile_region = creds->profile_region,
        .profile_service_endpoint = specific ? sts_endpoint : NULL,
        .profile_endpoint = creds->profile_endpoint,
    };
    rc = pl__creds_sts_url(&sts, &creds->sts_url, &creds->sts_region);
  }
  if (rc == 0)
    rc = uv_timer_init(creds->loop, &creds->timer) < 0 ? PL_EIO : 0;
  if (rc < 0) {
    free_creds(creds);
    return rc;
  }
  creds->timer.data = creds;
  uv_unref((uv_handle_t *)&creds->timer);
  *out = creds;
  return 0;
}

int pl__aws_creds_get(pl_aws_creds_t *creds, const pl_aws_credentials_t **now,
                      pl_aws_creds_cb cb, void *data) {
  if (now)
    *now = NULL;
  if (!creds || !now)
    return PL_EINVAL;
  if (creds->closing)
    return PL_ECANCELED;
  int64_t t = clock_now(creds);
  if (usable(creds->current, t)) {
    if (creds->refresh_at && t >= creds->refresh_at && !creds->fetch &&
        !creds->timer_now)
      arm_timer(creds, 0); /* background refresh; these stay valid */
    *now = &creds->current->view;
    return 0;
  }
  if (!cb)
    return PL_EINVAL;
  pending_t *entry = malloc(sizeof *entry);
  if (!entry)
    return PL_ENOMEM;
  *entry = (pending_t){.cb = cb, .data = data};
  *creds->pending_tail = entry;
  creds->pending_tail = &entry->next;
  if (!creds->fetch && !creds->timer_now)
    arm_timer(creds, 0);
  return PL_EAGAIN;
}

bool pl__aws_creds_invalidate(pl_aws_creds_t *creds, uint64_t generation) {
  if (!creds || !creds->current ||
      creds->current->view.generation != generation)
    return false;
  pl__creds_set_free(creds->current);
  creds->current = NULL;
  creds->refresh_at = 0;
  creds->failures = 0;
  /* The next get() starts a run; a later background refresh has nothing
   * to refresh. A run armed for now is left to start. */
  if (!creds->timer_now)
    stop_timer(creds);
  return true;
}

const char *pl__aws_creds_profile_endpoint(const pl_aws_creds_t *creds,
                                          const char *service,
                                          bool *service_specific) {
  *service_specific = false;
  for (size_t i = 0; service && i < PL_AWS_PROFILE_SERVICES; i++) {
    if (strcmp(service, profile_services[i]) == 0 &&
        creds->profile_service_endpoints[i] &&
        *creds->profile_service_endpoints[i]) {
      *service_specific = true;
      return creds->profile_service_endpoints[i];
    }
  }
  return creds->profile_endpoint;
}

const char *pl__aws_creds_profile_max_attempts(const pl_aws_creds_t *creds) {
  return creds->profile_max_attempts;
}

const char *pl__aws_creds_profile_retry_mode(const pl_aws_creds_t *creds) {
  return creds->profile_retry_mode;
}

const char *pl__aws_creds_profile_where(const pl_aws_creds_t *creds,
                                        const char *key) {
  for (size_t i = 0; key && i < PROFILE_SETTINGS; i++)
    if (strcmp(key, profile_settings[i]) == 0 && creds->profile_where_of[i])
      return creds->profile_where_of[i];
  return creds->profile_where;
}

const char *pl__aws_creds_profile_name(const pl_aws_creds_t *creds) {
  return creds->profile;
}

const char *pl__aws_creds_profile_source(const pl_aws_creds_t *creds) {
  return creds->profile_option   ? "aws {} block"
         : creds->profile_chosen ? "AWS_PROFILE"
                                 : "default";
}

const char *pl__aws_creds_profile_region(const pl_aws_creds_t *creds) {
  return creds->profile_region;
}

void pl__aws_creds_close(pl_aws_creds_t *creds) {
  if (!creds || creds->closing)
    return;
  creds->closing = true;
  uv_close((uv_handle_t *)&creds->timer, on_timer_closed);
  deliver(creds, PL__CREDS_CLOSED_MESSAGE);
  /* Last: the provider's callback may run inside cancel(). */
  if (creds->fetch && creds->fetch->op)
    creds->fetch->op->cancel(creds->fetch->op);
}
