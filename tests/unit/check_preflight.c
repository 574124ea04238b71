/* Check suite for src/preflight.c (<pipelined/preflight.h>): the engine's
 * side of --check --live with test sinks whose preflight callbacks report
 * at once, later on the loop, refuse, forget to finish, or predate the
 * field: lines in pipeline order whatever order the checks end in, shared
 * lines first, the summary, and the exit status with and without
 * --strict. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preflight.h"
#include "test_stages.h"
#include "test_suite.h"

/* ---- Test sinks ---- */

static int t_init(pl_instance_t *inst, const void *options, void **ctx) {
  (void)inst;
  (void)options;
  *ctx = NULL;
  return 0;
}
static void t_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}
static void t_destroy(void *ctx) { free(ctx); }

static int now_preflight(pl_instance_t *inst, void *ctx,
                         pl_preflight_t *check) {
  ck_assert_ptr_eq(pl_preflight_instance(check), inst);
  pl_preflight_report(check, PL_CHECK_OK, "table %s", "t");
  pl_preflight_report(check, PL_CHECK_WARN, "risky %d", 1);
  pl_preflight_done(check);
  /* Later reports and a second done are ignored. */
  pl_preflight_report(check, PL_CHECK_FAIL, "after done");
  pl_preflight_done(check);
  return 0;
}

typedef struct later {
  uv_timer_t timer;
  pl_preflight_t *check;
} later_t;

static void later_closed(uv_handle_t *handle) { free(handle->data); }

static void on_later(uv_timer_t *timer) {
  later_t *l = timer->data;
  pl_preflight_report(l->check, PL_CHECK_FAIL, "queue q: gone");
  pl_preflight_done(l->check);
  timer->data = l;
  uv_close((uv_handle_t *)timer, later_closed);
}

static int later_preflight(pl_instance_t *inst, void *ctx,
                           pl_preflight_t *check) {
  later_t *l = calloc(1, sizeof(*l));
  ck_assert_ptr_nonnull(l);
  l->check = check;
  uv_timer_init(pl_instance_loop(inst), &l->timer);
  l->timer.data = l;
  uv_timer_start(&l->timer, on_later, 20, 0);
  return 0;
}

static int refuses_preflight(pl_instance_t *inst, void *ctx,
                             pl_preflight_t *check) {
  return PL_EIO;
}

static int forgets_preflight(pl_instance_t *inst, void *ctx,
                             pl_preflight_t *check) {
  pl_preflight_report(check, PL_CHECK_OK, "started");
  return 0;
}

static int claims_preflight(pl_instance_t *inst, void *ctx,
                            pl_preflight_t *check) {
  bool first = pl_preflight_claim(check, "identity");
  pl_preflight_report(check, PL_CHECK_OK, "first: %s", first ? "yes" : "no");
  if (first)
    pl_preflight_report_shared(check, "shared", PL_CHECK_OK, "said once");
  pl_preflight_done(check);
  return 0;
}

/* Information only: printed, never counted, never failing. */
static int informs_preflight(pl_instance_t *inst, void *ctx,
                             pl_preflight_t *check) {
  pl_preflight_report(check, PL_CHECK_INFO, "region r (from X)");
  pl_preflight_report_shared(check, "shared", PL_CHECK_INFO, "fact");
  pl_preflight_done(check);
  return 0;
}

static int never_called(pl_instance_t *inst, void *ctx,
                        pl_preflight_t *check) {
  ck_abort_msg("the preflight of a descriptor that predates it was called");
  return 0;
}

#define SINK(id, cb)                                                           \
  static const pl_plugin_t id = {                                              \
      .abi_version = PL_ABI_VERSION,                                           \
      .struct_size = sizeof(pl_plugin_t),                                      \
      .name = #id,                                                             \
      .kind = PL_KIND_SINK,                                                    \
      .description = "A preflight test sink.",                                 \
      .init = t_init,                                                          \
      .write = t_write,                                                        \
      .destroy = t_destroy,                                                    \
      .preflight = cb,                                                         \
  }

SINK(now, now_preflight);
SINK(later, later_preflight);
SINK(refuses, refuses_preflight);
SINK(forgets, forgets_preflight);
SINK(claims, claims_preflight);
SINK(informs, informs_preflight);

/* Built against the headers of ABI 2 before preflight was appended: its
 * size ends at extensions, and what lies beyond is not its own. */
static const pl_plugin_t old = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = offsetof(pl_plugin_t, extensions) +
                   sizeof(((pl_plugin_t *)0)->extensions),
    .name = "old",
    .kind = PL_KIND_SINK,
    .description = "A sink from before the preflight field.",
    .init = t_init,
    .write = t_write,
    .destroy = t_destroy,
    .preflight = never_called,
};

static const pl_plugin_t *const plugins[] = {
    &now, &later, &refuses, &forgets, &claims, &informs, &old, NULL};

/* ---- Helpers ---- */

typedef struct report {
  char *text;
  int status;
} report_t;

/* Runs --check --live on the pipelines named p1.. with the sinks
 * `sinks` (NULL-terminated), as the daemon does (pl__preflight_run). */
