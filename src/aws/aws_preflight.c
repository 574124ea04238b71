/* Live checks of AWS stages (<pipelined/aws_preflight.h>): a session per
 * stage counts its checks in flight and ends the stage's preflight when
 * the last one has answered and the plugin said it asks for no more. */
#include <pipelined/aws_preflight.h>
#include <stdlib.h>
#include <string.h>

#include "aws_call.h"
#include "aws_sources.h"
#include "xml.h"

#define MAX_CLIENTS 4

struct pl_aws_preflight {
  pl_preflight_t *check;
  pl_instance_t *inst;
  pl_aws_client_t *clients[MAX_CLIENTS + 1]; /* +1: STS */
  size_t client_count;
  size_t pending; /* checks in flight */
  bool finishing; /* the plugin asks for no more */
};

/* One check in flight. */
typedef struct pf_call {
  pl_aws_preflight_t *p;
  char *what; /* "queue updates", "bucket uploads" */
  pl_aws_queue_check_t queue;
  uint64_t request_timeout_ms;
  pl_aws_preflight_json_cb cb;
  void *data;
} pf_call_t;

int pl_aws_preflight_create(pl_preflight_t *check, pl_aws_preflight_t **out) {
  pl_aws_preflight_t *p = calloc(1, sizeof(*p));
  if (!p)
    return PL_ENOMEM;
  p->check = check;
  p->inst = pl_preflight_instance(check);
  *out = p;
  return 0;
}

static void maybe_end(pl_aws_preflight_t *p) {
  if (!p->finishing || p->pending > 0)
    return;
  for (size_t i = 0; i < p->client_count; i++)
    pl_aws_client_destroy(p->clients[i]);
  pl_preflight_t *check = p->check;
  free(p);
  pl_preflight_done(check);
}

void pl_aws_preflight_finish(pl_aws_preflight_t *p) {
  p->finishing = true;
  maybe_end(p);
}

static pf_call_t *new_call(pl_aws_preflight_t *p, const char *kind,
                           const char *name) {
  pf_call_t *call = calloc(1, sizeof(*call));
  pl_buf_t what = {0};
  if (!call || pl_buf_printf(&what, "%s %s", kind, name) < 0) {
    free(call);
    pl_buf_free(&what);
    pl_preflight_report(p->check, PL_CHECK_FAIL, "%s %s: cannot check: %s",
                        kind, name, pl_strerror(PL_ENOMEM));
    return NULL;
  }
  call->p = p;
  call->what = what.data;
  p->pending++;
  return call;
}

static void end_call(pf_call_t *call) {
  pl_aws_preflight_t *p = call->p;
  free(call->what);
  free(call);
  p->pending--;
  maybe_end(p);
}

void pl_aws_preflight_fail(pl_preflight_t *check, const char *what,
                           const pl_aws_error_t *error) {
  const char *code = error->code ? error->code : "error";
  const char *hint = "";
  if (error->status == 403 || strstr(code, "AccessDenied") ||
      strstr(code, "UnauthorizedOperation"))
    hint = " (the credentials lack the permission this check needs: see "
           "the IAM policy in deploy/)";
  if (error->status == 0)
    pl_preflight_report(check, PL_CHECK_FAIL, "%s: cannot reach %s: %s: %s",
                        what, error->service ? error->service : "AWS", code,
                        error->message ? error->message : "");
  else if (error->message && *error->message)
    pl_preflight_report(check, PL_CHECK_FAIL, "%s: %s: %s%s", what, code,
                        error->message, hint);
  else
    pl_preflight_report(check, PL_CHECK_FAIL, "%s: %s (HTTP %d)%s", what, code,
                        error->status, hint);
}

/* ---- Credentials and identity, once per run ---- */

typedef struct identity {
  pl_aws_preflight_t *p;
  const char *field; /* the element whose text is being read, or NULL */
  pl_buf_t arn;
  pl_buf_t account;
} identity_t;

