/* Check suite for plugins/source-s3/s3_state.c: sets of committed keys and
 * ETags (put, replace, remove, mark and sweep, 100k keys, removals in a
 * crowded table), and their state file: round trips of awkward keys and
 * ETags, a missing or empty file, the exact reason for each corrupt line
 * and saves that cannot be written. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <pipelined/s3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3_state.h"
#include "test_suite.h"

/* ---- Files ---- */

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/check-s3-state-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_tree(char *dir) {
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* dir/name, a new string. */
static char *join(const char *dir, const char *name) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_printf(&buf, "%s/%s", dir, name), 0);
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
    ck_assert_int_eq(pl_buf_append(&buf, chunk, n), 0);
  fclose(f);
  ck_assert_int_eq(pl_buf_append_str(&buf, ""), 0);
  return buf.data;
}

/* How many names `dir` holds that start with `prefix`. */
static size_t names_starting(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}

static bool exists(const char *dir, const char *name) {
  char *path = join(dir, name);
  bool found = access(path, F_OK) == 0;
  free(path);
  return found;
}

/* "k<i>" with some padding, so that keys share a long prefix. */
static void key_of(size_t i, char *out, size_t size) {
  snprintf(out, size, "logs/2024/01/01/part-%08zu.csv", i);
}

/* ---- Sets ---- */

START_TEST(sets_put_find_replace_and_remove) {
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(NULL, &st, NULL), 0);
  ck_assert_ptr_null(s3_state_file(st));
  ck_assert_uint_eq(s3_state_count(st), 0);
  ck_assert(!s3_state_has(st, "a", "e"));
  ck_assert(!s3_state_find(st, "a", NULL));
  ck_assert(!s3_state_remove(st, "a"));

  ck_assert_int_eq(s3_state_put(st, "b", "e1"), 0);
  ck_assert_int_eq(s3_state_put(st, "a", "e2"), 0);
  ck_assert_int_eq(s3_state_put(st, "c", NULL), 0);
  ck_assert_uint_eq(s3_state_count(st), 3);
  ck_assert(s3_state_has(st, "b", "e1"));
  ck_assert(!s3_state_has(st, "b", "e2"));
  ck_assert(!s3_state_has(st, "b", NULL));
  ck_assert(!s3_state_has(st, "B", "e1"));
  const char *etag = "garbage";
  ck_assert(s3_state_find(st, "a", &etag));
  ck_assert_str_eq(etag, "e2");
  /* No ETag: NULL and "" are the same. */
  ck_assert(s3_state_has(st, "c", NULL));
  ck_assert(s3_state_has(st, "c", ""));
  ck_assert(!s3_state_has(st, "c", "e1"));
  ck_assert(s3_state_find(st, "c", &etag));
  ck_assert_ptr_null(etag);

  /* A changed ETag replaces the old one: the object is new again until it
   * is put. */
  ck_assert_int_eq(s3_state_put(st, "b", "e3"), 0);
  ck_assert_uint_eq(s3_state_count(st), 3);
  ck_assert(!s3_state_has(st, "b", "e1"));
  ck_assert(s3_state_has(st, "b", "e3"));
  ck_assert_int_eq(s3_state_put(st, "b", ""), 0);
  ck_assert(s3_state_has(st, "b", NULL));
  ck_assert_int_eq(s3_state_put(st, "c", "-"), 0);
  ck_assert(s3_state_has(st, "c", "-"));
  ck_assert(!s3_state_has(st, "c", NULL));

  ck_assert_int_eq(s3_state_put(st, "", "e"), PL_EINVAL);
  ck_assert_int_eq(s3_state_put(st, NULL, "e"), PL_EINVAL);
  ck_assert_uint_eq(s3_state_count(st), 3);

  ck_assert(s3_state_remove(st, "a"));
  ck_assert(!s3_state_remove(st, "a"));
  ck_assert(!s3_state_has(st, "a", "e2"));
  ck_assert_uint_eq(s3_state_count(st), 2);

  char *error = (char *)"garbage";
  ck_assert_int_eq(s3_state_save(st, &error), 0); /* in memory: nothing */
  ck_assert_ptr_null(error);
  s3_state_destroy(st);
  s3_state_destroy(NULL);
}
END_TEST

