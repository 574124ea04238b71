/* The life of one AWS call: each attempt gets fresh credentials, is signed
 * with the corrected clock and sent through the engine's transport; its
 * answer is counted for /metrics, and a failure is classified by the
 * standard retry mode: retry after a backoff, retry at once with a
 * corrected clock, or give the structured error to the caller. */
#include <stdlib.h>
#include <string.h>

#include "aws_call.h"
#include "aws_error.h"

static void attempt(pl_aws_call_t *call);

/* ---- Errors ---- */

/* The public view of `d`, with the answer's `body` (borrowed; NULL for a
 * transport failure). */
static void to_public(const pl_aws_error_detail_t *d, const char *body,
                      size_t body_len, pl_aws_error_t *out) {
  *out = (pl_aws_error_t){
      .service = d->service,
      .operation = d->operation,
      .status = d->status,
      .code = d->code ? d->code : pl__aws_transport_code(d->transport),
      .message = d->message ? d->message : "",
      .request_id = d->request_id,
      .retryable = d->retryable,
      .body = body,
      .body_len = body ? body_len : 0,
  };
}

static const char *response_header(const void *data, const char *name) {
  return pl__http_header(data, name);
}

/* ---- Call lifecycle ---- */

void pl__aws_call_free(pl_aws_call_t *call) {
  for (size_t i = 0; i < call->header_count; i++)
    free(call->header_text[i]);
  if (call->headers != call->header_room) {
    free(call->header_text);
    free(call->headers);
  }
  for (size_t i = 0; i < PL_AWS_CALL_OWNED; i++)
    free(call->owned[i]);
  free(call->body);
  free(call);
}

static void on_timer_closed(uv_handle_t *handle) { pl__aws_call_free(handle->data); }

static void start_waiting(pl_aws_client_t *client);

/* The call is over: release its slot, free it, let the next one start. */
static void release(pl_aws_call_t *call) {
  pl_aws_client_t *client = call->client;
  if (call->started)
    client->in_flight--;
  pl__dlist_remove(&client->calls, &call->node);
  if (call->timer_open)
    uv_close((uv_handle_t *)&call->timer, on_timer_closed);
  else
    pl__aws_call_free(call);
  start_waiting(client);
  pl__aws_client_maybe_free(client);
}

/* Hands the error to the caller and ends the call. */
static void finish_public(pl_aws_call_t *call, const pl_aws_error_t *error) {
  call->finished = true;
  if (call->kind == CALL_JSON && call->text_cb)
    call->text_cb(call->data, NULL, 0, error);
  else if (call->kind == CALL_JSON)
    call->json_cb(call->data, NULL, error);
  else
    call->rest.on_done(call->rest.data, error->status, NULL, 0, error);
  release(call);
}

static void finish_error(pl_aws_call_t *call, const pl_aws_error_detail_t *d,
                         const char *body, size_t body_len) {
  pl_aws_error_t error;
  to_public(d, body, body_len, &error);
  finish_public(call, &error);
}

static void fail_transport(pl_aws_call_t *call, int code, const char *text) {
  pl_aws_error_detail_t *d = NULL;
  if (pl__aws_error_from_transport(call->client->service, call->operation,
                                   code, text, &d) < 0) {
    /* Out of memory for the detail: the public view, as to_public() would
     * build it, from what is at hand. */
    const pl_aws_error_t fallback = {.service = call->client->service,
                                     .operation = call->operation,
                                     .code = pl__aws_transport_code(code),
                                     .message = text ? text : ""};
    finish_public(call, &fallback);
    return;
  }
  finish_error(call, d, NULL, 0);
  pl__aws_error_destroy(d);
}

static void on_backoff(uv_timer_t *timer) { attempt(timer->data); }

/* The call's timer, initialised on its first use (a backoff, a failure to
 * send). */
static uv_timer_t *call_timer(pl_aws_call_t *call) {
  if (!call->timer_open) {
    uv_timer_init(call->client->ctx->opts.loop, &call->timer);
    call->timer.data = call;
    call->timer_open = true;
  }
  return &call->timer;
}

static void on_send_failed(uv_timer_t *timer) {
  pl_aws_call_t *call = timer->data;
  fail_transport(call, call->send_error, call->send_error_text);
}

/* An attempt that could not be sent (no credentials, a signature or a
 * request refused, memory) fails from the loop, never from inside the
 * function that started it: pl_aws_json_call() and pl_aws_rest_call()
 * promise the callback later (their caller has not yet kept the call or
 * counted it), and release() starts waiting calls while it still uses
 * the client, which such a callback may destroy. `text` is a literal. */
