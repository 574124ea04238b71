/* Check suite for src/jsonl.c (<pipelined/jsonl.h>): the JSON lines writer
 * sink-file and sink-s3 share, checked against jansson's own output. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/jsonl.h>

#include "test_suite.h"

/* ---- The encode step on its own ---- */

/* Whether `value` holds a real anywhere. */
static bool has_real(const json_t *value) {
  if (json_is_real(value))
    return true;
  size_t i;
  const char *key;
  json_t *item;
  /* jansson iterates only non-const values; these are only read. */
  json_array_foreach((json_t *)value, i, item) {
    if (has_real(item))
      return true;
  }
  json_object_foreach((json_t *)value, key, item) {
    if (has_real(item))
      return true;
  }
  return false;
}

/* jansson's text, byte for byte; with a real in it (written the shortest
 * way, where jansson writes %.17g), a text that reads back equal. */
static void assert_encodes_like_jansson(const json_t *value) {
  pl_buf_t out = {0};
  const char *why = NULL;
  ck_assert_int_eq(pl_jsonl_encode_value(value, &out, &why), 0);
  ck_assert_int_eq(out.data[out.len - 1], '\n');
  ck_assert_int_eq(out.data[out.len], '\0');
  if (has_real(value)) {
    json_t *back = json_loadb(out.data, out.len - 1,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    ck_assert_msg(back && json_equal(back, value), "%s", out.data);
    json_decref(back);
    pl_buf_free(&out);
    return;
  }
  char *expected = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
  ck_assert_ptr_nonnull(expected);
  ck_assert_uint_eq(out.len, strlen(expected) + 1);
  ck_assert_int_eq(memcmp(out.data, expected, out.len - 1), 0);
  free(expected);
  pl_buf_free(&out);
}

START_TEST(encode_matches_jansson_compact_output) {
  static const char *const texts[] = {
      "{\"product_id\":\"P0001\",\"location\":\"Warehouse A\","
      "\"quantity\":100,\"update_date\":\"2023-05-01\"}",
      "{}",
      "[]",
      "[1,-2,3.5,true,false,null,\"x\",[],{}]",
      "{\"z\":{\"y\":[{}]},\"a\":\"\",\"m\":[[[]]]}",
      "\"just a string\"",
      "42",
      "-9223372036854775808",
      "9223372036854775807",
      "0.1",
      "1e300",
      "-0.0",
      "\"\\u0000\\u0001\\u001f\\\"\\\\/\\b\\f\\n\\r\\t\\u007f "
      "\\u00e9 \\u2603 \\ud83d\\ude00 \\u2028\"",
  };
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    json_error_t error;
    json_t *value =
        json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    ck_assert_msg(value != NULL, "%s: %s", texts[i], error.text);
    assert_encodes_like_jansson(value);
    json_decref(value);
  }
#if JANSSON_VERSION_HEX >= 0x020e00
  /* A key with a NUL inside. */
  json_t *object = json_object();
  json_object_setn_new(object, "a\0b", 3, json_integer(1));
  assert_encodes_like_jansson(object);
  json_decref(object);
#endif
}
END_TEST

static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

static json_t *random_string(uint64_t *rng) {
  static const char *const pieces[] = {
      "a",
      "Z",
      " ",
      "\"",
      "\\",
      "/",
      "\n",
      "\t",
      "\x01",
      "\x1f",
      "\x7f",
      "\xC3\xA9",
      "\xE2\x98\x83",
      "\xF0\x9F\x98\x80",
      "\xE2\x80\xA8",
      "0",
  };
  pl_buf_t text = {0};
  size_t len = next_random(rng) % 12;
  for (size_t i = 0; i < len; i++)
    pl_buf_append_str(&text, pieces[next_random(rng) % 16]);
  json_t *value = json_stringn(text.data ? text.data : "", text.len);
  pl_buf_free(&text);
  return value;
}

static json_t *random_value(uint64_t *rng, int depth) {
  unsigned kind = (unsigned)(next_random(rng) % (depth < 4 ? 9 : 7));
  switch (kind) {
  case 0:
    return json_true();
  case 1:
    return json_false();
  case 2:
    return json_null();
  case 3:
    return json_integer((json_int_t)next_random(rng));
  case 4: {
    double d = (double)(int64_t)next_random(rng) / (double)(1 << 20);
    return json_real(next_random(rng) % 2 ? d : 1.0 / (d ? d : 3.0));
  }
  case 5:
  case 6:
    return random_string(rng);
  case 7: {
    json_t *array = json_array();
    size_t n = next_random(rng) % 5;
    for (size_t i = 0; i < n; i++)
      json_array_append_new(array, random_value(rng, depth + 1));
    return array;
  }
  default: {
    json_t *object = json_object();
    size_t n = next_random(rng) % 5;
    for (size_t i = 0; i < n; i++) {
      json_t *key = random_string(rng);
      json_object_set_new(object, json_string_value(key),
                          random_value(rng, depth + 1));
      json_decref(key);
    }
    return object;
  }
  }
}

START_TEST(encode_matches_jansson_on_random_values) {
  uint64_t rng = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 5000; i++) {
    json_t *value = random_value(&rng, 0);
    assert_encodes_like_jansson(value);
    json_decref(value);
  }
}
END_TEST

