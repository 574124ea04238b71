/* Records as DynamoDB UpdateItem requests (mode = "update"): the pure
 * encoding step of sink-dynamodb's updates (HACKING.md#s12), with no I/O.
 * The attribute values are those of ddb_item.h; the optional condition
 * compares the `newer_than` field, or the version ddb_version.h encodes. */
#ifndef PL_DDB_UPDATE_H
#define PL_DDB_UPDATE_H

#include <string.h>

#include <jansson.h>
#include <pipelined/pipelined.h>

#include "ddb_item.h"

/* The UpdateItem request of `record` as a tree (a new reference), read
 * back from ddb_update_text's text: TableName, Key, and for the non-key
 * fields "SET #a0 = :a0, #a1 = :a1" with ExpressionAttributeNames for
 * every name and ExpressionAttributeValues. With newer_than alone also
 * ConditionExpression "attribute_not_exists(#k0) OR #nt <= :nt". With a
 * version, "#ver = :ver" is set too, and the condition is
 *   attribute_not_exists(#k0) OR #ver < :ver OR
 *   (attribute_not_exists(#ver) AND #nt <= :nt)
 * (without newer_than the last term is attribute_not_exists(#ver)): a
 * later row wins, the same row again is stale, and an item written before
 * versions is compared by its field. Returns a new reference, or NULL
 * with the reason in `why` (also when the record lacks the newer_than
 * field, or has a field named like the version). */
json_t *ddb_update_encode(const ddb_schema_t *schema, const pl_record_t *record,
                          pl_buf_t *why);

/* The same UpdateItem request appended to `out` as JSON text, with
 * `key_text` (borrowed: ddb_key_text's text) as its Key,
 * written directly rather than through a tree (ddb_update_encode reads
 * this text back). Returns 0; PL_EINVAL with the reason in `why`, or
 * PL_ENOMEM, and `out` as it was. */
int ddb_update_text(const ddb_schema_t *schema, const pl_record_t *record,
                    const char *key_text, pl_buf_t *out, pl_buf_t *why);

/* What the UpdateItem requests of records with the same fields (the same
 * names in the same order: every row of one source, as a rule) share:
 * the table, the update expression, the condition, the attribute names,
 * and where the key and each value go. Made by ddb_update_text_shaped()
 * from the first record and made again when a record's fields differ.
 * It serves one schema. Start with {0}; free with ddb_update_shape_free(). */
typedef struct ddb_update_shape {
  bool valid;
  size_t count;  /* the record's fields */
  size_t fields; /* of them, those the update sets (not key attributes) */
  bool has_values;
  pl_buf_t names;   /* each field's name after 'k' (key) or 'f', NUL-ended */
  pl_buf_t lead;    /* `{"TableName":"...","Key":` */
  pl_buf_t head;    /* from the expression to the values' '{' */
  pl_buf_t version; /* scratch: a record's encoded version */
  /* The same records as PartiQL statements (ddb_statement.h), made at the
   * shape's first statement: DDB_SHAPE_STATEMENT_* and, when there is
   * one, `{"Statement":"UPDATE ...","Parameters":[`. */
  int statement;
  pl_buf_t statement_head;
} ddb_update_shape_t;

enum {
  DDB_SHAPE_STATEMENT_UNKNOWN, /* not made yet */
  DDB_SHAPE_STATEMENT_NONE,    /* the records of the shape have none */
  DDB_SHAPE_STATEMENT_MADE,
};

/* Steps `*entry`, a field's entry in shape->names, to the next field's;
 * true when the field it passed is one the update sets (not a key
 * attribute). Walks a record's fields beside its shape's. */
static inline bool ddb_shape_step(const char **entry) {
  bool sets = **entry == 'f';
  *entry += strlen(*entry) + 1;
  return sets;
}

/* What every update of `record` does before its text is written, shared
 * with ddb_statement.h: the checks (a record that is not an object, a
 * missing or null newer_than field or one that is a key attribute, a
 * field named like the version attribute, a version that cannot be
 * encoded: PL_EINVAL with the reason in `why`), the encoded version in
 * shape->version when the schema has one, and `shape` made that of the
 * record's fields unless it already is (the same names in the same
 * order; PL_EINVAL for a name JSON cannot hold, or PL_ENOMEM, with the
 * shape left invalid). *object is the record's object (borrowed), *newest
 * its newer_than field (NULL without newer_than). Returns 0 or the
 * error. */
int ddb_update_shape_prepare(const ddb_schema_t *schema,
                             ddb_update_shape_t *shape,
                             const pl_record_t *record, const json_t **object,
                             const json_t **newest, pl_buf_t *why);

/* ddb_update_text with `shape` kept from call to call (the text is the
 * same). */
int ddb_update_text_shaped(const ddb_schema_t *schema,
                           ddb_update_shape_t *shape, const pl_record_t *record,
                           const char *key_text, pl_buf_t *out, pl_buf_t *why);

/* Frees what `shape` holds and empties it. */
void ddb_update_shape_free(ddb_update_shape_t *shape);

#endif