static void fail_to_send(pl_aws_call_t *call, int code, const char *text) {
  call->send_error = code;
  call->send_error_text = text;
  uv_timer_start(call_timer(call), on_send_failed, 0, 0);
}

/* A service refused the attempt's credentials as expired before their
 * Expiration (a session token revoked, a provider's clock ahead): the
 * cached set is dropped, once however many calls it signed, so that the
 * next attempt of every call fetches new ones instead of failing until
 * the set's own expiry. */
static void drop_stale_credentials(pl_aws_call_t *call,
                                   const pl_aws_error_detail_t *d) {
  pl_aws_client_t *client = call->client;
  if (pl__aws_retry_classify(d) != PL_AWS_RETRY_STALE_CREDENTIALS ||
      !pl__aws_creds_invalidate(client->ctx->creds, call->creds_generation))
    return;
  pl_buf_t text = {0};
  pl__aws_error_format(d, &text);
  pl_complain(client->inst, &client->stale_credentials, PL_LOG_WARN,
              "%s; fetching new credentials (these were refused as expired "
              "before their time)",
              text.data ? text.data : "");
  pl_buf_free(&text);
}

/* Decides what a failed attempt leads to; consumes `d`. */
/* `body`: the error answer's (borrowed), or NULL. */
static void handle_failure(pl_aws_call_t *call, pl_aws_error_detail_t *d,
                           const char *body, size_t body_len) {
  pl_aws_client_t *client = call->client;
  pl_aws_context_t *ctx = client->ctx;
  drop_stale_credentials(call, d);
  pl_aws_retry_decision_t decision = {0};
  pl_aws_rng_t rng = {pl__aws_rng_splitmix, &ctx->rng};
  bool can_retry = !call->body_started && !client->destroying &&
                   !ctx->closing;
  if (can_retry &&
      pl__aws_retry_decide(&client->retry, &client->bucket, &call->retry, d,
                           pl__aws_context_now_ms(ctx), &rng, &decision) == 0 &&
      decision.retry) {
    if (decision.adjust_clock) {
      ctx->clock_offset_ms = decision.clock_offset_ms;
      pl_log(client->inst, PL_LOG_WARN,
             "%s %s: the clock is off by %lld ms from the server's; signing "
             "with the server's time",
             client->service, call->operation,
             (long long)decision.clock_offset_ms);
    }
    pl_buf_t text = {0};
    pl__aws_error_format(d, &text);
    pl_log(client->inst, PL_LOG_DEBUG, "%s; attempt %u of %u in %llu ms",
           text.data, call->retry.attempt, client->retry.max_attempts,
           (unsigned long long)decision.delay_ms);
    pl_buf_free(&text);
    pl__aws_error_destroy(d);
    uv_timer_start(call_timer(call), on_backoff, decision.delay_ms, 0);
    return;
  }
  finish_error(call, d, body, body_len);
  pl__aws_error_destroy(d);
}

static void on_http_headers(void *data, const pl_http_response_t *r) {
  pl_aws_call_t *call = data;
  if (call->kind != CALL_REST || !call->rest.on_headers || r->status >= 300)
    return;
  pl_aws_header_t *headers = calloc(r->header_count + 1, sizeof(*headers));
  if (!headers)
    return;
  for (size_t i = 0; i < r->header_count; i++)
    headers[i] = (pl_aws_header_t){r->headers[i].name, r->headers[i].value};
  call->rest.on_headers(call->rest.data, r->status, headers, r->header_count);
  free(headers);
}

static bool on_http_body(void *data, const char *bytes, size_t len) {
  pl_aws_call_t *call = data;
  /* Only 2xx bodies are streamed: the transport buffers error bodies for
   * the error parser. */
  call->body_started = true;
  return call->rest.on_body(call->rest.data, bytes, len);
}

/* What an attempt's end says about the service's load. A long poll's
 * round trip is its wait, and a stream's is its consumer's pace: neither
 * measures the service. */
static pl_aws_signal_t load_signal(const pl_aws_call_t *call,
                                   const pl_http_response_t *r,
                                   pl_aws_attempt_outcome_t outcome) {
  if (outcome == PL_AWS_ATTEMPT_THROTTLING || r->status == 503 ||
      r->error == PL_EAGAIN)
    return PL_AWS_SIGNAL_OVERLOAD;
  if (call->wait_ms > 0 || (call->kind == CALL_REST && call->rest.on_body))
    return PL_AWS_SIGNAL_NONE;
  if (outcome != PL_AWS_ATTEMPT_OK && outcome != PL_AWS_ATTEMPT_CLIENT)
    return PL_AWS_SIGNAL_NONE;
  if (call->body_len > PL_AWS_CONCURRENCY_TIMED_BODY_MAX)
    return PL_AWS_SIGNAL_ANSWER_UNTIMED;
  return PL_AWS_SIGNAL_ANSWER;
}

