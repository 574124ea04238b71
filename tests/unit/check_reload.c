/* Reload (src/reload.c): a running engine takes a new config; changed
 * pipelines drain and restart, the others run on, a bad config changes
 * nothing. Also the config fingerprints it compares (src/config.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pipelined/extension.h>

#include "config_tree.h"
#include "metrics.h"
#include "pipeline.h"
#include "reload.h"
#include "test_stages.h"
#include "test_suite.h"

static const char *const base =
    "pipeline \"a\" {\n"
    "  source \"script\" { records = [\"1\", \"2\", \"3\"]\n"
    "    forever = true\n group_size = 3 }\n"
    "  sink \"capture\" { async = true }\n"
    "}\n"
    "pipeline \"b\" {\n"
    "  source \"script\" { records = [\"4\", \"5\"]\n"
    "    forever = true\n group_size = 2 }\n"
    "  sink \"capture\" { %s }\n"
    "}\n";

static char *config_with(const char *top, const char *b_sink,
                         const char *extra) {
  pl_buf_t buf = {0};
  pl_buf_append_str(&buf, top);
  pl_buf_printf(&buf, base, b_sink);
  pl_buf_append_str(&buf, extra);
  return buf.data;
}

static pl_cfg_node_t *parse(const char *text) {
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse("test.conf", text, strlen(text), NULL, &root, &error);
  ck_assert_msg(rc == 0, "%s", error ? error : "parse");
  return root;
}

static char *fingerprint_of(const char *text, size_t child) {
  pl_cfg_node_t *root = parse(text);
  pl_buf_t out = {0};
  pl__cfg_fingerprint(root->children[child], &out);
  pl__cfg_destroy(root);
  return out.data;
}

START_TEST(fingerprints_compare_content_not_place) {
  char *a = fingerprint_of("x { n = 1\n s = \"t\" }\n", 0);
  char *moved = fingerprint_of("\n\n   x {\n\n n = 1; s = \"t\"\n}\n", 0);
  char *kind = fingerprint_of("x { n = \"1\"\n s = \"t\" }\n", 0);
  char *order = fingerprint_of("x { s = \"t\"\n n = 1 }\n", 0);
  char *list = fingerprint_of("x { n = [1]\n s = \"t\" }\n", 0);
  char *label = fingerprint_of("x \"l\" { n = 1\n s = \"t\" }\n", 0);
  ck_assert_str_eq(a, moved);
  ck_assert_str_ne(a, kind);
  ck_assert_str_ne(a, order);
  ck_assert_str_ne(a, list);
  ck_assert_str_ne(a, label);
  free(a);
  free(moved);
  free(kind);
  free(order);
  free(list);
  free(label);
}
END_TEST

START_TEST(top_entries_leave_out_pipelines_and_log_settings) {
  pl_cfg_node_t *root =
      parse("log_level = \"debug\"\nshutdown_timeout = 5s\n"
            "pipeline \"p\" { }\naws { region = \"x\" }\n");
  pl_reload_top_t top = {0};
  ck_assert_int_eq(pl__reload_top_read(root, &top), 0);
  ck_assert_uint_eq(top.count, 2);
  ck_assert_str_eq(top.keys[0], "shutdown_timeout");
  ck_assert_str_eq(top.keys[1], "aws");
  pl__reload_top_free(&top);
  pl__cfg_destroy(root);
}
END_TEST

/* What a reload test does on the running loop: one reload after `at_ms`,
 * then (optionally) another, then shutdown. */
typedef struct script {
  test_run_t *run;
  const char *texts[3];
  int rcs[3];
  pl_buf_t errors[3];
  size_t step;
  pl_pipeline_t *before[2]; /* the pipelines before the first reload */
  size_t a_delivered_at_reload;
  bool keep_draining; /* shut down even while a pipeline drains */
  int waits;
  uv_timer_t timer;
  /* What /healthz, /readyz and /metrics said before each step. */
  pl_buf_t said[3];
  bool healthy[3];
  bool ready[3];
} script_t;

static void note_what_is_said(script_t *s) {
  if (s->step >= 3 || s->said[s->step].len > 0)
    return;
  pl_engine_t *engine = s->run->engine;
  pl_buf_t *said = &s->said[s->step];
  s->healthy[s->step] = pl__metrics_health(engine, said);
  s->ready[s->step] = pl__metrics_ready(engine, said);
  pl__metrics_render(engine, said);
}

