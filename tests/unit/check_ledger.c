/* Check suite for src/ledger.c: progress ledgers (<pipelined/ledger.h>). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <pipelined/ledger.h>

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
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "s3://b/k", "e1", 4096, 77), 0);
  ck_assert(pl_ledger_find(ledger, "s3://b/k", "e1", &offset, &line));
  ck_assert_uint_eq(offset, 4096);
  ck_assert_uint_eq(line, 77);
  /* Another version of the input is not resumed. */
  ck_assert(!pl_ledger_find(ledger, "s3://b/k", "e2", &offset, &line));
  ck_assert(!pl_ledger_find(ledger, "s3://b/k", NULL, &offset, &line));
  /* No version matches no version only. */
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "file:/x", "", 10, 2), 0);
  ck_assert(pl_ledger_find(ledger, "file:/x", NULL, &offset, &line));
  ck_assert(!pl_ledger_find(ledger, "file:/x", "v", &offset, &line));
  ck_assert_uint_eq(pl_ledger_count(ledger), 2);
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "", "v", 1, 1), PL_EINVAL);
  ck_assert(pl_ledger_remove(ledger, NULL, "file:/x"));
  ck_assert(!pl_ledger_remove(ledger, NULL, "file:/x"));
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
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "s3://b/a key%\n", "\"e t\"",
                                 123456789012ull, 42),
                   0);
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "file:/x", "-", 7, 0), 0);
  ck_assert_int_eq(pl_ledger_set(ledger, NULL, "file:/y", NULL, 8, 3), 0);
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

/* Writes `text` as the ledger file and loads it; returns the code. */
static int load_text(const char *text, char **error) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  pl_ledger_destroy(ledger);
  ck_assert_int_eq(pl_state_file_write(path, text, strlen(text), NULL), 0);
  ledger = NULL;
  int rc = pl_ledger_create(path, &ledger, error);
  if (rc == 0)
    pl_ledger_destroy(ledger);
  else
    ck_assert_ptr_null(ledger);
  free(path);
  remove_tree(dir);
  return rc;
}

START_TEST(a_bad_file_is_refused_naming_the_line) {
  static const struct {
    const char *text;
    const char *reason;
  } cases[] = {
      {"pipelined source-s3 state 1\n", ":1: not a ledger"},
      {"pipelined ledger 1\nx 1 e k\n", ":2: bad offset"},
      {"pipelined ledger 1\n1 e k\n", ":2: bad line number"},
      {"pipelined ledger 1\n99999999999999999999 1 e k\n", ":2: bad offset"},
      {"pipelined ledger 1\n1 1 e\n", ":2: bad version"},
      {"pipelined ledger 1\n1 1 e \n", ":2: bad key"},
      {"pipelined ledger 1\n1 1 e k\n2 2 e k\n", ":3: the key is on an"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *error = NULL;
    ck_assert_int_eq(load_text(cases[i].text, &error), PL_EPARSE);
    ck_assert_msg(error && strstr(error, cases[i].reason), "%zu: %s", i,
                  error ? error : "(none)");
    free(error);
  }
  ck_assert_int_eq(load_text("pipelined ledger 1\n5 2 e k\n", NULL), 0);
}
END_TEST

/* Counts the writes of the thread pool's saves. */
static int counting_write(void *arg, const char *path, const void *bytes,
                          size_t len, char **error) {
  (*(int *)arg)++;
  return pl_state_file_write(path, bytes, len, error);
}

START_TEST(saves_are_asked_for_every_64_kib_not_every_row) {
  char dir[256];
  char *path = ledger_path(dir, sizeof(dir));
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pl_ledger_t *ledger = NULL;
  ck_assert_int_eq(pl_ledger_create(path, &ledger, NULL), 0);
  int writes = 0;
  pl_state_file_set_writer(pl_ledger_file(ledger), counting_write, &writes);
  /* A new entry is saved at once. */
  ck_assert_int_eq(pl_ledger_set(ledger, &loop, "k", "e", 0, 1), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(writes, 1);
  /* 1000 rows of 50 bytes: under 64 KiB, no save. */
  for (uint64_t row = 1; row <= 1000; row++)
    ck_assert_int_eq(pl_ledger_set(ledger, &loop, "k", "e", row * 50, row), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(writes, 1);
  /* Past it: one save, and the file has the latest position. */
  ck_assert_int_eq(
      pl_ledger_set(ledger, &loop, "k", "e", PL_LEDGER_SAVE_BYTES, 1400), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(writes, 2);
  char *text = read_text(path);
  ck_assert_str_eq(text, "pipelined ledger 1\n65536 1400 e k\n");
  free(text);
  /* The rest goes at close (pl_ledger_flush). */
  ck_assert_int_eq(pl_ledger_set(ledger, &loop, "k", "e", 70000, 1500), 0);
  ck_assert_int_eq(pl_ledger_flush(ledger, NULL), 0);
  text = read_text(path);
  ck_assert_str_eq(text, "pipelined ledger 1\n70000 1500 e k\n");
  free(text);
  /* A removal is saved at once. */
  ck_assert(pl_ledger_remove(ledger, &loop, "k"));
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(writes, 3);
  text = read_text(path);
  ck_assert_str_eq(text, "pipelined ledger 1\n");
  free(text);
  pl_ledger_destroy(ledger);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  free(path);
  remove_tree(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ledger");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, entries_are_found_by_key_and_version);
  tcase_add_test(tc, the_file_round_trips_with_odd_keys);
  tcase_add_test(tc, a_bad_file_is_refused_naming_the_line);
  tcase_add_test(tc, saves_are_asked_for_every_64_kib_not_every_row);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
