/* sink-dynamodb: the item encoding on its own, and whole pipelines
 * through the engine in-process against a scripted DynamoDB
 * (<pipelined/testing.h>). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/sink-dynamodb/ddb_item.h"
#include "../../plugins/sink-dynamodb/ddb_response.h"
#include <pipelined/testing.h>

#include "test_ddb.h"
#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- Helpers ---- */

/* sink-dynamodb under the harness of <pipelined/testing.h>, its AWS client
 * talking to a scripted server on the harness's loop. */
typedef struct fixture {
  pl_test_t *t;
  pl_test_http_t *server;
} fixture_t;

static fixture_t *fixture_create(void) {
  fixture_t *f = calloc(1, sizeof(*f));
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &f->t), 0);
  f->server = pl_test_aws_server(f->t);
  ck_assert_ptr_nonnull(f->server);
  return f;
}

/* Closes the harness and its server; fails the test when a handle was
 * left open. */
static void fixture_free(fixture_t *f) {
  ck_assert_int_eq(pl_test_destroy(f->t), 0);
  free(f);
}

/* sink-dynamodb writing table "t" (key id = "${id}") with `sink_extra`
 * settings, fed `records` (JSON texts) in one group; `aws_extra` replaces
 * the aws block's "max_attempts = 1". Runs it and asserts it started. */
static void run_records(fixture_t *f, const char *const *records, size_t count,
                        const char *aws_extra, const char *sink_extra) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "aws { %s }",
                aws_extra ? aws_extra : "max_attempts = 1");
  pl_test_set_globals(f->t, text.data);
  pl_buf_reset(&text);
  pl_buf_printf(&text,
                "table = \"t\"\n"
                "retry_backoff = \"1ms\"\n"
                "key { id = \"${id}\" }\n"
                "%s",
                sink_extra);
  pl_test_set_options(f->t, text.data);
  pl_buf_free(&text);
  for (size_t i = 0; i < count; i++)
    ck_assert_int_eq(pl_test_feed_record(f->t, records[i]), 0);
  test_plugin_run(f->t, 30000);
}

/* Queues one answer of the server, for any request. */
static void push(fixture_t *f, int status, const char *headers,
                 const char *body) {
  pl_test_http_push(f->server, &(pl_test_http_response_t){.status = status,
                                                          .headers = headers,
                                                          .body = body});
}

/* The parsed body of the i-th request the server saw (new reference). */
static json_t *request_body(fixture_t *f, size_t i) {
  ck_assert_uint_gt(pl_test_http_request_count(f->server), i);
  json_t *body = pl_test_http_request_json(f->server, i);
  ck_assert_msg(body != NULL, "request %zu: the body is not JSON", i);
  return body;
}

/* run_records() of `count` records "{\"id\":\"ki\",\"n\":i}", i in
 * 1..count. */
static void run_numbered(fixture_t *f, size_t count, const char *aws_extra,
                         const char *sink_extra) {
  char **texts = calloc(count, sizeof(*texts));
  for (size_t i = 0; i < count; i++) {
    pl_buf_t text = {0};
    pl_buf_printf(&text, "{\"id\":\"k%zu\",\"n\":%zu}", i + 1, i + 1);
    texts[i] = text.data;
  }
  run_records(f, (const char *const *)texts, count, aws_extra, sink_extra);
  for (size_t i = 0; i < count; i++)
    free(texts[i]);
  free(texts);
}

/* The items of the requests, of the i-th request: a BatchWriteItem's
 * PutRequest items of table "t" (new reference). */
static json_t *request_items(fixture_t *f, size_t i) {
  json_t *body = request_body(f, i);
  json_t *writes = json_object_get(json_object_get(body, "RequestItems"), "t");
  ck_assert_msg(json_is_array(writes), "request %zu is no BatchWriteItem", i);
  json_t *items = json_array();
  size_t w;
  json_t *write;
  json_array_foreach(writes, w, write) {
    json_t *item =
        json_object_get(json_object_get(write, "PutRequest"), "Item");
    ck_assert_ptr_nonnull(item);
    json_array_append(items, item);
  }
  json_decref(body);
  return items;
}

/* The S value of attribute `name` of an item. */
static const char *s_of(const json_t *item, const char *name) {
  return json_string_value(json_object_get(json_object_get(item, name), "S"));
}

static const char *n_attr(const json_t *item, const char *name) {
  return json_string_value(json_object_get(json_object_get(item, name), "N"));
}

static char *target_of(fixture_t *f, size_t i) {
  return pl_test_http_request_header(pl_test_http_request(f->server, i),
                                     "X-Amz-Target");
}

static void push_ok(fixture_t *f, size_t times) {
  for (size_t i = 0; i < times; i++)
    push(f, 200, NULL, "{\"UnprocessedItems\":{}}");
}

/* Queues one DynamoDB error answer: `status`, `headers` and a body of
 * __type "com.amazonaws.dynamodb.v20120810#`type`" and `message`. */
static void push_error(fixture_t *f, int status, const char *headers,
                       const char *type, const char *message) {
  pl_buf_t body = {0};
  pl_buf_printf(&body,
                "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\","
                "\"message\":\"%s\"}",
                type, message);
  push(f, status, headers, body.data);
  pl_buf_free(&body);
}

/* Asserts the N values of attribute "n" of the items of requests 0 to
 * count - 1: want[i] is request i's, in order, separated by spaces
 * ("1 2"). */
static void assert_request_ns(fixture_t *f, const char *const *want,
                              size_t count) {
  for (size_t i = 0; i < count; i++) {
    json_t *items = request_items(f, i);
    pl_buf_t ns = {0};
    size_t k;
    json_t *item;
    json_array_foreach(items, k, item)
        pl_buf_printf(&ns, "%s%s", k ? " " : "", n_attr(item, "n"));
    ck_assert_str_eq(ns.data, want[i]);
    pl_buf_free(&ns);
    json_decref(items);
  }
}

/* ---- Encoding on its own ---- */

