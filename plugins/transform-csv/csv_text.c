/* Text checks of the typed columns: UTF-8, calendar dates and RFC 3339
 * timestamps (see csv_text.h). */
#include "csv_text.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none.
 * The same rules as jansson's: no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
bool csv_text_is_utf8(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  if (len >= 8 && len <= 16) {
    /* The usual field: two overlapping words without a high bit are ASCII,
     * settled without a loop. */
    uint64_t head, tail;
    memcpy(&head, s, 8);
    memcpy(&tail, s + len - 8, 8);
    if (((head | tail) & UINT64_C(0x8080808080808080)) == 0)
      return true;
  }
  size_t i = 0;
  /* Most fields are ASCII: test eight bytes at a time for a high bit. */
  while (len - i >= 8) {
    uint64_t word;
    memcpy(&word, s + i, 8);
    if (word & UINT64_C(0x8080808080808080))
      break;
    i += 8;
  }
  while (i < len) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = pl_utf8_sequence(s + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

/* At most this many digits cannot overflow 64 bits (10^18 - 1 < 2^63). */
#define SHORT_INT_DIGITS 18

int csv_text_parse_int(const char *s, size_t len, json_int_t *out) {
  size_t i = 0;
  bool negative = false;
  if (len > 0 && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == len)
    return PL_EPARSE;
  if (len - i <= SHORT_INT_DIGITS) {
    /* The usual field: no overflow check (a division) per digit. */
    uint64_t v = 0;
    for (; i < len; i++) {
      unsigned d = (unsigned)(unsigned char)s[i] - '0';
      if (d > 9)
        return PL_EPARSE;
      v = v * 10 + d;
    }
    *out = negative ? -(json_int_t)v : (json_int_t)v;
    return 0;
  }
  /* The magnitude limit is 2^63 - 1, or 2^63 for a negative value. */
  const uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
  uint64_t v = 0;
  bool overflow = false;
  for (; i < len; i++) {
    if (!csv_is_digit(s[i]))
      return PL_EPARSE;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10)
      overflow = true; /* keep going: "99999999999999999999x" is EPARSE */
    else
      v = v * 10 + d;
  }
  if (overflow)
    return PL_ERANGE;
  if (negative)
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v;
  else
    *out = (json_int_t)v;
  return 0;
}

/* Value of the two decimal digits at s, or -1 when one is not a digit.
 * Unsigned arithmetic makes each test one comparison: a byte below '0'
 * wraps to a large value. */
static inline int two_digits(const char *s) {
  unsigned tens = (unsigned)(unsigned char)s[0] - '0';
  unsigned ones = (unsigned)(unsigned char)s[1] - '0';
  return tens > 9 || ones > 9 ? -1 : (int)(tens * 10 + ones);
}

static int days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month != 2)
    return days[month - 1];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return leap ? 29 : 28;
}

bool csv_text_is_date(const char *text, size_t len) {
  if (len != 10 || text[4] != '-' || text[7] != '-')
    return false;
  int century = two_digits(text), year_of = two_digits(text + 2),
      month = two_digits(text + 5), day = two_digits(text + 8);
  if (century < 0 || year_of < 0 || month < 1 || month > 12 || day < 1)
    return false;
  /* Every month has 28 days: the calendar is needed only past that. */
  return day <= 28 || day <= days_in_month(century * 100 + year_of, month);
}

bool csv_text_is_timestamp(const char *text, size_t len) {
  /* Shortest form: 2023-05-01T12:00:00Z (20 bytes). */
  if (len < 20 || !csv_text_is_date(text, 10))
    return false;
  const char *t = text + 10;
  if (t[0] != 'T' && t[0] != 't' && t[0] != ' ')
    return false;
  if (t[3] != ':' || t[6] != ':')
    return false;
  int hour = two_digits(t + 1), minute = two_digits(t + 4),
      second = two_digits(t + 7);
  /* Second 60 is a leap second, which RFC 3339 allows. */
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60)
    return false;
  const char *p = t + 9, *end = text + len;
  if (*p == '.') {
    const char *frac = ++p;
    while (p < end && csv_is_digit(*p))
      p++;
    if (p == frac)
      return false;
  }
  if (p == end)
    return false;
  if (*p == 'Z' || *p == 'z')
    return p + 1 == end;
  if ((*p != '+' && *p != '-') || end - p != 6 || p[3] != ':')
    return false;
  int off_hour = two_digits(p + 1), off_minute = two_digits(p + 4);
  return off_hour >= 0 && off_hour <= 23 && off_minute >= 0 &&
         off_minute <= 59;
}


/* Copies at most CSV_QUOTE_MAX_BYTES of text into dst for a reason, escaping
 * control characters and invalid UTF-8 so the reason stays valid UTF-8
 * whatever the input was. */
void csv_quote_text(char dst[CSV_QUOTE_BUF_SIZE], const char *text,
                       size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, o = 0;
  while (i < len && i < CSV_QUOTE_MAX_BYTES) {
    size_t n = pl_utf8_sequence(s + i, len - i);
    if (n > 0 && s[i] >= 0x20 && s[i] != 0x7F) {
      if (i + n > CSV_QUOTE_MAX_BYTES)
        break; /* never cut a character in two */
      memcpy(dst + o, s + i, n);
      o += n;
      i += n;
    } else {
      dst[o++] = '\\';
      dst[o++] = 'x';
      dst[o++] = hex[s[i] >> 4];
      dst[o++] = hex[s[i] & 0xF];
      i++;
    }
  }
  if (i < len) {
    memcpy(dst + o, "...", 3);
    o += 3;
  }
  dst[o] = '\0';
}

const char *csv_json_type_word(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "object";
  case JSON_ARRAY:
    return "array";
  case JSON_STRING:
    return "string";
  case JSON_INTEGER:
    return "int";
  case JSON_REAL:
    return "number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "bool";
  case JSON_NULL:
    return "null";
  }
  return "unknown";
}

