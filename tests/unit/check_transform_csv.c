/* transform-csv in a pipeline: chunks in, typed records and rejections out. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/testing.h>

#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* Feeds bytes [0, end) of `text` (`len` bytes, NULs allowed) as chunks of
 * `chunk` bytes, the last one marked last when `end` is the end. */
static void feed_chunks(pl_test_t *t, const char *text, size_t len, size_t end,
                        size_t chunk) {
  size_t at = 0;
  do {
    size_t n = end - at < chunk ? end - at : chunk;
    ck_assert_int_eq(pl_test_feed_bytes(t, text + at, n, at + n >= len), 0);
    at += n;
  } while (at < end);
}

static pl_test_t *harness(const char *csv_options) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, csv_options);
  return t;
}

/* Runs the `len` bytes of `text` through csv with `csv_options`, in chunks
 * of `chunk` bytes. */
static pl_test_t *run_csv_bytes(const char *text, size_t len, size_t chunk,
                                const char *csv_options) {
  pl_test_t *t = harness(csv_options);
  feed_chunks(t, text, len, len, chunk);
  test_plugin_run(t, 10000);
  return t;
}

static pl_test_t *run_csv(const char *text, size_t chunk,
                          const char *csv_options) {
  return run_csv_bytes(text, strlen(text), chunk, csv_options);
}

/* The i-th dead letter's document (reason, stage, line, raw). */
static json_t *letter(pl_test_t *t, size_t i) {
  json_t *doc = pl_test_dead_letter_document(t, i);
  ck_assert_ptr_nonnull(doc);
  return doc;
}

static const char *const inventory =
    "columns = [\"product_id:string:required\", \"location:string\", "
    "\"quantity:int\", \"update_date:date\"]";

START_TEST(typed_rows_in_any_chunking) {
  const char *text = "product_id,location,quantity,update_date\n"
                     "P1,Warehouse A,100,2023-05-01\n"
                     "P2,\"Ware, B\",25,2023-05-02";
  for (int chunk = 1; chunk <= 64; chunk *= 3) {
    pl_test_t *t = run_csv(text, chunk, inventory);
    ck_assert_int_eq(pl_test_status(t), 0);
    ck_assert_uint_eq(pl_test_record_count(t), 2);
    json_t *first = pl_test_record(t, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "product_id")),
                     "P1");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "quantity")),
                     100);
    json_t *second = pl_test_record(t, 1);
    ck_assert_str_eq(json_string_value(json_object_get(second, "location")),
                     "Ware, B");
    ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
    ck_assert_int_eq(pl_test_destroy(t), 0);
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
  /* As a source restarting a changed object: the first cut_at bytes, a
   * cut, then all of it, in one group. */
  pl_test_t *t = harness(inventory);
  feed_chunks(t, text, strlen(text), cut_at, 7);
  ck_assert_int_eq(pl_test_feed_cut(t), 0);
  feed_chunks(t, text, strlen(text), strlen(text), 7);
  test_plugin_run(t, 10000);
  ck_assert_int_eq(pl_test_status(t), 0);
  /* P1 from the first stream; P1 and P2 from the second. */
  ck_assert_uint_eq(pl_test_record_count(t), 3);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  json_t *last = pl_test_record(t, 2);
  ck_assert_int_eq(json_integer_value(json_object_get(last, "quantity")), 25);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* A source resuming in the middle of its input: the header again (a
 * replay, for the column names only), then the bytes from line 7 on. The
 * rows carry their true lines, and the header makes no record. */
