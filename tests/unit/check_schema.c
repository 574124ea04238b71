/* Check suite for src/schema.c and src/schema_value.c, the core's typed
 * columns: column specs and their reasons, each type's text to value,
 * lists from header rows (in linear time), the check of JSON objects, and
 * the quoting that keeps reasons short and on one line. */
#include <check.h>
#include <pipelined/schema.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

static pl_schema_t *columns(const char *const *specs, size_t count) {
  pl_schema_t *cols = NULL;
  pl_buf_t reason = {0};
  int rc = pl_schema_create(specs, count, &cols, &reason);
  ck_assert_msg(rc == 0, "columns: %s", reason.data ? reason.data : "?");
  pl_buf_free(&reason);
  return cols;
}

/* ---- Specs and values ---- */

START_TEST(test_column_spec_errors) {
  static const struct {
    const char *spec;
    const char *reason;
  } cases[] = {
      {"quantity:integer",
       "column 3 'quantity:integer': unknown type 'integer' (expected one of "
       "string, int, number, bool, date, timestamp)"},
      {"quantity", "column 3 'quantity': expected name:type or "
                   "name:type:required"},
      {":int", "column 3 ':int': empty name"},
      {"q:int:requird",
       "column 3 'q:int:requird': unknown flag 'requird' (expected "
       "'required')"},
      {"a:string", "column 3 'a:string': duplicate name (also column 1)"},
      {"bad\xff:int", "column 3 'bad\\xff:int': name is not valid UTF-8"},
      {"q:", "column 3 'q:': unknown type '' (expected one of string, int, "
             "number, bool, date, timestamp)"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *specs[] = {"a:int", "b:bool", cases[i].spec};
    pl_schema_t *cols = NULL;
    pl_buf_t reason = {0};
    ck_assert_int_eq(pl_schema_create(specs, 3, &cols, &reason), PL_EPARSE);
    ck_assert_ptr_null(cols);
    ck_assert_str_eq(reason.data, cases[i].reason);
    pl_buf_free(&reason);
  }
  pl_schema_t *cols = NULL;
  pl_buf_t reason = {0};
  ck_assert_int_eq(pl_schema_create(NULL, 0, &cols, &reason), PL_EPARSE);
  ck_assert_str_eq(reason.data, "no columns");
  pl_buf_free(&reason);

  /* Spaces around the parts are allowed; the flag is parsed. */
  const char *specs[] = {" id : string : required ", "when:timestamp"};
  cols = columns(specs, 2);
  const pl_column_t *id = pl_schema_column(cols, 0);
  ck_assert_str_eq(id->name, "id");
  ck_assert_uint_eq(id->name_len, 2);
  ck_assert_int_eq(id->type, PL_SCHEMA_STRING);
  ck_assert(id->required);
  ck_assert(!pl_schema_column(cols, 1)->required);
  ck_assert_int_eq(pl_schema_column(cols, 1)->type, PL_SCHEMA_TIMESTAMP);
  pl_schema_destroy(cols);
  pl_schema_destroy(NULL);

  pl_schema_type_t t;
  ck_assert_int_eq(pl_schema_type_parse("number", 6, &t), 0);
  ck_assert_int_eq(t, PL_SCHEMA_NUMBER);
  ck_assert_int_eq(pl_schema_type_parse("numbers", 7, &t), PL_ENOENT);
  ck_assert_str_eq(pl_schema_type_name(PL_SCHEMA_BOOL), "bool");
  ck_assert_str_eq(pl_schema_type_name((pl_schema_type_t)99), "unknown");
}
END_TEST

/* Converts `text` for a column of `type`; returns the reason or NULL, and
 * the JSON text of the value in `json`. */
static int convert(pl_schema_type_t type, bool required, const char *text,
                   char **json, pl_buf_t *reason) {
  pl_column_t col = {
      .name = "c", .name_len = 1, .type = type, .required = required};
  json_t *v = NULL;
  int rc = pl_column_convert(&col, text, strlen(text), &v, reason);
  *json = NULL;
  if (rc == 0) {
    *json = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
  } else {
    ck_assert_ptr_null(v);
  }
  return rc;
}

static void assert_ok(pl_schema_type_t type, const char *text,
                      const char *want) {
  char *json;
  pl_buf_t reason = {0};
  int rc = convert(type, false, text, &json, &reason);
  ck_assert_msg(rc == 0, "%s '%s': %s", pl_schema_type_name(type), text,
                reason.data ? reason.data : "");
  ck_assert_msg(strcmp(json, want) == 0, "%s '%s' gave %s, want %s",
                pl_schema_type_name(type), text, json, want);
  free(json);
  pl_buf_free(&reason);
}

static void assert_bad(pl_schema_type_t type, const char *text,
                       const char *want) {
  char *json;
  pl_buf_t reason = {0};
  int rc = convert(type, false, text, &json, &reason);
  ck_assert_msg(rc == PL_EPARSE, "%s '%s' was accepted as %s",
                pl_schema_type_name(type), text, json ? json : "?");
  ck_assert_str_eq(reason.data, want);
  pl_buf_free(&reason);
}

START_TEST(test_type_int) {
  assert_ok(PL_SCHEMA_INT, "42", "42");
  assert_ok(PL_SCHEMA_INT, "-7", "-7");
  assert_ok(PL_SCHEMA_INT, "+3", "3");
  assert_ok(PL_SCHEMA_INT, "007", "7");
  assert_ok(PL_SCHEMA_INT, "9223372036854775807", "9223372036854775807");
  assert_ok(PL_SCHEMA_INT, "-9223372036854775808", "-9223372036854775808");
  /* Up to 18 digits skip the overflow checks; 19 take them. */
  assert_ok(PL_SCHEMA_INT, "999999999999999999", "999999999999999999");
  assert_ok(PL_SCHEMA_INT, "-999999999999999999", "-999999999999999999");
  assert_ok(PL_SCHEMA_INT, "1000000000000000000", "1000000000000000000");
  assert_ok(PL_SCHEMA_INT, "0000000000000000001", "1");
  assert_ok(PL_SCHEMA_INT, "-0", "0");
  assert_ok(PL_SCHEMA_INT, "", "null");
  assert_bad(PL_SCHEMA_INT, "abc", "column 'c': 'abc' is not an int");
  assert_bad(PL_SCHEMA_INT, "1.5", "column 'c': '1.5' is not an int");
  assert_bad(PL_SCHEMA_INT, "1e3", "column 'c': '1e3' is not an int");
  assert_bad(PL_SCHEMA_INT, " 1", "column 'c': ' 1' is not an int");
  assert_bad(PL_SCHEMA_INT, "-", "column 'c': '-' is not an int");
  assert_bad(PL_SCHEMA_INT, "12/4", "column 'c': '12/4' is not an int");
  assert_bad(PL_SCHEMA_INT, "12:4", "column 'c': '12:4' is not an int");
  assert_bad(PL_SCHEMA_INT, "9223372036854775808",
             "column 'c': '9223372036854775808' is out of range for an int");
  assert_bad(PL_SCHEMA_INT, "-9223372036854775809",
             "column 'c': '-9223372036854775809' is out of range for an int");
  assert_bad(PL_SCHEMA_INT, "99999999999999999999x",
             "column 'c': '99999999999999999999x' is not an int");
}
END_TEST

START_TEST(test_type_number) {
  assert_ok(PL_SCHEMA_NUMBER, "10", "10");
  assert_ok(PL_SCHEMA_NUMBER, "-3", "-3");
  assert_ok(PL_SCHEMA_NUMBER, "1.5", "1.5");
  assert_ok(PL_SCHEMA_NUMBER, "-2.5e3", "-2500.0");
  assert_ok(PL_SCHEMA_NUMBER, ".5", "0.5");
  assert_ok(PL_SCHEMA_NUMBER, "5.", "5.0");
  assert_ok(PL_SCHEMA_NUMBER, "1E2", "100.0");
  /* Too big for an int but fine as a real. */
  assert_ok(PL_SCHEMA_NUMBER, "100000000000000000000", "1e20");
  assert_bad(PL_SCHEMA_NUMBER, "abc", "column 'c': 'abc' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "1e", "column 'c': '1e' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "inf", "column 'c': 'inf' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "nan", "column 'c': 'nan' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "0x10", "column 'c': '0x10' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, ".", "column 'c': '.' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "1,5", "column 'c': '1,5' is not a number");
  assert_bad(PL_SCHEMA_NUMBER, "1e999",
             "column 'c': '1e999' does not fit a number (a double: 15 to 17 "
             "significant digits, magnitudes 5e-324 to 1.8e308)");
}
END_TEST

/* A number column keeps a value only when the double it becomes, written
 * the shortest way (as sinks write it), is the value the text says:
 * digits beyond what a double holds, or a magnitude beyond its range, are
 * rejected instead of changed. */
START_TEST(test_number_keeps_its_value) {
  assert_ok(PL_SCHEMA_NUMBER, "0.1", "0.10000000000000001");
  assert_ok(PL_SCHEMA_NUMBER, "0.30000000000000004", "0.30000000000000004");
  assert_ok(PL_SCHEMA_NUMBER, "3.141592653589793", "3.1415926535897931");
  assert_ok(PL_SCHEMA_NUMBER, "1.7976931348623157e308",
            "1.7976931348623157e308");
  assert_ok(PL_SCHEMA_NUMBER, "000123.4500e-2", "1.2344999999999999");
  assert_ok(PL_SCHEMA_NUMBER, "5e-324", "4.9406564584124654e-324");
  assert_ok(PL_SCHEMA_NUMBER, "-0.0", "-0.0");
  assert_ok(PL_SCHEMA_NUMBER, "0e999999", "0.0");
  assert_ok(PL_SCHEMA_NUMBER, "0.000000000000000000000000000000e2000", "0.0");
  assert_ok(PL_SCHEMA_NUMBER, "0.001e000000000000000000000000003", "1.0");
  static const char *const changed[] = {
      "123456789012345678901234567890",   /* 1.2345678901234568e+29 */
      "3.141592653589793238462643383279", /* 3.141592653589793 */
      "1e-400",                           /* 0.0 */
      "-1e-400",
      "0.10000000000000001", /* the double of 0.1: 0.1 is what is kept */
      "4.9e-324",            /* 5e-324 */
      "18446744073709551617",
  };
  for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
    char want[200];
    snprintf(want, sizeof(want),
             "column 'c': '%s' does not fit a number (a double: 15 to 17 "
             "significant digits, magnitudes 5e-324 to 1.8e308)",
             changed[i]);
    assert_bad(PL_SCHEMA_NUMBER, changed[i], want);
  }
}
END_TEST

