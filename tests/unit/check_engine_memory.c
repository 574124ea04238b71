/* The engine under memory_limit: a fast source feeding a sink that stops
 * writing is held at the budget, then everything is delivered once the
 * sink goes on; a record larger than the budget goes through; pipelines
 * share one budget; a transform that multiplies records keeps to it. The
 * bookkeeping itself is check_memory_budget.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test_stages.h"
#include "test_suite.h"

static const char *const ten =
    "[\"{\\\"n\\\":1}\", \"{\\\"n\\\":2}\", \"{\\\"n\\\":3}\", "
    "\"{\\\"n\\\":4}\", \"{\\\"n\\\":5}\", \"{\\\"n\\\":6}\", "
    "\"{\\\"n\\\":7}\", \"{\\\"n\\\":8}\", \"{\\\"n\\\":9}\", "
    "\"{\\\"n\\\":10}\"]";

/* What a record of `size` bytes whose value has `members` is charged. */
/* What a record of the script source is charged: each has metadata of its
 * own (its origin), without attributes. */
static uint64_t cost(size_t size, size_t members) {
  return size + sizeof(struct pl_record) + members * PL_MEMORY_VALUE_ENTRY +
         PL_MEMORY_META;
}

/* The most one record of `ten` is charged ({"n":10} is 8 bytes). */
static uint64_t one_record(void) {
  return cost(8, 1);
}

/* A pipeline `name` whose script source emits `records` 100 times (1000
 * records of `ten`, one group each) into a capture sink with
 * `sink_extra`, whose queue alone would take them all. */
static void pipeline(pl_buf_t *buf, const char *name, const char *records,
                     const char *sink_extra) {
  pl_buf_printf(buf,
                "pipeline \"%s\" {\n"
                "  source \"script\" { records = %s\n repeat = 100 }\n"
                "  sink \"capture\" { queue_size = 10000\n max_in_flight = 4\n"
                "    %s }\n"
                "}\n",
                name, records, sink_extra);
}

static pl_memory_budget_t *budget(test_run_t *run) {
  return &run->engine->memory;
}

/* The value of the sample `name` (no labels) in /metrics. */
static unsigned long long scraped(test_run_t *run, const char *name) {
  pl_buf_t out = {0};
  pl__metrics_render(run->engine, &out);
  pl_buf_t line = {0};
  pl_buf_printf(&line, "\n%s ", name);
  const char *at = strstr(out.data, line.data);
  ck_assert_msg(at != NULL, "no %s in:\n%s", name, out.data);
  unsigned long long value = strtoull(at + line.len, NULL, 10);
  pl_buf_free(&line);
  pl_buf_free(&out);
  return value;
}

START_TEST(a_stalled_sink_holds_a_fast_source_at_the_budget) {
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "memory_limit = 4KiB\n");
  pipeline(&text, "p", ten, "stall = true");
  test_run_t *run = test_run_start(text.data, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_uint_eq(budget(run)->limit, 4096);
  /* The loop ends when nothing can move: the sink keeps its batches and
   * the source waits for the budget. */
  test_run_loop(run);
  test_source_t *source = test_ctx(run, "p", PL_ROLE_SOURCE);
  test_sink_t *sink = test_ctx(run, "p", PL_ROLE_SINK);
  ck_assert(test_stage(run, "p", PL_ROLE_SOURCE)->paused);
  ck_assert_uint_ge(budget(run)->pauses, 1);
  ck_assert_uint_lt(source->emitted, 1000);
  ck_assert_uint_eq(json_array_size(sink->records), 0);
  ck_assert_uint_gt(sink->stalled_records, 0);
  /* At the limit, and never more than one record past it. */
  ck_assert_uint_ge(budget(run)->held, 4096);
  ck_assert_uint_le(budget(run)->held, 4096 + one_record());
  ck_assert_uint_le(budget(run)->peak, 4096 + one_record());
  /* /metrics says so. */
  ck_assert_uint_eq(scraped(run, "pipelined_memory_held_bytes"),
                    budget(run)->held);
  ck_assert_uint_eq(scraped(run, "pipelined_memory_held_peak_bytes"),
                    budget(run)->peak);
  ck_assert_uint_eq(scraped(run, "pipelined_memory_limit_bytes"), 4096);
  ck_assert_uint_eq(scraped(run, "pipelined_memory_pauses_total"),
                    budget(run)->pauses);

  /* The sink writes again: the source resumes and everything arrives, in
   * order, with the budget still kept. */
  test_sink_release(sink);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink->records), 1000);
  for (size_t i = 0; i < 1000; i++) {
    json_t *n = json_object_get(json_array_get(sink->records, i), "n");
    ck_assert_int_eq(json_integer_value(n), (json_int_t)(i % 10) + 1);
  }
  ck_assert_uint_eq(source->committed, 1000);
  ck_assert_uint_ge(source->resumed, 1);
  ck_assert_uint_le(budget(run)->peak, 4096 + one_record());
  ck_assert_uint_eq(budget(run)->held, 0);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
}
END_TEST

