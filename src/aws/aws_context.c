/* The engine-wide AWS context. */
#include <stdlib.h>

#include "aws_context.h"

static int64_t clock_now_ms(void *data) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t pl__aws_context_now_ms(const pl_aws_context_t *ctx) {
  return ctx->opts.now_ms(ctx->opts.now_data);
}

static int64_t creds_now(void *data) {
  const pl_aws_context_t *ctx = data;
  return (pl__aws_context_now_ms(ctx) + ctx->clock_offset_ms) / 1000;
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
    if (!opts->tls_verify)
      pl__log(opts->log, PL_LOG_WARN,
              "aws: tls_verify = false: TLS certificates are not checked; "
              "use this only against a local emulator");
    pl_http_curl_options_t curl = {.tls_verify = opts->tls_verify,
                                   .max_in_flight = 0};
    rc = pl__http_curl_create(opts->loop, &curl, &ctx->curl);
    if (rc == 0)
      ctx->http = pl__http_curl_transport(ctx->curl);
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

static void on_curl_closed(void *data) { free(data); }

void pl__aws_context_close(pl_aws_context_t *ctx) {
  if (!ctx || ctx->closing)
    return;
  ctx->closing = true;
  if (ctx->creds)
    pl__aws_creds_close(ctx->creds);
  if (ctx->curl)
    pl__http_curl_close(ctx->curl, on_curl_closed, ctx);
  else
    free(ctx);
}
