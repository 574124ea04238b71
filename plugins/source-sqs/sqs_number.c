/* The numbers of a message body the daemon cannot keep (see
 * sqs_number.h). */
#include "sqs_number.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A double holds every decimal of this many significant digits apart, and
 * its shortest text never has more. */
#define MAX_DIGITS 17
/* Decimals of at most this many significant digits (DBL_DIG), with a
 * decimal exponent within SURE_EXPONENT either way (doubles are normal
 * from about 1e-308 to 1e308), survive a double. */
#define SURE_DIGITS 15
#define SURE_EXPONENT 300
/* Levels of nesting named in a reason; deeper ones are "...". */
#define PATH_LEVELS 32
/* The longest number quoted whole in a reason. */
#define QUOTED 64

/* A decimal number as 0.d1d2...dn x 10^exponent, d1 not 0 (n = 0 for
 * zero), with at most MAX_DIGITS digits kept of `count`. */
typedef struct decimal {
  char digits[MAX_DIGITS];
  size_t count;
  long exponent;
  bool negative;
  bool integer; /* written without a fraction or an exponent */
} decimal_t;

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Reads the number of `n` bytes at `p` (JSON's grammar, or C's %e
 * output) into *d. */
static void decimal_read(const char *p, size_t n, decimal_t *d) {
  const char *end = p + n;
  *d = (decimal_t){.integer = true};
  if (p < end && *p == '-') {
    d->negative = true;
    p++;
  }
  /* Digits before the point, and the place of the first that is not 0
   * among all of them. */
  long whole = 0, index = 0, first = -1;
  bool fraction = false;
  size_t zeros = 0; /* zeros after a digit, counted once one follows */
  for (; p < end && (is_digit(*p) || (*p == '.' && !fraction)); p++) {
    if (*p == '.') {
      fraction = true;
      d->integer = false;
      continue;
    }
    whole += !fraction;
    if (first < 0 && *p != '0')
      first = index;
    index++;
    if (first < 0)
      continue;
    if (*p == '0') {
      zeros++;
      continue;
    }
    for (; zeros > 0; zeros--, d->count++)
      if (d->count < MAX_DIGITS)
        d->digits[d->count] = '0';
    if (d->count < MAX_DIGITS)
      d->digits[d->count] = *p;
    d->count++;
  }
  long exponent = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    d->integer = false;
    bool negative = ++p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+'))
      p++;
    for (; p < end && is_digit(*p); p++)
      if (exponent < 1000000)
        exponent = exponent * 10 + (*p - '0');
    if (negative)
      exponent = -exponent;
  }
  d->exponent = d->count ? whole - first + exponent : 0;
}

static bool decimal_equal(const decimal_t *a, const decimal_t *b) {
  return a->count == b->count && a->exponent == b->exponent &&
         a->negative == b->negative &&
         memcmp(a->digits, b->digits, a->count) == 0;
}

/* True when an integer's text fits json_int_t (64 bits). */
static bool integer_fits(const char *p, size_t n) {
  bool negative = *p == '-';
  p += negative;
  n -= negative;
  while (n > 1 && *p == '0') {
    p++;
    n--;
  }
  static const char max[] = "9223372036854775807";
  size_t digits = sizeof(max) - 1;
  if (n != digits)
    return n < digits;
  int cmp = memcmp(p, max, digits);
  return cmp <= 0 || (negative && memcmp(p, "9223372036854775808", n) == 0);
}

/* What the daemon keeps of a real number: its double, written as its
 * shortest text (pl_buf_append_real(), as the sinks write it), into
 * `text`. False when the double is infinite, or out of memory. */
static bool kept_text(const decimal_t *d, char *text, size_t size) {
  /* The number rewritten short (0.digits e exponent): the same value
   * however many zeros the body spelled. */
  char canonical[MAX_DIGITS + 32];
  snprintf(canonical, sizeof(canonical), "%s0.%.*se%ld", d->negative ? "-" : "",
           (int)d->count, d->digits, d->exponent);
  double value = strtod(canonical, NULL);
  if (isinf(value))
    return false;
  pl_buf_t shortest = {0};
  bool ok = pl_buf_append_real(&shortest, value) == 0;
  if (ok)
    snprintf(text, size, "%s", shortest.data);
  pl_buf_free(&shortest);
  return ok;
}

/* One level of the walk: the member or element being read. */
typedef struct level {
  bool array;
  const char *key; /* as written, escapes and all */
  size_t key_len;
  size_t index;
} level_t;

typedef struct walk {
  level_t levels[PATH_LEVELS];
  size_t depth;
} walk_t;

