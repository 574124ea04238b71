/* Test plugins and the in-process harness. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_stages.h"

/* ---- source-script ---- */

typedef struct script_options {
  pl_list_t records;
  int64_t group_size;
  bool forever;
  char *text;
  int64_t chunk_size;
  int64_t batch;
  int64_t repeat;
} script_options_t;

typedef struct script {
  test_source_t pub;
  const script_options_t *opts;
  pl_instance_t *inst;
  size_t next;
  int64_t passes; /* over the records, done */
  pl_group_t *group;
  size_t in_group;
  uv_idle_t idle; /* emits a few records per loop iteration */
  bool running;
  bool stopped;
} script_t;

static const pl_option_t script_options[] = {
    PL_OPTION_LIST(script_options_t, records, "records", NULL, 0,
                   "Records to emit, as JSON texts."),
    PL_OPTION_INT(script_options_t, group_size, "group_size", "1", 0,
                  "Records per ack group."),
    PL_OPTION_BOOL(script_options_t, forever, "forever", "false", 0,
                   "Keep emitting the records again and never exhaust."),
    PL_OPTION_STRING(script_options_t, text, "text", NULL, 0,
                     "Instead of records: emit this text as byte chunks of "
                     "one group, the last one marked last."),
    PL_OPTION_INT(script_options_t, chunk_size, "chunk_size", "4", 0,
                  "Bytes per chunk of `text`."),
    PL_OPTION_INT(script_options_t, batch, "batch", "0", PL_OPT_DEPRECATED,
                  "Ignored; use group_size."),
    PL_OPTION_INT(script_options_t, repeat, "repeat", "1", 0,
                  "Emit the records this many times over, then exhaust."),
};

/* Emits text[0, end) as chunks of `group`, the last one marked last when
 * `end` is the end of the text. */
static void script_emit_chunks(script_t *s, pl_group_t *group, size_t end) {
  const char *text = s->opts->text;
  size_t len = strlen(text), step = (size_t)s->opts->chunk_size;
  size_t at = 0;
  do {
    size_t n = end - at < step ? end - at : step;
    pl_record_t *rec = pl_record_create(group);
    pl_record_set_bytes(rec, text + at, n);
    pl_record_set_origin(rec, "test:text");
    at += n;
    pl_record_set_last(rec, at >= len);
    s->pub.emitted++;
    pl_emit(s->inst, rec);
  } while (at < end);
}

/* Emits `text` as chunks of one group, all at once (tests keep it small). */
static void script_emit_text(script_t *s) {
  pl_group_t *group = pl_group_create(s->inst, NULL);
  script_emit_chunks(s, group, strlen(s->opts->text));
  pl_group_seal(group, true);
  pl_source_exhausted(s->inst);
}

static int script_init(pl_instance_t *inst, const void *options, void **ctx) {
  script_t *s = calloc(1, sizeof(*s));
  s->opts = options;
  s->inst = inst;
  *ctx = s;
  return 0;
}

static void script_seal(script_t *s, bool complete) {
  if (s->group)
    pl_group_seal(s->group, complete);
  s->group = NULL;
  s->in_group = 0;
}

static void script_emit_some(uv_idle_t *idle) {
  script_t *s = idle->data;
  for (int i = 0; i < 16 && !s->stopped; i++) {
    if (s->next >= s->opts->records.count) {
      if (!s->opts->forever && ++s->passes >= s->opts->repeat) {
        script_seal(s, true);
        uv_idle_stop(idle);
        pl_source_exhausted(s->inst);
        return;
      }
      s->next = 0;
    }
    if (!s->group)
      s->group = pl_group_create(s->inst, NULL);
    pl_record_t *rec = pl_record_create(s->group);
    json_error_t error;
    pl_record_set_value_new(
        rec, json_loads(s->opts->records.items[s->next], JSON_DECODE_ANY, &error));
    pl_record_set_origin(rec, "test:script");
    pl_record_set_line(rec, s->next + 1);
    pl_record_set_size(rec, strlen(s->opts->records.items[s->next]));
    s->next++;
    s->pub.emitted++;
    if (++s->in_group >= (size_t)s->opts->group_size)
      script_seal(s, true);
    bool more = pl_emit(s->inst, rec);
    size_t depth = s->inst->next->queue.count;
    if (depth > s->pub.max_queue)
      s->pub.max_queue = depth;
    if (!more) {
      uv_idle_stop(idle);
      return;
    }
  }
}

