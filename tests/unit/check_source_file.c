/* source-file under libpipelined-testing (<pipelined/testing.h>: the
 * plugin as the source of pipeline "test", the capturing sink after it,
 * which keeps each byte record as a string with its origin and last flag),
 * and its parts on their own: the state file, the scan and the move/delete
 * actions. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pipelined/testing.h>

#include "../../plugins/source-file/file_done.h"
#include "../../plugins/source-file/file_reader.h"
#include "../../plugins/source-file/file_scan.h"
#include "../../plugins/source-file/file_state.h"
#include "test_compress.h"
#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- Files ---- */

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/check-source-file-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  return remove(path);
}

static void remove_tree(char *dir) {
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* dir/name, a new string. */
static char *join(const char *dir, const char *name) {
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, "%s/%s", dir, name);
  return buf.data;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char *path = join(dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
  ck_assert_int_eq(fclose(f), 0);
  free(path);
}

/* The whole content of dir/name (a new string), or NULL when missing. */
static char *read_file(const char *dir, const char *name) {
  char *path = join(dir, name);
  FILE *f = fopen(path, "rb");
  free(path);
  if (!f)
    return NULL;
  pl_buf_t buf = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    pl_buf_append(&buf, chunk, n);
  fclose(f);
  pl_buf_append_str(&buf, "");
  return buf.data;
}

static bool exists(const char *dir, const char *name) {
  char *path = join(dir, name);
  bool found = access(path, F_OK) == 0;
  free(path);
  return found;
}

/* Sets the mtime of dir/name to `seconds` since the epoch. */
static void set_mtime(const char *dir, const char *name, time_t seconds) {
  char *path = join(dir, name);
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
  free(path);
}

/* ---- Runs ---- */

/* A harness around source "file" with `source` options and the capturing
 * sink with `sink` options (NULL: none); `daemon` runs it without --once. */
static pl_test_t *harness(const char *source, const char *sink, bool daemon) {
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &t), 0);
  ck_assert_int_eq(pl_test_set_options(t, source), 0);
  if (sink)
    ck_assert_int_eq(pl_test_set_sink_options(t, sink), 0);
  ck_assert_int_eq(pl_test_set_daemon(t, daemon), 0);
  return t;
}

/* A --once run that must end by itself. */
static pl_test_t *run_once(const char *source, const char *sink) {
  pl_test_t *t = harness(source, sink, false);
  test_plugin_run(t, 20000);
  return t;
}

/* A --once run whose config the engine refuses (the plugin's init failing
 * is one case): pl_test_errors() and the log say why. */
static pl_test_t *run_refused(const char *source) {
  pl_test_t *t = harness(source, NULL, false);
  int rc = pl_test_run(t, 20000);
  /* A refused run has no status (a timed-out one returns PL_EAGAIN too). */
  ck_assert_msg(rc < 0 && pl_test_status(t) == -1, "rc %d: %s", rc,
                pl_test_log(t));
  return t;
}

/* A daemon run started, for a test that puts its timers on the loop
 * before pl_test_run(). */
static pl_test_t *start_daemon(const char *source, const char *sink) {
  pl_test_t *t = harness(source, sink, true);
  int rc = pl_test_start(t);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
  return t;
}

/* The captured record i: its bytes (a string) and its metadata. */
static const char *bytes_of(pl_test_t *t, size_t i) {
  return json_string_value(pl_test_record(t, i));
}
static const char *origin_of(pl_test_t *t, size_t i) {
  return json_string_value(
      json_object_get(pl_test_record_meta(t, i), "origin"));
}
static bool is_last(pl_test_t *t, size_t i) {
  return json_is_true(json_object_get(pl_test_record_meta(t, i), "last"));
}

/* The files the records make up, in order: an array of [origin, text].
 * Checks that a file's records are contiguous byte records (no cut) and
 * that exactly its final record has last = true. */
static json_t *files_of(pl_test_t *t) {
  json_t *files = json_array();
  pl_buf_t text = {0};
  const char *current = NULL;
  bool open = false;
  for (size_t i = 0; i < pl_test_record_count(t); i++) {
    json_t *meta = pl_test_record_meta(t, i);
    const char *origin = origin_of(t, i);
    const char *bytes = bytes_of(t, i);
    ck_assert_ptr_nonnull(origin);
    ck_assert_ptr_nonnull(bytes);
    ck_assert(json_is_true(json_object_get(meta, "bytes")));
    ck_assert(!json_is_true(json_object_get(meta, "cut")));
    if (open)
      ck_assert_str_eq(origin, current);
    current = origin;
    open = true;
    pl_buf_append_str(&text, bytes);
    if (is_last(t, i)) {
      json_array_append_new(
          files,
          json_pack("[s, s#]", origin, text.data ? text.data : "", text.len));
      pl_buf_reset(&text);
      open = false;
    }
  }
  ck_assert_msg(!open, "the records of %s end without last = true", current);
  pl_buf_free(&text);
  return files;
}

/* Asserts that file i of `files` is dir/name with `text`. */
static void assert_file(json_t *files, size_t i, const char *dir,
                        const char *name, const char *text) {
  json_t *file = json_array_get(files, i);
  ck_assert_ptr_nonnull(file);
  char *path = join(dir, name);
  pl_buf_t origin = {0};
  pl_buf_printf(&origin, "file:%s", path);
  ck_assert_str_eq(json_string_value(json_array_get(file, 0)), origin.data);
  ck_assert_str_eq(json_string_value(json_array_get(file, 1)), text);
  pl_buf_free(&origin);
  free(path);
}

static uint64_t groups_committed(pl_test_t *t) {
  return test_plugin_pipeline(t)->groups_committed;
}
static uint64_t groups_failed(pl_test_t *t) {
  return test_plugin_pipeline(t)->groups_failed;
}

static void assert_log_has(pl_test_t *t, const char *text) {
  ck_assert_msg(strstr(pl_test_log(t), text), "no \"%s\" in: %s", text,
                pl_test_log(t));
}

/* Runs the loop of a run that ended until `text` is logged (what the
 * source still does after the run, such as moving a file), then asserts
 * it is there. */
static void wait_for_log(pl_test_t *t, const char *text) {
  for (int i = 0; i < 2000 && !strstr(pl_test_log(t), text); i++) {
    uv_run(pl_test_loop(t), UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_log_has(t, text);
}

static const char *const fox =
    "The quick brown fox jumps over the lazy dog. 0123456789";

/* ---- Tests ---- */

START_TEST(a_file_is_read_in_chunks_that_reassemble_exactly) {
  char *dir = make_tmpdir();
  write_file(dir, "fox.txt", fox);
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/fox.txt\"]\n chunk_size = 7B", dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  size_t count = pl_test_record_count(t);
  size_t len = strlen(fox);
  ck_assert_uint_eq(count, (len + 6) / 7);
  for (size_t i = 0; i < count; i++) {
    ck_assert_uint_eq(strlen(bytes_of(t, i)), i + 1 < count ? 7 : len - 7 * i);
    ck_assert_int_eq(is_last(t, i), i + 1 == count);
  }
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, dir, "fox.txt", fox);
  ck_assert_uint_eq(groups_committed(t), 1);
  /* Records carry the chunk length as their size. */
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, (len + 6) / 7);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* A sink may take a chunk's bytes as they are ({"raw":...} in JSON), so
 * a chunk of UTF-8 text must be UTF-8 text: no chunk ends inside a
 * character, and the chunks still make up the file. */
START_TEST(chunks_of_utf8_text_never_cut_a_character) {
  static const char text[] = "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 z\n";
  char *dir = make_tmpdir();
  write_file(dir, "u.txt", text);
  for (unsigned chunk = 4; chunk <= 9; chunk++) {
    pl_buf_t src = {0};
    pl_buf_printf(&src, "paths = [\"%s/u.txt\"]\n chunk_size = %uB", dir,
                  chunk);
    pl_test_t *t = run_once(src.data, NULL);
    ck_assert_int_eq(pl_test_status(t), 0);
    pl_buf_t all = {0};
    for (size_t i = 0; i < pl_test_record_count(t); i++) {
      const char *b = bytes_of(t, i);
      ck_assert_msg(pl_utf8_valid(b, strlen(b)), "chunk_size %u: chunk %zu",
                    chunk, i);
      pl_buf_append_str(&all, b);
    }
    ck_assert_str_eq(all.data, text);
    ck_assert_int_eq(pl_test_destroy(t), 0);
    pl_buf_free(&all);
    pl_buf_free(&src);
  }
  remove_tree(dir);
}
END_TEST

START_TEST(a_glob_reads_its_files_in_name_order) {
  char *dir = make_tmpdir();
  write_file(dir, "c.csv", "third\n");
  write_file(dir, "a.csv", "first line\nsecond line\n");
  write_file(dir, "b.csv", "");
  write_file(dir, "skip.txt", "not a csv");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/*.csv\"]\n chunk_size = 4B", dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 3);
  assert_file(files, 0, dir, "a.csv", "first line\nsecond line\n");
  assert_file(files, 1, dir, "b.csv", "");
  assert_file(files, 2, dir, "c.csv", "third\n");
  ck_assert_uint_eq(groups_committed(t), 3);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

START_TEST(a_directory_reads_its_regular_files_sorted) {
  char *dir = make_tmpdir();
  char *other = make_tmpdir();
  write_file(dir, "2.txt", "two");
  write_file(dir, "10.txt", "ten");
  write_file(dir, "1.txt", "one");
  write_file(dir, ".hidden", "writers use hidden names for partial files");
  char *sub = join(dir, "sub");
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  write_file(sub, "deep.txt", "not recursive");
  write_file(other, "z.txt", "zed");
  /* Entries keep their order; a file named twice is read once. */
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/z.txt\", \"%s/\", \"%s/1.txt\"]", other,
                dir, dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 4);
  assert_file(files, 0, other, "z.txt", "zed");
  assert_file(files, 1, dir, "1.txt", "one");
  assert_file(files, 2, dir, "10.txt", "ten");
  assert_file(files, 3, dir, "2.txt", "two");
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  free(sub);
  remove_tree(dir);
  remove_tree(other);
}
END_TEST

