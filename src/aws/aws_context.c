/* The engine-wide AWS context, and the engine extension that makes one
 * from the aws { } block. */
#include <pipelined/aws.h>
#include <pipelined/timestamp.h>
#include <stdlib.h>
#include <string.h>

#include "aws_context.h"
#include "creds_imds.h"
#include "tls.h"

static int64_t clock_now_ms(void *data) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t pl__aws_context_now_ms(const pl_aws_context_t *ctx) {
  return ctx->opts.now_ms(ctx->opts.now_data);
}

/* Says where each new set of credentials came from (never what it holds). */
static void on_new_credentials(void *data,
                               const pl_aws_credentials_t *credentials) {
  const pl_aws_context_t *ctx = data;
  if (!ctx->opts.ext)
    return;
  if (credentials->expires_at == 0) {
    pl_extension_log(ctx->opts.ext, PL_LOG_INFO, "credentials from %s",
                     credentials->source);
    return;
  }
  pl_buf_t when = {0};
  pl_timestamp_t t;
  if (pl_timestamp_from_epoch(credentials->expires_at, &t) == 0)
    pl_buf_printf(&when, ", until %04d-%02d-%02dT%02d:%02d:%02dZ", t.year,
                  t.month, t.day, t.hour, t.minute, t.second);
  pl_extension_log(ctx->opts.ext, PL_LOG_INFO, "credentials from %s%s",
                   credentials->source, when.data ? when.data : "");
  pl_buf_free(&when);
}

static int64_t creds_now(void *data) {
  const pl_aws_context_t *ctx = data;
  return (pl__aws_context_now_ms(ctx) + ctx->clock_offset_ms) / 1000;
}

/* libcurl honours these proxy variables and the builtin client does not
 * do proxies: with any of them set, every request goes through libcurl. */
static bool proxy_set(const pl_env_t *env) {
  static const char *const names[] = {"HTTPS_PROXY", "https_proxy",
                                      "HTTP_PROXY",  "http_proxy",
                                      "ALL_PROXY",   "all_proxy"};
  if (!env || !env->getenv)
    return false;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *value = env->getenv(env->data, names[i]);
    if (value && *value)
      return true;
  }
  return false;
}

/* A ca_file that cannot be read, or holds no certificate, is refused at
 * start, named, rather than failing every https request later. */
static int check_ca_file(const pl_aws_context_options_t *opts) {
  if (!opts->ca_file)
    return 0;
  pl_tls_context_t *tls = NULL;
  char *error = NULL;
  int rc = pl__tls_context_create(true, opts->ca_file, &tls, &error);
  if (rc < 0) {
    if (opts->ext)
      pl_extension_log(opts->ext, PL_LOG_ERROR, "ca_file: %s",
                       error ? error : pl_strerror(rc));
    free(error);
    return rc == PL_ENOMEM ? rc : PL_EINVAL;
  }
  pl__tls_context_free(tls);
  return 0;
}

