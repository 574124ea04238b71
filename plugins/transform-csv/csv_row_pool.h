/* Recycled row objects. Building a fresh JSON object for every row costs a
 * dozen allocations (the object, its table, a member per column, the
 * values), and freeing it as many again, at the sink, long after: most of
 * the time of a CSV transform. The pool keeps a reference to each object it
 * hands out. Once the record holding one is gone, the pool is its only
 * holder (reference count 1) and the object is refilled in place for a later
 * row (csv_row_object_refill): its members stay and most values are updated
 * where they are.
 *
 * Objects are handed out and come back in about the same order (records
 * flow through the stages in order), so the pool is a FIFO: only the oldest
 * object is looked at. One that is still held when the pool is full is left
 * to its holders, and a newer one takes its place. Memory stays bounded:
 * at most CSV_ROW_POOL_SLOTS objects, and only small rows are kept (see
 * CSV_ROW_POOL_MAX_ROW_BYTES); what an object holds is the text of its last
 * row. */
#ifndef PL_TRANSFORM_CSV_ROW_POOL_H
#define PL_TRANSFORM_CSV_ROW_POOL_H

#include "csv_row_object.h"

/* More than the rows a pipeline holds in flight by default (a sink queue of
 * two batches of 1000 records, plus the rows of one 64 KiB chunk); a power
 * of two. */
#define CSV_ROW_POOL_SLOTS 8192
/* Rows above this size (their field bytes plus 64 per field, about what a
 * member costs) are not kept: the pool then holds at most a few MiB. */
#define CSV_ROW_POOL_MAX_ROW_BYTES 1024

typedef struct csv_row_pool csv_row_pool_t;

/* Creates an empty pool; PL_ENOMEM. */
int csv_row_pool_create(csv_row_pool_t **out);

/* Releases the pool's references: objects still held elsewhere live on with
 * their holders. NULL is allowed. */
void csv_row_pool_destroy(csv_row_pool_t *pool);

/* csv_row_object_build() with a recycled object when one is free: the
 * same arguments, results and reasons. *out is a new reference, which the
 * caller may hand on (a record steals it); the pool keeps one of its own. */
int csv_row_pool_build(csv_row_pool_t *pool, const pl_schema_t *cols,
                       const char *const *fields, const size_t *lens,
                       size_t count, json_t **out, pl_buf_t *reason);

#endif
