/* Conditional updates in batches (sink-dynamodb's update mode with
 * batch_updates): records as the statements of one PartiQL
 * BatchExecuteStatement, and what its answer says of each record. The
 * pure encoding and reading steps (HACKING.md#s12), with no I/O.
 *
 * A record's statement sets what ddb_update.h's UpdateItem sets, under
 * the same condition:
 *   UPDATE "<table>" SET "<field>"=? ... [SET "<version>"=?]
 *   WHERE "<key0>"=? [AND "<key1>"=?] [AND <newer>]
 * where <newer> is "<nt>"<=? with newer_than alone, and with a version
 *   ("<version>"<? OR ("<version>" IS MISSING AND "<nt>"<=?))
 * (without newer_than: ("<version>"<? OR "<version>" IS MISSING)). Every
 * value is a parameter, encoded as for UpdateItem.
 *
 * Unlike UpdateItem, PartiQL's UPDATE never creates an item: on an absent
 * item it fails its condition (ConditionalCheckFailed), as it does on an
 * item that is not older. The statement asks for the stored item on such
 * a failure (ReturnValuesOnConditionCheckFailure ALL_OLD), which tells the
 * two apart: with the item, the record is stale, as UpdateItem's failed
 * condition makes it; without, the item is absent and the record is sent
 * again as UpdateItem, which creates it. Every other answer of a statement
 * (a throttled or refused one, a validation error) also sends the record
 * again as UpdateItem, whose answer decides it as in update mode without
 * batches: a statement only ever writes a record or finds it stale. */
#ifndef PL_DDB_STATEMENT_H
#define PL_DDB_STATEMENT_H

#include <pipelined/pipelined.h>

#include "ddb_item.h"
#include "ddb_update.h"

/* DynamoDB's limit of statements in one BatchExecuteStatement (the same
 * as BatchWriteItem's, DDB_MAX_BATCH_ITEMS). */
#define DDB_MAX_STATEMENTS 25

/* Appends the BatchStatementRequest of `record` to `out`:
 * {"Statement":"UPDATE ...","Parameters":[...],
 *  "ReturnValuesOnConditionCheckFailure":"ALL_OLD"}.
 * Returns 0; PL_ENOENT when the record has no statement, so that it goes
 * as UpdateItem: a table or attribute name other than letters, digits,
 * '_' and '-' (whose quoting in PartiQL is not tested here), or no
 * attribute to set (the record's values are not read then: the UpdateItem
 * that goes instead reads them); PL_EINVAL with the reason in `why` (the
 * checks of ddb_update_shape_prepare(), a value that cannot be encoded), or
 * PL_ENOMEM. `out` is as it was on any error. */
int ddb_statement_text(const ddb_schema_t *schema, const pl_record_t *record,
                       pl_buf_t *out, pl_buf_t *why);

/* ddb_statement_text with `shape` (ddb_update.h) kept from call to call:
 * the statement of a shape is made once (the text is the same). */
int ddb_statement_text_shaped(const ddb_schema_t *schema,
                              ddb_update_shape_t *shape,
                              const pl_record_t *record, pl_buf_t *out,
                              pl_buf_t *why);

/* Appends {"Statements":[...]} of `count` statement texts (texts[i] of
 * lens[i] bytes, as ddb_statement_text wrote them; borrowed) to `out`.
 * Returns 0, or PL_ENOMEM with `out` as it was. */
int ddb_statements_body(const char *const *texts, const size_t *lens,
                        size_t count, pl_buf_t *out);

typedef enum {
  DDB_STATEMENT_WRITTEN, /* the update applied */
  DDB_STATEMENT_STALE,   /* the stored item is not older */
  DDB_STATEMENT_AGAIN,   /* send the record again as UpdateItem */
} ddb_statement_result_t;

/* Reads the answer of a BatchExecuteStatement of `count` statements (at
 * most DDB_MAX_STATEMENTS), `len` bytes of JSON text (borrowed), into
 * results[0..count): a response without Error is WRITTEN; a
 * ConditionalCheckFailed with the stored item is STALE when `conditional`
 * (the statements compared newer_than or a version); anything else is
 * AGAIN, and so is every statement when the answer is not JSON or does not
 * hold one response per statement. With `version` (the version attribute,
 * or NULL) and own[i] (statement i's version text, or NULL; `own` may be
 * NULL), a stored item whose version is statement i's own is WRITTEN: the
 * statement's earlier attempt wrote it and its answer was lost. The code
 * and message of the first AGAIN go to `why` (for the log). Returns the
 * number of AGAIN. */
size_t ddb_statement_results(const char *text, size_t len, size_t count,
                             bool conditional, const char *version,
                             const char *const *own,
                             ddb_statement_result_t *results, pl_buf_t *why);

#endif
