/* Retry settings as the AWS SDKs take them: retry_mode and max_attempts
 * from the aws {} block, AWS_RETRY_MODE / AWS_MAX_ATTEMPTS and the
 * profile, first set wins; what each mode does to a client; and errors
 * that name where a bad value came from. Pure resolution first
 * (retry.c), then clients of an idle engine reading a real config file
 * (aws_context.c, aws.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_call.h"
#include "retry.h"
#include "test_aws_idle.h"
#include "test_creds.h"
#include "test_suite.h"

/* ---- Resolution ---- */

static pl_aws_retry_choice_t resolve_ok(const pl_aws_attempts_inputs_t *in) {
  pl_aws_retry_choice_t c;
  char *error = NULL;
  ck_assert_int_eq(pl__aws_retry_resolve(in, &c, &error), 0);
  ck_assert_ptr_null(error);
  return c;
}

START_TEST(test_mode_default_is_standard_with_3_attempts) {
  pl_aws_attempts_inputs_t in = {0};
  pl_aws_retry_choice_t c = resolve_ok(&in);
  ck_assert_str_eq(pl__aws_retry_mode_name(c.mode), "standard");
  ck_assert_str_eq(pl__aws_retry_mode_source_name(c.mode_from), "default");
  ck_assert_uint_eq(c.attempts, 3);
  ck_assert_str_eq(pl__aws_attempts_source_name(c.attempts_from), "default");
}
END_TEST

START_TEST(test_mode_each_source) {
  pl_aws_attempts_inputs_t in = {.profile_mode = "adaptive"};
  pl_aws_retry_choice_t c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_ADAPTIVE);
  ck_assert_str_eq(pl__aws_retry_mode_source_name(c.mode_from),
                   "profile retry_mode");
  in = (pl_aws_attempts_inputs_t){.env_mode = "LEGACY"}; /* any case */
  c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_LEGACY);
  ck_assert_str_eq(pl__aws_retry_mode_source_name(c.mode_from),
                   "AWS_RETRY_MODE");
  in = (pl_aws_attempts_inputs_t){.block_mode = 1 + PL_AWS_RETRY_MODE_STANDARD};
  c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_STANDARD);
  ck_assert_str_eq(pl__aws_retry_mode_source_name(c.mode_from), "aws {} block");
}
END_TEST

/* The SDKs' order: config block, then environment, then profile. */
START_TEST(test_mode_precedence) {
  pl_aws_attempts_inputs_t in = {.env_mode = "standard",
                                 .profile_mode = "legacy"};
  pl_aws_retry_choice_t c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_STANDARD);
  ck_assert_int_eq(c.mode_from, PL_AWS_ATTEMPTS_FROM_ENV);
  in.block_mode = 1 + PL_AWS_RETRY_MODE_LEGACY;
  c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_LEGACY);
  ck_assert_int_eq(c.mode_from, PL_AWS_ATTEMPTS_FROM_BLOCK);
  /* An empty variable counts as unset, as in the SDKs. */
  in = (pl_aws_attempts_inputs_t){.env_mode = "", .profile_mode = "adaptive"};
  c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_ADAPTIVE);
  /* A bad value below the one that wins is not read. */
  in = (pl_aws_attempts_inputs_t){.env_mode = "legacy", .profile_mode = "x"};
  c = resolve_ok(&in);
  ck_assert_int_eq(c.mode, PL_AWS_RETRY_MODE_LEGACY);
}
END_TEST

/* Legacy mode's default is 5 attempts; a set max_attempts still wins,
 * whatever the mode. */
START_TEST(test_legacy_attempts) {
  pl_aws_attempts_inputs_t in = {.env_mode = "legacy"};
  pl_aws_retry_choice_t c = resolve_ok(&in);
  ck_assert_uint_eq(c.attempts, 5);
  ck_assert_int_eq(c.attempts_from, PL_AWS_ATTEMPTS_FROM_DEFAULT);
  in.profile = "2";
  c = resolve_ok(&in);
  ck_assert_uint_eq(c.attempts, 2);
  ck_assert_int_eq(c.attempts_from, PL_AWS_ATTEMPTS_FROM_PROFILE);
  in.env = "4";
  c = resolve_ok(&in);
  ck_assert_uint_eq(c.attempts, 4);
  ck_assert_int_eq(c.attempts_from, PL_AWS_ATTEMPTS_FROM_ENV);
  in.block = 7;
  c = resolve_ok(&in);
  ck_assert_uint_eq(c.attempts, 7);
  ck_assert_int_eq(c.attempts_from, PL_AWS_ATTEMPTS_FROM_BLOCK);
  in = (pl_aws_attempts_inputs_t){.env_mode = "adaptive"};
  ck_assert_uint_eq(resolve_ok(&in).attempts, 3);
}
END_TEST