static int script_start(pl_instance_t *inst, void *ctx) {
  script_t *s = ctx;
  if (s->opts->text) {
    script_emit_text(s);
    return 0;
  }
  uv_idle_init(pl_instance_loop(inst), &s->idle);
  s->idle.data = s;
  uv_idle_start(&s->idle, script_emit_some);
  return 0;
}

static void script_resume(pl_instance_t *inst, void *ctx) {
  script_t *s = ctx;
  s->pub.resumed++;
  uv_idle_start(&s->idle, script_emit_some);
}

static void script_stop(pl_instance_t *inst, void *ctx) {
  script_t *s = ctx;
  s->stopped = true;
  uv_idle_stop(&s->idle);
  script_seal(s, false);
}

static void script_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                          pl_outcome_t outcome) {
  script_t *s = ctx;
  if (outcome == PL_OUTCOME_COMMITTED)
    s->pub.committed++;
  else
    s->pub.failed++;
}

static void script_close(pl_instance_t *inst, void *ctx) {
  script_t *s = ctx;
  if (s->idle.loop)
    uv_close((uv_handle_t *)&s->idle, NULL);
}

static void script_destroy(void *ctx) {
  script_t *s = ctx;
  if (s->group)
    pl_group_seal(s->group, false);
  free(s);
}

const pl_plugin_t test_source_script = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "script",
    .kind = PL_KIND_SOURCE,
    .description = "Test source: emits a list of JSON records.",
    .options = script_options,
    .options_count = sizeof(script_options) / sizeof(script_options[0]),
    .options_size = sizeof(script_options_t),
    .init = script_init,
    .start = script_start,
    .resume = script_resume,
    .stop = script_stop,
    .commit = script_commit,
    .close = script_close,
    .destroy = script_destroy,
};

/* ---- sink-capture ---- */

typedef struct capture_options {
  int64_t fail_first;
  bool fail_always;
  char *reject_field;
  bool async;
  bool hold;
  bool stall;
} capture_options_t;

typedef struct capture {
  test_sink_t pub;
  const capture_options_t *opts;
  uv_timer_t timer;
  pl_batch_t *pending;
  /* With `stall`: the batches written and not finished yet. */
  pl_batch_t **stalled;
  size_t stalled_count;
  bool released; /* test_sink_release() was called */
} capture_t;

static const pl_option_t capture_options[] = {
    PL_OPTION_INT(capture_options_t, fail_first, "fail_first", "0", 0,
                  "Fail this many writes before succeeding."),
    PL_OPTION_BOOL(capture_options_t, fail_always, "fail_always", "false", 0,
                   "Fail every write."),
    PL_OPTION_STRING(capture_options_t, reject_field, "reject_field", NULL, 0,
                     "Reject records that have this field."),
    PL_OPTION_BOOL(capture_options_t, async, "async", "false", 0,
                   "Resolve batches on a timer instead of inside write."),
    PL_OPTION_BOOL(capture_options_t, hold, "hold", "false", 0,
                   "Never finish a batch (after the fail_first failing "
                   "writes), not even at close: a write stuck for good "
                   "(shutdown_timeout tests)."),
    PL_OPTION_BOOL(capture_options_t, stall, "stall", "false", 0,
                   "Keep every batch unfinished until the test calls "
                   "test_sink_release() (a sink that stops writing for a "
                   "while)."),
};

static int capture_init(pl_instance_t *inst, const void *options, void **ctx) {
  capture_t *c = calloc(1, sizeof(*c));
  c->opts = options;
  c->pub.records = json_array();
  *ctx = c;
  return 0;
}

