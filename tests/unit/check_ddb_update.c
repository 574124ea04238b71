/* sink-dynamodb's UpdateItem requests (ddb_update.h) on their own: the
 * update expression, its names and values, and the condition on
 * newer_than or on the version. */
#include <check.h>
#include <stdlib.h>

#include "../../plugins/sink-dynamodb/ddb_update.h"

#include "test_ddb.h"
#include "test_suite.h"

START_TEST(update_expression_sets_every_non_key_field) {
  test_ddb_records_t *r =
      test_ddb_records_create("${product_id}#${location}", NULL);
  ddb_override_t types[] = {{"quantity", DDB_TYPE_N}};
  ddb_schema_t schema = {.table = "inventory",
                         .keys = r->keys,
                         .key_count = 1,
                         .types = types,
                         .type_count = 1,
                         .newer_than = "update_date"};
  pl_record_t *rec = test_ddb_record(
      r, "{\"product_id\":\"P1\",\"location\":\"W A\",\"quantity\":\"5\","
         "\"update_date\":\"2023-05-01\"}");
  pl_buf_t why = {0};
  json_t *req = ddb_update_encode(&schema, rec, &why);
  ck_assert_msg(req != NULL, "%s", why.data);
  ck_assert_str_eq(json_string_value(json_object_get(req, "UpdateExpression")),
                   "SET #a0 = :a0, #a1 = :a1, #a2 = :a2, #a3 = :a3");
  ck_assert_str_eq(
      json_string_value(json_object_get(req, "ConditionExpression")),
      "attribute_not_exists(#k0) OR attribute_not_exists(#nt) OR "
      "#nt <= :nt");
  test_ddb_assert_json(
      req, "{\"TableName\":\"inventory\",\"Key\":{\"id\":{\"S\":\"P1#W A\"}},"
           "\"UpdateExpression\":\"SET #a0 = :a0, #a1 = :a1, #a2 = :a2, "
           "#a3 = :a3\","
           "\"ConditionExpression\":\"attribute_not_exists(#k0) OR "
           "attribute_not_exists(#nt) OR #nt <= :nt\","
           "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\","
           "\"ExpressionAttributeNames\":{\"#a0\":\"product_id\","
           "\"#a1\":\"location\",\"#a2\":\"quantity\","
           "\"#a3\":\"update_date\",\"#nt\":\"update_date\","
           "\"#k0\":\"id\"},"
           "\"ExpressionAttributeValues\":{\":a0\":{\"S\":\"P1\"},"
           "\":a1\":{\"S\":\"W A\"},\":a2\":{\"N\":\"5\"},"
           "\":a3\":{\"S\":\"2023-05-01\"},"
           "\":nt\":{\"S\":\"2023-05-01\"}}}");
  json_decref(req);
  /* Without newer_than: no condition; names like reserved words are safe
   * behind #a placeholders. */
  schema.newer_than = NULL;
  rec = test_ddb_record(r, "{\"product_id\":\"P2\",\"location\":\"B\","
                           "\"size\":3}");
  req = ddb_update_encode(&schema, rec, &why);
  ck_assert_msg(req != NULL, "%s", why.data);
  test_ddb_assert_json(req,
                       "{\"TableName\":\"inventory\","
                       "\"Key\":{\"id\":{\"S\":\"P2#B\"}},"
                       "\"UpdateExpression\":\"SET #a0 = :a0, #a1 = :a1, "
                       "#a2 = :a2\","
                       "\"ExpressionAttributeNames\":{\"#a0\":\"product_id\","
                       "\"#a1\":\"location\",\"#a2\":\"size\"},"
                       "\"ExpressionAttributeValues\":{\":a0\":{\"S\":\"P2\"},"
                       "\":a1\":{\"S\":\"B\"},\":a2\":{\"N\":\"3\"}}}");
  json_decref(req);
  /* The condition needs the field. */
  schema.newer_than = "update_date";
  rec = test_ddb_record(r, "{\"product_id\":\"P3\",\"location\":\"C\"}");
  ck_assert_ptr_null(ddb_update_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data,
                   "field 'update_date' (newer_than) is missing (or null)");
  pl_buf_free(&why);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(update_with_a_version_conditions_on_it) {
  test_ddb_records_t *r =
      test_ddb_records_create("${product_id}#${location}", NULL);
  const ddb_order_t order[] = {{DDB_ORDER_FIELD, "update_date"},
                               {DDB_ORDER_ORIGIN_TIME, NULL},
                               {DDB_ORDER_LINE, NULL}};
  ddb_schema_t schema = {.table = "inventory",
                         .keys = r->keys,
                         .key_count = 1,
                         .newer_than = "update_date",
                         .order = order,
                         .order_count = 3,
                         .version = "version"};
  pl_record_t *rec =
      test_ddb_record(r, "{\"product_id\":\"P1\",\"location\":\"A\","
                         "\"quantity\":2,"
                         "\"update_date\":\"2023-05-01\"}");
  ck_assert_int_eq(pl_record_set_origin_time(rec, "2026-05-01T10:00:00.123Z"),
                   0);
  pl_record_set_line(rec, 3);
  pl_buf_t why = {0};
  json_t *req = ddb_update_encode(&schema, rec, &why);
  ck_assert_msg(req != NULL, "%s", why.data);
  /* A later version wins; the same one is stale; an item written before
   * versions is compared by its update_date. */
  test_ddb_assert_json(
      req, "{\"TableName\":\"inventory\",\"Key\":{\"id\":{\"S\":\"P1#A\"}},"
           "\"UpdateExpression\":\"SET #a0 = :a0, #a1 = :a1, #a2 = :a2, "
           "#a3 = :a3, #ver = :ver\","
           "\"ConditionExpression\":\"attribute_not_exists(#k0) OR "
           "#ver < :ver OR (attribute_not_exists(#ver) AND "
           "(attribute_not_exists(#nt) OR #nt <= :nt))\","
           "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\","
           "\"ExpressionAttributeNames\":{\"#a0\":\"product_id\","
           "\"#a1\":\"location\",\"#a2\":\"quantity\","
           "\"#a3\":\"update_date\",\"#nt\":\"update_date\","
           "\"#ver\":\"version\",\"#k0\":\"id\"},"
           "\"ExpressionAttributeValues\":{\":a0\":{\"S\":\"P1\"},"
           "\":a1\":{\"S\":\"A\"},\":a2\":{\"N\":\"2\"},"
           "\":a3\":{\"S\":\"2023-05-01\"},"
           "\":nt\":{\"S\":\"2023-05-01\"},"
           "\":ver\":{\"S\":\"2023-05-01T00:00:00.000000Z "
           "2026-05-01T10:00:00.123000Z 00000000000000000003\"}}}");
  json_decref(req);
  /* Metadata first: nothing to compare an old item by, so it is
   * overwritten. */
  schema.newer_than = NULL;
  schema.order = order + 1;
  schema.order_count = 2;
  req = ddb_update_encode(&schema, rec, &why);
  ck_assert_msg(req != NULL, "%s", why.data);
  ck_assert_str_eq(
      json_string_value(json_object_get(req, "ConditionExpression")),
      "attribute_not_exists(#k0) OR #ver < :ver OR "
      "attribute_not_exists(#ver)");
  ck_assert_ptr_null(json_object_get(
      json_object_get(req, "ExpressionAttributeValues"), ":nt"));
  json_decref(req);
  /* A field of the version's name would be set twice. */
  rec = test_ddb_record(r, "{\"product_id\":\"P2\",\"location\":\"B\","
                           "\"version\":3}");
  ck_assert_ptr_null(ddb_update_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "field 'version' has the name of the version "
                             "attribute; choose another version_attribute");
  pl_buf_reset(&why);
  /* A field the order cannot encode rejects the record. */
  schema.order = order;
  schema.order_count = 3;
  schema.newer_than = "update_date";
  rec = test_ddb_record(r, "{\"product_id\":\"P3\",\"location\":\"C\","
                           "\"update_date\":true}");
  ck_assert_ptr_null(ddb_update_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "field 'update_date' (newer_than) is a boolean; "
                             "the order takes whole numbers, dates, times "
                             "and text");
  pl_buf_free(&why);
  test_ddb_records_free(r);
}
END_TEST

/* A shape kept from record to record (as the sink keeps it) writes, byte
 * for byte, what a shape made for each record writes: records of one shape
 * and of others (the same names in another order, a field more, fewer
 * fields, a field named like the key attribute), records refused between
 * them (no newer_than field, a value its type refuses), under each
 * condition (none, newer_than, a version, both); and the refused ones say
 * the same. */
START_TEST(a_kept_shape_writes_what_a_fresh_one_writes) {
  test_ddb_records_t *r =
      test_ddb_records_create("${product_id}#${location}", NULL);
  ddb_schema_t schema = test_ddb_condition_schema(r, _i);
  const char *rows[] = {
      "{\"product_id\":\"P1\",\"location\":\"A\",\"quantity\":\"5\","
      "\"update_date\":\"2023-05-01\"}",
      "{\"product_id\":\"P2\",\"location\":\"B \\\"q\\\"\",\"quantity\":7,"
      "\"update_date\":\"2023-05-02\"}",
      "{\"location\":\"C\",\"product_id\":\"P3\",\"quantity\":\"1\","
      "\"update_date\":\"2023-05-03\"}",
      "{\"location\":\"C\",\"product_id\":\"P3\",\"quantity\":\"1\","
      "\"update_date\":\"2023-05-03\",\"note\":\"more\"}",
      "{\"product_id\":\"P4\",\"location\":\"D\"}",
      "{\"product_id\":\"P5\",\"location\":\"E\",\"id\":\"x\","
      "\"update_date\":\"2023-05-05\"}",
      "{\"product_id\":\"P6\",\"location\":\"F\",\"quantity\":\"many\","
      "\"update_date\":\"2023-05-06\"}",
      "{\"product_id\":\"P7\",\"location\":\"G\",\"quantity\":\"2\","
      "\"update_date\":\"2023-05-07\"}",
      "{\"product_id\":\"P1\",\"location\":\"A\",\"quantity\":\"5\","
      "\"update_date\":\"2023-05-01\"}",
  };
  ddb_update_shape_t shape = {0};
  size_t written = 0, refused = 0;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    pl_record_t *rec = test_ddb_record(r, rows[i]);
    ck_assert_int_eq(pl_record_set_origin_time(rec, "2026-05-01T10:00:00Z"), 0);
    pl_record_set_line(rec, (int64_t)i + 2);
    pl_buf_t key = {0}, kept = {0}, fresh = {0}, why_kept = {0},
             why_fresh = {0};
    ck_assert_int_eq(ddb_key_text(&schema, rec, &key, &why_kept), 0);
    int rc_kept = ddb_update_text_shaped(&schema, &shape, rec, key.data, &kept,
                                         &why_kept);
    int rc_fresh = ddb_update_text(&schema, rec, key.data, &fresh, &why_fresh);
    ck_assert_int_eq(rc_kept, rc_fresh);
    ck_assert_uint_eq(kept.len, fresh.len);
    if (rc_kept == 0) {
      ck_assert_str_eq(kept.data, fresh.data);
      written++;
    } else {
      ck_assert_str_eq(why_kept.data, why_fresh.data);
      refused++;
    }
    pl_buf_free(&key);
    pl_buf_free(&kept);
    pl_buf_free(&fresh);
    pl_buf_free(&why_kept);
    pl_buf_free(&why_fresh);
  }
  /* P6's quantity is refused by its type; P4 has no update_date. */
  ck_assert_uint_eq(refused, _i & 1 ? 2 : 1);
  ck_assert_uint_eq(written, sizeof rows / sizeof *rows - refused);
  ddb_update_shape_free(&shape);
  test_ddb_records_free(r);
}
END_TEST

