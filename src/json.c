/* A compact JSON writer over jansson values: the same text as
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) but for reals (written
 * the shortest way), several times faster (a record per row is the hot
 * path of every sink that writes JSON). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <pipelined/json.h>

#include "decimal.h"
#include "json_plain.h"

/* Room for a number, a literal or punctuation. */
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

/* Zero when none of the 8 bytes in `w` needs care: no control character,
 * quote, backslash or non-ASCII byte. The usual bit tricks for "has a byte
 * below n / equal to c" can report a byte that is fine next to one that is
 * not, never miss one: a word they flag goes byte by byte. */
static inline uint64_t care_bits(uint64_t w) {
  const uint64_t ones = 0x0101010101010101u;
  const uint64_t highs = 0x8080808080808080u;
  uint64_t below_space = w - ones * 0x20;
  uint64_t quote = (w ^ (ones * '"')) - ones;
  uint64_t backslash = (w ^ (ones * '\\')) - ones;
  return (((below_space | quote | backslash) & ~w) | w) & highs;
}

static inline bool plain_word(uint64_t w) { return care_bits(w) == 0; }

/* plain_word(a) && plain_word(b), the test of every short string. With
 * SSE2 (every x86-64) it takes a third of the instructions: as signed
 * bytes, control characters and non-ASCII bytes are both below 0x20, so
 * one comparison finds them. */
static inline bool plain_pair(uint64_t a, uint64_t b) {
#ifdef __SSE2__
  __m128i v = _mm_set_epi64x((long long)b, (long long)a);
  __m128i printable = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F));
  __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return _mm_movemask_epi8(_mm_andnot_si128(special, printable)) == 0xFFFF;
#else
  return (care_bits(a) | care_bits(b)) == 0;
#endif
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
 * first byte that may need care on. With `quoted` (not NULL) the text goes
 * inside a JSON string itself (pl_json_encode_quoted): each escape's
 * backslash is doubled and a quote or backslash takes one more, and
 * *quoted counts what was added. Returns the end, or NULL when the text
 * is not UTF-8. Inline, so that each of its two uses is specialised. */
