/* The engine and its acknowledgement model, run in-process with the test
 * source and sink. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test_stages.h"
#include "test_suite.h"

#define SOURCE(records, extra)                                                 \
  "  source \"script\" { records = " records " " extra " }\n"

static const char *const ten =
    "[\"{\\\"n\\\":1}\", \"{\\\"n\\\":2}\", \"{\\\"n\\\":3}\", "
    "\"{\\\"n\\\":4}\", \"{\\\"n\\\":5}\", \"{\\\"n\\\":6}\", "
    "\"{\\\"n\\\":7}\", \"{\\\"n\\\":8}\", \"{\\\"n\\\":9}\", "
    "\"{\\\"n\\\":10}\"]";

static char *config(const char *source_extra, const char *sink_extra,
                    const char *dead_letter) {
  pl_buf_t buf = {0};
  pl_buf_printf(&buf,
                "pipeline \"p\" {\n"
                "  source \"script\" { records = %s\n %s }\n"
                "  sink \"capture\" { %s }\n"
                "%s"
                "}\n",
                ten, source_extra, sink_extra, dead_letter ? dead_letter : "");
  return buf.data;
}

static test_source_t *source_of(test_run_t *run) {
  return test_ctx(run, "p", PL_ROLE_SOURCE);
}
static test_sink_t *sink_of(test_run_t *run) {
  return test_ctx(run, "p", PL_ROLE_SINK);
}

START_TEST(delivers_every_record_and_commits_every_group) {
  char *text = config("group_size = 3", "", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  /* Groups of 3, 3, 3, 1. */
  ck_assert_uint_eq(source_of(run)->committed, 4);
  ck_assert_uint_eq(source_of(run)->failed, 0);
  for (size_t i = 0; i < 10; i++) {
    json_t *n = json_object_get(json_array_get(sink_of(run)->records, i), "n");
    ck_assert_int_eq(json_integer_value(n), (json_int_t)i + 1);
  }
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(a_deprecated_option_works_with_a_warning) {
  char *text = config("batch = 3", "", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  ck_assert_ptr_nonnull(
      strstr(test_log(run), "warn  test.conf:3:"));
  ck_assert_ptr_nonnull(strstr(test_log(run),
                               "pipeline \"p\": source \"script\": option "
                               "'batch' is deprecated: Ignored; use "
                               "group_size."));
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(batches_are_bounded_by_batch_size) {
  char *text = config("", "batch_size = 4", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  ck_assert_uint_le(sink_of(run)->largest_batch, 4);
  ck_assert_uint_ge(sink_of(run)->batches_seen, 3);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(batches_are_bounded_by_batch_bytes) {
  /* Each record is 8 bytes ({"n":1}) or 9; 20 bytes hold two. */
  char *text = config("", "batch_size = 100\n batch_bytes = 20B", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  ck_assert_uint_le(sink_of(run)->largest_batch, 2);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(linger_waits_to_fill_a_batch) {
  /* The source never exhausts and emits all ten quickly: with a long
   * linger, the first batch is cut by size, not by time. */
  char *text = config("", "batch_size = 5\n linger = 200ms\n async = true", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  ck_assert_uint_eq(sink_of(run)->largest_batch, 5);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(failed_writes_are_retried_then_delivered) {
  char *text = config("group_size = 10",
                      "fail_first = 2\n retry_backoff = 1ms\n async = true",
                      NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  ck_assert_uint_eq(source_of(run)->committed, 1);
  pl_instance_t *sink = test_stage(run, "p", PL_ROLE_SINK);
  ck_assert_uint_ge(sink->metrics.retried, 20);
  ck_assert_uint_eq(sink->metrics.failed, 0);
  ck_assert_ptr_nonnull(strstr(test_log(run), "retry 1 of 5"));
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(exhausted_retries_fail_the_group_and_the_run) {
  char *text = config("group_size = 5",
                      "fail_always = true\n retry_limit = 2\n"
                      " retry_backoff = 1ms\n retry_backoff_max = 2ms",
                      NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_int_eq(run->status, 1);
  ck_assert_uint_eq(source_of(run)->committed, 0);
  ck_assert_uint_eq(source_of(run)->failed, 2);
  pl_instance_t *sink = test_stage(run, "p", PL_ROLE_SINK);
  ck_assert_uint_eq(sink->metrics.failed, 10);
  ck_assert_ptr_nonnull(strstr(test_log(run), "failed after 3 attempt(s)"));
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(rejected_records_go_to_the_dead_letter_and_commit) {
  pl_buf_t source = {0};
  char *text = NULL;
  pl_buf_printf(&source,
                "pipeline \"p\" {\n"
                "  source \"script\" { records = [\"{\\\"n\\\":1}\", "
                "\"{\\\"bad\\\":true}\", \"{\\\"n\\\":3}\"]\n group_size = 3 }\n"
                "  sink \"capture\" { reject_field = \"bad\" }\n"
                "  dead_letter \"capture\" { }\n"
                "}\n");
  text = source.data;
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 2);
  test_sink_t *dl = test_ctx(run, "p", PL_ROLE_DEAD_LETTER);
  ck_assert_uint_eq(json_array_size(dl->records), 1);
  json_t *letter = json_array_get(dl->records, 0);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "reason")),
                   "has field 'bad'");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "origin")),
                   "test:script");
  ck_assert_int_eq(json_integer_value(json_object_get(letter, "line")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "stage")),
                   "sink-capture");
  ck_assert(json_is_true(
      json_object_get(json_object_get(letter, "record"), "bad")));
  ck_assert_uint_eq(source_of(run)->committed, 1);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

/* The --once summary line counts what the dead letter could not write:
 * those records are written nowhere, and their group fails. */
START_TEST(the_summary_says_what_the_dead_letter_failed) {
  const char *text =
      "pipeline \"p\" {\n"
      "  source \"script\" { records = [\"{\\\"n\\\":1}\", "
      "\"{\\\"bad\\\":true}\"]\n group_size = 2 }\n"
      "  sink \"capture\" { reject_field = \"bad\" }\n"
      "  dead_letter \"capture\" { fail_always = true\n retry_limit = 1\n"
      " retry_backoff = \"1ms\" }\n"
      "}\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  pl_buf_t line = {0};
  pl__metrics_summary(run->engine->pipelines[0], 1500, &line);
  ck_assert_str_eq(line.data,
                   "pipeline \"p\": 0 group(s) committed, 1 failed; 1 "
                   "record(s) delivered, 1 rejected, 0 retried, 0 failed; "
                   "dead letter: 0 record(s) written, 1 retried, 1 failed; "
                   "about 7 byte(s) delivered; 1.50 s");
  pl_buf_free(&line);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* Rejections are records too: with nothing but bad records and a slow
 * dead letter, the dead letter's queue stays within its queue_size (plus
 * the one batch a sink may reject at once) and the source is paused, not
 * allowed to fill it without bound. */
START_TEST(a_full_dead_letter_pauses_the_stages_before_it) {
  pl_buf_t records = {0};
  pl_buf_append_str(&records, "[");
  for (int i = 0; i < 400; i++)
    pl_buf_printf(&records, "%s\"{\\\"bad\\\":%d}\"", i ? ", " : "", i);
  pl_buf_append_str(&records, "]");
  pl_buf_t text = {0};
  pl_buf_printf(&text,
                "pipeline \"p\" {\n"
                "  source \"script\" { records = %s\n group_size = 400 }\n"
                "  sink \"capture\" { reject_field = \"bad\"\n"
                "    batch_size = 4 }\n"
                "  dead_letter \"capture\" { async = true\n queue_size = 8\n"
                "    batch_size = 1 }\n"
                "}\n",
                records.data);
  test_run_t *run = test_run(text.data, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  test_sink_t *dl = test_ctx(run, "p", PL_ROLE_DEAD_LETTER);
  ck_assert_uint_eq(json_array_size(dl->records), 400);
  ck_assert_msg(dl->max_queue <= 8 + 4, "dead letter queue reached %zu",
                dl->max_queue);
  ck_assert_uint_ge(source_of(run)->resumed, 1);
  ck_assert_uint_eq(source_of(run)->committed, 1);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
  pl_buf_free(&records);
}
END_TEST

START_TEST(a_failing_dead_letter_leaves_the_group_uncommitted) {
  const char *text =
      "pipeline \"p\" {\n"
      "  source \"script\" { records = [\"{\\\"n\\\":1}\", "
      "\"{\\\"bad\\\":true}\"]\n group_size = 2 }\n"
      "  sink \"capture\" { reject_field = \"bad\" }\n"
      "  dead_letter \"capture\" { fail_always = true\n retry_limit = 1\n"
      "    retry_backoff = 1ms }\n"
      "}\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_int_eq(run->status, 1);
  ck_assert_uint_eq(source_of(run)->committed, 0);
  ck_assert_uint_eq(source_of(run)->failed, 1);
  /* The rejection is reported without claiming the letter was written. */
  ck_assert_ptr_nonnull(strstr(test_log(run), "1 record(s) rejected in"));
  ck_assert_ptr_nonnull(
      strstr(test_log(run), "the group failed, so it is not committed"));
  ck_assert_ptr_null(strstr(test_log(run), "went to the dead letter"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(a_rejection_without_dead_letter_fails_the_group) {
  const char *text =
      "pipeline \"p\" {\n"
      "  source \"script\" { records = [\"{\\\"bad\\\":1}\"] }\n"
      "  sink \"capture\" { reject_field = \"bad\" }\n"
      "}\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_int_eq(run->status, 1);
  ck_assert_uint_eq(source_of(run)->failed, 1);
  ck_assert_ptr_nonnull(strstr(test_log(run), "no dead_letter is configured"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

static size_t count_in(const char *text, const char *what) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
    n++;
  return n;
}

START_TEST(failing_batches_are_logged_per_batch_and_limited) {
  /* Ten batches of one record each fail at once (no retries): the first
   * failure is logged, later ones within a second only counted. */
  char *text = config("group_size = 1", "fail_always = true\n batch_size = 1\n"
                                        " retry_limit = 0", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_int_eq(run->status, 1);
  ck_assert_uint_eq(source_of(run)->failed, 10);
  pl_instance_t *sink = test_stage(run, "p", PL_ROLE_SINK);
  ck_assert_uint_eq(sink->metrics.failed, 10);
  const char *log = test_log(run);
  /* A loaded machine may take more than a second: then a second line. */
  size_t lines = count_in(log, "failed after 1 attempt(s)");
  ck_assert_msg(lines >= 1 && lines <= 2, "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "1 record(s) failed after 1 attempt(s): "));
  ck_assert_ptr_nonnull(strstr(log, "(first: test:script:1)"));
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(a_full_queue_pauses_the_source) {
  /* 10 records repeated forever would never end: use group_size and a
   * tiny queue with a slow (async) sink over the ten records. */
  char *text = config("", "queue_size = 2\n batch_size = 1\n async = true", NULL);
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), 10);
  ck_assert_uint_le(source_of(run)->max_queue, 2);
  ck_assert_uint_ge(source_of(run)->resumed, 1);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

static void on_shutdown_timer(uv_timer_t *timer) {
  pl__engine_shutdown(timer->data);
  uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(shutdown_drains_in_flight_records_and_stops) {
  char *text = config("forever = true\n group_size = 7", "async = true", NULL);
  test_run_t *run = test_run_start(text, NULL, false);
  ck_assert_int_eq(run->create_rc, 0);
  uv_timer_t timer;
  uv_timer_init(&run->loop, &timer);
  timer.data = run->engine;
  uv_timer_start(&timer, on_shutdown_timer, 30, 0);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  test_source_t *src = source_of(run);
  /* Every record emitted was delivered; the open group was abandoned. */
  ck_assert_uint_eq(json_array_size(sink_of(run)->records), src->emitted);
  ck_assert_uint_ge(src->committed, 1);
  ck_assert_uint_le(src->failed, 1);
  ck_assert_uint_eq(src->committed * 7 + (src->failed ? src->emitted % 7 : 0),
                    src->emitted);
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

/* A sink stuck for good: shutdown_timeout gives up on the groups in flight,
 * and destroying the engine afterwards frees them, their records and their
 * batches (the sanitizer build checks that nothing leaks). */
static void timed_out_shutdown(const char *sink_extra, const char *expect) {
  char *text = config("forever = true\n group_size = 3", sink_extra, NULL);
  pl_buf_t daemon = {0};
  pl_buf_printf(&daemon, "shutdown_timeout = \"50ms\"\n%s", text);
  test_run_t *run = test_run_start(daemon.data, NULL, false);
  ck_assert_int_eq(run->create_rc, 0);
  uv_timer_t timer;
  uv_timer_init(&run->loop, &timer);
  timer.data = run->engine;
  uv_timer_start(&timer, on_shutdown_timer, 30, 0);
  test_run_loop(run);
  ck_assert(pl__engine_timed_out(run->engine));
  ck_assert_int_eq(run->status, 1);
  ck_assert_msg(strstr(test_log(run), "shutdown timed out"), "%s",
                test_log(run));
  ck_assert_msg(strstr(test_log(run), expect), "%s", test_log(run));
  test_source_t *src = source_of(run);
  ck_assert_uint_gt(src->emitted, 0);
  ck_assert_uint_eq(src->committed, 0);
  ck_assert_uint_gt(run->engine->pipelines[0]->open_groups, 0);
  /* The loop was stopped: let the handles close_all() closed finish. */
  uv_run(&run->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&daemon);
  free(text);
}

START_TEST(a_timed_out_shutdown_frees_the_groups_it_gave_up) {
  timed_out_shutdown("hold = true", "group(s) in flight");
  /* The stuck batch is a retry: its retry timer is open too. */
  timed_out_shutdown("fail_first = 1\n retry_backoff = 1ms\n hold = true",
                     "retry 1 of 5");
}
END_TEST

/* Daemon mode: the loop is still running some time after every source was
 * exhausted; then shuts down. */
typedef struct idle_check {
  test_run_t *run;
  bool exhausted_then_running;
} idle_check_t;

static void on_idle_check(uv_timer_t *timer) {
  idle_check_t *c = timer->data;
  c->exhausted_then_running =
      test_stage(c->run, "p", PL_ROLE_SOURCE)->exhausted &&
      json_array_size(sink_of(c->run)->records) == 10;
  pl__engine_shutdown(c->run->engine);
  uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(a_daemon_runs_until_shutdown_after_its_sources_are_exhausted) {
  char *text = config("group_size = 3", "", NULL);
  test_run_t *run = test_run_start(text, NULL, false);
  ck_assert_int_eq(run->create_rc, 0);
  idle_check_t check = {.run = run};
  uv_timer_t timer;
  uv_timer_init(&run->loop, &timer);
  timer.data = &check;
  /* Unreferenced: only the engine may keep the loop running. */
  uv_unref((uv_handle_t *)&timer);
  uv_timer_start(&timer, on_idle_check, 100, 0);
  test_run_loop(run);
  ck_assert_msg(check.exhausted_then_running,
                "the loop ended before shutdown: %s", test_log(run));
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(source_of(run)->committed, 4);
  ck_assert_ptr_nonnull(
      strstr(test_log(run), "every source is exhausted; idle until SIGTERM"));
  /* Said once, however often the pump went idle. */
  const char *first = strstr(test_log(run), "every source is exhausted");
  ck_assert_ptr_null(strstr(first + 1, "every source is exhausted"));
  ck_assert_int_eq(test_run_free(run), 0);
  free(text);
}
END_TEST

START_TEST(config_errors_name_the_place_and_start_nothing) {
  const char *text = "pipeline \"p\" {\n"
                     "  source \"script\" { recrods = [] }\n"
                     "  sink \"capture\" { batch_size = \"many\" }\n"
                     "  sink \"nope\" { }\n"
                     "  transform \"missing\" { }\n"
                     "}\n"
                     "pipelin \"q\" { }\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_lt(run->create_rc, 0);
  const char *e = run->errors.data;
  ck_assert_ptr_nonnull(strstr(
      e, "test.conf:2:21: pipeline \"p\": source \"script\": unknown option "
         "'recrods' (did you mean 'records'?)"));
  ck_assert_ptr_nonnull(strstr(e, "option 'batch_size' expects an integer"));
  ck_assert_ptr_nonnull(strstr(e, "only one sink is allowed, found 2"));
  ck_assert_ptr_nonnull(strstr(e, "no plugin transform-missing"));
  ck_assert_ptr_nonnull(
      strstr(e, "test.conf:7:1: top level: unknown block 'pipelin' (did you "
                "mean 'pipeline'?)"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(stage_limits_are_checked) {
  const char *text = "pipeline \"p\" {\n"
                     "  source \"script\" { records = [] }\n"
                     "  sink \"capture\" { max_in_flight = 0 }\n"
                     "}\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_msg(strstr(run->errors.data,
                       "test.conf:3:36: pipeline \"p\": sink \"capture\": "
                       "option 'max_in_flight' expects an integer of at least "
                       "1, found 0\n"),
                "%s", run->errors.data);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(a_config_without_pipelines_is_an_error) {
  test_run_t *run = test_run("log_level = \"debug\"\n", NULL, true);
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_ptr_nonnull(strstr(run->errors.data, "no pipeline defined"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(two_pipelines_share_one_loop) {
  const char *text =
      "pipeline \"a\" { source \"script\" { records = [\"1\", \"2\"] }\n"
      "  sink \"capture\" { } }\n"
      "pipeline \"b\" { source \"script\" { records = [\"3\"] }\n"
      "  sink \"capture\" { } }\n";
  test_run_t *run = test_run(text, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  test_sink_t *a = test_ctx(run, "a", PL_ROLE_SINK);
  test_sink_t *b = test_ctx(run, "b", PL_ROLE_SINK);
  ck_assert_uint_eq(json_array_size(a->records), 2);
  ck_assert_uint_eq(json_array_size(b->records), 1);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* A sink that breaks at its first write (pl_sink_broken()) and counts the
 * writes it still gets. */
static int breaking_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = calloc(1, sizeof(size_t));
  return *ctx ? 0 : PL_ENOMEM;
}

static void breaking_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  size_t *writes = ctx;
  if ((*writes)++ == 0)
    pl_sink_broken(inst, "the disk is gone");
  pl_batch_done(batch, PL_RESULT_FAILED, "the disk is gone");
}

static const pl_plugin_t breaking_sink = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "breaking",
    .kind = PL_KIND_SINK,
    .description = "breaks at its first write",
    .init = breaking_init,
    .write = breaking_write,
    .destroy = free,
};

/* Nothing is written once a sink says it is broken, as plugin.h promises:
 * not the rest of the queue in the same pass of the pump (16 more writes
 * before), not a retry. The records fail, the run fails. */
START_TEST(a_broken_sink_gets_no_more_writes) {
  static const pl_plugin_t *const extra[] = {&breaking_sink, NULL};
  test_run_t *run = test_run("pipeline \"p\" {\n"
                             "  source \"script\" { records = [\"1\", "
                             "\"2\", \"3\", \"4\"]\n repeat = 50 }\n"
                             "  sink \"breaking\" { batch_size = 1\n"
                             " max_in_flight = 1 }\n}\n",
                             extra, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  size_t *writes = test_ctx(run, "p", PL_ROLE_SINK);
  ck_assert_uint_eq(*writes, 1);
  ck_assert_int_ne(run->status, 0);
  ck_assert_ptr_nonnull(strstr(test_log(run), "the disk is gone"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

static Suite *engine_suite(void) {
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("acks");
  tcase_add_test(tc, delivers_every_record_and_commits_every_group);
  tcase_add_test(tc, a_deprecated_option_works_with_a_warning);
  tcase_add_test(tc, batches_are_bounded_by_batch_size);
  tcase_add_test(tc, batches_are_bounded_by_batch_bytes);
  tcase_add_test(tc, linger_waits_to_fill_a_batch);
  tcase_add_test(tc, failed_writes_are_retried_then_delivered);
  tcase_add_test(tc, exhausted_retries_fail_the_group_and_the_run);
  tcase_add_test(tc, rejected_records_go_to_the_dead_letter_and_commit);
  tcase_add_test(tc, the_summary_says_what_the_dead_letter_failed);
  tcase_add_test(tc, a_full_dead_letter_pauses_the_stages_before_it);
  tcase_add_test(tc, a_failing_dead_letter_leaves_the_group_uncommitted);
  tcase_add_test(tc, a_rejection_without_dead_letter_fails_the_group);
  tcase_add_test(tc, failing_batches_are_logged_per_batch_and_limited);
  tcase_add_test(tc, a_full_queue_pauses_the_source);
  tcase_add_test(tc, shutdown_drains_in_flight_records_and_stops);
  tcase_add_test(tc,
                 a_daemon_runs_until_shutdown_after_its_sources_are_exhausted);
  tcase_add_test(tc, a_timed_out_shutdown_frees_the_groups_it_gave_up);
  tcase_add_test(tc, two_pipelines_share_one_loop);
  tcase_add_test(tc, a_broken_sink_gets_no_more_writes);
  suite_add_tcase(s, tc);
  TCase *config = tcase_create("config");
  tcase_add_test(config, config_errors_name_the_place_and_start_nothing);
  tcase_add_test(config, a_config_without_pipelines_is_an_error);
  tcase_add_test(config, stage_limits_are_checked);
  suite_add_tcase(s, config);
  return s;
}

int main(void) {
  return test_suite_run(engine_suite());
}
