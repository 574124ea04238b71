/* sink-s3: whole pipelines through the engine in-process against a
 * scripted S3 (<pipelined/testing.h>): what the objects hold and where
 * they go, the cuts by count, size and age, multipart uploads, failed
 * uploads, as a dead letter, and the key templates on their own. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../plugins/sink-s3/csv_encode.h"
#include "../../plugins/sink-s3/s3_key.h"
#include <pipelined/testing.h>

#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- Helpers ---- */

/* sink-s3 under the harness of <pipelined/testing.h>, its AWS client
 * talking to a scripted S3 on the harness's loop. */
typedef test_plugin_aws_t fixture_t;

static fixture_t *fixture_create(void) {
  return test_plugin_aws_create(&pipelined_plugin);
}

/* Closes the harness and its server; fails the test when a handle (the
 * sink's age timer, say) is still open. */
static void fixture_free(fixture_t *f) {
  test_plugin_aws_free(f);
}

/* sink-s3 writing to bucket "bkt" of the scripted server, its keys under
 * out/ and `sink_extra` settings. */
static void set_sink(fixture_t *f, const char *sink_extra) {
  pl_buf_t options = {0};
  pl_buf_printf(&options,
                "bucket = \"bkt\"\n"
                "key = \"out/${@pipeline}/${@seq}-${@uuid}.jsonl\"\n"
                "endpoint = \"%s\"\n"
                "linger = \"10ms\"\n"
                "retry_backoff = \"1ms\"\n%s",
                pl_test_http_url(f->server), sink_extra);
  ck_assert_int_eq(pl_test_set_options(f->t, options.data), 0);
  pl_buf_free(&options);
}

/* Runs the harness to its end: the run ends by itself (the timeout is
 * longer than the test case's, which stops a run that hangs). */
static void run(fixture_t *f) {
  test_plugin_run(f->t, 100000);
}

/* Pipeline "test": the scripted source fed `records` (JSON texts) in
 * groups of 1000, sink-s3 with `sink_extra` (set_sink), and the capturing
 * dead letter; run to its end. */
static void run_records(fixture_t *f, const char *const *records, size_t count,
                        const char *sink_extra) {
  set_sink(f, sink_extra);
  for (size_t i = 0; i < count; i++) {
    if (i > 0 && i % 1000 == 0)
      ck_assert_int_eq(pl_test_end_group(f->t), 0);
    ck_assert_int_eq(pl_test_feed_record(f->t, records[i]), 0);
  }
  run(f);
}

static void push(fixture_t *f, const char *method, int status,
                 const char *headers, const char *body) {
  pl_test_http_push(f->server,
                    &(pl_test_http_response_t){.method = method,
                                               .path_prefix = "/bkt/",
                                               .status = status,
                                               .headers = headers,
                                               .body = body});
}

static const pl_test_http_request_t *request(fixture_t *f, size_t i) {
  const pl_test_http_request_t *req = pl_test_http_request(f->server, i);
  ck_assert_msg(req != NULL, "no request %zu", i);
  return req;
}

static size_t request_count(fixture_t *f) {
  return pl_test_http_request_count(f->server);
}

/* The lines of request i's body (a PutObject). */
static size_t lines(fixture_t *f, size_t i) {
  const pl_test_http_request_t *req = request(f, i);
  size_t n = 0;
  for (size_t k = 0; k < req->body_len; k++)
    n += req->body[k] == '\n';
  return n;
}

static const char *const three[] = {"{\"n\":1}", "{\"n\":2,\"s\":\"é\"}",
                                    "[3]"};

/* "{\"n\":1}" ... as JSON texts of about `size` bytes. */
static char **numbered(size_t count, size_t size) {
  char **texts = calloc(count, sizeof(*texts));
  for (size_t i = 0; i < count; i++) {
    pl_buf_t b = {0};
    pl_buf_printf(&b, "{\"n\":%zu,\"pad\":\"", i + 1);
    while (b.len + 2 < size)
      pl_buf_append(&b, "x", 1);
    pl_buf_append_str(&b, "\"}");
    texts[i] = b.data;
  }
  return texts;
}

static void free_texts(char **texts, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(texts[i]);
  free(texts);
}

/* ---- Contents ---- */