static inline char *write_text(char *p, const unsigned char *s, size_t len,
                               size_t *quoted, const char **why) {
  static const char hex[] = "0123456789ABCDEF"; /* as jansson */
  const unsigned char *end = s + len;
  while (s < end) {
#ifdef PL__JSON_PLAIN_VECTOR
    /* 16 bytes at a time up to the next byte that needs care, and a quote
     * or a backslash escaped right here: text with escapes (a JSON
     * document inside a string has a quote every few bytes) then costs a
     * few instructions per escape, not per byte. The whole vector is
     * copied: `p` has 6 (quoted: 7) bytes of room per byte left. Other
     * bytes that need care go the long way below. */
    while (end - s >= 16) {
      unsigned care = pl__json_care16(s);
      memcpy(p, s, 16);
      if (care == 0) {
        p += 16;
        s += 16;
        continue;
      }
      unsigned plain = (unsigned)__builtin_ctz(care);
      p += plain;
      s += plain;
      if (*s != '"' && *s != '\\')
        break;
      if (quoted) {
        *p++ = '\\';
        *p++ = '\\';
        *quoted += 2;
      }
      p[0] = '\\';
      p[1] = (char)*s++;
      p += 2;
    }
#endif
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
      size_t n = pl_utf8_sequence(s, (size_t)(end - s));
      if (n == 0) {
        *why = why_utf8;
        return NULL;
      }
      memcpy(p, s, n);
      p += n;
      s += n;
      continue;
    }
    if (quoted) {
      *p++ = '\\';
      (*quoted)++;
      if (c == '"' || c == '\\') {
        *p++ = '\\';
        (*quoted)++;
      }
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

static char *write_careful(char *p, const unsigned char *s, size_t len,
                           const char **why) {
  return write_text(p, s, len, NULL, why);
}

/* Copies 4 to 16 bytes from `s` to `p` when none of them needs care;
 * returns false, having written nothing, when one may. */
static inline bool write_short_plain(char *p, const unsigned char *s,
                                     size_t len) {
  if (len >= 8) {
    uint64_t head, tail;
    memcpy(&head, s, 8);
    memcpy(&tail, s + len - 8, 8);
    if (!plain_pair(head, tail))
      return false;
    memcpy(p, &head, 8);
    memcpy(p + len - 8, &tail, 8);
    return true;
  }
  uint32_t head, tail;
  memcpy(&head, s, 4);
  memcpy(&tail, s + len - 4, 4);
  uint64_t both = (uint64_t)head << 32 | tail;
  if (!plain_pair(both, both))
    return false;
  memcpy(p, &head, 4);
  memcpy(p + len - 4, &tail, 4);
  return true;
}

/* write_string() past its short case: the inside of the string and the
 * closing quote at `p`. Plain text is copied a word at a time, the last
 * word overlapping the one before it. */
static char *write_string_rest(char *p, const unsigned char *s, size_t len,
                               const char **why) {
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

/* Writes `len` bytes as a JSON string at `p`, which has string_room(len)
 * bytes, escaping what JSON requires and nothing else (jansson's choice
 * without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH). Returns the end, or
 * NULL when the text is not UTF-8. Short plain text, the usual key or
 * field, is copied here; the rest is a call. */
static inline char *write_string(char *p, const char *text, size_t len,
                                 const char **why) {
  const unsigned char *s = (const unsigned char *)text;
  *p++ = '"';
  if (len >= 4 && len <= 16 && write_short_plain(p, s, len)) {
    p[len] = '"';
    return p + len + 1;
  }
  return write_string_rest(p, s, len, why);
}

/* ---- Text inside a JSON string (pl_json_encode_quoted) ----
 *
 * There every quote and backslash of the JSON text is escaped once more: a
 * string is written \"...\", an escape \n as \\n, an escaped quote as
 * \\\". Keys, punctuation, numbers and literals hold neither and are
 * written as they are. `quoted` counts the backslashes added this way, so
 * that the length of the text itself is known (SQS counts that). */

/* The most a string of `len` bytes takes there (every byte as \\u00XX,
 * the quotes as \"), or 0 when that does not fit a size_t. */
static inline size_t quoted_string_room(size_t len) {
  return len > (SIZE_MAX - 4) / 7 ? 0 : len * 7 + 4;
}

/* Writes `len` bytes at `s` as a string inside a JSON string at `p`;
 * returns the end, or NULL when the text is not UTF-8. */
static char *write_quoted(char *p, const unsigned char *s, size_t len,
                          size_t *quoted, const char **why) {
  *p++ = '\\';
  *p++ = '"';
  /* Short plain text, the usual key or field, in two overlapping words. */
  if (len >= 4 && len <= 16 && write_short_plain(p, s, len))
    p += len;
  else if (!(p = write_text(p, s, len, quoted, why)))
    return NULL;
  *p++ = '\\';
  *p++ = '"';
  *quoted += 2;
  return p;
}

/* A string at `p` (room: string_room, or quoted_string_room when
 * `quoted` is not NULL). */
static inline char *write_any_string(char *p, const char *text, size_t len,
                                     size_t *quoted, const char **why) {
  if (quoted)
    return write_quoted(p, (const unsigned char *)text, len, quoted, why);
  return write_string(p, text, len, why);
}

static inline size_t any_string_room(size_t len, const size_t *quoted) {
  return quoted ? quoted_string_room(len) : string_room(len);
}

static int put_string(pl_buf_t *out, const char *text, size_t len,
                      size_t *quoted, const char **why) {
  size_t room = any_string_room(len, quoted);
  if (room == 0 || ensure(out, room) < 0)
    return PL_ENOMEM;
  char *p = write_any_string(out->data + out->len, text, len, quoted, why);
  if (!p)
    return PL_EINVAL;
  out->len = (size_t)(p - out->data);
  return 0;
}

static int put_integer(pl_buf_t *out, json_int_t value) {
  if (ensure(out, PL_JSON_SCALAR_ROOM) < 0)
    return PL_ENOMEM;
  out->len =
      (size_t)(pl__decimal_write(out->data + out->len, value) - out->data);
  return 0;
}

/* A real is written the shortest way that reads back as the same double
 * (0.1, where jansson writes 0.10000000000000001), and stays a real in
 * JSON: 3.0, not 3. jansson makes no real that is not finite. */
static int put_real(pl_buf_t *out, const json_t *value, const char **why) {
  double d = json_real_value(value);
  if (!isfinite(d)) {
    *why = why_real;
    return PL_EINVAL;
  }
  size_t start = out->len;
  if (pl_buf_append_real(out, d) < 0 ||
      (!strpbrk(out->data + start, ".e") && pl_buf_append_str(out, ".0") < 0))
    return PL_ENOMEM;
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
                     size_t *quoted, const char **why);

/* The room for a member's separator, key and colon, and a value of
 * `value_room` bytes; 0 when that does not fit a size_t. */
static inline size_t member_room(size_t key_len, size_t value_room,
                                 const size_t *quoted) {
  size_t key_room = any_string_room(key_len, quoted);
  if (key_room == 0 || value_room == 0 || key_room > SIZE_MAX / 2 - 2 ||
      value_room > SIZE_MAX / 2)
    return 0;
  return key_room + value_room + 2;
}

/* Appends one member of an object: one reservation for all of it, then
 * strings and integers, the usual values, are written in place, which
 * skips the type dispatch of put_value (an indirect jump that mispredicts
 * from member to member); other values go through put_value. */
static int put_member(pl_buf_t *out, bool first, const char *key,
                      size_t key_len, const json_t *value, int depth,
                      size_t *quoted, const char **why) {
  bool is_string = json_is_string(value);
  size_t text_len = is_string ? json_string_length(value) : 0;
  size_t room = member_room(key_len,
                            is_string ? any_string_room(text_len, quoted)
                                      : PL_JSON_SCALAR_ROOM,
                            quoted);
  if (room == 0 || ensure(out, room) < 0)
    return PL_ENOMEM;
  char *p = out->data + out->len;
  if (!first)
    *p++ = ',';
  p = write_any_string(p, key, key_len, quoted, why);
  if (!p)
    return PL_EINVAL;
  *p++ = ':';
  if (is_string) {
    p = write_any_string(p, json_string_value(value), text_len, quoted, why);
  } else if (json_is_integer(value)) {
    p = pl__decimal_write(p, json_integer_value(value));
  } else {
    out->len = (size_t)(p - out->data);
    return put_value(out, value, depth + 1, quoted, why);
  }
  if (!p)
    return PL_EINVAL;
  out->len = (size_t)(p - out->data);
  return 0;
}

static int put_object(pl_buf_t *out, const json_t *object, int depth,
                      size_t *quoted, const char **why) {
  int rc = put_char(out, '{');
  bool first = true;
  /* The iterator walks keys in insertion order; the API takes a
   * non-const object although iterating does not change it. */
  for (void *it = json_object_iter((json_t *)object); it && rc == 0;
       it = json_object_iter_next((json_t *)object, it)) {
#if JANSSON_VERSION_HEX >= 0x020e00
    size_t key_len = json_object_iter_key_len(it);
#else
    size_t key_len = strlen(json_object_iter_key(it));
#endif
    rc = put_member(out, first, json_object_iter_key(it), key_len,
                    json_object_iter_value(it), depth, quoted, why);
    first = false;
  }
  return rc == 0 ? put_char(out, '}') : rc;
}

static int put_array(pl_buf_t *out, const json_t *array, int depth,
                     size_t *quoted, const char **why) {
  int rc = put_char(out, '[');
  size_t count = json_array_size(array);
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (i > 0)
      rc = put_char(out, ',');
    if (rc == 0)
      rc = put_value(out, json_array_get(array, i), depth + 1, quoted, why);
  }
  return rc == 0 ? put_char(out, ']') : rc;
}

static int put_value(pl_buf_t *out, const json_t *value, int depth,
                     size_t *quoted, const char **why) {
  if (depth > PL_JSON_MAX_DEPTH) {
    *why = why_depth;
    return PL_EINVAL;
  }
  switch (json_typeof(value)) {
  case JSON_OBJECT:
    return put_object(out, value, depth, quoted, why);
  case JSON_ARRAY:
    return put_array(out, value, depth, quoted, why);
  case JSON_STRING:
    return put_string(out, json_string_value(value), json_string_length(value),
                      quoted, why);
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

/* Ends an append that started at `start`: on error `out` is as it was.
 * Returns `rc`. */
static int settle(pl_buf_t *out, size_t start, int rc) {
  pl_buf_truncate(out, rc < 0 ? start : out->len);
  return rc;
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
  return settle(out, start, put_value(out, value, 0, NULL, why));
}

int pl_json_encode_quoted(const json_t *value, pl_buf_t *out, size_t *text_len,
                          const char **why) {
  const char *ignored;
  if (!why)
    why = &ignored;
  if (!value) {
    *why = "no value";
    return PL_EINVAL;
  }
  size_t start = out->len, quoted = 0;
  int rc = put_char(out, '"');
  if (rc == 0)
    rc = put_value(out, value, 0, &quoted, why);
  if (rc == 0)
    rc = put_char(out, '"');
  if (rc == 0 && text_len)
    *text_len = out->len - start - 2 - quoted;
  return settle(out, start, rc);
}

int pl_json_encode_string(const char *text, size_t len, pl_buf_t *out,
                          const char **why) {
  const char *ignored;
  if (!why)
    why = &ignored;
  size_t start = out->len;
  return settle(out, start, put_string(out, text, len, NULL, why));
}

const char *pl_json_type_phrase(const json_t *value) {
  switch (json_typeof(value)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  case JSON_NULL:
    break;
  }
  return "null";
}