/* A record of the key attribute alone sets nothing: without a condition
 * the request is the table and the key, with no expression, names or
 * values, and a shape kept from a record with fields, or kept for the
 * next one, does not change that. */
START_TEST(a_record_of_its_key_alone_sets_nothing) {
  test_ddb_records_t *r = test_ddb_records_create("${id}", NULL);
  ddb_schema_t schema = {.table = "inventory", .keys = r->keys, .key_count = 1};
  const char *rows[] = {"{\"id\":\"k0\",\"n\":1}", "{\"id\":\"k1\"}",
                        "{\"id\":\"k2\",\"n\":2}"};
  const char *want[] = {
      "{\"TableName\":\"inventory\",\"Key\":{\"id\":{\"S\":\"k0\"}},"
      "\"UpdateExpression\":\"SET #a0 = :a0\","
      "\"ExpressionAttributeNames\":{\"#a0\":\"n\"},"
      "\"ExpressionAttributeValues\":{\":a0\":{\"N\":\"1\"}}}",
      "{\"TableName\":\"inventory\",\"Key\":{\"id\":{\"S\":\"k1\"}}}",
      "{\"TableName\":\"inventory\",\"Key\":{\"id\":{\"S\":\"k2\"}},"
      "\"UpdateExpression\":\"SET #a0 = :a0\","
      "\"ExpressionAttributeNames\":{\"#a0\":\"n\"},"
      "\"ExpressionAttributeValues\":{\":a0\":{\"N\":\"2\"}}}"};
  ddb_update_shape_t shape = {0};
  for (size_t i = 0; i < 3; i++) {
    pl_record_t *rec = test_ddb_record(r, rows[i]);
    pl_buf_t key = {0}, out = {0}, why = {0};
    ck_assert_int_eq(ddb_key_text(&schema, rec, &key, &why), 0);
    ck_assert_int_eq(
        ddb_update_text_shaped(&schema, &shape, rec, key.data, &out, &why), 0);
    ck_assert_str_eq(out.data, want[i]);
    pl_buf_free(&key);
    pl_buf_free(&out);
    pl_buf_free(&why);
  }
  ddb_update_shape_free(&shape);
  test_ddb_records_free(r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ddb_update");
  TCase *tc = tcase_create("encoding");
  tcase_add_test(tc, update_expression_sets_every_non_key_field);
  tcase_add_test(tc, update_with_a_version_conditions_on_it);
  tcase_add_loop_test(tc, a_kept_shape_writes_what_a_fresh_one_writes, 0, 4);
  tcase_add_test(tc, a_record_of_its_key_alone_sets_nothing);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
