/* Check suite for the AWS credentials chain (src/aws/credentials.c), its
 * providers, the shared profile files and secret storage.
 *
 * Two transports: a scripted in-process one (test_creds.h) that answers from a
 * queue on the next loop iteration, for exact request contents, refresh
 * timing and cancellation; and the curl transport against fake_http (a
 * loopback server), for each network provider end to end. The clock and
 * the environment are injected, and IMDS is disabled unless a test points
 * it at the fake server or the scripted transport: nothing here talks to a
 * non-loopback address. Every test ends with uv_loop_close() == 0. */
#include "credentials.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws_profile.h"
#include "creds_ecs.h"
#include "creds_providers.h"
#include "fake_http.h"
#include "http.h"
#include "secret.h"
#include "test_creds.h"
#include "test_suite.h"

/* ---- Secret storage ---- */

/* The VmFlags line of the mapping holding `p` in /proc/self/smaps, or ""
 * where the file does not exist (not Linux). */
static void mapping_flags(const void *p, char *out, size_t size) {
  out[0] = '\0';
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps)
    return;
  char line[512];
  bool inside = false;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long start, end;
    /* Only a mapping's first line starts with "start-end". */
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
      inside = (uintptr_t)p >= start && (uintptr_t)p < end;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      size_t n = strlen(line + 8);
      if (n >= size)
        n = size - 1;
      memcpy(out, line + 8, n);
      out[n] = '\0';
      break;
    }
  }
  fclose(smaps);
}

START_TEST(test_secret_storage) {
  pl_secret_t *s = NULL;
  ck_assert_int_eq(pl__secret_new(SECRET_KEY, strlen(SECRET_KEY), &s), 0);
  ck_assert_str_eq(pl__secret_str(s), SECRET_KEY);
  ck_assert_uint_eq(pl__secret_len(s), strlen(SECRET_KEY));
  /* Excluded from core dumps ("dd" in the mapping's VmFlags). */
  char flags[256];
  mapping_flags(pl__secret_str(s), flags, sizeof flags);
  if (flags[0])
    ck_assert_msg(strstr(flags, " dd") != NULL, "VmFlags:%s", flags);
  pl__secret_truncate(s, 5);
  ck_assert_str_eq(pl__secret_str(s), "wJalr");
  pl__secret_free(s);
  pl__secret_free(NULL);

  ck_assert_int_eq(pl__secret_alloc(3, &s), 0);
  ck_assert_str_eq(pl__secret_str(s), "\0\0\0");
  memcpy(pl__secret_data(s), "abc", 3);
  ck_assert_str_eq(pl__secret_str(s), "abc");
  pl__secret_free(s);
  ck_assert_int_eq(pl__secret_alloc((size_t)32 << 20, &s), PL_ERANGE);
  ck_assert_ptr_null(s);

  /* The wiping allocator behaves like malloc/realloc/free. */
  char *p = pl__secret_wiping_malloc(4);
  memcpy(p, "xyz", 4);
  p = pl__secret_wiping_realloc(p, 100);
  ck_assert_str_eq(p, "xyz");
  p = pl__secret_wiping_realloc(p, 2);
  ck_assert_int_eq(memcmp(p, "xy", 2), 0);
  pl__secret_wiping_free(p);
  pl__secret_wiping_free(NULL);

  char text[] = "denied for tok=" WEB_TOKEN " (tok " WEB_TOKEN ")";
  pl__secret_redact(text, WEB_TOKEN);
  ck_assert_str_eq(text, "denied for tok=*** (tok ***)");
  pl__secret_redact(text, NULL);
  pl__secret_redact(text, "");
  ck_assert_str_eq(text, "denied for tok=*** (tok ***)");
}
END_TEST

START_TEST(test_secret_read_file) {
  char dir[] = "/tmp/check_credentials.XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  write_file(dir, "token", WEB_TOKEN "\n");
  char *path = fmt("%s/token", dir);
  pl_secret_t *s = NULL;
  int err = -1;
  ck_assert_int_eq(pl__secret_read_file(path, 1024, &s, &err), 0);
  ck_assert_int_eq(err, 0);
  ck_assert_str_eq(pl__secret_str(s), WEB_TOKEN "\n");
  pl__creds_trim_secret(s);
  ck_assert_str_eq(pl__secret_str(s), WEB_TOKEN);
  pl__secret_free(s);
  ck_assert_int_eq(pl__secret_read_file(path, 10, &s, &err), PL_ERANGE);
  ck_assert_ptr_null(s);
  free(path);
  path = fmt("%s/missing", dir);
  ck_assert_int_eq(pl__secret_read_file(path, 1024, &s, &err), PL_ENOENT);
  ck_assert_ptr_null(s);
  free(path);
  ck_assert_int_eq(pl__secret_read_file(dir, 1024, &s, &err), PL_EIO);
  rm_rf(dir);
}
END_TEST

/* ---- Shared config and credentials files ---- */

static const char credentials_text[] =
    "# a comment\n"
    "; another comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=" SECRET_KEY "\n"
    "\n"
    "  [ prod ]   # the production account\n"
    "\taws_access_key_id\t=\tAKIDPROD   ; inline comment\n"
    "aws_secret_access_key = " SECRET_KEY "\r\n"
    "aws_session_token = " SESSION_TOKEN "\n"
    "odd = a;b#c\n"
    "s3 =\n"
    "  max_concurrent_requests = 20\n"
    "  addressing_style = path\n"
    "[profile prod]\n"
    "aws_access_key_id = NOT-IN-CREDENTIALS-FILES\n";

static const char config_text[] = "[default]\n"
                                  "region = us-east-1\n"
                                  "[prod]\n"
                                  "region = ignored-bare-name-in-config\n"
                                  "[profile prod]\n"
                                  "region = eu-west-1\n"
                                  "output = json\n"
                                  "[sso-session corp]\n"
                                  "region = ap-south-1\n"
                                  "[profile   prod  ]\n"
                                  "output = text\n";

START_TEST(test_profile_parse) {
  pl_aws_profile_t *p = NULL;
  ck_assert_int_eq(pl__aws_profile_create("prod", &p), 0);
  ck_assert(!pl__aws_profile_found(p));
  int line = 0;
  const char *reason = NULL;
  ck_assert_int_eq(pl__aws_profile_parse(p, config_text, strlen(config_text),
                                         PL_AWS_PROFILE_CONFIG, &line, &reason),
                   0);
  ck_assert(pl__aws_profile_found(p));
  ck_assert_str_eq(pl__aws_profile_get(p, "region"), "eu-west-1");
  ck_assert_str_eq(pl__aws_profile_get(p, "output"), "text");
  ck_assert_ptr_null(pl__aws_profile_get(p, "aws_access_key_id"));
  ck_assert_int_eq(
      pl__aws_profile_parse(p, credentials_text, strlen(credentials_text),
                            PL_AWS_PROFILE_CREDENTIALS, &line, &reason),
      0);
  ck_assert_str_eq(pl__aws_profile_get(p, "aws_access_key_id"), "AKIDPROD");
  ck_assert_str_eq(pl__aws_profile_get(p, "AWS_Secret_Access_Key"), SECRET_KEY);
  ck_assert_str_eq(pl__aws_profile_get(p, "aws_session_token"), SESSION_TOKEN);
  ck_assert_str_eq(pl__aws_profile_get(p, "odd"), "a;b#c");
  ck_assert_str_eq(pl__aws_profile_get(p, "s3"),
                   "\nmax_concurrent_requests = 20\naddressing_style = path");
  ck_assert_str_eq(pl__aws_profile_get(p, "region"), "eu-west-1");
  pl__aws_profile_destroy(p);

  /* In the config file a bare [name] is not a profile. */
  ck_assert_int_eq(pl__aws_profile_create("corp", &p), 0);
  ck_assert_int_eq(pl__aws_profile_parse(p, config_text, strlen(config_text),
                                         PL_AWS_PROFILE_CONFIG, &line, &reason),
                   0);
  ck_assert(!pl__aws_profile_found(p));
  pl__aws_profile_destroy(p);

  ck_assert_int_eq(pl__aws_profile_create("default", &p), 0);
  ck_assert_int_eq(pl__aws_profile_parse(p, config_text, strlen(config_text),
                                         PL_AWS_PROFILE_CONFIG, &line, &reason),
                   0);
  ck_assert(pl__aws_profile_found(p));
  ck_assert_str_eq(pl__aws_profile_get(p, "region"), "us-east-1");
  pl__aws_profile_destroy(p);

  /* A services section the profile names gives per-service endpoints; a
   * services section alone is not a profile. */
  static const char services_text[] =
      "[services local]\n"
      "sqs =\n"
      "  endpoint_url = http://localhost:4566\n"
      "dynamodb =\n"
      "  region = x\n"
      "  Endpoint_URL = http://localhost:8000 # ddb\n"
      "[services other]\n"
      "sqs =\n"
      "  endpoint_url = http://other\n"
      "[profile dev]\n"
      "services = local\n"
      "endpoint_url = http://everything:1\n";
  ck_assert_int_eq(pl__aws_profile_create("local", &p), 0);
  ck_assert_int_eq(pl__aws_profile_parse(p, services_text,
                                         strlen(services_text),
                                         PL_AWS_PROFILE_CONFIG, &line, &reason),
                   0);
  ck_assert(!pl__aws_profile_found(p));
  pl__aws_profile_destroy(p);
  ck_assert_int_eq(pl__aws_profile_create("dev", &p), 0);
  ck_assert_int_eq(pl__aws_profile_parse(p, services_text,
                                         strlen(services_text),
                                         PL_AWS_PROFILE_CONFIG, &line, &reason),
                   0);
  ck_assert(pl__aws_profile_found(p));
  ck_assert_str_eq(pl__aws_profile_get(p, "endpoint_url"),
                   "http://everything:1");
  char *sqs = pl__aws_profile_service_setting(p, "sqs", "endpoint_url");
  ck_assert_str_eq(sqs, "http://localhost:4566");
  free(sqs);
  char *ddb = pl__aws_profile_service_setting(p, "dynamodb", "endpoint_url");
  ck_assert_str_eq(ddb, "http://localhost:8000"); /* the comment goes */
  free(ddb);
  ck_assert_ptr_null(pl__aws_profile_service_setting(p, "s3", "endpoint_url"));
  pl__aws_profile_destroy(p);
}
END_TEST

