/* libFuzzer harness for the date and time parser (src/timestamp.c): every
 * entry point on the same bytes, the whole input as the text (it is not
 * NUL-terminated, so a read past its length is caught by ASan).
 *
 * Checked: a date that parses has ten bytes and its fields round-trip
 * through seconds since the epoch; an RFC 3339 timestamp that parses
 * converts to seconds, and back to the same civil fields at its own offset
 * (a leap second excepted, which is the next minute's second 0); whatever
 * RFC 3339 accepts, the lenient ISO 8601 flag accepts with the same
 * fields; an HTTP-date that parses has 29 bytes and prints back the same
 * (from its date, the day name aside) unless it names second 60. */
#include <pipelined/timestamp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run at the first broken promise, naming the check's line. */
static void check_at(bool ok, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

static bool same_civil(const pl_timestamp_t *a, const pl_timestamp_t *b) {
  return a->year == b->year && a->month == b->month && a->day == b->day &&
         a->hour == b->hour && a->minute == b->minute && a->second == b->second;
}

static void check_date(const char *text, size_t len) {
  pl_timestamp_t ts;
  if (pl_timestamp_parse_date(text, len, &ts) != 0)
    return;
  check(len == 10);
  int64_t t;
  check(pl_timestamp_to_epoch(&ts, &t) == 0);
  check(t % 86400 == 0);
  pl_timestamp_t back;
  check(pl_timestamp_from_epoch(t, &back) == 0);
  check(same_civil(&ts, &back));
}

static void check_rfc3339(const char *text, size_t len) {
  pl_timestamp_t strict, lenient;
  int strict_rc = pl_timestamp_parse_rfc3339(text, len, 0, &strict);
  int lenient_rc =
      pl_timestamp_parse_rfc3339(text, len, PL_TIMESTAMP_ISO8601, &lenient);
  check(strict_rc == 0 || strict_rc == PL_EPARSE);
  check(lenient_rc == 0 || lenient_rc == PL_EPARSE);
  if (strict_rc == 0)
    check(lenient_rc == 0 && memcmp(&strict, &lenient, sizeof strict) == 0);
  if (lenient_rc != 0)
    return;
  check(len >= 20 && lenient.nanosecond < 1000000000u);
  int64_t t;
  check(pl_timestamp_to_epoch(&lenient, &t) == 0);
  /* t + offset is the written civil time read as UTC, so always in range,
   * but for a leap second, which is the next minute's second 0 (and on
   * 9999-12-31 past the last second). */
  if (lenient.second == 60)
    return;
  pl_timestamp_t back;
  check(pl_timestamp_from_epoch(t + lenient.offset_s, &back) == 0);
  check(same_civil(&lenient, &back));
}

static void check_http_date(const char *text, size_t len) {
  int64_t t;
  if (pl_timestamp_parse_http_date(text, len, &t) != 0)
    return;
  check(len == 29);
  if (memcmp(text + 23, "60", 2) == 0)
    return;
  pl_timestamp_t ts;
  check(pl_timestamp_from_epoch(t, &ts) == 0);
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char printed[32];
  snprintf(printed, sizeof printed, "%02d %.3s %04d %02d:%02d:%02d GMT", ts.day,
           months + 3 * (ts.month - 1), ts.year, ts.hour, ts.minute, ts.second);
  check(memcmp(printed, text + 5, 24) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy of exactly `size` bytes: a read past the end is an ASan error. */
  char *text = malloc(size ? size : 1);
  if (!text)
    return 0;
  if (size)
    memcpy(text, data, size);
  check_date(text, size);
  check_rfc3339(text, size);
  check_http_date(text, size);
  free(text);
  return 0;
}
