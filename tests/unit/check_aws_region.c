/* The region from EC2 instance metadata (IMDSv2), the last source after a
 * stage's option, the aws {} block, AWS_REGION, AWS_DEFAULT_REGION and the
 * profile: the lookup itself (creds_imds.c) against the loopback fake on
 * the test's loop, then clients of an idle engine (aws_context.c), whose
 * lookup runs on a private loop and so meets a fake served from a thread
 * of its own. Nothing talks to a non-loopback address: every test that
 * lets the lookup run points AWS_EC2_METADATA_SERVICE_ENDPOINT at a fake or
 * at 127.0.0.1. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws_call.h"
#include "creds_imds.h"
#include "test_aws_idle.h"
#include "test_creds.h"
#include "test_suite.h"

#define REGION_PATH "/latest/meta-data/placement/region"

/* ---- The lookup ---- */

typedef struct region_got {
  bool done;
  pl__creds_result_t result;
} region_got_t;

static void on_region(void *data, pl__creds_result_t *result) {
  region_got_t *got = data;
  got->result = *result;
  got->done = true;
}

static bool region_done(fixture_t *f, void *arg) {
  (void)f;
  return ((region_got_t *)arg)->done;
}

/* Runs one lookup to its end; the result is the caller's to clear. */
static region_got_t lookup(fixture_t *f) {
  pl__creds_ctx_t ctx = {.loop = &f->loop, .http = f->http, .env = &f->env.env};
  region_got_t got = {0};
  pl__creds_op_t *op = NULL;
  int rc = pl__creds_imds_region_start(&ctx, &got.result, on_region, &got, &op);
  if (rc == PL_EAGAIN)
    run_until(f, region_done, &got);
  else
    ck_assert_int_eq(rc, 0);
  return got;
}

static void push_token(fake_http_t *server) {
  fake_http_push(server,
                 &(fake_http_response_t){.method = "PUT",
                                         .path_prefix = "/latest/api/token",
                                         .status = 200,
                                         .body = IMDS_TOKEN});
}

START_TEST(test_lookup_reads_the_region) {
  fixture_t *f = fx_new(true);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          fake_http_url(f->server));
  push_token(f->server);
  fake_http_push(f->server, &(fake_http_response_t){.method = "GET",
                                                    .path_prefix = REGION_PATH,
                                                    .status = 200,
                                                    .body = "eu-north-1\n"});
  region_got_t got = lookup(f);
  ck_assert_int_eq(got.result.outcome, PL__CREDS_FOUND);
  ck_assert_str_eq(got.result.value, "eu-north-1");
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  const fake_http_request_t *put = fake_http_request(f->server, 0);
  ck_assert_str_eq(put->method, "PUT");
  ck_assert_str_eq(put->path, "/latest/api/token");
  char *ttl =
      fake_http_request_header(put, "X-aws-ec2-metadata-token-ttl-seconds");
  ck_assert_str_eq(ttl, "21600");
  free(ttl);
  const fake_http_request_t *get = fake_http_request(f->server, 1);
  ck_assert_str_eq(get->method, "GET");
  ck_assert_str_eq(get->path, REGION_PATH);
  char *token = fake_http_request_header(get, "X-aws-ec2-metadata-token");
  ck_assert_str_eq(token, IMDS_TOKEN);
  free(token);
  pl__creds_result_clear(&got.result);
  fx_free(f);
}
END_TEST