START_TEST(numbers_are_exact_decimal_text) {
  struct {
    json_t *value;
    const char *text;
  } cases[] = {
      {json_integer(42), "42"},
      {json_integer(-7), "-7"},
      {json_integer(9007199254740993LL), "9007199254740993"},
      {json_real(0.1), "0.1"},
      {json_real(2.5), "2.5"},
      {json_real(0.1 + 0.2), "0.30000000000000004"},
      {json_real(3.141592653589793), "3.141592653589793"},
      {json_real(1e300), "1e+300"},
      {json_real(-0.5), "-0.5"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_buf_t text = {0};
    ck_assert_int_eq(ddb_number_text(cases[i].value, &text), 0);
    ck_assert_str_eq(text.data, cases[i].text);
    pl_buf_free(&text);
    json_decref(cases[i].value);
  }
  pl_buf_t text = {0};
  json_t *s = json_string("1");
  ck_assert_int_eq(ddb_number_text(s, &text), PL_EINVAL);
  json_decref(s);
  ck_assert(ddb_number_valid("42"));
  ck_assert(ddb_number_valid("-0.5"));
  ck_assert(ddb_number_valid("1.5E+3"));
  ck_assert(ddb_number_valid(".5"));
  ck_assert(!ddb_number_valid(""));
  ck_assert(!ddb_number_valid("abc"));
  ck_assert(!ddb_number_valid("4 2"));
  ck_assert(!ddb_number_valid("1e"));
  ck_assert(!ddb_number_valid("-"));
  ck_assert(!ddb_number_valid("0x10"));
}
END_TEST

START_TEST(every_json_type_has_its_attribute_type) {
  test_ddb_records_t *r = test_ddb_records_create("${id}", NULL);
  ddb_schema_t schema = {.table = "t", .keys = r->keys, .key_count = 1};
  pl_record_t *rec = test_ddb_record(
      r, "{\"id\":\"P1\",\"s\":\"x\",\"e\":\"\",\"i\":42,\"r\":0.1,"
         "\"big\":1e300,\"t\":true,\"f\":false,\"z\":null,"
         "\"o\":{\"a\":1,\"b\":[true,\"y\"]},\"l\":[1,\"two\",null],"
         "\"eo\":{},\"el\":[]}");
  pl_buf_t why = {0};
  json_t *item = ddb_item_encode(&schema, rec, &why);
  ck_assert_msg(item != NULL, "%s", why.data);
  test_ddb_assert_json(
      item, "{\"id\":{\"S\":\"P1\"},\"s\":{\"S\":\"x\"},\"e\":{\"S\":\"\"},"
            "\"i\":{\"N\":\"42\"},\"r\":{\"N\":\"0.1\"},"
            "\"big\":{\"N\":\"1e+300\"},\"t\":{\"BOOL\":true},"
            "\"f\":{\"BOOL\":false},\"z\":{\"NULL\":true},"
            "\"o\":{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"L\":[{\"BOOL\":true},"
            "{\"S\":\"y\"}]}}},"
            "\"l\":{\"L\":[{\"N\":\"1\"},{\"S\":\"two\"},{\"NULL\":true}]},"
            "\"eo\":{\"M\":{}},\"el\":{\"L\":[]}}");
  json_decref(item);
  /* Not an object: rejected with the reason. */
  rec = test_ddb_record(r, "[1,2]");
  ck_assert_ptr_null(ddb_item_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "the record is not a JSON object");
  pl_buf_free(&why);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(types_override_the_json_type) {
  test_ddb_records_t *r = test_ddb_records_create("${id}", NULL);
  ddb_override_t types[] = {
      {"qty", DDB_TYPE_N},  {"code", DDB_TYPE_S}, {"flag", DDB_TYPE_BOOL},
      {"obj", DDB_TYPE_S},  {"js", DDB_TYPE_M},   {"arr", DDB_TYPE_L},
      {"gone", DDB_TYPE_N}, {"real", DDB_TYPE_S}, {"nothing", DDB_TYPE_NULL},
  };
  ddb_schema_t schema = {.table = "t",
                         .keys = r->keys,
                         .key_count = 1,
                         .types = types,
                         .type_count = 9};
  pl_record_t *rec = test_ddb_record(
      r, "{\"id\":\"a\",\"qty\":\"42\",\"code\":7,\"flag\":\"true\","
         "\"obj\":{\"a\":1},\"js\":\"{\\\"k\\\":\\\"v\\\"}\","
         "\"arr\":\"[1]\",\"gone\":null,\"real\":2.5,\"nothing\":\"\"}");
  pl_buf_t why = {0};
  json_t *item = ddb_item_encode(&schema, rec, &why);
  ck_assert_msg(item != NULL, "%s", why.data);
  test_ddb_assert_json(
      item, "{\"id\":{\"S\":\"a\"},\"qty\":{\"N\":\"42\"},"
            "\"code\":{\"S\":\"7\"},\"flag\":{\"BOOL\":true},"
            "\"obj\":{\"S\":\"{\\\"a\\\":1}\"},"
            "\"js\":{\"M\":{\"k\":{\"S\":\"v\"}}},"
            "\"arr\":{\"L\":[{\"N\":\"1\"}]},\"gone\":{\"NULL\":true},"
            "\"real\":{\"S\":\"2.5\"},\"nothing\":{\"NULL\":true}}");
  json_decref(item);
  /* A string forced to N must be a number. */
  rec = test_ddb_record(r, "{\"id\":\"a\",\"qty\":\"4 2\"}");
  ck_assert_ptr_null(ddb_item_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data,
                   "field 'qty': \"4 2\" is not a number (types: qty = \"N\")");
  pl_buf_reset(&why);
  rec = test_ddb_record(r, "{\"id\":\"a\",\"flag\":\"yes\"}");
  ck_assert_ptr_null(ddb_item_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "field 'flag': \"yes\" is not true or false "
                             "(types: flag = \"BOOL\")");
  pl_buf_reset(&why);
  rec = test_ddb_record(r, "{\"id\":\"a\",\"js\":\"[1]\"}");
  ck_assert_ptr_null(ddb_item_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "field 'js': the text is not a JSON object "
                             "(types: js = \"M\")");
  pl_buf_free(&why);
  ddb_type_t type;
  ck_assert_int_eq(ddb_type_parse("BOOL", &type), 0);
  ck_assert_int_eq(type, DDB_TYPE_BOOL);
  ck_assert_int_eq(ddb_type_parse("SS", &type), PL_EINVAL);
  ck_assert_int_eq(ddb_type_parse("n", &type), PL_EINVAL);
  test_ddb_records_free(r);
}
END_TEST

/* A string may hold a NUL (a body's \u0000): written whole as S, and
 * never read up to the NUL as a number, a boolean, null or JSON. */
START_TEST(a_nul_inside_a_string_is_kept_or_refused_never_cut) {
  pl_buf_t why = {0};
  json_t *text = json_stringn("a\0b", 3);
  json_t *attr = ddb_value_encode(text, DDB_TYPE_S, &why);
  ck_assert_ptr_nonnull(attr);
  const json_t *s = json_object_get(attr, "S");
  ck_assert_uint_eq(json_string_length(s), 3);
  ck_assert_int_eq(memcmp(json_string_value(s), "a\0b", 3), 0);
  json_decref(attr);
  attr = ddb_value_encode(text, DDB_TYPE_AUTO, &why);
  json_t *want = json_pack("{s:s%}", "S", "a\0b", (size_t)3);
  ck_assert(json_equal(attr, want));
  json_decref(want);
  json_decref(attr);
  json_decref(text);
  static const struct {
    const char *bytes;
    size_t len;
    ddb_type_t type;
  } cut[] = {
      {"7\0x", 3, DDB_TYPE_N},   {"true\0x", 6, DDB_TYPE_BOOL},
      {"\0", 1, DDB_TYPE_NULL},  {"{}\0x", 4, DDB_TYPE_M},
      {"[1]\0x", 5, DDB_TYPE_L},
  };
  for (size_t i = 0; i < sizeof(cut) / sizeof(*cut); i++) {
    text = json_stringn(cut[i].bytes, cut[i].len);
    pl_buf_reset(&why);
    attr = ddb_value_encode(text, cut[i].type, &why);
    char *dump = attr ? json_dumps(attr, JSON_COMPACT) : NULL;
    ck_assert_msg(attr == NULL, "case %zu encoded as %s", i, dump);
    ck_assert_uint_gt(why.len, 0);
    json_decref(text);
  }
  pl_buf_free(&why);
  /* Items left unprocessed are found by such keys too: a key that could
   * not be read back would have its item sent again and again. */
  const char *keys[2] = {"{\"id\":{\"S\":\"a\\u0000b\"}}",
                         "{\"id\":{\"S\":\"c\\u0000d\"}}"};
  json_t *result =
      json_loads("{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":"
                 "{\"id\":{\"S\":\"a\\u0000b\"},\"q\":{\"N\":\"1\"}}}}]}}",
                 JSON_ALLOW_NUL, NULL);
  ck_assert_ptr_nonnull(result);
  bool unprocessed[2];
  ck_assert_uint_eq(ddb_unprocessed(result, "t", keys, 2, unprocessed), 1);
  ck_assert(unprocessed[0] && !unprocessed[1]);
  json_decref(result);
  /* And the answer that lists it is read. */
  const char *answer = "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":"
                       "{\"Item\":{\"id\":{\"S\":\"a\\u0000b\"}}}}]}}";
  json_error_t error;
  ck_assert_int_eq(ddb_answer_read(answer, strlen(answer), &result, &error), 0);
  json_decref(result);
}
END_TEST

START_TEST(key_templates_build_the_key) {
  test_ddb_records_t *r =
      test_ddb_records_create("${product_id}#${location}", "${@line}");
  ddb_schema_t schema = {.table = "t", .keys = r->keys, .key_count = 2};
  pl_record_t *rec =
      test_ddb_record(r, "{\"product_id\":\"P1\",\"location\":\"Warehouse A\","
                         "\"id\":\"ignored\",\"q\":1}");
  pl_record_set_line(rec, 7);
  pl_buf_t why = {0};
  json_t *key = ddb_key_encode(&schema, rec, &why);
  ck_assert_msg(key != NULL, "%s", why.data);
  test_ddb_assert_json(
      key, "{\"id\":{\"S\":\"P1#Warehouse A\"},\"sk\":{\"S\":\"7\"}}");
  json_decref(key);
  /* A field named like a key attribute: the key wins. */
  json_t *item = ddb_item_encode(&schema, rec, &why);
  ck_assert_msg(item != NULL, "%s", why.data);
  ck_assert_str_eq(s_of(item, "id"), "P1#Warehouse A");
  ck_assert_str_eq(s_of(item, "product_id"), "P1");
  ck_assert_str_eq(n_attr(item, "q"), "1");
  json_decref(item);
  rec = test_ddb_record(r, "{\"product_id\":\"P1\"}");
  pl_record_set_line(rec, 8);
  ck_assert_ptr_null(ddb_key_encode(&schema, rec, &why));
  ck_assert_str_eq(why.data, "key 'id': field 'location' is missing (or null)");
  pl_buf_reset(&why);
  test_ddb_records_t *e = test_ddb_records_create("${a}${b}", NULL);
  ddb_schema_t empty = {.table = "t", .keys = e->keys, .key_count = 1};
  rec = test_ddb_record(e, "{\"a\":\"\",\"b\":\"\"}");
  ck_assert_ptr_null(ddb_key_encode(&empty, rec, &why));
  ck_assert_str_eq(why.data,
                   "key 'id' is empty (${a}${b}); DynamoDB refuses empty keys");
  pl_buf_free(&why);
  test_ddb_records_free(e);
  test_ddb_records_free(r);
}
END_TEST

START_TEST(unprocessed_items_are_found_by_key) {
  const char *keys[3] = {
      "{\"id\":{\"S\":\"a\"}}",
      "{\"id\":{\"S\":\"b\"}}",
      "{\"id\":{\"S\":\"c\"}}",
  };
  json_t *result = json_loads(
      "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":"
      "{\"id\":{\"S\":\"c\"},\"n\":{\"N\":\"1\"}}}},"
      "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"a\"}}}},"
      "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"zz\"}}}}],"
      "\"other\":[{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"b\"}}}}]}}",
      0, NULL);
  bool unprocessed[3];
  ck_assert_uint_eq(ddb_unprocessed(result, "t", keys, 3, unprocessed), 2);
  ck_assert(unprocessed[0] && !unprocessed[1] && unprocessed[2]);
  /* A key that cannot be read back is sent again, never counted as
   * written. */
  const char *unreadable[2] = {"{\"id\":", keys[1]};
  ck_assert_uint_eq(ddb_unprocessed(result, "t", unreadable, 2, unprocessed),
                    1);
  ck_assert(unprocessed[0] && !unprocessed[1]);
  json_decref(result);
  result = json_loads("{\"UnprocessedItems\":{}}", 0, NULL);
  ck_assert_uint_eq(ddb_unprocessed(result, "t", keys, 3, unprocessed), 0);
  json_decref(result);
  pl_aws_error_t error = {.status = 400, .code = "ValidationException"};
  ck_assert_int_eq(ddb_error_outcome(&error, 1, false), DDB_OUTCOME_REJECT);
  ck_assert_int_eq(ddb_error_outcome(&error, 2, false), DDB_OUTCOME_SPLIT);
  error.code = "ConditionalCheckFailedException";
  ck_assert_int_eq(ddb_error_outcome(&error, 1, true), DDB_OUTCOME_STALE);
  ck_assert_int_eq(ddb_error_outcome(&error, 1, false), DDB_OUTCOME_FAIL);
  error.code = "ResourceNotFoundException";
  ck_assert_int_eq(ddb_error_outcome(&error, 1, false), DDB_OUTCOME_FAIL);
  error = (pl_aws_error_t){.status = 400,
                           .code = "ProvisionedThroughputExceededException",
                           .retryable = true};
  ck_assert_int_eq(ddb_error_outcome(&error, 1, false), DDB_OUTCOME_FAIL);
}
END_TEST

/* The usual answers are recognized whole; any other text is parsed, and
 * text that is not JSON is an error. */
START_TEST(answers_are_read_whole_or_parsed) {
  json_t *result = json_true();
  json_error_t error;
  const char *usual[] = {"", "{}", "{\"UnprocessedItems\":{}}"};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(
        ddb_answer_read(usual[i], strlen(usual[i]), &result, &error), 0);
    ck_assert_ptr_null(result);
  }
  const char *spaced = "{ \"UnprocessedItems\": {} }";
  ck_assert_int_eq(ddb_answer_read(spaced, strlen(spaced), &result, &error),
                   0);
  ck_assert(json_is_object(json_object_get(result, "UnprocessedItems")));
  json_decref(result);
  const char *left = "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":"
                     "{\"Item\":{\"id\":{\"S\":\"a\"}}}}]}}";
  ck_assert_int_eq(ddb_answer_read(left, strlen(left), &result, &error), 0);
  const char *key = "{\"id\":{\"S\":\"a\"}}";
  bool unprocessed[1];
  ck_assert_uint_eq(ddb_unprocessed(result, "t", &key, 1, unprocessed), 1);
  json_decref(result);
  /* "{}" and a prefix of it are not the usual answer. */
  ck_assert_int_eq(ddb_answer_read("{}x", 3, &result, &error), PL_EPARSE);
  ck_assert_ptr_null(result);
  ck_assert_int_eq(ddb_answer_read("{", 1, &result, &error), PL_EPARSE);
  ck_assert_ptr_null(result);
}
END_TEST

START_TEST(batch_text_wraps_the_items) {
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "x");
  const char *items[] = {"{\"id\":{\"S\":\"a\"}}", "{\"id\":{\"S\":\"b\"}}"};
  size_t lens[] = {strlen(items[0]), strlen(items[1])};
  ck_assert_int_eq(ddb_batch_text("t\"1", items, lens, 2, &out), 0);
  ck_assert_str_eq(out.data,
                   "x{\"RequestItems\":{\"t\\\"1\":["
                   "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"a\"}}}},"
                   "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"b\"}}}}]}}");
  json_t *body = json_loads(out.data + 1, 0, NULL);
  ck_assert_ptr_nonnull(body);
  json_decref(body);
  pl_buf_free(&out);
}
END_TEST