START_TEST(a_resumed_stream_keeps_its_true_line_numbers) {
  static const char *const options[] = {"columns = [\"id:string\", "
                                        "\"n:int\"]",
                                        "header = false\n"
                                             "columns = [\"id:string\", "
                                             "\"n:int\"]"};
  for (size_t i = 0; i < 2; i++) {
    pl_test_t *t = harness(options[i]);
    const char *header = "id,n\n";
    ck_assert_int_eq(pl_test_feed_bytes(t, header, strlen(header), false), 0);
    ck_assert_int_eq(pl_test_feed_replay(t), 0);
    const char *rest = "P7,7\n\"P\n8\",8\nP9,9";
    ck_assert_int_eq(pl_test_feed_bytes(t, rest, 6, false), 0);
    ck_assert_int_eq(pl_test_feed_meta(t, &(pl_test_meta_t){.line = 7}), 0);
    ck_assert_int_eq(
        pl_test_feed_bytes(t, rest + 6, strlen(rest) - 6, true), 0);
    test_plugin_run(t, 10000);
    ck_assert_int_eq(pl_test_status(t), 0);
    ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
    ck_assert_uint_eq(pl_test_record_count(t), 3);
    const int lines[] = {7, 8, 10};
    for (size_t r = 0; r < 3; r++) {
      json_t *meta = pl_test_record_meta(t, r);
      ck_assert_int_eq(json_integer_value(json_object_get(meta, "line")),
                       lines[r]);
    }
    ck_assert_int_eq(
        json_integer_value(json_object_get(pl_test_record(t, 2), "n")), 9);
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
}
END_TEST

START_TEST(bad_rows_are_rejected_with_line_and_raw_text) {
  const char *text = "product_id,location,quantity,update_date\r\n"
                     "P1,A,1,2023-05-01\r\n"
                     "P2,B,lots,2023-05-02\r\n"
                     "\r\n"
                     "P3,C\r\n"
                     "P4,D,4,2023-05-04\r\n";
  pl_test_t *t = run_csv(text, 5, inventory);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 2);
  json_t *bad = letter(t, 0);
  ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")), 3);
  ck_assert_str_eq(json_string_value(json_object_get(bad, "raw")),
                   "P2,B,lots,2023-05-02");
  ck_assert_ptr_nonnull(
      strstr(json_string_value(json_object_get(bad, "reason")), "quantity"));
  json_t *short_row = letter(t, 1);
  ck_assert_int_eq(json_integer_value(json_object_get(short_row, "line")), 5);
  ck_assert_str_eq(json_string_value(json_object_get(short_row, "reason")),
                   "expected 4 fields, found 2");
  ck_assert_str_eq(json_string_value(json_object_get(short_row, "stage")),
                   "transform-csv");
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* A rejected row that is not UTF-8 (a Latin-1 file): its letter keeps the
 * valid characters, shows each other byte as U+FFFD, and holds the exact
 * bytes in raw_base64, since once the file is committed it is their only
 * copy. */
START_TEST(a_bad_row_that_is_not_utf8_keeps_its_bytes_in_the_letter) {
  const char *text = "product_id,location,quantity,update_date\n"
                     "Z\xC3\xBCrich,caf\xE9,lots,2023-05-02\n"
                     "P4,D,4,2023-05-04\n";
  pl_test_t *t = run_csv(text, 7, inventory);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  json_t *bad = letter(t, 0);
  ck_assert_str_eq(json_string_value(json_object_get(bad, "raw")),
                   "Z\xC3\xBCrich,caf\xEF\xBF\xBD,lots,2023-05-02");
  /* base64 of the row's 32 bytes as they were. */
  ck_assert_str_eq(json_string_value(json_object_get(bad, "raw_base64")),
                   "WsO8cmljaCxjYWbpLGxvdHMsMjAyMy0wNS0wMg==");
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(columns_without_header) {
  pl_test_t *t = run_csv("a;1\nb;2\n", 3,
                         "header = false\n delimiter = \";\"\n"
                         " columns = [\"name:string\", \"n:int\"]");
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  json_t *second = pl_test_record(t, 1);
  ck_assert_int_eq(json_integer_value(json_object_get(second, "n")), 2);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(header_missing_a_typed_column_rejects_the_file) {
  pl_test_t *t = run_csv("product_id,location\nP1,A\n", 100, inventory);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 2);
  ck_assert_ptr_nonnull(
      strstr(json_string_value(json_object_get(letter(t, 0), "reason")),
             "bad header row"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(overlong_rows_are_rejected_and_the_rest_goes_on) {
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "a,b\n1,");
  for (int i = 0; i < 300; i++)
    pl_buf_append_str(&text, "x");
  pl_buf_append_str(&text, "\n2,y\n");
  pl_test_t *t = run_csv(text.data, 16, "max_row_bytes = 100B");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(letter(t, 0), "line")),
                   2);
  ck_assert_int_eq(pl_test_destroy(t), 0);
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
    pl_test_t *t = run_csv(text, 7, options[i]);
    ck_assert_int_eq(pl_test_status(t), 0);
    ck_assert_uint_eq(pl_test_record_count(t), 0);
    ck_assert_uint_eq(pl_test_dead_letter_count(t), 3);
    for (size_t k = 0; k < 3; k++) {
      json_t *bad = letter(t, k);
      ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")),
                       (json_int_t)k + 1);
      const char *reason = json_string_value(json_object_get(bad, "reason"));
      ck_assert_msg(strstr(reason, "header row (line 1)") &&
                        strstr(reason, "longer than max_row_bytes"),
                    "reason: %s", reason);
    }
    ck_assert_str_eq(json_string_value(json_object_get(letter(t, 1), "raw")),
                     "P1,A,1,2023-05-01,x");
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
}
END_TEST

/* An input of nothing but bad rows into a slow dead letter: the transform
 * stops while the dead letter's queue is full (it may overshoot by the rows
 * of one chunk), and every row still arrives there. The depth of the dead
 * letter's queue is the engine's, sampled by the in-tree helper
 * test_plugin_run_depth() (test_plugin.h). */
START_TEST(bad_rows_wait_for_room_in_the_dead_letter) {
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "product_id,location,quantity,update_date\n");
  for (int i = 0; i < 300; i++)
    pl_buf_append_str(&text, "P1,A,lots,2023-05-01\n");
  pl_test_t *t = harness(inventory);
  ck_assert_int_eq(pl_test_set_dead_letter_options(
                       t, "delay_ms = 1\n queue_size = 8\n batch_size = 1"),
                   0);
  feed_chunks(t, text.data, text.len, text.len, 64);
  size_t capacity = 0;
  size_t depth =
      test_plugin_run_depth(t, PL_ROLE_DEAD_LETTER, 10000, &capacity);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 300);
  ck_assert_uint_eq(capacity, 8);
  ck_assert_msg(depth <= 8 + 4, "dead letter queue reached %zu", depth);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&text);
}
END_TEST

