/* pl_aws_client: requests to one AWS service for one plugin instance
 * (<pipelined/aws.h>). A call is built here once (URL, headers, body) and
 * handed to aws_call.c, which runs its attempts. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "aws_call.h"

/* ---- Building calls ---- */

/* Makes room for `count` headers in all: the call's own room, or arrays
 * grown once by a call that knows how many it adds. */
static int reserve_headers(pl_aws_call_t *call, size_t count) {
  if (count <= call->header_cap)
    return 0;
  if (count <= PL_AWS_CALL_HEADER_ROOM) {
    call->headers = call->header_room;
    call->header_text = call->header_text_room;
    call->header_cap = PL_AWS_CALL_HEADER_ROOM;
    return 0;
  }
  if (count < 2 * call->header_cap)
    count = 2 * call->header_cap;
  pl_http_header_t *headers = malloc(count * sizeof *headers);
  char **text = malloc(count * sizeof *text);
  if (!headers || !text) {
    free(headers);
    free(text);
    return PL_ENOMEM;
  }
  if (call->header_count > 0) {
    memcpy(headers, call->headers, call->header_count * sizeof *headers);
    memcpy(text, call->header_text, call->header_count * sizeof *text);
  }
  if (call->headers != call->header_room) {
    free(call->headers);
    free(call->header_text);
  }
  call->headers = headers;
  call->header_text = text;
  call->header_cap = count;
  return 0;
}

/* Adds a header whose name and value outlive the call (literals, the
 * client's texts): nothing is copied. */
static int add_header_kept(pl_aws_call_t *call, const char *name,
                           const char *value) {
  size_t n = call->header_count;
  if (reserve_headers(call, n + 1) < 0)
    return PL_ENOMEM;
  call->header_text[n] = NULL;
  call->headers[n] = (pl_http_header_t){name, value};
  call->header_count = n + 1;
  return 0;
}

/* Adds a header copied into a block of the call's own. */
static int add_header(pl_aws_call_t *call, const char *name,
                      const char *value) {
  size_t name_len = strlen(name), value_len = strlen(value);
  char *block = malloc(name_len + value_len + 2);
  if (!block)
    return PL_ENOMEM;
  memcpy(block, name, name_len + 1);
  memcpy(block + name_len + 1, value, value_len + 1);
  int rc = add_header_kept(call, block, block + name_len + 1);
  if (rc < 0) {
    free(block);
    return rc;
  }
  call->header_text[call->header_count - 1] = block;
  return 0;
}

/* Keeps `text` (a copy, or NULL when out of memory) in the call's owned
 * slot `slot`, and returns it. */
static const char *own(pl_aws_call_t *call, size_t slot, char *text) {
  call->owned[slot] = text;
  return text;
}

enum { OWN_OPERATION, OWN_METHOD, OWN_URL, OWN_PATH, OWN_QUERY };
_Static_assert(OWN_QUERY < PL_AWS_CALL_OWNED, "a call owns each text");

static pl_aws_call_t *new_call(pl_aws_client_t *client, call_kind_t kind) {
  pl_aws_call_t *call = calloc(1, sizeof(*call));
  if (!call)
    return NULL;
  call->client = client;
  call->kind = kind;
  call->operation = "";
  pl__aws_retry_state_init(&call->retry);
  return call;
}

/* Splits a full URL into the path and query the signer needs, copies of
 * the call's own. */
