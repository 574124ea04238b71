/* Check suite for src/ledger.c: progress ledgers (<pipelined/ledger.h>). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipelined/ledger.h>

#include "test_stages.h"
#include "test_suite.h"

/* A fresh directory under TMPDIR; the ledger file in it in *path. */
static char *ledger_path(char *dir, size_t size) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir, size, "%s/ledger-XXXXXX", tmp);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  pl_buf_t path = {0};
  ck_assert_int_eq(pl_buf_printf(&path, "%s/sub/p.ledger", dir), 0);
  return path.data;
}

static char *read_text(const char *path) {
  pl_buf_t text = {0};
  ck_assert_int_eq(pl_state_file_read(path, &text, NULL), 0);
  return text.data ? text.data : strdup("");
}

static void remove_tree(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(entries_are_found_by_key_and_version) {
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(NULL, &ledger, NULL), 0);
  uint64_t offset = 0, line = 0;
  ck_assert(!pl_ledger_find(ledger, "s3://b/k", "e1", &offset, &line));
  ck_assert_int_eq(pl_ledger_set(ledger, "s3://b/k", "e1", 4096, 77), 0);
  ck_assert(pl_ledger_find(ledger, "s3://b/k", "e1", &offset, &line));
  ck_assert_uint_eq(offset, 4096);
  ck_assert_uint_eq(line, 77);
  /* Another version of the input is not resumed. */
  ck_assert(!pl_ledger_find(ledger, "s3://b/k", "e2", &offset, &line));
  ck_assert(!pl_ledger_find(ledger, "s3://b/k", NULL, &offset, &line));
  /* No version matches no version only. */
  ck_assert_int_eq(pl_ledger_set(ledger, "file:/x", "", 10, 2), 0);
  ck_assert(pl_ledger_find(ledger, "file:/x", NULL, &offset, &line));
  ck_assert(!pl_ledger_find(ledger, "file:/x", "v", &offset, &line));
  ck_assert_uint_eq(pl_ledger_count(ledger), 2);
  ck_assert_int_eq(pl_ledger_set(ledger, "", "v", 1, 1), PL_EINVAL);
  ck_assert(pl_ledger_remove(ledger, "file:/x"));
  ck_assert(!pl_ledger_remove(ledger, "file:/x"));
  ck_assert_uint_eq(pl_ledger_count(ledger), 1);
  ck_assert_ptr_null(pl_ledger_file(ledger));
  pl_ledger_destroy(ledger);
}
END_TEST

START_TEST(the_file_round_trips_with_odd_keys) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  ck_assert_int_eq(pl_ledger_set(ledger, "s3://b/a key%\n", "\"e t\"",
                                 123456789012ull, 42),
                   0);
  ck_assert_int_eq(pl_ledger_set(ledger, "file:/x", "-", 7, 0), 0);
  ck_assert_int_eq(pl_ledger_set(ledger, "file:/y", NULL, 8, 3), 0);
  ck_assert_int_eq(pl_ledger_flush(ledger, NULL), 0);
  char *text = read_text(path);
  ck_assert_str_eq(text, "pipelined ledger 1\n"
                         "123456789012 42 \"e%20t\" s3://b/a key%25%0A\n"
                         "7 0 %2D file:/x\n"
                         "8 3 - file:/y\n");
  free(text);
  pl_ledger_destroy(ledger);
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  uint64_t offset = 0, line = 0;
  ck_assert(pl_ledger_find(ledger, "s3://b/a key%\n", "\"e t\"", &offset,
                           &line));
  ck_assert_uint_eq(offset, 123456789012ull);
  ck_assert_uint_eq(line, 42);
  ck_assert(pl_ledger_find(ledger, "file:/x", "-", &offset, &line));
  ck_assert(pl_ledger_find(ledger, "file:/y", NULL, &offset, &line));
  ck_assert_uint_eq(offset, 8);
  /* Nothing changed since loading: a flush writes nothing. */
  ck_assert_int_eq(unlink(path), 0);
  ck_assert_int_eq(pl_ledger_flush(ledger, NULL), 0);
  ck_assert_int_eq(access(path, F_OK), -1);
  pl_ledger_destroy(ledger);
  free(path);
  remove_tree(dir);
}
END_TEST

/* Writes `text` as the ledger file and loads it; returns the number of
 * entries loaded, with the warning (or NULL) in *warning; *aside tells
 * whether the file was set aside as <path>.bad. */
static size_t load_text(const char *text, char **warning, bool *aside) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  pl_ledger_destroy(ledger);
  ck_assert_int_eq(pl_state_file_write(path, text, strlen(text), NULL), 0);
  ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, warning), 0);
  size_t count = pl_ledger_count(ledger);
  pl_ledger_destroy(ledger);
  pl_buf_t bad = {0};
  ck_assert_int_eq(pl_buf_printf(&bad, "%s.bad", path), 0);
  *aside = access(bad.data, F_OK) == 0;
  pl_buf_free(&bad);
  free(path);
  remove_tree(dir);
  return count;
}

/* A torn or foreign file is a lost hint, not a reason to stop: set aside,
 * with a warning naming the line, and the ledger starts empty. */