START_TEST(test_lookup_failures) {
  static const struct {
    int token_status;
    int region_status;
    const char *body;
    pl__creds_outcome_t outcome;
    const char *reason; /* after the server's URL */
  } cases[] = {
      {403, 0, NULL, PL__CREDS_ABSENT, "/latest/api/token: HTTP 403"},
      {200, 404, NULL, PL__CREDS_FAILED, REGION_PATH ": HTTP 404"},
      {200, 200, "<html>Not A Region</html>", PL__CREDS_FAILED,
       REGION_PATH ": no region name in the answer"},
      {200, 200, "", PL__CREDS_FAILED,
       REGION_PATH ": no region name in the answer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fixture_t *f = fx_new(true);
    env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "false");
    env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            fake_http_url(f->server));
    if (cases[i].token_status == 200)
      push_token(f->server);
    else
      fake_http_push(f->server,
                     &(fake_http_response_t){.status = cases[i].token_status});
    if (cases[i].region_status)
      fake_http_push(f->server,
                     &(fake_http_response_t){.status = cases[i].region_status,
                                             .body = cases[i].body});
    region_got_t got = lookup(f);
    ck_assert_int_eq(got.result.outcome, cases[i].outcome);
    ck_assert_ptr_null(got.result.value);
    char *want = fmt("%s%s", fake_http_url(f->server), cases[i].reason);
    ck_assert_msg(strstr(got.result.reason, want), "%s", got.result.reason);
    assert_no_secret(got.result.reason);
    free(want);
    pl__creds_result_clear(&got.result);
    fx_free(f);
  }
}
END_TEST

START_TEST(test_lookup_disabled) {
  fixture_t *f = fx_new(true);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          fake_http_url(f->server));
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "TRUE");
  region_got_t got = lookup(f);
  ck_assert_int_eq(got.result.outcome, PL__CREDS_ABSENT);
  ck_assert_str_eq(got.result.reason, "disabled by AWS_EC2_METADATA_DISABLED");
  ck_assert_uint_eq(fake_http_request_count(f->server), 0);
  pl__creds_result_clear(&got.result);
  fx_free(f);
}
END_TEST

/* ---- Clients: the fake served from its own thread ---- */

typedef struct threaded_fake {
  uv_loop_t loop;
  uv_async_t stop;
  fake_http_t *server;
  uv_thread_t thread;
} threaded_fake_t;

/* Only stops the thread's loop: the server (and what it recorded) stays
 * until fake_free() closes it from this thread. */
static void on_stop(uv_async_t *async) {
  threaded_fake_t *t = async->data;
  uv_stop(&t->loop);
}

static void serve(void *arg) {
  threaded_fake_t *t = arg;
  uv_run(&t->loop, UV_RUN_DEFAULT);
}

/* Answers a token, then `region` (NULL: nothing more queued). */
static threaded_fake_t *fake_start(const char *region) {
  threaded_fake_t *t = calloc(1, sizeof *t);
  ck_assert_int_eq(uv_loop_init(&t->loop), 0);
  ck_assert_int_eq(fake_http_start(&t->loop, &t->server), 0);
  ck_assert_int_eq(uv_async_init(&t->loop, &t->stop, on_stop), 0);
  t->stop.data = t;
  if (region) {
    push_token(t->server);
    fake_http_push(t->server,
                   &(fake_http_response_t){.method = "GET",
                                           .path_prefix = REGION_PATH,
                                           .status = 200,
                                           .body = region});
  }
  ck_assert_int_eq(uv_thread_create(&t->thread, serve, t), 0);
  return t;
}

/* Stops the thread (the loop is this thread's again); returns how many
 * requests the server received. */
static size_t fake_stop(threaded_fake_t *t) {
  uv_async_send(&t->stop);
  ck_assert_int_eq(uv_thread_join(&t->thread), 0);
  return fake_http_request_count(t->server);
}

static void fake_free(threaded_fake_t *t) {
  uv_close((uv_handle_t *)&t->stop, NULL);
  fake_http_close(t->server);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&t->loop), 0);
  free(t);
}

typedef struct engine {
  test_env_t env;
  test_run_t *run;
  pl_instance_t *inst;
} engine_t;

/* Test credentials, no shared files (unless `extra` names one), and
 * `extra` pairs (name, value, ..., NULL). */
