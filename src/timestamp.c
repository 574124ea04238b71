/* Dates and times: parsing, calendar checks and epoch arithmetic (see
 * <pipelined/timestamp.h>). */
#include <pipelined/timestamp.h>

#include <string.h>

/* The largest offset RFC 3339 can write: 23:59. */
#define MAX_OFFSET_S (23 * 3600 + 59 * 60)
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define MIN_EPOCH_S INT64_C(-62167219200)
#define MAX_EPOCH_S INT64_C(253402300799)

/* ---- The calendar ---- */

bool pl_timestamp_is_leap_year(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int pl_timestamp_days_in_month(int64_t year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  if (month != 2)
    return days[month - 1];
  return pl_timestamp_is_leap_year(year) ? 29 : 28;
}

/* Counting from 1 March makes the leap day the last day of a year, so a
 * year's days before a month do not depend on whether it is a leap year;
 * eras of 400 years (146097 days) repeat exactly. */
int64_t pl_timestamp_days_from_civil(int64_t year, int month, int day) {
  int64_t y = year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400; /* 0-399 */
  int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0-146096 */
  return era * 146097 + doe - 719468;
}

/* The inverse of pl_timestamp_days_from_civil(). */
static void civil_from_days(int64_t days, int *year, int *month, int *day) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = (int)(yoe + era * 400 + (*month <= 2));
}

int pl_timestamp_to_epoch(const pl_timestamp_t *ts, int64_t *epoch_s) {
  if (!ts || !epoch_s || ts->year < 0 || ts->year > 9999 || ts->day < 1 ||
      ts->day > pl_timestamp_days_in_month(ts->year, ts->month) ||
      ts->hour < 0 || ts->hour > 23 || ts->minute < 0 || ts->minute > 59 ||
      ts->second < 0 || ts->second > 60 || ts->offset_s < -MAX_OFFSET_S ||
      ts->offset_s > MAX_OFFSET_S)
    return PL_EINVAL;
  *epoch_s =
      pl_timestamp_days_from_civil(ts->year, ts->month, ts->day) * 86400 +
      ts->hour * 3600 + ts->minute * 60 + ts->second - ts->offset_s;
  return 0;
}

int pl_timestamp_from_epoch(int64_t epoch_s, pl_timestamp_t *out) {
  if (!out)
    return PL_EINVAL;
  if (epoch_s < MIN_EPOCH_S || epoch_s > MAX_EPOCH_S)
    return PL_ERANGE;
  /* Floor division: the second before the epoch is day -1, 23:59:59. */
  int64_t days = epoch_s / 86400, secs = epoch_s % 86400;
  if (secs < 0) {
    days--;
    secs += 86400;
  }
  pl_timestamp_t ts = {.hour = (int)(secs / 3600),
                       .minute = (int)(secs / 60 % 60),
                       .second = (int)(secs % 60)};
  civil_from_days(days, &ts.year, &ts.month, &ts.day);
  *out = ts;
  return 0;
}

/* ---- Reading digits ---- */

/* Value of the two decimal digits at s, or -1 when one is not a digit.
 * Unsigned arithmetic makes each test one comparison: a byte below '0'
 * wraps to a large value. */
static inline int two_digits(const char *s) {
  unsigned tens = (unsigned)(unsigned char)s[0] - '0';
  unsigned ones = (unsigned)(unsigned char)s[1] - '0';
  return tens > 9 || ones > 9 ? -1 : (int)(tens * 10 + ones);
}

static inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* ---- RFC 3339 ---- */

int pl_timestamp_parse_date(const char *text, size_t len, pl_timestamp_t *out) {
  if (!text || len != 10 || text[4] != '-' || text[7] != '-')
    return PL_EPARSE;
  int century = two_digits(text), year_of = two_digits(text + 2),
      month = two_digits(text + 5), day = two_digits(text + 8);
  if (century < 0 || year_of < 0 || month < 1 || month > 12 || day < 1)
    return PL_EPARSE;
  int year = century * 100 + year_of;
  /* Every month has 28 days: the calendar is needed only past that. */
  if (day > 28 && day > pl_timestamp_days_in_month(year, month))
    return PL_EPARSE;
  if (out)
    *out = (pl_timestamp_t){.year = year, .month = month, .day = day};
  return 0;
}