START_TEST(writes_records_as_json_lines) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  run_records(f, three, 3, "max_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 1);
  const pl_test_http_request_t *req = request(f, 0);
  ck_assert_str_eq(req->method, "PUT");
  /* ${@pipeline} is the harness's pipeline, "test". */
  ck_assert_msg(strncmp(req->path, "/bkt/out/test/1-", 16) == 0, "%s",
                req->path);
  /* A version 4 UUID, then the suffix. */
  ck_assert_uint_eq(strlen(req->path), 16 + 36 + 6);
  ck_assert_int_eq(req->path[16 + 14], '4');
  ck_assert_str_eq(req->path + 16 + 36, ".jsonl");
  ck_assert_str_eq(req->body, "{\"n\":1}\n{\"n\":2,\"s\":\"é\"}\n[3]\n");
  char *type = pl_test_http_request_header(req, "Content-Type");
  ck_assert_str_eq(type, "application/x-ndjson");
  free(type);
  char *auth = pl_test_http_request_header(req, "Authorization");
  ck_assert_ptr_nonnull(strstr(auth, "/us-east-1/s3/aws4_request"));
  free(auth);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_written"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "bytes_written"), req->body_len);
  /* The input ended first: the drain cut it, not its age. */
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_drain"), 1);
  fixture_free(f);
}
END_TEST

/* The gunzipped body of request i (a new string), asserted to be one whole
 * gzip stream. */
static char *gunzip(fixture_t *f, size_t i) {
  const pl_test_http_request_t *req = request(f, i);
  ck_assert_uint_ge(req->body_len, 18);
  ck_assert_int_eq((unsigned char)req->body[0], 0x1f);
  ck_assert_int_eq((unsigned char)req->body[1], 0x8b);
  z_stream zs = {0};
  ck_assert_int_eq(inflateInit2(&zs, 15 + 16), Z_OK);
  pl_buf_t out = {0};
  zs.next_in = (Bytef *)req->body;
  zs.avail_in = (uInt)req->body_len;
  int rc;
  do {
    pl_buf_reserve(&out, 1 << 16);
    zs.next_out = (Bytef *)out.data + out.len;
    zs.avail_out = (uInt)(out.cap - out.len - 1);
    uInt avail = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.len += avail - zs.avail_out;
    out.data[out.len] = '\0';
  } while (rc == Z_OK);
  ck_assert_int_eq(rc, Z_STREAM_END);
  ck_assert_uint_eq(zs.avail_in, 0);
  inflateEnd(&zs);
  return out.data ? out.data : strdup("");
}

START_TEST(gzip_compresses_each_object) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  run_records(f, three, 3, "compression = \"gzip\"\nmax_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 1);
  char *text = gunzip(f, 0);
  ck_assert_str_eq(text, "{\"n\":1}\n{\"n\":2,\"s\":\"é\"}\n[3]\n");
  free(text);
  char *type = pl_test_http_request_header(request(f, 0), "Content-Type");
  ck_assert_str_eq(type, "application/gzip");
  free(type);
  ck_assert_uint_eq(pl_test_counter(f->t, "bytes_written"),
                    request(f, 0)->body_len);
  fixture_free(f);
}
END_TEST

START_TEST(gzip_counts_the_text_before_compression) {
  fixture_t *f = fixture_create();
  /* 5973 records of 200 bytes, cut at 400 KB of text: three objects of
   * 1991 records, each compressed in pieces (256 KiB at a time), far
   * smaller than the text. Only the size cuts them, however slowly the
   * records come (max_in_flight: nor does the number of batches held). */
  char **texts = numbered(5973, 200);
  for (int i = 0; i < 3; i++)
    push(f, "PUT", 200, NULL, NULL);
  run_records(f, (const char *const *)texts, 5973,
              "compression = \"gzip\"\nmax_object_bytes = 400000\n"
              "max_object_age = \"1h\"\nbatch_size = 5973\n"
              "max_in_flight = 5973");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 3);
  pl_buf_t all = {0};
  for (size_t i = 0; i < 3; i++) {
    char *text = gunzip(f, i);
    ck_assert_uint_lt(request(f, i)->body_len, strlen(text) / 10);
    pl_buf_append_str(&all, text);
    ck_assert_uint_eq(strlen(text), 1991 * 201);
    free(text);
  }
  pl_buf_t want = {0};
  for (size_t i = 0; i < 5973; i++)
    pl_buf_printf(&want, "%s\n", texts[i]);
  ck_assert_str_eq(all.data, want.data);
  pl_buf_free(&all);
  pl_buf_free(&want);
  free_texts(texts, 5973);
  fixture_free(f);
}
END_TEST