static int say(const walk_t *w, const char *number, size_t n,
               const char *becomes, pl_buf_t *reason) {
  int rc = 0;
  size_t named = w->depth < PATH_LEVELS ? w->depth : PATH_LEVELS;
  if (named > 0)
    rc = pl_buf_append_str(reason, "field ");
  for (size_t i = 0; rc == 0 && i < named; i++) {
    const level_t *l = &w->levels[i];
    if (l->array)
      rc = pl_buf_printf(reason, "[%zu]", l->index);
    else
      rc = pl_buf_printf(reason, "%s%.*s", i ? "." : "", (int)l->key_len,
                         l->key ? l->key : "");
  }
  if (rc == 0 && w->depth > named)
    rc = pl_buf_append_str(reason, "...");
  if (rc == 0)
    rc = pl_buf_printf(reason, "%sthe number %.*s%s ", named ? ": " : "",
                       (int)(n > QUOTED ? QUOTED : n), number,
                       n > QUOTED ? "..." : "");
  if (rc == 0 && becomes)
    rc = pl_buf_printf(reason,
                       "would become %s (the daemon keeps 64-bit integers "
                       "and numbers of at most 17 significant digits that a "
                       "double holds)",
                       becomes);
  else if (rc == 0)
    rc = pl_buf_append_str(reason, "is beyond what the daemon keeps (64-bit "
                                   "integers, 17 significant digits)");
  return rc < 0 ? PL_ENOMEM : PL_EPARSE;
}

/* 0 when the number of `n` bytes at `p` is kept exactly; otherwise the
 * reason said. */
static int check_number(const walk_t *w, const char *p, size_t n,
                        pl_buf_t *reason) {
  decimal_t d;
  decimal_read(p, n, &d);
  if (d.integer)
    return integer_fits(p, n) ? 0 : say(w, p, n, NULL, reason);
  if (d.count == 0)
    return 0; /* a zero: a double holds it */
  /* The usual number: a double holds every decimal of at most 15
   * significant digits (DBL_DIG) between its smallest and largest normal
   * values, and its shortest text is that decimal; no conversion
   * needed. */
  if (d.count <= SURE_DIGITS && d.exponent > -SURE_EXPONENT &&
      d.exponent < SURE_EXPONENT)
    return 0;
  char text[40];
  if (d.count > MAX_DIGITS || !kept_text(&d, text, sizeof(text)))
    return say(w, p, n, NULL, reason);
  decimal_t kept;
  decimal_read(text, strlen(text), &kept);
  return decimal_equal(&d, &kept) ? 0 : say(w, p, n, text, reason);
}

/* The end of the string whose first byte (after its quote) is at `p`:
 * its closing quote, or `end`. */
static const char *string_end(const char *p, const char *end) {
  const char *start = p;
  for (;;) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q)
      return end;
    size_t backslashes = 0;
    while (q - backslashes > start && q[-1 - (ptrdiff_t)backslashes] == '\\')
      backslashes++;
    if (backslashes % 2 == 0)
      return q;
    p = q + 1;
  }
}

int sqs_numbers_check(const char *text, size_t len, pl_buf_t *reason) {
  /* Levels are set as they open: not zeroed for every body. */
  walk_t w;
  w.depth = 0;
  const char *p = text, *end = text + len;
  const char *string = NULL;
  size_t string_len = 0;
  while (p < end) {
    level_t *top =
        w.depth > 0 && w.depth <= PATH_LEVELS ? &w.levels[w.depth - 1] : NULL;
    switch (*p) {
    case '"': {
      const char *close = string_end(p + 1, end);
      string = p + 1;
      string_len = (size_t)(close - string);
      p = close + (close < end);
      continue;
    }
    case ':':
      if (top && !top->array) {
        top->key = string;
        top->key_len = string_len;
      }
      break;
    case ',':
      if (top && top->array)
        top->index++;
      break;
    case '{':
    case '[':
      if (w.depth < PATH_LEVELS)
        w.levels[w.depth] = (level_t){.array = *p == '['};
      w.depth++;
      break;
    case '}':
    case ']':
      if (w.depth > 0)
        w.depth--;
      break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
      const char *start = p;
      while (p < end && (is_digit(*p) || *p == '-' || *p == '+' || *p == '.' ||
                         *p == 'e' || *p == 'E'))
        p++;
      int rc = check_number(&w, start, (size_t)(p - start), reason);
      if (rc < 0)
        return rc;
      continue;
    }
    default:
      break;
    }
    p++;
  }
  return 0;
}
