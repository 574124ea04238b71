/* Check suite for src/config.c: the tree built from valid configs, string
 * escapes, ${VAR} expansion through an injected environment, the limits,
 * and the exact "file:line:col: message" of every error. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_suite.h"

/* A fake environment: NULL-terminated name/value pairs, and a count of
 * lookups so that tests can see which names reach the environment. */
typedef struct fake_env {
  const char *const *vars;
  int lookups;
  char last[64];
} fake_env_t;

static const char *fake_getenv(void *data, const char *name) {
  fake_env_t *fake = data;
  fake->lookups++;
  snprintf(fake->last, sizeof fake->last, "%s", name);
  for (size_t i = 0; fake->vars[i]; i += 2)
    if (strcmp(fake->vars[i], name) == 0)
      return fake->vars[i + 1];
  return NULL;
}

static const char *const default_vars[] = {
    "INPUT",  "/data/in.csv",    "AWS_REGION", "eu-west-1", "EMPTY",   "",
    "TRICKY", "${INPUT} $$ \\n", "QUEUE_URL",  "http://q",  "_UNDER9", "u",
    NULL};

static pl_env_t env_of(fake_env_t *fake) {
  return (pl_env_t){.getenv = fake_getenv, .data = fake};
}

/* Parses text that must be valid. */
static pl_cfg_node_t *parse_ok(const pl_env_t *env, const char *text) {
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse("t.conf", text, strlen(text), env, &root, &error);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, error ? error : "(no message)");
  ck_assert_ptr_null(error);
  ck_assert_ptr_nonnull(root);
  return root;
}

/* Parses text that must fail with PL_EPARSE; returns the message, which
 * the caller frees. */
static char *parse_err_len(const char *text, size_t len,
                           const pl_env_t *with_env) {
  pl_cfg_node_t *root = (pl_cfg_node_t *)&root; /* must be reset */
  char *error = NULL;
  int rc = pl__cfg_parse("t.conf", text, len, with_env, &root, &error);
  ck_assert_int_eq(rc, PL_EPARSE);
  ck_assert_ptr_null(root);
  ck_assert_ptr_nonnull(error);
  ck_assert_ptr_null(strchr(error, '\n')); /* always one line */
  return error;
}

static char *parse_err(const pl_env_t *env, const char *text) {
  return parse_err_len(text, strlen(text), env);
}

static void assert_error(const pl_env_t *env, const char *text,
                         const char *expected) {
  char *error = parse_err(env, text);
  ck_assert_str_eq(error, expected);
  free(error);
}

/* The value of setting `key` in block node, which must exist. */
static const pl_cfg_value_t *setting(const pl_cfg_node_t *node,
                                     const char *key) {
  for (size_t i = 0; i < node->count; i++)
    if (!node->children[i]->is_block &&
        strcmp(node->children[i]->key, key) == 0)
      return &node->children[i]->value;
  ck_abort_msg("no setting '%s'", key);
  return NULL;
}

static const char *string_of(const pl_cfg_node_t *node, const char *key) {
  const pl_cfg_value_t *v = setting(node, key);
  ck_assert_int_eq(v->kind, PL_CFG_STRING);
  ck_assert_uint_eq(strlen(v->text), v->text_len);
  return v->text;
}

START_TEST(test_value_kinds) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(&env, "s = \"text\"\n"
                                       "i = 42\n"
                                       "n = -7\n"
                                       "f = 1.5\n"
                                       "e = 1e3\n"
                                       "b = true\n"
                                       "c = false\n"
                                       "d = 500ms\n"
                                       "d2 = 1.5s\n"
                                       "z = 0\n"
                                       "sz = 256KiB\n"
                                       "sz2 = 10KB\n"
                                       "bare = 4096\n"
                                       "empty = \"\"\n");
  ck_assert_str_eq(root->key, "");
  ck_assert(root->is_block);
  ck_assert_str_eq(root->loc.file, "t.conf");
  ck_assert_uint_eq(root->count, 14);
  ck_assert_str_eq(string_of(root, "s"), "text");
  const pl_cfg_value_t *v = setting(root, "i");
  ck_assert_int_eq(v->kind, PL_CFG_INT);
  ck_assert_int_eq(v->as.i, 42);
  ck_assert_str_eq(v->text, "42");
  ck_assert_int_eq(setting(root, "n")->as.i, -7);
  v = setting(root, "f");
  ck_assert_int_eq(v->kind, PL_CFG_FLOAT);
  ck_assert_double_eq(v->as.d, 1.5);
  ck_assert_double_eq(setting(root, "e")->as.d, 1000.0);
  v = setting(root, "b");
  ck_assert_int_eq(v->kind, PL_CFG_BOOL);
  ck_assert(v->as.b);
  ck_assert(!setting(root, "c")->as.b);
  v = setting(root, "d");
  ck_assert_int_eq(v->kind, PL_CFG_DURATION);
  ck_assert_uint_eq(v->as.ms, 500);
  ck_assert_str_eq(v->text, "500ms");
  ck_assert_uint_eq(setting(root, "d2")->as.ms, 1500);
  /* "0" and a bare number are INT: options re-read the text. */
  ck_assert_int_eq(setting(root, "z")->kind, PL_CFG_INT);
  v = setting(root, "sz");
  ck_assert_int_eq(v->kind, PL_CFG_SIZE);
  ck_assert_uint_eq(v->as.bytes, 262144);
  ck_assert_uint_eq(setting(root, "sz2")->as.bytes, 10000);
  ck_assert_int_eq(setting(root, "bare")->kind, PL_CFG_INT);
  v = setting(root, "empty");
  ck_assert_ptr_nonnull(v->text);
  ck_assert_uint_eq(v->text_len, 0);
  /* Locations: the key's and the value's own. */
  ck_assert_int_eq(root->children[3]->loc.line, 4);
  ck_assert_int_eq(root->children[3]->loc.col, 1);
  ck_assert_int_eq(root->children[3]->value.loc.line, 4);
  ck_assert_int_eq(root->children[3]->value.loc.col, 5);
  ck_assert_str_eq(root->children[3]->value.loc.file, "t.conf");
  pl__cfg_destroy(root);
}
END_TEST

