/* transform-fields through the pipelined test harness
 * (<pipelined/testing.h>): records go in through a scripted source, and
 * the test looks at what reached the capturing sink and the dead letter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/testing.h>

extern const pl_plugin_t pipelined_plugin;

/* Runs `options` over `records` and returns the harness (the run must end
 * cleanly). */
static pl_test_t *run(const char *options, const char *const *records,
                      size_t count) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, options);
  for (size_t i = 0; i < count; i++)
    ck_assert_int_eq(pl_test_feed_record(t, records[i]), 0);
  int rc = pl_test_run(t, 5000);
  ck_assert_msg(rc == 0, "%s%s", pl_test_errors(t), pl_test_log(t));
  ck_assert_msg(pl_test_status(t) == 0, "%s", pl_test_log(t));
  return t;
}

START_TEST(renames_drops_and_sets) {
  const char *records[] = {
      "{\"sku\": \"p1\", \"site\": \"depot\", \"qty\": 3, \"note\": \"x\"}",
      "{\"sku\": \"p2\", \"site\": \"shop\", \"qty\": 0}",
  };
  pl_test_t *t = run("set { key = \"${sku}#${site}\"; source = \"inv\" }\n"
                     "rename { qty = \"quantity\" }\n"
                     "drop = [\"note\", \"site\"]",
                     records, 2);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[{\"sku\":\"p1\",\"key\":\"p1#depot\",\"source\":"
                         "\"inv\",\"quantity\":3},"
                         "{\"sku\":\"p2\",\"key\":\"p2#shop\",\"source\":"
                         "\"inv\",\"quantity\":0}]");
  free(json);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_missing_rename_source_is_skipped) {
  const char *records[] = {"{\"a\": 1}"};
  pl_test_t *t = run("rename { b = \"c\" }\ndrop = [\"z\"]", records, 1);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[{\"a\":1}]");
  free(json);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(set_sees_the_record_as_it_arrived) {
  /* The template reads "a" although the rename moves it away. */
  const char *records[] = {"{\"a\": \"v\"}"};
  pl_test_t *t =
      run("set { copy = \"<${a}>\" }\nrename { a = \"b\" }", records, 1);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[{\"copy\":\"<v>\",\"b\":\"v\"}]");
  free(json);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(records_it_cannot_change_are_dead_lettered_with_the_reason) {
  const char *records[] = {"[1, 2]", "{\"other\": 1}", "{\"sku\": \"ok\"}"};
  pl_test_t *t = run("set { key = \"${sku}\" }", records, 3);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 2);
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 0), "not a JSON object");
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 1),
                   "set.key: field 'sku' is missing");
  ck_assert_int_eq(
      json_integer_value(json_object_get(pl_test_dead_letter(t, 1), "other")),
      1);
  /* Dead-lettered records are resolved: the group is committed. */
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_bad_template_is_a_config_error) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, "set { key = \"${unclosed\" }");
  ck_assert_int_lt(pl_test_run(t, 5000), 0);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "set.key"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("transform-fields");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, renames_drops_and_sets);
  tcase_add_test(tc, a_missing_rename_source_is_skipped);
  tcase_add_test(tc, set_sees_the_record_as_it_arrived);
  tcase_add_test(tc,
                 records_it_cannot_change_are_dead_lettered_with_the_reason);
  tcase_add_test(tc, a_bad_template_is_a_config_error);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
