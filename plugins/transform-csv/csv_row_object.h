/* The JSON object of one CSV row, {name: value} with the columns' names in
 * order and values typed by pl_column_convert(). Building one costs a
 * dozen allocations; refilling one that came back (csv_row_pool.c) reuses
 * its members and values. The reasons are those of <pipelined/schema.h>. */
#ifndef PL_TRANSFORM_CSV_ROW_OBJECT_H
#define PL_TRANSFORM_CSV_ROW_OBJECT_H

#include <pipelined/schema.h>

/* Builds the object {name: value} for one row; *out is a new reference.
 * `fields` and `lens` are borrowed. A row whose field count differs from
 * the column count is PL_EPARSE with "expected 4 fields, found 3". */
int csv_row_object_build(const pl_schema_t *cols, const char *const *fields,
                         const size_t *lens, size_t count, json_t **out,
                         pl_buf_t *reason);

/* Refills `row`, an object built by csv_row_object_build() (or refilled
 * here) that nobody else holds, with the values of a new row: its members
 * and every value of the right type that nobody else holds are reused, so
 * a usual row allocates nothing (a string of another length than before
 * allocates its text). Returns 0; PL_ENOENT, leaving `row` partly
 * refilled, when its members are not the columns' names in order (someone
 * changed it, or it was built for other columns); or the errors of
 * csv_row_object_build(), with the same reasons. After an error `row`
 * still has the columns' names as members but its values are a mix of
 * both rows. */
int csv_row_object_refill(const pl_schema_t *cols,
                          const char *const *fields, const size_t *lens,
                          size_t count, json_t *row, pl_buf_t *reason);

#endif
