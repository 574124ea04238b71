/* sink-http through the pipelined test harness (<pipelined/testing.h>)
 * against its scripted loopback HTTP server. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/testing.h>

extern const pl_plugin_t pipelined_plugin;

typedef struct fixture {
  pl_test_t *t;
  pl_test_http_t *server;
} fixture_t;

/* A harness whose sink posts to the server's /ingest, retrying at once. */
static fixture_t fixture(const char *extra) {
  fixture_t f = {0};
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &f.t), 0);
  ck_assert_int_eq(pl_test_http_start(pl_test_loop(f.t), &f.server), 0);
  char options[512];
  snprintf(options, sizeof(options),
           "url = \"%s/ingest\"\nretry_backoff = \"1ms\"\n"
           "retry_backoff_max = \"2ms\"\nlinger = \"0\"\n%s",
           pl_test_http_url(f.server), extra);
  pl_test_set_options(f.t, options);
  pl_test_feed_record(f.t, "{\"a\": 1}");
  pl_test_feed_record(f.t, "{\"b\": \"two\"}");
  return f;
}

static void fixture_free(fixture_t *f) {
  pl_test_http_close(f->server);
  ck_assert_int_eq(pl_test_destroy(f->t), 0);
}

static void run(fixture_t *f) {
  int rc = pl_test_run(f->t, 10000);
  ck_assert_msg(rc == 0, "%s%s", pl_test_errors(f->t), pl_test_log(f->t));
}

static void assert_body(fixture_t *f, size_t i) {
  const pl_test_http_request_t *req = pl_test_http_request(f->server, i);
  ck_assert_ptr_nonnull(req);
  ck_assert_str_eq(req->method, "POST");
  ck_assert_str_eq(req->path, "/ingest");
  ck_assert_str_eq(req->body, "[{\"a\":1},{\"b\":\"two\"}]");
  char *type = pl_test_http_request_header(req, "Content-Type");
  ck_assert_str_eq(type, "application/json");
  free(type);
}

START_TEST(a_2xx_delivers_the_batch) {
  fixture_t f = fixture("");
  pl_test_http_push_status(f.server, 200, "ok", 1);
  run(&f);
  ck_assert_int_eq(pl_test_status(f.t), 0);
  ck_assert_uint_eq(pl_test_http_request_count(f.server), 1);
  assert_body(&f, 0);
  ck_assert_uint_eq(pl_test_committed(f.t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f.t), 0);
  ck_assert_uint_eq(pl_test_counter(f.t, "requests"), 1);
  ck_assert_uint_eq(pl_test_counter(f.t, "http_errors"), 0);
  fixture_free(&f);
}
END_TEST

START_TEST(a_5xx_is_retried_and_the_batch_delivered_once) {
  fixture_t f = fixture("");
  pl_test_http_push_status(f.server, 500, "busy", 1);
  pl_test_http_push_status(f.server, 204, NULL, 1);
  run(&f);
  ck_assert_int_eq(pl_test_status(f.t), 0);
  ck_assert_uint_eq(pl_test_http_request_count(f.server), 2);
  assert_body(&f, 0);
  assert_body(&f, 1);
  ck_assert_uint_eq(pl_test_committed(f.t), 1);
  ck_assert_uint_eq(pl_test_failed(f.t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(f.t), 0);
  ck_assert_uint_eq(pl_test_counter(f.t, "http_errors"), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f.t), "HTTP 500: busy"));
  fixture_free(&f);
}
END_TEST

START_TEST(a_4xx_dead_letters_the_records_with_the_status) {
  fixture_t f = fixture("");
  pl_test_http_push_status(f.server, 400, "bad input\nmore", 1);
  run(&f);
  ck_assert_uint_eq(pl_test_http_request_count(f.server), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f.t), 2);
  ck_assert_str_eq(pl_test_dead_letter_reason(f.t, 0), "HTTP 400: bad input");
  ck_assert_str_eq(pl_test_dead_letter_reason(f.t, 1), "HTTP 400: bad input");
  ck_assert_int_eq(
      json_integer_value(json_object_get(pl_test_dead_letter(f.t, 0), "a")), 1);
  /* Dead-lettered records are resolved: the group commits. */
  ck_assert_uint_eq(pl_test_committed(f.t), 1);
  fixture_free(&f);
}
END_TEST

START_TEST(a_connection_error_fails_once_the_retries_run_out) {
  fixture_t f = fixture("retry_limit = 1");
  /* The server answers nothing: it drops both attempts' connections. */
  pl_test_http_push(f.server, &(pl_test_http_response_t){.drop = true});
  pl_test_http_push(f.server, &(pl_test_http_response_t){.drop = true});
  ck_assert_int_eq(pl_test_run(f.t, 10000), 0);
  ck_assert_int_eq(pl_test_status(f.t), 1);
  ck_assert_uint_eq(pl_test_http_request_count(f.server), 2);
  ck_assert_uint_eq(pl_test_failed(f.t), 1);
  ck_assert_uint_eq(pl_test_committed(f.t), 0);
  ck_assert_uint_eq(pl_test_counter(f.t, "http_errors"), 2);
  fixture_free(&f);
}
END_TEST

START_TEST(a_slow_server_times_out) {
  fixture_t f = fixture("timeout = \"50ms\"\nretry_limit = 0");
  pl_test_http_push(f.server, &(pl_test_http_response_t){.hang = true});
  ck_assert_int_eq(pl_test_run(f.t, 10000), 0);
  ck_assert_uint_eq(pl_test_failed(f.t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f.t), "timed out"));
  fixture_free(&f);
}
END_TEST

START_TEST(only_plain_http_urls_are_accepted) {
  static const char *const bad[] = {"https://127.0.0.1/x", "http://",
                                    "http://[::1", "http://h:/x", "ftp://h/"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pl_test_t *t = NULL;
    ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
    char options[128];
    snprintf(options, sizeof(options), "url = \"%s\"", bad[i]);
    pl_test_set_options(t, options);
    ck_assert_int_lt(pl_test_run(t, 1000), 0);
    ck_assert_msg(strstr(pl_test_log(t), "https is not supported"), "%s",
                  bad[i]);
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink-http");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_2xx_delivers_the_batch);
  tcase_add_test(tc, a_5xx_is_retried_and_the_batch_delivered_once);
  tcase_add_test(tc, a_4xx_dead_letters_the_records_with_the_status);
  tcase_add_test(tc, a_connection_error_fails_once_the_retries_run_out);
  tcase_add_test(tc, a_slow_server_times_out);
  tcase_add_test(tc, only_plain_http_urls_are_accepted);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
