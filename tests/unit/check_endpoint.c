/* Check suite for src/aws/endpoint.c: every precedence level of region and
 * endpoint with a fake environment, the exact error sentences, endpoint
 * URL parsing, and S3 URLs in both styles with awkward keys. */
#include "endpoint.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* An environment of name/value pairs, NULL-terminated. */
static const char *fake_getenv(void *data, const char *name) {
  const char *const *pairs = data;
  for (; pairs[0]; pairs += 2)
    if (strcmp(pairs[0], name) == 0)
      return pairs[1];
  return NULL;
}

static pl_env_t env_of(const char *const *pairs) {
  return (pl_env_t){.getenv = fake_getenv, .data = (void *)pairs};
}

/* ---- Region ---- */

static void expect_region(const pl_aws_endpoint_inputs_t *in,
                          const char *region, pl_aws_region_source_t source) {
  char *out = NULL, *error = NULL;
  pl_aws_region_source_t got = (pl_aws_region_source_t)-1;
  ck_assert_int_eq(pl__aws_region_resolve(in, &out, &got, &error), 0);
  ck_assert_str_eq(out, region);
  ck_assert_int_eq(got, source);
  ck_assert_ptr_null(error);
  free(out);
}

static void expect_region_error(const pl_aws_endpoint_inputs_t *in, int rc,
                                const char *message) {
  char *out = (char *)1, *error = NULL;
  ck_assert_int_eq(pl__aws_region_resolve(in, &out, NULL, &error), rc);
  ck_assert_ptr_null(out);
  ck_assert_str_eq(error, message);
  free(error);
}

START_TEST(test_region_precedence) {
  const char *all[] = {"AWS_REGION", "eu-west-1", "AWS_DEFAULT_REGION",
                       "eu-west-2", NULL};
  const char *only_default[] = {"AWS_DEFAULT_REGION", "eu-west-2", NULL};
  const char *none[] = {NULL};
  pl_env_t env = env_of(all);
  pl_aws_endpoint_inputs_t in = {
      .plugin_region = "us-east-1",
      .block_region = "us-west-2",
      .profile_region = "ap-south-1",
      .env = &env,
  };
  expect_region(&in, "us-east-1", PL_AWS_REGION_FROM_PLUGIN);
  in.plugin_region = NULL;
  expect_region(&in, "us-west-2", PL_AWS_REGION_FROM_BLOCK);
  in.block_region = NULL;
  expect_region(&in, "eu-west-1", PL_AWS_REGION_FROM_ENV);
  env = env_of(only_default);
  expect_region(&in, "eu-west-2", PL_AWS_REGION_FROM_ENV_DEFAULT);
  env = env_of(none);
  expect_region(&in, "ap-south-1", PL_AWS_REGION_FROM_PROFILE);
  in.profile_region = NULL;
  expect_region_error(&in, PL_ENOENT,
                      "no AWS region: not in the stage's region option, "
                      "the aws {} block, AWS_REGION, AWS_DEFAULT_REGION or "
                      "the profile; set region in the aws {} block");
}
END_TEST

START_TEST(test_region_empty_is_unset) {
  const char *empty_env[] = {"AWS_REGION", "", "AWS_DEFAULT_REGION", "", NULL};
  pl_env_t env = env_of(empty_env);
  pl_aws_endpoint_inputs_t in = {
      .plugin_region = "",
      .block_region = "",
      .profile_region = "sa-east-1",
      .env = &env,
  };
  expect_region(&in, "sa-east-1", PL_AWS_REGION_FROM_PROFILE);
  in.profile_region = "";
  expect_region_error(&in, PL_ENOENT,
                      "no AWS region: not in the stage's region option, "
                      "the aws {} block, AWS_REGION, AWS_DEFAULT_REGION or "
                      "the profile; set region in the aws {} block");
}
END_TEST