static void on_step(uv_timer_t *timer) {
  script_t *s = timer->data;
  pl_engine_t *engine = s->run->engine;
  note_what_is_said(s);
  if (s->step == 0) {
    s->before[0] = engine->pipelines[0];
    s->before[1] = engine->pipelines[1];
    test_sink_t *sink = test_ctx(s->run, "a", PL_ROLE_SINK);
    s->a_delivered_at_reload = json_array_size(sink->records);
  }
  if (s->step < 3 && s->texts[s->step]) {
    pl_cfg_node_t *root = parse(s->texts[s->step]);
    s->rcs[s->step] =
        pl__engine_reload(engine, root, &s->errors[s->step]);
    pl__cfg_destroy(root);
    s->step++;
    uv_timer_start(timer, on_step, 40, 0);
    return;
  }
  /* Shut down once every reload has taken effect (within a second). */
  bool draining = false;
  for (size_t i = 0; i < engine->pipeline_count; i++)
    draining |= engine->pipelines[i]->retiring ||
                engine->pipelines[i]->pending_start;
  if (draining && !s->keep_draining && s->waits++ < 100) {
    uv_timer_start(timer, on_step, 10, 0);
    return;
  }
  pl__engine_shutdown(engine);
  uv_close((uv_handle_t *)timer, NULL);
}

static test_run_t *run_script(script_t *s, const char *initial) {
  test_run_t *run = test_run_start(initial, NULL, false);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  s->run = run;
  uv_timer_init(&run->loop, &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, on_step, 30, 0);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  return run;
}

static void script_free(script_t *s) {
  for (size_t i = 0; i < 3; i++) {
    pl_buf_free(&s->errors[i]);
    pl_buf_free(&s->said[i]);
  }
}

START_TEST(a_changed_pipeline_restarts_and_the_others_run_on) {
  char *initial = config_with("", "", "");
  char *changed = config_with("", "batch_size = 7", "");
  script_t s = {.texts = {changed}};
  test_run_t *run = run_script(&s, initial);
  ck_assert_msg(s.rcs[0] == 0, "%s", s.errors[0].data);
  const char *log = test_log(run);
  ck_assert_msg(strstr(log, "reload: pipeline \"b\" changed: draining it"),
                "%s", log);
  ck_assert_msg(strstr(log, "reload: pipeline \"b\" drained"), "%s", log);
  ck_assert_ptr_null(strstr(log, "pipeline \"a\""));
  /* "a" is the same pipeline, and went on delivering; "b" is new and
   * delivering too. */
  pl_engine_t *engine = run->engine;
  ck_assert_uint_eq(engine->pipeline_count, 2);
  ck_assert_ptr_eq(engine->pipelines[0], s.before[0]);
  ck_assert_ptr_ne(engine->pipelines[1], s.before[1]);
  ck_assert_str_eq(engine->pipelines[1]->name, "b");
  ck_assert(!engine->pipelines[1]->retiring);
  test_sink_t *a = test_ctx(run, "a", PL_ROLE_SINK);
  test_source_t *a_src = test_ctx(run, "a", PL_ROLE_SOURCE);
  ck_assert_uint_gt(json_array_size(a->records), s.a_delivered_at_reload);
  ck_assert_uint_eq(json_array_size(a->records), a_src->emitted);
  test_sink_t *b = test_ctx(run, "b", PL_ROLE_SINK);
  test_source_t *b_src = test_ctx(run, "b", PL_ROLE_SOURCE);
  ck_assert_uint_gt(b_src->emitted, 0);
  ck_assert_uint_eq(json_array_size(b->records), b_src->emitted);
  ck_assert_int_eq(test_stage(run, "b", PL_ROLE_SINK)->stage.batch_size, 7);
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(changed);
}
END_TEST

