/* libpipelined-testing: the harness runs one plugin instance with scripted
 * stages around it, and the loopback HTTP server answers as scripted.
 * Everything here goes through the public headers only, as a plugin
 * author's test would. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/pipelined.h>
#include <pipelined/testing.h>

#include "test_suite.h"

/* ---- transform-tag: uppercases "name", rejects records without it ---- */

typedef struct tag_options {
  char *prefix;
} tag_options_t;

static const pl_option_t tag_options[] = {
    PL_OPTION_STRING(tag_options_t, prefix, "prefix", "", 0,
                     "Put before the name."),
};

static int tag_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = (void *)options;
  return 0;
}

static void tag_process(pl_instance_t *inst, void *ctx, pl_record_t *record) {
  const tag_options_t *opts = ctx;
  if (pl_record_is_cut(record)) { /* a cut passes through, counted */
    pl_instance_count(inst, "cuts", 1);
    pl_emit(inst, record);
    return;
  }
  size_t len = 0;
  const char *bytes = pl_record_bytes(record, &len);
  if (bytes) { /* bytes pass through, marked */
    pl_instance_count(inst, "chunks", 1);
    if (pl_record_is_last(record))
      pl_log(inst, PL_LOG_INFO, "end of stream after %zu byte(s)", len);
    pl_emit(inst, record);
    return;
  }
  json_t *value = pl_record_value(record);
  const char *name = json_string_value(json_object_get(value, "name"));
  if (!name) {
    pl_record_reject(record, "no name on line %llu",
                     (unsigned long long)pl_record_line(record));
    return;
  }
  pl_buf_t buf = {0};
  pl_buf_append_str(&buf, opts->prefix);
  for (const char *c = name; *c; c++)
    pl_buf_printf(&buf, "%c", *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
  json_object_set_new(value, "name", json_string(buf.data));
  pl_buf_free(&buf);
  pl_instance_count(inst, "tagged", 1);
  pl_emit(inst, record);
}

static void tag_destroy(void *ctx) {}

static const pl_plugin_t transform_tag = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "tag",
    .kind = PL_KIND_TRANSFORM,
    .description = "Test transform: uppercases names.",
    .options = tag_options,
    .options_count = 1,
    .options_size = sizeof(tag_options_t),
    .init = tag_init,
    .process = tag_process,
    .destroy = tag_destroy,
};

/* ---- transform-meta: writes each record's metadata into its value ---- */

static void meta_process(pl_instance_t *inst, void *ctx, pl_record_t *record) {
  json_t *meta =
      json_pack("{s:s?, s:s?, s:s?, s:s?, s:I}", "origin",
                pl_record_origin(record), "etag", pl_record_etag(record),
                "message_id", pl_record_message_id(record), "origin_time",
                pl_record_origin_time(record), "line",
                (json_int_t)pl_record_line(record));
  if (!pl_record_value(record))
    pl_record_set_value_new(record, json_object());
  json_object_set_new(pl_record_value(record), "meta", meta);
  pl_emit(inst, record);
}

static const pl_plugin_t transform_meta = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "meta",
    .kind = PL_KIND_TRANSFORM,
    .description = "Test transform: shows the metadata.",
    .init = tag_init,
    .process = meta_process,
    .destroy = tag_destroy,
};

/* ---- sink-flaky: fails the first write of each batch's records ---- */

typedef struct flaky {
  unsigned writes;
} flaky_t;

static int flaky_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = calloc(1, sizeof(flaky_t));
  return 0;
}

static void flaky_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  flaky_t *f = ctx;
  f->writes++;
  pl_instance_count(inst, "writes", 1);
  for (size_t i = 0; i < pl_batch_count(batch); i++) {
    json_t *value = pl_record_value(pl_batch_record(batch, i));
    if (json_object_get(value, "bad"))
      pl_batch_resolve(batch, i, PL_RESULT_REJECTED, "bad record");
  }
  pl_batch_done(batch,
                pl_batch_attempt(batch) == 0 ? PL_RESULT_FAILED
                                             : PL_RESULT_DELIVERED,
                "first attempt fails");
}

static void flaky_destroy(void *ctx) {
  free(ctx);
}

static const pl_plugin_t sink_flaky = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "flaky",
    .kind = PL_KIND_SINK,
    .description = "Test sink: every first attempt fails.",
    .init = flaky_init,
    .write = flaky_write,
    .destroy = flaky_destroy,
};

/* ---- sink-keep: counts what it keeps, and whether it is a dead letter ---- */

static void keep_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  pl_instance_count(inst, "kept", pl_batch_count(batch));
  if (pl_instance_dead_letter(inst))
    pl_instance_count(inst, "as_dead_letter", pl_batch_count(batch));
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static const pl_plugin_t sink_keep = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "keep",
    .kind = PL_KIND_SINK,
    .description = "Test sink: counts what it keeps.",
    .init = tag_init,
    .write = keep_write,
    .destroy = tag_destroy,
};

/* ---- source-count: emits n records; never exhausts with "forever" ---- */

