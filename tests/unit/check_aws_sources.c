/* Check suite for src/aws/aws_sources.c: the "info aws:" lines of
 * `--check --live` that say where each AWS setting came from (profile,
 * region, endpoint per service, max_attempts, retry_mode), each once per
 * run, not counted as checks, and free of secrets. The probe sink
 * (test_aws_probe.h) makes the client of its options; the live checks run
 * against the scripted server of the preflight fixture. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_aws_probe.h"
#include "test_creds.h"
#include "test_preflight.h"
#include "test_suite.h"

#define SECRET "sekrit-canary-do-not-print"

/* ---- The environment: test credentials and a config file ---- */

typedef struct sources_fx {
  test_aws_t *aws;
  char dir[64];
  char *config_path;
  test_env_t env;
} sources_fx_t;

/* `config` as the shared config file, the server as AWS_ENDPOINT_URL (its
 * /sts as STS's, where the identity is answered), plus `extra` pairs
 * (name, value, ..., NULL). */
static sources_fx_t *sfx_new(const char *config, const char *const *extra) {
  sources_fx_t *f = calloc(1, sizeof *f);
  env_init(&f->env);
  static const pl_plugin_t *const plugins[] = {&test_aws_probe, NULL};
  f->aws = test_aws_create(plugins);
  test_preflight_push_identity(f->aws);
  snprintf(f->dir, sizeof f->dir, "/tmp/check_aws_sources.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->dir));
  write_file(f->dir, "config", config);
  f->config_path = fmt("%s/config", f->dir);
  char *sts = fmt("%s/sts", fake_http_url(f->aws->server));
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "true");
  env_set(&f->env, "AWS_CONFIG_FILE", f->config_path);
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  env_set(&f->env, "AWS_ENDPOINT_URL", fake_http_url(f->aws->server));
  env_set(&f->env, "AWS_ENDPOINT_URL_STS", sts);
  free(sts);
  for (size_t i = 0; extra && extra[i]; i += 2)
    env_set(&f->env, extra[i], extra[i + 1]);
  f->aws->env = f->env.env;
  return f;
}

/* Runs `config_text` (the whole config). */
static test_report_t sfx_run(sources_fx_t *f, const char *config_text) {
  test_report_t r = test_preflight_run(f->aws, config_text, false);
  test_report_lacks(&r, SECRET);
  return r;
}

static void sfx_free(sources_fx_t *f, test_report_t *r) {
  test_report_free(r);
  test_aws_free(f->aws);
  rm_rf(f->dir);
  free(f->config_path);
  env_free(&f->env);
  free(f);
}

static const char one_probe[] =
    "pipeline \"p\" {\n  source \"script\" { records = [] }\n"
    "  sink \"probe\" { client = \"sqs\" }\n}\n";

/* ---- Tests ---- */

START_TEST(defaults_say_default) {
  const char *env[] = {"AWS_REGION", "eu-west-1", NULL};
  sources_fx_t *f = sfx_new("", env);
  test_report_t r = sfx_run(f, one_probe);
  test_report_has(&r, "info aws: profile default (default)\n");
  test_report_has(&r, "info aws: region eu-west-1 (from AWS_REGION)\n");
  char *line = test_aws_format("info aws: sqs endpoint %s (from "
                               "AWS_ENDPOINT_URL)\n",
                               fake_http_url(f->aws->server));
  test_report_has(&r, line);
  free(line);
  test_report_has(&r, "info aws: max_attempts 3 (default)\n");
  test_report_has(&r, "info aws: retry_mode standard (default)\n");
  /* Information is not a check: the summary counts what it did before. */
  test_report_has(&r, "ok   aws: credentials from environment");
  test_report_has(&r, "preflight: 3 ok, 1 warning(s), 0 failed");
  ck_assert_int_eq(r.status, 0);
  sfx_free(f, &r);
}
END_TEST

