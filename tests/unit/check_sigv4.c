/* Check suite for src/aws/sigv4.c: every case of the AWS SigV4 test suite
 * (read from $PIPELINED_TEST_DATA/aws-sigv4-test-suite, tests/data in the
 * repository) for header signing, compared byte for byte; AWS's published S3
 * examples; the URI encoder; and the refusals. The suite's query-* files
 * (presigned URLs) are not read: the signer does not presign. */
#include "sigv4.h"
#include "sigv4_canon.h"

#include "aws_crypto.h"
#include "credentials.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <pipelined/timestamp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_suite.h"

/* The credentials of the AWS S3 documentation examples. */
#define S3_KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_TIME INT64_C(1369353600) /* 2013-05-24T00:00:00Z */
#define EMPTY_SHA256                                                           \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- Reading the suite ---- */

static void suite_dir(pl_buf_t *path) {
  /* tests/data in the repository (make check sets PIPELINED_TEST_DATA). */
  const char *data_dir = getenv("PIPELINED_TEST_DATA");
  pl_buf_printf(path, "%s/aws-sigv4-test-suite",
                data_dir && *data_dir ? data_dir : "tests/data");
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case folders (those with a request.txt), sorted; new strings. */
static char **list_cases(size_t *count) {
  pl_buf_t dir_path = {0};
  suite_dir(&dir_path);
  char **names = NULL;
  size_t n = 0;
  DIR *dir = opendir(dir_path.data);
  for (struct dirent *e; dir && (e = readdir(dir)) != NULL;) {
    if (e->d_name[0] == '.')
      continue;
    pl_buf_t request = {0};
    pl_buf_printf(&request, "%s/%s/request.txt", dir_path.data, e->d_name);
    struct stat st;
    if (stat(request.data, &st) == 0 && S_ISREG(st.st_mode)) {
      /* No ck_assert here: main() calls this outside any test. */
      char **grown = realloc(names, (n + 1) * sizeof *names);
      if (!grown)
        abort();
      names = grown;
      names[n++] = strdup(e->d_name);
    }
    pl_buf_free(&request);
  }
  if (dir)
    closedir(dir);
  pl_buf_free(&dir_path);
  if (n > 1)
    qsort(names, n, sizeof *names, compare_names);
  *count = n;
  return names;
}

static void free_cases(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* The whole file, or false when it does not exist. */
static bool read_file(const char *dir, const char *name, pl_buf_t *out) {
  pl_buf_t path = {0};
  pl_buf_printf(&path, "%s/%s", dir, name);
  FILE *f = fopen(path.data, "rb");
  pl_buf_free(&path);
  if (!f)
    return false;
  char chunk[4096];
  size_t n;
  pl_buf_reserve(out, 0);
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    pl_buf_append(out, chunk, n);
  fclose(f);
  return true;
}

/* A raw request.txt: request line, headers (folded lines kept in the value
 * with their newline), blank line, body. */
typedef struct raw_request {
  char *method, *path, *query, *version; /* query NULL without '?' */
  char *request_line;
  pl_http_header_t *headers; /* name and value are new strings */
  size_t header_count;
  char *body;
  size_t body_len;
} raw_request_t;

static char *copy_n(const char *s, size_t n) {
  char *c = malloc(n + 1);
  ck_assert_ptr_nonnull(c);
  memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

static void parse_request(const pl_buf_t *text, raw_request_t *r) {
  *r = (raw_request_t){0};
  const char *p = text->data, *end = text->data + text->len;
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  ck_assert_ptr_nonnull(eol);
  r->request_line = copy_n(p, (size_t)(eol - p));
  /* The target may hold spaces ("/example space/"): the method ends at the
   * first space, the version starts after the last. */
  const char *sp1 = strchr(r->request_line, ' ');
  const char *sp2 = strrchr(r->request_line, ' ');
  ck_assert(sp1 && sp2 && sp1 < sp2);
  r->method = copy_n(r->request_line, (size_t)(sp1 - r->request_line));
  r->version = copy_n(sp2 + 1, strlen(sp2 + 1));
  const char *target = sp1 + 1;
  const char *q = memchr(target, '?', (size_t)(sp2 - target));
  r->path = copy_n(target, (size_t)((q ? q : sp2) - target));
  if (q)
    r->query = copy_n(q + 1, (size_t)(sp2 - q - 1));
  p = eol + 1;
  while (p < end && *p != '\n') {
    eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    if (*p == ' ' || *p == '\t') {
      ck_assert_uint_gt(r->header_count, 0);
      pl_http_header_t *last = &r->headers[r->header_count - 1];
      pl_buf_t value = {0};
      pl_buf_printf(&value, "%s\n%.*s", last->value, (int)(line_end - p), p);
      free((char *)last->value);
      last->value = value.data;
    } else {
      const char *colon = memchr(p, ':', (size_t)(line_end - p));
      ck_assert_ptr_nonnull(colon);
      r->headers =
          realloc(r->headers, (r->header_count + 1) * sizeof *r->headers);
      ck_assert_ptr_nonnull(r->headers);
      r->headers[r->header_count++] = (pl_http_header_t){
          .name = copy_n(p, (size_t)(colon - p)),
          .value = copy_n(colon + 1, (size_t)(line_end - colon - 1))};
    }
    p = eol ? eol + 1 : end;
  }
  if (p < end) /* the blank line */
    p++;
  r->body_len = (size_t)(end - p);
  r->body = copy_n(p, r->body_len);
}

static void free_request(raw_request_t *r) {
  for (size_t i = 0; i < r->header_count; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->headers);
  free(r->method);
  free(r->path);
  free(r->query);
  free(r->version);
  free(r->request_line);
  free(r->body);
}

/* The suite's "2015-08-30T12:36:00Z" in seconds since the epoch. */
static int64_t parse_timestamp(const char *text) {
  pl_timestamp_t ts;
  int64_t t = 0;
  ck_assert_int_eq(pl_timestamp_parse_rfc3339(text, strlen(text), 0, &ts), 0);
  ck_assert_int_eq(pl_timestamp_to_epoch(&ts, &t), 0);
  return t;
}

/* One case, loaded. */
typedef struct suite_case {
  char *name;
  pl_buf_t dir;
  json_t *context;
  raw_request_t request;
  pl_aws_credentials_t credentials;
  pl_aws_sigv4_params_t params;
  pl_aws_sigv4_request_t sign_request;
  bool sign_body;
} suite_case_t;

static void load_case(size_t index, suite_case_t *c) {
  *c = (suite_case_t){0};
  size_t n;
  char **names = list_cases(&n);
  ck_assert_uint_lt(index, n);
  c->name = strdup(names[index]);
  free_cases(names, n);
  suite_dir(&c->dir);
  pl_buf_printf(&c->dir, "/%s", c->name);

  pl_buf_t text = {0};
  ck_assert(read_file(c->dir.data, "context.json", &text));
  json_error_t err;
  c->context = json_loads(text.data, 0, &err);
  ck_assert_msg(c->context, "%s: context.json: %s", c->name, err.text);
  pl_buf_free(&text);
  ck_assert(read_file(c->dir.data, "request.txt", &text));
  parse_request(&text, &c->request);
  pl_buf_free(&text);

  json_t *cred = json_object_get(c->context, "credentials");
  c->credentials = (pl_aws_credentials_t){
      .access_key_id =
          json_string_value(json_object_get(cred, "access_key_id")),
      .secret_access_key =
          json_string_value(json_object_get(cred, "secret_access_key")),
      .session_token = json_string_value(json_object_get(cred, "token")),
  };
  c->sign_body = json_is_true(json_object_get(c->context, "sign_body"));
  /* The suite is for services other than S3: the path is double-encoded,
   * and normalized when the case says so. sign_body asks for the
   * x-amz-content-sha256 header. */
  c->params = (pl_aws_sigv4_params_t){
      .credentials = &c->credentials,
      .region = json_string_value(json_object_get(c->context, "region")),
      .service = json_string_value(json_object_get(c->context, "service")),
      .time = parse_timestamp(
          json_string_value(json_object_get(c->context, "timestamp"))),
      .normalize_path = json_is_true(json_object_get(c->context, "normalize")),
      .double_encode_path = true,
      .add_content_sha256 = c->sign_body,
      .omit_session_token =
          json_is_true(json_object_get(c->context, "omit_session_token")),
      .keep_intermediates = true,
  };
  c->sign_request = (pl_aws_sigv4_request_t){
      .method = c->request.method,
      .path = c->request.path,
      .query = c->request.query,
      .headers = c->request.headers,
      .header_count = c->request.header_count,
      .body = c->request.body,
      .body_len = c->request.body_len,
  };
}

static void free_case(suite_case_t *c) {
  free_request(&c->request);
  json_decref(c->context);
  pl_buf_free(&c->dir);
  free(c->name);
}

/* Compares with an expected file, naming the first differing byte. */
static void expect_file(const suite_case_t *c, const char *file,
                        const char *actual, size_t actual_len) {
  pl_buf_t expected = {0};
  ck_assert_msg(read_file(c->dir.data, file, &expected), "%s: no %s", c->name,
                file);
  size_t i = 0;
  while (i < expected.len && i < actual_len && expected.data[i] == actual[i])
    i++;
  ck_assert_msg(i == expected.len && i == actual_len,
                "%s/%s differs at byte %zu (expected %zu bytes, got %zu)\n"
                "--- expected\n%s\n--- got\n%.*s",
                c->name, file, i, expected.len, actual_len, expected.data,
                (int)actual_len, actual);
  pl_buf_free(&expected);
}

/* Nothing handed back may hold the secret access key. */
static void expect_no_secret(const char *secret, const char *text) {
  if (text)
    ck_assert_msg(strstr(text, secret) == NULL, "secret leaked into '%s'",
                  text);
}

static void expect_no_secret_in(const pl_aws_sigv4_output_t *out,
                                const char *secret) {
  expect_no_secret(secret, out->canonical_request);
  expect_no_secret(secret, out->string_to_sign);
  expect_no_secret(secret, out->signature);
  for (size_t i = 0; i < out->header_count; i++)
    expect_no_secret(secret, out->headers[i].value);
}

static void append_headers(pl_buf_t *text, const raw_request_t *r) {
  for (size_t i = 0; i < r->header_count; i++)
    pl_buf_printf(text, "%s:%s\n", r->headers[i].name, r->headers[i].value);
}

static void append_body(pl_buf_t *text, const raw_request_t *r) {
  pl_buf_append(text, "\n", 1);
  pl_buf_append(text, r->body, r->body_len);
}

static void expect_intermediates(const suite_case_t *c, const char *prefix,
                                 const pl_aws_sigv4_output_t *out) {
  char file[64];
  snprintf(file, sizeof file, "%s-canonical-request.txt", prefix);
  expect_file(c, file, out->canonical_request, strlen(out->canonical_request));
  snprintf(file, sizeof file, "%s-string-to-sign.txt", prefix);
  expect_file(c, file, out->string_to_sign, strlen(out->string_to_sign));
  snprintf(file, sizeof file, "%s-signature.txt", prefix);
  expect_file(c, file, out->signature, strlen(out->signature));
}

START_TEST(test_suite_header) {
  suite_case_t c;
  load_case((size_t)_i, &c);
  pl_aws_sigv4_output_t out;
  int rc = pl__aws_sigv4_sign(&c.params, &c.sign_request, &out);
  ck_assert_msg(rc == 0, "%s: %s", c.name, pl_strerror(rc));
  expect_intermediates(&c, "header", &out);
  /* The signed request: as read, plus the added headers in the order the
   * expected files (and real requests) have them. */
  pl_buf_t signed_text = {0};
  pl_buf_printf(&signed_text, "%s\n", c.request.request_line);
  append_headers(&signed_text, &c.request);
  for (size_t i = 0; i < out.header_count; i++)
    pl_buf_printf(&signed_text, "%s:%s\n", out.headers[i].name,
                  out.headers[i].value);
  append_body(&signed_text, &c.request);
  expect_file(&c, "header-signed-request.txt", signed_text.data,
              signed_text.len);
  expect_no_secret_in(&out, c.credentials.secret_access_key);
  pl_buf_free(&signed_text);
  pl__aws_sigv4_output_close(&out);
  free_case(&c);
}
END_TEST

/* The suite must be there and whole: an empty loop would pass silently. */
START_TEST(test_suite_present) {
  size_t n;
  char **names = list_cases(&n);
  pl_buf_t dir = {0};
  suite_dir(&dir);
  ck_assert_msg(n >= 38, "%zu cases in %s (set PIPELINED_TEST_DATA)", n,
                dir.data);
  pl_buf_free(&dir);
  free_cases(names, n);
}
END_TEST

/* ---- The URI encoder ---- */

static void expect_encoded(const char *in, bool keep_slash,
                           const char *expected) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl__aws_uri_encode(&out, in, strlen(in), keep_slash), 0);
  ck_assert_str_eq(out.data, expected);
  pl_buf_free(&out);
}

START_TEST(test_uri_encode) {
  expect_encoded("", false, "");
  expect_encoded("AZaz09-._~", false, "AZaz09-._~");
  expect_encoded("a b+c*d%e", false, "a%20b%2Bc%2Ad%25e");
  expect_encoded("dir/file name.txt", true, "dir/file%20name.txt");
  expect_encoded("dir/file", false, "dir%2Ffile");
  expect_encoded("\xe1\x88\xb4", false, "%E1%88%B4");
  expect_encoded("=&?#:@!$'()", false, "%3D%26%3F%23%3A%40%21%24%27%28%29");
  /* Appends: the S3 code builds paths piece by piece. */
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "/bucket/");
  ck_assert_int_eq(pl__aws_uri_encode(&out, "a\0b", 3, true), 0);
  ck_assert_str_eq(out.data, "/bucket/a%00b");
  pl_buf_free(&out);
}
END_TEST

