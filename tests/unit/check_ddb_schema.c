/* sink-dynamodb's options compiled into a schema (ddb_schema.h): the key
 * templates, the type overrides, the order of newer_than and the checks
 * between them, each refusal with its reason. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/sink-dynamodb/ddb_schema.h"

#include "test_suite.h"

/* Options over string literals (the compiler only reads them), in arrays
 * of their own. */
typedef struct options {
  char *key_names[3], *key_values[3], *type_names[4], *type_values[4];
  char *newer[4];
  pl_map_t key, types;
  pl_list_t newer_than;
  ddb_schema_options_t opts;
} options_t;

static void options_init(options_t *o, const char **key, size_t key_count,
                         const char **types, size_t type_count,
                         const char **newer_than, size_t newer_count) {
  /* Each map is given as names and values, two by two. */
  *o = (options_t){0};
  for (size_t i = 0; i < key_count; i++) {
    o->key_names[i] = (char *)key[2 * i];
    o->key_values[i] = (char *)key[2 * i + 1];
  }
  for (size_t i = 0; i < type_count; i++) {
    o->type_names[i] = (char *)types[2 * i];
    o->type_values[i] = (char *)types[2 * i + 1];
  }
  for (size_t i = 0; i < newer_count; i++)
    o->newer[i] = (char *)newer_than[i];
  o->key = (pl_map_t){key_count, o->key_names, o->key_values};
  o->types = (pl_map_t){type_count, o->type_names, o->type_values};
  o->newer_than = (pl_list_t){newer_count, o->newer};
  o->opts = (ddb_schema_options_t){.table = "inventory",
                                   .key = &o->key,
                                   .types = &o->types,
                                   .newer_than = &o->newer_than,
                                   .version_attribute = "version"};
}

START_TEST(options_become_the_schema) {
  const char *key[] = {"pk", "${product_id}", "sk", "${location}"};
  const char *types[] = {"quantity", "N"};
  const char *newer[] = {"update_date", "@origin_time", "@line"};
  options_t o;
  options_init(&o, key, 2, types, 1, newer, 3);
  ddb_compiled_t c;
  pl_buf_t why = {0};
  ck_assert_int_eq(ddb_schema_compile(&o.opts, &c, &why), 0);
  ck_assert_uint_eq(why.len, 0);
  ck_assert_str_eq(c.schema.table, "inventory");
  ck_assert_uint_eq(c.schema.key_count, 2);
  ck_assert_str_eq(c.schema.keys[1].name, "sk");
  ck_assert_str_eq(pl_template_text(c.schema.keys[0].tpl), "${product_id}");
  ck_assert_uint_eq(c.schema.type_count, 1);
  ck_assert_int_eq(c.schema.types[0].type, DDB_TYPE_N);
  /* Several entries: the version attribute, with the first field as the
   * fallback for items stored without it. */
  ck_assert_str_eq(c.schema.newer_than, "update_date");
  ck_assert_uint_eq(c.schema.order_count, 3);
  ck_assert_str_eq(c.schema.version, "version");
  ddb_schema_close(&c);
  ddb_schema_close(&c); /* closed twice: empty the second time */

  /* One field alone is compared as stored: no version. */
  options_init(&o, key, 1, NULL, 0, newer, 1);
  ck_assert_int_eq(ddb_schema_compile(&o.opts, &c, &why), 0);
  ck_assert_str_eq(c.schema.newer_than, "update_date");
  ck_assert_uint_eq(c.schema.order_count, 0);
  ck_assert_ptr_null(c.schema.version);
  ddb_schema_close(&c);
  /* Metadata alone: the version only. */
  options_init(&o, key, 1, NULL, 0, newer + 2, 1);
  ck_assert_int_eq(ddb_schema_compile(&o.opts, &c, &why), 0);
  ck_assert_ptr_null(c.schema.newer_than);
  ck_assert_uint_eq(c.schema.order_count, 1);
  ck_assert_str_eq(c.schema.version, "version");
  ddb_schema_close(&c);
  pl_buf_free(&why);
}
END_TEST

/* Compiling fails with PL_EINVAL, `message` in the reason, and leaves the
 * compiled schema empty. */
static void assert_refused(options_t *o, const char *message) {
  ddb_compiled_t c;
  pl_buf_t why = {0};
  ck_assert_int_eq(ddb_schema_compile(&o->opts, &c, &why), PL_EINVAL);
  ck_assert_msg(why.data && strstr(why.data, message), "'%s' not in '%s'",
                message, why.data ? why.data : "");
  ck_assert_ptr_null(c.keys);
  ck_assert_ptr_null(c.templates[0]);
  ck_assert_uint_eq(c.schema.key_count, 0);
  pl_buf_free(&why);
}

START_TEST(bad_options_are_refused_with_their_reason) {
  const char *key[] = {"id", "${product_id}"};
  const char *bad_key[] = {"id", "${product_id"};
  const char *types[] = {"quantity", "NUMBER"};
  const char *on_key[] = {"id"};
  const char *empty_meta[] = {"update_date", "@"};
  const char *two[] = {"update_date", "@line"};
  const char *three[] = {"a", "${a}", "b", "${b}", "c", "${c}"};
  options_t o;
  /* The option allows 1 or 2; the schema holds no more either. */
  options_init(&o, three, 3, NULL, 0, NULL, 0);
  assert_refused(&o, "key: 3 attributes; a table's key has 1 or 2");
  options_init(&o, key, 0, NULL, 0, NULL, 0);
  assert_refused(&o, "key: 0 attributes");
  options_init(&o, bad_key, 1, NULL, 0, NULL, 0);
  assert_refused(&o, "key: 'id': ");
  options_init(&o, key, 1, types, 1, NULL, 0);
  assert_refused(&o, "types: 'quantity' = \"NUMBER\" is not a DynamoDB type "
                     "(S, N, BOOL, NULL, M or L)");
  options_init(&o, key, 1, NULL, 0, on_key, 1);
  assert_refused(&o, "option 'newer_than' names the key attribute 'id'");
  options_init(&o, key, 1, NULL, 0, empty_meta, 2);
  assert_refused(&o, "newer_than: '@' names no field nor metadata");
  options_init(&o, key, 1, NULL, 0, two, 2);
  o.opts.version_attribute = "id";
  assert_refused(&o, "option 'version_attribute' names the key attribute 'id'");
}
END_TEST

static Suite *ddb_schema_suite(void) {
  Suite *s = suite_create("ddb_schema");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, options_become_the_schema);
  tcase_add_test(tc, bad_options_are_refused_with_their_reason);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(ddb_schema_suite());
}
