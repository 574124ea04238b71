/* The scripted stages of testing_plugins.h. */
#include "testing_plugins.h"

#include <stdlib.h>
#include <string.h>

/* Every context starts with the state pointer, so that one attach serves
 * the three plugins. */
typedef struct stage_ctx {
  pl__test_state_t *state;
} stage_ctx_t;

void pl__test_attach(void *ctx, pl__test_state_t *state) {
  ((stage_ctx_t *)ctx)->state = state;
}

static void *must(void *p) {
  if (!p)
    abort();
  return p;
}

/* ---- The scripted source ---- */

typedef struct source {
  pl__test_state_t *state;
  pl_instance_t *inst;
  size_t next;
  size_t line;
  pl_group_t *group;
  uv_idle_t idle; /* emits while the next queue has room */
  bool stopped;
} source_t;

static int source_init(pl_instance_t *inst, const void *options, void **ctx) {
  source_t *s = must(calloc(1, sizeof(*s)));
  s->inst = inst;
  *ctx = s;
  return 0;
}

static void source_seal(source_t *s, bool complete) {
  if (s->group)
    pl_group_seal(s->group, complete);
  s->group = NULL;
}

/* The metadata the test gave (pl_test_feed_meta). */
static void source_meta(pl_record_t *rec, const pl__test_feed_t *feed) {
  if (feed->origin)
    pl_record_set_origin(rec, feed->origin);
  if (feed->etag)
    pl_record_set_etag(rec, feed->etag);
  if (feed->message_id)
    pl_record_set_message_id(rec, feed->message_id);
  if (feed->origin_time)
    pl_record_set_origin_time(rec, feed->origin_time);
  if (feed->line)
    pl_record_set_line(rec, feed->line);
  if (feed->replay)
    pl_record_set_replay(rec);
}

static pl_record_t *source_record(source_t *s, const pl__test_feed_t *feed) {
  pl_record_t *rec = pl_record_create(s->group);
  pl_record_set_origin(rec, "test:feed");
  if (feed->cut) {
    pl_record_set_cut(rec);
  } else if (feed->value) {
    pl_record_set_value_new(rec, json_incref(feed->value));
    pl_record_set_line(rec, ++s->line);
    char *text = json_dumps(feed->value, JSON_COMPACT | JSON_ENCODE_ANY);
    pl_record_set_size(rec, text ? strlen(text) : 0);
    free(text);
  } else {
    pl_record_set_bytes(rec, feed->bytes, feed->len);
    pl_record_set_last(rec, feed->last);
    pl_record_set_size(rec, feed->len);
  }
  source_meta(rec, feed);
  return rec;
}

static void source_emit(uv_idle_t *idle) {
  source_t *s = idle->data;
  const pl__test_state_t *st = s->state;
  while (!s->stopped && s->next < st->feed_count) {
    const pl__test_feed_t *feed = &st->feeds[s->next++];
    if (!s->group)
      s->group = pl_group_create(s->inst, NULL);
    pl_record_t *rec = source_record(s, feed);
    s->state->emitted++;
    if (s->next == st->feed_count || st->feeds[s->next].group != feed->group)
      source_seal(s, true);
    if (!pl_emit(s->inst, rec)) {
      uv_idle_stop(idle); /* until resume */
      return;
    }
  }
  uv_idle_stop(idle);
  /* As a real source: without --once (pl_test_set_daemon) it waits for
   * more, like one that polls, until it is stopped. */
  if (!s->stopped && pl_instance_once(s->inst))
    pl_source_exhausted(s->inst);
}

static int source_start(pl_instance_t *inst, void *ctx) {
  source_t *s = ctx;
  int rc = uv_idle_init(pl_instance_loop(inst), &s->idle);
  if (rc < 0)
    return PL_EIO;
  s->idle.data = s;
  uv_idle_start(&s->idle, source_emit);
  return 0;
}

static void source_resume(pl_instance_t *inst, void *ctx) {
  source_t *s = ctx;
  if (!s->stopped)
    uv_idle_start(&s->idle, source_emit);
}

static void source_stop(pl_instance_t *inst, void *ctx) {
  source_t *s = ctx;
  s->stopped = true;
  if (s->idle.loop)
    uv_idle_stop(&s->idle);
  source_seal(s, false);
}