START_TEST(test_kind_names) {
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_STRING), "string");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_INT), "int");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_FLOAT), "float");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_BOOL), "bool");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_DURATION), "duration");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_SIZE), "size");
  ck_assert_str_eq(pl__cfg_kind_name(PL_CFG_LIST), "list");
}
END_TEST

START_TEST(test_blocks) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(&env, "pipeline \"csv-to-sqs\" {\n"
                                       "  source \"s3\" { bucket = \"x\" }\n"
                                       "  transform \"csv\" { header = true }\n"
                                       "  transform \"filter\" {}\n"
                                       "  sink \"sqs\" {\n"
                                       "    batching { max = 10 }\n"
                                       "  }\n"
                                       "}\n"
                                       "pipeline \"second\" { }\n"
                                       "aws { region = \"x\" }\n");
  ck_assert_uint_eq(root->count, 3);
  pl_cfg_node_t *p = root->children[0];
  ck_assert(p->is_block);
  ck_assert_str_eq(p->key, "pipeline");
  ck_assert_str_eq(p->label, "csv-to-sqs");
  ck_assert_int_eq(p->loc.line, 1);
  ck_assert_int_eq(p->loc.col, 1);
  ck_assert_uint_eq(p->count, 4);
  ck_assert_str_eq(p->children[0]->key, "source");
  ck_assert_str_eq(p->children[0]->label, "s3");
  ck_assert_int_eq(p->children[0]->loc.col, 3);
  ck_assert_str_eq(string_of(p->children[0], "bucket"), "x");
  ck_assert_str_eq(p->children[1]->label, "csv");
  ck_assert_str_eq(p->children[2]->key, "transform");
  ck_assert_str_eq(p->children[2]->label, "filter");
  ck_assert_uint_eq(p->children[2]->count, 0);
  pl_cfg_node_t *batching = p->children[3]->children[0];
  ck_assert(batching->is_block);
  ck_assert_ptr_null(batching->label);
  ck_assert_int_eq(setting(batching, "max")->as.i, 10);
  ck_assert_str_eq(root->children[1]->label, "second");
  ck_assert_ptr_null(root->children[2]->label);
  /* The same setting name in different blocks is no duplicate. */
  pl__cfg_destroy(root);
  root = parse_ok(&env, "a { x = 1 }\nb { x = 2 }\na { x = 3 }\nx = 4\n");
  ck_assert_uint_eq(root->count, 4);
  pl__cfg_destroy(root);
}
END_TEST

START_TEST(test_separators_and_comments) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(&env, "# leading comment\n"
                                       "\n"
                                       "a = 1; b = 2;c=3 # trailing\n"
                                       ";;\n"
                                       "blk { x = 1; y = \"#not a comment\" }\n"
                                       "\tz = 5\r\n"
                                       "last = 6");
  ck_assert_uint_eq(root->count, 6);
  ck_assert_int_eq(setting(root, "b")->as.i, 2);
  ck_assert_int_eq(root->children[1]->loc.line, 3);
  ck_assert_int_eq(root->children[1]->loc.col, 8);
  ck_assert_int_eq(setting(root, "c")->as.i, 3);
  ck_assert_str_eq(string_of(root->children[3], "y"), "#not a comment");
  /* A tab counts as one column. */
  ck_assert_int_eq(root->children[4]->loc.line, 6);
  ck_assert_int_eq(root->children[4]->loc.col, 2);
  ck_assert_int_eq(setting(root, "last")->as.i, 6);
  pl__cfg_destroy(root);

  root = parse_ok(&env, "");
  ck_assert_uint_eq(root->count, 0);
  pl__cfg_destroy(root);
  root = parse_ok(&env, "# only a comment");
  ck_assert_uint_eq(root->count, 0);
  pl__cfg_destroy(root);
  root = parse_ok(&env, "b { x = 1 }");
  ck_assert_uint_eq(root->children[0]->count, 1);
  pl__cfg_destroy(root);
}
END_TEST

