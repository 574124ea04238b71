/* Check suite for src/config_load.c: several files and their includes
 * as one tree, with every node's location in its own file. */
#define _GNU_SOURCE /* asprintf */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_load.h"
#include "test_suite.h"

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/pipelined-load.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* Writes `text` to dir/name (a subdirectory is made when named). */
static char *write_file(const char *name, const char *text) {
  char *path = NULL;
  ck_assert_int_ne(asprintf(&path, "%s/%s", dir, name), -1);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdir(path, 0755);
  *slash = '/';
  FILE *fp = fopen(path, "w");
  ck_assert_ptr_nonnull(fp);
  fputs(text, fp);
  fclose(fp);
  return path;
}

static pl_cfg_node_t *load(const char *const *paths, size_t count,
                           char **error) {
  pl_cfg_node_t *root = NULL;
  *error = NULL;
  int rc = pl__cfg_load(paths, count, NULL, &root, error);
  ck_assert_int_eq(rc < 0, root == NULL);
  return root;
}

/* The keys (with labels) of the top level, "a b:l c". */
static void keys_of(const pl_cfg_node_t *root, char *out, size_t size) {
  out[0] = '\0';
  for (size_t i = 0; i < root->count; i++) {
    const pl_cfg_node_t *n = root->children[i];
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s%s%s", i ? " " : "", n->key,
             n->label ? ":" : "", n->label ? n->label : "");
  }
}

START_TEST(includes_are_carried_out_in_place_and_sorted) {
  char *main_conf = write_file(
      "main.conf", "a = 1\ninclude \"conf.d/*.conf\"\nz = 2\n");
  free(write_file("conf.d/20-b.conf", "pipeline \"b\" { }\n"));
  char *first = write_file("conf.d/10-a.conf",
                           "pipeline \"a\" { }\ninclude \"../more/x.conf\"\n");
  free(write_file("more/x.conf", "x = \"from x\"\n"));
  free(write_file("conf.d/README", "not a config {\n"));
  char *error;
  const char *paths[] = {main_conf};
  pl_cfg_node_t *root = load(paths, 1, &error);
  ck_assert_msg(root, "%s", error);
  char keys[256];
  keys_of(root, keys, sizeof keys);
  ck_assert_str_eq(keys, "a pipeline:a x pipeline:b z");
  /* Each node says where it is written. */
  ck_assert_str_eq(root->children[0]->loc.file, main_conf);
  ck_assert_str_eq(root->children[1]->loc.file, first);
  ck_assert_int_eq(root->children[1]->loc.line, 1);
  ck_assert_ptr_nonnull(strstr(root->children[2]->loc.file, "more/x.conf"));
  ck_assert_str_eq(root->children[4]->loc.file, main_conf);
  ck_assert_int_eq(root->children[4]->loc.line, 3);
  ck_assert_str_eq(root->loc.file, main_conf);
  pl__cfg_destroy(root);
  free(main_conf);
  free(first);
}
END_TEST

START_TEST(several_files_make_one_config) {
  char *a = write_file("a.conf", "log_level = \"debug\"\npipeline \"p\" { }\n");
  char *b = write_file("b.conf", "pipeline \"q\" { }\naws { }\n");
  char *error;
  const char *paths[] = {a, b};
  pl_cfg_node_t *root = load(paths, 2, &error);
  ck_assert_msg(root, "%s", error);
  char keys[256];
  keys_of(root, keys, sizeof keys);
  ck_assert_str_eq(keys, "log_level pipeline:p pipeline:q aws");
  ck_assert_str_eq(root->children[3]->loc.file, b);
  pl__cfg_destroy(root);
  free(a);
  free(b);
}
END_TEST

static void assert_load_error(const char *const *paths, size_t count,
                              const char *expected_part) {
  char *error;
  pl_cfg_node_t *root = load(paths, count, &error);
  ck_assert_ptr_null(root);
  ck_assert_msg(error && strstr(error, expected_part), "%s",
                error ? error : "(no error)");
  free(error);
}

START_TEST(a_name_given_twice_across_files_names_both_places) {
  char *a = write_file("a.conf", "x = 1\npipeline \"p\" { }\naws { }\n");
  char *b = write_file("b.conf", "\npipeline \"p\" { }\n");
  char *c = write_file("c.conf", "x = 2\n");
  char *d = write_file("d.conf", "aws { region = \"r\" }\n");
  char expected[512];
  const char *ab[] = {a, b};
  snprintf(expected, sizeof expected,
           "%s:2:1: pipeline \"p\" is defined twice (first at %s:2:1)", b, a);
  assert_load_error(ab, 2, expected);
  const char *ac[] = {a, c};
  snprintf(expected, sizeof expected,
           "%s:1:1: duplicate setting 'x' (first set at %s:1:1)", c, a);
  assert_load_error(ac, 2, expected);
  const char *ad[] = {a, d};
  snprintf(expected, sizeof expected,
           "%s:1:1: block 'aws' is defined twice (first at %s:3:1)", d, a);
  assert_load_error(ad, 2, expected);
  free(a);
  free(b);
  free(c);
  free(d);
}
END_TEST

