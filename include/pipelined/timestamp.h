/* Dates and times: the one place that reads them (RFC 3339 / ISO 8601
 * timestamps, YYYY-MM-DD dates, HTTP-dates), validates them against the
 * proleptic Gregorian calendar (no 2023-02-30) and turns them into seconds
 * since 1970-01-01T00:00:00Z and back.
 *
 * Nothing here reads the time zone, the locale or the C library's time_t
 * range: the arithmetic is Howard Hinnant's days-from-civil method, so a
 * daemon that called setlocale() or runs with TZ set reads the same
 * values. Years are 0000 to 9999 (four digits in every format read).
 *
 * Parsers take a text and its length (the text need not be NUL-terminated
 * and must be consumed whole: trailing bytes are an error), return 0 or
 * PL_EPARSE, and write their result only on success; an `out` of NULL only
 * checks the text. No function here allocates. */
#ifndef PIPELINED_TIMESTAMP_H
#define PIPELINED_TIMESTAMP_H

#include <pipelined/common.h>

/* A civil date and time as written, with the offset it was written in. */
typedef struct pl_timestamp {
  int year;            /* 0 to 9999 */
  int month;           /* 1 to 12 */
  int day;             /* 1 to the month's last day */
  int hour;            /* 0 to 23 */
  int minute;          /* 0 to 59 */
  int second;          /* 0 to 60: 60 is a leap second */
  uint32_t nanosecond; /* the fraction's first nine digits; more are cut */
  int offset_s;        /* seconds east of UTC: +02:00 is 7200, Z is 0 */
} pl_timestamp_t;

/* Flags of pl_timestamp_parse_rfc3339(). */
enum {
  /* Also the ISO 8601 spellings RFC 3339 leaves out: ',' before the
   * fraction and offsets without a colon (+0100). The AWS credential
   * providers need them. */
  PL_TIMESTAMP_ISO8601 = 1u << 0,
};

/* True for a Gregorian leap year: divisible by 4, and by 400 when it is by
 * 100 (2000 is one, 1900 is not). */
PL_EXTERN bool pl_timestamp_is_leap_year(int64_t year);

/* The number of days of `month` (1 to 12) in `year`, or 0 when the month is
 * out of range. */
PL_EXTERN int pl_timestamp_days_in_month(int64_t year, int month);

/* Days from 1970-01-01 to the date (negative before it). The date must be
 * valid (month 1 to 12, day 1 to 31); the result is unspecified otherwise.
 * Any year that keeps the result in int64_t is allowed. */
PL_EXTERN int64_t pl_timestamp_days_from_civil(int64_t year, int month,
                                               int day);

/* Seconds since 1970-01-01T00:00:00Z of `ts` (borrowed), with its offset
 * applied; a leap second counts as the next minute's second 0. Returns
 * PL_EINVAL when a field is out of its range (a day past the month's last
 * included). The nanoseconds are not part of the result. */
PL_EXTERN int pl_timestamp_to_epoch(const pl_timestamp_t *ts, int64_t *epoch_s);

/* The UTC date and time of `epoch_s`, with offset 0 and no nanoseconds.
 * Returns PL_ERANGE outside 0000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59Z. */
PL_EXTERN int pl_timestamp_from_epoch(int64_t epoch_s, pl_timestamp_t *out);

/* YYYY-MM-DD, exactly ten bytes, a real calendar date. *out (optional)
 * gets the date at midnight, offset 0. */
PL_EXTERN int pl_timestamp_parse_date(const char *text, size_t len,
                                      pl_timestamp_t *out);

/* An RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM).
 * 't' or a space may stand for 'T' and 'z' for 'Z'; the fraction has at
 * least one digit; the zone is required (a time without one is not an
 * instant); second 60 (a leap second) is allowed; an offset's hours are 0
 * to 23 and its minutes 0 to 59. With PL_TIMESTAMP_ISO8601 also ',' before
 * the fraction and +HHMM. *out (optional) gets the fields as written. */
PL_EXTERN int pl_timestamp_parse_rfc3339(const char *text, size_t len,
                                         unsigned flags, pl_timestamp_t *out);

/* An HTTP-date in the IMF-fixdate form of RFC 9110, "Sun, 06 Nov 1994
 * 08:49:37 GMT" (exactly 29 bytes), to seconds since the epoch. The day and
 * month names are English and case-sensitive; the day name must be one but
 * is not checked against the date. Second 60 counts as the next second.
 * The obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime()
 * ("Sun Nov  6 08:49:37 1994") forms are not accepted: every AWS service
 * sends IMF-fixdate. */
PL_EXTERN int pl_timestamp_parse_http_date(const char *text, size_t len,
                                           int64_t *epoch_s);

#endif
