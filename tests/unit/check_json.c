/* pl_json_encode: the same text as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY), and clean refusals; pl_json_encode_quoted: that text
 * as a JSON string. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/json.h>

#include "test_suite.h"

/* pl_json_encode_quoted(value): pl_json_encode_string() of the text of
 * pl_json_encode(value), and that text's length. */
static void assert_quoted_as_two_steps(const json_t *value) {
  pl_buf_t text = {0}, want = {0}, got = {0};
  ck_assert_int_eq(pl_json_encode(value, &text, NULL), 0);
  ck_assert_int_eq(pl_json_encode_string(text.data, text.len, &want, NULL), 0);
  pl_buf_append_str(&got, "prefix:");
  size_t text_len = 0;
  ck_assert_int_eq(pl_json_encode_quoted(value, &got, &text_len, NULL), 0);
  ck_assert_str_eq(got.data + 7, want.data);
  ck_assert_uint_eq(text_len, text.len);
  pl_buf_free(&text);
  pl_buf_free(&want);
  pl_buf_free(&got);
}

static void assert_same_as_jansson(const char *json_text) {
  json_error_t error;
  json_t *value = json_loads(json_text, JSON_DECODE_ANY, &error);
  ck_assert_msg(value != NULL, "%s: %s", json_text, error.text);
  char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "prefix:");
  ck_assert_int_eq(pl_json_encode(value, &out, NULL), 0);
  ck_assert_str_eq(out.data + 7, expected);
  free(expected);
  pl_buf_free(&out);
  assert_quoted_as_two_steps(value);
  json_decref(value);
}

