/* transform-csv in a pipeline: chunks in, typed records and rejections out. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_stages.h"

extern const pl_plugin_t pipelined_plugin;
static const pl_plugin_t *const csv_plugin[] = {&pipelined_plugin, NULL};

/* Runs `text` through csv with `csv_options`, in chunks of `chunk` bytes,
 * with `source_options` for the script source. */
static test_run_t *run_csv_from(const char *text, int chunk,
                                const char *source_options,
                                const char *csv_options) {
  json_t *quoted = json_string(text);
  char *literal = json_dumps(quoted, JSON_ENCODE_ANY);
  pl_buf_t config = {0};
  pl_buf_printf(&config,
                "pipeline \"p\" {\n"
                "  source \"script\" { text = %s\n chunk_size = %d\n %s }\n"
                "  transform \"csv\" { %s }\n"
                "  sink \"capture\" { }\n"
                "  dead_letter \"capture\" { }\n"
                "}\n",
                literal, chunk, source_options, csv_options);
  test_run_t *run = test_run(config.data, csv_plugin, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  free(literal);
  json_decref(quoted);
  pl_buf_free(&config);
  return run;
}

static test_run_t *run_csv(const char *text, int chunk,
                           const char *csv_options) {
  return run_csv_from(text, chunk, "", csv_options);
}

static json_t *records(test_run_t *run) {
  return ((test_sink_t *)test_ctx(run, "p", PL_ROLE_SINK))->records;
}
static json_t *letters(test_run_t *run) {
  return ((test_sink_t *)test_ctx(run, "p", PL_ROLE_DEAD_LETTER))->records;
}

static const char *const inventory =
    "columns = [\"product_id:string:required\", \"location:string\", "
    "\"quantity:int\", \"update_date:date\"]";

START_TEST(typed_rows_in_any_chunking) {
  const char *text = "product_id,location,quantity,update_date\n"
                     "P1,Warehouse A,100,2023-05-01\n"
                     "P2,\"Ware, B\",25,2023-05-02";
  for (int chunk = 1; chunk <= 64; chunk *= 3) {
    test_run_t *run = run_csv(text, chunk, inventory);
    ck_assert_int_eq(run->status, 0);
    ck_assert_uint_eq(json_array_size(records(run)), 2);
    json_t *first = json_array_get(records(run), 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "product_id")),
                     "P1");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "quantity")),
                     100);
    json_t *second = json_array_get(records(run), 1);
    ck_assert_str_eq(json_string_value(json_object_get(second, "location")),
                     "Ware, B");
    ck_assert_uint_eq(json_array_size(letters(run)), 0);
    ck_assert_int_eq(test_run_free(run), 0);
  }
}
END_TEST

/* A stream cut short in the middle of a row (its object changed) and sent
 * again: the partial row is dropped, not rejected, and the new stream starts
 * with its header. */
START_TEST(a_cut_stream_drops_its_partial_row) {
  const char *text = "product_id,location,quantity,update_date\n"
                     "P1,Warehouse A,100,2023-05-01\n"
                     "P2,B,25,2023-05-02\n";
  size_t cut_at = strlen("product_id,location,quantity,update_date\n"
                         "P1,Warehouse A,100,2023-05-01\nP2,B,2");
  json_t *quoted = json_string(text);
  char *literal = json_dumps(quoted, JSON_ENCODE_ANY);
  pl_buf_t config = {0};
  pl_buf_printf(&config,
                "pipeline \"p\" {\n"
                "  source \"script\" { text = %s\n chunk_size = 7\n"
                "    cut_at = %zu }\n"
                "  transform \"csv\" { %s }\n"
                "  sink \"capture\" { }\n"
                "  dead_letter \"capture\" { }\n"
                "}\n",
                literal, cut_at, inventory);
  test_run_t *run = test_run(config.data, csv_plugin, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  /* P1 from the first stream; P1 and P2 from the second. */
  ck_assert_uint_eq(json_array_size(records(run)), 3);
  ck_assert_uint_eq(json_array_size(letters(run)), 0);
  json_t *last = json_array_get(records(run), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(last, "quantity")), 25);
  ck_assert_int_eq(test_run_free(run), 0);
  free(literal);
  json_decref(quoted);
  pl_buf_free(&config);
}
END_TEST