START_TEST(an_empty_file_is_one_empty_last_record) {
  char *dir = make_tmpdir();
  write_file(dir, "empty", "");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/empty\"]", dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_str_eq(bytes_of(t, 0), "");
  ck_assert(is_last(t, 0));
  ck_assert_uint_eq(groups_committed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

START_TEST(relative_paths_give_absolute_origins) {
  char *dir = make_tmpdir();
  write_file(dir, "rel.txt", "relative");
  char saved[4096];
  ck_assert_ptr_nonnull(getcwd(saved, sizeof(saved)));
  ck_assert_int_eq(chdir(dir), 0);
  pl_test_t *t = harness("paths = [\"./rel.txt\"]", NULL, false);
  int rc = pl_test_run(t, 20000);
  ck_assert_int_eq(chdir(saved), 0);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(t), pl_test_log(t));
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, dir, "rel.txt", "relative");
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  remove_tree(dir);
}
END_TEST

START_TEST(missing_paths_are_logged_and_the_run_goes_on) {
  char *dir = make_tmpdir();
  write_file(dir, "here.txt", "present");
  char *fifo = join(dir, "fifo");
  ck_assert_int_eq(mkfifo(fifo, 0644), 0);
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s/missing.txt\", \"%s/*.nothing\", \"%s\", "
                "\"%s/here.txt\"]",
                dir, dir, fifo, dir);
  pl_test_t *t = run_once(src.data, NULL);
  /* The file that exists is read; the paths that give nothing make the
   * --once run exit non-zero. */
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(test_plugin_pipeline(t)->input_errors, 3);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, dir, "here.txt", "present");
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "error [source-file:test] cannot read %s/missing.txt: no such "
                "file or directory",
                dir);
  assert_log_has(t, expect.data);
  pl_buf_reset(&expect);
  pl_buf_printf(&expect,
                "error [source-file:test] no file matches %s/*.nothing", dir);
  assert_log_has(t, expect.data);
  pl_buf_reset(&expect);
  pl_buf_printf(&expect, "cannot read %s: not a regular file or a directory",
                fifo);
  assert_log_has(t, expect.data);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&expect);
  pl_buf_free(&src);
  free(fifo);
  remove_tree(dir);
}
END_TEST

START_TEST(on_commit_move_puts_files_in_done_dir) {
  char *dir = make_tmpdir();
  char *done = join(dir, "done/archive"); /* created by the plugin */
  char *in = join(dir, "in");
  ck_assert_int_eq(mkdir(in, 0755), 0);
  write_file(in, "a.txt", "alpha");
  write_file(in, "b.txt", "beta");
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s\"]\n on_commit = \"move\"\n"
                " done_dir = \"%s\"",
                in, done);
  /* A file of the same name in done_dir is never replaced. */
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(!exists(in, "a.txt"));
  ck_assert(!exists(in, "b.txt"));
  char *moved = read_file(done, "a.txt");
  ck_assert_str_eq(moved, "alpha");
  free(moved);

  write_file(in, "a.txt", "alpha again");
  t = run_once(src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  moved = read_file(done, "a.txt");
  ck_assert_str_eq(moved, "alpha");
  free(moved);
  moved = read_file(done, "a.txt.1");
  ck_assert_str_eq(moved, "alpha again");
  free(moved);
  ck_assert(exists(done, "b.txt"));
  ck_assert(!exists(in, "a.txt"));
  pl_buf_free(&src);
  free(done);
  free(in);
  remove_tree(dir);
}
END_TEST

