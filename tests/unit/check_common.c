/* Check suite for src/common.c: error names, the growable buffer, and the
 * UTF-8 checks every part of the daemon shares. */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <pipelined/common.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "test_suite.h"

START_TEST(error_codes_have_names) {
  ck_assert_str_eq(pl_strerror(0), "success");
  ck_assert_ptr_nonnull(pl_strerror(PL_ENOMEM));
  ck_assert_str_ne(pl_strerror(PL_ENOMEM), pl_strerror(PL_EINVAL));
}
END_TEST

START_TEST(buffers_grow_and_format) {
  pl_buf_t buf = {0};
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(pl_buf_printf(&buf, "%d,", i), 0);
  ck_assert_uint_eq(strlen(buf.data), buf.len);
  ck_assert(strncmp(buf.data, "0,1,2,", 6) == 0);
  ck_assert_int_eq(pl_buf_append(&buf, "\0x", 2), 0);
  ck_assert_uint_eq(buf.data[buf.len], '\0');
  pl_buf_reset(&buf);
  ck_assert_uint_eq(buf.len, 0);
  pl_buf_free(&buf);
  ck_assert_ptr_null(buf.data);
}
END_TEST

/* pl_buf_printf formats into the room a buffer has, and again into a
 * larger one when the text does not fit: exactly the text either way. */
START_TEST(printf_fills_the_room_then_grows) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_reserve(&buf, 10), 0);
  size_t cap = buf.cap;
  /* Exactly the room (its NUL included), then one byte more than it. */
  char fits[256], over[256];
  memset(fits, 'a', cap - 1);
  fits[cap - 1] = '\0';
  ck_assert_int_eq(pl_buf_printf(&buf, "%s", fits), 0);
  ck_assert_uint_eq(buf.cap, cap);
  ck_assert_str_eq(buf.data, fits);
  pl_buf_reset(&buf);
  ck_assert_int_eq(pl_buf_append(&buf, "x", 1), 0);
  memset(over, 'b', cap - 1);
  over[cap - 1] = '\0';
  ck_assert_int_eq(pl_buf_printf(&buf, "%s|%d", over, 42), 0);
  ck_assert_uint_gt(buf.cap, cap);
  ck_assert_uint_eq(buf.len, 1 + (cap - 1) + 3);
  ck_assert_uint_eq(strlen(buf.data), buf.len);
  ck_assert(buf.data[0] == 'x' && buf.data[cap] == '|');
  ck_assert_str_eq(buf.data + cap + 1, "42");
  /* An empty format into an empty buffer. */
  pl_buf_t empty = {0};
  ck_assert_int_eq(pl_buf_printf(&empty, "%s", ""), 0);
  ck_assert_uint_eq(empty.len, 0);
  ck_assert_str_eq(empty.data, "");
  pl_buf_free(&empty);
  pl_buf_free(&buf);
}
END_TEST

/* Every well-formed class of RFC 3629 and the ill-formed neighbours. */
static char *formatted(const char *fmt, ...) PL_PRINTF(1, 2);
static char *formatted(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = pl_vformat(fmt, ap);
  va_end(ap);
  return text;
}

START_TEST(integers_are_appended_as_printf_writes_them) {
  static const long long values[] = {0,  7,   9,    10,        99,
                                     100, -1, -10, 1234567890, LLONG_MAX,
                                     LLONG_MIN};
  pl_buf_t buf = {0}, want = {0};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    ck_assert_int_eq(pl_buf_append_int(&buf, values[i]), 0);
    ck_assert_int_eq(pl_buf_append(&buf, ",", 1), 0);
    ck_assert_int_eq(pl_buf_printf(&want, "%lld,", values[i]), 0);
  }
  ck_assert_str_eq(buf.data, want.data);
  ck_assert_uint_eq(buf.len, want.len);
  pl_buf_free(&buf);
  pl_buf_free(&want);
}
END_TEST

START_TEST(truncate_takes_back_an_append) {
  pl_buf_t buf = {0};
  pl_buf_truncate(&buf, 0); /* an empty buffer: nothing to do */
  ck_assert_ptr_null(buf.data);
  ck_assert_int_eq(pl_buf_append_str(&buf, "kept"), 0);
  size_t before = buf.len;
  ck_assert_int_eq(pl_buf_append_str(&buf, ", taken back"), 0);
  pl_buf_truncate(&buf, before);
  ck_assert_uint_eq(buf.len, 4);
  ck_assert_str_eq(buf.data, "kept");
  pl_buf_truncate(&buf, 100); /* never grows */
  ck_assert_uint_eq(buf.len, 4);
  ck_assert_str_eq(buf.data, "kept");
  pl_buf_reset(&buf);
  ck_assert_uint_eq(buf.len, 0);
  ck_assert_str_eq(buf.data, "");
  pl_buf_free(&buf);
}
END_TEST

START_TEST(messages_are_new_strings) {
  char *text = formatted("%s:%d", "line", 3);
  ck_assert_str_eq(text, "line:3");
  free(text);
  /* Empty is a string too, never NULL. */
  text = formatted("%s", "");
  ck_assert_ptr_nonnull(text);
  ck_assert_str_eq(text, "");
  free(text);
  char *error = NULL;
  pl_error_set(&error, "cannot open %s", "/x");
  ck_assert_str_eq(error, "cannot open /x");
  free(error);
  pl_error_set(NULL, "nobody asked for %s", "this"); /* no effect */
}
END_TEST

