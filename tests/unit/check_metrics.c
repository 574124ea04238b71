/* Check suite for src/metrics.c: parsing of metrics_listen, the
 * Prometheus exposition of an engine that ran pipelines with the test
 * source and sink, and the HTTP listener (/metrics, /healthz, 404, 405,
 * split and oversized requests, connections open at shutdown), driven by
 * libuv TCP clients on the engine's own loop. */
#include "build_config.h"
#include "metrics.h"
#include "metrics_server.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "test_stages.h"
#include "test_suite.h"

/* ---- Parsing metrics_listen ---- */

static int parse(const char *text, struct sockaddr_storage *addr) {
  memset(addr, 0xA5, sizeof(*addr));
  return pl__metrics_parse_listen(text, addr);
}

static void assert_ipv4(const char *text, const char *host, int port) {
  struct sockaddr_storage addr;
  ck_assert_msg(parse(text, &addr) == 0, "%s", text);
  ck_assert_int_eq(addr.ss_family, AF_INET);
  char name[64];
  const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;
  ck_assert_int_eq(uv_ip4_name(in, name, sizeof name), 0);
  ck_assert_str_eq(name, host);
  ck_assert_int_eq(ntohs(in->sin_port), port);
}

static void assert_ipv6(const char *text, const char *host, int port) {
  struct sockaddr_storage addr;
  ck_assert_msg(parse(text, &addr) == 0, "%s", text);
  ck_assert_int_eq(addr.ss_family, AF_INET6);
  char name[64];
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;
  ck_assert_int_eq(uv_ip6_name(in6, name, sizeof name), 0);
  ck_assert_str_eq(name, host);
  ck_assert_int_eq(ntohs(in6->sin6_port), port);
}

START_TEST(ipv4_addresses_parse) {
  assert_ipv4("127.0.0.1:9100", "127.0.0.1", 9100);
  assert_ipv4("0.0.0.0:0", "0.0.0.0", 0);
  assert_ipv4("10.1.2.3:65535", "10.1.2.3", 65535);
  assert_ipv4("127.0.0.1:080", "127.0.0.1", 80);
}
END_TEST

START_TEST(bracketed_ipv6_addresses_parse) {
  assert_ipv6("[::1]:80", "::1", 80);
  assert_ipv6("[::]:9100", "::", 9100);
  assert_ipv6("[fe80::1:2]:1", "fe80::1:2", 1);
}
END_TEST

START_TEST(malformed_addresses_are_refused) {
  static const char *const bad[] = {
      "",
      "9100",
      ":9100",
      "127.0.0.1",
      "127.0.0.1:",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:80x",
      "127.0.0.1:http",
      "127.0.0.1:99999999999999999999999",
      "localhost:9100",
      "256.0.0.1:80",
      "1.2.3:80",
      "[::1]",
      "[::1]:",
      "[]:80",
      "[::1:80",
      "[zz::1]:80",
      "example.com:443",
      "123456789012345678901234567890123456789012345678901234567890123456"
      "7890:80",
      NULL,
  };
  for (size_t i = 0; bad[i]; i++) {
    struct sockaddr_storage addr;
    ck_assert_msg(parse(bad[i], &addr) == PL_EINVAL, "'%s' was accepted",
                  bad[i]);
  }
}
END_TEST

/* ---- Rendering ---- */

static const char *const three_records =
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"{\\\"n\\\":1}\", \"{\\\"n\\\":2}\", "
    "\"{\\\"n\\\":3}\"] }\n"
    "  sink \"capture\" { }\n"
    "}\n";

static char *render(const test_run_t *run) {
  pl_buf_t out = {0};
  pl__metrics_render(run->engine, &out);
  ck_assert_ptr_nonnull(out.data);
  return out.data;
}

/* Checks that `line` is a whole line of `text`. */
static void assert_line(const char *text, const char *line) {
  size_t len = strlen(line);
  for (const char *p = text; (p = strstr(p, line)); p++) {
    if ((p == text || p[-1] == '\n') && p[len] == '\n')
      return;
  }
  ck_abort_msg("no line '%s' in:\n%s", line, text);
}

/* Checks a text exposition strictly (the Prometheus text format 0.0.4):
 * every family has exactly one HELP line, then its TYPE line, then all of
 * its samples together; every sample is `name[{labels}] value` with the
 * family's name and a number; no series (name and labels) twice; counter
 * names end in _total. */
static void assert_exposition_is_well_formed(const char *text) {
  char family[128] = "";
  char type[16] = "";
  json_t *families = json_object();
  json_t *series = json_object();
  const char *line = text;
  while (*line) {
    const char *end = strchr(line, '\n');
    ck_assert_msg(end != NULL, "the last line has no newline");
    size_t len = (size_t)(end - line);
    char copy[512];
    ck_assert_uint_lt(len, sizeof copy);
    memcpy(copy, line, len);
    copy[len] = '\0';
    if (strncmp(copy, "# HELP ", 7) == 0) {
      char name[128];
      ck_assert_int_eq(sscanf(copy + 7, "%127s", name), 1);
      ck_assert_msg(!json_object_get(families, name),
                    "family %s declared twice (or its samples are split)",
                    name);
      json_object_set_new(families, name, json_true());
      snprintf(family, sizeof family, "%s", name);
      char type_line[256];
      snprintf(type_line, sizeof type_line, "# TYPE %s ", name);
      ck_assert_msg(strncmp(end + 1, type_line, strlen(type_line)) == 0,
                    "no TYPE after HELP %s", name);
      type[0] = '\0';
    } else if (strncmp(copy, "# TYPE ", 7) == 0) {
      char name[128];
      ck_assert_int_eq(sscanf(copy + 7, "%127s %15s", name, type), 2);
      ck_assert_str_eq(name, family);
      ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0,
                    "type %s of %s", type, name);
      if (strcmp(type, "counter") == 0) {
        size_t n = strlen(name);
        ck_assert_msg(n > 6 && strcmp(name + n - 6, "_total") == 0,
                      "counter %s does not end in _total", name);
      }
    } else {
      ck_assert_msg(copy[0] != '#', "stray comment '%s'", copy);
      ck_assert_msg(type[0] != '\0', "sample before its TYPE: '%s'", copy);
      char *space = strrchr(copy, ' ');
      ck_assert_msg(space != NULL, "bad sample '%s'", copy);
      char *value_end = NULL;
      strtod(space + 1, &value_end);
      ck_assert_msg(value_end != space + 1 && *value_end == '\0',
                    "bad value in '%s'", copy);
      *space = '\0';
      ck_assert_msg(!json_object_get(series, copy), "series %s twice", copy);
      json_object_set_new(series, copy, json_true());
      char *brace = strchr(copy, '{');
      if (brace) {
        ck_assert_msg(copy[strlen(copy) - 1] == '}', "bad labels '%s'", copy);
        *brace = '\0';
      }
      for (const char *c = copy; *c; c++)
        ck_assert_msg((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                          (*c >= '0' && *c <= '9' && c != copy) || *c == '_' ||
                          *c == ':',
                      "bad metric name '%s'", copy);
      ck_assert_msg(strcmp(copy, family) == 0,
                    "sample %s outside its family %s", copy, family);
    }
    line = end + 1;
  }
  json_decref(families);
  json_decref(series);
}

