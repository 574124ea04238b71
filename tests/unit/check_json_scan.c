/* Check suite for src/json_scan.c (<pipelined/json_scan.h>): the strict
 * JSON text scanner of the usual answers, judged against jansson's
 * json_loadb on the same texts. */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/json_scan.h>

#include "test_suite.h"

#define ALL (PL_JSON_SCAN_ESCAPES | PL_JSON_SCAN_SCALARS)

/* Whether the scanner takes the `len` bytes at `text` as one value and
 * nothing after it. Whatever it takes, jansson takes too. */
static bool scans(const char *text, size_t len, unsigned flags,
                  unsigned max_depth) {
  pl_json_scan_t s;
  pl_json_scan_init(&s, text, len, flags, max_depth);
  bool ok = pl_json_scan_skip(&s) && pl_json_scan_at_end(&s);
  if (ok) {
    json_error_t error;
    json_t *tree = json_loadb(text, len, JSON_DECODE_ANY, &error);
    ck_assert_msg(tree != NULL, "scanned, but jansson refuses \"%.*s\": %s",
                  (int)len, text, error.text);
    json_decref(tree);
    ck_assert_uint_eq(s.depth, 0);
  }
  return ok;
}

static bool scans_str(const char *text, unsigned flags) {
  return scans(text, strlen(text), flags, 64);
}

/* Each of the `n` texts is scanned with `flag` and not with the other
 * flag. */
static void assert_scanned_only_with(const char *const *texts, size_t n,
                                     unsigned flag) {
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(scans_str(texts[i], flag), "not scanned: %s", texts[i]);
    ck_assert_msg(!scans_str(texts[i], ALL & ~flag), "scanned with %u: %s",
                  ALL & ~flag, texts[i]);
  }
}

/* True when jansson refuses the text. */
static bool jansson_refuses(const char *text, size_t len) {
  json_error_t error;
  json_t *tree = json_loadb(text, len, JSON_DECODE_ANY, &error);
  json_decref(tree);
  return tree == NULL;
}

START_TEST(values_jansson_takes_are_scanned) {
  static const char *const texts[] = {
      "{}",
      "[]",
      " \t\r\n{ } \n",
      "\"\"",
      "\"plain text\"",
      "{\"a\":\"b\",\"c\":[\"d\",{\"e\":{}}],\"f\":[[],[[]]]}",
      "[ \"a\" , \"b\" ]",
      "{ \"k\" : { \"k\" : \"v\" } }",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"",
      "\"\xed\x9f\xbf \xee\x80\x80 \xc2\x80 \xdf\xbf\"",
      "\"\x7f\"",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    ck_assert_msg(scans_str(texts[i], 0), "not scanned: %s", texts[i]);
    ck_assert_msg(scans_str(texts[i], ALL), "not scanned: %s", texts[i]);
  }
  static const char *const scalars[] = {
      "0",
      "-0",
      "7",
      "-12",
      "123456789012345",
      "-123456789012345",
      "true",
      "false",
      "null",
      "[1,-2,0,true,false,null,{}]",
      "{\"n\":1,\"t\":true,\"z\":null}",
  };
  assert_scanned_only_with(scalars, sizeof scalars / sizeof *scalars,
                           PL_JSON_SCAN_SCALARS);
  static const char *const escapes[] = {
      "\"\\\"\"",        "\"\\\\\"", "\"\\/\"", "\"a\\bb\\ff\\nn\\rr\\tt\"",
      "{\"k\":\"\\n\"}",
  };
  assert_scanned_only_with(escapes, sizeof escapes / sizeof *escapes,
                           PL_JSON_SCAN_ESCAPES);
}
END_TEST

/* Not JSON (jansson refuses them too), or what the scanner leaves to
 * jansson: \u escapes, long or real numbers, escaped keys. */
