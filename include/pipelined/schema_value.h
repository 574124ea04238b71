/* The values of typed columns: the column types, turning one field's text
 * into a JSON value of its column's type, checking an existing JSON value
 * against a column, and the quoting that keeps reasons short and on one
 * line. Lists of columns are <pipelined/schema.h>'s, which includes this
 * header; include that one.
 *
 * Types:
 *   string     any UTF-8 text
 *   int        [+-]digits, exactly representable as a 64-bit integer
 *   number     an int, or a decimal such as -1.5, .5, 2e10 (no inf/nan);
 *              integer texts become JSON integers, others JSON reals,
 *              kept only when the double, written the shortest way that
 *              reads back as itself (as sinks write it), is the value of
 *              the text: more significant digits than that (at most 17),
 *              or a magnitude beyond a double's (1e-400, 1e999), is
 *              PL_ERANGE, never a changed value
 *   bool       true/false (any case), 1/0
 *   date       YYYY-MM-DD, a real calendar date (no 2023-02-30)
 *   timestamp  RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM);
 *              't' or a space may stand for 'T', 'z' for 'Z'; the zone is
 *              required (a time without one is not an instant)
 * Dates and timestamps are checked by <pipelined/timestamp.h>
 * (pl_timestamp_parse_date(), pl_timestamp_parse_rfc3339() without flags)
 * and stay JSON strings with the text unchanged. An empty field is null,
 * or an error for a required column.
 *
 * Errors that concern the data return PL_EPARSE and, when `reason` is not
 * NULL, put a sentence in it (the buffer is reset first); other codes are
 * PL_EINVAL for bad arguments and PL_ENOMEM. Reasons quote at most
 * PL_SCHEMA_QUOTE_MAX_BYTES of the offending text and of a column's name
 * (which may come from a header row), with control characters and invalid
 * UTF-8 escaped as \xNN, so a reason is always valid UTF-8 on one line.
 * Nothing here keeps state: every function may be called from any thread. */
#ifndef PIPELINED_SCHEMA_VALUE_H
#define PIPELINED_SCHEMA_VALUE_H

#include <jansson.h>
#include <pipelined/common.h>

#define PL_SCHEMA_TYPE_MAP(XX)                                                 \
  XX(STRING, "string")                                                         \
  XX(INT, "int")                                                               \
  XX(NUMBER, "number")                                                         \
  XX(BOOL, "bool")                                                             \
  XX(DATE, "date")                                                             \
  XX(TIMESTAMP, "timestamp")

typedef enum {
#define PL__SCHEMA_TYPE_ENUM(name, text) PL_SCHEMA_##name,
  PL_SCHEMA_TYPE_MAP(PL__SCHEMA_TYPE_ENUM)
#undef PL__SCHEMA_TYPE_ENUM
} pl_schema_type_t;

/* "int" for PL_SCHEMA_INT; "unknown" for a value outside the enum
 * (static). */
PL_EXTERN const char *pl_schema_type_name(pl_schema_type_t type);
/* The type called `name` (length `len`); PL_ENOENT when there is none. */
PL_EXTERN int pl_schema_type_parse(const char *name, size_t len,
                                   pl_schema_type_t *out);

/* One column. In a list (pl_schema_t) the name belongs to the list; a
 * caller may also fill one in itself, with a borrowed name. */
typedef struct pl_column {
  const char *name; /* NUL-terminated valid UTF-8 with no NUL inside */
  size_t name_len;
  pl_schema_type_t type;
  bool required;
} pl_column_t;

/* [+-]digits, exactly representable as a json_int_t: 0, PL_EPARSE, or
 * PL_ERANGE for an int beyond 64 bits. */
PL_EXTERN int pl_schema_parse_int(const char *text, size_t len,
                                  json_int_t *out);

/* Converts non-empty `text` to a value of `type`: *out is a new reference.
 * Returns PL_EPARSE when the text is not of the type and PL_ERANGE when it
 * is an int too big for 64 bits (or a number a double does not keep as
 * written, see "number" above); no reason
 * text, pl_column_convert() adds the column. Empty text is PL_EPARSE. */
PL_EXTERN int pl_schema_parse_value(pl_schema_type_t type, const char *text,
                                    size_t len, json_t **out);

/* Converts one field for `col` (borrowed): *out is a new reference (JSON
 * null for an empty optional field). Reasons: "column 'quantity': 'abc' is
 * not an int", "column 'product_id' is required but empty". */
PL_EXTERN int pl_column_convert(const pl_column_t *col, const char *text,
                                size_t len, json_t **out, pl_buf_t *reason);

/* Checks a present, non-null JSON value (borrowed) against `col`: int: an
 * integer, number: integer or real, bool: true/false, string: a string,
 * date and timestamp: a string valid for the type. Reasons: "field
 * 'quantity': expected int, found string". */
PL_EXTERN int pl_column_check(const pl_column_t *col, const json_t *value,
                              pl_buf_t *reason);

/* Puts the formatted sentence into `reason` (reset first) when it is not
 * NULL and returns PL_EPARSE, or PL_ENOMEM when the sentence cannot be
 * stored: how the functions here, and a plugin's own checks, reject
 * data. */
PL_EXTERN int pl_schema_reason(pl_buf_t *reason, const char *fmt, ...)
    PL_PRINTF(2, 3);

/* How much of an offending text a reason quotes: enough to recognise it,
 * little enough that a 1 MiB field does not make a 1 MiB reason. */
#define PL_SCHEMA_QUOTE_MAX_BYTES 48
/* Worst case: every byte escaped as \xNN, then "...", then NUL. */
#define PL_SCHEMA_QUOTE_BUF_SIZE (PL_SCHEMA_QUOTE_MAX_BYTES * 4 + 4)

/* Copies at most PL_SCHEMA_QUOTE_MAX_BYTES of `text` into `dst` for a
 * reason, never cutting a character, escaping control characters and
 * invalid UTF-8 as \xNN (the result is valid UTF-8 whatever the input),
 * and adding "..." when cut. */
PL_EXTERN void pl_schema_quote(char dst[PL_SCHEMA_QUOTE_BUF_SIZE],
                               const char *text, size_t len);
/* "object", "array", "string", "int", "number", "bool" or "null": the
 * words reasons use for JSON types (static). */
PL_EXTERN const char *pl_schema_json_type_name(const json_t *value);

#endif