START_TEST(pipelines_are_added_and_removed) {
  char *initial = config_with("", "", "");
  char *added = config_with(
      "", "",
      "pipeline \"c\" {\n source \"script\" { records = [\"9\"] }\n"
      " sink \"capture\" { }\n}\n");
  const char *only_c = "pipeline \"c\" {\n source \"script\" { records = "
                       "[\"9\"] }\n sink \"capture\" { }\n}\n";
  script_t s = {.texts = {added, only_c}};
  test_run_t *run = run_script(&s, initial);
  ck_assert_msg(s.rcs[0] == 0, "%s", s.errors[0].data);
  ck_assert_msg(s.rcs[1] == 0, "%s", s.errors[1].data);
  const char *log = test_log(run);
  ck_assert_msg(strstr(log, "reload: pipeline \"c\" added"), "%s", log);
  ck_assert_msg(strstr(log, "reload: pipeline \"a\" removed: draining it"),
                "%s", log);
  ck_assert_msg(strstr(log, "reload: pipeline \"b\" removed: draining it"),
                "%s", log);
  ck_assert_uint_eq(run->engine->pipeline_count, 1);
  ck_assert_str_eq(run->engine->pipelines[0]->name, "c");
  test_sink_t *c = test_ctx(run, "c", PL_ROLE_SINK);
  ck_assert_uint_eq(json_array_size(c->records), 1);
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(added);
}
END_TEST

START_TEST(a_bad_config_is_refused_and_nothing_changes) {
  char *initial = config_with("", "", "");
  char *unknown = config_with("", "batch_sise = 7", "");
  char *top = config_with("memory_limit = 1MiB\nshutdown_timeout = 5s\n",
                          "batch_size = 7", "");
  char *twice = config_with(
      "", "",
      "pipeline \"a\" {\n source \"script\" { }\n sink \"capture\" { }\n}\n");
  script_t s = {.texts = {unknown, top, twice}};
  test_run_t *run = run_script(&s, initial);
  for (size_t i = 0; i < 3; i++)
    ck_assert_int_eq(s.rcs[i], PL_EINVAL);
  ck_assert_msg(strstr(s.errors[0].data, "test.conf:11:") &&
                    strstr(s.errors[0].data, "batch_sise"),
                "%s", s.errors[0].data);
  ck_assert_msg(strstr(s.errors[1].data, "'shutdown_timeout' changed: a "
                                         "reload applies the pipeline "
                                         "blocks"),
                "%s", s.errors[1].data);
  /* The memory budget is read at start too. */
  ck_assert_msg(strstr(s.errors[1].data, "'memory_limit', 'shutdown_timeout'"),
                "%s", s.errors[1].data);
  ck_assert_msg(strstr(s.errors[2].data, "pipeline \"a\" is defined twice"),
                "%s", s.errors[2].data);
  ck_assert_ptr_eq(run->engine->pipelines[0], s.before[0]);
  ck_assert_ptr_eq(run->engine->pipelines[1], s.before[1]);
  ck_assert_ptr_null(strstr(test_log(run), "reload: pipeline"));
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(unknown);
  free(top);
  free(twice);
}
END_TEST

START_TEST(log_settings_apply_without_a_restart) {
  char *initial = config_with("", "", "");
  char *debug = config_with("log_level = \"debug\"\n", "", "");
  script_t s = {.texts = {debug}};
  test_run_t *run = run_script(&s, initial);
  ck_assert_int_eq(s.rcs[0], 0);
  ck_assert_int_eq(run->engine->log.level, PL_LOG_DEBUG);
  ck_assert_ptr_eq(run->engine->pipelines[0], s.before[0]);
  ck_assert_ptr_eq(run->engine->pipelines[1], s.before[1]);
  ck_assert_msg(strstr(test_log(run), "reload: no pipeline changed"), "%s",
                test_log(run));
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(debug);
}
END_TEST

/* A pipeline whose sink never finishes cannot drain: its successor waits,
 * a second reload is refused, and shutdown still ends the run. */
