/* The text checks behind the typed columns, shared by the CSV transform
 * and the schema transform. */
#ifndef PL_TRANSFORM_CSV_TEXT_H
#define PL_TRANSFORM_CSV_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

static inline bool csv_is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the valid UTF-8 sequence at `s` (`n` bytes available), 0 when
 * there is none: no overlong forms, no surrogates, nothing past U+10FFFF
 * (jansson's rules). */
size_t csv_utf8_sequence(const unsigned char *s, size_t n);
/* True when `len` bytes at `text` are valid UTF-8 (NUL bytes allowed). */
bool csv_text_is_utf8(const char *text, size_t len);
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