int pl__aws_context_create(const pl_aws_context_options_t *opts,
                           pl_aws_context_t **out) {
  pl_aws_context_t *ctx = calloc(1, sizeof(*ctx));
  if (!ctx)
    return PL_ENOMEM;
  ctx->opts = *opts;
  if (!ctx->opts.now_ms)
    ctx->opts.now_ms = clock_now_ms;
  if (uv_random(NULL, NULL, &ctx->rng.state, sizeof(ctx->rng.state), 0,
                NULL) != 0)
    pl_rng_seed(&ctx->rng, (uint64_t)(uintptr_t)ctx);
  int rc = 0;
  if (opts->transport) {
    ctx->http = opts->transport;
  } else {
    if (!opts->tls_verify && opts->ext)
      pl_extension_log(opts->ext, PL_LOG_WARN,
                       "tls_verify = false: TLS certificates are not "
                       "checked; use this only against a local emulator");
    rc = check_ca_file(opts);
    pl_http_curl_options_t curl = {.tls_verify = opts->tls_verify,
                                   .ca_file = opts->ca_file,
                                   .max_in_flight = 0};
    if (rc == 0)
    rc = pl__http_curl_create(opts->loop, &curl, &ctx->curl);
    if (rc == 0)
      ctx->http = pl__http_curl_transport(ctx->curl);
    if (rc == 0 && !opts->curl_only && !proxy_set(opts->env)) {
      pl_http_h1_options_t h1 = {.fallback = ctx->http,
                                 .tls_verify = opts->tls_verify,
                                 .ca_file = opts->ca_file};
      rc = pl__http_h1_create(opts->loop, &h1, &ctx->h1);
      if (rc == 0)
        ctx->http = pl__http_h1_transport(ctx->h1);
    }
  }
  if (rc == 0) {
    pl_aws_creds_options_t creds = {
        .loop = opts->loop,
        .http = ctx->http,
        .env = opts->env,
        .profile = opts->profile,
        .region = opts->region,
        .now = creds_now,
        .now_data = ctx,
        .on_new = on_new_credentials,
        .on_new_data = ctx,
    };
    rc = pl__aws_creds_create(&creds, &ctx->creds);
  }
  if (rc < 0) {
    pl__aws_context_close(ctx);
    return rc;
  }
  *out = ctx;
  return 0;
}

static void free_context(pl_aws_context_t *ctx) {
  pl__aws_stats_free(&ctx->stats);
  free(ctx->imds_region);
  free(ctx->imds_region_error);
  free(ctx);
}

static void on_curl_closed(void *data) { free_context(data); }

/* The builtin client relays to curl: curl closes after it. */
static void on_h1_closed(void *data) {
  pl_aws_context_t *ctx = data;
  pl__http_curl_close(ctx->curl, on_curl_closed, ctx);
}

void pl__aws_context_close(pl_aws_context_t *ctx) {
  if (!ctx || ctx->closing)
    return;
  ctx->closing = true;
  if (ctx->creds)
    pl__aws_creds_close(ctx->creds);
  if (ctx->h1)
    pl__http_h1_close(ctx->h1, on_h1_closed, ctx);
  else if (ctx->curl)
    pl__http_curl_close(ctx->curl, on_curl_closed, ctx);
  else
    free_context(ctx);
}

int pl__aws_context_retry(const pl_aws_context_t *ctx, int64_t plugin_attempts,
                          pl_aws_retry_choice_t *out, char **error) {
  const pl_env_t *env = ctx->opts.env;
  pl_aws_attempts_inputs_t in = {
      .plugin = plugin_attempts,
      .block = ctx->opts.max_attempts,
      .env = env && env->getenv ? env->getenv(env->data, "AWS_MAX_ATTEMPTS")
                                : NULL,
      .profile = pl__aws_creds_profile_max_attempts(ctx->creds),
      .block_mode = ctx->opts.retry_mode,
      .env_mode =
          env && env->getenv ? env->getenv(env->data, "AWS_RETRY_MODE") : NULL,
      .profile_mode = pl__aws_creds_profile_retry_mode(ctx->creds),
      .profile_attempts_where =
          pl__aws_creds_profile_where(ctx->creds, "max_attempts"),
      .profile_mode_where =
          pl__aws_creds_profile_where(ctx->creds, "retry_mode"),
  };
  return pl__aws_retry_resolve(&in, out, error);
}

/* ---- The region from instance metadata ---- */

typedef struct imds_wait {
  bool done;
  pl__creds_result_t result;
} imds_wait_t;

static void on_imds_region(void *data, pl__creds_result_t *result) {
  imds_wait_t *wait = data;
  wait->result = *result; /* takes what it holds */
  wait->done = true;
}

static void on_private_curl_closed(void *data) {
  *(bool *)data = true;
}