START_TEST(render_reports_every_stage_counter) {
  test_run_t *run = test_run(three_records, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  char *text = render(run);
  assert_line(text, "# HELP pipelined_records_in_total records taken in");
  assert_line(text, "# TYPE pipelined_records_in_total counter");
  assert_line(text, "pipelined_records_out_total{pipeline=\"p\",stage="
                    "\"source\",plugin=\"source-script\"} 3");
  assert_line(text, "pipelined_records_in_total{pipeline=\"p\",stage="
                    "\"source\",plugin=\"source-script\"} 0");
  assert_line(text, "pipelined_records_in_total{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 3");
  assert_line(text, "pipelined_records_out_total{pipeline=\"p\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 3");
  assert_line(text, "pipelined_rejected_total{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\",reason=\"other\"} 0");
  assert_line(text, "pipelined_failed_total{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 0");
  assert_line(text, "pipelined_retried_total{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 0");
  /* Each record is 7 bytes of JSON text. */
  assert_line(text, "pipelined_bytes_total{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 21");
  assert_line(text, "# TYPE pipelined_queue_depth gauge");
  assert_line(text, "pipelined_queue_depth{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 0");
  assert_line(text, "# TYPE pipelined_in_flight gauge");
  assert_line(text, "pipelined_in_flight{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 0");
  assert_line(text, "# TYPE pipelined_groups_committed_total counter");
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"p\"} 3");
  assert_line(text, "pipelined_groups_failed_total{pipeline=\"p\"} 0");
  assert_exposition_is_well_formed(text);
  /* The batch count agrees with the sink's own view. */
  test_sink_t *sink = test_ctx(run, "p", PL_ROLE_SINK);
  char batches[160];
  snprintf(batches, sizeof batches,
           "pipelined_batches_total{pipeline=\"p\",stage=\"sink\",plugin="
           "\"sink-capture\"} %zu",
           sink->batches_seen);
  assert_line(text, batches);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_appends_to_the_buffer) {
  test_run_t *run = test_run(three_records, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "before\n");
  pl__metrics_render(run->engine, &out);
  ck_assert_int_eq(strncmp(out.data, "before\n# HELP ", 14), 0);
  pl_buf_free(&out);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_labels_the_dead_letter_and_counts_rejections) {
  const char *config =
      "pipeline \"dl\" {\n"
      "  source \"script\" { records = [\"{\\\"bad\\\":1}\", \"{\\\"n\\\":2}\"]"
      "\n group_size = 2 }\n"
      "  sink \"capture\" { reject_field = \"bad\" }\n"
      "  dead_letter \"capture\" { }\n"
      "}\n";
  test_run_t *run = test_run(config, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  char *text = render(run);
  assert_line(text, "pipelined_rejected_total{pipeline=\"dl\",stage=\"sink\","
                    "plugin=\"sink-capture\",reason=\"other\"} 1");
  assert_line(text, "pipelined_records_out_total{pipeline=\"dl\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 1");
  assert_line(text, "pipelined_records_in_total{pipeline=\"dl\",stage="
                    "\"dead_letter\",plugin=\"sink-capture\"} 1");
  assert_line(text, "pipelined_records_out_total{pipeline=\"dl\",stage="
                    "\"dead_letter\",plugin=\"sink-capture\"} 1");
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"dl\"} 1");
  assert_line(text, "pipelined_groups_failed_total{pipeline=\"dl\"} 0");
  assert_exposition_is_well_formed(text);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_counts_failures_and_retries) {
  const char *config =
      "pipeline \"f\" {\n"
      "  source \"script\" { records = [\"{\\\"n\\\":1}\", \"{\\\"n\\\":2}\"] "
      "}\n"
      "  sink \"capture\" { fail_always = true\n retry_limit = 1\n"
      " retry_backoff = 1ms\n retry_backoff_max = 1ms\n batch_size = 1 }\n"
      "}\n";
  test_run_t *run = test_run(config, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  ck_assert_int_eq(run->status, 1);
  char *text = render(run);
  assert_line(text, "pipelined_failed_total{pipeline=\"f\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 2");
  assert_line(text, "pipelined_retried_total{pipeline=\"f\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 2");
  assert_line(text, "pipelined_records_out_total{pipeline=\"f\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 0");
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"f\"} 0");
  assert_line(text, "pipelined_groups_failed_total{pipeline=\"f\"} 2");
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_lists_every_pipeline) {
  const char *config =
      "pipeline \"a\" { source \"script\" { records = [\"1\", \"2\"] }\n"
      "  sink \"capture\" { } }\n"
      "pipeline \"b\" { source \"script\" { records = [\"3\"] }\n"
      "  sink \"capture\" { } }\n";
  test_run_t *run = test_run(config, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  char *text = render(run);
  assert_line(text, "pipelined_records_out_total{pipeline=\"a\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 2");
  assert_line(text, "pipelined_records_out_total{pipeline=\"b\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 1");
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"a\"} 2");
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"b\"} 1");
  assert_exposition_is_well_formed(text);
  /* Pipelines appear in config order within each family. */
  const char *a = strstr(text, "pipelined_groups_committed_total{pipeline=\"a\"}");
  const char *b = strstr(text, "pipelined_groups_committed_total{pipeline=\"b\"}");
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert(a < b);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_exports_plugin_counters) {
  test_run_t *run = test_run(three_records, NULL, true);
  ck_assert_int_eq(run->create_rc, 0);
  pl_instance_t *source = test_stage(run, "p", PL_ROLE_SOURCE);
  pl_instance_t *sink = test_stage(run, "p", PL_ROLE_SINK);
  pl_instance_count(source, "files", 2);
  pl_instance_count(source, "files", 3);
  pl_instance_count(source, "bytes_read", 0);
  pl_instance_count(sink, "requests", 7);
  char *text = render(run);
  assert_line(text, "pipelined_plugin_files_total{pipeline=\"p\",stage="
                    "\"source\",plugin=\"source-script\"} 5");
  assert_line(text, "pipelined_plugin_bytes_read_total{pipeline=\"p\",stage="
                    "\"source\",plugin=\"source-script\"} 0");
  assert_line(text, "pipelined_plugin_requests_total{pipeline=\"p\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 7");
  assert_exposition_is_well_formed(text);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(plugin_counters_of_several_stages_are_one_family) {
  static const char two[] =
      "pipeline \"a\" { source \"script\" { records = [\"1\"] }\n"
      "  sink \"capture\" { } }\n"
      "pipeline \"b\" { source \"script\" { records = [\"2\"] }\n"
      "  sink \"capture\" { } }\n";
  test_run_t *run = test_run(two, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  /* Interleaved: a's sink counts x and y, b's source y and x. */
  pl_instance_count(test_stage(run, "a", PL_ROLE_SINK), "x", 1);
  pl_instance_count(test_stage(run, "a", PL_ROLE_SINK), "y", 2);
  pl_instance_count(test_stage(run, "b", PL_ROLE_SOURCE), "y", 3);
  pl_instance_count(test_stage(run, "b", PL_ROLE_SOURCE), "x", 4);
  /* What a metric name cannot hold becomes '_'. */
  pl_instance_count(test_stage(run, "b", PL_ROLE_SINK), "rows.bad-ish", 5);
  char *text = render(run);
  assert_exposition_is_well_formed(text);
  assert_line(text, "# TYPE pipelined_plugin_x_total counter");
  assert_line(text, "pipelined_plugin_x_total{pipeline=\"a\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 1");
  assert_line(text, "pipelined_plugin_x_total{pipeline=\"b\",stage="
                    "\"source\",plugin=\"source-script\"} 4");
  assert_line(text, "pipelined_plugin_y_total{pipeline=\"b\",stage="
                    "\"source\",plugin=\"source-script\"} 3");
  assert_line(text, "pipelined_plugin_rows_bad_ish_total{pipeline=\"b\","
                    "stage=\"sink\",plugin=\"sink-capture\"} 5");
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_reports_the_build_the_process_and_sink_limits) {
  static const char limited[] =
      "pipeline \"p\" { source \"script\" { records = [\"1\"] }\n"
      "  sink \"capture\" { max_in_flight = 3 } }\n";
  test_run_t *run = test_run(limited, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  char *text = render(run);
  assert_exposition_is_well_formed(text);
  assert_line(text, "pipelined_build_info{version=\"" PACKAGE_VERSION "\"} 1");
  assert_line(text, "pipelined_in_flight_limit{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 3");
  /* A source has no in-flight limit: no series rather than a zero. */
  ck_assert_ptr_null(strstr(text, "pipelined_in_flight_limit{pipeline=\"p\","
                                  "stage=\"source\""));
  assert_line(text, "pipelined_queue_bytes{pipeline=\"p\",stage=\"sink\","
                    "plugin=\"sink-capture\"} 0");
  assert_line(text, "# TYPE process_cpu_seconds_total counter");
  assert_line(text, "# TYPE process_resident_memory_bytes gauge");
  assert_line(text, "# TYPE process_open_fds gauge");
  const char *rss = strstr(text, "\nprocess_resident_memory_bytes ");
  ck_assert_ptr_nonnull(rss);
  ck_assert_int_gt(atoll(rss + 31), 1024 * 1024);
  const char *fds = strstr(text, "\nprocess_open_fds ");
  ck_assert_ptr_nonnull(fds);
  ck_assert_int_ge(atoll(fds + 18), 3);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_reports_a_sinks_concurrency_limit) {
  static const char limited[] =
      "pipeline \"p\" { source \"script\" { records = [\"1\"] }\n"
      "  sink \"capture\" { max_in_flight = 16 } }\n";
  test_run_t *run = test_run(limited, NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  /* Nothing reported yet: the family, but no series. */
  char *text = render(run);
  assert_exposition_is_well_formed(text);
  assert_line(text, "# TYPE pipelined_concurrency_limit gauge");
  ck_assert_ptr_null(strstr(text, "pipelined_concurrency_limit{"));
  free(text);
  pl_instance_t *sink = test_stage(run, "p", PL_ROLE_SINK);
  ck_assert(pl_instance_concurrency_adaptive(sink));
  pl_instance_set_concurrency_limit(sink, 4);
  pl_instance_set_concurrency_limit(sink, 8);
  text = render(run);
  assert_exposition_is_well_formed(text);
  assert_line(text, "pipelined_concurrency_limit{pipeline=\"p\",stage="
                    "\"sink\",plugin=\"sink-capture\"} 8");
  ck_assert_ptr_null(strstr(text, "pipelined_concurrency_limit{pipeline="
                                  "\"p\",stage=\"source\""));
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* transform-classify: rejects {"t":1} as "type", {"m":1} as "malformed",
 * {"o":1} without a class, and passes the rest on. */
static int classify_init(pl_instance_t *inst, const void *opts, void **ctx) {
  (void)inst;
  (void)opts;
  *ctx = NULL;
  return 0;
}
static void classify_destroy(void *ctx) { (void)ctx; }
static void classify_process(pl_instance_t *inst, void *ctx,
                             pl_record_t *record) {
  (void)ctx;
  json_t *v = pl_record_value(record);
  if (json_object_get(v, "t"))
    pl_record_reject_as(record, "type", "t is not an int");
  else if (json_object_get(v, "m"))
    pl_record_reject_as(record, "malformed", "m is cut");
  else if (json_object_get(v, "o"))
    pl_record_reject(record, "o: no class");
  else
    pl_emit(inst, record);
}
static const pl_plugin_t classify_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "classify",
    .kind = PL_KIND_TRANSFORM,
    .description = "Test transform: rejects with classes.",
    .init = classify_init,
    .process = classify_process,
    .destroy = classify_destroy,
};

/* sink-refuse: rejects every record as "refused", the first of a batch
 * without a class. */
static void refuse_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  (void)inst;
  (void)ctx;
  for (size_t i = 0; i < pl_batch_count(batch); i++) {
    if (i == 0)
      pl_batch_resolve(batch, i, PL_RESULT_REJECTED, "no class");
    else
      pl_batch_resolve_as(batch, i, PL_RESULT_REJECTED, "refused", "no");
  }
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}
static const pl_plugin_t refuse_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "refuse",
    .kind = PL_KIND_SINK,
    .description = "Test sink: rejects with a class.",
    .init = classify_init,
    .write = refuse_write,
    .destroy = classify_destroy,
};

START_TEST(rejections_are_counted_by_class_where_they_happen) {
  static const char config[] =
      "pipeline \"r\" {\n"
      "  source \"script\" { records = [\"{\\\"t\\\":1}\", "
      "\"{\\\"m\\\":1}\", \"{\\\"t\\\":2}\", \"{\\\"o\\\":1}\", "
      "\"{\\\"ok\\\":1}\"] }\n"
      "  transform \"classify\" { }\n"
      "  sink \"capture\" { }\n"
      "  dead_letter \"capture\" { }\n"
      "}\n"
      "pipeline \"s\" {\n"
      "  source \"script\" { records = [\"1\", \"2\", \"3\"]; "
      "group_size = 3 }\n"
      "  sink \"refuse\" { batch_size = 3 }\n"
      "  dead_letter \"capture\" { }\n"
      "}\n";
  static const pl_plugin_t *const extra[] = {&classify_plugin,
                                             &refuse_plugin, NULL};
  test_run_t *run = test_run(config, extra, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  char *text = render(run);
  assert_exposition_is_well_formed(text);
  const char *stage = "pipelined_rejected_total{pipeline=\"r\",stage="
                      "\"transform\",plugin=\"transform-classify\",";
  char line[256];
  snprintf(line, sizeof(line), "%sreason=\"type\"} 2", stage);
  assert_line(text, line);
  snprintf(line, sizeof(line), "%sreason=\"malformed\"} 1", stage);
  assert_line(text, line);
  snprintf(line, sizeof(line), "%sreason=\"other\"} 1", stage);
  assert_line(text, line);
  /* The sink rejected nothing: one series at 0. */
  assert_line(text, "pipelined_rejected_total{pipeline=\"r\",stage=\"sink\","
                    "plugin=\"sink-capture\",reason=\"other\"} 0");
  assert_line(text, "pipelined_rejected_total{pipeline=\"s\",stage=\"sink\","
                    "plugin=\"sink-refuse\",reason=\"other\"} 1");
  assert_line(text, "pipelined_rejected_total{pipeline=\"s\",stage=\"sink\","
                    "plugin=\"sink-refuse\",reason=\"refused\"} 2");
  test_sink_t *dead = test_ctx(run, "r", PL_ROLE_DEAD_LETTER);
  ck_assert_uint_eq(json_array_size(dead->records), 4);
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(render_without_pipelines_has_only_headers) {
  pl_engine_t engine = {0};
  pl_buf_t out = {0};
  pl__metrics_render(&engine, &out);
  assert_exposition_is_well_formed(out.data);
  /* Samples: the build, the memory budget and the process, nothing per
   * stage. */
  for (const char *p = out.data; *p; p = strchr(p, '\n') + 1)
    ck_assert_msg(*p == '#' || strncmp(p, "pipelined_build_info{", 21) == 0 ||
                      strncmp(p, "pipelined_memory_", 17) == 0 ||
                      strncmp(p, "process_", 8) == 0,
                  "unexpected sample at %s", p);
  assert_line(out.data, "# TYPE pipelined_groups_failed_total counter");
  pl_buf_free(&out);
}
END_TEST

/* ---- HTTP ---- */

typedef struct client client_t;

typedef struct http_test {
  test_run_t *run;
  int pending;      /* clients not yet closed */
  bool shut_down;   /* pl__engine_shutdown was called */
  int port;
} http_test_t;

struct client {
  http_test_t *test;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timer; /* sends `later` after a pause */
  bool timer_open;
  const char *request;
  size_t request_len;
  const char *later;
  pl_buf_t response;
  int read_status; /* UV_EOF, or the error that ended the read */
  bool connected;
  bool closed;
};

static void client_closed(uv_handle_t *handle) {
  client_t *c = handle->data;
  c->closed = true;
  if (--c->test->pending == 0 && !c->test->shut_down) {
    c->test->shut_down = true;
    pl__engine_shutdown(c->test->run->engine);
  }
}

static void client_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  client_t *c = handle->data;
  ck_assert_int_eq(pl_buf_reserve(&c->response, 4096), 0);
  *buf = uv_buf_init(c->response.data + c->response.len,
                     (unsigned)(c->response.cap - c->response.len - 1));
}

static void client_read(uv_stream_t *stream, ssize_t nread,
                        const uv_buf_t *buf) {
  client_t *c = stream->data;
  if (nread > 0) {
    c->response.len += (size_t)nread;
    c->response.data[c->response.len] = '\0';
    return;
  }
  if (nread == 0)
    return;
  c->read_status = (int)nread;
  if (c->timer_open)
    uv_close((uv_handle_t *)&c->timer, NULL);
  c->timer_open = false;
  uv_close((uv_handle_t *)&c->tcp, client_closed);
}

static void client_send(client_t *c, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  ck_assert_int_eq(uv_try_write((uv_stream_t *)&c->tcp, &buf, 1), (int)len);
}

static void client_later(uv_timer_t *timer) {
  client_t *c = timer->data;
  client_send(c, c->later, strlen(c->later));
}

static void client_connected(uv_connect_t *req, int status) {
  client_t *c = req->data;
  ck_assert_msg(status == 0, "connect: %s", uv_strerror(status));
  c->connected = true;
  ck_assert_int_eq(
      uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read), 0);
  if (c->request_len)
    client_send(c, c->request, c->request_len);
  if (c->later) {
    ck_assert_int_eq(uv_timer_init(c->tcp.loop, &c->timer), 0);
    c->timer.data = c;
    c->timer_open = true;
    ck_assert_int_eq(uv_timer_start(&c->timer, client_later, 30, 0), 0);
  }
}

static const char *const http_config =
    "metrics_listen = \"127.0.0.1:0\"\n"
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"{\\\"n\\\":1}\", \"{\\\"n\\\":2}\"] }\n"
    "  sink \"capture\" { }\n"
    "}\n";

/* Starts an engine (not --once, so that it serves until shut down) with
 * the metrics listener on a free port. */
static void http_start(http_test_t *t, const char *config) {
  *t = (http_test_t){0};
  t->run = test_run_start(config, NULL, false);
  ck_assert_msg(t->run->create_rc == 0, "%s", t->run->errors.data);
  ck_assert_ptr_nonnull(t->run->engine->metrics);
  t->port = pl__metrics_server_port(t->run->engine->metrics);
  ck_assert_int_gt(t->port, 0);
}

static void client_start(http_test_t *t, client_t *c, const char *request) {
  *c = (client_t){.test = t, .request = request,
                  .request_len = request ? strlen(request) : 0};
  uv_loop_t *loop = &t->run->loop;
  ck_assert_int_eq(uv_tcp_init(loop, &c->tcp), 0);
  c->tcp.data = c;
  c->connect.data = c;
  struct sockaddr_in addr;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", t->port, &addr), 0);
  ck_assert_int_eq(uv_tcp_connect(&c->connect, &c->tcp,
                                  (const struct sockaddr *)&addr,
                                  client_connected),
                   0);
  t->pending++;
}

/* Runs the loop until every client is closed and the engine has shut
 * down, then frees everything. */
static void http_finish(http_test_t *t) {
  test_run_loop(t->run);
  ck_assert_int_eq(t->pending, 0);
  ck_assert(t->shut_down);
}

/* Frees the clients' buffers and the run; the loop must close cleanly. */
static void http_free(http_test_t *t, client_t *const *clients, size_t count) {
  for (size_t i = 0; i < count; i++)
    pl_buf_free(&clients[i]->response);
  ck_assert_int_eq(test_run_free(t->run), 0);
}

/* Splits a response into status line, the Content-Type and the body, and
 * checks the framing (Content-Length, Connection: close). */
static const char *assert_response(const client_t *c, const char *status,
                                   const char *type) {
  ck_assert_msg(c->response.len > 0, "no response");
  const char *text = c->response.data;
  char status_line[64];
  snprintf(status_line, sizeof status_line, "HTTP/1.1 %s\r\n", status);
  ck_assert_msg(strncmp(text, status_line, strlen(status_line)) == 0, "%s",
                text);
  char type_line[96];
  snprintf(type_line, sizeof type_line, "\r\nContent-Type: %s\r\n", type);
  ck_assert_msg(strstr(text, type_line) != NULL, "%s", text);
  ck_assert_ptr_nonnull(strstr(text, "\r\nConnection: close\r\n"));
  const char *body = strstr(text, "\r\n\r\n");
  ck_assert_ptr_nonnull(body);
  body += 4;
  const char *length = strstr(text, "\r\nContent-Length: ");
  ck_assert_ptr_nonnull(length);
  ck_assert_uint_eq(strtoul(length + 18, NULL, 10),
                    c->response.len - (size_t)(body - text));
  ck_assert_int_eq(c->read_status, UV_EOF);
  return body;
}

START_TEST(get_metrics_serves_the_exposition) {
  http_test_t t;
  http_start(&t, http_config);
  client_t c[2];
  client_start(&t, &c[0], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  client_start(&t, &c[1], "GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
  http_finish(&t);
  for (int i = 0; i < 2; i++) {
    const char *body =
        assert_response(&c[i], "200 OK", "text/plain; version=0.0.4");
    ck_assert_int_eq(strncmp(body, "# HELP pipelined_build_info ", 28), 0);
    assert_line(body, "# TYPE pipelined_groups_committed_total counter");
    ck_assert_ptr_nonnull(
        strstr(body, "pipelined_records_out_total{pipeline=\"p\",stage="
                     "\"source\",plugin=\"source-script\"} "));
    assert_exposition_is_well_formed(body);
  }
  http_free(&t, (client_t *const[]){&c[0], &c[1]}, 2);
}
END_TEST

START_TEST(get_healthz_says_ok) {
  http_test_t t;
  http_start(&t, http_config);
  client_t c[3];
  client_start(&t, &c[0], "GET /healthz HTTP/1.1\r\n\r\n");
  /* Bare newlines end a request too. */
  client_start(&t, &c[1], "GET /healthz HTTP/1.0\n\n");
  client_start(&t, &c[2], "GET /readyz HTTP/1.1\r\n\r\n");
  http_finish(&t);
  for (int i = 0; i < 2; i++)
    ck_assert_str_eq(assert_response(&c[i], "200 OK", "text/plain"), "ok\n");
  ck_assert_str_eq(assert_response(&c[2], "200 OK", "text/plain"),
                   "ready\n");
  http_free(&t, (client_t *const[]){&c[0], &c[1], &c[2]}, 3);
}
END_TEST

/* Probes /healthz's answer every 5 ms while a run goes on: a sink whose
 * writes keep failing makes it unhealthy after unhealthy_after, and the
 * first write that goes through makes it healthy again. */
typedef struct health_probe {
  uv_timer_t timer;
  test_run_t *run;
  bool saw_unhealthy;
  bool saw_recovery;
  char body[512];
} health_probe_t;

static void on_health_probe(uv_timer_t *timer) {
  health_probe_t *p = timer->data;
  pl_buf_t body = {0};
  bool ok = pl__metrics_health(p->run->engine, &body);
  if (!ok && !p->saw_unhealthy) {
    p->saw_unhealthy = true;
    snprintf(p->body, sizeof(p->body), "%s", body.data);
  } else if (ok && p->saw_unhealthy) {
    p->saw_recovery = true;
    ck_assert_str_eq(body.data, "ok\n");
  }
  pl_buf_free(&body);
  if (p->saw_recovery) { /* the daemon has shown both answers */
    uv_close((uv_handle_t *)timer, NULL);
    pl__engine_shutdown(p->run->engine);
  }
}

START_TEST(healthz_fails_while_a_sink_keeps_failing_then_recovers) {
  const char *config =
      "unhealthy_after = \"60ms\"\n"
      "pipeline \"h\" {\n"
      "  source \"script\" { records = [\"{\\\"n\\\":1}\"] }\n"
      "  sink \"capture\" { fail_first = 25\n retry_limit = 100\n"
      " retry_backoff = 40ms\n retry_backoff_max = 40ms }\n"
      "}\n";
  test_run_t *run = test_run_start(config, NULL, false);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  health_probe_t probe = {.run = run};
  uv_timer_init(&run->loop, &probe.timer);
  probe.timer.data = &probe;
  uv_timer_start(&probe.timer, on_health_probe, 5, 5);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_msg(probe.saw_unhealthy, "never unhealthy");
  json_error_t error;
  json_t *doc = json_loads(probe.body, 0, &error);
  ck_assert_msg(doc != NULL, "not JSON: %s", probe.body);
  ck_assert_str_eq(json_string_value(json_object_get(doc, "status")),
                   "unhealthy");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "pipeline")), "h");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "stage")), "sink");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "plugin")),
                   "sink-capture");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "last_error")),
                   "scripted failure");
  ck_assert_int_ge(json_integer_value(json_object_get(doc, "failing_for_ms")),
                   60);
  json_decref(doc);
  ck_assert_msg(probe.saw_recovery, "never healthy again");
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* A source that says it cannot read (pl_source_failing: a queue it cannot
 * receive from) makes /healthz fail after unhealthy_after, as a failing
 * sink does; pl_source_reading() makes it healthy again. */
