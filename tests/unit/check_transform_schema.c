/* transform-schema in a pipeline: good records pass unchanged, every kind of
 * poison goes to the dead letter with its reason. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_stages.h"

extern const pl_plugin_t pipelined_plugin;
static const pl_plugin_t *const schema_plugin[] = {&pipelined_plugin, NULL};

static const char *const inventory =
    "columns = [\"product_id:string:required\", \"location:string:required\", "
    "\"quantity:int:required\", \"update_date:date:required\"]";

static const char *const good =
    "{\"product_id\": \"P1\", \"location\": \"Warehouse A\", "
    "\"quantity\": 100, \"update_date\": \"2023-05-01\"}";

/* Runs `source` (the script source's options) through schema with
 * `schema_options` into a capture sink and a capture dead letter. */
static test_run_t *run_schema(const char *source, const char *schema_options) {
  pl_buf_t config = {0};
  pl_buf_printf(&config,
                "pipeline \"p\" {\n"
                "  source \"script\" { %s }\n"
                "  transform \"schema\" { %s }\n"
                "  sink \"capture\" { }\n"
                "  dead_letter \"capture\" { }\n"
                "}\n",
                source, schema_options);
  test_run_t *run = test_run(config.data, schema_plugin, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_buf_free(&config);
  return run;
}

/* Runs the one record `json` (JSON text, as the source would read it). */
static test_run_t *run_one(const char *json, const char *schema_options) {
  json_t *quoted = json_string(json);
  char *literal = json_dumps(quoted, JSON_ENCODE_ANY);
  pl_buf_t source = {0};
  pl_buf_printf(&source, "records = [%s]", literal);
  test_run_t *run = run_schema(source.data, schema_options);
  pl_buf_free(&source);
  free(literal);
  json_decref(quoted);
  return run;
}

static json_t *records(test_run_t *run) {
  return ((test_sink_t *)test_ctx(run, "p", PL_ROLE_SINK))->records;
}
static json_t *letters(test_run_t *run) {
  return ((test_sink_t *)test_ctx(run, "p", PL_ROLE_DEAD_LETTER))->records;
}

/* The one record `json` is dead-lettered by schema with exactly `reason`. */
static void assert_rejected(const char *json, const char *options,
                            const char *reason) {
  test_run_t *run = run_one(json, options);
  ck_assert_int_eq(run->status, 0); /* dead-lettered is resolved */
  ck_assert_uint_eq(json_array_size(records(run)), 0);
  ck_assert_uint_eq(json_array_size(letters(run)), 1);
  json_t *letter = json_array_get(letters(run), 0);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "reason")),
                   reason);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "stage")),
                   "transform-schema");
  ck_assert_int_eq(test_run_free(run), 0);
}

START_TEST(good_records_pass_unchanged) {
  const char *second = "{\"product_id\": \"P2\", \"location\": \"B\", "
                       "\"quantity\": -3, \"update_date\": \"2024-02-29\", "
                       "\"note\": \"kept\"}";
  json_t *list = json_pack("[s,s]", good, second);
  char *texts = json_dumps(list, 0);
  pl_buf_t source = {0};
  pl_buf_printf(&source, "records = %s", texts);
  test_run_t *run = run_schema(source.data, inventory);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(records(run)), 2);
  ck_assert_uint_eq(json_array_size(letters(run)), 0);
  json_t *want = json_loads(good, 0, NULL);
  ck_assert(json_equal(json_array_get(records(run), 0), want));
  json_decref(want);
  want = json_loads(second, 0, NULL);
  ck_assert(json_equal(json_array_get(records(run), 1), want));
  json_decref(want);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&source);
  free(texts);
  json_decref(list);
}
END_TEST

