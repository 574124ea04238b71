/* Check suite for src/template.c: compiling "${field}" / "${@meta}"
 * templates, their parse errors, and rendering against records built on a
 * hand-made source stage (record fields, metadata, attributes, "$$", JSON
 * text of numbers and booleans, and missing values). */
#include <pipelined/template.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "pipeline.h"
#include "record.h"
#include "stage.h"
#include "test_suite.h"

/* ---- A source stage without an engine run ----
 * Records need a group, and a group needs a source instance inside a
 * pipeline. Sealing a group queues it on the pipeline's pump, so the pump
 * is a real idle handle on a real loop, and each test ends by running the
 * loop until the group is committed and freed, then closing everything. */

typedef struct fixture {
  uv_loop_t loop;
  pl_engine_t engine;
  pl_pipeline_t pipeline;
  pl_plugin_t plugin;
  pl_instance_t inst;
  pl_group_t *group;
  char name[2];
} fixture_t;

static fixture_t *fixture_create(void) {
  fixture_t *f = calloc(1, sizeof(*f));
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(uv_loop_init(&f->loop), 0);
  f->engine.loop = &f->loop;
  f->pipeline.engine = &f->engine;
  f->name[0] = 'p';
  f->pipeline.name = f->name;
  f->pipeline.source = &f->inst;
  ck_assert_int_eq(uv_idle_init(&f->loop, &f->pipeline.pump), 0);
  f->pipeline.pump.data = &f->pipeline;
  f->plugin = (pl_plugin_t){.abi_version = PL_ABI_VERSION,
                            .struct_size = sizeof(pl_plugin_t),
                            .name = "test",
                            .kind = PL_KIND_SOURCE,
                            .description = "Template test source."};
  f->inst.pipeline = &f->pipeline;
  f->inst.plugin = &f->plugin;
  f->inst.role = PL_ROLE_SOURCE;
  f->group = pl_group_create(&f->inst, NULL);
  ck_assert_ptr_nonnull(f->group);
  return f;
}

/* A record in the fixture's group whose value is the JSON `text` (NULL: no
 * value). */
static pl_record_t *record(fixture_t *f, const char *text) {
  pl_record_t *rec = pl_record_create(f->group);
  ck_assert_ptr_nonnull(rec);
  if (text) {
    json_error_t error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
    ck_assert_msg(value != NULL, "%s: %s", text, error.text);
    pl_record_set_value_new(rec, value);
  }
  return rec;
}

/* Resolves every record, commits the group through the pump and checks
 * that the loop closes cleanly. */
static void fixture_free(fixture_t *f) {
  pl_group_seal(f->group, true);
  ck_assert_int_eq(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  ck_assert_uint_eq(f->pipeline.groups_committed, 1);
  ck_assert_uint_eq(f->pipeline.open_groups, 0);
  uv_close((uv_handle_t *)&f->pipeline.pump, NULL);
  ck_assert_int_eq(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&f->loop), 0);
  pl__record_free_spares(&f->engine); /* records the engine kept for reuse */
  free(f);
}

static pl_template_t *compile(const char *text) {
  pl_template_t *tpl = NULL;
  char *error = NULL;
  int rc = pl_template_create(text, &tpl, &error);
  ck_assert_msg(rc == 0, "%s: %s", text, error ? error : "?");
  ck_assert_ptr_null(error);
  ck_assert_ptr_nonnull(tpl);
  return tpl;
}

/* Renders `text` against `rec` and checks the result. */
static void assert_renders(const char *text, const pl_record_t *rec,
                           const char *expected) {
  pl_template_t *tpl = compile(text);
  pl_buf_t out = {0};
  const char *missing = "untouched";
  ck_assert_int_eq(pl_template_render(tpl, rec, &out, &missing), 0);
  ck_assert_str_eq(missing, "untouched");
  ck_assert_uint_eq(out.len, strlen(expected));
  ck_assert_str_eq(out.len ? out.data : "", expected);
  pl_buf_free(&out);
  pl_template_destroy(tpl);
}

