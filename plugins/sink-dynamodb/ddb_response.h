/* DynamoDB answers: which write requests BatchWriteItem left unprocessed,
 * and what a failed call means for its records. Pure: no I/O. */
#ifndef PL_DDB_RESPONSE_H
#define PL_DDB_RESPONSE_H

#include <jansson.h>
#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

typedef enum {
  DDB_OUTCOME_FAIL,      /* retryable, or a configuration mistake: fail */
  DDB_OUTCOME_REJECT,    /* the item itself is invalid: dead letter */
  DDB_OUTCOME_SPLIT,     /* invalid, but which item of the batch is unknown */
  DDB_OUTCOME_STALE,     /* the stored item is newer: delivered */
  DDB_OUTCOME_WRONG_KEY, /* the table's key is not the config's: fail */
} ddb_outcome_t;

/* True when `error` is DynamoDB's ValidationException for a key that is
 * not the table's (other names or types): the config's mistake, which
 * every record would meet, not the record's. */
bool ddb_key_mismatch(const pl_aws_error_t *error);

/* What a failed call means for the `count` records it carried;
 * `conditional` when the request had the newer_than condition. */
ddb_outcome_t ddb_error_outcome(const pl_aws_error_t *error, size_t count,
                                bool conditional);

/* For a conditional UpdateItem refused with ConditionalCheckFailedException:
 * true when the stored item the answer gives (`error->body`'s Item,
 * ReturnValuesOnConditionCheckFailure ALL_OLD) holds the version (or,
 * without version_attribute, the newer_than value) that `request`
 * (`request_len` bytes of the UpdateItem's JSON text, borrowed) sets. Such
 * an item is the request's own write: a first attempt wrote it and its
 * answer was lost (a 500, a cut connection), and the AWS layer's retry met
 * it. False without such an answer. The texts are parsed: a failed
 * condition is rare. */
bool ddb_condition_met_own_write(const char *request, size_t request_len,
                                 const pl_aws_error_t *error);

/* Sets unprocessed[i] for each of the `count` keys (at most
 * DDB_MAX_BATCH_ITEMS; texts as ddb_key_text writes them, borrowed) whose
 * PutRequest the BatchWriteItem `result` lists under UnprocessedItems of
 * `table`; returns how many. The texts are parsed only when that list is
 * not empty; a key whose text cannot be parsed then (out of memory)
 * counts as unprocessed: its item is sent again. */
size_t ddb_unprocessed(const json_t *result, const char *table,
                       const char *const *key_texts, size_t count,
                       bool *unprocessed);

/* Reads the answer of a write, `len` bytes of JSON text (borrowed). The
 * usual answers, an empty text, {} (UpdateItem) and
 * {"UnprocessedItems":{}} (BatchWriteItem), are recognized whole, byte for
 * byte, without a parse: *result is NULL, which ddb_unprocessed reads as
 * nothing unprocessed. Any other text is jansson's: *result is its tree (a
 * new reference). Returns 0, or PL_EPARSE with jansson's reason in `error`
 * when the text is not JSON (or memory ran out). */
int ddb_answer_read(const char *text, size_t len, json_t **result,
                    json_error_t *error);

#endif