START_TEST(csv_rows_of_the_named_columns) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  static const char *const rows[] = {
      "{\"id\":\"a,1\",\"q\":2,\"x\":\"unused\"}",
      "{\"q\":2.5,\"note\":\"say \\\"hi\\\"\\nthere\"}",
      "{\"id\":null,\"q\":true,\"note\":{\"k\":[1]}}", "[\"not an object\"]"};
  run_records(f, rows, 4,
              "format = \"csv\"\ncolumns = [\"id\", \"q\", \"note\"]\n"
              "max_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 1);
  ck_assert_str_eq(request(f, 0)->body, "id,q,note\n"
                                        "\"a,1\",2,\n"
                                        ",2.5,\"say \"\"hi\"\"\nthere\"\n"
                                        ",true,\"{\"\"k\"\":[1]}\"\n");
  char *type = pl_test_http_request_header(request(f, 0), "Content-Type");
  ck_assert_str_eq(type, "text/csv");
  free(type);
  /* The array went to the dead letter; the group is committed. */
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(csv_encode_on_its_own) {
  pl_list_t columns = {2, (char *[]){"a b", "c\"d"}};
  pl_buf_t out = {0};
  ck_assert_int_eq(csv_encode_header(&columns, &out), 0);
  ck_assert_str_eq(out.data, "a b,\"c\"\"d\"\n");
  pl_buf_free(&out);
}
END_TEST

/* ---- Cuts ---- */

START_TEST(cuts_by_record_count) {
  fixture_t *f = fixture_create();
  char **texts = numbered(5, 10);
  for (int i = 0; i < 3; i++)
    push(f, "PUT", 200, NULL, NULL);
  run_records(f, (const char *const *)texts, 5,
              "max_object_records = 2\nmax_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 3);
  size_t total = 0, keys_differ = 0;
  for (size_t i = 0; i < 3; i++) {
    size_t n = lines(f, i);
    ck_assert_msg(n == 2 || n == 1, "object %zu has %zu lines", i, n);
    total += n;
    if (i > 0)
      keys_differ += strcmp(request(f, i)->path, request(f, 0)->path) != 0;
  }
  ck_assert_uint_eq(total, 5);
  ck_assert_uint_eq(keys_differ, 2);
  /* The two full objects were cut by count, the last by the drain. */
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_drain"), 1);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  free_texts(texts, 5);
  fixture_free(f);
}
END_TEST

START_TEST(cuts_by_size) {
  fixture_t *f = fixture_create();
  /* 40-byte records (41 with the newline): an object is cut once it holds
   * 100 bytes, so at its third record. */
  char **texts = numbered(7, 40);
  for (int i = 0; i < 3; i++)
    push(f, "PUT", 200, NULL, NULL);
  run_records(f, (const char *const *)texts, 7,
              "max_object_bytes = 100\nmax_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 3);
  ck_assert_uint_eq(request(f, 0)->body_len, 3 * 41);
  ck_assert_uint_eq(lines(f, 0) + lines(f, 1) + lines(f, 2), 7);
  ck_assert_uint_eq(lines(f, 0), 3);
  ck_assert_uint_eq(lines(f, 1), 3);
  ck_assert_uint_eq(lines(f, 2), 1);
  free_texts(texts, 7);
  fixture_free(f);
}
END_TEST

/* While the input goes on (a daemon), a small object waits for its age. */
START_TEST(waits_for_the_age_before_the_upload) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  set_sink(f, "max_object_age = \"300ms\"");
  ck_assert_int_eq(pl_test_feed_record(f->t, three[0]), 0);
  ck_assert_int_eq(pl_test_set_daemon(f->t, true), 0);
  ck_assert_int_eq(pl_test_start(f->t), 0);
  uint64_t start = uv_now(pl_test_loop(f->t));
  while (pl_test_committed(f->t) < 1)
    uv_run(pl_test_loop(f->t), UV_RUN_ONCE);
  uv_update_time(pl_test_loop(f->t));
  ck_assert_uint_ge(uv_now(pl_test_loop(f->t)) - start, 300);
  ck_assert_uint_eq(request_count(f), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_age"), 1);
  pl_test_shutdown(f->t);
  ck_assert_int_eq(pl_test_run(f->t, 10000), 0);
  test_plugin_assert_clean(f->t);
  fixture_free(f);
}
END_TEST

/* The end of a --once run does not wait for the open object's age: the
 * drain cuts it as soon as nothing more is coming. */
START_TEST(the_end_of_the_input_uploads_the_open_object_at_once) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  uint64_t start = uv_now(pl_test_loop(f->t));
  run_records(f, three, 3, "max_object_age = \"1h\"");
  uv_update_time(pl_test_loop(f->t));
  test_plugin_assert_clean(f->t);
  ck_assert_uint_lt(uv_now(pl_test_loop(f->t)) - start, 30000);
  ck_assert_uint_eq(request_count(f), 1);
  ck_assert_uint_eq(lines(f, 0), 3);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_drain"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_age"), 0);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(cuts_when_the_stage_has_no_batch_left) {
  fixture_t *f = fixture_create();
  /* Batches of 2 and 2 at most in flight: the sink holds two, and the
   * engine would hand over no more, so the object is cut at once rather
   * than after the (hour-long) age. */
  char **texts = numbered(8, 10);
  for (int i = 0; i < 3; i++)
    push(f, "PUT", 200, NULL, NULL);
  run_records(f, (const char *const *)texts, 8,
              "batch_size = 2\nmax_in_flight = 2\nmax_object_age = \"1h\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_ge(pl_test_counter(f->t, "objects_cut_by_in_flight"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_age"), 0);
  size_t total = 0;
  for (size_t i = 0; i < request_count(f); i++)
    total += lines(f, i);
  ck_assert_uint_eq(total, 8);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  free_texts(texts, 8);
  fixture_free(f);
}
END_TEST

