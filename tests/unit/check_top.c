/* Check suite for src/exposition.c and src/top.c: reading a scrape, the
 * rows of the view, rates between two scrapes, and a screen that fits 80
 * columns. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"
#include "test_suite.h"
#include "top.h"

START_TEST(samples_with_labels_escapes_and_timestamps_are_read) {
  static const char text[] =
      "# HELP x_total a counter\r\n"
      "# TYPE x_total counter\n"
      "x_total{a=\"1\",b=\"q\\\"uo\\\\te\\nnl\"} 42\n"
      "\n"
      "y 1.5e3 1700000000000\n"
      "z{} -2\n";
  pl_exposition_t e = {0};
  char *error = NULL;
  ck_assert_int_eq(pl__exposition_parse(text, strlen(text), &e, &error), 0);
  ck_assert_uint_eq(e.count, 3);
  ck_assert_str_eq(e.samples[0].name, "x_total");
  ck_assert_str_eq(pl__sample_label(&e.samples[0], "a"), "1");
  ck_assert_str_eq(pl__sample_label(&e.samples[0], "b"), "q\"uo\\te\nnl");
  ck_assert_ptr_null(pl__sample_label(&e.samples[0], "c"));
  ck_assert(e.samples[0].value == 42);
  ck_assert(e.samples[1].value == 1500);
  ck_assert_uint_eq(e.samples[2].label_count, 0);
  ck_assert(e.samples[2].value == -2);
  pl__exposition_free(&e);
}
END_TEST

START_TEST(a_line_that_is_not_a_sample_is_named) {
  static const char *const bad[] = {
      "x_total{a=\"1\" 3\n", "x_total{a=1} 3\n", "x_total\n",
      "x_total{a=\"1\"} many\n", "9lives 1\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pl_exposition_t e = {0};
    char *error = NULL;
    char text[128];
    snprintf(text, sizeof(text), "ok 1\n%s", bad[i]);
    ck_assert_int_eq(pl__exposition_parse(text, strlen(text), &e, &error),
                     PL_EPARSE);
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strncmp(error, "line 2 is not a sample: ", 24) == 0, "%s",
                  error);
    free(error);
    pl__exposition_free(&e);
  }
}
END_TEST

static const char scrape_1[] =
    "pipelined_records_in_total{pipeline=\"inv\",stage=\"source\",plugin="
    "\"source-file\"} 0\n"
    "pipelined_records_out_total{pipeline=\"inv\",stage=\"source\",plugin="
    "\"source-file\"} 100\n"
    "pipelined_records_in_total{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\"} 100\n"
    "pipelined_records_out_total{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\"} 90\n"
    "pipelined_rejected_total{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\",reason=\"too_large\"} 2\n"
    "pipelined_rejected_total{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\",reason=\"invalid\"} 3\n"
    "pipelined_queue_depth{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\"} 7\n"
    "pipelined_in_flight{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\"} 4\n"
    "pipelined_in_flight_limit{pipeline=\"inv\",stage=\"sink\",plugin="
    "\"sink-sqs\"} 64\n"
    "process_open_fds 12\n";

static void view_of(const char *text, pl_top_view_t *view) {
  pl_exposition_t e = {0};
  ck_assert_int_eq(pl__exposition_parse(text, strlen(text), &e, NULL), 0);
  ck_assert_int_eq(pl__top_view(&e, view), 0);
  pl__exposition_free(&e);
}

START_TEST(the_view_has_a_row_per_stage) {
  pl_top_view_t v = {0};
  view_of(scrape_1, &v);
  ck_assert_uint_eq(v.count, 2);
  ck_assert_str_eq(v.rows[0].stage, "source");
  ck_assert(v.rows[0].in_flight_limit < 0);
  ck_assert_str_eq(v.rows[1].plugin, "sink-sqs");
  ck_assert(v.rows[1].rejected == 5); /* the reasons add up */
  ck_assert(v.rows[1].in_flight_limit == 64);
  ck_assert(v.rows[1].queue_depth == 7);
  pl__top_view_free(&v);
}
END_TEST

/* Every line of `text` is at most 80 columns. */
static void assert_fits(const char *text) {
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    ck_assert_msg(len <= 80, "a line of %zu columns: %.*s", len, (int)len, p);
    p = nl ? nl + 1 : p + len;
  }
}

START_TEST(rates_come_from_two_scrapes_and_the_screen_fits) {
  pl_top_view_t before = {0}, after = {0};
  view_of(scrape_1, &before);
  view_of(scrape_1, &after);
  after.rows[1].records_out = 90 + 2 * 1234.5; /* over 2 s */
  after.rows[0].records_out = 50;              /* a restart: no rate */
  pl_buf_t screen = {0};
  pl__top_render(&before, &after, 2.0, "http://127.0.0.1:9100/metrics", NULL,
                 &screen);
  assert_fits(screen.data);
  ck_assert_ptr_nonnull(strstr(screen.data, "pipeline inv\n"));
  ck_assert_msg(strstr(screen.data, "  sink        sink-sqs               "
                                    "0    1.2k      7    4/64         5       "
                                    "0\n"),
                "%s", screen.data);
  ck_assert_msg(strstr(screen.data, "  source      source-file            "
                                    "0       -      0       -         0       "
                                    "0\n"),
                "%s", screen.data);
  pl_buf_free(&screen);
  /* Long names are cut with ~; an error is shown in the title. */
  free(after.rows[1].plugin);
  after.rows[1].plugin = strdup("sink-with-a-very-long-plugin-name");
  pl__top_render(NULL, &after, 0, "http://[::1]:9100/a/very/long/path/"
                 "that/goes/on/and/on/metrics", "connection refused",
                 &screen);
  assert_fits(screen.data);
  ck_assert_ptr_nonnull(strstr(screen.data, "sink-with-a-ver~"));
  ck_assert_ptr_nonnull(strstr(screen.data, "\nconnection refused\n"));
  pl_buf_free(&screen);
  pl__top_view_free(&before);
  pl__top_view_free(&after);
}
END_TEST

START_TEST(usage_errors_exit_2) {
  char *a[] = {"top", "--interval", "0", NULL};
  ck_assert_int_eq(pl__top_main(3, a), 2);
  char *b[] = {"top", "--url", "ftp://x", NULL};
  ck_assert_int_eq(pl__top_main(3, b), 2);
  char *c[] = {"top", "extra", NULL};
  ck_assert_int_eq(pl__top_main(2, c), 2);
}
END_TEST

START_TEST(an_unreachable_daemon_exits_1) {
  char *a[] = {"top", "--url", "127.0.0.1:1", "--iterations", "1", NULL};
  ck_assert_int_eq(pl__top_main(5, a), 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("top");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, samples_with_labels_escapes_and_timestamps_are_read);
  tcase_add_test(tc, a_line_that_is_not_a_sample_is_named);
  tcase_add_test(tc, the_view_has_a_row_per_stage);
  tcase_add_test(tc, rates_come_from_two_scrapes_and_the_screen_fits);
  tcase_add_test(tc, usage_errors_exit_2);
  tcase_add_test(tc, an_unreachable_daemon_exits_1);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
