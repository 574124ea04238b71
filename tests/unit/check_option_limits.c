/* Check suite for src/option_limits.c: which rows may have limits, whether
 * a stored value keeps them (at the bounds, past them, the ends of a type's
 * range as "no limit"), and their one wording in messages, --describe and
 * JSON. check_options.c tests them through pl__options_apply. */
#include "option_limits.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

typedef struct lim {
  int64_t i;
  double d;
  uint64_t ms;
  uint64_t bytes;
  char *s;
  pl_list_t list;
  pl_map_t map;
  bool b;
} lim_t;

/* pl__option_limits_expected() of `o`, compared with `text`. */
static void assert_expected(const pl_option_t *o, const char *text) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl__option_limits_expected(o, &out), 0);
  ck_assert_str_eq(out.data, text);
  pl_buf_free(&out);
}

START_TEST(rows_without_limits_hold_anything) {
  pl_option_t o = PL_OPTION_INT(lim_t, i, "i", NULL, 0, "I.");
  int64_t v = INT64_MIN;
  ck_assert(pl__option_limits_hold(&o, &v));
  pl_buf_t out = {0};
  ck_assert_int_eq(pl__option_limits_text(&o, &out), 0);
  ck_assert_ptr_null(out.data);
  assert_expected(&o, "an integer");
  json_t *item = json_object();
  pl__option_limits_json(&o, item);
  ck_assert_uint_eq(json_object_size(item), 0);
  json_decref(item);
  char *error = NULL;
  ck_assert_int_eq(pl__option_limits_valid(&o, &error), 0);
  ck_assert_ptr_null(error);
}
END_TEST

START_TEST(integers_hold_at_their_bounds_only) {
  pl_option_t o = PL_OPTION_INT_RANGE(lim_t, i, "i", NULL, -2, 3, 0, "I.");
  int64_t v[] = {-3, -2, 0, 3, 4, INT64_MIN, INT64_MAX};
  bool holds[] = {false, true, true, true, false, false, false};
  for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
    ck_assert_msg(pl__option_limits_hold(&o, &v[k]) == holds[k], "%lld",
                  (long long)v[k]);
  assert_expected(&o, "an integer from -2 to 3");
}
END_TEST

START_TEST(the_ends_of_a_type_are_no_limit) {
  pl_option_t i = PL_OPTION_INT_RANGE(lim_t, i, "i", NULL, INT64_MIN, 7, 0,
                                      "I.");
  assert_expected(&i, "an integer of at most 7");
  i.max.i = INT64_MAX;
  assert_expected(&i, "an integer");
  pl_option_t d = PL_OPTION_DOUBLE_RANGE(lim_t, d, "d", NULL, 0.5, HUGE_VAL,
                                         0, "D.");
  assert_expected(&d, "a number of at least 0.5");
  double v = 1e300;
  ck_assert(pl__option_limits_hold(&d, &v));
  v = 0.25;
  ck_assert(!pl__option_limits_hold(&d, &v));
  pl_option_t s = PL_OPTION_SIZE_RANGE(lim_t, bytes, "b", NULL, 0,
                                       UINT64_MAX, 0, "B.");
  assert_expected(&s, "a size");
}
END_TEST

START_TEST(durations_and_sizes_are_written_in_units) {
  pl_option_t ms = PL_OPTION_DURATION_RANGE(lim_t, ms, "w", NULL, 500,
                                            12ull * 3600 * 1000, 0, "W.");
  assert_expected(&ms, "a duration from 500ms to 12h");
  uint64_t v = 499;
  ck_assert(!pl__option_limits_hold(&ms, &v));
  v = 12ull * 3600 * 1000;
  ck_assert(pl__option_limits_hold(&ms, &v));
  pl_option_t b = PL_OPTION_SIZE_RANGE(lim_t, bytes, "b", NULL, 1000,
                                       256 * 1024, 0, "B.");
  assert_expected(&b, "a size from 1KB to 256KiB");
}
END_TEST