START_TEST(what_is_not_json_or_unusual_is_refused) {
  static const char *const not_json[] = {
      "",
      " ",
      "{",
      "}",
      "[",
      "{]",
      "[}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\" \"b\"}",
      "{\"a\":\"b\",}",
      "[\"a\",]",
      "[,]",
      "{,}",
      "{\"a\":\"b\"}}",
      "{}x",
      "{}{}",
      "\"",
      "\"abc",
      "'a'",
      "{'a':1}",
      "{a:1}",
      "01",
      "-",
      "--1",
      "+1",
      "1.",
      ".5",
      "tru",
      "truex",
      "nul",
      "True",
      "NULL",
      "\"\\x\"",
      "\"\\",
      "\"\\u00\"",
      "\"a\tb\"",
      "\"\x01\"",
      "\"\x1f\"",
      "\"\xc3\"",
      "\"\xc3\x28\"",
      "\"\xc0\xaf\"",
      "\"\xe0\x80\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf5\x80\x80\x80\"",
      "\"\xff\"",
      "\"\x80\"",
      "[1 2]",
      "[\"a\" \"b\"]",
      "{\"a\":1 \"b\":2}",
      "\xef\xbb\xbf{}",
      "{}\v",
  };
  for (size_t i = 0; i < sizeof not_json / sizeof *not_json; i++) {
    ck_assert_msg(jansson_refuses(not_json[i], strlen(not_json[i])),
                  "jansson takes %s", not_json[i]);
    ck_assert_msg(!scans_str(not_json[i], ALL), "scanned: %s", not_json[i]);
  }
  static const char *const unusual[] = {
      "\"\\u0041\"",
      "\"\\ud83d\\ude00\"",
      "1.5",
      "1e3",
      "1E3",
      "-0.0",
      "1234567890123456",
      "-1234567890123456",
      "{\"\\n\":\"a\"}",
      "{\"a\\/b\":1}",
      "[1.0]",
  };
  for (size_t i = 0; i < sizeof unusual / sizeof *unusual; i++) {
    ck_assert_msg(!jansson_refuses(unusual[i], strlen(unusual[i])),
                  "jansson refuses %s", unusual[i]);
    ck_assert_msg(!scans_str(unusual[i], ALL), "scanned: %s", unusual[i]);
  }
}
END_TEST

START_TEST(every_control_character_is_refused_in_a_string) {
  for (int c = 0; c < 0x20; c++) {
    char text[] = "[\"a?b\"]";
    text[3] = (char)c;
    ck_assert(jansson_refuses(text, sizeof text - 1));
    ck_assert_msg(!scans(text, sizeof text - 1, ALL, 8), "control %d", c);
  }
  /* Outside strings, only the four of JSON's whitespace. */
  for (int c = 0; c < 0x20; c++) {
    char text[] = "[?]";
    text[1] = (char)c;
    bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    ck_assert_int_eq(scans(text, sizeof text - 1, ALL, 8), ws);
  }
}
END_TEST

/* Long strings are skipped 16 bytes at a time: a byte that needs care at
 * every place of strings of 1 to 70 bytes is found there, and the string
 * is read as jansson reads it (taken or refused, and its length). */
START_TEST(bytes_that_need_care_are_found_at_every_offset) {
  static const char *const specials[] = {"\\n",  "\\\"",     "\x01", "\x1f",
                                         "\x7f", "\xc3\xa9", "\xc3", "\x80"};
  char text[96];
  for (size_t k = 0; k < sizeof specials / sizeof *specials; k++) {
    size_t slen = strlen(specials[k]);
    for (size_t len = 1; len <= 70; len++) {
      for (size_t at = 0; at + slen <= len; at++) {
        text[0] = '"';
        memset(text + 1, 'q', len);
        memcpy(text + 1 + at, specials[k], slen);
        text[len + 1] = '"';
        size_t n = len + 2;
        pl_json_scan_t s;
        pl_json_scan_init(&s, text, n, ALL, 8);
        pl_json_scan_str_t str = {0};
        bool ok = pl_json_scan_string(&s, &str) && pl_json_scan_at_end(&s);
        json_t *tree = json_loadb(text, n, JSON_DECODE_ANY, NULL);
        ck_assert_msg(ok == (tree != NULL), "special %zu at %zu of %zu", k, at,
                      len);
        if (ok) {
          ck_assert_uint_eq(str.raw_len, len);
          ck_assert_uint_eq(str.len, json_string_length(tree));
        }
        json_decref(tree);
      }
    }
  }
}
END_TEST

/* Every one- and two-byte string of bytes 0x80 and above (and with an
 * ASCII byte), and a sample of longer ones: the scanner takes exactly
 * what jansson takes. */
START_TEST(utf8_is_judged_as_jansson_judges_it) {
  unsigned char text[8] = {'"'};
  for (unsigned a = 0x20; a < 0x100; a++) {
    for (unsigned b = 0x20; b < 0x100; b++) {
      if (a == '"' || a == '\\' || b == '"' || b == '\\')
        continue;
      text[1] = (unsigned char)a;
      text[2] = (unsigned char)b;
      text[3] = '"';
      bool jansson = !jansson_refuses((const char *)text, 4);
      ck_assert_msg(scans((const char *)text, 4, 0, 1) == jansson, "%02x %02x",
                    a, b);
    }
  }
  uint32_t seed = 12345;
  for (int i = 0; i < 200000; i++) {
    for (size_t k = 1; k <= 4; k++) {
      seed = seed * 1103515245u + 12345u;
      unsigned char c = (unsigned char)(seed >> 16);
      /* Mostly lead and continuation bytes. */
      text[k] =
          c < 0x20 || c == '"' || c == '\\' ? (unsigned char)(c | 0x80) : c;
    }
    text[5] = '"';
    bool jansson = !jansson_refuses((const char *)text, 6);
    ck_assert_msg(scans((const char *)text, 6, 0, 1) == jansson,
                  "%02x %02x %02x %02x", text[1], text[2], text[3], text[4]);
  }
}
END_TEST