/* Feeds the attempt's end to the client's concurrency. A higher limit
 * takes effect when this call releases its slot (start_waiting()), a
 * lower one as calls end. */
static void adapt(pl_aws_call_t *call, const pl_http_response_t *r,
                  pl_aws_attempt_outcome_t outcome, uint64_t rtt_ns) {
  pl_aws_client_t *client = call->client;
  size_t before = pl__aws_concurrency_limit(&client->concurrency);
  pl_aws_signal_t signal = load_signal(call, r, outcome);
  if (!pl__aws_concurrency_ended(&client->concurrency, call->epoch, rtt_ns,
                                 signal))
    return;
  size_t limit = pl__aws_concurrency_limit(&client->concurrency);
  /* At most one change per round trip: debug, not a flood. */
  pl_log(client->inst, PL_LOG_DEBUG, "%s: %zu request(s) at once, was %zu (%s)",
         client->service, limit, before,
         signal == PL_AWS_SIGNAL_OVERLOAD ? "throttled or timed out"
         : limit < before                 ? "answers slowed down"
                                          : "answers as fast");
  if (client->reports_limit)
    pl_instance_set_concurrency_limit(client->inst, limit);
}

/* Counts the attempt that `r` answers, and how it went (`d`: its parsed
 * error, NULL for a transport failure or a success). */
static void count_attempt(pl_aws_call_t *call, const pl_http_response_t *r,
                          const pl_aws_error_detail_t *d) {
  pl_aws_attempt_outcome_t outcome = PL_AWS_ATTEMPT_OK;
  if (r->error)
    outcome = PL_AWS_ATTEMPT_NETWORK;
  else if (r->status >= 300 && d &&
           pl__aws_retry_classify(d) == PL_AWS_RETRY_THROTTLING)
    outcome = PL_AWS_ATTEMPT_THROTTLING;
  else if (r->status >= 500)
    outcome = PL_AWS_ATTEMPT_SERVER;
  else if (r->status >= 300)
    outcome = PL_AWS_ATTEMPT_CLIENT;
  uint64_t rtt_ns = uv_hrtime() - call->sent_ns;
  if (r->resent) {
    /* The HTTP client sent it again on a new connection: the first went
     * out on a kept-alive one that closed without a byte of answer, and the
     * server may have done it (an SQS message sent twice). */
    pl__aws_stats_count_failure(&call->client->ctx->stats,
                                call->client->service, call->operation,
                                PL_AWS_ATTEMPT_NETWORK);
    pl_log(call->client->inst, PL_LOG_DEBUG,
           "%s %s: sent again on a new connection (the kept-alive one closed "
           "without an answer; the server may have done it once already)",
           call->client->service, call->operation);
  }
  pl__aws_stats_record(&call->client->ctx->stats, call->client->service,
                       call->operation, (double)rtt_ns / 1e9, outcome);
  adapt(call, r, outcome, rtt_ns);
}

static void on_http_done(void *data, const pl_http_response_t *r) {
  pl_aws_call_t *call = data;
  pl_aws_client_t *client = call->client;
  call->http = NULL;
  if (r->error) {
    count_attempt(call, r, NULL);
    pl_aws_error_detail_t *d = NULL;
    if (pl__aws_error_from_transport(client->service, call->operation,
                                     r->error, r->error_text, &d) < 0) {
      fail_transport(call, r->error, r->error_text);
      return;
    }
    handle_failure(call, d, NULL, 0);
    return;
  }
  if (r->status >= 300) {
    pl_aws_response_view_t view = {r->status, response_header, r, r->body,
                                   r->body_len};
    pl_aws_error_detail_t *d = NULL;
    int rc = call->kind == CALL_JSON
                 ? pl__aws_error_from_json(client->service, call->operation,
                                           &view, &d)
                 : pl__aws_error_from_xml(client->service, call->operation,
                                          &view, &d);
    if (rc < 0) {
      fail_transport(call, PL_ENOMEM, "out of memory");
      return;
    }
    count_attempt(call, r, d);
    handle_failure(call, d, r->body, r->body_len);
    return;
  }
  count_attempt(call, r, NULL);
  pl__aws_retry_on_success(&client->bucket, &call->retry);
  if (client->stale_credentials.interval_ms)
    pl_complain_release(client->inst, &client->stale_credentials,
                        "%s: credentials accepted again", client->service);
  call->finished = true;
  if (call->kind == CALL_REST) {
    call->rest.on_done(call->rest.data, r->status, r->body, r->body_len,
                       NULL);
    release(call);
    return;
  }
  if (call->text_cb) {
    call->text_cb(call->data, r->body ? r->body : "", r->body_len, NULL);
    release(call);
    return;
  }
  json_error_t jerr;
  json_t *result = r->body_len
                       ? json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr)
                       : json_object();
  if (!result) {
    const pl_aws_error_t invalid = pl_aws_error_invalid_answer(
        client->service, call->operation, r->status, jerr.text);
    finish_public(call, &invalid);
    return;
  }
  call->json_cb(call->data, result, NULL);
  json_decref(result);
  release(call);
}

