/* pl_aws_client: requests to one AWS service for one plugin instance.
 * A call is built once (URL, headers, body), then each attempt gets fresh
 * credentials, is signed with the corrected clock, sent through the
 * engine's transport, and its failure is classified by the standard retry
 * mode: retry after a backoff, retry at once with a corrected clock, or
 * give the structured error to the caller. */
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws.h>
#include <pipelined/plugin.h>

#include "aws_context.h"
#include "aws_error.h"
#include "endpoint.h"
#include "retry.h"
#include "sigv4.h"

#define PL_AWS_DEFAULT_IN_FLIGHT 16
/* See response_limit(). */
#define PL_AWS_MAX_RECEIVE_BODY ((size_t)64 << 20)

typedef enum { CALL_JSON, CALL_REST } call_kind_t;

struct pl_aws_client {
  pl_instance_t *inst;
  pl_aws_context_t *ctx;
  char *service;
  char *region;
  pl_aws_endpoint_t endpoint;
  pl_aws_url_t url;
  pl_aws_retry_config_t retry;
  pl_aws_retry_bucket_t bucket;
  /* The signing key of the day, derived once for all calls. */
  pl_aws_sigv4_key_cache_t key_cache;
  size_t max_in_flight;
  size_t in_flight;
  pl_aws_call_t *calls;   /* every live call */
  pl_aws_call_t *waiting; /* FIFO of calls over max_in_flight */
  pl_aws_call_t *waiting_tail;
  bool destroying;
  bool cancelling; /* inside pl_aws_client_destroy(): do not free yet */
};

struct pl_aws_call {
  pl_aws_client_t *client;
  pl_aws_call_t *next;         /* in client->calls */
  pl_aws_call_t *next_waiting; /* in client->waiting */
  call_kind_t kind;
  char *operation;
  char *method;
  char *url;
  char *path;  /* as sent, for signing */
  char *query; /* or NULL */
  size_t header_count;
  pl_http_header_t *headers; /* views into header_text */
  char **header_text;        /* owned: "name\0value\0" of each header */
  char *body;
  size_t body_len;
  bool s3;
  uint64_t wait_ms; /* a long poll's wait (SQS WaitTimeSeconds) */
  pl_aws_retry_state_t retry;
  pl_http_call_t *http;
  uint64_t sent_ns; /* uv_hrtime() when this attempt was sent */
  uv_timer_t timer; /* backoff; initialised on first use */
  bool timer_open;
  bool started;      /* counted in in_flight */
  bool body_started; /* a streamed body byte reached the caller */
  bool paused;
  bool finished;
  pl_aws_json_cb json_cb;
  pl_aws_json_text_cb text_cb; /* instead of json_cb: the answer's text */
  pl_aws_rest_handlers_t rest;
  void *data;
};

static void attempt(pl_aws_call_t *call);

/* ---- Errors ---- */

static void to_public(const pl_aws_error_detail_t *d, pl_aws_error_t *out) {
  *out = (pl_aws_error_t){
      .service = d->service,
      .operation = d->operation,
      .status = d->status,
      .code = d->code ? d->code : pl__aws_transport_code(d->transport),
      .message = d->message ? d->message : "",
      .request_id = d->request_id,
      .retryable = d->retryable,
  };
}

static const char *response_header(const void *data, const char *name) {
  return pl__http_header(data, name);
}

/* ---- Call lifecycle ---- */

static void free_call(pl_aws_call_t *call) {
  for (size_t i = 0; i < call->header_count; i++)
    free(call->header_text[i]);
  free(call->header_text);
  free(call->headers);
  free(call->operation);
  free(call->method);
  free(call->url);
  free(call->path);
  free(call->query);
  free(call->body);
  free(call);
}

static void on_timer_closed(uv_handle_t *handle) { free_call(handle->data); }

static void unlink_call(pl_aws_call_t *call) {
  pl_aws_client_t *client = call->client;
  pl_aws_call_t **link = &client->calls;
  while (*link && *link != call)
    link = &(*link)->next;
  if (*link)
    *link = call->next;
}

