/* sink-dynamodb's version encoding (ddb_version.h): the order of the
 * updates of one item as one string that DynamoDB compares byte by byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ddb_version.h"
#include <pipelined/testing.h>

#include "test_suite.h"

/* ---- Helpers ---- */

/* The encoding of one JSON value (its text), as a new string. */
static char *encode_value(const char *json) {
  json_t *value = json_loads(json, JSON_DECODE_ANY, NULL);
  ck_assert_msg(value != NULL, "bad JSON %s", json);
  pl_buf_t out = {0};
  ck_assert_int_eq(ddb_version_append_value(value, &out), 0);
  json_decref(value);
  return out.data;
}

/* Every encoding of `texts` (in increasing order) sorts before the next
 * one as bytes, and all have `width` bytes when width > 0. */
static void assert_increasing(const char *const *texts, size_t count,
                              size_t width) {
  char *prev = NULL;
  for (size_t i = 0; i < count; i++) {
    char *cur = encode_value(texts[i]);
    if (width > 0)
      ck_assert_msg(strlen(cur) == width, "%s: '%s' has %zu bytes", texts[i],
                    cur, strlen(cur));
    if (prev)
      ck_assert_msg(strcmp(prev, cur) < 0, "%s: '%s' is not after '%s'",
                    texts[i], cur, prev);
    free(prev);
    prev = cur;
  }
  free(prev);
}

/* ---- Entries ---- */

START_TEST(whole_numbers_of_any_width_compare_as_text) {
  /* As plain text, "10" < "9" and "-1" < "-2": the padding is what makes
   * them compare. */
  static const char *const numbers[] = {
      "-9223372036854775808",
      "-10",
      "-2",
      "-1",
      "0",
      "1",
      "9",
      "10",
      "999",
      "1000",
      "9223372036854775807",
  };
  assert_increasing(numbers, sizeof(numbers) / sizeof(numbers[0]),
                    DDB_VERSION_INT_LEN);
  char *seven = encode_value("7");
  ck_assert_str_eq(seven, "00000000000000000007");
  free(seven);
  char *minus = encode_value("-1");
  ck_assert_str_eq(minus, "-9223372036854775807");
  free(minus);
  /* Lines are unsigned: the largest has 20 digits, and sorts last. */
  pl_buf_t line = {0};
  ck_assert_int_eq(ddb_version_append_uint(18446744073709551615ull, &line), 0);
  ck_assert_str_eq(line.data, "18446744073709551615");
  char *largest = encode_value("9223372036854775807");
  ck_assert_int_lt(strcmp(largest, line.data), 0);
  free(largest);
  pl_buf_free(&line);
}
END_TEST

START_TEST(dates_and_times_of_any_width_compare_as_text) {
  /* As plain text "...10:00:00Z" sorts after "...10:00:00.5Z" ('Z' >
   * '.'), and "2023-05-01" before "2023-05-01 00:00:00Z". */
  static const char *const times[] = {
      "\"2023-04-30T23:59:59.999999Z\"",
      "\"2023-05-01\"",
      "\"2023-05-01T00:00:00.000001Z\"",
      "\"2023-05-01T09:59:59Z\"",
      "\"2023-05-01 10:00Z\"",
      "\"2023-05-01T10:00:00.123456789+00:00\"",
      "\"2023-05-01T10:00:00.5Z\"",
      "\"2023-05-01T10:00:01\"",
      "\"2023-05-02\"",
      "\"2024-01-01T00:00:00,1z\"",
  };
  assert_increasing(times, sizeof(times) / sizeof(times[0]),
                    DDB_VERSION_TIME_LEN);
  static const struct {
    const char *text, *want;
  } same[] = {
      {"2023-05-01", "2023-05-01T00:00:00.000000Z"},
      {"2023-05-01T10:00:00Z", "2023-05-01T10:00:00.000000Z"},
      {"2023-05-01 10:00:00.000Z", "2023-05-01T10:00:00.000000Z"},
      {"2023-05-01T10:00Z", "2023-05-01T10:00:00.000000Z"},
      {"2023-05-01T10:00:00.123Z", "2023-05-01T10:00:00.123000Z"},
      {"2023-05-01T10:00:00.1234567-00:00", "2023-05-01T10:00:00.123456Z"},
  };
  for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
    char out[DDB_VERSION_TIME_LEN + 1] = "untouched";
    ck_assert_msg(ddb_version_time(same[i].text, out), "%s", same[i].text);
    ck_assert_str_eq(out, same[i].want);
  }
  /* Not a date nor a UTC time: compared as the text it is. */
  static const char *const not_times[] = {
      "2023-13-01",
      "2023-05-00",
      "2023-02-29",
      "2023-04-31",
      "2023-05-32",
      "2023-5-1",
      "20230501",
      "2023-05-01T",
      "2023-05-01T24:00",
      "2023-05-01T10:60",
      "2023-05-01T10:00:61",
      "2023-05-01T10:00:00.",
      "2023-05-01T10:00:00+02:00",
      "2023-05-01T10:00:00Zx",
      "2023-05-01x",
      "",
      "P001",
  };
  for (size_t i = 0; i < sizeof(not_times) / sizeof(not_times[0]); i++) {
    char out[DDB_VERSION_TIME_LEN + 1] = "untouched";
    ck_assert_msg(!ddb_version_time(not_times[i], out), "%s", not_times[i]);
    ck_assert_str_eq(out, "untouched");
  }
  char *text = encode_value("\"2023-05-01T10:00:00+02:00\"");
  ck_assert_str_eq(text, "2023-05-01T10:00:00+02:00");
  free(text);
}
END_TEST