static int on_xml_start(pl_aws_xml_t *xml, void *data, const char *name) {
  identity_t *id = data;
  id->field = strcmp(name, "Arn") == 0       ? "Arn"
              : strcmp(name, "Account") == 0 ? "Account"
                                             : NULL;
  return 0;
}

static int on_xml_end(pl_aws_xml_t *xml, void *data, const char *name) {
  identity_t *id = data;
  id->field = NULL;
  return 0;
}

static int on_xml_text(pl_aws_xml_t *xml, void *data, const char *text,
                       size_t len) {
  identity_t *id = data;
  if (!id->field)
    return 0;
  pl_buf_t *to = strcmp(id->field, "Arn") == 0 ? &id->arn : &id->account;
  return pl_buf_append(to, text, len);
}

static void end_identity(identity_t *id) {
  pl_aws_preflight_t *p = id->p;
  pl_buf_free(&id->arn);
  pl_buf_free(&id->account);
  free(id);
  p->pending--;
  maybe_end(p);
}

static void on_identity(void *data, int status, const char *body, size_t len,
                        const pl_aws_error_t *error) {
  identity_t *id = data;
  pl_preflight_t *check = id->p->check;
  if (error) {
    pl_buf_t text = {0};
    pl_aws_error_format(error, &text);
    pl_preflight_report_shared(check, "aws", PL_CHECK_FAIL,
                               "identity: %s",
                               text.data ? text.data : "STS failed");
    pl_buf_free(&text);
    end_identity(id);
    return;
  }
  static const pl_aws_xml_handlers_t handlers = {
      .start = on_xml_start, .end = on_xml_end, .text = on_xml_text};
  pl_buf_t reason = {0};
  int rc = pl__aws_xml_parse(body, len, &handlers, id, NULL, &reason);
  if (rc < 0 || !id->arn.data)
    pl_preflight_report_shared(
        check, "aws", PL_CHECK_FAIL,
        "identity: sts GetCallerIdentity: the answer names no caller%s%s",
        reason.data ? ": " : "", reason.data ? reason.data : "");
  else
    pl_preflight_report_shared(check, "aws", PL_CHECK_OK,
                               "identity %s (account %s)", id->arn.data,
                               id->account.data ? id->account.data : "?");
  pl_buf_free(&reason);
  end_identity(id);
}

/* STS in the region of the first client; its endpoint is STS's own
 * (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the aws {} block's). */
static void ask_identity(identity_t *id, const char *region) {
  pl_aws_preflight_t *p = id->p;
  pl_aws_client_options_t options = {.service = "sts", .region = region};
  pl_aws_client_t *sts = NULL;
  if (pl_aws_client_create(p->inst, &options, &sts) < 0) {
    pl_preflight_report_shared(p->check, "aws", PL_CHECK_FAIL,
                               "identity: no STS client (see the log)");
    end_identity(id);
    return;
  }
  p->clients[p->client_count++] = sts;
  static const char form[] = "Action=GetCallerIdentity&Version=2011-06-15";
  static const pl_aws_header_t headers[] = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  pl_aws_rest_request_t request = {.operation = "GetCallerIdentity",
                                   .method = "POST",
                                   .headers = headers,
                                   .header_count = 1,
                                   .body = form,
                                   .body_len = sizeof form - 1};
  pl_aws_rest_handlers_t handlers = {.on_done = on_identity, .data = id};
  int rc = pl_aws_rest_call(sts, &request, &handlers, NULL);
  if (rc < 0) {
    pl_preflight_report_shared(p->check, "aws", PL_CHECK_FAIL,
                               "identity: cannot call STS: %s",
                               pl_strerror(rc));
    end_identity(id);
  }
}

typedef struct creds_wait {
  identity_t *id;
  char *region;
} creds_wait_t;

static void on_credentials(void *data, const pl_aws_credentials_t *creds,
                           const char *error) {
  creds_wait_t *wait = data;
  identity_t *id = wait->id;
  if (!creds) {
    pl_preflight_report_shared(id->p->check, "aws", PL_CHECK_FAIL,
                               "credentials: %s",
                               error ? error : "none found");
    end_identity(id);
  } else {
    pl_preflight_report_shared(id->p->check, "aws", PL_CHECK_OK,
                               "credentials from %s", creds->source);
    ask_identity(id, wait->region);
  }
  free(wait->region);
  free(wait);
}