START_TEST(test_lists) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(&env, "columns = [\n"
                                       "  \"a\",   # first\n"
                                       "\n"
                                       "  \"b\" ,\n"
                                       "  1.5, 500ms, 256KiB, -7, true,\n"
                                       "  [1, [2]], [],\n"
                                       "]\n"
                                       "empty = []\n"
                                       "one = [ \"x\" ]\n");
  const pl_cfg_value_t *v = setting(root, "columns");
  ck_assert_int_eq(v->kind, PL_CFG_LIST);
  ck_assert_ptr_null(v->text);
  ck_assert_uint_eq(v->count, 9);
  ck_assert_str_eq(v->items[0].text, "a");
  ck_assert_int_eq(v->items[0].loc.line, 2);
  ck_assert_int_eq(v->items[0].loc.col, 3);
  ck_assert_str_eq(v->items[1].text, "b");
  ck_assert_int_eq(v->items[2].kind, PL_CFG_FLOAT);
  ck_assert_int_eq(v->items[3].kind, PL_CFG_DURATION);
  ck_assert_int_eq(v->items[4].kind, PL_CFG_SIZE);
  ck_assert_int_eq(v->items[5].as.i, -7);
  ck_assert_int_eq(v->items[6].kind, PL_CFG_BOOL);
  const pl_cfg_value_t *nested = &v->items[7];
  ck_assert_int_eq(nested->kind, PL_CFG_LIST);
  ck_assert_uint_eq(nested->count, 2);
  ck_assert_int_eq(nested->items[1].kind, PL_CFG_LIST);
  ck_assert_int_eq(nested->items[1].items[0].as.i, 2);
  ck_assert_uint_eq(v->items[8].count, 0);
  ck_assert_uint_eq(setting(root, "empty")->count, 0);
  ck_assert_uint_eq(setting(root, "one")->count, 1);
  pl__cfg_destroy(root);

  /* Enough items to make the array grow many times. */
  pl_cfg_node_t *big = NULL;
  char *error = NULL;
  size_t n = 10000;
  char *text = malloc(n * 4 + 16);
  size_t len = 0;
  len += (size_t)snprintf(text, 16, "l = [");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, 5, "%zu,", i % 10);
  text[len++] = ']';
  ck_assert_int_eq(pl__cfg_parse("t.conf", text, len, &env, &big, &error), 0);
  ck_assert_uint_eq(setting(big, "l")->count, n);
  ck_assert_int_eq(setting(big, "l")->items[n - 1].as.i, (int64_t)(n - 1) % 10);
  pl__cfg_destroy(big);
  free(text);
}
END_TEST

START_TEST(test_string_escapes) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(
      &env, "q = \"say \\\"hi\\\"\"\n"
            "bs = \"a\\\\b\"\n"
            "sl = \"a\\/b\"\n"
            "ws = \"1\\n2\\t3\\r\"\n"
            "u = \"\\u00e9\\u20AC\"\n"
            "pair = \"\\uD83D\\uDE00\"\n"
            "raw = \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 tab\there\"\n"
            "nul = \"a\\u0000b\"\n");
  ck_assert_str_eq(string_of(root, "q"), "say \"hi\"");
  ck_assert_str_eq(string_of(root, "bs"), "a\\b");
  ck_assert_str_eq(string_of(root, "sl"), "a/b");
  ck_assert_str_eq(string_of(root, "ws"), "1\n2\t3\r");
  ck_assert_str_eq(string_of(root, "u"), "\xc3\xa9\xe2\x82\xac");
  ck_assert_str_eq(string_of(root, "pair"), "\xf0\x9f\x98\x80");
  ck_assert_str_eq(string_of(root, "raw"),
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 tab\there");
  const pl_cfg_value_t *nul = setting(root, "nul");
  ck_assert_uint_eq(nul->text_len, 3);
  ck_assert_int_eq(memcmp(nul->text, "a\0b", 4), 0);
  pl__cfg_destroy(root);
}
END_TEST

START_TEST(test_env_expansion) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root =
      parse_ok(&env, "path = \"${INPUT}\"\n"
                     "region = \"${AWS_REGION:-us-east-1}\"\n"
                     "unset = \"${NOT_SET:-us-east-1}\"\n"
                     "empty = \"${EMPTY:-fallback}\"\n"
                     "empty2 = \"[${EMPTY}]\"\n"
                     "mixed = \"in=${INPUT}, region=${AWS_REGION}.\"\n"
                     "esc = \"${NOT_SET:-a\\\"b\\u00e9 $$ ${x}}\"\n"
                     "nested = \"${NOT_SET:-${ALSO_NOT:-${INPUT}}}\"\n"
                     "raw = \"${TRICKY}\"\n"
                     "under = \"${_UNDER9}\"\n"
                     "blank = \"${NOT_SET:-}\"\n"
                     "lbl \"${AWS_REGION}\" { x = 1 }\n");
  ck_assert_str_eq(string_of(root, "path"), "/data/in.csv");
  ck_assert_str_eq(string_of(root, "region"), "eu-west-1");
  ck_assert_str_eq(string_of(root, "unset"), "us-east-1");
  ck_assert_str_eq(string_of(root, "empty"), "fallback");
  ck_assert_str_eq(string_of(root, "empty2"), "[]");
  ck_assert_str_eq(string_of(root, "mixed"),
                   "in=/data/in.csv, region=eu-west-1.");
  ck_assert_str_eq(string_of(root, "esc"), "a\"b\xc3\xa9 $ ${x}");
  ck_assert_str_eq(string_of(root, "nested"), "/data/in.csv");
  /* Values are inserted as they are, never expanded again. */
  ck_assert_str_eq(string_of(root, "raw"), "${INPUT} $$ \\n");
  ck_assert_str_eq(string_of(root, "under"), "u");
  ck_assert_str_eq(string_of(root, "blank"), "");
  ck_assert_str_eq(root->children[11]->label, "eu-west-1");
  pl__cfg_destroy(root);

  /* A default that is not used is not expanded, so its unset variables
   * are no error and never looked up. */
  fake.lookups = 0;
  root = parse_ok(&env, "a = \"${INPUT:-${NOT_SET}}\"\n");
  ck_assert_str_eq(string_of(root, "a"), "/data/in.csv");
  ck_assert_int_eq(fake.lookups, 1);
  pl__cfg_destroy(root);
}
END_TEST