/* Renders `text` against `rec` and checks that `name` is missing. */
static void assert_missing(const char *text, const pl_record_t *rec,
                           const char *name) {
  pl_template_t *tpl = compile(text);
  pl_buf_t out = {0};
  const char *missing = NULL;
  ck_assert_int_eq(pl_template_render(tpl, rec, &out, &missing), PL_ENOENT);
  ck_assert_ptr_nonnull(missing);
  ck_assert_str_eq(missing, name);
  pl_buf_free(&out);
  pl_template_destroy(tpl);
}

/* Checks that `text` does not compile, with exactly `expected`. */
static void assert_parse_error(const char *text, const char *expected) {
  pl_template_t *tpl = (pl_template_t *)&tpl; /* must stay untouched */
  pl_template_t *const sentinel = tpl;
  char *error = NULL;
  ck_assert_int_eq(pl_template_create(text, &tpl, &error), PL_EPARSE);
  ck_assert_ptr_eq(tpl, sentinel);
  ck_assert_ptr_nonnull(error);
  ck_assert_str_eq(error, expected);
  free(error);
  /* Without an error pointer, only the code is returned. */
  ck_assert_int_eq(pl_template_create(text, &tpl, NULL), PL_EPARSE);
  ck_assert_ptr_eq(tpl, sentinel);
}

/* ---- Compiling ---- */