START_TEST(mark_and_sweep_forgets_keys_no_longer_listed) {
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(NULL, &st, NULL), 0);
  ck_assert_uint_eq(s3_state_sweep(st), 0); /* an empty set */
  const char *keys[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < 4; i++)
    ck_assert_int_eq(s3_state_put(st, keys[i], "e"), 0);
  ck_assert_uint_eq(s3_state_sweep(st), 0); /* put marks */
  s3_state_unmark_all(st);
  s3_state_mark(st, "a");
  s3_state_mark(st, "c");
  s3_state_mark(st, "not there");
  ck_assert_int_eq(s3_state_put(st, "e", "e"), 0); /* committed meanwhile */
  ck_assert_uint_eq(s3_state_sweep(st), 2);
  ck_assert_uint_eq(s3_state_count(st), 3);
  ck_assert(s3_state_has(st, "a", "e"));
  ck_assert(!s3_state_find(st, "b", NULL));
  ck_assert(s3_state_has(st, "c", "e"));
  ck_assert(!s3_state_find(st, "d", NULL));
  ck_assert(s3_state_has(st, "e", "e"));
  /* A sweep marks nothing: the next one without marks forgets all. */
  s3_state_unmark_all(st);
  ck_assert_uint_eq(s3_state_sweep(st), 3);
  ck_assert_uint_eq(s3_state_count(st), 0);
  ck_assert(!s3_state_find(st, "a", NULL));
  s3_state_destroy(st);
}
END_TEST

/* Counts a wrong result without an assertion: Check records a mark for
 * each passing assertion, too slow in loops over 100k keys. */
typedef struct tally {
  size_t wrong;
  size_t first; /* the index of the first wrong result */
} tally_t;

static void tally(tally_t *t, bool ok, size_t where) {
  if (!ok && t->wrong++ == 0)
    t->first = where;
}

#define ck_tally_ok(t)                                                         \
  ck_assert_msg((t).wrong == 0, "%zu wrong results, the first at %zu",         \
                (t).wrong, (t).first)

START_TEST(large_sets_sweep_exactly_the_unmarked_keys) {
  enum { N = 20000 };
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(NULL, &st, NULL), 0);
  char key[64];
  tally_t t = {0};
  for (size_t i = 0; i < N; i++) {
    key_of(i, key, sizeof(key));
    tally(&t, s3_state_put(st, key, "e") == 0, i);
  }
  ck_tally_ok(t);
  s3_state_unmark_all(st);
  for (size_t i = 0; i < N; i += 3) {
    key_of(i, key, sizeof(key));
    s3_state_mark(st, key);
  }
  ck_assert_uint_eq(s3_state_sweep(st), N - (N + 2) / 3);
  ck_assert_uint_eq(s3_state_count(st), (N + 2) / 3);
  for (size_t i = 0; i < N; i++) {
    key_of(i, key, sizeof(key));
    tally(&t, s3_state_find(st, key, NULL) == (i % 3 == 0), i);
  }
  ck_tally_ok(t);
  s3_state_destroy(st);
}
END_TEST

START_TEST(a_hundred_thousand_keys_are_found) {
  enum { N = 100000 };
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(NULL, &st, NULL), 0);
  char key[64], etag[32];
  tally_t t = {0};
  /* Not in order: 7919 is prime, so i * 7919 % N visits every key. */
  for (size_t i = 0; i < N; i++) {
    size_t k = i * 7919 % N;
    key_of(k, key, sizeof(key));
    snprintf(etag, sizeof(etag), "%zx", k);
    tally(&t, s3_state_put(st, key, etag) == 0, k);
  }
  ck_tally_ok(t);
  ck_assert_uint_eq(s3_state_count(st), N);
  for (size_t k = 0; k < N; k++) {
    key_of(k, key, sizeof(key));
    snprintf(etag, sizeof(etag), "%zx", k);
    tally(&t, s3_state_has(st, key, etag), k);
    snprintf(etag, sizeof(etag), "%zx", k + 1);
    tally(&t, !s3_state_has(st, key, etag), k);
  }
  ck_tally_ok(t);
  key_of(N, key, sizeof(key));
  ck_assert(!s3_state_find(st, key, NULL));
  for (size_t k = 0; k < N; k += 2) {
    key_of(k, key, sizeof(key));
    tally(&t, s3_state_remove(st, key), k);
  }
  ck_tally_ok(t);
  ck_assert_uint_eq(s3_state_count(st), N / 2);
  for (size_t k = 0; k < N; k++) {
    key_of(k, key, sizeof(key));
    tally(&t, s3_state_find(st, key, NULL) == (k % 2 == 1), k);
  }
  ck_tally_ok(t);
  s3_state_destroy(st);
}
END_TEST

