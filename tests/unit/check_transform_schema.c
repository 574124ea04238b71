/* transform-schema in a pipeline: good records pass unchanged, every kind of
 * poison goes to the dead letter with its reason. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/testing.h>

#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

static const char *const inventory =
    "columns = [\"product_id:string:required\", \"location:string:required\", "
    "\"quantity:int:required\", \"update_date:date:required\"]";

static const char *const good =
    "{\"product_id\": \"P1\", \"location\": \"Warehouse A\", "
    "\"quantity\": 100, \"update_date\": \"2023-05-01\"}";

/* A harness around schema with `schema_options`. */
static pl_test_t *harness(const char *schema_options) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, schema_options);
  return t;
}

/* Feeds `json` as a record, or, when it is not JSON, as the bytes of one
 * chunk: what a source hands on when it could not parse its input. */
static void feed(pl_test_t *t, const char *json) {
  if (pl_test_feed_record(t, json) == PL_EPARSE)
    ck_assert_int_eq(pl_test_feed_bytes(t, json, strlen(json), true), 0);
}

static void run(pl_test_t *t) {
  int rc = pl_test_run(t, 10000);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
}

/* Runs the one record `json` (JSON text, as the source would read it). */
static pl_test_t *run_one(const char *json, const char *schema_options) {
  pl_test_t *t = harness(schema_options);
  feed(t, json);
  run(t);
  return t;
}

/* The i-th dead letter's document (reason, stage, line, raw). */
static json_t *letter(pl_test_t *t, size_t i) {
  json_t *doc = pl_test_dead_letter_document(t, i);
  ck_assert_ptr_nonnull(doc);
  return doc;
}

/* The one record `json` is dead-lettered by schema with exactly `reason`. */
static void assert_rejected(const char *json, const char *options,
                            const char *reason) {
  pl_test_t *t = run_one(json, options);
  ck_assert_int_eq(pl_test_status(t), 0); /* dead-lettered is resolved */
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 0), reason);
  ck_assert_str_eq(json_string_value(json_object_get(letter(t, 0), "stage")),
                   "transform-schema");
  ck_assert_int_eq(pl_test_destroy(t), 0);
}

START_TEST(good_records_pass_unchanged) {
  const char *second = "{\"product_id\": \"P2\", \"location\": \"B\", "
                       "\"quantity\": -3, \"update_date\": \"2024-02-29\", "
                       "\"note\": \"kept\"}";
  pl_test_t *t = harness(inventory);
  feed(t, good);
  feed(t, second);
  run(t);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  json_t *want = json_loads(good, 0, NULL);
  ck_assert(json_equal(pl_test_record(t, 0), want));
  json_decref(want);
  want = json_loads(second, 0, NULL);
  ck_assert(json_equal(pl_test_record(t, 1), want));
  json_decref(want);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(optional_columns_may_be_missing_or_null) {
  pl_test_t *t = run_one("{\"id\": \"x\", \"n\": null}",
                         "columns = [\"id:string:required\", \"n:int\", "
                         "\"at:timestamp\", \"ok:bool\", \"v:number\"]");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = run_one("{\"id\": \"x\", \"n\": 1, \"at\": \"2023-05-01T12:00:00Z\", "
              "\"ok\": false, \"v\": 1.5}",
              "columns = [\"id:string:required\", \"n:int\", "
              "\"at:timestamp\", \"ok:bool\", \"v:number\"]");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(invalid_json_is_not_a_json_record) {
  /* A text that does not parse reaches the transform as it was read:
   * bytes, not a value. */
  assert_rejected("{\"product_id\": \"P1\",", inventory, "not a JSON record");
}
END_TEST

START_TEST(raw_bytes_are_not_a_json_record) {
  /* An SQS body that did not parse arrives as raw bytes. */
  pl_test_t *t = harness(inventory);
  ck_assert_int_eq(pl_test_feed_bytes(t, "{oops", 5, true), 0);
  run(t);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  json_t *doc = letter(t, 0);
  ck_assert_str_eq(json_string_value(json_object_get(doc, "reason")),
                   "not a JSON record");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "raw")), "{oops");
  ck_assert_int_eq(pl_test_destroy(t), 0);
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
  pl_test_t *t = run_one(empty_id, options.data);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&options);
  /* An optional string column may be empty either way. */
  t = run_one("{\"id\": \"x\", \"note\": \"\"}",
              "columns = [\"id:string:required\", \"note:string\"]");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
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
  pl_test_t *t = run_one(good, options.data);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
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
  pl_test_t *t = run_one(with_extra, options.data);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  json_t *want = json_loads(good, 0, NULL);
  json_object_set_new(want, "location", json_string("A"));
  json_object_set_new(want, "quantity", json_integer(5));
  ck_assert(json_equal(pl_test_record(t, 0), want));
  json_decref(want);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Dropping does not excuse a record that fails the columns. */
  assert_rejected("{\"product_id\": \"P1\", \"colour\": \"red\"}", options.data,
                  "field 'location' is required but missing");
  pl_buf_free(&options);
}
END_TEST

START_TEST(extra_fields_allowed_by_default) {
  pl_test_t *t = run_one(with_extra, inventory);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_ptr_nonnull(json_object_get(pl_test_record(t, 0), "colour"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_mixed_stream_splits_into_good_and_dead_letters) {
  const char *const stream[] = {
      good, "not json", "[]",
      "{\"product_id\": \"P3\", \"location\": \"C\", \"quantity\": 1}", good};
  pl_test_t *t = harness(inventory);
  for (size_t i = 0; i < 5; i++) { /* groups of two */
    feed(t, stream[i]);
    if (i % 2 == 1)
      pl_test_end_group(t);
  }
  run(t);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 3);
  ck_assert_uint_eq(pl_test_committed(t), 3);
  /* "[]" is the second record fed ("not json" went as bytes). */
  ck_assert_int_eq(json_integer_value(json_object_get(letter(t, 1), "line")),
                   2);
  ck_assert_int_eq(pl_test_destroy(t), 0);
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
    pl_test_t *t = harness(cases[i].options);
    ck_assert_msg(pl_test_run(t, 10000) < 0, "accepted: %s", cases[i].options);
    const char *said = cases[i].in_log ? pl_test_log(t) : pl_test_errors(t);
    ck_assert_msg(strstr(said, cases[i].text) != NULL, "for %s: %s",
                  cases[i].options, said);
    if (cases[i].in_log)
      ck_assert_ptr_nonnull(strstr(pl_test_log(t), "[transform-schema:test]"));
    ck_assert_int_eq(pl_test_destroy(t), 0);
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
  return test_suite_run(s);
}
