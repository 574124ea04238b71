/* Check suite for src/extension.c: engine extensions, their config blocks
 * (validated when the config loads), their state (made once, on first use,
 * closed after the stages) and the descriptor checks of the registry. */
#include <check.h>
#include <pipelined/extension.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "registry.h"
#include "test_stages.h"
#include "test_suite.h"

/* ---- A demo extension ---- */

typedef struct demo_settings {
  char *color;
  int64_t size;
} demo_settings_t;

static const pl_option_t demo_options[] = {
    PL_OPTION_STRING(demo_settings_t, color, "color", "blue", 0,
                     "A colour."),
    PL_OPTION_INT(demo_settings_t, size, "size", "1", 0, "A size."),
};

/* What the callbacks saw: one per test, reset by each. */
typedef struct demo_calls {
  int creates;
  int closes;
  bool fail_create;
  char color[16];
  int64_t size;
} demo_calls_t;
static demo_calls_t calls;

typedef struct demo_state {
  int serial;
} demo_state_t;

static int demo_create(pl_extension_t *ext, const void *data, void **state) {
  const demo_settings_t *settings = data;
  calls.creates++;
  ck_assert_ptr_nonnull(pl_extension_loop(ext));
  ck_assert_ptr_nonnull(pl_extension_env(ext));
  if (calls.fail_create)
    return PL_EIO;
  snprintf(calls.color, sizeof(calls.color), "%s", settings->color);
  calls.size = settings->size;
  pl_extension_log(ext, PL_LOG_WARN, "made number %d", calls.creates);
  demo_state_t *s = calloc(1, sizeof(*s));
  s->serial = calls.creates;
  *state = s;
  return 0;
}

static void demo_metrics(const void *state, pl_buf_t *out) {
  const demo_state_t *s = state;
  pl_buf_printf(out,
                "# HELP pipelined_demo_serial the state's number\n"
                "# TYPE pipelined_demo_serial gauge\n"
                "pipelined_demo_serial %d\n",
                s->serial);
}

static void demo_close(void *state) {
  calls.closes++;
  free(state);
}

static const pl_extension_type_t demo_type = {
    .name = "demo",
    .description = "A demo extension.",
    .options = demo_options,
    .options_count = sizeof(demo_options) / sizeof(demo_options[0]),
    .settings_size = sizeof(demo_settings_t),
    .create = demo_create,
    .close = demo_close,
    .metrics = demo_metrics,
};

/* A sink that names the demo extension. */
static int user_init(pl_instance_t *inst, const void *options, void **ctx) {
  (void)inst;
  (void)options;
  *ctx = NULL;
  return 0;
}
static void user_destroy(void *ctx) { (void)ctx; }
static void user_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  (void)inst;
  (void)ctx;
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static const pl_plugin_t demo_user = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "demo-user",
    .kind = PL_KIND_SINK,
    .description = "Test sink that uses the demo extension.",
    .init = user_init,
    .write = user_write,
    .destroy = user_destroy,
    .extensions = (const pl_extension_type_t *const[]){&demo_type, NULL},
};

static const pl_plugin_t *const extra[] = {&demo_user, NULL};

static const char user_pipeline[] =
    "pipeline \"p\" { source \"script\" { records = [] }\n"
    "  sink \"demo-user\" { } }\n";
static const char capture_pipeline[] =
    "pipeline \"p\" { source \"script\" { records = [] }\n"
    "  sink \"capture\" { } }\n";

/* Starts `pipeline` followed by `blocks` in daemon mode. */
static test_run_t *start(const char *pipeline, const char *blocks) {
  memset(&calls, 0, sizeof(calls));
  test_run_t *run = test_run_create(extra);
  char text[1024];
  snprintf(text, sizeof(text), "%s%s", pipeline, blocks);
  test_run_configure(run, text, false, NULL);
  return run;
}

static void stop(test_run_t *run) {
  if (run->engine)
    ck_assert_int_eq(test_run_stop(run), 0);
  else
    ck_assert_int_eq(test_run_free(run), 0);
}