START_TEST(text_is_kept_and_constants_are_recognised) {
  static const struct {
    const char *text;
    bool constant;
  } cases[] = {
      {"", true},           {"plain", true},       {"$$", true},
      {"a$b", true},        {"cost: 5$", true},    {"$${x}", true},
      {"{x}", true},        {"$ {x}", true},       {"${x}", false},
      {"a${x}b", false},    {"${@origin}", false}, {"$$${x}", false},
      {"}${a}}", false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pl_template_t *tpl = compile(cases[i].text);
    ck_assert_str_eq(pl_template_text(tpl), cases[i].text);
    ck_assert_msg(pl_template_is_constant(tpl) == cases[i].constant, "%s",
                  cases[i].text);
    pl_template_destroy(tpl);
  }
}
END_TEST

START_TEST(the_source_text_is_copied) {
  char text[] = "${a}-b";
  pl_template_t *tpl = compile(text);
  text[0] = 'X';
  ck_assert_str_eq(pl_template_text(tpl), "${a}-b");
  pl_template_destroy(tpl);
  pl_template_destroy(NULL);
}
END_TEST

START_TEST(an_unclosed_reference_is_an_error) {
  assert_parse_error("${a", "template \"${a\", at character 1: '${' is not "
                            "closed by '}'");
  assert_parse_error("key-${", "template \"key-${\", at character 5: '${' is "
                               "not closed by '}'");
  assert_parse_error("${a}/${b", "template \"${a}/${b\", at character 6: "
                                 "'${' is not closed by '}'");
  assert_parse_error("$$${", "template \"$$${\", at character 3: '${' is not "
                             "closed by '}'");
}
END_TEST

START_TEST(an_empty_name_is_an_error) {
  assert_parse_error("${}", "template \"${}\", at character 1: empty field "
                            "name");
  assert_parse_error("x/${@}", "template \"x/${@}\", at character 3: empty "
                               "field name");
  assert_parse_error("${a}${}", "template \"${a}${}\", at character 5: empty "
                                "field name");
}
END_TEST

START_TEST(a_name_with_dollar_or_brace_is_an_error) {
  assert_parse_error("${a${b}}", "template \"${a${b}}\", at character 1: bad "
                                 "field name");
  assert_parse_error("${a{b}", "template \"${a{b}\", at character 1: bad "
                               "field name");
  assert_parse_error("${@a$}", "template \"${@a$}\", at character 1: bad "
                               "field name");
}
END_TEST

/* ---- Rendering fields ---- */

START_TEST(fields_render_from_the_record_object) {
  fixture_t *f = fixture_create();
  pl_record_t *rec =
      record(f, "{\"product_id\": \"P-1\", \"location\": \"Oslo\"}");
  assert_renders("${product_id}#${location}", rec, "P-1#Oslo");
  assert_renders("id=${product_id}", rec, "id=P-1");
  assert_renders("${location}", rec, "Oslo");
  assert_renders("${location}${location}", rec, "OsloOslo");
  assert_renders("constant", rec, "constant");
  assert_renders("", rec, "");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(dollar_dollar_is_a_literal_dollar) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"x\": \"v\"}");
  assert_renders("$$", rec, "$");
  assert_renders("$${x}", rec, "${x}");
  assert_renders("$$$${x}", rec, "$${x}");
  assert_renders("$$${x}", rec, "$v");
  assert_renders("a$b$", rec, "a$b$");
  assert_renders("}${x}}{", rec, "}v}{");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(numbers_and_booleans_render_as_json_text) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"i\": 42, \"neg\": -7, \"big\": "
                               "-9223372036854775808, \"r\": 1.5, \"whole\": "
                               "3.0, \"t\": true, \"f\": false, \"zero\": 0}");
  assert_renders("${i}", rec, "42");
  assert_renders("${neg}", rec, "-7");
  assert_renders("${big}", rec, "-9223372036854775808");
  assert_renders("${r}", rec, "1.5");
  assert_renders("${whole}", rec, "3.0");
  assert_renders("${t}/${f}", rec, "true/false");
  assert_renders("${zero}", rec, "0");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(strings_render_as_they_are) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(
      f, "{\"q\": \"say \\\"hi\\\"\", \"u\": \"Z\\u00fcrich \\u2603\", "
         "\"empty\": \"\", \"digits\": \"007\", \"nl\": \"a\\nb\"}");
  assert_renders("${q}", rec, "say \"hi\"");
  assert_renders("${u}", rec, "Z\xc3\xbcrich \xe2\x98\x83");
  assert_renders("[${empty}]", rec, "[]");
  assert_renders("${digits}", rec, "007");
  assert_renders("${nl}", rec, "a\nb");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(strings_with_nul_bytes_keep_their_length) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, NULL);
  pl_record_set_value_new(rec, json_pack("{s:s%}", "b", "x\0y", (size_t)3));
  pl_template_t *tpl = compile("<${b}>");
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_template_render(tpl, rec, &out, NULL), 0);
  ck_assert_uint_eq(out.len, 5);
  ck_assert_int_eq(memcmp(out.data, "<x\0y>", 5), 0);
  pl_buf_free(&out);
  pl_template_destroy(tpl);
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(field_names_are_taken_literally) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"a.b\": 1, \"a\": {\"b\": 2}, \"with space\": "
                               "\"s\", \"@x\": \"at\"}");
  assert_renders("${a.b}", rec, "1");
  assert_renders("${with space}", rec, "s");
  assert_missing("${a}", rec, "a");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(renders_append_to_the_buffer) {
  fixture_t *f = fixture_create();
  pl_record_t *one = record(f, "{\"n\": 1}");
  pl_record_t *two = record(f, "{\"n\": 2}");
  pl_template_t *tpl = compile("n${n};");
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "start:");
  ck_assert_int_eq(pl_template_render(tpl, one, &out, NULL), 0);
  ck_assert_int_eq(pl_template_render(tpl, two, &out, NULL), 0);
  ck_assert_str_eq(out.data, "start:n1;n2;");
  pl_buf_free(&out);
  pl_template_destroy(tpl);
  pl_record_done(one);
  pl_record_done(two);
  fixture_free(f);
}
END_TEST

START_TEST(a_constant_template_renders_without_a_value) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, NULL);
  assert_renders("fixed/$$", rec, "fixed/$");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

/* ---- Missing fields ---- */