START_TEST(values_without_an_order_are_refused) {
  static const char *const refused[] = {"1.5", "true", "null", "{}", "[1]"};
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    json_t *value = json_loads(refused[i], JSON_DECODE_ANY, NULL);
    pl_buf_t out = {0};
    ck_assert_int_eq(ddb_version_append_value(value, &out), PL_EINVAL);
    ck_assert_uint_eq(out.len, 0);
    json_decref(value);
    pl_buf_free(&out);
  }
}
END_TEST

START_TEST(entries_name_fields_or_metadata) {
  ddb_order_t o;
  ck_assert_int_eq(ddb_order_parse("update_date", &o), 0);
  ck_assert_int_eq(o.kind, DDB_ORDER_FIELD);
  ck_assert_str_eq(o.name, "update_date");
  ck_assert_int_eq(ddb_order_parse("@line", &o), 0);
  ck_assert_int_eq(o.kind, DDB_ORDER_LINE);
  ck_assert_int_eq(ddb_order_parse("@origin_time", &o), 0);
  ck_assert_int_eq(o.kind, DDB_ORDER_ORIGIN_TIME);
  ck_assert_int_eq(ddb_order_parse("@seq", &o), 0);
  ck_assert_int_eq(o.kind, DDB_ORDER_ATTRIBUTE);
  ck_assert_str_eq(o.name, "seq");
  ck_assert_int_eq(ddb_order_parse("@", &o), PL_EINVAL);
  ck_assert_int_eq(ddb_order_parse("", &o), PL_EINVAL);
}
END_TEST

/* ---- Whole versions ---- */

/* Rows are records outside a run (<pipelined/testing.h>). */
typedef pl_test_records_t rows_t;

static rows_t *rows_create(void) {
  rows_t *r = NULL;
  ck_assert_int_eq(pl_test_records_create(&r), 0);
  return r;
}

/* A row with the value `json`, origin time `time` (NULL: none) and line. */
static pl_record_t *row(rows_t *r, const char *json, const char *time,
                        uint64_t line) {
  pl_record_t *rec = pl_test_records_add(r, json);
  ck_assert_ptr_nonnull(rec);
  ck_assert_ptr_nonnull(pl_record_value(rec));
  if (time)
    ck_assert_int_eq(pl_record_set_origin_time(rec, time), 0);
  pl_record_set_line(rec, line);
  return rec;
}

static void rows_free(rows_t *r) {
  ck_assert_int_eq(pl_test_records_destroy(r), 0);
}

static const ddb_order_t inventory[] = {
    {DDB_ORDER_FIELD, "update_date"},
    {DDB_ORDER_ORIGIN_TIME, NULL},
    {DDB_ORDER_LINE, NULL},
};

static char *version_of(const pl_record_t *rec) {
  pl_buf_t out = {0}, why = {0};
  ck_assert_int_eq(ddb_version_encode(inventory, 3, rec, &out, &why), 0);
  ck_assert_uint_eq(why.len, 0);
  return out.data;
}

START_TEST(the_inventory_order_is_date_then_upload_then_line) {
  rows_t *r = rows_create();
  /* In increasing order: a row of a producer without origin times; line 9
   * then 10 of one file; a later file's line 2; a later date's line 1. */
  pl_record_t *rows[] = {
      row(r, "{\"update_date\":\"2023-05-01\"}", NULL, 0),
      row(r, "{\"update_date\":\"2023-05-01\"}", "2026-05-01T10:00:00.123Z", 9),
      row(r, "{\"update_date\":\"2023-05-01\"}", "2026-05-01T10:00:00.123Z",
          10),
      row(r, "{\"update_date\":\"2023-05-01\"}", "2026-05-01T10:00:00.2Z", 2),
      row(r, "{\"update_date\":\"2023-05-01\"}", "2026-05-01T10:00:01Z", 1),
      row(r, "{\"update_date\":\"2023-05-02\"}", "2020-01-01T00:00:00Z", 1),
  };
  char *prev = NULL;
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char *cur = version_of(rows[i]);
    if (prev)
      ck_assert_msg(strcmp(prev, cur) < 0, "row %zu: '%s' is not after '%s'", i,
                    cur, prev);
    free(prev);
    prev = cur;
  }
  free(prev);
  char *v = version_of(rows[1]);
  ck_assert_str_eq(v, "2023-05-01T00:00:00.000000Z "
                      "2026-05-01T10:00:00.123000Z 00000000000000000009");
  free(v);
  v = version_of(rows[0]);
  ck_assert_str_eq(v, "2023-05-01T00:00:00.000000Z "
                      "0000-00-00T00:00:00.000000Z 00000000000000000000");
  free(v);
  /* The same row again has the same version: equal, so not rewritten. */
  pl_record_t *again =
      row(r, "{\"update_date\":\"2023-05-01\"}", "2026-05-01T10:00:00.123Z", 9);
  char *a = version_of(rows[1]), *b = version_of(again);
  ck_assert_str_eq(a, b);
  free(a);
  free(b);
  rows_free(r);
}
END_TEST