START_TEST(a_pipeline_that_cannot_drain_keeps_its_old_config) {
  char *initial = config_with("shutdown_timeout = 100ms\n", "hold = true", "");
  char *changed = config_with("shutdown_timeout = 100ms\n",
                              "hold = true\n batch_size = 7", "");
  script_t s = {.texts = {changed, changed}, .keep_draining = true};
  test_run_t *run = test_run_start(initial, NULL, false);
  ck_assert_int_eq(run->create_rc, 0);
  s.run = run;
  uv_timer_init(&run->loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, on_step, 30, 0);
  test_run_loop(run);
  ck_assert_int_eq(s.rcs[0], 0);
  ck_assert_int_eq(s.rcs[1], PL_EINVAL);
  ck_assert_msg(strstr(s.errors[1].data,
                       "pipeline \"b\" is still draining from the previous "
                       "reload"),
                "%s", s.errors[1].data);
  ck_assert_ptr_null(strstr(test_log(run), "reload: pipeline \"b\" drained"));
  ck_assert(pl__engine_timed_out(run->engine));
  uv_run(&run->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(changed);
}
END_TEST

/* A sink that names an extension ("aws"-like): a pipeline of it cannot be
 * added by a reload to a daemon that did not set the extension up at
 * start. */
static int ext_create(pl_extension_t *ext, const void *settings,
                      void **state) {
  *state = NULL;
  return 0;
}
static const pl_extension_type_t test_extension = {
    .name = "testext",
    .description = "Test extension.",
    .create = ext_create,
};
static const pl_extension_type_t *const test_extensions[] = {&test_extension,
                                                             NULL};
static int ext_sink_init(pl_instance_t *inst, const void *options,
                         void **ctx) {
  *ctx = NULL;
  return 0;
}
static void ext_sink_write(pl_instance_t *inst, void *ctx,
                           pl_batch_t *batch) {}
static void ext_sink_destroy(void *ctx) {}
static const pl_plugin_t test_sink_ext = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "ext",
    .kind = PL_KIND_SINK,
    .description = "Test sink that names an extension.",
    .init = ext_sink_init,
    .write = ext_sink_write,
    .destroy = ext_sink_destroy,
    .extensions = test_extensions,
};

START_TEST(an_extension_the_daemon_did_not_load_is_refused) {
  static const pl_plugin_t *const extra[] = {&test_sink_ext, NULL};
  char *initial = config_with("", "", "");
  char *more = config_with(
      "", "",
      "pipeline \"e\" {\n source \"script\" { records = [\"1\"] }\n"
      " sink \"ext\" { }\n}\n");
  test_run_t *run = test_run_start(initial, extra, false);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_cfg_node_t *root = parse(more);
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__engine_reload(run->engine, root, &errors), PL_EINVAL);
  ck_assert_msg(strstr(errors.data,
                       "test.conf:15:2: pipeline \"e\": sink-ext needs the "
                       "'testext' extension, which this daemon did not load "
                       "at start: restart the daemon to add it"),
                "%s", errors.data);
  ck_assert_uint_eq(run->engine->pipeline_count, 2);
  pl_buf_free(&errors);
  pl__cfg_destroy(root);
  pl__engine_shutdown(run->engine);
  test_run_loop(run);
  ck_assert_int_eq(test_run_free(run), 0);
  free(initial);
  free(more);
}
END_TEST

/* SIGTERM while a reload's new pipeline waits for a changed one to drain
 * (here one that cannot: its sink holds every batch). The new pipeline
 * never started: the shutdown stops it without calling its source and
 * without a pump (a SIGSEGV in uv_idle_start before). */
START_TEST(a_shutdown_stops_a_new_pipeline_that_never_started) {
  char *initial = config_with("shutdown_timeout = 100ms\n", "hold = true", "");
  char *changed =
      config_with("shutdown_timeout = 100ms\n", "hold = true\n batch_size = 7",
                  "pipeline \"c\" {\n source \"script\" { records = [\"9\"] }\n"
                  " sink \"capture\" { }\n}\n");
  script_t s = {.texts = {changed}, .keep_draining = true};
  test_run_t *run = test_run_start(initial, NULL, false);
  ck_assert_int_eq(run->create_rc, 0);
  s.run = run;
  uv_timer_init(&run->loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, on_step, 30, 0);
  test_run_loop(run);
  ck_assert_msg(s.rcs[0] == 0, "%s", s.errors[0].data);
  test_sink_t *c = test_ctx(run, "c", PL_ROLE_SINK);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(json_array_size(c->records), 0);
  ck_assert(pl__engine_timed_out(run->engine)); /* "b" holds its batches */
  uv_run(&run->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(initial);
  free(changed);
}
END_TEST

static int failing_start(pl_instance_t *inst, void *ctx) {
  return PL_EIO;
}
static const pl_plugin_t test_sink_unstartable = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "unstartable",
    .kind = PL_KIND_SINK,
    .description = "Test sink whose start fails.",
    .init = ext_sink_init,
    .start = failing_start,
    .write = ext_sink_write,
    .destroy = ext_sink_destroy,
};