START_TEST(the_block_sets_the_state_made_once_on_first_use) {
  test_run_t *run = start(user_pipeline, "demo { color = \"red\" }\n");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(calls.creates, 0); /* not before a stage asks */
  pl_instance_t *inst = test_stage(run, "p", PL_ROLE_SINK);
  void *first = NULL, *second = NULL;
  ck_assert_int_eq(pl_extension_get(inst, &demo_type, &first), 0);
  ck_assert_int_eq(pl_extension_get(inst, &demo_type, &second), 0);
  ck_assert_ptr_eq(first, second);
  ck_assert_int_eq(calls.creates, 1);
  ck_assert_str_eq(calls.color, "red");
  ck_assert_int_eq(calls.size, 1); /* the default */
  ck_assert_ptr_nonnull(strstr(test_log(run), "[demo:-] made number 1"));
  stop(run);
  ck_assert_int_eq(calls.closes, 1);
}
END_TEST

START_TEST(without_a_block_the_defaults_apply) {
  test_run_t *run = start(user_pipeline, "");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  void *state = NULL;
  ck_assert_int_eq(pl_extension_get(test_stage(run, "p", PL_ROLE_SINK),
                                    &demo_type, &state),
                   0);
  ck_assert_str_eq(calls.color, "blue");
  stop(run);
}
END_TEST

START_TEST(an_unused_extension_is_never_made_nor_closed) {
  test_run_t *run = start(user_pipeline, "demo { size = 3 }\n");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  stop(run);
  ck_assert_int_eq(calls.creates, 0);
  ck_assert_int_eq(calls.closes, 0);
}
END_TEST

START_TEST(a_bad_setting_is_a_config_error_with_its_place) {
  test_run_t *run = start(user_pipeline, "demo {\n  colour = \"red\"\n}\n");
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_ptr_nonnull(strstr(run->errors.data, "test.conf:4:3:"));
  ck_assert_ptr_nonnull(strstr(run->errors.data, "colour"));
  ck_assert_ptr_nonnull(strstr(run->errors.data, "color"));
  stop(run);
  ck_assert_int_eq(calls.creates, 0);
}
END_TEST

START_TEST(two_blocks_are_refused) {
  test_run_t *run = start(user_pipeline, "demo { }\ndemo { }\n");
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_ptr_nonnull(
      strstr(run->errors.data, "test.conf:4:1: only one demo block is allowed"));
  stop(run);
}
END_TEST

/* The block of an extension no stage of the config uses names the plugins
 * that would read it, so that the user knows what the block is for. */
START_TEST(a_block_no_stage_reads_names_the_plugins_that_would) {
  test_run_t *run = start(capture_pipeline, "demo { }\n");
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_msg(strstr(run->errors.data,
                       "test.conf:3:1: top level: block 'demo' is read only by "
                       "the plugin sink-demo-user, and no stage of this config "
                       "uses it\n"),
                "%s", run->errors.data);
  stop(run);
}
END_TEST

START_TEST(a_block_no_plugin_reads_is_refused) {
  test_run_t *run = start(capture_pipeline, "zzz { }\n");
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_msg(strstr(run->errors.data,
                       "test.conf:3:1: top level: unknown block 'zzz' (no "
                       "plugin reads it; the top-level blocks of this config "
                       "are: pipeline)\n"),
                "%s", run->errors.data);
  stop(run);
}
END_TEST

START_TEST(a_misspelt_block_names_the_closest) {
  test_run_t *run = start(user_pipeline, "dmeo { }\n");
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_ptr_nonnull(strstr(
      run->errors.data,
      "test.conf:3:1: top level: unknown block 'dmeo' (did you mean 'demo'?)"));
  stop(run);
}
END_TEST

START_TEST(a_stage_that_does_not_name_the_type_cannot_get_it) {
  test_run_t *run = start(user_pipeline, "");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  void *state = NULL;
  ck_assert_int_eq(pl_extension_get(test_stage(run, "p", PL_ROLE_SOURCE),
                                    &demo_type, &state),
                   PL_ENOENT);
  stop(run);
  ck_assert_int_eq(calls.creates, 0);
}
END_TEST