START_TEST(test_env_template_rule) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(
      &env, "id = \"${product_id}#${location}\"\n"
            "meta = \"${@origin}/${@etag}\"\n"
            "mixed = \"${Input} ${iNPUT} ${INPUT.x} ${field-x} ${1ABC} ${}\"\n"
            "dollars = \"$$ $$$$ cost $5 $ end$\"\n"
            "escaped = \"$${INPUT} $${SKU}\"\n"
            "unclosed = \"${lower\"\n"
            "in_default = \"${NOT_SET:-${product_id}}\"\n"
            "esc_default = \"${NOT_SET:-$${SKU}}\"\n"
            "set_default = \"${INPUT:-${product_id}}|\"\n");
  ck_assert_str_eq(string_of(root, "id"), "${product_id}#${location}");
  ck_assert_str_eq(string_of(root, "meta"), "${@origin}/${@etag}");
  ck_assert_str_eq(string_of(root, "mixed"),
                   "${Input} ${iNPUT} ${INPUT.x} ${field-x} ${1ABC} ${}");
  ck_assert_str_eq(string_of(root, "dollars"), "$ $$ cost $5 $ end$");
  ck_assert_str_eq(string_of(root, "escaped"), "${INPUT} ${SKU}");
  ck_assert_str_eq(string_of(root, "unclosed"), "${lower");
  /* A template's '}' inside a default does not end the default. */
  ck_assert_str_eq(string_of(root, "in_default"), "${product_id}");
  ck_assert_str_eq(string_of(root, "esc_default"), "${SKU}");
  ck_assert_str_eq(string_of(root, "set_default"), "/data/in.csv|");
  /* Only uppercase names reach the environment. */
  ck_assert_int_eq(fake.lookups, 3);
  pl__cfg_destroy(root);
}
END_TEST

/* The shell's other forms: ${NAME-default} (unset only), ${NAME?message}
 * and ${NAME:?message} (fail, naming the place, with the message), and
 * lowercase names in the forms with a colon. */