START_TEST(test_region_no_env) {
  /* A NULL environment, or one without a callback, is empty. */
  pl_aws_endpoint_inputs_t in = {.profile_region = "us-east-2"};
  expect_region(&in, "us-east-2", PL_AWS_REGION_FROM_PROFILE);
  pl_env_t no_cb = {.getenv = NULL};
  in.env = &no_cb;
  expect_region(&in, "us-east-2", PL_AWS_REGION_FROM_PROFILE);
  /* *source and *error are optional. */
  char *out = NULL;
  ck_assert_int_eq(pl__aws_region_resolve(&in, &out, NULL, NULL), 0);
  ck_assert_str_eq(out, "us-east-2");
  free(out);
  in.profile_region = NULL;
  ck_assert_int_eq(pl__aws_region_resolve(&in, &out, NULL, NULL), PL_ENOENT);
  ck_assert_int_eq(pl__aws_region_resolve(NULL, &out, NULL, NULL), PL_EINVAL);
}
END_TEST

START_TEST(test_region_invalid) {
  const char *env_pairs[] = {"AWS_REGION", "Us East", NULL};
  pl_env_t env = env_of(env_pairs);
  pl_aws_endpoint_inputs_t in = {.env = &env, .profile_region = "us-east-1"};
  expect_region_error(&in, PL_EINVAL,
                      "invalid AWS region \"Us East\" (from AWS_REGION): "
                      "expected lower-case letters, digits and '-'");
  /* A valid region above the bad one wins without looking further. */
  in.block_region = "eu-central-1";
  expect_region(&in, "eu-central-1", PL_AWS_REGION_FROM_BLOCK);
  in.block_region = "eu-central-1/../x";
  expect_region_error(&in, PL_EINVAL,
                      "invalid AWS region \"eu-central-1/../x\" (from aws {} "
                      "block): expected lower-case letters, digits and '-'");
  in.block_region = NULL;
  in.plugin_region = "US-EAST-1";
  expect_region_error(&in, PL_EINVAL,
                      "invalid AWS region \"US-EAST-1\" (from plugin "
                      "option): expected lower-case letters, digits and '-'");
  const char *env_default[] = {"AWS_DEFAULT_REGION", "a.b", NULL};
  env = env_of(env_default);
  in.plugin_region = NULL;
  expect_region_error(&in, PL_EINVAL,
                      "invalid AWS region \"a.b\" (from AWS_DEFAULT_REGION): "
                      "expected lower-case letters, digits and '-'");
  env = env_of((const char *[]){NULL});
  in.profile_region = "eu west";
  expect_region_error(&in, PL_EINVAL,
                      "invalid AWS region \"eu west\" (from profile): "
                      "expected lower-case letters, digits and '-'");
  /* 63 characters is the longest region. */
  char longest[65];
  memset(longest, 'a', 64);
  longest[64] = '\0';
  in.profile_region = longest;
  char *out = NULL;
  ck_assert_int_eq(pl__aws_region_resolve(&in, &out, NULL, NULL), PL_EINVAL);
  longest[63] = '\0';
  expect_region(&in, longest, PL_AWS_REGION_FROM_PROFILE);
}
END_TEST

