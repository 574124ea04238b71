/* What the encoding suites of sink-dynamodb share (see test_ddb.h). */
#include "test_ddb.h"

#include <check.h>
#include <stdlib.h>

test_ddb_records_t *test_ddb_records_create(const char *key0,
                                            const char *key1) {
  test_ddb_records_t *r = calloc(1, sizeof(*r));
  ck_assert_int_eq(pl_test_records_create(&r->set), 0);
  const char *names[2] = {"id", "sk"};
  const char *texts[2] = {key0, key1};
  for (size_t i = 0; i < 2 && texts[i]; i++) {
    ck_assert_int_eq(pl_template_create(texts[i], &r->tpl[i], NULL), 0);
    r->keys[i] = (ddb_key_attr_t){names[i], r->tpl[i]};
  }
  return r;
}

ddb_schema_t test_ddb_condition_schema(const test_ddb_records_t *r,
                                       int variant) {
  static const ddb_order_t order[] = {{DDB_ORDER_FIELD, "update_date"},
                                      {DDB_ORDER_ORIGIN_TIME, NULL},
                                      {DDB_ORDER_LINE, NULL}};
  static const ddb_override_t types[] = {{"quantity", DDB_TYPE_N}};
  ddb_schema_t schema = {.table = "inventory",
                         .keys = r->keys,
                         .key_count = 1,
                         .types = types,
                         .type_count = 1};
  if (variant & 1)
    schema.newer_than = "update_date";
  if (variant & 2) {
    schema.version = "version";
    schema.order = variant & 1 ? order : order + 1;
    schema.order_count = variant & 1 ? 3 : 2;
  }
  return schema;
}

pl_record_t *test_ddb_record(test_ddb_records_t *r, const char *json) {
  pl_record_t *rec = pl_test_records_add(r->set, json);
  ck_assert_ptr_nonnull(rec);
  return rec;
}

void test_ddb_records_free(test_ddb_records_t *r) {
  for (size_t i = 0; i < 2; i++)
    if (r->tpl[i])
      pl_template_destroy(r->tpl[i]);
  ck_assert_int_eq(pl_test_records_destroy(r->set), 0);
  free(r);
}

void test_ddb_assert_json(const json_t *got, const char *want_text) {
  json_t *want = json_loads(want_text, 0, NULL);
  ck_assert_msg(want != NULL, "bad expected JSON %s", want_text);
  char *text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_msg(json_equal(got, want), "got %s, want %s", text, want_text);
  free(text);
  json_decref(want);
}
