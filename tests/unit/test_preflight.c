/* The preflight suites' fixture. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_preflight.h"

char *test_preflight_config(test_aws_t *aws, const char *aws_extra,
                            const char *pipelines) {
  return test_aws_format("aws {\n  %s\n  endpoint = \"%s/sts\"\n"
                         "  max_attempts = 1\n}\n%s",
                         aws_extra ? aws_extra : "",
                         fake_http_url(aws->server), pipelines);
}

void test_preflight_push_identity(test_aws_t *aws) {
  fake_http_push(
      aws->server,
      &(fake_http_response_t){
          .method = "POST",
          .path_prefix = "/sts",
          .status = 200,
          .headers = "Content-Type: text/xml\r\n",
          .body = "<GetCallerIdentityResponse "
                  "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                  "<GetCallerIdentityResult>"
                  "<Arn>arn:aws:iam::111122223333:user/preflight</Arn>"
                  "<UserId>AIDAEXAMPLE</UserId>"
                  "<Account>111122223333</Account>"
                  "</GetCallerIdentityResult></GetCallerIdentityResponse>"});
}

void test_preflight_push_answer(test_aws_t *aws, const char *method,
                                int status, const char *body) {
  fake_http_push(aws->server, &(fake_http_response_t){.method = method,
                                                      .path_prefix = "/",
                                                      .status = status,
                                                      .body = body});
}

bool test_preflight_asked(test_aws_t *aws, const char *target, char **body) {
  for (size_t i = 0; i < fake_http_request_count(aws->server); i++) {
    const fake_http_request_t *r = fake_http_request(aws->server, i);
    char *value = fake_http_request_header(r, "X-Amz-Target");
    bool match = value && strcmp(value, target) == 0;
    free(value);
    if (match) {
      if (body)
        *body = strdup(r->body);
      return true;
    }
  }
  return false;
}

test_report_t test_preflight_run(test_aws_t *aws, const char *config,
                                 bool strict) {
  test_run_t *run = aws->run;
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse("test.conf", config, strlen(config), &aws->env,
                         &root, &error);
  ck_assert_msg(rc == 0, "%s", error ? error : "parse error");
  pl_engine_params_t params = {.loop = &run->loop,
                               .registry = run->registry,
                               .log_stream = run->log,
                               .env = &aws->env};
  rc = pl__engine_create(&params, root, &run->engine, &run->errors);
  pl__cfg_destroy(root);
  ck_assert_msg(rc == 0, "%s", run->errors.data ? run->errors.data : "");
  pl_preflight_run_t *checks = NULL;
  ck_assert_int_eq(pl__preflight_start(run->engine, strict, &checks), 0);
  while (!pl__preflight_over(checks))
    uv_run(&run->loop, UV_RUN_ONCE);
  test_report_t report = {0};
  size_t len = 0;
  FILE *out = open_memstream(&report.text, &len);
  ck_assert_ptr_nonnull(out);
  report.status = pl__preflight_finish(checks, out);
  fclose(out);
  return report;
}

test_aws_t *test_preflight_fixture(const pl_plugin_t *plugin) {
  const pl_plugin_t *const plugins[] = {plugin, NULL};
  test_aws_t *aws = test_aws_create(plugins);
  test_preflight_push_identity(aws);
  return aws;
}

test_report_t test_preflight_run_pipelines(test_aws_t *aws,
                                           const char *pipelines,
                                           bool strict) {
  char *config =
      test_preflight_config(aws, "region = \"eu-west-1\"", pipelines);
  test_report_t report = test_preflight_run(aws, config, strict);
  free(config);
  return report;
}

void test_report_has(const test_report_t *report, const char *line) {
  size_t len = strlen(line);
  for (const char *at = report->text; at && *at;) {
    if (strncmp(at, line, len) == 0)
      return;
    const char *end = strchr(at, '\n');
    at = end ? end + 1 : NULL;
  }
  ck_abort_msg("no line starts with \"%s\" in:\n%s", line, report->text);
}

void test_report_lacks(const test_report_t *report, const char *text) {
  ck_assert_msg(!strstr(report->text, text), "\"%s\" in:\n%s", text,
                report->text);
}

void test_preflight_end(test_report_t *report, test_aws_t *aws, int status) {
  ck_assert_msg(report->status == status, "exit status %d, not %d:\n%s",
                report->status, status, report->text);
  test_report_free(report);
  test_aws_free(aws);
}

void test_report_free(test_report_t *report) {
  free(report->text);
  report->text = NULL;
}
