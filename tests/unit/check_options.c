/* Check suite for src/options.c: option tables applied to config blocks
 * (every type, defaults parsed from text, required and unknown options,
 * type errors with file:line:col), freeing, default checks, closest-name
 * suggestions, --describe rendering, limits (src/option_limits.c) and the
 * stage-wide table. */
#include "options.h"
#include "options_describe.h"
#include "stage.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* ---- Fixtures ---- */

typedef struct opts {
  char *name;
  int64_t count;
  bool flag;
  double ratio;
  uint64_t wait_ms;
  uint64_t limit;
  pl_list_t tags;
  int mode;
  pl_template_t *key;
  pl_map_t headers;
} opts_t;

static const char *const mode_choices[] = {"fast", "slow", "careful", NULL};

static const pl_option_t table[] = {
    PL_OPTION_STRING(opts_t, name, "name", "anon", 0, "The name."),
    PL_OPTION_INT(opts_t, count, "count", "10", 0, "How many."),
    PL_OPTION_BOOL(opts_t, flag, "flag", "true", 0, "A switch."),
    PL_OPTION_DOUBLE(opts_t, ratio, "ratio", "0.25", 0, "A fraction."),
    PL_OPTION_DURATION(opts_t, wait_ms, "wait", "1.5s", 0, "How long."),
    PL_OPTION_SIZE(opts_t, limit, "limit", "2KiB", 0, "How big."),
    PL_OPTION_LIST(opts_t, tags, "tags", NULL, 0, "Labels."),
    PL_OPTION_ENUM(opts_t, mode, "mode", "slow", mode_choices, 0, "How."),
    PL_OPTION_TEMPLATE(opts_t, key, "key", "${id}-$$", 0, "The key."),
    PL_OPTION_MAP(opts_t, headers, "headers", 0, "Extra headers."),
};
#define TABLE_COUNT (sizeof(table) / sizeof(table[0]))

typedef struct req {
  char *queue_url;
  int64_t port;
  char *token;
} req_t;

static const pl_option_t req_table[] = {
    PL_OPTION_STRING(req_t, queue_url, "queue_url", NULL, PL_OPT_REQUIRED,
                     "The queue."),
    PL_OPTION_INT(req_t, port, "port", NULL, PL_OPT_REQUIRED, "The port."),
    PL_OPTION_STRING(req_t, token, "token", NULL, PL_OPT_SECRET, "A token."),
};
#define REQ_COUNT (sizeof(req_table) / sizeof(req_table[0]))

static const char *no_env(void *data, const char *name) { return NULL; }

/* One config parsed and applied to the main table. */
typedef struct applied {
  pl_cfg_node_t *root;
  opts_t opts;
  pl_buf_t errors;
  int rc;
} applied_t;

static pl_cfg_node_t *parse(const char *text) {
  pl_env_t env = {.getenv = no_env};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse("t.conf", text, strlen(text), &env, &root, &error);
  ck_assert_msg(rc == 0, "config does not parse: %s", error ? error : "?");
  ck_assert_uint_ge(root->count, 1);
  ck_assert(root->children[0]->is_block);
  return root;
}

static const char *what = "source \"x\"";

/* Applies the first block of `text` to the main table. */
static applied_t *apply(const char *text) {
  applied_t *a = calloc(1, sizeof(*a));
  ck_assert_ptr_nonnull(a);
  a->root = parse(text);
  pl_opt_table_t t = {table, TABLE_COUNT, &a->opts};
  a->rc = pl__options_apply(&t, 1, a->root->children[0], what, &a->errors);
  return a;
}

static const char *errors_of(const applied_t *a) {
  return a->errors.data ? a->errors.data : "";
}

static void applied_free(applied_t *a) {
  pl__options_free(table, TABLE_COUNT, &a->opts);
  pl__cfg_destroy(a->root);
  pl_buf_free(&a->errors);
  free(a);
}

/* Applies `setting` (inside "source "x" {\n  <setting>\n}") and checks that
 * it fails with exactly the one error line `expected` (without "\n"). */
static void assert_one_error(const char *setting, const char *expected) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "source \"x\" {\n  %s\n}\n", setting);
  applied_t *a = apply(text.data);
  ck_assert_int_eq(a->rc, PL_EINVAL);
  pl_buf_t line = {0};
  pl_buf_printf(&line, "%s\n", expected);
  ck_assert_str_eq(errors_of(a), line.data);
  pl_buf_free(&line);
  pl_buf_free(&text);
  applied_free(a);
}

/* Applies `setting` and checks that it succeeds without errors. */
static applied_t *apply_ok(const char *setting) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "source \"x\" {\n  %s\n}\n", setting);
  applied_t *a = apply(text.data);
  ck_assert_msg(a->rc == 0, "%s", errors_of(a));
  ck_assert_uint_eq(a->errors.len, 0);
  pl_buf_free(&text);
  return a;
}

/* ---- Defaults ---- */

START_TEST(defaults_are_parsed_for_every_type) {
  applied_t *a = apply("source \"x\" { }\n");
  ck_assert_int_eq(a->rc, 0);
  ck_assert_uint_eq(a->errors.len, 0);
  ck_assert_str_eq(a->opts.name, "anon");
  ck_assert_int_eq(a->opts.count, 10);
  ck_assert(a->opts.flag);
  ck_assert_double_eq(a->opts.ratio, 0.25);
  ck_assert_uint_eq(a->opts.wait_ms, 1500);
  ck_assert_uint_eq(a->opts.limit, 2048);
  ck_assert_uint_eq(a->opts.tags.count, 0);
  ck_assert_ptr_null(a->opts.tags.items);
  ck_assert_int_eq(a->opts.mode, 1);
  ck_assert_ptr_nonnull(a->opts.key);
  ck_assert_str_eq(pl_template_text(a->opts.key), "${id}-$$");
  ck_assert(!pl_template_is_constant(a->opts.key));
  ck_assert_uint_eq(a->opts.headers.count, 0);
  applied_free(a);
}
END_TEST

