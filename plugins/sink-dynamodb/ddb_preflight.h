/* sink-dynamodb's live checks (pipelined --check --live): DescribeTable,
 * and the table's key schema against the sink's `key` option. */
#ifndef PL_DDB_PREFLIGHT_H
#define PL_DDB_PREFLIGHT_H

#include <jansson.h>
#include <pipelined/preflight.h>

/* What the check needs of the sink's options; borrowed until the check
 * is done (the options live as long as the stage). */
typedef struct ddb_preflight_params {
  const char *table;
  const char *endpoint; /* or NULL */
  const char *region;   /* or NULL */
  char *const *keys;    /* the key option's attribute names */
  size_t key_count;     /* 1 or 2 */
} ddb_preflight_params_t;

/* Compares `table` (the "Table" of a DescribeTable answer, borrowed) with
 * the sink's key attributes, which it writes as strings (S): OK when the
 * table's key schema has exactly these attributes, each of type S;
 * otherwise FAIL, since DynamoDB would refuse every write. Appends the
 * sentence that says so to `text`, starting "table NAME". A table that is
 * not ACTIVE is a WARN (writes fail until it is) when its keys match. */
pl_check_t ddb_key_schema_check(const json_t *table, const char *name,
                                char *const *keys, size_t key_count,
                                pl_buf_t *text);

/* Starts the checks (its region, the AWS identity, DescribeTable, which
 * needs dynamodb:DescribeTable). Returns 0 and pl_preflight_done()
 * follows, or PL_ENOMEM. */
int ddb_preflight_start(pl_preflight_t *check,
                        const ddb_preflight_params_t *params);

#endif
