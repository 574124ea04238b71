/* libpipelined-testing: unit tests for plugins (pkg-config module
 * pipelined-testing). A harness runs ONE instance of the plugin under test
 * in-process, through the real engine on its own libuv loop, with scripted
 * stages around it:
 *
 *   source under test    -> capturing sink              (+ dead letter)
 *   scripted source      -> transform under test -> capturing sink (+ dl)
 *   scripted source      -> sink under test                    (+ dl)
 *
 * The test feeds records (JSON texts) and byte chunks into the scripted
 * source, runs the loop until the run ends (every fed group resolved, as
 * the daemon's --once) or a timeout, and asserts on what reached the
 * capturing sink, on the groups the scripted source saw committed or
 * failed, on the dead letters (records and reasons), on the counters the
 * plugin keeps (pl_instance_count) and on the log text. Plugins that talk
 * HTTP test against <pipelined/testing_http.h>, a scripted loopback server
 * on the same loop; pl_test_use_aws() points the AWS layer at one.
 *
 *   pl_test_t *t = NULL;
 *   pl_test_create(&my_plugin, &t);
 *   pl_test_set_options(t, "rename = { a = \"b\" }");
 *   pl_test_feed_record(t, "{\"a\": 1}");
 *   pl_test_run(t, 5000);
 *   assert(pl_test_status(t) == 0 && pl_test_committed(t) == 1);
 *   assert(json_integer_value(json_object_get(pl_test_record(t, 0), "b")) ==
 * 1); assert(pl_test_destroy(t) == 0);
 *
 * A harness runs once. Functions returning int return 0 or a negative
 * PL_E* code; a harness function is never called from a plugin callback.
 * This is test code: an allocation failure aborts the process. */
#ifndef PIPELINED_TESTING_H
#define PIPELINED_TESTING_H

#include <jansson.h>
#include <pipelined/embed.h>
#include <pipelined/plugin.h>
#include <pipelined/testing_http.h>
#include <pipelined/testing_records.h>
#include <uv.h>

typedef struct pl_test pl_test_t;

/* Creates a harness around `plugin` (borrowed: it must outlive the
 * harness), with its own loop, log and an empty environment. Returns 0
 * and a new harness in *out; PL_EINVAL (and *out NULL) for a descriptor of
 * another ABI version or without a name (the engine validates the rest
 * when the run starts), PL_EIO when the loop cannot be made. */
PL_EXTERN int pl_test_create(const pl_plugin_t *plugin, pl_test_t **out);
/* Ends the run if it is still going, runs the loop until every handle is
 * closed and frees everything. Close the HTTP servers the test started on
 * the loop first (pl_test_http_close), or the loop never ends; the one of
 * pl_test_aws_server() is closed here. Returns 0, or PL_EIO when
 * uv_loop_close() found a handle still open (a leak the test should fail
 * on).
 * NULL is allowed (returns 0). */
PL_EXTERN int pl_test_destroy(pl_test_t *t);

/* The harness's loop (borrowed): start HTTP servers on it. */
PL_EXTERN uv_loop_t *pl_test_loop(pl_test_t *t);

/* ---- Before the run ---- */

/* The plugin's options: the body of its config block, in config syntax,
 * e.g. "path = \"/tmp/out\"\nbatch_size = 10" (stage-wide options such as
 * batch_size, linger, retry_backoff go here too). Copied; replaces an
 * earlier call's. */
PL_EXTERN int pl_test_set_options(pl_test_t *t, const char *text);
/* The body of the capturing sink's block (pl_test_set_sink_options) or of
 * the dead letter's (pl_test_set_dead_letter_options), in config syntax:
 * stage-wide options (batch_size, queue_size, retry_limit, ...) and these
 * scripted behaviours, to see how the plugin under test copes with what
 * comes after it:
 *   fail_first = N        the first N writes fail ("scripted failure")
 *   fail_always = true    every write fails
 *   reject_field = "f"    records whose value has field f are rejected
 *                         ("has field 'f'")
 *   delay_ms = N          each batch is resolved N ms after its write, on
 *                         a timer, instead of inside the write: a slow
 *                         stage (backpressure); several may wait at once
 *   render = "${@kind}"   a template rendered for each captured record
 *                         (capturing sink only): what a sink's templates
 *                         would see, in pl_test_record_meta() "rendered"
 * The capturing sink is absent when the plugin under test is a sink.
 * Copied; replaces an earlier call's. */
