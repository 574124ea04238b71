/* The shared helpers of the credentials suites (test_creds.h). */
#include "test_creds.h"

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const all_secrets[] = {SECRET_KEY, SESSION_TOKEN, WEB_TOKEN,
                                          ECS_AUTH, IMDS_TOKEN};

void assert_no_secret(const char *text) {
  if (!text)
    return;
  for (size_t i = 0; i < sizeof all_secrets / sizeof all_secrets[0]; i++)
    ck_assert_msg(strstr(text, all_secrets[i]) == NULL,
                  "error text contains a secret: %s", text);
}

void iso8601(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- Injected environment and clock ---- */

static const char *env_get(void *data, const char *name) {
  test_env_t *e = data;
  for (size_t i = 0; i < e->count; i++)
    if (strcmp(e->names[i], name) == 0)
      return e->values[i];
  return NULL;
}

void env_init(test_env_t *e) {
  *e = (test_env_t){.env = {.getenv = env_get, .data = e}};
}

void env_set(test_env_t *e, const char *name, const char *value) {
  for (size_t i = 0; i < e->count; i++) {
    if (strcmp(e->names[i], name) != 0)
      continue;
    free(e->values[i]);
    if (value) {
      e->values[i] = strdup(value);
    } else {
      free(e->names[i]);
      e->count--;
      e->names[i] = e->names[e->count];
      e->values[i] = e->values[e->count];
    }
    return;
  }
  if (!value)
    return;
  ck_assert_uint_lt(e->count, 32);
  e->names[e->count] = strdup(name);
  e->values[e->count] = strdup(value);
  e->count++;
}

void env_free(test_env_t *e) {
  for (size_t i = 0; i < e->count; i++) {
    free(e->names[i]);
    free(e->values[i]);
  }
  e->count = 0;
}

static int64_t clock_get(void *data) {
  return ((test_clock_t *)data)->now;
}

/* ---- Temporary files ---- */

void rm_rf(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
      rm_rf(path);
    else
      unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

/* Writes dir/rel (creating dir/.aws when rel starts with it). */
void write_file(const char *dir, const char *rel, const char *text) {
  char path[512];
  if (strncmp(rel, ".aws/", 5) == 0) {
    snprintf(path, sizeof path, "%s/.aws", dir);
    mkdir(path, 0700);
  }
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* ---- The scripted transport ---- */

typedef struct script_call {
  script_t *script;
  pl_http_handlers_t handlers;
  script_reply_t reply;
  bool found;
  bool canceled;
  uv_timer_t timer;
} script_call_t;

static void script_call_closed(uv_handle_t *handle) {
  free(handle->data);
}

static void script_deliver(uv_timer_t *timer) {
  script_call_t *call = timer->data;
  pl_http_response_t response = {0};
  if (call->canceled) {
    response.error = PL_ECANCELED;
  } else if (!call->found) {
    response.error = PL_EIO;
    response.error_text = "no scripted reply";
  } else {
    response.status = call->reply.error ? 0 : call->reply.status;
    response.error = call->reply.error;
    response.error_text = call->reply.error ? "scripted failure" : NULL;
    response.body = call->reply.body ? call->reply.body : "";
    response.body_len = strlen(response.body);
  }
  uv_timer_stop(timer);
  call->handlers.on_done(call->handlers.data, &response);
  call->script->in_flight--;
  uv_close((uv_handle_t *)timer, script_call_closed);
}

static int script_submit(void *self, const pl_http_request_t *request,
                         const pl_http_handlers_t *handlers,
                         pl_http_call_t **out) {
  script_t *s = self;
  ck_assert_uint_lt(s->request_count, 32);
  script_request_t *r = &s->requests[s->request_count++];
  r->method = strdup(request->method);
  r->url = strdup(request->url);
  pl_buf_t headers = {0};
  for (size_t i = 0; i < request->header_count; i++)
    pl_buf_printf(&headers, "%s: %s\n", request->headers[i].name,
                  request->headers[i].value);
  r->headers = headers.data ? headers.data : strdup("");
  r->body = strndup(request->body ? request->body : "", request->body_len);
  script_call_t *call = calloc(1, sizeof *call);
  call->script = s;
  call->handlers = *handlers;
  for (size_t i = 0; i < s->reply_count; i++) {
    const script_reply_t *reply = &s->replies[i];
    if (s->used[i] ||
        (reply->method && strcmp(reply->method, request->method) != 0) ||
        (reply->url && !strstr(request->url, reply->url)))
      continue;
    s->used[i] = true;
    call->reply = *reply;
    call->found = true;
    break;
  }
  uv_timer_init(s->loop, &call->timer);
  call->timer.data = call;
  if (!call->found || !call->reply.hang)
    uv_timer_start(&call->timer, script_deliver,
                   call->found ? call->reply.delay_ms : 0, 0);
  s->in_flight++;
  if (out)
    *out = (pl_http_call_t *)call;
  return 0;
}

static void script_cancel(void *self, pl_http_call_t *handle) {
  script_call_t *call = (script_call_t *)handle;
  if (call->canceled)
    return;
  call->canceled = true;
  call->script->canceled++;
  uv_timer_start(&call->timer, script_deliver, 0, 0);
}

static void script_noop(void *self, pl_http_call_t *call) {}

void script_init(script_t *s, uv_loop_t *loop) {
  *s = (script_t){.loop = loop};
  s->transport = (pl_http_transport_t){.self = s,
                                       .submit = script_submit,
                                       .pause = script_noop,
                                       .resume = script_noop,
                                       .cancel = script_cancel};
}

void script_push(script_t *s, script_reply_t reply) {
  ck_assert_uint_lt(s->reply_count, 16);
  if (reply.body)
    reply.body = strdup(reply.body);
  s->used[s->reply_count] = false;
  s->replies[s->reply_count++] = reply;
}

void script_clear_replies(script_t *s) {
  for (size_t i = 0; i < s->reply_count; i++)
    free((char *)s->replies[i].body);
  s->reply_count = 0;
}

void script_free(script_t *s) {
  script_clear_replies(s);
  for (size_t i = 0; i < s->request_count; i++) {
    free(s->requests[i].method);
    free(s->requests[i].url);
    free(s->requests[i].headers);
    free(s->requests[i].body);
  }
  s->request_count = 0;
}

/* The value of header `name` in a recorded request, or NULL (new). */
char *script_header(const script_request_t *r, const char *name) {
  size_t len = strlen(name);
  for (const char *line = r->headers; *line;) {
    const char *eol = strchr(line, '\n');
    if (strncasecmp(line, name, len) == 0 && line[len] == ':')
      return strndup(line + len + 2, (size_t)(eol - line - len - 2));
    line = eol + 1;
  }
  return NULL;
}

/* ---- Fixture ---- */

static void guard_tick(uv_timer_t *timer) {}

fixture_t *fx_new(bool real_http) {
  fixture_t *f = calloc(1, sizeof *f);
  ck_assert_int_eq(uv_loop_init(&f->loop), 0);
  uv_timer_init(&f->loop, &f->guard);
  uv_timer_start(&f->guard, guard_tick, 20, 20);
  uv_unref((uv_handle_t *)&f->guard);
  env_init(&f->env);
  f->clock.now = T0;
  script_init(&f->script, &f->loop);
  f->http = &f->script.transport;
  snprintf(f->home, sizeof f->home, "/tmp/check_credentials.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->home));
  env_set(&f->env, "HOME", f->home);
  /* Nothing may reach 169.254.169.254: tests that want IMDS enable it and
   * point it at a fake. */
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "true");
  if (real_http) {
    ck_assert_int_eq(fake_http_start(&f->loop, &f->server), 0);
    const pl_http_curl_options_t opts = {.tls_verify = true,
                                         .max_in_flight = 4};
    ck_assert_int_eq(pl__http_curl_create(&f->loop, &opts, &f->curl), 0);
    f->http = pl__http_curl_transport(f->curl);
  }
  return f;
}

void fx_create_with(fixture_t *f, const char *profile, const char *sts_endpoint,
                    const char *region) {
  const pl_aws_creds_options_t opts = {
      .loop = &f->loop,
      .http = f->http,
      .env = &f->env.env,
      .profile = profile,
      .sts_endpoint = sts_endpoint,
      .region = region,
      .now = clock_get,
      .now_data = &f->clock,
      .process_timeout_ms = f->process_timeout_ms,
  };
  ck_assert_int_eq(pl__aws_creds_create(&opts, &f->creds), 0);
}

void fx_create(fixture_t *f) {
  fx_create_with(f, NULL, NULL, NULL);
}

void fx_close_creds(fixture_t *f) {
  pl__aws_creds_close(f->creds);
  f->creds = NULL;
}

void fx_free(fixture_t *f) {
  if (f->creds)
    fx_close_creds(f);
  uv_close((uv_handle_t *)&f->guard, NULL);
  if (f->curl)
    pl__http_curl_close(f->curl, NULL, NULL);
  if (f->server)
    fake_http_close(f->server);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&f->loop), 0);
  ck_assert_uint_eq(f->script.in_flight, 0);
  script_free(&f->script);
  env_free(&f->env);
  rm_rf(f->home);
  free(f);
}

/* Runs the loop until `done`, failing after 10 s. */
void run_until(fixture_t *f, predicate_t done, void *arg) {
  uint64_t deadline = uv_hrtime() + 10 * (uint64_t)1000000000;
  uv_ref((uv_handle_t *)&f->guard);
  while (!done(f, arg)) {
    ck_assert_msg(uv_hrtime() < deadline, "timed out waiting");
    uv_run(&f->loop, UV_RUN_ONCE);
  }
  uv_unref((uv_handle_t *)&f->guard);
}

/* What a get() callback received. */

void copy_creds(got_t *g, const pl_aws_credentials_t *c) {
  g->creds = c;
  snprintf(g->access_key_id, sizeof g->access_key_id, "%s", c->access_key_id);
  snprintf(g->secret_access_key, sizeof g->secret_access_key, "%s",
           c->secret_access_key);
  snprintf(g->session_token, sizeof g->session_token, "%s",
           c->session_token ? c->session_token : "");
  snprintf(g->source, sizeof g->source, "%s", c->source);
  g->expires_at = c->expires_at;
}

void on_creds(void *data, const pl_aws_credentials_t *c, const char *error) {
  got_t *g = data;
  g->calls++;
  ck_assert_msg((c == NULL) != (error == NULL), "creds xor error");
  if (c) {
    copy_creds(g, c);
  } else {
    assert_no_secret(error);
    free(g->error);
    g->error = strdup(error);
  }
}

void got_free(got_t *g) {
  free(g->error);
  g->error = NULL;
}

bool got_called(fixture_t *f, void *arg) {
  return ((got_t *)arg)->calls > 0;
}

/* get() that waits: fills *g from the immediate answer or the callback. */
void fx_get(fixture_t *f, got_t *g) {
  const pl_aws_credentials_t *now = NULL;
  int rc = pl__aws_creds_get(f->creds, &now, on_creds, g);
  if (rc == 0) {
    ck_assert_ptr_nonnull(now);
    g->calls++;
    copy_creds(g, now);
    return;
  }
  ck_assert_int_eq(rc, PL_EAGAIN);
  ck_assert_ptr_null(now);
  ck_assert_int_eq(g->calls, 0); /* never from inside get() */
  run_until(f, got_called, g);
  ck_assert_int_eq(g->calls, 1);
}

/* The error of a chain run that must fail. */
char *fx_error(fixture_t *f) {
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_msg(g.error != NULL, "expected an error, got %s", g.access_key_id);
  return g.error;
}

bool script_idle(fixture_t *f, void *arg) {
  return f->script.request_count >= (size_t)(uintptr_t)arg &&
         f->script.in_flight == 0;
}

char *fmt(const char *format, ...) {
  pl_buf_t buf = {0};
  va_list ap;
  va_start(ap, format);
  ck_assert_int_eq(pl_buf_vprintf(&buf, format, ap), 0);
  va_end(ap);
  return buf.data;
}

char *ecs_json(const char *id, int64_t expires_at) {
  char when[32];
  iso8601(expires_at, when);
  return fmt("{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
             "\"Token\":\"%s\",\"Expiration\":\"%s\"}",
             id, SECRET_KEY, SESSION_TOKEN, when);
}

void push_ecs(fixture_t *f, const char *id, int64_t expires_at,
              unsigned delay_ms) {
  char *json = ecs_json(id, expires_at);
  script_push(&f->script, (script_reply_t){.method = "GET",
                                           .url = "169.254.170.2",
                                           .status = 200,
                                           .body = json,
                                           .delay_ms = delay_ms});
  free(json);
}

char *sts_xml(const char *id, int64_t expires_at) {
  char when[32];
  iso8601(expires_at, when);
  return fmt("<AssumeRoleWithWebIdentityResponse "
             "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
             "  <AssumeRoleWithWebIdentityResult>\n"
             "    <SubjectFromWebIdentityToken>system:sa</"
             "SubjectFromWebIdentityToken>\n"
             "    <AssumedRoleUser><Arn>" ROLE_ARN "/s</Arn>"
             "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
             "    <Credentials>\n"
             "      <SessionToken>%s</SessionToken>\n"
             "      <SecretAccessKey>%s</SecretAccessKey>\n"
             "      <Expiration>%s</Expiration>\n"
             "      <AccessKeyId>%s</AccessKeyId>\n"
             "    </Credentials>\n"
             "  </AssumeRoleWithWebIdentityResult>\n"
             "  <ResponseMetadata><RequestId>r-1</RequestId>"
             "</ResponseMetadata>\n"
             "</AssumeRoleWithWebIdentityResponse>\n",
             SESSION_TOKEN, SECRET_KEY, when, id);
}

char *imds_json(const char *id, int64_t expires_at) {
  char when[32];
  iso8601(expires_at, when);
  return fmt("{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : "
             "\"2023-11-14T22:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
             "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : \"%s\",\n"
             "  \"Token\" : \"%s\",\n  \"Expiration\" : \"%s\"\n}\n",
             id, SECRET_KEY, SESSION_TOKEN, when);
}

void push_imds(fixture_t *f, const char *id, int64_t expires_at) {
  script_push(&f->script, (script_reply_t){.method = "PUT",
                                           .url = "/latest/api/token",
                                           .status = 200,
                                           .body = IMDS_TOKEN});
  script_push(&f->script, (script_reply_t){.method = "GET",
                                           .url = "/latest/meta-data/iam/"
                                                  "security-credentials/",
                                           .status = 200,
                                           .body = "my-role"});
  char *json = imds_json(id, expires_at);
  script_push(&f->script,
              (script_reply_t){.method = "GET",
                               .url = "/iam/security-credentials/my-role",
                               .status = 200,
                               .body = json});
  free(json);
}
void get_now(fixture_t *f, const char *expected_id) {
  const pl_aws_credentials_t *now = NULL;
  got_t unused = {0};
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &unused), 0);
  ck_assert_str_eq(now->access_key_id, expected_id);
  ck_assert_int_eq(unused.calls, 0);
}