/* A NUL byte is not text: the row that holds one is rejected naming the
 * field (not "invalid UTF-8"), in a header too; the other rows go on. */
START_TEST(a_nul_byte_rejects_its_row_naming_the_field) {
  static const char with_nul[] = "product_id,location,quantity,update_date\n"
                                 "P1,W\0X,1,2023-05-01\n"
                                 "P2,B,2,2023-05-02\n";
  pl_test_t *t = run_csv_bytes(with_nul, sizeof(with_nul) - 1, 5, "");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  json_t *bad = letter(t, 0);
  ck_assert_int_eq(json_integer_value(json_object_get(bad, "line")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(bad, "reason")),
                   "field 2 contains a NUL byte (\\0), which is not text");
  ck_assert_int_eq(pl_test_destroy(t), 0);

  static const char header_nul[] = "product_id,loc\0ation\nP1,A\n";
  t = run_csv_bytes(header_nul, sizeof(header_nul) - 1, 5, "");
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 2);
  const char *reason =
      json_string_value(json_object_get(letter(t, 0), "reason"));
  ck_assert_str_eq(reason, "bad header row (line 1): field 2 contains a NUL "
                           "byte (\\0), which is not text");
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(bad_options_fail_at_start_up) {
  static const char *const cases[] = {
      "columns = [\"a:integer\"]",
      "header = false",
      "delimiter = \"\\\"\"",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_test_t *t = harness(cases[i]);
    pl_test_feed_bytes(t, "a", 1, true);
    ck_assert_msg(pl_test_run(t, 10000) < 0, "accepted: %s", cases[i]);
    ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "cannot initialise"));
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
  /* One character: the table's limits, said by the core. */
  static const struct {
    const char *setting;
    const char *error;
  } lengths[] = {
      {"delimiter = \";;\"",
       "test.conf:5:13: pipeline \"test\": transform \"csv\": option "
       "'delimiter' expects a \"string\" of 1 byte, found \";;\" (2 "
       "bytes)\n"},
      {"quote = \"\"",
       "test.conf:5:9: pipeline \"test\": transform \"csv\": option "
       "'quote' expects a \"string\" of 1 byte, found \"\" (0 bytes)\n"},
  };
  for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
    pl_test_t *t = harness(lengths[i].setting);
    ck_assert_int_lt(pl_test_run(t, 10000), 0);
    ck_assert_str_eq(pl_test_errors(t), lengths[i].error);
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
}
END_TEST

