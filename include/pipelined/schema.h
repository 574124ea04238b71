/* Typed columns: lists of columns from specs or a header row, and checking
 * a JSON object against a list. What one column's values may be, and how a
 * text becomes one, is <pipelined/schema_value.h> (included here). Nothing
 * here knows about CSV syntax: transform-csv types the fields of its rows
 * with it, transform-schema checks JSON records as they are, and a
 * column spec means the same in both.
 *
 * A column spec is "name:type" or "name:type:required", for example
 * "product_id:string:required" or "quantity:int"; spaces and tabs around
 * each part are ignored.
 *
 * Errors and reasons are as in <pipelined/schema_value.h>: PL_EPARSE with a
 * sentence in `reason` for bad specs, headers or values, PL_EINVAL for bad
 * arguments, PL_ENOMEM. A list is immutable once made, so several threads
 * may read one. */
#ifndef PIPELINED_SCHEMA_H
#define PIPELINED_SCHEMA_H

#include <pipelined/common.h>
#include <pipelined/schema_value.h>

/* An immutable list of columns with unique, non-empty names. */
typedef struct pl_schema pl_schema_t;

/* Parses `count` specs (borrowed) into a new list (*out, destroyed with
 * pl_schema_destroy()). Reasons name the spec: "column 3
 * 'quantity:integer': unknown type 'integer' (expected one of string, int,
 * number, bool, date, timestamp)". No specs is PL_EPARSE ("no columns"). */
PL_EXTERN int pl_schema_create(const char *const *specs, size_t count,
                               pl_schema_t **out, pl_buf_t *reason);

/* Builds a new list from a header row: `count` names (borrowed, not
 * NUL-terminated) of `lens` bytes. Without `typed` every column is an
 * optional string. With it (borrowed), a header name found in `typed`
 * takes that column's type and flag, other header names are optional
 * strings, and a name of `typed` missing from the header is an error.
 * Header names must be non-empty, valid UTF-8 without NUL, and unique;
 * checking them takes time linear in the count. */
PL_EXTERN int pl_schema_create_from_header(const char *const *names,
                                           const size_t *lens, size_t count,
                                           const pl_schema_t *typed,
                                           pl_schema_t **out, pl_buf_t *reason);

PL_EXTERN size_t pl_schema_count(const pl_schema_t *schema);
/* The i-th column, borrowed from the list (NULL when i is out of range). */
PL_EXTERN const pl_column_t *pl_schema_column(const pl_schema_t *schema,
                                              size_t i);
/* All pl_schema_count() columns, borrowed: for loops over every row. */
PL_EXTERN const pl_column_t *pl_schema_columns(const pl_schema_t *schema);
/* The column called `name` (`len` bytes), borrowed, or NULL; its position
 * goes to *index when `index` is not NULL. A hash lookup. */
PL_EXTERN const pl_column_t *pl_schema_find(const pl_schema_t *schema,
                                            const char *name, size_t len,
                                            size_t *index);
PL_EXTERN void pl_schema_destroy(pl_schema_t *schema); /* NULL is allowed */

/* Checks an existing value (borrowed) against the columns: it must be an
 * object; a required column must be present and not null; a present,
 * non-null member must pass pl_column_check(). Members without a column
 * are allowed. Reasons: "field 'quantity': expected int, found string",
 * "field 'id' is required but missing". */
PL_EXTERN int pl_schema_validate(const pl_schema_t *schema, const json_t *value,
                                 pl_buf_t *reason);

#endif