START_TEST(bad_rows_are_rejected_with_line_and_raw_text) {
  const char *text = "product_id,location,quantity,update_date\r\n"
                     "P1,A,1,2023-05-01\r\n"
                     "P2,B,lots,2023-05-02\r\n"
                     "\r\n"
                     "P3,C\r\n"
                     "P4,D,4,2023-05-04\r\n";
  test_run_t *run = run_csv(text, 5, inventory);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(records(run)), 2);
  ck_assert_uint_eq(json_array_size(letters(run)), 2);
  json_t *bad = json_array_get(letters(run), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")), 3);
  ck_assert_str_eq(json_string_value(json_object_get(bad, "raw")),
                   "P2,B,lots,2023-05-02");
  ck_assert_ptr_nonnull(
      strstr(json_string_value(json_object_get(bad, "reason")), "quantity"));
  json_t *short_row = json_array_get(letters(run), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(short_row, "line")), 5);
  ck_assert_str_eq(json_string_value(json_object_get(short_row, "reason")),
                   "expected 4 fields, found 2");
  ck_assert_str_eq(json_string_value(json_object_get(short_row, "stage")),
                   "transform-csv");
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(columns_without_header) {
  test_run_t *run = run_csv("a;1\nb;2\n", 3,
                            "header = false\n delimiter = \";\"\n"
                            " columns = [\"name:string\", \"n:int\"]");
  ck_assert_uint_eq(json_array_size(records(run)), 2);
  json_t *second = json_array_get(records(run), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(second, "n")), 2);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(header_missing_a_typed_column_rejects_the_file) {
  test_run_t *run = run_csv("product_id,location\nP1,A\n", 100, inventory);
  ck_assert_uint_eq(json_array_size(records(run)), 0);
  ck_assert_uint_eq(json_array_size(letters(run)), 2);
  ck_assert_ptr_nonnull(strstr(
      json_string_value(json_object_get(json_array_get(letters(run), 0),
                                        "reason")),
      "bad header row"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(overlong_rows_are_rejected_and_the_rest_goes_on) {
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "a,b\n1,");
  for (int i = 0; i < 300; i++)
    pl_buf_append_str(&text, "x");
  pl_buf_append_str(&text, "\n2,y\n");
  test_run_t *run = run_csv(text.data, 16, "max_row_bytes = 100B");
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_uint_eq(json_array_size(letters(run)), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_array_get(letters(run), 0), "line")),
                   2);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
}
END_TEST

/* A header that cannot be read (here: longer than max_row_bytes) must not
 * let the first data row become the header: every row goes to the dead
 * letter with a reason that names the header, and nothing is delivered. */
START_TEST(an_unreadable_header_never_turns_data_into_a_header) {
  const char *text = "product_id,location,quantity,update_date,comment\n"
                     "P1,A,1,2023-05-01,x\n"
                     "P2,B,2,2023-05-02,y\n";
  static const char *const options[] = {
      "max_row_bytes = 40B",
      "max_row_bytes = 40B\n columns = [\"product_id:string\", "
      "\"quantity:int\"]",
  };
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
    test_run_t *run = run_csv(text, 7, options[i]);
    ck_assert_int_eq(run->status, 0);
    ck_assert_uint_eq(json_array_size(records(run)), 0);
    ck_assert_uint_eq(json_array_size(letters(run)), 3);
    for (size_t k = 0; k < 3; k++) {
      json_t *bad = json_array_get(letters(run), k);
      ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")),
                       (json_int_t)k + 1);
      const char *reason = json_string_value(json_object_get(bad, "reason"));
      ck_assert_msg(strstr(reason, "header row (line 1)") &&
                        strstr(reason, "longer than max_row_bytes"),
                    "reason: %s", reason);
    }
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(letters(run), 1), "raw")),
                     "P1,A,1,2023-05-01,x");
    ck_assert_int_eq(test_run_free(run), 0);
  }
}
END_TEST

/* An input of nothing but bad rows into a slow dead letter: the transform
 * stops while the dead letter's queue is full (it may overshoot by the rows
 * of one chunk), and every row still arrives there. */
START_TEST(bad_rows_wait_for_room_in_the_dead_letter) {
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "product_id,location,quantity,update_date\n");
  for (int i = 0; i < 300; i++)
    pl_buf_append_str(&text, "P1,A,lots,2023-05-01\n");
  json_t *quoted = json_string(text.data);
  char *literal = json_dumps(quoted, JSON_ENCODE_ANY);
  pl_buf_t config = {0};
  pl_buf_printf(&config,
                "pipeline \"p\" {\n"
                "  source \"script\" { text = %s\n chunk_size = 64 }\n"
                "  transform \"csv\" { %s }\n"
                "  sink \"capture\" { }\n"
                "  dead_letter \"capture\" { async = true\n queue_size = 8\n"
                "    batch_size = 1 }\n"
                "}\n",
                literal, inventory);
  test_run_t *run = test_run(config.data, csv_plugin, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  test_sink_t *dl = test_ctx(run, "p", PL_ROLE_DEAD_LETTER);
  ck_assert_uint_eq(json_array_size(dl->records), 300);
  ck_assert_msg(dl->max_queue <= 8 + 4, "dead letter queue reached %zu",
                dl->max_queue);
  ck_assert_int_eq(test_run_free(run), 0);
  free(literal);
  json_decref(quoted);
  pl_buf_free(&config);
  pl_buf_free(&text);
}
END_TEST

