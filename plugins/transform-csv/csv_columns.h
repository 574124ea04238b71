/* Typed columns: turning field texts into JSON values (the row objects
 * built from them are csv_row_object.h's), and checking an existing JSON
 * object against the same column list. Nothing here knows about CSV
 * syntax, so a schema transform can use the type rules on JSON records as
 * they are.
 *
 * A column spec is "name:type" or "name:type:required", for example
 * "product_id:string:required" or "quantity:int". Types:
 *   string     any UTF-8 text
 *   int        [+-]digits, exactly representable as a 64-bit integer
 *   number     an int, or a decimal such as -1.5, .5, 2e10 (no inf/nan);
 *              integer texts become JSON integers, others JSON reals
 *   bool       true/false (any case), 1/0
 *   date       YYYY-MM-DD, a real calendar date (no 2023-02-30)
 *   timestamp  RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM);
 *              't' or a space may stand for 'T', 'z' for 'Z'; the zone is
 *              required (a time without one is not an instant)
 * Dates and timestamps stay JSON strings with the text unchanged. An empty
 * field is null, or an error for a required column.
 *
 * Errors that concern the data return PL_EPARSE and, when `reason` is not
 * NULL, put a sentence in it (the buffer is reset first); other codes are
 * PL_EINVAL for bad arguments and PL_ENOMEM. Reasons quote at most a few
 * dozen bytes of the offending text and of a column's name (which may come
 * from a header row), with control characters and invalid UTF-8 escaped as
 * \xNN, so a reason is always valid UTF-8 on one line. */
#ifndef PL_TRANSFORM_CSV_COLUMNS_H
#define PL_TRANSFORM_CSV_COLUMNS_H

#include <jansson.h>
#include <pipelined/common.h>

#include "csv_text.h"

#define CSV_TYPE_MAP(XX)                                                       \
  XX(STRING, "string")                                                         \
  XX(INT, "int")                                                               \
  XX(NUMBER, "number")                                                         \
  XX(BOOL, "bool")                                                             \
  XX(DATE, "date")                                                             \
  XX(TIMESTAMP, "timestamp")

typedef enum {
#define CSV__TYPE_ENUM(name, text) CSV_TYPE_##name,
  CSV_TYPE_MAP(CSV__TYPE_ENUM)
#undef CSV__TYPE_ENUM
} csv_type_t;

/* "int" for CSV_TYPE_INT; "unknown" for a value outside the enum. */
const char *csv_type_name(csv_type_t type);
/* The type called `name` (length `len`); PL_ENOENT when there is none. */
int csv_type_parse(const char *name, size_t len, csv_type_t *out);

typedef struct csv_column {
  const char *name; /* NUL-terminated valid UTF-8 with no NUL inside */
  size_t name_len;
  csv_type_t type;
  bool required;
} csv_column_t;

/* An immutable list of columns with unique, non-empty names. */
typedef struct csv_columns csv_columns_t;

/* Parses `count` specs (borrowed) into a new list. Reasons name the spec:
 * "column 3 'quantity:integer': unknown type 'integer' (expected one of
 * string, int, number, bool, date, timestamp)". */
int csv_columns_parse(const char *const *specs, size_t count,
                      csv_columns_t **out, pl_buf_t *reason);

/* Builds a list from a header row (borrowed fields, as csv_row_t has them).
 * Without `typed` every column is an optional string. With it, a header
 * name found in `typed` takes that column's type and flag, other header
 * names are optional strings, and a name of `typed` missing from the
 * header is an error. Header names must be non-empty, valid UTF-8 without
 * NUL, and unique. */
int csv_columns_from_header(const char *const *names, const size_t *lens,
                            size_t count, const csv_columns_t *typed,
                            csv_columns_t **out, pl_buf_t *reason);

size_t csv_columns_count(const csv_columns_t *cols);
/* The i-th column, borrowed from the list (NULL when i is out of range). */
const csv_column_t *csv_columns_get(const csv_columns_t *cols, size_t i);
/* All csv_columns_count() columns, borrowed: for loops over every row. */
const csv_column_t *csv_columns_items(const csv_columns_t *cols);
void csv_columns_destroy(csv_columns_t *cols); /* NULL is allowed */

/* Converts non-empty `text` to a value of `type`: *out is a new reference.
 * Returns PL_EPARSE when the text is not of the type and PL_ERANGE when it
 * is an int too big for 64 bits (or a number beyond a double); no reason
 * text, the callers below add the column. Empty text is PL_EPARSE. */
int csv_value_parse(csv_type_t type, const char *text, size_t len,
                    json_t **out);

/* Converts one field for `col`: *out is a new reference (JSON null for an
 * empty optional field). Reasons: "column 'quantity': 'abc' is not an int",
 * "column 'product_id' is required but empty". */
int csv_column_convert(const csv_column_t *col, const char *text, size_t len,
                       json_t **out, pl_buf_t *reason);

/* Checks an existing value (borrowed) against the columns: it must be an
 * object; a required column must be present and not null; a present,
 * non-null member must have the column's JSON type (int: integer, number:
 * integer or real, bool: true/false, string: string, date and timestamp: a
 * string valid for the type). Members without a column are allowed.
 * Reasons: "field 'quantity': expected int, found string". */
int csv_columns_validate(const csv_columns_t *cols, const json_t *value,
                         pl_buf_t *reason);

#endif