START_TEST(test_profile_syntax_errors) {
  static const struct {
    const char *text;
    int line;
    const char *reason;
  } cases[] = {
      {"key = value\n", 1, "expected a [section] before the first setting"},
      {"[default]\n" SECRET_KEY "\n", 2, "expected key = value"},
      {"[default]\n = " SECRET_KEY "\n", 2, "empty key before '='"},
      {"# c\n[default\n", 2, "expected ']' to close the section name"},
      {"[default] x\n", 1, "unexpected text after the section name"},
      {"[ ]\n", 1, "empty section name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_profile_t *p = NULL;
    ck_assert_int_eq(pl__aws_profile_create("default", &p), 0);
    int line = 0;
    const char *reason = NULL;
    ck_assert_int_eq(
        pl__aws_profile_parse(p, cases[i].text, strlen(cases[i].text),
                              PL_AWS_PROFILE_CREDENTIALS, &line, &reason),
        PL_EPARSE);
    ck_assert_int_eq(line, cases[i].line);
    ck_assert_str_eq(reason, cases[i].reason);
    pl__aws_profile_destroy(p);
  }
}
END_TEST

START_TEST(test_profile_load_paths) {
  fixture_t *f = fx_new(false);
  write_file(f->home, ".aws/credentials", credentials_text);
  write_file(f->home, ".aws/config", config_text);
  pl_aws_profile_t *p = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "prod", &p, &error), 0);
  ck_assert_ptr_null(error);
  char *expected = fmt("%s/.aws/credentials", f->home);
  ck_assert_str_eq(pl__aws_profile_credentials_path(p), expected);
  free(expected);
  ck_assert_str_eq(pl__aws_profile_get(p, "aws_access_key_id"), "AKIDPROD");
  ck_assert_str_eq(pl__aws_profile_get(p, "region"), "eu-west-1");
  pl__aws_profile_destroy(p);

  /* AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, with "~". */
  write_file(f->home, "other-config", "[profile x]\nregion = sa-east-1\n");
  write_file(f->home, "other-creds",
             "[x]\naws_access_key_id = AKIDX\nregion = ca-central-1\n");
  env_set(&f->env, "AWS_CONFIG_FILE", "~/other-config");
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "~/other-creds");
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "x", &p, &error), 0);
  ck_assert(pl__aws_profile_found(p));
  ck_assert_str_eq(pl__aws_profile_get(p, "aws_access_key_id"), "AKIDX");
  /* The credentials file wins over the config file. */
  ck_assert_str_eq(pl__aws_profile_get(p, "region"), "ca-central-1");
  pl__aws_profile_destroy(p);

  /* A syntax error names the file and line, not the text. */
  write_file(f->home, "other-creds", "[x]\n" SECRET_KEY "\n");
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "x", &p, &error),
                   PL_EPARSE);
  ck_assert_ptr_null(p);
  expected = fmt("%s/other-creds:2: expected key = value", f->home);
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);

  /* /dev/null says "no file", as in the AWS SDKs: nothing is found, and
   * it is no error (it was "cannot read /dev/null: Invalid argument"). */
  env_set(&f->env, "AWS_CONFIG_FILE", "/dev/null");
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "x", &p, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert(!pl__aws_profile_found(p));
  pl__aws_profile_destroy(p);
  /* Another file that is not a regular one is still an error. */
  env_set(&f->env, "AWS_CONFIG_FILE", f->home);
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "x", &p, &error), PL_EIO);
  ck_assert_ptr_null(p);
  ck_assert_ptr_nonnull(strstr(error, "cannot read"));
  free(error);
  error = NULL;

  /* Without HOME the "~" paths stay as they are and nothing is read. */
  env_set(&f->env, "AWS_CONFIG_FILE", NULL);
  env_set(&f->env, "AWS_SHARED_CREDENTIALS_FILE", NULL);
  env_set(&f->env, "HOME", NULL);
  ck_assert_int_eq(pl__aws_profile_load(&f->env.env, "prod", &p, &error), 0);
  ck_assert(!pl__aws_profile_found(p));
  ck_assert_str_eq(pl__aws_profile_config_path(p), "~/.aws/config");
  pl__aws_profile_destroy(p);
  char *out = NULL;
  ck_assert_int_eq(pl__aws_profile_expand_home(&f->env.env, "~/x", &out),
                   PL_ENOENT);
  ck_assert_int_eq(pl__aws_profile_expand_home(&f->env.env, "~x/y", &out), 0);
  ck_assert_str_eq(out, "~x/y");
  free(out);
  env_set(&f->env, "HOME", "/home/u/");
  ck_assert_int_eq(pl__aws_profile_expand_home(&f->env.env, "~", &out), 0);
  ck_assert_str_eq(out, "/home/u");
  free(out);
  env_set(&f->env, "HOME", f->home);

  bool chosen = true;
  ck_assert_str_eq(pl__aws_profile_select(&f->env.env, NULL, &chosen),
                   "default");
  ck_assert(!chosen);
  env_set(&f->env, "AWS_PROFILE", "prod");
  ck_assert_str_eq(pl__aws_profile_select(&f->env.env, NULL, &chosen), "prod");
  ck_assert(chosen);
  ck_assert_str_eq(pl__aws_profile_select(&f->env.env, "opt", &chosen), "opt");
  fx_free(f);
}
END_TEST

/* ---- Helpers ---- */

START_TEST(test_parse_time) {
  int64_t t = 0;
  ck_assert_int_eq(pl__creds_parse_time("2016-02-25T06:03:31Z", &t), 0);
  ck_assert_int_eq(t, 1456380211);
  ck_assert_int_eq(pl__creds_parse_time("2023-11-14T22:13:20.123Z", &t), 0);
  ck_assert_int_eq(t, T0);
  ck_assert_int_eq(pl__creds_parse_time("2023-11-15T00:13:20+02:00", &t), 0);
  ck_assert_int_eq(t, T0);
  ck_assert_int_eq(pl__creds_parse_time("2023-11-14T21:13:20-0100", &t), 0);
  ck_assert_int_eq(t, T0);
  ck_assert_int_eq(pl__creds_parse_time("1970-01-01T00:00:00Z", &t), 0);
  ck_assert_int_eq(t, 0);
  ck_assert_int_eq(pl__creds_parse_time("2024-02-29T00:00:00Z", &t), 0);
  ck_assert_int_eq(t, 1709164800);
  const char *bad[] = {"",
                       "2016-02-25",
                       "2016-02-25T06:03:31",
                       "2016-02-25T06:03:31Zx",
                       "2016-13-25T06:03:31Z",
                       "2023-02-29T06:03:31Z",
                       "2016-02-25T24:03:31Z",
                       "2016-02-25T06:03:31.Z",
                       "16-02-25T06:03:31Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__creds_parse_time(bad[i], &t) == PL_EPARSE, "%s", bad[i]);
}
END_TEST

START_TEST(test_ecs_hosts) {
  static const struct {
    const char *host;
    bool allowed;
    bool literal;
  } cases[] = {
      {"127.0.0.1", true, true},
      {"127.1.2.3", true, true},
      {"::1", true, true},
      {"169.254.170.2", true, true},
      {"169.254.170.23", true, true},
      {"fd00:ec2::23", true, true},
      {"::ffff:127.0.0.1", true, true},
      {"10.0.0.1", false, true},
      {"169.254.169.254", false, true},
      {"fd00:ec2::254", false, true},
      {"localhost", false, false},
      {"example.com", false, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool literal = !cases[i].literal;
    ck_assert_msg(pl__creds_ecs_host_allowed(cases[i].host, &literal) ==
                      cases[i].allowed,
                  "%s", cases[i].host);
    ck_assert_msg(literal == cases[i].literal, "%s", cases[i].host);
  }
}
END_TEST

/* ---- Providers and the chain, scripted transport ---- */

START_TEST(test_env_provider) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  env_set(&f->env, "AWS_SESSION_TOKEN", SESSION_TOKEN);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDENV");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "environment");
  ck_assert_int_eq(g.expires_at, 0);
  /* Cached: answered at once, still after a long time. */
  f->clock.now += 86400 * 365;
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g), 0);
  ck_assert_ptr_eq(now, g.creds);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_uint_eq(f->script.request_count, 0);

  /* Without a session token there is none. */
  fx_close_creds(f);
  env_set(&f->env, "AWS_SESSION_TOKEN", NULL);
  fx_create(f);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.session_token, "");
  ck_assert_ptr_null(g2.creds->session_token);
  fx_free(f);
}
END_TEST

START_TEST(test_env_incomplete_stops_chain) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKIDECS", T0 + 3600, 0);
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_str_eq(error, "no AWS credentials: environment: AWS_ACCESS_KEY_ID "
                          "is set but AWS_SECRET_ACCESS_KEY is not");
  free(error);
  ck_assert_uint_eq(f->script.request_count, 0);
  fx_free(f);
}
END_TEST

START_TEST(test_profile_provider) {
  fixture_t *f = fx_new(false);
  write_file(f->home, ".aws/credentials", credentials_text);
  write_file(f->home, ".aws/config", config_text);
  fx_create(f);
  ck_assert_str_eq(pl__aws_creds_profile_region(f->creds), "us-east-1");
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKIDDEFAULT");
  ck_assert_str_eq(g.source, "profile default");
  ck_assert_str_eq(g.session_token, "");
  fx_close_creds(f);

  /* AWS_PROFILE selects a profile... */
  env_set(&f->env, "AWS_PROFILE", "prod");
  fx_create(f);
  ck_assert_str_eq(pl__aws_creds_profile_region(f->creds), "eu-west-1");
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDPROD");
  ck_assert_str_eq(g2.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g2.source, "profile prod");
  fx_close_creds(f);

  /* ...and the option wins over AWS_PROFILE. */
  fx_create_with(f, "default", NULL, NULL);
  got_t g3 = {0};
  fx_get(f, &g3);
  ck_assert_str_eq(g3.access_key_id, "AKIDDEFAULT");
  fx_close_creds(f);

  /* A profile with a region but no keys: the chain moves on. */
  fx_create_with(f, "nokeys", NULL, NULL);
  ck_assert_ptr_null(pl__aws_creds_profile_region(f->creds));
  fx_close_creds(f);
  write_file(f->home, ".aws/config", "[profile nokeys]\nregion = us-west-2\n");
  write_file(f->home, ".aws/credentials", "");
  fx_create_with(f, "nokeys", NULL, NULL);
  ck_assert_str_eq(pl__aws_creds_profile_region(f->creds), "us-west-2");
  char *error = fx_error(f);
  /* The option names the profile: the environment is not asked. */
  ck_assert_msg(strstr(error, "no AWS credentials: profile nokeys: no "
                              "aws_access_key_id or role_arn in it; web "
                              "identity: ") != NULL,
                "%s", error);
  free(error);
  fx_free(f);
}
END_TEST