START_TEST(a_bad_file_is_set_aside_naming_the_line) {
  static const struct {
    const char *text;
    const char *reason;
  } cases[] = {
      {"", ":1: the first line (the header) is missing"},
      {"pipelined source-s3 state 1\n", ":1: not a ledger"},
      {"pipelined ledger 1\nx 1 e k\n", ":2: bad offset"},
      {"pipelined ledger 1\n1 e k\n", ":2: bad line number"},
      {"pipelined ledger 1\n99999999999999999999 1 e k\n", ":2: bad offset"},
      {"pipelined ledger 1\n1 1 e\n", ":2: bad version"},
      {"pipelined ledger 1\n1 1 e \n", ":2: bad key"},
      {"pipelined ledger 1\n1 1 e k\n2 2 e k\n", ":3: the key is on an"},
      {"pipelined ledger 1\n1 1 e k", "incomplete"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *warning = NULL;
    bool aside = false;
    ck_assert_uint_eq(load_text(cases[i].text, &warning, &aside), 0);
    ck_assert_msg(warning && strstr(warning, cases[i].reason) &&
                      strstr(warning, ".bad: the inputs it named are read"),
                  "%zu: %s", i, warning ? warning : "(none)");
    ck_assert(aside);
    free(warning);
  }
  char *warning = NULL;
  bool aside = true;
  ck_assert_uint_eq(load_text("pipelined ledger 1\n5 2 e k\n", &warning,
                              &aside),
                    1);
  ck_assert_ptr_null(warning);
  ck_assert(!aside);
}
END_TEST

/* The file on disk, to see when a save happened. */
static void assert_file(const char *path, const char *want) {
  char *text = read_text(path);
  ck_assert_str_eq(text, want);
  free(text);
}

START_TEST(saves_happen_every_64_kib_not_every_row) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  /* A new entry is saved at once. */
  ck_assert_int_eq(pl_ledger_set(ledger, "k", "e", 0, 1), 0);
  assert_file(path, "pipelined ledger 1\n0 1 e k\n");
  /* 1000 rows of 50 bytes: under 64 KiB, no save. */
  for (uint64_t row = 1; row <= 1000; row++)
    ck_assert_int_eq(pl_ledger_set(ledger, "k", "e", row * 50, row), 0);
  assert_file(path, "pipelined ledger 1\n0 1 e k\n");
  /* Past it: saved, with the latest position. */
  ck_assert_int_eq(pl_ledger_set(ledger, "k", "e", PL_LEDGER_SAVE_BYTES, 1400),
                   0);
  assert_file(path, "pipelined ledger 1\n65536 1400 e k\n");
  /* Another version of the input is saved at once. */
  ck_assert_int_eq(pl_ledger_set(ledger, "k", "f", 10, 2), 0);
  assert_file(path, "pipelined ledger 1\n10 2 f k\n");
  /* The rest goes at close (pl_ledger_flush). */
  ck_assert_int_eq(pl_ledger_set(ledger, "k", "f", 7000, 150), 0);
  assert_file(path, "pipelined ledger 1\n10 2 f k\n");
  ck_assert_int_eq(pl_ledger_flush(ledger, NULL), 0);
  assert_file(path, "pipelined ledger 1\n7000 150 f k\n");
  /* An input committed whole: its end is saved at once, however near. */
  ck_assert_int_eq(pl_ledger_complete(ledger, "k", "f", 7100), 0);
  assert_file(path, "pipelined ledger 1\n7100 0 f k\n");
  /* A removal is saved at once. */
  ck_assert(pl_ledger_remove(ledger, "k"));
  assert_file(path, "pipelined ledger 1\n");
  pl_ledger_destroy(ledger);
  free(path);
  remove_tree(dir);
}
END_TEST

/* A save that fails (its directory is gone) is said once through the
 * source's log, not at every row; the entry stays in memory. */
START_TEST(a_failing_save_is_logged_once) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  test_run_t *run = test_run_idle(NULL);
  pl_instance_t *inst = test_stage(run, "p", PL_ROLE_SOURCE);
  remove_tree(dir);
  for (uint64_t i = 0; i < 5; i++)
    ck_assert_int_eq(pl_ledger_advance(ledger, inst, "s3://b/k", "e",
                                       i * PL_LEDGER_SAVE_BYTES, i),
                     PL_EIO);
  const char *log = test_log(run);
  const char *first = strstr(log, "s3://b/k: cannot save how far its rows "
                                  "are committed");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_null(strstr(first + 20, "cannot save how far"));
  uint64_t offset = 0, line = 0;
  ck_assert(pl_ledger_find(ledger, "s3://b/k", "e", &offset, &line));
  ck_assert_uint_eq(line, 4);
  ck_assert_int_eq(test_run_stop(run), 0);
  pl_ledger_destroy(ledger);
  free(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ledger");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, entries_are_found_by_key_and_version);
  tcase_add_test(tc, the_file_round_trips_with_odd_keys);
  tcase_add_test(tc, a_bad_file_is_set_aside_naming_the_line);
  tcase_add_test(tc, saves_happen_every_64_kib_not_every_row);
  tcase_add_test(tc, a_failing_save_is_logged_once);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