/* ---- Multipart ---- */

#define INITIATED                                                              \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                               \
  "<InitiateMultipartUploadResult "                                            \
  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bkt</Bucket>"     \
  "<Key>k</Key><UploadId>up+1/x</UploadId></InitiateMultipartUploadResult>"
#define COMPLETED                                                              \
  "<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"            \
  "<ETag>\"m-2\"</ETag></CompleteMultipartUploadResult>"

/* Each record's line: {"grow":1048576,"pad":"x..."} and a newline. */
#define MEGABYTE_LINE (sizeof("{\"grow\":1048576,\"pad\":\"\"}") + (1u << 20))

/* Seven records of 1 MiB and a bit, too large for a config file, made in
 * C (pl_test_feed_value): a 7 MiB object in parts of 5 MiB and the rest.
 * Run with `sink_extra` (set_sink). */
static void run_megabytes(fixture_t *f, const char *sink_extra) {
  set_sink(f, sink_extra);
  char *pad = malloc(1u << 20);
  memset(pad, 'x', 1u << 20);
  for (int i = 0; i < 7; i++) {
    json_t *value = json_object();
    json_object_set_new(value, "grow", json_integer(1 << 20));
    json_object_set_new(value, "pad", json_stringn(pad, 1u << 20));
    ck_assert_int_eq(pl_test_feed_value(f->t, value), 0);
  }
  free(pad);
  run(f);
}