START_TEST(test_profile_failures) {
  fixture_t *f = fx_new(false);
  /* A named profile that does not exist stops the chain. */
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  env_set(&f->env, "AWS_PROFILE", "typo");
  fx_create(f);
  char *error = fx_error(f);
  char *expected = fmt("no AWS credentials: environment: AWS_ACCESS_KEY_ID "
                       "not set; profile typo: no such profile in "
                       "%s/.aws/credentials or %s/.aws/config",
                       f->home, f->home);
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);
  fx_close_creds(f);
  ck_assert_uint_eq(f->script.request_count, 0);

  static const struct {
    const char *credentials;
    const char *reason;
  } cases[] = {
      {"[typo]\naws_access_key_id = AKID\n",
       "profile typo: aws_access_key_id without aws_secret_access_key in "},
      {"[typo]\naws_secret_access_key = " SECRET_KEY "\n",
       "profile typo: aws_secret_access_key without aws_access_key_id in "},
      {"[typo]\nrole_arn = " ROLE_ARN "\n",
       "profile typo: role_arn without source_profile, credential_source or "
       "web_identity_token_file"},
      {"[typo]\ncredential_process = /nonexistent/creds\n",
       "profile typo: credential_process exited with status 127"},
      {"[typo]\nsso_session = corp\n",
       "profile typo: AWS SSO (sso_*) is not supported"},
      {"[typo]\naws_access_key_id = AKID\n" SECRET_KEY "\n",
       "/.aws/credentials:3: expected key = value"},
      {"[typo]\nrole_arn = " ROLE_ARN "\nweb_identity_token_file = ~/nope\n",
       "profile typo: cannot read token file "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_file(f->home, ".aws/credentials", cases[i].credentials);
    fx_create(f);
    error = fx_error(f);
    ck_assert_msg(strstr(error, cases[i].reason) != NULL, "%s", error);
    ck_assert_msg(strstr(error, "container") == NULL, "%s", error);
    free(error);
    fx_close_creds(f);
  }
  ck_assert_uint_eq(f->script.request_count, 0);
  fx_free(f);
}
END_TEST

START_TEST(test_nothing_found_message) {
  fixture_t *f = fx_new(false);
  fx_create(f);
  char *error = fx_error(f);
  char *expected =
      fmt("no AWS credentials: environment: AWS_ACCESS_KEY_ID not set; "
          "profile default: no such profile in %s/.aws/credentials or "
          "%s/.aws/config; web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set; "
          "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not "
          "set; instance metadata: disabled by AWS_EC2_METADATA_DISABLED",
          f->home, f->home);
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);
  ck_assert_uint_eq(f->script.request_count, 0);
  /* Not cached: the next get() runs the chain again. */
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDLATE");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKIDLATE");
  fx_free(f);
}
END_TEST

/* Every provider configured; removing the winner each time shows the
 * order: environment, profile, web identity, container, IMDS. */
START_TEST(test_chain_order) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  write_file(f->home, ".aws/credentials",
             "[default]\naws_access_key_id = AKIDPROFILE\n"
             "aws_secret_access_key = " SECRET_KEY "\n");
  write_file(f->home, "token", WEB_TOKEN);
  char *token_path = fmt("%s/token", f->home);
  env_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
  free(token_path);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);

  static const struct {
    const char *unset; /* before this step */
    const char *id;
    const char *source;
  } steps[] = {
      {NULL, "AKIDENV", "environment"},
      {"AWS_ACCESS_KEY_ID", "AKIDPROFILE", "profile default"},
      {".aws/credentials", "AKIDSTS", "web identity"},
      {"AWS_WEB_IDENTITY_TOKEN_FILE", "AKIDECS", "container"},
      {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AKIDIMDS",
       "instance metadata"},
  };
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    if (steps[i].unset && steps[i].unset[0] == '.')
      write_file(f->home, steps[i].unset, "");
    else if (steps[i].unset)
      env_set(&f->env, steps[i].unset, NULL);
    script_clear_replies(&f->script);
    char *xml = sts_xml("AKIDSTS", T0 + 3600);
    script_push(&f->script, (script_reply_t){.method = "POST",
                                             .url = "sts.",
                                             .status = 200,
                                             .body = xml});
    free(xml);
    push_ecs(f, "AKIDECS", T0 + 3600, 0);
    script_push(&f->script, (script_reply_t){.method = "PUT",
                                             .url = "/latest/api/token",
                                             .status = 200,
                                             .body = IMDS_TOKEN});
    script_push(&f->script,
                (script_reply_t){.method = "GET",
                                 .url = "/iam/security-credentials/",
                                 .status = 200,
                                 .body = "role\n"});
    char *json = imds_json("AKIDIMDS", T0 + 3600);
    script_push(&f->script,
                (script_reply_t){.method = "GET",
                                 .url = "/iam/security-credentials/role",
                                 .status = 200,
                                 .body = json});
    free(json);
    fx_create(f);
    got_t g = {0};
    fx_get(f, &g);
    ck_assert_msg(g.error == NULL, "step %zu: %s", i, g.error);
    ck_assert_str_eq(g.access_key_id, steps[i].id);
    ck_assert_str_eq(g.source, steps[i].source);
    ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
    fx_close_creds(f);
  }
  /* STS, ECS, then IMDS (token, role, credentials). */
  ck_assert_uint_eq(f->script.request_count, 5);
  ck_assert_str_eq(f->script.requests[0].url, "https://sts.amazonaws.com/");
  ck_assert_str_eq(f->script.requests[1].url, "http://169.254.170.2/creds");
  ck_assert_str_eq(f->script.requests[2].url,
                   "http://169.254.169.254/latest/api/token");
  fx_free(f);
}
END_TEST

