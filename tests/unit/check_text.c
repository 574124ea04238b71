/* Check suite for src/text.c: bytes made into text a JSON string holds,
 * for the log and the dead letter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"
#include "text.h"

/* pl__text_repair of `len` bytes at `bytes`: a new string. */
static char *repaired(const char *bytes, size_t len, bool hex) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl__text_repair(bytes, len, hex, &out), 0);
  ck_assert(pl_utf8_valid(out.data, out.len));
  return out.data;
}

START_TEST(valid_characters_stay_and_bad_bytes_are_replaced) {
  /* A Latin-1 word beside a UTF-8 one: only the Latin-1 byte goes. */
  const char mixed[] = "Z\xC3\xBCrich,caf\xE9";
  char *text = repaired(mixed, sizeof(mixed) - 1, false);
  ck_assert_str_eq(text, "Z\xC3\xBCrich,caf\xEF\xBF\xBD");
  free(text);
  text = repaired(mixed, sizeof(mixed) - 1, true);
  ck_assert_str_eq(text, "Z\xC3\xBCrich,caf\\xe9");
  free(text);
  /* A character cut at the end, and a surrogate: each byte is one. */
  text = repaired("a\xE2\x82", 3, true);
  ck_assert_str_eq(text, "a\\xe2\\x82");
  free(text);
  text = repaired("\xED\xA0\x80", 3, false);
  ck_assert_str_eq(text, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  free(text);
  text = repaired("", 0, false);
  ck_assert_str_eq(text, "");
  free(text);
}
END_TEST

/* RFC 4648's test vectors, and every byte value. */
START_TEST(base64_is_rfc_4648s) {
  const char *vectors[][2] = {{"", ""},
                              {"f", "Zg=="},
                              {"fo", "Zm8="},
                              {"foo", "Zm9v"},
                              {"foob", "Zm9vYg=="},
                              {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
    pl_buf_t out = {0};
    ck_assert_int_eq(
        pl__text_base64(vectors[i][0], strlen(vectors[i][0]), &out), 0);
    ck_assert_str_eq(out.data, vectors[i][1]);
    pl_buf_free(&out);
  }
  char all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (char)i;
  pl_buf_t out = {0};
  ck_assert_int_eq(pl__text_base64(all, sizeof(all), &out), 0);
  ck_assert_uint_eq(out.len, 344);
  ck_assert(strncmp(out.data, "AAECAwQFBgcICQoL", 16) == 0);
  ck_assert_str_eq(out.data + out.len - 8, "/P3+/w==");
  pl_buf_free(&out);
}
END_TEST

static Suite *text_suite(void) {
  Suite *s = suite_create("text");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, valid_characters_stay_and_bad_bytes_are_replaced);
  tcase_add_test(tc, base64_is_rfc_4648s);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(text_suite());
}