typedef struct source_probe {
  uv_timer_t timer;
  test_run_t *run;
  int step;
  bool healthy[3];
  pl_buf_t said[3];
} source_probe_t;

static void on_source_probe(uv_timer_t *timer) {
  source_probe_t *p = timer->data;
  pl_instance_t *source = p->run->engine->pipelines[0]->stages[0];
  p->healthy[p->step] = pl__metrics_health(p->run->engine, &p->said[p->step]);
  if (p->step == 0) {
    pl_source_failing(source, "receive", "cannot receive messages: first");
    pl_source_failing(source, "receive",
                      "cannot receive messages: connection refused");
    /* A read of another kind does not end it. */
    pl_source_reading(source, "download");
    uv_timer_start(timer, on_source_probe, 80, 0);
  } else if (p->step == 1) {
    pl_source_reading(source, "receive");
    uv_timer_start(timer, on_source_probe, 5, 0);
  } else {
    uv_close((uv_handle_t *)timer, NULL);
    pl__engine_shutdown(p->run->engine);
  }
  p->step++;
}

START_TEST(healthz_fails_while_a_source_cannot_read_then_recovers) {
  const char *config = "unhealthy_after = \"60ms\"\n"
                       "pipeline \"h\" {\n"
                       "  source \"script\" { records = [\"1\"] }\n"
                       "  sink \"capture\" { }\n"
                       "}\n";
  test_run_t *run = test_run_start(config, NULL, false);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  source_probe_t probe = {.run = run};
  uv_timer_init(&run->loop, &probe.timer);
  probe.timer.data = &probe;
  uv_timer_start(&probe.timer, on_source_probe, 10, 0);
  test_run_loop(run);
  ck_assert_int_eq(run->status, 0);
  ck_assert_int_eq(probe.step, 3);
  ck_assert_msg(probe.healthy[0], "%s", probe.said[0].data);
  ck_assert_msg(!probe.healthy[1], "healthy while the source failed");
  json_error_t error;
  json_t *doc = json_loads(probe.said[1].data, 0, &error);
  ck_assert_msg(doc != NULL, "not JSON: %s", probe.said[1].data);
  ck_assert_str_eq(json_string_value(json_object_get(doc, "pipeline")), "h");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "stage")), "source");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "plugin")),
                   "source-script");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "last_error")),
                   "cannot receive messages: connection refused");
  ck_assert_int_ge(json_integer_value(json_object_get(doc, "failing_for_ms")),
                   60);
  json_decref(doc);
  ck_assert_msg(probe.healthy[2], "%s", probe.said[2].data);
  ck_assert_str_eq(probe.said[2].data, "ok\n");
  for (int i = 0; i < 3; i++)
    pl_buf_free(&probe.said[i]);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