static int set_url(pl_aws_call_t *call, const char *url) {
  const char *scheme_end = strstr(url, "://");
  const char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
  const char *query = path ? strchr(path, '?') : NULL;
  call->url = own(call, OWN_URL, strdup(url));
  call->path =
      own(call, OWN_PATH,
          path ? strndup(path, query ? (size_t)(query - path) : strlen(path))
               : strdup("/"));
  call->query = query ? own(call, OWN_QUERY, strdup(query + 1)) : NULL;
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

/* Sets the URL, path and Host header of a JSON call: the endpoint's
 * root, the same for every JSON call of the client, worked out at the
 * first (with set_url) and kept by the client, whose texts the others
 * point to. */
static int set_json_url(pl_aws_client_t *client, pl_aws_call_t *call) {
  if (client->json_url) {
    call->url = client->json_url;
    call->path = client->json_path;
    return add_header_kept(call, "Host", client->json_host);
  }
  pl_buf_t url = {0};
  int rc = pl_buf_printf(&url, "%s/", client->endpoint.url);
  if (rc == 0)
    rc = set_url(call, url.data);
  pl_buf_free(&url);
  if (rc < 0 || call->query)
    return rc; /* an endpoint with a query is worked out every time */
  /* set_url added Host first. A copy that fails is tried again later. */
  client->json_url = strdup(call->url);
  client->json_path = strdup(call->path);
  client->json_host = strdup(call->headers[0].value);
  if (!client->json_url || !client->json_path || !client->json_host) {
    free(client->json_url);
    free(client->json_path);
    free(client->json_host);
    client->json_url = client->json_path = client->json_host = NULL;
  }
  return 0;
}

/* Starts a JSON call whose body text `body` (steals it, freed on every
 * path) is ready. */
static int json_call(pl_aws_client_t *client, const char *target, char *body,
                     size_t body_len, uint64_t wait_ms, pl_aws_json_cb cb,
                     pl_aws_json_text_cb text_cb, void *data) {
  pl_aws_call_t *call = new_call(client, CALL_JSON);
  if (!call) {
    free(body);
    return PL_ENOMEM;
  }
  call->method = "POST";
  call->body = body;
  call->body_len = body_len;
  call->json_cb = cb;
  call->text_cb = text_cb;
  call->data = data;
  call->wait_ms = wait_ms;
  /* Host, Content-Type and X-Amz-Target. */
  int rc = reserve_headers(call, 3);
  if (rc == 0)
    rc = set_json_url(client, call);
  if (rc == 0)
    rc = add_header_kept(call, "Content-Type", "application/x-amz-json-1.0");
  if (rc == 0)
    rc = add_header(call, "X-Amz-Target", target);
  if (rc < 0) {
    pl__aws_call_free(call);
    return rc;
  }
  /* The operation is the target's last part, in the header's copy. */
  const char *copy = call->headers[call->header_count - 1].value;
  const char *dot = strrchr(copy, '.');
  call->operation = dot ? dot + 1 : copy;
  pl__aws_call_submit(client, call);
  return 0;
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
  return pl_aws_json_call_text_wait(client, target, body, len, 0, cb, data);
}

int pl_aws_json_call_text_wait(pl_aws_client_t *client, const char *target,
                               const char *body, size_t len, uint64_t wait_ms,
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
  return json_call(client, target, copy, len, wait_ms, NULL, cb, data);
}

int pl_aws_rest_call(pl_aws_client_t *client,
                     const pl_aws_rest_request_t *request,
                     const pl_aws_rest_handlers_t *handlers,
                     pl_aws_call_t **out) {
  if (client->destroying)
    return PL_ECANCELED;
  if (!handlers->on_done)
    return PL_EINVAL;
  pl_aws_call_t *call = new_call(client, CALL_REST);
  if (!call)
    return PL_ENOMEM;
  call->operation = own(call, OWN_OPERATION,
                        strdup(request->operation ? request->operation : ""));
  call->method = own(call, OWN_METHOD, strdup(request->method));
  if (!call->operation || !call->method) {
    pl__aws_call_free(call);
    return PL_ENOMEM;
  }
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
    pl__aws_call_free(call);
    return rc;
  }
  if (out)
    *out = call;
  pl__aws_call_submit(client, call);
  return 0;
}

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
  rc = client->service ? pl__aws_context_region(ctx, &in, &client->region,
                                                &client->region_source, &error)
                       : PL_ENOMEM;
  if (rc == 0)
    rc = pl__aws_endpoint_resolve(&in, client->service, client->region,
                                  &client->endpoint, &error);
  pl__aws_retry_config_init(&client->retry);
  pl_aws_retry_choice_t retry = {0};
  if (rc == 0)
    rc = pl__aws_context_retry(ctx, options->max_attempts, &retry, &error);
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
  pl__aws_retry_apply(&retry, &client->retry, &client->bucket);
  if (options->path_style != 0)
    client->endpoint.path_style = options->path_style > 0;
  pl__aws_concurrency_init(&client->concurrency, false,
                           options->max_in_flight > 0
                               ? (size_t)options->max_in_flight
                               : PL_AWS_DEFAULT_IN_FLIGHT);
  pl_log(inst, PL_LOG_DEBUG,
         "%s: %s in %s (%s), %u attempt(s) (%s), %s retries (%s)",
         client->service, client->endpoint.url, client->region,
         pl__aws_endpoint_source_name(client->endpoint.source),
         client->retry.max_attempts,
         pl__aws_attempts_source_name(retry.attempts_from),
         pl__aws_retry_mode_name(retry.mode),
         pl__aws_retry_mode_source_name(retry.mode_from));
  /* Until the client is freed, after its last call's callback: a call
   * cancelled by pl_aws_client_destroy() at the stage's close may call
   * back later (pl_instance_hold()). */
  pl_instance_hold(inst);
  *out = client;
  return 0;
}

void pl_aws_client_destroy(pl_aws_client_t *client) {
  if (!client || client->destroying)
    return;
  client->destroying = true;
  client->cancelling = true;
  /* Waiting calls first, so that a cancelled running call does not start
   * one of them. */
  while (!pl__dlist_empty(&client->waiting))
    pl__aws_call_cancel(
        pl_dlist_first(&client->waiting, pl_aws_call_t, wait_node));
  /* The others from the head again after each: a call's callback may
   * cancel, and so free, any other. A call the transport holds stays in
   * the list until the transport hands it back, asked once. */
  for (;;) {
    pl_aws_call_t *call = NULL;
    for (pl_dlist_node_t *node = client->calls.head; node && !call;
         node = node->next) {
      pl_aws_call_t *c = pl_dlist_entry(node, pl_aws_call_t, node);
      if (!c->finished && !c->cancel_asked)
        call = c;
    }
    if (!call)
      break;
    call->cancel_asked = true;
    pl__aws_call_cancel(call);
  }
  client->cancelling = false;
  /* Calls in the transport finish later, with "Canceled". */
  pl__aws_client_maybe_free(client);
}

/* ---- Sinks ---- */

int pl_aws_sink_start(pl_aws_sink_t *sink, pl_instance_t *inst,
                      const char *service, const char *endpoint,
                      const char *region) {
  sink->inst = inst;
  pl_aws_client_options_t opts = {
      .service = service,
      .endpoint = endpoint,
      .region = region,
      .max_in_flight = pl_instance_max_in_flight(inst),
  };
  int rc = pl_aws_client_create(inst, &opts, &sink->client);
  if (rc == 0)
    pl__aws_client_adapt(sink->client);
  return rc;
}

bool pl_aws_sink_closed(pl_aws_sink_t *sink, pl_batch_t *batch) {
  if (sink->client)
    return false;
  pl_batch_done(batch, PL_RESULT_FAILED, "the sink is closed");
  return true;
}

void pl_aws_sink_accepted(pl_aws_sink_t *sink, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pl_complain_vrelease(sink->inst, &sink->refused, fmt, ap);
  va_end(ap);
}

void pl_aws_sink_close(pl_aws_sink_t *sink) {
  pl_aws_client_destroy(sink->client);
  sink->client = NULL;
}