START_TEST(test_env_operators) {
  static const char *const vars[] = {"INPUT", "/in", "EMPTY", "",
                                     "bucket", "b1", NULL};
  fake_env_t fake = {.vars = vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = parse_ok(
      &env, "a = \"${NOT_SET-d}|${EMPTY-d}|${INPUT-d}\"\n"
            "b = \"${INPUT?gone}|${INPUT:?gone}|${EMPTY?gone}\"\n"
            "c = \"${bucket:-x}|${nothing:-x}|${bucket:?need it}\"\n"
            "d = \"${bucket}|${bucket-x}|${NOT_SET:-${bucket:-y}}\"\n");
  ck_assert_str_eq(string_of(root, "a"), "d||/in");
  ck_assert_str_eq(string_of(root, "b"), "/in|/in|");
  ck_assert_str_eq(string_of(root, "c"), "b1|x|b1");
  /* Without a colon a lowercase name is a template, as before. */
  ck_assert_str_eq(string_of(root, "d"), "${bucket}|${bucket-x}|b1");
  pl__cfg_destroy(root);
  /* A path is the environment's (relative to the working directory) only
   * when a variable's value begins it: a default written in the file is
   * the file's, whether the variable is unset or empty. */
  root = parse_ok(&env, "unset = \"${NOT_SET:-out.jsonl}\"\n"
                        "empty = \"${EMPTY:-out.jsonl}\"\n"
                        "set = \"${INPUT:-out.jsonl}\"\n"
                        "empty_set = \"${EMPTY-out.jsonl}\"\n");
  ck_assert(!setting(root, "unset")->from_env);
  ck_assert(!setting(root, "empty")->from_env);
  ck_assert(setting(root, "set")->from_env);
  ck_assert(setting(root, "empty_set")->from_env);
  pl__cfg_destroy(root);
  assert_error(&env, "x = 1\na = \"s3://${BUCKET:?set BUCKET to the bucket}\"\n",
               "t.conf:2:11: BUCKET: set BUCKET to the bucket");
  assert_error(&env, "a = \"${EMPTY:?}\"\n",
               "t.conf:1:6: EMPTY: is empty");
  assert_error(&env, "a = \"${NOT_SET?}\"\n",
               "t.conf:1:6: NOT_SET: environment variable is not set");
  assert_error(&env, "a = \"${bucket_name:?name the ${INPUT} bucket}\"\n",
               "t.conf:1:6: bucket_name: name the /in bucket");
  /* One line, whatever the message holds (a NUL, a newline). */
  assert_error(&env, "a = \"${X?two\\nlines\\u0000 and more}\"\n",
               "t.conf:1:6: X: two lines  and more");
  assert_error(&env, "a = \"${X:?no end\"\n",
               "t.conf:1:6: '${X:?' is not closed: expected '}' after "
               "the message");
  assert_error(&env, "a = \"${X-no end\"\n",
               "t.conf:1:6: '${X-' is not closed: expected '}' after "
               "the default value");
}
END_TEST

START_TEST(test_env_null_and_process) {
  /* Without an environment every variable is unset. */
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  const char *text = "a = \"${HOME:-none} ${x}\"\n";
  ck_assert_int_eq(
      pl__cfg_parse("t.conf", text, strlen(text), NULL, &root, &error), 0);
  ck_assert_str_eq(string_of(root, "a"), "none ${x}");
  pl__cfg_destroy(root);
  error = parse_err_len("a = \"${HOME}\"", 13, NULL);
  ck_assert_str_eq(error, "t.conf:1:6: environment variable HOME is not set "
                          "(use ${HOME:-default} to give a default)");
  free(error);

  ck_assert_int_eq(setenv("PL_CHECK_CONFIG_VAR", "from-process", 1), 0);
  unsetenv("PL_CHECK_CONFIG_UNSET");
  text = "a = \"${PL_CHECK_CONFIG_VAR}\"\nb = \"${PL_CHECK_CONFIG_UNSET:-d}\"";
  ck_assert_int_eq(pl__cfg_parse("t.conf", text, strlen(text),
                                 &pl__cfg_process_env, &root, &error),
                   0);
  ck_assert_str_eq(string_of(root, "a"), "from-process");
  ck_assert_str_eq(string_of(root, "b"), "d");
  pl__cfg_destroy(root);
}
END_TEST

/* Each error case: the input and its exact message. */
static const struct {
  const char *text;
  const char *message;
} error_cases[] = {
    {"a = 1\nsource }\n",
     "t.conf:2:8: expected '=' or '{' after 'source', found '}'"},
    {"source \"s3\" = 1\n",
     "t.conf:1:13: expected '{' after 'source \"s3\"', found '='"},
    {"source\n{\n}\n",
     "t.conf:1:7: expected '=' or '{' after 'source', found end of line"},
    {"a = \"abc\nb = 1\n",
     "t.conf:1:5: unterminated string: expected '\"' before the end of the "
     "line"},
    {"a = \"abc",
     "t.conf:1:5: unterminated string: expected '\"' before the end of the "
     "line"},
    {"x = 1\npipeline \"p\" {\n  source \"s\" {\n    a = 1\n  }\n",
     "t.conf:2:14: block 'pipeline' opened here is not closed (expected '}' "
     "before end of file)"},
    {"a = ",
     "t.conf:1:5: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found end of file"},
    {"a =\nb = 2\n",
     "t.conf:1:4: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found end of line"},
    {"a = foo\n",
     "t.conf:1:5: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found 'foo'"},
    {"a = }\n",
     "t.conf:1:5: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found '}'"},
    {"b {\n  path = \"x\"\n  path = \"y\"\n}\n",
     "t.conf:3:3: duplicate setting 'path' (first set at t.conf:2:3)"},
    {"x { }\nx = 2\n",
     "t.conf:2:1: 'x' is used both as a setting and as a block (first used "
     "at t.conf:1:1)"},
    {"a = 1 2\n",
     "t.conf:1:7: expected a newline or ';' after the value of 'a', found "
     "'2'"},
    {"a = \"x\" \"y\"\n",
     "t.conf:1:9: expected a newline or ';' after the value of 'a', found "
     "\"y\""},
    {"a = \"${INPUT}/${MISSING}\"\n",
     "t.conf:1:15: environment variable MISSING is not set (use "
     "${MISSING:-default} to give a default)"},
    {"a = \"${INPUT\"\n", "t.conf:1:6: '${INPUT' is not closed: expected '}'"},
    {"a = \"${X:-abc\"\n",
     "t.conf:1:6: '${X:-' is not closed: expected '}' after the default "
     "value"},
    {"a = \"ok \\q\"\n",
     "t.conf:1:9: invalid escape '\\q' in string (use \\\" \\\\ \\/ \\n \\t "
     "\\r or \\uXXXX)"},
    {"a = \"\\u12\"\n",
     "t.conf:1:6: invalid escape: \\u needs four hex digits"},
    {"a = \"\\uZZZZ\"\n",
     "t.conf:1:6: invalid escape: \\u needs four hex digits"},
    {"a = \"\\uD800x\"\n",
     "t.conf:1:6: invalid escape: \\uD800 is an unpaired UTF-16 surrogate"},
    {"a = \"\\uDC00\"\n",
     "t.conf:1:6: invalid escape: \\uDC00 is an unpaired UTF-16 surrogate"},
    {"a = \"\\uD800\\u0041\"\n",
     "t.conf:1:6: invalid escape: \\uD800 is an unpaired UTF-16 surrogate"},
    {"a = \"x\\\n\"\n",
     "t.conf:1:5: unterminated string: expected '\"' before the end of the "
     "line"},
    {"a = \"\xff\"\n", "t.conf:1:6: invalid UTF-8 byte 0xff in string"},
    {"a = \"\xc0\xaf\"\n", "t.conf:1:6: invalid UTF-8 byte 0xc0 in string"},
    {"a = \"\xed\xa0\x80\"\n", "t.conf:1:6: invalid UTF-8 byte 0xed in string"},
    {"a = \"x\x01\"\n",
     "t.conf:1:7: control character 0x01 in string (use an escape such as "
     "\\n or \\t)"},
    {"}\n", "t.conf:1:1: unexpected '}' (no block is open)"},
    {"= 1\n", "t.conf:1:1: expected a setting or block name, found '='"},
    {"\"key\" = 1\n",
     "t.conf:1:1: expected a setting or block name, found \"key\""},
    {"1x = 2\n",
     "t.conf:1:1: expected a setting or block name (a letter or '_', then "
     "letters, digits, '_' or '-'), found '1x'"},
    {"a.b = 2\n",
     "t.conf:1:1: expected a setting or block name (a letter or '_', then "
     "letters, digits, '_' or '-'), found 'a.b'"},
    {"a = [1, 2\n\n",
     "t.conf:1:5: list opened here is not closed (expected ']' before end of "
     "file)"},
    {"a = [1 2]\n", "t.conf:1:8: expected ',' or ']' in list, found '2'"},
    {"a = [1,,2]\n", "t.conf:1:8: expected a value or ']' in list, found ','"},
    {"a = [1, }]\n",
     "t.conf:1:9: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found '}'"},
    {"a = @\n", "t.conf:1:5: unexpected character '@'"},
    {"a = 1 \x01\n", "t.conf:1:7: unexpected byte 0x01"},
    {"a = 99999999999999999999\n",
     "t.conf:1:5: number '99999999999999999999' is out of range"},
    {"a = -1e999\n", "t.conf:1:5: number '-1e999' is out of range"},
    {"a = 0.5ms\n",
     "t.conf:1:5: duration '0.5ms' is out of range (it must be a whole "
     "number of milliseconds below 2^64)"},
    {"a = 99999999999GiB\n",
     "t.conf:1:5: size '99999999999GiB' is out of range"},
    {"\t\tb = \"x\" c\n",
     "t.conf:1:11: expected a newline or ';' after the value of 'b', found "
     "'c'"},
    {"a = [\n  1,\n  foo\n]\n",
     "t.conf:3:3: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found 'foo'"},
    {"b { c = 1 ] }",
     "t.conf:1:11: expected a newline or ';' after the value of 'c', found "
     "']'"},
    {"b \"x\\u0000y\" { }",
     "t.conf:1:3: a block label may not contain \\u0000"},
    {"\xef\xbb\xbf"
     "a = 1\n}",
     "t.conf:2:1: unexpected '}' (no block is open)"},
    {"\xef\xbb\xbf a = x",
     "t.conf:1:6: expected a value (a \"string\", number, duration, size, "
     "true/false or [list]), found 'x'"},
    {"a = \"${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-x}}}}}}}}}\"",
     "t.conf:1:46: ${...:-default} values are nested too deeply (the limit "
     "is 8)"},
};

START_TEST(test_error_messages) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  assert_error(&env, error_cases[_i].text, error_cases[_i].message);
}
END_TEST

