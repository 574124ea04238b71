/* The order of the updates of one item as one string, the "version" that
 * sink-dynamodb stores beside the item and compares in its condition
 * (newer_than with more than one entry). Pure: no I/O (HACKING.md#s12).
 *
 * DynamoDB compares strings by their UTF-8 bytes, so each entry of the
 * order is written at a fixed width, and the entries are joined by one
 * space:
 *   - a whole number (a JSON integer, or the record's line) as 20 digits,
 *     zero-padded: 7 is "00000000000000000007"; a negative one as '-' and
 *     19 digits of its distance from the smallest int64, so that -1 sorts
 *     after -2 and before 0;
 *   - a date (a real one: 2023-02-30 is text) or a UTC time
 *     ("2023-05-01", "2023-05-01T10:00:00Z",
 *     "2023-05-01 10:00:00.123Z", "...+00:00") as "2023-05-01T10:00:00.
 *     123000Z": to the microsecond, a date at midnight;
 *   - other text as it is: it compares correctly only at a fixed width
 *     (times with other offsets than UTC are such text);
 *   - metadata the record does not have (a row without a line or origin
 *     time, say from a producer older than this encoding) as the smallest
 *     value of its kind, so that it loses to a row that has it; an origin
 *     time that is not a date or a UTC time has no encoding (taken as
 *     text it would outrank every real time of its date);
 * Numbers with a fraction, booleans, objects and arrays have no encoding:
 * such a record is refused with the reason. */
#ifndef PL_DDB_VERSION_H
#define PL_DDB_VERSION_H

#include <jansson.h>
#include <pipelined/pipelined.h>

/* Bytes of an encoded time, without the NUL. */
#define DDB_VERSION_TIME_LEN 27
/* Bytes of an encoded whole number. */
#define DDB_VERSION_INT_LEN 20

typedef enum {
  DDB_ORDER_FIELD,
  DDB_ORDER_LINE,
  DDB_ORDER_ORIGIN_TIME,
  DDB_ORDER_ATTRIBUTE,
} ddb_order_kind_t;

/* One entry of the order: a field of the record ("update_date"), its line
 * ("@line"), its origin time ("@origin_time") or another of its attributes
 * ("@name"). */
typedef struct ddb_order {
  ddb_order_kind_t kind;
  const char *name; /* field or attribute name (borrowed), or NULL */
} ddb_order_t;

/* Reads one newer_than entry (borrowed by *out). PL_EINVAL for "" and
 * "@". */
int ddb_order_parse(const char *entry, ddb_order_t *out);

/* Appends the encoding of `value` (see above). PL_EINVAL when it has none;
 * PL_ENOMEM. */
int ddb_version_append_value(const json_t *value, pl_buf_t *out);

/* Appends the encoding of a whole number. */
int ddb_version_append_uint(uint64_t n, pl_buf_t *out);

/* Writes the time at `text` as DDB_VERSION_TIME_LEN bytes and a NUL into
 * `out`; false (and `out` untouched) when `text` is not a date or a UTC
 * time of the forms above. */
bool ddb_version_time(const char *text, char out[DDB_VERSION_TIME_LEN + 1]);

/* Appends the version of `record` for `order` to `out`. Returns 0;
 * PL_EINVAL when a field is missing, null or has no encoding, with the
 * reason appended to `why`; PL_ENOMEM. */
int ddb_version_encode(const ddb_order_t *order, size_t count,
                       const pl_record_t *record, pl_buf_t *out, pl_buf_t *why);

#endif