START_TEST(test_type_bool_string) {
  assert_ok(PL_SCHEMA_BOOL, "true", "true");
  assert_ok(PL_SCHEMA_BOOL, "TRUE", "true");
  assert_ok(PL_SCHEMA_BOOL, "False", "false");
  assert_ok(PL_SCHEMA_BOOL, "1", "true");
  assert_ok(PL_SCHEMA_BOOL, "0", "false");
  const char *why = "is not a bool (true, false, 1 or 0)";
  char want[128];
  snprintf(want, sizeof(want), "column 'c': 'yes' %s", why);
  assert_bad(PL_SCHEMA_BOOL, "yes", want);
  snprintf(want, sizeof(want), "column 'c': '2' %s", why);
  assert_bad(PL_SCHEMA_BOOL, "2", want);
  snprintf(want, sizeof(want), "column 'c': 'truex' %s", why);
  assert_bad(PL_SCHEMA_BOOL, "truex", want);

  assert_ok(PL_SCHEMA_STRING, "Warehouse A", "\"Warehouse A\"");
  assert_ok(PL_SCHEMA_STRING, "caf\xC3\xA9", "\"caf\xC3\xA9\"");
  assert_ok(PL_SCHEMA_STRING, "", "null");
  /* Invalid UTF-8 and control bytes are escaped in the reason. */
  assert_bad(PL_SCHEMA_STRING, "a\xff\x01",
             "column 'c': 'a\\xff\\x01' is not "
             "valid UTF-8");
  assert_bad(PL_SCHEMA_STRING, "\xED\xA0\x80",
             "column 'c': '\\xed\\xa0\\x80' is not valid UTF-8");
  assert_bad(PL_SCHEMA_STRING, "\xC0\xAF",
             "column 'c': '\\xc0\\xaf' is not valid UTF-8");
  /* Long texts are cut in the reason. */
  char long_text[200];
  memset(long_text, '7', sizeof(long_text) - 1);
  long_text[sizeof(long_text) - 1] = '\0';
  pl_buf_t reason = {0};
  char *json;
  ck_assert_int_eq(convert(PL_SCHEMA_BOOL, false, long_text, &json, &reason),
                   PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(reason.data, "7777...' is not a bool"));
  ck_assert_uint_lt(reason.len, 120);
  pl_buf_free(&reason);

  /* Required columns. */
  ck_assert_int_eq(convert(PL_SCHEMA_STRING, true, "", &json, &reason),
                   PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'c' is required but empty");
  ck_assert_int_eq(convert(PL_SCHEMA_STRING, true, "x", &json, &reason), 0);
  ck_assert_str_eq(json, "\"x\"");
  free(json);
  pl_buf_free(&reason);
  /* A NULL reason buffer is allowed. */
  pl_column_t col = {.name = "c", .name_len = 1, .type = PL_SCHEMA_INT};
  json_t *v = NULL;
  ck_assert_int_eq(pl_column_convert(&col, "x", 1, &v, NULL), PL_EPARSE);
  ck_assert_int_eq(pl_schema_parse_value(PL_SCHEMA_INT, "", 0, &v), PL_EPARSE);
  ck_assert_int_eq(
      pl_schema_parse_value(PL_SCHEMA_INT, "99999999999999999999", 20, &v),
      PL_ERANGE);
  ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_type_date_timestamp) {
  static const char *const good_dates[] = {
      "2023-05-01", "2024-02-29", "2000-02-29", "1999-12-31", "2023-01-31",
      "2023-02-28", "2023-04-30", "0000-02-29", "9999-12-31"};
  static const char *const bad_dates[] = {
      "2023-02-29", "1900-02-29", "2023-02-30", "2023-13-01", "2023-00-10",
      "2023-04-31", "2023-05-00", "2023-5-1",   "2023/05/01", "2023-05-01x",
      "20230501",   "2023-05-0a", "-023-05-01", "2023-05-:1", "2023-05-/1",
      "2023-1:-01", "20:3-05-01", "2023-05-32", "2023-12-3:"};
  for (size_t i = 0; i < sizeof(good_dates) / sizeof(good_dates[0]); i++) {
    char want[32];
    snprintf(want, sizeof(want), "\"%s\"", good_dates[i]);
    assert_ok(PL_SCHEMA_DATE, good_dates[i], want);
  }
  for (size_t i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
    char want[128];
    snprintf(want, sizeof(want),
             "column 'c': '%s' is not a valid date (YYYY-MM-DD)", bad_dates[i]);
    assert_bad(PL_SCHEMA_DATE, bad_dates[i], want);
  }

  static const char *const good_ts[] = {
      "2023-05-01T12:00:00Z",       "2023-05-01T12:00:00.123456Z",
      "2023-05-01T12:00:00+02:00",  "2023-05-01 12:00:00-05:30",
      "2016-12-31T23:59:60Z",       "2023-05-01t00:00:00z",
      "2024-02-29T23:59:59.5+14:00"};
  static const char *const bad_ts[] = {
      "2023-05-01T12:00:00",      "2023-05-01T24:00:00Z",
      "2023-02-30T00:00:00Z",     "2023-05-01T12:00Z",
      "2023-05-01T12:00:00.Z",    "2023-05-01T12:00:00+0200",
      "2023-05-01T12:60:00Z",     "2023-05-01T12:00:61Z",
      "2023-05-01X12:00:00Z",     "2023-05-01T12:00:00+24:00",
      "2023-05-01T12:00:00Zjunk", "2023-05-01",
      "2023-05-01T12:00:00+02:60"};
  for (size_t i = 0; i < sizeof(good_ts) / sizeof(good_ts[0]); i++) {
    char want[64];
    snprintf(want, sizeof(want), "\"%s\"", good_ts[i]);
    assert_ok(PL_SCHEMA_TIMESTAMP, good_ts[i], want);
  }
  for (size_t i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
    char want[160];
    snprintf(want, sizeof(want),
             "column 'c': '%s' is not a valid timestamp (RFC 3339, e.g. "
             "2023-05-01T12:00:00Z)",
             bad_ts[i]);
    assert_bad(PL_SCHEMA_TIMESTAMP, bad_ts[i], want);
  }
}
END_TEST

/* ---- Header rows and JSON ---- */

START_TEST(test_from_header) {
  pl_buf_t reason = {0};
  pl_schema_t *cols = NULL;
  const char *names[] = {"a", "b", "a"};
  const size_t lens[] = {1, 1, 1};
  ck_assert_int_eq(
      pl_schema_create_from_header(names, lens, 3, NULL, &cols, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "header field 3 'a' repeats header field 1");
  const size_t empty_lens[] = {1, 0, 1};
  ck_assert_int_eq(
      pl_schema_create_from_header(names, empty_lens, 3, NULL, &cols, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "header field 2 is empty");
  const char *bad_utf8[] = {"ok", "x\xfe"};
  const size_t bad_lens[] = {2, 2};
  ck_assert_int_eq(
      pl_schema_create_from_header(bad_utf8, bad_lens, 2, NULL, &cols, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data,
                   "header field 2 'x\\xfe' is not valid UTF-8 text");
  ck_assert_ptr_null(cols);

  /* Header order wins; types come from the typed list by name. */
  const char *typed_specs[] = {"n:int:required", "d:date"};
  pl_schema_t *typed = columns(typed_specs, 2);
  const char *hdr[] = {"d", "extra", "n"};
  const size_t hdr_lens[] = {1, 5, 1};
  ck_assert_int_eq(
      pl_schema_create_from_header(hdr, hdr_lens, 3, typed, &cols, &reason), 0);
  ck_assert_uint_eq(pl_schema_count(cols), 3);
  ck_assert_str_eq(pl_schema_column(cols, 0)->name, "d");
  ck_assert_int_eq(pl_schema_column(cols, 0)->type, PL_SCHEMA_DATE);
  ck_assert_int_eq(pl_schema_column(cols, 1)->type, PL_SCHEMA_STRING);
  ck_assert(!pl_schema_column(cols, 1)->required);
  ck_assert_int_eq(pl_schema_column(cols, 2)->type, PL_SCHEMA_INT);
  ck_assert(pl_schema_column(cols, 2)->required);
  pl_schema_destroy(cols);
  cols = NULL;
  ck_assert_int_eq(
      pl_schema_create_from_header(hdr, hdr_lens, 2, typed, &cols, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'n' is not in the header");
  ck_assert_ptr_null(cols);
  pl_schema_destroy(typed);
  pl_buf_free(&reason);
}
END_TEST

/* A column name can come from a header row, that is from the data: reasons
 * quote it like field text, cut and with control characters escaped, so
 * that a reason stays one short line (found by tests/fuzz/fuzz_csv.c: a
 * header field "\x0e" put a raw control byte into every row's reason). */
START_TEST(test_header_name_in_reasons) {
  char long_name[200];
  memset(long_name, 'n', sizeof(long_name));
  const char *hdr[] = {"a\nb\x1b[31m", long_name};
  const size_t hdr_lens[] = {strlen(hdr[0]), sizeof(long_name)};
  pl_schema_t *cols = NULL;
  pl_buf_t reason = {0};
  ck_assert_int_eq(
      pl_schema_create_from_header(hdr, hdr_lens, 2, NULL, &cols, &reason), 0);
  json_t *v = NULL;
  ck_assert_int_eq(
      pl_column_convert(pl_schema_column(cols, 0), "\xff", 1, &v, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data,
                   "column 'a\\x0ab\\x1b[31m': '\\xff' is not valid UTF-8");
  ck_assert_int_eq(
      pl_column_convert(pl_schema_column(cols, 1), "\xff", 1, &v, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data,
                   "column 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                   "...': '\\xff' is not valid UTF-8");
  json_t *obj = json_pack("{s:i}", hdr[0], 1);
  ck_assert_int_eq(pl_schema_validate(cols, obj, &reason), PL_EPARSE);
  ck_assert_str_eq(reason.data,
                   "field 'a\\x0ab\\x1b[31m': expected string, found int");
  json_decref(obj);
  const char *typed_specs[] = {"id:int:required"};
  pl_schema_t *typed = columns(typed_specs, 1);
  pl_schema_t *none = NULL;
  ck_assert_int_eq(
      pl_schema_create_from_header(hdr, hdr_lens, 2, typed, &none, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'id' is not in the header");
  pl_schema_destroy(typed);
  pl_schema_destroy(cols);
  pl_buf_free(&reason);
}
END_TEST

static void assert_invalid(const pl_schema_t *cols, const char *json,
                           const char *want) {
  json_error_t err;
  json_t *v = json_loads(json, JSON_DECODE_ANY, &err);
  ck_assert_msg(v != NULL, "bad test JSON %s: %s", json, err.text);
  pl_buf_t reason = {0};
  int rc = pl_schema_validate(cols, v, &reason);
  if (want) {
    ck_assert_msg(rc == PL_EPARSE, "%s was accepted", json);
    ck_assert_str_eq(reason.data, want);
  } else {
    ck_assert_msg(rc == 0, "%s: %s", json, reason.data);
  }
  pl_buf_free(&reason);
  json_decref(v);
}

START_TEST(test_validate_json) {
  const char *specs[] = {"id:string:required", "quantity:int", "price:number",
                         "active:bool",        "day:date",     "at:timestamp"};
  pl_schema_t *cols = columns(specs, 6);
  assert_invalid(cols,
                 "{\"id\":\"P1\",\"quantity\":3,\"price\":1.5,\"active\":true,"
                 "\"day\":\"2023-05-01\",\"at\":\"2023-05-01T12:00:00Z\","
                 "\"other\":[1]}",
                 NULL);
  assert_invalid(cols, "{\"id\":\"P1\",\"price\":2,\"quantity\":null}", NULL);
  assert_invalid(cols, "{\"id\":\"P1\",\"quantity\":\"3\"}",
                 "field 'quantity': expected int, found string");
  assert_invalid(cols, "{\"id\":\"P1\",\"quantity\":1.0}",
                 "field 'quantity': expected int, found number");
  assert_invalid(cols, "{\"id\":\"P1\",\"price\":\"1.5\"}",
                 "field 'price': expected number, found string");
  assert_invalid(cols, "{\"id\":\"P1\",\"active\":1}",
                 "field 'active': expected bool, found int");
  assert_invalid(cols, "{\"id\":7}", "field 'id': expected string, found int");
  assert_invalid(cols, "{\"id\":\"P1\",\"day\":\"2023-02-30\"}",
                 "field 'day': '2023-02-30' is not a valid date (YYYY-MM-DD)");
  assert_invalid(cols, "{\"id\":\"P1\",\"day\":20230501}",
                 "field 'day': expected date, found int");
  assert_invalid(cols, "{\"id\":\"P1\",\"at\":\"2023-05-01T12:00:00\"}",
                 "field 'at': '2023-05-01T12:00:00' is not a valid timestamp "
                 "(RFC 3339, e.g. 2023-05-01T12:00:00Z)");
  assert_invalid(cols, "{\"id\":\"P1\",\"at\":{}}",
                 "field 'at': expected timestamp, found object");
  assert_invalid(cols, "{\"quantity\":1}",
                 "field 'id' is required but missing");
  assert_invalid(cols, "{\"id\":null}", "field 'id' is required but null");
  assert_invalid(cols, "[1,2]", "expected an object, found array");
  assert_invalid(cols, "null", "expected an object, found null");
  pl_schema_destroy(cols);
}
END_TEST

/* ---- Wide headers ---- */

/* A header of `count` names "c1", "c2", ...; the last one is `last` when
 * it is not NULL. The names live in `text`, which the caller frees. */
static void wide_header(size_t count, const char *last, pl_buf_t *text,
                        const char **names, size_t *lens) {
  size_t *offsets = calloc(count, sizeof(*offsets));
  ck_assert_ptr_nonnull(offsets);
  for (size_t i = 0; i < count; i++) {
    offsets[i] = text->len;
    if (last && i == count - 1)
      pl_buf_append_str(text, last);
    else
      pl_buf_printf(text, "c%zu", i + 1);
    lens[i] = text->len - offsets[i];
  }
  /* The buffer may have moved while it grew: point into it only now. */
  for (size_t i = 0; i < count; i++)
    names[i] = text->data + offsets[i];
  free(offsets);
}

/* Checking a wide header for repeated names is linear: 100,000 columns took
 * seconds when each name was compared with every earlier one. The timeout
 * of this test case is what fails a quadratic check. */
START_TEST(a_wide_header_is_checked_in_linear_time) {
  enum { COUNT = 100000 };
  const char **names = calloc(COUNT, sizeof(*names));
  size_t *lens = calloc(COUNT, sizeof(*lens));
  ck_assert(names && lens);
  pl_buf_t reason = {0};

  pl_buf_t text = {0};
  wide_header(COUNT, "c7", &text, names, lens);
  pl_schema_t *cols = NULL;
  ck_assert_int_eq(
      pl_schema_create_from_header(names, lens, COUNT, NULL, &cols, &reason),
      PL_EPARSE);
  ck_assert_ptr_null(cols);
  ck_assert_str_eq(reason.data,
                   "header field 100000 'c7' repeats header field 7");
  pl_buf_free(&text);

  wide_header(COUNT, NULL, &text, names, lens);
  ck_assert_int_eq(
      pl_schema_create_from_header(names, lens, COUNT, NULL, &cols, &reason),
      0);
  ck_assert_uint_eq(pl_schema_count(cols), COUNT);
  ck_assert_str_eq(pl_schema_column(cols, COUNT - 1)->name, "c100000");
  pl_schema_destroy(cols);
  pl_buf_free(&text);

  pl_buf_free(&reason);
  free(names);
  free(lens);
}
END_TEST

static Suite *schema_suite(void) {
  Suite *s = suite_create("schema");
  TCase *cols = tcase_create("columns");
  tcase_add_test(cols, test_column_spec_errors);
  tcase_add_test(cols, test_type_int);
  tcase_add_test(cols, test_type_number);
  tcase_add_test(cols, test_number_keeps_its_value);
  tcase_add_test(cols, test_type_bool_string);
  tcase_add_test(cols, test_type_date_timestamp);
  tcase_add_test(cols, test_from_header);
  tcase_add_test(cols, test_header_name_in_reasons);
  tcase_add_test(cols, test_validate_json);
  suite_add_tcase(s, cols);
  /* Far more than the linear check needs even under sanitizers on a loaded
   * machine, far less than the quadratic one took. */
  TCase *wide = tcase_create("wide header");
  tcase_set_timeout(wide, 5);
  tcase_add_test(wide, a_wide_header_is_checked_in_linear_time);
  suite_add_tcase(s, wide);
  return s;
}

int main(void) {
  return test_suite_run(schema_suite());
}
