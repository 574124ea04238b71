/* Check suite for src/log.c: the text and JSON line formats, the level
 * filter, and control bytes from outside text escaped in text lines. */
#include "log.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

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

static Suite *log_suite(void) {
  Suite *s = suite_create("log");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, text_lines_have_time_level_and_message);
  tcase_add_test(tc, messages_above_the_level_are_not_written);
  tcase_add_test(tc, control_bytes_cannot_split_or_forge_a_text_line);
  tcase_add_test(tc, json_lines_escape_the_message);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(log_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