/* A small xorshift generator, seeded per test, for reproducible runs. */
static uint64_t next_random(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

START_TEST(removals_in_a_crowded_table_keep_every_other_key) {
  /* At most 31 of 1000 keys at once, so in 64 slots, with many puts and
   * removals: probe runs that cross the end of the table and backward
   * shifts, checked against a plain array. */
  enum { KEYS = 1000, MOST = 31, STEPS = 40000 };
  bool present[KEYS] = {false};
  uint64_t seed = 0x9e3779b97f4a7c15u;
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(NULL, &st, NULL), 0);
  size_t count = 0;
  tally_t t = {0};
  char key[16];
  for (size_t step = 0; step < STEPS; step++) {
    size_t k = next_random(&seed) % KEYS;
    snprintf(key, sizeof(key), "%zu", k);
    if (count < MOST && next_random(&seed) % 2) {
      tally(&t, s3_state_put(st, key, key) == 0, step);
      count += !present[k];
      present[k] = true;
    } else {
      tally(&t, s3_state_remove(st, key) == present[k], step);
      count -= present[k];
      present[k] = false;
    }
    if (step % 97 == 0) {
      /* Keep the even keys. */
      s3_state_unmark_all(st);
      size_t gone = 0;
      for (size_t i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "%zu", i);
        if (i % 2 == 0)
          s3_state_mark(st, key);
        else {
          gone += present[i];
          count -= present[i];
          present[i] = false;
        }
      }
      tally(&t, s3_state_sweep(st) == gone, step);
    }
    tally(&t, s3_state_count(st) == count, step);
    if (step % 16 == 0) {
      for (size_t i = 0; i < KEYS; i++) {
        snprintf(key, sizeof(key), "%zu", i);
        tally(&t, s3_state_has(st, key, key) == present[i], step);
      }
    }
  }
  ck_tally_ok(t);
  s3_state_destroy(st);
}
END_TEST

/* ---- State files ---- */