START_TEST(on_commit_move_needs_done_dir) {
  pl_test_t *t =
      run_refused("paths = [\"/nonexistent\"]\n on_commit = \"move\"");
  assert_log_has(t, "on_commit = move needs done_dir");
  ck_assert_ptr_nonnull(strstr(pl_test_errors(t), "cannot initialise"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

START_TEST(done_dir_cannot_be_a_directory_that_paths_reads) {
  char *dir = make_tmpdir();
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s\"]\n on_commit = \"move\"\n"
                " done_dir = \"%s/\"",
                dir, dir);
  pl_test_t *t = run_refused(src.data);
  assert_log_has(t, "is a directory that paths reads");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* Asserts that paths `paths` with done_dir `done_dir` (each under `dir`)
 * is refused: moved files would be read again. */
static void assert_done_dir_refused(const char *dir, const char *paths,
                                    const char *done_dir) {
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s/%s\"]\n on_commit = \"move\"\n"
                " done_dir = \"%s/%s\"",
                dir, paths, dir, done_dir);
  pl_test_t *t = run_refused(src.data);
  assert_log_has(t, "is a directory that paths reads");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
}

/* A glob whose directory part matches done_dir ("in/SUPPLIER/x.csv" with
 * done_dir "in/done"), or done_dir spelt another way ("x/../in"), or a
 * glob that reaches it through a symbolic link or a "..": moved files
 * would be read again (and with "in/STAR/STAR", forever). */
START_TEST(done_dir_cannot_match_a_glob_or_be_spelt_another_way) {
  char *dir = make_tmpdir();
  char *feeds = join(dir, "feeds");
  ck_assert_int_eq(mkdir(feeds, 0755), 0);
  char *sup = join(feeds, "sup");
  ck_assert_int_eq(mkdir(sup, 0755), 0);
  char *link = join(dir, "link");
  ck_assert_int_eq(symlink(feeds, link), 0);
  static const char *const cases[][2] = {
      {"*/*.csv", "done"},
      {"done", "x/../done"},
      {"link/*/*", "feeds/done"},
      {"feeds/sup/../*/*", "feeds/done"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_done_dir_refused(dir, cases[i][0], cases[i][1]);
  free(link);
  free(sup);
  free(feeds);
  remove_tree(dir);
}
END_TEST

START_TEST(on_commit_delete_removes_files_and_keep_keeps_them) {
  char *dir = make_tmpdir();
  write_file(dir, "a.txt", "alpha");
  write_file(dir, "b.txt", "beta");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/a.txt\"]\n on_commit = \"delete\"", dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(!exists(dir, "a.txt"));
  ck_assert(exists(dir, "b.txt"));

  pl_buf_reset(&src);
  pl_buf_printf(&src, "paths = [\"%s/b.txt\"]", dir); /* keep: the default */
  t = run_once(src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(exists(dir, "b.txt"));
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

START_TEST(a_failed_group_is_neither_moved_nor_deleted) {
  char *dir = make_tmpdir();
  write_file(dir, "a.txt", "alpha");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s/a.txt\"]\n on_commit = \"delete\"", dir);
  pl_test_t *t = run_once(src.data, "fail_always = true\n retry_limit = 0");
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(groups_failed(t), 1);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "warn  [source-file:test] %s/a.txt was not delivered "
                "completely; it will be read again at the next run",
                dir);
  assert_log_has(t, expect.data);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(exists(dir, "a.txt"));
  pl_buf_free(&expect);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* A temporary folder `dir` with in/a.txt ("alpha") and the path of
 * state/ (made by the plugin), and `src`: source options that read in/
 * and keep their state in state/, then `extra`. */
typedef struct state_dirs {
  char *dir;
  char *in;
  char *state;
  pl_buf_t src;
} state_dirs_t;

static void state_dirs_init(state_dirs_t *d, const char *extra) {
  d->dir = make_tmpdir();
  d->in = join(d->dir, "in");
  d->state = join(d->dir, "state");
  ck_assert_int_eq(mkdir(d->in, 0755), 0);
  write_file(d->in, "a.txt", "alpha");
  d->src = (pl_buf_t){0};
  pl_buf_printf(&d->src, "paths = [\"%s\"]\n state_dir = \"%s\"%s", d->in,
                d->state, extra);
}

static void state_dirs_close(state_dirs_t *d) {
  pl_buf_free(&d->src);
  free(d->in);
  free(d->state);
  remove_tree(d->dir);
}

START_TEST(state_dir_remembers_committed_files_across_runs) {
  state_dirs_t d;
  state_dirs_init(&d, "");
  write_file(d.in, "b.txt", "beta");
  set_mtime(d.in, "b.txt", 1000000000);

  /* 1: both files are read and remembered (the state file is named after
   * the pipeline, "test"). */
  pl_test_t *t = run_once(d.src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 2);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  char *text = read_file(d.state, "test.state");
  ck_assert_ptr_nonnull(text);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect, "pipelined source-file state 1\n");
  ck_assert_ptr_eq(strstr(text, expect.data), text);
  pl_buf_reset(&expect);
  pl_buf_printf(&expect, "\n4 1000000000000000000 %s/b.txt\n", d.in);
  ck_assert_msg(strstr(text, expect.data), "%s", text);
  free(text);
  ck_assert(!exists(d.state, "test.state.tmp"));
  /* The lock file stays beside the state, with the PID of its last owner. */
  ck_assert(exists(d.state, "test.state.lock"));

  /* 2: nothing new. */
  t = run_once(d.src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* 3: a modified file is read again. */
  write_file(d.in, "b.txt", "beta, modified");
  set_mtime(d.in, "b.txt", 1000000100);
  t = run_once(d.src.data, NULL);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, d.in, "b.txt", "beta, modified");
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* 4: a file whose group fails is not remembered... */
  write_file(d.in, "c.txt", "gamma");
  t = run_once(d.src.data, "fail_always = true\n retry_limit = 0");
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(groups_failed(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* 5: ...so the next run reads it, and only it. */
  t = run_once(d.src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, d.in, "c.txt", "gamma");
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* 6: and remembers it. */
  t = run_once(d.src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&expect);
  state_dirs_close(&d);
}
END_TEST

/* Two daemons given the same state_dir would each read every file: the
 * second one to start is refused, naming the state file and the holder. */
START_TEST(a_state_dir_has_one_owner) {
  state_dirs_t d;
  state_dirs_init(&d, "");

  pl_test_t *first = start_daemon(d.src.data, NULL);
  pl_test_t *second = run_refused(d.src.data);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "state file %s/test.state is in use by another process: PID "
                "%ld holds %s/test.state.lock",
                d.state, (long)getpid(), d.state);
  assert_log_has(second, expect.data);
  ck_assert_int_eq(pl_test_destroy(second), 0);
  pl_test_shutdown(first);
  test_plugin_run(first, 20000);
  ck_assert_int_eq(pl_test_destroy(first), 0);

  /* Once the first has stopped, the state_dir is free again. */
  second = run_once(d.src.data, NULL);
  ck_assert_int_eq(pl_test_status(second), 0);
  ck_assert_int_eq(pl_test_destroy(second), 0);
  pl_buf_free(&expect);
  state_dirs_close(&d);
}
END_TEST

/* A --once run whose state could not be saved would read everything again
 * next time: it must not exit as a success. */
START_TEST(a_once_run_that_cannot_save_its_state_fails) {
  state_dirs_t d;
  state_dirs_init(&d, "");
  pl_test_t *t = harness(d.src.data, NULL, false);
  ck_assert_msg(pl_test_start(t) == 0, "%s", pl_test_errors(t));
  /* After the start, a directory takes the state file's name: the rename
   * of every save fails, whoever runs the test. */
  char *blocker = join(d.state, "test.state");
  ck_assert_int_eq(mkdir(blocker, 0755), 0);
  test_plugin_run(t, 20000);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  assert_log_has(t, "state not saved");
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(blocker);
  state_dirs_close(&d);
}
END_TEST

/* A file's ledger entry says where a restart takes it up; the state file
 * says it is committed. The state is written on the thread pool after the
 * commit: until a write that holds the file succeeded, the entry stays (at
 * the file's end), or a crash in between would read the file again whole. */
START_TEST(a_ledger_entry_stays_until_the_state_holds_its_file) {
  state_dirs_t d;
  state_dirs_init(&d, "");
  const char *text = "head\nrow 1\nrow 2\n"; /* 17 bytes */
  write_file(d.in, "a.txt", text);
  set_mtime(d.in, "a.txt", 1000000000);
  pl_buf_t entry = {0};
  pl_buf_printf(&entry, "\n17 0 17-1000000000000000000 file:%s/a.txt\n", d.in);

  /* 1: every save of the state fails (a directory has its name). */
  pl_test_t *t = harness(d.src.data, NULL, false);
  ck_assert_msg(pl_test_start(t) == 0, "%s", pl_test_errors(t));
  char *blocker = join(d.state, "test.state");
  ck_assert_int_eq(mkdir(blocker, 0755), 0);
  test_plugin_run(t, 20000);
  ck_assert_uint_eq(groups_committed(t), 1);
  assert_log_has(t, "state not saved");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  char *ledger = read_file(d.state, "test.ledger");
  ck_assert_msg(ledger && strstr(ledger, entry.data),
                "the ledger lost a.txt before the state held it: %s",
                ledger ? ledger : "(no ledger)");
  free(ledger);

  /* 2: the restart takes the file up at its end: no row again. */
  ck_assert_int_eq(rmdir(blocker), 0);
  t = run_once(d.src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(groups_committed(t), 1);
  for (size_t i = 0; i < pl_test_record_count(t); i++)
    ck_assert_msg(!strstr(bytes_of(t, i), "row"), "sent again: %s",
                  bytes_of(t, i));
  ck_assert_int_eq(pl_test_destroy(t), 0);

  /* 3: the state holds it now, and the entry is gone. */
  char *state = read_file(d.state, "test.state");
  pl_buf_t remembered = {0};
  pl_buf_printf(&remembered, "\n17 1000000000000000000 %s/a.txt\n", d.in);
  ck_assert_msg(state && strstr(state, remembered.data), "%s", state);
  free(state);
  ledger = read_file(d.state, "test.ledger");
  ck_assert_str_eq(ledger, "pipelined ledger 1\n");
  free(ledger);
  pl_buf_free(&remembered);
  pl_buf_free(&entry);
  free(blocker);
  state_dirs_close(&d);
}
END_TEST

/* A kill in the middle of a save leaves its temporary file ("<name>.
 * XXXXXX", mkstemp()) beside the state file or the ledger; the owner of
 * the state_dir removes them at its start, and nothing else. */
START_TEST(leftovers_of_killed_saves_are_swept_at_start) {
  state_dirs_t d;
  state_dirs_init(&d, "");
  ck_assert_int_eq(mkdir(d.state, 0755), 0);
  write_file(d.state, "test.state.Ab12Cd", "pipelined source-file state 1\n");
  write_file(d.state, "test.ledger.Ef34Gh", "pipelined ledger 1\n");
  write_file(d.state, "test.ledger.keep", "not a leftover");
  write_file(d.state, "other.ledger.Ij56Kl", "another pipeline's");
  pl_test_t *t = run_once(d.src.data, NULL);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(!exists(d.state, "test.state.Ab12Cd"));
  ck_assert_msg(!exists(d.state, "test.ledger.Ef34Gh"),
                "the ledger's leftover test.ledger.Ef34Gh is still there");
  ck_assert(exists(d.state, "test.ledger.keep"));
  ck_assert(exists(d.state, "other.ledger.Ij56Kl"));
  state_dirs_close(&d);
}
END_TEST

START_TEST(a_corrupt_state_file_stops_the_start) {
  char *dir = make_tmpdir();
  write_file(dir, "test.state", "pipelined source-file state 1\n12 x /a\n");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n state_dir = \"%s\"", dir, dir);
  pl_test_t *t = run_refused(src.data);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect, "state file %s/test.state:2: bad modification time",
                dir);
  assert_log_has(t, expect.data);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* So is an empty one, which is no state (every file would be read
   * again), as a truncated one is. */
  write_file(dir, "test.state", "");
  t = run_refused(src.data);
  pl_buf_reset(&expect);
  pl_buf_printf(&expect,
                "state file %s/test.state:1: the first line (the header) is "
                "missing",
                dir);
  assert_log_has(t, expect.data);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&expect);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* The capturing sink with the smallest queue a sink can have (one batch
 * of one record in flight and the next: 2); test_plugin_run_depth() samples
 * its depth after the source's callbacks of each turn of the loop. */
static const char *const small_queue =
    "queue_size = 1\n batch_size = 1\n max_in_flight = 1";

START_TEST(a_full_queue_pauses_reading_and_loses_nothing) {
  char *dir = make_tmpdir();
  char data[201];
  for (size_t i = 0; i < 200; i++)
    data[i] = (char)('a' + i % 26);
  data[200] = '\0';
  write_file(dir, "big.txt", data);
  write_file(dir, "next.txt", "after");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n chunk_size = 1B", dir);
  pl_test_t *t = harness(src.data, small_queue, false);
  size_t capacity = 0;
  size_t depth = test_plugin_run_depth(t, PL_ROLE_SINK, 20000, &capacity);
  ck_assert_int_eq(pl_test_status(t), 0);
  ck_assert_uint_eq(pl_test_record_count(t), 205);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 2);
  assert_file(files, 0, dir, "big.txt", data);
  assert_file(files, 1, dir, "next.txt", "after");
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, 205);
  ck_assert_uint_eq(capacity, 2);
  ck_assert_uint_ge(depth, 1);
  ck_assert_uint_le(depth, 2);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

START_TEST(watch_is_ignored_with_once) {
  char *dir = make_tmpdir();
  write_file(dir, "a.txt", "alpha");
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s\"]\n watch = true\n poll_interval = 10ms\n"
                " log_level = \"debug\"",
                dir);
  pl_test_t *t = run_once(src.data, NULL);
  ck_assert_uint_eq(pl_test_record_count(t), 1);
  assert_log_has(t, "watch is ignored with --once");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* Watch mode: shuts down a little after dir/name was delivered (or after
 * 5 s, and the test fails). */
typedef struct watch_test {
  pl_test_t *t;
  const char *dir;
  const char *name;
  uv_timer_t create;
  uv_timer_t check;
  unsigned ticks;
  unsigned after; /* checks since the file was found */
  bool found;
} watch_test_t;

static void on_create(uv_timer_t *timer) {
  watch_test_t *w = timer->data;
  write_file(w->dir, "new.txt", "new file");
  uv_close((uv_handle_t *)timer, NULL);
}

static void on_check(uv_timer_t *timer) {
  watch_test_t *w = timer->data;
  pl_buf_t origin = {0};
  pl_buf_printf(&origin, "file:%s/%s", w->dir, w->name);
  for (size_t i = 0; i < pl_test_record_count(w->t); i++)
    if (strcmp(origin_of(w->t, i), origin.data) == 0 && is_last(w->t, i))
      w->found = true;
  pl_buf_free(&origin);
  /* A few more scans after the file arrived: it must not come twice. */
  if (w->found)
    w->after++;
  if (!(w->found && w->after >= 10) && ++w->ticks < 500)
    return;
  uv_close((uv_handle_t *)timer, NULL);
  pl_test_shutdown(w->t);
}

/* Starts `w` as a daemon with `source` and `sink` options; with `create`,
 * new.txt appears 100 ms after the start. Runs it until on_check stops
 * it. */
static void watch_run(watch_test_t *w, const char *source, const char *sink,
                      bool create) {
  w->t = start_daemon(source, sink);
  uv_loop_t *loop = pl_test_loop(w->t);
  if (create) {
    uv_timer_init(loop, &w->create);
    w->create.data = w;
    uv_timer_start(&w->create, on_create, 100, 0);
  }
  uv_timer_init(loop, &w->check);
  w->check.data = w;
  uv_timer_start(&w->check, on_check, 10, 10);
  test_plugin_run(w->t, 30000);
}

/* A daemon reading a folder with `options` (after its paths), where
 * new.txt appears 100 ms after the start beside old.txt: both are read,
 * and on_check waited 10 more scans after new.txt: nothing came twice. */
static void assert_watch_reads_old_then_new(const char *options) {
  char *dir = make_tmpdir();
  write_file(dir, "old.txt", "old file");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n %s", dir, options);
  watch_test_t w = {.dir = dir, .name = "new.txt"};
  watch_run(&w, src.data, NULL, true);
  ck_assert_msg(w.found, "%s", pl_test_log(w.t));
  ck_assert_int_eq(pl_test_status(w.t), 0);
  json_t *files = files_of(w.t);
  ck_assert_uint_eq(json_array_size(files), 2);
  assert_file(files, 0, dir, "old.txt", "old file");
  assert_file(files, 1, dir, "new.txt", "new file");
  ck_assert_uint_eq(groups_committed(w.t), 2);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(w.t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}

START_TEST(watch_reads_new_files_as_they_appear) {
  assert_watch_reads_old_then_new("watch = true\n poll_interval = 20ms");
}
END_TEST

/* A daemon whose save failed tries again: once the cause is gone (here a
 * directory in the state file's place, removed after the failure), the
 * state on disk catches up without another commit. */
typedef struct save_retry {
  uv_timer_t timer;
  pl_test_t *t;
  const char *blocker;
  bool unblocked;
  bool saved;
  int ticks;
} save_retry_t;

static void on_save_retry_tick(uv_timer_t *timer) {
  save_retry_t *r = timer->data;
  r->ticks++;
  if (!r->unblocked && strstr(pl_test_log(r->t), "state not saved")) {
    ck_assert_int_eq(rmdir(r->blocker), 0);
    r->unblocked = true;
  }
  struct stat st;
  if (r->unblocked && stat(r->blocker, &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size > 0)
    r->saved = true;
  if (r->saved || r->ticks > 400) { /* 20 s at most */
    uv_close((uv_handle_t *)timer, NULL);
    pl_test_shutdown(r->t);
  }
}

START_TEST(a_daemon_saves_its_state_again_after_a_failed_save) {
  state_dirs_t d;
  state_dirs_init(&d, "\n    watch = false");
  pl_test_t *t = start_daemon(d.src.data, NULL);
  char *blocker = join(d.state, "test.state");
  ck_assert_int_eq(mkdir(blocker, 0755), 0);
  save_retry_t r = {.t = t, .blocker = blocker};
  uv_timer_init(pl_test_loop(t), &r.timer);
  r.timer.data = &r;
  uv_timer_start(&r.timer, on_save_retry_tick, 50, 50);
  test_plugin_run(t, 30000);
  ck_assert_msg(r.unblocked, "the save never failed: %s", pl_test_log(t));
  ck_assert_msg(r.saved, "the state was not saved again: %s", pl_test_log(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  free(blocker);
  state_dirs_close(&d);
}
END_TEST

/* Without --once, watch is the default: a file added after the start is
 * read, and the file read at the start is not read again. */
START_TEST(watch_is_on_by_default_without_once) {
  assert_watch_reads_old_then_new("poll_interval = 20ms");
}
END_TEST

/* watch = false without --once: the files found at the start are read,
 * the daemon stays up and reads nothing new. */
static void on_unwatched_create(uv_timer_t *timer) {
  write_file(timer->data, "new.txt", "new file");
  uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(without_watch_a_daemon_reads_what_is_there_and_waits) {
  char *dir = make_tmpdir();
  write_file(dir, "old.txt", "old file");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n watch = false", dir);
  pl_test_t *t = start_daemon(src.data, NULL);
  uv_timer_t create;
  uv_timer_init(pl_test_loop(t), &create);
  create.data = dir;
  uv_timer_start(&create, on_unwatched_create, 50, 0);
  /* The run still going after 300 ms is the daemon staying up: a run that
   * ended by itself returns 0. */
  int rc = pl_test_run(t, 300);
  ck_assert_msg(rc == PL_EAGAIN, "the daemon ended by itself (rc %d): %s", rc,
                pl_test_log(t));
  ck_assert_int_eq(pl_test_status(t), 0);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, dir, "old.txt", "old file");
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

START_TEST(watch_reads_a_failed_file_again_at_the_next_scan) {
  char *dir = make_tmpdir();
  write_file(dir, "a.txt", "alpha");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n watch = true\n poll_interval = 20ms",
                dir);
  watch_test_t w = {.dir = dir, .name = "a.txt"};
  watch_run(&w, src.data, "fail_first = 1\n retry_limit = 0", false);
  ck_assert(w.found);
  json_t *files = files_of(w.t);
  ck_assert_uint_eq(json_array_size(files), 1);
  assert_file(files, 0, dir, "a.txt", "alpha");
  ck_assert_uint_eq(groups_failed(w.t), 1);
  ck_assert_uint_eq(groups_committed(w.t), 1);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "%s/a.txt was not delivered completely; it will be read again "
                "at the next scan",
                dir);
  assert_log_has(w.t, expect.data);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(w.t), 0);
  pl_buf_free(&expect);
  pl_buf_free(&src);
  remove_tree(dir);
}
END_TEST

/* Shuts down once some records were delivered: the reader is then in the
 * middle of the file. */
static void on_progress(uv_timer_t *timer) {
  pl_test_t *t = timer->data;
  if (pl_test_record_count(t) < 20)
    return;
  uv_close((uv_handle_t *)timer, NULL);
  pl_test_shutdown(t);
}

START_TEST(stop_in_the_middle_of_a_file_fails_its_group) {
  char *dir = make_tmpdir();
  char *in = join(dir, "in");
  char *done = join(dir, "done");
  ck_assert_int_eq(mkdir(in, 0755), 0);
  size_t size = 2 * 1024 * 1024;
  char *data = malloc(size + 1);
  memset(data, 'x', size);
  data[size] = '\0';
  write_file(in, "big.txt", data);
  free(data);
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s\"]\n chunk_size = 1KiB\n"
                " on_commit = \"move\"\n done_dir = \"%s\"",
                in, done);
  /* A slow sink with a queue of 16 records (two batches of 8): the reader
   * waits for it. */
  pl_test_t *t =
      start_daemon(src.data, "delay_ms = 1\n queue_size = 16\n batch_size = 8");
  uv_timer_t timer;
  uv_timer_init(pl_test_loop(t), &timer);
  timer.data = t;
  uv_timer_start(&timer, on_progress, 1, 1);
  test_plugin_run(t, 30000);
  /* The run ended: what was emitted was delivered, the group failed. */
  size_t delivered = pl_test_record_count(t);
  ck_assert_uint_ge(delivered, 20);
  ck_assert_uint_lt(delivered, size / 1024);
  ck_assert_uint_eq(groups_committed(t), 0);
  ck_assert_uint_eq(groups_failed(t), 1);
  ck_assert_uint_eq(test_plugin_metrics(t)->records_out, delivered);
  assert_log_has(t, "stopped in the middle of");
  assert_log_has(t, "was not delivered completely");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  ck_assert(exists(in, "big.txt"));
  ck_assert(!exists(done, "big.txt"));
  pl_buf_free(&src);
  free(in);
  free(done);
  remove_tree(dir);
}
END_TEST

/* A --once run of in/big.txt (2 MiB of `fill`, with `options` after its
 * paths) behind a slow sink, which calls `act` on in/ once 20 records were
 * delivered: the reader is then in the middle of the file, reading it
 * through the descriptor it opened. */
typedef struct midway {
  uv_timer_t timer;
  pl_test_t *t;
  const char *in;
  void (*act)(const char *in);
  bool acted;
} midway_t;

#define MIDWAY_SIZE (2 * 1024 * 1024)

static void on_midway(uv_timer_t *timer) {
  midway_t *m = timer->data;
  if (pl_test_record_count(m->t) < 20)
    return;
  uv_close((uv_handle_t *)timer, NULL);
  m->act(m->in);
  m->acted = true;
}

static char *filled(char fill) {
  char *data = malloc(MIDWAY_SIZE + 1);
  memset(data, fill, MIDWAY_SIZE);
  data[MIDWAY_SIZE] = '\0';
  return data;
}

static pl_test_t *run_midway(const char *in, const char *options,
                             void (*act)(const char *in)) {
  char *data = filled('x');
  write_file(in, "big.txt", data);
  free(data);
  set_mtime(in, "big.txt", 1000000000);
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n chunk_size = 1KiB\n %s", in, options);
  pl_test_t *t = harness(src.data,
                         "delay_ms = 1\n queue_size = 16\n"
                         " batch_size = 8",
                         false);
  ck_assert_msg(pl_test_start(t) == 0, "%s", pl_test_errors(t));
  midway_t m = {.t = t, .in = in, .act = act};
  uv_timer_init(pl_test_loop(t), &m.timer);
  m.timer.data = &m;
  uv_timer_start(&m.timer, on_midway, 1, 1);
  test_plugin_run(t, 30000);
  ck_assert_msg(m.acted, "the file was read before the action: %s",
                pl_test_log(t));
  pl_buf_free(&src);
  return t;
}

/* `cp other new; touch -r big.txt new; mv new big.txt`: another file (a
 * new inode) of the same size and mtime takes the name. */
static void replace_big(const char *in) {
  char *data = filled('y');
  write_file(in, "big.new", data);
  free(data);
  set_mtime(in, "big.new", 1000000000);
  char *from = join(in, "big.new"), *to = join(in, "big.txt");
  ck_assert_int_eq(rename(from, to), 0);
  free(from);
  free(to);
}

/* The reader read the old file through its descriptor; the file now at
 * the path was never read: moving or deleting it would lose its rows. */
static void assert_replaced_file_stays(const char *action) {
  char *dir = make_tmpdir();
  char *in = join(dir, "in");
  char *done = join(dir, "done");
  ck_assert_int_eq(mkdir(in, 0755), 0);
  pl_buf_t options = {0};
  pl_buf_printf(&options, "on_commit = \"%s\"\n log_level = \"debug\"", action);
  if (strcmp(action, "move") == 0)
    pl_buf_printf(&options, "\n done_dir = \"%s\"", done);
  pl_test_t *t = run_midway(in, options.data, replace_big);
  ck_assert_int_eq(pl_test_status(t), 0);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 1);
  char *old = filled('x');
  assert_file(files, 0, in, "big.txt", old); /* the old file, whole */
  free(old);
  json_decref(files);
  ck_assert_uint_eq(groups_committed(t), 1);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect,
                "info  [source-file:test] %s/big.txt was replaced by another "
                "file after it was read: left in place, to be read as a new "
                "file",
                in);
  /* The move or delete runs on after the run ended (the harness's loop
   * goes on at destroy): its line is waited for. */
  wait_for_log(t, expect.data);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* The new file is where it was, unread, for the next scan or run. */
  char *text = read_file(in, "big.txt");
  ck_assert_msg(text && text[0] == 'y' && strlen(text) == MIDWAY_SIZE,
                "the new file is not in place (%s)",
                exists(done, "big.txt") ? "it was moved" : "it is gone");
  free(text);
  ck_assert(!exists(done, "big.txt"));
  pl_buf_free(&expect);
  pl_buf_free(&options);
  free(in);
  free(done);
  remove_tree(dir);
}

START_TEST(a_file_replaced_while_read_is_not_moved_unread) {
  assert_replaced_file_stays("move");
}
END_TEST

START_TEST(a_file_replaced_while_read_is_not_deleted_unread) {
  assert_replaced_file_stays("delete");
}
END_TEST

/* `: > big.txt`: the file is emptied while it is read. */
static void empty_big(const char *in) {
  char *path = join(in, "big.txt");
  ck_assert_int_eq(truncate(path, 0), 0);
  free(path);
}

/* A read that finds the end of the file before the size fstat() gave: the
 * file changed. What was read is not all of a version of it: the partial
 * row the transforms hold must not come out as a row, and the file is not
 * committed (a later scan or run reads what it is then). */
START_TEST(a_file_that_shrinks_while_read_is_cut_not_committed) {
  char *dir = make_tmpdir();
  char *in = join(dir, "in");
  ck_assert_int_eq(mkdir(in, 0755), 0);
  pl_test_t *t = run_midway(in, "", empty_big);
  size_t count = pl_test_record_count(t);
  ck_assert_uint_gt(count, 0);
  json_t *meta = pl_test_record_meta(t, count - 1);
  ck_assert_msg(json_is_true(json_object_get(meta, "cut")),
                "the last record is not a cut but %s (%zu records, %llu "
                "groups committed)",
                json_is_true(json_object_get(meta, "last")) ? "a last chunk"
                                                            : "a chunk",
                count, (unsigned long long)groups_committed(t));
  ck_assert_uint_eq(groups_committed(t), 0);
  ck_assert_uint_eq(groups_failed(t), 1);
  pl_buf_t expect = {0};
  pl_buf_printf(&expect, "warn  [source-file:test] %s/big.txt ended at byte ",
                in);
  assert_log_has(t, expect.data);
  assert_log_has(t, "of the 2097152 it had when it was opened: it changed "
                    "while it was read; the partial row is dropped, and "
                    "what it holds now will be read as a new file");
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&expect);
  free(in);
  remove_tree(dir);
}
END_TEST

START_TEST(bad_option_values_are_refused_at_init) {
  pl_test_t *t = run_refused("paths = []");
  ck_assert_msg(strstr(pl_test_errors(t),
                       "source \"file\": option 'paths' expects a list with "
                       "at least 1 item, found 0 items\n"),
                "%s", pl_test_errors(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = run_refused("paths = [\"/x\"]\n chunk_size = 0");
  ck_assert_msg(strstr(pl_test_errors(t),
                       "source \"file\": option 'chunk_size' expects a size "
                       "from 1B to 1GiB, found 0\n"),
                "%s", pl_test_errors(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* A range in the table, with the option's place, also without watch. */
  t = run_refused("paths = [\"/x\"]\n watch = false\n poll_interval = 0");
  ck_assert_msg(strstr(pl_test_errors(t),
                       "source \"file\": option 'poll_interval' expects a "
                       "duration of at least 1ms, found 0\n"),
                "%s", pl_test_errors(t));
  ck_assert_int_eq(pl_test_destroy(t), 0);
  t = run_refused("chunk_size = 1KiB");
  ck_assert_ptr_nonnull(
      strstr(pl_test_errors(t), "missing required option 'paths'"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* ---- The parts, without the engine ---- */

START_TEST(state_sets_find_replace_and_sweep) {
  file_state_t *st = NULL;
  ck_assert_int_eq(file_state_create(NULL, &st, NULL), 0);
  ck_assert_ptr_null(file_state_file(st));
  ck_assert_int_eq(file_state_put(st, "/b", 1, 10), 0);
  ck_assert_int_eq(file_state_put(st, "/a", 2, 20), 0);
  ck_assert_int_eq(file_state_put(st, "/c", 3, 30), 0);
  ck_assert_int_eq(file_state_put(st, "/b", 4, 40), 0); /* replaces */
  ck_assert_uint_eq(file_state_count(st), 3);
  ck_assert(file_state_has(st, "/b", 4, 40));
  ck_assert(!file_state_has(st, "/b", 1, 10));
  ck_assert(!file_state_has(st, "/b", 4, 41));
  uint64_t size = 0;
  int64_t mtime = 0;
  ck_assert(file_state_find(st, "/a", &size, &mtime));
  ck_assert_uint_eq(size, 2);
  ck_assert_int_eq(mtime, 20);
  ck_assert(!file_state_find(st, "/d", NULL, NULL));
  ck_assert(file_state_remove(st, "/c"));
  ck_assert(!file_state_remove(st, "/c"));
  file_state_unmark_all(st);
  file_state_mark(st, "/a");
  file_state_mark(st, "/nothing");
  ck_assert_uint_eq(file_state_sweep(st), 1);
  ck_assert_uint_eq(file_state_count(st), 1);
  ck_assert(file_state_has(st, "/a", 2, 20));
  ck_assert_int_eq(file_state_save(st, NULL), 0); /* in memory: nothing */
  file_state_destroy(st);
}
END_TEST

START_TEST(state_files_round_trip_any_path) {
  static const char *const paths[] = {
      "/plain",     "/with space",  "/new\nline",     "/per%cent",
      "/tab\there", "/caf\xc3\xa9", "/not utf-8 \xff"};
  size_t n = sizeof(paths) / sizeof(paths[0]);
  char *dir = make_tmpdir();
  char *file = join(dir, "x.state");
  file_state_t *st = NULL;
  ck_assert_int_eq(file_state_create(file, &st, NULL), 0); /* none yet */
  ck_assert_str_eq(file_state_file(st), file);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(file_state_put(st, paths[i], i * 1000, -(int64_t)i), 0);
  char *error = NULL;
  ck_assert_int_eq(file_state_save(st, &error), 0);
  file_state_destroy(st);
  ck_assert(!exists(dir, "x.state.tmp"));
  char *text = read_file(dir, "x.state");
  ck_assert_ptr_nonnull(strstr(text, " /new%0Aline\n"));
  ck_assert_ptr_nonnull(strstr(text, "3000 -3 /per%25cent\n"));
  ck_assert_ptr_nonnull(strstr(text, " /with space\n"));
  free(text);
  ck_assert_int_eq(file_state_create(file, &st, &error), 0);
  ck_assert_uint_eq(file_state_count(st), n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(file_state_has(st, paths[i], i * 1000, -(int64_t)i), "%s",
                  paths[i]);
  file_state_destroy(st);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(state_files_that_do_not_parse_are_refused) {
  static const struct {
    const char *text;
    const char *error;
  } cases[] = {
      /* Every state file starts with its header: an empty one is no state
       * with nothing in it (read so, every file would be sent again). */
      {"", ":1: the first line (the header) is missing"},
      {"hello\n", "not a source-file state file"},
      {"pipelined source-file state 1\n1 2 /a", ":2: the last line is "
                                                "incomplete"},
      {"pipelined source-file state 1\n1 2 relative\n", ":2: bad path"},
      {"pipelined source-file state 1\n1 2 /a%zz\n", ":2: bad path"},
      {"pipelined source-file state 1\n1 2 /a%00\n", ":2: bad path"},
      {"pipelined source-file state 1\n1 2 /a\nx 2 /b\n", ":3: bad size"},
      {"pipelined source-file state 1\n1 2/a\n", ":2: bad modification time"},
      {"pipelined source-file state 1\n99999999999999999999 2 /a\n",
       ":2: bad size"},
  };
  char *dir = make_tmpdir();
  char *file = join(dir, "bad.state");
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    write_file(dir, "bad.state", cases[i].text);
    file_state_t *st = NULL;
    char *error = NULL;
    ck_assert_int_lt(file_state_create(file, &st, &error), 0);
    ck_assert_msg(error && strstr(error, cases[i].error), "case %zu: %s", i,
                  error ? error : "(no message)");
    free(error);
  }
  /* No file at all is the first run: an empty state. */
  ck_assert_int_eq(unlink(file), 0);
  file_state_t *st = NULL;
  ck_assert_int_eq(file_state_create(file, &st, NULL), 0);
  ck_assert_uint_eq(file_state_count(st), 0);
  file_state_destroy(st);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(paths_are_made_absolute_and_normalised) {
  static const struct {
    const char *path, *cwd, *expect;
  } cases[] = {
      {"a/./b//c/", "/x", "/x/a/b/c"}, {"/", "/x", "/"},
      {".", "/x/y", "/x/y"},           {"../up", "/x/y", "/x/y/../up"},
      {"//p//q/.", "/x", "/p/q"},      {"*.csv", "/", "/*.csv"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = NULL;
    ck_assert_int_eq(file_scan_absolute(cases[i].path, cases[i].cwd, &out), 0);
    ck_assert_str_eq(out, cases[i].expect);
    free(out);
  }
  char *d = file_scan_dirname("/a/b");
  ck_assert_str_eq(d, "/a");
  free(d);
  d = file_scan_dirname("/a");
  ck_assert_str_eq(d, "/");
  free(d);
  ck_assert(file_scan_is_glob("/a/*.csv"));
  ck_assert(file_scan_is_glob("/a/[ab]"));
  ck_assert(file_scan_is_glob("/a/?"));
  ck_assert(!file_scan_is_glob("/a/b.csv"));
}
END_TEST

START_TEST(a_scan_reports_each_entry) {
  char *dir = make_tmpdir();
  char *empty = join(dir, "empty");
  ck_assert_int_eq(mkdir(empty, 0755), 0);
  write_file(dir, "f.txt", "12345");
  char *f = join(dir, "f.txt");
  char *missing = join(dir, "missing");
  char *glob = join(dir, "*.none");
  const char *entries[] = {f, empty, missing, glob, "/dev/null"};
  file_scan_t scan = {0};
  ck_assert_int_eq(file_scan_run(entries, 5, &scan), 0);
  ck_assert_uint_eq(scan.entry_count, 5);
  ck_assert_int_eq(scan.status[0], FILE_SCAN_OK);
  ck_assert_int_eq(scan.status[1], FILE_SCAN_NO_MATCH);
  ck_assert_int_eq(scan.status[2], UV_ENOENT);
  ck_assert_int_eq(scan.status[3], FILE_SCAN_NO_MATCH);
  ck_assert_int_eq(scan.status[4], FILE_SCAN_NOT_REGULAR);
  ck_assert_uint_eq(scan.count, 1);
  ck_assert_str_eq(scan.files[0].path, f);
  ck_assert_uint_eq(scan.files[0].size, 5);
  file_scan_free(&scan);
  free(empty);
  free(f);
  free(missing);
  free(glob);
  remove_tree(dir);
}
END_TEST

START_TEST(origins_stay_valid_json_strings) {
  char *origin = file_reader_origin("/data/caf\xc3\xa9.csv");
  ck_assert_str_eq(origin, "file:/data/caf\xc3\xa9.csv");
  free(origin);
  origin = file_reader_origin("/data/latin1-\xe9.csv");
  ck_assert_str_eq(origin, "file:/data/latin1-%E9.csv");
  free(origin);
  /* Control characters too: SQS refused every row of such a file (its
   * origin attribute); the rest of a UTF-8 name stays as it is. */
  origin = file_reader_origin("/data/x\x01y\tcaf\xc3\xa9\x7f.csv");
  ck_assert_str_eq(origin, "file:/data/x%01y%09caf\xc3\xa9%7F.csv");
  free(origin);
}
END_TEST

typedef struct done_seen {
  unsigned calls;
  int status;
  char step[64];
  char dest[512];
} done_seen_t;

static void on_done_seen(void *data, const file_done_result_t *result) {
  done_seen_t *seen = data;
  seen->calls++;
  seen->status = result->status;
  snprintf(seen->step, sizeof(seen->step), "%s", result->step);
  snprintf(seen->dest, sizeof(seen->dest), "%s",
           result->dest ? result->dest : "");
}

/* Runs one action on dir/name to its end. `grow` pretends the file was
 * read when it was that many bytes shorter. */
static done_seen_t run_done(file_done_action_t action, const char *dir,
                            const char *name, const char *done_dir,
                            uint64_t grow) {
  char *path = join(dir, name);
  struct stat st = {0};
  stat(path, &st);
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  done_seen_t seen = {0};
  int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  file_done_version_t read = {.size = (uint64_t)st.st_size - grow,
                              .mtime_ns = mtime,
                              .dev = st.st_dev,
                              .ino = st.st_ino};
  ck_assert_int_eq(file_done_start(&loop, action, path, &read, done_dir,
                                   on_done_seen, &seen),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_uint_eq(seen.calls, 1);
  free(path);
  return seen;
}

START_TEST(done_actions_delete_move_and_leave_changed_files) {
  char *dir = make_tmpdir();
  char *done = join(dir, "done");
  ck_assert_int_eq(mkdir(done, 0755), 0);
  write_file(dir, "gone.txt", "x");
  done_seen_t seen = run_done(FILE_DONE_DELETE, dir, "gone.txt", NULL, 0);
  ck_assert_int_eq(seen.status, 0);
  ck_assert(!exists(dir, "gone.txt"));

  write_file(dir, "grown.txt", "xy");
  seen = run_done(FILE_DONE_DELETE, dir, "grown.txt", NULL, 1);
  ck_assert_int_eq(seen.status, FILE_DONE_CHANGED);
  ck_assert(exists(dir, "grown.txt"));
  seen = run_done(FILE_DONE_MOVE, dir, "grown.txt", done, 1);
  ck_assert_int_eq(seen.status, FILE_DONE_CHANGED);
  ck_assert(exists(dir, "grown.txt"));

  write_file(done, "a", "first");
  write_file(done, "a.1", "second");
  write_file(dir, "a", "third");
  seen = run_done(FILE_DONE_MOVE, dir, "a", done, 0);
  ck_assert_int_eq(seen.status, 0);
  char *expect = join(done, "a.2");
  ck_assert_str_eq(seen.dest, expect);
  free(expect);
  char *text = read_file(done, "a.2");
  ck_assert_str_eq(text, "third");
  free(text);
  text = read_file(done, "a");
  ck_assert_str_eq(text, "first");
  free(text);
  ck_assert(!exists(dir, "a"));

  seen = run_done(FILE_DONE_MOVE, dir, "missing", done, 0);
  ck_assert_int_eq(seen.status, UV_ENOENT);
  ck_assert_str_eq(seen.step, "stat");

  /* A move needs a done_dir: an error, and no callback. */
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  done_seen_t none = {0};
  file_done_version_t any = {0};
  ck_assert_int_eq(file_done_start(&loop, FILE_DONE_MOVE, "/x", &any, NULL,
                                   on_done_seen, &none),
                   PL_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_uint_eq(none.calls, 0);
  free(done);
  remove_tree(dir);
}
END_TEST

START_TEST(a_move_across_file_systems_copies_then_unlinks) {
  struct stat tmp_st, shm_st;
  if (stat("/tmp", &tmp_st) != 0 || stat("/dev/shm", &shm_st) != 0 ||
      tmp_st.st_dev == shm_st.st_dev)
    return; /* no second file system to move to */
  char *dir = make_tmpdir();
  char *done = strdup("/dev/shm/check-source-file-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(done));
  write_file(dir, "far.txt", "far away");
  done_seen_t seen = run_done(FILE_DONE_MOVE, dir, "far.txt", done, 0);
  ck_assert_int_eq(seen.status, 0);
  ck_assert(!exists(dir, "far.txt"));
  char *text = read_file(done, "far.txt");
  ck_assert_str_eq(text, "far away");
  free(text);
  remove_tree(done);
  remove_tree(dir);
}
END_TEST

/* ---- Compressed files ---- */

/* Writes `len` bytes of `data` to dir/name, gzip'd (zstd with `zstd`),
 * keeping only the first `keep` bytes of the result (0: all). */
static void write_compressed(const char *dir, const char *name, bool zstd,
                             const char *data, size_t len, size_t keep) {
  size_t n;
  unsigned char *out =
      zstd ? test_zstd(data, len, &n) : test_gzip(data, len, &n);
  char *path = join(dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  size_t want = keep ? keep : n;
  ck_assert_uint_eq(fwrite(out, 1, want, f), want);
  ck_assert_int_eq(fclose(f), 0);
  free(path);
  free(out);
}

/* Text of `len` bytes (a new string) that compresses well. */
static char *lines_of(size_t len) {
  char *text = malloc(len + 1);
  ck_assert_ptr_nonnull(text);
  for (size_t i = 0; i < len; i++)
    text[i] = i % 40 == 39 ? '\n' : (char)('a' + (i / 40 + i) % 26);
  text[len] = '\0';
  return text;
}

/* As chunks_of_utf8_text_never_cut_a_character, decompressed. */
START_TEST(decompressed_chunks_never_cut_a_character) {
  static const char text[] = "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 z\n";
  char *dir = make_tmpdir();
  write_compressed(dir, "u.gz", false, text, strlen(text), 0);
  write_compressed(dir, "u.zst", true, text, strlen(text), 0);
  for (unsigned chunk = 4; chunk <= 9; chunk++) {
    pl_buf_t src = {0};
    pl_buf_printf(&src,
                  "paths = [\"%s/u.gz\", \"%s/u.zst\"]\n"
                  " chunk_size = %uB",
                  dir, dir, chunk);
    pl_test_t *t = run_once(src.data, NULL);
    ck_assert_int_eq(pl_test_status(t), 0);
    pl_buf_t all = {0};
    for (size_t i = 0; i < pl_test_record_count(t); i++) {
      const char *b = bytes_of(t, i);
      ck_assert_msg(pl_utf8_valid(b, strlen(b)), "chunk_size %u: chunk %zu",
                    chunk, i);
      pl_buf_append_str(&all, b);
    }
    pl_buf_t want = {0};
    pl_buf_printf(&want, "%s%s", text, text);
    ck_assert_str_eq(all.data, want.data);
    ck_assert_int_eq(pl_test_destroy(t), 0);
    pl_buf_free(&want);
    pl_buf_free(&all);
    pl_buf_free(&src);
  }
  remove_tree(dir);
}
END_TEST

START_TEST(compressed_files_come_out_in_chunks_behind_a_full_queue) {
  char *dir = make_tmpdir();
  char *text = lines_of(5000);
  write_compressed(dir, "a.txt.gz", false, text, 5000, 0);
  write_compressed(dir, "b.bin", true, text, 5000, 0); /* zstd by its magic */
  write_file(dir, "c.txt", "plain");
  pl_buf_t src = {0};
  pl_buf_printf(&src, "paths = [\"%s\"]\n chunk_size = 64B", dir);
  pl_test_t *t = harness(src.data, small_queue, false);
  size_t capacity = 0;
  size_t depth = test_plugin_run_depth(t, PL_ROLE_SINK, 20000, &capacity);
  ck_assert_int_eq(pl_test_status(t), 0);
  json_t *files = files_of(t);
  ck_assert_uint_eq(json_array_size(files), 3);
  assert_file(files, 0, dir, "a.txt.gz", text);
  assert_file(files, 1, dir, "b.bin", text);
  assert_file(files, 2, dir, "c.txt", "plain");
  size_t count = pl_test_record_count(t);
  for (size_t i = 0; i < count; i++)
    ck_assert_uint_le(strlen(bytes_of(t, i)), 64);
  /* 5000 bytes in chunks of 64 (79), an empty last record for each
   * compressed file, and "plain" as one last record. */
  ck_assert_uint_eq(count, 79 * 2 + 2 + 1);
  /* The reader waited for room. */
  ck_assert_uint_eq(capacity, 2);
  ck_assert_uint_le(depth, 2);
  ck_assert_uint_eq(test_plugin_metrics(t)->rejected, 0);
  json_decref(files);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  pl_buf_free(&src);
  free(text);
  remove_tree(dir);
}
END_TEST

START_TEST(a_truncated_or_oversized_file_is_rejected_and_committed) {
  char *dir = make_tmpdir();
  char *text = lines_of(100000);
  write_compressed(dir, "cut.gz", false, text, 5000, 100);
  write_compressed(dir, "big.zst", true, text, 100000, 0);
  write_compressed(dir, "ok.gz", false, text, 5000, 0);
  pl_buf_t src = {0};
  pl_buf_printf(&src,
                "paths = [\"%s\"]\n chunk_size = 1KiB\n"
                "    max_decompressed_bytes = \"10000B\"\n"
                "    on_commit = \"delete\"",
                dir);
  pl_test_t *t = run_once(src.data, NULL);
  /* Both groups are committed (their rejected records say what is
   * wrong), and --once reports the input errors. */
  ck_assert_int_eq(pl_test_status(t), 1);
  ck_assert_uint_eq(groups_committed(t), 3);
  ck_assert_uint_eq(groups_failed(t), 0);
  ck_assert_uint_eq(test_plugin_metrics(t)->rejected, 2);
  /* One letter per file, its value naming it. */
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 2);
  char *cut = join(dir, "cut.gz");
  const char *first = json_string_value(json_object_get(
      json_object_get(pl_test_dead_letter_document(t, 1), "record"), "path"));
  ck_assert_msg(first && strcmp(first, cut) == 0, "%s",
                json_dumps(pl_test_dead_letters(t), 0));
  free(cut);
  assert_log_has(t, "big.zst: zstd stream decompresses to more than 10000 "
                    "bytes (max_decompressed_bytes)");
  assert_log_has(t, "cut.gz: gzip stream is truncated: the input ends at "
                    "byte 100, inside a member");
  /* What came before the limit was delivered: 9 chunks of 1 KiB, then a
   * cut record that tells the transforms to drop their partial row. */
  pl_buf_t big = {0};
  bool cut_seen = false;
  for (size_t i = 0; i < pl_test_record_count(t); i++) {
    if (!strstr(origin_of(t, i), "big.zst"))
      continue;
    if (json_is_true(json_object_get(pl_test_record_meta(t, i), "cut")))
      cut_seen = true;
    else
      pl_buf_append_str(&big, bytes_of(t, i));
  }
  ck_assert(cut_seen);
  ck_assert_uint_le(big.len, 10000);
  ck_assert_uint_ge(big.len, 9 * 1024);
  ck_assert(strncmp(big.data, text, big.len) == 0);
  pl_buf_free(&big);
  ck_assert_int_eq(pl_test_destroy(t), 0);
  /* on_commit deletes the good file and leaves the two in the dead
   * letter where they are (once the loop has run the deletes: the run
   * ends with the groups resolved, pl_test_destroy() runs the rest). */
  ck_assert(exists(dir, "big.zst"));
  ck_assert(exists(dir, "cut.gz"));
  ck_assert(!exists(dir, "ok.gz"));
  pl_buf_free(&src);
  free(text);
  remove_tree(dir);
}
END_TEST

static Suite *source_file_suite(void) {
  Suite *s = suite_create("source-file");
  TCase *read = tcase_create("read");
  tcase_set_timeout(read, 30);
  tcase_add_test(read, a_file_is_read_in_chunks_that_reassemble_exactly);
  tcase_add_test(read, chunks_of_utf8_text_never_cut_a_character);
  tcase_add_test(read, a_glob_reads_its_files_in_name_order);
  tcase_add_test(read, a_directory_reads_its_regular_files_sorted);
  tcase_add_test(read, an_empty_file_is_one_empty_last_record);
  tcase_add_test(read, relative_paths_give_absolute_origins);
  tcase_add_test(read, missing_paths_are_logged_and_the_run_goes_on);
  tcase_add_test(read, a_full_queue_pauses_reading_and_loses_nothing);
  tcase_add_test(read, bad_option_values_are_refused_at_init);
  suite_add_tcase(s, read);
  TCase *commit = tcase_create("commit");
  tcase_set_timeout(commit, 30);
  tcase_add_test(commit, on_commit_move_puts_files_in_done_dir);
  tcase_add_test(commit, on_commit_move_needs_done_dir);
  tcase_add_test(commit, done_dir_cannot_be_a_directory_that_paths_reads);
  tcase_add_test(commit, done_dir_cannot_match_a_glob_or_be_spelt_another_way);
  tcase_add_test(commit, on_commit_delete_removes_files_and_keep_keeps_them);
  tcase_add_test(commit, a_failed_group_is_neither_moved_nor_deleted);
  tcase_add_test(commit, state_dir_remembers_committed_files_across_runs);
  tcase_add_test(commit, a_state_dir_has_one_owner);
  tcase_add_test(commit, a_once_run_that_cannot_save_its_state_fails);
  tcase_add_test(commit, a_daemon_saves_its_state_again_after_a_failed_save);
  tcase_add_test(commit, a_corrupt_state_file_stops_the_start);
  tcase_add_test(commit, leftovers_of_killed_saves_are_swept_at_start);
  tcase_add_test(commit, a_ledger_entry_stays_until_the_state_holds_its_file);
  suite_add_tcase(s, commit);
  TCase *run = tcase_create("run");
  tcase_set_timeout(run, 30);
  tcase_add_test(run, watch_is_ignored_with_once);
  tcase_add_test(run, watch_reads_new_files_as_they_appear);
  tcase_add_test(run, watch_is_on_by_default_without_once);
  tcase_add_test(run, without_watch_a_daemon_reads_what_is_there_and_waits);
  tcase_add_test(run, watch_reads_a_failed_file_again_at_the_next_scan);
  tcase_add_test(run, stop_in_the_middle_of_a_file_fails_its_group);
  tcase_add_test(run, a_file_replaced_while_read_is_not_moved_unread);
  tcase_add_test(run, a_file_replaced_while_read_is_not_deleted_unread);
  tcase_add_test(run, a_file_that_shrinks_while_read_is_cut_not_committed);
  suite_add_tcase(s, run);
  TCase *parts = tcase_create("parts");
  tcase_add_test(parts, state_sets_find_replace_and_sweep);
  tcase_add_test(parts, state_files_round_trip_any_path);
  tcase_add_test(parts, state_files_that_do_not_parse_are_refused);
  tcase_add_test(parts, paths_are_made_absolute_and_normalised);
  tcase_add_test(parts, a_scan_reports_each_entry);
  tcase_add_test(parts, origins_stay_valid_json_strings);
  tcase_add_test(parts, done_actions_delete_move_and_leave_changed_files);
  tcase_add_test(parts, a_move_across_file_systems_copies_then_unlinks);
  suite_add_tcase(s, parts);
  TCase *compressed = tcase_create("compressed");
  tcase_set_timeout(compressed, 30);
  tcase_add_test(compressed, decompressed_chunks_never_cut_a_character);
  tcase_add_test(compressed,
                 compressed_files_come_out_in_chunks_behind_a_full_queue);
  tcase_add_test(compressed,
                 a_truncated_or_oversized_file_is_rejected_and_committed);
  suite_add_tcase(s, compressed);
  return s;
}

int main(void) {
  return test_suite_run(source_file_suite());
}