static void check_identity(pl_aws_preflight_t *p, pl_aws_client_t *client) {
  identity_t *id = calloc(1, sizeof(*id));
  creds_wait_t *wait = calloc(1, sizeof(*wait));
  char *region = strdup(client->region);
  if (!id || !wait || !region) {
    free(id);
    free(wait);
    free(region);
    pl_preflight_report_shared(p->check, "aws", PL_CHECK_FAIL,
                               "credentials: cannot check: %s",
                               pl_strerror(PL_ENOMEM));
    return;
  }
  id->p = p;
  p->pending++;
  *wait = (creds_wait_t){id, region};
  const pl_aws_credentials_t *now = NULL;
  int rc = pl__aws_creds_get(client->ctx->creds, &now, on_credentials, wait);
  if (rc == 0) {
    on_credentials(wait, now, NULL);
  } else if (rc != PL_EAGAIN) {
    pl_buf_t why = {0};
    pl_buf_printf(&why, "cannot be fetched: %s", pl_strerror(rc));
    on_credentials(wait, NULL, why.data);
    pl_buf_free(&why);
  }
}

/* ---- Clients ---- */

static bool region_from_config(pl_aws_region_source_t source) {
  return source == PL_AWS_REGION_FROM_PLUGIN ||
         source == PL_AWS_REGION_FROM_BLOCK;
}

pl_aws_client_t *pl_aws_preflight_client(pl_aws_preflight_t *p,
                                         const pl_aws_client_options_t *options) {
  pl_aws_client_t *client = NULL;
  if (p->client_count >= MAX_CLIENTS) {
    pl_preflight_report(p->check, PL_CHECK_FAIL,
                        "%s: cannot check: more than %d clients (a plugin "
                        "bug)", options->service, MAX_CLIENTS);
    return NULL;
  }
  int rc = pl_aws_client_create(p->inst, options, &client);
  if (rc < 0) {
    pl_preflight_report(p->check, PL_CHECK_FAIL,
                        "%s: cannot set up a client (%s): the log on "
                        "standard error says why",
                        options->service, pl_strerror(rc));
    return NULL;
  }
  p->clients[p->client_count++] = client;
  pl__aws_sources_report(p->check, client, options);
  const char *where = pl__aws_region_source_name(client->region_source);
  pl_preflight_report(p->check, PL_CHECK_OK, "%s in region %s (%s) at %s (%s)",
                      client->service, client->region, where,
                      client->endpoint.url,
                      pl__aws_endpoint_source_name(client->endpoint.source));
  /* Said once per run, for every stage whose region is not in the config. */
  pl_buf_t key = {0};
  if (!region_from_config(client->region_source) &&
      pl_buf_printf(&key, "aws region %s %s", client->region, where) == 0 &&
      pl_preflight_claim(p->check, key.data))
    pl_preflight_report_shared(
        p->check, "aws", PL_CHECK_WARN,
        "region %s defaulted to %s: the config does not say where its "
        "resources are; set region in the aws {} block (or in each stage)",
        client->region, where);
  pl_buf_free(&key);
  if (pl_preflight_claim(p->check, "aws identity"))
    check_identity(p, client);
  return client;
}

/* ---- Queues ---- */

/* The queue's name: the last part of its URL. */
static const char *queue_name(const char *url) {
  const char *slash = strrchr(url, '/');
  return slash && slash[1] ? slash + 1 : url;
}

static uint64_t attribute_u64(json_t *attrs, const char *name, bool *found) {
  const char *text = json_string_value(json_object_get(attrs, name));
  char *end = NULL;
  unsigned long long v = text ? strtoull(text, &end, 10) : 0;
  *found = text && *text && end && *end == '\0';
  return *found ? (uint64_t)v : 0;
}

/* "to updates-dlq after 5 receives", from the RedrivePolicy JSON text;
 * false when the queue has none. */