START_TEST(a_failed_create_is_returned_and_tried_again) {
  test_run_t *run = start(user_pipeline, "");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_instance_t *inst = test_stage(run, "p", PL_ROLE_SINK);
  void *state = NULL;
  calls.fail_create = true;
  ck_assert_int_eq(pl_extension_get(inst, &demo_type, &state), PL_EIO);
  calls.fail_create = false;
  ck_assert_int_eq(pl_extension_get(inst, &demo_type, &state), 0);
  ck_assert_int_eq(((demo_state_t *)state)->serial, 2);
  stop(run);
  ck_assert_int_eq(calls.closes, 1);
}
END_TEST

START_TEST(an_extension_adds_its_metrics_once_it_has_a_state) {
  test_run_t *run = start(user_pipeline, "");
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_buf_t before = {0}, after = {0};
  pl__metrics_render(run->engine, &before);
  ck_assert_ptr_null(strstr(before.data, "pipelined_demo_serial"));
  void *state = NULL;
  ck_assert_int_eq(pl_extension_get(test_stage(run, "p", PL_ROLE_SINK),
                                    &demo_type, &state),
                   0);
  pl__metrics_render(run->engine, &after);
  ck_assert_ptr_nonnull(strstr(after.data, "\npipelined_demo_serial 1\n"));
  pl_buf_free(&before);
  pl_buf_free(&after);
  stop(run);
}
END_TEST

START_TEST(the_registry_refuses_an_extension_without_create) {
  pl_extension_type_t broken = demo_type;
  broken.create = NULL;
  const pl_extension_type_t *const list[] = {&broken, NULL};
  pl_plugin_t plugin = demo_user;
  plugin.extensions = list;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&plugin, "x.so", &error), PL_EINVAL);
  ck_assert_str_eq(error, "x.so: plugin 'demo-user': extension 0 lacks a "
                          "name or a create callback");
  free(error);
}
END_TEST

START_TEST(the_registry_checks_an_extension_table) {
  static const pl_option_t bad[] = {
      PL_OPTION_INT(demo_settings_t, size, "size", "many", 0, "A size."),
  };
  pl_extension_type_t broken = demo_type;
  broken.options = bad;
  broken.options_count = 1;
  const pl_extension_type_t *const list[] = {&broken, NULL};
  pl_plugin_t plugin = demo_user;
  plugin.extensions = list;
  char *error = NULL;
  ck_assert_int_eq(pl__plugin_validate(&plugin, "x.so", &error), PL_EINVAL);
  ck_assert_ptr_nonnull(
      strstr(error, "x.so: extension 'demo': option 0 ('size') is invalid"));
  free(error);
}
END_TEST

int main(void) {
  Suite *s = suite_create("extension");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, the_block_sets_the_state_made_once_on_first_use);
  tcase_add_test(tc, without_a_block_the_defaults_apply);
  tcase_add_test(tc, an_unused_extension_is_never_made_nor_closed);
  tcase_add_test(tc, a_bad_setting_is_a_config_error_with_its_place);
  tcase_add_test(tc, two_blocks_are_refused);
  tcase_add_test(tc, a_block_no_stage_reads_names_the_plugins_that_would);
  tcase_add_test(tc, a_block_no_plugin_reads_is_refused);
  tcase_add_test(tc, a_misspelt_block_names_the_closest);
  tcase_add_test(tc, a_stage_that_does_not_name_the_type_cannot_get_it);
  tcase_add_test(tc, a_failed_create_is_returned_and_tried_again);
  tcase_add_test(tc, an_extension_adds_its_metrics_once_it_has_a_state);
  tcase_add_test(tc, the_registry_refuses_an_extension_without_create);
  tcase_add_test(tc, the_registry_checks_an_extension_table);
  suite_add_tcase(s, tc);
  /* The calls record is per process: no fork per test needed, but each
   * test resets it. */
  return test_suite_run(s);
}