START_TEST(test_web_identity_request) {
  fixture_t *f = fx_new(false);
  write_file(f->home, "token", WEB_TOKEN "\n");
  char *token_path = fmt("%s/token", f->home);
  env_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  env_set(&f->env, "AWS_REGION", "eu-west-1");
  char *xml = sts_xml("AKIDSTS", T0 + 3600);
  script_push(&f->script,
              (script_reply_t){.method = "POST", .status = 200, .body = xml});
  free(xml);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDSTS");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "web identity");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  ck_assert_uint_eq(f->script.request_count, 1);
  const script_request_t *r = &f->script.requests[0];
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->url, "https://sts.eu-west-1.amazonaws.com/");
  char *type = script_header(r, "Content-Type");
  ck_assert_str_eq(type, "application/x-www-form-urlencoded; charset=utf-8");
  free(type);
  char *body =
      fmt("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
          "&RoleArn=arn%%3Aaws%%3Aiam%%3A%%3A123456789012%%3Arole%%2Fci"
          "&RoleSessionName=pipelined-%lld&WebIdentityToken=%s",
          (long long)T0, WEB_TOKEN);
  ck_assert_str_eq(r->body, body);
  free(body);
  fx_close_creds(f);

  /* AWS_ROLE_SESSION_NAME, an explicit region, and a China region. */
  env_set(&f->env, "AWS_ROLE_SESSION_NAME", "my session");
  xml = sts_xml("AKIDSTS2", T0 + 3600);
  script_push(&f->script,
              (script_reply_t){.method = "POST", .status = 200, .body = xml});
  free(xml);
  fx_create_with(f, NULL, NULL, "cn-north-1");
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDSTS2");
  r = &f->script.requests[1];
  ck_assert_str_eq(r->url, "https://sts.cn-north-1.amazonaws.com.cn/");
  ck_assert_ptr_nonnull(strstr(r->body, "&RoleSessionName=my%20session&"));
  fx_close_creds(f);

  /* A role without a token file, a token file without a role. */
  env_set(&f->env, "AWS_ROLE_ARN", NULL);
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_ptr_nonnull(strstr(error, "; web identity: "
                                      "AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                                      "AWS_ROLE_ARN is not"));
  free(error);
  fx_close_creds(f);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  write_file(f->home, "token", "\n");
  fx_create(f);
  error = fx_error(f);
  char *expected = fmt("web identity: token file %s is empty", token_path);
  ck_assert_ptr_nonnull(strstr(error, expected));
  free(expected);
  free(error);
  free(token_path);
  fx_free(f);
}
END_TEST

/* Creates the chain of `f`, asserts that the error of a get() names
 * `reason` (the message says case `i` and the whole error), and closes
 * the chain again for the next case. */
static void assert_create_fails(fixture_t *f, size_t i, const char *reason) {
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_msg(strstr(error, reason) != NULL, "%zu: %s", i, error);
  free(error);
  fx_close_creds(f);
}

START_TEST(test_web_identity_errors) {
  fixture_t *f = fx_new(false);
  write_file(f->home, "token", WEB_TOKEN);
  char *token_path = fmt("%s/token", f->home);
  env_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
  free(token_path);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  static const struct {
    script_reply_t reply;
    const char *reason;
  } cases[] = {
      {{.status = 400,
        .body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
                "2011-06-15/\"><Error><Type>Sender</Type>"
                "<Code>InvalidIdentityToken</Code><Message>Token " WEB_TOKEN
                " is\nnot valid</Message></Error>"
                "<RequestId>r</RequestId></ErrorResponse>"},
       "web identity: AssumeRoleWithWebIdentity at https://sts.amazonaws.com/"
       ": HTTP 400 InvalidIdentityToken: Token *** is not valid"},
      {{.status = 503, .body = "busy"},
       "AssumeRoleWithWebIdentity at https://sts.amazonaws.com/: HTTP 503"},
      {{.status = 200, .body = "<AssumeRoleWithWebIdentityResponse>"},
       "response is not valid XML (line 1, column 36: no element found)"},
      {{.status = 200,
        .body = "<AssumeRoleWithWebIdentityResponse><"
                "AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A"
                "</AccessKeyId><SecretAccessKey>" SECRET_KEY
                "</SecretAccessKey></Credentials></"
                "AssumeRoleWithWebIdentityResult></"
                "AssumeRoleWithWebIdentityResponse>"},
       "response has no complete Credentials element"},
      {{.status = 200,
        .body = "<Other><AssumeRoleWithWebIdentityResult><Credentials>"
                "<AccessKeyId>A</AccessKeyId></Credentials>"
                "</AssumeRoleWithWebIdentityResult></Other>"},
       "response has no complete Credentials element"},
      {{.error = PL_EAGAIN},
       "web identity: POST https://sts.amazonaws.com/: timed out"},
      {{.error = PL_EIO},
       "web identity: POST https://sts.amazonaws.com/: scripted failure"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    script_push(&f->script, cases[i].reply);
    assert_create_fails(f, i, cases[i].reason);
  }
  fx_free(f);
}
END_TEST

START_TEST(test_profile_web_identity) {
  fixture_t *f = fx_new(false);
  write_file(f->home, "ci-token", WEB_TOKEN);
  write_file(f->home, ".aws/config",
             "[profile ci]\nregion = ap-southeast-2\nrole_arn = " ROLE_ARN
             "\nweb_identity_token_file = ~/ci-token\n"
             "role_session_name = ci-session\n");
  char *xml = sts_xml("AKIDCI", T0 + 900);
  script_push(&f->script,
              (script_reply_t){.method = "POST", .status = 200, .body = xml});
  free(xml);
  fx_create_with(f, "ci", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDCI");
  ck_assert_str_eq(g.source, "profile ci (web identity)");
  const script_request_t *r = &f->script.requests[0];
  ck_assert_str_eq(r->url, "https://sts.ap-southeast-2.amazonaws.com/");
  ck_assert_ptr_nonnull(strstr(r->body, "&RoleSessionName=ci-session&"));
  ck_assert_ptr_nonnull(strstr(r->body, "&WebIdentityToken=" WEB_TOKEN));
  fx_free(f);
}
END_TEST

/* Writes home/creds.sh: each run adds a line to home/calls and prints
 * `body` (a printf format that %d takes the run's number in), then exits
 * with `status`. Sets profile "proc" to run it. */
static void write_process(fixture_t *f, const char *body, int status) {
  char *script = fmt("n=$(( $(cat '%s/calls' 2>/dev/null | wc -l) + 1 ))\n"
                     "echo run >> '%s/calls'\n"
                     "printf '%s' \"$n\"\n"
                     "exit %d\n",
                     f->home, f->home, body, status);
  write_file(f->home, "creds.sh", script);
  free(script);
  char *config = fmt("[profile proc]\ncredential_process = sh '%s/creds.sh'\n",
                     f->home);
  write_file(f->home, ".aws/config", config);
  free(config);
}

static int process_calls(fixture_t *f) {
  char path[512];
  snprintf(path, sizeof path, "%s/calls", f->home);
  FILE *in = fopen(path, "r");
  if (!in)
    return 0;
  int n = 0;
  for (int c; (c = fgetc(in)) != EOF;)
    n += c == '\n';
  fclose(in);
  return n;
}

static bool process_called_twice(fixture_t *f, void *arg) {
  (void)arg;
  return process_calls(f) >= 2;
}

START_TEST(test_credential_process) {
  fixture_t *f = fx_new(false);
  char expires[32];
  iso8601(T0 + 3600, expires);
  char *body = fmt("{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC%%d\", "
                   "\"SecretAccessKey\": \"" SECRET_KEY "\", "
                   "\"SessionToken\": \"" SESSION_TOKEN "\", "
                   "\"Expiration\": \"%s\"}",
                   expires);
  write_process(f, body, 0);
  free(body);
  fx_create_with(f, "proc", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROC1");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "profile proc (credential_process)");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  /* Cached while valid: the command is not run again... */
  get_now(f, "AKIDPROC1");
  ck_assert_int_eq(process_calls(f), 1);
  /* ...until less than 5 minutes are left: then again, in the background. */
  f->clock.now = T0 + 3600 - 299;
  get_now(f, "AKIDPROC1");
  run_until(f, process_called_twice, NULL);
  got_t g2 = {0};
  for (int i = 0; i < 200 && strcmp(g2.access_key_id, "AKIDPROC2") != 0; i++) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(10000);
    const pl_aws_credentials_t *now = NULL;
    if (pl__aws_creds_get(f->creds, &now, on_creds, &g2) == 0)
      copy_creds(&g2, now);
  }
  ck_assert_str_eq(g2.access_key_id, "AKIDPROC2");
  fx_free(f);
}
END_TEST

START_TEST(test_credential_process_failures) {
  static const struct {
    const char *body;
    int status;
    const char *reason;
  } cases[] = {
      {"{}", 3,
       "profile proc: credential_process exited with status 3 (its standard "
       "error says why)"},
      /* Output that is not JSON is never quoted: it may hold secrets. */
      {"AccessKeyId=AKID SecretAccessKey=" SECRET_KEY, 0,
       "profile proc: credential_process: response is not valid JSON "
       "(syntax error)"},
      {"{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
       "\"" SECRET_KEY "\"}",
       0, "profile proc: credential_process: Version is not 1"},
      {"{\"Version\": 1, \"SecretAccessKey\": \"" SECRET_KEY "\"}", 0,
       "profile proc: credential_process: response has no AccessKeyId"},
      {"{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
       "\"" SECRET_KEY "\", \"Expiration\": \"soon\"}",
       0, "profile proc: credential_process: Expiration is not an ISO 8601 "
          "time"},
      /* Epoch seconds as a number were taken as no Expiration at all:
       * credentials that never expire. */
      {"{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
       "\"" SECRET_KEY "\", \"Expiration\": 1700003600}",
       0, "profile proc: credential_process: Expiration is not an ISO 8601 "
          "time"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fixture_t *f = fx_new(false);
    write_process(f, cases[i].body, cases[i].status);
    fx_create_with(f, "proc", NULL, NULL);
    char *error = fx_error(f); /* asserts no secret in it */
    ck_assert_msg(strstr(error, cases[i].reason) != NULL, "%zu: %s", i, error);
    free(error);
    fx_free(f);
  }
}
END_TEST

/* Whether process `pid` is gone (or a zombie nobody reaped yet). */
static bool process_gone(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *in = fopen(path, "r");
  if (!in)
    return kill(pid, 0) != 0;
  char state = '?';
  int n = fscanf(in, "%*d (%*[^)]) %c", &state);
  fclose(in);
  return n == 1 && state == 'Z';
}

/* The pid a credential_process of write_hanging_process() left in
 * home/grandchild, once it is there. */
static pid_t grandchild_pid(fixture_t *f) {
  char path[512];
  snprintf(path, sizeof path, "%s/grandchild", f->home);
  for (int i = 0; i < 500; i++) {
    FILE *in = fopen(path, "r");
    int pid = 0;
    if (in) {
      int n = fscanf(in, "%d", &pid);
      fclose(in);
      if (n == 1 && pid > 0)
        return (pid_t)pid;
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
    usleep(10000);
  }
  ck_abort_msg("the credential_process never started its child");
  return 0;
}

static void assert_gone_soon(pid_t pid) {
  for (int i = 0; i < 300 && !process_gone(pid); i++)
    usleep(10000);
  bool gone = process_gone(pid);
  if (!gone)
    kill(pid, SIGKILL); /* leave nothing behind for the next test */
  ck_assert_msg(gone, "the credential_process's child %d outlived it",
                (int)pid);
}

/* A credential_process that starts a child and waits for it, as a shell
 * script running a helper does: the profile "proc" runs it. */
static void write_hanging_process(fixture_t *f) {
  char *script = fmt("sleep 300 &\necho $! > '%s/grandchild'\nwait\n", f->home);
  write_file(f->home, "hang.sh", script);
  free(script);
  char *config =
      fmt("[profile proc]\ncredential_process = sh '%s/hang.sh'\n", f->home);
  write_file(f->home, ".aws/config", config);
  free(config);
}

/* A credential_process given up (its time ran out, or the chain closed)
 * is killed with every process it started: the kill reached the shell
 * only, and its `sleep 300` lived on, reparented to init, after the
 * daemon had exited. */
START_TEST(test_credential_process_killed_with_its_children) {
  fixture_t *f = fx_new(false);
  f->process_timeout_ms = 300;
  write_hanging_process(f);
  fx_create_with(f, "proc", NULL, NULL);
  char *error = fx_error(f);
  ck_assert_msg(strstr(error, "profile proc: credential_process gave no "
                              "answer within 300 ms (killed)"),
                "%s", error);
  free(error);
  assert_gone_soon(grandchild_pid(f));
  fx_close_creds(f);

  /* Closed while it runs. */
  char path[512];
  snprintf(path, sizeof path, "%s/grandchild", f->home);
  unlink(path);
  f->process_timeout_ms = 0;
  fx_create_with(f, "proc", NULL, NULL);
  got_t g = {0};
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g), PL_EAGAIN);
  pid_t pid = grandchild_pid(f);
  fx_close_creds(f);
  ck_assert_int_eq(g.calls, 1);
  got_free(&g);
  assert_gone_soon(pid);
  fx_free(f);
}
END_TEST

START_TEST(test_ecs_relative) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "/v2/credentials/6f1b");
  env_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_AUTH);
  push_ecs(f, "AKIDECS", T0 + 3600, 0);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDECS");
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "container");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  const script_request_t *r = &f->script.requests[0];
  ck_assert_str_eq(r->method, "GET");
  ck_assert_str_eq(r->url, "http://169.254.170.2/v2/credentials/6f1b");
  char *auth = script_header(r, "Authorization");
  ck_assert_str_eq(auth, ECS_AUTH);
  free(auth);
  fx_close_creds(f);

  /* The token file wins over the variable (its newline trimmed). */
  write_file(f->home, "ecs-token", "file-" ECS_AUTH "\n");
  char *path = fmt("%s/ecs-token", f->home);
  env_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path);
  free(path);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v1");
  push_ecs(f, "AKIDECS2", T0 + 3600, 0);
  fx_create(f);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDECS2");
  r = &f->script.requests[1];
  ck_assert_str_eq(r->url, "http://169.254.170.2/v1");
  auth = script_header(r, "Authorization");
  ck_assert_str_eq(auth, "file-" ECS_AUTH);
  free(auth);
  fx_free(f);
}
END_TEST

