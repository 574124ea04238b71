/* Check suite for src/units.c: every accepted form, every refused form,
 * and the exact edges where a value stops fitting (PL_ERANGE). */
#include "units.h"

#include <check.h>
#include <locale.h>
#include <stdlib.h>

#include "test_suite.h"

START_TEST(test_int_valid) {
  int64_t v = 1;
  ck_assert_int_eq(pl__parse_int("42", &v), 0);
  ck_assert_int_eq(v, 42);
  ck_assert_int_eq(pl__parse_int("-7", &v), 0);
  ck_assert_int_eq(v, -7);
  ck_assert_int_eq(pl__parse_int("+5", &v), 0);
  ck_assert_int_eq(v, 5);
  ck_assert_int_eq(pl__parse_int("0", &v), 0);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(pl__parse_int("007", &v), 0);
  ck_assert_int_eq(v, 7);
  ck_assert_int_eq(pl__parse_int("9223372036854775807", &v), 0);
  ck_assert(v == INT64_MAX);
  ck_assert_int_eq(pl__parse_int("-9223372036854775808", &v), 0);
  ck_assert(v == INT64_MIN);
}
END_TEST

START_TEST(test_int_invalid) {
  int64_t v = 99;
  const char *bad[] = {"",    "-",    "+",   " 1",  "1 ",  "1.5",
                       "1e3", "0x10", "12a", "--1", "+-1", "1_000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__parse_int(bad[i], &v) == PL_EPARSE, "'%s'", bad[i]);
  ck_assert_int_eq(v, 99); /* untouched on failure */
  ck_assert_int_eq(pl__parse_int("9223372036854775808", &v), PL_ERANGE);
  ck_assert_int_eq(pl__parse_int("-9223372036854775809", &v), PL_ERANGE);
  ck_assert_int_eq(pl__parse_int("99999999999999999999999", &v), PL_ERANGE);
  ck_assert_int_eq(v, 99);
}
END_TEST

START_TEST(test_uint) {
  uint64_t v = 1;
  ck_assert_int_eq(pl__parse_uint("0", &v), 0);
  ck_assert_uint_eq(v, 0);
  ck_assert_int_eq(pl__parse_uint("007", &v), 0);
  ck_assert_uint_eq(v, 7);
  ck_assert_int_eq(pl__parse_uint("18446744073709551615", &v), 0);
  ck_assert_uint_eq(v, UINT64_MAX);
  ck_assert_int_eq(pl__parse_uint("18446744073709551616", &v), PL_ERANGE);
  const char *bad[] = {"", "-1", "+1", " 1", "1 ", "4a", "1.0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(pl__parse_uint(bad[i], &v) == PL_EPARSE, "'%s'", bad[i]);
  ck_assert_uint_eq(v, UINT64_MAX); /* untouched by the refusals */
}
END_TEST

START_TEST(test_double_valid) {
  double d = 0;
  ck_assert_int_eq(pl__parse_double("1.5", &d), 0);
  ck_assert_double_eq(d, 1.5);
  ck_assert_int_eq(pl__parse_double("-2", &d), 0);
  ck_assert_double_eq(d, -2.0);
  ck_assert_int_eq(pl__parse_double("1e3", &d), 0);
  ck_assert_double_eq(d, 1000.0);
  ck_assert_int_eq(pl__parse_double("2.5E-1", &d), 0);
  ck_assert_double_eq(d, 0.25);
  ck_assert_int_eq(pl__parse_double("+0.125", &d), 0);
  ck_assert_double_eq(d, 0.125);
  ck_assert_int_eq(pl__parse_double("1e-400", &d), 0); /* underflow is 0 */
  ck_assert_double_eq(d, 0.0);
}
END_TEST

START_TEST(test_double_invalid) {
  double d = 3.0;
  const char *bad[] = {"",   "inf", "nan",  "0x1p3",   " 1.5",  "1.5 ",
                       ".5", "1.",  "1e",   "1e+",     "1.5.2", "1,5",
                       "-",  "e3",  "1.5s", "infinity"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__parse_double(bad[i], &d) == PL_EPARSE, "'%s'", bad[i]);
  ck_assert_int_eq(pl__parse_double("1e400", &d), PL_ERANGE);
  ck_assert_int_eq(pl__parse_double("-1e400", &d), PL_ERANGE);
  ck_assert_double_eq(d, 3.0);
}
END_TEST

/* A daemon that called setlocale() must still read "1.5" with a '.'. */
START_TEST(test_double_locale) {
  const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
  const char *set = NULL;
  for (size_t i = 0; i < sizeof locales / sizeof locales[0] && !set; i++)
    set = setlocale(LC_NUMERIC, locales[i]);
  double d = 0;
  ck_assert_int_eq(pl__parse_double("1.5", &d), 0);
  ck_assert_double_eq(d, 1.5);
  ck_assert_int_eq(pl__parse_double("1,5", &d), PL_EPARSE);
  setlocale(LC_NUMERIC, "C");
}
END_TEST

START_TEST(test_bool) {
  bool b = false;
  ck_assert_int_eq(pl__parse_bool("true", &b), 0);
  ck_assert(b);
  ck_assert_int_eq(pl__parse_bool("false", &b), 0);
  ck_assert(!b);
  const char *bad[] = {"", "TRUE", "True", "yes", "1", "true ", "falsey"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__parse_bool(bad[i], &b) == PL_EPARSE, "'%s'", bad[i]);
}
END_TEST

START_TEST(test_duration_valid) {
  struct {
    const char *text;
    uint64_t ms;
  } cases[] = {
      {"500ms", 500},
      {"30s", 30000},
      {"5m", 300000},
      {"1h", 3600000},
      {"2d", 172800000},
      {"1.5s", 1500},
      {"0", 0},
      {"0s", 0},
      {"0ms", 0},
      {"1.25m", 75000},
      {"0.001s", 1},
      {"1.5000000000000s", 1500},
      {"0.5h", 1800000},
      {"0.00001d", 864},
      {"0.0000003125d", 27},
      {"18446744073709551615ms", UINT64_MAX},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t ms = 12345;
    ck_assert_msg(pl__parse_duration(cases[i].text, &ms) == 0, "'%s'",
                  cases[i].text);
    ck_assert_msg(ms == cases[i].ms, "'%s' gave %llu", cases[i].text,
                  (unsigned long long)ms);
  }
}
END_TEST

START_TEST(test_duration_invalid) {
  uint64_t ms = 7;
  const char *bad[] = {"",    "5",   "00",  "-5s",  "+5s",   "5 s",
                       " 5s", "5s ", "5S",  "5sec", "1h30m", ".5s",
                       "1.s", "s",   "5us", "1e3s", "5ms5",  "0x5s"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__parse_duration(bad[i], &ms) == PL_EPARSE, "'%s'", bad[i]);
  const char *range[] = {"18446744073709551616ms",
                         "213503982335d",
                         "99999999999999999999999s",
                         "0.5ms",
                         "1.0001s",
                         "0.00000000001d",
                         "1.00000000000000000001h"};
  for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
    ck_assert_msg(pl__parse_duration(range[i], &ms) == PL_ERANGE, "'%s'",
                  range[i]);
  ck_assert_int_eq(ms, 7);
}
END_TEST

START_TEST(test_size_valid) {
  struct {
    const char *text;
    uint64_t bytes;
  } cases[] = {
      {"256KiB", 262144},
      {"1MiB", 1048576},
      {"2GiB", 2147483648u},
      {"10KB", 10000},
      {"3MB", 3000000},
      {"4GB", 4000000000u},
      {"512B", 512},
      {"4096", 4096},
      {"0", 0},
      {"0B", 0},
      {"18446744073709551615", UINT64_MAX},
      {"17179869183GiB", 17179869183ull * 1073741824ull},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t bytes = 1;
    ck_assert_msg(pl__parse_size(cases[i].text, &bytes) == 0, "'%s'",
                  cases[i].text);
    ck_assert_msg(bytes == cases[i].bytes, "'%s' gave %llu", cases[i].text,
                  (unsigned long long)bytes);
  }
}
END_TEST

START_TEST(test_size_invalid) {
  uint64_t bytes = 3;
  const char *bad[] = {"",    "KiB", "1kib",  "1kb", "1 KiB", "1.5MiB", "-1B",
                       "+1B", "1Ki", "1KiBs", "1TB", " 1",    "1b",     "1e3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(pl__parse_size(bad[i], &bytes) == PL_EPARSE, "'%s'", bad[i]);
  ck_assert_int_eq(pl__parse_size("18446744073709551616", &bytes), PL_ERANGE);
  ck_assert_int_eq(pl__parse_size("17179869184GiB", &bytes), PL_ERANGE);
  ck_assert_int_eq(pl__parse_size("18446744073709552KB", &bytes), PL_ERANGE);
  ck_assert_int_eq(bytes, 3);
}
END_TEST

START_TEST(test_format_duration_and_size) {
  static const struct {
    uint64_t value;
    const char *duration;
    const char *size;
  } cases[] = {
      {0, "0", "0B"},
      {1, "1ms", "1B"},
      {999, "999ms", "999B"},
      {1000, "1s", "1KB"},
      {1024, "1024ms", "1KiB"},
      {1500, "1500ms", "1500B"},
      {20000, "20s", "20KB"},
      {60000, "1m", "60KB"},
      {900000, "15m", "900KB"},
      {3600000, "1h", "3600KB"},
      {43200000, "12h", "43200KB"},
      {86400000, "1d", "84375KiB"},
      {1048576, "1048576ms", "1MiB"},
      {1000000, "1000s", "1MB"},
      {1073741824, "1073741824ms", "1GiB"},
      {262144, "262144ms", "256KiB"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_buf_t text = {0};
    ck_assert_int_eq(pl__format_duration(cases[i].value, &text), 0);
    ck_assert_str_eq(text.data, cases[i].duration);
    /* What is written reads back as the same value. */
    uint64_t back = 0;
    ck_assert_int_eq(pl__parse_duration(text.data, &back), 0);
    ck_assert_uint_eq(back, cases[i].value);
    pl_buf_reset(&text);
    ck_assert_int_eq(pl__format_size(cases[i].value, &text), 0);
    ck_assert_str_eq(text.data, cases[i].size);
    ck_assert_int_eq(pl__parse_size(text.data, &back), 0);
    ck_assert_uint_eq(back, cases[i].value);
    pl_buf_free(&text);
  }
}
END_TEST

static Suite *units_suite(void) {
  Suite *s = suite_create("units");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, test_int_valid);
  tcase_add_test(tc, test_int_invalid);
  tcase_add_test(tc, test_uint);
  tcase_add_test(tc, test_double_valid);
  tcase_add_test(tc, test_double_invalid);
  tcase_add_test(tc, test_double_locale);
  tcase_add_test(tc, test_bool);
  tcase_add_test(tc, test_duration_valid);
  tcase_add_test(tc, test_duration_invalid);
  tcase_add_test(tc, test_size_valid);
  tcase_add_test(tc, test_size_invalid);
  tcase_add_test(tc, test_format_duration_and_size);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(units_suite());
}
