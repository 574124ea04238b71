/* Records as DynamoDB items: the pure encoding step of sink-dynamodb
 * (HACKING.md#s12), with no I/O. Fields map to attribute values by JSON type
 * (string S, number N, boolean BOOL, null NULL, object M, array L) unless
 * the `types` option names another; the key attributes come from
 * templates and are always S. */
#ifndef PL_DDB_ITEM_H
#define PL_DDB_ITEM_H

#include <jansson.h>
#include <pipelined/pipelined.h>

#include "ddb_version.h"

/* DynamoDB's limit of write requests in one BatchWriteItem. */
#define DDB_MAX_BATCH_ITEMS 25

#define DDB_TYPE_MAP(XX)                                                       \
  XX(AUTO, "auto")                                                             \
  XX(S, "S")                                                                   \
  XX(N, "N")                                                                   \
  XX(BOOL, "BOOL")                                                             \
  XX(NULL, "NULL")                                                             \
  XX(M, "M")                                                                   \
  XX(L, "L")

typedef enum {
#define DDB__TYPE_ENUM(name, text) DDB_TYPE_##name,
  DDB_TYPE_MAP(DDB__TYPE_ENUM)
#undef DDB__TYPE_ENUM
} ddb_type_t;

/* "S", "N", ... (case-sensitive, as DynamoDB writes them). Returns
 * PL_EINVAL for any other name. */
int ddb_type_parse(const char *name, ddb_type_t *out);
const char *ddb_type_name(ddb_type_t type);

/* One key attribute: its name and the template of its value (borrowed). */
typedef struct ddb_key_attr {
  const char *name;
  const pl_template_t *tpl;
} ddb_key_attr_t;

/* A `types` override: field `name` is encoded as `type`. */
typedef struct ddb_override {
  const char *name;
  ddb_type_t type;
} ddb_override_t;

/* How records become items (everything borrowed). */
typedef struct ddb_schema {
  const char *table;
  const ddb_key_attr_t *keys;
  size_t key_count;
  const ddb_override_t *types;
  size_t type_count;
  /* The field an update compares with <=: alone, or for items stored
   * without a version; NULL: none. */
  const char *newer_than;
  /* With `version`: the order whose encoding (ddb_version.h) the update
   * stores in attribute `version` and compares with <. */
  const ddb_order_t *order;
  size_t order_count;
  const char *version; /* NULL: no version */
} ddb_schema_t;

/* Appends the DynamoDB number text of a JSON number: an integer's decimal
 * text; for a real, the shortest of %.15g, %.16g and %.17g that reads back
 * as the same double. PL_EINVAL when `value` is not a number. */
int ddb_number_text(const json_t *value, pl_buf_t *out);

/* True when `text` is a number DynamoDB accepts as N: an optional '-',
 * digits with an optional fraction, an optional exponent. */
bool ddb_number_valid(const char *text);

/* Encodes `value` as an AttributeValue ({"S": "..."}), as `type` (AUTO: by
 * its JSON type). Returns a new reference, or NULL with the reason appended
 * to `why` (e.g. a string that is not a number forced to N). Null is
 * {"NULL": true} whatever the type. */
json_t *ddb_value_encode(const json_t *value, ddb_type_t type, pl_buf_t *why);

/* Appends the key of `record` to `out` as compact JSON text, its attributes
 * in the schema's order (so that equal keys have equal texts):
 * {"id":{"S":"P001#Warehouse A"}}. Returns 0; PL_EINVAL with the reason
 * in `why` (a missing field, an empty key, text that is not UTF-8), or
 * PL_ENOMEM, and `out` as it was. */
int ddb_key_text(const ddb_schema_t *schema, const pl_record_t *record,
                 pl_buf_t *out, pl_buf_t *why);

/* Appends the AttributeValue of key attribute `i` of `record`,
 * {"S":"P001#Warehouse A"}, to `out`. Returns 0; PL_EINVAL with the reason
 * in `why`, or PL_ENOMEM (`out` may then hold part of the text: see
 * ddb_settle()). */
int ddb_key_value_text(const ddb_schema_t *schema, size_t i,
                       const pl_record_t *record, pl_buf_t *out,
                       pl_buf_t *why);

/* The same key as a tree (read back from ddb_key_text's text). Returns a
 * new reference, or NULL with the reason in `why`. */
json_t *ddb_key_encode(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *why);

/* The whole item: the key attributes and every other field of the record
 * (a field named like a key attribute is left out: the key wins). Returns
 * a new reference (read back from ddb_item_text's text), or NULL with the
 * reason in `why`. */
json_t *ddb_item_encode(const ddb_schema_t *schema, const pl_record_t *record,
                        pl_buf_t *why);

/* The same item appended to `out` as JSON text, written directly: the
 * members of `key_text` (borrowed: ddb_key_text's text),
 * then the other fields' (ddb_item_encode reads this text back). Returns
 * 0; PL_EINVAL with the reason in `why`, or PL_ENOMEM, and `out` as it
 * was. */
int ddb_item_text(const ddb_schema_t *schema, const pl_record_t *record,
                  const char *key_text, pl_buf_t *out, pl_buf_t *why);

/* Appends the text of a BatchWriteItem request of PutRequests to `out`:
 * {"RequestItems":{"<table>":[{"PutRequest":{"Item":<item>}},...]}}, where
 * items[i] is the JSON text of an item (lens[i] bytes, as pl_json_encode
 * wrote ddb_item_encode's item; borrowed). Returns 0, or PL_ENOMEM with
 * `out` as it was. */
int ddb_batch_text(const char *table, const char *const *items,
                   const size_t *lens, size_t count, pl_buf_t *out);

/* ---- Internal: shared by ddb_item.c and ddb_update.c ---- */

/* The record's value when it is a JSON object (borrowed from `record`),
 * or NULL with the reason appended to `why`. */
const json_t *ddb_record_object(const pl_record_t *record, pl_buf_t *why);

/* True when `name` is one of the schema's key attributes. */
bool ddb_is_key(const ddb_schema_t *schema, const char *name);

/* Appends the AttributeValue of field `name` (`value` borrowed) as JSON
 * text, as `types` says. Returns 0; PL_EINVAL with the reason appended to
 * `why`, or PL_ENOMEM (`out` may then hold part of the text: see
 * ddb_settle()). */
int ddb_put_field_attr(const ddb_schema_t *schema, const char *name,
                       const json_t *value, pl_buf_t *out, pl_buf_t *why);

/* Ends a text appended to `out` from `start` with result `rc`: on error
 * `out` is as it was, and `why` says why (out of memory when nothing else
 * did). Returns 0, PL_ENOMEM or PL_EINVAL. */
int ddb_settle(pl_buf_t *out, size_t start, int rc, pl_buf_t *why);

/* A writer of a record's request or item text: ddb_item_text,
 * ddb_update_text. */
typedef int (*ddb_text_fn)(const ddb_schema_t *schema,
                           const pl_record_t *record, const char *key_text,
                           pl_buf_t *out, pl_buf_t *why);

/* The tree of the text `text_of` writes for `record` with its key (tests
 * read requests and items so). Returns a new reference, or NULL with the
 * reason in `why`. */
json_t *ddb_read_back(const ddb_schema_t *schema, const pl_record_t *record,
                      pl_buf_t *why, ddb_text_fn text_of);

#endif
