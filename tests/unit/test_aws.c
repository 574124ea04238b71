/* The preflight suites' AWS fixture. */
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

char *test_aws_format(const char *fmt, ...) {
  pl_buf_t buf = {0};
  va_list ap;
  va_start(ap, fmt);
  ck_assert_int_eq(pl_buf_vprintf(&buf, fmt, ap), 0);
  va_end(ap);
  return buf.data;
}

void test_aws_free(test_aws_t *aws) {
  fake_http_close(aws->server);
  uv_run(&aws->run->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(test_run_free(aws->run), 0);
  free(aws);
}
