/* The plugin test harness of <pipelined/testing.h>: a config around the
 * plugin under test, run through the public embedding API
 * (<pipelined/embed.h>) with the scripted stages of testing_plugins.h. */
#include <pipelined/embed.h>
#include <pipelined/testing.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing_plugins.h"

struct pl_test {
  uv_loop_t loop;
  const pl_plugin_t *plugin; /* borrowed */
  char *options;
  char *sink_options;
  char *dead_letter_options;
  char *globals;
  pl_list_t env_names; /* the injected environment */
  pl_list_t env_values;
  size_t group; /* of what is fed next */
  pl__test_state_t state;
  char *config;
  char *errors;
  pl_engine_t *engine;
  int status;
  bool daemon;                    /* pl_test_set_daemon: without --once */
  bool as_dead_letter;            /* pl_test_set_as_dead_letter */
  const pl_plugin_t *dead_letter; /* pl_test_set_dead_letter, borrowed */
  pl_test_commit_fn *on_commit;   /* pl_test_on_commit */
  void *on_commit_data;
  bool ran;     /* pl_test_start (or pl_test_run) was called */
  bool started; /* and the engine started */
  bool ended;   /* pl_test_run ran the run to its end */
  bool timed_out;
  uv_timer_t timer;
  pl_test_http_t *aws_server; /* pl_test_aws_server, or NULL */
  pl_env_t env;               /* the engine's, from pl_test_start */
  pl_test_write_fn *on_write; /* pl_test_on_write */
  void *on_write_data;
  FILE *log;
  char *log_text;
  size_t log_len;
};

static void *must(void *p) {
  if (!p) {
    fputs("pl_test: out of memory\n", stderr);
    abort();
  }
  return p;
}

static char *dup_text(const char *text) {
  return text ? must(strdup(text)) : NULL;
}

int pl_test_create(const pl_plugin_t *plugin, pl_test_t **out) {
  *out = NULL;
  if (!plugin || plugin->abi_version != PL_ABI_VERSION || !plugin->name)
    return PL_EINVAL;
  pl_test_t *t = must(calloc(1, sizeof(*t)));
  if (uv_loop_init(&t->loop) != 0) {
    free(t);
    return PL_EIO;
  }
  t->plugin = plugin;
  t->status = -1;
  t->state.records = must(json_array());
  t->state.record_meta = must(json_array());
  t->state.dead_letters = must(json_array());
  t->log = must(open_memstream(&t->log_text, &t->log_len));
  *out = t;
  return 0;
}

uv_loop_t *pl_test_loop(pl_test_t *t) {
  return &t->loop;
}

int pl_test_set_options(pl_test_t *t, const char *text) {
  free(t->options);
  t->options = dup_text(text);
  return 0;
}

int pl_test_set_sink_options(pl_test_t *t, const char *text) {
  free(t->sink_options);
  t->sink_options = dup_text(text);
  return 0;
}

int pl_test_set_dead_letter_options(pl_test_t *t, const char *text) {
  free(t->dead_letter_options);
  t->dead_letter_options = dup_text(text);
  return 0;
}

static void call_on_write(void *harness, void *data) {
  pl_test_t *t = harness;
  t->on_write(t, t->on_write_data);
}

int pl_test_on_write(pl_test_t *t, pl_test_write_fn *fn, void *data) {
  if (t->ran)
    return PL_EINVAL;
  t->on_write = fn;
  t->on_write_data = data;
  t->state.on_write = fn ? call_on_write : NULL;
  t->state.harness = t;
  return 0;
}

int pl_test_set_dead_letter(pl_test_t *t, const pl_plugin_t *plugin,
                            const char *options) {
  if (t->ran || t->as_dead_letter ||
      (plugin && (plugin->kind != PL_KIND_SINK || !plugin->name)))
    return PL_EINVAL;
  t->dead_letter = plugin;
  return pl_test_set_dead_letter_options(t, options);
}

int pl_test_set_as_dead_letter(pl_test_t *t, bool as_dead_letter) {
  if (t->ran || t->dead_letter ||
      (as_dead_letter && t->plugin->kind != PL_KIND_SINK))
    return PL_EINVAL;
  t->as_dead_letter = as_dead_letter;
  return 0;
}

static void call_on_commit(void *harness, bool committed) {
  pl_test_t *t = harness;
  t->on_commit(t, committed, t->on_commit_data);
}

