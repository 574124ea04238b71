/* A compact JSON writer over jansson values: the same text as
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), several times faster (a
 * record per row is the hot path of every sink that writes JSON). */
#include <stdint.h>
#include <string.h>

#include <pipelined/json.h>

/* The flags whose output jsonl_encode_value reproduces. */
#define PL_JSON_JANSSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* Room for a number, a literal or punctuation: more than jansson ever
 * writes for a real (its limit is 100 characters). */
#define PL_JSON_SCALAR_ROOM 128

static const char *const why_utf8 = "a string is not valid UTF-8";
static const char *const why_depth =
    "the value is nested deeper than 2048 levels (or holds a reference cycle)";
static const char *const why_real = "a real number cannot be encoded";

/* Makes room for `n` more bytes and the NUL. Inline: it runs for every
 * token, and almost always finds the room there. */
static inline int ensure(pl_buf_t *out, size_t n) {
  if (out->cap - out->len > n)
    return 0;
  return pl_buf_reserve(out, n);
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes) at `s`, 0 when the
 * bytes are not one (overlong forms, surrogates and code points above
 * U+10FFFF are invalid, as in jansson). */
static size_t utf8_sequence(const unsigned char *s, size_t avail) {
  unsigned c = s[0];
  size_t len;
  uint32_t cp;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (avail < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* True when none of the 8 bytes in `w` needs care: no control character,
 * quote, backslash or non-ASCII byte. The usual bit tricks for "has a byte
 * below n / equal to c" can report a byte that is fine next to one that is
 * not, never miss one: a word they flag goes byte by byte. */
static inline bool plain_word(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u;
  const uint64_t highs = 0x8080808080808080u;
  uint64_t below_space = w - ones * 0x20;
  uint64_t quote = (w ^ (ones * '"')) - ones;
  uint64_t backslash = (w ^ (ones * '\\')) - ones;
  return ((((below_space | quote | backslash) & ~w) | w) & highs) == 0;
}

#define PLAIN_ROW(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
/* The bytes a JSON string holds as they are: printable ASCII (and DEL)
 * except the quote and the backslash. */
static const bool plain_byte[256] = {
    PLAIN_ROW(false), PLAIN_ROW(false),                              /* 0x00 */
    true, true, false, true, true, true, true, true,                 /* 0x20 */
    true, true, true, true, true, true, true, true,                  /* 0x28 */
    PLAIN_ROW(true), PLAIN_ROW(true),                                /* 0x30 */
    true, true, true, true, true, true, true, true,                  /* 0x50 */
    true, true, true, true, false, true, true, true,                 /* 0x58 */
    PLAIN_ROW(true), PLAIN_ROW(true),                                /* 0x60 */
    PLAIN_ROW(false), PLAIN_ROW(false), PLAIN_ROW(false), PLAIN_ROW(false),
    PLAIN_ROW(false), PLAIN_ROW(false), PLAIN_ROW(false), PLAIN_ROW(false),
};
#undef PLAIN_ROW

/* The most a string of `len` bytes takes, quotes included (every byte as
 * \u00XX), or 0 when that does not fit a size_t. */
static inline size_t string_room(size_t len) {
  return len > (SIZE_MAX - 2) / 6 ? 0 : len * 6 + 2;
}

/* Writes `len` bytes at `s` as the inside of a JSON string at `p`, from the
 * first byte that may need care on. Returns the end, or NULL when the text
 * is not UTF-8. */
static char *write_careful(char *p, const unsigned char *s, size_t len,
                           const char **why) {
  static const char hex[] = "0123456789ABCDEF"; /* as jansson */
  const unsigned char *end = s + len;
  while (s < end) {
    while (end - s >= 8) {
      uint64_t word;
      memcpy(&word, s, 8);
      if (!plain_word(word))
        break;
      memcpy(p, &word, 8);
      p += 8;
      s += 8;
    }
    while (s < end && plain_byte[*s])
      *p++ = (char)*s++;
    if (s == end)
      break;
    unsigned char c = *s;
    if (c >= 0x80) {
      size_t n = utf8_sequence(s, (size_t)(end - s));
      if (n == 0) {
        *why = why_utf8;
        return NULL;
      }
      memcpy(p, s, n);
      p += n;
      s += n;
      continue;
    }
    *p++ = '\\';
    switch (c) {
    case '"':
    case '\\':
      *p++ = (char)c;
      break;
    case '\b':
      *p++ = 'b';
      break;
    case '\f':
      *p++ = 'f';
      break;
    case '\n':
      *p++ = 'n';
      break;
    case '\r':
      *p++ = 'r';
      break;
    case '\t':
      *p++ = 't';
      break;
    default:
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 0xF];
      break;
    }
    s++;
  }
  return p;
}

/* Writes `len` bytes as a JSON string at `p`, which has string_room(len)
 * bytes, escaping what JSON requires and nothing else (jansson's choice
 * without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH). Returns the end, or
 * NULL when the text is not UTF-8. Plain text, the usual case, is copied a
 * word at a time, the last word overlapping the one before it. */
static inline char *write_string(char *p, const char *text, size_t len,
                                 const char **why) {
  const unsigned char *s = (const unsigned char *)text;
  *p++ = '"';
  size_t done = 0;
  if (len >= 8) {
    uint64_t word;
    bool plain = true;
    while (plain && done + 8 < len) {
      memcpy(&word, s + done, 8);
      plain = plain_word(word);
      if (plain) {
        memcpy(p + done, &word, 8);
        done += 8;
      }
    }
    if (plain) {
      memcpy(&word, s + len - 8, 8);
      if (plain_word(word)) {
        memcpy(p + len - 8, &word, 8);
        p[len] = '"';
        return p + len + 1;
      }
    }
  }
  p = write_careful(p + done, s + done, len - done, why);
  if (p)
    *p++ = '"';
  return p;
}

static int put_string(pl_buf_t *out, const char *text, size_t len,
                      const char **why) {
  size_t room = string_room(len);
  if (room == 0 || ensure(out, room) < 0)
    return PL_ENOMEM;
  char *p = write_string(out->data + out->len, text, len, why);
  if (!p)
    return PL_EINVAL;
  out->len = (size_t)(p - out->data);
  return 0;
}

static int put_integer(pl_buf_t *out, json_int_t value) {
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
  if (ensure(out, PL_JSON_SCALAR_ROOM) < 0)
    return PL_ENOMEM;
  char digits[24];
  char *end = digits + sizeof(digits);
  char *q = end;
  /* Through unsigned arithmetic, so that the most negative value works. */
  unsigned long long u =
      value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
  while (u >= 100) {
    unsigned two = (unsigned)(u % 100);
    u /= 100;
    q -= 2;
    memcpy(q, pairs + 2 * two, 2);
  }
  if (u >= 10) {
    q -= 2;
    memcpy(q, pairs + 2 * u, 2);
  } else {
    *--q = (char)('0' + u);
  }
  if (value < 0)
    *--q = '-';
  memcpy(out->data + out->len, q, (size_t)(end - q));
  out->len += (size_t)(end - q);
  return 0;
}

/* Reals are rare in records and their shortest exact text is subtle:
 * jansson formats them, so that the output stays identical to its own. */
static int put_real(pl_buf_t *out, const json_t *value, const char **why) {
  if (ensure(out, PL_JSON_SCALAR_ROOM) < 0)
    return PL_ENOMEM;
  size_t room = out->cap - out->len - 1;
  size_t n = json_dumpb(value, out->data + out->len, room, PL_JSON_JANSSON_FLAGS);
  if (n == 0 || n > room) {
    *why = why_real;
    return PL_EINVAL;
  }
  out->len += n;
  return 0;
}

static int put_literal(pl_buf_t *out, const char *text, size_t len) {
  if (ensure(out, len) < 0)
    return PL_ENOMEM;
  memcpy(out->data + out->len, text, len);
  out->len += len;
  return 0;
}

static inline int put_char(pl_buf_t *out, char c) {
  if (ensure(out, 1) < 0)
    return PL_ENOMEM;
  out->data[out->len++] = c;
  return 0;
}

static int put_value(pl_buf_t *out, const json_t *value, int depth,
                     const char **why);

static int put_object(pl_buf_t *out, const json_t *object, int depth,
                      const char **why) {
  int rc = put_char(out, '{');
  bool first = true;
  /* The iterator walks keys in insertion order; the API takes a
   * non-const object although iterating does not change it. */
  for (void *it = json_object_iter((json_t *)object); it && rc == 0;
       it = json_object_iter_next((json_t *)object, it)) {
    const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
    size_t key_len = json_object_iter_key_len(it);
#else
    size_t key_len = strlen(key);
#endif
    /* The separator, the key and the colon in one reservation. */
    size_t room = string_room(key_len);
    if (room == 0 || room > SIZE_MAX - 2 || ensure(out, room + 2) < 0)
      return PL_ENOMEM;
    char *p = out->data + out->len;
    if (!first)
      *p++ = ',';
    first = false;
    p = write_string(p, key, key_len, why);
    if (!p)
      return PL_EINVAL;
    *p++ = ':';
    out->len = (size_t)(p - out->data);
    /* Strings and integers, the usual members, skip the dispatch on the
     * type (an indirect jump that mispredicts from member to member). */
    const json_t *value = json_object_iter_value(it);
    if (json_is_string(value))
      rc = put_string(out, json_string_value(value), json_string_length(value),
                      why);
    else if (json_is_integer(value))
      rc = put_integer(out, json_integer_value(value));
    else
      rc = put_value(out, value, depth + 1, why);
  }
  return rc == 0 ? put_char(out, '}') : rc;
}

static int put_array(pl_buf_t *out, const json_t *array, int depth,
                     const char **why) {
  int rc = put_char(out, '[');
  size_t count = json_array_size(array);
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (i > 0)
      rc = put_char(out, ',');
    if (rc == 0)
      rc = put_value(out, json_array_get(array, i), depth + 1, why);
  }
  return rc == 0 ? put_char(out, ']') : rc;
}