START_TEST(healthz_fails_while_shutting_down) {
  http_test_t t;
  http_start(&t, http_config);
  /* The source's records first: a stopping engine whose pipelines are
   * idle closes (the listener too) as soon as its pump finds nothing to
   * do, before the answer. */
  while (!t.run->engine->idle_logged)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  client_t c;
  client_start(&t, &c, "GET /healthz HTTP/1.1\r\n\r\n");
  /* The answer while stopping; the flag is cleared before the real
   * shutdown, which would otherwise be skipped. */
  t.shut_down = true;
  t.run->engine->stopping = true;
  while (!c.closed)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  t.run->engine->stopping = false;
  pl__engine_shutdown(t.run->engine);
  http_finish(&t);
  ck_assert_str_eq(
      assert_response(&c, "503 Service Unavailable", "text/plain"),
      "shutting down\n");
  http_free(&t, (client_t *const[]){&c}, 1);
}
END_TEST

START_TEST(unknown_paths_are_not_found) {
  http_test_t t;
  http_start(&t, http_config);
  static const char *const requests[] = {
      "GET /nope HTTP/1.1\r\n\r\n",      "GET / HTTP/1.1\r\n\r\n",
      "GET /metricsx HTTP/1.1\r\n\r\n",  "GET /healthz/ HTTP/1.1\r\n\r\n",
      "GET /METRICS HTTP/1.1\r\n\r\n",
  };
  client_t c[5];
  for (int i = 0; i < 5; i++)
    client_start(&t, &c[i], requests[i]);
  http_finish(&t);
  for (int i = 0; i < 5; i++)
    ck_assert_str_eq(assert_response(&c[i], "404 Not Found", "text/plain"),
                     "not found: try /metrics, /healthz or /readyz\n");
  http_free(&t, (client_t *const[]){&c[0], &c[1], &c[2], &c[3], &c[4]}, 5);
}
END_TEST

