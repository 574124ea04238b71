/* sink-file: JSON lines written through the engine in-process, and the
 * encode step on its own. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pipelined/testing.h>

#include <pipelined/jsonl.h>
#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- Helpers ---- */

static char tmp_dir[64];

static void make_tmp_dir(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/check_sink_file.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_tmp_dir(void) {
  DIR *dir = opendir(tmp_dir);
  if (!dir)
    return;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, entry->d_name);
    unlink(path);
  }
  closedir(dir);
  rmdir(tmp_dir);
}

static char *format(const char *fmt, ...) PL_PRINTF(1, 2);

static char *format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  ck_assert_int_ge(n, 0);
  char *text = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(text);
  va_start(ap, fmt);
  vsnprintf(text, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return text;
}

static char *tmp_path(const char *name) {
  return format("%s/%s", tmp_dir, name);
}

static char *read_all(const char *path) {
  FILE *file = fopen(path, "rb");
  ck_assert_msg(file != NULL, "cannot open %s", path);
  pl_buf_t buf = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), file)) > 0)
    pl_buf_append(&buf, chunk, n);
  fclose(file);
  pl_buf_reserve(&buf, 0);
  return buf.data;
}

/* Every line of `text` parsed (each must parse; the text must end with a
 * newline). */
static json_t *parse_lines(const char *text) {
  json_t *lines = json_array();
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    ck_assert_msg(nl != NULL, "last line has no newline: %s", p);
    json_error_t error;
    json_t *value = json_loadb(p, (size_t)(nl - p), JSON_DECODE_ANY, &error);
    ck_assert_msg(value != NULL, "line %zu does not parse: %s",
                  json_array_size(lines) + 1, error.text);
    json_array_append_new(lines, value);
    p = nl + 1;
  }
  return lines;
}

static const char *const four[] = {
    "{\"a\":1}",
    "{\"b\":\"x\"}",
    "{\"c\":[1,2,{\"d\":null}],\"e\":true}",
    "{\"f\":-1.5,\"g\":false}",
};
static const char four_lines[] = "{\"a\":1}\n"
                                 "{\"b\":\"x\"}\n"
                                 "{\"c\":[1,2,{\"d\":null}],\"e\":true}\n"
                                 "{\"f\":-1.5,\"g\":false}\n";

/* A harness around the sink with `options`, fed `records` (JSON texts,
 * in groups of `group_size`), not run yet. */
static pl_test_t *fed(const char *const *records, size_t count,
                      size_t group_size, const char *options) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, options);
  for (size_t i = 0; i < count; i++) {
    ck_assert_int_eq(pl_test_feed_record(t, records[i]), 0);
    if ((i + 1) % group_size == 0)
      pl_test_end_group(t);
  }
  return t;
}

/* Runs `records` (JSON texts, in groups of `group_size`) into the sink
 * with `options` through libpipelined-testing; the harness is the
 * caller's. */
static pl_test_t *run_records(const char *const *records, size_t count,
                              size_t group_size, const char *options) {
  pl_test_t *t = fed(records, count, group_size, options);
  pl_test_run(t, 30000);
  return t;
}

/* Runs the four records, two groups of two, into `path` with `sink_extra`
 * settings. */
static pl_test_t *run_four(const char *path, const char *sink_extra) {
  char *options = format("path = \"%s\"\n%s", path, sink_extra);
  pl_test_t *t = run_records(four, 4, 2, options);
  free(options);
  return t;
}

/* `count` records {"n":i} for i in 1..count, to free with free_texts. */
static char **numbered(size_t count) {
  char **records = calloc(count, sizeof(*records));
  for (size_t i = 0; i < count; i++)
    records[i] = format("{\"n\":%zu}", i + 1);
  return records;
}

static void free_texts(char **texts, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(texts[i]);
  free(texts);
}

/* ---- Through the engine ---- */