/* ---- S3: AWS's worked examples (sig-v4-header-based-auth) ---- */

typedef struct s3_fixture {
  pl_aws_credentials_t credentials;
  pl_aws_sigv4_params_t params;
} s3_fixture_t;

static void s3_init(s3_fixture_t *f) {
  f->credentials = (pl_aws_credentials_t){.access_key_id = S3_KEY_ID,
                                          .secret_access_key = S3_SECRET};
  f->params = (pl_aws_sigv4_params_t){.credentials = &f->credentials,
                                      .region = "us-east-1",
                                      .service = "s3",
                                      .time = S3_TIME,
                                      .add_content_sha256 = true,
                                      .keep_intermediates = true};
}

static const char *find_header(const pl_aws_sigv4_output_t *out,
                               const char *name) {
  for (size_t i = 0; i < out->header_count; i++)
    if (strcmp(out->headers[i].name, name) == 0)
      return out->headers[i].value;
  return NULL;
}

/* The GetObject example's request. */
static const pl_http_header_t get_object_headers[] = {
    {"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
static const pl_aws_sigv4_request_t get_object = {.method = "GET",
                                                  .path = "/test.txt",
                                                  .headers = get_object_headers,
                                                  .header_count = 2};

START_TEST(test_s3_get_object) {
  s3_fixture_t f;
  s3_init(&f);
  pl_aws_sigv4_request_t req = get_object;
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_str_eq(out.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170"
                                  "aba48dd91039c6036bdb41");
  ck_assert_uint_eq(out.header_count, 3);
  ck_assert_str_eq(find_header(&out, "x-amz-content-sha256"), EMPTY_SHA256);
  ck_assert_str_eq(find_header(&out, "X-Amz-Date"), "20130524T000000Z");
  ck_assert_str_eq(
      find_header(&out, "Authorization"),
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
      "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bd"
      "b41");
  expect_no_secret_in(&out, S3_SECRET);
  pl__aws_sigv4_output_close(&out);
}
END_TEST

/* The key "test$file.text" is sent, and signed, encoded once. */
START_TEST(test_s3_put_object) {
  s3_fixture_t f;
  s3_init(&f);
  const char *body = "Welcome to Amazon S3.";
  const pl_http_header_t headers[] = {
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"Host", "examplebucket.s3.amazonaws.com"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  pl_buf_t path = {0};
  pl_buf_append_str(&path, "/");
  ck_assert_int_eq(pl__aws_uri_encode(&path, "test$file.text", 14, true), 0);
  ck_assert_str_eq(path.data, "/test%24file.text");
  pl_aws_sigv4_request_t req = {.method = "PUT",
                                .path = path.data,
                                .headers = headers,
                                .header_count = 3,
                                .body = body,
                                .body_len = strlen(body)};
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_str_eq(out.signature, "98ad721746da40c64f1a55b78f14c238d841ea13"
                                  "80cd77a1b5971af0ece108bd");
  ck_assert_str_eq(find_header(&out, "x-amz-content-sha256"),
                   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b8"
                   "03f8b072");
  pl__aws_sigv4_output_close(&out);
  pl_buf_free(&path);
}
END_TEST

START_TEST(test_s3_queries) {
  s3_fixture_t f;
  s3_init(&f);
  const pl_http_header_t headers[] = {
      {"Host", "examplebucket.s3.amazonaws.com"}};
  struct {
    const char *query, *signature;
  } cases[] = {
      {"lifecycle",
       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
      {"max-keys=2&prefix=J",
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
      {"prefix=J&max-keys=2",
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_sigv4_request_t req = {.method = "GET",
                                  .path = "/",
                                  .query = cases[i].query,
                                  .headers = headers,
                                  .header_count = 1};
    pl_aws_sigv4_output_t out;
    ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
    ck_assert_str_eq(out.signature, cases[i].signature);
    pl__aws_sigv4_output_close(&out);
  }
}
END_TEST

static char *canonical_uri_of(const pl_aws_sigv4_output_t *out) {
  const char *start = strchr(out->canonical_request, '\n') + 1;
  const char *end = strchr(start, '\n');
  return strndup(start, (size_t)(end - start));
}

static void expect_canonical_uri(const pl_aws_sigv4_params_t *params,
                                 const char *path, const char *expected) {
  const pl_http_header_t host = {"Host", "example.amazonaws.com"};
  pl_aws_sigv4_request_t req = {
      .method = "GET", .path = path, .headers = &host, .header_count = 1};
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(params, &req, &out), 0);
  char *uri = canonical_uri_of(&out);
  ck_assert_msg(strcmp(uri, expected) == 0, "'%s' signed as '%s', not '%s'",
                path, uri, expected);
  free(uri);
  pl__aws_sigv4_output_close(&out);
}

static int sign_path(const pl_aws_sigv4_params_t *params, const char *path) {
  const pl_http_header_t host = {"Host", "example.amazonaws.com"};
  pl_aws_sigv4_request_t req = {
      .method = "GET", .path = path, .headers = &host, .header_count = 1};
  pl_aws_sigv4_output_t out;
  int rc = pl__aws_sigv4_sign(params, &req, &out);
  pl__aws_sigv4_output_close(&out);
  return rc;
}

/* S3 signs the path exactly as sent: dots, double slashes and the "%2E"
 * that pl__aws_s3_url() uses for dot segments stay, and what cannot be
 * sent as is is refused. Other services normalize and encode again. */
START_TEST(test_path_rules) {
  s3_fixture_t f;
  s3_init(&f);
  expect_canonical_uri(&f.params, "/b/a//./../k", "/b/a//./../k");
  expect_canonical_uri(&f.params, "/b/%2E%2E/k%20x%2B+$",
                       "/b/%2E%2E/k%20x%2B+$");
  expect_canonical_uri(&f.params, "", "/");
  const char *unsendable[] = {"/b/a b",          "/b/100%",   "/b/%zz",
                              "/b/\xe1\x88\xb4", "/b/k#frag", "/b/k?q",
                              "/b/a\"b"};
  for (size_t i = 0; i < sizeof unsendable / sizeof unsendable[0]; i++)
    ck_assert_msg(sign_path(&f.params, unsendable[i]) == PL_EINVAL, "'%s'",
                  unsendable[i]);
  f.params.service = "sqs";
  f.params.normalize_path = true;
  f.params.double_encode_path = true;
  expect_canonical_uri(&f.params, "/123456789012/my-queue",
                       "/123456789012/my-queue");
  expect_canonical_uri(&f.params, "/a%20b", "/a%2520b");
  expect_canonical_uri(&f.params, "/a/b/../../..", "/");
  /* ".." first, before anything was written (it crashed). */
  expect_canonical_uri(&f.params, "/..", "/");
  expect_canonical_uri(&f.params, "/../x/", "/x/");
  expect_canonical_uri(&f.params, "/a/./b//c/", "/a/b/c/");
  expect_canonical_uri(&f.params, NULL, "/");
}
END_TEST

/* Streamed S3 uploads: the body is not hashed and the header says so. */
START_TEST(test_unsigned_payload) {
  s3_fixture_t f;
  s3_init(&f);
  const pl_http_header_t headers[] = {
      {"Host", "examplebucket.s3.amazonaws.com"}};
  pl_aws_sigv4_request_t req = {.method = "PUT",
                                .path = "/big.bin",
                                .headers = headers,
                                .header_count = 1,
                                .body = "ignored",
                                .body_len = 7,
                                .payload_hash = PL_AWS_UNSIGNED_PAYLOAD};
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_str_eq(find_header(&out, "x-amz-content-sha256"),
                   "UNSIGNED-PAYLOAD");
  size_t len = strlen(out.canonical_request);
  ck_assert_str_eq(out.canonical_request + len - 17, "\nUNSIGNED-PAYLOAD");
  ck_assert_ptr_nonnull(
      strstr(out.canonical_request, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
  pl__aws_sigv4_output_close(&out);
}
END_TEST

/* Which of the caller's headers are signed: every one but the hop-by-hop
 * and rewritten ones, whatever their case; names that only begin like
 * one of those (hostname, expected, and a longer one that begins like
 * x-amz-date) are signed, and so are long names, and
 * x-amz-content-sha256 when the signer does not add it itself (SQS).
 * Repeated names are joined with ',' in the caller's order. Seventeen
 * entries: more than the signer keeps on its stack. */
START_TEST(test_signed_header_names) {
  s3_fixture_t f;
  s3_init(&f);
  f.params.service = "sqs";
  f.params.add_content_sha256 = false;
  f.params.keep_intermediates = true;
  const pl_http_header_t headers[] = {
      {"Host", "sqs.us-east-1.amazonaws.com"},
      {"CONNECTION", "keep-alive"},
      {"Expect", "100-continue"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "h2c"},
      {"user-agent", "pipelined/1.0"},
      {"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"},
      {"Hostname", "h"},
      {"Expected", "e"},
      {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
      {"X-A-Header-Name-Of-More-Than-31-Bytes", "long"},
      {"X-Amz-Date-And-More-To-Be-31-By", "31"},
      {"X-A-Header-Name-Of-Exactly-32-By", "32"},
      {"X-Twice", "first"},
      {"Content-Type", "application/x-amz-json-1.0"},
      {"x-twice", "second"}};
  pl_aws_sigv4_request_t req = {.method = "POST",
                                .path = "/",
                                .headers = headers,
                                .header_count =
                                    sizeof headers / sizeof headers[0]};
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_ptr_nonnull(
      strstr(find_header(&out, "Authorization"),
             "SignedHeaders=content-type;expected;host;hostname;"
             "x-a-header-name-of-exactly-32-by;"
             "x-a-header-name-of-more-than-31-bytes;x-amz-content-sha256;"
             "x-amz-date;x-amz-date-and-more-to-be-31-by;x-twice, "));
  ck_assert_ptr_nonnull(
      strstr(out.canonical_request, "\nx-twice:first,second\n"));
  ck_assert_ptr_nonnull(strstr(out.canonical_request, "\nhostname:h\n"));
  pl__aws_sigv4_output_close(&out);
}
END_TEST

/* Temporary credentials: the token is sent and signed (or only sent), and
 * User-Agent is sent but never signed. */
START_TEST(test_session_token_and_unsigned_headers) {
  s3_fixture_t f;
  s3_init(&f);
  f.credentials.session_token = "FQoGZXIvYXdz+token/==";
  f.params.service = "sqs";
  f.params.add_content_sha256 = false;
  const pl_http_header_t headers[] = {
      {"Host", "sqs.us-east-1.amazonaws.com"},
      {"User-Agent", "pipelined/1.0"},
      {"Content-Type", "application/x-amz-json-1.0"}};
  pl_aws_sigv4_request_t req = {
      .method = "POST", .path = "/", .headers = headers, .header_count = 3};
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_uint_eq(out.header_count, 3);
  ck_assert_str_eq(out.headers[0].name, "X-Amz-Security-Token");
  ck_assert_str_eq(out.headers[0].value, "FQoGZXIvYXdz+token/==");
  ck_assert_ptr_nonnull(strstr(
      out.headers[2].value,
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"));
  char signed_with[65];
  memcpy(signed_with, out.signature, sizeof signed_with);
  pl__aws_sigv4_output_close(&out);

  f.params.omit_session_token = true;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
  ck_assert_str_eq(out.headers[0].value, "FQoGZXIvYXdz+token/==");
  ck_assert_ptr_nonnull(strstr(out.headers[2].value,
                               "SignedHeaders=content-type;host;x-amz-date,"));
  ck_assert_str_ne(out.signature, signed_with);
  pl__aws_sigv4_output_close(&out);
}
END_TEST

START_TEST(test_dates) {
  s3_fixture_t f;
  s3_init(&f);
  const pl_http_header_t host = {"Host", "example.amazonaws.com"};
  pl_aws_sigv4_request_t req = {
      .method = "GET", .path = "/", .headers = &host, .header_count = 1};
  struct {
    int64_t time;
    const char *date;
  } cases[] = {
      {0, "19700101T000000Z"},
      {INT64_C(951782400), "20000229T000000Z"},
      {INT64_C(1709251199), "20240229T235959Z"},
      {INT64_C(253402300799), "99991231T235959Z"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    f.params.time = cases[i].time;
    pl_aws_sigv4_output_t out;
    ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), 0);
    ck_assert_str_eq(find_header(&out, "X-Amz-Date"), cases[i].date);
    pl__aws_sigv4_output_close(&out);
  }
  pl_aws_sigv4_output_t out;
  f.params.time = -1;
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), PL_ERANGE);
  f.params.time = INT64_C(253402300800);
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), PL_ERANGE);
}
END_TEST

/* The signature of the GetObject example with `params`. */
static void sign_get(const pl_aws_sigv4_params_t *params, char out_sig[65]) {
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(params, &get_object, &out), 0);
  memcpy(out_sig, out.signature, 65);
  pl__aws_sigv4_output_close(&out);
}

START_TEST(test_key_cache) {
  s3_fixture_t f;
  s3_init(&f);
  const char *expected =
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
  pl_aws_sigv4_key_cache_t cache = {0};
  f.params.key_cache = &cache;
  char sig[65];
  /* The first signature derives the key and keeps it. */
  sign_get(&f.params, sig);
  ck_assert_str_eq(sig, expected);
  ck_assert(cache.valid);
  ck_assert_ptr_nonnull(cache.hasher); /* the hasher made that signature */
  ck_assert_str_eq(cache.date8, "20130524");
  ck_assert_str_eq(cache.region, "us-east-1");
  ck_assert_str_eq(cache.service, "s3");
  /* Later in the same day the kept key signs: spoil it, and the signature
   * shows it was used. */
  f.params.time = S3_TIME + 3600;
  unsigned char kept[32];
  memcpy(kept, cache.key, sizeof kept);
  cache.key[0] ^= 1;
  sign_get(&f.params, sig);
  ck_assert_str_ne(sig, expected);
  memcpy(cache.key, kept, sizeof kept);
  /* Another secret, region, service or day derives the key again: the
   * signature is the one of a signer without a cache. */
  pl_aws_sigv4_params_t plain = f.params;
  plain.key_cache = NULL;
  char want[65];
  f.credentials.secret_access_key = "another-secret";
  cache.key[0] ^= 1;
  sign_get(&plain, want);
  sign_get(&f.params, sig);
  ck_assert_str_eq(sig, want);
  const char *regions[] = {"eu-west-1", "us-east-1"};
  for (size_t i = 0; i < 2; i++) {
    f.params.region = plain.region = regions[i];
    cache.key[0] ^= 1;
    sign_get(&plain, want);
    sign_get(&f.params, sig);
    ck_assert_str_eq(sig, want);
  }
  f.params.service = plain.service = "sqs";
  cache.key[0] ^= 1;
  sign_get(&plain, want);
  sign_get(&f.params, sig);
  ck_assert_str_eq(sig, want);
  f.params.time = plain.time = S3_TIME + 86400;
  cache.key[0] ^= 1;
  sign_get(&plain, want);
  sign_get(&f.params, sig);
  ck_assert_str_eq(sig, want);
  ck_assert_str_eq(cache.date8, "20130525");
  ck_assert_str_eq(cache.secret, "another-secret");
  pl__aws_sigv4_key_cache_close(&cache);
  ck_assert(!cache.valid);
  ck_assert_ptr_null(cache.secret);
  /* A closed cache is empty and still usable. */
  sign_get(&f.params, sig);
  ck_assert_str_eq(sig, want);
  pl__aws_sigv4_key_cache_close(&cache);
}
END_TEST

/* True when `needle` is anywhere in the `cap` bytes of `buf`'s room. */
static bool room_holds(const pl_buf_t *buf, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; buf->data && i + n <= buf->cap; i++)
    if (memcmp(buf->data + i, needle, n) == 0)
      return true;
  return false;
}

/* The cache keeps the working texts between signatures: a long request
 * then a short one sign as a signer without a cache signs them (nothing of
 * the first is left in the second), the texts are empty after each
 * signature and keep their room, and a session token that went into them
 * is wiped from the whole room. */
START_TEST(test_scratch_is_reused_emptied_and_wiped) {
  s3_fixture_t f;
  s3_init(&f);
  pl_aws_sigv4_key_cache_t cache = {0};
  pl_aws_sigv4_params_t plain = f.params;
  f.params.keep_intermediates = plain.keep_intermediates = true;
  f.params.key_cache = &cache;
  const pl_http_header_t long_headers[] = {
      {"Host", "examplebucket.s3.amazonaws.com"},
      {"X-Amz-Meta-Note", "a long value, longer than the short request's "
                          "canonical request as a whole, to be left behind"},
  };
  pl_aws_sigv4_request_t long_req = {.method = "PUT",
                                     .path = "/a/longer/path/to/an/object.txt",
                                     .query = "partNumber=1&uploadId=abc",
                                     .headers = long_headers,
                                     .header_count = 2,
                                     .body = "a body",
                                     .body_len = 6};
  const pl_aws_sigv4_request_t *reqs[] = {&long_req, &get_object, &long_req,
                                          &get_object};
  for (size_t i = 0; i < 4; i++) {
    f.credentials.session_token = i < 2 ? NULL : "FQoGZXIvYXdz+token/==";
    pl_aws_sigv4_output_t mine, theirs;
    ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, reqs[i], &mine), 0);
    ck_assert_int_eq(pl__aws_sigv4_sign(&plain, reqs[i], &theirs), 0);
    ck_assert_str_eq(mine.signature, theirs.signature);
    ck_assert_str_eq(mine.canonical_request, theirs.canonical_request);
    ck_assert_str_eq(mine.string_to_sign, theirs.string_to_sign);
    pl__aws_sigv4_output_close(&mine);
    pl__aws_sigv4_output_close(&theirs);
    const pl_buf_t *texts[] = {&cache.scratch.creq, &cache.scratch.lines,
                               &cache.scratch.sts, &cache.scratch.query,
                               &cache.scratch.headers};
    for (size_t t = 0; t < 5; t++)
      ck_assert_uint_eq(texts[t]->len, 0);
    ck_assert_uint_ge(cache.scratch.creq.cap, 1024);
    /* A query went in (the caller's text): wiped too. */
    if (i == 0)
      ck_assert(!room_holds(&cache.scratch.query, "uploadId") &&
                !room_holds(&cache.scratch.creq, "uploadId"));
    /* No token (and no query in the short request): kept as written. */
    if (i == 1)
      ck_assert(room_holds(&cache.scratch.creq, "/test.txt"));
    /* A token went in: wiped, with everything else in the room. */
    if (i >= 2) {
      ck_assert(!room_holds(&cache.scratch.creq, "FQoGZXIvYXdz"));
      ck_assert(!room_holds(&cache.scratch.lines, "FQoGZXIvYXdz"));
      ck_assert(!room_holds(&cache.scratch.headers, "FQoGZXIvYXdz"));
      ck_assert(!room_holds(&cache.scratch.creq, "/test.txt"));
    }
  }
  pl__aws_sigv4_key_cache_close(&cache);
  ck_assert_ptr_null(cache.scratch.creq.data);
}
END_TEST

/* Signs `req` with `params` (whose key cache, fresh, is `cache`) and
 * asserts that the canonical request stays within the room the request
 * has with `token`, and that each text a secret goes into ends with
 * exactly the capacity that room gives an empty buffer: it never grew
 * (growth would at least double it). Returns the canonical request's
 * length; the room goes to *room. */
static size_t sign_within_room(const pl_aws_sigv4_params_t *params,
                               const pl_aws_sigv4_key_cache_t *cache,
                               const pl_aws_sigv4_request_t *req,
                               const char *token, size_t *room) {
  ck_assert_int_eq(pl__aws_sigv4_canon_room(req, token, room), 0);
  pl_buf_t probe = {0};
  ck_assert_int_eq(pl_buf_reserve(&probe, *room), 0);
  pl_aws_sigv4_output_t out;
  ck_assert_int_eq(pl__aws_sigv4_sign(params, req, &out), 0);
  size_t len = strlen(out.canonical_request);
  ck_assert_uint_le(len, *room);
  const pl_buf_t *texts[] = {&cache->scratch.creq, &cache->scratch.lines,
                             &cache->scratch.query, &cache->scratch.headers};
  for (size_t t = 0; t < 4; t++)
    ck_assert_uint_eq(texts[t]->cap, probe.cap);
  pl__aws_sigv4_output_close(&out);
  pl_buf_free(&probe);
  return len;
}

/* With a session token, the texts it goes into get their room before
 * anything is written, and never move: a buffer that grew while it held
 * the token would leave the old copy freed unwiped. The request is made to
 * take as much room as it can (every byte of the path and the query is
 * escaped, each pair of the query is one byte, values fill the lines) and
 * has more headers than the signer keeps on its stack; each text ends with
 * exactly the capacity the room gives an empty buffer (growth would at
 * least double it), and the canonical request stays within the room. */
START_TEST(test_secret_texts_never_move) {
  s3_fixture_t f;
  s3_init(&f);
  f.params.service = "sqs";
  f.params.double_encode_path = true;
  f.params.add_content_sha256 = false;
  f.credentials.session_token = "FQoGZXIvYXdz+token/==";
  pl_aws_sigv4_key_cache_t cache = {0};
  f.params.key_cache = &cache;
  char path[401] = "/";
  memset(path + 1, ' ', sizeof path - 2);
  path[sizeof path - 1] = '\0';
  char query[601];
  for (size_t i = 0; i + 1 < sizeof query; i++)
    query[i] = i % 2 ? '&' : '\x01';
  query[sizeof query - 1] = '\0';
  char value[201];
  memset(value, 'v', sizeof value - 1);
  value[sizeof value - 1] = '\0';
  pl_http_header_t headers[20] = {{"Host", "sqs.us-east-1.amazonaws.com"}};
  char names[19][8];
  for (size_t i = 1; i < 20; i++) {
    snprintf(names[i - 1], sizeof names[i - 1], "X-H%zu", i);
    headers[i] = (pl_http_header_t){names[i - 1], value};
  }
  pl_aws_sigv4_request_t req = {.method = "POST",
                                .path = path,
                                .query = query,
                                .headers = headers,
                                .header_count = 20};
  size_t room = 0;
  size_t len = sign_within_room(&f.params, &cache, &req,
                                f.credentials.session_token, &room);
  ck_assert_uint_gt(len, room / 2);
  ck_assert(!room_holds(&cache.scratch.lines, "FQoGZXIvYXdz"));
  pl__aws_sigv4_key_cache_close(&cache);
}
END_TEST

/* The caller's payload hash, of any length the signer takes, counts in
 * the room too: it goes into the canonical request, and with
 * x-amz-content-sha256 into the header texts after the token. */
START_TEST(test_a_long_payload_hash_stays_within_the_room) {
  s3_fixture_t f;
  s3_init(&f);
  f.credentials.session_token = "FQoGZXIvYXdz+token/==";
  pl_aws_sigv4_key_cache_t cache = {0};
  f.params.key_cache = &cache;
  static char hash[4001];
  memset(hash, 'h', sizeof hash - 1);
  const pl_http_header_t headers[] = {{"Host", "b.s3.amazonaws.com"}};
  pl_aws_sigv4_request_t req = {.method = "PUT",
                                .path = "/k",
                                .headers = headers,
                                .header_count = 1,
                                .payload_hash = hash};
  size_t room = 0;
  sign_within_room(&f.params, &cache, &req, f.credentials.session_token, &room);
  pl__aws_sigv4_key_cache_close(&cache);
}
END_TEST

/* A hasher gives the digests and HMACs of the one-shot functions, for
 * empty and long inputs, keys longer than a SHA-256 block, and any order
 * of calls (the HMAC is keyed again each time, or restarted for the key
 * it already holds). RFC 4231 case 2 and the
 * SHA-256 of "abc" pin both to known values. */
START_TEST(test_hasher) {
  pl_aws_hasher_t *hasher = NULL;
  ck_assert_int_eq(pl__aws_hasher_new(&hasher), 0);
  char big[3000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)('a' + i % 26);
  const size_t lens[] = {0, 1, 3, 55, 64, 65, sizeof big};
  char want[PL_AWS_SHA256_HEX_LEN], got[PL_AWS_SHA256_HEX_LEN];
  unsigned char mac_want[PL_AWS_SHA256_LEN], mac_got[PL_AWS_SHA256_LEN];
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
      ck_assert_int_eq(pl__aws_sha256_hex(big, lens[i], want), 0);
      ck_assert_int_eq(pl__aws_hasher_sha256_hex(hasher, big, lens[i], got), 0);
      ck_assert_str_eq(got, want);
      for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        size_t key_len = lens[k] > 200 ? 200 : lens[k];
        const char *key = big + 7;
        ck_assert_int_eq(
            pl__aws_hmac_sha256(key, key_len, big, lens[i], mac_want), 0);
        ck_assert_int_eq(
            pl__aws_hasher_hmac(hasher, key, key_len, big, lens[i], mac_got),
            0);
        ck_assert_mem_eq(mac_got, mac_want, sizeof mac_want);
      }
    }
  }
  /* The same key again and again (a signer's signing key, which the
   * hasher keeps prepared), a key of the same length that differs in its
   * last byte, and back: each HMAC is that of its own key. */
  char key[PL_AWS_SHA256_LEN];
  memcpy(key, big, sizeof key);
  for (size_t call = 0; call < 12; call++) {
    size_t key_len = call % 6 == 5 ? 0 : sizeof key;
    key[sizeof key - 1] = (char)(call % 4 == 3 ? 'Z' : 'a');
    size_t len = (call * 37) % sizeof big;
    ck_assert_int_eq(pl__aws_hmac_sha256(key, key_len, big, len, mac_want), 0);
    ck_assert_int_eq(
        pl__aws_hasher_hmac(hasher, key, key_len, big, len, mac_got), 0);
    ck_assert_msg(memcmp(mac_got, mac_want, sizeof mac_want) == 0,
                  "HMAC %zu differs", call);
  }
  ck_assert_int_eq(pl__aws_hasher_sha256_hex(hasher, "abc", 3, got), 0);
  ck_assert_str_eq(
      got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ck_assert_int_eq(pl__aws_hasher_hmac(hasher, "Jefe", 4,
                                       "what do ya want for nothing?", 28,
                                       mac_got),
                   0);
  pl__aws_hex(mac_got, sizeof mac_got, got);
  ck_assert_str_eq(
      got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  pl__aws_hasher_free(hasher);
  pl__aws_hasher_free(NULL);
}
END_TEST

static int sign_with_headers(const pl_aws_sigv4_params_t *params,
                             const pl_http_header_t *headers, size_t n) {
  pl_aws_sigv4_request_t req = {
      .method = "GET", .path = "/", .headers = headers, .header_count = n};
  pl_aws_sigv4_output_t out;
  int rc = pl__aws_sigv4_sign(params, &req, &out);
  if (rc < 0) {
    /* A failed call leaves nothing to free. */
    ck_assert_uint_eq(out.header_count, 0);
    ck_assert_ptr_null(out.canonical_request);
  }
  pl__aws_sigv4_output_close(&out);
  return rc;
}

START_TEST(test_refusals) {
  s3_fixture_t f;
  s3_init(&f);
  const pl_http_header_t none[] = {{"Accept", "*/*"}};
  ck_assert_int_eq(sign_with_headers(&f.params, none, 1), PL_EINVAL);
  const char *added[] = {"Authorization", "x-amz-date", "X-Amz-Security-Token",
                         "X-Amz-Content-SHA256"};
  for (size_t i = 0; i < 4; i++) {
    const pl_http_header_t h[] = {{"Host", "h"}, {added[i], "x"}};
    ck_assert_int_eq(sign_with_headers(&f.params, h, 2), PL_EINVAL);
  }
  const pl_http_header_t bad_name[] = {{"Host", "h"}, {"Bad Name", "x"}};
  ck_assert_int_eq(sign_with_headers(&f.params, bad_name, 2), PL_EINVAL);
  const pl_http_header_t host[] = {{"Host", "h"}};
  ck_assert_int_eq(sign_with_headers(&f.params, host, 1), 0);
  /* Counts no array holds, which the three entries the signer adds would
   * wrap around to a few: refused before a header is read. */
  const size_t absurd[] = {SIZE_MAX - 2, SIZE_MAX - 1, SIZE_MAX};
  for (size_t i = 0; i < sizeof absurd / sizeof *absurd; i++)
    ck_assert_int_eq(sign_with_headers(&f.params, host, absurd[i]), PL_EINVAL);

  s3_fixture_t g = f;
  g.params.credentials = &g.credentials;
  g.params.region = "us/east";
  ck_assert_int_eq(sign_with_headers(&g.params, host, 1), PL_EINVAL);
  g.params.region = "us-east-1";
  g.credentials.secret_access_key = "";
  ck_assert_int_eq(sign_with_headers(&g.params, host, 1), PL_EINVAL);
  g.credentials.secret_access_key = S3_SECRET;
  g.credentials.session_token = "tok\r\nX-Injected: 1";
  ck_assert_int_eq(sign_with_headers(&g.params, host, 1), PL_EINVAL);

  pl_aws_sigv4_output_t out;
  pl_aws_sigv4_request_t req = {
      .method = "GET", .path = "relative", .headers = host, .header_count = 1};
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), PL_EINVAL);
  req.path = "/";
  req.payload_hash = "abc\r\n";
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, &out), PL_EINVAL);
  req.payload_hash = NULL;
  ck_assert_int_eq(pl__aws_sigv4_sign(NULL, &req, &out), PL_EINVAL);
  ck_assert_int_eq(pl__aws_sigv4_sign(&f.params, &req, NULL), PL_EINVAL);
  pl__aws_sigv4_output_close(NULL);
}
END_TEST

