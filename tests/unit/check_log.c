/* Check suite for src/log.c: the text and JSON line formats, the level
 * filter, and control bytes from outside text escaped in text lines; and
 * for src/complain.c, the limiter of repeating failures, on a clock the
 * test sets. */
#include "complain.h"
#include "log.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* What `fmt` with `arg` writes at `level` through a logger of `format`
 * whose level is `threshold`: a new string. */
static char *logged(pl_log_format_t format, pl_log_level_t threshold,
                    pl_log_level_t level, const char *fmt, const char *arg) {
  char *text = NULL;
  size_t len = 0;
  FILE *stream = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(stream);
  pl_logger_t log = {.stream = stream, .level = threshold, .format = format};
  pl__log(&log, level, fmt, arg);
  fclose(stream);
  return text;
}

START_TEST(text_lines_have_time_level_and_message) {
  char *line = logged(PL_LOG_TEXT, PL_LOG_INFO, PL_LOG_WARN, "disk %s", "full");
  /* 2026-11-26T20:51:42.966Z warn  disk full */
  ck_assert_uint_eq(line[4], '-');
  ck_assert_ptr_nonnull(strstr(line, "Z warn  disk full\n"));
  ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
  free(line);
}
END_TEST

START_TEST(messages_above_the_level_are_not_written) {
  char *line = logged(PL_LOG_TEXT, PL_LOG_WARN, PL_LOG_INFO, "%s", "chatter");
  ck_assert_str_eq(line, "");
  free(line);
}
END_TEST

START_TEST(control_bytes_cannot_split_or_forge_a_text_line) {
  char *line = logged(PL_LOG_TEXT, PL_LOG_INFO, PL_LOG_ERROR, "key %s",
                      "a\nZ error forged\ttab\x1b[31m\x7f");
  ck_assert_ptr_nonnull(
      strstr(line, "key a\\nZ error forged\\ttab\\x1b[31m\\x7f\n"));
  ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
  free(line);
}
END_TEST

START_TEST(json_lines_escape_the_message) {
  char *line =
      logged(PL_LOG_JSON, PL_LOG_INFO, PL_LOG_INFO, "key %s", "a\nb \xc3\xa9");
  ck_assert_ptr_nonnull(strstr(line, "\"level\":\"info\""));
  ck_assert_ptr_nonnull(strstr(line, "\"message\":\"key a\\nb \\u00E9\""));
  ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
  free(line);
}
END_TEST

/* A path from outside (a config file's name, an output path) need not be
 * UTF-8, which Jansson refuses: the line is still written, the bad bytes
 * as \xNN. */
START_TEST(json_lines_keep_a_message_that_is_not_utf8) {
  char *line = logged(PL_LOG_JSON, PL_LOG_INFO, PL_LOG_ERROR, "cannot open %s",
                      "/o\xff\xc3\xa9\xc3.jsonl");
  ck_assert_ptr_nonnull(strstr(
      line, "\"message\":\"cannot open /o\\\\xff\\u00E9\\\\xc3.jsonl\""));
  ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
  free(line);
}
END_TEST

/* ---- pl_complain: when a repeating failure is logged ---- */

START_TEST(complain_logs_the_first_at_once_then_at_doubling_intervals) {
  pl_complain_t c = {0};
  uint64_t suppressed = 99;
  ck_assert(pl__complain_admit(&c, 5000, &suppressed));
  ck_assert_uint_eq(suppressed, 0);
  /* Within the first second: counted, not logged. */
  for (uint64_t t = 5001; t < 6000; t += 20)
    ck_assert(!pl__complain_admit(&c, t, &suppressed));
  ck_assert(pl__complain_admit(&c, 6000, &suppressed));
  ck_assert_uint_eq(suppressed, 50);
  /* Then 2 s, 4 s, 8 s... */
  ck_assert(!pl__complain_admit(&c, 7999, &suppressed));
  ck_assert(pl__complain_admit(&c, 8000, &suppressed));
  ck_assert_uint_eq(suppressed, 1);
  ck_assert(!pl__complain_admit(&c, 11999, &suppressed));
  ck_assert(pl__complain_admit(&c, 12000, &suppressed));
  ck_assert_uint_eq(suppressed, 1);
  ck_assert_uint_eq(c.interval_ms, 8000);
  /* ... up to a day, and no further. */
  uint64_t now = 12000;
  for (int i = 0; i < 40; i++) {
    now += c.interval_ms;
    ck_assert(pl__complain_admit(&c, now, &suppressed));
    ck_assert_uint_eq(suppressed, 0);
  }
  ck_assert_uint_eq(c.interval_ms, PL_COMPLAIN_MAX_MS);
  ck_assert(!pl__complain_admit(&c, now + PL_COMPLAIN_MAX_MS - 1, &suppressed));
  ck_assert(pl__complain_admit(&c, now + PL_COMPLAIN_MAX_MS, &suppressed));
  ck_assert_uint_eq(suppressed, 1);
}
END_TEST

START_TEST(complain_release_reports_a_logged_failure_once) {
  pl_complain_t c = {0};
  uint64_t failures = 99, suppressed = 0;
  /* Nothing failed: nothing to report. */
  ck_assert(!pl__complain_release(&c, &failures));
  ck_assert_uint_eq(failures, 0);
  ck_assert(pl__complain_admit(&c, 100, &suppressed));
  for (uint64_t t = 200; t < 700; t += 100)
    ck_assert(!pl__complain_admit(&c, t, &suppressed));
  ck_assert(pl__complain_release(&c, &failures));
  ck_assert_uint_eq(failures, 6);
  /* Once: the limiter is reset. */
  ck_assert(!pl__complain_release(&c, &failures));
  /* A new failure right after is logged at once. */
  ck_assert(pl__complain_admit(&c, 701, &suppressed));
  ck_assert_uint_eq(suppressed, 0);
  ck_assert_uint_eq(c.interval_ms, PL_COMPLAIN_FIRST_MS);
}
END_TEST

static Suite *log_suite(void) {
  Suite *s = suite_create("log");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, text_lines_have_time_level_and_message);
  tcase_add_test(tc, messages_above_the_level_are_not_written);
  tcase_add_test(tc, control_bytes_cannot_split_or_forge_a_text_line);
  tcase_add_test(tc, json_lines_escape_the_message);
  tcase_add_test(tc, json_lines_keep_a_message_that_is_not_utf8);
  suite_add_tcase(s, tc);
  TCase *complain = tcase_create("complain");
  tcase_add_test(complain,
                 complain_logs_the_first_at_once_then_at_doubling_intervals);
  tcase_add_test(complain, complain_release_reports_a_logged_failure_once);
  suite_add_tcase(s, complain);
  return s;
}

int main(void) {
  return test_suite_run(log_suite());
}