START_TEST(test_error_long_token_is_shortened) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  char text[300] = "a = ";
  memset(text + 4, 'x', 200);
  text[204] = '\0';
  char *error = parse_err(&env, text);
  ck_assert_str_eq(error, "t.conf:1:5: expected a value (a \"string\", number, "
                          "duration, size, true/false or [list]), found "
                          "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
  free(error);
  /* A label made of escapes still gives a one-line message. */
  error = parse_err(&env, "b \"l\\nx\" = 1");
  ck_assert_str_eq(error, "t.conf:1:10: expected '{' after 'b \"l?x\"', "
                          "found '='");
  free(error);
}
END_TEST

/* Blocks and lists count towards one depth limit, and far deeper input
 * fails cleanly instead of exhausting the stack. */
START_TEST(test_depth_limit) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  enum { limit = 32 };
  char text[2 * 100000 + 16];
  size_t len = 0;
  for (int i = 0; i < limit; i++) {
    memcpy(text + len, "b{", 2);
    len += 2;
  }
  for (int i = 0; i < limit; i++)
    text[len++] = '}';
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__cfg_parse("t.conf", text, len, &env, &root, &error), 0);
  pl__cfg_destroy(root);

  len = 0;
  for (int i = 0; i <= limit; i++) {
    memcpy(text + len, "b{", 2);
    len += 2;
  }
  error = parse_err_len(text, len, &env);
  ck_assert_str_eq(error, "t.conf:1:66: blocks and lists are nested too "
                          "deeply (the limit is 32 levels)");
  free(error);

  /* 31 blocks and one list reach the limit; one more list is too many. */
  len = 0;
  for (int i = 0; i < limit - 1; i++) {
    memcpy(text + len, "b{", 2);
    len += 2;
  }
  memcpy(text + len, "a=[[1]]", 7);
  len += 7;
  error = parse_err_len(text, len, &env);
  ck_assert_str_eq(error, "t.conf:1:66: blocks and lists are nested too "
                          "deeply (the limit is 32 levels)");
  free(error);

  text[0] = 'a';
  text[1] = '=';
  memset(text + 2, '[', 100000);
  error = parse_err_len(text, 100002, &env);
  ck_assert_str_eq(error, "t.conf:1:35: blocks and lists are nested too "
                          "deeply (the limit is 32 levels)");
  free(error);
  memset(text, '{', 100000);
  error = parse_err_len(text, 100000, &env);
  ck_assert_str_eq(error, "t.conf:1:1: expected a setting or block name, "
                          "found '{'");
  free(error);
}
END_TEST