static void maybe_free_client(pl_aws_client_t *client);
static void start_waiting(pl_aws_client_t *client);

/* The call is over: release its slot, free it, let the next one start. */
static void release(pl_aws_call_t *call) {
  pl_aws_client_t *client = call->client;
  if (call->started)
    client->in_flight--;
  unlink_call(call);
  if (call->timer_open)
    uv_close((uv_handle_t *)&call->timer, on_timer_closed);
  else
    free_call(call);
  start_waiting(client);
  maybe_free_client(client);
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

static void finish_error(pl_aws_call_t *call, const pl_aws_error_detail_t *d) {
  pl_aws_error_t error;
  to_public(d, &error);
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
  finish_error(call, d);
  pl__aws_error_destroy(d);
}

static void on_backoff(uv_timer_t *timer) { attempt(timer->data); }

/* Decides what a failed attempt leads to; consumes `d`. */
static void handle_failure(pl_aws_call_t *call, pl_aws_error_detail_t *d) {
  pl_aws_client_t *client = call->client;
  pl_aws_context_t *ctx = client->ctx;
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
    pl_log(client->inst, PL_LOG_DEBUG, "%s; retry %u in %llu ms", text.data,
           call->retry.attempt, (unsigned long long)decision.delay_ms);
    pl_buf_free(&text);
    pl__aws_error_destroy(d);
    if (!call->timer_open) {
      uv_timer_init(ctx->opts.loop, &call->timer);
      call->timer.data = call;
      call->timer_open = true;
    }
    uv_timer_start(&call->timer, on_backoff, decision.delay_ms, 0);
    return;
  }
  finish_error(call, d);
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
  double seconds = (double)(uv_hrtime() - call->sent_ns) / 1e9;
  pl__aws_stats_record(&call->client->ctx->stats, call->client->service,
                       call->operation, seconds, outcome);
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
    handle_failure(call, d);
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
    handle_failure(call, d);
    return;
  }
  count_attempt(call, r, NULL);
  pl__aws_retry_on_success(&client->bucket, &call->retry);
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
    const pl_aws_error_t fields = {.service = client->service,
                                   .operation = call->operation,
                                   .status = r->status,
                                   .code = "InvalidResponse",
                                   .message = jerr.text};
    finish_public(call, &fields);
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
    fail_transport(call, rc, "cannot sign the request");
    return;
  }
  size_t count = call->header_count + signed_out.header_count;
  pl_http_header_t *all = calloc(count, sizeof(*all));
  if (!all) {
    pl__aws_sigv4_output_close(&signed_out);
    fail_transport(call, PL_ENOMEM, "out of memory");
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
  rc = pl__http_submit(ctx->http, &http, &handlers, &call->http);
  free(all);
  pl__aws_sigv4_output_close(&signed_out);
  if (rc < 0)
    fail_transport(call, rc, "cannot send the request");
  else if (call->paused && ctx->http->pause)
    ctx->http->pause(ctx->http->self, call->http);
}

static void on_credentials(void *data, const pl_aws_credentials_t *creds,
                           const char *error) {
  pl_aws_call_t *call = data;
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
  if (rc == 0)
    send_signed(call, creds);
  else if (rc != PL_EAGAIN)
    fail_transport(call, rc, "cannot get credentials");
}

static void start_waiting(pl_aws_client_t *client) {
  while (client->waiting && client->in_flight < client->max_in_flight) {
    pl_aws_call_t *call = client->waiting;
    client->waiting = call->next_waiting;
    if (!client->waiting)
      client->waiting_tail = NULL;
    call->started = true;
    client->in_flight++;
    attempt(call);
  }
}

/* ---- Building calls ---- */

