/* Records outside a run (<pipelined/testing_records.h>): one open group
 * on an idle engine of the scripted stages. */
#include <pipelined/embed.h>
#include <pipelined/testing_records.h>

#include <stdio.h>
#include <stdlib.h>

#include "testing_plugins.h"

static void *must(void *p) {
  if (!p) {
    fputs("pl_test_records: out of memory\n", stderr);
    abort();
  }
  return p;
}

struct pl_test_records {
  uv_loop_t loop;
  pl_engine_t *engine;
  pl__test_state_t state; /* nothing fed; what the stages read */
  pl_group_t *group;
  pl_record_t **list;
  size_t count;
  FILE *log;
  char *log_text;
  size_t log_len;
};

static const char *no_env(void *data, const char *name) {
  return NULL;
}

int pl_test_records_create(pl_test_records_t **out) {
  *out = NULL;
  pl_test_records_t *r = must(calloc(1, sizeof(*r)));
  if (uv_loop_init(&r->loop) != 0) {
    free(r);
    return PL_EIO;
  }
  r->log = must(open_memstream(&r->log_text, &r->log_len));
  /* A daemon-mode pipeline of the scripted stages: it idles until
   * destroyed, and its source stage is where the group belongs. */
  static const char config[] = "pipeline \"records\" {\n"
                               "  source \"pl-test\" { }\n"
                               "  sink \"pl-test\" { }\n}\n";
  const pl_plugin_t *const plugins[] = {&pl__test_source, &pl__test_sink, NULL};
  pl_env_t env = {no_env, NULL};
  int rc = pl_engine_create_from_text(&r->loop, "records.conf", config, plugins,
                                      &env, r->log, false, &r->engine, NULL);
  if (rc == 0) {
    for (size_t i = 0; i < 2; i++)
      pl__test_attach(
          pl_instance_context(pl_engine_stage(r->engine, "records", i)),
          &r->state);
    rc = pl_engine_start(r->engine);
  }
  if (rc == 0)
    r->group = pl_group_create(pl_engine_stage(r->engine, "records", 0), NULL);
  *out = r;
  if (rc < 0 || !r->group) {
    pl_test_records_destroy(r);
    *out = NULL;
    return rc < 0 ? rc : PL_EIO;
  }
  return 0;
}

pl_record_t *pl_test_records_add(pl_test_records_t *r, const char *json) {
  json_t *value = NULL;
  if (json) {
    json_error_t error;
    value = json_loads(json, JSON_DECODE_ANY, &error);
    if (!value)
      return NULL;
  }
  pl_record_t *rec = pl_record_create(r->group);
  if (value)
    pl_record_set_value_new(rec, value);
  r->list = must(realloc(r->list, (r->count + 1) * sizeof(*r->list)));
  r->list[r->count++] = rec;
  return rec;
}

int pl_test_records_destroy(pl_test_records_t *r) {
  if (!r)
    return 0;
  for (size_t i = 0; i < r->count; i++)
    pl_record_done(r->list[i]);
  free(r->list);
  if (r->group)
    pl_group_seal(r->group, true);
  if (r->engine) {
    pl_engine_shutdown(r->engine);
    while (!pl_engine_finished(r->engine))
      uv_run(&r->loop, UV_RUN_ONCE);
  }
  uv_run(&r->loop, UV_RUN_DEFAULT);
  pl_engine_destroy(r->engine);
  int rc = uv_loop_close(&r->loop) == 0 ? 0 : PL_EIO;
  fclose(r->log);
  free(r->log_text);
  free(r);
  return rc;
}