static bool describe_redrive(json_t *attrs, pl_buf_t *out) {
  const char *text = json_string_value(json_object_get(attrs, "RedrivePolicy"));
  json_t *policy = text ? json_loads(text, 0, NULL) : NULL;
  const char *target =
      json_string_value(json_object_get(policy, "deadLetterTargetArn"));
  if (!target) {
    json_decref(policy);
    return false;
  }
  json_t *max = json_object_get(policy, "maxReceiveCount");
  const char *colon = strrchr(target, ':');
  pl_buf_printf(out, "redrive to %s", colon ? colon + 1 : target);
  if (json_is_integer(max))
    pl_buf_printf(out, " after %lld receives",
                  (long long)json_integer_value(max));
  else if (json_is_string(max))
    pl_buf_printf(out, " after %s receives", json_string_value(max));
  json_decref(policy);
  return true;
}

/* A queue the stage reads: its visibility timeout and redrive policy go
 * on the ok line `ok`, and what is risky about them into `warnings`, one
 * line each. */
static void check_reader(pf_call_t *call, json_t *attrs, pl_buf_t *ok,
                         pl_buf_t *warnings) {
  const pl_aws_queue_check_t *q = &call->queue;
  bool found = false;
  uint64_t queue_s = attribute_u64(attrs, "VisibilityTimeout", &found);
  uint64_t visibility_ms = q->visibility_timeout_ms;
  const char *from = "the stage's visibility_timeout";
  if (visibility_ms == 0) {
    visibility_ms = found ? queue_s * 1000 : 30000;
    from = found ? "the queue's" : "the default; the queue did not say";
  }
  pl_buf_printf(ok, ", visibility timeout %llus (%s)",
                (unsigned long long)(visibility_ms / 1000), from);
  pl_buf_t redrive = {0};
  if (describe_redrive(attrs, &redrive))
    pl_buf_printf(ok, ", %s", redrive.data);
  else
    pl_buf_printf(warnings,
                  "%s has no redrive policy: a message whose processing "
                  "keeps failing is received again and again; give the "
                  "queue a dead-letter queue (RedrivePolicy with "
                  "maxReceiveCount)\n",
                  call->what);
  pl_buf_free(&redrive);
  /* The heartbeat extends a message every half visibility timeout: the
   * extension has the other half to land. */
  uint64_t margin_ms = visibility_ms / 2;
  if (call->request_timeout_ms > 0 && margin_ms < call->request_timeout_ms)
    pl_buf_printf(
        warnings,
        "%s: visibility timeout %llus: the heartbeat extends messages in "
        "flight every %llus, but one extension may take up to "
        "request_timeout (%llus), so a slow one lets a message be received "
        "again while it is processed; use a visibility timeout of at least "
        "%llus or a shorter request_timeout\n",
        call->what, (unsigned long long)(visibility_ms / 1000),
        (unsigned long long)(margin_ms / 1000),
        (unsigned long long)(call->request_timeout_ms / 1000),
        (unsigned long long)(2 * call->request_timeout_ms / 1000));
}

static void on_queue(void *data, json_t *result, const pl_aws_error_t *error) {
  pf_call_t *call = data;
  pl_preflight_t *check = call->p->check;
  if (error) {
    pl_aws_preflight_fail(check, call->what, error);
    end_call(call);
    return;
  }
  json_t *attrs = json_object_get(result, "Attributes");
  pl_buf_t ok = {0};
  pl_buf_printf(&ok, "%s", call->what);
  const char *fifo = json_string_value(json_object_get(attrs, "FifoQueue"));
  if (fifo && strcmp(fifo, "true") == 0)
    pl_buf_append_str(&ok, " (FIFO)");
  pl_buf_t warnings = {0};
  if (call->queue.reads)
    check_reader(call, attrs, &ok, &warnings);
  pl_preflight_report(check, PL_CHECK_OK, "%s", ok.data ? ok.data : "queue");
  for (char *line = warnings.data; line && *line;) {
    char *end = strchr(line, '\n');
    *end = '\0';
    pl_preflight_report(check, PL_CHECK_WARN, "%s", line);
    line = end + 1;
  }
  pl_buf_free(&ok);
  pl_buf_free(&warnings);
  end_call(call);
}