START_TEST(writes_each_record_as_one_line_in_order) {
  char *path = tmp_path("out.jsonl");
  pl_test_t *t = run_four(path, "");
  test_plugin_assert_clean(t);
  char *text = read_all(path);
  ck_assert_str_eq(text, four_lines);
  json_t *lines = parse_lines(text);
  ck_assert_uint_eq(json_array_size(lines), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *expected = json_loads(four[i], 0, NULL);
    ck_assert(json_equal(json_array_get(lines, i), expected));
    json_decref(expected);
  }
  ck_assert_uint_eq(pl_test_committed(t), 2);
  ck_assert_uint_eq(pl_test_failed(t), 0);
  json_decref(lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(path);
}
END_TEST

START_TEST(keeps_key_order_and_writes_utf8) {
  static const char *const records[] = {
      "{\"z\":1,\"a\":2,\"m\":{\"y\":true,\"b\":null}}",
      "{\"name\":\"Zo\\u00eb \\u2603 \\ud83d\\ude00\",\"esc\":\"q\\\"b\\\\s/"
      "\\n\\t\\u0001\"}",
  };
  char *path = tmp_path("order.jsonl");
  char *options = format("path = \"%s\"", path);
  pl_test_t *t = run_records(records, 2, 1, options);
  test_plugin_assert_clean(t);
  char *text = read_all(path);
  ck_assert_str_eq(text,
                   "{\"z\":1,\"a\":2,\"m\":{\"y\":true,\"b\":null}}\n"
                   "{\"name\":\"Zo\xC3\xAB \xE2\x98\x83 \xF0\x9F\x98\x80\","
                   "\"esc\":\"q\\\"b\\\\s/\\n\\t\\u0001\"}\n");
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(options);
  free(path);
}
END_TEST

START_TEST(appends_by_default_and_truncates_when_asked) {
  char *path = tmp_path("twice.jsonl");
  for (int i = 0; i < 2; i++) {
    pl_test_t *t = run_four(path, "");
    test_plugin_assert_clean(t);
    ck_assert_int_eq(pl_test_destroy(t), 0);
  }
  char *text = read_all(path);
  char *doubled = format("%s%s", four_lines, four_lines);
  ck_assert_str_eq(text, doubled);
  free(text);
  free(doubled);

  pl_test_t *t = run_four(path, "append = false");
  test_plugin_assert_clean(t);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  text = read_all(path);
  ck_assert_str_eq(text, four_lines);
  free(text);
  free(path);
}
END_TEST

START_TEST(fsync_writes_and_acknowledges) {
  char *path = tmp_path("synced.jsonl");
  pl_test_t *t = run_four(path, "fsync = true\n batch_size = 1");
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 2);
  ck_assert_ptr_null(strstr(pl_test_log(t), "cannot be synced"));
  char *text = read_all(path);
  ck_assert_str_eq(text, four_lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(path);
}
END_TEST

START_TEST(fsync_is_turned_off_for_files_that_cannot_sync) {
  pl_test_t *t = run_four("/dev/null", "fsync = true");
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 2);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "/dev/null cannot be synced"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* ---- Sync before acknowledgement ---- */

/* What the sink-file stage's "fdatasyncs" counter (its completed syncs)
 * read when the source's group was acknowledged, and at the end. */
typedef struct sync_probe {
  uint64_t at_commit;
  size_t commits;
} sync_probe_t;

static void probe_commit(pl_test_t *t, bool committed, void *data) {
  sync_probe_t *probe = data;
  probe->at_commit = pl_test_counter(t, "fdatasyncs");
  probe->commits++;
}

/* Runs three records in one group through sink-file with `options`; as
 * the dead letter (`as_dead_letter`), the capturing sink rejects the
 * second. Returns its syncs at the end. */
static uint64_t run_sync_probe(const char *options, bool as_dead_letter,
                               sync_probe_t *probe) {
  static const char *const records[] = {"{\"n\":1}", "{\"bad\":true}",
                                        "{\"n\":3}"};
  pl_test_t *t = fed(records, 3, 3, options);
  if (as_dead_letter) {
    ck_assert_int_eq(pl_test_set_as_dead_letter(t, true), 0);
    pl_test_set_sink_options(t, "reject_field = \"bad\"");
  }
  *probe = (sync_probe_t){0};
  pl_test_on_commit(t, probe_commit, probe);
  ck_assert_int_eq(pl_test_run(t, 30000), 0);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(probe->commits, 1);
  uint64_t syncs = pl_test_counter(t, "fdatasyncs");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  return syncs;
}

START_TEST(a_dead_letter_syncs_before_it_acknowledges_by_default) {
  char *path = tmp_path("letters.jsonl");
  char *blocks = format("path = \"%s\"", path);
  sync_probe_t probe;
  uint64_t syncs = run_sync_probe(blocks, true, &probe);
  /* The letter was on disk when its group was committed. */
  ck_assert_uint_eq(probe.at_commit, 1);
  ck_assert_uint_eq(syncs, 1);
  free(blocks);

  /* Turned off explicitly, it does not sync. */
  blocks = format("path = \"%s\"\n fsync = false", path);
  syncs = run_sync_probe(blocks, true, &probe);
  ck_assert_uint_eq(syncs, 0);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(an_ordinary_sink_syncs_only_when_asked) {
  char *path = tmp_path("out.jsonl");
  char *blocks = format("path = \"%s\"", path);
  sync_probe_t probe;
  uint64_t syncs = run_sync_probe(blocks, false, &probe);
  ck_assert_uint_eq(probe.at_commit, 0);
  ck_assert_uint_eq(syncs, 0);
  free(blocks);

  /* fsync = true (the bool it used to be) syncs before the ack. */
  blocks = format("path = \"%s\"\n fsync = true", path);
  syncs = run_sync_probe(blocks, false, &probe);
  ck_assert_uint_eq(probe.at_commit, 1);
  ck_assert_uint_eq(syncs, 1);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(creates_the_file_with_the_given_mode) {
  umask(022);
  char *path = tmp_path("private.jsonl");
  pl_test_t *t = run_four(path, "mode = \"0600\"");
  test_plugin_assert_clean(t);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(path);
}
END_TEST

START_TEST(a_bad_mode_or_empty_path_stops_the_engine_before_start) {
  char *path = tmp_path("never.jsonl");
  pl_test_t *t = run_four(path, "mode = \"0999\"");
  ck_assert_int_eq(pl_test_status(t), -1); /* never ran */
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "cannot initialise"));
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "not \"0999\""));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert_int_ne(access(path, F_OK), 0);

  t = run_four("", "");
  ck_assert_int_eq(pl_test_status(t), -1);
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "option 'path' is empty"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(path);
}
END_TEST