/* A reload adds a pipeline that cannot start; the next reload, on a daemon
 * with nothing else to do, is taken (it was refused before, "still
 * draining from the previous reload", for as long as no other pump ran).
 * Until then the daemon does not look healthy: the pipeline runs nothing,
 * and it has no series of its own left in /metrics. */
START_TEST(a_new_pipeline_that_cannot_start_does_not_block_reloads) {
  static const pl_plugin_t *const extra[] = {&test_sink_unstartable, NULL};
  const char *idle = "pipeline \"a\" {\n source \"script\" { records = "
                     "[\"1\"] }\n sink \"capture\" { }\n}\n"
                     "pipeline \"b\" {\n source \"script\" { records = "
                     "[\"2\"] }\n sink \"capture\" { }\n}\n";
  char *added = NULL;
  pl_buf_t buf = {0};
  pl_buf_printf(&buf,
                "%spipeline \"f\" {\n source \"script\" { records = "
                "[\"3\"] }\n sink \"unstartable\" { }\n}\n",
                idle);
  added = buf.data;
  script_t s = {.texts = {added, idle}};
  test_run_t *run = test_run_start(idle, extra, false);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  s.run = run;
  uv_timer_init(&run->loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, on_step, 300, 0);
  test_run_loop(run);
  ck_assert_msg(s.rcs[0] == 0, "%s", s.errors[0].data);
  ck_assert_msg(s.rcs[1] == 0, "%s", s.errors[1].data);
  ck_assert_ptr_nonnull(strstr(test_log(run), "reload: pipeline \"f\" cannot "
                                              "start"));
  ck_assert_uint_eq(run->engine->pipeline_count, 2);
  const char *before = s.said[0].data, *broken = s.said[1].data,
             *fixed = s.said[2].data;
  ck_assert_msg(s.healthy[0] && s.ready[0], "%s", before);
  ck_assert_ptr_null(strstr(before, "pipelined_pipeline_not_running{"));
  ck_assert_msg(!s.healthy[1] && !s.ready[1], "%s", broken);
  ck_assert_msg(strstr(broken, "{\"status\":\"unhealthy\",\"pipeline\":\"f\","
                               "\"last_error\":\"cannot start (input/output "
                               "error); fix the config and reload again\"}\n"),
                "%s", broken);
  ck_assert_msg(strstr(broken, "pipeline \"f\" is not running: cannot start"),
                "%s", broken);
  ck_assert_msg(
      strstr(broken, "\npipelined_pipeline_not_running{pipeline=\"f\"} 1\n"),
      "%s", broken);
  /* The next reload, without "f", makes it whole again. */
  ck_assert_msg(s.healthy[2] && s.ready[2], "%s", fixed);
  ck_assert_ptr_null(strstr(fixed, "pipelined_pipeline_not_running{"));
  ck_assert_int_eq(test_run_free(run), 0);
  script_free(&s);
  free(added);
}
END_TEST

START_TEST(a_once_run_does_not_reload) {
  char *initial = config_with("", "", "");
  test_run_t *run = test_run_start(initial, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  pl_cfg_node_t *root = parse(initial);
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__engine_reload(run->engine, root, &errors), PL_EINVAL);
  ck_assert_str_eq(errors.data, "a --once run does not reload its config\n");
  pl_buf_free(&errors);
  pl__cfg_destroy(root);
  pl__engine_shutdown(run->engine);
  test_run_loop(run);
  ck_assert_int_eq(test_run_free(run), 0);
  free(initial);
}
END_TEST

#ifdef PL_TEST_SOURCE_FILE
/* ---- source-file with state_dir ---- */

extern const pl_plugin_t pipelined_plugin; /* source-file, linked in */

typedef struct progress_reload {
  test_run_t *run;
  uv_timer_t timer;
  char *changed;
  test_sink_t *old_sink;
  int step;
} progress_reload_t;

/* One file of a line, one of 200,000; batches held by the first sink. */
static char *progress_config(const char *dir, const char *chunk, bool stall) {
  pl_buf_t b = {0};
  pl_buf_printf(&b,
                "pipeline \"p\" {\n source \"file\" { paths = [\"%s/in\"]\n"
                " watch = false\n state_dir = \"%s/state\"\n chunk_size = %s "
                "}\n sink \"capture\" { stall = %s }\n}\n",
                dir, dir, chunk, stall ? "true" : "false");
  return b.data;
}