/* ---- Signing and sending ---- */

/* What a buffered answer may hold (0: the transport's 8 MiB). That covers
 * every answer parsed here but one: a receive of ten SQS messages of up
 * to 1 MiB each, which JSON escaping may make up to six times longer. */
static size_t response_limit(const pl_aws_call_t *call) {
  if (call->kind == CALL_JSON && strcmp(call->client->service, "sqs") == 0 &&
      strcmp(call->operation, "ReceiveMessage") == 0)
    return PL_AWS_MAX_RECEIVE_BODY;
  return 0;
}

static void send_signed(pl_aws_call_t *call,
                        const pl_aws_credentials_t *creds) {
  pl_aws_client_t *client = call->client;
  pl_aws_context_t *ctx = client->ctx;
  int64_t now_ms = pl__aws_context_now_ms(ctx) + ctx->clock_offset_ms;
  call->creds_generation = creds->generation;
  pl_aws_sigv4_params_t params = {
      .credentials = creds,
      .region = client->region,
      .service = client->service,
      .time = now_ms / 1000,
      .normalize_path = !call->s3,
      .double_encode_path = !call->s3,
      .add_content_sha256 = call->s3,
      .key_cache = &client->key_cache,
  };
  pl_aws_sigv4_request_t req = {
      .method = call->method,
      .path = call->path,
      .query = call->query,
      .headers = call->headers,
      .header_count = call->header_count,
      .body = call->body,
      .body_len = call->body_len,
  };
  pl_aws_sigv4_output_t signed_out = {0};
  int rc = pl__aws_sigv4_sign(&params, &req, &signed_out);
  if (rc < 0) {
    pl__aws_sigv4_output_close(&signed_out);
    fail_to_send(call, rc, "cannot sign the request");
    return;
  }
  /* The call's headers and the signer's, on the stack as a rule. */
  size_t count = call->header_count + signed_out.header_count;
  pl_http_header_t stack_headers[16];
  pl_http_header_t *all = count <= sizeof stack_headers / sizeof *stack_headers
                              ? stack_headers
                              : calloc(count, sizeof(*all));
  if (!all) {
    pl__aws_sigv4_output_close(&signed_out);
    fail_to_send(call, PL_ENOMEM, "out of memory");
    return;
  }
  memcpy(all, call->headers, call->header_count * sizeof(*all));
  memcpy(all + call->header_count, signed_out.headers,
         signed_out.header_count * sizeof(*all));
  /* A stream takes as long as its consumer, so it has no total limit;
   * the transport's stall watchdog ends it when the server goes quiet
   * while the consumer is not holding it back. */
  bool streamed = call->kind == CALL_REST && call->rest.on_body;
  pl_http_request_t http = {
      .method = call->method,
      .url = call->url,
      .headers = all,
      .header_count = count,
      .body = call->body,
      .body_len = call->body_len,
      .timeout_ms = streamed || !ctx->opts.request_timeout_ms
                        ? 0
                        : ctx->opts.request_timeout_ms + call->wait_ms,
      .read_timeout_ms = streamed ? ctx->opts.read_timeout_ms : 0,
      .max_body = response_limit(call),
  };
  pl_http_handlers_t handlers = {
      .on_headers = on_http_headers,
      .on_body = call->kind == CALL_REST && call->rest.on_body ? on_http_body
                                                               : NULL,
      .on_done = on_http_done,
      .data = call,
  };
  call->sent_ns = uv_hrtime();
  call->epoch =
      pl__aws_concurrency_sent(&client->concurrency, client->in_flight);
  rc = pl__http_submit(ctx->http, &http, &handlers, &call->http);
  if (all != stack_headers)
    free(all);
  pl__aws_sigv4_output_close(&signed_out);
  if (rc < 0)
    fail_to_send(call, rc, "cannot send the request");
  else if (call->paused && ctx->http->pause)
    ctx->http->pause(ctx->http->self, call->http);
}