typedef struct count_options {
  int64_t n;
  bool forever;
} count_options_t;

static const pl_option_t count_options[] = {
    PL_OPTION_INT(count_options_t, n, "n", "3", 0, "Records to emit."),
    PL_OPTION_BOOL(count_options_t, forever, "forever", "false", 0,
                   "Never say exhausted."),
};

typedef struct counter {
  const count_options_t *opts;
  size_t committed;
} counter_t;

static int count_init(pl_instance_t *inst, const void *options, void **ctx) {
  counter_t *c = calloc(1, sizeof(*c));
  c->opts = options;
  *ctx = c;
  return 0;
}

static int count_start(pl_instance_t *inst, void *ctx) {
  counter_t *c = ctx;
  pl_group_t *group = pl_group_create(inst, NULL);
  for (int64_t i = 0; i < c->opts->n; i++) {
    pl_record_t *rec = pl_record_create(group);
    pl_record_set_value_new(rec, json_pack("{sI}", "i", (json_int_t)i));
    pl_emit(inst, rec);
  }
  pl_group_seal(group, true);
  if (!c->opts->forever)
    pl_source_exhausted(inst);
  return 0;
}

static void count_stop(pl_instance_t *inst, void *ctx) {}

static void count_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                         pl_outcome_t outcome) {
  pl_instance_count(inst, "committed", 1);
}

static void count_destroy(void *ctx) {
  free(ctx);
}

static const pl_plugin_t source_count = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "count",
    .kind = PL_KIND_SOURCE,
    .description = "Test source: emits numbered records.",
    .options = count_options,
    .options_count = 2,
    .options_size = sizeof(count_options_t),
    .init = count_init,
    .start = count_start,
    .stop = count_stop,
    .commit = count_commit,
    .destroy = count_destroy,
};

static pl_test_t *harness(const pl_plugin_t *plugin) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(plugin, &t), 0);
  return t;
}

static void run_clean(pl_test_t *t) {
  int rc = pl_test_run(t, 5000);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
  ck_assert_msg(pl_test_status(t) == 0, "%s", pl_test_log(t));
}

/* ---- Transforms ---- */