START_TEST(many_records_in_small_batches_stay_in_order) {
  enum { COUNT = 10000 };
  char **records = calloc(COUNT, sizeof(*records));
  for (size_t i = 0; i < COUNT; i++)
    records[i] =
        format("{\"n\":%zu,\"pad\":\"%0*zu\"}", i + 1, (int)(i % 13), i);
  char *path = tmp_path("many.jsonl");
  char *blocks = format("path = \"%s\"\n batch_size = 7", path);
  pl_test_t *t = run_records((const char *const *)records, COUNT, 100, blocks);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), COUNT / 100);
  ck_assert_uint_ge(test_plugin_metrics(t)->batches, COUNT / 7);
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, COUNT);
  char *text = read_all(path);
  json_t *lines = parse_lines(text);
  ck_assert_uint_eq(json_array_size(lines), COUNT);
  for (size_t i = 0; i < COUNT; i++) {
    json_t *line = json_array_get(lines, i);
    ck_assert_int_eq(json_integer_value(json_object_get(line, "n")),
                     (json_int_t)i + 1);
  }
  json_decref(lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free_texts(records, COUNT);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(batches_in_flight_together_are_written_in_order) {
  enum { COUNT = 2000 };
  char **records = numbered(COUNT);
  char *path = tmp_path("inflight.jsonl");
  char *blocks =
      format("path = \"%s\"\n batch_size = 5\n max_in_flight = 4", path);
  pl_test_t *t = run_records((const char *const *)records, COUNT, 10, blocks);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), COUNT / 10);
  char *text = read_all(path);
  json_t *lines = parse_lines(text);
  ck_assert_uint_eq(json_array_size(lines), COUNT);
  for (size_t i = 0; i < COUNT; i++)
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(lines, i), "n")),
        (json_int_t)i + 1);
  json_decref(lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free_texts(records, COUNT);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(as_dead_letter_it_writes_the_letters) {
  static const char *const records[] = {"{\"n\":1}", "{\"bad\":true}",
                                        "{\"n\":3}"};
  char *path = tmp_path("rejected.jsonl");
  char *blocks = format("path = \"%s\"", path);
  pl_test_t *t = fed(records, 3, 3, blocks);
  ck_assert_int_eq(pl_test_set_as_dead_letter(t, true), 0);
  pl_test_set_sink_options(t, "reject_field = \"bad\"");
  pl_test_run(t, 30000);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  char *text = read_all(path);
  json_t *lines = parse_lines(text);
  ck_assert_uint_eq(json_array_size(lines), 1);
  json_t *letter = json_array_get(lines, 0);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "reason")),
                   "has field 'bad'");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "pipeline")),
                   "test");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "stage")),
                   "sink-pl-test");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "origin")),
                   "test:feed");
  ck_assert_int_eq(json_integer_value(json_object_get(letter, "line")), 2);
  json_t *expected = json_pack("{s:b}", "bad", 1);
  ck_assert(json_equal(json_object_get(letter, "record"), expected));
  json_decref(expected);
  /* The core builds the letter in this order; the line keeps it. */
  ck_assert_ptr_eq(strstr(text, "{\"reason\":"), text);
  json_decref(lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(unencodable_records_are_rejected_and_bytes_are_raw) {
  /* A value with a string that is not UTF-8, two bytes records (one
   * empty), in one group between two good records. */
  char *path = tmp_path("mangled.jsonl");
  char *blocks = format("path = \"%s\"", path);
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  pl_test_set_options(t, blocks);
  ck_assert_int_eq(pl_test_feed_record(t, "{\"n\":1}"), 0);
  ck_assert_int_eq(
      pl_test_feed_value(
          t, json_pack("{s:o}", "poison", json_string_nocheck("\xff"))),
      0);
  const char *tabbed = "line one\twith tab \xC3\xA9";
  ck_assert_int_eq(pl_test_feed_bytes(t, tabbed, strlen(tabbed), false), 0);
  ck_assert_int_eq(pl_test_feed_bytes(t, "", 0, false), 0);
  ck_assert_int_eq(pl_test_feed_record(t, "{\"n\":5}"), 0);
  pl_test_run(t, 30000);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  char *text = read_all(path);
  ck_assert_str_eq(text, "{\"n\":1}\n"
                         "{\"raw\":\"line one\\twith tab \xC3\xA9\"}\n"
                         "{\"n\":5}\n");
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  json_t *letter = pl_test_dead_letter_document(t, 0);
  ck_assert_str_eq(json_string_value(json_object_get(letter, "reason")),
                   "cannot write the record as JSON: a string is not valid "
                   "UTF-8");
  ck_assert_str_eq(json_string_value(json_object_get(letter, "stage")),
                   "sink-file");
  ck_assert_int_eq(json_integer_value(json_object_get(letter, "line")), 2);
  ck_assert_uint_eq(test_plugin_metrics(t)->rejected, 1);
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, 4);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(dash_means_standard_output) {
  char *path = tmp_path("stdout.jsonl");
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  dup2(fd, STDOUT_FILENO);
  close(fd);
  pl_test_t *t = run_four("-", "");
  dup2(saved, STDOUT_FILENO);
  close(saved);
  test_plugin_assert_clean(t);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* Standard output stays open after the run. */
  ck_assert_int_ne(fcntl(STDOUT_FILENO, F_GETFD), -1);
  char *text = read_all(path);
  ck_assert_str_eq(text, four_lines);
  free(text);
  free(path);
}
END_TEST

START_TEST(an_unopenable_path_fails_the_start_and_names_the_path) {
  char *missing = tmp_path("missing/out.jsonl");
  char *blocks = format("path = \"%s\"", missing);
  pl_test_t *t = fed(four, 4, 4, blocks);
  ck_assert_int_eq(pl_test_run(t, 30000), PL_ENOENT);
  char *expected = format("cannot open %s: no such file or directory", missing);
  ck_assert_msg(strstr(pl_test_log(t), expected) != NULL, "%s", pl_test_log(t));
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "[sink-file:test]"));
  ck_assert_uint_eq(pl_test_emitted(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(expected);
  free(blocks);

  /* A directory, and a dead letter that did open and must be closed. */
  char *dead = tmp_path("dead.jsonl");
  blocks = format("path = \"%s\"", tmp_dir);
  t = fed(four, 4, 4, blocks);
  char *dead_options = format("path = \"%s\"", dead);
  ck_assert_int_eq(pl_test_set_dead_letter(t, &pipelined_plugin, dead_options),
                   0);
  ck_assert_int_eq(pl_test_run(t, 30000), PL_EIO);
  expected =
      format("cannot open %s: illegal operation on a directory", tmp_dir);
  ck_assert_msg(strstr(pl_test_log(t), expected) != NULL, "%s", pl_test_log(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(expected);
  free(dead_options);
  free(blocks);
  free(dead);
  free(missing);
}
END_TEST

/* A FIFO that no process reads: the start fails at once, naming it, where
 * opening it waited for a reader with the loop held (SIGTERM ignored). */
START_TEST(a_fifo_without_a_reader_fails_the_start) {
  char *fifo = tmp_path("out.fifo");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  char *blocks = format("path = \"%s\"", fifo);
  pl_test_t *t = fed(four, 4, 4, blocks);
  ck_assert_int_eq(pl_test_run(t, 30000), PL_EIO);
  char *expected = format("cannot open %s: a FIFO that no process reads", fifo);
  ck_assert_msg(strstr(pl_test_log(t), expected) != NULL, "%s", pl_test_log(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(expected);
  free(blocks);
  unlink(fifo);
  free(fifo);
}
END_TEST

START_TEST(a_failing_write_is_retried_then_fails_naming_the_path) {
  pl_test_t *t = run_four("/dev/full", "retry_limit = 1\n retry_backoff = 1ms");
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_uint_eq(pl_test_failed(t), 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 0);
  const char *log = pl_test_log(t);
  ck_assert_msg(strstr(log, "write to /dev/full failed: no space left on "
                            "device") != NULL,
                "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "retry 1 of 1"));
  ck_assert_ptr_nonnull(strstr(log, "failed after 2 attempt(s)"));
  /* A disk still full after the retries breaks the stage. */
  ck_assert_ptr_nonnull(strstr(log, "cannot write any more"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (const char *p = text; (p = strchr(p, '\n')); p++)
    n++;
  return n;
}

START_TEST(a_broken_pipe_fails_the_stage_at_once) {
  enum { COUNT = 2000 };
  char **records = numbered(COUNT);
  const char *blocks = "path = \"-\"\n batch_size = 10\n"
                       " retry_limit = 5\n retry_backoff = 1ms";
  /* Standard output is a pipe whose reader is gone: EPIPE on every write
   * (SIGPIPE would end the test instead, as it does a daemon that has not
   * ignored it). */
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  dup2(fds[1], STDOUT_FILENO);
  close(fds[1]);
  pl_test_t *t = fed((const char *const *)records, COUNT, 100, blocks);
  int rc = pl_test_run(t, 30000);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(pl_test_status(t), 1);
  const pl_stage_metrics_t *sink = test_plugin_metrics(t);
  const char *log = pl_test_log(t);
  /* Not retried, and nothing more was handed to the plugin. */
  ck_assert_msg(sink->retried == 0, "%s", log);
  ck_assert_uint_eq(sink->batches, 1);
  ck_assert_uint_eq(sink->records_out, 0);
  /* The source stopped: it did not read its whole input, and no group of
   * it was committed. */
  ck_assert_uint_lt(pl_test_emitted(t), COUNT);
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_uint_ge(pl_test_failed(t), 1);
  ck_assert_uint_eq(sink->failed, pl_test_emitted(t));
  /* One line says what happened, naming the stage and the error. */
  ck_assert_msg(count_lines(log) <= 3, "%s", log);
  const char *line = strstr(log, "[sink-file:test] write to standard output "
                                 "failed after 1 attempt(s): broken pipe; "
                                 "the stage cannot write any more");
  ck_assert_msg(line != NULL, "%s", log);
  ck_assert_ptr_null(strstr(strstr(line, "broken pipe") + 1, "broken pipe"));
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* A daemon (no --once) shuts down by itself, with exit status 1. */
  ck_assert_int_eq(pipe(fds), 0);
  close(fds[0]);
  saved = dup(STDOUT_FILENO);
  dup2(fds[1], STDOUT_FILENO);
  close(fds[1]);
  t = fed((const char *const *)records, COUNT, 100, blocks);
  pl_test_set_daemon(t, true);
  rc = pl_test_run(t, 30000);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  ck_assert_int_eq(rc, 0); /* ended by itself, not timed out */
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "shutting down"));
  ck_assert_uint_eq(pl_test_committed(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  signal(SIGPIPE, SIG_DFL);
  free_texts(records, COUNT);
}
END_TEST

/* ---- A write that stops part-way (RLIMIT_FSIZE makes it so) ---- */

static const char *const ten[] = {
    "{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}",
    "{\"n\":6}", "{\"n\":7}", "{\"n\":8}", "{\"n\":9}", "{\"n\":10}",
};
static const char ten_lines[] =
    "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n"
    "{\"n\":6}\n{\"n\":7}\n{\"n\":8}\n{\"n\":9}\n{\"n\":10}\n";

/* Files may grow to `bytes` only: writes beyond stop short, then fail with
 * EFBIG. Check's own messages go to files too, so no ck_assert may run
 * while the limit is on. */
static struct rlimit saved_fsize;
static int limit_rc;

static void limit_file_size(rlim_t bytes) {
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
  ck_assert(saved_fsize.rlim_max == RLIM_INFINITY ||
            saved_fsize.rlim_max > bytes);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {bytes, saved_fsize.rlim_max};
  limit_rc = setrlimit(RLIMIT_FSIZE, &limit); /* checked once lifted */
}

static void unlimit_file_size(void) {
  setrlimit(RLIMIT_FSIZE, &saved_fsize);
  signal(SIGXFSZ, SIG_DFL);
}

static void on_unlimit(uv_timer_t *timer) {
  unlimit_file_size();
  uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(a_torn_line_is_completed_by_the_retry) {
  char *path = tmp_path("torn.jsonl");
  char *blocks = format("path = \"%s\"\n retry_limit = 50\n"
                        " retry_backoff = 2ms\n retry_backoff_max = 5ms",
                        path);
  pl_test_t *t = fed(ten, 10, 10, blocks);
  ck_assert_int_eq(pl_test_start(t), 0);
  uv_timer_t timer;
  uv_timer_init(pl_test_loop(t), &timer);
  /* 20 bytes: two lines and the first 4 bytes of the third. */
  limit_file_size(20);
  uv_timer_start(&timer, on_unlimit, 40, 0);
  int rc = pl_test_run(t, 30000);
  ck_assert_int_eq(limit_rc, 0);
  ck_assert_int_eq(rc, 0);
  test_plugin_assert_clean(t);
  ck_assert_uint_eq(pl_test_committed(t), 1);
  /* The two whole lines were delivered at once; only the rest was
   * retried. */
  ck_assert_uint_ge(test_plugin_metrics(t)->retried, 8);
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, 10);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "file too large"));
  char *text = read_all(path);
  ck_assert_str_eq(text, ten_lines);
  free(text);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(blocks);
  free(path);
}
END_TEST

START_TEST(a_torn_line_left_by_an_earlier_run_is_ended) {
  char *path = tmp_path("left.jsonl");
  char *blocks = format("path = \"%s\"\n retry_limit = 0", path);
  pl_test_t *t = fed(ten, 10, 10, blocks);
  ck_assert_int_eq(pl_test_start(t), 0);
  limit_file_size(20);
  int rc = pl_test_run(t, 30000);
  unlimit_file_size();
  ck_assert_int_eq(limit_rc, 0);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  char *text = read_all(path);
  ck_assert_str_eq(text, "{\"n\":1}\n{\"n\":2}\n{\"n\"");
  free(text);

  t = run_records(ten, 10, 10, blocks);
  test_plugin_assert_clean(t);
  ck_assert_ptr_nonnull(strstr(pl_test_log(t), "ends in the middle of a line"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  text = read_all(path);
  char *expected = format("{\"n\":1}\n{\"n\":2}\n{\"n\"\n%s", ten_lines);
  ck_assert_str_eq(text, expected);
  free(expected);
  free(text);
  free(blocks);
  free(path);
}
END_TEST

static Suite *sink_file_suite(void) {
  Suite *s = suite_create("sink-file");
  TCase *engine = tcase_create("engine");
  tcase_add_checked_fixture(engine, make_tmp_dir, remove_tmp_dir);
  tcase_set_timeout(engine, 60);
  tcase_add_test(engine, writes_each_record_as_one_line_in_order);
  tcase_add_test(engine, keeps_key_order_and_writes_utf8);
  tcase_add_test(engine, appends_by_default_and_truncates_when_asked);
  tcase_add_test(engine, fsync_writes_and_acknowledges);
  tcase_add_test(engine, fsync_is_turned_off_for_files_that_cannot_sync);
  tcase_add_test(engine, a_dead_letter_syncs_before_it_acknowledges_by_default);
  tcase_add_test(engine, an_ordinary_sink_syncs_only_when_asked);
  tcase_add_test(engine, creates_the_file_with_the_given_mode);
  tcase_add_test(engine,
                 a_bad_mode_or_empty_path_stops_the_engine_before_start);
  tcase_add_test(engine, many_records_in_small_batches_stay_in_order);
  tcase_add_test(engine, batches_in_flight_together_are_written_in_order);
  tcase_add_test(engine, as_dead_letter_it_writes_the_letters);
  tcase_add_test(engine, unencodable_records_are_rejected_and_bytes_are_raw);
  tcase_add_test(engine, dash_means_standard_output);
  tcase_add_test(engine, an_unopenable_path_fails_the_start_and_names_the_path);
  tcase_add_test(engine, a_fifo_without_a_reader_fails_the_start);
  tcase_add_test(engine, a_failing_write_is_retried_then_fails_naming_the_path);
  tcase_add_test(engine, a_broken_pipe_fails_the_stage_at_once);
  tcase_add_test(engine, a_torn_line_is_completed_by_the_retry);
  tcase_add_test(engine, a_torn_line_left_by_an_earlier_run_is_ended);
  suite_add_tcase(s, engine);
  return s;
}

int main(void) {
  return test_suite_run(sink_file_suite());
}