/* An include is relative to its file's directory, whose name is a name:
 * "x[1]/" must not match "x1/" as a pattern would. */
START_TEST(an_include_beside_a_file_in_a_bracketed_directory) {
  char *main_conf = write_file("x[1]/main.conf", "include \"p.conf\"\n");
  free(write_file("x[1]/p.conf", "right = 1\n"));
  free(write_file("x1/p.conf", "wrong = 1\n"));
  const char *m[] = {main_conf};
  char *error;
  pl_cfg_node_t *root = load(m, 1, &error);
  ck_assert_msg(root, "%s", error);
  char keys[64];
  keys_of(root, keys, sizeof keys);
  ck_assert_str_eq(keys, "right");
  pl__cfg_destroy(root);
  /* A missing one is named as it is, not as glob() was asked for it. */
  char *missing = write_file("y[2]/m.conf", "include \"none.conf\"\n");
  char *expected = NULL;
  ck_assert_int_ne(asprintf(&expected,
                            "include \"none.conf\": no such file "
                            "(%s/y[2]/none.conf)",
                            dir),
                   -1);
  const char *n[] = {missing};
  assert_load_error(n, 1, expected);
  free(expected);
  free(missing);
  free(main_conf);
}
END_TEST

/* The top level of all the files together holds at most
 * PL_CFG_MAX_ENTRIES entries, as one block does. */
START_TEST(too_many_entries_across_files_are_refused) {
  pl_buf_t text = {0};
  for (int i = 0; i < 6000; i++)
    pl_buf_printf(&text, "a%d = 1\n", i);
  char *first = write_file("many1.conf", text.data);
  pl_buf_reset(&text);
  for (int i = 0; i < 6000; i++)
    pl_buf_printf(&text, "b%d = 1\n", i);
  char *second = write_file("many2.conf", text.data);
  pl_buf_free(&text);
  char *expected = NULL;
  ck_assert_int_ne(asprintf(&expected,
                            "%s:4001:1: too many entries at the top level "
                            "of the config's files (the limit is 10000)",
                            second),
                   -1);
  const char *both[] = {first, second};
  assert_load_error(both, 2, expected);
  free(expected);
  free(first);
  free(second);
}
END_TEST

START_TEST(include_errors_name_the_directive) {
  char *missing = write_file("m.conf", "a = 1\ninclude \"nothere.conf\"\n");
  char *expected = NULL;
  ck_assert_int_ne(asprintf(&expected,
                            "%s:2:1: include \"nothere.conf\": no such file "
                            "(%s/nothere.conf)",
                            missing, dir),
                   -1);
  const char *m[] = {missing};
  assert_load_error(m, 1, expected);
  free(expected);
  /* An empty wildcard is no error. */
  char *empty = write_file("e.conf", "include \"none.d/*.conf\"\na = 1\n");
  const char *e[] = {empty};
  char *error;
  pl_cfg_node_t *root = load(e, 1, &error);
  ck_assert_msg(root, "%s", error);
  ck_assert_uint_eq(root->count, 1);
  pl__cfg_destroy(root);
  /* A file that includes itself, through another. */
  char *loop = write_file("loop.conf", "include \"loop2.conf\"\n");
  free(write_file("loop2.conf", "b = 1\ninclude \"loop.conf\"\n"));
  const char *l[] = {loop};
  assert_load_error(l, 1, "loop2.conf:2:1: include: ");
  assert_load_error(l, 1, "loop.conf includes itself");
  /* A syntax error in an included file names that file. */
  char *outer = write_file("outer.conf", "include \"bad.conf\"\n");
  free(write_file("bad.conf", "a = \n"));
  const char *o[] = {outer};
  assert_load_error(o, 1, "bad.conf:1:5: ");
  /* A missing -c file. */
  const char *none[] = {"/nonexistent/p.conf"};
  assert_load_error(none, 1, "cannot read /nonexistent/p.conf");
  free(missing);
  free(empty);
  free(loop);
  free(outer);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config_load");
  TCase *tc = tcase_create("load");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, includes_are_carried_out_in_place_and_sorted);
  tcase_add_test(tc, several_files_make_one_config);
  tcase_add_test(tc, a_name_given_twice_across_files_names_both_places);
  tcase_add_test(tc, an_include_beside_a_file_in_a_bracketed_directory);
  tcase_add_test(tc, too_many_entries_across_files_are_refused);
  tcase_add_test(tc, include_errors_name_the_directive);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