START_TEST(encode_escapes_every_byte_wherever_it_stands) {
  /* Plain text is checked 8 bytes at a time, and short text as two
   * overlapping halves: put every byte at every place of strings of every
   * length up to one that holds two words and a rest. */
  for (unsigned byte = 0; byte < 256; byte++) {
    for (size_t len = 1; len <= 19; len++) {
      for (size_t at = 0; at < len; at++) {
        char text[19];
        memset(text, 'a', sizeof(text));
        text[at] = (char)byte;
        json_t *value = json_stringn_nocheck(text, len);
        if (byte < 0x80) {
          assert_encodes_like_jansson(value);
        } else {
          pl_buf_t out = {0};
          ck_assert_int_eq(pl_jsonl_encode_value(value, &out, NULL), PL_EINVAL);
          pl_buf_free(&out);
        }
        json_decref(value);
      }
    }
  }
}
END_TEST

/* `value` (stolen) cannot be encoded: PL_EINVAL, a reason, and `out`
 * unchanged. */
static void assert_refused(json_t *value, const char *why_part) {
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "kept\n");
  const char *why = NULL;
  ck_assert_int_eq(pl_jsonl_encode_value(value, &out, &why), PL_EINVAL);
  ck_assert_ptr_nonnull(why);
  ck_assert_msg(strstr(why, why_part) != NULL, "%s", why);
  ck_assert_str_eq(out.data, "kept\n");
  ck_assert_uint_eq(out.len, 5);
  pl_buf_free(&out);
  json_decref(value);
}

static json_t *nested_arrays(int levels) {
  json_t *top = json_array();
  json_t *cur = top;
  for (int i = 1; i < levels; i++) {
    json_t *inner = json_array();
    json_array_append_new(cur, inner);
    cur = inner;
  }
  return top;
}

START_TEST(encode_refuses_what_json_cannot_hold) {
  static const char *const bad_utf8[] = {
      "\xff",
      "\xC3\x28",
      "\xC0\xAF",         /* overlong */
      "\xED\xA0\x80",     /* a surrogate */
      "\xF4\x90\x80\x80", /* above U+10FFFF */
      "ok \xE2\x98",      /* cut short */
  };
  for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
    json_t *value = json_pack("{s:i}", "first", 1);
    json_object_set_new(value, "s", json_string_nocheck(bad_utf8[i]));
    assert_refused(value, "not valid UTF-8");
    value = json_object();
    json_object_set_new_nocheck(value, bad_utf8[i], json_true());
    assert_refused(value, "not valid UTF-8");
  }
  assert_refused(nested_arrays(PL_JSONL_MAX_DEPTH + 2), "deeper than");
  assert_refused(NULL, "neither a value nor bytes");

  /* As deep as jansson parses is fine. */
  json_t *deep = nested_arrays(PL_JSONL_MAX_DEPTH);
  assert_encodes_like_jansson(deep);
  json_decref(deep);
}
END_TEST

START_TEST(encode_writes_bytes_as_a_raw_string) {
  pl_buf_t out = {0};
  const char *why = NULL;
  ck_assert_int_eq(
      pl_jsonl_encode_bytes("say \"hi\"\n\xC3\xA9", 11, &out, &why), 0);
  ck_assert_int_eq(pl_jsonl_encode_bytes("a\0b", 3, &out, &why), 0);
  ck_assert_int_eq(pl_jsonl_encode_bytes("", 0, &out, &why), 0);
  ck_assert_str_eq(out.data, "{\"raw\":\"say \\\"hi\\\"\\n\xC3\xA9\"}\n"
                             "{\"raw\":\"a\\u0000b\"}\n");
  size_t len = out.len;
  ck_assert_int_eq(pl_jsonl_encode_bytes("x\xff", 2, &out, &why), PL_EINVAL);
  ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
  ck_assert_uint_eq(out.len, len);
  ck_assert_int_eq(out.data[len], '\0');
  pl_buf_free(&out);
}
END_TEST

START_TEST(encode_appends_to_what_the_buffer_holds) {
  pl_buf_t out = {0};
  json_t *big = json_object();
  /* Larger than any room reserved ahead, to exercise growth. */
  char *long_text = malloc(100001);
  memset(long_text, 'x', 100000);
  long_text[100000] = '\0';
  json_object_set_new(big, "long", json_string(long_text));
  json_t *small = json_pack("{s:i}", "n", 1);
  ck_assert_int_eq(pl_jsonl_encode_value(small, &out, NULL), 0);
  ck_assert_int_eq(pl_jsonl_encode_value(big, &out, NULL), 0);
  ck_assert_int_eq(pl_jsonl_encode_value(small, &out, NULL), 0);
  ck_assert_uint_eq(out.len, 8 + 100000 + 12 + 8);
  ck_assert_int_eq(memcmp(out.data, "{\"n\":1}\n{\"long\":\"xxx", 20), 0);
  ck_assert_str_eq(out.data + out.len - 11, "\"}\n{\"n\":1}\n");
  json_decref(small);
  json_decref(big);
  free(long_text);
  pl_buf_free(&out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("jsonl");
  TCase *encode = tcase_create("encode");
  tcase_add_test(encode, encode_matches_jansson_compact_output);
  tcase_add_test(encode, encode_matches_jansson_on_random_values);
  tcase_add_test(encode, encode_escapes_every_byte_wherever_it_stands);
  tcase_add_test(encode, encode_refuses_what_json_cannot_hold);
  tcase_add_test(encode, encode_writes_bytes_as_a_raw_string);
  tcase_add_test(encode, encode_appends_to_what_the_buffer_holds);
  suite_add_tcase(s, encode);
  return test_suite_run(s);
}