START_TEST(a_null_block_applies_defaults_only) {
  opts_t o = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {table, TABLE_COUNT, &o};
  ck_assert_int_eq(pl__options_apply(&t, 1, NULL, what, &errors), 0);
  ck_assert_uint_eq(errors.len, 0);
  ck_assert_str_eq(o.name, "anon");
  ck_assert_int_eq(o.count, 10);
  ck_assert_uint_eq(o.limit, 2048);
  pl__options_free(table, TABLE_COUNT, &o);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(options_without_default_keep_their_initial_value) {
  typedef struct loose {
    int64_t n;
    int level;
  } loose_t;
  static const char *const levels[] = {"a", "b", NULL};
  static const pl_option_t loose_table[] = {
      PL_OPTION_INT(loose_t, n, "n", NULL, 0, "No default."),
      PL_OPTION_ENUM(loose_t, level, "level", NULL, levels, 0, "No default."),
  };
  loose_t l = {.n = 77, .level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {loose_table, 2, &l};
  pl_cfg_node_t *root = parse("b { }\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   0);
  ck_assert_int_eq(l.n, 77);
  ck_assert_int_eq(l.level, -1);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(a_bad_default_is_reported_without_a_location) {
  typedef struct bad {
    int64_t n;
  } bad_t;
  static const pl_option_t bad_table[] = {
      PL_OPTION_INT(bad_t, n, "n", "ten", 0, "Broken default."),
  };
  bad_t b = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {bad_table, 1, &b};
  pl_cfg_node_t *root = parse("b { }\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   PL_EINVAL);
  ck_assert_str_eq(errors.data, "source \"x\": option 'n': bad default 'ten'\n");
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(a_bad_template_default_carries_the_template_message) {
  typedef struct bad {
    pl_template_t *t;
  } bad_t;
  static const pl_option_t bad_table[] = {
      PL_OPTION_TEMPLATE(bad_t, t, "t", "${oops", 0, "Broken default."),
  };
  bad_t b = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {bad_table, 1, &b};
  ck_assert_int_eq(pl__options_apply(&t, 1, NULL, what, &errors), PL_EINVAL);
  ck_assert_str_eq(errors.data,
                   "source \"x\": option 't': bad default '${oops': template "
                   "\"${oops\", at character 1: '${' is not closed by '}'\n");
  ck_assert_ptr_null(b.t);
  pl_buf_free(&errors);
}
END_TEST

/* ---- Values of every type ---- */

START_TEST(values_of_every_type_are_stored) {
  applied_t *a = apply("source \"x\" {\n"
                       "  name = \"orders\"\n"
                       "  count = -42\n"
                       "  flag = false\n"
                       "  ratio = 1.5e2\n"
                       "  wait = 250ms\n"
                       "  limit = 3MB\n"
                       "  tags = [\"a\", \"b\", \"c\"]\n"
                       "  mode = \"careful\"\n"
                       "  key = \"${sku}#${@line}\"\n"
                       "  headers {\n"
                       "    content-type = \"text/csv\"\n"
                       "    x_retries = 3\n"
                       "  }\n"
                       "}\n");
  ck_assert_msg(a->rc == 0, "%s", errors_of(a));
  ck_assert_uint_eq(a->errors.len, 0);
  ck_assert_str_eq(a->opts.name, "orders");
  ck_assert_int_eq(a->opts.count, -42);
  ck_assert(!a->opts.flag);
  ck_assert_double_eq(a->opts.ratio, 150.0);
  ck_assert_uint_eq(a->opts.wait_ms, 250);
  ck_assert_uint_eq(a->opts.limit, 3000000);
  ck_assert_uint_eq(a->opts.tags.count, 3);
  ck_assert_str_eq(a->opts.tags.items[0], "a");
  ck_assert_str_eq(a->opts.tags.items[1], "b");
  ck_assert_str_eq(a->opts.tags.items[2], "c");
  ck_assert_int_eq(a->opts.mode, 2);
  ck_assert_str_eq(pl_template_text(a->opts.key), "${sku}#${@line}");
  ck_assert_uint_eq(a->opts.headers.count, 2);
  ck_assert_str_eq(a->opts.headers.keys[0], "content-type");
  ck_assert_str_eq(a->opts.headers.values[0], "text/csv");
  ck_assert_str_eq(a->opts.headers.keys[1], "x_retries");
  ck_assert_str_eq(a->opts.headers.values[1], "3");
  applied_free(a);
}
END_TEST

START_TEST(quoted_text_is_parsed_as_the_option_type) {
  applied_t *a = apply_ok("count = \"42\"; flag = \"false\"; ratio = \"2.5\"; "
                          "wait = \"2m\"; limit = \"1GiB\"");
  ck_assert_int_eq(a->opts.count, 42);
  ck_assert(!a->opts.flag);
  ck_assert_double_eq(a->opts.ratio, 2.5);
  ck_assert_uint_eq(a->opts.wait_ms, 120000);
  ck_assert_uint_eq(a->opts.limit, 1024ull * 1024 * 1024);
  applied_free(a);
}
END_TEST

START_TEST(integers_stand_for_doubles_sizes_and_zero_durations) {
  applied_t *a = apply_ok("ratio = 3; limit = 4096; wait = 0");
  ck_assert_double_eq(a->opts.ratio, 3.0);
  ck_assert_uint_eq(a->opts.limit, 4096);
  ck_assert_uint_eq(a->opts.wait_ms, 0);
  applied_free(a);
}
END_TEST

START_TEST(fractional_durations_are_exact) {
  applied_t *a = apply_ok("wait = 1.25s");
  ck_assert_uint_eq(a->opts.wait_ms, 1250);
  applied_free(a);
  a = apply_ok("wait = 2h");
  ck_assert_uint_eq(a->opts.wait_ms, 2ull * 3600 * 1000);
  applied_free(a);
  a = apply_ok("wait = 1d");
  ck_assert_uint_eq(a->opts.wait_ms, 86400000ull);
  applied_free(a);
}
END_TEST

START_TEST(extreme_integers_are_accepted) {
  applied_t *a = apply_ok("count = 9223372036854775807");
  ck_assert_int_eq(a->opts.count, INT64_MAX);
  applied_free(a);
  a = apply_ok("count = \"-9223372036854775808\"");
  ck_assert_int_eq(a->opts.count, INT64_MIN);
  applied_free(a);
}
END_TEST

/* PL_OPT_PATH: a relative path written in a config file is its file's
 * neighbour; one from a variable, an absolute one and "-" stay. */
typedef struct paths_opts {
  char *path;
  pl_list_t paths;
  char *plain;
} paths_opts_t;

static const pl_option_t paths_table[] = {
    PL_OPTION_STRING(paths_opts_t, path, "path", NULL, PL_OPT_PATH, "A file."),
    PL_OPTION_LIST(paths_opts_t, paths, "paths", NULL, PL_OPT_PATH, "Files."),
    PL_OPTION_STRING(paths_opts_t, plain, "plain", NULL, 0, "Not a path."),
};

static const char *dir_env(void *data, const char *name) {
  return strcmp(name, "DIR") == 0 ? "in" : NULL;
}

static void apply_paths(const char *file, const char *text,
                        paths_opts_t *out) {
  pl_env_t env = {.getenv = dir_env};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(
      pl__cfg_parse(file, text, strlen(text), &env, &root, &error), 0);
  pl_buf_t errors = {0};
  pl_opt_table_t t = {paths_table, 3, out};
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   0);
  pl__cfg_destroy(root);
}

START_TEST(relative_paths_are_relative_to_their_config_file) {
  paths_opts_t o = {0};
  apply_paths("/etc/pipelined/p.conf",
              "s {\n path = \"out.jsonl\"\n plain = \"out.jsonl\"\n"
              " paths = [\"a/b.csv\", \"/abs.csv\", \"${DIR}/c.csv\", "
              "\"-\", \"../d\", \"${NO:-e}\"]\n}\n",
              &o);
  ck_assert_str_eq(o.path, "/etc/pipelined/out.jsonl");
  ck_assert_str_eq(o.plain, "out.jsonl");
  ck_assert_uint_eq(o.paths.count, 6);
  ck_assert_str_eq(o.paths.items[0], "/etc/pipelined/a/b.csv");
  ck_assert_str_eq(o.paths.items[1], "/abs.csv");
  ck_assert_str_eq(o.paths.items[2], "in/c.csv");
  ck_assert_str_eq(o.paths.items[3], "-");
  ck_assert_str_eq(o.paths.items[4], "/etc/pipelined/../d");
  /* A default is written in the file. */
  ck_assert_str_eq(o.paths.items[5], "/etc/pipelined/e");
  pl__options_free(paths_table, 3, &o);
  /* A config named relative to the working directory; one without a
   * directory, and one read from standard input, are the working
   * directory's. */
  paths_opts_t r = {0};
  apply_paths("etc/p.conf", "s { path = \"x\" }\n", &r);
  ck_assert_str_eq(r.path, "etc/x");
  pl__options_free(paths_table, 3, &r);
  paths_opts_t h = {0};
  apply_paths("p.conf", "s { path = \"x\" }\n", &h);
  ck_assert_str_eq(h.path, "x");
  pl__options_free(paths_table, 3, &h);
  paths_opts_t i = {0};
  apply_paths("<stdin>", "s { path = \"x\" }\n", &i);
  ck_assert_str_eq(i.path, "x");
  pl__options_free(paths_table, 3, &i);
}
END_TEST

START_TEST(a_single_string_is_a_list_of_one) {
  applied_t *a = apply_ok("tags = \"only\"");
  ck_assert_uint_eq(a->opts.tags.count, 1);
  ck_assert_str_eq(a->opts.tags.items[0], "only");
  applied_free(a);
}
END_TEST

START_TEST(list_items_of_any_scalar_kind_keep_their_text) {
  applied_t *a = apply_ok("tags = [1, 2.5, true, 30s, 1KiB, \"x\",]");
  ck_assert_uint_eq(a->opts.tags.count, 6);
  const char *expected[] = {"1", "2.5", "true", "30s", "1KiB", "x"};
  for (size_t i = 0; i < 6; i++)
    ck_assert_str_eq(a->opts.tags.items[i], expected[i]);
  applied_free(a);
}
END_TEST

START_TEST(an_empty_list_is_empty) {
  applied_t *a = apply_ok("tags = []");
  ck_assert_uint_eq(a->opts.tags.count, 0);
  applied_free(a);
}
END_TEST

START_TEST(an_empty_map_block_is_empty) {
  applied_t *a = apply_ok("headers { }");
  ck_assert_uint_eq(a->opts.headers.count, 0);
  applied_free(a);
}
END_TEST

START_TEST(a_constant_template_is_constant) {
  applied_t *a = apply_ok("key = \"fixed\"");
  ck_assert(pl_template_is_constant(a->opts.key));
  ck_assert_str_eq(pl_template_text(a->opts.key), "fixed");
  applied_free(a);
}
END_TEST

START_TEST(enum_values_are_stored_as_their_index) {
  const char *names[] = {"fast", "slow", "careful"};
  for (int i = 0; i < 3; i++) {
    char setting[64];
    snprintf(setting, sizeof setting, "mode = \"%s\"", names[i]);
    applied_t *a = apply_ok(setting);
    ck_assert_int_eq(a->opts.mode, i);
    applied_free(a);
  }
}
END_TEST

START_TEST(several_tables_fill_their_own_structs) {
  req_t r = {0};
  opts_t o = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t tables[] = {{table, TABLE_COUNT, &o},
                             {req_table, REQ_COUNT, &r}};
  pl_cfg_node_t *root = parse("sink \"q\" {\n  queue_url = \"http://q\"\n"
                              "  port = 8080\n  count = 3\n}\n");
  ck_assert_int_eq(
      pl__options_apply(tables, 2, root->children[0], what, &errors), 0);
  ck_assert_uint_eq(errors.len, 0);
  ck_assert_str_eq(r.queue_url, "http://q");
  ck_assert_int_eq(r.port, 8080);
  ck_assert_ptr_null(r.token);
  ck_assert_int_eq(o.count, 3);
  ck_assert_str_eq(o.name, "anon");
  pl__options_free(table, TABLE_COUNT, &o);
  pl__options_free(req_table, REQ_COUNT, &r);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

/* ---- Unknown options ---- */

START_TEST(an_unknown_option_suggests_the_closest) {
  assert_one_error("cuont = 3", "t.conf:2:3: source \"x\": unknown option "
                                "'cuont' (did you mean 'count'?)");
  assert_one_error("heders { a = \"b\" }",
                   "t.conf:2:3: source \"x\": unknown option 'heders' (did "
                   "you mean 'headers'?)");
  assert_one_error("Name = \"a\"", "t.conf:2:3: source \"x\": unknown option "
                                   "'Name' (did you mean 'name'?)");
}
END_TEST

START_TEST(an_unknown_option_without_a_close_name_has_no_suggestion) {
  assert_one_error("completely_different = 1",
                   "t.conf:2:3: source \"x\": unknown option "
                   "'completely_different'");
}
END_TEST

START_TEST(unknown_options_are_searched_across_tables) {
  req_t r = {0};
  opts_t o = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t tables[] = {{table, TABLE_COUNT, &o},
                             {req_table, REQ_COUNT, &r}};
  pl_cfg_node_t *root = parse("sink \"q\" {\n  queue_url = \"u\"\n  port = 1\n"
                              "  queue_ulr = \"v\"\n}\n");
  ck_assert_int_eq(
      pl__options_apply(tables, 2, root->children[0], what, &errors),
      PL_EINVAL);
  ck_assert_str_eq(errors.data, "t.conf:4:3: source \"x\": unknown option "
                                "'queue_ulr' (did you mean 'queue_url'?)\n");
  pl__options_free(table, TABLE_COUNT, &o);
  pl__options_free(req_table, REQ_COUNT, &r);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(an_unknown_option_still_applies_the_known_ones) {
  applied_t *a = apply("source \"x\" {\n  count = 5\n  cout = 6\n}\n");
  ck_assert_int_eq(a->rc, PL_EINVAL);
  ck_assert_int_eq(a->opts.count, 5);
  ck_assert_str_eq(a->opts.name, "anon");
  applied_free(a);
}
END_TEST

/* ---- Required options ---- */

START_TEST(missing_required_options_name_the_block) {
  req_t r = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {req_table, REQ_COUNT, &r};
  pl_cfg_node_t *root = parse("\n  sink \"sqs\" {\n    token = \"t\"\n  }\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   PL_EINVAL);
  ck_assert_str_eq(errors.data,
                   "t.conf:2:3: source \"x\": missing required option "
                   "'queue_url' (string: The queue.)\n"
                   "t.conf:2:3: source \"x\": missing required option 'port' "
                   "(int: The port.)\n");
  ck_assert_str_eq(r.token, "t");
  pl__options_free(req_table, REQ_COUNT, &r);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(missing_required_options_without_a_block_have_no_location) {
  req_t r = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {req_table, REQ_COUNT, &r};
  ck_assert_int_eq(pl__options_apply(&t, 1, NULL, "aws", &errors), PL_EINVAL);
  ck_assert_str_eq(errors.data,
                   "aws: missing required option 'queue_url' (string: The "
                   "queue.)\n"
                   "aws: missing required option 'port' (int: The port.)\n");
  pl_buf_free(&errors);
}
END_TEST

START_TEST(a_required_option_that_is_set_is_not_missing) {
  req_t r = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {req_table, REQ_COUNT, &r};
  pl_cfg_node_t *root = parse("s { queue_url = \"q\"; port = 0 }\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   0);
  ck_assert_str_eq(r.queue_url, "q");
  ck_assert_int_eq(r.port, 0);
  pl__options_free(req_table, REQ_COUNT, &r);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

/* An empty text (a ${VAR} set to nothing) is no value for a required
 * option, nor for one flagged PL_OPT_NOT_EMPTY, in a list item either; the
 * error points at the string. Other options keep "". */
typedef struct not_empty {
  char *queue_url;
  char *state_dir;
  pl_list_t paths;
  char *prefix;
} not_empty_t;

static const pl_option_t not_empty_table[] = {
    PL_OPTION_STRING(not_empty_t, queue_url, "queue_url", NULL,
                     PL_OPT_REQUIRED, "The queue."),
    PL_OPTION_STRING(not_empty_t, state_dir, "state_dir", NULL,
                     PL_OPT_NOT_EMPTY, "A directory."),
    PL_OPTION_LIST(not_empty_t, paths, "paths", NULL, PL_OPT_NOT_EMPTY,
                   "Paths."),
    PL_OPTION_STRING(not_empty_t, prefix, "prefix", "", 0, "A prefix."),
};

START_TEST(empty_texts_are_refused_where_a_value_is_needed) {
  static const struct {
    const char *config;
    const char *error;
  } cases[] = {
      {"s { queue_url = \"\" }\n",
       "t.conf:1:17: source \"x\": option 'queue_url' is empty; it needs a value (a "
       "${VAR} in it may be unset or empty)\n"},
      {"s { queue_url = \"q\"\n state_dir = \"\" }\n",
       "t.conf:2:14: source \"x\": option 'state_dir' is empty"},
      {"s { queue_url = \"q\"; paths = [\"a\", \"\"] }\n",
       "t.conf:1:36: source \"x\": option 'paths' is empty"},
      {"s { queue_url = \"q\"; paths = \"\" }\n",
       "t.conf:1:30: source \"x\": option 'paths' is empty"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    not_empty_t v = {0};
    pl_buf_t errors = {0};
    pl_opt_table_t t = {not_empty_table, 4, &v};
    pl_cfg_node_t *root = parse(cases[i].config);
    ck_assert_int_eq(
        pl__options_apply(&t, 1, root->children[0], what, &errors), PL_EINVAL);
    ck_assert_msg(strncmp(errors.data, cases[i].error,
                          strlen(cases[i].error)) == 0,
                  "case %zu: %s", i, errors.data);
    pl__options_free(not_empty_table, 4, &v);
    pl__cfg_destroy(root);
    pl_buf_free(&errors);
  }
  not_empty_t v = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {not_empty_table, 4, &v};
  pl_cfg_node_t *root = parse("s { queue_url = \"q\"; prefix = \"\" }\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   0);
  ck_assert_str_eq(v.prefix, "");
  pl__options_free(not_empty_table, 4, &v);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

/* ---- Type errors ---- */

START_TEST(type_errors_for_strings) {
  assert_one_error("name = 5", "t.conf:2:10: source \"x\": option 'name' "
                               "expects a \"string\", found 5");
  assert_one_error("name = true", "t.conf:2:10: source \"x\": option 'name' "
                                  "expects a \"string\", found true");
  assert_one_error("name = [\"a\"]", "t.conf:2:10: source \"x\": option "
                                     "'name' expects a \"string\", found a "
                                     "list");
  assert_one_error("name { }", "t.conf:2:3: source \"x\": option 'name' "
                               "expects a \"string\", found a block");
  assert_one_error("name = \"a\\u0000b\"",
                   "t.conf:2:10: source \"x\": option 'name' expects a "
                   "\"string\", found \"a\\u0000b\" (it contains a \\0 byte)");
}
END_TEST

START_TEST(type_errors_for_integers) {
  assert_one_error("count = 1.5", "t.conf:2:11: source \"x\": option 'count' "
                                  "expects an integer, found 1.5");
  assert_one_error("count = 10s", "t.conf:2:11: source \"x\": option 'count' "
                                  "expects an integer, found 10s");
  assert_one_error("count = 1KiB", "t.conf:2:11: source \"x\": option "
                                   "'count' expects an integer, found 1KiB");
  assert_one_error("count = \"ten\"", "t.conf:2:11: source \"x\": option "
                                      "'count' expects an integer, found "
                                      "\"ten\"");
  assert_one_error("count = \" 1\"", "t.conf:2:11: source \"x\": option "
                                     "'count' expects an integer, found \" "
                                     "1\"");
  assert_one_error("count = \"9223372036854775808\"",
                   "t.conf:2:11: source \"x\": option 'count' expects an "
                   "integer, found \"9223372036854775808\" (out of range)");
}
END_TEST

START_TEST(type_errors_for_booleans) {
  assert_one_error("flag = 1", "t.conf:2:10: source \"x\": option 'flag' "
                               "expects true or false, found 1");
  assert_one_error("flag = \"yes\"", "t.conf:2:10: source \"x\": option "
                                     "'flag' expects true or false, found "
                                     "\"yes\"");
  assert_one_error("flag = \"TRUE\"", "t.conf:2:10: source \"x\": option "
                                      "'flag' expects true or false, found "
                                      "\"TRUE\"");
}
END_TEST

START_TEST(type_errors_for_doubles) {
  assert_one_error("ratio = true", "t.conf:2:11: source \"x\": option "
                                   "'ratio' expects a number, found true");
  assert_one_error("ratio = \"nan\"", "t.conf:2:11: source \"x\": option "
                                      "'ratio' expects a number, found "
                                      "\"nan\"");
  assert_one_error("ratio = \"1e999\"", "t.conf:2:11: source \"x\": option "
                                        "'ratio' expects a number, found "
                                        "\"1e999\" (out of range)");
}
END_TEST

START_TEST(type_errors_for_durations) {
  assert_one_error("wait = 5", "t.conf:2:10: source \"x\": option 'wait' "
                               "expects a duration such as 500ms, 30s or 5m, "
                               "found 5");
  assert_one_error("wait = 1KiB", "t.conf:2:10: source \"x\": option 'wait' "
                                  "expects a duration such as 500ms, 30s or "
                                  "5m, found 1KiB");
  assert_one_error("wait = \"5 minutes\"",
                   "t.conf:2:10: source \"x\": option 'wait' expects a "
                   "duration such as 500ms, 30s or 5m, found \"5 minutes\"");
  assert_one_error("wait = \"-1s\"", "t.conf:2:10: source \"x\": option "
                                     "'wait' expects a duration such as "
                                     "500ms, 30s or 5m, found \"-1s\"");
  assert_one_error("wait = \"99999999999999999999d\"",
                   "t.conf:2:10: source \"x\": option 'wait' expects a "
                   "duration such as 500ms, 30s or 5m, found "
                   "\"99999999999999999999d\" (out of range)");
}
END_TEST

START_TEST(type_errors_for_sizes) {
  assert_one_error("limit = 2s", "t.conf:2:11: source \"x\": option 'limit' "
                                 "expects a size such as 512KiB or 1MiB, "
                                 "found 2s");
  assert_one_error("limit = 1.5", "t.conf:2:11: source \"x\": option 'limit' "
                                  "expects a size such as 512KiB or 1MiB, "
                                  "found 1.5");
  assert_one_error("limit = \"1 MiB\"", "t.conf:2:11: source \"x\": option "
                                        "'limit' expects a size such as "
                                        "512KiB or 1MiB, found \"1 MiB\"");
  assert_one_error("limit = \"1kib\"", "t.conf:2:11: source \"x\": option "
                                       "'limit' expects a size such as "
                                       "512KiB or 1MiB, found \"1kib\"");
  assert_one_error("limit = \"17179869184GiB\"",
                   "t.conf:2:11: source \"x\": option 'limit' expects a size "
                   "such as 512KiB or 1MiB, found \"17179869184GiB\" (out of "
                   "range)");
}
END_TEST

START_TEST(type_errors_for_lists) {
  assert_one_error("tags = 5", "t.conf:2:10: source \"x\": option 'tags' "
                               "expects a list such as [\"a\", \"b\"], found "
                               "5");
  assert_one_error("tags = [\"a\", [\"b\"]]",
                   "t.conf:2:10: source \"x\": option 'tags' expects a list "
                   "such as [\"a\", \"b\"], found a list (lists do not nest)");
  assert_one_error("tags { a = \"b\" }",
                   "t.conf:2:3: source \"x\": option 'tags' expects a list "
                   "such as [\"a\", \"b\"], found a block");
}
END_TEST

START_TEST(type_errors_for_enums_list_the_choices) {
  assert_one_error("mode = \"medium\"", "t.conf:2:10: source \"x\": option "
                                        "'mode' expects one of fast, slow, "
                                        "careful, found \"medium\"");
  assert_one_error("mode = \"FAST\"", "t.conf:2:10: source \"x\": option "
                                      "'mode' expects one of fast, slow, "
                                      "careful, found \"FAST\"");
  assert_one_error("mode = 1", "t.conf:2:10: source \"x\": option 'mode' "
                               "expects one of fast, slow, careful, found 1");
  assert_one_error("mode = [\"fast\"]", "t.conf:2:10: source \"x\": option "
                                        "'mode' expects one of fast, slow, "
                                        "careful, found a list");
}
END_TEST

START_TEST(type_errors_for_templates_carry_the_template_message) {
  assert_one_error("key = \"${id\"",
                   "t.conf:2:9: source \"x\": option 'key' expects a "
                   "\"template\" string, found \"${id\" (template \"${id\", "
                   "at character 1: '${' is not closed by '}')");
  assert_one_error("key = \"a-${}\"",
                   "t.conf:2:9: source \"x\": option 'key' expects a "
                   "\"template\" string, found \"a-${}\" (template "
                   "\"a-${}\", at character 3: empty field name)");
  assert_one_error("key = \"${@}\"",
                   "t.conf:2:9: source \"x\": option 'key' expects a "
                   "\"template\" string, found \"${@}\" (template \"${@}\", "
                   "at character 1: empty field name)");
  assert_one_error("key = 7", "t.conf:2:9: source \"x\": option 'key' "
                              "expects a \"template\" string, found 7");
}
END_TEST

START_TEST(type_errors_for_maps) {
  assert_one_error("headers = \"a\"",
                   "t.conf:2:13: source \"x\": option 'headers' expects a "
                   "block { key = \"value\" }, found \"a\"");
  assert_one_error("headers = [\"a\"]",
                   "t.conf:2:13: source \"x\": option 'headers' expects a "
                   "block { key = \"value\" }, found a list");
  assert_one_error("headers {\n    a = [\"x\"]\n  }",
                   "t.conf:3:5: source \"x\": option 'headers': 'a' must be "
                   "a value such as \"text\", not a list");
  assert_one_error("headers {\n    a { b = \"c\" }\n  }",
                   "t.conf:3:5: source \"x\": option 'headers': 'a' must be "
                   "a value such as \"text\", not a block");
}
END_TEST

START_TEST(type_errors_point_at_the_value_on_its_line) {
  /* A tab counts as one column; the value is after "count\t=\t". */
  applied_t *a = apply("source \"x\" {\n\n\tcount\t=\t\"x\"\n}\n");
  ck_assert_int_eq(a->rc, PL_EINVAL);
  ck_assert_str_eq(errors_of(a), "t.conf:3:10: source \"x\": option 'count' "
                                 "expects an integer, found \"x\"\n");
  applied_free(a);
}
END_TEST

START_TEST(every_problem_is_reported_in_order) {
  applied_t *a = apply("source \"x\" {\n"
                       "  count = \"x\"\n"
                       "  flagg = true\n"
                       "  mode = \"m\"\n"
                       "  bogus = 1\n"
                       "  limit = 2s\n"
                       "}\n");
  ck_assert_int_eq(a->rc, PL_EINVAL);
  /* Unknown options first (in file order), then each option of the table
   * in table order. */
  ck_assert_str_eq(errors_of(a),
                   "t.conf:3:3: source \"x\": unknown option 'flagg' (did you "
                   "mean 'flag'?)\n"
                   "t.conf:5:3: source \"x\": unknown option 'bogus'\n"
                   "t.conf:2:11: source \"x\": option 'count' expects an "
                   "integer, found \"x\"\n"
                   "t.conf:6:11: source \"x\": option 'limit' expects a size "
                   "such as 512KiB or 1MiB, found 2s\n"
                   "t.conf:4:10: source \"x\": option 'mode' expects one of "
                   "fast, slow, careful, found \"m\"\n");
  /* Every error line is one line. */
  size_t lines = 0;
  for (const char *p = errors_of(a); *p; p++)
    lines += *p == '\n';
  ck_assert_uint_eq(lines, 5);
  applied_free(a);
}
END_TEST

START_TEST(errors_use_the_name_of_the_parsed_file) {
  pl_env_t env = {.getenv = no_env};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  const char *text = "b {\n x = 1 }";
  ck_assert_int_eq(pl__cfg_parse("/etc/pipelined/main.conf", text,
                                 strlen(text), &env, &root, &error),
                   0);
  opts_t o = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {table, TABLE_COUNT, &o};
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], "b", &errors),
                   PL_EINVAL);
  ck_assert_str_eq(errors.data, "/etc/pipelined/main.conf:2:2: b: unknown "
                                "option 'x'\n");
  pl__options_free(table, TABLE_COUNT, &o);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(errors_are_appended_to_existing_text) {
  opts_t o = {0};
  pl_buf_t errors = {0};
  pl_buf_append_str(&errors, "earlier\n");
  pl_cfg_node_t *root = parse("b { count = \"z\" }\n");
  pl_opt_table_t t = {table, TABLE_COUNT, &o};
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], "b", &errors),
                   PL_EINVAL);
  ck_assert_str_eq(errors.data, "earlier\nt.conf:1:13: b: option 'count' "
                                "expects an integer, found \"z\"\n");
  pl__options_free(table, TABLE_COUNT, &o);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

/* ---- Freeing ---- */

START_TEST(free_releases_and_zeroes_every_owned_value) {
  applied_t *a = apply_ok("name = \"n\"; tags = [\"a\", \"b\"]; key = \"${k}\"\n"
                          "  headers { a = \"1\" }");
  ck_assert_ptr_nonnull(a->opts.name);
  pl__options_free(table, TABLE_COUNT, &a->opts);
  ck_assert_ptr_null(a->opts.name);
  ck_assert_ptr_null(a->opts.key);
  ck_assert_uint_eq(a->opts.tags.count, 0);
  ck_assert_ptr_null(a->opts.tags.items);
  ck_assert_uint_eq(a->opts.headers.count, 0);
  ck_assert_ptr_null(a->opts.headers.keys);
  ck_assert_ptr_null(a->opts.headers.values);
  /* Scalars are left alone, and a second free is harmless. */
  ck_assert_int_eq(a->opts.count, 10);
  pl__options_free(table, TABLE_COUNT, &a->opts);
  pl__options_free(table, TABLE_COUNT, NULL);
  applied_free(a);
}
END_TEST

START_TEST(failed_applies_free_cleanly) {
  /* Partial values after an error are freed by pl__options_free (the
   * sanitizer checks nothing leaks). */
  applied_t *a = apply("source \"x\" {\n  tags = [\"a\", [\"b\"]]\n"
                       "  headers { a = \"1\"; b = [\"2\"] }\n"
                       "  key = \"${\"\n  name = 1\n}\n");
  ck_assert_int_eq(a->rc, PL_EINVAL);
  applied_free(a);
}
END_TEST

/* ---- Default checks ---- */

static char *check_default(const pl_option_t *o, int expected_rc) {
  char *error = NULL;
  ck_assert_int_eq(pl__option_check_default(o, &error), expected_rc);
  if (expected_rc == 0)
    ck_assert_ptr_null(error);
  else
    ck_assert_ptr_nonnull(error);
  return error;
}

START_TEST(every_default_of_the_test_table_checks_out) {
  for (size_t i = 0; i < TABLE_COUNT; i++) {
    char *error = NULL;
    ck_assert_msg(pl__option_check_default(&table[i], &error) == 0, "%s: %s",
                  table[i].name, error ? error : "");
    ck_assert_ptr_null(error);
  }
}
END_TEST

START_TEST(bad_defaults_are_refused_with_a_message) {
  static const struct {
    pl_option_t option;
    int rc;
    const char *message;
  } cases[] = {
      {PL_OPTION_INT(opts_t, count, "count", "1.5", 0, "d"), PL_EPARSE,
       "option 'count': default '1.5' is not an integer"},
      {PL_OPTION_INT(opts_t, count, "count", "99999999999999999999", 0, "d"),
       PL_ERANGE,
       "option 'count': default '99999999999999999999' is not an integer"},
      {PL_OPTION_BOOL(opts_t, flag, "flag", "yes", 0, "d"), PL_EPARSE,
       "option 'flag': default 'yes' is not true or false"},
      {PL_OPTION_DOUBLE(opts_t, ratio, "ratio", ".5", 0, "d"), PL_EPARSE,
       "option 'ratio': default '.5' is not a number"},
      {PL_OPTION_DURATION(opts_t, wait_ms, "wait", "10", 0, "d"), PL_EPARSE,
       "option 'wait': default '10' is not a duration such as 500ms, 30s or "
       "5m"},
      {PL_OPTION_DURATION(opts_t, wait_ms, "wait", "0.5ms", 0, "d"), PL_ERANGE,
       "option 'wait': default '0.5ms' is not a duration such as 500ms, 30s "
       "or 5m"},
      {PL_OPTION_SIZE(opts_t, limit, "limit", "1TiB", 0, "d"), PL_EPARSE,
       "option 'limit': default '1TiB' is not a size such as 512KiB or 1MiB"},
      {PL_OPTION_TEMPLATE(opts_t, key, "key", "${a}${", 0, "d"), PL_EPARSE,
       "option 'key': default '${a}${' is not a \"template\" string: "
       "template \"${a}${\", at character 5: '${' is not closed by '}'"},
      {PL_OPTION_LIST(opts_t, tags, "tags", "a", 0, "d"), PL_EINVAL,
       "list and map options cannot have a default"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *error = check_default(&cases[i].option, cases[i].rc);
    ck_assert_str_eq(error, cases[i].message);
    free(error);
  }
}
END_TEST

START_TEST(a_map_default_is_refused) {
  pl_option_t o = PL_OPTION_MAP(opts_t, headers, "headers", 0, "d");
  o.default_value = "a";
  char *error = check_default(&o, PL_EINVAL);
  ck_assert_str_eq(error, "list and map options cannot have a default");
  free(error);
}
END_TEST

START_TEST(an_enum_default_must_be_a_choice) {
  pl_option_t ok =
      PL_OPTION_ENUM(opts_t, mode, "mode", "careful", mode_choices, 0, "d");
  check_default(&ok, 0);
  pl_option_t bad =
      PL_OPTION_ENUM(opts_t, mode, "mode", "medium", mode_choices, 0, "d");
  char *error = check_default(&bad, PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(error, "option 'mode': default 'medium'"));
  free(error);
  pl_option_t none =
      PL_OPTION_ENUM(opts_t, mode, "mode", "fast", NULL, 0, "d");
  error = check_default(&none, PL_EPARSE);
  free(error);
}
END_TEST

START_TEST(options_without_a_default_always_check_out) {
  for (size_t i = 0; i < REQ_COUNT; i++)
    check_default(&req_table[i], 0);
  pl_option_t list = PL_OPTION_LIST(opts_t, tags, "tags", NULL, 0, "d");
  check_default(&list, 0);
  pl_option_t map = PL_OPTION_MAP(opts_t, headers, "headers", 0, "d");
  check_default(&map, 0);
}
END_TEST

START_TEST(defaults_at_any_offset_check_out) {
  /* The probe parses into scratch space, never at the option's offset. */
  pl_option_t o = PL_OPTION_STRING(opts_t, name, "name", "x", 0, "d");
  o.offset = 1u << 20;
  check_default(&o, 0);
  pl_option_t t = PL_OPTION_TEMPLATE(opts_t, key, "key", "${a}", 0, "d");
  t.offset = 1u << 20;
  check_default(&t, 0);
}
END_TEST

/* ---- Closest names ---- */

START_TEST(closest_name_within_a_small_distance) {
  static const char *const names[] = {"pipeline", "aws", "source", "sink",
                                      NULL};
  ck_assert_str_eq(pl__closest_name(names, "pipelin"), "pipeline");
  ck_assert_str_eq(pl__closest_name(names, "piepline"), "pipeline");
  ck_assert_str_eq(pl__closest_name(names, "sorce"), "source");
  ck_assert_str_eq(pl__closest_name(names, "sinc"), "sink");
  ck_assert_str_eq(pl__closest_name(names, "aws"), "aws");
  ck_assert_str_eq(pl__closest_name(names, "aw"), "aws");
  /* Short names allow one edit, up to 8 characters two, longer three. */
  ck_assert_ptr_null(pl__closest_name(names, "sunc"));
  ck_assert_ptr_null(pl__closest_name(names, "a"));
  ck_assert_ptr_null(pl__closest_name(names, "xyz"));
  ck_assert_str_eq(pl__closest_name(names, "sourcexyz"), "source");
  ck_assert_ptr_null(pl__closest_name(names, "sourcewxyz"));
  ck_assert_ptr_null(pl__closest_name(names, ""));
}
END_TEST

START_TEST(closest_name_prefers_the_nearest_then_the_first) {
  static const char *const names[] = {"batch_size", "batch_bytes",
                                      "batch_sizes", NULL};
  ck_assert_str_eq(pl__closest_name(names, "batch_sizes"), "batch_sizes");
  ck_assert_str_eq(pl__closest_name(names, "batch_siz"), "batch_size");
  ck_assert_str_eq(pl__closest_name(names, "batch_byte"), "batch_bytes");
  static const char *const ties[] = {"abcd", "abce", NULL};
  ck_assert_str_eq(pl__closest_name(ties, "abcf"), "abcd");
  static const char *const empty[] = {NULL};
  ck_assert_ptr_null(pl__closest_name(empty, "x"));
}
END_TEST

START_TEST(closest_name_gives_up_on_very_long_names) {
  char longer[80];
  memset(longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  const char *names[] = {longer, "aaa", NULL};
  ck_assert_ptr_null(pl__closest_name(names, longer + 1));
  char sixty_four[65];
  memset(sixty_four, 'b', 64);
  sixty_four[64] = '\0';
  const char *near[] = {sixty_four, NULL};
  sixty_four[63] = 'c';
  char query[65];
  memset(query, 'b', 64);
  query[64] = '\0';
  ck_assert_ptr_eq(pl__closest_name(near, query), sixty_four);
}
END_TEST

START_TEST(options_closest_searches_every_table) {
  opts_t o;
  req_t r;
  pl_opt_table_t tables[] = {{table, TABLE_COUNT, &o},
                             {req_table, REQ_COUNT, &r}};
  ck_assert_str_eq(pl__options_closest(tables, 2, "porrt"), "port");
  ck_assert_str_eq(pl__options_closest(tables, 2, "moode"), "mode");
  ck_assert_str_eq(pl__options_closest(tables, 2, "queueurl"), "queue_url");
  ck_assert_ptr_null(pl__options_closest(tables, 2, "zzzzzz"));
  ck_assert_ptr_null(pl__options_closest(tables, 0, "port"));
}
END_TEST

/* ---- --describe ---- */

START_TEST(describe_renders_every_option) {
  static const char *const levels[] = {"low", "high", NULL};
  typedef struct d {
    char *a;
    char *b;
    int c;
    int64_t d;
  } d_t;
  static const pl_option_t describe_table[] = {
      PL_OPTION_STRING(d_t, a, "queue_url", NULL, PL_OPT_REQUIRED,
                       "The queue."),
      PL_OPTION_STRING(d_t, b, "token", "hunter2", PL_OPT_SECRET,
                       "A token."),
      PL_OPTION_ENUM(d_t, c, "level", "low", levels, PL_OPT_DEPRECATED,
                     "Old knob."),
      PL_OPTION_INT(d_t, d, "n", NULL, 0, NULL),
  };
  pl_buf_t out = {0};
  pl__options_describe(describe_table, 4, &out);
  ck_assert_str_eq(out.data,
                   "  queue_url            string    required\n"
                   "      The queue.\n"
                   "  token                string    (secret)\n"
                   "      A token.\n"
                   "  level                enum      default: low "
                   "(deprecated)\n"
                   "      Old knob.\n"
                   "      one of: low high\n"
                   "  n                    int      \n"
                   "      \n");
  ck_assert_ptr_null(strstr(out.data, "hunter2"));
  pl_buf_free(&out);
}
END_TEST

START_TEST(describe_json_renders_every_option) {
  static const char *const levels[] = {"low", "high", NULL};
  typedef struct d {
    char *a;
    char *b;
    int c;
  } d_t;
  static const pl_option_t describe_table[] = {
      PL_OPTION_STRING(d_t, a, "queue_url", NULL, PL_OPT_REQUIRED,
                       "The queue."),
      PL_OPTION_STRING(d_t, b, "token", "hunter2", PL_OPT_SECRET,
                       "A token."),
      PL_OPTION_ENUM(d_t, c, "level", "low", levels, 0, "Knob."),
  };
  json_t *json = pl__options_describe_json(describe_table, 3);
  ck_assert_ptr_nonnull(json);
  char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_str_eq(
      text,
      "[{\"description\":\"The queue.\",\"name\":\"queue_url\",\"required\":"
      "true,\"secret\":false,\"type\":\"string\"},"
      "{\"description\":\"A token.\",\"name\":\"token\",\"required\":false,"
      "\"secret\":true,\"type\":\"string\"},"
      "{\"choices\":[\"low\",\"high\"],\"default\":\"low\",\"description\":"
      "\"Knob.\",\"name\":\"level\",\"required\":false,\"secret\":false,"
      "\"type\":\"enum\"}]");
  free(text);
  json_decref(json);
  json = pl__options_describe_json(describe_table, 0);
  ck_assert_uint_eq(json_array_size(json), 0);
  json_decref(json);
}
END_TEST

START_TEST(type_names_come_from_one_table) {
  static const char *const names[] = {"string", "int",  "bool",     "double",
                                      "duration", "size", "list", "enum",
                                      "template", "map"};
  for (int i = 0; i <= PL_OPT_MAP; i++)
    ck_assert_str_eq(pl_opt_type_name((pl_opt_type_t)i), names[i]);
  ck_assert_str_eq(pl_opt_type_name((pl_opt_type_t)99), "unknown");
}
END_TEST

/* ---- Stage-wide options ---- */

static const pl_plugin_t *plugin_of_kind(pl_kind_t kind, pl_plugin_t *p) {
  *p = (pl_plugin_t){.abi_version = PL_ABI_VERSION,
                     .struct_size = sizeof(pl_plugin_t),
                     .name = "t",
                     .kind = kind,
                     .description = "d"};
  return p;
}

static bool has_option(const pl_option_t *t, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].name, name) == 0)
      return true;
  return false;
}

START_TEST(stage_options_apply_by_kind) {
  for (size_t i = 0; i < pl__stage_option_count; i++) {
    const pl_option_t *o = &pl__stage_option_table[i];
    bool is_log = strcmp(o->name, "log_level") == 0;
    bool is_queue = strcmp(o->name, "queue_size") == 0;
    ck_assert(pl__stage_option_applies(o, PL_KIND_SINK));
    ck_assert(pl__stage_option_applies(o, PL_KIND_TRANSFORM) ==
              (is_log || is_queue));
    ck_assert(pl__stage_option_applies(o, PL_KIND_SOURCE) == is_log);
  }
}
END_TEST

START_TEST(stage_table_for_each_kind) {
  pl_plugin_t p;
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(plugin_of_kind(PL_KIND_SOURCE, &p), t);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(t[0].name, "log_level");
  n = pl__stage_table_for(plugin_of_kind(PL_KIND_TRANSFORM, &p), t);
  ck_assert_uint_eq(n, 2);
  ck_assert(has_option(t, n, "queue_size"));
  ck_assert(has_option(t, n, "log_level"));
  n = pl__stage_table_for(plugin_of_kind(PL_KIND_SINK, &p), t);
  ck_assert_uint_eq(n, pl__stage_option_count);
  ck_assert_uint_le(pl__stage_option_count, PL_STAGE_OPTION_MAX);
  const char *names[] = {"batch_size",       "batch_bytes",  "linger",
                         "max_in_flight",    "retry_limit",  "retry_backoff",
                         "retry_backoff_max", "queue_size",  "log_level"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    ck_assert_msg(has_option(t, n, names[i]), "%s", names[i]);
}
END_TEST

START_TEST(stage_defaults_parse_and_apply) {
  pl_plugin_t p;
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(plugin_of_kind(PL_KIND_SINK, &p), t);
  for (size_t i = 0; i < n; i++) {
    char *error = NULL;
    ck_assert_msg(pl__option_check_default(&t[i], &error) == 0, "%s", error);
  }
  pl_stage_options_t stage = {.log_level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t tables = {t, n, &stage};
  ck_assert_int_eq(pl__options_apply(&tables, 1, NULL, "sink", &errors), 0);
  ck_assert_int_eq(stage.batch_size, 100);
  ck_assert_uint_eq(stage.batch_bytes, 1024 * 1024);
  ck_assert_uint_eq(stage.linger_ms, 0);
  ck_assert_int_eq(stage.max_in_flight, 1);
  ck_assert_int_eq(stage.retry_limit, 5);
  ck_assert_uint_eq(stage.retry_backoff_ms, 100);
  ck_assert_uint_eq(stage.retry_backoff_max_ms, 30000);
  ck_assert_int_eq(stage.queue_size, 1024);
  ck_assert_int_eq(stage.log_level, -1); /* the engine's */
  pl__options_free(t, n, &stage);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(plugin_stage_defaults_override_the_table) {
  pl_plugin_t p;
  plugin_of_kind(PL_KIND_SINK, &p);
  p.defaults = (pl_stage_defaults_t){.batch_size = "10",
                                     .batch_bytes = "256KiB",
                                     .linger = "5s",
                                     .max_in_flight = "4"};
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(&p, t);
  pl_stage_options_t stage = {.log_level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t tables = {t, n, &stage};
  ck_assert_int_eq(pl__options_apply(&tables, 1, NULL, "sink", &errors), 0);
  ck_assert_int_eq(stage.batch_size, 10);
  ck_assert_uint_eq(stage.batch_bytes, 256 * 1024);
  ck_assert_uint_eq(stage.linger_ms, 5000);
  ck_assert_int_eq(stage.max_in_flight, 4);
  ck_assert_int_eq(stage.retry_limit, 5);
  /* The shared table itself is untouched. */
  for (size_t i = 0; i < pl__stage_option_count; i++)
    if (strcmp(pl__stage_option_table[i].name, "batch_size") == 0)
      ck_assert_str_eq(pl__stage_option_table[i].default_value, "100");
  pl_buf_free(&errors);
}
END_TEST

START_TEST(user_stage_options_override_plugin_defaults) {
  pl_plugin_t p;
  plugin_of_kind(PL_KIND_SINK, &p);
  p.defaults.batch_size = "10";
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(&p, t);
  pl_stage_options_t stage = {.log_level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t tables = {t, n, &stage};
  pl_cfg_node_t *root = parse("sink \"s\" {\n  batch_size = 50\n"
                              "  log_level = \"debug\"\n"
                              "  retry_backoff = 250ms\n}\n");
  ck_assert_int_eq(
      pl__options_apply(&tables, 1, root->children[0], "sink", &errors), 0);
  ck_assert_int_eq(stage.batch_size, 50);
  ck_assert_int_eq(stage.log_level, 3);
  ck_assert_uint_eq(stage.retry_backoff_ms, 250);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(sink_options_on_a_source_are_unknown) {
  pl_plugin_t p;
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(plugin_of_kind(PL_KIND_SOURCE, &p), t);
  pl_stage_options_t stage = {.log_level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t tables = {t, n, &stage};
  pl_cfg_node_t *root = parse("source \"s\" {\n  batch_size = 5\n"
                              "  log_levl = \"warn\"\n}\n");
  ck_assert_int_eq(
      pl__options_apply(&tables, 1, root->children[0], "source", &errors),
      PL_EINVAL);
  ck_assert_str_eq(errors.data,
                   "t.conf:2:3: source: unknown option 'batch_size'\n"
                   "t.conf:3:3: source: unknown option 'log_levl' (did you "
                   "mean 'log_level'?)\n");
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(a_bad_stage_log_level_lists_the_levels) {
  pl_plugin_t p;
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(plugin_of_kind(PL_KIND_TRANSFORM, &p), t);
  pl_stage_options_t stage = {.log_level = -1};
  pl_buf_t errors = {0};
  pl_opt_table_t tables = {t, n, &stage};
  pl_cfg_node_t *root = parse("transform \"t\" { log_level = \"verbose\" }\n");
  ck_assert_int_eq(
      pl__options_apply(&tables, 1, root->children[0], "transform", &errors),
      PL_EINVAL);
  ck_assert_str_eq(errors.data,
                   "t.conf:1:29: transform: option 'log_level' expects one of "
                   "error, warn, info, debug, found \"verbose\"\n");
  ck_assert_int_eq(stage.log_level, -1);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST

/* ---- Regressions: core bugs found by these tests, now fixed ---- */

/* src/options.c type_error()/describe_found(): the found string is
 * printed raw, so a value holding a newline splits the "one line per
 * problem" error in two. */
START_TEST(bug_a_found_string_with_a_newline_stays_on_one_line) {
  applied_t *a = apply("source \"x\" {\n  count = \"1\\n2\"\n}\n");
  ck_assert_int_eq(a->rc, PL_EINVAL);
  const char *e = errors_of(a);
  ck_assert_ptr_eq(strchr(e, '\n'), e + strlen(e) - 1);
  applied_free(a);
}
END_TEST

/* src/options.c pl__options_apply()/find_setting(): blocks may repeat in
 * a config, but only the first block of a map option is read; the second
 * one is dropped without a word. */
START_TEST(bug_a_repeated_map_block_is_not_silently_dropped) {
  applied_t *a = apply("source \"x\" {\n  headers { a = \"1\" }\n"
                       "  headers { b = \"2\" }\n}\n");
  ck_assert_msg(a->rc == PL_EINVAL || a->opts.headers.count == 2,
                "rc %d, %zu header(s), errors: %s", a->rc,
                a->opts.headers.count, errors_of(a));
  applied_free(a);
}
END_TEST

/* src/options.c store_node(): string options refuse a "\u0000" escape,
 * but list items and map values are silently cut at the NUL. */
START_TEST(bug_nul_bytes_in_list_items_and_map_values_are_refused) {
  assert_one_error("tags = [\"a\\u0000b\"]",
                   "t.conf:2:10: source \"x\": option 'tags' expects a list "
                   "such as [\"a\", \"b\"], found a list (it contains a \\0 "
                   "byte)");
  applied_t *a = apply("source \"x\" {\n  headers { a = \"x\\u0000y\" }\n}\n");
  ck_assert_msg(a->rc == PL_EINVAL, "value stored as '%s'",
                a->opts.headers.count ? a->opts.headers.values[0] : "");
  applied_free(a);
}
END_TEST

/* src/options.c pl__option_check_default(): for an enum the message ends
 * with "is not one of" and never names the choices. */
START_TEST(bug_a_bad_enum_default_names_the_choices) {
  pl_option_t bad =
      PL_OPTION_ENUM(opts_t, mode, "mode", "medium", mode_choices, 0, "d");
  char *error = check_default(&bad, PL_EPARSE);
  ck_assert_str_eq(error, "option 'mode': default 'medium' is not one of "
                          "fast, slow, careful");
  free(error);
}
END_TEST

/* src/options.c type_error()/describe_found(): the value found is quoted
 * in the message even for PL_OPT_SECRET options, so a mistyped secret ends
 * up in the error output (HACKING.md#s9: secrets have no path to any
 * formatter). */
START_TEST(bug_a_secret_value_never_appears_in_errors) {
  req_t r = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {req_table, REQ_COUNT, &r};
  pl_cfg_node_t *root = parse("s {\n  queue_url = \"u\"\n  port = 1\n"
                              "  token = 31415926535\n}\n");
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   PL_EINVAL);
  ck_assert_msg(strstr(errors.data, "31415926535") == NULL, "%s",
                errors.data);
  pl__options_free(req_table, REQ_COUNT, &r);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}
END_TEST


/* ---- Limits ---- */

typedef struct lim {
  int64_t n;
  int64_t retries;
  double ratio;
  uint64_t wait_ms;
  uint64_t chunk;
  char *code;
  char *token;
  pl_list_t tags;
  pl_map_t headers;
} lim_t;

static const pl_option_t lim_table[] = {
    PL_OPTION_INT_RANGE(lim_t, n, "n", "5", 1, 10, 0, "From 1 to 10."),
    PL_OPTION_INT_RANGE(lim_t, retries, "retries", "0", 0, INT64_MAX, 0,
                        "At least 0."),
    PL_OPTION_DOUBLE_RANGE(lim_t, ratio, "ratio", "0.5", 0.0, 1.0, 0,
                           "A fraction."),
    PL_OPTION_DURATION_RANGE(lim_t, wait_ms, "wait", "20s", 1000, 20000, 0,
                             "How long."),
    PL_OPTION_SIZE_RANGE(lim_t, chunk, "chunk", "64KiB", 1, 1024 * 1024, 0,
                         "How big."),
    PL_OPTION_STRING_LENGTH(lim_t, code, "code", "ab", 1, 3, 0, "A code."),
    PL_OPTION_STRING_LENGTH(lim_t, token, "token", NULL, 0, 4, PL_OPT_SECRET,
                            "A token."),
    PL_OPTION_LIST_LENGTH(lim_t, tags, "tags", NULL, 1, 2, 0, "Labels."),
    PL_OPTION_MAP_LENGTH(lim_t, headers, "headers", 0, 1, 0, "Headers."),
};
#define LIM_COUNT (sizeof(lim_table) / sizeof(lim_table[0]))

/* Applies "source "x" {\n  <setting>\n}" to the limits table; returns the
 * errors (new) and checks the code. */
static char *apply_limits(const char *setting, int rc, lim_t *out) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "source \"x\" {\n  %s\n}\n", setting);
  pl_cfg_node_t *root = parse(text.data);
  lim_t o = {0};
  pl_buf_t errors = {0};
  pl_opt_table_t t = {lim_table, LIM_COUNT, &o};
  ck_assert_int_eq(pl__options_apply(&t, 1, root->children[0], what, &errors),
                   rc);
  if (out)
    *out = o;
  else
    pl__options_free(lim_table, LIM_COUNT, &o);
  pl__cfg_destroy(root);
  pl_buf_free(&text);
  return errors.data;
}

static void assert_limit_error(const char *setting, const char *expected) {
  char *errors = apply_limits(setting, PL_EINVAL, NULL);
  ck_assert_ptr_nonnull(errors);
  pl_buf_t line = {0};
  pl_buf_printf(&line, "%s\n", expected);
  ck_assert_str_eq(errors, line.data);
  pl_buf_free(&line);
  free(errors);
}

START_TEST(values_within_the_limits_are_accepted) {
  lim_t o;
  char *errors = apply_limits("n = 1; retries = 0; ratio = 0; wait = 1s; "
                              "chunk = 1; code = \"a\"; token = \"\"; "
                              "tags = [\"a\"]; headers { a = \"1\" }",
                              0, &o);
  ck_assert_ptr_null(errors);
  ck_assert_int_eq(o.n, 1);
  ck_assert_uint_eq(o.wait_ms, 1000);
  ck_assert_str_eq(o.code, "a");
  pl__options_free(lim_table, LIM_COUNT, &o);
  errors = apply_limits("n = 10; retries = 9223372036854775807; ratio = 1; "
                        "wait = \"20s\"; chunk = 1MiB; code = \"abc\"; "
                        "token = \"1234\"; tags = [\"a\", \"b\"]",
                        0, &o);
  ck_assert_ptr_null(errors);
  ck_assert_int_eq(o.n, 10);
  ck_assert_uint_eq(o.chunk, 1024 * 1024);
  ck_assert_uint_eq(o.tags.count, 2);
  pl__options_free(lim_table, LIM_COUNT, &o);
  /* Defaults within the limits, and the unset ones, are fine too. */
  errors = apply_limits("tags = \"one\"", 0, &o);
  ck_assert_ptr_null(errors);
  ck_assert_int_eq(o.n, 5);
  ck_assert_ptr_null(o.token);
  pl__options_free(lim_table, LIM_COUNT, &o);
}
END_TEST

START_TEST(values_below_the_minimum_are_refused) {
  assert_limit_error("n = 0", "t.conf:2:7: source \"x\": option 'n' expects "
                              "an integer from 1 to 10, found 0");
  assert_limit_error("retries = -1",
                     "t.conf:2:13: source \"x\": option 'retries' expects an "
                     "integer of at least 0, found -1");
  assert_limit_error("ratio = -0.5",
                     "t.conf:2:11: source \"x\": option 'ratio' expects a "
                     "number from 0 to 1, found -0.5");
  assert_limit_error("wait = 999ms",
                     "t.conf:2:10: source \"x\": option 'wait' expects a "
                     "duration from 1s to 20s, found 999ms");
  assert_limit_error("chunk = \"0B\"",
                     "t.conf:2:11: source \"x\": option 'chunk' expects a "
                     "size from 1B to 1MiB, found \"0B\"");
}
END_TEST

START_TEST(values_above_the_maximum_are_refused) {
  assert_limit_error("n = 11", "t.conf:2:7: source \"x\": option 'n' expects "
                               "an integer from 1 to 10, found 11");
  assert_limit_error("ratio = 1.5",
                     "t.conf:2:11: source \"x\": option 'ratio' expects a "
                     "number from 0 to 1, found 1.5");
  assert_limit_error("wait = \"21s\"",
                     "t.conf:2:10: source \"x\": option 'wait' expects a "
                     "duration from 1s to 20s, found \"21s\"");
  assert_limit_error("chunk = 1025KiB",
                     "t.conf:2:11: source \"x\": option 'chunk' expects a "
                     "size from 1B to 1MiB, found 1025KiB");
}
END_TEST

START_TEST(lengths_outside_the_limits_are_refused) {
  assert_limit_error("code = \"abcd\"",
                     "t.conf:2:10: source \"x\": option 'code' expects a "
                     "\"string\" of 1 to 3 bytes, found \"abcd\" (4 bytes)");
  assert_limit_error("code = \"\"",
                     "t.conf:2:10: source \"x\": option 'code' expects a "
                     "\"string\" of 1 to 3 bytes, found \"\" (0 bytes)");
  assert_limit_error("tags = []",
                     "t.conf:2:10: source \"x\": option 'tags' expects a "
                     "list with 1 to 2 items, found 0 items");
  assert_limit_error("tags = [\"a\", \"b\", \"c\"]",
                     "t.conf:2:10: source \"x\": option 'tags' expects a "
                     "list with 1 to 2 items, found 3 items");
  assert_limit_error("headers { a = \"1\"; b = \"2\" }",
                     "t.conf:2:3: source \"x\": option 'headers' expects a "
                     "block with at most 1 entry, found 2 entries");
  /* A secret's value is never shown, not even its length. */
  assert_limit_error("token = \"hunter2\"",
                     "t.conf:2:11: source \"x\": option 'token' expects a "
                     "\"string\" of at most 4 bytes, found a value (not "
                     "shown: the option is secret)");
}
END_TEST

START_TEST(every_limit_error_is_reported) {
  char *errors = apply_limits("n = 0; code = \"abcd\"; tags = [\"a\"]",
                              PL_EINVAL, NULL);
  ck_assert_str_eq(errors,
                   "t.conf:2:7: source \"x\": option 'n' expects an integer "
                   "from 1 to 10, found 0\n"
                   "t.conf:2:17: source \"x\": option 'code' expects a "
                   "\"string\" of 1 to 3 bytes, found \"abcd\" (4 bytes)\n");
  free(errors);
}
END_TEST

START_TEST(defaults_outside_the_limits_are_refused_by_the_table_check) {
  for (size_t i = 0; i < LIM_COUNT; i++) {
    char *error = NULL;
    ck_assert_msg(pl__option_check_default(&lim_table[i], &error) == 0, "%s",
                  error);
  }
  static const struct {
    pl_option_t option;
    const char *error;
  } cases[] = {
      {PL_OPTION_INT_RANGE(lim_t, n, "n", "0", 1, 10, 0, "N."),
       "option 'n': default '0' is not an integer from 1 to 10"},
      {PL_OPTION_INT_RANGE(lim_t, n, "n", "-1", 0, INT64_MAX, 0, "N."),
       "option 'n': default '-1' is not an integer of at least 0"},
      {PL_OPTION_DOUBLE_RANGE(lim_t, ratio, "ratio", "2", -HUGE_VAL, 1.5, 0,
                              "R."),
       "option 'ratio': default '2' is not a number of at most 1.5"},
      {PL_OPTION_DURATION_RANGE(lim_t, wait_ms, "wait", "1m", 1000, 20000, 0,
                                "W."),
       "option 'wait': default '1m' is not a duration from 1s to 20s"},
      {PL_OPTION_SIZE_RANGE(lim_t, chunk, "chunk", "0", 1, UINT64_MAX, 0,
                            "C."),
       "option 'chunk': default '0' is not a size of at least 1B"},
      {PL_OPTION_STRING_LENGTH(lim_t, code, "code", "abcd", 1, 1, 0, "C."),
       "option 'code': default 'abcd' is not a \"string\" of 1 byte"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *error = NULL;
    ck_assert_int_eq(pl__option_check_default(&cases[i].option, &error),
                     PL_EINVAL);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error, cases[i].error);
    free(error);
  }
}
END_TEST

START_TEST(limits_themselves_are_checked) {
  typedef struct bad {
    int64_t n;
    bool b;
    uint64_t u;
  } bad_t;
  static const struct {
    pl_option_t option;
    const char *error;
  } cases[] = {
      {PL_OPTION_INT_RANGE(bad_t, n, "n", NULL, 5, 4, 0, "N."),
       "option 'n': its minimum is above its maximum"},
      {PL_OPTION_SIZE_RANGE(bad_t, u, "u", NULL, 2, 1, 0, "U."),
       "option 'u': its minimum is above its maximum"},
      {{.name = "b", .type = PL_OPT_BOOL, .description = "B.",
        .has_limits = true},
       "option 'b': limits are for int, double, duration, size, string, list "
       "and map options"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *error = NULL;
    ck_assert_int_eq(pl__option_check_default(&cases[i].option, &error),
                     PL_EINVAL);
    ck_assert_str_eq(error, cases[i].error);
    free(error);
  }
}
END_TEST

START_TEST(a_stage_default_outside_the_limits_is_reported_by_apply) {
  pl_plugin_t p = {.kind = PL_KIND_SINK, .defaults = {.batch_size = "0"}};
  pl_option_t t[PL_STAGE_OPTION_MAX];
  size_t n = pl__stage_table_for(&p, t);
  pl_stage_options_t stage = {.log_level = -1};
  pl_opt_table_t tables = {t, n, &stage};
  pl_buf_t errors = {0};
  ck_assert_int_eq(pl__options_apply(&tables, 1, NULL, what, &errors),
                   PL_EINVAL);
  ck_assert_str_eq(errors.data, "source \"x\": option 'batch_size': bad "
                                "default '0': not an integer of at least 1\n");
  pl__options_free(t, n, &stage);
  pl_buf_free(&errors);
}
END_TEST

START_TEST(describe_shows_the_limits) {
  pl_buf_t out = {0};
  pl__options_describe(lim_table, 4, &out);
  ck_assert_str_eq(out.data, "  n                    int       default: 5\n"
                             "      From 1 to 10.\n"
                             "      range: 1 to 10\n"
                             "  retries              int       default: 0\n"
                             "      At least 0.\n"
                             "      range: at least 0\n"
                             "  ratio                double    default: 0.5\n"
                             "      A fraction.\n"
                             "      range: 0 to 1\n"
                             "  wait                 duration  default: 20s\n"
                             "      How long.\n"
                             "      range: 1s to 20s\n");
  pl_buf_reset(&out);
  pl__options_describe(lim_table + 4, LIM_COUNT - 4, &out);
  ck_assert_ptr_nonnull(strstr(out.data, "      range: 1B to 1MiB\n"));
  ck_assert_ptr_nonnull(strstr(out.data, "      length: 1 to 3 bytes\n"));
  ck_assert_ptr_nonnull(strstr(out.data, "      length: at most 4 bytes\n"));
  ck_assert_ptr_nonnull(strstr(out.data, "      length: 1 to 2 items\n"));
  ck_assert_ptr_nonnull(strstr(out.data, "      length: at most 1 entry\n"));
  pl_buf_free(&out);
}
END_TEST

START_TEST(describe_json_shows_the_limits) {
  json_t *json = pl__options_describe_json(lim_table, LIM_COUNT);
  ck_assert_ptr_nonnull(json);
  static const struct {
    size_t index;
    const char *limits; /* the members, compact and sorted */
  } cases[] = {
      {0, "{\"limits\":\"1 to 10\",\"max\":10,\"min\":1}"},
      {1, "{\"limits\":\"at least 0\",\"min\":0}"},
      {2, "{\"limits\":\"0 to 1\",\"max\":1.0,\"min\":0.0}"},
      {3, "{\"limits\":\"1s to 20s\",\"max\":20000,\"min\":1000}"},
      {4, "{\"limits\":\"1B to 1MiB\",\"max\":1048576,\"min\":1}"},
      {5, "{\"limits\":\"1 to 3 bytes\",\"max_length\":3,\"min_length\":1}"},
      {6, "{\"limits\":\"at most 4 bytes\",\"max_length\":4}"},
      {7, "{\"limits\":\"1 to 2 items\",\"max_length\":2,\"min_length\":1}"},
      {8, "{\"limits\":\"at most 1 entry\",\"max_length\":1}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *item = json_array_get(json, cases[i].index);
    json_t *limits = json_object();
    const char *keys[] = {"limits", "min", "max", "min_length", "max_length"};
    for (size_t k = 0; k < 5; k++)
      if (json_object_get(item, keys[k]))
        json_object_set(limits, keys[k], json_object_get(item, keys[k]));
    char *text = json_dumps(limits, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, cases[i].limits);
    free(text);
    json_decref(limits);
  }
  json_decref(json);
  /* Without limits: none of the members. */
  json = pl__options_describe_json(table, 1);
  ck_assert_ptr_null(json_object_get(json_array_get(json, 0), "limits"));
  ck_assert_ptr_null(json_object_get(json_array_get(json, 0), "max_length"));
  json_decref(json);
}
END_TEST

static Suite *options_suite(void) {
  Suite *s = suite_create("options");
  TCase *defaults = tcase_create("defaults");
  tcase_add_test(defaults, defaults_are_parsed_for_every_type);
  tcase_add_test(defaults, a_null_block_applies_defaults_only);
  tcase_add_test(defaults, options_without_default_keep_their_initial_value);
  tcase_add_test(defaults, a_bad_default_is_reported_without_a_location);
  tcase_add_test(defaults, a_bad_template_default_carries_the_template_message);
  suite_add_tcase(s, defaults);

  TCase *values = tcase_create("values");
  tcase_add_test(values, values_of_every_type_are_stored);
  tcase_add_test(values, quoted_text_is_parsed_as_the_option_type);
  tcase_add_test(values, integers_stand_for_doubles_sizes_and_zero_durations);
  tcase_add_test(values, fractional_durations_are_exact);
  tcase_add_test(values, extreme_integers_are_accepted);
  tcase_add_test(values, relative_paths_are_relative_to_their_config_file);
  tcase_add_test(values, a_single_string_is_a_list_of_one);
  tcase_add_test(values, list_items_of_any_scalar_kind_keep_their_text);
  tcase_add_test(values, an_empty_list_is_empty);
  tcase_add_test(values, an_empty_map_block_is_empty);
  tcase_add_test(values, a_constant_template_is_constant);
  tcase_add_test(values, enum_values_are_stored_as_their_index);
  tcase_add_test(values, several_tables_fill_their_own_structs);
  suite_add_tcase(s, values);

  TCase *unknown = tcase_create("unknown and required");
  tcase_add_test(unknown, an_unknown_option_suggests_the_closest);
  tcase_add_test(unknown,
                 an_unknown_option_without_a_close_name_has_no_suggestion);
  tcase_add_test(unknown, unknown_options_are_searched_across_tables);
  tcase_add_test(unknown, an_unknown_option_still_applies_the_known_ones);
  tcase_add_test(unknown, missing_required_options_name_the_block);
  tcase_add_test(unknown,
                 missing_required_options_without_a_block_have_no_location);
  tcase_add_test(unknown, a_required_option_that_is_set_is_not_missing);
  tcase_add_test(unknown, empty_texts_are_refused_where_a_value_is_needed);
  suite_add_tcase(s, unknown);

  TCase *types = tcase_create("type errors");
  tcase_add_test(types, type_errors_for_strings);
  tcase_add_test(types, type_errors_for_integers);
  tcase_add_test(types, type_errors_for_booleans);
  tcase_add_test(types, type_errors_for_doubles);
  tcase_add_test(types, type_errors_for_durations);
  tcase_add_test(types, type_errors_for_sizes);
  tcase_add_test(types, type_errors_for_lists);
  tcase_add_test(types, type_errors_for_enums_list_the_choices);
  tcase_add_test(types, type_errors_for_templates_carry_the_template_message);
  tcase_add_test(types, type_errors_for_maps);
  tcase_add_test(types, type_errors_point_at_the_value_on_its_line);
  tcase_add_test(types, every_problem_is_reported_in_order);
  tcase_add_test(types, errors_use_the_name_of_the_parsed_file);
  tcase_add_test(types, errors_are_appended_to_existing_text);
  suite_add_tcase(s, types);

  TCase *freeing = tcase_create("free");
  tcase_add_test(freeing, free_releases_and_zeroes_every_owned_value);
  tcase_add_test(freeing, failed_applies_free_cleanly);
  suite_add_tcase(s, freeing);

  TCase *check = tcase_create("default checks");
  tcase_add_test(check, every_default_of_the_test_table_checks_out);
  tcase_add_test(check, bad_defaults_are_refused_with_a_message);
  tcase_add_test(check, a_map_default_is_refused);
  tcase_add_test(check, an_enum_default_must_be_a_choice);
  tcase_add_test(check, options_without_a_default_always_check_out);
  tcase_add_test(check, defaults_at_any_offset_check_out);
  suite_add_tcase(s, check);

  TCase *closest = tcase_create("closest");
  tcase_add_test(closest, closest_name_within_a_small_distance);
  tcase_add_test(closest, closest_name_prefers_the_nearest_then_the_first);
  tcase_add_test(closest, closest_name_gives_up_on_very_long_names);
  tcase_add_test(closest, options_closest_searches_every_table);
  suite_add_tcase(s, closest);

  TCase *describe = tcase_create("describe");
  tcase_add_test(describe, describe_renders_every_option);
  tcase_add_test(describe, describe_json_renders_every_option);
  tcase_add_test(describe, type_names_come_from_one_table);
  suite_add_tcase(s, describe);

  TCase *stage = tcase_create("stage options");
  tcase_add_test(stage, stage_options_apply_by_kind);
  tcase_add_test(stage, stage_table_for_each_kind);
  tcase_add_test(stage, stage_defaults_parse_and_apply);
  tcase_add_test(stage, plugin_stage_defaults_override_the_table);
  tcase_add_test(stage, user_stage_options_override_plugin_defaults);
  tcase_add_test(stage, sink_options_on_a_source_are_unknown);
  tcase_add_test(stage, a_bad_stage_log_level_lists_the_levels);
  suite_add_tcase(s, stage);

  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, values_within_the_limits_are_accepted);
  tcase_add_test(limits, values_below_the_minimum_are_refused);
  tcase_add_test(limits, values_above_the_maximum_are_refused);
  tcase_add_test(limits, lengths_outside_the_limits_are_refused);
  tcase_add_test(limits, every_limit_error_is_reported);
  tcase_add_test(limits,
                 defaults_outside_the_limits_are_refused_by_the_table_check);
  tcase_add_test(limits, limits_themselves_are_checked);
  tcase_add_test(limits,
                 a_stage_default_outside_the_limits_is_reported_by_apply);
  tcase_add_test(limits, describe_shows_the_limits);
  tcase_add_test(limits, describe_json_shows_the_limits);
  suite_add_tcase(s, limits);

  TCase *bugs = tcase_create("known bugs");
  tcase_add_test(bugs, bug_a_found_string_with_a_newline_stays_on_one_line);
  tcase_add_test(bugs, bug_a_repeated_map_block_is_not_silently_dropped);
  tcase_add_test(bugs, bug_nul_bytes_in_list_items_and_map_values_are_refused);
  tcase_add_test(bugs, bug_a_bad_enum_default_names_the_choices);
  tcase_add_test(bugs, bug_a_secret_value_never_appears_in_errors);
  suite_add_tcase(s, bugs);
  return s;
}

int main(void) {
  return test_suite_run(options_suite());
}
