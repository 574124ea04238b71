/* Check suite for role chains (src/aws/creds_role.c, walked by
 * creds_profile.c, AssumeRole in creds_sts.c): a scripted STS checks each
 * AssumeRole it receives (action, parameters, and a SigV4 signature made
 * with the source credentials) and answers; chains of profiles, each
 * credential_source, loops, missing profiles, STS refusals, MFA and
 * refresh. Nothing here talks to anything but the in-process transport. */
#include "creds_role.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "sigv4.h"
#include "test_creds.h"
#include "test_suite.h"

#define ROLE_PROD "arn:aws:iam::123456789012:role/prod"
#define ROLE_PROD_ENC "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fprod"
#define ROLE_MID_ENC "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmid"
#define ROLE_MID "arn:aws:iam::123456789012:role/mid"

static const char base_profile[] = "[profile base]\n"
                                   "aws_access_key_id = AKIDBASE\n"
                                   "aws_secret_access_key = " SECRET_KEY "\n";

/* Writes the config file: profile "base" (keys) followed by `more`. */
static void write_config(fixture_t *f, const char *more) {
  char *config = fmt("%s%s", base_profile, more);
  write_file(f->home, ".aws/config", config);
  free(config);
}

static char *role_xml(const char *id, int64_t expires_at) {
  char when[32];
  iso8601(expires_at, when);
  return fmt("<AssumeRoleResponse "
             "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
             "  <AssumeRoleResult>\n"
             "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
             "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
             "    <Credentials>\n"
             "      <AccessKeyId>%s</AccessKeyId>\n"
             "      <SecretAccessKey>%s</SecretAccessKey>\n"
             "      <SessionToken>%s</SessionToken>\n"
             "      <Expiration>%s</Expiration>\n"
             "    </Credentials>\n"
             "  </AssumeRoleResult>\n"
             "  <ResponseMetadata><RequestId>r-1</RequestId>"
             "</ResponseMetadata>\n"
             "</AssumeRoleResponse>\n",
             id, SECRET_KEY, SESSION_TOKEN, when);
}

static void push_role(fixture_t *f, const char *id, int64_t expires_at) {
  char *xml = role_xml(id, expires_at);
  script_push(&f->script,
              (script_reply_t){.method = "POST", .status = 200, .body = xml});
  free(xml);
}

/* The form of an AssumeRole of `role_enc` (form-encoded) with nothing
 * but the default session name (new string). */
static char *plain_body(const char *role_enc) {
  return fmt("Action=AssumeRole&Version=2011-06-15&RoleArn=%s"
             "&RoleSessionName=pipelined-%lld",
             role_enc, (long long)T0);
}

/* Checks that request `i` is an AssumeRole POST of `body` to `url`, signed
 * at T0 for sts in `region` by key_id (and its secret SECRET_KEY, and
 * `token` when not NULL): the Authorization header must be the one the
 * signer makes of the headers and body that were sent. */