START_TEST(test_bad_values_name_their_source) {
  static const struct {
    pl_aws_attempts_inputs_t in;
    const char *error;
  } cases[] = {
      {{.env_mode = "foo"},
       "AWS_RETRY_MODE=foo: expected legacy, standard or adaptive"},
      {{.profile_mode = "fast",
        .profile_mode_where = "profile prod in /home/u/.aws/config line 4"},
       "profile prod in /home/u/.aws/config line 4: retry_mode=fast: expected "
       "legacy, standard or adaptive"},
      {{.profile_mode = "fast"},
       "profile: retry_mode=fast: expected legacy, standard or adaptive"},
      {{.profile = "ten",
        .profile_attempts_where = "profile prod in /c line 2"},
       "profile prod in /c line 2: max_attempts is 'ten', not a whole number "
       "from "
       "1 to 100"},
      {{.env = "0", .env_mode = "legacy"},
       "AWS_MAX_ATTEMPTS is '0', not a whole number from 1 to 100"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_retry_choice_t c;
    char *error = NULL;
    ck_assert_int_eq(pl__aws_retry_resolve(&cases[i].in, &c, &error),
                     PL_EINVAL);
    ck_assert_str_eq(error, cases[i].error);
    free(error);
  }
}
END_TEST

/* Legacy mode has no retry quota: a bucket that could not pay for one
 * standard retry still retries, and keeps its tokens. */
static uint32_t rng_half(void *data) {
  (void)data;
  return 1u << 31;
}

START_TEST(test_legacy_has_no_quota) {
  pl_aws_retry_config_t cfg;
  pl__aws_retry_config_init(&cfg);
  pl_aws_retry_bucket_t bucket;
  pl_aws_retry_choice_t legacy = {.mode = PL_AWS_RETRY_MODE_LEGACY,
                                  .attempts = 5};
  pl_aws_retry_choice_t standard = {.mode = PL_AWS_RETRY_MODE_STANDARD,
                                    .attempts = 5};
  pl_aws_error_detail_t error = {.status = 503};
  pl_aws_rng_t rng = {rng_half, NULL};
  for (int mode = 0; mode < 2; mode++) {
    pl__aws_retry_bucket_init(&bucket, 3); /* less than one retry's cost */
    pl__aws_retry_apply(mode ? &standard : &legacy, &cfg, &bucket);
    ck_assert_uint_eq(cfg.max_attempts, 5);
    pl_aws_retry_state_t state;
    pl__aws_retry_state_init(&state);
    pl_aws_retry_decision_t d;
    ck_assert_int_eq(
        pl__aws_retry_decide(&cfg, &bucket, &state, &error, 0, &rng, &d), 0);
    if (mode == 0) {
      ck_assert(d.retry);
      ck_assert_uint_eq(d.cost, 0);
      ck_assert_uint_eq(bucket.tokens, 3);
      ck_assert_uint_gt(d.delay_ms, 0); /* the same backoff */
    } else {
      ck_assert(!d.retry);
      ck_assert_int_eq(d.stop, PL_AWS_RETRY_STOP_QUOTA);
    }
  }
}
END_TEST

/* ---- Clients of an engine: the environment, a config file, the block ---- */

typedef struct mode_fx {
  char dir[64];
  char *config_path;
  test_env_t env;
  test_run_t *run;
  pl_instance_t *inst;
  pl_aws_client_t *client;
} mode_fx_t;

/* An environment with test credentials, a region, no instance metadata
 * and AWS_CONFIG_FILE naming `config` (written to a temporary file), plus
 * `extra` pairs (name, value, ..., NULL). */
static mode_fx_t *mfx_new(const char *config, const char *const *extra) {
  mode_fx_t *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/check_aws_retry_mode.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->dir));
  write_file(f->dir, "config", config);
  f->config_path = fmt("%s/config", f->dir);
  env_init(&f->env);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", "sekrit-do-not-log");
  env_set(&f->env, "AWS_REGION", "eu-west-1");
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "true");
  env_set(&f->env, "AWS_CONFIG_FILE", f->config_path);
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  for (size_t i = 0; extra && extra[i]; i += 2)
    env_set(&f->env, extra[i], extra[i + 1]);
  return f;
}

/* Creates the client; returns its result. */
static int mfx_client(mode_fx_t *f, const char *block,
                      int64_t plugin_attempts) {
  f->run = test_aws_idle(&f->env.env, block);
  f->inst = test_stage(f->run, "p", PL_ROLE_SINK);
  pl_aws_client_options_t opts = {.service = "sqs",
                                  .max_attempts = plugin_attempts};
  return pl_aws_client_create(f->inst, &opts, &f->client);
}