static int add_header(pl_aws_call_t *call, const char *name,
                      const char *value) {
  size_t n = call->header_count;
  pl_http_header_t *headers = realloc(call->headers, (n + 1) * sizeof *headers);
  if (!headers)
    return PL_ENOMEM;
  call->headers = headers;
  char **text = realloc(call->header_text, (n + 1) * sizeof *text);
  if (!text)
    return PL_ENOMEM;
  call->header_text = text;
  size_t name_len = strlen(name), value_len = strlen(value);
  char *block = malloc(name_len + value_len + 2);
  if (!block)
    return PL_ENOMEM;
  memcpy(block, name, name_len + 1);
  memcpy(block + name_len + 1, value, value_len + 1);
  text[n] = block;
  headers[n] = (pl_http_header_t){block, block + name_len + 1};
  call->header_count = n + 1;
  return 0;
}

static pl_aws_call_t *new_call(pl_aws_client_t *client, call_kind_t kind,
                               const char *operation, const char *method) {
  pl_aws_call_t *call = calloc(1, sizeof(*call));
  if (!call)
    return NULL;
  call->client = client;
  call->kind = kind;
  call->operation = strdup(operation ? operation : "");
  call->method = strdup(method);
  pl__aws_retry_state_init(&call->retry);
  if (!call->operation || !call->method) {
    free_call(call);
    return NULL;
  }
  return call;
}

/* Splits a full URL into the path and query the signer needs. */
static int set_url(pl_aws_call_t *call, const char *url) {
  const char *scheme_end = strstr(url, "://");
  const char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
  const char *query = path ? strchr(path, '?') : NULL;
  call->url = strdup(url);
  call->path = path ? strndup(path, query ? (size_t)(query - path)
                                          : strlen(path))
                    : strdup("/");
  call->query = query ? strdup(query + 1) : NULL;
  if (!call->url || !call->path || (query && !call->query))
    return PL_ENOMEM;
  /* The Host header comes from the scheme and authority only. */
  char *base = path ? strndup(url, (size_t)(path - url)) : strdup(url);
  pl_aws_url_t parsed = {0};
  int parsed_rc = base ? pl__aws_url_parse(base, &parsed) : PL_ENOMEM;
  free(base);
  if (parsed_rc < 0)
    return parsed_rc;
  pl_buf_t host = {0};
  int rc = pl__aws_url_authority(&parsed, &host);
  if (rc == 0)
    rc = add_header(call, "Host", host.data);
  pl_buf_free(&host);
  pl__aws_url_close(&parsed);
  return rc;
}

static int submit(pl_aws_client_t *client, pl_aws_call_t *call) {
  call->next = client->calls;
  client->calls = call;
  if (client->in_flight < client->max_in_flight) {
    call->started = true;
    client->in_flight++;
    attempt(call);
    return 0;
  }
  if (client->waiting_tail)
    client->waiting_tail->next_waiting = call;
  else
    client->waiting = call;
  client->waiting_tail = call;
  return 0;
}

/* Starts a JSON call whose body text `body` (steals it, freed on every
 * path) is ready. */
static int json_call(pl_aws_client_t *client, const char *target, char *body,
                     size_t body_len, uint64_t wait_ms, pl_aws_json_cb cb,
                     pl_aws_json_text_cb text_cb, void *data) {
  const char *dot = strrchr(target, '.');
  pl_aws_call_t *call =
      new_call(client, CALL_JSON, dot ? dot + 1 : target, "POST");
  if (!call) {
    free(body);
    return PL_ENOMEM;
  }
  call->body = body;
  call->body_len = body_len;
  call->json_cb = cb;
  call->text_cb = text_cb;
  call->data = data;
  call->wait_ms = wait_ms;
  pl_buf_t url = {0};
  int rc = pl_buf_printf(&url, "%s/", client->endpoint.url);
  if (rc == 0)
    rc = set_url(call, url.data);
  pl_buf_free(&url);
  if (rc == 0)
    rc = add_header(call, "Content-Type", "application/x-amz-json-1.0");
  if (rc == 0)
    rc = add_header(call, "X-Amz-Target", target);
  if (rc < 0) {
    free_call(call);
    return rc;
  }
  return submit(client, call);
}

