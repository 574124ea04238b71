/* Test plugins linked into the engine's own unit tests, and a harness that
 * runs a whole config through the engine in-process (HACKING.md#s12): what
 * the engine's suites look at (queue depths, batches, several pipelines,
 * the registry) is inside the engine. Every plugin's suite uses
 * libpipelined-testing (<pipelined/testing.h>) instead, with the in-tree
 * test_plugin.h for what only the engine knows (its metrics, groups and
 * queue depths). The preflight suites (test_preflight.h, test_aws.h) drive
 * an engine that is created but not started, which is the engine's
 * business too. */
#ifndef PL_TEST_STAGES_H
#define PL_TEST_STAGES_H

#include <pipelined/embed.h>
#include <pipelined/plugin.h>
#include <stdio.h>
#include <uv.h>

#include "engine.h"
#include "registry.h"

/* source-script: emits `records` (JSON texts) in groups of `group_size`,
 * `repeat` times over; with `forever` it never exhausts (for shutdown
 * tests). With `text` it
 * emits that text as byte chunks of `chunk_size` in one group instead. */
typedef struct test_source {
  size_t committed;
  size_t failed;
  size_t resumed; /* times the engine resumed it after a full queue */
  size_t emitted;
  size_t max_queue; /* deepest next-stage queue seen while emitting */
} test_source_t;

/* sink-capture: keeps every delivered value. `fail_first` failing writes,
 * `fail_always`, `reject_field` (records that have it are rejected),
 * `async` (resolve on a timer, not inside write), `hold` (after the
 * fail_first failing writes, never finish a batch: a write stuck for
 * good), `stall` (keep every batch until test_sink_release()). */
typedef struct test_sink {
  json_t *records; /* array of delivered values */
  size_t writes;
  size_t batches_seen;
  size_t largest_batch;
  size_t max_queue; /* deepest own input queue seen at a write */
  size_t stalled_records; /* in batches kept by `stall` */
} test_sink_t;

/* A `stall` sink finishes the batches it kept (delivered) and writes the
 * next ones at once. */
void test_sink_release(test_sink_t *sink);

extern const pl_plugin_t test_source_script;
extern const pl_plugin_t test_sink_capture;

typedef struct test_run {
  uv_loop_t loop;
  pl_registry_t *registry;
  pl_engine_t *engine;
  pl_buf_t errors;
  int create_rc;
  int status;
  char *log_text;
  size_t log_len;
  FILE *log;
} test_run_t;

/* Parses `config`, creates the engine (with the test plugins and `extra`
 * NULL-terminated plugins registered), starts it and runs the loop until it
 * ends. With create_rc < 0 (the engine could not be created, or not
 * started), `errors` or the log tells why. */
test_run_t *test_run(const char *config, const pl_plugin_t *const *extra,
                     bool once);
/* The parts of test_run_start: a loop, a log and a registry with the test
 * plugins and `extra`; then a config parsed and started on it, whose AWS
 * clients read `env` (NULL: none). For tests that need the loop before the
 * config (a fake server's URL goes into it). Returns create_rc. */
test_run_t *test_run_create(const pl_plugin_t *const *extra);
int test_run_configure(test_run_t *run, const char *config, bool once,
                       const pl_env_t *env);
/* Like test_run without running the loop. */
test_run_t *test_run_start(const char *config, const pl_plugin_t *const *extra,
                           bool once);
void test_run_loop(test_run_t *run);
/* An engine in daemon mode (so it idles until stopped) with one pipeline
 * "p" of the test plugins, whose AWS clients read `env` (borrowed). For
 * tests that drive plugin APIs (AWS clients) on the engine's loop. */
test_run_t *test_run_idle(const pl_env_t *env);
/* Shuts the engine down, runs the loop to its end and frees the run;
 * returns uv_loop_close(). */
int test_run_stop(test_run_t *run);

/* The stage of a pipeline by role, and its plugin context. */
pl_instance_t *test_stage(test_run_t *run, const char *pipeline,
                          pl_role_t role);
void *test_ctx(test_run_t *run, const char *pipeline, pl_role_t role);
/* What the log said so far (NUL-terminated). */
const char *test_log(test_run_t *run);
/* Destroys everything and checks the loop closes cleanly (returns the
 * uv_loop_close() result). */
int test_run_free(test_run_t *run);

#endif
