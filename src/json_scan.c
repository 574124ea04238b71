/* The strict JSON text scanner (see <pipelined/json_scan.h>). */
#include <stdlib.h>
#include <string.h>

#include <pipelined/json_scan.h>

#include "json_plain.h"

/* Whether `c` may follow a backslash: \u is left to jansson. */
static bool simple_escape(char c) {
  switch (c) {
  case '"':
  case '\\':
  case '/':
  case 'b':
  case 'f':
  case 'n':
  case 'r':
  case 't':
    return true;
  default:
    return false;
  }
}

/* The bytes a string holds as they are: ASCII but for control
 * characters, the quote and the backslash. One load a byte. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x80 and above: UTF-8 sequences, checked one by one. */
};

bool pl_json_scan_string(pl_json_scan_t *s, pl_json_scan_str_t *out) {
  if (!pl_json_scan_take(s, '"'))
    return false;
  const char *start = s->p;
  size_t len = 0;
  while (s->p < s->end) {
    /* A run of plain ASCII first: most of every answer. */
    const char *run = s->p;
#ifdef PL__JSON_PLAIN_VECTOR
    /* 16 bytes at a time while they are plain (ids, MD5s, message ids). */
    while (s->end - run >= 16) {
      unsigned care = pl__json_care16(run);
      if (care) {
        run += __builtin_ctz(care);
        break;
      }
      run += 16;
    }
#endif
    while (run < s->end && plain[(unsigned char)*run])
      run++;
    len += (size_t)(run - s->p);
    s->p = run;
    if (s->p >= s->end)
      break;
    unsigned char c = (unsigned char)*s->p;
    if (c == '"') {
      *out = (pl_json_scan_str_t){.raw = start,
                                  .raw_len = (size_t)(s->p - start),
                                  .len = len,
                                  .present = true};
      s->p++;
      return true;
    }
    if (c < 0x20)
      return false; /* a control character, NUL included */
    if (c == '\\') {
      if (!(s->flags & PL_JSON_SCAN_ESCAPES) || s->p + 1 >= s->end ||
          !simple_escape(s->p[1]))
        return false;
      s->p += 2;
      len++;
      continue;
    }
    size_t n =
        pl_utf8_sequence((const unsigned char *)s->p, (size_t)(s->end - s->p));
    if (n == 0)
      return false;
    s->p += n;
    len += n;
  }
  return false;
}

bool pl_json_scan_key(pl_json_scan_t *s, pl_json_scan_str_t *key) {
  return pl_json_scan_string(s, key) && key->len == key->raw_len &&
         pl_json_scan_take(s, ':');
}

static bool is_digit(const pl_json_scan_t *s) {
  return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* An integer of JSON's grammar and at most PL_JSON_SCAN_MAX_DIGITS
 * digits, not followed by a fraction or an exponent (jansson's to read). */
static bool scan_integer(pl_json_scan_t *s) {
  if (s->p < s->end && *s->p == '-')
    s->p++;
  const char *digits = s->p;
  if (!is_digit(s))
    return false;
  if (*s->p == '0') {
    s->p++;
  } else {
    while (is_digit(s))
      s->p++;
  }
  if (s->p - digits > PL_JSON_SCAN_MAX_DIGITS)
    return false;
  return !(s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'));
}

static bool scan_word(pl_json_scan_t *s, const char *word, size_t n) {
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return false;
  s->p += n;
  return true;
}

/* The rest of an object or array after its opening character. */
static bool skip_members(pl_json_scan_t *s, char close, bool object) {
  if (pl_json_scan_take(s, close))
    return true;
  do {
    pl_json_scan_str_t key;
    if ((object && !pl_json_scan_key(s, &key)) || !pl_json_scan_skip(s))
      return false;
  } while (pl_json_scan_take(s, ','));
  return pl_json_scan_take(s, close);
}

bool pl_json_scan_skip(pl_json_scan_t *s) {
  pl_json_scan_ws(s);
  if (s->p >= s->end)
    return false;
  bool scalars = s->flags & PL_JSON_SCAN_SCALARS;
  switch (*s->p) {
  case '{':
  case '[': {
    if (!pl_json_scan_enter(s))
      return false;
    char open = *s->p++;
    bool ok = skip_members(s, open == '{' ? '}' : ']', open == '{');
    s->depth--;
    return ok;
  }
  case '"': {
    pl_json_scan_str_t ignored;
    return pl_json_scan_string(s, &ignored);
  }
  case 't':
    return scalars && scan_word(s, "true", 4);
  case 'f':
    return scalars && scan_word(s, "false", 5);
  case 'n':
    return scalars && scan_word(s, "null", 4);
  default:
    return scalars && scan_integer(s);
  }
}

bool pl_json_scan_member(pl_json_scan_t *s, bool *first,
                         pl_json_scan_str_t *key, bool *ok) {
  if (*first) {
    *first = false;
    if (!pl_json_scan_take(s, '{')) {
      *ok = false;
      return false;
    }
    if (pl_json_scan_take(s, '}'))
      return false;
  } else if (!pl_json_scan_take(s, ',')) {
    if (!pl_json_scan_take(s, '}'))
      *ok = false;
    return false;
  }
  if (!pl_json_scan_key(s, key)) {
    *ok = false;
    return false;
  }
  return true;
}

void pl_json_scan_str_unescape(const pl_json_scan_str_t *str, char *dst) {
  if (str->len == str->raw_len) {
    if (str->len > 0) /* a string never scanned has no raw text */
      memcpy(dst, str->raw, str->len);
    dst[str->len] = '\0';
    return;
  }
  const char *p = str->raw, *end = str->raw + str->raw_len;
  while (p < end) {
    if (*p != '\\') {
      *dst++ = *p++;
      continue;
    }
    char e = p[1];
    p += 2;
    *dst++ = e == 'b'   ? '\b'
             : e == 'f' ? '\f'
             : e == 'n' ? '\n'
             : e == 'r' ? '\r'
             : e == 't' ? '\t'
                        : e; /* '"', '\\' and '/' stand for themselves */
  }
  *dst = '\0';
}

char *pl_json_scan_str_dup(const pl_json_scan_str_t *str) {
  char *copy = malloc(str->len + 1);
  if (copy)
    pl_json_scan_str_unescape(str, copy);
  return copy;
}