static void source_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                          pl_outcome_t outcome) {
  source_t *s = ctx;
  if (outcome == PL_OUTCOME_COMMITTED)
    s->state->committed++;
  else
    s->state->failed++;
  if (s->state->on_commit)
    s->state->on_commit(s->state->harness, outcome == PL_OUTCOME_COMMITTED);
}

static void source_close(pl_instance_t *inst, void *ctx) {
  source_t *s = ctx;
  if (s->idle.loop)
    uv_close((uv_handle_t *)&s->idle, NULL);
}

static void source_destroy(void *ctx) {
  source_t *s = ctx;
  source_seal(s, false);
  free(s);
}

const pl_plugin_t pl__test_source = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "pl-test",
    .kind = PL_KIND_SOURCE,
    .description = "libpipelined-testing: emits what the test fed.",
    .init = source_init,
    .start = source_start,
    .resume = source_resume,
    .stop = source_stop,
    .commit = source_commit,
    .close = source_close,
    .destroy = source_destroy,
};

/* ---- The capturing sink and the dead letter ---- */

typedef struct sink_options {
  int64_t fail_first;
  bool fail_always;
  char *reject_field;
  int64_t delay_ms;
  pl_template_t *render;
} sink_options_t;

static const pl_option_t sink_options[] = {
    PL_OPTION_INT(sink_options_t, fail_first, "fail_first", "0", 0,
                  "Fail this many writes (\"scripted failure\") first."),
    PL_OPTION_BOOL(sink_options_t, fail_always, "fail_always", "false", 0,
                   "Fail every write."),
    PL_OPTION_STRING(sink_options_t, reject_field, "reject_field", NULL, 0,
                     "Reject the records whose value has this field."),
    PL_OPTION_INT_RANGE(sink_options_t, delay_ms, "delay_ms", "0", 0, INT64_MAX,
                        0,
                        "Resolve each batch this many milliseconds after its "
                        "write, on a timer (0: inside the write): a slow "
                        "stage."),
    PL_OPTION_TEMPLATE(sink_options_t, render, "render", NULL, 0,
                       "A template rendered for each captured record, kept "
                       "in its metadata as \"rendered\"."),
};

typedef struct sink sink_t;

/* A batch waiting for its delay_ms. */
typedef struct pending {
  uv_timer_t timer;
  sink_t *sink;
  pl_batch_t *batch; /* NULL once resolved */
  struct pending *next;
} pending_t;

struct sink {
  pl__test_state_t *state;
  bool dead_letter; /* keeps into state->dead_letters */
  const sink_options_t *opts;
  uv_loop_t *loop;
  uint64_t writes;
  pending_t *pending;
};

static int sink_init(pl_instance_t *inst, const void *options, void **ctx) {
  sink_t *c = must(calloc(1, sizeof(*c)));
  c->opts = options;
  c->loop = pl_instance_loop(inst);
  *ctx = c;
  return 0;
}

static int dead_letter_init(pl_instance_t *inst, const void *options,
                            void **ctx) {
  sink_init(inst, options, ctx);
  ((sink_t *)*ctx)->dead_letter = true;
  return 0;
}

/* The record as JSON: its value, or its bytes as a string. */
static json_t *captured(const pl_record_t *rec) {
  json_t *value = pl_record_value(rec);
  if (value)
    return json_incref(value);
  size_t len = 0;
  const char *bytes = pl_record_bytes(rec, &len);
  return must(json_stringn_nocheck(bytes ? bytes : "", len));
}

/* The record's metadata, for pl_test_record_meta(); "rendered" is the
 * `render` template's text, or null when a field it names is missing. */
static json_t *captured_meta(const pl_record_t *rec,
                             const pl_template_t *render) {
  const char *texts[][2] = {{"origin", pl_record_origin(rec)},
                            {"etag", pl_record_etag(rec)},
                            {"message_id", pl_record_message_id(rec)},
                            {"origin_time", pl_record_origin_time(rec)}};
  json_t *meta = must(json_object());
  for (size_t i = 0; i < 4; i++)
    if (texts[i][1])
      json_object_set_new(meta, texts[i][0], must(json_string(texts[i][1])));
  if (pl_record_line(rec))
    json_object_set_new(meta, "line",
                        must(json_integer((json_int_t)pl_record_line(rec))));
  json_t *attributes = pl_record_attributes(rec);
  if (attributes)
    json_object_set(meta, "attributes", attributes);
  json_object_set_new(meta, "bytes", json_boolean(!pl_record_value(rec)));
  json_object_set_new(meta, "last", json_boolean(pl_record_is_last(rec)));
  json_object_set_new(meta, "cut", json_boolean(pl_record_is_cut(rec)));
  if (render) {
    pl_buf_t out = {0};
    const char *missing = NULL;
    int rc = pl_template_render(render, rec, &out, &missing);
    json_object_set_new(meta, "rendered",
                        rc == 0 ? must(json_string(out.data ? out.data : ""))
                                : json_null());
    pl_buf_free(&out);
  }
  return meta;
}