static engine_t *engine_new(const char *const *extra, const char *block) {
  engine_t *e = calloc(1, sizeof *e);
  env_init(&e->env);
  env_set(&e->env, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  env_set(&e->env, "AWS_SECRET_ACCESS_KEY", "sekrit-do-not-log");
  env_set(&e->env, "AWS_CONFIG_FILE", "/dev/null");
  env_set(&e->env, "AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  for (size_t i = 0; extra[i]; i += 2)
    env_set(&e->env, extra[i], extra[i + 1]);
  e->run = test_aws_idle(&e->env.env, block);
  e->inst = test_stage(e->run, "p", PL_ROLE_SINK);
  return e;
}

static void engine_free(engine_t *e) {
  ck_assert_int_eq(test_run_stop(e->run), 0);
  env_free(&e->env);
  free(e);
}

static pl_aws_client_t *client_of(engine_t *e, const char *service,
                                  const char *region) {
  pl_aws_client_options_t opts = {.service = service, .region = region};
  pl_aws_client_t *client = NULL;
  ck_assert_msg(pl_aws_client_create(e->inst, &opts, &client) == 0, "%s",
                test_log(e->run));
  return client;
}

START_TEST(test_client_region_from_imds_once) {
  threaded_fake_t *t = fake_start("ap-southeast-2");
  const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                       fake_http_url(t->server), NULL};
  engine_t *e = engine_new(env, NULL);
  pl_aws_client_t *sqs = client_of(e, "sqs", NULL);
  ck_assert_str_eq(sqs->region, "ap-southeast-2");
  ck_assert_int_eq(sqs->region_source, PL_AWS_REGION_FROM_IMDS);
  ck_assert_str_eq(sqs->endpoint.url,
                   "https://sqs.ap-southeast-2.amazonaws.com");
  ck_assert_str_eq(pl__aws_region_source_name(sqs->region_source),
                   "instance metadata");
  /* Asked once per engine: the next client reuses the answer. */
  pl_aws_client_t *s3 = client_of(e, "s3", NULL);
  ck_assert_str_eq(s3->region, "ap-southeast-2");
  /* A stage's own region still wins. */
  pl_aws_client_t *ddb = client_of(e, "dynamodb", "eu-west-3");
  ck_assert_str_eq(ddb->region, "eu-west-3");
  ck_assert_int_eq(ddb->region_source, PL_AWS_REGION_FROM_PLUGIN);
  ck_assert_uint_eq(fake_stop(t), 2);
  ck_assert_str_eq(fake_http_request(t->server, 1)->path, REGION_PATH);
  ck_assert_ptr_nonnull(
      strstr(test_log(e->run), "region ap-southeast-2 from instance metadata"));
  pl_aws_client_destroy(sqs);
  pl_aws_client_destroy(s3);
  pl_aws_client_destroy(ddb);
  engine_free(e);
  fake_free(t);
}
END_TEST

/* Every configured source comes before instance metadata, which is then
 * never asked. */
START_TEST(test_client_configured_sources_win) {
  char dir[] = "/tmp/check_aws_region.XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  write_file(dir, "config", "[profile prod]\nregion = sa-east-1\n");
  char *config = fmt("%s/config", dir);
  static const struct {
    const char *name, *value, *block, *region;
    pl_aws_region_source_t source;
  } cases[] = {
      {"AWS_REGION", "eu-west-1", NULL, "eu-west-1", PL_AWS_REGION_FROM_ENV},
      {"AWS_DEFAULT_REGION", "eu-west-2", NULL, "eu-west-2",
       PL_AWS_REGION_FROM_ENV_DEFAULT},
      {"AWS_PROFILE", "prod", NULL, "sa-east-1", PL_AWS_REGION_FROM_PROFILE},
      {"AWS_PROFILE", "prod", "aws { region = \"us-west-1\" }", "us-west-1",
       PL_AWS_REGION_FROM_BLOCK},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    threaded_fake_t *t = fake_start("ap-southeast-2");
    const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                         fake_http_url(t->server),
                         cases[i].name,
                         cases[i].value,
                         "AWS_CONFIG_FILE",
                         config,
                         NULL};
    engine_t *e = engine_new(env, cases[i].block);
    pl_aws_client_t *client = client_of(e, "sqs", NULL);
    ck_assert_str_eq(client->region, cases[i].region);
    ck_assert_int_eq(client->region_source, cases[i].source);
    ck_assert_uint_eq(fake_stop(t), 0);
    pl_aws_client_destroy(client);
    engine_free(e);
    fake_free(t);
  }
  rm_rf(dir);
  free(config);
}
END_TEST