START_TEST(test_source_names) {
  ck_assert_str_eq(pl__aws_region_source_name(PL_AWS_REGION_FROM_PLUGIN),
                   "plugin option");
  ck_assert_str_eq(pl__aws_region_source_name(PL_AWS_REGION_FROM_BLOCK),
                   "aws {} block");
  ck_assert_str_eq(pl__aws_region_source_name(PL_AWS_REGION_FROM_ENV),
                   "AWS_REGION");
  ck_assert_str_eq(pl__aws_region_source_name(PL_AWS_REGION_FROM_ENV_DEFAULT),
                   "AWS_DEFAULT_REGION");
  ck_assert_str_eq(pl__aws_region_source_name(PL_AWS_REGION_FROM_PROFILE),
                   "profile");
  ck_assert_str_eq(pl__aws_region_source_name((pl_aws_region_source_t)99),
                   "unknown");
  ck_assert_str_eq(pl__aws_endpoint_source_name(PL_AWS_ENDPOINT_FROM_PLUGIN),
                   "plugin option");
  ck_assert_str_eq(pl__aws_endpoint_source_name(PL_AWS_ENDPOINT_FROM_BLOCK),
                   "aws {} block");
  ck_assert_str_eq(
      pl__aws_endpoint_source_name(PL_AWS_ENDPOINT_FROM_ENV_SERVICE),
      "AWS_ENDPOINT_URL_<SERVICE>");
  ck_assert_str_eq(pl__aws_endpoint_source_name(PL_AWS_ENDPOINT_FROM_ENV),
                   "AWS_ENDPOINT_URL");
  ck_assert_str_eq(pl__aws_endpoint_source_name(PL_AWS_ENDPOINT_FROM_DEFAULT),
                   "default");
  ck_assert_str_eq(pl__aws_endpoint_source_name((pl_aws_endpoint_source_t)99),
                   "unknown");
}
END_TEST

/* ---- Endpoints ---- */

static void expect_endpoint(const pl_aws_endpoint_inputs_t *in,
                            const char *service, const char *region,
                            const char *url, bool custom, bool path_style,
                            pl_aws_endpoint_source_t source) {
  pl_aws_endpoint_t ep;
  char *error = NULL;
  ck_assert_int_eq(pl__aws_endpoint_resolve(in, service, region, &ep, &error),
                   0);
  ck_assert_ptr_null(error);
  ck_assert_str_eq(ep.url, url);
  ck_assert_msg(ep.custom == custom, "%s custom", url);
  ck_assert_msg(ep.path_style == path_style, "%s path_style", url);
  ck_assert_int_eq(ep.source, source);
  pl__aws_endpoint_close(&ep);
  ck_assert_ptr_null(ep.url);
}

static void expect_endpoint_error(const pl_aws_endpoint_inputs_t *in,
                                  const char *service, const char *region,
                                  const char *message) {
  pl_aws_endpoint_t ep = {.url = (char *)1};
  char *error = NULL;
  ck_assert_int_eq(pl__aws_endpoint_resolve(in, service, region, &ep, &error),
                   PL_EINVAL);
  ck_assert_ptr_null(ep.url);
  ck_assert_str_eq(error, message);
  free(error);
}