START_TEST(state_files_round_trip_awkward_keys_and_etags) {
  char long_key[PL_S3_KEY_MAX + 1];
  memset(long_key, 'k', PL_S3_KEY_MAX);
  long_key[PL_S3_KEY_MAX] = '\0';
  static const struct {
    const char *key, *etag;
  } fixed[] = {
      {"plain.csv", "d41d8cd98f00b204e9800998ecf8427e"},
      {"with space", "9b2cf535f27731c974343645a3985328-12"},
      {" leading and trailing ", "e1"},
      {"new\nline", "e2"},
      {"carriage\rreturn", "e3"},
      {"tab\there", NULL},
      {"per%cent and %41", "e%4"},
      {"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.csv", "e5"},
      {"not utf-8 \xff\xfe", "e6"},
      {"del\x7f", "e7"},
      {"a+b", "etag with spaces"},
      {"-", "-"},
      {"- x", ""},
      {"dir/", "\"quoted\""},
  };
  size_t n = sizeof(fixed) / sizeof(fixed[0]);
  char *dir = make_tmpdir();
  char *file = join(dir, "s.state");
  s3_state_t *st = NULL;
  char *error = (char *)"garbage";
  ck_assert_int_eq(s3_state_create(file, &st, &error), 0); /* none yet */
  ck_assert_ptr_null(error);
  ck_assert_str_eq(s3_state_file(st), file);
  ck_assert_uint_eq(s3_state_count(st), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(s3_state_put(st, fixed[i].key, fixed[i].etag), 0);
  ck_assert_int_eq(s3_state_put(st, long_key, "long"), 0);
  ck_assert_int_eq(s3_state_save(st, &error), 0);
  ck_assert_ptr_null(error);
  s3_state_destroy(st);
  /* No temporary file is left. */
  ck_assert_uint_eq(names_starting(dir, "s.state."), 0);

  /* The text: sorted by key bytes, one line per key. */
  char *text = read_file(dir, "s.state");
  pl_buf_t expected = {0};
  ck_assert_int_eq(
      pl_buf_printf(&expected,
                    "pipelined source-s3 state 1\n"
                    "e1  leading and trailing \n"
                    "%%2D -\n"
                    "- - x\n"
                    "etag%%20with%%20spaces a+b\n"
                    "e5 caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.csv\n"
                    "e3 carriage%%0Dreturn\n"
                    "e7 del%%7F\n"
                    "\"quoted\" dir/\n"
                    "long %s\n"
                    "e2 new%%0Aline\n"
                    "e6 not utf-8 \xff\xfe\n"
                    "e%%254 per%%25cent and %%2541\n"
                    "d41d8cd98f00b204e9800998ecf8427e plain.csv\n"
                    "- tab%%09here\n"
                    "9b2cf535f27731c974343645a3985328-12 with space\n",
                    long_key),
      0);
  ck_assert_str_eq(text, expected.data);
  pl_buf_free(&expected);
  free(text);

  ck_assert_int_eq(s3_state_create(file, &st, &error), 0);
  ck_assert_uint_eq(s3_state_count(st), n + 1);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(s3_state_has(st, fixed[i].key, fixed[i].etag), "key %zu", i);
  ck_assert(s3_state_has(st, long_key, "long"));
  const char *etag = NULL;
  ck_assert(s3_state_find(st, "-", &etag));
  ck_assert_str_eq(etag, "-");
  ck_assert(s3_state_find(st, "- x", &etag));
  ck_assert_ptr_null(etag);

  /* A second save replaces the file. */
  ck_assert(s3_state_remove(st, long_key));
  ck_assert_int_eq(s3_state_put(st, "plain.csv", "changed"), 0);
  ck_assert_int_eq(s3_state_save(st, NULL), 0);
  s3_state_destroy(st);
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  ck_assert_uint_eq(s3_state_count(st), n);
  ck_assert(!s3_state_find(st, long_key, NULL));
  ck_assert(s3_state_has(st, "plain.csv", "changed"));
  s3_state_destroy(st);
  /* No temporary file is left. */
  ck_assert_uint_eq(names_starting(dir, "s.state."), 0);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(a_hundred_thousand_keys_round_trip) {
  enum { N = 100000 };
  char *dir = make_tmpdir();
  char *file = join(dir, "big.state");
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  char key[64];
  tally_t t = {0};
  for (size_t i = 0; i < N; i++) {
    key_of(i * 7919 % N, key, sizeof(key));
    tally(&t, s3_state_put(st, key, "0123456789abcdef0123456789abcdef") == 0,
          i);
  }
  ck_tally_ok(t);
  ck_assert_int_eq(s3_state_save(st, NULL), 0);
  s3_state_destroy(st);
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  ck_assert_uint_eq(s3_state_count(st), N);
  for (size_t k = 0; k < N; k++) {
    key_of(k, key, sizeof(key));
    tally(&t, s3_state_has(st, key, "0123456789abcdef0123456789abcdef"), k);
  }
  ck_tally_ok(t);
  s3_state_destroy(st);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(a_missing_state_file_is_an_empty_set_and_an_empty_one_refused) {
  char *dir = make_tmpdir();
  char *file = join(dir, "none.state");
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  ck_assert_uint_eq(s3_state_count(st), 0);
  s3_state_destroy(st);
  ck_assert(!exists(dir, "none.state")); /* creating writes nothing */
  /* Without its header an existing file is no state (read as an empty
   * set, every object would be read again). */
  write_file(dir, "none.state", "");
  char *error = NULL;
  ck_assert_int_eq(s3_state_create(file, &st, &error), PL_EPARSE);
  pl_buf_t expect = {0};
  pl_buf_printf(
      &expect, "state file %s:1: the first line (the header) is missing", file);
  ck_assert_str_eq(error, expect.data);
  pl_buf_free(&expect);
  free(error);
  write_file(dir, "none.state", "pipelined source-s3 state 1\n");
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  ck_assert_uint_eq(s3_state_count(st), 0);
  /* An empty set saves as the header alone. */
  ck_assert_int_eq(s3_state_save(st, NULL), 0);
  s3_state_destroy(st);
  char *text = read_file(dir, "none.state");
  ck_assert_str_eq(text, "pipelined source-s3 state 1\n");
  free(text);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(state_files_that_do_not_parse_are_refused) {
#define HEADER "pipelined source-s3 state 1\n"
  static const struct {
    const char *text;
    const char *error; /* after "state file <path>" */
  } cases[] = {
      {"hello\n", ":1: not a source-s3 state file (the first line should "
                  "be \"pipelined source-s3 state 1\")"},
      {"pipelined source-file state 1\n",
       ":1: not a source-s3 state file (the first line should be "
       "\"pipelined source-s3 state 1\")"},
      {"pipelined source-s3 state 1", ":1: the last line is incomplete"},
      {"pipelined source-s3 state 2\ne k\n",
       ":1: unsupported format version (this build reads \"pipelined "
       "source-s3 state 1\")"},
      {"pipelined source-s3 state 1\r\n", ":1: not a source-s3 state file "
                                          "(the first line should be "
                                          "\"pipelined source-s3 state 1\")"},
      {HEADER "e k", ":2: the last line is incomplete"},
      {HEADER "e k\nnospace\n", ":3: no space between the ETag and the key"},
      {HEADER "\n", ":2: no space between the ETag and the key"},
      {HEADER " k\n", ":2: bad ETag"},
      {HEADER "e%zz k\n", ":2: bad ETag"},
      {HEADER "e%00 k\n", ":2: bad ETag"},
      {HEADER "e%2 k\n", ":2: bad ETag"},
      {HEADER "e\x01 k\n", ":2: bad ETag"},
      {HEADER "e \n", ":2: bad key"},
      {HEADER "e k%zz\n", ":2: bad key"},
      {HEADER "e k%0\n", ":2: bad key"},
      {HEADER "e k%\n", ":2: bad key"},
      {HEADER "e k%00\n", ":2: bad key"},
      {HEADER "e a\tb\n", ":2: bad key"},
      {HEADER "e k\r\n", ":2: bad key"},
      {HEADER "e a\x7f\n", ":2: bad key"},
      {HEADER "e1 k\ne2 j\ne3 k\n", ":4: the key is on an earlier line too"},
      {HEADER "e1 %41\ne2 A\n", ":3: the key is on an earlier line too"},
  };
#undef HEADER
  char *dir = make_tmpdir();
  char *file = join(dir, "bad.state");
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    write_file(dir, "bad.state", cases[i].text);
    s3_state_t *st = NULL; /* must stay NULL */
    char *error = NULL;
    ck_assert_int_eq(s3_state_create(file, &st, &error), PL_EPARSE);
    ck_assert_ptr_null(st);
    pl_buf_t expected = {0};
    ck_assert_int_eq(
        pl_buf_printf(&expected, "state file %s%s", file, cases[i].error), 0);
    ck_assert_msg(error && strcmp(error, expected.data) == 0, "case %zu: %s", i,
                  error ? error : "(no message)");
    pl_buf_free(&expected);
    free(error);
    /* Without a place for the message, the code is the same. */
    ck_assert_int_eq(s3_state_create(file, &st, NULL), PL_EPARSE);
  }
  /* A state file that cannot be read. */
  char *sub = join(dir, "a-directory");
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  s3_state_t *st = NULL;
  char *error = NULL;
  ck_assert_int_eq(s3_state_create(sub, &st, &error), PL_EIO);
  pl_buf_t expected = {0};
  ck_assert_int_eq(pl_buf_printf(&expected,
                                 "cannot read state file %s: Is a directory",
                                 sub),
                   0);
  ck_assert_str_eq(error, expected.data);
  pl_buf_free(&expected);
  free(error);
  free(sub);
  free(file);
  remove_tree(dir);
}
END_TEST

START_TEST(saves_that_cannot_be_written_fail_with_a_message) {
  char *dir = make_tmpdir();
  pl_buf_t file = {0}, expected = {0};

  /* A missing directory is created (with its parents), as source-file
   * creates its state_dir; removed after the start, saves fail. */
  ck_assert_int_eq(pl_buf_printf(&file, "%s/missing/deeper/s.state", dir), 0);
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(file.data, &st, NULL), 0);
  char *missing = join(dir, "missing");
  char *deeper = join(missing, "deeper");
  struct stat dir_st;
  ck_assert_int_eq(stat(deeper, &dir_st), 0);
  ck_assert(S_ISDIR(dir_st.st_mode));
  ck_assert_int_eq(s3_state_put(st, "k", "e"), 0);
  ck_assert_int_eq(s3_state_save(st, NULL), 0);
  ck_assert(exists(deeper, "s.state"));
  remove_tree(missing); /* and frees it */
  ck_assert_int_eq(pl_buf_printf(&expected,
                                 "cannot create a temporary file for %s: No "
                                 "such file or directory",
                                 file.data),
                   0);
  char *error = NULL;
  ck_assert_int_eq(s3_state_save(st, &error), PL_EIO);
  ck_assert_str_eq(error, expected.data);
  free(error);
  ck_assert_int_eq(s3_state_save(st, NULL), PL_EIO);
  s3_state_destroy(st);
  free(deeper);

  /* A "directory" that is a file: the state cannot even be opened. */
  write_file(dir, "plain", "x");
  pl_buf_reset(&file);
  pl_buf_reset(&expected);
  ck_assert_int_eq(pl_buf_printf(&file, "%s/plain/s.state", dir), 0);
  ck_assert_int_eq(pl_buf_printf(&expected,
                                 "cannot create the directory of state file "
                                 "%s: Not a directory",
                                 file.data),
                   0);
  ck_assert_int_eq(s3_state_create(file.data, &st, &error), PL_EIO);
  ck_assert_str_eq(error, expected.data);
  free(error);

  /* A state file path that became a directory after the start: the
   * rename fails and the temporary file (a random name) is removed. */
  char *sub = join(dir, "sub");
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  char *inner = join(sub, "keep");
  ck_assert_int_eq(s3_state_create(inner, &st, NULL), 0);
  ck_assert_int_eq(s3_state_put(st, "k", "e"), 0);
  ck_assert_int_eq(mkdir(inner, 0700), 0);
  pl_buf_reset(&expected);
  ck_assert_int_eq(pl_buf_printf(&expected, "cannot rename %s.", inner), 0);
  ck_assert_int_eq(s3_state_save(st, &error), PL_EIO);
  ck_assert_msg(strncmp(error, expected.data, expected.len) == 0 &&
                    strstr(error, " to ") == error + expected.len + 6,
                "%s", error);
  pl_buf_reset(&expected);
  ck_assert_int_eq(pl_buf_printf(&expected, " to %s: Is a directory", inner),
                   0);
  ck_assert_str_eq(strstr(error, " to "), expected.data);
  free(error);
  s3_state_destroy(st);
  /* keep (the directory), no temporary file. */
  ck_assert_uint_eq(names_starting(sub, "keep"), 1);

  /* A directory without write permission (root may write anyway). */
  if (geteuid() != 0) {
    pl_buf_reset(&file);
    pl_buf_reset(&expected);
    ck_assert_int_eq(pl_buf_printf(&file, "%s/s.state", sub), 0);
    ck_assert_int_eq(s3_state_create(file.data, &st, NULL), 0);
    ck_assert_int_eq(s3_state_put(st, "k", "e"), 0);
    ck_assert_int_eq(chmod(sub, 0500), 0);
    ck_assert_int_eq(pl_buf_printf(&expected,
                                   "cannot create a temporary file for %s: "
                                   "Permission denied",
                                   file.data),
                     0);
    ck_assert_int_eq(s3_state_save(st, &error), PL_EIO);
    ck_assert_str_eq(error, expected.data);
    free(error);
    s3_state_destroy(st);
    ck_assert_int_eq(chmod(sub, 0700), 0);
  }
  free(inner);
  free(sub);
  pl_buf_free(&file);
  pl_buf_free(&expected);
  remove_tree(dir);
}
END_TEST

/* A symlink planted where the temporary file used to be ("<state>.tmp")
 * redirects nothing: the save goes to the state file, the symlink's
 * target keeps its content. */
START_TEST(a_save_never_writes_through_a_planted_symlink) {
  char *dir = make_tmpdir();
  char *file = join(dir, "s.state");
  write_file(dir, "victim", "precious\n");
  char *victim = join(dir, "victim");
  char *planted = join(dir, "s.state.tmp");
  ck_assert_int_eq(symlink(victim, planted), 0);
  s3_state_t *st = NULL;
  ck_assert_int_eq(s3_state_create(file, &st, NULL), 0);
  ck_assert_int_eq(s3_state_put(st, "new", "e"), 0);
  ck_assert_int_eq(s3_state_save(st, NULL), 0);
  s3_state_destroy(st);
  char *text = read_file(dir, "victim");
  ck_assert_str_eq(text, "precious\n");
  free(text);
  text = read_file(dir, "s.state");
  ck_assert_str_eq(text, "pipelined source-s3 state 1\ne new\n");
  free(text);
  free(planted);
  free(victim);
  free(file);
  remove_tree(dir);
}
END_TEST

/* Two sets given the same file (two daemons with one state_dir): the
 * second is refused, naming the file and the holder. */
START_TEST(a_state_file_has_one_owner) {
  char *dir = make_tmpdir();
  char *file = join(dir, "s.state");
  s3_state_t *first = NULL, *second = NULL;
  ck_assert_int_eq(s3_state_create(file, &first, NULL), 0);
  ck_assert_int_eq(s3_state_create(file, &second, NULL), 0);
  ck_assert_int_eq(pl_state_file_lock(s3_state_owner(first), NULL), 0);
  char *error = NULL;
  ck_assert_int_eq(pl_state_file_lock(s3_state_owner(second), &error),
                   PL_EAGAIN);
  pl_buf_t expected = {0};
  ck_assert_int_eq(pl_buf_printf(&expected,
                                 "state file %s is in use by another process: "
                                 "PID %ld holds %s.lock",
                                 file, (long)getpid(), file),
                   0);
  ck_assert_msg(error && strncmp(error, expected.data, expected.len) == 0,
                "%s", error ? error : "(no message)");
  free(error);
  pl_buf_free(&expected);
  s3_state_destroy(first);
  ck_assert_int_eq(pl_state_file_lock(s3_state_owner(second), NULL), 0);
  s3_state_destroy(second);
  free(file);
  remove_tree(dir);
}
END_TEST

static Suite *s3_state_suite(void) {
  Suite *s = suite_create("s3_state");
  TCase *sets = tcase_create("sets");
  tcase_set_timeout(sets, 120); /* valgrind */
  tcase_add_test(sets, sets_put_find_replace_and_remove);
  tcase_add_test(sets, mark_and_sweep_forgets_keys_no_longer_listed);
  tcase_add_test(sets, large_sets_sweep_exactly_the_unmarked_keys);
  tcase_add_test(sets, a_hundred_thousand_keys_are_found);
  tcase_add_test(sets, removals_in_a_crowded_table_keep_every_other_key);
  suite_add_tcase(s, sets);
  TCase *files = tcase_create("files");
  tcase_set_timeout(files, 120);
  tcase_add_test(files, state_files_round_trip_awkward_keys_and_etags);
  tcase_add_test(files, a_hundred_thousand_keys_round_trip);
  tcase_add_test(files,
                 a_missing_state_file_is_an_empty_set_and_an_empty_one_refused);
  tcase_add_test(files, state_files_that_do_not_parse_are_refused);
  tcase_add_test(files, saves_that_cannot_be_written_fail_with_a_message);
  tcase_add_test(files, a_save_never_writes_through_a_planted_symlink);
  tcase_add_test(files, a_state_file_has_one_owner);
  suite_add_tcase(s, files);
  return s;
}

int main(void) {
  return test_suite_run(s3_state_suite());
}