/* max_row_bytes has a range in the table (0 was taken as 1MiB, and a size
 * the reader refused was reported as a bad delimiter), and each option the
 * reader refuses is named for what it is. */
START_TEST(row_size_and_reader_options_are_named_at_start_up) {
  static const struct {
    const char *setting;
    const char *error;
  } cases[] = {
      {"max_row_bytes = \"0\"",
       "test.conf:5:17: pipeline \"test\": transform \"csv\": option "
       "'max_row_bytes' expects a size from 1B to 1GiB, found \"0\"\n"},
      {"max_row_bytes = \"5000000000GiB\"",
       "test.conf:5:17: pipeline \"test\": transform \"csv\": option "
       "'max_row_bytes' expects a size from 1B to 1GiB, found "
       "\"5000000000GiB\"\n"},
      {"delimiter = \"\\\"\"", "the delimiter and the quote are the same"},
      {"quote = \" \"\ntrim = true", "a blank quote cannot be trimmed"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_test_t *t = harness(cases[i].setting);
    pl_test_feed_bytes(t, "a", 1, true);
    ck_assert_int_lt(pl_test_run(t, 10000), 0);
    /* The core's errors, or the plugin's in the log. */
    pl_buf_t said = {0};
    pl_buf_printf(&said, "%s%s", pl_test_errors(t), pl_test_log(t));
    ck_assert_msg(strstr(said.data, cases[i].error) != NULL,
                  "%s: no '%s' in:\n%s", cases[i].setting, cases[i].error,
                  said.data);
    ck_assert_ptr_null(strstr(said.data, "cannot be used together"));
    pl_buf_free(&said);
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
  /* The largest is taken. */
  pl_test_t *t = run_csv("a\nxyz\n", 1, "max_row_bytes = \"1GiB\"");
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("transform-csv");
  TCase *tc = tcase_create("pipeline");
  tcase_add_test(tc, typed_rows_in_any_chunking);
  tcase_add_test(tc, a_cut_stream_drops_its_partial_row);
  tcase_add_test(tc, a_resumed_stream_keeps_its_true_line_numbers);
  tcase_add_test(tc, bad_rows_are_rejected_with_line_and_raw_text);
  tcase_add_test(tc, a_bad_row_that_is_not_utf8_keeps_its_bytes_in_the_letter);
  tcase_add_test(tc, columns_without_header);
  tcase_add_test(tc, header_missing_a_typed_column_rejects_the_file);
  tcase_add_test(tc, overlong_rows_are_rejected_and_the_rest_goes_on);
  tcase_add_test(tc, an_unreadable_header_never_turns_data_into_a_header);
  tcase_add_test(tc, bad_rows_wait_for_room_in_the_dead_letter);
  tcase_add_test(tc, a_nul_byte_rejects_its_row_naming_the_field);
  tcase_add_test(tc, bad_options_fail_at_start_up);
  tcase_add_test(tc, row_size_and_reader_options_are_named_at_start_up);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