/* Reads "[+-]HH:MM" (or "[+-]HHMM" when `basic` is allowed) that ends the
 * text at p into *offset_s. */
static int parse_offset(const char *p, const char *end, bool basic,
                        int *offset_s) {
  int hour, minute;
  if (end - p == 6 && p[3] == ':') {
    hour = two_digits(p + 1);
    minute = two_digits(p + 4);
  } else if (basic && end - p == 5) {
    hour = two_digits(p + 1);
    minute = two_digits(p + 3);
  } else {
    return PL_EPARSE;
  }
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59)
    return PL_EPARSE;
  int offset = hour * 3600 + minute * 60;
  *offset_s = p[0] == '-' ? -offset : offset;
  return 0;
}

int pl_timestamp_parse_rfc3339(const char *text, size_t len, unsigned flags,
                               pl_timestamp_t *out) {
  pl_timestamp_t ts;
  /* Shortest form: 2023-05-01T12:00:00Z (20 bytes). */
  if (!text || len < 20 || pl_timestamp_parse_date(text, 10, &ts) < 0)
    return PL_EPARSE;
  const char *t = text + 10;
  if ((t[0] != 'T' && t[0] != 't' && t[0] != ' ') || t[3] != ':' || t[6] != ':')
    return PL_EPARSE;
  ts.hour = two_digits(t + 1);
  ts.minute = two_digits(t + 4);
  ts.second = two_digits(t + 7);
  if (ts.hour < 0 || ts.hour > 23 || ts.minute < 0 || ts.minute > 59 ||
      ts.second < 0 || ts.second > 60)
    return PL_EPARSE;
  const char *p = t + 9, *end = text + len;
  bool iso = (flags & PL_TIMESTAMP_ISO8601) != 0;
  if (*p == '.' || (iso && *p == ',')) {
    const char *frac = ++p;
    uint32_t ns = 0;
    for (; p < end && is_digit(*p); p++)
      if (p - frac < 9)
        ns = ns * 10 + (uint32_t)(*p - '0');
    if (p == frac)
      return PL_EPARSE;
    for (ptrdiff_t n = p - frac; n < 9; n++)
      ns *= 10;
    ts.nanosecond = ns;
  }
  if (p == end)
    return PL_EPARSE;
  if (*p == 'Z' || *p == 'z') {
    if (p + 1 != end)
      return PL_EPARSE;
  } else if (*p != '+' && *p != '-') {
    return PL_EPARSE;
  } else if (parse_offset(p, end, iso, &ts.offset_s) < 0) {
    return PL_EPARSE;
  }
  if (out)
    *out = ts;
  return 0;
}

/* ---- HTTP-date ---- */

/* The index (0-based) of the three bytes at s in `names`, a run of
 * three-letter names, or -1. Compared as bytes: the locale plays no part. */
static int name_index(const char *s, const char *names, int count) {
  for (int i = 0; i < count; i++)
    if (memcmp(s, names + 3 * i, 3) == 0)
      return i;
  return -1;
}

int pl_timestamp_parse_http_date(const char *text, size_t len,
                                 int64_t *epoch_s) {
  /* "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 bytes. The day name
   * is checked but carries no information. */
  if (!text || len != 29 || text[3] != ',' || text[4] != ' ' ||
      text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text[19] != ':' ||
      text[22] != ':' || text[25] != ' ' || memcmp(text + 26, "GMT", 3) != 0)
    return PL_EPARSE;
  int month = name_index(text + 8, "JanFebMarAprMayJunJulAugSepOctNovDec", 12);
  int century = two_digits(text + 12), year_of = two_digits(text + 14);
  pl_timestamp_t ts = {
      .year = century * 100 + year_of,
      .month = month + 1,
      .day = two_digits(text + 5),
      .hour = two_digits(text + 17),
      .minute = two_digits(text + 20),
      .second = two_digits(text + 23),
  };
  if (name_index(text, "MonTueWedThuFriSatSun", 7) < 0 || month < 0 ||
      century < 0 || year_of < 0)
    return PL_EPARSE;
  /* pl_timestamp_to_epoch() checks the other fields' ranges. */
  int64_t t;
  if (pl_timestamp_to_epoch(&ts, &t) < 0)
    return PL_EPARSE;
  if (epoch_s)
    *epoch_s = t;
  return 0;
}