START_TEST(a_transform_sees_fed_records_and_the_sink_captures_them) {
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_set_options(t, "prefix = \"x-\""), 0);
  ck_assert_int_eq(pl_test_feed_record(t, "{\"name\": \"ada\", \"n\": 1}"), 0);
  ck_assert_int_eq(pl_test_feed_record(t, "{\"name\": \"bo\"}"), 0);
  run_clean(t);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[{\"name\":\"x-ADA\",\"n\":1},{\"name\":\"x-BO\"}]");
  free(json);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_ptr_null(pl_test_record(t, 2));
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_uint_eq(pl_test_failed(t), 0);
  ck_assert_uint_eq(pl_test_counter(t, "tagged"), 2);
  ck_assert_uint_eq(pl_test_counter(t, "never"), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  ck_assert_ptr_nonnull(strstr(pl_test_config(t), "transform \"tag\""));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(rejected_records_reach_the_dead_letter_with_their_reason) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  pl_test_feed_record(t, "{\"other\": true}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert(json_is_true(json_object_get(pl_test_dead_letter(t, 0), "other")));
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 0), "no name on line 2");
  ck_assert_str_eq(json_string_value(json_object_get(
                       pl_test_dead_letter_document(t, 0), "stage")),
                   "transform-tag");
  ck_assert_ptr_null(pl_test_dead_letter_reason(t, 1));
  /* A dead-lettered record is resolved: the group commits. */
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(groups_and_byte_chunks_arrive_as_fed) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_feed_bytes(t, "ab", 2, false);
  pl_test_feed_bytes(t, "c\0d", 3, true);
  pl_test_end_group(t);
  pl_test_feed_record(t, "{\"name\": \"z\"}");
  pl_test_end_group(t);
  pl_test_feed_record(t, "{\"name\": \"y\"}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 3);
  ck_assert_uint_eq(pl_test_counter(t, "chunks"), 2);
  ck_assert_str_eq(json_string_value(pl_test_record(t, 0)), "ab");
  ck_assert_uint_eq(json_string_length(pl_test_record(t, 1)), 3);
  ck_assert_int_eq(memcmp(json_string_value(pl_test_record(t, 1)), "c\0d", 3),
                   0);
  ck_assert_ptr_nonnull(
      strstr(pl_test_log(t), "[transform-tag:test] end of stream after 3 "));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_config_error_is_told_and_nothing_runs) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_set_options(t, "prefx = \"a\"");
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  ck_assert_int_eq(pl_test_run(t, 1000), PL_EINVAL);
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "prefx"));
  ck_assert_int_eq(pl_test_status(t), -1);
  ck_assert_uint_eq(pl_test_counter(t, "tagged"), 0);
  ck_assert_int_eq(pl_test_run(t, 1000), PL_EINVAL); /* once only */
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(the_config_reads_the_injected_environment_only) {
  setenv("PL_TEST_PREFIX", "from-process", 1);
  pl_test_t *t = harness(&transform_tag);
  pl_test_setenv(t, "PL_TEST_PREFIX", "first");
  pl_test_setenv(t, "PL_TEST_PREFIX", "env-");
  pl_test_set_options(t, "prefix = \"${PL_TEST_PREFIX}\"");
  pl_test_feed_record(t, "{\"name\": \"q\"}");
  run_clean(t);
  ck_assert_str_eq(
      json_string_value(json_object_get(pl_test_record(t, 0), "name")),
      "env-Q");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = harness(&transform_tag);
  pl_test_set_options(t, "prefix = \"${PL_TEST_PREFIX}\"");
  pl_test_feed_record(t, "{\"name\": \"q\"}");
  ck_assert_int_eq(pl_test_run(t, 1000), PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "PL_TEST_PREFIX"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  unsetenv("PL_TEST_PREFIX");
}
END_TEST

START_TEST(bad_feeds_are_refused) {
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_feed_record(t, "{not json"), PL_EPARSE);
  ck_assert_int_eq(pl_test_feed_record(t, NULL), PL_EPARSE);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = harness(&source_count);
  ck_assert_int_eq(pl_test_feed_record(t, "1"), PL_EINVAL);
  ck_assert_int_eq(pl_test_feed_bytes(t, "x", 1, true), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_plugin_t future = transform_tag;
  future.abi_version = PL_ABI_VERSION + 1;
  ck_assert_int_eq(pl_test_create(&future, &t), PL_EINVAL);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(pl_test_destroy(NULL), 0);
}
END_TEST

/* ---- Sinks and sources ---- */

START_TEST(a_sink_failure_is_retried_and_rejections_dead_lettered) {
  pl_test_t *t = harness(&sink_flaky);
  pl_test_set_options(t,
                      "retry_backoff = \"1ms\"\nretry_backoff_max = \"2ms\"");
  pl_test_feed_record(t, "{\"ok\": 1}");
  pl_test_feed_record(t, "{\"bad\": 1}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_counter(t, "writes"), 2);
  ck_assert_uint_eq(pl_test_record_count(t), 0); /* nothing after a sink */
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 0), "bad record");
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_group_that_keeps_failing_is_seen_failed) {
  pl_test_t *t = harness(&sink_flaky);
  pl_test_set_options(t, "retry_limit = 0");
  pl_test_feed_record(t, "{\"ok\": 1}");
  ck_assert_int_eq(pl_test_run(t, 5000), 0);
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_uint_eq(pl_test_failed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_source_under_test_feeds_the_capturing_sink) {
  pl_test_t *t = harness(&source_count);
  pl_test_set_options(t, "n = 4");
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 4);
  ck_assert_int_eq(
      json_integer_value(json_object_get(pl_test_record(t, 3), "i")), 3);
  ck_assert_uint_eq(pl_test_counter(t, "committed"), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_run_that_does_not_end_times_out_and_shuts_down) {
  pl_test_t *t = harness(&source_count);
  pl_test_set_options(t, "forever = true");
  ck_assert_int_eq(pl_test_run(t, 50), PL_EAGAIN);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 3);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "shutting down"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* ---- What comes after the plugin under test ---- */

START_TEST(a_cut_reaches_the_plugin_between_chunks_of_its_group) {
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_feed_bytes(t, "ab", 2, false), 0);
  ck_assert_int_eq(pl_test_feed_cut(t), 0);
  ck_assert_int_eq(pl_test_feed_bytes(t, "abc", 3, true), 0);
  run_clean(t);
  ck_assert_uint_eq(pl_test_counter(t, "cuts"), 1);
  ck_assert_uint_eq(pl_test_counter(t, "chunks"), 2);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[\"ab\",\"\",\"abc\"]"); /* a cut has no bytes */
  free(json);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A source under test is fed nothing. */
  t = harness(&source_count);
  ck_assert_int_eq(pl_test_feed_cut(t), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(the_capturing_sink_fails_and_rejects_as_scripted) {
  /* The first write fails, its retry delivers: one group, committed. */
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_set_sink_options(t, "fail_first = 1\n"
                                               "reject_field = \"n\"\n"
                                               "retry_backoff = \"1ms\""),
                   0);
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  pl_test_feed_record(t, "{\"name\": \"b\", \"n\": 2}");
  run_clean(t);
  char *json = pl_test_records_json(t);
  ck_assert_str_eq(json, "[{\"name\":\"A\"}]");
  free(json);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 0), "has field 'n'");
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "scripted failure"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Every write fails: the group fails once its retries are spent. */
  t = harness(&transform_tag);
  pl_test_set_sink_options(t, "fail_always = true\nretry_limit = 1\n"
                              "retry_backoff = \"1ms\"");
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  ck_assert_int_eq(pl_test_run(t, 5000), 0);
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_failed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_slow_dead_letter_still_gets_every_rejection) {
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_set_dead_letter_options(
                       t, "delay_ms = 1\nqueue_size = 2\nbatch_size = 1"),
                   0);
  for (int i = 0; i < 20; i++)
    pl_test_feed_record(t, "{\"nameless\": true}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 20);
  ck_assert_str_eq(pl_test_dead_letter_reason(t, 19), "no name on line 20");
  /* All of them at once, the same documents. */
  ck_assert_uint_eq(json_array_size(pl_test_dead_letters(t)), 20);
  ck_assert_ptr_eq(json_array_get(pl_test_dead_letters(t), 19),
                   pl_test_dead_letter_document(t, 19));
  ck_assert_uint_eq(pl_test_committed(t), 1);
  /* A dead letter's block refuses what it does not know, as any stage. */
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = harness(&transform_tag);
  pl_test_set_dead_letter_options(t, "fail_sometimes = true");
  ck_assert_int_lt(pl_test_run(t, 5000), 0);
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "fail_sometimes"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(the_instance_under_test_is_there_for_a_white_box_look) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_set_options(t, "prefix = \"p-\"");
  ck_assert_ptr_null(pl_test_instance(t));
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  run_clean(t);
  pl_instance_t *inst = pl_test_instance(t);
  ck_assert_ptr_nonnull(inst);
  ck_assert_str_eq(pl_instance_pipeline(inst), "test");
  /* The tag transform's context is its options. */
  const tag_options_t *opts = pl_instance_context(inst);
  ck_assert_str_eq(opts->prefix, "p-");
  ck_assert_uint_eq(pl_instance_counter(inst, "tagged"), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A refused config has no instance. */
  t = harness(&transform_tag);
  pl_test_set_options(t, "prefix = 1");
  ck_assert_int_lt(pl_test_run(t, 5000), 0);
  ck_assert_ptr_null(pl_test_instance(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(fed_records_carry_the_metadata_given) {
  pl_test_t *t = harness(&transform_meta);
  pl_test_meta_t none = {0};
  ck_assert_int_eq(pl_test_feed_meta(t, &none), PL_EINVAL); /* nothing fed */
  ck_assert_int_eq(pl_test_feed_replay(t), PL_EINVAL);
  pl_test_feed_record(t, "{\"a\": 1}");
  pl_test_feed_record(t, "{\"b\": 2}");
  ck_assert_int_eq(
      pl_test_feed_meta(
          t, &(pl_test_meta_t){.origin = "s3://bucket/key",
                               .etag = "\"e1\"",
                               .message_id = "m-1",
                               .origin_time = "2026-05-01T10:00:00.123Z",
                               .line = 42}),
      0);
  ck_assert_int_eq(pl_test_feed_meta(t, &(pl_test_meta_t){.etag = "\"e2\""}),
                   0); /* a later call changes only what it gives */
  pl_test_feed_bytes(t, "x", 1, true);
  pl_test_feed_meta(t, &(pl_test_meta_t){.message_id = "m-2"});
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 3);
  json_t *first = json_object_get(pl_test_record(t, 0), "meta");
  ck_assert_str_eq(json_string_value(json_object_get(first, "origin")),
                   "test:feed");
  ck_assert_ptr_null(json_string_value(json_object_get(first, "etag")));
  ck_assert_int_eq(json_integer_value(json_object_get(first, "line")), 1);
  json_t *second = json_object_get(pl_test_record(t, 1), "meta");
  ck_assert_str_eq(json_string_value(json_object_get(second, "origin")),
                   "s3://bucket/key");
  ck_assert_str_eq(json_string_value(json_object_get(second, "etag")),
                   "\"e2\"");
  ck_assert_str_eq(json_string_value(json_object_get(second, "message_id")),
                   "m-1");
  ck_assert_str_eq(json_string_value(json_object_get(second, "origin_time")),
                   "2026-05-01T10:00:00.123Z");
  ck_assert_int_eq(json_integer_value(json_object_get(second, "line")), 42);
  /* Bytes carry metadata too. */
  json_t *third = json_object_get(pl_test_record(t, 2), "meta");
  ck_assert_str_eq(json_string_value(json_object_get(third, "message_id")),
                   "m-2");
  ck_assert_int_eq(pl_test_feed_meta(t, &none), PL_EINVAL); /* run begun */
  ck_assert_int_eq(pl_test_feed_replay(t), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_test_can_drive_the_loop_and_shut_the_run_down) {
  pl_test_t *t = harness(&source_count);
  pl_test_set_options(t, "forever = true");
  ck_assert_int_eq(pl_test_start(t), 0);
  ck_assert_int_eq(pl_test_start(t), PL_EINVAL);
  ck_assert_ptr_nonnull(pl_test_instance(t));
  while (pl_test_record_count(t) < 3)
    uv_run(pl_test_loop(t), UV_RUN_ONCE);
  pl_test_shutdown(t);
  /* The shutdown, not the timeout, ends it. */
  ck_assert_int_eq(pl_test_run(t, 60000), 0);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 3);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "shutting down"));
  ck_assert_int_eq(pl_test_run(t, 1000), PL_EINVAL);
  pl_test_shutdown(t); /* after the end: nothing */
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A refused config: the start says so, and there is no run to end. */
  t = harness(&source_count);
  pl_test_set_options(t, "n = \"three\"");
  ck_assert_int_lt(pl_test_start(t), 0);
  ck_assert_int_eq(pl_test_run(t, 1000), PL_EINVAL);
  pl_test_shutdown(t);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(captured_records_keep_their_metadata) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  pl_test_feed_meta(t,
                    &(pl_test_meta_t){.origin = "o", .etag = "e", .line = 5});
  pl_test_feed_bytes(t, "ab", 2, true);
  run_clean(t);
  json_t *first = pl_test_record_meta(t, 0);
  ck_assert_str_eq(json_string_value(json_object_get(first, "origin")), "o");
  ck_assert_str_eq(json_string_value(json_object_get(first, "etag")), "e");
  ck_assert_int_eq(json_integer_value(json_object_get(first, "line")), 5);
  ck_assert_ptr_null(json_object_get(first, "message_id"));
  ck_assert(json_is_false(json_object_get(first, "bytes")));
  ck_assert(json_is_false(json_object_get(first, "last")));
  json_t *second = pl_test_record_meta(t, 1);
  ck_assert_str_eq(json_string_value(json_object_get(second, "origin")),
                   "test:feed");
  ck_assert_ptr_null(json_object_get(second, "line")); /* bytes have none */
  ck_assert(json_is_true(json_object_get(second, "bytes")));
  ck_assert(json_is_true(json_object_get(second, "last")));
  ck_assert(json_is_false(json_object_get(second, "cut")));
  ck_assert_ptr_null(pl_test_record_meta(t, 2));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

typedef struct writes_seen {
  size_t calls;
  size_t captured_before[8];
} writes_seen_t;

static void count_write(pl_test_t *t, void *data) {
  writes_seen_t *w = data;
  if (w->calls < 8)
    w->captured_before[w->calls] = pl_test_record_count(t);
  w->calls++;
}

START_TEST(a_test_looks_in_at_each_write_of_the_capturing_sink) {
  pl_test_t *t = harness(&transform_tag);
  writes_seen_t seen = {0};
  ck_assert_int_eq(pl_test_on_write(t, count_write, &seen), 0);
  pl_test_set_sink_options(t, "batch_size = 1\nmax_in_flight = 1");
  for (int i = 0; i < 3; i++)
    pl_test_feed_record(t, "{\"name\": \"a\"}");
  run_clean(t);
  ck_assert_uint_eq(seen.calls, 3);
  for (size_t i = 0; i < 3; i++) /* before the batch is resolved */
    ck_assert_uint_eq(seen.captured_before[i], i);
  ck_assert_int_eq(pl_test_on_write(t, NULL, NULL), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(delayed_batches_may_wait_together) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_set_sink_options(t, "delay_ms = 5\nbatch_size = 1\n"
                              "max_in_flight = 4");
  for (int i = 0; i < 10; i++)
    pl_test_feed_record(t, "{\"name\": \"a\"}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 10);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A run shut down while batches wait: they fail, nothing leaks. */
  t = harness(&transform_tag);
  pl_test_set_sink_options(t, "delay_ms = 60000\nbatch_size = 1\n"
                              "max_in_flight = 4");
  pl_test_set_globals(t, "shutdown_timeout = \"100ms\"");
  for (int i = 0; i < 3; i++)
    pl_test_feed_record(t, "{\"name\": \"a\"}");
  ck_assert_int_eq(pl_test_run(t, 200), PL_EAGAIN);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(the_aws_server_is_the_harness_s_and_closed_with_it) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_http_t *server = pl_test_aws_server(t);
  ck_assert_ptr_nonnull(server);
  ck_assert_ptr_eq(pl_test_aws_server(t), server);
  /* The AWS environment names it. */
  pl_test_set_options(t, "prefix = \"${AWS_ENDPOINT_URL} ${AWS_REGION} \"");
  pl_test_feed_record(t, "{\"name\": \"x\"}");
  run_clean(t);
  char want[96];
  snprintf(want, sizeof(want), "%s us-east-1 X", pl_test_http_url(server));
  ck_assert_str_eq(
      json_string_value(json_object_get(pl_test_record(t, 0), "name")), want);
  ck_assert_int_eq(pl_test_destroy(t), 0); /* no pl_test_http_close */
}
END_TEST

START_TEST(a_daemon_run_ends_only_when_shut_down) {
  pl_test_t *t = harness(&source_count);
  pl_test_set_options(t, "n = 2");
  ck_assert_int_eq(pl_test_set_daemon(t, true), 0);
  /* Exhausted and resolved, but a daemon goes on: the timeout ends it. */
  ck_assert_int_eq(pl_test_run(t, 100), PL_EAGAIN);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_int_eq(pl_test_set_daemon(t, false), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Shut down, it ends by itself. */
  t = harness(&source_count);
  pl_test_set_daemon(t, true);
  ck_assert_int_eq(pl_test_start(t), 0);
  while (pl_test_record_count(t) < 3)
    uv_run(pl_test_loop(t), UV_RUN_ONCE);
  pl_test_shutdown(t);
  ck_assert_int_eq(pl_test_run(t, 60000), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(the_capturing_sink_renders_a_template_for_each_record) {
  pl_test_t *t = harness(&transform_tag);
  pl_test_set_sink_options(t, "render = \"${name}#${@line}\"");
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  run_clean(t);
  ck_assert_str_eq(
      json_string_value(json_object_get(pl_test_record_meta(t, 0), "rendered")),
      "A#1");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A field the record lacks: null. */
  t = harness(&transform_tag);
  pl_test_set_sink_options(t, "render = \"${nope}\"");
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  run_clean(t);
  ck_assert(
      json_is_null(json_object_get(pl_test_record_meta(t, 0), "rendered")));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(values_made_in_c_are_fed_as_they_are) {
  pl_test_t *t = harness(&transform_tag);
  json_t *odd = json_object();
  json_object_set_new(odd, "name", json_string_nocheck("a\xff"));
  ck_assert_int_eq(pl_test_feed_value(t, odd), 0);
  ck_assert_int_eq(pl_test_feed_value(t, json_pack("{s:s}", "name", "b")), 0);
  ck_assert_int_eq(pl_test_feed_value(t, NULL), PL_EINVAL);
  run_clean(t);
  ck_assert_uint_eq(pl_test_emitted(t), 2);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_str_eq(
      json_string_value(json_object_get(pl_test_record(t, 0), "name")),
      "a\xff"); /* as fed: the tag could not make it a JSON string */
  ck_assert_int_eq(
      json_integer_value(json_object_get(pl_test_record_meta(t, 1), "line")),
      2);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Refused, it is still taken. */
  t = harness(&source_count);
  ck_assert_int_eq(pl_test_feed_value(t, json_object()), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_sink_under_test_can_be_the_dead_letter) {
  pl_test_t *t = harness(&sink_keep);
  ck_assert_int_eq(pl_test_set_as_dead_letter(t, true), 0);
  pl_test_set_sink_options(t, "reject_field = \"bad\"");
  pl_test_feed_record(t, "{\"ok\": 1}");
  pl_test_feed_record(t, "{\"bad\": 1}");
  pl_test_feed_record(t, "{\"ok\": 3}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 2); /* the capturing sink's */
  ck_assert_uint_eq(pl_test_counter(t, "kept"), 1);
  ck_assert_uint_eq(pl_test_counter(t, "as_dead_letter"), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_config(t), "dead_letter \"keep\""));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Only a sink can. */
  t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_set_as_dead_letter(t, true), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(a_real_dead_letter_can_take_the_capturing_one_s_place) {
  pl_test_t *t = harness(&transform_tag);
  ck_assert_int_eq(pl_test_set_dead_letter(t, &transform_tag, ""), PL_EINVAL);
  ck_assert_int_eq(pl_test_set_dead_letter(t, &sink_keep, "batch_size = 1"), 0);
  pl_test_feed_record(t, "{\"name\": \"a\"}");
  pl_test_feed_record(t, "{\"nameless\": 1}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0); /* keep has it */
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_config(t), "dead_letter \"keep\""));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* The plugin under test, twice: as the sink and as the dead letter. */
  t = harness(&sink_keep);
  ck_assert_int_eq(pl_test_set_dead_letter(t, &sink_keep, ""), 0);
  ck_assert_int_eq(pl_test_set_as_dead_letter(t, true), PL_EINVAL);
  pl_test_feed_record(t, "{\"n\": 1}");
  run_clean(t);
  ck_assert_uint_eq(pl_test_counter(t, "kept"), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_config(t), "sink \"keep\""));
  ck_assert_ptr_nonnull(strstr(pl_test_config(t), "dead_letter \"keep\""));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

typedef struct commits_seen {
  size_t calls;
  size_t failed;
  uint64_t kept_at_first;
} commits_seen_t;

static void note_commit(pl_test_t *t, bool committed, void *data) {
  commits_seen_t *c = data;
  if (c->calls++ == 0)
    c->kept_at_first = pl_test_counter(t, "kept");
  c->failed += !committed;
}

START_TEST(a_test_sees_each_group_resolved_as_it_happens) {
  pl_test_t *t = harness(&sink_keep);
  commits_seen_t seen = {0};
  ck_assert_int_eq(pl_test_on_commit(t, note_commit, &seen), 0);
  pl_test_set_options(t, "batch_size = 1\nmax_in_flight = 1");
  pl_test_feed_record(t, "{\"n\": 1}");
  pl_test_end_group(t);
  pl_test_feed_record(t, "{\"n\": 2}");
  run_clean(t);
  ck_assert_uint_eq(seen.calls, 2);
  ck_assert_uint_eq(seen.failed, 0);
  ck_assert_uint_ge(seen.kept_at_first, 1); /* written before its ack */
  ck_assert_int_eq(pl_test_on_commit(t, NULL, NULL), PL_EINVAL);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A failed group is told too. */
  t = harness(&sink_flaky);
  seen = (commits_seen_t){0};
  pl_test_on_commit(t, note_commit, &seen);
  pl_test_set_options(t, "retry_limit = 0");
  pl_test_feed_record(t, "{\"n\": 1}");
  ck_assert_int_eq(pl_test_run(t, 5000), 0);
  ck_assert_uint_eq(seen.calls, 1);
  ck_assert_uint_eq(seen.failed, 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* ---- Records outside a run ---- */

START_TEST(records_outside_a_run_carry_values_and_metadata) {
  pl_test_records_t *set = NULL;
  ck_assert_int_eq(pl_test_records_create(&set), 0);
  pl_record_t *rec = pl_test_records_add(set, "{\"id\": \"a\", \"n\": 2}");
  ck_assert_ptr_nonnull(rec);
  pl_record_set_line(rec, 7);
  ck_assert_int_eq(pl_record_set_origin_time(rec, "2026-05-01T10:00:00Z"), 0);
  ck_assert_int_eq(
      json_integer_value(json_object_get(pl_record_value(rec), "n")), 2);
  ck_assert_uint_eq(pl_record_line(rec), 7);
  pl_record_t *raw = pl_test_records_add(set, NULL);
  ck_assert_ptr_nonnull(raw);
  ck_assert_ptr_null(pl_record_value(raw));
  ck_assert_int_eq(pl_record_set_bytes(raw, "x,y", 3), 0);
  size_t len = 0;
  ck_assert_ptr_nonnull(pl_record_bytes(raw, &len));
  ck_assert_uint_eq(len, 3);
  ck_assert_ptr_null(pl_test_records_add(set, "{not json"));
  /* Many records: the set grows. */
  for (int i = 0; i < 100; i++)
    ck_assert_ptr_nonnull(pl_test_records_add(set, "[]"));
  ck_assert_int_eq(pl_test_records_destroy(set), 0);
  ck_assert_int_eq(pl_test_records_destroy(NULL), 0);
}
END_TEST

/* The metadata setters take UTF-8 only (the texts become JSON strings);
 * a refused one leaves what was there. */
START_TEST(metadata_setters_refuse_what_is_not_utf8) {
  pl_test_records_t *set = NULL;
  ck_assert_int_eq(pl_test_records_create(&set), 0);
  pl_record_t *rec = pl_test_records_add(set, "{}");
  ck_assert_ptr_nonnull(rec);
  ck_assert_int_eq(pl_record_set_message_id(rec, "m-\xc3\xa9t\xc3\xa9-1"), 0);
  ck_assert_str_eq(pl_record_message_id(rec), "m-\xc3\xa9t\xc3\xa9-1");
  /* A lone continuation byte, an overlong '/', a surrogate, above
   * U+10FFFF, a sequence cut short, past the ASCII of a long text. */
  static const char *const bad[] = {
      "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
      "abcdefghijklmnopqrstuvwxyz0123456789\xe2\x82"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    ck_assert_int_eq(pl_record_set_message_id(rec, bad[i]), PL_EINVAL);
    ck_assert_int_eq(pl_record_set_origin(rec, bad[i]), PL_EINVAL);
    /* Not a singleton: a value not released on refusal would leak. */
    ck_assert_int_eq(
        pl_record_set_attribute_new(rec, bad[i], json_integer((json_int_t)i)),
        PL_EINVAL);
  }
  ck_assert_str_eq(pl_record_message_id(rec), "m-\xc3\xa9t\xc3\xa9-1");
  ck_assert_ptr_null(pl_record_origin(rec));
  ck_assert_ptr_null(pl_record_attributes(rec));
  ck_assert_int_eq(pl_record_set_attribute_new(rec, NULL, json_integer(1)),
                   PL_EINVAL);
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "absent", NULL), PL_EINVAL);
  ck_assert_ptr_null(pl_record_attributes(rec));
  ck_assert_int_eq(
      pl_record_set_attribute_new(rec, "n\xc3\xbcmero", json_integer(3)), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(pl_record_attributes(rec),
                                                      "n\xc3\xbcmero")),
                   3);
  ck_assert_int_eq(pl_record_set_origin(rec, NULL), 0);
  ck_assert_int_eq(pl_test_records_destroy(set), 0);
}
END_TEST

/* ---- The HTTP server ---- */

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  pl_buf_t reply;
  bool closed;
} client_t;

static void client_closed(uv_handle_t *handle) {
  ((client_t *)handle->data)->closed = true;
}

static void client_alloc(uv_handle_t *handle, size_t size, uv_buf_t *buf) {
  static char space[4096]; /* one client at a time, in this test only */
  *buf = uv_buf_init(space, sizeof(space));
}

static void client_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  client_t *c = stream->data;
  if (n > 0)
    pl_buf_append(&c->reply, buf->base, (size_t)n);
  if (n < 0 || strstr(c->reply.data ? c->reply.data : "", "hello"))
    uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void client_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  ck_assert_int_eq(status, 0);
  static const char request[] = "POST /in?x=1 HTTP/1.1\r\nHost: h\r\n"
                                "X-Test: yes\r\nContent-Length: 4\r\n\r\nbody";
  uv_buf_t buf = uv_buf_init((char *)request, sizeof(request) - 1);
  uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, NULL);
  uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read);
}

START_TEST(the_http_server_answers_as_scripted_and_records_requests) {
  pl_test_t *t = harness(&transform_tag);
  uv_loop_t *loop = pl_test_loop(t);
  pl_test_http_t *server = NULL;
  ck_assert_int_eq(pl_test_http_start(loop, &server), 0);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d", pl_test_http_port(server));
  ck_assert_str_eq(pl_test_http_url(server), url);
  pl_test_http_push_status(server, 201, "hello", 1);
  client_t c = {0};
  uv_tcp_init(loop, &c.tcp);
  c.tcp.data = c.connect.data = &c;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", pl_test_http_port(server), &addr);
  uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr,
                 client_connected);
  while (!c.closed)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_ptr_nonnull(strstr(c.reply.data, "HTTP/1.1 201"));
  ck_assert_uint_eq(pl_test_http_request_count(server), 1);
  const pl_test_http_request_t *req = pl_test_http_request(server, 0);
  ck_assert_str_eq(req->method, "POST");
  ck_assert_str_eq(req->path, "/in?x=1");
  ck_assert_str_eq(req->body, "body");
  ck_assert_uint_eq(req->concurrent, 1); /* alone on the server */
  char *header = pl_test_http_request_header(req, "x-test");
  ck_assert_str_eq(header, "yes");
  free(header);
  ck_assert_ptr_null(pl_test_http_request_header(req, "X-None"));
  ck_assert_ptr_null(pl_test_http_request(server, 1));
  /* use_aws points the AWS layer at the server. */
  pl_test_use_aws(t, server);
  pl_test_set_options(t, "prefix = \"${AWS_ENDPOINT_URL}/\"");
  pl_test_feed_record(t, "{\"name\": \"k\"}");
  ck_assert_int_eq(pl_test_run(t, 5000), 0);
  char expected[80];
  snprintf(expected, sizeof(expected), "%s/K", url);
  ck_assert_str_eq(
      json_string_value(json_object_get(pl_test_record(t, 0), "name")),
      expected);
  pl_buf_free(&c.reply);
  pl_test_http_close(server);
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("testing");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_transform_sees_fed_records_and_the_sink_captures_them);
  tcase_add_test(tc, rejected_records_reach_the_dead_letter_with_their_reason);
  tcase_add_test(tc, groups_and_byte_chunks_arrive_as_fed);
  tcase_add_test(tc, a_config_error_is_told_and_nothing_runs);
  tcase_add_test(tc, the_config_reads_the_injected_environment_only);
  tcase_add_test(tc, bad_feeds_are_refused);
  tcase_add_test(tc, a_sink_failure_is_retried_and_rejections_dead_lettered);
  tcase_add_test(tc, a_group_that_keeps_failing_is_seen_failed);
  tcase_add_test(tc, a_source_under_test_feeds_the_capturing_sink);
  tcase_add_test(tc, a_run_that_does_not_end_times_out_and_shuts_down);
  tcase_add_test(tc, a_cut_reaches_the_plugin_between_chunks_of_its_group);
  tcase_add_test(tc, the_capturing_sink_fails_and_rejects_as_scripted);
  tcase_add_test(tc, a_slow_dead_letter_still_gets_every_rejection);
  tcase_add_test(tc, the_instance_under_test_is_there_for_a_white_box_look);
  tcase_add_test(tc, records_outside_a_run_carry_values_and_metadata);
  tcase_add_test(tc, metadata_setters_refuse_what_is_not_utf8);
  tcase_add_test(tc, fed_records_carry_the_metadata_given);
  tcase_add_test(tc, captured_records_keep_their_metadata);
  tcase_add_test(tc, a_test_looks_in_at_each_write_of_the_capturing_sink);
  tcase_add_test(tc, delayed_batches_may_wait_together);
  tcase_add_test(tc, the_aws_server_is_the_harness_s_and_closed_with_it);
  tcase_add_test(tc, a_daemon_run_ends_only_when_shut_down);
  tcase_add_test(tc, the_capturing_sink_renders_a_template_for_each_record);
  tcase_add_test(tc, values_made_in_c_are_fed_as_they_are);
  tcase_add_test(tc, a_sink_under_test_can_be_the_dead_letter);
  tcase_add_test(tc, a_real_dead_letter_can_take_the_capturing_one_s_place);
  tcase_add_test(tc, a_test_sees_each_group_resolved_as_it_happens);
  tcase_add_test(tc, a_test_can_drive_the_loop_and_shut_the_run_down);
  tcase_add_test(tc, the_http_server_answers_as_scripted_and_records_requests);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