void pl_aws_preflight_queue(pl_aws_preflight_t *p, pl_aws_client_t *client,
                            const pl_aws_queue_check_t *queue) {
  if (!client)
    return;
  pf_call_t *call = new_call(p, queue->what, queue_name(queue->url));
  if (!call)
    return;
  call->queue = *queue;
  call->request_timeout_ms = client->ctx->opts.request_timeout_ms;
  json_t *body = json_pack("{s:s, s:[s]}", "QueueUrl", queue->url,
                           "AttributeNames", "All");
  int rc = body ? pl_aws_json_call(client, "AmazonSQS.GetQueueAttributes",
                                   body, on_queue, call)
                : PL_ENOMEM;
  json_decref(body);
  if (rc < 0) {
    pl_preflight_report(p->check, PL_CHECK_FAIL, "%s: cannot check: %s",
                        call->what, pl_strerror(rc));
    end_call(call);
  }
}

int pl_aws_preflight_queue_stage(pl_preflight_t *check,
                                 const pl_aws_client_options_t *client,
                                 const pl_aws_queue_check_t *queue) {
  pl_aws_preflight_t *p = NULL;
  int rc = pl_aws_preflight_create(check, &p);
  if (rc < 0)
    return rc;
  pl_aws_preflight_queue(p, pl_aws_preflight_client(p, client), queue);
  pl_aws_preflight_finish(p);
  return 0;
}

/* ---- Buckets ---- */

static void on_bucket(void *data, int status, const char *body, size_t len,
                      const pl_aws_error_t *error) {
  pf_call_t *call = data;
  if (error && error->status == 404)
    /* HEAD answers have no body: S3's code is not there to say it. */
    pl_preflight_report(call->p->check, PL_CHECK_FAIL,
                        "%s: no such bucket (HTTP 404)", call->what);
  else if (error)
    pl_aws_preflight_fail(call->p->check, call->what, error);
  else
    pl_preflight_report(call->p->check, PL_CHECK_OK, "%s", call->what);
  end_call(call);
}

void pl_aws_preflight_bucket(pl_aws_preflight_t *p, pl_aws_client_t *client,
                             const char *bucket) {
  if (!client)
    return;
  pf_call_t *call = new_call(p, "bucket", bucket);
  if (!call)
    return;
  pl_aws_rest_request_t request = {
      .operation = "HeadBucket", .method = "HEAD", .bucket = bucket};
  pl_aws_rest_handlers_t handlers = {.on_done = on_bucket, .data = call};
  int rc = pl_aws_rest_call(client, &request, &handlers, NULL);
  if (rc < 0) {
    pl_preflight_report(p->check, PL_CHECK_FAIL, "%s: cannot check: %s",
                        call->what, pl_strerror(rc));
    end_call(call);
  }
}

/* ---- The plugin's own ---- */

static void on_json(void *data, json_t *result, const pl_aws_error_t *error) {
  pf_call_t *call = data;
  call->cb(call->data, call->p->check, result, error);
  end_call(call);
}

void pl_aws_preflight_json(pl_aws_preflight_t *p, pl_aws_client_t *client,
                           const char *target, const json_t *body,
                           pl_aws_preflight_json_cb cb, void *data) {
  const char *dot = strrchr(target, '.');
  const char *operation = dot ? dot + 1 : target;
  pf_call_t *call = new_call(p, "call", operation);
  if (call) {
    call->cb = cb;
    call->data = data;
  }
  int rc = call ? pl_aws_json_call(client, target, body, on_json, call)
                : PL_ENOMEM;
  if (rc < 0) {
    /* The callback runs all the same, with the reason. */
    pl_aws_error_t error = {.service = client->service,
                            .operation = operation,
                            .code = "NotSent",
                            .message = pl_strerror(rc)};
    cb(data, p->check, NULL, &error);
    if (call)
      end_call(call);
  }
}