START_TEST(test_ecs_full_uri_rules) {
  fixture_t *f = fx_new(false);
  static const struct {
    const char *uri;
    const char *auth;
    const char *error; /* NULL: the request is made */
  } cases[] = {
      {"http://169.254.170.23/v1/credentials", NULL, NULL},
      {"http://127.0.0.1:8080/creds", NULL, NULL},
      {"http://[::1]:8080/creds", NULL, NULL},
      {"https://creds.example.com/x", NULL, NULL},
      {"http://localhost:9/creds", NULL, NULL},
      {"http://10.0.0.1/creds", NULL,
       "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host 10.0.0.1 is not "
       "loopback or an ECS/EKS agent address"},
      {"http://user:pw@169.254.169.254/creds", NULL,
       "host 169.254.169.254 is not loopback"},
      {"ftp://127.0.0.1/creds", NULL,
       "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http or https "
       "URL with a host"},
      {"http:///creds", NULL, "is not an http or https URL with a host"},
      {"http://127.0.0.1/creds", "bad\r\nX-Injected: 1",
       "container: the authorization token has a line break"},
  };
  size_t expected_requests = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", cases[i].uri);
    env_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", cases[i].auth);
    script_clear_replies(&f->script);
    char *json = ecs_json("AKIDFULL", T0 + 3600);
    script_push(&f->script, (script_reply_t){.status = 200, .body = json});
    free(json);
    fx_create(f);
    got_t g = {0};
    fx_get(f, &g);
    if (cases[i].error) {
      ck_assert_msg(g.error && strstr(g.error, cases[i].error), "%s: %s",
                    cases[i].uri, g.error);
    } else {
      ck_assert_msg(g.error == NULL, "%s: %s", cases[i].uri, g.error);
      ck_assert_str_eq(g.access_key_id, "AKIDFULL");
      ck_assert_str_eq(f->script.requests[expected_requests].url, cases[i].uri);
      expected_requests++;
    }
    ck_assert_uint_eq(f->script.request_count, expected_requests);
    got_free(&g);
    fx_close_creds(f);
  }
  fx_free(f);
}
END_TEST

START_TEST(test_ecs_errors) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  env_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ECS_AUTH);
  static const struct {
    script_reply_t reply;
    const char *reason;
  } cases[] = {
      {{.status = 403,
        .body = "{\"code\":\"AccessDenied\",\"message\":\"token " ECS_AUTH
                " rejected\"}"},
       "container: GET http://169.254.170.2/creds: HTTP 403 AccessDenied: "
       "token *** rejected"},
      {{.status = 500, .body = "oops"},
       "container: GET http://169.254.170.2/creds: HTTP 500"},
      {{.status = 200, .body = "{\"AccessKeyId\": \"" SECRET_KEY},
       "container: GET http://169.254.170.2/creds: response is not valid "
       "JSON"},
      {{.status = 200, .body = "[1]"}, "response is not a JSON object"},
      {{.status = 200, .body = "{\"SecretAccessKey\":\"" SECRET_KEY "\"}"},
       "response has no AccessKeyId"},
      {{.status = 200, .body = "{\"AccessKeyId\":\"A\"}"},
       "response has no SecretAccessKey"},
      {{.status = 200,
        .body = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET_KEY
                "\",\"Expiration\":\"tomorrow\"}"},
       "Expiration is not an ISO 8601 time"},
      {{.status = 200,
        .body = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET_KEY
                "\",\"Expiration\":1700003600}"},
       "container: GET http://169.254.170.2/creds: Expiration is not an ISO "
       "8601 time"},
      {{.error = PL_EAGAIN},
       "container: GET http://169.254.170.2/creds: timed out"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    script_push(&f->script, cases[i].reply);
    assert_create_fails(f, i, cases[i].reason);
  }
  fx_free(f);
}
END_TEST

START_TEST(test_imds_flow) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "false");
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.test/");
  push_imds(f, "AKIDIMDS", T0 + 21600);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDIMDS");
  ck_assert_str_eq(g.source, "instance metadata");
  ck_assert_int_eq(g.expires_at, T0 + 21600);
  ck_assert_uint_eq(f->script.request_count, 3);
  const script_request_t *r = f->script.requests;
  ck_assert_str_eq(r[0].method, "PUT");
  ck_assert_str_eq(r[0].url, "http://imds.test/latest/api/token");
  char *ttl = script_header(&r[0], "X-aws-ec2-metadata-token-ttl-seconds");
  ck_assert_str_eq(ttl, "21600");
  free(ttl);
  ck_assert_str_eq(r[1].method, "GET");
  ck_assert_str_eq(r[1].url, "http://imds.test/latest/meta-data/iam/"
                             "security-credentials/");
  ck_assert_str_eq(r[2].url, "http://imds.test/latest/meta-data/iam/"
                             "security-credentials/my-role");
  for (size_t i = 1; i < 3; i++) {
    char *token = script_header(&r[i], "X-aws-ec2-metadata-token");
    ck_assert_str_eq(token, IMDS_TOKEN);
    free(token);
  }
  fx_close_creds(f);

  /* The IPv6 endpoint mode. */
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6");
  push_imds(f, "AKIDIMDS6", T0 + 21600);
  fx_create(f);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDIMDS6");
  ck_assert_str_eq(f->script.requests[3].url,
                   "http://[fd00:ec2::254]/latest/api/token");
  fx_free(f);
}
END_TEST

START_TEST(test_imds_failures) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "TRUE");
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_ptr_nonnull(strstr(error, "; instance metadata: disabled by "
                                      "AWS_EC2_METADATA_DISABLED"));
  free(error);
  fx_close_creds(f);
  ck_assert_uint_eq(f->script.request_count, 0);

  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds.test");
  static const struct {
    script_reply_t replies[3];
    const char *reason;
  } cases[] = {
      {{{.error = PL_EAGAIN}},
       "; instance metadata: PUT http://imds.test/latest/api/token: timed "
       "out"},
      {{{.status = 403}},
       "instance metadata: PUT http://imds.test/latest/api/token: HTTP 403"},
      {{{.status = 200, .body = IMDS_TOKEN}, {.status = 404}},
       "instance metadata: no IAM role attached to the instance (GET "
       "http://imds.test/latest/meta-data/iam/security-credentials/: HTTP "
       "404)"},
      {{{.status = 200, .body = IMDS_TOKEN}, {.status = 200, .body = "../x"}},
       "no usable role name in the answer"},
      {{{.status = 200, .body = IMDS_TOKEN},
        {.status = 200, .body = "r"},
        {.status = 200,
         .body = "{\"Code\":\"AssumeRoleUnauthorizedAccess\","
                 "\"Message\":\"denied\"}"}},
       "instance metadata: GET http://imds.test/latest/meta-data/iam/"
       "security-credentials/r: Code is AssumeRoleUnauthorizedAccess"},
      {{{.status = 200, .body = IMDS_TOKEN},
        {.status = 200, .body = "r"},
        {.status = 401}},
       "security-credentials/r: HTTP 401"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    script_clear_replies(&f->script);
    for (size_t j = 0; j < 3; j++)
      if (cases[i].replies[j].status || cases[i].replies[j].error)
        script_push(&f->script, cases[i].replies[j]);
    assert_create_fails(f, i, cases[i].reason);
  }
  fx_free(f);
}
END_TEST

/* Credentials that have already expired when they arrive (a clock far
 * behind, a metadata endpoint serving stale ones) were handed out, and
 * every later get() fetched again: a failure instead, named, that leaves
 * nothing cached and tells nobody of new credentials. */
START_TEST(test_expired_on_arrival_fails) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKIDOLD", T0 - 600, 0);
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_msg(
      strstr(error, "; container: the credentials it gave expired at "
                    "2023-11-14T22:03:20Z, 600 s ago (is the clock right?)"),
      "%s", error);
  free(error);
  ck_assert_uint_eq(f->script.request_count, 1);
  /* Nothing is fetched again until someone asks. */
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 1);
  /* Inside the last 10 seconds, too. */
  push_ecs(f, "AKIDSOON", T0 + 5, 0);
  error = fx_error(f);
  ck_assert_msg(strstr(error, "; container: the credentials it gave expire "
                              "at 2023-11-14T22:13:25Z, in 5 s: too soon to "
                              "use them (is the clock right?)"),
                "%s", error);
  free(error);
  /* Fresh ones are taken as usual. */
  push_ecs(f, "AKIDNEW", T0 + 3600, 0);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDNEW");

  /* A background refresh that brings expired ones keeps the old set and
   * retries after a backoff. */
  push_ecs(f, "AKIDOLD2", T0 - 1, 0);
  f->clock.now = T0 + 3600 - 200;
  get_now(f, "AKIDNEW");
  run_until(f, script_idle, (void *)4);
  get_now(f, "AKIDNEW");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 4);
  fx_free(f);
}
END_TEST

/* ---- Caching, refresh, concurrency and close ---- */


START_TEST(test_refresh_before_expiry) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKID1", T0 + 3600, 0);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKID1");
  ck_assert_uint_eq(f->script.request_count, 1);

  /* More than 5 minutes left: cached, nothing fetched. */
  f->clock.now = T0 + 3600 - 301;
  get_now(f, "AKID1");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 1);

  /* Inside the window: the old credentials come back at once and a
   * background fetch starts on the loop (not inside get()). */
  push_ecs(f, "AKID2", T0 + 7200, 30);
  f->clock.now = T0 + 3600 - 299;
  get_now(f, "AKID1");
  ck_assert_uint_eq(f->script.request_count, 1);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 2);
  ck_assert_uint_eq(f->script.in_flight, 1);
  /* While it runs callers are not stalled, and no second fetch starts. */
  get_now(f, "AKID1");
  get_now(f, "AKID1");
  run_until(f, script_idle, (void *)2);
  ck_assert_uint_eq(f->script.request_count, 2);
  get_now(f, "AKID2");

  /* The timer alone (no get()) also refreshes: credentials that arrive
   * inside the window are refreshed after half the life they have left to
   * be handed out (to 10 s before expiry), so with 14 s left the timer
   * fires after 2 s of loop time. */
  fx_close_creds(f);
  script_clear_replies(&f->script);
  f->clock.now = T0;
  push_ecs(f, "AKID3", T0 + 14, 0);
  push_ecs(f, "AKID4", T0 + 3600, 0);
  fx_create(f);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKID3");
  uint64_t start = uv_hrtime();
  run_until(f, script_idle, (void *)4);
  uint64_t elapsed_ms = (uv_hrtime() - start) / 1000000;
  ck_assert_uint_ge(elapsed_ms, 1500);
  ck_assert_uint_lt(elapsed_ms, 5000);
  get_now(f, "AKID4");
  fx_free(f);
}
END_TEST