static Suite *sigv4_suite(size_t cases) {
  Suite *s = suite_create("sigv4");
  TCase *tc = tcase_create("aws-test-suite");
  tcase_add_test(tc, test_suite_present);
  tcase_add_loop_test(tc, test_suite_header, 0, (int)cases);
  suite_add_tcase(s, tc);
  tc = tcase_create("units");
  tcase_add_test(tc, test_uri_encode);
  tcase_add_test(tc, test_s3_get_object);
  tcase_add_test(tc, test_s3_put_object);
  tcase_add_test(tc, test_s3_queries);
  tcase_add_test(tc, test_path_rules);
  tcase_add_test(tc, test_unsigned_payload);
  tcase_add_test(tc, test_session_token_and_unsigned_headers);
  tcase_add_test(tc, test_signed_header_names);
  tcase_add_test(tc, test_dates);
  tcase_add_test(tc, test_key_cache);
  tcase_add_test(tc, test_secret_texts_never_move);
  tcase_add_test(tc, test_a_long_payload_hash_stays_within_the_room);
  tcase_add_test(tc, test_scratch_is_reused_emptied_and_wiped);
  tcase_add_test(tc, test_hasher);
  tcase_add_test(tc, test_refusals);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* Each loop iteration lists the folders again and takes the _i-th (no
   * globals); the count here only sizes the loops. */
  size_t cases;
  char **names = list_cases(&cases);
  free_cases(names, cases);
  return test_suite_run(sigv4_suite(cases));
}