int pl_aws_json_call(pl_aws_client_t *client, const char *target,
                     const json_t *body, pl_aws_json_cb cb, void *data) {
  if (client->destroying)
    return PL_ECANCELED;
  /* A long poll may rightly take its wait: request_timeout is on top. */
  json_int_t wait =
      json_integer_value(json_object_get(body, "WaitTimeSeconds"));
  uint64_t wait_ms = wait > 0 && wait <= 3600 ? (uint64_t)wait * 1000 : 0;
  char *text = json_dumps(body, JSON_COMPACT);
  if (!text)
    return PL_EINVAL;
  return json_call(client, target, text, strlen(text), wait_ms, cb, NULL,
                   data);
}

int pl_aws_json_call_text(pl_aws_client_t *client, const char *target,
                          const char *body, size_t len,
                          pl_aws_json_text_cb cb, void *data) {
  if (client->destroying)
    return PL_ECANCELED;
  if (!body || len == 0)
    return PL_EINVAL;
  char *copy = malloc(len + 1);
  if (!copy)
    return PL_ENOMEM;
  memcpy(copy, body, len);
  copy[len] = '\0';
  return json_call(client, target, copy, len, 0, NULL, cb, data);
}

int pl_aws_rest_call(pl_aws_client_t *client,
                     const pl_aws_rest_request_t *request,
                     const pl_aws_rest_handlers_t *handlers,
                     pl_aws_call_t **out) {
  if (client->destroying)
    return PL_ECANCELED;
  if (!handlers->on_done)
    return PL_EINVAL;
  pl_aws_call_t *call =
      new_call(client, CALL_REST, request->operation, request->method);
  if (!call)
    return PL_ENOMEM;
  call->rest = *handlers;
  call->s3 = strcmp(client->service, "s3") == 0;
  pl_buf_t url = {0};
  int rc = 0;
  if (request->bucket)
    rc = pl__aws_s3_url(client->endpoint.url, request->bucket, request->key,
                        client->endpoint.path_style, &url);
  else
    rc = pl_buf_printf(&url, "%s/", client->endpoint.url);
  if (rc == 0 && request->query && *request->query)
    rc = pl_buf_printf(&url, "?%s", request->query);
  if (rc == 0)
    rc = set_url(call, url.data);
  pl_buf_free(&url);
  for (size_t i = 0; rc == 0 && i < request->header_count; i++)
    rc = add_header(call, request->headers[i].name, request->headers[i].value);
  if (rc == 0 && request->body_len > 0) {
    call->body = malloc(request->body_len);
    if (call->body) {
      memcpy(call->body, request->body, request->body_len);
      call->body_len = request->body_len;
    } else {
      rc = PL_ENOMEM;
    }
  }
  if (rc < 0) {
    free_call(call);
    return rc;
  }
  if (out)
    *out = call;
  return submit(client, call);
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

static void cancel(pl_aws_call_t *call) {
  if (call->finished)
    return;
  if (call->http) {
    /* The transport calls on_done with PL_ECANCELED, which finishes. */
    const pl_http_transport_t *t = call->client->ctx->http;
    t->cancel(t->self, call->http);
    return;
  }
  /* Waiting for a slot, credentials or a backoff. */
  if (call->timer_open)
    uv_timer_stop(&call->timer);
  pl_aws_client_t *client = call->client;
  pl_aws_call_t **link = &client->waiting;
  pl_aws_call_t *prev = NULL;
  while (*link && *link != call) {
    prev = *link;
    link = &(*link)->next_waiting;
  }
  if (*link) {
    *link = call->next_waiting;
    if (client->waiting_tail == call)
      client->waiting_tail = prev;
  }
  fail_transport(call, PL_ECANCELED, "cancelled");
}

void pl_aws_call_cancel(pl_aws_call_t *call) { cancel(call); }

/* ---- Clients ---- */

int pl_aws_client_create(pl_instance_t *inst,
                         const pl_aws_client_options_t *options,
                         pl_aws_client_t **out) {
  pl_aws_context_t *ctx = NULL;
  int rc = pl__aws_context_of(inst, &ctx);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "cannot set up the AWS client: %s",
           pl_strerror(rc));
    return rc;
  }
  pl_aws_client_t *client = calloc(1, sizeof(*client));
  if (!client)
    return PL_ENOMEM;
  client->inst = inst;
  client->ctx = ctx;
  client->service = strdup(options->service);
  bool service_specific = false;
  const char *profile_endpoint = pl__aws_creds_profile_endpoint(
      ctx->creds, options->service, &service_specific);
  pl_aws_endpoint_inputs_t in = {
      .plugin_region = options->region,
      .block_region = ctx->opts.region,
      .profile_region = pl__aws_creds_profile_region(ctx->creds),
      .plugin_endpoint = options->endpoint,
      .block_endpoint = ctx->opts.endpoint,
      .profile_service_endpoint = service_specific ? profile_endpoint : NULL,
      .profile_endpoint = service_specific ? NULL : profile_endpoint,
      .env = ctx->opts.env,
  };
  char *error = NULL;
  rc = client->service ? pl__aws_region_resolve(&in, &client->region, NULL,
                                                &error)
                       : PL_ENOMEM;
  if (rc == 0)
    rc = pl__aws_endpoint_resolve(&in, client->service, client->region,
                                  &client->endpoint, &error);
  pl__aws_retry_config_init(&client->retry);
  pl_aws_attempts_inputs_t attempts_in = {
      .plugin = options->max_attempts,
      .block = ctx->opts.max_attempts,
      .env = ctx->opts.env && ctx->opts.env->getenv
                 ? ctx->opts.env->getenv(ctx->opts.env->data, "AWS_MAX_ATTEMPTS")
                 : NULL,
      .profile = pl__aws_creds_profile_max_attempts(ctx->creds),
  };
  pl_aws_attempts_source_t attempts_from = PL_AWS_ATTEMPTS_FROM_DEFAULT;
  if (rc == 0)
    rc = pl__aws_attempts_resolve(&attempts_in, &client->retry.max_attempts,
                                  &attempts_from, &error);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "%s", error ? error : pl_strerror(rc));
    free(error);
    pl__aws_endpoint_close(&client->endpoint);
    free(client->region);
    free(client->service);
    free(client);
    return rc;
  }
  pl__aws_retry_bucket_init(&client->bucket, 0);
  if (options->path_style != 0)
    client->endpoint.path_style = options->path_style > 0;
  client->max_in_flight = options->max_in_flight > 0
                              ? (size_t)options->max_in_flight
                              : PL_AWS_DEFAULT_IN_FLIGHT;
  pl_log(inst, PL_LOG_DEBUG, "%s: %s in %s (%s), %u attempt(s) (%s)",
         client->service, client->endpoint.url, client->region,
         pl__aws_endpoint_source_name(client->endpoint.source),
         client->retry.max_attempts,
         pl__aws_attempts_source_name(attempts_from));
  *out = client;
  return 0;
}

static void maybe_free_client(pl_aws_client_t *client) {
  if (!client->destroying || client->cancelling || client->calls)
    return;
  pl__aws_endpoint_close(&client->endpoint);
  pl__aws_sigv4_key_cache_close(&client->key_cache);
  free(client->region);
  free(client->service);
  free(client);
}

void pl_aws_client_destroy(pl_aws_client_t *client) {
  if (!client || client->destroying)
    return;
  client->destroying = true;
  client->cancelling = true;
  /* Waiting calls first, so that a cancelled running call does not start
   * one of them. */
  while (client->waiting)
    cancel(client->waiting);
  for (pl_aws_call_t *call = client->calls; call;) {
    pl_aws_call_t *next = call->next;
    cancel(call);
    call = next;
  }
  client->cancelling = false;
  /* Calls in the transport finish later, with "Canceled". */
  maybe_free_client(client);
}
