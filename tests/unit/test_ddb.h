/* What the encoding suites of sink-dynamodb share (check_sink_dynamodb,
 * check_ddb_update): records made outside a run (<pipelined/testing.h>)
 * with their key templates, and a comparison of JSON trees. Failures are
 * Check assertions. */
#ifndef PL_TEST_DDB_H
#define PL_TEST_DDB_H

#include <jansson.h>
#include <pipelined/testing.h>

#include "../../plugins/sink-dynamodb/ddb_item.h"

/* Records and up to two key attributes, "id" and "sk", from templates. */
typedef struct test_ddb_records {
  pl_test_records_t *set;
  pl_template_t *tpl[2];
  ddb_key_attr_t keys[2];
} test_ddb_records_t;

/* The key templates `key0` and `key1` (NULL: only one key attribute) of a
 * new set of records (free it with test_ddb_records_free()). */
test_ddb_records_t *test_ddb_records_create(const char *key0, const char *key1);
/* A record of the set holding `json` (borrowed from the set until it is
 * freed). */
pl_record_t *test_ddb_record(test_ddb_records_t *r, const char *json);
/* Frees the set, its records and templates; asserts nothing leaked. */
void test_ddb_records_free(test_ddb_records_t *r);

/* The schema of table "inventory" for `r`'s records (key "id" only), with
 * quantity typed N, under condition `variant`: 0 none, bit 1 newer_than
 * "update_date", bit 2 version "version" (ordered by update_date when
 * bit 1 is set, then origin time and line). */
ddb_schema_t test_ddb_condition_schema(const test_ddb_records_t *r,
                                       int variant);

/* Asserts that `got` equals the JSON text `want_text`, naming both when
 * it does not. */
void test_ddb_assert_json(const json_t *got, const char *want_text);

#endif
