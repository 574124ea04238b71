/* CSV rows for sink-s3 (`format = "csv"`), RFC 4180: fields separated by
 * commas, lines ended by "\n" (as the JSON lines are, not CRLF);
 * a field holding a comma, a double quote, CR or LF is quoted, its quotes
 * doubled. The columns are the record's fields named in `columns`, in that
 * order:
 *   a string         as is
 *   a number, bool   its JSON text (1, 2.5, true)
 *   null, missing    an empty field
 *   object, array    its compact JSON text
 * A record that is not a JSON object (bytes, an array) is refused. */
#ifndef SINK_S3_CSV_ENCODE_H
#define SINK_S3_CSV_ENCODE_H

#include <pipelined/common.h>
#include <pipelined/record.h>

/* Appends the header line: the column names, quoted as fields are.
 * Returns 0 or PL_ENOMEM (`out` then as it was). */
int csv_encode_header(const pl_list_t *columns, pl_buf_t *out);

/* Appends the record's row. Returns 0; PL_EINVAL with *why (static text,
 * when `why` is not NULL) for a record that is not an object or a value
 * that has no JSON text; PL_ENOMEM. On failure `out` is as it was. */
int csv_encode_record(const pl_record_t *record, const pl_list_t *columns,
                      pl_buf_t *out, const char **why);

#endif