START_TEST(lengths_count_bytes_items_and_entries) {
  pl_option_t s = PL_OPTION_STRING_LENGTH(lim_t, s, "s", NULL, 2, 2, 0, "S.");
  assert_expected(&s, "a \"string\" of 2 bytes");
  lim_t o = {0};
  ck_assert(pl__option_limits_hold(&s, &o.s)); /* unset */
  o.s = "ab";
  ck_assert(pl__option_limits_hold(&s, &o.s));
  o.s = "abc";
  ck_assert(!pl__option_limits_hold(&s, &o.s));
  pl_buf_t found = {0};
  pl__option_limits_found(&s, &o.s, &found);
  ck_assert_str_eq(found.data, "3 bytes");
  pl_buf_free(&found);

  pl_option_t l = PL_OPTION_LIST_LENGTH(lim_t, list, "l", NULL, 1, UINT64_MAX,
                                        0, "L.");
  assert_expected(&l, "a list with at least 1 item");
  ck_assert(!pl__option_limits_hold(&l, &o.list));
  pl__option_limits_found(&l, &o.list, &found);
  ck_assert_str_eq(found.data, "0 items");
  pl_buf_free(&found);

  pl_option_t m = PL_OPTION_MAP_LENGTH(lim_t, map, "m", 0, 1, 0, "M.");
  assert_expected(&m, "a block with at most 1 entry");
  o.map.count = 2;
  ck_assert(!pl__option_limits_hold(&m, &o.map));
  o.map.count = 1;
  ck_assert(pl__option_limits_hold(&m, &o.map));
  /* Numbers have no "found" of their own: the user's text says it. */
  pl_option_t i = PL_OPTION_INT_RANGE(lim_t, i, "i", NULL, 1, 2, 0, "I.");
  pl__option_limits_found(&i, &o.i, &found);
  ck_assert_ptr_null(found.data);
}
END_TEST

START_TEST(invalid_limits_are_named) {
  static const struct {
    pl_option_t option;
    const char *error;
  } cases[] = {
      {PL_OPTION_DOUBLE_RANGE(lim_t, d, "d", NULL, 1, 0, 0, "D."),
       "option 'd': its minimum is above its maximum"},
      {PL_OPTION_DOUBLE_RANGE(lim_t, d, "d", NULL, NAN, 1, 0, "D."),
       "option 'd': its minimum is above its maximum"},
      {PL_OPTION_STRING_LENGTH(lim_t, s, "s", NULL, 3, 2, 0, "S."),
       "option 's': its minimum is above its maximum"},
      {{.name = "b", .type = PL_OPT_BOOL, .has_limits = true},
       "option 'b': limits are for int, double, duration, size, string, list "
       "and map options"},
      {{.name = "e", .type = PL_OPT_ENUM, .has_limits = true},
       "option 'e': limits are for int, double, duration, size, string, list "
       "and map options"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char *error = NULL;
    ck_assert_int_eq(pl__option_limits_valid(&cases[k].option, &error),
                     PL_EINVAL);
    ck_assert_str_eq(error, cases[k].error);
    free(error);
  }
}
END_TEST

START_TEST(json_gives_numbers_in_the_fields_unit) {
  pl_option_t ms = PL_OPTION_DURATION_RANGE(lim_t, ms, "w", NULL, 0, 20000, 0,
                                            "W.");
  json_t *item = json_object();
  pl__option_limits_json(&ms, item);
  char *text = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_str_eq(text, "{\"limits\":\"at most 20s\",\"max\":20000}");
  free(text);
  json_decref(item);
  /* A bound past what a JSON integer holds is text. */
  pl_option_t b = PL_OPTION_SIZE_RANGE(lim_t, bytes, "b", NULL,
                                       UINT64_MAX - 1, UINT64_MAX, 0, "B.");
  item = json_object();
  pl__option_limits_json(&b, item);
  ck_assert_str_eq(json_string_value(json_object_get(item, "min")),
                   "18446744073709551614");
  ck_assert_ptr_null(json_object_get(item, "max"));
  json_decref(item);
}
END_TEST

static Suite *option_limits_suite(void) {
  Suite *s = suite_create("option_limits");
  TCase *tc = tcase_create("limits");
  tcase_add_test(tc, rows_without_limits_hold_anything);
  tcase_add_test(tc, integers_hold_at_their_bounds_only);
  tcase_add_test(tc, the_ends_of_a_type_are_no_limit);
  tcase_add_test(tc, durations_and_sizes_are_written_in_units);
  tcase_add_test(tc, lengths_count_bytes_items_and_entries);
  tcase_add_test(tc, invalid_limits_are_named);
  tcase_add_test(tc, json_gives_numbers_in_the_fields_unit);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(option_limits_suite());
}
