/* pipelined --check --live: each stage's live checks (its preflight
 * callback), collected per stage and printed in pipeline order once all
 * are done, so that checks running at once on the loop do not interleave
 * their lines. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "extension.h"
#include "pipeline.h"
#include "preflight.h"
#include "stage.h"


struct pl_preflight {
  pl_preflight_run_t *run;
  pl_instance_t *inst;
  pl_buf_t lines; /* "<level> <stage>: <text>\n" each */
  bool has_check; /* the plugin has a preflight callback */
  bool done;
};

struct pl_preflight_run {
  pl_engine_t *engine;
  pl_preflight_t *stages; /* every stage of every pipeline, in order */
  size_t count;
  size_t pending; /* callbacks that returned 0 and are not done */
  bool started;   /* every callback was called */
  bool closed;    /* the extensions were closed */
  /* Closes them from the loop, not from inside the callback of the last
   * check's request (which is still running when it says done). */
  uv_timer_t *later; /* owned; freed by its close callback */
  bool strict;
  pl_buf_t shared;
  char **claims;
  size_t claim_count;
  size_t totals[3]; /* by pl_check_t */
};

const char *pl_check_name(pl_check_t level) {
  static const char *const names[] = {
#define PL__CHECK_NAME(name, text) text,
      PL_CHECK_MAP(PL__CHECK_NAME)
#undef PL__CHECK_NAME
  };
  return (unsigned)level < sizeof names / sizeof names[0] ? names[level]
                                                          : "FAIL";
}

pl_preflight_cb pl__preflight_callback(const pl_plugin_t *plugin) {
  size_t end = offsetof(pl_plugin_t, preflight) + sizeof(plugin->preflight);
  return plugin->struct_size >= end ? plugin->preflight : NULL;
}

/* "ok   " or "warn " or "FAIL ": the level, padded to one width. */
static void append_line(pl_preflight_run_t *run, pl_buf_t *to, pl_check_t level,
                        const char *scope, const char *fmt, va_list ap) {
  if ((unsigned)level > PL_CHECK_INFO)
    level = PL_CHECK_FAIL;
  /* Information (where a setting came from) is no finding: not counted. */
  if (level != PL_CHECK_INFO)
    run->totals[level]++;
  pl_buf_printf(to, "%-4s %s: ", pl_check_name(level), scope);
  pl_buf_vprintf(to, fmt, ap);
  pl_buf_append_str(to, "\n");
}

static void stage_scope(const pl_instance_t *inst, pl_buf_t *out) {
  pl_buf_printf(out, "pipeline %s: %s %s", inst->pipeline->name,
                pl__role_name(inst->role), inst->plugin->name);
}

void pl_preflight_report(pl_preflight_t *check, pl_check_t level,
                         const char *fmt, ...) {
  if (check->done)
    return;
  pl_buf_t scope = {0};
  stage_scope(check->inst, &scope);
  va_list ap;
  va_start(ap, fmt);
  append_line(check->run, &check->lines, level,
              scope.data ? scope.data : "?", fmt, ap);
  va_end(ap);
  pl_buf_free(&scope);
}

void pl_preflight_report_shared(pl_preflight_t *check, const char *scope,
                                pl_check_t level, const char *fmt, ...) {
  if (check->done)
    return;
  va_list ap;
  va_start(ap, fmt);
  append_line(check->run, &check->run->shared, level, scope, fmt, ap);
  va_end(ap);
}

bool pl_preflight_claim(pl_preflight_t *check, const char *key) {
  pl_preflight_run_t *run = check->run;
  for (size_t i = 0; i < run->claim_count; i++)
    if (strcmp(run->claims[i], key) == 0)
      return false;
  char **grown =
      realloc(run->claims, (run->claim_count + 1) * sizeof(*run->claims));
  if (!grown)
    return false;
  run->claims = grown;
  char *copy = strdup(key);
  if (!copy)
    return false;
  run->claims[run->claim_count++] = copy;
  return true;
}

pl_instance_t *pl_preflight_instance(const pl_preflight_t *check) {
  return check->inst;
}

/* Every check is over: what the stages shared (AWS clients' connection
 * pool and credentials) closes, and the loop ends once it has. */
static void close_shared(pl_preflight_run_t *run) {
  if (run->closed)
    return;
  run->closed = true;
  pl__extensions_close(run->engine);
}

static void free_handle(uv_handle_t *handle) { free(handle); }

static void close_later(pl_preflight_run_t *run) {
  if (!run->later)
    return;
  uv_close((uv_handle_t *)run->later, free_handle);
  run->later = NULL;
}

static void on_later(uv_timer_t *timer) {
  pl_preflight_run_t *run = timer->data;
  close_later(run);
  close_shared(run);
}

