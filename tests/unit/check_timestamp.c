/* Check suite for src/timestamp.c: the calendar (leap years, month
 * lengths, days from the epoch both ways), YYYY-MM-DD dates, RFC 3339 and
 * ISO 8601 timestamps with their edge cases, and HTTP-dates. */
#include <check.h>
#include <locale.h>
#include <pipelined/timestamp.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* ---- The calendar ---- */

START_TEST(test_leap_years) {
  ck_assert(pl_timestamp_is_leap_year(2000));
  ck_assert(pl_timestamp_is_leap_year(2024));
  ck_assert(pl_timestamp_is_leap_year(1600));
  ck_assert(pl_timestamp_is_leap_year(0));
  ck_assert(!pl_timestamp_is_leap_year(1900));
  ck_assert(!pl_timestamp_is_leap_year(2100));
  ck_assert(!pl_timestamp_is_leap_year(2023));
  ck_assert_int_eq(pl_timestamp_days_in_month(2000, 2), 29);
  ck_assert_int_eq(pl_timestamp_days_in_month(1900, 2), 28);
  ck_assert_int_eq(pl_timestamp_days_in_month(2024, 2), 29);
  ck_assert_int_eq(pl_timestamp_days_in_month(2023, 2), 28);
  ck_assert_int_eq(pl_timestamp_days_in_month(2023, 4), 30);
  ck_assert_int_eq(pl_timestamp_days_in_month(2023, 12), 31);
  ck_assert_int_eq(pl_timestamp_days_in_month(2023, 0), 0);
  ck_assert_int_eq(pl_timestamp_days_in_month(2023, 13), 0);
}
END_TEST

START_TEST(test_days_from_civil) {
  ck_assert_int_eq(pl_timestamp_days_from_civil(1970, 1, 1), 0);
  ck_assert_int_eq(pl_timestamp_days_from_civil(1969, 12, 31), -1);
  ck_assert_int_eq(pl_timestamp_days_from_civil(2000, 3, 1), 11017);
  ck_assert_int_eq(pl_timestamp_days_from_civil(2000, 2, 29), 11016);
  ck_assert_int_eq(pl_timestamp_days_from_civil(1900, 3, 1), -25508);
  ck_assert_int_eq(pl_timestamp_days_from_civil(1900, 2, 28), -25509);
  ck_assert_int_eq(pl_timestamp_days_from_civil(0, 1, 1), -719528);
  /* Every day of four centuries, from before the epoch to after, is one
   * more than the day before, and goes back to its date. */
  int64_t prev = pl_timestamp_days_from_civil(1899, 12, 31);
  for (int y = 1900; y < 2300; y++)
    for (int m = 1; m <= 12; m++)
      for (int d = 1; d <= pl_timestamp_days_in_month(y, m); d++) {
        int64_t days = pl_timestamp_days_from_civil(y, m, d);
        ck_assert_int_eq(days, prev + 1);
        prev = days;
        pl_timestamp_t ts;
        ck_assert_int_eq(pl_timestamp_from_epoch(days * 86400 + 3661, &ts), 0);
        ck_assert(ts.year == y && ts.month == m && ts.day == d);
        ck_assert(ts.hour == 1 && ts.minute == 1 && ts.second == 1);
      }
}
END_TEST