static report_t run(const char *const *sinks, bool strict) {
  pl_buf_t config = {0};
  for (size_t i = 0; sinks[i]; i++)
    pl_buf_printf(&config,
                  "pipeline \"p%zu\" {\n  source \"script\" { records = [] "
                  "}\n  sink \"%s\" { }\n}\n",
                  i + 1, sinks[i]);
  test_run_t *r = test_run_create(plugins);
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__cfg_parse("test.conf", config.data, config.len, NULL,
                                 &root, &error),
                   0);
  pl_engine_params_t params = {
      .loop = &r->loop, .registry = r->registry, .log_stream = r->log};
  int rc = pl__engine_create(&params, root, &r->engine, &r->errors);
  pl__cfg_destroy(root);
  ck_assert_msg(rc == 0, "%s", r->errors.data ? r->errors.data : "");
  report_t out = {0};
  size_t len = 0;
  FILE *stream = open_memstream(&out.text, &len);
  out.status = pl__preflight_run(r->engine, stream, strict);
  fclose(stream);
  /* Every handle was closed: uv_loop_close() succeeds. */
  ck_assert_int_eq(test_run_free(r), 0);
  pl_buf_free(&config);
  return out;
}

static void assert_has(const report_t *r, const char *text) {
  ck_assert_msg(strstr(r->text, text), "no \"%s\" in:\n%s", text, r->text);
}

/* ---- Tests ---- */

START_TEST(check_names) {
  ck_assert_str_eq(pl_check_name(PL_CHECK_OK), "ok");
  ck_assert_str_eq(pl_check_name(PL_CHECK_WARN), "warn");
  ck_assert_str_eq(pl_check_name(PL_CHECK_FAIL), "FAIL");
  ck_assert_str_eq(pl_check_name(PL_CHECK_INFO), "info");
}
END_TEST

START_TEST(information_is_not_counted) {
  report_t r = run((const char *const[]){"informs", NULL}, true);
  ck_assert_str_eq(r.text,
                   "info shared: fact\n"
                   "-    pipeline p1: source script: nothing to check live\n"
                   "info pipeline p1: sink informs: region r (from X)\n"
                   "preflight: 0 ok, 0 warning(s), 0 failed\n");
  ck_assert_int_eq(r.status, 0); /* even under --strict */
  free(r.text);
}
END_TEST

START_TEST(lines_come_in_pipeline_order) {
  /* p1's check ends last, on a timer; its lines still come first. */
  report_t r = run((const char *const[]){"later", "now", NULL}, false);
  ck_assert_str_eq(r.text,
                   "-    pipeline p1: source script: nothing to check live\n"
                   "FAIL pipeline p1: sink later: queue q: gone\n"
                   "-    pipeline p2: source script: nothing to check live\n"
                   "ok   pipeline p2: sink now: table t\n"
                   "warn pipeline p2: sink now: risky 1\n"
                   "preflight: 1 ok, 1 warning(s), 1 failed\n");
  ck_assert_int_eq(r.status, 1);
  free(r.text);
}
END_TEST

START_TEST(warnings_fail_only_under_strict) {
  report_t r = run((const char *const[]){"now", NULL}, false);
  assert_has(&r, "preflight: 1 ok, 1 warning(s), 0 failed\n");
  ck_assert_int_eq(r.status, 0);
  free(r.text);
  r = run((const char *const[]){"now", NULL}, true);
  ck_assert_int_eq(r.status, 1);
  free(r.text);
}
END_TEST

START_TEST(a_refused_check_fails) {
  report_t r = run((const char *const[]){"refuses", NULL}, false);
  pl_buf_t want = {0};
  pl_buf_printf(&want, "FAIL pipeline p1: sink refuses: cannot check: %s\n",
                pl_strerror(PL_EIO));
  assert_has(&r, want.data);
  ck_assert_int_eq(r.status, 1);
  pl_buf_free(&want);
  free(r.text);
}
END_TEST

START_TEST(a_check_that_never_ends_fails) {
  report_t r = run((const char *const[]){"forgets", "now", NULL}, false);
  assert_has(&r, "ok   pipeline p1: sink forgets: started\n"
                 "FAIL pipeline p1: sink forgets: the check never finished "
                 "(a plugin bug)\n");
  assert_has(&r, "ok   pipeline p2: sink now: table t\n");
  ck_assert_int_eq(r.status, 1);
  free(r.text);
}
END_TEST

START_TEST(shared_lines_come_first_and_claims_are_once) {
  report_t r = run((const char *const[]){"claims", "claims", NULL}, false);
  ck_assert_str_eq(r.text,
                   "ok   shared: said once\n"
                   "-    pipeline p1: source script: nothing to check live\n"
                   "ok   pipeline p1: sink claims: first: yes\n"
                   "-    pipeline p2: source script: nothing to check live\n"
                   "ok   pipeline p2: sink claims: first: no\n"
                   "preflight: 3 ok, 0 warning(s), 0 failed\n");
  ck_assert_int_eq(r.status, 0);
  free(r.text);
}
END_TEST

START_TEST(an_older_descriptor_has_no_preflight) {
  ck_assert_ptr_null(pl__preflight_callback(&old));
  ck_assert_ptr_eq(pl__preflight_callback(&now), now_preflight);
  report_t r = run((const char *const[]){"old", NULL}, true);
  assert_has(&r, "-    pipeline p1: sink old: nothing to check live\n");
  assert_has(&r, "preflight: 0 ok, 0 warning(s), 0 failed\n");
  ck_assert_int_eq(r.status, 0);
  free(r.text);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("preflight");
  TCase *tc = tcase_create("run");
  tcase_add_test(tc, check_names);
  tcase_add_test(tc, information_is_not_counted);
  tcase_add_test(tc, lines_come_in_pipeline_order);
  tcase_add_test(tc, warnings_fail_only_under_strict);
  tcase_add_test(tc, a_refused_check_fails);
  tcase_add_test(tc, a_check_that_never_ends_fails);
  tcase_add_test(tc, shared_lines_come_first_and_claims_are_once);
  tcase_add_test(tc, an_older_descriptor_has_no_preflight);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(suite());
}
