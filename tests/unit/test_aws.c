/* The AWS plugins' test fixture. */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "test_aws.h"

typedef struct env_entry {
  const char *name;
  const char *value;
} env_entry_t;

static const env_entry_t test_env[] = {
    {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
    {"AWS_SECRET_ACCESS_KEY", "sekrit-do-not-log"},
    {"AWS_REGION", "us-east-1"},
    {"AWS_EC2_METADATA_DISABLED", "true"},
    {NULL, NULL},
};

static const char *lookup(void *data, const char *name) {
  for (const env_entry_t *e = data; e->name; e++)
    if (strcmp(e->name, name) == 0)
      return e->value;
  return NULL;
}

test_aws_t *test_aws_create(const pl_plugin_t *const *extra) {
  test_aws_t *aws = calloc(1, sizeof(*aws));
  ck_assert_ptr_nonnull(aws);
  aws->env = (pl_env_t){lookup, (void *)test_env};
  aws->run = test_run_create(extra);
  ck_assert_int_eq(fake_http_start(&aws->run->loop, &aws->server), 0);
  return aws;
}

int test_aws_start(test_aws_t *aws, const char *config, bool once) {
  return test_run_configure(aws->run, config, once, &aws->env);
}

void test_aws_run(test_aws_t *aws) {
  test_run_t *run = aws->run;
  while (run->engine && !run->engine->closing)
    uv_run(&run->loop, UV_RUN_ONCE);
  if (run->engine)
    run->status = pl__engine_status(run->engine);
}

test_source_t *test_aws_source(test_aws_t *aws) {
  return test_ctx(aws->run, "p", PL_ROLE_SOURCE);
}

test_sink_t *test_aws_dead_letter(test_aws_t *aws) {
  return test_ctx(aws->run, "p", PL_ROLE_DEAD_LETTER);
}

pl_instance_t *test_aws_sink(test_aws_t *aws) {
  pl_instance_t *inst = test_stage(aws->run, "p", PL_ROLE_SINK);
  ck_assert_ptr_nonnull(inst);
  return inst;
}

uint64_t test_aws_counter(test_aws_t *aws, const char *name) {
  return pl_instance_counter(test_aws_sink(aws), name);
}

void test_aws_assert_clean(test_aws_t *aws) {
  ck_assert_msg(aws->run->status == 0, "%s", test_log(aws->run));
}

void test_aws_free(test_aws_t *aws) {
  fake_http_close(aws->server);
  uv_run(&aws->run->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(test_run_free(aws->run), 0);
  free(aws);
}

/* ---- Helpers of the AWS plugins' suites ---- */

char *test_aws_format(const char *fmt, ...) {
  pl_buf_t buf = {0};
  va_list ap;
  va_start(ap, fmt);
  ck_assert_int_eq(pl_buf_vprintf(&buf, fmt, ap), 0);
  va_end(ap);
  return buf.data;
}

void test_aws_append_records(pl_buf_t *out, const char *const *records,
                             size_t count) {
  for (size_t i = 0; i < count; i++) {
    pl_buf_append_str(out, i ? ", \"" : "\"");
    for (const char *c = records[i]; *c; c++) {
      if (*c == '"' || *c == '\\')
        pl_buf_append(out, "\\", 1);
      pl_buf_append(out, c, 1);
    }
    pl_buf_append(out, "\"", 1);
  }
}

void test_aws_run_config(test_aws_t *aws, const char *config) {
  int rc = test_aws_start(aws, config, true);
  ck_assert_msg(rc == 0, "%s", aws->run->errors.data);
  test_aws_run(aws);
}

void test_aws_push_json(test_aws_t *aws, int status, const char *headers,
                        const char *body) {
  fake_http_push(aws->server, &(fake_http_response_t){
                                  .status = status,
                                  .headers = headers,
                                  .body = body,
                              });
}

json_t *test_aws_request_body(test_aws_t *aws, size_t i) {
  ck_assert_uint_gt(fake_http_request_count(aws->server), i);
  json_t *body = pl_test_http_request_json(aws->server, i);
  ck_assert_msg(body != NULL, "request %zu: the body is not JSON", i);
  return body;
}