int pl_test_on_commit(pl_test_t *t, pl_test_commit_fn *fn, void *data) {
  if (t->ran)
    return PL_EINVAL;
  t->on_commit = fn;
  t->on_commit_data = data;
  t->state.on_commit = fn ? call_on_commit : NULL;
  t->state.harness = t;
  return 0;
}

int pl_test_set_daemon(pl_test_t *t, bool daemon) {
  if (t->ran)
    return PL_EINVAL;
  t->daemon = daemon;
  return 0;
}

int pl_test_set_globals(pl_test_t *t, const char *text) {
  free(t->globals);
  t->globals = dup_text(text);
  return 0;
}

int pl_test_setenv(pl_test_t *t, const char *name, const char *value) {
  if (!name || !value)
    return PL_EINVAL;
  for (size_t i = 0; i < t->env_names.count; i++) {
    if (strcmp(t->env_names.items[i], name) == 0) {
      free(t->env_values.items[i]);
      t->env_values.items[i] = dup_text(value);
      return 0;
    }
  }
  size_t n = t->env_names.count + 1;
  t->env_names.items = must(realloc(t->env_names.items, n * sizeof(char *)));
  t->env_values.items = must(realloc(t->env_values.items, n * sizeof(char *)));
  t->env_names.items[n - 1] = dup_text(name);
  t->env_values.items[n - 1] = dup_text(value);
  t->env_names.count = t->env_values.count = n;
  return 0;
}