static void on_credentials(void *data, const pl_aws_credentials_t *creds,
                           const char *error) {
  pl_aws_call_t *call = data;
  call->awaiting_credentials = false;
  if (!creds) {
    const pl_aws_error_t fields = {.service = call->client->service,
                                   .operation = call->operation,
                                   .code = "NoCredentials",
                                   .message = error ? error : ""};
    finish_public(call, &fields);
    return;
  }
  send_signed(call, creds);
}

static void attempt(pl_aws_call_t *call) {
  const pl_aws_credentials_t *creds = NULL;
  int rc = pl__aws_creds_get(call->client->ctx->creds, &creds, on_credentials,
                             call);
  call->awaiting_credentials = rc == PL_EAGAIN;
  if (rc == 0)
    send_signed(call, creds);
  else if (rc != PL_EAGAIN)
    fail_to_send(call, rc, "cannot get credentials");
}

static void start_waiting(pl_aws_client_t *client) {
  while (!pl__dlist_empty(&client->waiting) &&
         client->in_flight < pl__aws_concurrency_limit(&client->concurrency)) {
    pl_aws_call_t *call =
        pl_dlist_first(&client->waiting, pl_aws_call_t, wait_node);
    pl__dlist_remove(&client->waiting, &call->wait_node);
    call->waiting = false;
    call->started = true;
    client->in_flight++;
    attempt(call);
  }
}

void pl_aws_call_pause(pl_aws_call_t *call) {
  call->paused = true;
  const pl_http_transport_t *t = call->client->ctx->http;
  if (call->http && t->pause)
    t->pause(t->self, call->http);
}

void pl_aws_call_resume(pl_aws_call_t *call) {
  call->paused = false;
  const pl_http_transport_t *t = call->client->ctx->http;
  if (call->http && t->resume)
    t->resume(t->self, call->http);
}

void pl__aws_call_cancel(pl_aws_call_t *call) {
  if (call->finished)
    return;
  if (call->http) {
    /* The transport calls on_done with PL_ECANCELED, which finishes. */
    const pl_http_transport_t *t = call->client->ctx->http;
    t->cancel(t->self, call->http);
    return;
  }
  /* Waiting for a slot, credentials or a backoff. */
  if (call->awaiting_credentials) {
    pl__aws_creds_forget(call->client->ctx->creds, on_credentials, call);
    call->awaiting_credentials = false;
  }
  if (call->timer_open)
    uv_timer_stop(&call->timer);
  if (call->waiting) {
    pl__dlist_remove(&call->client->waiting, &call->wait_node);
    call->waiting = false;
  }
  fail_transport(call, PL_ECANCELED, "cancelled");
}

void pl_aws_call_cancel(pl_aws_call_t *call) { pl__aws_call_cancel(call); }

void pl__aws_client_adapt(pl_aws_client_t *client) {
  pl__aws_concurrency_init(&client->concurrency,
                           pl_instance_concurrency_adaptive(client->inst),
                           client->concurrency.ceiling);
  client->reports_limit = true;
  size_t limit = pl__aws_concurrency_limit(&client->concurrency);
  pl_instance_set_concurrency_limit(client->inst, limit);
  pl_log(client->inst, PL_LOG_DEBUG, "%s: %zu request(s) at once, up to %zu",
         client->service, limit, client->concurrency.ceiling);
}

void pl__aws_client_maybe_free(pl_aws_client_t *client) {
  if (!client->destroying || client->cancelling ||
      !pl__dlist_empty(&client->calls))
    return;
  pl__aws_endpoint_close(&client->endpoint);
  pl__aws_sigv4_key_cache_close(&client->key_cache);
  free(client->json_url);
  free(client->json_path);
  free(client->json_host);
  free(client->region);
  free(client->service);
  pl_instance_release(client->inst);
  free(client);
}

void pl__aws_call_submit(pl_aws_client_t *client, pl_aws_call_t *call) {
  pl__dlist_push(&client->calls, &call->node);
  /* Behind the calls already waiting: a slot goes to them first. */
  if (pl__dlist_empty(&client->waiting) &&
      client->in_flight < pl__aws_concurrency_limit(&client->concurrency)) {
    call->started = true;
    client->in_flight++;
    attempt(call);
    return;
  }
  pl__dlist_push(&client->waiting, &call->wait_node);
  call->waiting = true;
}