START_TEST(optional_columns_may_be_missing_or_null) {
  test_run_t *run = run_one("{\"id\": \"x\", \"n\": null}",
                            "columns = [\"id:string:required\", \"n:int\", "
                            "\"at:timestamp\", \"ok:bool\", \"v:number\"]");
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_int_eq(test_run_free(run), 0);
  run = run_one("{\"id\": \"x\", \"n\": 1, \"at\": \"2023-05-01T12:00:00Z\", "
                "\"ok\": false, \"v\": 1.5}",
                "columns = [\"id:string:required\", \"n:int\", "
                "\"at:timestamp\", \"ok:bool\", \"v:number\"]");
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_uint_eq(json_array_size(letters(run)), 0);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(invalid_json_is_not_a_json_record) {
  /* The script source leaves a record without a value when its text does
   * not parse. */
  assert_rejected("{\"product_id\": \"P1\",", inventory, "not a JSON record");
}
END_TEST

START_TEST(raw_bytes_are_not_a_json_record) {
  /* An SQS body that did not parse arrives as raw bytes. */
  test_run_t *run = run_schema("text = \"{oops\"\n chunk_size = 100", inventory);
  ck_assert_uint_eq(json_array_size(records(run)), 0);
  ck_assert_uint_eq(json_array_size(letters(run)), 1);
  json_t *letter = json_array_get(letters(run), 0);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "reason")),
                   "not a JSON record");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "raw")), "{oops");
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(non_objects_are_rejected) {
  assert_rejected("[1, 2]", inventory, "expected a JSON object, found array");
  assert_rejected("\"P1\"", inventory, "expected a JSON object, found string");
  assert_rejected("42", inventory, "expected a JSON object, found int");
  assert_rejected("null", inventory, "expected a JSON object, found null");
}
END_TEST

START_TEST(missing_and_null_fields_are_rejected) {
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"update_date\": \"2023-05-01\"}",
                  inventory, "field 'quantity' is required but missing");
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"quantity\": null, \"update_date\": \"2023-05-01\"}",
                  inventory, "field 'quantity' is required but null");
}
END_TEST

START_TEST(wrong_types_are_rejected) {
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"quantity\": \"5\", \"update_date\": \"2023-05-01\"}",
                  inventory, "field 'quantity': expected int, found string");
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"quantity\": 1.5, \"update_date\": \"2023-05-01\"}",
                  inventory, "field 'quantity': expected int, found number");
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"quantity\": 5, \"update_date\": 20230501}",
                  inventory, "field 'update_date': expected date, found int");
  assert_rejected("{\"product_id\": 7, \"location\": \"A\", "
                  "\"quantity\": 5, \"update_date\": \"2023-05-01\"}",
                  inventory, "field 'product_id': expected string, found int");
}
END_TEST

START_TEST(impossible_dates_are_rejected) {
  assert_rejected("{\"product_id\": \"P1\", \"location\": \"A\", "
                  "\"quantity\": 5, \"update_date\": \"2023-02-30\"}",
                  inventory,
                  "field 'update_date': '2023-02-30' is not a valid date "
                  "(YYYY-MM-DD)");
}
END_TEST

START_TEST(empty_required_strings_are_rejected) {
  const char *empty_id = "{\"product_id\": \"\", \"location\": \"A\", "
                         "\"quantity\": 5, \"update_date\": \"2023-05-01\"}";
  assert_rejected(empty_id, inventory,
                  "field 'product_id' is required but empty");
  /* non_empty = false: "" is a string like any other. */
  pl_buf_t options = {0};
  pl_buf_printf(&options, "%s\n non_empty = false", inventory);
  test_run_t *run = run_one(empty_id, options.data);
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&options);
  /* An optional string column may be empty either way. */
  run = run_one("{\"id\": \"x\", \"note\": \"\"}",
                "columns = [\"id:string:required\", \"note:string\"]");
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

static const char *const with_extra =
    "{\"product_id\": \"P1\", \"location\": \"A\", \"quantity\": 5, "
    "\"update_date\": \"2023-05-01\", \"colour\": \"red\", \"size\": 3}";

START_TEST(extra_fields_rejected) {
  pl_buf_t options = {0};
  pl_buf_printf(&options, "%s\n extra = \"reject\"", inventory);
  assert_rejected(with_extra, options.data,
                  "field 'colour' is not in the schema");
  /* A record with only schema fields still passes. */
  test_run_t *run = run_one(good, options.data);
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&options);
}
END_TEST

START_TEST(extra_field_names_are_quoted_safely) {
  assert_rejected("{\"id\": \"x\", \"a\\u0001b\": 1}",
                  "columns = [\"id:string\"]\n extra = \"reject\"",
                  "field 'a\\x01b' is not in the schema");
}
END_TEST