/* A query string is ignored on every path (a probe may add one), and a
 * request with a NUL byte is answered at once rather than left to time
 * out. */
START_TEST(query_strings_are_ignored_and_a_nul_is_a_bad_request) {
  http_test_t t;
  http_start(&t, http_config);
  /* The source's records first: /readyz is "ready" once they are out. */
  while (!t.run->engine->idle_logged)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  static const char nul[] = "GET /healthz\0 HTTP/1.1\r\n\r\n";
  client_t c[3];
  client_start(&t, &c[0], "GET /healthz?probe=1 HTTP/1.1\r\n\r\n");
  client_start(&t, &c[1], "GET /readyz?x HTTP/1.1\r\n\r\n");
  client_start(&t, &c[2], nul);
  c[2].request_len = sizeof nul - 1;
  http_finish(&t);
  ck_assert_str_eq(assert_response(&c[0], "200 OK", "text/plain"), "ok\n");
  ck_assert_str_eq(assert_response(&c[1], "200 OK", "text/plain"), "ready\n");
  ck_assert_str_eq(assert_response(&c[2], "400 Bad Request", "text/plain"),
                   "bad request: a NUL byte\n");
  http_free(&t, (client_t *const[]){&c[0], &c[1], &c[2]}, 3);
}
END_TEST