/* Runs the lookup to its end on a loop of its own (the daemon's loop is
 * not re-entered): the answer in ctx->imds_region, else the reason in
 * ctx->imds_region_error. Returns 0 or PL_ENOMEM. */
static int ask_imds_region(pl_aws_context_t *ctx) {
  ctx->imds_region_asked = true;
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return PL_ENOMEM;
  pl_http_curl_t *curl = NULL;
  pl_http_curl_options_t curl_opts = {.tls_verify = ctx->opts.tls_verify,
                                      .ca_file = ctx->opts.ca_file};
  imds_wait_t wait = {0};
  int rc = pl__http_curl_create(&loop, &curl_opts, &curl);
  if (rc == 0) {
    pl__creds_ctx_t creds_ctx = {.loop = &loop,
                                 .http = pl__http_curl_transport(curl),
                                 .env = ctx->opts.env};
    pl__creds_op_t *op = NULL;
    rc = pl__creds_imds_region_start(&creds_ctx, &wait.result, on_imds_region,
                                     &wait, &op);
    if (rc == PL_EAGAIN) {
      rc = 0;
      while (!wait.done && uv_run(&loop, UV_RUN_ONCE) != 0) {
      }
    } else if (rc == 0) {
      wait.done = true;
    }
    bool closed = false;
    pl__http_curl_close(curl, on_private_curl_closed, &closed);
    while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop);
  if (rc < 0 || !wait.done) {
    pl__creds_result_clear(&wait.result);
    return rc < 0 ? rc : PL_ENOMEM;
  }
  if (wait.result.outcome == PL__CREDS_FOUND && wait.result.value) {
    ctx->imds_region = wait.result.value;
    wait.result.value = NULL;
  } else {
    ctx->imds_region_error =
        strdup(wait.result.reason ? wait.result.reason : "out of memory");
  }
  pl__creds_result_clear(&wait.result);
  if (ctx->opts.ext && ctx->imds_region)
    pl_extension_log(ctx->opts.ext, PL_LOG_INFO,
                     "region %s from instance metadata", ctx->imds_region);
  return ctx->imds_region || ctx->imds_region_error ? 0 : PL_ENOMEM;
}

int pl__aws_context_region(pl_aws_context_t *ctx, pl_aws_endpoint_inputs_t *in,
                           char **region, pl_aws_region_source_t *source,
                           char **error) {
  in->profile_region = pl__aws_creds_profile_region(ctx->creds);
  in->profile_where = pl__aws_creds_profile_where(ctx->creds, NULL);
  in->env = ctx->opts.env;
  int rc = pl__aws_region_resolve(in, region, source, error);
  if (rc != PL_ENOENT)
    return rc;
  if (!ctx->imds_region_asked) {
    rc = ask_imds_region(ctx);
    if (rc < 0)
      return rc;
  }
  if (error) {
    free(*error);
    *error = NULL;
  }
  in->imds_region = ctx->imds_region;
  in->imds_error = ctx->imds_region_error;
  return pl__aws_region_resolve(in, region, source, error);
}

/* ---- The extension ---- */