START_TEST(without_a_limit_the_queue_alone_bounds_what_is_held) {
  /* The same pipeline without memory_limit: the sink's queue takes every
   * record, so the budget above is what held the source back. */
  pl_buf_t text = {0};
  pipeline(&text, "p", ten, "stall = true");
  test_run_t *run = test_run_start(text.data, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  test_run_loop(run);
  test_source_t *source = test_ctx(run, "p", PL_ROLE_SOURCE);
  ck_assert_uint_eq(source->emitted, 1000);
  ck_assert_uint_eq(budget(run)->pauses, 0);
  ck_assert_uint_eq(scraped(run, "pipelined_memory_limit_bytes"), 0);
  /* 900 records of 7 bytes, 100 of 8 ({"n":10}). */
  ck_assert_uint_eq(budget(run)->held, 1000 * cost(7, 1) + 100);
  test_sink_t *sink = test_ctx(run, "p", PL_ROLE_SINK);
  test_sink_release(sink);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink->records), 1000);
  ck_assert_uint_eq(budget(run)->held, 0);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
}
END_TEST

START_TEST(a_record_larger_than_the_budget_goes_through) {
  /* 3000 bytes under a 1 KiB budget: taken, then its source waits until it
   * is delivered, and the records after it follow. */
  pl_buf_t text = {0};
  pl_buf_append_str(&text, "memory_limit = 1KiB\n"
                           "pipeline \"p\" {\n"
                           "  source \"script\" { records = [\"\\\"");
  for (int i = 0; i < 3000; i++)
    pl_buf_append_str(&text, "x");
  pl_buf_append_str(&text,
                    "\\\"\", \"1\", \"2\"] }\n"
                    "  sink \"capture\" { async = true\n batch_size = 1 }\n"
                    "}\n");
  test_run_t *run = test_run(text.data, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 0);
  test_sink_t *sink = test_ctx(run, "p", PL_ROLE_SINK);
  ck_assert_uint_eq(json_array_size(sink->records), 3);
  ck_assert_uint_eq(strlen(json_string_value(json_array_get(sink->records, 0))),
                    3000);
  ck_assert_int_eq(json_integer_value(json_array_get(sink->records, 2)), 2);
  ck_assert_uint_eq(budget(run)->pauses, 1);
  ck_assert_uint_ge(budget(run)->peak, 3002);
  ck_assert_uint_eq(budget(run)->held, 0);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
}
END_TEST

START_TEST(pipelines_share_one_budget) {
  /* Pipeline a's stalled sink takes the whole budget with its first record
   * (5000 bytes); b's sink writes, but its source waits for the budget too
   * until a's sink goes on. */
  pl_buf_t text = {0}, big = {0};
  pl_buf_append_str(&big, "[\"\\\"");
  for (int i = 0; i < 4998; i++)
    pl_buf_append_str(&big, "x");
  pl_buf_append_str(&big, "\\\"\"]");
  pl_buf_append_str(&text, "memory_limit = 4KiB\n");
  pipeline(&text, "a", big.data, "stall = true");
  pipeline(&text, "b", ten, "async = true");
  test_run_t *run = test_run_start(text.data, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  test_run_loop(run);
  test_sink_t *a = test_ctx(run, "a", PL_ROLE_SINK);
  test_sink_t *b = test_ctx(run, "b", PL_ROLE_SINK);
  ck_assert(test_stage(run, "a", PL_ROLE_SOURCE)->paused);
  ck_assert_msg(test_stage(run, "b", PL_ROLE_SOURCE)->paused,
                "b delivered %zu, held %llu, a stalled %zu",
                json_array_size(b->records),
                (unsigned long long)budget(run)->held, a->stalled_records);
  ck_assert_uint_lt(json_array_size(b->records), 1000);
  /* Each source may be one record past the limit. */
  uint64_t most = 4096 + cost(5000, 0) + one_record();
  ck_assert_uint_le(budget(run)->peak, most);
  ck_assert_uint_ge(budget(run)->pauses, 2);

  /* a's records go: b's source is woken although nothing changed in its
   * own pipeline. */
  test_sink_release(a);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(a->records), 100);
  ck_assert_uint_eq(json_array_size(b->records), 1000);
  ck_assert_uint_le(budget(run)->peak, most);
  ck_assert_uint_eq(budget(run)->held, 0);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
  pl_buf_free(&big);
}
END_TEST