START_TEST(a_missing_field_is_not_found) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"a\": \"x\"}");
  assert_missing("${a}-${b}", rec, "b");
  assert_missing("${nope}", rec, "nope");
  assert_missing("${A}", rec, "A"); /* names are case-sensitive */
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(null_objects_and_arrays_are_not_template_values) {
  fixture_t *f = fixture_create();
  pl_record_t *rec =
      record(f, "{\"n\": null, \"o\": {\"k\": 1}, \"l\": [1, 2], \"ok\": 1}");
  assert_missing("${ok}${n}", rec, "n");
  assert_missing("${o}", rec, "o");
  assert_missing("${l}", rec, "l");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(records_without_an_object_have_no_fields) {
  fixture_t *f = fixture_create();
  pl_record_t *bytes = record(f, NULL);
  ck_assert_int_eq(pl_record_set_bytes(bytes, "a,b\n", 4), 0);
  assert_missing("${a}", bytes, "a");
  pl_record_t *array = record(f, "[\"a\"]");
  assert_missing("${0}", array, "0");
  pl_record_t *string = record(f, "\"a\"");
  assert_missing("${a}", string, "a");
  pl_record_t *number = record(f, "5");
  assert_missing("${a}", number, "a");
  pl_record_done(bytes);
  pl_record_done(array);
  pl_record_done(string);
  pl_record_done(number);
  fixture_free(f);
}
END_TEST

START_TEST(missing_may_be_null) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  pl_template_t *tpl = compile("${a}");
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_template_render(tpl, rec, &out, NULL), PL_ENOENT);
  pl_buf_free(&out);
  pl_template_destroy(tpl);
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(missing_is_borrowed_from_the_template) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  pl_template_t *tpl = compile("${first}/${@second}");
  pl_buf_t out = {0};
  const char *missing = NULL;
  ck_assert_int_eq(pl_template_render(tpl, rec, &out, &missing), PL_ENOENT);
  ck_assert_str_eq(missing, "first");
  pl_buf_free(&out);
  pl_template_destroy(tpl);
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

/* ---- Metadata ---- */

