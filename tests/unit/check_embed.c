/* The embedding API (<pipelined/embed.h>): an engine from a config text
 * with linked plugins, through public functions only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/embed.h>

#include "test_stages.h"
#include "test_suite.h"

static const pl_plugin_t *const plugins[] = {&test_source_script,
                                             &test_sink_capture, NULL};

static const char two_records[] =
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"{\\\"a\\\":1}\", \"2\"] }\n"
    "  sink \"capture\" { }\n"
    "  dead_letter \"capture\" { }\n}\n";

static const char *no_env(void *data, const char *name) {
  return NULL;
}

START_TEST(a_once_run_ends_by_itself_with_its_status) {
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pl_engine_t *engine = NULL;
  char *errors = NULL;
  ck_assert_int_eq(pl_engine_create_from_text(&loop, NULL, two_records, plugins,
                                              NULL, stderr, true, &engine,
                                              &errors),
                   0);
  ck_assert_ptr_null(errors);
  ck_assert(!pl_engine_finished(engine));
  /* Stages in config order: source, sink, dead letter. */
  pl_instance_t *source = pl_engine_stage(engine, "p", 0);
  ck_assert_str_eq(pl_instance_plugin(source), "source-script");
  ck_assert_str_eq(pl_instance_plugin(pl_engine_stage(engine, "p", 2)),
                   "sink-capture");
  ck_assert_ptr_null(pl_engine_stage(engine, "p", 3));
  ck_assert_ptr_null(pl_engine_stage(engine, "q", 0));
  ck_assert_int_eq(pl_engine_start(engine), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert(pl_engine_finished(engine));
  ck_assert_int_eq(pl_engine_status(engine), 0);
  test_source_t *script = pl_instance_context(source);
  ck_assert_uint_eq(script->committed, 2);
  test_sink_t *sink = pl_instance_context(pl_engine_stage(engine, "p", 1));
  ck_assert_uint_eq(json_array_size(sink->records), 2);
  pl_instance_count(source, "seen", 3);
  ck_assert_uint_eq(pl_instance_counter(source, "seen"), 3);
  ck_assert_uint_eq(pl_instance_counter(source, "unseen"), 0);
  pl_engine_destroy(engine);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(a_daemon_run_ends_at_shutdown) {
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pl_engine_t *engine = NULL;
  FILE *log = fopen("/dev/null", "w");
  ck_assert_ptr_nonnull(log);
  ck_assert_int_eq(pl_engine_create_from_text(&loop, "d.conf", two_records,
                                              plugins, NULL, log, false,
                                              &engine, NULL),
                   0);
  ck_assert_int_eq(pl_engine_start(engine), 0);
  /* Without --once it idles: run a few turns, then ask it to stop. */
  for (int i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  ck_assert(!pl_engine_finished(engine));
  pl_engine_shutdown(engine);
  pl_engine_shutdown(engine); /* again: nothing more */
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert(pl_engine_finished(engine));
  ck_assert_int_eq(pl_engine_status(engine), 0);
  pl_engine_destroy(engine);
  pl_engine_destroy(NULL);
  fclose(log);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(config_errors_come_back_as_text) {
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pl_engine_t *engine = (pl_engine_t *)&loop; /* set to NULL on failure */
  char *errors = NULL;
  ck_assert_int_eq(pl_engine_create_from_text(&loop, "bad.conf",
                                              "pipeline \"p\" {", plugins, NULL,
                                              stderr, true, &engine, &errors),
                   PL_EPARSE);
  ck_assert_ptr_null(engine);
  ck_assert_msg(strncmp(errors, "bad.conf:1:", 11) == 0, "%s", errors);
  free(errors);
  /* An unknown plugin; then a variable the injected environment lacks. */
  pl_env_t env = {no_env, NULL};
  ck_assert_int_eq(
      pl_engine_create_from_text(&loop, "x.conf",
                                 "pipeline \"p\" {\n source \"script\" { }\n"
                                 " sink \"nowhere\" { }\n}\n",
                                 plugins, &env, stderr, true, &engine, &errors),
      PL_EINVAL);
  ck_assert_ptr_nonnull(strstr(errors, "nowhere"));
  free(errors);
  ck_assert_int_eq(
      pl_engine_create_from_text(&loop, NULL, "a = \"${PL_UNSET_FOR_TEST}\"",
                                 plugins, &env, stderr, true, &engine, &errors),
      PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(errors, "PL_UNSET_FOR_TEST"));
  free(errors);
  ck_assert_int_eq(pl_engine_create_from_text(&loop, NULL, NULL, plugins, NULL,
                                              stderr, true, &engine, &errors),
                   PL_EINVAL);
  ck_assert_ptr_null(errors);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("embed");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_once_run_ends_by_itself_with_its_status);
  tcase_add_test(tc, a_daemon_run_ends_at_shutdown);
  tcase_add_test(tc, config_errors_come_back_as_text);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