static void sink_resolve(sink_t *c, pl_batch_t *batch) {
  c->writes++;
  if (c->opts->fail_always || (int64_t)c->writes <= c->opts->fail_first) {
    pl_batch_done(batch, PL_RESULT_FAILED, "scripted failure");
    return;
  }
  pl__test_state_t *st = c->state;
  for (size_t i = 0; i < pl_batch_count(batch); i++) {
    const pl_record_t *rec = pl_batch_record(batch, i);
    const char *field = c->opts->reject_field;
    if (field && json_object_get(pl_record_value(rec), field)) {
      pl_batch_resolve(batch, i, PL_RESULT_REJECTED, "has field '%s'", field);
      continue;
    }
    if (c->dead_letter) {
      json_array_append_new(st->dead_letters, captured(rec));
    } else {
      json_array_append_new(st->records, captured(rec));
      json_array_append_new(st->record_meta,
                            captured_meta(rec, c->opts->render));
    }
    pl_batch_resolve(batch, i, PL_RESULT_DELIVERED, NULL);
  }
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void pending_closed(uv_handle_t *handle) {
  free(handle->data);
}

/* Unlinks `p` and closes its timer (which frees it). */
static void pending_end(pending_t *p) {
  sink_t *c = p->sink;
  for (pending_t **at = &c->pending; *at; at = &(*at)->next) {
    if (*at == p) {
      *at = p->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static void pending_due(uv_timer_t *timer) {
  pending_t *p = timer->data;
  pl_batch_t *batch = p->batch;
  sink_t *c = p->sink;
  pending_end(p);
  sink_resolve(c, batch);
}

static void sink_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  sink_t *c = ctx;
  pl__test_state_t *st = c->state;
  if (!c->dead_letter && st->on_write)
    st->on_write(st->harness, st->on_write_data);
  if (c->opts->delay_ms > 0) {
    pending_t *p = must(calloc(1, sizeof(*p)));
    p->sink = c;
    p->batch = batch;
    p->timer.data = p;
    uv_timer_init(c->loop, &p->timer);
    uv_timer_start(&p->timer, pending_due, (uint64_t)c->opts->delay_ms, 0);
    p->next = c->pending;
    c->pending = p;
    return;
  }
  sink_resolve(c, batch);
}

static void sink_close(pl_instance_t *inst, void *ctx) {
  sink_t *c = ctx;
  while (c->pending) {
    pending_t *p = c->pending;
    pl_batch_t *batch = p->batch;
    pending_end(p);
    pl_batch_done(batch, PL_RESULT_FAILED, "closed");
  }
}

static void sink_destroy(void *ctx) {
  free(ctx);
}

const pl_plugin_t pl__test_sink = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "pl-test",
    .kind = PL_KIND_SINK,
    .description = "libpipelined-testing: captures what reaches it.",
    .options = sink_options,
    .options_count = sizeof(sink_options) / sizeof(sink_options[0]),
    .options_size = sizeof(sink_options_t),
    .defaults = {.batch_size = "100"},
    .init = sink_init,
    .write = sink_write,
    .close = sink_close,
    .destroy = sink_destroy,
};

const pl_plugin_t pl__test_dead_letter = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "pl-test-dead-letter",
    .kind = PL_KIND_SINK,
    .description = "libpipelined-testing: keeps dead letters and reasons.",
    .options = sink_options,
    .options_count = sizeof(sink_options) / sizeof(sink_options[0]),
    .options_size = sizeof(sink_options_t),
    .defaults = {.batch_size = "100"},
    .init = dead_letter_init,
    .write = sink_write,
    .close = sink_close,
    .destroy = sink_destroy,
};
