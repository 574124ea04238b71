/* Check suite for src/state_file.c: atomic writes and their failures,
 * whole-file reads (a missing file is empty), the line loop and its
 * messages, and the percent-escaping of awkward text. */
#include <pipelined/state_file.h>

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_suite.h"

/* A new empty directory, and paths in it: new strings. */
static char *scratch_dir(void) {
  char *dir = strdup("/tmp/check_state_file.XXXXXX");
  ck_assert_ptr_nonnull(dir);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  return dir;
}

static char *in_dir(const char *dir, const char *name) {
  pl_buf_t path = {0};
  ck_assert_int_eq(pl_buf_printf(&path, "%s/%s", dir, name), 0);
  return path.data;
}

/* How many names `dir` holds, "." and ".." aside. */
static size_t entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

/* Checks that `error` is the message formatted from `fmt`, then frees it. */
static void assert_error(char *error, const char *fmt, ...) PL_PRINTF(2, 3);

static void assert_error(char *error, const char *fmt, ...) {
  pl_buf_t expected = {0};
  va_list ap;
  va_start(ap, fmt);
  ck_assert_int_eq(pl_buf_vprintf(&expected, fmt, ap), 0);
  va_end(ap);
  ck_assert_msg(error && strcmp(error, expected.data) == 0, "got: %s",
                error ? error : "(no message)");
  pl_buf_free(&expected);
  free(error);
}

/* ---- Writing and reading ---- */

START_TEST(a_written_file_reads_back_whole) {
  char *dir = scratch_dir();
  char *file = in_dir(dir, "s.state");
  /* Bigger than one read, and with a NUL byte: the bytes are opaque. */
  pl_buf_t bytes = {0};
  for (int i = 0; i < 5000; i++)
    ck_assert_int_eq(pl_buf_printf(&bytes, "line %d\n", i), 0);
  bytes.data[7] = '\0';
  char *error = (char *)"untouched";
  ck_assert_int_eq(pl_state_file_write(file, bytes.data, bytes.len, &error), 0);
  ck_assert_str_eq(error, "untouched");
  pl_buf_t back = {0};
  ck_assert_int_eq(pl_state_file_read(file, &back, &error), 0);
  ck_assert_uint_eq(back.len, bytes.len);
  ck_assert(memcmp(back.data, bytes.data, bytes.len) == 0);
  /* A second write replaces the file and leaves no temporary file. */
  ck_assert_int_eq(pl_state_file_write(file, "new\n", 4, NULL), 0);
  pl_buf_reset(&back);
  ck_assert_int_eq(pl_state_file_read(file, &back, NULL), 0);
  ck_assert_str_eq(back.data, "new\n");
  ck_assert_uint_eq(entries(dir), 1);
  /* Nothing at all is a valid content. */
  ck_assert_int_eq(pl_state_file_write(file, NULL, 0, NULL), 0);
  pl_buf_reset(&back);
  ck_assert_int_eq(pl_state_file_read(file, &back, NULL), 0);
  ck_assert_uint_eq(back.len, 0);
  /* Unsynced (a ledger's saves): replaced the same way. */
  ck_assert_int_eq(pl_state_file_write_unsynced(file, "hint\n", 5, NULL), 0);
  ck_assert_int_eq(pl_state_file_read(file, &back, NULL), 0);
  ck_assert_str_eq(back.data, "hint\n");
  ck_assert_uint_eq(entries(dir), 1);
  char *missing = in_dir(dir, "no/such/dir");
  error = NULL;
  ck_assert_int_eq(pl_state_file_write_unsynced(missing, "x", 1, &error),
                   PL_EIO);
  ck_assert_ptr_nonnull(strstr(error, "cannot create a temporary file for"));
  free(error);
  free(missing);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  pl_buf_free(&bytes);
  pl_buf_free(&back);
  free(file);
  free(dir);
}
END_TEST