/* No region anywhere: the error names every source, the profile's file
 * and why instance metadata gave none. */
START_TEST(test_client_no_region_names_every_source) {
  const char *env[] = {
      "AWS_EC2_METADATA_DISABLED", "true",          "HOME", "/nonexistent",
      "AWS_CONFIG_FILE",           "~/.aws/config", NULL};
  engine_t *e = engine_new(env, NULL);
  pl_aws_client_options_t opts = {.service = "sqs"};
  pl_aws_client_t *client = NULL;
  ck_assert_int_lt(pl_aws_client_create(e->inst, &opts, &client), 0);
  ck_assert_msg(
      strstr(test_log(e->run),
             "no AWS region: not in the stage's region option, the aws {} "
             "block, AWS_REGION, AWS_DEFAULT_REGION or profile default in "
             "/nonexistent/.aws/config, nor from instance metadata "
             "(disabled by AWS_EC2_METADATA_DISABLED); set region in the "
             "aws {} block"),
      "%s", test_log(e->run));
  engine_free(e);
}
END_TEST

/* Off EC2 the lookup gives up quickly and says why. */
START_TEST(test_client_imds_unreachable) {
  const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                       "http://127.0.0.1:1", NULL};
  engine_t *e = engine_new(env, NULL);
  pl_aws_client_options_t opts = {.service = "sqs"};
  pl_aws_client_t *client = NULL;
  uint64_t start = uv_hrtime();
  ck_assert_int_lt(pl_aws_client_create(e->inst, &opts, &client), 0);
  ck_assert_uint_lt((uv_hrtime() - start) / 1000000, 3000);
  ck_assert_msg(strstr(test_log(e->run),
                       ", nor from instance metadata (PUT "
                       "http://127.0.0.1:1/latest/api/token: "),
                "%s", test_log(e->run));
  /* Asked once: a second client fails the same way without waiting. */
  ck_assert_int_lt(pl_aws_client_create(e->inst, &opts, &client), 0);
  engine_free(e);
}
END_TEST

/* A silent endpoint: the 1 s timeout bounds how long the loop waits. */
START_TEST(test_client_imds_silent) {
  threaded_fake_t *t = fake_start(NULL);
  fake_http_push(t->server, &(fake_http_response_t){.hang = true});
  const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                       fake_http_url(t->server), NULL};
  engine_t *e = engine_new(env, NULL);
  pl_aws_client_options_t opts = {.service = "sqs"};
  pl_aws_client_t *client = NULL;
  uint64_t start = uv_hrtime();
  ck_assert_int_lt(pl_aws_client_create(e->inst, &opts, &client), 0);
  uint64_t elapsed_ms = (uv_hrtime() - start) / 1000000;
  ck_assert_uint_ge(elapsed_ms, 900);
  ck_assert_uint_lt(elapsed_ms, 3000);
  ck_assert_ptr_nonnull(strstr(test_log(e->run), "token: timed out"));
  engine_free(e);
  fake_stop(t);
  fake_free(t);
}
END_TEST

static Suite *region_suite(void) {
  Suite *s = suite_create("aws_region");
  TCase *op = tcase_create("lookup");
  tcase_add_test(op, test_lookup_reads_the_region);
  tcase_add_test(op, test_lookup_failures);
  tcase_add_test(op, test_lookup_disabled);
  suite_add_tcase(s, op);
  TCase *client = tcase_create("client");
  tcase_set_timeout(client, 20);
  tcase_add_test(client, test_client_region_from_imds_once);
  tcase_add_test(client, test_client_configured_sources_win);
  tcase_add_test(client, test_client_no_region_names_every_source);
  tcase_add_test(client, test_client_imds_unreachable);
  tcase_add_test(client, test_client_imds_silent);
  suite_add_tcase(s, client);
  return s;
}

int main(void) {
  return test_suite_run(region_suite());
}