/* transform-split: each record becomes `copies` records of its size, as a
 * chunk becomes its rows. */
typedef struct split_options {
  int64_t copies;
} split_options_t;

static const pl_option_t split_options[] = {
    PL_OPTION_INT(split_options_t, copies, "copies", "10", 0,
                  "Records made of each one."),
};

static int split_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = (void *)options;
  return 0;
}

static void split_destroy(void *ctx) {
  (void)ctx;
}

static void split_process(pl_instance_t *inst, void *ctx, pl_record_t *record) {
  const split_options_t *opts = ctx;
  for (int64_t i = 0; i < opts->copies; i++) {
    pl_record_t *copy = pl_record_derive(record);
    pl_record_set_value_new(copy, json_incref(pl_record_value(record)));
    pl_record_set_size(copy, pl_record_size(record));
    pl_emit(inst, copy);
  }
  pl_record_done(record);
}

static const pl_plugin_t test_transform_split = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "split",
    .kind = PL_KIND_TRANSFORM,
    .description = "Test transform: each record becomes several.",
    .options = split_options,
    .options_count = sizeof(split_options) / sizeof(split_options[0]),
    .options_size = sizeof(split_options_t),
    .init = split_init,
    .process = split_process,
    .destroy = split_destroy,
};

START_TEST(a_transform_that_multiplies_records_waits_for_the_budget_too) {
  /* The source pauses at the budget, but its records queued before the
   * transform would each become ten: while the budget is full the
   * transform goes on only when the sink's queue is empty, one record at
   * a time. */
  pl_buf_t text = {0};
  pl_buf_printf(&text,
                "memory_limit = 4KiB\n"
                "pipeline \"p\" {\n"
                "  source \"script\" { records = %s\n repeat = 10 }\n"
                "  transform \"split\" { copies = 10 }\n"
                "  sink \"capture\" { stall = true\n queue_size = 10000\n"
                "    max_in_flight = 4 }\n"
                "}\n",
                ten);
  static const pl_plugin_t *const extra[] = {&test_transform_split, NULL};
  test_run_t *run = test_run_start(text.data, extra, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  test_run_loop(run);
  /* One source record and one record's ten copies past the limit. */
  uint64_t most = 4096 + 11 * one_record();
  ck_assert_uint_ge(budget(run)->held, 4096);
  ck_assert_uint_le(budget(run)->peak, most);
  test_sink_t *sink = test_ctx(run, "p", PL_ROLE_SINK);
  test_sink_release(sink);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_uint_eq(json_array_size(sink->records), 1000);
  ck_assert_uint_le(budget(run)->peak, most);
  ck_assert_uint_eq(budget(run)->held, 0);
  ck_assert_int_eq(test_run_free(run), 0);
  pl_buf_free(&text);
}
END_TEST

START_TEST(memory_limit_is_a_size) {
  test_run_t *run = test_run("memory_limit = \"lots\"\n"
                             "pipeline \"p\" { source \"script\" { records = "
                             "[] }\n sink \"capture\" { } }\n",
                             NULL, true);
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_ptr_nonnull(strstr(run->errors.data, "test.conf:1:"));
  ck_assert_ptr_nonnull(strstr(run->errors.data, "memory_limit"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("engine_memory");
  TCase *tc = tcase_create("budget");
  tcase_add_test(tc, a_stalled_sink_holds_a_fast_source_at_the_budget);
  tcase_add_test(tc, without_a_limit_the_queue_alone_bounds_what_is_held);
  tcase_add_test(tc, a_record_larger_than_the_budget_goes_through);
  tcase_add_test(tc, pipelines_share_one_budget);
  tcase_add_test(tc,
                 a_transform_that_multiplies_records_waits_for_the_budget_too);
  tcase_add_test(tc, memory_limit_is_a_size);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