START_TEST(test_epoch_both_ways) {
  pl_timestamp_t ts;
  ck_assert_int_eq(pl_timestamp_from_epoch(-1, &ts), 0);
  ck_assert(ts.year == 1969 && ts.month == 12 && ts.day == 31);
  ck_assert(ts.hour == 23 && ts.minute == 59 && ts.second == 59);
  ck_assert_int_eq(pl_timestamp_from_epoch(INT64_C(253402300799), &ts), 0);
  ck_assert(ts.year == 9999 && ts.month == 12 && ts.day == 31);
  ck_assert_int_eq(pl_timestamp_from_epoch(INT64_C(-62167219200), &ts), 0);
  ck_assert(ts.year == 0 && ts.month == 1 && ts.day == 1 && ts.hour == 0);
  ck_assert_int_eq(pl_timestamp_from_epoch(INT64_C(253402300800), &ts),
                   PL_ERANGE);
  ck_assert_int_eq(pl_timestamp_from_epoch(INT64_C(-62167219201), &ts),
                   PL_ERANGE);
  ck_assert_int_eq(pl_timestamp_from_epoch(0, NULL), PL_EINVAL);

  int64_t t = 42;
  ts = (pl_timestamp_t){.year = 2016,
                        .month = 2,
                        .day = 25,
                        .hour = 6,
                        .minute = 3,
                        .second = 31};
  ck_assert_int_eq(pl_timestamp_to_epoch(&ts, &t), 0);
  ck_assert_int_eq(t, 1456380211);
  ts.offset_s = 3600; /* 06:03:31+01:00 is 05:03:31Z */
  ck_assert_int_eq(pl_timestamp_to_epoch(&ts, &t), 0);
  ck_assert_int_eq(t, 1456380211 - 3600);
  /* Out-of-range fields are refused, and *epoch_s is left alone. */
  const pl_timestamp_t bad[] = {
      {.year = 2023, .month = 2, .day = 29},
      {.year = 2023, .month = 13, .day = 1},
      {.year = 2023, .month = 0, .day = 1},
      {.year = 2023, .month = 1, .day = 0},
      {.year = 10000, .month = 1, .day = 1},
      {.year = -1, .month = 1, .day = 1},
      {.year = 2023, .month = 1, .day = 1, .hour = 24},
      {.year = 2023, .month = 1, .day = 1, .minute = 60},
      {.year = 2023, .month = 1, .day = 1, .second = 61},
      {.year = 2023, .month = 1, .day = 1, .second = -1},
      {.year = 2023, .month = 1, .day = 1, .offset_s = 24 * 3600},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t = 42;
    ck_assert_msg(pl_timestamp_to_epoch(&bad[i], &t) == PL_EINVAL, "%zu", i);
    ck_assert_int_eq(t, 42);
  }
  ck_assert_int_eq(pl_timestamp_to_epoch(NULL, &t), PL_EINVAL);
}
END_TEST

/* ---- YYYY-MM-DD ---- */

static int date(const char *text, pl_timestamp_t *out) {
  return pl_timestamp_parse_date(text, strlen(text), out);
}

