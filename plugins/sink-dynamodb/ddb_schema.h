/* sink-dynamodb's options compiled into the schema of ddb_item.h: the key
 * templates, the `types` overrides and the order of newer_than, checked
 * against each other (HACKING.md#s12: no I/O; what is wrong is said in a
 * buffer, which the plugin logs). */
#ifndef PL_DDB_SCHEMA_H
#define PL_DDB_SCHEMA_H

#include <pipelined/pipelined.h>

#include "ddb_item.h"
#include "ddb_version.h"

/* The options it reads (borrowed; the schema points into their texts,
 * which must outlive it). */
typedef struct ddb_schema_options {
  const char *table;
  const pl_map_t *key;   /* attribute name = template; 1 or 2 entries */
  const pl_map_t *types; /* field = DynamoDB type (S, N, BOOL, NULL, M, L) */
  const pl_list_t *newer_than;
  const char *version_attribute;
} ddb_schema_options_t;

/* A compiled schema and what it owns. Zero-initialised is empty. */
typedef struct ddb_compiled {
  ddb_schema_t schema; /* borrows the members below and the options */
  ddb_key_attr_t *keys;
  pl_template_t *templates[2]; /* keys[i].tpl borrows templates[i] */
  ddb_override_t *types;
  ddb_order_t *order;
} ddb_compiled_t;

/* Compiles `opts` into `out`. Returns 0; PL_EINVAL with the reason
 * appended to `why` (not 1 or 2 key attributes, a key template that does
 * not parse, a type DynamoDB
 * does not have, a newer_than entry that names nothing, newer_than or
 * version_attribute naming a key attribute), or PL_ENOMEM. On error `out`
 * is closed. */
int ddb_schema_compile(const ddb_schema_options_t *opts, ddb_compiled_t *out,
                       pl_buf_t *why);

/* Frees what `compiled` owns and empties it (an empty one is allowed). */
void ddb_schema_close(ddb_compiled_t *compiled);

#endif