static void assert_assume_role(fixture_t *f, size_t i, const char *url,
                               const char *body, const char *key_id,
                               const char *token, const char *region) {
  ck_assert_uint_gt(f->script.request_count, i);
  const script_request_t *r = &f->script.requests[i];
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->url, url);
  ck_assert_str_eq(r->body, body);
  char *host = script_header(r, "Host");
  char *type = script_header(r, "Content-Type");
  char *accept = script_header(r, "Accept");
  char *auth = script_header(r, "Authorization");
  char *date = script_header(r, "X-Amz-Date");
  char *sent_token = script_header(r, "X-Amz-Security-Token");
  ck_assert_ptr_nonnull(host);
  ck_assert_str_eq(type, "application/x-www-form-urlencoded; charset=utf-8");
  ck_assert_ptr_nonnull(auth);
  ck_assert_str_eq(date, "20231114T221320Z");
  char *scope = fmt("AWS4-HMAC-SHA256 Credential=%s/20231114/%s/sts/"
                    "aws4_request, SignedHeaders=",
                    key_id, region);
  ck_assert_msg(strncmp(auth, scope, strlen(scope)) == 0, "%s", auth);
  if (token)
    ck_assert_str_eq(sent_token, token);
  else
    ck_assert_ptr_null(sent_token);

  const pl_aws_credentials_t creds = {
      .access_key_id = key_id,
      .secret_access_key = SECRET_KEY,
      .session_token = token,
  };
  const pl_aws_sigv4_params_t params = {
      .credentials = &creds,
      .region = region,
      .service = "sts",
      .time = T0,
      .normalize_path = true,
      .double_encode_path = true,
  };
  const pl_http_header_t headers[] = {
      {"Host", host}, {"Content-Type", type}, {"Accept", accept}};
  const char *path = strchr(strstr(url, "://") + 3, '/');
  const pl_aws_sigv4_request_t request = {
      .method = "POST",
      .path = path,
      .headers = headers,
      .header_count = 3,
      .body = r->body,
      .body_len = strlen(r->body),
  };
  pl_aws_sigv4_output_t out = {0};
  ck_assert_int_eq(pl__aws_sigv4_sign(&params, &request, &out), 0);
  const char *expected = NULL;
  for (size_t h = 0; h < out.header_count; h++)
    if (strcmp(out.headers[h].name, "Authorization") == 0)
      expected = out.headers[h].value;
  ck_assert_str_eq(auth, expected);
  pl__aws_sigv4_output_close(&out);
  free(scope);
  free(host);
  free(type);
  free(accept);
  free(auth);
  free(date);
  free(sent_token);
}

