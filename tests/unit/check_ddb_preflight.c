/* Check suite for plugins/sink-dynamodb/ddb_preflight.c: the table's key
 * schema against the sink's key (ddb_key_schema_check), and the sink's
 * preflight through the engine against a scripted DynamoDB: DescribeTable
 * of the configured table, a matching table, a mismatched one, a missing
 * one. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/sink-dynamodb/ddb_preflight.h"
#include "test_preflight.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- ddb_key_schema_check ---- */

/* Checks `table_json` against the sink keys `keys` (NULL-terminated);
 * asserts the level and the sentence. */
static void assert_schema(const char *table_json, const char *const *keys,
                          pl_check_t level, const char *text) {
  json_t *table = json_loads(table_json, 0, NULL);
  ck_assert_ptr_nonnull(table);
  size_t count = 0;
  while (keys[count])
    count++;
  pl_buf_t got = {0};
  ck_assert_int_eq(ddb_key_schema_check(table, "Inventory",
                                        (char *const *)keys, count, &got),
                   level);
  ck_assert_str_eq(got.data, text);
  pl_buf_free(&got);
  json_decref(table);
}

static const char composite[] =
    "{\"TableStatus\":\"ACTIVE\","
    "\"KeySchema\":[{\"AttributeName\":\"product_id\",\"KeyType\":\"HASH\"},"
    "{\"AttributeName\":\"location\",\"KeyType\":\"RANGE\"}],"
    "\"AttributeDefinitions\":["
    "{\"AttributeName\":\"location\",\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"product_id\",\"AttributeType\":\"S\"}]}";

START_TEST(the_same_keys_match_in_any_order) {
  const char *ok = "table Inventory (keys product_id (HASH, S), location "
                   "(RANGE, S))";
  assert_schema(composite,
                (const char *const[]){"product_id", "location", NULL},
                PL_CHECK_OK, ok);
  /* The sink's map does not say which is the partition key. */
  assert_schema(composite,
                (const char *const[]){"location", "product_id", NULL},
                PL_CHECK_OK, ok);
}
END_TEST

START_TEST(other_keys_fail) {
  assert_schema(
      composite, (const char *const[]){"id", NULL}, PL_CHECK_FAIL,
      "table Inventory: its key is product_id (HASH, S), location (RANGE, "
      "S), but the sink's key is id: DynamoDB would refuse every write");
  assert_schema(composite, (const char *const[]){"product_id", NULL},
                PL_CHECK_FAIL,
                "table Inventory: its key is product_id (HASH, S), location "
                "(RANGE, S), but the sink's key is product_id: DynamoDB "
                "would refuse every write");
  assert_schema("{\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":"
                "\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":"
                "\"id\",\"AttributeType\":\"S\"}]}",
                (const char *const[]){"product_id", "location", NULL},
                PL_CHECK_FAIL,
                "table Inventory: its key is id (HASH, S), but the sink's "
                "key is product_id, location: DynamoDB would refuse every "
                "write");
}
END_TEST

START_TEST(a_key_that_is_not_text_fails) {
  assert_schema("{\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":"
                "\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":"
                "\"id\",\"AttributeType\":\"N\"}]}",
                (const char *const[]){"id", NULL}, PL_CHECK_FAIL,
                "table Inventory: key attribute id is of type N, but the "
                "sink writes its key as text (S): DynamoDB would refuse "
                "every write");
}
END_TEST

START_TEST(a_table_not_active_warns) {
  assert_schema("{\"TableStatus\":\"CREATING\",\"KeySchema\":["
                "{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
                "\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
                "\"AttributeType\":\"S\"}]}",
                (const char *const[]){"id", NULL}, PL_CHECK_WARN,
                "table Inventory is CREATING, not ACTIVE: writes fail until "
                "it is (keys id (HASH, S))");
}
END_TEST

/* ---- Through the engine ---- */

static test_report_t run_sink(test_aws_t *aws, int answer_status,
                              const char *answer) {
  test_preflight_push_answer(aws, "POST", answer_status, answer);
  char *pipelines = test_aws_format(
      "pipeline \"p\" {\n  source \"script\" { records = [] }\n"
      "  sink \"dynamodb\" {\n    table = \"Inventory\"\n"
      "    endpoint = \"%s\"\n"
      "    key { product_id = \"${product_id}\"; location = \"${location}\" "
      "}\n  }\n}\n",
      fake_http_url(aws->server));
  test_report_t report = test_preflight_run_pipelines(aws, pipelines, false);
  free(pipelines);
  return report;
}

START_TEST(the_sink_describes_its_table) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  char *answer = test_aws_format("{\"Table\":%s}", composite);
  test_report_t r = run_sink(aws, 200, answer);
  free(answer);
  test_report_has(&r, "ok   pipeline p: sink dynamodb: dynamodb in region "
                      "eu-west-1 (aws {} block)");
  test_report_has(&r, "ok   pipeline p: sink dynamodb: table Inventory (keys "
                      "product_id (HASH, S), location (RANGE, S))\n");
  ck_assert_int_eq(r.status, 0);
  /* DescribeTable of the table, nothing written. */
  char *body = NULL;
  ck_assert(
      test_preflight_asked(aws, "DynamoDB_20120810.DescribeTable", &body));
  ck_assert_str_eq(body, "{\"TableName\":\"Inventory\"}");
  free(body);
  ck_assert(!test_preflight_asked(aws, "DynamoDB_20120810.BatchWriteItem",
                                  NULL));
  test_report_free(&r);
  test_aws_free(aws);
}
END_TEST

START_TEST(a_mismatched_table_fails) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_report_t r = run_sink(
      aws, 200,
      "{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{"
      "\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
      "\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
      "\"AttributeType\":\"S\"}]}}");
  test_report_has(&r, "FAIL pipeline p: sink dynamodb: table Inventory: its "
                      "key is id (HASH, S), but the sink's key is "
                      "product_id, location");
  test_preflight_end(&r, aws, 1);
}
END_TEST

START_TEST(a_missing_table_fails) {
  test_aws_t *aws = test_preflight_fixture(&pipelined_plugin);
  test_report_t r = run_sink(
      aws, 400,
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
      "ResourceNotFoundException\",\"message\":\"Requested resource not "
      "found\"}");
  test_report_has(&r, "FAIL pipeline p: sink dynamodb: table Inventory: "
                      "ResourceNotFoundException: Requested resource not "
                      "found\n");
  test_report_has(&r, "preflight: 3 ok, 0 warning(s), 1 failed");
  test_preflight_end(&r, aws, 1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("ddb_preflight");
  TCase *schema = tcase_create("key schema");
  tcase_add_test(schema, the_same_keys_match_in_any_order);
  tcase_add_test(schema, other_keys_fail);
  tcase_add_test(schema, a_key_that_is_not_text_fails);
  tcase_add_test(schema, a_table_not_active_warns);
  suite_add_tcase(s, schema);
  TCase *engine = tcase_create("engine");
  tcase_add_test(engine, the_sink_describes_its_table);
  tcase_add_test(engine, a_mismatched_table_fails);
  tcase_add_test(engine, a_missing_table_fails);
  suite_add_tcase(s, engine);
  return s;
}

int main(void) {
  return test_suite_run(suite());
}