START_TEST(metadata_renders_origin_line_etag_and_message_id) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"a\": 1}");
  ck_assert_int_eq(pl_record_set_origin(rec, "s3://bucket/key.csv"), 0);
  ck_assert_int_eq(pl_record_set_etag(rec, "\"abc123\""), 0);
  ck_assert_int_eq(pl_record_set_message_id(rec, "m-1"), 0);
  pl_record_set_line(rec, 18446744073709551615ull);
  assert_renders("${@origin}", rec, "s3://bucket/key.csv");
  assert_renders("${@etag}", rec, "\"abc123\"");
  assert_renders("${@message_id}", rec, "m-1");
  assert_missing("${@origin_time}", rec, "origin_time");
  ck_assert_int_eq(pl_record_set_origin_time(rec, "2026-05-01T10:00:00.123Z"),
                   0);
  assert_renders("${@origin_time}", rec, "2026-05-01T10:00:00.123Z");
  /* A derived row shares it; changing the row's own leaves the parent's. */
  pl_record_t *row = pl_record_derive(rec);
  ck_assert_ptr_nonnull(row);
  assert_renders("${@origin_time}", row, "2026-05-01T10:00:00.123Z");
  ck_assert_int_eq(pl_record_set_origin_time(row, "2027-01-01T00:00:00Z"), 0);
  ck_assert_str_eq(pl_record_origin_time(row), "2027-01-01T00:00:00Z");
  ck_assert_str_eq(pl_record_origin_time(rec), "2026-05-01T10:00:00.123Z");
  ck_assert_str_eq(pl_record_origin(row), "s3://bucket/key.csv");
  pl_record_done(row);
  assert_renders("${@line}", rec, "18446744073709551615");
  assert_renders("${@origin}:${@line}#${a}", rec,
                 "s3://bucket/key.csv:18446744073709551615#1");
  pl_record_set_line(rec, 7);
  assert_renders("${@line}", rec, "7");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(unset_metadata_is_not_found) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"origin\": \"field, not metadata\"}");
  assert_missing("${@origin}", rec, "origin");
  assert_missing("${@etag}", rec, "etag");
  assert_missing("${@message_id}", rec, "message_id");
  assert_missing("${@line}", rec, "line"); /* line 0 means none */
  assert_renders("${origin}", rec, "field, not metadata");
  /* Set then cleared again. */
  ck_assert_int_eq(pl_record_set_origin(rec, "x"), 0);
  ck_assert_int_eq(pl_record_set_origin(rec, NULL), 0);
  assert_missing("${@origin}", rec, "origin");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(attributes_render_by_name) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  ck_assert_int_eq(
      pl_record_set_attribute_new(rec, "receive_count", json_integer(3)), 0);
  ck_assert_int_eq(
      pl_record_set_attribute_new(rec, "queue", json_string("orders")), 0);
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "fifo", json_true()), 0);
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "nothing", json_null()),
                   0);
  ck_assert_int_eq(
      pl_record_set_attribute_new(rec, "nested", json_pack("{s:i}", "a", 1)),
      0);
  assert_renders("${@queue}/${@receive_count}/${@fifo}", rec, "orders/3/true");
  assert_missing("${@absent}", rec, "absent");
  assert_missing("${@nothing}", rec, "nothing");
  assert_missing("${@nested}", rec, "nested");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(attributes_do_not_shadow_built_in_metadata) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  ck_assert_int_eq(
      pl_record_set_attribute_new(rec, "origin", json_string("attr")), 0);
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "line", json_integer(9)),
                   0);
  assert_missing("${@origin}", rec, "origin");
  assert_missing("${@line}", rec, "line");
  pl_record_set_line(rec, 2);
  assert_renders("${@line}", rec, "2");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(a_record_without_attributes_has_none) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"x\": 1}");
  ck_assert_ptr_null(pl_record_attributes(rec));
  assert_missing("${@x}", rec, "x");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(derived_records_share_metadata_but_not_the_value) {
  fixture_t *f = fixture_create();
  pl_record_t *parent = record(f, "{\"v\": \"parent\"}");
  ck_assert_int_eq(pl_record_set_origin(parent, "file:/in.csv"), 0);
  ck_assert_int_eq(pl_record_set_message_id(parent, "id-9"), 0);
  pl_record_set_line(parent, 4);
  ck_assert_int_eq(
      pl_record_set_attribute_new(parent, "part", json_string("a")), 0);
  pl_record_t *child = pl_record_derive(parent);
  ck_assert_ptr_nonnull(child);
  pl_record_set_value_new(child, json_pack("{s:s}", "v", "child"));
  assert_renders("${v}@${@origin}/${@message_id}/${@part}", child,
                 "child@file:/in.csv/id-9/a");
  assert_missing("${@line}", child, "line"); /* the line is not shared */
  /* Writing an attribute of the child does not change the parent's. */
  ck_assert_int_eq(pl_record_set_attribute_new(child, "part", json_string("b")),
                   0);
  assert_renders("${@part}", child, "b");
  assert_renders("${@part}", parent, "a");
  pl_record_done(child);
  pl_record_done(parent);
  fixture_free(f);
}
END_TEST

