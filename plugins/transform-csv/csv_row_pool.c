/* Recycled row objects (see csv_row_pool.h). */
#include "csv_row_pool.h"

#include <stdlib.h>

_Static_assert((CSV_ROW_POOL_SLOTS & (CSV_ROW_POOL_SLOTS - 1)) == 0 &&
                   CSV_ROW_POOL_SLOTS >= 64,
               "the ring grows by doubling from 64 slots");

/* What a member costs besides its text, for CSV_ROW_POOL_MAX_ROW_BYTES. */
#define MEMBER_BYTES 64

struct csv_row_pool {
  /* A ring of `cap` slots (0 or a power of two, so that a slot number is
   * masked rather than divided): `count` objects from `head` on, oldest
   * first. The pool holds one reference to each. */
  json_t **ring;
  size_t head;
  size_t count;
  size_t cap;
};

/* The slot of the i-th object from the oldest on (cap > 0). */
static inline size_t slot(const csv_row_pool_t *pool, size_t i) {
  return (pool->head + i) & (pool->cap - 1);
}

int csv_row_pool_create(csv_row_pool_t **out) {
  csv_row_pool_t *pool = calloc(1, sizeof(*pool));
  if (!pool)
    return PL_ENOMEM;
  *out = pool;
  return 0;
}

void csv_row_pool_destroy(csv_row_pool_t *pool) {
  if (!pool)
    return;
  for (size_t i = 0; i < pool->count; i++)
    json_decref(pool->ring[slot(pool, i)]);
  free(pool->ring);
  free(pool);
}

/* Doubles the ring, oldest object first in the new one. */
static int grow(csv_row_pool_t *pool) {
  size_t cap = pool->cap ? pool->cap * 2 : 64;
  json_t **ring = malloc(cap * sizeof(*ring));
  if (!ring)
    return PL_ENOMEM;
  for (size_t i = 0; i < pool->count; i++)
    ring[i] = pool->ring[slot(pool, i)];
  free(pool->ring);
  pool->ring = ring;
  pool->cap = cap;
  pool->head = 0;
  return 0;
}

/* The oldest object, taken out of the pool when nobody else holds it (the
 * caller gets the pool's reference); NULL otherwise. */
static json_t *take_free(csv_row_pool_t *pool) {
  if (pool->count == 0)
    return NULL;
  json_t *row = pool->ring[pool->head];
  if (row->refcount != 1)
    return NULL;
  pool->head = slot(pool, 1);
  pool->count--;
  return row;
}

static bool is_small(const size_t *lens, size_t count) {
  size_t bytes = 0;
  for (size_t i = 0; i < count && bytes <= CSV_ROW_POOL_MAX_ROW_BYTES; i++)
    bytes += lens[i] + MEMBER_BYTES;
  return bytes <= CSV_ROW_POOL_MAX_ROW_BYTES;
}

/* Adds `row` as the newest object; steals the reference. When the pool is
 * full, the oldest object is let go (its holders keep it). A row that is
 * too big to keep, or no memory to keep it, only releases the reference. */
static void keep_new(csv_row_pool_t *pool, json_t *row, const size_t *lens,
                     size_t count) {
  if (!is_small(lens, count)) {
    json_decref(row);
    return;
  }
  if (pool->count == pool->cap) {
    if (pool->cap < CSV_ROW_POOL_SLOTS && grow(pool) < 0) {
      json_decref(row);
      return;
    }
    if (pool->count == pool->cap) {
      json_decref(pool->ring[pool->head]);
      pool->head = slot(pool, 1);
      pool->count--;
    }
  }
  pool->ring[slot(pool, pool->count)] = row;
  pool->count++;
}

int csv_row_pool_build(csv_row_pool_t *pool, const pl_schema_t *cols,
                       const char *const *fields, const size_t *lens,
                       size_t count, json_t **out, pl_buf_t *reason) {
  if (!pool || !out)
    return PL_EINVAL;
  json_t *row = take_free(pool);
  if (row) {
    int rc = csv_row_object_refill(cols, fields, lens, count, row, reason);
    if (rc == PL_ENOENT) {
      json_decref(row); /* changed since, or other columns: build anew */
      row = NULL;
    } else if (rc < 0) {
      keep_new(pool, row, lens, count); /* still free for another row */
      return rc;
    }
  }
  if (!row) {
    int rc = csv_row_object_build(cols, fields, lens, count, &row, reason);
    if (rc < 0)
      return rc;
  }
  keep_new(pool, json_incref(row), lens, count);
  *out = row;
  return 0;
}