START_TEST(extra_fields_dropped) {
  pl_buf_t options = {0};
  pl_buf_printf(&options, "%s\n extra = \"drop\"", inventory);
  test_run_t *run = run_one(with_extra, options.data);
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_uint_eq(json_array_size(letters(run)), 0);
  json_t *want = json_loads(good, 0, NULL);
  json_object_set_new(want, "location", json_string("A"));
  json_object_set_new(want, "quantity", json_integer(5));
  ck_assert(json_equal(json_array_get(records(run), 0), want));
  json_decref(want);
  ck_assert_int_eq(test_run_free(run), 0);
  /* Dropping does not excuse a record that fails the columns. */
  assert_rejected("{\"product_id\": \"P1\", \"colour\": \"red\"}",
                  options.data, "field 'location' is required but missing");
  pl_buf_free(&options);
}
END_TEST

START_TEST(extra_fields_allowed_by_default) {
  test_run_t *run = run_one(with_extra, inventory);
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_ptr_nonnull(
      json_object_get(json_array_get(records(run), 0), "colour"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(a_mixed_stream_splits_into_good_and_dead_letters) {
  json_t *list = json_pack(
      "[s,s,s,s,s]", good, "not json", "[]",
      "{\"product_id\": \"P3\", \"location\": \"C\", \"quantity\": 1}", good);
  char *texts = json_dumps(list, 0);
  pl_buf_t source = {0};
  pl_buf_printf(&source, "records = %s\n group_size = 2", texts);
  test_run_t *run = run_schema(source.data, inventory);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(records(run)), 2);
  ck_assert_uint_eq(json_array_size(letters(run)), 3);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_array_get(letters(run), 1), "line")),
                   3);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&source);
  free(texts);
  json_decref(list);
}
END_TEST

START_TEST(bad_options_fail_at_start_up) {
  static const struct {
    const char *options;
    const char *text;
    bool in_log; /* our log line; otherwise the core's option error */
  } cases[] = {
      {"columns = [\"quantity:integer\"]",
       "option 'columns': column 1 'quantity:integer': unknown type "
       "'integer' (expected one of string, int, number, bool, date, "
       "timestamp)",
       true},
      {"columns = [\"a:int\", \"a:string\"]", "duplicate name", true},
      {"columns = [\"a:int:optional\"]", "unknown flag 'optional'", true},
      {"columns = [\"a\"]", "expected name:type", true},
      {"columns = []", "option 'columns': no columns", true},
      {"columns = [\"a:int\"]\n extra = \"maybe\"",
       "option 'extra' expects one of allow, drop, reject", false},
      {"extra = \"drop\"", "missing required option 'columns'", false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_buf_t config = {0};
    pl_buf_printf(&config,
                  "pipeline \"p\" { source \"script\" { records = [] }\n"
                  " transform \"schema\" { %s }\n sink \"capture\" { } }\n",
                  cases[i].options);
    test_run_t *run = test_run(config.data, schema_plugin, true);
    ck_assert_msg(run->create_rc < 0, "accepted: %s", cases[i].options);
    const char *said = cases[i].in_log ? test_log(run) : run->errors.data;
    ck_assert_msg(strstr(said, cases[i].text) != NULL, "for %s: %s",
                  cases[i].options, said);
    if (cases[i].in_log)
      ck_assert_ptr_nonnull(strstr(test_log(run), "[transform-schema:p]"));
    ck_assert_int_eq(test_run_free(run), 0);
    pl_buf_free(&config);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("transform-schema");
  TCase *tc = tcase_create("pipeline");
  tcase_add_test(tc, good_records_pass_unchanged);
  tcase_add_test(tc, optional_columns_may_be_missing_or_null);
  tcase_add_test(tc, invalid_json_is_not_a_json_record);
  tcase_add_test(tc, raw_bytes_are_not_a_json_record);
  tcase_add_test(tc, non_objects_are_rejected);
  tcase_add_test(tc, missing_and_null_fields_are_rejected);
  tcase_add_test(tc, wrong_types_are_rejected);
  tcase_add_test(tc, impossible_dates_are_rejected);
  tcase_add_test(tc, empty_required_strings_are_rejected);
  tcase_add_test(tc, extra_fields_rejected);
  tcase_add_test(tc, extra_field_names_are_quoted_safely);
  tcase_add_test(tc, extra_fields_dropped);
  tcase_add_test(tc, extra_fields_allowed_by_default);
  tcase_add_test(tc, a_mixed_stream_splits_into_good_and_dead_letters);
  tcase_add_test(tc, bad_options_fail_at_start_up);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
