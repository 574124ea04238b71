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

static pl_record_t *source_record(source_t *s, const pl__test_feed_t *feed) {
  pl_record_t *rec = pl_record_create(s->group);
  pl_record_set_origin(rec, "test:feed");
  if (feed->value) {
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
    if (s->next == st->feed_count || st->feeds[s->next].group != feed->group)
      source_seal(s, true);
    if (!pl_emit(s->inst, rec)) {
      uv_idle_stop(idle); /* until resume */
      return;
    }
  }
  uv_idle_stop(idle);
  if (!s->stopped)
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

static int sink_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = must(calloc(1, sizeof(stage_ctx_t)));
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

static void sink_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  stage_ctx_t *c = ctx;
  for (size_t i = 0; i < pl_batch_count(batch); i++)
    json_array_append_new(c->state->records,
                          captured(pl_batch_record(batch, i)));
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void dead_letter_write(pl_instance_t *inst, void *ctx,
                              pl_batch_t *batch) {
  stage_ctx_t *c = ctx;
  for (size_t i = 0; i < pl_batch_count(batch); i++)
    json_array_append_new(c->state->dead_letters,
                          captured(pl_batch_record(batch, i)));
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
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
    .defaults = {.batch_size = "100"},
    .init = sink_init,
    .write = sink_write,
    .destroy = sink_destroy,
};

const pl_plugin_t pl__test_dead_letter = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "pl-test-dead-letter",
    .kind = PL_KIND_SINK,
    .description = "libpipelined-testing: keeps dead letters and reasons.",
    .defaults = {.batch_size = "100"},
    .init = sink_init,
    .write = dead_letter_write,
    .destroy = sink_destroy,
};