START_TEST(other_methods_are_not_allowed) {
  http_test_t t;
  http_start(&t, http_config);
  static const char *const requests[] = {
      "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
      "PUT /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
      "DELETE / HTTP/1.1\r\n\r\n",
      "get /metrics HTTP/1.1\r\n\r\n",
  };
  client_t c[4];
  for (int i = 0; i < 4; i++)
    client_start(&t, &c[i], requests[i]);
  http_finish(&t);
  for (int i = 0; i < 4; i++)
    ck_assert_str_eq(
        assert_response(&c[i], "405 Method Not Allowed", "text/plain"),
        "only GET and HEAD are served\n");
  http_free(&t, (client_t *const[]){&c[0], &c[1], &c[2], &c[3]}, 4);
}
END_TEST

START_TEST(a_request_in_two_pieces_is_answered) {
  http_test_t t;
  http_start(&t, http_config);
  client_t c;
  client_start(&t, &c, "GET /hea");
  c.later = "lthz HTTP/1.1\r\n\r\n";
  http_finish(&t);
  ck_assert_str_eq(assert_response(&c, "200 OK", "text/plain"), "ok\n");
  http_free(&t, (client_t *const[]){&c}, 1);
}
END_TEST

START_TEST(an_oversized_request_is_dropped_without_an_answer) {
  http_test_t t;
  http_start(&t, http_config);
  char *big = malloc(9001);
  ck_assert_ptr_nonnull(big);
  memcpy(big, "GET /", 5);
  memset(big + 5, 'a', 8995);
  big[9000] = '\0';
  client_t c;
  client_start(&t, &c, big);
  http_finish(&t);
  ck_assert_uint_eq(c.response.len, 0);
  ck_assert(c.read_status == UV_EOF || c.read_status == UV_ECONNRESET);
  free(big);
  http_free(&t, (client_t *const[]){&c}, 1);
}
END_TEST

START_TEST(a_client_that_hangs_up_early_is_forgotten) {
  http_test_t t;
  http_start(&t, http_config);
  client_t quiet, after;
  /* Connects, sends half a request and closes its side; then a normal
   * client is still served. */
  client_start(&t, &quiet, "GET /metr");
  while (!quiet.connected)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&quiet.tcp, client_closed);
  client_start(&t, &after, "GET /healthz HTTP/1.1\r\n\r\n");
  http_finish(&t);
  ck_assert_str_eq(assert_response(&after, "200 OK", "text/plain"), "ok\n");
  http_free(&t, (client_t *const[]){&quiet, &after}, 2);
}
END_TEST

START_TEST(open_connections_are_closed_at_shutdown) {
  http_test_t t;
  http_start(&t, http_config);
  client_t idle, served;
  client_start(&t, &idle, NULL); /* connects and never asks */
  client_start(&t, &served, "GET /healthz HTTP/1.1\r\n\r\n");
  /* The engine shuts down once `served` is closed and `idle` is the last
   * one pending: shut down as soon as `served` is answered instead. */
  while (!served.closed)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  ck_assert(!idle.closed);
  t.shut_down = true;
  pl__engine_shutdown(t.run->engine);
  http_finish(&t);
  ck_assert(idle.closed);
  ck_assert_uint_eq(idle.response.len, 0);
  ck_assert_int_eq(idle.read_status, UV_EOF);
  ck_assert_str_eq(assert_response(&served, "200 OK", "text/plain"), "ok\n");
  http_free(&t, (client_t *const[]){&idle, &served}, 2);
}
END_TEST

static void probe_connected(uv_connect_t *req, int status) {
  *(int *)req->data = status;
}

