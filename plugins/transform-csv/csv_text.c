/* Text checks of the typed columns: UTF-8, calendar dates and RFC 3339
 * timestamps (see csv_text.h). */
#include "csv_text.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none.
 * The same rules as jansson's: no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
size_t csv_utf8_sequence(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

bool csv_text_is_utf8(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
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
    size_t n = csv_utf8_sequence(s + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

/* Value of `n` decimal digits at s, or -1 when one is not a digit. */
static int digits(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!csv_is_digit(s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int days_in_month(int year, int month) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

bool csv_text_is_date(const char *text, size_t len) {
  if (len != 10 || text[4] != '-' || text[7] != '-')
    return false;
  int year = digits(text, 4), month = digits(text + 5, 2),
      day = digits(text + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1)
    return false;
  return day <= days_in_month(year, month);
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
  int hour = digits(t + 1, 2), minute = digits(t + 4, 2),
      second = digits(t + 7, 2);
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
  int off_hour = digits(p + 1, 2), off_minute = digits(p + 4, 2);
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
    size_t n = csv_utf8_sequence(s + i, len - i);
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