START_TEST(test_assume_role_request) {
  fixture_t *f = fx_new(false);
  write_config(f, "[profile prod]\nrole_arn = " ROLE_PROD
                  "\nsource_profile = base\nexternal_id = ext/42\n"
                  "role_session_name = my session\n"
                  "duration_seconds = 1800\nregion = eu-west-1\n");
  push_role(f, "AKIDPROD", T0 + 1800);
  fx_create_with(f, "prod", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROD");
  ck_assert_str_eq(g.secret_access_key, SECRET_KEY);
  ck_assert_str_eq(g.session_token, SESSION_TOKEN);
  ck_assert_int_eq(g.expires_at, T0 + 1800);
  ck_assert_str_eq(g.source,
                   "profile prod (assume role " ROLE_PROD " via profile base)");
  ck_assert_uint_eq(f->script.request_count, 1);
  assert_assume_role(
      f, 0, "https://sts.eu-west-1.amazonaws.com/",
      "Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE_PROD_ENC
      "&RoleSessionName=my%20session&ExternalId=ext%2F42"
      "&DurationSeconds=1800",
      "AKIDBASE", NULL, "eu-west-1");
  fx_close_creds(f);

  /* A configured STS endpoint (with a base path) and no region: signed
   * for us-east-1; the default session name. */
  write_file(f->home, ".aws/config",
             "[profile self]\nrole_arn = " ROLE_PROD "\nsource_profile = self\n"
             "aws_access_key_id = AKIDSELF\n"
             "aws_secret_access_key = " SECRET_KEY "\n");
  push_role(f, "AKIDSELFROLE", T0 + 3600);
  fx_create_with(f, "self", "http://sts.local:4566/aws", NULL);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_ptr_null(g2.error);
  /* A profile that sources itself with keys assumes the role with them. */
  ck_assert_str_eq(g2.access_key_id, "AKIDSELFROLE");
  ck_assert_str_eq(g2.source,
                   "profile self (assume role " ROLE_PROD " via profile self)");
  char *body = plain_body(ROLE_PROD_ENC);
  assert_assume_role(f, 1, "http://sts.local:4566/aws/", body, "AKIDSELF", NULL,
                     "us-east-1");
  free(body);
  char *host = script_header(&f->script.requests[1], "Host");
  ck_assert_str_eq(host, "sts.local:4566");
  free(host);
  fx_free(f);
}
END_TEST

START_TEST(test_configured_sts_endpoint) {
  fixture_t *f = fx_new(false);
  write_config(f, "[profile prod]\nrole_arn = " ROLE_PROD
                  "\nsource_profile = base\nregion = eu-west-1\n"
                  "services = local\n"
                  "[services local]\nsts =\n"
                  "  endpoint_url = http://127.0.0.1:4566\n");
  /* The profile's services section... */
  push_role(f, "AKIDPROD", T0 + 3600);
  fx_create_with(f, "prod", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  char *body = plain_body(ROLE_PROD_ENC);
  assert_assume_role(f, 0, "http://127.0.0.1:4566/", body, "AKIDBASE", NULL,
                     "eu-west-1");
  fx_close_creds(f);
  /* ...gives way to AWS_ENDPOINT_URL_STS, as for every STS client. */
  env_set(&f->env, "AWS_ENDPOINT_URL_STS", "http://localhost:5000/sts");
  script_clear_replies(&f->script);
  push_role(f, "AKIDPROD2", T0 + 3600);
  fx_create_with(f, "prod", NULL, NULL);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDPROD2");
  assert_assume_role(f, 1, "http://localhost:5000/sts/", body, "AKIDBASE", NULL,
                     "eu-west-1");
  free(body);
  fx_free(f);
}
END_TEST

START_TEST(test_chain_of_three) {
  fixture_t *f = fx_new(false);
  /* base has keys; mid assumes ROLE_MID from base; prod assumes ROLE_PROD
   * from mid. A source profile with keys is used for its keys even when
   * it also names a role (as "base" does here). */
  write_config(
      f, "role_arn = arn:aws:iam::1:role/never\n"
         "source_profile = prod\n"
         "[profile mid]\nrole_arn = " ROLE_MID "\nsource_profile = base\n"
         "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = mid\n");
  env_set(&f->env, "AWS_REGION", "eu-central-1");
  push_role(f, "AKIDMID", T0 + 7200);
  push_role(f, "AKIDPROD", T0 + 3600);
  fx_create_with(f, "prod", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROD");
  ck_assert_int_eq(g.expires_at, T0 + 3600);
  ck_assert_str_eq(g.source, "profile prod (assume role " ROLE_PROD
                             " via profile mid (assume role " ROLE_MID
                             " via profile base))");
  ck_assert_uint_eq(f->script.request_count, 2);
  const char *url = "https://sts.eu-central-1.amazonaws.com/";
  /* First mid's role, with base's keys... */
  char *body = plain_body(ROLE_MID_ENC);
  assert_assume_role(f, 0, url, body, "AKIDBASE", NULL, "eu-central-1");
  free(body);
  /* ...then prod's, signed with what the first one returned. */
  body = plain_body(ROLE_PROD_ENC);
  assert_assume_role(f, 1, url, body, "AKIDMID", SESSION_TOKEN, "eu-central-1");
  free(body);
  fx_free(f);
}
END_TEST

/* Creating the credentials of `profile` fails with an error that holds
 * `part`. */
static void assert_fails(fixture_t *f, const char *profile, const char *part) {
  fx_create_with(f, profile, NULL, NULL);
  char *error = fx_error(f);
  ck_assert_msg(strstr(error, part) != NULL, "%s", error);
  free(error);
}

START_TEST(test_credential_source_environment) {
  fixture_t *f = fx_new(false);
  write_file(f->home, ".aws/config",
             "[profile prod]\nrole_arn = " ROLE_PROD
             "\ncredential_source = Environment\n");
  env_set(&f->env, "AWS_ACCESS_KEY_ID", "AKIDENV");
  env_set(&f->env, "AWS_SECRET_ACCESS_KEY", SECRET_KEY);
  env_set(&f->env, "AWS_SESSION_TOKEN", SESSION_TOKEN);
  env_set(&f->env, "AWS_REGION", "us-west-2");
  push_role(f, "AKIDPROD", T0 + 3600);
  /* The profile named by the option comes before the environment's keys,
   * which its role then uses. */
  fx_create_with(f, "prod", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROD");
  ck_assert_str_eq(g.source,
                   "profile prod (assume role " ROLE_PROD " via environment)");
  char *body = plain_body(ROLE_PROD_ENC);
  assert_assume_role(f, 0, "https://sts.us-west-2.amazonaws.com/", body,
                     "AKIDENV", SESSION_TOKEN, "us-west-2");
  free(body);
  fx_close_creds(f);

  /* Through AWS_PROFILE the environment's keys still come first. */
  env_set(&f->env, "AWS_PROFILE", "prod");
  fx_create(f);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_str_eq(g2.access_key_id, "AKIDENV");
  ck_assert_str_eq(g2.source, "environment");
  fx_close_creds(f);
  env_set(&f->env, "AWS_PROFILE", NULL);

  /* No keys in the environment: the role's source fails, named. */
  env_set(&f->env, "AWS_ACCESS_KEY_ID", NULL);
  assert_fails(f, "prod",
               "profile prod: credential_source Environment: "
               "AWS_ACCESS_KEY_ID not set");
  ck_assert_uint_eq(f->script.request_count, 1);
  fx_free(f);
}
END_TEST

START_TEST(test_credential_source_metadata) {
  fixture_t *f = fx_new(false);
  write_file(f->home, ".aws/config",
             "[profile ecs]\nrole_arn = " ROLE_PROD
             "\ncredential_source = EcsContainer\n"
             "[profile ec2]\nrole_arn = " ROLE_MID
             "\ncredential_source = Ec2InstanceMetadata\n");
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKIDECS", T0 + 3600, 0);
  push_role(f, "AKIDPROD", T0 + 3600);
  fx_create_with(f, "ecs", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_ptr_null(g.error);
  ck_assert_str_eq(g.access_key_id, "AKIDPROD");
  ck_assert_str_eq(g.source,
                   "profile ecs (assume role " ROLE_PROD " via container)");
  ck_assert_uint_eq(f->script.request_count, 2);
  ck_assert_ptr_nonnull(strstr(f->script.requests[0].url, "169.254.170.2"));
  char *body = plain_body(ROLE_PROD_ENC);
  assert_assume_role(f, 1, "https://sts.amazonaws.com/", body, "AKIDECS",
                     SESSION_TOKEN, "us-east-1");
  free(body);
  fx_close_creds(f);

  /* Instance metadata (IMDSv2 through the script), then the role. */
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", NULL);
  push_imds(f, "AKIDEC2", T0 + 3600);
  push_role(f, "AKIDMID", T0 + 3600);
  fx_create_with(f, "ec2", NULL, NULL);
  got_t g2 = {0};
  fx_get(f, &g2);
  ck_assert_ptr_null(g2.error);
  ck_assert_str_eq(g2.access_key_id, "AKIDMID");
  ck_assert_str_eq(g2.source, "profile ec2 (assume role " ROLE_MID
                              " via instance metadata)");
  ck_assert_uint_eq(f->script.request_count, 6);
  char *auth = script_header(&f->script.requests[5], "Authorization");
  ck_assert_ptr_nonnull(strstr(auth, "Credential=AKIDEC2/"));
  free(auth);
  fx_close_creds(f);

  /* Metadata that is not there: the role's source fails, named. */
  env_set(&f->env, "AWS_EC2_METADATA_DISABLED", "true");
  assert_fails(f, "ec2",
               "profile ec2: credential_source "
               "Ec2InstanceMetadata: disabled by "
               "AWS_EC2_METADATA_DISABLED");
  fx_free(f);
}
END_TEST

/* The error of profile `profile`'s chain with `config`, no request sent. */
static char *chain_error(fixture_t *f, const char *profile,
                         const char *config) {
  write_file(f->home, ".aws/config", config);
  size_t before = f->script.request_count;
  fx_create_with(f, profile, NULL, NULL);
  char *error = fx_error(f);
  fx_close_creds(f);
  ck_assert_uint_eq(f->script.request_count, before);
  return error;
}

START_TEST(test_chain_refused) {
  fixture_t *f = fx_new(false);
  static const struct {
    const char *profile;
    const char *config;
    const char *reason;
  } cases[] = {
      {"a",
       "[profile a]\nrole_arn = " ROLE_PROD "\nsource_profile = b\n"
       "[profile b]\nrole_arn = " ROLE_MID "\nsource_profile = a\n",
       "profile a: source_profile loop: a -> b -> a"},
      /* Sourcing itself needs keys. */
      {"a", "[profile a]\nrole_arn = " ROLE_PROD "\nsource_profile = a\n",
       "profile a: source_profile loop: a -> a"},
      {"prod",
       "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = nope\n",
       "profile prod: source_profile nope of profile prod: no such profile "
       "in "},
      {"prod",
       "[profile base]\naws_access_key_id = AKIDBASE\n"
       "aws_secret_access_key = " SECRET_KEY "\n"
       "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = base\n"
       "mfa_serial = arn:aws:iam::123456789012:mfa/me\n",
       "profile prod: profile prod: mfa_serial is not supported"},
      {"prod",
       "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = base\n"
       "credential_source = Environment\n",
       "profile prod has both source_profile and credential_source"},
      {"prod",
       "[profile prod]\nrole_arn = " ROLE_PROD "\ncredential_source = Cloud\n",
       "profile prod: credential_source is not Environment, "
       "Ec2InstanceMetadata or EcsContainer"},
      {"prod",
       "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = base\n"
       "duration_seconds = 1h\n",
       "profile prod: duration_seconds is not a number of seconds from 900 "
       "to 43200"},
      {"prod",
       "[profile prod]\nrole_arn = " ROLE_PROD "\nsource_profile = empty\n"
       "[profile empty]\nregion = eu-west-1\n",
       "profile prod: source profile empty: no aws_access_key_id or role_arn "
       "in it"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *error = chain_error(f, cases[i].profile, cases[i].config);
    ck_assert_msg(strstr(error, cases[i].reason) != NULL, "%zu: %s", i, error);
    free(error);
  }

  /* At most 8 profiles: p0 -> p1 -> ... -> p8 is one too many. */
  pl_buf_t config = {0};
  for (int i = 0; i < 9; i++)
    ck_assert_int_eq(pl_buf_printf(&config,
                                   "[profile p%d]\nrole_arn = " ROLE_PROD
                                   "\nsource_profile = p%d\n",
                                   i, i + 1),
                     0);
  char *error = chain_error(f, "p0", config.data);
  ck_assert_msg(strstr(error, "profile p0: role chain longer than 8 profiles: "
                              "p0 -> p1 -> p2 -> p3 -> p4 -> p5 -> p6 -> p7 "
                              "-> p8") != NULL,
                "%s", error);
  free(error);
  pl_buf_free(&config);
  fx_free(f);
}
END_TEST

START_TEST(test_sts_refusal) {
  fixture_t *f = fx_new(false);
  write_config(f, "[profile prod]\nrole_arn = " ROLE_PROD
                  "\nsource_profile = base\n");
  script_push(
      &f->script,
      (script_reply_t){
          .method = "POST",
          .status = 403,
          .body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
                  "2011-06-15/\"><Error><Type>Sender</Type>"
                  "<Code>AccessDenied</Code><Message>User: "
                  "arn:aws:iam::123456789012:user/base is not authorized to "
                  "perform: sts:AssumeRole</Message></Error>"
                  "<RequestId>r</RequestId></ErrorResponse>"});
  /* A configured source that fails stops the chain: the container is
   * never asked. */
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  fx_create_with(f, "prod", NULL, NULL);
  char *error = fx_error(f);
  ck_assert_str_eq(error,
                   "no AWS credentials: profile prod: AssumeRole of " ROLE_PROD
                   " at https://sts.amazonaws.com/: HTTP 403 AccessDenied: "
                   "User: arn:aws:iam::123456789012:user/base is not "
                   "authorized to perform: sts:AssumeRole");
  assert_no_secret(error);
  free(error);
  ck_assert_uint_eq(f->script.request_count, 1);
  fx_close_creds(f);

  /* A success without credentials, and a transport failure. */
  script_push(&f->script,
              (script_reply_t){.method = "POST",
                               .status = 200,
                               .body = "<AssumeRoleResponse><AssumeRoleResult>"
                                       "</AssumeRoleResult>"
                                       "</AssumeRoleResponse>"});
  script_push(&f->script, (script_reply_t){.method = "POST", .error = PL_EIO});
  assert_fails(f, "prod",
               "AssumeRole of " ROLE_PROD
               " at https://sts.amazonaws.com/: response has "
               "no complete Credentials element");
  fx_close_creds(f);
  assert_fails(f, "prod",
               "profile prod: POST https://sts.amazonaws.com/: "
               "scripted failure");
  fx_free(f);
}
END_TEST

START_TEST(test_refresh_reruns_chain) {
  fixture_t *f = fx_new(false);
  write_file(f->home, ".aws/config",
             "[profile ecs]\nrole_arn = " ROLE_PROD
             "\ncredential_source = EcsContainer\n");
  env_set(&f->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  push_ecs(f, "AKIDECS1", T0 + 7200, 0);
  push_role(f, "AKIDROLE1", T0 + 3600);
  fx_create_with(f, "ecs", NULL, NULL);
  got_t g = {0};
  fx_get(f, &g);
  ck_assert_str_eq(g.access_key_id, "AKIDROLE1");
  ck_assert_uint_eq(f->script.request_count, 2);

  /* More than 5 minutes before the role's Expiration: cached. */
  f->clock.now = T0 + 3600 - 301;
  get_now(f, "AKIDROLE1");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ck_assert_uint_eq(f->script.request_count, 2);

  /* Inside the window: the whole chain runs again in the background
   * (container, then AssumeRole signed with the new container keys). */
  push_ecs(f, "AKIDECS2", T0 + 9000, 0);
  push_role(f, "AKIDROLE2", T0 + 7200);
  f->clock.now = T0 + 3600 - 299;
  get_now(f, "AKIDROLE1");
  run_until(f, script_idle, (void *)4);
  get_now(f, "AKIDROLE2");
  ck_assert_ptr_nonnull(strstr(f->script.requests[2].url, "169.254.170.2"));
  char *auth = script_header(&f->script.requests[3], "Authorization");
  ck_assert_ptr_nonnull(strstr(auth, "Credential=AKIDECS2/"));
  free(auth);
  fx_free(f);
}
END_TEST

static bool one_in_flight(fixture_t *f, void *arg) {
  return f->script.in_flight == 1 && f->script.request_count == 1;
}

START_TEST(test_close_during_assume_role) {
  fixture_t *f = fx_new(false);
  write_config(f, "[profile prod]\nrole_arn = " ROLE_PROD
                  "\nsource_profile = base\n");
  script_push(&f->script, (script_reply_t){.method = "POST", .hang = true});
  fx_create_with(f, "prod", NULL, NULL);
  got_t g = {0};
  const pl_aws_credentials_t *now = NULL;
  ck_assert_int_eq(pl__aws_creds_get(f->creds, &now, on_creds, &g), PL_EAGAIN);
  run_until(f, one_in_flight, NULL);
  fx_close_creds(f);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_str_eq(g.error, "AWS credentials provider closed");
  got_free(&g);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_assert_uint_eq(f->script.canceled, 1);
  fx_free(f);
}
END_TEST

static Suite *creds_role_suite(void) {
  Suite *s = suite_create("creds_role");
  TCase *tc = tcase_create("role chains");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_assume_role_request);
  tcase_add_test(tc, test_configured_sts_endpoint);
  tcase_add_test(tc, test_chain_of_three);
  tcase_add_test(tc, test_credential_source_environment);
  tcase_add_test(tc, test_credential_source_metadata);
  tcase_add_test(tc, test_chain_refused);
  tcase_add_test(tc, test_sts_refusal);
  tcase_add_test(tc, test_refresh_reruns_chain);
  tcase_add_test(tc, test_close_during_assume_role);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(creds_role_suite());
}