START_TEST(a_missing_file_reads_as_empty) {
  char *dir = scratch_dir();
  char *file = in_dir(dir, "none.state");
  pl_buf_t out = {0};
  char *error = NULL;
  ck_assert_int_eq(pl_state_file_read(file, &out, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert_uint_eq(out.len, 0);
  /* Even when its directory is missing too: nothing was ever saved. */
  char *deeper = in_dir(dir, "no/such/dir/s.state");
  ck_assert_int_eq(pl_state_file_read(deeper, &out, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert_uint_eq(out.len, 0);
  pl_buf_free(&out);
  free(deeper);
  free(file);
  ck_assert_int_eq(rmdir(dir), 0);
  free(dir);
}
END_TEST

START_TEST(files_that_cannot_be_read_fail_with_a_message) {
  char *dir = scratch_dir();
  pl_buf_t out = {0};
  char *error = NULL;
  /* A directory in place of the file. */
  ck_assert_int_eq(pl_state_file_read(dir, &out, &error), PL_EIO);
  assert_error(error, "cannot read state file %s: Is a directory", dir);
  /* A file in place of a directory. */
  char *plain = in_dir(dir, "plain");
  ck_assert_int_eq(pl_state_file_write(plain, "x", 1, NULL), 0);
  char *under = in_dir(plain, "s.state");
  ck_assert_int_eq(pl_state_file_read(under, &out, &error), PL_EIO);
  assert_error(error, "cannot read state file %s: Not a directory", under);
  ck_assert_int_eq(pl_state_file_read(under, &out, NULL), PL_EIO);
  ck_assert_uint_eq(out.len, 0);
  ck_assert_int_eq(unlink(plain), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  pl_buf_free(&out);
  free(under);
  free(plain);
  free(dir);
}
END_TEST

START_TEST(writes_that_fail_name_the_step_and_the_file) {
  char *dir = scratch_dir();
  char *error = NULL;

  /* A missing directory: the temporary file cannot be created. */
  char *lost = in_dir(dir, "missing/s.state");
  ck_assert_int_eq(pl_state_file_write(lost, "x\n", 2, &error), PL_EIO);
  assert_error(error,
               "cannot create a temporary file for %s: No such file or "
               "directory",
               lost);
  ck_assert_int_eq(pl_state_file_write(lost, "x\n", 2, NULL), PL_EIO);

  /* A directory in place of the file: the rename fails, the temporary
   * file (whose name is random) is removed and the directory stays. */
  char *taken = in_dir(dir, "taken");
  ck_assert_int_eq(mkdir(taken, 0700), 0);
  ck_assert_int_eq(pl_state_file_write(taken, "x\n", 2, &error), PL_EIO);
  pl_buf_t prefix = {0}, suffix = {0};
  ck_assert_int_eq(pl_buf_printf(&prefix, "cannot rename %s.", taken), 0);
  ck_assert_int_eq(pl_buf_printf(&suffix, " to %s: Is a directory", taken), 0);
  ck_assert_msg(error && strncmp(error, prefix.data, prefix.len) == 0 &&
                    strlen(error) == prefix.len + 6 + suffix.len &&
                    strcmp(error + prefix.len + 6, suffix.data) == 0,
                "got: %s", error ? error : "(no message)");
  free(error);
  pl_buf_free(&prefix);
  pl_buf_free(&suffix);
  ck_assert_uint_eq(entries(dir), 1);
  struct stat st;
  ck_assert_int_eq(stat(taken, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));

  ck_assert_int_eq(rmdir(taken), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(taken);
  free(lost);
  free(dir);
}
END_TEST

/* A shared state directory: someone plants a symlink where the temporary
 * file used to be, "<state>.tmp", to have the daemon overwrite a file of
 * theirs choosing. The write must not go through it. */
START_TEST(a_planted_symlink_is_not_followed) {
  char *dir = scratch_dir();
  char *victim = in_dir(dir, "victim");
  FILE *f = fopen(victim, "w");
  ck_assert_ptr_nonnull(f);
  fputs("precious\n", f);
  ck_assert_int_eq(fclose(f), 0);
  char *file = in_dir(dir, "s.state");
  char *planted = in_dir(dir, "s.state.tmp");
  ck_assert_int_eq(symlink(victim, planted), 0);

  char *error = NULL;
  ck_assert_int_eq(pl_state_file_write(file, "new\n", 4, &error), 0);
  pl_buf_t back = {0};
  ck_assert_int_eq(pl_state_file_read(victim, &back, NULL), 0);
  ck_assert_str_eq(back.data, "precious\n");
  pl_buf_reset(&back);
  ck_assert_int_eq(pl_state_file_read(file, &back, NULL), 0);
  ck_assert_str_eq(back.data, "new\n");
  struct stat st;
  ck_assert_int_eq(lstat(file, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_assert_uint_eq(st.st_mode & 07777, 0644);
  ck_assert_int_eq(lstat(planted, &st), 0);
  ck_assert(S_ISLNK(st.st_mode));
  ck_assert_uint_eq(entries(dir), 3);

  pl_buf_free(&back);
  ck_assert_int_eq(unlink(planted), 0);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(unlink(victim), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(planted);
  free(file);
  free(victim);
  free(dir);
}
END_TEST

/* ---- Owning ---- */

START_TEST(a_second_owner_is_refused_with_the_holder) {
  char *dir = scratch_dir();
  /* The directories of the file are created. */
  char *file = in_dir(dir, "a/b/s.state");
  char *lock = in_dir(dir, "a/b/s.state.lock");
  char *error = NULL;
  pl_state_file_t *first = NULL, *second = NULL;
  ck_assert_int_eq(pl_state_file_open(file, &first, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert_str_eq(pl_state_file_path(first), file);
  /* Opening does not lock (--check reads the state beside the daemon). */
  ck_assert_int_eq(access(lock, F_OK), -1);
  ck_assert_int_eq(pl_state_file_open(file, &second, &error), 0);
  ck_assert_int_eq(pl_state_file_lock(first, &error), 0);
  ck_assert_int_eq(pl_state_file_lock(first, &error), 0); /* already */
  struct stat st;
  ck_assert_int_eq(lstat(lock, &st), 0);
  ck_assert(S_ISREG(st.st_mode));

  /* flock() locks belong to an open file, so a second lock in this very
   * process conflicts as a second daemon would. */
  ck_assert_int_eq(pl_state_file_lock(second, &error), PL_EAGAIN);
  assert_error(error,
               "state file %s is in use by another process: PID %ld holds %s "
               "(two sources, or two daemons, given the same state file)",
               file, (long)getpid(), lock);
  ck_assert_int_eq(pl_state_file_lock(second, NULL), PL_EAGAIN);

  /* Closed, the file can be taken again. */
  pl_state_file_close(first);
  ck_assert_int_eq(pl_state_file_lock(second, &error), 0);
  pl_state_file_close(second);
  pl_state_file_close(NULL);

  /* A symlink at the lock's name is refused, not followed. */
  char *other = in_dir(dir, "o.state");
  char *other_lock = in_dir(dir, "o.state.lock");
  ck_assert_int_eq(symlink(lock, other_lock), 0);
  ck_assert_int_eq(pl_state_file_open(other, &second, &error), 0);
  ck_assert_int_eq(pl_state_file_lock(second, &error), PL_EIO);
  assert_error(error, "cannot open %s: Too many levels of symbolic links",
               other_lock);
  pl_state_file_close(second);

  /* A directory that cannot be created is named. */
  char *blocked = in_dir(dir, "o.state.lock/s.state");
  ck_assert_int_eq(pl_state_file_open(blocked, &second, &error), PL_EIO);
  assert_error(error,
               "cannot create the directory of state file %s: Not a "
               "directory",
               blocked);

  ck_assert_int_eq(unlink(other_lock), 0);
  ck_assert_int_eq(unlink(lock), 0);
  char *b = in_dir(dir, "a/b"), *a = in_dir(dir, "a");
  ck_assert_int_eq(rmdir(b), 0);
  ck_assert_int_eq(rmdir(a), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(a);
  free(b);
  free(blocked);
  free(other_lock);
  free(other);
  free(lock);
  free(file);
  free(dir);
}
END_TEST

/* ---- Saving without blocking the loop ---- */

/* A disk whose writes wait until the test lets them go. */
typedef struct slow_disk {
  uv_sem_t go;
  int writes;        /* by the pool thread; read after the loop ends */
  pl_buf_t written;  /* what each write was given, "<bytes>|" */
  uv_timer_t timer;
  int ticks;         /* timer callbacks so far */
  int ticks_at_first_save;
  int saves;         /* on_saved callbacks */
  int failures;
  pl_state_file_t *file;
} slow_disk_t;

static int slow_write(void *arg, const char *path, const void *bytes,
                      size_t len, char **error) {
  slow_disk_t *disk = arg;
  uv_sem_wait(&disk->go);
  disk->writes++;
  pl_buf_append(&disk->written, bytes, len);
  pl_buf_append_str(&disk->written, "|");
  return pl_state_file_write(path, bytes, len, error);
}

/* The loop's heartbeat: the writes may end once it has beaten a few
 * times, which it can only do if the first write does not hold the loop. */
static void on_tick(uv_timer_t *timer) {
  slow_disk_t *disk = timer->data;
  if (++disk->ticks == 5) {
    uv_sem_post(&disk->go);
    uv_sem_post(&disk->go);
  }
}

static void on_saved(void *arg, int status, const char *error) {
  slow_disk_t *disk = arg;
  if (status < 0) {
    disk->failures++;
    fprintf(stderr, "save failed: %s\n", error);
  }
  if (++disk->saves == 1)
    disk->ticks_at_first_save = disk->ticks;
  if (!pl_state_file_saving(disk->file))
    uv_close((uv_handle_t *)&disk->timer, NULL);
}

/* A save killed between mkstemp() and rename() leaves "<state>.XXXXXX";
 * the next owner removes such leftovers when it takes the lock, and
 * nothing else. */
static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
}

START_TEST(the_owner_removes_temporary_files_a_killed_save_left) {
  char *dir = scratch_dir();
  char *file = in_dir(dir, "s.state");
  char *left = in_dir(dir, "s.state.Ab12Cd");
  char *kept[] = {in_dir(dir, "s.state.backup1"), in_dir(dir, "s.state.a-b_cd"),
                  in_dir(dir, "t.state.Ab12Cd")};
  touch(left);
  for (size_t i = 0; i < 3; i++)
    touch(kept[i]);
  char *error = NULL;
  pl_state_file_t *owner = NULL;
  ck_assert_int_eq(pl_state_file_open(file, &owner, &error), 0);
  ck_assert_int_eq(access(left, F_OK), 0); /* opening is not owning */
  ck_assert_int_eq(pl_state_file_lock(owner, &error), 0);
  ck_assert_int_eq(access(left, F_OK), -1);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_msg(access(kept[i], F_OK) == 0, "%s was removed", kept[i]);
    free(kept[i]);
  }
  pl_state_file_close(owner);
  free(left);
  free(file);
  free(dir);
}
END_TEST

START_TEST(a_slow_save_does_not_stop_the_loop_and_the_last_state_wins) {
  char *dir = scratch_dir();
  char *path = in_dir(dir, "s.state");
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  slow_disk_t disk = {0};
  ck_assert_int_eq(uv_sem_init(&disk.go, 0), 0);
  ck_assert_int_eq(pl_state_file_open(path, &disk.file, NULL), 0);
  ck_assert_int_eq(pl_state_file_lock(disk.file, NULL), 0);
  pl_state_file_set_writer(disk.file, slow_write, &disk);
  pl_state_file_on_saved(disk.file, on_saved, &disk);
  ck_assert_int_eq(uv_timer_init(&loop, &disk.timer), 0);
  disk.timer.data = &disk;
  ck_assert_int_eq(uv_timer_start(&disk.timer, on_tick, 1, 1), 0);

  /* The first save is in flight (and stuck) when the next two come: the
   * second is replaced by the third, which is written after the first. */
  ck_assert_int_eq(pl_state_file_save(disk.file, &loop, "one\n", 4), 0);
  ck_assert(pl_state_file_saving(disk.file));
  ck_assert_int_eq(pl_state_file_save(disk.file, &loop, "two\n", 4), 0);
  ck_assert_int_eq(pl_state_file_save(disk.file, &loop, "three\n", 6), 0);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);

  ck_assert_int_ge(disk.ticks_at_first_save, 5);
  ck_assert_int_eq(disk.saves, 2);
  ck_assert_int_eq(disk.failures, 0);
  ck_assert_int_eq(disk.writes, 2);
  ck_assert_str_eq(disk.written.data, "one\n|three\n|");
  ck_assert(!pl_state_file_saving(disk.file));
  pl_buf_t back = {0};
  ck_assert_int_eq(pl_state_file_read(path, &back, NULL), 0);
  ck_assert_str_eq(back.data, "three\n");

  /* Closed with a save in flight: the save still lands, then the object
   * goes (the loop closes cleanly: nothing is left). */
  pl_state_file_set_writer(disk.file, NULL, NULL);
  ck_assert_int_eq(pl_state_file_save(disk.file, &loop, "four\n", 5), 0);
  pl_state_file_close(disk.file);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(disk.saves, 2); /* no callback after close */
  pl_buf_reset(&back);
  ck_assert_int_eq(pl_state_file_read(path, &back, NULL), 0);
  ck_assert_str_eq(back.data, "four\n");
  ck_assert_int_eq(uv_loop_close(&loop), 0);

  uv_sem_destroy(&disk.go);
  pl_buf_free(&disk.written);
  pl_buf_free(&back);
  char *lock = in_dir(dir, "s.state.lock");
  ck_assert_int_eq(unlink(lock), 0);
  ck_assert_int_eq(unlink(path), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(lock);
  free(path);
  free(dir);
}
END_TEST

typedef struct saved_result {
  int status;
  char *error;
} saved_result_t;

static void record_saved(void *arg, int status, const char *error) {
  saved_result_t *got = arg;
  got->status = status;
  got->error = error ? strdup(error) : NULL;
}

/* A failed write reaches the callback with its message. */
START_TEST(a_failed_save_is_reported_to_the_callback) {
  char *dir = scratch_dir();
  char *path = in_dir(dir, "s.state");
  uv_loop_t loop;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  pl_state_file_t *file = NULL;
  ck_assert_int_eq(pl_state_file_open(path, &file, NULL), 0);
  ck_assert_int_eq(mkdir(path, 0700), 0); /* the rename will fail */
  saved_result_t got = {1, NULL};
  pl_state_file_on_saved(file, record_saved, &got);
  ck_assert_int_eq(pl_state_file_save(file, &loop, "x\n", 2), 0);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(got.status, PL_EIO);
  pl_buf_t suffix = {0};
  pl_buf_printf(&suffix, " to %s: Is a directory", path);
  ck_assert_msg(got.error && strstr(got.error, suffix.data), "%s", got.error);
  free(got.error);
  pl_buf_free(&suffix);
  pl_state_file_close(file);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  ck_assert_int_eq(rmdir(path), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(path);
  free(dir);
}
END_TEST

/* ---- The line loop ---- */

/* What the visitor saw, and the line at which it fails (0: none). */
typedef struct lines_seen {
  pl_buf_t text; /* "<number>:<line>|" per line */
  size_t fail_at;
  int fail_rc;
  bool no_reason; /* fail without setting *reason */
} lines_seen_t;

static int on_line(void *arg, size_t number, const char *line, size_t len,
                   const char **reason) {
  lines_seen_t *seen = arg;
  ck_assert_int_eq(
      pl_buf_printf(&seen->text, "%zu:%.*s|", number, (int)len, line), 0);
  if (number != seen->fail_at)
    return 0;
  if (!seen->no_reason)
    *reason = "bad thing";
  return seen->fail_rc;
}

/* Loads `content` through the visitor; returns the code, the lines seen
 * in seen->text and the message in *error. */
static int load_text(const char *content, lines_seen_t *seen, char **file,
                     char **error) {
  char *dir = scratch_dir();
  *file = in_dir(dir, "s.state");
  ck_assert_int_eq(pl_state_file_write(*file, content, strlen(content), NULL),
                   0);
  int rc = pl_state_file_load(*file, on_line, seen, error);
  ck_assert_int_eq(unlink(*file), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(dir);
  return rc;
}

START_TEST(every_line_is_visited_in_order) {
  lines_seen_t seen = {0};
  char *file = NULL, *error = NULL;
  ck_assert_int_eq(
      load_text("head\n\nwith space \r\nlast\n", &seen, &file, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert_str_eq(seen.text.data, "1:head|2:|3:with space \r|4:last|");
  pl_buf_free(&seen.text);
  free(file);
  /* No file and an empty file have no lines. */
  ck_assert_int_eq(
      pl_state_file_load("/nonexistent/s.state", on_line, &seen, &error), 0);
  ck_assert_int_eq(load_text("", &seen, &file, &error), 0);
  ck_assert_ptr_null(seen.text.data);
  free(file);
}
END_TEST

START_TEST(load_failures_name_the_file_and_line) {
  lines_seen_t seen = {.fail_at = 2, .fail_rc = PL_EPARSE};
  char *file = NULL, *error = NULL;
  ck_assert_int_eq(load_text("a\nb\nc\n", &seen, &file, &error), PL_EPARSE);
  ck_assert_str_eq(seen.text.data, "1:a|2:b|"); /* stops at the failure */
  assert_error(error, "state file %s:2: bad thing", file);
  free(file);
  pl_buf_free(&seen.text);

  /* Without a reason, the code's description. */
  seen = (lines_seen_t){.fail_at = 1, .fail_rc = PL_ERANGE, .no_reason = true};
  ck_assert_int_eq(load_text("a\n", &seen, &file, &error), PL_ERANGE);
  assert_error(error, "state file %s:1: value out of range", file);
  free(file);
  pl_buf_free(&seen.text);

  /* A last line without its '\n' is never visited. */
  seen = (lines_seen_t){0};
  ck_assert_int_eq(load_text("a\nb", &seen, &file, &error), PL_EPARSE);
  ck_assert_str_eq(seen.text.data, "1:a|");
  assert_error(error, "state file %s:2: the last line is incomplete", file);
  free(file);
  pl_buf_free(&seen.text);

  /* Out of memory says only that. */
  seen = (lines_seen_t){.fail_at = 1, .fail_rc = PL_ENOMEM};
  ck_assert_int_eq(load_text("a\n", &seen, &file, &error), PL_ENOMEM);
  ck_assert_str_eq(error, "out of memory");
  free(error);
  free(file);
  pl_buf_free(&seen.text);

  /* A file that cannot be read is the read's message. */
  char *dir = scratch_dir();
  ck_assert_int_eq(pl_state_file_load(dir, on_line, &seen, &error), PL_EIO);
  assert_error(error, "cannot read state file %s: Is a directory", dir);
  ck_assert_ptr_null(seen.text.data);
  ck_assert_int_eq(rmdir(dir), 0);
  free(dir);
}
END_TEST

/* pl_state_file_open_load: the open and the load of a plugin's state in
 * one call, nothing left open when either fails, nothing without a path;
 * and the calls a plugin without a state file makes are harmless. */
START_TEST(open_load_opens_then_loads_or_leaves_nothing) {
  char *dir = scratch_dir();
  char *file = in_dir(dir, "sub/s.state");
  pl_state_file_t *owner = (pl_state_file_t *)1;
  lines_seen_t seen = {0};
  char *error = NULL;
  /* No file yet: opened (its directory made), no lines. */
  ck_assert_int_eq(
      pl_state_file_open_load(file, on_line, &seen, &owner, &error), 0);
  ck_assert_ptr_nonnull(owner);
  ck_assert_ptr_null(error);
  ck_assert_ptr_null(seen.text.data);
  ck_assert_int_eq(pl_state_file_lock(owner, NULL), 0);
  ck_assert_int_eq(pl_state_file_write(file, "a\nb\n", 4, NULL), 0);
  pl_state_file_close(owner);
  /* Two lines, in order. */
  ck_assert_int_eq(
      pl_state_file_open_load(file, on_line, &seen, &owner, &error), 0);
  ck_assert_str_eq(seen.text.data, "1:a|2:b|");
  ck_assert_str_eq(pl_state_file_path(owner), file);
  pl_state_file_close(owner);
  pl_buf_free(&seen.text);
  /* A failing line: the load's code and message, nothing open. */
  seen = (lines_seen_t){.fail_at = 2, .fail_rc = PL_EPARSE};
  owner = (pl_state_file_t *)1;
  ck_assert_int_eq(
      pl_state_file_open_load(file, on_line, &seen, &owner, &error),
      PL_EPARSE);
  ck_assert_ptr_null(owner);
  assert_error(error, "state file %s:2: bad thing", file);
  pl_buf_free(&seen.text);
  /* A directory that cannot be made: the open's code, nothing open. */
  char *blocked = in_dir(file, "s.state"); /* under a regular file */
  owner = (pl_state_file_t *)1;
  ck_assert_int_eq(
      pl_state_file_open_load(blocked, on_line, &seen, &owner, NULL), PL_EIO);
  ck_assert_ptr_null(owner);
  ck_assert_ptr_null(seen.text.data);
  free(blocked);
  /* Without a path: nothing, and no error. */
  owner = (pl_state_file_t *)1;
  ck_assert_int_eq(
      pl_state_file_open_load(NULL, on_line, &seen, &owner, &error), 0);
  ck_assert_ptr_null(owner);
  ck_assert_int_eq(pl_state_file_lock(NULL, &error), 0);
  error = (char *)1;
  ck_assert_int_eq(pl_state_file_write_state(NULL, NULL, NULL, &error), 0);
  ck_assert_ptr_null(error);
  ck_assert_int_eq(unlink(file), 0);
  pl_buf_t lock = {0};
  ck_assert_int_eq(pl_buf_printf(&lock, "%s.lock", file), 0);
  ck_assert_int_eq(unlink(lock.data), 0);
  pl_buf_free(&lock);
  char *sub = in_dir(dir, "sub");
  ck_assert_int_eq(rmdir(sub), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(sub);
  free(file);
  free(dir);
}
END_TEST

/* Every state file of pipelined starts with a header: one that exists
 * without any line is refused (read as nothing, everything it held would
 * be processed again), as a truncated one is; no file is the first run. */
START_TEST(a_headed_state_file_without_its_header_is_refused) {
  char *dir = scratch_dir();
  char *file = in_dir(dir, "s.state");
  pl_state_file_t *owner = (pl_state_file_t *)1;
  lines_seen_t seen = {0};
  char *error = NULL;
  ck_assert_int_eq(
      pl_state_file_open_load_headed(file, on_line, &seen, &owner, &error), 0);
  ck_assert_ptr_nonnull(owner);
  ck_assert_ptr_null(seen.text.data);
  pl_state_file_close(owner);
  ck_assert_int_eq(pl_state_file_write(file, "", 0, NULL), 0);
  owner = (pl_state_file_t *)1;
  ck_assert_int_eq(
      pl_state_file_open_load_headed(file, on_line, &seen, &owner, &error),
      PL_EPARSE);
  ck_assert_ptr_null(owner);
  ck_assert_ptr_null(seen.text.data);
  assert_error(error, "state file %s:1: the first line (the header) is missing",
               file);
  /* Without the check (a format that may save nothing), no lines. */
  ck_assert_int_eq(
      pl_state_file_open_load(file, on_line, &seen, &owner, &error), 0);
  pl_state_file_close(owner);
  ck_assert_int_eq(pl_state_file_write(file, "h\n", 2, NULL), 0);
  ck_assert_int_eq(
      pl_state_file_open_load_headed(file, on_line, &seen, &owner, &error), 0);
  ck_assert_str_eq(seen.text.data, "1:h|");
  pl_state_file_close(owner);
  pl_buf_free(&seen.text);
  ck_assert_int_eq(unlink(file), 0);
  ck_assert_int_eq(rmdir(dir), 0);
  free(file);
  free(dir);
}
END_TEST

/* ---- Escaping ---- */

static char *escaped(const char *text, const char *also) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_state_escape(text, also, &out), 0);
  return out.data ? out.data : strdup("");
}

START_TEST(awkward_text_is_escaped_and_comes_back) {
  static const struct {
    const char *text;
    const char *also;
    const char *escaped;
  } cases[] = {
      {"", NULL, ""},
      {"plain/text", NULL, "plain/text"},
      {"with space", NULL, "with space"},
      {"with space", " ", "with%20space"},
      {"100%", NULL, "100%25"},
      {"%41", NULL, "%2541"},
      {"new\nline\r\ttab", NULL, "new%0Aline%0D%09tab"},
      {"\x01\x1f\x7f", NULL, "%01%1F%7F"},
      {"caf\xc3\xa9 \xff", NULL, "caf\xc3\xa9 \xff"},
      {"\"etag-1\" x", " ", "\"etag-1\"%20x"},
      {"a-b", "-", "a%2Db"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *text = escaped(cases[i].text, cases[i].also);
    ck_assert_msg(strcmp(text, cases[i].escaped) == 0, "case %zu: %s", i, text);
    char *back = NULL;
    ck_assert_int_eq(pl_state_unescape(text, strlen(text), &back), 0);
    ck_assert_str_eq(back, cases[i].text);
    free(back);
    free(text);
  }
  /* Lower-case hex is read too; only `len` bytes are read. */
  char *back = NULL;
  ck_assert_int_eq(pl_state_unescape("%7e%7Ex", 6, &back), 0);
  ck_assert_str_eq(back, "~~");
  free(back);
}
END_TEST

START_TEST(invalid_escapes_are_refused) {
  static const char *const cases[] = {
      "%",     "a%",   "%4", "a%4", "%zz",  "%4g",  "%g4",  "%00",
      "a%00b", "a\tb", "\n", "a\r", "\x01", "\x7f", "%%41",
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = (char *)"untouched";
    ck_assert_msg(pl_state_unescape(cases[i], strlen(cases[i]), &out) ==
                      PL_EPARSE,
                  "case %zu", i);
    ck_assert_str_eq(out, "untouched");
  }
  /* An escape cut by `len` is incomplete too. */
  char *out = NULL;
  ck_assert_int_eq(pl_state_unescape("ab%41", 4, &out), PL_EPARSE);
  ck_assert_ptr_null(out);
}
END_TEST

static Suite *state_file_suite(void) {
  Suite *s = suite_create("state_file");
  TCase *files = tcase_create("files");
  tcase_add_test(files, a_written_file_reads_back_whole);
  tcase_add_test(files, a_missing_file_reads_as_empty);
  tcase_add_test(files, files_that_cannot_be_read_fail_with_a_message);
  tcase_add_test(files, writes_that_fail_name_the_step_and_the_file);
  tcase_add_test(files, a_planted_symlink_is_not_followed);
  tcase_add_test(files, a_second_owner_is_refused_with_the_holder);
  tcase_add_test(files, the_owner_removes_temporary_files_a_killed_save_left);
  suite_add_tcase(s, files);
  /* A save that blocked the loop would never end: the timeout fails it. */
  TCase *saves = tcase_create("saves");
  tcase_set_timeout(saves, 20);
  tcase_add_test(saves, a_slow_save_does_not_stop_the_loop_and_the_last_state_wins);
  tcase_add_test(saves, a_failed_save_is_reported_to_the_callback);
  suite_add_tcase(s, saves);
  TCase *lines = tcase_create("lines");
  tcase_add_test(lines, every_line_is_visited_in_order);
  tcase_add_test(lines, load_failures_name_the_file_and_line);
  tcase_add_test(lines, open_load_opens_then_loads_or_leaves_nothing);
  tcase_add_test(lines, a_headed_state_file_without_its_header_is_refused);
  suite_add_tcase(s, lines);
  TCase *escape = tcase_create("escape");
  tcase_add_test(escape, awkward_text_is_escaped_and_comes_back);
  tcase_add_test(escape, invalid_escapes_are_refused);
  suite_add_tcase(s, escape);
  return s;
}

int main(void) {
  return test_suite_run(state_file_suite());
}
