/* sink-dynamodb's batched conditional updates (ddb_statement.h) on their
 * own: each record's PartiQL statement and parameters, the request of
 * several, and what an answer says of each statement. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/sink-dynamodb/ddb_statement.h"

#include "test_ddb.h"
#include "test_suite.h"

/* The statement of `rec` as a tree, asserting it was written. */
static json_t *statement_of(const ddb_schema_t *schema, pl_record_t *rec) {
  pl_buf_t text = {0}, why = {0};
  int rc = ddb_statement_text(schema, rec, &text, &why);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, why.data ? why.data : "");
  json_t *tree = json_loadb(text.data, text.len, 0, NULL);
  ck_assert_msg(tree != NULL, "not JSON: %s", text.data);
  pl_buf_free(&text);
  pl_buf_free(&why);
  return tree;
}

START_TEST(a_statement_sets_the_fields_under_the_update_condition) {
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
  json_t *st = statement_of(&schema, rec);
  /* The fields in the record's order, then the key, then newer_than. */
  test_ddb_assert_json(
      st, "{\"Statement\":\"UPDATE \\\"inventory\\\" SET \\\"product_id\\\"=? "
          "SET \\\"location\\\"=? SET \\\"quantity\\\"=? "
          "SET \\\"update_date\\\"=? WHERE \\\"id\\\"=? AND "
          "(\\\"update_date\\\" IS MISSING OR \\\"update_date\\\"<=?)\","
          "\"Parameters\":[{\"S\":\"P1\"},{\"S\":\"W A\"},{\"N\":\"5\"},"
          "{\"S\":\"2023-05-01\"},{\"S\":\"P1#W A\"},{\"S\":\"2023-05-01\"}],"
          "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}");
  json_decref(st);
  /* Without newer_than: only the key selects the item. */
  schema.newer_than = NULL;
  st = statement_of(&schema, rec);
  ck_assert_str_eq(json_string_value(json_object_get(st, "Statement")),
                   "UPDATE \"inventory\" SET \"product_id\"=? "
                   "SET \"location\"=? SET \"quantity\"=? "
                   "SET \"update_date\"=? WHERE \"id\"=?");
  ck_assert_uint_eq(json_array_size(json_object_get(st, "Parameters")), 5);
  json_decref(st);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(a_statement_with_a_version_compares_it_first) {
  test_ddb_records_t *r = test_ddb_records_create("${product_id}", "${loc}");
  const ddb_order_t order[] = {{DDB_ORDER_FIELD, "update_date"},
                               {DDB_ORDER_LINE, NULL}};
  ddb_schema_t schema = {.table = "inv-2",
                         .keys = r->keys,
                         .key_count = 2,
                         .newer_than = "update_date",
                         .order = order,
                         .order_count = 2,
                         .version = "version"};
  pl_record_t *rec = test_ddb_record(
      r, "{\"product_id\":\"P1\",\"loc\":\"A\",\"q\":2,"
         "\"update_date\":\"2023-05-01\"}");
  pl_record_set_line(rec, 3);
  json_t *st = statement_of(&schema, rec);
  /* Both key attributes select the item; the version is set and compared
   * with <, and an item stored without one is compared by update_date. */
  const char *version =
      "{\"S\":\"2023-05-01T00:00:00.000000Z 00000000000000000003\"}";
  pl_buf_t want = {0};
  pl_buf_printf(
      &want,
      "{\"Statement\":\"UPDATE \\\"inv-2\\\" SET \\\"product_id\\\"=? "
      "SET \\\"loc\\\"=? SET \\\"q\\\"=? SET \\\"update_date\\\"=? "
      "SET \\\"version\\\"=? WHERE \\\"id\\\"=? AND \\\"sk\\\"=? AND "
      "(\\\"version\\\"<? OR (\\\"version\\\" IS MISSING AND "
      "(\\\"update_date\\\" IS MISSING OR \\\"update_date\\\"<=?)))\","
      "\"Parameters\":[{\"S\":\"P1\"},{\"S\":\"A\"},{\"N\":\"2\"},"
      "{\"S\":\"2023-05-01\"},%s,{\"S\":\"P1\"},{\"S\":\"A\"},%s,"
      "{\"S\":\"2023-05-01\"}],"
      "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
      version, version);
  test_ddb_assert_json(st, want.data);
  pl_buf_free(&want);
  json_decref(st);
  /* Only metadata in the order: an item without a version is
   * overwritten. */
  schema.newer_than = NULL;
  schema.order = order + 1;
  schema.order_count = 1;
  st = statement_of(&schema, rec);
  const char *text = json_string_value(json_object_get(st, "Statement"));
  const char *where = strstr(text, " WHERE ");
  ck_assert_ptr_nonnull(where);
  ck_assert_str_eq(where, " WHERE \"id\"=? AND \"sk\"=? AND "
                          "(\"version\"<? OR \"version\" IS MISSING)");
  json_decref(st);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(records_without_a_plain_statement_go_as_update_item) {
  test_ddb_records_t *r = test_ddb_records_create("${id}", NULL);
  ddb_schema_t schema = {.table = "t", .keys = r->keys, .key_count = 1};
  pl_buf_t text = {0}, why = {0};
  ck_assert_int_eq(pl_buf_append_str(&text, "kept"), 0);
  /* A name that would need more than double quotes. */
  const char *names[] = {"{\"id\":\"a\",\"a b\":1}", "{\"id\":\"a\",\"a.b\":1}",
                         "{\"id\":\"a\",\"a\\\"b\":1}",
                         "{\"id\":\"a\",\"\\u00e9t\\u00e9\":1}",
                         /* nothing to set */
                         "{\"id\":\"a\"}"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    pl_record_t *rec = test_ddb_record(r, names[i]);
    ck_assert_int_eq(ddb_statement_text(&schema, rec, &text, &why), PL_ENOENT);
    ck_assert_str_eq(text.data, "kept");
  }
  /* So does every record of a table or key with such a name. */
  pl_record_t *rec = test_ddb_record(r, "{\"id\":\"a\",\"q\":1}");
  schema.table = "my.table";
  ck_assert_int_eq(ddb_statement_text(&schema, rec, &text, &why), PL_ENOENT);
  schema.table = "t";
  ck_assert_int_eq(ddb_statement_text(&schema, rec, &text, &why), 0);
  ck_assert_uint_eq(why.len, 0);
  /* What UpdateItem refuses, the statement refuses with the same
   * reason. */
  pl_buf_reset(&text);
  schema.newer_than = "d";
  ck_assert_int_eq(ddb_statement_text(&schema, rec, &text, &why), PL_EINVAL);
  ck_assert_str_eq(why.data, "field 'd' (newer_than) is missing (or null)");
  ck_assert_uint_eq(text.len, 0);
  pl_buf_reset(&why);
  rec = test_ddb_record(r, "{\"q\":1,\"d\":\"x\"}");
  ck_assert_int_eq(ddb_statement_text(&schema, rec, &text, &why), PL_EINVAL);
  ck_assert_str_eq(why.data, "key 'id': field 'id' is missing (or null)");
  pl_buf_free(&text);
  pl_buf_free(&why);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(the_request_lists_the_statements) {
  const char *texts[] = {"{\"Statement\":\"a\"}", "{\"Statement\":\"b\"}"};
  size_t lens[] = {strlen(texts[0]), strlen(texts[1])};
  pl_buf_t out = {0};
  ck_assert_int_eq(ddb_statements_body(texts, lens, 2, &out), 0);
  ck_assert_str_eq(out.data, "{\"Statements\":[{\"Statement\":\"a\"},"
                             "{\"Statement\":\"b\"}]}");
  pl_buf_free(&out);
}
END_TEST

/* The results of `answer` for `count` statements, as letters: W(ritten),
 * S(tale), A(gain). */
static void assert_results(const char *answer, size_t count, bool conditional,
                           const char *want, const char *want_why) {
  ddb_statement_result_t results[DDB_MAX_STATEMENTS];
  pl_buf_t why = {0};
  size_t again = ddb_statement_results(answer, strlen(answer), count,
                                       conditional, NULL, NULL, results, &why);
  char got[DDB_MAX_STATEMENTS + 1] = {0};
  size_t agains = 0;
  for (size_t i = 0; i < count; i++) {
    got[i] = "WSA"[results[i]];
    agains += results[i] == DDB_STATEMENT_AGAIN;
  }
  ck_assert_str_eq(got, want);
  ck_assert_uint_eq(again, agains);
  ck_assert_str_eq(why.data ? why.data : "", want_why);
  pl_buf_free(&why);
}

/* A stored item that holds the statement's own version is its own write
 * (an earlier attempt's, whose answer was lost): written, not stale. */
START_TEST(a_stored_item_of_the_statements_own_version_is_written) {
  const char *answer =
      "{\"Responses\":["
      "{\"Error\":{\"Code\":\"ConditionalCheckFailed\","
      "\"Item\":{\"id\":{\"S\":\"a\"},\"v\":{\"S\":\"0001\"}}}},"
      "{\"Error\":{\"Code\":\"ConditionalCheckFailed\","
      "\"Item\":{\"id\":{\"S\":\"b\"},\"v\":{\"S\":\"0009\"}}}},"
      "{\"Error\":{\"Code\":\"ConditionalCheckFailed\","
      "\"Item\":{\"id\":{\"S\":\"c\"}}}}]}";
  const char *own[] = {"0001", "0002", "0003"};
  ddb_statement_result_t results[3];
  pl_buf_t why = {0};
  ck_assert_uint_eq(ddb_statement_results(answer, strlen(answer), 3, true, "v",
                                          own, results, &why),
                    0);
  ck_assert_int_eq(results[0], DDB_STATEMENT_WRITTEN);
  ck_assert_int_eq(results[1], DDB_STATEMENT_STALE);
  ck_assert_int_eq(results[2], DDB_STATEMENT_STALE);
  pl_buf_free(&why);
}
END_TEST

START_TEST(an_answer_writes_finds_stale_or_sends_again) {
  const char *answer =
      "{\"Responses\":[{\"TableName\":\"t\"},"
      "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ConditionalCheckFailed\","
      "\"Message\":\"The conditional request failed\","
      "\"Item\":{\"id\":{\"S\":\"b\"}}}},"
      "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ConditionalCheckFailed\","
      "\"Message\":\"The conditional request failed\"}},"
      "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ThrottlingError\","
      "\"Message\":\"slow down\"}},"
      "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ValidationError\"}}]}";
  /* The stored item came with the failed condition: stale. Without it
   * the item is absent, and UpdateItem creates it. */
  assert_results(answer, 5, true, "WSAAA",
                 "ConditionalCheckFailed: The conditional request failed");
  /* Without newer_than the condition is the key alone: a failure means
   * the item is absent, whatever came with it. */
  assert_results(answer, 5, false, "WAAAA",
                 "ConditionalCheckFailed: The conditional request failed");
  assert_results("{\"Responses\":[{},{\"Error\":{\"Code\":\"ValidationError\"}}]}",
                 2, true, "WA", "ValidationError");
  assert_results("{\"Responses\":[{},{\"Error\":{}}]}", 2, true, "WA",
                 "an error without a code");
  /* An answer that does not say which statement did what. */
  const char *mismatch =
      "the answer does not hold one response per statement";
  assert_results("{\"Responses\":[{}]}", 2, true, "AA", mismatch);
  assert_results("{}", 1, true, "A", mismatch);
  assert_results("not json", 2, true, "AA", mismatch);
  assert_results("{\"Responses\":{}}", 1, true, "A", mismatch);
}
END_TEST

/* A shape kept from record to record (as the sink keeps it, shared with
 * its UpdateItems) states, byte for byte, what a shape made for each
 * record states: records of one shape and of others, records with a name
 * that has no statement between them, records refused (no key, no
 * newer_than field, a value its type refuses), under each condition
 * (none, newer_than, a version, both); and a record that goes as
 * UpdateItem leaves the text as it was. */
START_TEST(a_kept_shape_states_what_a_fresh_one_states) {
  test_ddb_records_t *r =
      test_ddb_records_create("${product_id}#${location}", NULL);
  ddb_schema_t schema = test_ddb_condition_schema(r, _i);
  const char *rows[] = {
      "{\"product_id\":\"P1\",\"location\":\"A\",\"quantity\":\"5\","
      "\"update_date\":\"2023-05-01\"}",
      "{\"product_id\":\"P2\",\"location\":\"B \\\"q\\\"\",\"quantity\":7,"
      "\"update_date\":\"2023-05-02\"}",
      "{\"location\":\"C\",\"product_id\":\"P3\",\"quantity\":\"1\","
      "\"update_date\":\"2023-05-03\",\"note\":\"more\"}",
      "{\"product_id\":\"P4\",\"location\":\"D\",\"odd name\":\"1\","
      "\"update_date\":\"2023-05-04\"}",
      "{\"product_id\":\"P5\",\"location\":\"E\",\"quantity\":\"2\","
      "\"update_date\":\"2023-05-05\"}",
      "{\"product_id\":\"P6\",\"location\":\"F\",\"quantity\":\"many\","
      "\"update_date\":\"2023-05-06\"}",
      "{\"product_id\":\"P7\",\"quantity\":\"2\","
      "\"update_date\":\"2023-05-07\"}",
      "{\"product_id\":\"P8\",\"location\":\"H\"}",
      "{\"product_id\":\"P1\",\"location\":\"A\",\"quantity\":\"5\","
      "\"update_date\":\"2023-05-01\"}",
  };
  ddb_update_shape_t shape = {0};
  size_t stated = 0, refused = 0, none = 0;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    pl_record_t *rec = test_ddb_record(r, rows[i]);
    ck_assert_int_eq(pl_record_set_origin_time(rec, "2026-05-01T10:00:00Z"), 0);
    pl_record_set_line(rec, (int64_t)i + 2);
    pl_buf_t kept = {0}, fresh = {0}, why_kept = {0}, why_fresh = {0};
    ck_assert_int_eq(pl_buf_append_str(&kept, "["), 0);
    ck_assert_int_eq(pl_buf_append_str(&fresh, "["), 0);
    int rc_kept =
        ddb_statement_text_shaped(&schema, &shape, rec, &kept, &why_kept);
    int rc_fresh = ddb_statement_text(&schema, rec, &fresh, &why_fresh);
    ck_assert_int_eq(rc_kept, rc_fresh);
    ck_assert_str_eq(kept.data, fresh.data);
    if (rc_kept == 0) {
      stated++;
    } else if (rc_kept == PL_ENOENT) {
      ck_assert_str_eq(kept.data, "[");
      none++;
    } else {
      ck_assert_str_eq(kept.data, "[");
      ck_assert_str_eq(why_kept.data, why_fresh.data);
      refused++;
    }
    pl_buf_free(&kept);
    pl_buf_free(&fresh);
    pl_buf_free(&why_kept);
    pl_buf_free(&why_fresh);
  }
  /* "odd name" has no statement; P6's quantity is refused by its type, P7
   * has no location for its key, P8 no update_date. */
  ck_assert_uint_eq(none, 1);
  ck_assert_uint_eq(refused, _i & 1 ? 3 : 2);
  ck_assert_uint_eq(stated, sizeof rows / sizeof *rows - none - refused);
  ddb_update_shape_free(&shape);
  test_ddb_records_free(r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ddb_statement");
  TCase *tc = tcase_create("statements");
  tcase_add_test(tc, a_statement_sets_the_fields_under_the_update_condition);
  tcase_add_test(tc, a_statement_with_a_version_compares_it_first);
  tcase_add_test(tc, records_without_a_plain_statement_go_as_update_item);
  tcase_add_loop_test(tc, a_kept_shape_states_what_a_fresh_one_states, 0, 4);
  tcase_add_test(tc, the_request_lists_the_statements);
  tcase_add_test(tc, an_answer_writes_finds_stale_or_sends_again);
  tcase_add_test(tc, a_stored_item_of_the_statements_own_version_is_written);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