START_TEST(large_objects_go_in_parts) {
  fixture_t *f = fixture_create();
  push(f, "POST", 200, NULL, INITIATED);
  push(f, "PUT", 200, "ETag: \"e1\"\r\n", NULL);
  push(f, "PUT", 200, "ETag: \"e2\"\r\n", NULL);
  push(f, "POST", 200, NULL, COMPLETED);
  run_megabytes(f, "part_size = \"5MiB\"\nmax_object_age = \"50ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 4);
  const pl_test_http_request_t *create = request(f, 0);
  ck_assert_str_eq(create->method, "POST");
  ck_assert_ptr_nonnull(strstr(create->path, ".jsonl?uploads="));
  char *type = pl_test_http_request_header(create, "Content-Type");
  ck_assert_str_eq(type, "application/x-ndjson");
  free(type);
  const pl_test_http_request_t *p1 = request(f, 1), *p2 = request(f, 2);
  ck_assert_str_eq(p1->method, "PUT");
  ck_assert_ptr_nonnull(
      strstr(p1->path, ".jsonl?partNumber=1&uploadId=up%2B1%2Fx"));
  ck_assert_ptr_nonnull(
      strstr(p2->path, ".jsonl?partNumber=2&uploadId=up%2B1%2Fx"));
  ck_assert_uint_eq(p1->body_len, 5u << 20);
  ck_assert_uint_eq(p1->body_len + p2->body_len, 7 * MEGABYTE_LINE);
  /* The parts put together are the records' lines. */
  ck_assert_mem_eq(p1->body, "{\"grow\":1048576,\"pad\":\"xxx", 26);
  ck_assert_int_eq(p2->body[p2->body_len - 1], '\n');
  const pl_test_http_request_t *complete = request(f, 3);
  ck_assert_str_eq(complete->method, "POST");
  ck_assert_ptr_nonnull(strstr(complete->path, ".jsonl?uploadId=up%2B1%2Fx"));
  ck_assert_str_eq(complete->body,
                   "<CompleteMultipartUpload>"
                   "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
                   "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part>"
                   "</CompleteMultipartUpload>");
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_written"), 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_failed_part_aborts_the_upload) {
  fixture_t *f = fixture_create();
  push(f, "POST", 200, NULL, INITIATED);
  push(f, "PUT", 403, NULL,
       "<Error><Code>AccessDenied</Code><Message>no</Message></Error>");
  push(f, "DELETE", 204, NULL, NULL);
  run_megabytes(f, "part_size = \"5MiB\"\nmax_object_age = \"50ms\"\n"
                   "retry_limit = 0");
  ck_assert_uint_ge(request_count(f), 3);
  const pl_test_http_request_t *abort_req = request(f, 2);
  ck_assert_str_eq(abort_req->method, "DELETE");
  ck_assert_ptr_nonnull(strstr(abort_req->path, ".jsonl?uploadId=up%2B1%2Fx"));
  /* Nothing was acknowledged: the group failed. */
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_failed"), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "AccessDenied"));
  fixture_free(f);
}
END_TEST

/* A multipart upload whose part is refused, then whose abort gets
 * `status` and `body`: the fixture after the run (its object failed). */
static fixture_t *abort_answered(int status, const char *body) {
  fixture_t *f = fixture_create();
  push(f, "POST", 200, NULL, INITIATED);
  push(f, "PUT", 403, NULL,
       "<Error><Code>AccessDenied</Code><Message>no</Message></Error>");
  push(f, "DELETE", status, NULL, body);
  run_megabytes(f, "part_size = \"5MiB\"\nmax_object_age = \"50ms\"\n"
                   "retry_limit = 0");
  ck_assert_uint_ge(request_count(f), 3);
  ck_assert_str_eq(request(f, 2)->method, "DELETE");
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  return f;
}

/* An abort that fails too says which upload it left behind, and how it
 * goes: the operator can remove it, or let a lifecycle rule do it. */
START_TEST(an_abort_that_fails_names_the_upload_left_behind) {
  fixture_t *f = abort_answered(
      403,
      "<Error><Code>AccessDenied</Code><Message>nor this</Message></Error>");
  const char *log = pl_test_log(f->t);
  ck_assert_msg(strstr(log, "; multipart upload up+1/x of s3://bkt/"), "%s",
                log);
  ck_assert_msg(strstr(log, " is left incomplete (AbortMultipartUpload: s3 "
                            "AbortMultipartUpload: HTTP 403 AccessDenied: "
                            "nor this"),
                "%s", log);
  ck_assert_ptr_nonnull(strstr(log, "(AbortIncompleteMultipartUpload)"));
  fixture_free(f);

  /* NoSuchUpload: nothing is left, and nothing is said to be. */
  f = abort_answered(
      404, "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>");
  ck_assert_ptr_null(strstr(pl_test_log(f->t), "left incomplete"));
  fixture_free(f);
}
END_TEST

START_TEST(an_error_completing_the_upload_fails_the_object) {
  fixture_t *f = fixture_create();
  push(f, "POST", 200, NULL, INITIATED);
  push(f, "PUT", 200, "ETag: \"e1\"\r\n", NULL);
  push(f, "PUT", 200, "ETag: \"e2\"\r\n", NULL);
  /* S3's way of failing a completion after it began: 200 and an error. */
  push(f, "POST", 200, NULL,
       "<Error><Code>InternalError</Code><Message>x</Message></Error>");
  push(f, "DELETE", 204, NULL, NULL);
  run_megabytes(f, "part_size = \"5MiB\"\nmax_object_age = \"50ms\"\n"
                   "retry_limit = 0");
  ck_assert_uint_eq(request_count(f), 5);
  ck_assert_str_eq(request(f, 4)->method, "DELETE");
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_ptr_nonnull(
      strstr(pl_test_log(f->t), "the document element is <Error>"));
  fixture_free(f);
}
END_TEST

/* ---- Failures ---- */

/* An object the drain cut whose upload failed: its records come back in
 * a batch after the drain, and the drain cuts their new object too, rather
 * than its age. */
START_TEST(a_retry_after_the_drain_is_uploaded_at_once) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 500, NULL,
       "<Error><Code>InternalError</Code><Message>x</Message></Error>");
  push(f, "PUT", 200, NULL, NULL);
  uint64_t start = uv_now(pl_test_loop(f->t));
  run_records(f, three, 3, "max_object_age = \"1h\"");
  uv_update_time(pl_test_loop(f->t));
  test_plugin_assert_clean(f->t);
  ck_assert_uint_lt(uv_now(pl_test_loop(f->t)) - start, 30000);
  ck_assert_uint_eq(request_count(f), 2);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_cut_by_drain"), 2);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_failed_upload_is_retried) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 500, NULL,
       "<Error><Code>InternalError</Code><Message>x</Message></Error>");
  push(f, "PUT", 200, NULL, NULL);
  run_records(f, three, 3, "max_object_age = \"20ms\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 2);
  /* The retry wrote the same records into an object of its own. */
  ck_assert_str_eq(request(f, 1)->body, request(f, 0)->body);
  ck_assert_str_ne(request(f, 1)->path, request(f, 0)->path);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_failed"), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_written"), 1);
  fixture_free(f);
}
END_TEST