PL_EXTERN int pl_test_set_sink_options(pl_test_t *t, const char *text);
PL_EXTERN int pl_test_set_dead_letter_options(pl_test_t *t, const char *text);
/* A sink under test serves as the pipeline's dead letter (what sinks do
 * with pl_instance_dead_letter() true): the capturing sink is then the
 * sink (give it reject_field = "..." to make letters), and the letters
 * reach the plugin, not pl_test_dead_letter(). PL_EINVAL for a plugin that
 * is not a sink, with pl_test_set_dead_letter(), and once the run has
 * begun. */
PL_EXTERN int pl_test_set_as_dead_letter(pl_test_t *t, bool as_dead_letter);
/* The pipeline's dead letter is `plugin` (borrowed; a sink; it may be the
 * plugin under test, as a second instance) with `options` (its block's
 * body, copied) instead of the capturing one: a real dead letter next to
 * the plugin under test. The letters then reach it, not
 * pl_test_dead_letter(). NULL goes back to the capturing one. PL_EINVAL
 * for a plugin that is not a sink, with pl_test_set_as_dead_letter(), and
 * once the run has begun. */
PL_EXTERN int pl_test_set_dead_letter(pl_test_t *t, const pl_plugin_t *plugin,
                                      const char *options);
/* Calls `fn(t, committed, data)` each time the scripted source sees one
 * of its groups resolved (committed, or failed), at that moment: what the
 * plugin under test had done when it acknowledged (a sink's syncs,
 * through pl_test_counter()). `fn` must not call the harness functions
 * that run or end the run. NULL removes it. PL_EINVAL once the run has
 * begun. */
typedef void pl_test_commit_fn(pl_test_t *t, bool committed, void *data);
PL_EXTERN int pl_test_on_commit(pl_test_t *t, pl_test_commit_fn *fn,
                                void *data);
/* With `daemon`, the run goes as the daemon's without --once: it does not
 * end when the sources are exhausted and the groups resolved, only at
 * pl_test_shutdown() or pl_test_run()'s timeout (a source that polls
 * forever, a test of what stopping does). The scripted source then, as
 * one that polls, never says it is exhausted: it waits for more until it
 * is stopped. PL_EINVAL once the run has begun. */
PL_EXTERN int pl_test_set_daemon(pl_test_t *t, bool daemon);
/* Calls `fn(t, data)` at each write of the capturing sink, before the
 * batch is resolved (and before its delay_ms): a white-box look at the
 * plugin under test at the moment its records arrive (what a source has
 * acknowledged upstream by then, whether it is paused). `fn` must not call
 * the harness functions that run or end the run. NULL removes it.
 * PL_EINVAL once the run has begun. */
typedef void pl_test_write_fn(pl_test_t *t, void *data);
PL_EXTERN int pl_test_on_write(pl_test_t *t, pl_test_write_fn *fn, void *data);
/* Top-level config text put before the pipeline (e.g. "aws { ... }" or
 * "shutdown_timeout = \"2s\""). Copied; replaces an earlier call's. */
PL_EXTERN int pl_test_set_globals(pl_test_t *t, const char *text);
/* Sets a variable of the injected environment (config ${VAR} and what
 * extensions read); the process's own environment is never read. Both
 * texts copied; a later call for `name` replaces the value. */
PL_EXTERN int pl_test_setenv(pl_test_t *t, const char *name, const char *value);
/* For AWS plugins: test credentials (AWS_ACCESS_KEY_ID "AKIDEXAMPLE",
 * AWS_SECRET_ACCESS_KEY), AWS_REGION us-east-1, no instance metadata
 * (AWS_EC2_METADATA_DISABLED) and AWS_ENDPOINT_URL pointing at `server`
 * (borrowed for this call). */