START_TEST(test_dates) {
  pl_timestamp_t ts = {.hour = 5, .offset_s = 60};
  ck_assert_int_eq(date("2023-05-01", &ts), 0);
  ck_assert(ts.year == 2023 && ts.month == 5 && ts.day == 1);
  ck_assert(ts.hour == 0 && ts.offset_s == 0 && ts.nanosecond == 0);
  const char *good[] = {"2024-02-29", "2000-02-29", "1900-02-28", "0000-01-01",
                        "9999-12-31", "2023-04-30", "2023-01-31", "2023-12-31"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    ck_assert_msg(date(good[i], NULL) == 0, "%s", good[i]);
  const char *bad[] = {"",           "2023-02-30",  "2023-02-29",
                       "1900-02-29", "2100-02-29",  "2023-04-31",
                       "2023-13-01", "2023-00-01",  "2023-01-00",
                       "2023-01-32", "2023-1-01",   "23-01-01",
                       "2023/01/01", "2023-01-01x", "2023-01-01T00:00:00Z",
                       "+023-01-01", "2023-0a-01",  " 2023-01-01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ts.year = 42;
    ck_assert_msg(date(bad[i], &ts) == PL_EPARSE, "%s", bad[i]);
    ck_assert_int_eq(ts.year, 42);
  }
  /* The length is the text's: the bytes after it are not read. */
  ck_assert_int_eq(pl_timestamp_parse_date("2023-05-01junk", 10, NULL), 0);
  ck_assert_int_eq(pl_timestamp_parse_date(NULL, 10, NULL), PL_EPARSE);
}
END_TEST

/* ---- RFC 3339 ---- */

static int rfc3339(const char *text, unsigned flags, pl_timestamp_t *out) {
  return pl_timestamp_parse_rfc3339(text, strlen(text), flags, out);
}

static int64_t epoch_of(const char *text, unsigned flags) {
  pl_timestamp_t ts;
  ck_assert_msg(rfc3339(text, flags, &ts) == 0, "%s", text);
  int64_t t = 0;
  ck_assert_int_eq(pl_timestamp_to_epoch(&ts, &t), 0);
  return t;
}

START_TEST(test_rfc3339_fields) {
  pl_timestamp_t ts;
  ck_assert_int_eq(rfc3339("2023-05-01T12:34:56.789+02:30", 0, &ts), 0);
  ck_assert(ts.year == 2023 && ts.month == 5 && ts.day == 1);
  ck_assert(ts.hour == 12 && ts.minute == 34 && ts.second == 56);
  ck_assert_uint_eq(ts.nanosecond, 789000000);
  ck_assert_int_eq(ts.offset_s, 2 * 3600 + 30 * 60);
  ck_assert_int_eq(rfc3339("2023-05-01T12:34:56.123456789123-00:15", 0, &ts),
                   0);
  ck_assert_uint_eq(ts.nanosecond, 123456789); /* past nine digits: cut */
  ck_assert_int_eq(ts.offset_s, -15 * 60);
  ck_assert_int_eq(rfc3339("2023-05-01t12:34:56.000000001z", 0, &ts), 0);
  ck_assert_uint_eq(ts.nanosecond, 1);
  ck_assert_int_eq(ts.offset_s, 0);
}
END_TEST

START_TEST(test_rfc3339_epochs) {
  const int64_t t0 = 1700000000; /* 2023-11-14T22:13:20Z */
  ck_assert_int_eq(epoch_of("2016-02-25T06:03:31Z", 0), 1456380211);
  ck_assert_int_eq(epoch_of("2023-11-14T22:13:20.123Z", 0), t0);
  ck_assert_int_eq(epoch_of("2023-11-15T00:13:20+02:00", 0), t0);
  ck_assert_int_eq(epoch_of("2023-11-14T21:13:20-01:00", 0), t0);
  ck_assert_int_eq(epoch_of("2023-11-14 22:13:20Z", 0), t0);
  ck_assert_int_eq(epoch_of("1970-01-01T00:00:00Z", 0), 0);
  ck_assert_int_eq(epoch_of("1969-12-31T23:59:59Z", 0), -1);
  ck_assert_int_eq(epoch_of("1970-01-01T00:59:59+01:00", 0), -1);
  ck_assert_int_eq(epoch_of("2024-02-29T00:00:00Z", 0), 1709164800);
  ck_assert_int_eq(epoch_of("2000-02-29T12:00:00Z", 0), 951825600);
  /* A leap second is the next minute's second 0. */
  ck_assert_int_eq(epoch_of("2016-12-31T23:59:60Z", 0), 1483228800);
  ck_assert_int_eq(epoch_of("2017-01-01T00:00:00Z", 0), 1483228800);
}
END_TEST

START_TEST(test_rfc3339_invalid) {
  const char *bad[] = {
      "",
      "2016-02-25",
      "2016-02-25T06:03:31",   /* no zone */
      "2016-02-25T06:03:31Zx", /* trailing junk */
      "2016-02-25T06:03:31Z ",
      "2016-02-25T06:03:31+01:00x",
      "2016-02-25T06:03:31+01:00:00",
      "2016-13-25T06:03:31Z",
      "2016-00-25T06:03:31Z",
      "2023-02-29T06:03:31Z", /* not a leap year */
      "1900-02-29T06:03:31Z",
      "2023-02-30T06:03:31Z",
      "2023-04-31T06:03:31Z",
      "2016-02-25T24:03:31Z",
      "2016-02-25T06:60:31Z",
      "2016-02-25T06:03:61Z",
      "2016-02-25T06:03Z", /* seconds are required */
      "2016-02-25T6:03:31Z",
      "2016-02-25X06:03:31Z",
      "2016-02-25T06-03-31Z",
      "2016-02-25T06:03:31.Z", /* a fraction has a digit */
      "2016-02-25T06:03:31.",
      "2016-02-25T06:03:31,5Z",   /* ISO 8601 only */
      "2016-02-25T06:03:31+0100", /* ISO 8601 only */
      "2016-02-25T06:03:31+24:00",
      "2016-02-25T06:03:31+01:60",
      "2016-02-25T06:03:31+1:00",
      "2016-02-25T06:03:31+01",
      "2016-02-25T06:03:31 +01:00",
      "16-02-25T06:03:31Z",
      "+2016-02-25T06:03:31Z",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pl_timestamp_t ts = {.year = 42};
    ck_assert_msg(rfc3339(bad[i], 0, &ts) == PL_EPARSE, "%s", bad[i]);
    ck_assert_int_eq(ts.year, 42);
  }
  ck_assert_int_eq(pl_timestamp_parse_rfc3339(NULL, 20, 0, NULL), PL_EPARSE);
  /* The length is the text's: junk after it is not read. */
  ck_assert_int_eq(
      pl_timestamp_parse_rfc3339("2016-02-25T06:03:31Zjunk", 20, 0, NULL), 0);
}
END_TEST

START_TEST(test_iso8601_flag) {
  const unsigned iso = PL_TIMESTAMP_ISO8601;
  ck_assert_int_eq(epoch_of("2023-11-14T21:13:20-0100", iso), 1700000000);
  ck_assert_int_eq(epoch_of("2023-11-14T23:13:20+01:00", iso), 1700000000);
  pl_timestamp_t ts;
  ck_assert_int_eq(rfc3339("2023-11-14T22:13:20,25Z", iso, &ts), 0);
  ck_assert_uint_eq(ts.nanosecond, 250000000);
  const char *bad[] = {"2023-11-14T21:13:20-010",  "2023-11-14T21:13:20-01000",
                       "2023-11-14T21:13:20-2400", "2023-11-14T21:13:20-0160",
                       "2023-11-14T22:13:20,Z",    "2023-11-14T22:13:20"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(rfc3339(bad[i], iso, NULL) == PL_EPARSE, "%s", bad[i]);
}
END_TEST

static int http_date(const char *text, int64_t *t) {
  return pl_timestamp_parse_http_date(text, strlen(text), t);
}

/* ---- HTTP-date ---- */

START_TEST(test_date_valid) {
  const struct {
    const char *text;
    int64_t epoch;
  } cases[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
      {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
      {"Wed, 31 Dec 1969 23:59:59 GMT", -1},
      {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},
      {"Mon, 01 Jan 2024 00:10:00 GMT", 1704067800},
      {"Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799)},
      {"Mon, 01 Jan 0001 00:00:00 GMT", INT64_C(-62135596800)},
      /* A leap second is the next second. */
      {"Sun, 31 Dec 2023 23:59:60 GMT", 1704067200},
      /* The day name is not cross-checked with the date. */
      {"Fri, 01 Jan 2024 00:00:00 GMT", 1704067200},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t t = 42;
    ck_assert_msg(http_date(cases[i].text, &t) == 0, "%s", cases[i].text);
    ck_assert_msg(t == cases[i].epoch, "%s: %lld", cases[i].text, (long long)t);
  }
}
END_TEST

START_TEST(test_date_invalid) {
  const char *bad[] = {
      "",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 +0000",
      "Sun, 06 Nov 1994 08:49:37 GMT ",
      " Sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun 06 Nov 1994 08:49:37 GMT",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",
      "Sun, 29 Feb 1900 08:49:37 GMT",
      "Sun, 29 Feb 2023 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT",
      "Sun, 06 Nov 19x4 08:49:37 GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Sun, +6 Nov 1994 08:49:37 GMT",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t t = 42;
    ck_assert_msg(http_date(bad[i], &t) == PL_EPARSE, "'%s'", bad[i]);
    ck_assert_int_eq(t, 42);
  }
  int64_t t = 42;
  ck_assert_int_eq(pl_timestamp_parse_http_date(NULL, 0, &t), PL_EPARSE);
}
END_TEST

/* A daemon that called setlocale() still reads English month names. */
START_TEST(test_date_locale) {
  const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "C.UTF-8"};
  for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++)
    if (setlocale(LC_ALL, locales[i]))
      break;
  int64_t t = 0;
  ck_assert_int_eq(http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
  ck_assert_int_eq(t, 784111777);
  setlocale(LC_ALL, "C");
}
END_TEST

static Suite *timestamp_suite(void) {
  Suite *s = suite_create("timestamp");
  TCase *cal = tcase_create("calendar");
  tcase_add_test(cal, test_leap_years);
  tcase_add_test(cal, test_days_from_civil);
  tcase_add_test(cal, test_epoch_both_ways);
  suite_add_tcase(s, cal);
  TCase *rfc = tcase_create("rfc3339");
  tcase_add_test(rfc, test_dates);
  tcase_add_test(rfc, test_rfc3339_fields);
  tcase_add_test(rfc, test_rfc3339_epochs);
  tcase_add_test(rfc, test_rfc3339_invalid);
  tcase_add_test(rfc, test_iso8601_flag);
  suite_add_tcase(s, rfc);
  TCase *http = tcase_create("http-date");
  tcase_add_test(http, test_date_valid);
  tcase_add_test(http, test_date_invalid);
  tcase_add_test(http, test_date_locale);
  suite_add_tcase(s, http);
  return s;
}

int main(void) {
  return test_suite_run(timestamp_suite());
}
