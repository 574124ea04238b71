/* source-sqs's reader of flat message bodies (sqs_body.h): the usual
 * bodies are read without jansson's parser, into the tree json_loadb
 * gives; anything else is declined, for json_loadb. The same promise is
 * fuzzed by tests/fuzz/fuzz_sqs_body.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sqs_body.h"
#include "test_suite.h"

/* json_loadb's reading of `text` (NULL when it refuses it). */
static json_t *jansson(const char *text, size_t len) {
  return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

/* The scan of `text` is json_loadb's tree, members in the same order. */
static void assert_read_as_jansson(const char *text, size_t len) {
  json_t *got = sqs_body_scan(text, len);
  ck_assert_msg(got != NULL, "declined: %.*s", (int)len, text);
  json_t *want = jansson(text, len);
  ck_assert_msg(want != NULL, "jansson refuses: %.*s", (int)len, text);
  char *got_text = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
  char *want_text = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
  ck_assert_msg(json_equal(got, want) && strcmp(got_text, want_text) == 0,
                "%.*s: read as %s, jansson: %s", (int)len, text, got_text,
                want_text);
  free(got_text);
  free(want_text);
  json_decref(got);
  json_decref(want);
}

START_TEST(usual_bodies_are_read_as_jansson_reads_them) {
  const char *bodies[] = {
      /* What sink-sqs sends for a row of the inventory CSV. */
      ("{\"product_id\":\"P0000001\",\"location\":\"Warehouse "
       "B\",\"quantity\":1,\"update_date\":\"2023-02-02\"}"),
      "{}",
      " { \"a\" : -12 ,\n\t\"b\":0, \"c\":true,\"d\":false,\"e\":null } ",
      "{\"max\":999999999999999,\"min\":-999999999999999,\"zero\":-0}",
      /* Escapes other than \u, and UTF-8 in keys and values. */
      ("{\"q\":\"say \\\"hi\\\"\\n\\t\\\\ "
       "\\/\",\"caf\xc3\xa9\":\"\xe2\x82\xac\"}"),
      /* A repeated key keeps its place and takes the later value. */
      "{\"a\":1,\"b\":2,\"a\":\"3\"}",
      "{\"\":\"\"}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++)
    assert_read_as_jansson(bodies[i], strlen(bodies[i]));
  /* A long escaped string (unescaped off the stack). */
  char text[2100] = "{\"long\":\"";
  size_t at = strlen(text);
  for (size_t i = 0; i < 500; i++, at += 4)
    memcpy(text + at, "ab\\n", 4);
  memcpy(text + at, "\"}", 3);
  assert_read_as_jansson(text, strlen(text));
}
END_TEST

START_TEST(anything_else_is_left_to_jansson) {
  const char *texts[] = {
      /* JSON, but not a flat object of strings, short integers and
       * literals. */
      "{\"a\":{\"b\":1}}",
      "{\"a\":[1]}",
      "{\"a\":1.5}",
      "{\"a\":1e3}",
      "{\"a\":\"\\u00e9\"}",
      "{\"\\n\":1}",
      "{\"a\":1234567890123456}",
      "[1]",
      "\"text\"",
      "12",
      "true",
      /* Not JSON. */
      "",
      "{",
      "{\"a\":1",
      "{\"a\":1,}",
      "{\"a\"}",
      "{\"a\":01}",
      "{\"a\":1} x",
      "{\"a\":tru}",
      "{a:1}",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\xc3\"}",
      "{\"a\":+1}",
  };
  for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
    json_t *got = sqs_body_scan(texts[i], strlen(texts[i]));
    ck_assert_msg(got == NULL, "read: %s", texts[i]);
  }
  /* A NUL byte inside the text. */
  static const char nul[] = "{\"a\":\"x\0y\"}";
  ck_assert_ptr_null(sqs_body_scan(nul, sizeof(nul) - 1));
}
END_TEST

static Suite *sqs_body_suite(void) {
  Suite *s = suite_create("sqs_body");
  TCase *tc = tcase_create("scan");
  tcase_add_test(tc, usual_bodies_are_read_as_jansson_reads_them);
  tcase_add_test(tc, anything_else_is_left_to_jansson);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(sqs_body_suite());
}