/* The origin time comes from a message attribute: one that is not a time
 * would be text of another width, above every real time of its date. */
START_TEST(an_origin_time_that_is_not_a_time_is_refused) {
  rows_t *r = rows_create();
  static const struct {
    const char *time, *why;
  } cases[] = {
      {"zzzz", "origin time 'zzzz' (newer_than) is not a date or a UTC time"},
      {"2099-03-01T10:00:00+05:00", "origin time '2099-03-01T10:00:00+05:00' "
                                    "(newer_than) is not a date or a UTC "
                                    "time"},
      {"", "origin time '' (newer_than) is not a date or a UTC time"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_record_t *rec =
        row(r, "{\"update_date\":\"2024-03-01\"}", cases[i].time, 3);
    pl_buf_t out = {0}, why = {0};
    ck_assert_int_eq(ddb_version_encode(inventory, 3, rec, &out, &why),
                     PL_EINVAL);
    ck_assert_str_eq(why.data, cases[i].why);
    pl_buf_free(&out);
    pl_buf_free(&why);
  }
  /* A real one, in any of the accepted spellings, is still encoded. */
  char *v = version_of(row(r, "{\"update_date\":\"2024-03-01\"}",
                           "2024-03-01 10:00:00+00:00", 3));
  ck_assert_str_eq(v, "2024-03-01T00:00:00.000000Z "
                      "2024-03-01T10:00:00.000000Z 00000000000000000003");
  free(v);
  rows_free(r);
}
END_TEST

START_TEST(a_missing_or_unordered_field_says_why) {
  rows_t *r = rows_create();
  static const struct {
    const char *json, *why;
  } cases[] = {
      {"{\"q\":1}", "field 'update_date' (newer_than) is missing (or null)"},
      {"{\"update_date\":null}",
       "field 'update_date' (newer_than) is missing (or null)"},
      {"{\"update_date\":1.5}",
       "field 'update_date' (newer_than) is a number with a fraction; the "
       "order takes whole numbers, dates, times and text"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_record_t *rec = row(r, cases[i].json, NULL, 1);
    pl_buf_t out = {0}, why = {0};
    ck_assert_int_eq(ddb_version_encode(inventory, 3, rec, &out, &why),
                     PL_EINVAL);
    ck_assert_str_eq(why.data, cases[i].why);
    pl_buf_free(&out);
    pl_buf_free(&why);
  }
  /* A missing attribute sorts first; a present one is encoded. */
  const ddb_order_t by_seq[] = {{DDB_ORDER_ATTRIBUTE, "seq"}};
  pl_record_t *rec = row(r, "{}", NULL, 0);
  pl_buf_t out = {0}, why = {0};
  ck_assert_int_eq(ddb_version_encode(by_seq, 1, rec, &out, &why), 0);
  ck_assert_str_eq(out.data, "");
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "seq", json_integer(12)),
                   0);
  pl_buf_reset(&out);
  ck_assert_int_eq(ddb_version_encode(by_seq, 1, rec, &out, &why), 0);
  ck_assert_str_eq(out.data, "00000000000000000012");
  pl_buf_free(&out);
  pl_buf_free(&why);
  rows_free(r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ddb_version");
  TCase *entries = tcase_create("entries");
  tcase_add_test(entries, whole_numbers_of_any_width_compare_as_text);
  tcase_add_test(entries, dates_and_times_of_any_width_compare_as_text);
  tcase_add_test(entries, values_without_an_order_are_refused);
  tcase_add_test(entries, entries_name_fields_or_metadata);
  suite_add_tcase(s, entries);
  TCase *versions = tcase_create("versions");
  tcase_set_timeout(versions, 60);
  tcase_add_test(versions, the_inventory_order_is_date_then_upload_then_line);
  tcase_add_test(versions, a_missing_or_unordered_field_says_why);
  tcase_add_test(versions, an_origin_time_that_is_not_a_time_is_refused);
  suite_add_tcase(s, versions);
  return test_suite_run(s);
}