PL_EXTERN int pl_test_use_aws(pl_test_t *t, const pl_test_http_t *server);
/* The usual case of the above: the first call starts an HTTP server on the
 * harness's loop and calls pl_test_use_aws() with it; every call returns
 * that server (borrowed: pl_test_destroy() closes it), or NULL when it
 * could not start. Call it before the run, which reads the environment
 * when it starts. Script its answers and read its requests with
 * <pipelined/testing_http.h>. */
PL_EXTERN pl_test_http_t *pl_test_aws_server(pl_test_t *t);

/* Feeds one record to the scripted source, a JSON text (any value). Its
 * origin is "test:feed" and its line its 1-based place among the fed
 * records. Returns PL_EPARSE for a text that is not JSON, PL_EINVAL when
 * the plugin under test is a source or the run has begun. */
PL_EXTERN int pl_test_feed_record(pl_test_t *t, const char *json);
/* Feeds one record whose value is `value` (stolen, even on failure): a
 * value made in C, such as a string that is not UTF-8
 * (json_string_nocheck), which no JSON text can feed. Numbered as
 * pl_test_feed_record(). PL_EINVAL for NULL, and as pl_test_feed_record(). */
PL_EXTERN int pl_test_feed_value(pl_test_t *t, json_t *value);
/* Feeds a chunk of bytes (copied); `last` ends the group's byte stream
 * (pl_record_is_last). PL_EINVAL when the plugin under test is a source or
 * the run has begun. */
PL_EXTERN int pl_test_feed_bytes(pl_test_t *t, const void *bytes, size_t len,
                                 bool last);
/* Metadata of the record fed last (by pl_test_feed_record,
 * pl_test_feed_bytes or pl_test_feed_cut), as a real source would set it:
 * what `meta` leaves NULL (or 0) stays as it was. Texts are copied.
 * PL_EINVAL before anything was fed or once the run has begun. */
typedef struct pl_test_meta {
  const char *origin;      /* replaces "test:feed" */
  const char *etag;        /* pl_record_set_etag */
  const char *message_id;  /* pl_record_set_message_id */
  const char *origin_time; /* pl_record_set_origin_time */
  uint64_t line;           /* replaces the place among fed records */
} pl_test_meta_t;
PL_EXTERN int pl_test_feed_meta(pl_test_t *t, const pl_test_meta_t *meta);
/* Marks the record fed last as a replay (pl_record_set_replay): bytes a
 * source resuming in the middle gives again for context, its header.
 * PL_EINVAL as pl_test_feed_meta(). */
PL_EXTERN int pl_test_feed_replay(pl_test_t *t);
/* Feeds a cut record (pl_record_set_cut): the group's byte stream fed so
 * far ends cut short, as a source does when the object it reads changed
 * in the middle; bytes fed after it start the stream again. PL_EINVAL as
 * for pl_test_feed_bytes(). */
PL_EXTERN int pl_test_feed_cut(pl_test_t *t);
/* What is fed next goes into a new ack group. Without it everything fed
 * is one group. */
PL_EXTERN int pl_test_end_group(pl_test_t *t);

/* ---- The run ---- */

/* Builds the config, creates and starts the engine, and runs the loop
 * until the run ends or `timeout_ms` passed (then the engine is shut down
 * gracefully and the loop runs until it has ended). Returns 0 when the run
 * ended by itself, PL_EAGAIN when it timed out, PL_EPARSE or PL_EINVAL
 * when the config was refused (pl_test_errors() says why; the plugin's
 * init failing is one case) or another negative code when the engine did
 * not start (the log says why). Once only: a second call returns PL_EINVAL.
 * It returns once the engine has finished (pl_engine_finished()): work the
 * plugin still has on the loop then, such as the file a source moves or
 * deletes after its commit callback, is done by pl_test_destroy(), which
 * runs the loop to its end; assert on such effects after it. */