/* ---- put mode ---- */

START_TEST(put_sends_batch_write_item_of_25) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  run_numbered(f, 60, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  size_t sizes[3];
  bool seen[61] = {false};
  for (size_t i = 0; i < 3; i++) {
    char *target = target_of(f, i);
    ck_assert_str_eq(target, "DynamoDB_20120810.BatchWriteItem");
    free(target);
    json_t *items = request_items(f, i);
    sizes[i] = json_array_size(items);
    size_t k;
    json_t *item;
    json_array_foreach(items, k, item) {
      int n = atoi(n_attr(item, "n"));
      ck_assert_int_ge(n, 1);
      ck_assert_int_le(n, 60);
      ck_assert(!seen[n]);
      seen[n] = true;
      char id[16];
      snprintf(id, sizeof(id), "k%d", n);
      ck_assert_str_eq(s_of(item, "id"), id);
      ck_assert_uint_eq(json_object_size(item), 2);
    }
    json_decref(items);
  }
  /* Requests may arrive in any order: 25, 25 and 10 items. */
  size_t small = 0, full = 0;
  for (size_t i = 0; i < 3; i++) {
    small += sizes[i] == 10;
    full += sizes[i] == 25;
  }
  ck_assert_uint_eq(small, 1);
  ck_assert_uint_eq(full, 2);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "requests"), 3);
  ck_assert_uint_eq(pl_test_counter(f->t, "items_written"), 60);
  fixture_free(f);
}
END_TEST

