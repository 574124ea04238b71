/* The text checks behind the typed columns, shared by the CSV transform
 * and the schema transform, and the copy and comparison of short texts
 * that the per-row code uses instead of calls to memcpy() and memcmp(). */
#ifndef PL_TRANSFORM_CSV_TEXT_H
#define PL_TRANSFORM_CSV_TEXT_H

#include <jansson.h>
#include <pipelined/common.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool csv_is_digit(char c) { return c >= '0' && c <= '9'; }

/* memcpy() for the texts of fields, which are mostly short: for them a
 * call costs more than the copy. Two overlapping loads cover 4 to 16
 * bytes without a loop. The ranges must not overlap. */
static inline void csv_copy_text(char *dst, const char *src, size_t len) {
  if (len >= 8 && len <= 16) {
    uint64_t head, tail;
    memcpy(&head, src, 8);
    memcpy(&tail, src + len - 8, 8);
    memcpy(dst, &head, 8);
    memcpy(dst + len - 8, &tail, 8);
  } else if (len >= 4 && len < 8) {
    uint32_t head, tail;
    memcpy(&head, src, 4);
    memcpy(&tail, src + len - 4, 4);
    memcpy(dst, &head, 4);
    memcpy(dst + len - 4, &tail, 4);
  } else if (len < 4) {
    for (size_t i = 0; i < len; i++)
      dst[i] = src[i];
  } else {
    memcpy(dst, src, len);
  }
}

/* memcmp(a, b, len) == 0, the same way: for names of columns. */
static inline bool csv_same_text(const char *a, const char *b, size_t len) {
  if (len >= 8 && len <= 16) {
    uint64_t a_head, a_tail, b_head, b_tail;
    memcpy(&a_head, a, 8);
    memcpy(&a_tail, a + len - 8, 8);
    memcpy(&b_head, b, 8);
    memcpy(&b_tail, b + len - 8, 8);
    return ((a_head ^ b_head) | (a_tail ^ b_tail)) == 0;
  }
  if (len >= 4 && len < 8) {
    uint32_t a_head, a_tail, b_head, b_tail;
    memcpy(&a_head, a, 4);
    memcpy(&a_tail, a + len - 4, 4);
    memcpy(&b_head, b, 4);
    memcpy(&b_tail, b + len - 4, 4);
    return ((a_head ^ b_head) | (a_tail ^ b_tail)) == 0;
  }
  return memcmp(a, b, len) == 0;
}

/* True when `len` bytes at `text` are valid UTF-8 (NUL bytes allowed). */
bool csv_text_is_utf8(const char *text, size_t len);
/* [+-]digits, exactly representable as a json_int_t: 0, PL_EPARSE, or
 * PL_ERANGE for an int beyond 64 bits. */
int csv_text_parse_int(const char *text, size_t len, json_int_t *out);
/* YYYY-MM-DD, a real calendar date (no 2023-02-30). */
bool csv_text_is_date(const char *text, size_t len);
/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). */
bool csv_text_is_timestamp(const char *text, size_t len);

/* How much of an offending text a reason quotes: enough to recognise it,
 * little enough that a 1 MiB field does not make a 1 MiB reason. */
#define CSV_QUOTE_MAX_BYTES 48
/* Worst case: every byte escaped as \xNN, then "...", then NUL. */
#define CSV_QUOTE_BUF_SIZE (CSV_QUOTE_MAX_BYTES * 4 + 4)

/* Copies at most CSV_QUOTE_MAX_BYTES of `text` into `dst` for a reason,
 * never cutting a character, escaping control characters and invalid
 * UTF-8 as \xNN (the result is valid UTF-8 whatever the input), and
 * adding "..." when cut. */
void csv_quote_text(char dst[CSV_QUOTE_BUF_SIZE], const char *text,
                    size_t len);
/* "object", "array", "string", "int", "number", "bool" or "null": the
 * words reasons use for JSON types (static). */
const char *csv_json_type_word(const json_t *v);

#endif