static const pl_option_t aws_options[] = {
    PL_OPTION_STRING(pl_aws_settings_t, region, "region", NULL, 0,
                     "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the "
                     "profile's, or the EC2 instance's from instance "
                     "metadata)."),
    PL_OPTION_STRING(pl_aws_settings_t, profile, "profile", NULL, 0,
                     "Profile of the shared credentials and config files."),
    PL_OPTION_STRING(pl_aws_settings_t, endpoint, "endpoint", NULL, 0,
                     "Endpoint URL for every AWS service (e.g. a local "
                     "emulator)."),
    PL_OPTION_INT_RANGE(pl_aws_settings_t, max_attempts, "max_attempts", NULL,
                        1, 100, 0,
                        "Attempts per AWS request, the first one included "
                        "(else AWS_MAX_ATTEMPTS, the profile's "
                        "max_attempts, or 3; 5 in legacy mode)."),
    PL_OPTION_ENUM(pl_aws_settings_t, retry_mode, "retry_mode", "default",
                   PL_AWS_RETRY_MODE_CHOICES, 0,
                   "How AWS requests are retried: standard (backoff with "
                   "full jitter and a retry quota), legacy (5 attempts, no "
                   "quota) or adaptive (standard; requests already adapt "
                   "their concurrency to throttling); default: "
                   "AWS_RETRY_MODE, else the profile's retry_mode, else "
                   "standard."),
    PL_OPTION_BOOL(pl_aws_settings_t, tls_verify, "tls_verify", "true", 0,
                   "Check TLS certificates (false logs a warning; for local "
                   "emulators only)."),
    PL_OPTION_DURATION(pl_aws_settings_t, request_timeout_ms, "request_timeout",
                       "60s", 0,
                       "Longest time an AWS request that is not a download "
                       "may take, per attempt, on top of an SQS receive's "
                       "wait_time (0: none)."),
    PL_OPTION_DURATION(pl_aws_settings_t, read_timeout_ms, "read_timeout",
                       "30s", 0,
                       "A download (S3 GetObject) that receives nothing for "
                       "this long, while not paused by backpressure, is "
                       "aborted and resumed (0: none)."),
    PL_OPTION_ENUM(pl_aws_settings_t, http_client, "http_client", "builtin",
                   PL_AWS_HTTP_CLIENT_CHOICES, 0,
                   "HTTP client of AWS requests: builtin (a lean HTTP/1.1 "
                   "client for requests whose body is at most 1 MiB, "
                   "downloads included; libcurl for larger bodies such as "
                   "S3 parts, and everything while a proxy variable is set) "
                   "or curl (libcurl for everything)."),
    PL_OPTION_STRING(pl_aws_settings_t, ca_file, "ca_file", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "PEM file of the certificate authorities that AWS "
                     "endpoints' TLS certificates are checked against, "
                     "instead of the system's store (a TLS-inspecting "
                     "proxy, a private endpoint); relative to the config "
                     "file's directory."),
};

static int extension_create(pl_extension_t *ext, const void *data,
                            void **state) {
  const pl_aws_settings_t *settings = data;
  pl_aws_context_options_t opts = {
      .loop = pl_extension_loop(ext),
      .env = pl_extension_env(ext),
      .ext = ext,
      .region = settings->region,
      .profile = settings->profile,
      .endpoint = settings->endpoint,
      .max_attempts = settings->max_attempts,
      .retry_mode = settings->retry_mode,
      .tls_verify = settings->tls_verify,
      .request_timeout_ms = settings->request_timeout_ms,
      .read_timeout_ms = settings->read_timeout_ms,
      .curl_only = settings->http_client == 1,
      .ca_file = settings->ca_file,
  };
  pl_aws_context_t *ctx = NULL;
  int rc = pl__aws_context_create(&opts, &ctx);
  if (rc == 0)
    *state = ctx;
  return rc;
}

static void extension_close(void *state) { pl__aws_context_close(state); }

static void extension_metrics(const void *state, pl_buf_t *out) {
  const pl_aws_context_t *ctx = state;
  pl__aws_stats_render(&ctx->stats, out);
}

const pl_extension_type_t pl_aws_extension = {
    .name = "aws",
    .description = "Settings every AWS client of the daemon shares: region, "
                   "profile, endpoint, attempts, TLS and timeouts.",
    .options = aws_options,
    .options_count = sizeof(aws_options) / sizeof(aws_options[0]),
    .settings_size = sizeof(pl_aws_settings_t),
    .create = extension_create,
    .close = extension_close,
    .metrics = extension_metrics,
};

int pl__aws_context_of(pl_instance_t *inst, pl_aws_context_t **out) {
  void *state = NULL;
  int rc = pl_extension_get(inst, &pl_aws_extension, &state);
  if (rc == 0)
    *out = state;
  return rc;
}