START_TEST(test_endpoint_defaults) {
  pl_aws_endpoint_inputs_t in = {0};
  expect_endpoint(&in, "sqs", "us-east-1",
                  "https://sqs.us-east-1.amazonaws.com", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
  expect_endpoint(&in, "s3", "eu-west-1", "https://s3.eu-west-1.amazonaws.com",
                  false, false, PL_AWS_ENDPOINT_FROM_DEFAULT);
  expect_endpoint(&in, "dynamodb", "ap-northeast-1",
                  "https://dynamodb.ap-northeast-1.amazonaws.com", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
  expect_endpoint(&in, "sts", "us-gov-west-1",
                  "https://sts.us-gov-west-1.amazonaws.com", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
  /* China has its own suffix; other "c" regions do not. */
  expect_endpoint(&in, "s3", "cn-north-1",
                  "https://s3.cn-north-1.amazonaws.com.cn", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
  expect_endpoint(&in, "dynamodb", "cn-northwest-1",
                  "https://dynamodb.cn-northwest-1.amazonaws.com.cn", false,
                  false, PL_AWS_ENDPOINT_FROM_DEFAULT);
  expect_endpoint(&in, "sqs", "ca-central-1",
                  "https://sqs.ca-central-1.amazonaws.com", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
}
END_TEST

START_TEST(test_endpoint_precedence) {
  const char *all[] = {"AWS_ENDPOINT_URL_SQS", "http://sqs-env:1",
                       "AWS_ENDPOINT_URL", "http://all-env:2", NULL};
  const char *only_all[] = {"AWS_ENDPOINT_URL", "http://all-env:2", NULL};
  pl_env_t env = env_of(all);
  pl_aws_endpoint_inputs_t in = {
      .plugin_endpoint = "http://plugin:3",
      .block_endpoint = "http://block:4",
      .env = &env,
  };
  expect_endpoint(&in, "sqs", "us-east-1", "http://plugin:3", true, false,
                  PL_AWS_ENDPOINT_FROM_PLUGIN);
  in.plugin_endpoint = "";
  expect_endpoint(&in, "sqs", "us-east-1", "http://block:4", true, false,
                  PL_AWS_ENDPOINT_FROM_BLOCK);
  in.block_endpoint = NULL;
  expect_endpoint(&in, "sqs", "us-east-1", "http://sqs-env:1", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV_SERVICE);
  /* The service variable is only for its service. */
  expect_endpoint(&in, "dynamodb", "us-east-1", "http://all-env:2", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV);
  env = env_of(only_all);
  expect_endpoint(&in, "sqs", "us-east-1", "http://all-env:2", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV);
  /* A custom endpoint needs no region. */
  expect_endpoint(&in, "sqs", NULL, "http://all-env:2", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV);
  /* The environment wins over the profile... */
  in.profile_service_endpoint = "http://profile-sqs:5";
  in.profile_endpoint = "http://profile:6";
  expect_endpoint(&in, "sqs", "us-east-1", "http://all-env:2", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV);
  const char *empty[] = {"AWS_ENDPOINT_URL_SQS", "", "AWS_ENDPOINT_URL", "",
                         NULL};
  env = env_of(empty);
  /* ...then the profile's services section, then its endpoint_url. */
  expect_endpoint(&in, "sqs", "us-east-1", "http://profile-sqs:5", true, false,
                  PL_AWS_ENDPOINT_FROM_PROFILE_SERVICE);
  in.profile_service_endpoint = NULL;
  expect_endpoint(&in, "sqs", "us-east-1", "http://profile:6", true, false,
                  PL_AWS_ENDPOINT_FROM_PROFILE);
  in.profile_endpoint = "";
  expect_endpoint(&in, "sqs", "us-east-1",
                  "https://sqs.us-east-1.amazonaws.com", false, false,
                  PL_AWS_ENDPOINT_FROM_DEFAULT);
}
END_TEST

START_TEST(test_endpoint_service_variables) {
  const char *pairs[] = {"AWS_ENDPOINT_URL_S3",
                         "http://s3-env:9000",
                         "AWS_ENDPOINT_URL_SQS",
                         "http://sqs-env:9324",
                         "AWS_ENDPOINT_URL_DYNAMODB",
                         "http://ddb-env:8000",
                         "AWS_ENDPOINT_URL_STS",
                         "http://sts-env:4566",
                         NULL};
  pl_env_t env = env_of(pairs);
  pl_aws_endpoint_inputs_t in = {.env = &env};
  /* A custom S3 endpoint turns path style on; other services have none. */
  expect_endpoint(&in, "s3", "us-east-1", "http://s3-env:9000", true, true,
                  PL_AWS_ENDPOINT_FROM_ENV_SERVICE);
  expect_endpoint(&in, "sqs", "us-east-1", "http://sqs-env:9324", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV_SERVICE);
  expect_endpoint(&in, "dynamodb", "us-east-1", "http://ddb-env:8000", true,
                  false, PL_AWS_ENDPOINT_FROM_ENV_SERVICE);
  expect_endpoint(&in, "sts", "us-east-1", "http://sts-env:4566", true, false,
                  PL_AWS_ENDPOINT_FROM_ENV_SERVICE);
  in.plugin_endpoint = "https://minio.local";
  expect_endpoint(&in, "s3", "us-east-1", "https://minio.local", true, true,
                  PL_AWS_ENDPOINT_FROM_PLUGIN);
}
END_TEST

START_TEST(test_endpoint_normalized) {
  pl_aws_endpoint_inputs_t in = {.plugin_endpoint = "HTTP://LocalHost:4566/"};
  expect_endpoint(&in, "sqs", "us-east-1", "http://localhost:4566", true, false,
                  PL_AWS_ENDPOINT_FROM_PLUGIN);
  in.plugin_endpoint = "https://proxy.example.com:8443/Aws/Path//";
  expect_endpoint(&in, "s3", "us-east-1",
                  "https://proxy.example.com:8443/Aws/Path", true, true,
                  PL_AWS_ENDPOINT_FROM_PLUGIN);
  in.plugin_endpoint = "http://[::1]:4566";
  expect_endpoint(&in, "dynamodb", "us-east-1", "http://[::1]:4566", true,
                  false, PL_AWS_ENDPOINT_FROM_PLUGIN);
  in.plugin_endpoint = "https://s3.amazonaws.com:443";
  expect_endpoint(&in, "s3", "us-east-1", "https://s3.amazonaws.com:443", true,
                  true, PL_AWS_ENDPOINT_FROM_PLUGIN);
}
END_TEST

START_TEST(test_endpoint_errors) {
  const char *pairs[] = {"AWS_ENDPOINT_URL", "localhost:4566",
                         "AWS_ENDPOINT_URL_DYNAMODB", "http://user@ddb:1",
                         NULL};
  pl_env_t env = env_of(pairs);
  pl_aws_endpoint_inputs_t in = {.env = &env};
  expect_endpoint_error(&in, "sqs", "us-east-1",
                        "invalid endpoint \"localhost:4566\" (from "
                        "AWS_ENDPOINT_URL): expected http:// or https://, a "
                        "host and an optional port and path");
  expect_endpoint_error(&in, "dynamodb", "us-east-1",
                        "invalid endpoint \"http://user@ddb:1\" (from "
                        "AWS_ENDPOINT_URL_DYNAMODB): expected http:// or "
                        "https://, a host and an optional port and path");
  in.block_endpoint = "ftp://files";
  expect_endpoint_error(&in, "sqs", "us-east-1",
                        "invalid endpoint \"ftp://files\" (from aws {} "
                        "block): expected http:// or https://, a host and an "
                        "optional port and path");
  in.plugin_endpoint = "https://";
  expect_endpoint_error(&in, "sqs", "us-east-1",
                        "invalid endpoint \"https://\" (from plugin option): "
                        "expected http:// or https://, a host and an "
                        "optional port and path");
  pl_aws_endpoint_inputs_t plain = {0};
  expect_endpoint_error(&plain, "sns", "us-east-1",
                        "unknown AWS service \"sns\"");
  expect_endpoint_error(&plain, "SQS", "us-east-1",
                        "unknown AWS service \"SQS\"");
  expect_endpoint_error(&plain, NULL, "us-east-1", "unknown AWS service \"\"");
  expect_endpoint_error(&plain, "sqs", NULL,
                        "invalid AWS region \"\" for the sqs endpoint");
  expect_endpoint_error(&plain, "s3", "evil.com/x",
                        "invalid AWS region \"evil.com/x\" for the s3 "
                        "endpoint");
  /* *error is optional. */
  pl_aws_endpoint_t ep;
  ck_assert_int_eq(
      pl__aws_endpoint_resolve(&plain, "sns", "us-east-1", &ep, NULL),
      PL_EINVAL);
  ck_assert_int_eq(
      pl__aws_endpoint_resolve(NULL, "sqs", "us-east-1", &ep, NULL), PL_EINVAL);
}
END_TEST

/* ---- URL parsing ---- */

START_TEST(test_url_parse) {
  const struct {
    const char *text;
    const char *scheme, *host, *path;
    int port;
    bool explicit_port;
  } cases[] = {
      {"https://s3.amazonaws.com", "https", "s3.amazonaws.com", "", 443, false},
      {"http://127.0.0.1:9000/base/path//", "http", "127.0.0.1", "/base/path",
       9000, true},
      {"http://[::1]:4566", "http", "[::1]", "", 4566, true},
      {"HTTPS://Example.COM:443/", "https", "example.com", "", 443, true},
      {"http://local_stack", "http", "local_stack", "", 80, false},
      {"https://h:65535/", "https", "h", "", 65535, true},
      {"http://[2001:db8::1]/p", "http", "[2001:db8::1]", "/p", 80, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_url_t url;
    ck_assert_msg(pl__aws_url_parse(cases[i].text, &url) == 0, "%s",
                  cases[i].text);
    ck_assert_str_eq(url.scheme, cases[i].scheme);
    ck_assert_str_eq(url.host, cases[i].host);
    ck_assert_str_eq(url.path, cases[i].path);
    ck_assert_int_eq(url.port, cases[i].port);
    ck_assert(url.port_explicit == cases[i].explicit_port);
    pl__aws_url_close(&url);
    ck_assert_ptr_null(url.host);
  }
}
END_TEST

START_TEST(test_url_parse_invalid) {
  const char *bad[] = {
      "",
      "s3.amazonaws.com",
      "ftp://x",
      "https://",
      "https:///path",
      "https://:443",
      "https://host:",
      "https://host:0",
      "https://host:65536",
      "https://host:99999999999999999999",
      "https://host:80x",
      "https://user@host",
      "https://host?x=1",
      "https://host#frag",
      "https://ho st",
      "https://host\n",
      "https://host\r\nX-Evil: 1",
      "https://[::1",
      "https://[]",
      "https://[zz::1]",
      "https://host!x",
      "https://h\xc3\xb6st",
      "http:/host",
      "https://host\\path",
      "https://host/a b",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pl_aws_url_t url = {.port = 7};
    ck_assert_msg(pl__aws_url_parse(bad[i], &url) == PL_EINVAL, "'%s'", bad[i]);
    ck_assert_ptr_null(url.host);
    ck_assert_int_eq(url.port, 0);
  }
  pl_aws_url_t url;
  ck_assert_int_eq(pl__aws_url_parse(NULL, &url), PL_EINVAL);
}
END_TEST

START_TEST(test_url_authority) {
  const struct {
    const char *url, *authority;
  } cases[] = {
      {"https://h", "h"},
      {"https://h:443", "h"},
      {"http://h:80", "h"},
      {"https://h:4566", "h:4566"},
      {"http://h:443", "h:443"},
      {"https://h:80", "h:80"},
      {"http://[::1]:9", "[::1]:9"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_url_t url;
    ck_assert_int_eq(pl__aws_url_parse(cases[i].url, &url), 0);
    pl_buf_t buf = {0};
    ck_assert_int_eq(pl__aws_url_authority(&url, &buf), 0);
    ck_assert_str_eq(buf.data, cases[i].authority);
    pl_buf_free(&buf);
    pl__aws_url_close(&url);
  }
}
END_TEST

/* ---- S3 URLs ---- */

static void expect_s3(const char *endpoint, const char *bucket, const char *key,
                      bool path_style, const char *url) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl__aws_s3_url(endpoint, bucket, key, path_style, &buf), 0);
  ck_assert_str_eq(buf.data, url);
  pl_buf_free(&buf);
}

#define AWS_S3 "https://s3.eu-west-1.amazonaws.com"

START_TEST(test_s3_styles) {
  expect_s3(AWS_S3, "my-bucket", "dir/file.csv", false,
            "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/file.csv");
  expect_s3(AWS_S3, "my-bucket", "dir/file.csv", true,
            "https://s3.eu-west-1.amazonaws.com/my-bucket/dir/file.csv");
  /* The bucket itself. */
  expect_s3(AWS_S3, "my-bucket", NULL, false,
            "https://my-bucket.s3.eu-west-1.amazonaws.com/");
  expect_s3(AWS_S3, "my-bucket", "", false,
            "https://my-bucket.s3.eu-west-1.amazonaws.com/");
  expect_s3(AWS_S3, "my-bucket", NULL, true,
            "https://s3.eu-west-1.amazonaws.com/my-bucket");
  expect_s3(AWS_S3, "my-bucket", "", true,
            "https://s3.eu-west-1.amazonaws.com/my-bucket");
  /* A custom endpoint keeps its port and base path. */
  expect_s3("http://localhost:4566/proxy", "b-1", "k", true,
            "http://localhost:4566/proxy/b-1/k");
  expect_s3("http://minio.local:9000/proxy", "b-1", "k", false,
            "http://b-1.minio.local:9000/proxy/k");
  /* An explicit default port is left out. */
  expect_s3("https://s3.amazonaws.com:443", "bkt", "k", false,
            "https://bkt.s3.amazonaws.com/k");
}
END_TEST

START_TEST(test_s3_fallback_to_path) {
  /* Dots break the wildcard certificate over https, not over http. */
  expect_s3(AWS_S3, "my.bucket", "k", false,
            "https://s3.eu-west-1.amazonaws.com/my.bucket/k");
  expect_s3("http://s3.local", "my.bucket", "k", false,
            "http://my.bucket.s3.local/k");
  /* Not a DNS label: upper case, underscore, too short. */
  expect_s3(AWS_S3, "My_Bucket", "k", false,
            "https://s3.eu-west-1.amazonaws.com/My_Bucket/k");
  expect_s3(AWS_S3, "ab", "k", false,
            "https://s3.eu-west-1.amazonaws.com/ab/k");
  /* An IP host has no subdomains. */
  expect_s3("http://127.0.0.1:9000", "bucket", "key", false,
            "http://127.0.0.1:9000/bucket/key");
  expect_s3("http://[::1]:9000", "bucket", "key", false,
            "http://[::1]:9000/bucket/key");
}
END_TEST

START_TEST(test_s3_key_encoding) {
  const struct {
    const char *key, *encoded;
  } cases[] = {
      {"file name+1.csv", "file%20name%2B1.csv"},
      {"donn\xc3\xa9"
       "es/\xc3\xa9t\xc3\xa9.txt",
       "donn%C3%A9es/%C3%A9t%C3%A9.txt"},
      {"\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80",
       "%E6%97%A5%E6%9C%AC/%F0%9F%98%80"},
      {"a//b/", "a//b/"},
      {"/lead", "/lead"},
      {"~tilde_-.ok", "~tilde_-.ok"},
      {"100%", "100%25"},
      {"a?b#c&d=e", "a%3Fb%23c%26d%3De"},
      {"*'()!@$,;:", "%2A%27%28%29%21%40%24%2C%3B%3A"},
      {"[x]{y}|z^`\"<>\\", "%5Bx%5D%7By%7D%7Cz%5E%60%22%3C%3E%5C"},
      {"tab\tnl\n", "tab%09nl%0A"},
      {"a/./b/../c", "a/%2E/b/%2E%2E/c"},
      {".", "%2E"},
      {"..", "%2E%2E"},
      {"../x", "%2E%2E/x"},
      {"x/..", "x/%2E%2E"},
      {"...", "..."},
      {".a/b.", ".a/b."},
      {"ABCxyz019", "ABCxyz019"},
      {"\x7f\xff", "%7F%FF"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char expected[256];
    snprintf(expected, sizeof expected, "https://s3.amazonaws.com/bkt/%s",
             cases[i].encoded);
    expect_s3("https://s3.amazonaws.com", "bkt", cases[i].key, true, expected);
    snprintf(expected, sizeof expected, "https://bkt.s3.amazonaws.com/%s",
             cases[i].encoded);
    expect_s3("https://s3.amazonaws.com", "bkt", cases[i].key, false, expected);
  }
}
END_TEST

START_TEST(test_s3_errors) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_append_str(&buf, "keep"), 0);
  ck_assert_int_eq(pl__aws_s3_url(AWS_S3, "", "k", false, &buf), PL_EINVAL);
  ck_assert_int_eq(pl__aws_s3_url(AWS_S3, NULL, "k", false, &buf), PL_EINVAL);
  ck_assert_int_eq(pl__aws_s3_url(AWS_S3, "a/b", "k", true, &buf), PL_EINVAL);
  ck_assert_int_eq(pl__aws_s3_url("s3.amazonaws.com", "b", "k", true, &buf),
                   PL_EINVAL);
  ck_assert_int_eq(pl__aws_s3_url(NULL, "bkt", "k", true, &buf), PL_EINVAL);
  ck_assert_str_eq(buf.data, "keep");
  ck_assert_uint_eq(buf.len, 4);
  /* Success appends. */
  ck_assert_int_eq(pl__aws_s3_url("http://h", "bkt", "k", true, &buf), 0);
  ck_assert_str_eq(buf.data, "keephttp://h/bkt/k");
  pl_buf_free(&buf);
}
END_TEST

START_TEST(test_s3_bucket_virtual_ok) {
  const struct {
    const char *bucket;
    bool https, http;
  } cases[] = {
      {"abc", true, true},           {"ab", false, false},
      {"my-bucket-123", true, true}, {"xn--bcher-kva", true, true},
      {"a.b.c", false, true},        {"a..b", false, false},
      {"-abc", false, false},        {"abc-", false, false},
      {".abc", false, false},        {"abc.", false, false},
      {"a-.b", false, false},        {"a.-b", false, false},
      {"192.168.1.1", false, false}, {"192.168.1", false, true},
      {"Abc", false, false},         {"a_b", false, false},
      {"a b", false, false},         {"", false, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_assert_msg(pl__aws_s3_bucket_virtual_ok(cases[i].bucket, true) ==
                      cases[i].https,
                  "%s https", cases[i].bucket);
    ck_assert_msg(pl__aws_s3_bucket_virtual_ok(cases[i].bucket, false) ==
                      cases[i].http,
                  "%s http", cases[i].bucket);
  }
  char name[65];
  memset(name, 'a', 64);
  name[64] = '\0';
  ck_assert(!pl__aws_s3_bucket_virtual_ok(name, true));
  name[63] = '\0';
  ck_assert(pl__aws_s3_bucket_virtual_ok(name, true));
  ck_assert(!pl__aws_s3_bucket_virtual_ok(NULL, true));
}
END_TEST

static Suite *endpoint_suite(void) {
  Suite *s = suite_create("endpoint");
  TCase *region = tcase_create("region");
  tcase_add_test(region, test_region_precedence);
  tcase_add_test(region, test_region_empty_is_unset);
  tcase_add_test(region, test_region_no_env);
  tcase_add_test(region, test_region_invalid);
  tcase_add_test(region, test_source_names);
  suite_add_tcase(s, region);
  TCase *endpoint = tcase_create("endpoint");
  tcase_add_test(endpoint, test_endpoint_defaults);
  tcase_add_test(endpoint, test_endpoint_precedence);
  tcase_add_test(endpoint, test_endpoint_service_variables);
  tcase_add_test(endpoint, test_endpoint_normalized);
  tcase_add_test(endpoint, test_endpoint_errors);
  suite_add_tcase(s, endpoint);
  TCase *url = tcase_create("url");
  tcase_add_test(url, test_url_parse);
  tcase_add_test(url, test_url_parse_invalid);
  tcase_add_test(url, test_url_authority);
  tcase_add_test(url, test_s3_styles);
  tcase_add_test(url, test_s3_fallback_to_path);
  tcase_add_test(url, test_s3_key_encoding);
  tcase_add_test(url, test_s3_errors);
  tcase_add_test(url, test_s3_bucket_virtual_ok);
  suite_add_tcase(s, url);
  return s;
}

int main(void) {
  return test_suite_run(endpoint_suite());
}