/* A string's unescaped bytes and length are jansson's. */
START_TEST(strings_unescape_as_jansson_reads_them) {
  static const char *const texts[] = {
      "\"\"",
      "\"plain\"",
      "\"a\\\"b\"",
      "\"\\\\\\/\\b\\f\\n\\r\\t\"",
      "\"caf\xc3\xa9\\n\xf0\x9f\x98\x80\\\\\"",
      "\"\\\\n\"",
      "\"/\\/\"",
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    pl_json_scan_t s;
    pl_json_scan_init(&s, texts[i], strlen(texts[i]), PL_JSON_SCAN_ESCAPES, 1);
    pl_json_scan_str_t str = {0};
    ck_assert(pl_json_scan_string(&s, &str));
    ck_assert(str.present);
    ck_assert(pl_json_scan_at_end(&s));
    ck_assert_ptr_eq(str.raw, texts[i] + 1);
    ck_assert_uint_eq(str.raw_len, strlen(texts[i]) - 2);
    json_t *tree = json_loads(texts[i], JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(tree);
    ck_assert_uint_eq(str.len, json_string_length(tree));
    char *copy = pl_json_scan_str_dup(&str);
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(memcmp(copy, json_string_value(tree), str.len), 0);
    ck_assert_int_eq(copy[str.len], '\0');
    json_decref(tree);
    free(copy);
  }
}
END_TEST

/* Random strings written by jansson (escapes and UTF-8 as it writes
 * them, no \u) read back to the same bytes. */
START_TEST(strings_jansson_writes_read_back) {
  uint32_t seed = 42;
  /* One byte each, or a UTF-8 sequence of 2 to 4. */
  static const char bytes[] = "a \"\\/\n\t\r\b\f{}:,";
  static const char *const sequences[] = {"\xc3\xa9", "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80"};
  char text[256];
  for (int i = 0; i < 5000; i++) {
    size_t len = 0;
    seed = seed * 1103515245u + 12345u;
    size_t n = (seed >> 16) % 24;
    for (size_t k = 0; k < n; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t pick = (seed >> 16) % (sizeof bytes - 1 + 3);
      if (pick < sizeof bytes - 1) {
        text[len++] = bytes[pick];
        continue;
      }
      const char *p = sequences[pick - (sizeof bytes - 1)];
      memcpy(text + len, p, strlen(p));
      len += strlen(p);
    }
    json_t *value = json_stringn(text, len);
    char *dumped = json_dumps(value, JSON_ENCODE_ANY);
    ck_assert_ptr_nonnull(dumped);
    pl_json_scan_t s;
    pl_json_scan_init(&s, dumped, strlen(dumped), PL_JSON_SCAN_ESCAPES, 1);
    pl_json_scan_str_t str;
    ck_assert_msg(pl_json_scan_string(&s, &str), "not read: %s", dumped);
    ck_assert(pl_json_scan_at_end(&s));
    ck_assert_uint_eq(str.len, len);
    char *copy = pl_json_scan_str_dup(&str);
    ck_assert_int_eq(memcmp(copy, text, len), 0);
    free(copy);
    free(dumped);
    json_decref(value);
  }
}
END_TEST

START_TEST(nesting_stops_at_max_depth) {
  char text[2 * 40 + 1];
  for (unsigned depth = 1; depth <= 40; depth++) {
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    ck_assert(scans(text, 2 * depth, 0, 40));
    ck_assert_int_eq(scans(text, 2 * depth, 0, 20), depth <= 20);
  }
  /* A reader's own levels count: with one entered, two are left of 3. */
  pl_json_scan_t s;
  const char *deep = "{\"a\":[[[]]]}";
  pl_json_scan_init(&s, deep, strlen(deep), 0, 3);
  ck_assert(pl_json_scan_enter(&s));
  bool first = true, ok = true;
  pl_json_scan_str_t key;
  ck_assert(pl_json_scan_member(&s, &first, &key, &ok));
  ck_assert(!pl_json_scan_skip(&s));
  pl_json_scan_init(&s, deep, strlen(deep), 0, 3);
  first = true;
  ck_assert(pl_json_scan_member(&s, &first, &key, &ok));
  ck_assert(pl_json_scan_skip(&s));
  ck_assert_uint_eq(s.depth, 0);
}
END_TEST

START_TEST(members_are_walked_key_by_key) {
  const char *text = " { \"a\" : \"x\" , \"bc\":[1, {\"d\":null}], \"e\":{} } ";
  pl_json_scan_t s;
  pl_json_scan_init(&s, text, strlen(text), PL_JSON_SCAN_SCALARS, 8);
  bool first = true, ok = true;
  pl_json_scan_str_t key;
  const char *seen[3];
  size_t n = 0;
  while (pl_json_scan_member(&s, &first, &key, &ok)) {
    ck_assert_uint_lt(n, 3);
    seen[n++] = key.raw;
    ck_assert(pl_json_scan_skip(&s));
  }
  ck_assert(ok);
  ck_assert(pl_json_scan_at_end(&s));
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(strncmp(seen[0], "a\"", 2), 0);
  ck_assert_int_eq(strncmp(seen[1], "bc\"", 3), 0);
  ck_assert_int_eq(strncmp(seen[2], "e\"", 2), 0);
  /* The empty object has no member and is fine. */
  pl_json_scan_init(&s, "{ }", 3, 0, 8);
  first = true;
  ck_assert(!pl_json_scan_member(&s, &first, &key, &ok));
  ck_assert(ok);
  /* Not an object, a trailing comma, an escaped key, a missing colon. */
  static const char *const bad[] = {"[]", "{\"a\":\"b\",}", "{\"\\n\":\"b\"}",
                                    "{\"a\" \"b\"}", "{\"a\":\"b\" \"c\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pl_json_scan_init(&s, bad[i], strlen(bad[i]), ALL, 8);
    first = true;
    ok = true;
    while (pl_json_scan_member(&s, &first, &key, &ok))
      if (!pl_json_scan_skip(&s))
        break;
    ck_assert_msg(!ok, "walked: %s", bad[i]);
  }
  pl_json_scan_str_t name = {.raw = "Id\"", .raw_len = 2, .len = 2};
  ck_assert(pl_json_scan_str_is(&name, "Id"));
  ck_assert(!pl_json_scan_str_is(&name, "I"));
  ck_assert(!pl_json_scan_str_is(&name, "Ids"));
}
END_TEST

/* Mutations of a usual answer, byte by byte: whatever the scanner takes,
 * jansson takes (checked in scans()), and what it refuses of the texts
 * jansson takes is only what it leaves to jansson on purpose. */
START_TEST(mutated_answers_are_never_taken_when_jansson_refuses) {
  const char *usual = "{\"Messages\":[{\"MessageId\":\"6c4b\",\"Body\":"
                      "\"caf\xc3\xa9 \\n\",\"n\":[1,true,null]}],\"x\":{}}";
  size_t len = strlen(usual);
  char text[128];
  static const char bytes[] = "{}[]\":,\\ \t\n0123-.eEtfnu\x01\x80\xc3\xed";
  size_t taken = 0;
  for (size_t at = 0; at < len; at++) {
    for (size_t b = 0; b < sizeof bytes - 1; b++) {
      memcpy(text, usual, len);
      text[at] = bytes[b];
      taken += scans(text, len, ALL, 8);
      /* Deleting the byte instead. */
      memmove(text + at, usual + at + 1, len - at - 1);
      taken += scans(text, len - 1, ALL, 8);
    }
  }
  ck_assert_uint_gt(taken, 100);
  ck_assert(scans(usual, len, ALL, 8));
}
END_TEST

int main(void) {
  Suite *s = suite_create("json_scan");
  TCase *tc = tcase_create("scan");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, values_jansson_takes_are_scanned);
  tcase_add_test(tc, what_is_not_json_or_unusual_is_refused);
  tcase_add_test(tc, every_control_character_is_refused_in_a_string);
  tcase_add_test(tc, bytes_that_need_care_are_found_at_every_offset);
  tcase_add_test(tc, utf8_is_judged_as_jansson_judges_it);
  tcase_add_test(tc, strings_unescape_as_jansson_reads_them);
  tcase_add_test(tc, strings_jansson_writes_read_back);
  tcase_add_test(tc, nesting_stops_at_max_depth);
  tcase_add_test(tc, members_are_walked_key_by_key);
  tcase_add_test(tc, mutated_answers_are_never_taken_when_jansson_refuses);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