static void progress_step(uv_timer_t *timer) {
  progress_reload_t *r = timer->data;
  pl_engine_t *engine = r->run->engine;
  if (r->step == 0) {
    /* a.txt read whole, b.txt in part, nothing committed: the sink holds
     * every batch. */
    r->old_sink = test_ctx(r->run, "p", PL_ROLE_SINK);
    pl_cfg_node_t *root = parse(r->changed);
    pl_buf_t errors = {0};
    ck_assert_int_eq(pl__engine_reload(engine, root, &errors), 0);
    pl__cfg_destroy(root);
    pl_buf_free(&errors);
    r->step++;
    uv_timer_start(timer, progress_step, 20, 0);
    return;
  }
  if (r->step == 1) {
    /* The old pipeline drains: a.txt is committed now, after the new
     * pipeline was made. */
    test_sink_release(r->old_sink);
    r->step++;
    uv_timer_start(timer, progress_step, 1500, 0);
    return;
  }
  pl__engine_shutdown(engine);
  uv_close((uv_handle_t *)timer, NULL);
}

/* A reload's new source-file pipeline starts from what the one it replaces
 * committed while it drained: a.txt, committed during the drain, is not
 * read again (it was: the new pipeline had read the state file when it was
 * made, before the drain, and delivered a.txt a second time). */
START_TEST(a_restarted_file_source_skips_what_its_predecessor_committed) {
  char tmpl[] = "/tmp/pipelined-reload-XXXXXX";
  char *dir = mkdtemp(tmpl);
  ck_assert_ptr_nonnull(dir);
  char path[512];
  snprintf(path, sizeof path, "%s/in", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/in/a.txt", dir);
  FILE *f = fopen(path, "w");
  fputs("a-line\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/in/b.txt", dir);
  f = fopen(path, "w");
  for (int i = 0; i < 200000; i++)
    fputs("b-line\n", f);
  fclose(f);
  char *initial = progress_config(dir, "1KiB", true);
  progress_reload_t r = {.changed = progress_config(dir, "2KiB", false)};
  const pl_plugin_t *extra[] = {&pipelined_plugin, NULL};
  r.run = test_run_start(initial, extra, false);
  ck_assert_msg(r.run->create_rc == 0, "%s", r.run->errors.data);
  uv_timer_init(&r.run->loop, &r.timer);
  r.timer.data = &r;
  uv_timer_start(&r.timer, progress_step, 100, 0);
  test_run_loop(r.run);
  const char *log = test_log(r.run);
  ck_assert_msg(strstr(log, "drained (1 group(s) committed"), "%s", log);
  /* Only b.txt, cut by the reload, is read (again) by the new pipeline. */
  pl_pipeline_t *now = r.run->engine->pipelines[0];
  ck_assert_msg(now->groups_committed == 1,
                "the new pipeline committed %llu groups (a.txt read again)",
                (unsigned long long)now->groups_committed);
  ck_assert_int_eq(test_run_free(r.run), 0);
  free(initial);
  free(r.changed);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST
#endif

int main(void) {
  Suite *s = suite_create("reload");
  TCase *tc = tcase_create("reload");
  tcase_add_test(tc, fingerprints_compare_content_not_place);
  tcase_add_test(tc, top_entries_leave_out_pipelines_and_log_settings);
  tcase_add_test(tc, a_changed_pipeline_restarts_and_the_others_run_on);
  tcase_add_test(tc, pipelines_are_added_and_removed);
  tcase_add_test(tc, a_bad_config_is_refused_and_nothing_changes);
  tcase_add_test(tc, log_settings_apply_without_a_restart);
  tcase_add_test(tc, a_pipeline_that_cannot_drain_keeps_its_old_config);
  tcase_add_test(tc, an_extension_the_daemon_did_not_load_is_refused);
  tcase_add_test(tc, a_once_run_does_not_reload);
  tcase_add_test(tc, a_shutdown_stops_a_new_pipeline_that_never_started);
  tcase_add_test(tc, a_new_pipeline_that_cannot_start_does_not_block_reloads);
#ifdef PL_TEST_SOURCE_FILE
  tcase_add_test(tc,
                 a_restarted_file_source_skips_what_its_predecessor_committed);
#endif
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