/* Closes the shared state once the loop is back from the callbacks. */
static void close_shared_later(pl_preflight_run_t *run) {
  if (run->closed || run->later)
    return;
  uv_timer_t *timer = malloc(sizeof(*timer));
  if (!timer || uv_timer_init(run->engine->loop, timer) < 0) {
    free(timer);
    close_shared(run); /* pl__preflight_finish() would, anyway */
    return;
  }
  timer->data = run;
  run->later = timer;
  uv_timer_start(timer, on_later, 0, 0);
}

void pl_preflight_done(pl_preflight_t *check) {
  if (check->done)
    return;
  check->done = true;
  pl_preflight_run_t *run = check->run;
  if (run->pending > 0)
    run->pending--;
  if (run->started && run->pending == 0)
    close_shared_later(run);
}

static size_t count_stages(const pl_engine_t *engine) {
  size_t n = 0;
  for (size_t p = 0; p < engine->pipeline_count; p++)
    n += engine->pipelines[p]->stage_count;
  return n;
}

/* Calls each stage's preflight callback. */
static void start_checks(pl_preflight_run_t *run) {
  pl_engine_t *engine = run->engine;
  size_t at = 0;
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t i = 0; i < pipeline->stage_count; i++) {
      pl_preflight_t *check = &run->stages[at++];
      check->run = run;
      check->inst = pipeline->stages[i];
      pl_preflight_cb cb = pl__preflight_callback(check->inst->plugin);
      check->has_check = cb != NULL;
      if (!cb) {
        check->done = true;
        continue;
      }
      run->pending++;
      int rc = cb(check->inst, check->inst->ctx, check);
      if (rc < 0 && !check->done) {
        pl_preflight_report(check, PL_CHECK_FAIL, "cannot check: %s",
                            pl_strerror(rc));
        pl_preflight_done(check);
      }
    }
  }
  run->started = true;
}

static void print_report(pl_preflight_run_t *run, FILE *out) {
  if (run->shared.data)
    fputs(run->shared.data, out);
  for (size_t i = 0; i < run->count; i++) {
    pl_preflight_t *check = &run->stages[i];
    if (!check->has_check) {
      pl_buf_t scope = {0};
      stage_scope(check->inst, &scope);
      fprintf(out, "-    %s: nothing to check live\n",
              scope.data ? scope.data : "?");
      pl_buf_free(&scope);
    } else if (check->lines.data) {
      fputs(check->lines.data, out);
    }
  }
  fprintf(out, "preflight: %zu ok, %zu warning(s), %zu failed\n",
          run->totals[PL_CHECK_OK], run->totals[PL_CHECK_WARN],
          run->totals[PL_CHECK_FAIL]);
  fflush(out);
}

int pl__preflight_start(pl_engine_t *engine, bool strict,
                        pl_preflight_run_t **out) {
  pl_preflight_run_t *run = calloc(1, sizeof(*run));
  if (!run)
    return PL_ENOMEM;
  run->engine = engine;
  run->strict = strict;
  run->count = count_stages(engine);
  run->stages = calloc(run->count ? run->count : 1, sizeof(*run->stages));
  if (!run->stages) {
    free(run);
    return PL_ENOMEM;
  }
  start_checks(run);
  if (run->pending == 0)
    close_shared_later(run);
  *out = run;
  return 0;
}

bool pl__preflight_over(const pl_preflight_run_t *run) {
  return run->pending == 0 && run->closed;
}

int pl__preflight_finish(pl_preflight_run_t *run, FILE *out) {
  /* A check that did not say it was done, though nothing was left to wait
   * for on the loop, is a plugin bug: it fails, and is not waited for. */
  for (size_t i = 0; i < run->count; i++) {
    pl_preflight_t *check = &run->stages[i];
    if (!check->done) {
      pl_preflight_report(check, PL_CHECK_FAIL,
                          "the check never finished (a plugin bug)");
      check->done = true;
    }
  }
  close_later(run);
  close_shared(run);
  print_report(run, out);
  int status = run->totals[PL_CHECK_FAIL] > 0 ||
                       (run->strict && run->totals[PL_CHECK_WARN] > 0)
                   ? 1
                   : 0;
  for (size_t i = 0; i < run->count; i++)
    pl_buf_free(&run->stages[i].lines);
  free(run->stages);
  pl_buf_free(&run->shared);
  for (size_t i = 0; i < run->claim_count; i++)
    free(run->claims[i]);
  free(run->claims);
  free(run);
  return status;
}

int pl__preflight_run(pl_engine_t *engine, FILE *out, bool strict) {
  pl_preflight_run_t *run = NULL;
  if (pl__preflight_start(engine, strict, &run) < 0) {
    fprintf(out, "FAIL preflight: %s\n", pl_strerror(PL_ENOMEM));
    return 1;
  }
  uv_run(engine->loop, UV_RUN_DEFAULT);
  int status = pl__preflight_finish(run, out);
  /* What closing the shared state left to close. */
  uv_run(engine->loop, UV_RUN_DEFAULT);
  return status;
}