static void mfx_free(mode_fx_t *f) {
  pl_aws_client_destroy(f->client);
  ck_assert_int_eq(test_run_stop(f->run), 0);
  rm_rf(f->dir);
  free(f->config_path);
  env_free(&f->env);
  free(f);
}

START_TEST(test_client_reads_the_profile) {
  mode_fx_t *f =
      mfx_new("[default]\nretry_mode = legacy\nmax_attempts = 4\n", NULL);
  ck_assert_int_eq(mfx_client(f, NULL, 0), 0);
  ck_assert_uint_eq(f->client->retry.max_attempts, 4);
  ck_assert(f->client->bucket.unlimited);
  mfx_free(f);

  f = mfx_new("[default]\nretry_mode = legacy\n", NULL);
  ck_assert_int_eq(mfx_client(f, NULL, 0), 0);
  ck_assert_uint_eq(f->client->retry.max_attempts, 5);
  mfx_free(f);
}
END_TEST

START_TEST(test_client_precedence) {
  const char *env[] = {"AWS_RETRY_MODE", "standard", "AWS_MAX_ATTEMPTS", "6",
                       NULL};
  mode_fx_t *f =
      mfx_new("[default]\nretry_mode = legacy\nmax_attempts = 4\n", env);
  /* The environment over the profile. */
  ck_assert_int_eq(mfx_client(f, NULL, 0), 0);
  ck_assert_uint_eq(f->client->retry.max_attempts, 6);
  ck_assert(!f->client->bucket.unlimited);
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  ck_assert_int_eq(test_run_stop(f->run), 0);
  /* The block over the environment, the plugin's own over the block. */
  ck_assert_int_eq(
      mfx_client(f, "aws { retry_mode = \"legacy\"\n max_attempts = 2 }", 0),
      0);
  ck_assert_uint_eq(f->client->retry.max_attempts, 2);
  ck_assert(f->client->bucket.unlimited);
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  ck_assert_int_eq(test_run_stop(f->run), 0);
  ck_assert_int_eq(mfx_client(f, "aws { max_attempts = 2 }", 9), 0);
  ck_assert_uint_eq(f->client->retry.max_attempts, 9);
  mfx_free(f);
}
END_TEST

START_TEST(test_client_refuses_bad_values) {
  const char *env[] = {"AWS_RETRY_MODE", "foo", NULL};
  mode_fx_t *f = mfx_new("", env);
  ck_assert_int_lt(mfx_client(f, NULL, 0), 0);
  ck_assert_ptr_null(f->client);
  ck_assert_ptr_nonnull(
      strstr(test_log(f->run),
             "AWS_RETRY_MODE=foo: expected legacy, standard or adaptive"));
  mfx_free(f);

  f = mfx_new("# settings\n[default]\nretry_mode = quick\n", NULL);
  ck_assert_int_lt(mfx_client(f, NULL, 0), 0);
  pl_buf_t want = {0};
  pl_buf_printf(&want,
                "profile default in %s line 3: retry_mode=quick: expected "
                "legacy, "
                "standard or adaptive",
                f->config_path);
  ck_assert_msg(strstr(test_log(f->run), want.data), "%s", test_log(f->run));
  pl_buf_free(&want);
  mfx_free(f);

  /* A setting of the credentials file (which wins) names that file. */
  f = mfx_new("[default]\nmax_attempts = 4\n", NULL);
  write_file(f->dir, "credentials", "[default]\n\nmax_attempts = lots\n");
  char *credentials = fmt("%s/credentials", f->dir);
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", credentials);
  ck_assert_int_lt(mfx_client(f, NULL, 0), 0);
  pl_buf_printf(&want,
                "profile default in %s line 3: max_attempts is 'lots', not a "
                "whole number from 1 to 100",
                credentials);
  ck_assert_msg(strstr(test_log(f->run), want.data), "%s", test_log(f->run));
  pl_buf_free(&want);
  free(credentials);
  mfx_free(f);
}
END_TEST

static Suite *retry_mode_suite(void) {
  Suite *s = suite_create("aws_retry_mode");
  TCase *resolve = tcase_create("resolve");
  tcase_add_test(resolve, test_mode_default_is_standard_with_3_attempts);
  tcase_add_test(resolve, test_mode_each_source);
  tcase_add_test(resolve, test_mode_precedence);
  tcase_add_test(resolve, test_legacy_attempts);
  tcase_add_test(resolve, test_bad_values_name_their_source);
  tcase_add_test(resolve, test_legacy_has_no_quota);
  suite_add_tcase(s, resolve);
  TCase *client = tcase_create("client");
  tcase_add_test(client, test_client_reads_the_profile);
  tcase_add_test(client, test_client_precedence);
  tcase_add_test(client, test_client_refuses_bad_values);
  suite_add_tcase(s, client);
  return s;
}

int main(void) {
  return test_suite_run(retry_mode_suite());
}