static int capture_start(pl_instance_t *inst, void *ctx) {
  capture_t *c = ctx;
  uv_timer_init(pl_instance_loop(inst), &c->timer);
  c->timer.data = c;
  return 0;
}

static void capture_resolve(capture_t *c, pl_batch_t *batch) {
  c->pub.writes++;
  if (c->opts->fail_always || (int64_t)c->pub.writes <= c->opts->fail_first) {
    pl_batch_done(batch, PL_RESULT_FAILED, "scripted failure");
    return;
  }
  for (size_t i = 0; i < pl_batch_count(batch); i++) {
    json_t *value = pl_record_value(pl_batch_record(batch, i));
    if (c->opts->reject_field && json_object_get(value, c->opts->reject_field)) {
      pl_batch_resolve(batch, i, PL_RESULT_REJECTED, "has field '%s'",
                       c->opts->reject_field);
      continue;
    }
    json_array_append(c->pub.records, value);
    pl_batch_resolve(batch, i, PL_RESULT_DELIVERED, NULL);
  }
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void capture_on_timer(uv_timer_t *timer) {
  capture_t *c = timer->data;
  pl_batch_t *batch = c->pending;
  c->pending = NULL;
  capture_resolve(c, batch);
}

static void capture_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  capture_t *c = ctx;
  c->pub.batches_seen++;
  /* What is still queued, plus the batch just taken from the queue. */
  size_t depth = inst->queue.count + pl_batch_count(batch);
  if (depth > c->pub.max_queue)
    c->pub.max_queue = depth;
  if (pl_batch_count(batch) > c->pub.largest_batch)
    c->pub.largest_batch = pl_batch_count(batch);
  if (c->opts->hold && (int64_t)c->pub.writes >= c->opts->fail_first)
    return;
  if (c->opts->stall && !c->released) {
    pl_batch_t **grown =
        realloc(c->stalled, (c->stalled_count + 1) * sizeof(*grown));
    ck_assert_ptr_nonnull(grown);
    c->stalled = grown;
    c->stalled[c->stalled_count++] = batch;
    c->pub.stalled_records += pl_batch_count(batch);
    return;
  }
  if (c->opts->async && !c->pending) {
    c->pending = batch;
    uv_timer_start(&c->timer, capture_on_timer, 1, 0);
    return;
  }
  capture_resolve(c, batch);
}

void test_sink_release(test_sink_t *sink) {
  capture_t *c = (capture_t *)sink;
  c->released = true;
  for (size_t i = 0; i < c->stalled_count; i++)
    capture_resolve(c, c->stalled[i]);
  c->stalled_count = 0;
}

static void capture_close(pl_instance_t *inst, void *ctx) {
  capture_t *c = ctx;
  for (size_t i = 0; i < c->stalled_count; i++)
    pl_batch_done(c->stalled[i], PL_RESULT_FAILED, "closed");
  c->stalled_count = 0;
  if (c->pending) {
    pl_batch_t *batch = c->pending;
    c->pending = NULL;
    pl_batch_done(batch, PL_RESULT_FAILED, "closed");
  }
  if (c->timer.loop)
    uv_close((uv_handle_t *)&c->timer, NULL);
}

static void capture_destroy(void *ctx) {
  capture_t *c = ctx;
  json_decref(c->pub.records);
  free(c->stalled);
  free(c);
}

const pl_plugin_t test_sink_capture = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "capture",
    .kind = PL_KIND_SINK,
    .description = "Test sink: keeps what it is given.",
    .options = capture_options,
    .options_count = sizeof(capture_options) / sizeof(capture_options[0]),
    .options_size = sizeof(capture_options_t),
    .defaults = {.batch_size = "10"},
    .init = capture_init,
    .start = capture_start,
    .write = capture_write,
    .close = capture_close,
    .destroy = capture_destroy,
};

/* ---- Harness ---- */

static const char *fake_getenv(void *data, const char *name) {
  return getenv(name);
}