/* A NUL byte is not text: the row that holds one is rejected naming the
 * field (not "invalid UTF-8"), in a header too; the other rows go on. The
 * script source turns each '~' of the text into a NUL byte. */
START_TEST(a_nul_byte_rejects_its_row_naming_the_field) {
  test_run_t *run = run_csv_from("product_id,location,quantity,update_date\n"
                                  "P1,W~X,1,2023-05-01\n"
                                  "P2,B,2,2023-05-02\n",
                                  5, "nul = \"~\"", "");
  ck_assert_uint_eq(json_array_size(records(run)), 1);
  ck_assert_uint_eq(json_array_size(letters(run)), 1);
  json_t *bad = json_array_get(letters(run), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(bad, "reason")),
                   "field 2 contains a NUL byte (\\0), which is not text");
  ck_assert_int_eq(test_run_free(run), 0);

  run = run_csv_from("product_id,loc~ation\nP1,A\n", 5, "nul = \"~\"", "");
  ck_assert_uint_eq(json_array_size(records(run)), 0);
  ck_assert_uint_eq(json_array_size(letters(run)), 2);
  const char *reason = json_string_value(
      json_object_get(json_array_get(letters(run), 0), "reason"));
  ck_assert_str_eq(reason, "bad header row (line 1): field 2 contains a NUL "
                           "byte (\\0), which is not text");
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(bad_options_fail_at_start_up) {
  static const char *const cases[] = {
      "columns = [\"a:integer\"]",
      "header = false",
      "delimiter = \"\\\"\"",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_buf_t config = {0};
    pl_buf_printf(&config,
                  "pipeline \"p\" { source \"script\" { text = \"a\" }\n"
                  " transform \"csv\" { %s }\n sink \"capture\" { } }\n",
                  cases[i]);
    test_run_t *run = test_run(config.data, csv_plugin, true);
    ck_assert_msg(run->create_rc < 0, "accepted: %s", cases[i]);
    ck_assert_ptr_nonnull(strstr(run->errors.data, "cannot initialise"));
    ck_assert_int_eq(test_run_free(run), 0);
    pl_buf_free(&config);
  }
  /* One character: the table's limits, said by the core. */
  static const struct {
    const char *setting;
    const char *error;
  } lengths[] = {
      {"delimiter = \";;\"",
       "test.conf:2:32: pipeline \"p\": transform \"csv\": option "
       "'delimiter' expects a \"string\" of 1 byte, found \";;\" (2 "
       "bytes)\n"},
      {"quote = \"\"",
       "test.conf:2:28: pipeline \"p\": transform \"csv\": option "
       "'quote' expects a \"string\" of 1 byte, found \"\" (0 bytes)\n"},
  };
  for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
    pl_buf_t config = {0};
    pl_buf_printf(&config,
                  "pipeline \"p\" { source \"script\" { text = \"a\" }\n"
                  " transform \"csv\" { %s }\n sink \"capture\" { } }\n",
                  lengths[i].setting);
    test_run_t *run = test_run(config.data, csv_plugin, true);
    ck_assert_int_lt(run->create_rc, 0);
    ck_assert_msg(run->errors.data &&
                      strcmp(run->errors.data, lengths[i].error) == 0,
                  "%s", run->errors.data);
    ck_assert_int_eq(test_run_free(run), 0);
    pl_buf_free(&config);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("transform-csv");
  TCase *tc = tcase_create("pipeline");
  tcase_add_test(tc, typed_rows_in_any_chunking);
  tcase_add_test(tc, a_cut_stream_drops_its_partial_row);
  tcase_add_test(tc, bad_rows_are_rejected_with_line_and_raw_text);
  tcase_add_test(tc, columns_without_header);
  tcase_add_test(tc, header_missing_a_typed_column_rejects_the_file);
  tcase_add_test(tc, overlong_rows_are_rejected_and_the_rest_goes_on);
  tcase_add_test(tc, an_unreadable_header_never_turns_data_into_a_header);
  tcase_add_test(tc, bad_rows_wait_for_room_in_the_dead_letter);
  tcase_add_test(tc, a_nul_byte_rejects_its_row_naming_the_field);
  tcase_add_test(tc, bad_options_fail_at_start_up);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