int pl_test_use_aws(pl_test_t *t, const pl_test_http_t *server) {
  pl_test_setenv(t, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  pl_test_setenv(t, "AWS_SECRET_ACCESS_KEY", "sekrit-do-not-log");
  pl_test_setenv(t, "AWS_REGION", "us-east-1");
  pl_test_setenv(t, "AWS_EC2_METADATA_DISABLED", "true");
  return pl_test_setenv(t, "AWS_ENDPOINT_URL", pl_test_http_url(server));
}

pl_test_http_t *pl_test_aws_server(pl_test_t *t) {
  if (!t->aws_server) {
    if (pl_test_http_start(&t->loop, &t->aws_server) < 0)
      return NULL;
    pl_test_use_aws(t, t->aws_server);
  }
  return t->aws_server;
}

static const char *test_getenv(void *data, const char *name) {
  const pl_test_t *t = data;
  for (size_t i = 0; i < t->env_names.count; i++)
    if (strcmp(t->env_names.items[i], name) == 0)
      return t->env_values.items[i];
  return NULL;
}

/* ---- Feeding ---- */

static int add_feed(pl_test_t *t, pl__test_feed_t feed) {
  if (t->plugin->kind == PL_KIND_SOURCE || t->ran)
    return PL_EINVAL;
  pl__test_state_t *st = &t->state;
  st->feeds = must(realloc(st->feeds, (st->feed_count + 1) * sizeof(feed)));
  feed.group = t->group;
  st->feeds[st->feed_count++] = feed;
  return 0;
}

int pl_test_feed_value(pl_test_t *t, json_t *value) {
  if (!value)
    return PL_EINVAL;
  int rc = add_feed(t, (pl__test_feed_t){.value = value});
  if (rc < 0)
    json_decref(value);
  return rc;
}

int pl_test_feed_record(pl_test_t *t, const char *json) {
  json_error_t error;
  json_t *value = json ? json_loads(json, JSON_DECODE_ANY, &error) : NULL;
  if (!value)
    return PL_EPARSE;
  int rc = add_feed(t, (pl__test_feed_t){.value = value});
  if (rc < 0)
    json_decref(value);
  return rc;
}

int pl_test_feed_bytes(pl_test_t *t, const void *bytes, size_t len, bool last) {
  char *copy = must(malloc(len + 1));
  if (len)
    memcpy(copy, bytes, len);
  copy[len] = '\0';
  int rc =
      add_feed(t, (pl__test_feed_t){.bytes = copy, .len = len, .last = last});
  if (rc < 0)
    free(copy);
  return rc;
}

int pl_test_feed_meta(pl_test_t *t, const pl_test_meta_t *meta) {
  pl__test_state_t *st = &t->state;
  if (!meta || t->ran || st->feed_count == 0)
    return PL_EINVAL;
  pl__test_feed_t *feed = &st->feeds[st->feed_count - 1];
  char **texts[] = {&feed->origin, &feed->etag, &feed->message_id,
                    &feed->origin_time};
  const char *given[] = {meta->origin, meta->etag, meta->message_id,
                         meta->origin_time};
  for (size_t i = 0; i < 4; i++) {
    if (given[i]) {
      free(*texts[i]);
      *texts[i] = dup_text(given[i]);
    }
  }
  if (meta->line)
    feed->line = meta->line;
  return 0;
}

int pl_test_feed_replay(pl_test_t *t) {
  pl__test_state_t *st = &t->state;
  if (t->ran || st->feed_count == 0)
    return PL_EINVAL;
  st->feeds[st->feed_count - 1].replay = true;
  return 0;
}

int pl_test_feed_cut(pl_test_t *t) {
  return add_feed(t, (pl__test_feed_t){.cut = true});
}

int pl_test_end_group(pl_test_t *t) {
  t->group++;
  return 0;
}

/* ---- The run ---- */

/* The pipeline "test": the plugin under test where its kind goes, the
 * scripted stages around it. */
static char *build_config(const pl_test_t *t) {
  pl_buf_t buf = {0};
  const char *kind = pl_kind_name(t->plugin->kind);
  const char *options = t->options ? t->options : "";
  pl_buf_printf(&buf, "%s\npipeline \"test\" {\n",
                t->globals ? t->globals : "");
  const char *sink_options = t->sink_options ? t->sink_options : "";
  if (t->plugin->kind != PL_KIND_SOURCE)
    pl_buf_append_str(&buf, "  source \"pl-test\" { }\n");
  if (t->as_dead_letter) /* the capturing sink, then the plugin */
    pl_buf_printf(&buf, "  sink \"pl-test\" {\n%s\n  }\n", sink_options);
  pl_buf_printf(&buf, "  %s \"%s\" {\n%s\n  }\n",
                t->as_dead_letter ? "dead_letter" : kind, t->plugin->name,
                options);
  if (t->plugin->kind != PL_KIND_SINK)
    pl_buf_printf(&buf, "  sink \"pl-test\" {\n%s\n  }\n", sink_options);
  if (!t->as_dead_letter)
    pl_buf_printf(&buf, "  dead_letter \"%s\" {\n%s\n  }\n",
                  t->dead_letter ? t->dead_letter->name : "pl-test-dead-letter",
                  t->dead_letter_options ? t->dead_letter_options : "");
  pl_buf_append_str(&buf, "}\n");
  return must(buf.data);
}

/* The index of the plugin under test in pipeline "test". */
static size_t plugin_index(const pl_test_t *t) {
  if (t->as_dead_letter)
    return 2;
  return t->plugin->kind == PL_KIND_SOURCE ? 0 : 1;
}

static void attach_all(pl_test_t *t) {
  size_t stages = t->plugin->kind == PL_KIND_TRANSFORM ? 4 : 3;
  if (t->dead_letter) /* the last stage is not one of ours */
    stages--;
  for (size_t i = 0; i < stages; i++)
    if (i != plugin_index(t))
      pl__test_attach(
          pl_instance_context(pl_engine_stage(t->engine, "test", i)),
          &t->state);
}

static void on_timeout(uv_timer_t *timer) {
  pl_test_t *t = timer->data;
  t->timed_out = true;
  pl_engine_shutdown(t->engine);
}

int pl_test_start(pl_test_t *t) {
  if (t->ran)
    return PL_EINVAL;
  t->ran = true;
  t->config = build_config(t);
  /* The engine keeps the environment's pointer for its life (a reload,
   * the AWS layer's first client read it later). */
  t->env = (pl_env_t){test_getenv, t};
  const pl_plugin_t *other =
      t->dead_letter && t->dead_letter != t->plugin ? t->dead_letter : NULL;
  const pl_plugin_t *const plugins[] = {t->plugin,      &pl__test_source,
                                        &pl__test_sink, &pl__test_dead_letter,
                                        other,          NULL};
  int rc = pl_engine_create_from_text(&t->loop, "test.conf", t->config, plugins,
                                      &t->env, t->log, !t->daemon, &t->engine,
                                      &t->errors);
  if (rc < 0)
    return rc;
  attach_all(t);
  rc = pl_engine_start(t->engine);
  if (rc == 0)
    t->started = true;
  return rc;
}

void pl_test_shutdown(pl_test_t *t) {
  if (t->engine)
    pl_engine_shutdown(t->engine);
}

int pl_test_run(pl_test_t *t, uint64_t timeout_ms) {
  if (!t->ran) {
    int rc = pl_test_start(t);
    if (rc < 0)
      return rc;
  } else if (!t->started || t->ended) {
    return PL_EINVAL;
  }
  t->ended = true;
  uv_timer_init(&t->loop, &t->timer);
  t->timer.data = t;
  uv_timer_start(&t->timer, on_timeout, timeout_ms, 0);
  /* Not UV_RUN_DEFAULT: a test's HTTP server keeps the loop alive after
   * the run. The engine's shutdown_timeout bounds a shutdown. */
  while (!pl_engine_finished(t->engine))
    uv_run(&t->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t->timer, NULL);
  t->status = pl_engine_status(t->engine);
  return t->timed_out ? PL_EAGAIN : 0;
}

int pl_test_status(const pl_test_t *t) {
  return t->status;
}

const char *pl_test_errors(const pl_test_t *t) {
  return t->errors ? t->errors : "";
}

const char *pl_test_config(const pl_test_t *t) {
  return t->config;
}

/* ---- Assertions ---- */

size_t pl_test_record_count(const pl_test_t *t) {
  return json_array_size(t->state.records);
}

json_t *pl_test_record(const pl_test_t *t, size_t i) {
  return json_array_get(t->state.records, i);
}

json_t *pl_test_record_meta(const pl_test_t *t, size_t i) {
  return json_array_get(t->state.record_meta, i);
}

char *pl_test_records_json(const pl_test_t *t) {
  return must(json_dumps(t->state.records, JSON_COMPACT | JSON_ENCODE_ANY));
}

size_t pl_test_emitted(const pl_test_t *t) {
  return t->state.emitted;
}

size_t pl_test_committed(const pl_test_t *t) {
  return t->state.committed;
}

size_t pl_test_failed(const pl_test_t *t) {
  return t->state.failed;
}

size_t pl_test_dead_letter_count(const pl_test_t *t) {
  return json_array_size(t->state.dead_letters);
}

/* The engine sends the dead letter a document per record: its reason,
 * pipeline, stage, origin, line, and the record as "record" (a value) or
 * "raw" (bytes, as text). */
json_t *pl_test_dead_letter(const pl_test_t *t, size_t i) {
  json_t *doc = json_array_get(t->state.dead_letters, i);
  json_t *record = json_object_get(doc, "record");
  return record ? record : json_object_get(doc, "raw");
}

json_t *pl_test_dead_letters(const pl_test_t *t) {
  return t->state.dead_letters;
}

json_t *pl_test_dead_letter_document(const pl_test_t *t, size_t i) {
  return json_array_get(t->state.dead_letters, i);
}

const char *pl_test_dead_letter_reason(const pl_test_t *t, size_t i) {
  return json_string_value(
      json_object_get(json_array_get(t->state.dead_letters, i), "reason"));
}

pl_instance_t *pl_test_instance(const pl_test_t *t) {
  return t->engine ? pl_engine_stage(t->engine, "test", plugin_index(t)) : NULL;
}

uint64_t pl_test_counter(const pl_test_t *t, const char *name) {
  if (!t->engine)
    return 0;
  return pl_instance_counter(
      pl_engine_stage(t->engine, "test", plugin_index(t)), name);
}

const char *pl_test_log(pl_test_t *t) {
  fflush(t->log);
  return t->log_text ? t->log_text : "";
}

/* ---- The end ---- */

static void free_list(pl_list_t *list) {
  for (size_t i = 0; i < list->count; i++)
    free(list->items[i]);
  free(list->items);
}

int pl_test_destroy(pl_test_t *t) {
  if (!t)
    return 0;
  if (t->engine && !pl_engine_finished(t->engine)) {
    pl_engine_shutdown(t->engine);
    while (!pl_engine_finished(t->engine))
      uv_run(&t->loop, UV_RUN_ONCE);
  }
  pl_test_http_close(t->aws_server);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  pl_engine_destroy(t->engine);
  int rc = uv_loop_close(&t->loop) == 0 ? 0 : PL_EIO;
  for (size_t i = 0; i < t->state.feed_count; i++) {
    pl__test_feed_t *feed = &t->state.feeds[i];
    json_decref(feed->value);
    free(feed->bytes);
    free(feed->origin);
    free(feed->etag);
    free(feed->message_id);
    free(feed->origin_time);
  }
  free(t->state.feeds);
  json_decref(t->state.records);
  json_decref(t->state.record_meta);
  json_decref(t->state.dead_letters);
  free_list(&t->env_names);
  free_list(&t->env_values);
  free(t->options);
  free(t->sink_options);
  free(t->dead_letter_options);
  free(t->globals);
  free(t->config);
  free(t->errors);
  fclose(t->log);
  free(t->log_text);
  free(t);
  return rc;
}