static int put_value(pl_buf_t *out, const json_t *value, int depth,
                     const char **why) {
  if (depth > PL_JSON_MAX_DEPTH) {
    *why = why_depth;
    return PL_EINVAL;
  }
  switch (json_typeof(value)) {
  case JSON_OBJECT:
    return put_object(out, value, depth, why);
  case JSON_ARRAY:
    return put_array(out, value, depth, why);
  case JSON_STRING:
    return put_string(out, json_string_value(value), json_string_length(value),
                      why);
  case JSON_INTEGER:
    return put_integer(out, json_integer_value(value));
  case JSON_REAL:
    return put_real(out, value, why);
  case JSON_TRUE:
    return put_literal(out, "true", 4);
  case JSON_FALSE:
    return put_literal(out, "false", 5);
  case JSON_NULL:
    return put_literal(out, "null", 4);
  }
  return PL_EINVAL;
}

int pl_json_encode(const json_t *value, pl_buf_t *out, const char **why) {
  const char *ignored;
  if (!why)
    why = &ignored;
  if (!value) {
    *why = "no value";
    return PL_EINVAL;
  }
  size_t start = out->len;
  int rc = put_value(out, value, 0, why);
  if (rc < 0)
    out->len = start;
  if (out->data)
    out->data[out->len] = '\0';
  return rc;
}

int pl_json_encode_string(const char *text, size_t len, pl_buf_t *out,
                          const char **why) {
  const char *ignored;
  if (!why)
    why = &ignored;
  size_t start = out->len;
  int rc = put_string(out, text, len, why);
  if (rc < 0)
    out->len = start;
  if (out->data)
    out->data[out->len] = '\0';
  return rc;
}
