/* Decimal text of integers without printf, for the hot paths: the JSON
 * writer (json.c) and pl_buf_append_int() (common.c). Internal to
 * libpipelined. */
#ifndef PL_DECIMAL_H
#define PL_DECIMAL_H

#include <stddef.h>
#include <string.h>

/* The most a pl__decimal_write() takes: a '-' and 20 digits. */
#define PL_DECIMAL_ROOM 21

/* Decimal digits of `u` (1 to 20). */
static inline size_t pl__decimal_count(unsigned long long u) {
  size_t n = 1;
  while (u >= 100) {
    u /= 100;
    n += 2;
  }
  return u >= 10 ? n + 1 : n;
}

/* Writes `value` in decimal at `p`, which has PL_DECIMAL_ROOM bytes (no
 * NUL); returns the end. The digits go straight to their place, two at a time,
 * from the last pair on. */
static inline char *pl__decimal_write(char *p, long long value) {
  static const char pairs[] = "00010203040506070809"
                              "10111213141516171819"
                              "20212223242526272829"
                              "30313233343536373839"
                              "40414243444546474849"
                              "50515253545556575859"
                              "60616263646566676869"
                              "70717273747576777879"
                              "80818283848586878889"
                              "90919293949596979899";
  /* Through unsigned arithmetic, so that the most negative value works. */
  unsigned long long u =
      value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
  if (value < 0)
    *p++ = '-';
  char *end = p + pl__decimal_count(u);
  char *q = end;
  while (u >= 100) {
    unsigned two = (unsigned)(u % 100);
    u /= 100;
    q -= 2;
    memcpy(q, pairs + 2 * two, 2);
  }
  if (u >= 10)
    memcpy(q - 2, pairs + 2 * u, 2);
  else
    q[-1] = (char)('0' + u);
  return end;
}

#endif