START_TEST(test_input_limits) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  /* Input need not be NUL-terminated and may hold NUL bytes. */
  char exact[5] = {'a', '=', '1', '2', '3'};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__cfg_parse("t.conf", exact, 4, &env, &root, &error), 0);
  ck_assert_int_eq(setting(root, "a")->as.i, 12);
  pl__cfg_destroy(root);
  error = parse_err_len("a = 1\0", 6, &env);
  ck_assert_str_eq(error, "t.conf:1:6: unexpected byte 0x00");
  free(error);
  error = parse_err_len("a = \"x\0\"", 8, &env);
  ck_assert_str_eq(error, "t.conf:1:7: control character 0x00 in string "
                          "(use an escape such as \\n or \\t)");
  free(error);

  size_t big = (size_t)4 * 1024 * 1024 + 1;
  char *text = malloc(big);
  memset(text, '\n', big);
  error = parse_err_len(text, big, &env);
  ck_assert_str_eq(error, "t.conf:1:1: file is too large (the limit is "
                          "4194304 bytes)");
  free(error);

  /* Many distinct settings in one block: duplicates are found without
   * quadratic time, and the last one is a duplicate of the first. */
  size_t len = 0;
  int n = PL_CFG_MAX_ENTRIES - 1;
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, 32, "k%d=1\n", i);
  size_t at_limit = len;
  len += (size_t)snprintf(text + len, 32, "k0=2\n");
  error = parse_err_len(text, len, &env);
  ck_assert_str_eq(error,
                   "t.conf:10000:1: duplicate setting 'k0' (first set at "
                   "t.conf:1:1)");
  free(error);
  /* Past the most entries a block holds (the later checks compare each
   * with those before it: 200,000 took minutes), wherever the block is. */
  len = at_limit;
  for (int i = n; i < 200000; i++)
    len += (size_t)snprintf(text + len, 32, "k%d=1\n", i);
  error = parse_err_len(text, len, &env);
  ck_assert_str_eq(error, "t.conf:10001:1: too many entries in one block "
                          "(the limit is 10000)");
  free(error);
  len = (size_t)snprintf(text, 32, "p {\n");
  for (int i = 0; i <= PL_CFG_MAX_ENTRIES; i++)
    len += (size_t)snprintf(text + len, 32, "s%d {}\n", i);
  len += (size_t)snprintf(text + len, 32, "}\n");
  error = parse_err_len(text, len, &env);
  ck_assert_str_eq(error, "t.conf:10002:1: too many entries in one block "
                          "(the limit is 10000)");
  free(error);
  free(text);
}
END_TEST

static char *data_path(const char *name) {
  /* `make check` exports top_srcdir; a test run by hand finds the data
   * next to this source file. */
  const char *top = getenv("top_srcdir");
  char *path = malloc(4096);
  if (top)
    snprintf(path, 4096, "%s/tests/unit/data/%s", top, name);
  else {
    const char *slash = strrchr(__FILE__, '/');
    int dir_len = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, 4096, "%.*s/data/%s", dir_len, slash ? __FILE__ : ".", name);
  }
  return path;
}

START_TEST(test_parse_file) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  char *path = data_path("pipeline.conf");
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc = pl__cfg_parse_file(path, &env, &root, &error);
  ck_assert_msg(rc == 0, "%s: %s", path, error ? error : "?");
  ck_assert_str_eq(root->loc.file, path);
  ck_assert_str_eq(string_of(root, "log_level"), "info");
  ck_assert_uint_eq(setting(root, "shutdown_timeout")->as.ms, 30000);
  ck_assert_str_eq(string_of(root->children[2], "region"), "eu-west-1");
  pl_cfg_node_t *pipeline = root->children[3];
  ck_assert_str_eq(pipeline->label, "csv-to-sqs");
  ck_assert_uint_eq(pipeline->count, 4);
  pl_cfg_node_t *source = pipeline->children[0];
  ck_assert_str_eq(string_of(source, "path"), "/data/in.csv");
  ck_assert_str_eq(setting(source, "path")->loc.file, path);
  ck_assert_int_eq(setting(source, "path")->loc.line, 12);
  ck_assert_int_eq(setting(source, "path")->loc.col, 18);
  ck_assert_uint_eq(setting(source, "read_size")->as.bytes, 262144);
  ck_assert_uint_eq(setting(pipeline->children[1], "columns")->count, 3);
  ck_assert_double_eq(setting(pipeline->children[2], "max_ratio")->as.d, 0.75);
  pl_cfg_node_t *sink = pipeline->children[3];
  ck_assert_str_eq(string_of(sink, "queue_url"), "http://q");
  ck_assert_str_eq(string_of(sink, "message_id"), "${product_id}#${location}");
  pl__cfg_destroy(root);
  free(path);
}
END_TEST