START_TEST(a_larger_batch_size_is_split_into_requests_of_25) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  run_numbered(f, 60, NULL, "batch_size = 100\n linger = \"1s\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  size_t total = 0;
  for (size_t i = 0; i < 3; i++) {
    json_t *items = request_items(f, i);
    ck_assert_uint_le(json_array_size(items), 25);
    total += json_array_size(items);
    json_decref(items);
  }
  ck_assert_uint_eq(total, 60);
  fixture_free(f);
}
END_TEST

START_TEST(unprocessed_items_are_resent_alone) {
  fixture_t *f = fixture_create();
  push(f, 200, NULL,
       "{\"UnprocessedItems\":{\"t\":["
       "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"k1\"},"
       "\"n\":{\"N\":\"1\"}}}},"
       "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"k3\"},"
       "\"n\":{\"N\":\"3\"}}}}]}}");
  push_ok(f, 1);
  run_numbered(f, 4, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  json_t *first = request_items(f, 0);
  ck_assert_uint_eq(json_array_size(first), 4);
  json_decref(first);
  json_t *again = request_items(f, 1);
  ck_assert_uint_eq(json_array_size(again), 2);
  ck_assert_str_eq(s_of(json_array_get(again, 0), "id"), "k1");
  ck_assert_str_eq(s_of(json_array_get(again, 1), "id"), "k3");
  json_decref(again);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 4);
  ck_assert_uint_eq(pl_test_counter(f->t, "unprocessed"), 2);
  ck_assert_uint_eq(pl_test_counter(f->t, "items_written"), 4);
  fixture_free(f);
}
END_TEST

START_TEST(unprocessed_items_fail_after_the_retry_limit) {
  fixture_t *f = fixture_create();
  const char *left = "{\"UnprocessedItems\":{\"t\":["
                     "{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"k2\"},"
                     "\"n\":{\"N\":\"2\"}}}}]}}";
  for (int i = 0; i < 3; i++)
    push(f, 200, NULL, left);
  run_numbered(f, 2, NULL, "retry_limit = 2");
  ck_assert_int_eq(pl_test_status(f->t), 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->failed, 1);
  fixture_free(f);
}
END_TEST

START_TEST(duplicate_keys_go_in_successive_requests) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  const char *records[] = {
      "{\"id\":\"a\",\"n\":1}",
      "{\"id\":\"b\",\"n\":2}",
      "{\"id\":\"a\",\"n\":3}",
      "{\"id\":\"a\",\"n\":4}",
  };
  run_records(f, records, 4, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  assert_request_ns(f, (const char *const[]){"1 2", "3", "4"}, 3);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 4);
  fixture_free(f);
}
END_TEST

START_TEST(a_later_write_of_a_key_waits_for_a_failed_earlier_one) {
  fixture_t *f = fixture_create();
  /* a(1) is left unprocessed: a(3) must not overtake it. */
  push(f, 200, NULL,
       "{\"UnprocessedItems\":{\"t\":[{\"PutRequest\":{\"Item\":"
       "{\"id\":{\"S\":\"a\"},\"n\":{\"N\":\"1\"}}}}]}}");
  push_ok(f, 2);
  const char *records[] = {
      "{\"id\":\"a\",\"n\":1}",
      "{\"id\":\"b\",\"n\":2}",
      "{\"id\":\"a\",\"n\":3}",
  };
  run_records(f, records, 3, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  assert_request_ns(f, (const char *const[]){"1 2", "1", "3"}, 3);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(test_ddb_records_that_cannot_be_items_are_rejected) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  const char *records[] = {
      "{\"id\":\"a\",\"q\":\"7\"}",
      "{\"n\":2}",
      "{\"id\":\"c\",\"q\":\"x\"}",
  };
  run_records(f, records, 3, NULL, "types { q = \"N\" }");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  json_t *items = request_items(f, 0);
  ck_assert_uint_eq(json_array_size(items), 1);
  ck_assert_str_eq(n_attr(json_array_get(items, 0), "q"), "7");
  json_decref(items);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 2);
  ck_assert_str_eq(pl_test_dead_letter_reason(f->t, 0),
                   "key 'id': field 'id' is missing (or null)");
  ck_assert_str_eq(pl_test_dead_letter_reason(f->t, 1),
                   "field 'q': \"x\" is not a number (types: q = \"N\")");
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

/* A record's own fault (a key that is not the table's is the config's:
 * a_key_that_is_not_the_tables_fails_without_dead_lettering). */
/* A record that is not an object is refused for that, in either mode,
 * before its key is looked for. */
START_TEST(a_record_that_is_not_an_object_is_named_so) {
  for (int update = 0; update < 2; update++) {
    fixture_t *f = fixture_create();
    const char *records[] = {"[1,2]", "42"};
    run_records(f, records, 2, NULL, update ? "mode = \"update\"" : "");
    test_plugin_assert_clean(f->t);
    ck_assert_uint_eq(pl_test_http_request_count(f->server), 0);
    ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 2);
    for (size_t i = 0; i < 2; i++)
      ck_assert_str_eq(pl_test_dead_letter_reason(f->t, i),
                       "the record is not a JSON object");
    fixture_free(f);
  }
}
END_TEST

static const char *validation =
    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ValidationException\","
    "\"message\":\"Item size has exceeded the maximum allowed size\"}";