START_TEST(test_refresh_failure_keeps_old) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKID1", T0 + 3600, 0);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKID1");

  /* The background refresh fails: the old credentials keep coming. */
  script_push(&f->script, (script_reply_t){.status = 500});
  f->clock.now = T0 + 3600 - 200;
  get_now(f, "AKID1");
  run_until(f, script_idle, (void *)2);
  get_now(f, "AKID1");
  /* The retry waits (backoff), even though get() is called again. */
  uv_run(&f->loop, UV_RUN_NOWAIT);
  get_now(f, "AKID1");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 2);
  ck_assert_uint_eq(f->script.in_flight, 0);

  /* After the backoff (at most a minute) the next get() retries. */
  script_push(&f->script, (script_reply_t){.status = 500});
  f->clock.now += 61;
  get_now(f, "AKID1");
  run_until(f, script_idle, (void *)3);
  get_now(f, "AKID1");
  push_ecs(f, "AKID2", T0 + 7200, 0);
  f->clock.now += 61;
  get_now(f, "AKID1");
  run_until(f, script_idle, (void *)4);
  get_now(f, "AKID2");

  /* Expired with the refresh failing: callers wait and get the error. */
  script_push(&f->script, (script_reply_t){.status = 500});
  f->clock.now = T0 + 7200;
  char *error = fx_error(f);
  ck_assert_ptr_nonnull(
      strstr(error, "; container: GET http://169.254.170.2/creds: HTTP 500"));
  free(error);
  /* Credentials are not handed out in their last 10 seconds either. */
  push_ecs(f, "AKID3", T0 + 7200 + 3600, 0);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKID3");
  f->clock.now = T0 + 7200 + 3600 - 10;
  push_ecs(f, "AKID4", T0 + 7200 + 7200, 0);
  got_t g3 = {0};
  fx_get(f, &g3);
  ck_assert_str_eq(g3.access_key_id, "AKID4");
  fx_free(f);
}
END_TEST

/* A set a service refused as expired is dropped once, by the first call
 * that saw it refused; the next get() fetches new ones. */
START_TEST(test_invalidate_fetches_again) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKID1", T0 + 3600, 0);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKID1");
  uint64_t first = g.creds->generation;
  ck_assert_uint_ne(first, 0);
  ck_assert(pl__aws_creds_invalidate(f->creds, first));
  /* Other calls refused with the same set find it gone already. */
  ck_assert(!pl__aws_creds_invalidate(f->creds, first));
  push_ecs(f, "AKID2", T0 + 3600, 0);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKID2");
  ck_assert_uint_ne(g2.creds->generation, first);
  ck_assert_uint_eq(f->script.request_count, 2);
  /* A late refusal of the old set leaves the new one alone. */
  ck_assert(!pl__aws_creds_invalidate(f->creds, first));
  get_now(f, "AKID2");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 2);
  fx_free(f);
}
END_TEST

START_TEST(test_concurrent_getters) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKID1", T0 + 3600, 20);
  fx_create(f);
  got_t g[4] = {{0}};
  for (size_t i = 0; i < 3; i++) {
    const pl_aws_credentials_t *now = NULL;
    ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g[i]),
                     PL_EAGAIN);
  }
  /* One more once the request is in flight. */
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.in_flight, 1);
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g[3]),
                   PL_EAGAIN);
  run_until(f, got_called, &g[3]);
  ck_assert_uint_eq(f->script.request_count, 1);
  for (size_t i = 0; i < 4; i++) {
    ck_assert_int_eq(g[i].calls, 1);
    ck_assert_str_eq(g[i].access_key_id, "AKID1");
    ck_assert_ptr_eq(g[i].creds, g[0].creds);
  }

  /* Concurrent getters of a failing run all get the same error. */
  fx_close_creds(f);
  script_push(&f->script, (script_reply_t){.status = 500, .delay_ms = 10});
  fx_create(f);
  got_t e[3] = {{0}};
  for (size_t i = 0; i < 3; i++)
    ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &e[i]),
                     PL_EAGAIN);
  run_until(f, got_called, &e[2]);
  ck_assert_uint_eq(f->script.request_count, 2);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(e[i].calls, 1);
    ck_assert_str_eq(e[i].error, e[0].error);
  }
  for (size_t i = 0; i < 3; i++)
    got_free(&e[i]);
  fx_free(f);
}
END_TEST

/* A callback that asks again: answered at once from the cache. */
static void on_creds_again(void *data, const pl_aws_credentials_t *c,
                           const char *error) {
  fixture_t *f = data;
  ck_assert_ptr_nonnull(c);
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, NULL), 0);
  ck_assert_ptr_eq(now, c);
  f->clock.now++; /* marks the call */
}

static bool clock_moved(fixture_t *f, void *arg) {
  return f->clock.now != T0;
}

START_TEST(test_reentrant_get) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  fx_create(f);
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds_again, f),
                   PL_EAGAIN);
  run_until(f, clock_moved, NULL);
  ck_assert_int_eq(pl__aws_creds_get(NULL, &now, on_creds, NULL), PL_EINVAL);
  ck_assert_int_eq(pl__aws_creds_get(f->creds, NULL, on_creds, NULL),
                   PL_EINVAL);
  fx_free(f);
}
END_TEST

START_TEST(test_close_with_pending) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  script_push(&f->script, (script_reply_t){.hang = true});
  fx_create(f);
  got_t g[2] = {{0}};
  const pl_aws_credentials_t *now = NULL;
  for (size_t i = 0; i < 2; i++)
    ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g[i]),
                     PL_EAGAIN);
  ck_assert_uint_eq(f->script.request_count, 0); /* sent from the loop */
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.in_flight, 1);
  pl_aws_creds_t *creds = f->creds;
  pl__aws_creds_close(creds);
  f->creds = NULL;
  /* The waiting callers hear at once; later calls are refused. */
  for (size_t i = 0; i < 2; i++) {
    ck_assert_int_eq(g[i].calls, 1);
    ck_assert_str_eq(g[i].error, "AWS credentials provider closed");
    got_free(&g[i]);
  }
  got_t late = {0};
  ck_assert_int_eq(pl__aws_creds_get(creds, &now, on_creds, &late),
                   PL_ECANCELED);
  pl__aws_creds_close(creds); /* twice is harmless */
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_assert_uint_eq(f->script.canceled, 1);
  ck_assert_int_eq(late.calls, 0);

  /* Closed before the run even started: no request at all. */
  fx_create(f);
  got_t h = {0};
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &h), PL_EAGAIN);
  fx_close_creds(f);
  ck_assert_int_eq(h.calls, 1);
  ck_assert_str_eq(h.error, "AWS credentials provider closed");
  got_free(&h);
  ck_assert_uint_eq(f->script.request_count, 1);

  /* Closed while FULL_URI's host name is being resolved. */
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
          "http://localhost:9/creds");
  fx_create(f);
  got_t r = {0};
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &r), PL_EAGAIN);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  fx_close_creds(f);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_str_eq(r.error, "AWS credentials provider closed");
  got_free(&r);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  /* The lookup may have finished within that one iteration: then the GET
   * was sent, and cancelled by close. */
  ck_assert_uint_eq(f->script.canceled, f->script.request_count);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");

  /* Closed with cached credentials and a refresh timer armed. */
  push_ecs(f, "AKID1", T0 + 3600, 0);
  fx_create(f);
  got_t k = {0};
  fx_get(f, &k);
  ck_assert_str_eq(k.access_key_id, "AKID1");
  fx_free(f);
}
END_TEST

/* Closing from inside a callback cancels the callers still waiting. */
typedef struct closer {
  fixture_t *f;
  got_t got[2];
} closer_t;

static void on_creds_close(void *data, const pl_aws_credentials_t *c,
                           const char *error) {
  closer_t *closer = data;
  on_creds(&closer->got[0], c, error);
  fx_close_creds(closer->f);
}

static void on_creds_second(void *data, const pl_aws_credentials_t *c,
                            const char *error) {
  on_creds(&((closer_t *)data)->got[1], c, error);
}

START_TEST(test_close_from_callback) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  fx_create(f);
  closer_t closer = {.f = f};
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds_close, &closer),
                   PL_EAGAIN);
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds_second, &closer),
                   PL_EAGAIN);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closer.got[0].calls, 1);
  ck_assert_str_eq(closer.got[0].access_key_id, "AKIDENV");
  ck_assert_int_eq(closer.got[1].calls, 1);
  ck_assert_str_eq(closer.got[1].error, "AWS credentials provider closed");
  got_free(&closer.got[1]);
  fx_free(f);
}
END_TEST

/* Credentials no signature can carry are refused where they are found,
 * naming the part as the source calls it and never its value: a CR left
 * by a CRLF environment file, a space inside a profile's secret key, a
 * control character in credential_process's key id. Before, every
 * request failed with "cannot sign the request". */