START_TEST(attributes_are_set_whole_and_replace_the_old) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "old", json_integer(1)),
                   0);
  json_t *attributes = json_pack("{s:s, s:i}", "queue", "orders", "n", 2);
  ck_assert_int_eq(pl_record_set_attributes_new(rec, attributes), 0);
  ck_assert_ptr_eq(pl_record_attributes(rec), attributes); /* not copied */
  assert_renders("${@queue}/${@n}", rec, "orders/2");
  assert_missing("${@old}", rec, "old");
  /* One more is added to the same object. */
  ck_assert_int_eq(pl_record_set_attribute_new(rec, "more", json_true()), 0);
  assert_renders("${@queue}/${@more}", rec, "orders/true");
  /* Not an object: refused (and released); NULL clears them. */
  ck_assert_int_eq(pl_record_set_attributes_new(rec, json_integer(3)),
                   PL_EINVAL);
  assert_renders("${@queue}", rec, "orders");
  ck_assert_int_eq(pl_record_set_attributes_new(rec, NULL), 0);
  ck_assert_ptr_null(pl_record_attributes(rec));
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(metadata_comes_from_its_attributes) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{}");
  /* What sink-sqs sends beside a row, and one attribute of the user's. */
  json_t *attributes = json_pack(
      "{s:s, s:s, s:s, s:s, s:s}", "origin", "s3://b/in.csv", "origin_time",
      "2026-05-01T10:00:00.123Z", "etag", "\"e1\"", "line", "42", "team",
      "a");
  ck_assert_int_eq(pl_record_set_attributes_new(rec, attributes), 0);
  ck_assert_int_eq(pl_record_set_meta_from_attributes(rec), 0);
  ck_assert_str_eq(pl_record_origin(rec), "s3://b/in.csv");
  ck_assert_str_eq(pl_record_origin_time(rec), "2026-05-01T10:00:00.123Z");
  ck_assert_str_eq(pl_record_etag(rec), "\"e1\"");
  ck_assert_uint_eq(pl_record_line(rec), 42);
  /* Shared, not copied. */
  ck_assert_ptr_eq(pl_record_origin(rec),
                   json_string_value(json_object_get(attributes, "origin")));
  assert_renders("${@team}:${@origin}:${@line}", rec, "a:s3://b/in.csv:42");
  pl_record_done(rec);

  /* A line as a JSON integer; values that are not metadata leave what the
   * record had: an empty origin, a time that is not a string, a line of
   * 0, of letters or negative. */
  rec = record(f, "{}");
  ck_assert_int_eq(pl_record_set_origin(rec, "file:/kept.csv"), 0);
  pl_record_set_line(rec, 5);
  ck_assert_int_eq(pl_record_set_attributes_new(
                       rec, json_pack("{s:s, s:i, s:i}", "origin", "",
                                      "origin_time", 7, "line", 0)),
                   0);
  ck_assert_int_eq(pl_record_set_meta_from_attributes(rec), 0);
  ck_assert_str_eq(pl_record_origin(rec), "file:/kept.csv");
  ck_assert_ptr_null(pl_record_origin_time(rec));
  ck_assert_uint_eq(pl_record_line(rec), 5);
  const char *bad_lines[] = {"4a", "-3", "", "x"};
  for (size_t i = 0; i < 4; i++) {
    ck_assert_int_eq(pl_record_set_attributes_new(
                         rec, json_pack("{s:s}", "line", bad_lines[i])),
                     0);
    ck_assert_int_eq(pl_record_set_meta_from_attributes(rec), 0);
    ck_assert_uint_eq(pl_record_line(rec), 5);
  }
  ck_assert_int_eq(pl_record_set_attributes_new(
                       rec, json_pack("{s:i}", "line", 9)),
                   0);
  ck_assert_int_eq(pl_record_set_meta_from_attributes(rec), 0);
  ck_assert_uint_eq(pl_record_line(rec), 9);
  /* A derived record writes its own metadata, not the parent's. */
  pl_record_t *row = pl_record_derive(rec);
  ck_assert_int_eq(pl_record_set_attributes_new(
                       row, json_pack("{s:s}", "origin", "sqs:row")),
                   0);
  ck_assert_int_eq(pl_record_set_meta_from_attributes(row), 0);
  ck_assert_str_eq(pl_record_origin(row), "sqs:row");
  ck_assert_str_eq(pl_record_origin(rec), "file:/kept.csv");
  pl_record_done(row);
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST

START_TEST(the_metadata_attribute_names) {
  const char *names[] = {"origin", "origin_time", "etag", "line"};
  for (size_t i = 0; i < 4; i++)
    ck_assert(pl_record_is_meta_attribute(names[i]));
  ck_assert(!pl_record_is_meta_attribute("message_id"));
  ck_assert(!pl_record_is_meta_attribute("Origin"));
  ck_assert(!pl_record_is_meta_attribute(""));
}
END_TEST