START_TEST(an_upload_that_keeps_failing_fails_the_group) {
  fixture_t *f = fixture_create();
  /* Nothing queued: every request gets 500. */
  run_records(f, three, 3, "max_object_age = \"20ms\"\nretry_limit = 2");
  ck_assert_uint_eq(request_count(f), 3);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_counter(f->t, "objects_failed"), 3);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
}
END_TEST

/* ---- Shutdown ---- */

/* Runs sink-s3 (max_object_age `age`) as a daemon with `timeout` as its
 * shutdown_timeout, fed two records in one group, and shuts it down once
 * the sink holds them (in an object that its age has not cut yet). */
static void run_then_shut_down(fixture_t *f, const char *timeout,
                               const char *age) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "shutdown_timeout = \"%s\"\naws { max_attempts = 1 }",
                timeout);
  ck_assert_int_eq(pl_test_set_globals(f->t, text.data), 0);
  pl_buf_reset(&text);
  pl_buf_printf(&text,
                "bucket = \"bkt\"\nendpoint = \"%s\"\n"
                "linger = \"10ms\"\nmax_object_age = \"%s\"",
                pl_test_http_url(f->server), age);
  ck_assert_int_eq(pl_test_set_options(f->t, text.data), 0);
  pl_buf_free(&text);
  ck_assert_int_eq(pl_test_feed_record(f->t, "{\"n\":1}"), 0);
  ck_assert_int_eq(pl_test_feed_record(f->t, "{\"n\":2}"), 0);
  ck_assert_int_eq(pl_test_set_daemon(f->t, true), 0);
  int rc = pl_test_start(f->t);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(f->t),
                pl_test_log(f->t));
  while (test_plugin_metrics(f->t)->records_in < 2)
    uv_run(pl_test_loop(f->t), UV_RUN_ONCE);
  pl_test_shutdown(f->t);
  rc = pl_test_run(f->t, 100000);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, pl_test_log(f->t));
}