PL_EXTERN int pl_test_run(pl_test_t *t, uint64_t timeout_ms);
/* For a test that drives the loop itself (to look at the plugin between
 * steps, or stop it with work in flight): pl_test_start() builds the
 * config and creates and starts the engine as pl_test_run() does, without
 * running the loop, and returns as pl_test_run() does on a refusal (0
 * otherwise). The test then runs pl_test_loop() itself (UV_RUN_ONCE, not
 * UV_RUN_DEFAULT: an HTTP server keeps the loop alive), may call
 * pl_test_shutdown() (a graceful stop, as SIGTERM: the run ends once what
 * is in flight is resolved or the shutdown_timeout of the globals
 * expires), and ends with pl_test_run(), which runs the started run to its
 * end as above. pl_test_start() is once only (PL_EINVAL after either
 * call); pl_test_shutdown() before the start or after the end does
 * nothing. */
PL_EXTERN int pl_test_start(pl_test_t *t);
PL_EXTERN void pl_test_shutdown(pl_test_t *t);
/* The exit status the daemon would have had (pl_engine_status()): 0, or 1
 * when a group failed, the plugin broke (pl_sink_broken) or counted an
 * input error. -1 before the run, or when it did not start. */
PL_EXTERN int pl_test_status(const pl_test_t *t);
/* The config errors of a refused run, or "" (borrowed). */
PL_EXTERN const char *pl_test_errors(const pl_test_t *t);
/* The config text the run used, or NULL before it (borrowed): shows what
 * a test ran when it fails. */
PL_EXTERN const char *pl_test_config(const pl_test_t *t);

/* ---- Assertions: what the run did ---- */

/* Records that reached the capturing sink, in order of delivery (none
 * when the plugin under test is a sink). A bytes record is captured as a
 * JSON string of its bytes. Borrowed for the harness's life; NULL when
 * i is out of range. */
PL_EXTERN size_t pl_test_record_count(const pl_test_t *t);
PL_EXTERN json_t *pl_test_record(const pl_test_t *t, size_t i);
/* The metadata of the i-th captured record as an object (borrowed for the
 * harness's life; NULL out of range): "origin", "etag", "message_id",
 * "origin_time" and "line" when the record has them, "attributes" (its
 * pl_record_attributes) when it has some, "rendered" with the sink's
 * `render` option, and always "bytes" (true for a bytes record), "last"
 * and "cut". */
PL_EXTERN json_t *pl_test_record_meta(const pl_test_t *t, size_t i);
/* All of them as one compact JSON array text (new, malloc()ed), for a
 * whole comparison: "[{\"a\":1},{\"b\":2}]". */
PL_EXTERN char *pl_test_records_json(const pl_test_t *t);

/* Records the scripted source has emitted so far (a source that stopped
 * early, as a broken sink makes it, emitted fewer than were fed). */
PL_EXTERN size_t pl_test_emitted(const pl_test_t *t);
/* Groups of the scripted source (as its commit callback saw them). */
PL_EXTERN size_t pl_test_committed(const pl_test_t *t);
PL_EXTERN size_t pl_test_failed(const pl_test_t *t);

/* Records the pipeline's dead letter received: the rejected record (its
 * value, or its bytes as a string), its reason ("rejected" when none was
 * given), and the whole document the engine sends a dead letter (reason,
 * pipeline, stage, origin, line, and "record" or "raw"). Borrowed for the
 * harness's life; NULL out of range. */
PL_EXTERN size_t pl_test_dead_letter_count(const pl_test_t *t);
PL_EXTERN json_t *pl_test_dead_letter(const pl_test_t *t, size_t i);
PL_EXTERN json_t *pl_test_dead_letter_document(const pl_test_t *t, size_t i);
/* All those documents as one JSON array (borrowed for the harness's life;
 * the test must not change it). */
PL_EXTERN json_t *pl_test_dead_letters(const pl_test_t *t);
PL_EXTERN const char *pl_test_dead_letter_reason(const pl_test_t *t, size_t i);

/* The stage of the plugin under test (borrowed for the harness's life),
 * or NULL before the run and when the config was refused. For a white-box
 * test: pl_instance_context() is the plugin's own context. */
PL_EXTERN pl_instance_t *pl_test_instance(const pl_test_t *t);
/* The plugin's counter `name` (pl_instance_count); 0 when never counted
 * or before the run. */
PL_EXTERN uint64_t pl_test_counter(const pl_test_t *t, const char *name);
/* Everything logged so far (borrowed until the next harness call). */
PL_EXTERN const char *pl_test_log(pl_test_t *t);

#endif