START_TEST(one_template_renders_many_records) {
  fixture_t *f = fixture_create();
  pl_template_t *tpl = compile("${k}:${@line}");
  for (int i = 1; i <= 50; i++) {
    char text[32];
    snprintf(text, sizeof text, "{\"k\": %d}", i * 2);
    pl_record_t *rec = record(f, text);
    pl_record_set_line(rec, (uint64_t)i);
    pl_buf_t out = {0};
    ck_assert_int_eq(pl_template_render(tpl, rec, &out, NULL), 0);
    char expected[32];
    snprintf(expected, sizeof expected, "%d:%d", i * 2, i);
    ck_assert_str_eq(out.data, expected);
    pl_buf_free(&out);
    pl_record_done(rec);
  }
  pl_template_destroy(tpl);
  fixture_free(f);
}
END_TEST

/* ---- Regressions: core bugs found by these tests, now fixed ---- */

/* src/template.c append_json(): reals are printed by json_dumpb() with
 * 17 significant digits, so a price of 0.1 becomes "0.10000000000000001"
 * in a key. */
START_TEST(bug_reals_render_in_their_shortest_form) {
  fixture_t *f = fixture_create();
  pl_record_t *rec = record(f, "{\"price\": 0.1, \"big\": 1e300}");
  assert_renders("${price}", rec, "0.1");
  assert_renders("${big}", rec, "1e+300");
  pl_record_done(rec);
  fixture_free(f);
}
END_TEST


static Suite *template_suite(void) {
  Suite *s = suite_create("template");
  TCase *compiling = tcase_create("compile");
  tcase_add_test(compiling, text_is_kept_and_constants_are_recognised);
  tcase_add_test(compiling, the_source_text_is_copied);
  tcase_add_test(compiling, an_unclosed_reference_is_an_error);
  tcase_add_test(compiling, an_empty_name_is_an_error);
  tcase_add_test(compiling, a_name_with_dollar_or_brace_is_an_error);
  suite_add_tcase(s, compiling);

  TCase *fields = tcase_create("fields");
  tcase_add_test(fields, fields_render_from_the_record_object);
  tcase_add_test(fields, dollar_dollar_is_a_literal_dollar);
  tcase_add_test(fields, numbers_and_booleans_render_as_json_text);
  tcase_add_test(fields, strings_render_as_they_are);
  tcase_add_test(fields, strings_with_nul_bytes_keep_their_length);
  tcase_add_test(fields, field_names_are_taken_literally);
  tcase_add_test(fields, renders_append_to_the_buffer);
  tcase_add_test(fields, a_constant_template_renders_without_a_value);
  tcase_add_test(fields, one_template_renders_many_records);
  suite_add_tcase(s, fields);

  TCase *missing = tcase_create("missing");
  tcase_add_test(missing, a_missing_field_is_not_found);
  tcase_add_test(missing, null_objects_and_arrays_are_not_template_values);
  tcase_add_test(missing, records_without_an_object_have_no_fields);
  tcase_add_test(missing, missing_may_be_null);
  tcase_add_test(missing, missing_is_borrowed_from_the_template);
  suite_add_tcase(s, missing);

  TCase *meta = tcase_create("metadata");
  tcase_add_test(meta, metadata_renders_origin_line_etag_and_message_id);
  tcase_add_test(meta, unset_metadata_is_not_found);
  tcase_add_test(meta, attributes_render_by_name);
  tcase_add_test(meta, attributes_do_not_shadow_built_in_metadata);
  tcase_add_test(meta, a_record_without_attributes_has_none);
  tcase_add_test(meta, derived_records_share_metadata_but_not_the_value);
  tcase_add_test(meta, attributes_are_set_whole_and_replace_the_old);
  tcase_add_test(meta, metadata_comes_from_its_attributes);
  tcase_add_test(meta, the_metadata_attribute_names);
  suite_add_tcase(s, meta);

  TCase *bugs = tcase_create("known bugs");
  tcase_add_test(bugs, bug_reals_render_in_their_shortest_form);
  suite_add_tcase(s, bugs);
  return s;
}

int main(void) {
  return test_suite_run(template_suite());
}