START_TEST(a_drain_uploads_the_open_object) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  run_then_shut_down(f, "20s", "1s");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 1);
  ck_assert_str_eq(request(f, 0)->body, "{\"n\":1}\n{\"n\":2}\n");
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(a_drain_that_runs_out_fails_the_open_object) {
  fixture_t *f = fixture_create();
  /* The drain cuts the object; its upload never ends. */
  pl_test_http_push(f->server,
                    &(pl_test_http_response_t){
                        .method = "PUT", .path_prefix = "/bkt/", .hang = true});
  run_then_shut_down(f, "100ms", "1h");
  ck_assert_int_eq(pl_test_status(f->t), 1);
  ck_assert_msg(strstr(pl_test_log(f->t), "shutdown timed out"), "%s",
                pl_test_log(f->t));
  /* Nothing committed: the next run reads it again. */
  ck_assert_uint_le(request_count(f), 1);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  /* fixture_free() lets the handles the shutdown closed finish, and
   * fails the test when one (the sink's age timer) is still open. */
  fixture_free(f);
}
END_TEST

/* ---- As a dead letter ---- */

START_TEST(works_as_a_dead_letter) {
  fixture_t *f = fixture_create();
  push(f, "PUT", 200, NULL, NULL);
  /* The capturing sink rejects the record with a field "bad"; sink-s3
   * is the pipeline's dead letter. */
  ck_assert_int_eq(pl_test_set_as_dead_letter(f->t, true), 0);
  ck_assert_int_eq(pl_test_set_sink_options(f->t, "reject_field = \"bad\""), 0);
  pl_buf_t options = {0};
  pl_buf_printf(&options,
                "bucket = \"bkt\"\nkey = \"dead/${@uuid}\"\n"
                "endpoint = \"%s\"\nlinger = \"10ms\"\n"
                "max_object_age = \"20ms\"",
                pl_test_http_url(f->server));
  ck_assert_int_eq(pl_test_set_options(f->t, options.data), 0);
  pl_buf_free(&options);
  ck_assert_int_eq(pl_test_feed_record(f->t, "{\"n\":1}"), 0);
  ck_assert_int_eq(pl_test_feed_record(f->t, "{\"bad\":2}"), 0);
  run(f);
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_count(f), 1);
  const pl_test_http_request_t *req = request(f, 0);
  ck_assert_msg(strncmp(req->path, "/bkt/dead/", 10) == 0, "%s", req->path);
  /* One letter: the rejected record and why. */
  ck_assert_uint_eq(lines(f, 0), 1);
  ck_assert_ptr_nonnull(strstr(req->body, "bad"));
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

/* ---- Config ---- */

static void refused(const char *sink_extra, const char *message) {
  fixture_t *f = fixture_create();
  pl_buf_t options = {0};
  pl_buf_printf(&options, "bucket = \"bkt\"\nendpoint = \"%s\"\n%s",
                pl_test_http_url(f->server), sink_extra);
  ck_assert_int_eq(pl_test_set_options(f->t, options.data), 0);
  pl_buf_free(&options);
  ck_assert_int_eq(pl_test_feed_record(f->t, "1"), 0);
  ck_assert_int_lt(pl_test_run(f->t, 100000), 0);
  const char *said = pl_test_errors(f->t);
  ck_assert_msg(strstr(said, message) || strstr(pl_test_log(f->t), message),
                "expected '%s' in: %s%s", message, said, pl_test_log(f->t));
  fixture_free(f);
}

START_TEST(bad_options_are_refused) {
  refused("key = \"a/${@pipeline}.jsonl\"", "has no ${@uuid}");
  refused("key = \"${@uuid}/${name}\"", "unknown ${...} name");
  refused("key = \"${@uuid}%q\"", "unknown %-conversion");
  refused("part_size = \"1MiB\"", "part_size");
  refused("max_object_records = -1", "max_object_records");
  refused("format = \"csv\"", "option 'columns' is required");
  refused("columns = [\"a\"]", "option 'columns' is for format");
  /* Every key would be longer than S3 takes: refused at the start (and by
   * --check), not object by object. */
  pl_buf_t long_key = {0};
  pl_buf_append_str(&long_key, "key = \"");
  for (int i = 0; i < 1000; i++)
    pl_buf_append(&long_key, "k", 1);
  pl_buf_append_str(&long_key, "/${@uuid}\"");
  refused(long_key.data,
          "option 'key' makes keys longer than 1024 bytes, S3's limit");
  pl_buf_free(&long_key);
}
END_TEST

/* ---- Keys on their own ---- */