START_TEST(matches_jansson) {
  static const char *const cases[] = {
      "{\"product_id\":\"P1\",\"location\":\"Warehouse A\",\"quantity\":100}",
      "[1,-2,3.5,true,false,null,\"\"]",
      "{\"z\":1,\"a\":2}",
      "\"quote \\\" backslash \\\\ tab \\t nl \\n ctrl \\u0001 \\u001f\"",
      "\"Z\\u00fcrich \\u2603 \\ud83d\\ude00\"",
      "{\"nested\":{\"a\":[{\"b\":[]}],\"c\":{}}}",
      "-9223372036854775808",
      /* Integers around every change in their number of digits. */
      "[0,9,10,99,100,999,1000,9999,10000,99999,100000,-1,-9,-10,-99,-100]",
      "[999999999999999999,1000000000000000000,9223372036854775807,"
      "-9223372036854775807,-1000000000000000000]",
      /* Keys and strings of 1 to 17 bytes, plain or not. */
      "{\"a\":\"b\",\"abcd\":\"abcdefg\",\"abcdefgh\":\"abcdefghijklmnop\","
      "\"abcdefghijklmnopq\":\"x\\\"y\",\"\\u00e9abc\":\"abc\\u00e9\","
      "\"k\\n\":[\"\\\\\",\"\\u007f\"]}",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_same_as_jansson(cases[i]);
}
END_TEST

/* Reals: the shortest text that reads back as the same double (jansson's
 * %.17g writes 0.1 as 0.10000000000000001), still a real (3.0). */
START_TEST(reals_are_written_the_shortest_way) {
  static const struct {
    double value;
    const char *text;
  } cases[] = {{0.1, "0.1"},
               {3.0, "3.0"},
               {-2.5, "-2.5"},
               {1e300, "1e+300"},
               {19.99, "19.99"},
               {0.1 + 0.2, "0.30000000000000004"},
               {123456789012345678.0, "1.2345678901234568e+17"},
               {5e-324, "5e-324"},
               {1e-310, "1e-310"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *value = json_real(cases[i].value);
    pl_buf_t out = {0};
    ck_assert_int_eq(pl_json_encode(value, &out, NULL), 0);
    ck_assert_str_eq(out.data, cases[i].text);
    ck_assert(strtod(out.data, NULL) == cases[i].value);
    assert_quoted_as_two_steps(value);
    pl_buf_free(&out);
    json_decref(value);
  }
}
END_TEST

/* A byte that needs care at every place of strings of 1 to 70 bytes, so
 * that it falls at every offset of the writer's 16- and 8-byte steps, and
 * a JSON document inside a string (a quote every few bytes): the same text
 * as jansson. */
START_TEST(escapes_at_every_offset_match_jansson) {
  static const char *const specials[] = {
      "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x98\x83"};
  char text[96];
  for (size_t s = 0; s < sizeof(specials) / sizeof(specials[0]); s++) {
    size_t slen = strlen(specials[s]);
    for (size_t len = 1; len <= 70; len++) {
      for (size_t at = 0; at + slen <= len; at++) {
        memset(text, 'a' + (int)(len % 26), len);
        memcpy(text + at, specials[s], slen);
        json_t *value = json_stringn(text, len);
        ck_assert_ptr_nonnull(value);
        char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        pl_buf_t out = {0};
        ck_assert_int_eq(pl_json_encode_string(text, len, &out, NULL), 0);
        ck_assert_str_eq(out.data, expected);
        free(expected);
        pl_buf_free(&out);
        json_t *holder = json_pack("{s:O,s:[O,i]}", "k", value, "a", value, 7);
        assert_quoted_as_two_steps(holder);
        json_decref(holder);
        json_decref(value);
      }
    }
  }
  const char *doc = "{\"product_id\":\"P0000001\",\"location\":\"Warehouse "
                    "B\",\"quantity\":1,\"update_date\":\"2023-02-02\"}";
  json_t *value = json_string(doc);
  char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_json_encode_string(doc, strlen(doc), &out, NULL), 0);
  ck_assert_str_eq(out.data, expected);
  free(expected);
  pl_buf_free(&out);
  json_decref(value);
}
END_TEST

START_TEST(refusals_leave_the_buffer_unchanged) {
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "kept");
  json_t *bad = json_stringn_nocheck("\xff\xfe", 2);
  const char *why = NULL;
  ck_assert_int_eq(pl_json_encode(bad, &out, &why), PL_EINVAL);
  ck_assert_str_eq(why, "a string is not valid UTF-8");
  ck_assert_str_eq(out.data, "kept");
  why = NULL;
  ck_assert_int_eq(pl_json_encode_quoted(bad, &out, NULL, &why), PL_EINVAL);
  ck_assert_str_eq(why, "a string is not valid UTF-8");
  ck_assert_str_eq(out.data, "kept");
  ck_assert_int_eq(pl_json_encode_quoted(NULL, &out, NULL, &why), PL_EINVAL);
  ck_assert_str_eq(out.data, "kept");
  json_decref(bad);
  json_t *deep = json_array(), *inner = deep;
  for (int i = 0; i < PL_JSON_MAX_DEPTH + 2; i++) {
    json_t *next = json_array();
    json_array_append_new(inner, next);
    inner = next;
  }
  ck_assert_int_eq(pl_json_encode(deep, &out, &why), PL_EINVAL);
  ck_assert_ptr_nonnull(strstr(why, "deeper than"));
  ck_assert_str_eq(out.data, "kept");
  json_decref(deep);
  ck_assert_int_eq(pl_json_encode(NULL, &out, &why), PL_EINVAL);
  ck_assert_int_eq(pl_json_encode_string("a\"b", 3, &out, NULL), 0);
  ck_assert_str_eq(out.data, "kept\"a\\\"b\"");
  pl_buf_free(&out);
}
END_TEST

START_TEST(type_phrases_name_every_json_type) {
  static const struct {
    const char *text;
    const char *phrase;
  } cases[] = {{"{}", "an object"}, {"[]", "an array"}, {"\"x\"", "a string"},
               {"1", "a number"},   {"1.5", "a number"}, {"true", "a boolean"},
               {"false", "a boolean"}, {"null", "null"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *v = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(pl_json_type_phrase(v), cases[i].phrase);
    json_decref(v);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("json_encode");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, matches_jansson);
  tcase_add_test(tc, reals_are_written_the_shortest_way);
  tcase_add_test(tc, escapes_at_every_offset_match_jansson);
  tcase_add_test(tc, refusals_leave_the_buffer_unchanged);
  tcase_add_test(tc, type_phrases_name_every_json_type);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