START_TEST(test_unusable_credentials_are_refused_by_name) {
  static const char *const mark = " holds a character no signature can "
                                  "carry (a control character or a space; a "
                                  "file with CRLF line ends leaves a CR at "
                                  "the end of each line)";
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV\r");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  fx_create(f);
  char *error = fx_error(f); /* asserts no secret in it */
  char *expected =
      fmt("no AWS credentials: environment: AWS_ACCESS_KEY_ID%s", mark);
  ck_assert_str_eq(error, expected);
  free(expected);
  free(error);
  fx_close_creds(f);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SESSION_TOKEN",
          "tok\x7f"
          "en");
  fx_create(f);
  error = fx_error(f);
  ck_assert_ptr_nonnull(strstr(error, "AWS_SESSION_TOKEN holds"));
  free(error);
  fx_free(f);

  f = fx_new(false);
  write_file(f->home, ".aws/credentials",
             "[spaced]\naws_access_key_id = AKID\n"
             "aws_secret_access_key = half " SECRET_KEY "\n");
  env_set(&f->env, "AWS_PROFILE", "spaced");
  fx_create(f);
  error = fx_error(f);
  ck_assert_ptr_nonnull(
      strstr(error, "profile spaced: aws_secret_access_key holds"));
  ck_assert_ptr_null(strstr(error, "half"));
  free(error);
  fx_free(f);

  f = fx_new(false);
  write_process(f,
                "{\"Version\": 1, \"AccessKeyId\": \"AK\\u0007ID\", "
                "\"SecretAccessKey\": \"" SECRET_KEY "\"}",
                0);
  fx_create_with(f, "proc", NULL, NULL);
  error = fx_error(f);
  ck_assert_msg(strstr(error, "profile proc: credential_process: AccessKeyId "
                              "holds") != NULL,
                "%s", error);
  free(error);
  fx_free(f);
}
END_TEST

/* A caller forgotten (pl__aws_creds_forget, a call cancelled while it
 * waits) is never called: the last one waiting, after which another still
 * queues behind the others, and one that a callback of the same delivery
 * forgets before its turn. */
typedef struct forgetter {
  fixture_t *f;
  got_t got[3];
} forgetter_t;

static void on_creds_forget(void *data, const pl_aws_credentials_t *c,
                            const char *error) {
  forgetter_t *fg = data;
  on_creds(&fg->got[0], c, error);
  pl__aws_creds_forget(fg->f->creds, on_creds, &fg->got[2]);
}

START_TEST(test_forgotten_callers_are_not_called) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  fx_create(f);
  forgetter_t fg = {.f = f};
  got_t gone = {0}, last = {0};
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds_forget, &fg),
                   PL_EAGAIN);
  for (size_t i = 1; i < 3; i++)
    ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &fg.got[i]),
                     PL_EAGAIN);
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &gone),
                   PL_EAGAIN);
  pl__aws_creds_forget(f->creds, on_creds, &gone);
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &last),
                   PL_EAGAIN);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(fg.got[0].calls, 1);
  ck_assert_int_eq(fg.got[1].calls, 1);
  ck_assert_str_eq(fg.got[1].access_key_id, "AKIDENV");
  ck_assert_int_eq(fg.got[2].calls, 0);
  ck_assert_int_eq(gone.calls, 0);
  ck_assert_int_eq(last.calls, 1);
  ck_assert_str_eq(last.access_key_id, "AKIDENV");
  pl__aws_creds_forget(NULL, on_creds, &gone); /* harmless */
  fx_free(f);
}
END_TEST

START_TEST(test_create_arguments) {
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  script_t script;
  script_init(&script, &loop);
  pl_aws_creds_t *creds = (pl_aws_creds_t *)&loop;
  ck_assert_int_eq(pl__aws_creds_create(NULL, &creds), PL_EINVAL);
  ck_assert_ptr_null(creds);
  pl_aws_creds_options_t opts = {.loop = &loop};
  ck_assert_int_eq(pl__aws_creds_create(&opts, &creds), PL_EINVAL);
  /* No environment and no clock: an empty environment, the real clock. */
  opts.http = &script.transport;
  ck_assert_int_eq(pl__aws_creds_create(&opts, &creds), 0);
  ck_assert_ptr_null(pl__aws_creds_profile_region(creds));
  got_t g = {0};
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(creds, &now, on_creds, &g), PL_EAGAIN);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_ptr_nonnull(strstr(
      g.error, "profile default: no such profile in ~/.aws/credentials or "
               "~/.aws/config; "));
  /* IMDS is on by default: the scripted transport had no answer. */
  ck_assert_ptr_nonnull(strstr(g.error, "; instance metadata: PUT "
                                        "http://169.254.169.254/latest/api/"
                                        "token: no scripted reply"));
  got_free(&g);
  pl__aws_creds_close(creds);
  pl__aws_creds_close(NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  script_free(&script);
}
END_TEST

/* ---- Against the loopback fake server through the curl transport ---- */

static char *request_header(fixture_t *f, size_t i, const char *name) {
  const fake_http_request_t *r = fake_http_request(f->server, i);
  ck_assert_ptr_nonnull(r);
  return fake_http_request_header(r, name);
}

START_TEST(test_fake_imds) {
  fixture_t *f = fx_new(true);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          fake_http_url(f->server));
  fake_http_push(f->server,
                 &(fake_http_response_t){.method = "PUT",
                                         .path_prefix = "/latest/api/token",
                                         .status = 200,
                                         .body = IMDS_TOKEN});
  fake_http_push(
      f->server,
      &(fake_http_response_t){.method = "GET",
                              .path_prefix =
                                  "/latest/meta-data/iam/security-credentials/",
                              .status = 200,
                              .body = "ec2-role\n"});
  char *json = imds_json("AKIDFAKEIMDS", T0 + 21600);
  fake_http_push(f->server, &(fake_http_response_t){
                                .method = "GET",
                                .path_prefix = "/latest/meta-data/iam/"
                                               "security-credentials/ec2-role",
                                .status = 200,
                                .body = json});
  free(json);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_msg(g.error == NULL, "%s", g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDFAKEIMDS");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "instance metadata");
  ck_assert_int_eq(g.expires_at, T0 + 21600);
  ck_assert_uint_eq(fake_http_request_count(f->server), 3);
  const fake_http_request_t *r = fake_http_request(f->server, 0);
  ck_assert_str_eq(r->method, "PUT");
  ck_assert_str_eq(r->path, "/latest/api/token");
  char *ttl = request_header(f, 0, "X-aws-ec2-metadata-token-ttl-seconds");
  ck_assert_str_eq(ttl, "21600");
  free(ttl);
  char *none = request_header(f, 0, "X-aws-ec2-metadata-token");
  ck_assert_ptr_null(none);
  ck_assert_str_eq(fake_http_request(f->server, 1)->path,
                   "/latest/meta-data/iam/security-credentials/");
  ck_assert_str_eq(fake_http_request(f->server, 2)->path,
                   "/latest/meta-data/iam/security-credentials/ec2-role");
  for (size_t i = 1; i < 3; i++) {
    ck_assert_str_eq(fake_http_request(f->server, i)->method, "GET");
    char *token = request_header(f, i, "X-aws-ec2-metadata-token");
    ck_assert_str_eq(token, IMDS_TOKEN);
    free(token);
  }
  fx_free(f);
}
END_TEST

/* Off EC2 the provider gives up fast: a refused connection at once, a
 * silent endpoint after the 1 s timeout. */
START_TEST(test_fake_imds_unreachable) {
  fixture_t *f = fx_new(true);
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);
  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_msg(strstr(error, "; instance metadata: PUT "
                              "http://127.0.0.1:1/latest/api/token: ") != NULL,
                "%s", error);
  free(error);
  fx_close_creds(f);

  env_set(&f->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
          fake_http_url(f->server));
  fake_http_push(f->server, &(fake_http_response_t){.hang = true});
  fx_create(f);
  uint64_t start = uv_hrtime();
  error = fx_error(f);
  uint64_t elapsed_ms = (uv_hrtime() - start) / 1000000;
  ck_assert_msg(strstr(error, "/latest/api/token: timed out") != NULL, "%s",
                error);
  ck_assert_uint_ge(elapsed_ms, 900);
  ck_assert_uint_lt(elapsed_ms, 3000);
  free(error);
  fx_free(f);
}
END_TEST