START_TEST(a_validation_exception_goes_to_the_dead_letter) {
  fixture_t *f = fixture_create();
  push(f, 400, NULL, validation);
  run_numbered(f, 1, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  const char *reason = pl_test_dead_letter_reason(f->t, 0);
  ck_assert_ptr_nonnull(strstr(reason, "ValidationException: Item size has "
                                       "exceeded the maximum allowed size"));
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->rejected, 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_refused_batch_is_resent_item_by_item) {
  fixture_t *f = fixture_create();
  push(f, 400, NULL, validation);
  push_ok(f, 1);
  push(f, 400, NULL, validation);
  push_ok(f, 1);
  run_numbered(f, 3, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 4);
  for (size_t i = 1; i < 4; i++) {
    json_t *items = request_items(f, i);
    ck_assert_uint_eq(json_array_size(items), 1);
    json_decref(items);
  }
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_500_is_retried_by_the_aws_layer) {
  fixture_t *f = fixture_create();
  push_error(f, 500, NULL, "InternalServerError", "boom");
  push_ok(f, 1);
  run_numbered(f, 3, "max_attempts = 3", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  json_t *items = request_items(f, 1);
  ck_assert_uint_eq(json_array_size(items), 3);
  json_decref(items);
  /* The layer retried: the engine did not see a failure. */
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 0);
  ck_assert_uint_eq(pl_test_counter(f->t, "requests"), 1);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_500_the_layer_gave_up_on_fails_and_the_engine_retries) {
  fixture_t *f = fixture_create();
  push_error(f, 500, NULL, "InternalServerError", "boom");
  push_ok(f, 1);
  run_numbered(f, 2, NULL, "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

/* A 200 whose body is not JSON: the records fail (the engine retries
 * them), none is taken as written, and the log does not call it lasting. */
START_TEST(an_answer_that_is_not_json_fails_the_records) {
  fixture_t *f = fixture_create();
  for (int i = 0; i < 2; i++)
    push(f, 200, NULL, "{\"UnprocessedItems\":");
  run_numbered(f, 2, NULL, "retry_limit = 1");
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "InvalidResponse"));
  ck_assert_msg(!strstr(pl_test_log(f->t), "retrying will not help"), "%s",
                pl_test_log(f->t));
  fixture_free(f);
}
END_TEST

START_TEST(a_missing_table_fails_without_dead_lettering) {
  fixture_t *f = fixture_create();
  for (int i = 0; i < 2; i++)
    push_error(f, 400, NULL, "ResourceNotFoundException",
               "Requested resource not found");
  run_numbered(f, 2, NULL, "retry_limit = 1");
  ck_assert_int_eq(pl_test_status(f->t), 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  const char *log = pl_test_log(f->t);
  ck_assert_ptr_nonnull(
      strstr(log, "ResourceNotFoundException: Requested resource not found"));
  ck_assert_ptr_nonnull(strstr(log, "rather than go to the dead letter"));
  fixture_free(f);
}
END_TEST

/* A table whose key is not the config's (another name, or of type N):
 * DynamoDB refuses every write with a ValidationException about the key.
 * That is the config's mistake, not the records': they fail (the source
 * keeps them) instead of filling the dead letter, and the log says what
 * is wrong. */
START_TEST(a_key_that_is_not_the_tables_fails_without_dead_lettering) {
  static const char *const messages[] = {
      "One or more parameter values were invalid: Type mismatch for key id "
      "expected: N actual: S",
      "The provided key element does not match the schema",
      "One or more parameter values were invalid: Missing the key pk in the "
      "item",
  };
  for (size_t m = 0; m < 3; m++) {
    fixture_t *f = fixture_create();
    for (int i = 0; i < 2; i++)
      push_error(f, 400, NULL, "ValidationException", messages[m]);
    run_numbered(f, 2, NULL,
                 m == 1 ? "retry_limit = 1\n mode = \"update\""
                        : "retry_limit = 1");
    const char *log = pl_test_log(f->t);
    ck_assert_msg(pl_test_dead_letter_count(f->t) == 0, "%s: dead-lettered",
                  messages[m]);
    ck_assert_uint_eq(pl_test_failed(f->t), 1);
    ck_assert_ptr_nonnull(
        strstr(log, "the table's key is not the key the config gives"));
    ck_assert_ptr_nonnull(strstr(log, messages[m]));
    fixture_free(f);
  }
}
END_TEST

START_TEST(a_refusal_that_repeats_is_logged_once_then_its_recovery) {
  fixture_t *f = fixture_create();
  /* Each refusal has its own request id, so no two lines are the same. */
  static const char *const ids[] = {"x-amzn-RequestId: REQ1\r\n",
                                    "x-amzn-RequestId: REQ2\r\n",
                                    "x-amzn-RequestId: REQ3\r\n"};
  for (int i = 0; i < 3; i++)
    push_error(f, 400, ids[i], "AccessDeniedException", "not authorized");
  push_ok(f, 1);
  /* The first record is refused three times and fails; the second, in a
   * batch of its own after it, is written. */
  run_numbered(f, 2, NULL,
               "retry_limit = 2\n batch_size = 1\n"
               " max_in_flight = 1");
  ck_assert_int_eq(pl_test_status(f->t), 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 4);
  const char *log = pl_test_log(f->t);
  size_t lines = 0;
  for (const char *p = log;
       (p = strstr(p, "rather than go to the dead letter")); p++)
    lines++;
  /* A loaded machine may need more than the first second: two lines. */
  ck_assert_msg(lines >= 1 && lines <= 2, "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "(request id REQ1)"));
  ck_assert_msg(strstr(log, "t accepts writes again (recovered after 3 "
                            "failure(s))") != NULL,
                "%s", log);
  fixture_free(f);
}
END_TEST

/* ---- update mode ---- */

START_TEST(update_sends_one_update_item_per_record) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  run_numbered(f, 3, NULL, "mode = \"update\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  bool seen[4] = {false};
  for (size_t i = 0; i < 3; i++) {
    char *target = target_of(f, i);
    ck_assert_str_eq(target, "DynamoDB_20120810.UpdateItem");
    free(target);
    json_t *body = request_body(f, i);
    ck_assert_str_eq(json_string_value(json_object_get(body, "TableName")),
                     "t");
    ck_assert_str_eq(
        json_string_value(json_object_get(body, "UpdateExpression")),
        "SET #a0 = :a0");
    ck_assert_ptr_null(json_object_get(body, "ConditionExpression"));
    const char *n =
        n_attr(json_object_get(body, "ExpressionAttributeValues"), ":a0");
    seen[atoi(n)] = true;
    char id[8];
    snprintf(id, sizeof(id), "k%s", n);
    ck_assert_str_eq(s_of(json_object_get(body, "Key"), "id"), id);
    json_decref(body);
  }
  ck_assert(seen[1] && seen[2] && seen[3]);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(update_newer_than_counts_a_failed_condition_as_stale) {
  fixture_t *f = fixture_create();
  push_error(f, 400, NULL, "ConditionalCheckFailedException",
             "The conditional request failed");
  push_ok(f, 1);
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1,\"d\":\"2023-05-01\"}",
      "{\"id\":\"b\",\"q\":2,\"d\":\"2023-05-02\"}",
  };
  run_records(f, records, 2, NULL, "mode = \"update\"\n newer_than = \"d\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  json_t *body = request_body(f, 0);
  ck_assert_str_eq(
      json_string_value(json_object_get(body, "ConditionExpression")),
      "attribute_not_exists(#k0) OR attribute_not_exists(#nt) OR "
        "#nt <= :nt");
  ck_assert_str_eq(
      json_string_value(json_object_get(
          json_object_get(body, "ExpressionAttributeNames"), "#nt")),
      "d");
  json_decref(body);
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(update_newer_than_a_list_writes_and_compares_a_version) {
  fixture_t *f = fixture_create();
  push_error(f, 400, NULL, "ConditionalCheckFailedException",
             "The conditional request failed");
  push_ok(f, 1);
  /* The harness numbers the fed records' lines from 1. */
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1,\"d\":\"2023-05-01\"}",
      "{\"id\":\"b\",\"q\":2,\"d\":\"2023-05-01\"}",
  };
  run_records(f, records, 2, NULL,
              "mode = \"update\"\n newer_than = [\"d\", \"@line\"]\n"
              " version_attribute = \"v\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *body = request_body(f, i);
    ck_assert_str_eq(
        json_string_value(json_object_get(body, "ConditionExpression")),
        "attribute_not_exists(#k0) OR #ver < :ver OR "
        "(attribute_not_exists(#ver) AND "
        "(attribute_not_exists(#nt) OR #nt <= :nt))");
    json_t *names = json_object_get(body, "ExpressionAttributeNames");
    ck_assert_str_eq(json_string_value(json_object_get(names, "#ver")), "v");
    ck_assert_str_eq(json_string_value(json_object_get(names, "#nt")), "d");
    char want[64];
    snprintf(want, sizeof(want),
             "2023-05-01T00:00:00.000000Z 0000000000000000000%zu", i + 1);
    ck_assert_str_eq(
        s_of(json_object_get(body, "ExpressionAttributeValues"), ":ver"), want);
    json_decref(body);
  }
  /* The failed condition: an item at least as new is there. */
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

/* A conditional UpdateItem asks for the stored item when its condition
 * fails (ALL_OLD). When that item holds the record's own version, the
 * write was this record's: its answer was lost (a 500 after the write)
 * and the AWS layer's retry met it. That is written, not stale; a newer
 * stored version is stale. */
START_TEST(update_a_retry_that_meets_its_own_write_counts_it_written) {
  fixture_t *f = fixture_create();
  push_error(f, 500, NULL, "InternalServerError", "answer lost");
  push(f, 400, NULL,
       "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
       "ConditionalCheckFailedException\",\"message\":\"The conditional "
       "request failed\",\"Item\":{\"id\":{\"S\":\"a\"},\"q\":{\"N\":\"1\"},"
       "\"v\":{\"S\":\"2023-05-01T00:00:00.000000Z "
       "00000000000000000001\"}}}");
  push(f, 400, NULL,
       "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
       "ConditionalCheckFailedException\",\"message\":\"The conditional "
       "request failed\",\"Item\":{\"id\":{\"S\":\"b\"},"
       "\"v\":{\"S\":\"2023-05-09T00:00:00.000000Z "
       "00000000000000000007\"}}}");
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1,\"d\":\"2023-05-01\"}",
      "{\"id\":\"b\",\"q\":2,\"d\":\"2023-05-01\"}",
  };
  run_records(f, records, 2, "max_attempts = 2",
              "mode = \"update\"\n newer_than = [\"d\", \"@line\"]\n"
              " version_attribute = \"v\"\n batch_size = 1\n"
              " max_in_flight = 1");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  json_t *body = request_body(f, 0);
  ck_assert_str_eq(json_string_value(json_object_get(
                       body, "ReturnValuesOnConditionCheckFailure")),
                   "ALL_OLD");
  json_decref(body);
  ck_assert_uint_eq(pl_test_counter(f->t, "items_written"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

/* The same with batch_updates: a BatchExecuteStatement whose answer was
 * lost is sent again, and its statements meet their own writes. */
START_TEST(batch_updates_a_retry_that_meets_its_own_writes_counts_them) {
  fixture_t *f = fixture_create();
  push_error(f, 500, NULL, "InternalServerError", "answer lost");
  push(f, 200, NULL,
       "{\"Responses\":[{\"TableName\":\"t\",\"Error\":{\"Code\":"
       "\"ConditionalCheckFailed\",\"Message\":\"The conditional request "
       "failed\",\"Item\":{\"id\":{\"S\":\"a\"},\"v\":{\"S\":"
       "\"2023-05-01T00:00:00.000000Z 00000000000000000001\"}}}},"
       "{\"TableName\":\"t\",\"Error\":{\"Code\":"
       "\"ConditionalCheckFailed\",\"Message\":\"The conditional request "
       "failed\",\"Item\":{\"id\":{\"S\":\"b\"},\"v\":{\"S\":"
       "\"2023-05-09T00:00:00.000000Z 00000000000000000007\"}}}}]}");
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1,\"d\":\"2023-05-01\"}",
      "{\"id\":\"b\",\"q\":2,\"d\":\"2023-05-01\"}",
  };
  run_records(f, records, 2, "max_attempts = 2",
              "mode = \"update\"\n newer_than = [\"d\", \"@line\"]\n"
              " version_attribute = \"v\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(pl_test_counter(f->t, "items_written"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  fixture_free(f);
}
END_TEST

START_TEST(update_writes_one_key_in_order) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1}",
      "{\"id\":\"a\",\"q\":2}",
      "{\"id\":\"a\",\"q\":3}",
  };
  run_records(f, records, 3, NULL, "mode = \"update\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *body = request_body(f, i);
    char want[4];
    snprintf(want, sizeof(want), "%zu", i + 1);
    ck_assert_str_eq(
        n_attr(json_object_get(body, "ExpressionAttributeValues"), ":a0"),
        want);
    json_decref(body);
  }
  fixture_free(f);
}
END_TEST

START_TEST(update_validation_goes_to_the_dead_letter) {
  fixture_t *f = fixture_create();
  push_error(f, 400, NULL, "ValidationException",
             "Item size has exceeded the maximum allowed size");
  const char *records[] = {"{\"id\":\"a\",\"q\":1,\"d\":\"x\"}"};
  run_records(f, records, 1, NULL, "mode = \"update\"\n newer_than = \"d\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_ptr_nonnull(
      strstr(pl_test_dead_letter_reason(f->t, 0),
             "Item size has exceeded the maximum allowed size"));
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), 0);
  fixture_free(f);
}
END_TEST

/* ---- Updates in batches (batch_updates) ---- */

/* Asserts the X-Amz-Target of requests 0 to count - 1 (the operation
 * after "DynamoDB_20120810."). */
static void assert_targets(fixture_t *f, const char *const *want,
                           size_t count) {
  ck_assert_uint_eq(pl_test_http_request_count(f->server), count);
  for (size_t i = 0; i < count; i++) {
    char *target = target_of(f, i);
    ck_assert_str_eq(target + strlen("DynamoDB_20120810."), want[i]);
    free(target);
  }
}

/* Asserts the sink's counters: items written, records found stale, and
 * records whose statement sent them again as UpdateItem. */
static void assert_outcomes(fixture_t *f, uint64_t written, uint64_t stale,
                            uint64_t again) {
  ck_assert_uint_eq(pl_test_counter(f->t, "items_written"), written);
  ck_assert_uint_eq(pl_test_counter(f->t, "stale"), stale);
  ck_assert_uint_eq(pl_test_counter(f->t, "statements_again"), again);
}

/* Asserts the run's log holds `text` exactly once. */
static void assert_logged_once(fixture_t *f, const char *text) {
  const char *log = pl_test_log(f->t);
  const char *at = strstr(log, text);
  ck_assert_msg(at != NULL, "'%s' not in: %s", text, log);
  ck_assert_msg(strstr(at + 1, text) == NULL, "'%s' logged again: %s", text,
                log);
}

/* The `type` text of parameter i of statement `st` ({"N": "3"}: "3"). */
static const char *param_text(const json_t *st, size_t i, const char *type) {
  return json_string_value(
      json_object_get(json_array_get(json_object_get(st, "Parameters"), i),
                      type));
}

START_TEST(batch_updates_write_statements_and_send_the_rest_again) {
  fixture_t *f = fixture_create();
  /* Written; stale (the item came back); absent (no item); throttled. */
  push(f, 200, NULL,
       "{\"Responses\":[{\"TableName\":\"t\"},"
       "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ConditionalCheckFailed\","
       "\"Message\":\"The conditional request failed\","
       "\"Item\":{\"id\":{\"S\":\"b\"},\"d\":{\"S\":\"2024-01-01\"}}}},"
       "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ConditionalCheckFailed\","
       "\"Message\":\"The conditional request failed\"}},"
       "{\"TableName\":\"t\",\"Error\":{\"Code\":\"ThrottlingError\","
       "\"Message\":\"Throughput exceeds the current capacity\"}}]}");
  push(f, 200, NULL, "{}");
  push(f, 200, NULL, "{}");
  const char *records[] = {
      "{\"id\":\"a\",\"q\":1,\"d\":\"2023-05-01\"}",
      "{\"id\":\"b\",\"q\":2,\"d\":\"2023-05-01\"}",
      "{\"id\":\"c\",\"q\":3,\"d\":\"2023-05-01\"}",
      "{\"id\":\"d\",\"q\":4,\"d\":\"2023-05-01\"}",
  };
  run_records(f, records, 4, NULL,
              "mode = \"update\"\n newer_than = \"d\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "UpdateItem",
                           "UpdateItem"};
  assert_targets(f, targets, 3);
  json_t *body = request_body(f, 0);
  json_t *statements = json_object_get(body, "Statements");
  ck_assert_uint_eq(json_array_size(statements), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *st = json_array_get(statements, i);
    ck_assert_str_eq(json_string_value(json_object_get(st, "Statement")),
                     "UPDATE \"t\" SET \"q\"=? SET \"d\"=? WHERE \"id\"=? AND "
                     "(\"d\" IS MISSING OR \"d\"<=?)");
    char id[2] = {records[i][7], '\0'};
    ck_assert_str_eq(param_text(st, 2, "S"), id);
  }
  json_decref(body);
  /* c and d went again, as UpdateItem with its condition. */
  for (size_t i = 1; i < 3; i++) {
    body = request_body(f, i);
    ck_assert_str_eq(s_of(json_object_get(body, "Key"), "id"),
                     i == 1 ? "c" : "d");
    ck_assert_str_eq(
        json_string_value(json_object_get(body, "ConditionExpression")),
        "attribute_not_exists(#k0) OR attribute_not_exists(#nt) OR "
        "#nt <= :nt");
    json_decref(body);
  }
  assert_outcomes(f, 3, 1, 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 4);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_an_invalid_record_is_rejected_by_its_update_item) {
  fixture_t *f = fixture_create();
  push(f, 200, NULL,
       "{\"Responses\":[{\"Error\":{\"Code\":\"ValidationError\","
       "\"Message\":\"One or more parameter values were invalid\"}},{}]}");
  push_error(f, 400, NULL, "ValidationException",
             "Item size has exceeded the maximum allowed size");
  const char *records[] = {"{\"id\":\"a\",\"q\":1,\"d\":\"x\"}",
                           "{\"id\":\"b\",\"q\":2,\"d\":\"x\"}"};
  run_records(f, records, 2, NULL,
              "mode = \"update\"\n newer_than = \"d\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "UpdateItem"};
  assert_targets(f, targets, 2);
  /* The statement's error only sent it again; UpdateItem's rejects it,
   * with DynamoDB's message. */
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_ptr_nonnull(
      strstr(pl_test_dead_letter_reason(f->t, 0),
             "Item size has exceeded the maximum allowed size"));
  assert_outcomes(f, 1, 0, 1);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_fall_back_to_update_item_where_unknown) {
  fixture_t *f = fixture_create();
  push_error(f, 400, NULL, "UnknownOperationException", "");
  push(f, 200, NULL, "{}");
  push(f, 200, NULL, "{}");
  /* One record a batch, one batch at a time: the second is encoded after
   * the first's answer. */
  run_numbered(f, 2, NULL,
               "mode = \"update\"\n batch_updates = true\n batch_size = 1\n"
               " max_in_flight = 1");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "UpdateItem",
                           "UpdateItem"};
  assert_targets(f, targets, 3);
  assert_logged_once(f, "does not know BatchExecuteStatement");
  assert_outcomes(f, 2, 0, 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_a_record_without_a_plain_statement_goes_alone) {
  fixture_t *f = fixture_create();
  push(f, 200, NULL, "{\"Responses\":[{}]}");
  push(f, 200, NULL, "{}");
  /* A field name PartiQL would need more than quotes for. */
  const char *records[] = {"{\"id\":\"a\",\"q\":1}",
                           "{\"id\":\"b\",\"q r\":2}"};
  run_records(f, records, 2, NULL, "mode = \"update\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "UpdateItem"};
  assert_targets(f, targets, 2);
  json_t *body = request_body(f, 1);
  ck_assert_str_eq(s_of(json_object_get(body, "Key"), "id"), "b");
  ck_assert_str_eq(
      json_string_value(json_object_get(
          json_object_get(body, "ExpressionAttributeNames"), "#a0")),
      "q r");
  json_decref(body);
  assert_outcomes(f, 2, 0, 0);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_refused_as_a_whole_go_as_update_item) {
  fixture_t *f = fixture_create();
  /* PartiQLUpdate denied, UpdateItem allowed: every batch pays one refused
   * request, and the refusal is logged once, not once a batch. */
  for (size_t b = 0; b < 3; b++) {
    push_error(f, 400, NULL, "AccessDeniedException",
               "not authorized to perform: dynamodb:PartiQLUpdate");
    push(f, 200, NULL, "{}");
  }
  run_numbered(f, 3, NULL,
               "mode = \"update\"\n batch_updates = true\n batch_size = 1\n"
               " max_in_flight = 1");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "UpdateItem",
                           "BatchExecuteStatement", "UpdateItem",
                           "BatchExecuteStatement", "UpdateItem"};
  assert_targets(f, targets, 6);
  assert_logged_once(f, "the records are sent again as UpdateItem");
  ck_assert_ptr_null(
      strstr(pl_test_log(f->t), "accepts BatchExecuteStatement again"));
  assert_outcomes(f, 3, 0, 3);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_throttled_as_a_whole_fail_and_are_retried) {
  fixture_t *f = fixture_create();
  push_error(f, 400, NULL, "ThrottlingException", "Rate exceeded");
  push(f, 200, NULL, "{\"Responses\":[{},{}]}");
  run_numbered(f, 2, NULL, "mode = \"update\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  /* Not sent again as UpdateItem: the engine retries the batch. */
  const char *targets[] = {"BatchExecuteStatement", "BatchExecuteStatement"};
  assert_targets(f, targets, 2);
  ck_assert_uint_ge(test_plugin_metrics(f->t)->retried, 1);
  assert_outcomes(f, 2, 0, 0);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

START_TEST(batch_updates_keep_the_order_of_one_key) {
  fixture_t *f = fixture_create();
  push(f, 200, NULL, "{\"Responses\":[{},{}]}");
  push(f, 200, NULL, "{\"Responses\":[{}]}");
  const char *records[] = {"{\"id\":\"a\",\"q\":1}", "{\"id\":\"b\",\"q\":2}",
                           "{\"id\":\"a\",\"q\":3}"};
  run_records(f, records, 3, NULL, "mode = \"update\"\n batch_updates = true");
  test_plugin_assert_clean(f->t);
  const char *targets[] = {"BatchExecuteStatement", "BatchExecuteStatement"};
  assert_targets(f, targets, 2);
  /* The later record of a goes in the next request, after the first was
   * answered. */
  json_t *body = request_body(f, 1);
  json_t *st = json_array_get(json_object_get(body, "Statements"), 0);
  ck_assert_uint_eq(json_array_size(json_object_get(body, "Statements")), 1);
  ck_assert_str_eq(param_text(st, 0, "N"), "3");
  json_decref(body);
  assert_outcomes(f, 3, 0, 0);
  fixture_free(f);
}
END_TEST

/* ---- Options ---- */

static void assert_refused(const char *sink_extra, const char *key,
                           const char *message) {
  fixture_t *f = fixture_create();
  pl_buf_t options = {0};
  pl_buf_printf(&options, "table = \"t\"\n%s\n%s", key, sink_extra);
  pl_test_set_options(f->t, options.data);
  ck_assert_int_lt(pl_test_run(f->t, 30000), 0);
  pl_buf_free(&options);
  const char *text = pl_test_errors(f->t);
  const char *log = pl_test_log(f->t);
  ck_assert_msg(strstr(text, message) || strstr(log, message),
                "'%s' not in: %s / %s", message, text, log);
  fixture_free(f);
}

START_TEST(bad_options_are_refused) {
  const char *key = "key { id = \"${id}\" }";
  assert_refused("", "", "key");
  assert_refused("types { q = \"NUMBER\" }", key,
                 "types: 'q' = \"NUMBER\" is not a DynamoDB type");
  assert_refused("newer_than = \"d\"", key,
                 "option 'newer_than' needs mode = \"update\"");
  assert_refused("mode = \"update\"\n newer_than = \"id\"", key,
                 "names the key attribute 'id'");
  assert_refused("newer_than = [\"d\", \"@line\"]", key,
                 "option 'newer_than' needs mode = \"update\"");
  assert_refused("mode = \"update\"\n newer_than = [\"d\", \"@\"]", key,
                 "newer_than: '@' names no field nor metadata");
  assert_refused("mode = \"update\"\n newer_than = [\"d\", \"\"]", key,
                 "option 'newer_than' is empty");
  assert_refused("mode = \"update\"\n newer_than = [\"d\", \"@line\"]\n"
                 " version_attribute = \"id\"",
                 key, "option 'version_attribute' names the key attribute");
  assert_refused("", "key { id = \"${id\" }", "key: 'id'");
  assert_refused("", "key { a = \"${x}\"\n b = \"${y}\"\n c = \"${z}\" }",
                 "test.conf:6:1: pipeline \"test\": sink \"dynamodb\": option "
                 "'key' expects a block with 1 to 2 entries, found 3 "
                 "entries\n");
  assert_refused("", "key { }",
                 "test.conf:6:1: pipeline \"test\": sink \"dynamodb\": option "
                 "'key' expects a block with 1 to 2 entries, found 0 "
                 "entries\n");
  assert_refused("mode = \"upsert\"", key, "upsert");
  assert_refused("batch_updates = true", key,
                 "option 'batch_updates' needs mode = \"update\"");
}
END_TEST

START_TEST(the_descriptor_gives_the_batch_defaults) {
  ck_assert_str_eq(pipelined_plugin.name, "dynamodb");
  ck_assert_int_eq(pipelined_plugin.kind, PL_KIND_SINK);
  ck_assert_str_eq(pipelined_plugin.defaults.batch_size, "25");
  ck_assert_str_eq(pipelined_plugin.defaults.linger, "50ms");
  ck_assert_str_eq(pipelined_plugin.defaults.max_in_flight, "8");
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink_dynamodb");
  TCase *pure = tcase_create("encoding");
  tcase_add_test(pure, numbers_are_exact_decimal_text);
  tcase_add_test(pure, every_json_type_has_its_attribute_type);
  tcase_add_test(pure, types_override_the_json_type);
  tcase_add_test(pure, a_nul_inside_a_string_is_kept_or_refused_never_cut);
  tcase_add_test(pure, key_templates_build_the_key);
  tcase_add_test(pure, unprocessed_items_are_found_by_key);
  tcase_add_test(pure, answers_are_read_whole_or_parsed);
  tcase_add_test(pure, batch_text_wraps_the_items);
  suite_add_tcase(s, pure);
  TCase *put = tcase_create("put");
  tcase_set_timeout(put, 60);
  tcase_add_test(put, put_sends_batch_write_item_of_25);
  tcase_add_test(put, a_larger_batch_size_is_split_into_requests_of_25);
  tcase_add_test(put, unprocessed_items_are_resent_alone);
  tcase_add_test(put, unprocessed_items_fail_after_the_retry_limit);
  tcase_add_test(put, duplicate_keys_go_in_successive_requests);
  tcase_add_test(put, a_later_write_of_a_key_waits_for_a_failed_earlier_one);
  tcase_add_test(put, test_ddb_records_that_cannot_be_items_are_rejected);
  tcase_add_test(put, a_record_that_is_not_an_object_is_named_so);
  tcase_add_test(put, a_validation_exception_goes_to_the_dead_letter);
  tcase_add_test(put, a_refused_batch_is_resent_item_by_item);
  tcase_add_test(put, a_500_is_retried_by_the_aws_layer);
  tcase_add_test(put, a_500_the_layer_gave_up_on_fails_and_the_engine_retries);
  tcase_add_test(put, a_missing_table_fails_without_dead_lettering);
  tcase_add_test(put,
                 a_key_that_is_not_the_tables_fails_without_dead_lettering);
  tcase_add_test(put, an_answer_that_is_not_json_fails_the_records);
  tcase_add_test(put, a_refusal_that_repeats_is_logged_once_then_its_recovery);
  suite_add_tcase(s, put);
  TCase *update = tcase_create("update");
  tcase_set_timeout(update, 60);
  tcase_add_test(update, update_sends_one_update_item_per_record);
  tcase_add_test(update, update_newer_than_counts_a_failed_condition_as_stale);
  tcase_add_test(update,
                 update_newer_than_a_list_writes_and_compares_a_version);
  tcase_add_test(update, update_writes_one_key_in_order);
  tcase_add_test(update,
                 update_a_retry_that_meets_its_own_write_counts_it_written);
  tcase_add_test(update,
                 batch_updates_a_retry_that_meets_its_own_writes_counts_them);
  tcase_add_test(update, update_validation_goes_to_the_dead_letter);
  tcase_add_test(update, batch_updates_write_statements_and_send_the_rest_again);
  tcase_add_test(update,
                 batch_updates_an_invalid_record_is_rejected_by_its_update_item);
  tcase_add_test(update, batch_updates_fall_back_to_update_item_where_unknown);
  tcase_add_test(update, batch_updates_refused_as_a_whole_go_as_update_item);
  tcase_add_test(update,
                 batch_updates_a_record_without_a_plain_statement_goes_alone);
  tcase_add_test(update, batch_updates_throttled_as_a_whole_fail_and_are_retried);
  tcase_add_test(update, batch_updates_keep_the_order_of_one_key);
  suite_add_tcase(s, update);
  TCase *config = tcase_create("config");
  tcase_set_timeout(config, 60);
  tcase_add_test(config, bad_options_are_refused);
  tcase_add_test(config, the_descriptor_gives_the_batch_defaults);
  suite_add_tcase(s, config);
  return test_suite_run(s);
}