START_TEST(utf8_sequences_follow_rfc_3629) {
  static const struct {
    const char *bytes;
    size_t len;
  } good[] = {
      {"a", 1},           {"\xC2\x80", 2},         {"\xDF\xBF", 2},
      {"\xE0\xA0\x80", 3}, {"\xED\x9F\xBF", 3},     {"\xEF\xBF\xBF", 3},
      {"\xF0\x90\x80\x80", 4}, {"\xF4\x8F\xBF\xBF", 4},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ck_assert_uint_eq(
        pl_utf8_sequence((const unsigned char *)good[i].bytes, good[i].len),
        good[i].len);
  static const char *const bad[] = {
      "\x80",         /* continuation first */
      "\xC0\xAF",     /* overlong */
      "\xC1\xBF",     /* overlong */
      "\xE0\x9F\xBF", /* overlong */
      "\xED\xA0\x80", /* surrogate */
      "\xF0\x8F\xBF\xBF", /* overlong */
      "\xF4\x90\x80\x80", /* above U+10FFFF */
      "\xF5\x80\x80\x80", "\xFF", "\xC3\x28",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(pl_utf8_sequence((const unsigned char *)bad[i],
                                   strlen(bad[i])) == 0,
                  "bad[%zu] accepted", i);
  /* A sequence cut by the end of what can be read. */
  ck_assert_uint_eq(pl_utf8_sequence((const unsigned char *)"\xE2\x82\xAC", 2),
                    0);
}
END_TEST

START_TEST(utf8_texts_are_checked_whole) {
  ck_assert(pl_utf8_valid("", 0));
  ck_assert(pl_utf8_valid("plain ascii", 11));
  ck_assert(pl_utf8_valid("a\0b", 3));
  ck_assert(pl_utf8_valid("Stock update+v2 \xC3\xA9 \xE2\x82\xAC", 22));
  ck_assert(!pl_utf8_valid("caf\xC3", 4));
  ck_assert(!pl_utf8_valid("\xFF" "abc", 4));
  ck_assert(!pl_utf8_valid("abc\xED\xA0\x80", 6));
}
END_TEST

/* The bytes a cut piece of text would hold back for the next one. */
START_TEST(utf8_partial_tails_are_the_start_of_a_cut_character) {
  ck_assert_uint_eq(pl_utf8_partial_tail("", 0), 0);
  ck_assert_uint_eq(pl_utf8_partial_tail("abc", 3), 0);
  ck_assert_uint_eq(pl_utf8_partial_tail("caf\xC3\xA9", 5), 0); /* whole */
  ck_assert_uint_eq(pl_utf8_partial_tail("caf\xC3", 4), 1);
  ck_assert_uint_eq(pl_utf8_partial_tail("x\xE2\x82", 3), 2);
  ck_assert_uint_eq(pl_utf8_partial_tail("x\xE2\x82\xAC", 4), 0);
  ck_assert_uint_eq(pl_utf8_partial_tail("\xF0\x9F\x98", 3), 3);
  ck_assert_uint_eq(pl_utf8_partial_tail("\xF0\x9F\x98\x80", 4), 0);
  ck_assert_uint_eq(pl_utf8_partial_tail("\xF0\x9F", 2), 2); /* all of it */
  /* Continuation bytes with no start within 3, or no start at all: not a
   * character to wait for. */
  ck_assert_uint_eq(pl_utf8_partial_tail("a\x80\x80\x80", 4), 0);
  ck_assert_uint_eq(pl_utf8_partial_tail("a\xFF", 2), 0);
}
END_TEST

START_TEST(hex_digits_of_either_case) {
  ck_assert_int_eq(pl_hex_value('0'), 0);
  ck_assert_int_eq(pl_hex_value('9'), 9);
  ck_assert_int_eq(pl_hex_value('a'), 10);
  ck_assert_int_eq(pl_hex_value('F'), 15);
  ck_assert_int_eq(pl_hex_value('g'), -1);
  ck_assert_int_eq(pl_hex_value('/'), -1);
  ck_assert_int_eq(pl_hex_value((char)0xC3), -1); /* a negative char */
}
END_TEST

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

START_TEST(make_dirs_creates_parents_and_refuses_files) {
  char top[] = "/tmp/pl-dirs-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(top));
  char path[256], file[256];
  snprintf(path, sizeof(path), "%s/a/b/c", top);
  ck_assert_int_eq(pl_make_dirs(path, true), 0); /* the parents only */
  ck_assert(is_dir(path) == 0);
  snprintf(file, sizeof(file), "%s/a/b", top);
  ck_assert(is_dir(file));
  ck_assert_int_eq(pl_make_dirs(path, false), 0);
  ck_assert(is_dir(path));
  ck_assert_int_eq(pl_make_dirs(path, false), 0); /* already there */
  snprintf(file, sizeof(file), "%s/f", top);
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/f/sub", top);
  ck_assert_int_eq(pl_make_dirs(path, false), ENOTDIR);
  ck_assert_int_eq(pl_make_dirs(file, false), ENOTDIR);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *common_suite(void) {
  Suite *s = suite_create("common");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, error_codes_have_names);
  tcase_add_test(tc, buffers_grow_and_format);
  tcase_add_test(tc, printf_fills_the_room_then_grows);
  tcase_add_test(tc, integers_are_appended_as_printf_writes_them);
  tcase_add_test(tc, truncate_takes_back_an_append);
  tcase_add_test(tc, messages_are_new_strings);
  tcase_add_test(tc, utf8_sequences_follow_rfc_3629);
  tcase_add_test(tc, utf8_texts_are_checked_whole);
  tcase_add_test(tc, utf8_partial_tails_are_the_start_of_a_cut_character);
  tcase_add_test(tc, hex_digits_of_either_case);
  tcase_add_test(tc, make_dirs_creates_parents_and_refuses_files);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(common_suite());
}
