/* A strict JSON text scanner that builds no tree: a cursor over the text
 * for readers of the usual answers of a service (sink-sqs's
 * SendMessageBatch results, the SQS poller's ReceiveMessage answers),
 * which are read on a hot path where building a jansson tree for every
 * answer costs more than the rest of the work.
 *
 * A reader walks the text with these functions in the shape it expects
 * and gives up on anything else, handing the text to jansson
 * (json_loadb), so that its result is always the one jansson's tree
 * gives. To make that hold, everything the scanner accepts is JSON as
 * json_loadb judges it: whitespace is ' ', '\t', '\n' and '\r'; strings
 * hold no control character (U+0000 to U+001F), only well-formed UTF-8
 * (pl_utf8_sequence) and only the escapes of JSON's grammar; integers
 * have no leading zero or '+'; objects and arrays have no trailing comma.
 * It gives up (returns false) rather than decide what jansson would make
 * of:
 *   - \u escapes (jansson refuses \u0000 and lone surrogates);
 *   - other escapes, unless the scan takes PL_JSON_SCAN_ESCAPES;
 *   - numbers and the literals true, false and null, unless the scan takes
 *     PL_JSON_SCAN_SCALARS, and even then fractions, exponents and
 *     integers of more than PL_JSON_SCAN_MAX_DIGITS digits (jansson
 *     refuses integers it cannot hold);
 *   - keys with escapes (a reader compares keys as written);
 *   - nesting deeper than the scan's max_depth.
 * A false return leaves the cursor somewhere inside the text: the reader
 * gives up on the whole text. Nothing here allocates but
 * pl_json_scan_str_dup(). */
#ifndef PIPELINED_JSON_SCAN_H
#define PIPELINED_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <pipelined/common.h>

/* Escapes other than \u in strings: \" \\ \/ \b \f \n \r \t. */
#define PL_JSON_SCAN_ESCAPES 0x1u
/* Short integers and true, false, null as values. */
#define PL_JSON_SCAN_SCALARS 0x2u
/* The longest integer (in digits, without its sign) a scan takes. */
#define PL_JSON_SCAN_MAX_DIGITS 15

/* The cursor; the caller embeds it and may read and set its fields. */
typedef struct pl_json_scan {
  const char *p;   /* the next byte */
  const char *end; /* one past the last byte of the text */
  /* Objects and arrays open: pl_json_scan_skip() counts those it opens
   * and gives up past max_depth; a reader counts those it walks itself
   * as it sees fit (pl_json_scan_enter()). */
  unsigned depth;
  unsigned max_depth;
  unsigned flags; /* PL_JSON_SCAN_* */
} pl_json_scan_t;

/* A string as it stands between its quotes, borrowed from the text. */
typedef struct pl_json_scan_str {
  const char *raw; /* escapes as written */
  size_t raw_len;
  size_t len;   /* its length unescaped: raw_len when it has no escape */
  bool present; /* set by pl_json_scan_string(); a reader's "seen" mark */
} pl_json_scan_str_t;

/* Starts a scan of the `len` bytes at `text` (borrowed for the scan's
 * life), at depth 0. */
static inline void pl_json_scan_init(pl_json_scan_t *s, const char *text,
                                     size_t len, unsigned flags,
                                     unsigned max_depth) {
  *s = (pl_json_scan_t){
      .p = text, .end = text + len, .flags = flags, .max_depth = max_depth};
}

/* Skips JSON's whitespace. */
static inline void pl_json_scan_ws(pl_json_scan_t *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* Consumes `c` after whitespace; false (nothing consumed but the
 * whitespace) when the next byte is another or the text ends. */
static inline bool pl_json_scan_take(pl_json_scan_t *s, char c) {
  pl_json_scan_ws(s);
  if (s->p >= s->end || *s->p != c)
    return false;
  s->p++;
  return true;
}

/* True when `c` is next after whitespace (not consumed). */
static inline bool pl_json_scan_peek(pl_json_scan_t *s, char c) {
  pl_json_scan_ws(s);
  return s->p < s->end && *s->p == c;
}

/* True when only whitespace is left: a reader's last check. */
static inline bool pl_json_scan_at_end(pl_json_scan_t *s) {
  pl_json_scan_ws(s);
  return s->p == s->end;
}

/* Counts one more object or array open; false past max_depth. */
static inline bool pl_json_scan_enter(pl_json_scan_t *s) {
  return ++s->depth <= s->max_depth;
}

/* True when `str` is `name` as written (a key: without escapes). */
static inline bool pl_json_scan_str_is(const pl_json_scan_str_t *str,
                                       const char *name) {
  size_t n = strlen(name);
  return str->raw_len == n && memcmp(str->raw, name, n) == 0;
}

/* Reads a string (after whitespace) into *out, present. */
PL_EXTERN bool pl_json_scan_string(pl_json_scan_t *s, pl_json_scan_str_t *out);

/* Reads a key: a string without escapes, and its colon. */
PL_EXTERN bool pl_json_scan_key(pl_json_scan_t *s, pl_json_scan_str_t *key);

/* Skips one value of any kind the scan takes, counting the objects and
 * arrays it opens against max_depth. */
PL_EXTERN bool pl_json_scan_skip(pl_json_scan_t *s);

/* Walks the members of an object: `*first` starts true (the object's '{'
 * is read then). Returns true with the next key read (its colon too: the
 * value is next), or false at the end of the object (its '}' read) or
 * when the text is not an object's members, `*ok` then set to false (it
 * is left alone otherwise). */
PL_EXTERN bool pl_json_scan_member(pl_json_scan_t *s, bool *first,
                                   pl_json_scan_str_t *key, bool *ok);

/* Writes `str` unescaped and a NUL to `dst` (str->len + 1 bytes). */
PL_EXTERN void pl_json_scan_str_unescape(const pl_json_scan_str_t *str,
                                         char *dst);

/* A new, malloc()ed and NUL-terminated copy of `str` unescaped (with no
 * other NUL: the scanner takes neither a NUL byte nor \u0000), or NULL
 * when out of memory. */
PL_EXTERN char *pl_json_scan_str_dup(const pl_json_scan_str_t *str);

#endif