test_run_t *test_run_create(const pl_plugin_t *const *extra) {
  test_run_t *run = calloc(1, sizeof(*run));
  ck_assert_ptr_nonnull(run);
  ck_assert_int_eq(uv_loop_init(&run->loop), 0);
  run->log = open_memstream(&run->log_text, &run->log_len);
  ck_assert_int_eq(pl__registry_create(NULL, 0, &run->registry), 0);
  ck_assert_int_eq(pl__registry_add(run->registry, &test_source_script), 0);
  ck_assert_int_eq(pl__registry_add(run->registry, &test_sink_capture), 0);
  for (size_t i = 0; extra && extra[i]; i++)
    ck_assert_int_eq(pl__registry_add(run->registry, extra[i]), 0);
  return run;
}

int test_run_configure(test_run_t *run, const char *config, bool once,
                       const pl_env_t *env) {
  pl_env_t process = {fake_getenv, NULL};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse("test.conf", config, strlen(config),
                         env ? env : &process, &root, &error);
  if (rc < 0) {
    pl_buf_append_str(&run->errors, error ? error : "parse error");
    free(error);
    return run->create_rc = rc;
  }
  pl_engine_params_t params = {.loop = &run->loop,
                               .registry = run->registry,
                               .log_stream = run->log,
                               .once = once,
                               .env = env};
  run->create_rc = pl__engine_create(&params, root, &run->engine, &run->errors);
  pl__cfg_destroy(root);
  /* A start that fails (a source whose state file is taken) is reported
   * as create_rc too: the tests that expect success check it. */
  if (run->create_rc == 0)
    run->create_rc = pl__engine_start(run->engine);
  return run->create_rc;
}

test_run_t *test_run_start(const char *config, const pl_plugin_t *const *extra,
                           bool once) {
  test_run_t *run = test_run_create(extra);
  test_run_configure(run, config, once, NULL);
  return run;
}

void test_run_loop(test_run_t *run) {
  if (run->engine) {
    uv_run(&run->loop, UV_RUN_DEFAULT);
    run->status = pl__engine_status(run->engine);
  }
}

test_run_t *test_run(const char *config, const pl_plugin_t *const *extra,
                     bool once) {
  test_run_t *run = test_run_start(config, extra, once);
  test_run_loop(run);
  return run;
}

test_run_t *test_run_idle(const pl_env_t *env) {
  test_run_t *run = test_run_create(NULL);
  const char *text = "pipeline \"p\" { source \"script\" { records = [] }\n"
                     "  sink \"capture\" { } }\n";
  ck_assert_msg(test_run_configure(run, text, false, env) == 0, "%s",
                run->errors.data);
  return run;
}

int test_run_stop(test_run_t *run) {
  pl__engine_shutdown(run->engine);
  uv_run(&run->loop, UV_RUN_DEFAULT);
  return test_run_free(run);
}

pl_instance_t *test_stage(test_run_t *run, const char *pipeline,
                          pl_role_t role) {
  for (size_t p = 0; run->engine && p < run->engine->pipeline_count; p++) {
    pl_pipeline_t *pl = run->engine->pipelines[p];
    if (strcmp(pl->name, pipeline) != 0)
      continue;
    for (size_t s = 0; s < pl->stage_count; s++)
      if (pl->stages[s]->role == role)
        return pl->stages[s];
  }
  return NULL;
}

void *test_ctx(test_run_t *run, const char *pipeline, pl_role_t role) {
  pl_instance_t *inst = test_stage(run, pipeline, role);
  ck_assert_ptr_nonnull(inst);
  return inst->ctx;
}

const char *test_log(test_run_t *run) {
  fflush(run->log);
  return run->log_text ? run->log_text : "";
}

int test_run_free(test_run_t *run) {
  pl__engine_destroy(run->engine);
  int rc = uv_loop_close(&run->loop);
  pl__registry_destroy(run->registry);
  pl_buf_free(&run->errors);
  fclose(run->log);
  free(run->log_text);
  free(run);
  return rc;
}