START_TEST(the_listener_is_closed_at_shutdown) {
  http_test_t t;
  http_start(&t, http_config);
  client_t c;
  client_start(&t, &c, "GET /healthz HTTP/1.1\r\n\r\n");
  http_finish(&t);
  ck_assert_ptr_null(t.run->engine->metrics);
  /* Nobody listens on the port any more. */
  uv_tcp_t probe;
  uv_connect_t req;
  ck_assert_int_eq(uv_tcp_init(&t.run->loop, &probe), 0);
  struct sockaddr_in addr;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", t.port, &addr), 0);
  int status = 1;
  req.data = &status;
  ck_assert_int_eq(uv_tcp_connect(&req, &probe, (const struct sockaddr *)&addr,
                                  probe_connected),
                   0);
  ck_assert_int_eq(uv_run(&t.run->loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(status, UV_ECONNREFUSED);
  uv_close((uv_handle_t *)&probe, NULL);
  ck_assert_int_eq(uv_run(&t.run->loop, UV_RUN_DEFAULT), 0);
  http_free(&t, (client_t *const[]){&c}, 1);
}
END_TEST

/* ---- Listener errors ---- */

typedef struct bare_engine {
  uv_loop_t loop;
  pl_engine_t engine;
  char *log_text;
  size_t log_len;
} bare_engine_t;

static void bare_init(bare_engine_t *b) {
  *b = (bare_engine_t){0};
  ck_assert_int_eq(uv_loop_init(&b->loop), 0);
  b->engine.loop = &b->loop;
  FILE *log = open_memstream(&b->log_text, &b->log_len);
  ck_assert_ptr_nonnull(log);
  b->engine.log =
      (pl_logger_t){.stream = log, .level = PL_LOG_INFO, .format = PL_LOG_TEXT};
}

static void bare_close(bare_engine_t *b) {
  ck_assert_int_eq(uv_run(&b->loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&b->loop), 0);
  fclose(b->engine.log.stream);
  free(b->log_text);
}

START_TEST(a_bad_listen_address_creates_nothing) {
  bare_engine_t b;
  bare_init(&b);
  pl_metrics_server_t *server = (pl_metrics_server_t *)&server;
  pl_metrics_server_t *const sentinel = server;
  ck_assert_int_eq(pl__metrics_server_create(&b.engine, "nope", &server),
                   PL_EINVAL);
  ck_assert_ptr_eq(server, sentinel);
  bare_close(&b);
}
END_TEST

START_TEST(a_port_in_use_is_an_io_error_and_logged) {
  bare_engine_t b;
  bare_init(&b);
  /* Something already listens on the port. */
  uv_tcp_t taken;
  ck_assert_int_eq(uv_tcp_init(&b.loop, &taken), 0);
  struct sockaddr_in addr;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  ck_assert_int_eq(uv_tcp_bind(&taken, (const struct sockaddr *)&addr, 0), 0);
  ck_assert_int_eq(uv_listen((uv_stream_t *)&taken, 1, NULL), 0);
  struct sockaddr_in bound;
  int len = sizeof bound;
  ck_assert_int_eq(
      uv_tcp_getsockname(&taken, (struct sockaddr *)&bound, &len), 0);
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", ntohs(bound.sin_port));
  pl_metrics_server_t *server = NULL;
  ck_assert_int_eq(pl__metrics_server_create(&b.engine, listen, &server),
                   PL_EIO);
  ck_assert_ptr_null(server);
  fflush(b.engine.log.stream);
  char expected[128];
  snprintf(expected, sizeof expected, "metrics_listen %s: address already in "
                                      "use",
           listen);
  ck_assert_msg(strstr(b.log_text, expected) != NULL, "%s", b.log_text);
  uv_close((uv_handle_t *)&taken, NULL);
  bare_close(&b); /* runs the close callback that frees the server */
}
END_TEST

START_TEST(a_server_without_pipelines_serves_and_closes) {
  bare_engine_t b;
  bare_init(&b);
  pl_metrics_server_t *server = NULL;
  ck_assert_int_eq(
      pl__metrics_server_create(&b.engine, "127.0.0.1:0", &server), 0);
  int port = pl__metrics_server_port(server);
  ck_assert_int_gt(port, 0);
  fflush(b.engine.log.stream);
  ck_assert_ptr_nonnull(
      strstr(b.log_text, "metrics on http://127.0.0.1:0/metrics"));
  /* A client on the loop; the test closes the server itself. */
  http_test_t t = {.port = port, .shut_down = true};
  test_run_t fake = {0};
  t.run = &fake;
  client_t c = {.test = &t, .request = "GET /metrics HTTP/1.1\r\n\r\n"};
  c.request_len = strlen(c.request);
  ck_assert_int_eq(uv_tcp_init(&b.loop, &c.tcp), 0);
  c.tcp.data = &c;
  c.connect.data = &c;
  struct sockaddr_in addr;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", port, &addr), 0);
  ck_assert_int_eq(uv_tcp_connect(&c.connect, &c.tcp,
                                  (const struct sockaddr *)&addr,
                                  client_connected),
                   0);
  t.pending = 1;
  while (!c.closed)
    uv_run(&b.loop, UV_RUN_ONCE);
  const char *body = assert_response(&c, "200 OK", "text/plain; version=0.0.4");
  assert_exposition_is_well_formed(body);
  pl_buf_free(&c.response);
  pl__metrics_server_close(server);
  bare_close(&b);
}
END_TEST

/* A host name is refused, and the message says an address is wanted: the
 * listener binds one address, and a name may resolve to several. */
START_TEST(a_bad_metrics_listen_is_a_config_error) {
  test_run_t *run = test_run("metrics_listen = \"localhost:9100\"\n"
                             "pipeline \"p\" {\n"
                             "  source \"script\" { records = [\"1\"] }\n"
                             "  sink \"capture\" { }\n"
                             "}\n",
                             NULL, true);
  ck_assert_int_eq(run->create_rc, PL_EINVAL);
  ck_assert_ptr_nonnull(
      strstr(run->errors.data,
             "metrics_listen: 'localhost:9100' is not an IP address and port "
             "(e.g. 127.0.0.1:9100 or [::1]:9100; host names are not "
             "resolved)\n"));
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* ---- Regressions: core bugs found by these tests, now fixed ---- */

/* src/metrics.c labels(): label values are printed raw. A pipeline named
 * a"b (pipeline "a\"b" { ... } in the config) breaks the exposition; the
 * text format wants \" \\ and \n escaped. */
START_TEST(bug_label_values_are_escaped) {
  test_run_t *run = test_run("pipeline \"a\\\"b\" {\n"
                             "  source \"script\" { records = [\"1\"] }\n"
                             "  sink \"capture\" { }\n"
                             "}\n",
                             NULL, true);
  ck_assert_msg(run->create_rc == 0, "%s", run->errors.data);
  char *text = render(run);
  assert_line(text, "pipelined_groups_committed_total{pipeline=\"a\\\"b\"} 1");
  free(text);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* src/metrics.c pl__metrics_parse_listen(): the port goes through
 * strtol(), which skips leading spaces and takes a sign. */
START_TEST(bug_ports_with_spaces_or_signs_are_refused) {
  struct sockaddr_storage addr;
  ck_assert_int_eq(parse("127.0.0.1: 80", &addr), PL_EINVAL);
  ck_assert_int_eq(parse("127.0.0.1:+80", &addr), PL_EINVAL);
  ck_assert_int_eq(parse("127.0.0.1:\t80", &addr), PL_EINVAL);
}
END_TEST

/* src/engine.c pl__engine_create(): a bad metrics_listen is reported at
 * the start of the file (root->loc, 1:1), not where the setting is. */
START_TEST(bug_a_bad_metrics_listen_points_at_the_setting) {
  test_run_t *run = test_run("# metrics\n\nmetrics_listen = \"nope\"\n"
                             "pipeline \"p\" {\n"
                             "  source \"script\" { records = [\"1\"] }\n"
                             "  sink \"capture\" { }\n"
                             "}\n",
                             NULL, true);
  ck_assert_int_eq(run->create_rc, PL_EINVAL);
  ck_assert_msg(strncmp(run->errors.data, "test.conf:3:", 12) == 0, "%s",
                run->errors.data);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

/* ---- Limits: idle connections, the cap, HEAD ---- */

/* A HEAD answer: `status`, the Content-Length of the GET answer, framing
 * as for GET, and not one byte of body. */
static void assert_head_response(const client_t *c, const char *status,
                                 const char *length) {
  const char *text = c->response.data;
  ck_assert_msg(text != NULL, "no response");
  char status_line[64];
  snprintf(status_line, sizeof status_line, "HTTP/1.1 %s\r\n", status);
  ck_assert_msg(strncmp(text, status_line, strlen(status_line)) == 0, "%s",
                text);
  ck_assert_ptr_nonnull(strstr(text, "\r\nConnection: close\r\n"));
  const char *end = strstr(text, "\r\n\r\n");
  ck_assert_ptr_nonnull(end);
  ck_assert_msg(end + 4 == text + c->response.len, "a body: %s", end + 4);
  if (length) {
    char line[64];
    snprintf(line, sizeof line, "\r\nContent-Length: %s\r\n", length);
    ck_assert_msg(strstr(text, line) != NULL, "%s", text);
  }
  ck_assert_int_eq(c->read_status, UV_EOF);
}

START_TEST(head_gives_the_headers_without_a_body) {
  http_test_t t;
  http_start(&t, http_config);
  client_t c[3];
  client_start(&t, &c[0], "HEAD /healthz HTTP/1.1\r\n\r\n");
  client_start(&t, &c[1], "HEAD /metrics HTTP/1.1\r\n\r\n");
  client_start(&t, &c[2], "HEAD /nope HTTP/1.1\r\n\r\n");
  http_finish(&t);
  assert_head_response(&c[0], "200 OK", "3"); /* "ok\n" */
  assert_head_response(&c[1], "200 OK", NULL);
  assert_head_response(&c[2], "404 Not Found", NULL);
  http_free(&t, (client_t *const[]){&c[0], &c[1], &c[2]}, 3);
}
END_TEST

static const char *const limits_config =
    "metrics_listen = \"127.0.0.1:0\"\n"
    "metrics_timeout = \"300ms\"\n"
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"{\\\"n\\\":1}\"] }\n"
    "  sink \"capture\" { }\n"
    "}\n";

/* The cap alone: the timeout is long enough not to interfere. */
static const char *const cap_config =
    "metrics_listen = \"127.0.0.1:0\"\n"
    "metrics_timeout = \"20s\"\n"
    "metrics_max_connections = 2\n"
    "pipeline \"p\" {\n"
    "  source \"script\" { records = [\"{\\\"n\\\":1}\"] }\n"
    "  sink \"capture\" { }\n"
    "}\n";

/* A client that connects and says nothing, and one that sends half a
 * request, are closed after metrics_timeout without an answer. */
START_TEST(an_idle_connection_is_closed_after_the_timeout) {
  http_test_t t;
  http_start(&t, limits_config);
  client_t c[2];
  uint64_t start = uv_now(&t.run->loop);
  client_start(&t, &c[0], NULL);
  client_start(&t, &c[1], "GET /metr");
  while (!(c[0].closed && c[1].closed))
    uv_run(&t.run->loop, UV_RUN_ONCE);
  uint64_t elapsed = uv_now(&t.run->loop) - start;
  http_finish(&t);
  for (int i = 0; i < 2; i++) {
    ck_assert_uint_eq(c[i].response.len, 0);
    ck_assert(c[i].read_status == UV_EOF || c[i].read_status == UV_ECONNRESET);
  }
  ck_assert_uint_ge(elapsed, 250);
  ck_assert_uint_lt(elapsed, 5000);
  http_free(&t, (client_t *const[]){&c[0], &c[1]}, 2);
}
END_TEST

static void wait_connections(http_test_t *t, size_t count) {
  while (pl__metrics_server_connections(t->run->engine->metrics) != count)
    uv_run(&t->run->loop, UV_RUN_ONCE);
}

/* With metrics_max_connections open, a new connection is closed at once
 * without an answer, while one of those open still gets /healthz; once
 * one is gone new connections are served again. */
START_TEST(past_the_cap_new_connections_are_closed_at_once) {
  http_test_t t;
  http_start(&t, cap_config);
  client_t held[2], over, after;
  client_start(&t, &held[0], NULL);
  client_start(&t, &held[1], NULL);
  wait_connections(&t, 2);
  client_start(&t, &over, "GET /healthz HTTP/1.1\r\n\r\n");
  while (!over.closed)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  ck_assert_uint_eq(over.response.len, 0);
  ck_assert(over.read_status == UV_EOF || over.read_status == UV_ECONNRESET);
  ck_assert(!held[0].closed && !held[1].closed);
  static const char healthz[] = "GET /healthz HTTP/1.1\r\n\r\n";
  client_send(&held[0], healthz, sizeof healthz - 1);
  while (!held[0].closed)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  ck_assert_str_eq(assert_response(&held[0], "200 OK", "text/plain"), "ok\n");
  wait_connections(&t, 1);
  client_start(&t, &after, healthz);
  while (!after.closed)
    uv_run(&t.run->loop, UV_RUN_ONCE);
  ck_assert_str_eq(assert_response(&after, "200 OK", "text/plain"), "ok\n");
  uv_close((uv_handle_t *)&held[1].tcp, client_closed);
  http_finish(&t);
  const char *log = test_log(t.run);
  ck_assert_msg(strstr(log, "metrics: 2 connections open, the most allowed "
                            "(metrics_max_connections); closing new ones"),
                "%s", log);
  ck_assert_msg(strstr(log, "metrics: taking connections again (1 closed at "
                            "once)"),
                "%s", log);
  http_free(&t, (client_t *const[]){&held[0], &held[1], &over, &after}, 4);
}
END_TEST

START_TEST(bad_metrics_limits_are_config_errors) {
  test_run_t *run = test_run("metrics_max_connections = 0\n"
                             "metrics_timeout = \"0s\"\n"
                             "pipeline \"p\" {\n"
                             "  source \"script\" { records = [\"1\"] }\n"
                             "  sink \"capture\" { }\n"
                             "}\n",
                             NULL, true);
  ck_assert_int_lt(run->create_rc, 0);
  ck_assert_msg(strstr(run->errors.data,
                       "test.conf:1:27: top level: option "
                       "'metrics_max_connections' expects an integer of at "
                       "least 1, found 0\n"),
                "%s", run->errors.data);
  ck_assert_msg(strstr(run->errors.data,
                       "test.conf:2:19: top level: option 'metrics_timeout' "
                       "expects a duration of at least 1ms, found \"0s\"\n"),
                "%s", run->errors.data);
  ck_assert_int_eq(test_run_free(run), 0);
}
END_TEST

static Suite *metrics_suite(void) {
  Suite *s = suite_create("metrics");
  TCase *listen = tcase_create("listen address");
  tcase_add_test(listen, ipv4_addresses_parse);
  tcase_add_test(listen, bracketed_ipv6_addresses_parse);
  tcase_add_test(listen, malformed_addresses_are_refused);
  suite_add_tcase(s, listen);

  TCase *render_case = tcase_create("render");
  tcase_add_test(render_case, render_reports_every_stage_counter);
  tcase_add_test(render_case, render_appends_to_the_buffer);
  tcase_add_test(render_case,
                 render_labels_the_dead_letter_and_counts_rejections);
  tcase_add_test(render_case, render_counts_failures_and_retries);
  tcase_add_test(render_case, render_lists_every_pipeline);
  tcase_add_test(render_case, render_exports_plugin_counters);
  tcase_add_test(render_case, render_without_pipelines_has_only_headers);
  tcase_add_test(render_case, plugin_counters_of_several_stages_are_one_family);
  tcase_add_test(render_case,
                 rejections_are_counted_by_class_where_they_happen);
  tcase_add_test(render_case,
                 render_reports_the_build_the_process_and_sink_limits);
  tcase_add_test(render_case, render_reports_a_sinks_concurrency_limit);
  suite_add_tcase(s, render_case);

  TCase *http = tcase_create("http");
  tcase_add_test(http, get_metrics_serves_the_exposition);
  tcase_add_test(http, get_healthz_says_ok);
  tcase_add_test(http, healthz_fails_while_a_sink_keeps_failing_then_recovers);
  tcase_add_test(http, healthz_fails_while_a_source_cannot_read_then_recovers);
  tcase_add_test(http, healthz_fails_while_shutting_down);
  tcase_add_test(http, unknown_paths_are_not_found);
  tcase_add_test(http, query_strings_are_ignored_and_a_nul_is_a_bad_request);
  tcase_add_test(http, other_methods_are_not_allowed);
  tcase_add_test(http, a_request_in_two_pieces_is_answered);
  tcase_add_test(http, an_oversized_request_is_dropped_without_an_answer);
  tcase_add_test(http, a_client_that_hangs_up_early_is_forgotten);
  tcase_add_test(http, open_connections_are_closed_at_shutdown);
  tcase_add_test(http, the_listener_is_closed_at_shutdown);
  suite_add_tcase(s, http);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, head_gives_the_headers_without_a_body);
  tcase_add_test(limits, an_idle_connection_is_closed_after_the_timeout);
  tcase_add_test(limits, past_the_cap_new_connections_are_closed_at_once);
  tcase_add_test(limits, bad_metrics_limits_are_config_errors);
  suite_add_tcase(s, limits);

  TCase *errors = tcase_create("listener errors");
  tcase_add_test(errors, a_bad_listen_address_creates_nothing);
  tcase_add_test(errors, a_port_in_use_is_an_io_error_and_logged);
  tcase_add_test(errors, a_server_without_pipelines_serves_and_closes);
  tcase_add_test(errors, a_bad_metrics_listen_is_a_config_error);
  suite_add_tcase(s, errors);

  TCase *bugs = tcase_create("known bugs");
  tcase_add_test(bugs, bug_label_values_are_escaped);
  tcase_add_test(bugs, bug_ports_with_spaces_or_signs_are_refused);
  tcase_add_test(bugs, bug_a_bad_metrics_listen_points_at_the_setting);
  suite_add_tcase(s, bugs);
  return s;
}

int main(void) {
  return test_suite_run(metrics_suite());
}