START_TEST(test_fake_ecs_full_uri) {
  fixture_t *f = fx_new(true);
  char *uri = fmt("%s/v1/credentials?id=7", fake_http_url(f->server));
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
  free(uri);
  write_file(f->home, "eks-token", ECS_AUTH "\n");
  char *path = fmt("%s/eks-token", f->home);
  env_set(&f->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path);
  free(path);
  char *json = ecs_json("AKIDFAKEECS", T0 + 3600);
  fake_http_push(f->server, &(fake_http_response_t){
                                .method = "GET",
                                .path_prefix = "/v1/credentials",
                                .status = 200,
                                .headers = "Content-Type: application/json\r\n",
                                .body = json});
  free(json);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_msg(g.error == NULL, "%s", g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDFAKEECS");
  ck_assert_str_eq(g.source, "container");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  ck_assert_str_eq(fake_http_request(f->server, 0)->path,
                   "/v1/credentials?id=7");
  char *auth = request_header(f, 0, "Authorization");
  ck_assert_str_eq(auth, ECS_AUTH);
  free(auth);
  fx_close_creds(f);

  /* An error answer that echoes the token: redacted. */
  fake_http_push(
      f->server,
      &(fake_http_response_t){.status = 401,
                              .body = "{\"code\":\"Unauthorized\",\"message\":"
                                      "\"bad token '" ECS_AUTH "'\"}"});
  fx_create(f);
  char *error = fx_error(f);
  ck_assert_msg(strstr(error, "/v1/credentials?id=7: HTTP 401 Unauthorized: "
                              "bad token '***'") != NULL,
                "%s", error);
  free(error);
  fx_free(f);
}
END_TEST

START_TEST(test_fake_sts) {
  fixture_t *f = fx_new(true);
  write_file(f->home, "token", WEB_TOKEN);
  char *path = fmt("%s/token", f->home);
  env_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", path);
  free(path);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  env_set(&f->env, "AWS_ROLE_SESSION_NAME", "fake-session");
  char *xml = sts_xml("AKIDFAKESTS", T0 + 3600);
  fake_http_push(f->server, &(fake_http_response_t){
                                .method = "POST",
                                .path_prefix = "/",
                                .status = 200,
                                .headers = "Content-Type: text/xml\r\n",
                                .body = xml});
  free(xml);
  fx_create_with(f, NULL, fake_http_url(f->server), NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_msg(g.error == NULL, "%s", g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDFAKESTS");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_str_eq(g.source, "web identity");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  const fake_http_request_t *r = fake_http_request(f->server, 0);
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->path, "/");
  ck_assert_str_eq(r->body,
                   "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                   "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci"
                   "&RoleSessionName=fake-session&WebIdentityToken=" WEB_TOKEN);
  char *type = request_header(f, 0, "Content-Type");
  ck_assert_str_eq(type, "application/x-www-form-urlencoded; charset=utf-8");
  free(type);
  char *auth = request_header(f, 0, "Authorization");
  ck_assert_ptr_null(auth); /* unsigned */
  fx_close_creds(f);

  /* An STS error, its message echoing the token. */
  fake_http_push(f->server,
                 &(fake_http_response_t){
                     .status = 403,
                     .body = "<ErrorResponse><Error><Type>Sender</Type>"
                             "<Code>AccessDenied</Code><Message>Not authorized "
                             "for " WEB_TOKEN "</Message></Error>"
                             "</ErrorResponse>"});
  fx_create_with(f, NULL, fake_http_url(f->server), NULL);
  char *error = fx_error(f);
  char *expected = fmt("; web identity: AssumeRoleWithWebIdentity at %s/: "
                       "HTTP 403 AccessDenied: Not authorized for ***",
                       fake_http_url(f->server));
  ck_assert_msg(strstr(error, expected) != NULL, "%s", error);
  free(expected);
  free(error);
  fx_free(f);
}
END_TEST

START_TEST(test_fake_profile_web_identity) {
  fixture_t *f = fx_new(true);
  write_file(f->home, "ci-token", WEB_TOKEN "\r\n");
  write_file(f->home, ".aws/config",
             "[profile ci]\nrole_arn = " ROLE_ARN
             "\nweb_identity_token_file = ~/ci-token\n");
  env_set(&f->env, "AWS_PROFILE", "ci");
  char *xml = sts_xml("AKIDPROFILESTS", T0 + 3600);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = xml});
  free(xml);
  fx_create_with(f, NULL, fake_http_url(f->server), NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_msg(g.error == NULL, "%s", g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROFILESTS");
  ck_assert_str_eq(g.source, "profile ci (web identity)");
  const fake_http_request_t *r = fake_http_request(f->server, 0);
  ck_assert_ptr_nonnull(strstr(r->body, "&WebIdentityToken=" WEB_TOKEN));
  ck_assert_ptr_nonnull(strstr(r->body, "&RoleSessionName=pipelined-"));
  fx_free(f);
}
END_TEST

static bool server_requests(fixture_t *f, void *arg) {
  return fake_http_request_count(f->server) >= (size_t)(uintptr_t)arg;
}

typedef struct wait_id {
  const char *id;
} wait_id_t;

static bool creds_are(fixture_t *f, void *arg) {
  const pl_aws_credentials_t *now = NULL;
  return pl__aws_creds_get(f->creds, &now, on_creds, NULL) == 0 &&
         strcmp(now->access_key_id, ((wait_id_t *)arg)->id) == 0;
}

START_TEST(test_fake_refresh) {
  fixture_t *f = fx_new(true);
  char *uri = fmt("%s/creds", fake_http_url(f->server));
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", uri);
  free(uri);
  char *json = ecs_json("AKID1", T0 + 900);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = json});
  free(json);
  json = ecs_json("AKID2", T0 + 1800);
  fake_http_push(f->server, &(fake_http_response_t){
                                .status = 200, .body = json, .delay_ms = 100});
  free(json);
  fx_create(f);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKID1");
  f->clock.now = T0 + 900 - 120;
  get_now(f, "AKID1");
  run_until(f, server_requests, (void *)2);
  get_now(f, "AKID1"); /* the answer takes 100 ms: not stalled meanwhile */
  run_until(f, creds_are, &(wait_id_t){"AKID2"});
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  fx_free(f);
}
END_TEST

/* ---- Secrets never reach an error text ---- */

/* Every error checked by on_creds() already went through
 * assert_no_secret(); this runs the paths where a secret sits right next
 * to the error: a file line, remote messages, a partial environment. */
START_TEST(test_no_secret_in_errors) {
  fixture_t *f = fx_new(false);
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  env_set(&f->env, "AWS_SESSION_TOKEN", SESSION_TOKEN);
  write_file(f->home, ".aws/credentials",
             "[default]\naws_secret_access_key = " SECRET_KEY
             "\naws_session_token = " SESSION_TOKEN "\n");
  fx_create(f);
  char *error = fx_error(f);
  assert_no_secret(error);
  ck_assert_ptr_nonnull(strstr(error, "profile default: aws_secret_access_key "
                                      "without aws_access_key_id"));
  free(error);
  fx_close_creds(f);

  write_file(f->home, ".aws/credentials",
             "[default]\naws_access_key_id = A\n " SECRET_KEY "\n"
             "[x]\n" SESSION_TOKEN "\n");
  fx_create(f);
  error = fx_error(f);
  assert_no_secret(error);
  ck_assert_ptr_nonnull(strstr(error, "/.aws/credentials:5: expected key"));
  free(error);
  fx_close_creds(f);

  write_file(f->home, ".aws/credentials", "");
  write_file(f->home, "token", WEB_TOKEN);
  char *path = fmt("%s/token", f->home);
  env_set(&f->env, "AWS_WEB_IDENTITY_TOKEN_FILE", path);
  free(path);
  env_set(&f->env, "AWS_ROLE_ARN", ROLE_ARN);
  script_push(&f->script,
              (script_reply_t){.status = 400,
                               .body =
                                   "<ErrorResponse><Error><Code>"
                                   "Bad" WEB_TOKEN "</Code><Message>" WEB_TOKEN
                                   "/" WEB_TOKEN "</Message>"
                                   "</Error></ErrorResponse>"});
  fx_create(f);
  error = fx_error(f);
  assert_no_secret(error);
  free(error);
  fx_free(f);
}
END_TEST

/* ---- The end of a provider's run (pl__creds_op_finish) ---- */

typedef struct finish_probe {
  pl__creds_op_t op;
  int *order; /* 1 when destroyed, 2 when the callback ran after it */
} finish_probe_t;

static void finish_probe_destroy(pl__creds_op_t *base) {
  finish_probe_t *probe = (finish_probe_t *)base;
  ck_assert_int_eq(*probe->order, 0);
  *probe->order = 1;
  free(probe);
}

static void finish_probe_done(void *data, pl__creds_result_t *result) {
  int *order = data;
  ck_assert_int_eq(*order, 1); /* the run is freed first */
  *order = 2;
}

START_TEST(test_op_finish) {
  static const int codes[] = {0, PL_ENOMEM};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    int rc = codes[i];
    int order = 0;
    finish_probe_t *probe = calloc(1, sizeof(*probe));
    probe->op = (pl__creds_op_t){.cb = finish_probe_done, .data = &order};
    probe->order = &order;
    pl__creds_result_t result = {0};
    ck_assert_int_eq(
        pl__creds_result_set(&result, PL__CREDS_ABSENT, "not %s", "here"), 0);
    pl__creds_op_finish(&probe->op, finish_probe_destroy, &result, rc);
    ck_assert_int_eq(order, 2);
    if (rc == 0) {
      ck_assert_int_eq(result.outcome, PL__CREDS_ABSENT);
      ck_assert_str_eq(result.reason, "not here");
    } else {
      /* Out of memory while making the result: failed, no reason. */
      ck_assert_int_eq(result.outcome, PL__CREDS_FAILED);
      ck_assert_ptr_null(result.reason);
    }
    pl__creds_result_clear(&result);
  }
}
END_TEST

static Suite *credentials_suite(void) {
  Suite *s = suite_create("credentials");
  TCase *tc = tcase_create("units");
  tcase_add_test(tc, test_secret_storage);
  tcase_add_test(tc, test_secret_read_file);
  tcase_add_test(tc, test_profile_parse);
  tcase_add_test(tc, test_profile_syntax_errors);
  tcase_add_test(tc, test_profile_load_paths);
  tcase_add_test(tc, test_parse_time);
  tcase_add_test(tc, test_ecs_hosts);
  tcase_add_test(tc, test_op_finish);
  suite_add_tcase(s, tc);

  tc = tcase_create("chain");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_env_provider);
  tcase_add_test(tc, test_env_incomplete_stops_chain);
  tcase_add_test(tc, test_profile_provider);
  tcase_add_test(tc, test_profile_failures);
  tcase_add_test(tc, test_nothing_found_message);
  tcase_add_test(tc, test_chain_order);
  tcase_add_test(tc, test_web_identity_request);
  tcase_add_test(tc, test_web_identity_errors);
  tcase_add_test(tc, test_profile_web_identity);
  tcase_add_test(tc, test_credential_process);
  tcase_add_test(tc, test_credential_process_failures);
  tcase_add_test(tc, test_ecs_relative);
  tcase_add_test(tc, test_ecs_full_uri_rules);
  tcase_add_test(tc, test_ecs_errors);
  tcase_add_test(tc, test_imds_flow);
  tcase_add_test(tc, test_imds_failures);
  tcase_add_test(tc, test_no_secret_in_errors);
  tcase_add_test(tc, test_expired_on_arrival_fails);
  tcase_add_test(tc, test_credential_process_killed_with_its_children);
  suite_add_tcase(s, tc);

  tc = tcase_create("refresh");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_refresh_before_expiry);
  tcase_add_test(tc, test_refresh_failure_keeps_old);
  tcase_add_test(tc, test_concurrent_getters);
  tcase_add_test(tc, test_invalidate_fetches_again);
  tcase_add_test(tc, test_reentrant_get);
  tcase_add_test(tc, test_close_with_pending);
  tcase_add_test(tc, test_close_from_callback);
  tcase_add_test(tc, test_forgotten_callers_are_not_called);
  tcase_add_test(tc, test_unusable_credentials_are_refused_by_name);
  tcase_add_test(tc, test_create_arguments);
  suite_add_tcase(s, tc);

  tc = tcase_create("fake_http");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_fake_imds);
  tcase_add_test(tc, test_fake_imds_unreachable);
  tcase_add_test(tc, test_fake_ecs_full_uri);
  tcase_add_test(tc, test_fake_sts);
  tcase_add_test(tc, test_fake_profile_web_identity);
  tcase_add_test(tc, test_fake_refresh);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(credentials_suite());
}