START_TEST(the_profile_and_the_environment_are_named) {
  const char *env[] = {
      "AWS_PROFILE", "prod", "AWS_MAX_ATTEMPTS", "4", "AWS_DEFAULT_REGION",
      "eu-west-2",   NULL};
  sources_fx_t *f = sfx_new("[profile prod]\nregion = sa-east-1\n"
                            "retry_mode = legacy\nmax_attempts = 9\n",
                            env);
  test_report_t r = sfx_run(f, one_probe);
  test_report_has(&r, "info aws: profile prod (from AWS_PROFILE)\n");
  test_report_has(&r, "info aws: region eu-west-2 (from AWS_DEFAULT_REGION)\n");
  test_report_has(&r, "info aws: max_attempts 4 (from AWS_MAX_ATTEMPTS)\n");
  char *line = test_aws_format(
      "info aws: retry_mode legacy (from profile prod in %s line 3)\n",
      f->config_path);
  test_report_has(&r, line);
  free(line);
  sfx_free(f, &r);

  /* Without the environment's, the profile's region and attempts. */
  const char *only_profile[] = {"AWS_PROFILE", "prod", NULL};
  f = sfx_new("[profile prod]\nregion = sa-east-1\nmax_attempts = 9\n",
              only_profile);
  r = sfx_run(f, one_probe);
  line = test_aws_format("info aws: region sa-east-1 (from profile prod in "
                         "%s line 2)\n",
                         f->config_path);
  test_report_has(&r, line);
  free(line);
  line = test_aws_format("info aws: max_attempts 9 (from profile prod in "
                         "%s line 3)\n",
                         f->config_path);
  test_report_has(&r, line);
  free(line);
  sfx_free(f, &r);
}
END_TEST

START_TEST(the_block_wins_and_is_named) {
  const char *env[] = {"AWS_REGION", "eu-west-1",        "AWS_RETRY_MODE",
                       "legacy",     "AWS_MAX_ATTEMPTS", "4",
                       NULL};
  sources_fx_t *f = sfx_new("[profile ops]\nretry_mode = standard\n", env);
  test_report_t r =
      sfx_run(f, "aws { profile = \"ops\"\n region = \"us-west-2\"\n"
                 " max_attempts = 2\n retry_mode = \"adaptive\" }\n"
                 "pipeline \"p\" {\n  source \"script\" { records = [] }\n"
                 "  sink \"probe\" { client = \"sqs\" }\n}\n");
  test_report_has(&r, "info aws: profile ops (from aws {} block)\n");
  test_report_has(&r, "info aws: region us-west-2 (from aws {} block)\n");
  test_report_has(&r, "info aws: max_attempts 2 (from aws {} block)\n");
  test_report_has(&r, "info aws: retry_mode adaptive (from aws {} block)\n");
  test_report_lacks(&r, "defaulted");
  sfx_free(f, &r);
}
END_TEST

/* Two stages with the same settings: each line once; a stage's own
 * max_attempts and another service's endpoint are lines of their own. */
START_TEST(each_setting_is_said_once) {
  const char *env[] = {"AWS_REGION", "eu-west-1", NULL};
  sources_fx_t *f = sfx_new("", env);
  test_report_t r = sfx_run(
      f, "pipeline \"a\" {\n  source \"script\" { records = [] }\n"
         "  sink \"probe\" { client = \"sqs\" }\n}\n"
         "pipeline \"b\" {\n  source \"script\" { records = [] }\n"
         "  sink \"probe\" { client = \"sqs\" }\n}\n"
         "pipeline \"c\" {\n  source \"script\" { records = [] }\n"
         "  sink \"probe\" { client = \"dynamodb\"\n max_attempts = 7 }\n}\n");
  const char *lines[] = {"info aws: profile default",
                         "info aws: region",
                         "info aws: sqs endpoint",
                         "info aws: dynamodb endpoint",
                         "info aws: max_attempts 3 (default)",
                         "info aws: max_attempts 7 (from the dynamodb stage's",
                         "info aws: retry_mode"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    const char *first = strstr(r.text, lines[i]);
    ck_assert_msg(first != NULL, "no '%s' in:\n%s", lines[i], r.text);
    ck_assert_msg(strstr(first + 1, lines[i]) == NULL, "'%s' twice in:\n%s",
                  lines[i], r.text);
  }
  sfx_free(f, &r);
}
END_TEST

static Suite *sources_suite(void) {
  Suite *s = suite_create("aws_sources");
  TCase *tc = tcase_create("lines");
  tcase_add_test(tc, defaults_say_default);
  tcase_add_test(tc, the_profile_and_the_environment_are_named);
  tcase_add_test(tc, the_block_wins_and_is_named);
  tcase_add_test(tc, each_setting_is_said_once);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(sources_suite());
}