START_TEST(keys_render_their_parts) {
  /* 2026-05-01T10:02:03Z */
  s3_key_vars_t vars = {.pipeline = "orders",
                        .uuid = "0b6a8e2c-1f3d-4c5e-9a7b-123456789abc",
                        .seq = 12,
                        .opened = 1777629723};
  pl_buf_t out = {0};
  ck_assert_int_eq(
      s3_key_render("a/${@pipeline}/%Y/%m/%d/%H%M%S-${@seq}-${@uuid}%%$$.gz",
                    &vars, &out),
      0);
  ck_assert_str_eq(out.data, "a/orders/2026/05/01/100203-12-"
                             "0b6a8e2c-1f3d-4c5e-9a7b-123456789abc%$.gz");
  pl_buf_reset(&out);
  ck_assert_ptr_null(s3_key_check("${@uuid}"));
  ck_assert_ptr_nonnull(s3_key_check(""));
  ck_assert_ptr_nonnull(s3_key_check("${@uuid}${@pipeline"));
  ck_assert_ptr_nonnull(s3_key_check("${@uuid}$x"));
  ck_assert_ptr_nonnull(s3_key_check("${@uuid}%"));
  ck_assert_int_eq(s3_key_render("nope", &vars, &out), PL_EINVAL);
  /* Longer than S3 allows. */
  pl_buf_t big = {0};
  for (int i = 0; i < 1000; i++)
    pl_buf_append(&big, "k", 1);
  pl_buf_append_str(&big, "${@uuid}");
  pl_buf_append_str(&out, "x");
  ck_assert_int_eq(s3_key_render(big.data, &vars, &out), PL_ERANGE);
  ck_assert_str_eq(out.data, "x");
  pl_buf_free(&big);
  pl_buf_free(&out);
  char a[37], b[37];
  ck_assert_int_eq(s3_key_uuid(a), 0);
  ck_assert_int_eq(s3_key_uuid(b), 0);
  ck_assert_uint_eq(strlen(a), 36);
  ck_assert_int_eq(a[14], '4');
  ck_assert_ptr_nonnull(strchr("89ab", a[19]));
  ck_assert_str_ne(a, b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink_s3");
  TCase *objects = tcase_create("objects");
  tcase_set_timeout(objects, 60);
  tcase_add_test(objects, writes_records_as_json_lines);
  tcase_add_test(objects, cuts_by_record_count);
  tcase_add_test(objects, cuts_by_size);
  tcase_add_test(objects, waits_for_the_age_before_the_upload);
  tcase_add_test(objects, the_end_of_the_input_uploads_the_open_object_at_once);
  tcase_add_test(objects, cuts_when_the_stage_has_no_batch_left);
  tcase_add_test(objects, works_as_a_dead_letter);
  tcase_add_test(objects, gzip_compresses_each_object);
  tcase_add_test(objects, gzip_counts_the_text_before_compression);
  tcase_add_test(objects, csv_rows_of_the_named_columns);
  suite_add_tcase(s, objects);
  TCase *parts = tcase_create("multipart");
  tcase_set_timeout(parts, 120);
  tcase_add_test(parts, large_objects_go_in_parts);
  tcase_add_test(parts, a_failed_part_aborts_the_upload);
  tcase_add_test(parts, an_abort_that_fails_names_the_upload_left_behind);
  tcase_add_test(parts, an_error_completing_the_upload_fails_the_object);
  suite_add_tcase(s, parts);
  TCase *failures = tcase_create("failures");
  tcase_set_timeout(failures, 60);
  tcase_add_test(failures, a_failed_upload_is_retried);
  tcase_add_test(failures, a_retry_after_the_drain_is_uploaded_at_once);
  tcase_add_test(failures, an_upload_that_keeps_failing_fails_the_group);
  suite_add_tcase(s, failures);
  TCase *shutdown = tcase_create("shutdown");
  tcase_set_timeout(shutdown, 60);
  tcase_add_test(shutdown, a_drain_uploads_the_open_object);
  tcase_add_test(shutdown, a_drain_that_runs_out_fails_the_open_object);
  suite_add_tcase(s, shutdown);
  TCase *config = tcase_create("config");
  tcase_set_timeout(config, 60);
  tcase_add_test(config, bad_options_are_refused);
  tcase_add_test(config, keys_render_their_parts);
  tcase_add_test(config, csv_encode_on_its_own);
  suite_add_tcase(s, config);
  return test_suite_run(s);
}