START_TEST(test_parse_file_errors) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(
      pl__cfg_parse_file("/nonexistent/x.conf", &env, &root, &error),
      PL_ENOENT);
  ck_assert_ptr_null(root);
  ck_assert_str_eq(error, "cannot read /nonexistent/x.conf: No such file or "
                          "directory");
  free(error);

  char dir[] = "/tmp/check_config_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(pl__cfg_parse_file(dir, &env, &root, &error), PL_EIO);
  char expected[512];
  snprintf(expected, sizeof expected, "cannot read %s: %s", dir,
           strerror(EISDIR));
  ck_assert_str_eq(error, expected);
  free(error);

  /* Parse errors name the file as given. */
  char file[256];
  snprintf(file, sizeof file, "%s/bad.conf", dir);
  FILE *fp = fopen(file, "w");
  ck_assert_ptr_nonnull(fp);
  fputs("ok = 1\nbad = nope\n", fp);
  fclose(fp);
  ck_assert_int_eq(pl__cfg_parse_file(file, &env, &root, &error), PL_EPARSE);
  snprintf(expected, sizeof expected,
           "%s:2:7: expected a value (a \"string\", number, duration, "
           "size, true/false or [list]), found 'nope'",
           file);
  ck_assert_str_eq(error, expected);
  free(error);

  /* An empty file is an empty config. */
  fp = fopen(file, "w");
  fclose(fp);
  ck_assert_int_eq(pl__cfg_parse_file(file, &env, &root, &error), 0);
  ck_assert_uint_eq(root->count, 0);
  pl__cfg_destroy(root);
  unlink(file);
  rmdir(dir);
}
END_TEST

START_TEST(test_edge_cases) {
  fake_env_t fake = {.vars = default_vars};
  pl_env_t env = env_of(&fake);
  pl__cfg_destroy(NULL); /* like free(NULL) */

  /* Without a file name, messages still have the usual shape. */
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(pl__cfg_parse(NULL, "a = x", 5, &env, &root, &error),
                   PL_EPARSE);
  ck_assert_str_eq(error, "<config>:1:5: expected a value (a \"string\", "
                          "number, duration, size, true/false or [list]), "
                          "found 'x'");
  free(error);

  /* The edges of well-formed UTF-8 (RFC 3629). */
  root = parse_ok(&env, "a = \"\xe0\xa0\x80 \xf4\x8f\xbf\xbf \xf0\x90\x80\x80"
                        " \xed\x9f\xbf \xc2\x80\"");
  ck_assert_str_eq(string_of(root, "a"), "\xe0\xa0\x80 \xf4\x8f\xbf\xbf "
                                         "\xf0\x90\x80\x80 \xed\x9f\xbf "
                                         "\xc2\x80");
  pl__cfg_destroy(root);
  const char *bad[] = {"a = \"\xe0\x9f\xbf\"",
                       "a = \"\xf4\x90\x80\x80\"",
                       "a = \"\xf0\x8f\xbf\xbf\"",
                       "a = \"\xc1\xbf\"",
                       "a = \"\xe2\x82\"",
                       "a = \"\xf5\x80\x80\x80\"",
                       "a = \"\x80\"",
                       "a = \"\xe2\x28\xa1\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    error = parse_err(&env, bad[i]);
    ck_assert_msg(strncmp(error, "t.conf:1:6: invalid UTF-8 byte 0x", 33) == 0,
                  "%zu: %s", i, error);
    free(error);
  }
  /* A truncated sequence at the very end of the input. */
  error = parse_err_len("a = \"\xe2\x82", 7, &env);
  ck_assert_str_eq(error, "t.conf:1:6: invalid UTF-8 byte 0xe2 in string");
  free(error);

  /* An escape of an unprintable byte is not echoed into the message. */
  assert_error(&env, "a = \"\\\t\"",
               "t.conf:1:6: invalid escape in string (use \\\" \\\\ \\/ "
               "\\n \\t \\r or \\uXXXX)");
  /* A unicode escape cut short by the end of the input. */
  error = parse_err_len("a = \"\\u", 7, &env);
  ck_assert_str_eq(error,
                   "t.conf:1:6: invalid escape: \\u needs four hex digits");
  free(error);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, test_value_kinds);
  tcase_add_test(tc, test_kind_names);
  tcase_add_test(tc, test_blocks);
  tcase_add_test(tc, test_separators_and_comments);
  tcase_add_test(tc, test_lists);
  tcase_add_test(tc, test_string_escapes);
  tcase_add_test(tc, test_env_expansion);
  tcase_add_test(tc, test_env_template_rule);
  tcase_add_test(tc, test_env_operators);
  tcase_add_test(tc, test_env_null_and_process);
  suite_add_tcase(s, tc);

  TCase *errors = tcase_create("errors");
  tcase_add_loop_test(errors, test_error_messages, 0,
                      (int)(sizeof error_cases / sizeof error_cases[0]));
  tcase_add_test(errors, test_error_long_token_is_shortened);
  tcase_add_test(errors, test_depth_limit);
  tcase_add_test(errors, test_input_limits);
  tcase_add_test(errors, test_edge_cases);
  suite_add_tcase(s, errors);

  TCase *files = tcase_create("files");
  tcase_add_test(files, test_parse_file);
  tcase_add_test(files, test_parse_file_errors);
  suite_add_tcase(s, files);
  return s;
}

int main(void) {
  return test_suite_run(config_suite());
}
