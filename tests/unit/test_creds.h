/* What the Check suites of the AWS credentials chain share
 * (check_credentials.c, check_creds_role.c): test secrets, an injected
 * environment and clock, temporary files, a scripted in-process HTTP
 * transport that records requests, and a fixture that creates the chain
 * and waits for its answers. Nothing here talks to a non-loopback
 * address. */
#ifndef PL_TEST_CREDS_H
#define PL_TEST_CREDS_H

#include <pipelined/common.h>
#include <uv.h>

#include "credentials.h"
#include "fake_http.h"
#include "http.h"

/* Secrets used by the tests: no error text may ever contain one. */
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SESSION_TOKEN "FwoGZXIvYXdzEXAMPLESESSIONTOKENsecret"
#define WEB_TOKEN "eyJhbGciOiJSUzI1NiJ9.WEBIDENTITYSECRET.c2ln"
#define ECS_AUTH "ECSAUTHSECRET-0123456789abcdef"
#define IMDS_TOKEN "IMDSSESSIONTOKENSECRET0123456789=="
#define ROLE_ARN "arn:aws:iam::123456789012:role/ci"

#define T0 ((int64_t)1700000000) /* 2023-11-14T22:13:20Z */
typedef struct test_env {
  pl_env_t env;
  size_t count;
  char *names[32];
  char *values[32];
} test_env_t;

typedef struct test_clock {
  int64_t now;
} test_clock_t;

typedef struct script_reply {
  const char *method; /* NULL: any */
  const char *url;    /* a substring of the URL, NULL: any */
  int status;
  int error; /* a transport failure (PL_EIO, PL_EAGAIN) */
  const char *body;
  unsigned delay_ms;
  bool hang; /* never answers: only cancel ends the call */
} script_reply_t;

typedef struct script_request {
  char *method;
  char *url;
  char *headers; /* "Name: value\n" lines */
  char *body;
} script_request_t;

typedef struct script {
  uv_loop_t *loop;
  pl_http_transport_t transport;
  script_reply_t replies[16];
  bool used[16];
  size_t reply_count;
  script_request_t requests[32];
  size_t request_count;
  size_t in_flight;
  size_t canceled;
} script_t;

typedef struct fixture {
  uv_loop_t loop;
  uv_timer_t guard; /* wakes run_until() */
  test_env_t env;
  test_clock_t clock;
  script_t script;
  fake_http_t *server;
  pl_http_curl_t *curl;
  const pl_http_transport_t *http;
  char home[64];
  pl_aws_creds_t *creds;
  uint64_t process_timeout_ms; /* given to fx_create*(); 0: the default */
} fixture_t;

typedef bool (*predicate_t)(fixture_t *f, void *arg);

typedef struct got {
  int calls;
  char *error;
  const pl_aws_credentials_t *creds;
  char access_key_id[128];
  char secret_access_key[128];
  char session_token[128];
  char source[256];
  int64_t expires_at;
} got_t;

/* Fails when `text` (NULL accepted) holds one of the secrets above. */
void assert_no_secret(const char *text);
void iso8601(int64_t t, char out[32]);
/* An empty environment whose `env` reads the names set with env_set(). */
void env_init(test_env_t *e);
void env_set(test_env_t *e, const char *name, const char *value);
void env_free(test_env_t *e);
void rm_rf(const char *dir);
void write_file(const char *dir, const char *rel, const char *text);
/* The scripted transport: replies are matched in order by method and URL
 * substring, each used once, and delivered on a later loop iteration;
 * requests are recorded. */
void script_init(script_t *s, uv_loop_t *loop);
void script_push(script_t *s, script_reply_t reply);
void script_clear_replies(script_t *s);
void script_free(script_t *s);
char *script_header(const script_request_t *r, const char *name);
/* A loop, an environment with HOME in a new temporary directory and IMDS
 * disabled, the clock at T0, and the scripted transport (or, with
 * real_http, curl against a loopback fake_http server). */
fixture_t *fx_new(bool real_http);
void fx_create_with(fixture_t *f, const char *profile, const char *sts_endpoint,
                    const char *region);
void fx_create(fixture_t *f);
void fx_close_creds(fixture_t *f);
void fx_free(fixture_t *f);
void run_until(fixture_t *f, predicate_t done, void *arg);
void copy_creds(got_t *g, const pl_aws_credentials_t *c);
void on_creds(void *data, const pl_aws_credentials_t *c, const char *error);
void got_free(got_t *g);
bool got_called(fixture_t *f, void *arg);
/* get() that waits: fills *g from the immediate answer or the callback. */
void fx_get(fixture_t *f, got_t *g);
/* The error of a chain run that must fail (new string). */
char *fx_error(fixture_t *f);
bool script_idle(fixture_t *f, void *arg);
char *fmt(const char *format, ...) PL_PRINTF(1, 2);
/* Answers of the metadata services and STS, with SECRET_KEY and
 * SESSION_TOKEN, as new strings (push_*: queued on the script). */
char *ecs_json(const char *id, int64_t expires_at);
void push_ecs(fixture_t *f, const char *id, int64_t expires_at,
              unsigned delay_ms);
char *sts_xml(const char *id, int64_t expires_at);
char *imds_json(const char *id, int64_t expires_at);
void push_imds(fixture_t *f, const char *id, int64_t expires_at);
/* get() that must answer at once with `expected_id`. */
void get_now(fixture_t *f, const char *expected_id);

#endif
