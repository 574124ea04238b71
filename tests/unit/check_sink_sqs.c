/* sink-sqs: whole pipelines through the engine in-process against a
 * scripted SQS (<pipelined/testing.h>), and the encode and response steps
 * on their own. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../plugins/sink-sqs/sqs_batch.h"
#include "../../plugins/sink-sqs/sqs_response.h"
#include <pipelined/testing.h>

#include "test_plugin.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- sink-encode: sqs_encode_batch on the engine's own batches ---- */

/* Encodes each batch it is given (queue "q", the default limits), keeps
 * the request bodies and each entry's batch index, and delivers what it
 * did not resolve. */
typedef struct encode_sink {
  json_t *bodies;  /* array of request bodies */
  json_t *records; /* array of arrays: the batch index of each entry */
  size_t batches;
} encode_sink_t;

static int encode_init(pl_instance_t *inst, const void *options, void **ctx) {
  encode_sink_t *e = calloc(1, sizeof(*e));
  e->bodies = json_array();
  e->records = json_array();
  *ctx = e;
  return 0;
}

static void encode_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  encode_sink_t *e = ctx;
  sqs_encoding_t enc = {
      .queue_url = "q", .max_batch_bytes = 262144, .max_message_bytes = 262144};
  sqs_request_t *requests = NULL;
  size_t count = 0;
  ck_assert_int_eq(sqs_encode_batch(&enc, batch, &requests, &count), 0);
  e->batches++;
  for (size_t i = 0; i < count; i++) {
    /* The request is JSON text, written directly: it must parse. */
    json_t *body =
        json_loadb(requests[i].body.data, requests[i].body.len, 0, NULL);
    ck_assert_msg(body != NULL, "not JSON: %s", requests[i].body.data);
    json_array_append_new(e->bodies, body);
    json_t *index = json_array();
    for (size_t k = 0; k < requests[i].count; k++)
      json_array_append_new(index,
                            json_integer((json_int_t)requests[i].records[k]));
    json_array_append_new(e->records, index);
  }
  sqs_requests_free(requests, count);
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void encode_destroy(void *ctx) {
  encode_sink_t *e = ctx;
  json_decref(e->bodies);
  json_decref(e->records);
  free(e);
}

static const pl_plugin_t sink_encode = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "encode",
    .kind = PL_KIND_SINK,
    .description = "Test sink: sqs_encode_batch on each batch.",
    .defaults = {.batch_size = "100", .linger = "1s"},
    .init = encode_init,
    .write = encode_write,
    .destroy = encode_destroy,
};

/* ---- Helpers ---- */

/* sink-sqs under the harness of <pipelined/testing.h>, its AWS client
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
  pl_test_set_globals(f->t, "aws { max_attempts = 1 }");
  return f;
}

/* Closes the harness and its server; fails the test when a handle was
 * left open. */
static void fixture_free(fixture_t *f) {
  ck_assert_int_eq(pl_test_destroy(f->t), 0);
  free(f);
}

/* sink-sqs sending to queue `queue` of the server with `sink_extra`
 * settings, fed `records` (JSON texts) in one group, the record i with
 * origin "test:script" and line i + 1. In a record, a string field "etag"
 * becomes its etag, "otime" its origin time, "msgid" its message id, and
 * a string "bytes" makes it a bytes record holding that text. */
static void feed_records(fixture_t *f, const char *const *records, size_t count,
                         const char *queue, const char *sink_extra) {
  pl_buf_t options = {0};
  pl_buf_printf(&options,
                "queue_url = \"%s/000000000000/%s\"\n"
                "retry_backoff = \"1ms\"\n%s",
                pl_test_http_url(f->server), queue, sink_extra);
  pl_test_set_options(f->t, options.data);
  pl_buf_free(&options);
  for (size_t i = 0; i < count; i++) {
    json_t *value = json_loads(records[i], JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(value);
    json_t *bytes = json_object_get(value, "bytes");
    if (json_is_string(bytes))
      ck_assert_int_eq(pl_test_feed_bytes(f->t, json_string_value(bytes),
                                          json_string_length(bytes), false),
                       0);
    else
      ck_assert_int_eq(pl_test_feed_record(f->t, records[i]), 0);
    pl_test_meta_t meta = {
        .origin = "test:script",
        .etag = json_string_value(json_object_get(value, "etag")),
        .message_id = json_string_value(json_object_get(value, "msgid")),
        .origin_time = json_string_value(json_object_get(value, "otime")),
        .line = i + 1};
    ck_assert_int_eq(pl_test_feed_meta(f->t, &meta), 0);
    json_decref(value);
  }
}

/* Feeds and runs to the end; asserts the run started. */
static void run_records(fixture_t *f, const char *const *records, size_t count,
                        const char *queue, const char *sink_extra) {
  feed_records(f, records, count, queue, sink_extra);
  test_plugin_run(f->t, 30000);
}

/* Queues one answer of the server, for any request. */
static void push(fixture_t *f, int status, const char *body) {
  pl_test_http_push_status(f->server, status, body, 1);
}

/* The parsed body of the i-th request the server saw (new reference). */
static json_t *request_body(fixture_t *f, size_t i) {
  ck_assert_uint_gt(pl_test_http_request_count(f->server), i);
  json_t *body = pl_test_http_request_json(f->server, i);
  ck_assert_msg(body != NULL, "request %zu: the body is not JSON", i);
  return body;
}

/* The i-th dead letter's document (reason, line, record). */
static json_t *letter(fixture_t *f, size_t i) {
  json_t *doc = pl_test_dead_letter_document(f->t, i);
  ck_assert_ptr_nonnull(doc);
  return doc;
}

/* A response that lists the entries "0" to "n - 1" as successful. */
static char *all_ok(size_t n) {
  pl_buf_t buf = {0};
  pl_buf_append_str(&buf, "{\"Successful\":[");
  for (size_t i = 0; i < n; i++)
    pl_buf_printf(&buf,
                  "%s{\"Id\":\"%zu\",\"MessageId\":\"m-%zu\","
                  "\"MD5OfMessageBody\":\"x\"}",
                  i ? "," : "", i, i);
  pl_buf_append_str(&buf, "],\"Failed\":[]}");
  return buf.data;
}

static void push_ok(fixture_t *f, size_t times) {
  char *body = all_ok(SQS_MAX_ENTRIES);
  pl_test_http_push_status(f->server, 200, body, times);
  free(body);
}

/* Entry e of request i (new reference). */
static json_t *request_entry(fixture_t *f, size_t i, size_t e) {
  json_t *body = request_body(f, i);
  json_t *entry = json_array_get(json_object_get(body, "Entries"), e);
  ck_assert_ptr_nonnull(entry);
  json_incref(entry);
  json_decref(body);
  return entry;
}

static size_t request_entries(fixture_t *f, size_t i) {
  json_t *body = request_body(f, i);
  size_t n = json_array_size(json_object_get(body, "Entries"));
  json_decref(body);
  return n;
}

/* The message body of entry e of request i, parsed (new reference). */
static json_t *message(fixture_t *f, size_t i, size_t e) {
  json_t *entry = request_entry(f, i, e);
  const char *text = json_string_value(json_object_get(entry, "MessageBody"));
  ck_assert_ptr_nonnull(text);
  json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
  ck_assert_ptr_nonnull(value);
  json_decref(entry);
  return value;
}

/* The StringValue of attribute `name` of an entry, or NULL. */
static const char *attribute(const json_t *entry, const char *name,
                             const char **type) {
  const json_t *attr =
      json_object_get(json_object_get(entry, "MessageAttributes"), name);
  if (type)
    *type = json_string_value(json_object_get(attr, "DataType"));
  return json_string_value(json_object_get(attr, "StringValue"));
}

/* The members sqs_encode_message wrote, as an object (new reference). */
static json_t *entry_members(const pl_buf_t *text) {
  pl_buf_t object = {0};
  pl_buf_printf(&object, "{%s}", text->data ? text->data : "");
  json_t *entry = json_loads(object.data, 0, NULL);
  ck_assert_msg(entry != NULL, "not JSON members: %s", object.data);
  pl_buf_free(&object);
  return entry;
}

/* "{\"n\":i}" for i in 1..count, as JSON texts to free with free_texts. */
static char **numbered(size_t count) {
  char **texts = calloc(count, sizeof(*texts));
  for (size_t i = 0; i < count; i++) {
    pl_buf_t text = {0};
    pl_buf_printf(&text, "{\"n\":%zu}", i + 1);
    texts[i] = text.data;
  }
  return texts;
}

static void free_texts(char **texts, size_t count) {
  for (size_t i = 0; i < count; i++)
    free(texts[i]);
  free(texts);
}

static json_int_t n_of(const json_t *value) {
  return json_integer_value(json_object_get(value, "n"));
}

/* ---- Batching ---- */

START_TEST(batches_by_count) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  char **records = numbered(25);
  run_records(f, (const char *const *)records, 25, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  size_t sizes[3];
  for (size_t i = 0; i < 3; i++)
    sizes[i] = request_entries(f, i);
  /* Requests run concurrently: their order at the server may vary. */
  ck_assert_uint_eq(sizes[0] + sizes[1] + sizes[2], 25);
  ck_assert_uint_eq(sizes[0] == 5 || sizes[1] == 5 || sizes[2] == 5, 1);
  for (size_t i = 0; i < 3; i++)
    ck_assert(sizes[i] == 10 || sizes[i] == 5);
  const pl_test_http_request_t *req = pl_test_http_request(f->server, 0);
  char *target = pl_test_http_request_header(req, "X-Amz-Target");
  ck_assert_str_eq(target, "AmazonSQS.SendMessageBatch");
  free(target);
  json_t *body = request_body(f, 0);
  pl_buf_t url = {0};
  pl_buf_printf(&url, "%s/000000000000/q", pl_test_http_url(f->server));
  ck_assert_str_eq(json_string_value(json_object_get(body, "QueueUrl")),
                   url.data);
  pl_buf_free(&url);
  json_decref(body);
  /* Every record went exactly once. */
  bool seen[26] = {false};
  for (size_t i = 0; i < 3; i++) {
    for (size_t e = 0; e < sizes[i]; e++) {
      json_t *value = message(f, i, e);
      json_int_t n = n_of(value);
      ck_assert(n >= 1 && n <= 25 && !seen[n]);
      seen[n] = true;
      json_decref(value);
      /* The record's line (its number here), one or two digits. */
      char line[8];
      snprintf(line, sizeof line, "%d", (int)n);
      json_t *entry = request_entry(f, i, e);
      ck_assert_str_eq(attribute(entry, "line", NULL), line);
      json_decref(entry);
    }
  }
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(pl_test_counter(f->t, "requests"), 3);
  ck_assert_uint_eq(pl_test_counter(f->t, "messages_sent"), 25);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 25);
  free_texts(records, 25);
  fixture_free(f);
}
END_TEST

START_TEST(a_larger_batch_size_is_split_into_requests_of_ten) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  char **records = numbered(25);
  run_records(f, (const char *const *)records, 25, "q",
              "batch_size = 25\n linger = \"1s\"\n max_in_flight = 1");
  test_plugin_assert_clean(f->t);
  /* One engine batch, three requests. */
  ck_assert_uint_eq(test_plugin_metrics(f->t)->batches, 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  ck_assert_uint_eq(request_entries(f, 0) + request_entries(f, 1) +
                        request_entries(f, 2),
                    25);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 25);
  free_texts(records, 25);
  fixture_free(f);
}
END_TEST

/* `count` records {"n":i,"d":"xxx..."} whose text is `size` bytes. */
static char **sized(size_t count, size_t size) {
  char **texts = calloc(count, sizeof(*texts));
  for (size_t i = 0; i < count; i++) {
    char head[32];
    int n = snprintf(head, sizeof(head), "{\"n\":%zu,\"d\":\"", i + 1);
    texts[i] = malloc(size + 1);
    memcpy(texts[i], head, (size_t)n);
    memset(texts[i] + n, 'x', size - (size_t)n - 2);
    memcpy(texts[i] + size - 2, "\"}", 3);
  }
  return texts;
}

START_TEST(batches_by_bytes) {
  fixture_t *f = fixture_create();
  push_ok(f, 3);
  /* 100 KiB each: two fit in 256 KiB, three do not. The engine's batch
   * holds all six, so the split is the plugin's. */
  char **records = sized(6, 100 * 1024);
  run_records(f, (const char *const *)records, 6, "q",
              "batch_bytes = \"10MiB\"\n batch_size = 100");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->batches, 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_uint_eq(request_entries(f, i), 2);
    const pl_test_http_request_t *req = pl_test_http_request(f->server, i);
    ck_assert_uint_lt(req->body_len, 256 * 1024 + 4096);
  }
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 6);
  free_texts(records, 6);
  fixture_free(f);
}
END_TEST

START_TEST(max_batch_bytes_allows_larger_requests) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  char **records = sized(6, 100 * 1024);
  run_records(f, (const char *const *)records, 6, "q",
              "batch_bytes = \"10MiB\"\n batch_size = 100\n"
              " max_batch_bytes = \"1MiB\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  ck_assert_uint_eq(request_entries(f, 0), 6);
  free_texts(records, 6);
  fixture_free(f);
}
END_TEST

/* ---- Results ---- */

START_TEST(entry_failures_reject_or_retry_only_those_entries) {
  fixture_t *f = fixture_create();
  push(f, 200,
       "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"a\"},"
       "{\"Id\":\"3\",\"MessageId\":\"b\"}],"
       "\"Failed\":[{\"Id\":\"1\",\"SenderFault\":false,"
       "\"Code\":\"InternalError\",\"Message\":\"try again\"},"
       "{\"Id\":\"2\",\"SenderFault\":true,"
       "\"Code\":\"InvalidMessageContents\","
       "\"Message\":\"Invalid characters found\"}]}");
  push_ok(f, 1);
  char **records = numbered(4);
  run_records(f, (const char *const *)records, 4, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(request_entries(f, 0), 4);
  /* Only the record that failed without SenderFault went again. */
  ck_assert_uint_eq(request_entries(f, 1), 1);
  json_t *value = message(f, 1, 0);
  ck_assert_int_eq(n_of(value), 2);
  json_decref(value);
  json_t *entry = request_entry(f, 1, 0);
  ck_assert_str_eq(json_string_value(json_object_get(entry, "Id")), "0");
  ck_assert_str_eq(attribute(entry, "line", NULL), "2");
  json_decref(entry);
  /* The one SQS refused is in the dead letter with the code and message. */
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  json_t *doc = letter(f, 0);
  ck_assert_str_eq(json_string_value(json_object_get(doc, "reason")),
                   "SQS refused the message: InvalidMessageContents: "
                   "Invalid characters found");
  ck_assert_int_eq(
      json_integer_value(json_object_get(json_object_get(doc, "record"), "n")),
      3);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 3);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->rejected, 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 1);
  free_texts(records, 4);
  fixture_free(f);
}
END_TEST

START_TEST(entries_the_result_omits_are_retried) {
  fixture_t *f = fixture_create();
  push(f, 200, "{\"Successful\":[{\"Id\":\"1\"}],\"Failed\":[]}");
  push_ok(f, 1);
  char **records = numbered(2);
  run_records(f, (const char *const *)records, 2, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(request_entries(f, 1), 1);
  json_t *value = message(f, 1, 0);
  ck_assert_int_eq(n_of(value), 1);
  json_decref(value);
  free_texts(records, 2);
  fixture_free(f);
}
END_TEST

START_TEST(an_answer_that_is_not_json_fails_its_records) {
  /* The answer is read as text by the sink: text that is neither the usual
   * result nor JSON (cut short on the way, a proxy's page) fails the
   * request's records, which go again; it is not a missing queue or a
   * denied permission, so the log does not say retrying will not help. */
  fixture_t *f = fixture_create();
  push(f, 200, "{\"Successful\":[{\"Id\":\"0\"}");
  push_ok(f, 1);
  char **records = numbered(2);
  run_records(f, (const char *const *)records, 2, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(request_entries(f, 1), 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->retried, 2);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "InvalidResponse"));
  ck_assert_msg(!strstr(pl_test_log(f->t), "retrying will not help"), "%s",
                pl_test_log(f->t));
  free_texts(records, 2);
  fixture_free(f);
}
END_TEST

/* ---- Messages ---- */

/* One record whose message (body and the origin and line attributes) is
 * exactly `total` bytes: {"d":"xxx"} with origin test:script (6 + 6 + 11
 * bytes) and line 1 (4 + 6 + 1). */
static char *record_of_message_size(size_t total) {
  size_t body = total - 34;
  char *text = malloc(body + 1);
  memcpy(text, "{\"d\":\"", 6);
  memset(text + 6, 'x', body - 8);
  memcpy(text + body - 2, "\"}", 3);
  return text;
}

START_TEST(an_oversize_record_is_rejected_not_truncated) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  char *big = record_of_message_size(300000);
  const char *records[] = {big, "{\"n\":2}"};
  run_records(f, records, 2, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  ck_assert_uint_eq(request_entries(f, 0), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(f->t, 0),
                   "message of 300000 bytes exceeds the 262144-byte SQS limit");
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  free(big);
  fixture_free(f);
}
END_TEST

START_TEST(a_message_at_the_limit_is_sent) {
  fixture_t *f = fixture_create();
  push_ok(f, 2);
  char *exact = record_of_message_size(262144);
  char *over = record_of_message_size(262145);
  const char *records[] = {exact, over};
  run_records(f, records, 2, "q", "batch_bytes = \"1B\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(f->t, 0),
                   "message of 262145 bytes exceeds the 262144-byte SQS limit");
  free(exact);
  free(over);
  fixture_free(f);
}
END_TEST

START_TEST(max_message_bytes_raises_the_limit) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  char *big = record_of_message_size(300000);
  const char *records[] = {big};
  run_records(f, records, 1, "q",
              "max_message_bytes = \"1MiB\"\n max_batch_bytes = \"1MiB\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  json_t *value = message(f, 0, 0);
  ck_assert_uint_eq(strlen(json_string_value(json_object_get(value, "d"))),
                    300000 - 34 - 8);
  json_decref(value);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  free(big);
  fixture_free(f);
}
END_TEST

START_TEST(bytes_are_sent_as_raw) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  const char *records[] = {"{\"bytes\":\"P1,A,5\\n\"}", "{\"bytes\":\"\"}"};
  run_records(f, records, 2, "q", "");
  test_plugin_assert_clean(f->t);
  /* The empty chunk has nothing to send and is simply delivered. */
  ck_assert_uint_eq(request_entries(f, 0), 1);
  json_t *entry = request_entry(f, 0, 0);
  ck_assert_str_eq(json_string_value(json_object_get(entry, "MessageBody")),
                   "{\"raw\":\"P1,A,5\\n\"}");
  json_decref(entry);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 2);
  fixture_free(f);
}
END_TEST

START_TEST(text_sqs_refuses_is_rejected) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  const char *records[] = {"{\"s\":\"\\uffff\"}", "{\"n\":2}"};
  run_records(f, records, 2, "q", "");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_entries(f, 0), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_dead_letter_reason(f->t, 0), "U+FFFF"));
  fixture_free(f);
}
END_TEST

START_TEST(attributes_carry_the_origin_and_templates) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  /* One literal per record: clang warns of concatenations in arrays. */
  const char *first_record = "{\"product_id\":\"P1\",\"location\":\"A\","
                             "\"etag\":\"e-1\","
                             "\"otime\":\"2026-05-01T10:00:00.123Z\"}";
  const char *records[] = {
      first_record,
      "{\"product_id\":\"P2\",\"location\":\"B\"}",
      "{\"product_id\":\"P3\"}",
      "{\"product_id\":\"P4\",\"location\":\"\"}",
  };
  run_records(f, records, 4, "q",
              "attributes {\n"
              "  warehouse = \"${location}\"\n"
              "  key = \"${product_id}#${@line}\"\n"
              "}");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_entries(f, 0), 2);
  const char *type = NULL;
  json_t *first = request_entry(f, 0, 0);
  ck_assert_str_eq(attribute(first, "origin", &type), "test:script");
  ck_assert_str_eq(type, "String");
  ck_assert_str_eq(attribute(first, "line", &type), "1");
  ck_assert_str_eq(type, "Number");
  ck_assert_str_eq(attribute(first, "etag", &type), "e-1");
  ck_assert_str_eq(type, "String");
  ck_assert_str_eq(attribute(first, "origin_time", &type),
                   "2026-05-01T10:00:00.123Z");
  ck_assert_str_eq(type, "String");
  ck_assert_str_eq(attribute(first, "warehouse", &type), "A");
  ck_assert_str_eq(type, "String");
  ck_assert_str_eq(attribute(first, "key", NULL), "P1#1");
  json_decref(first);
  json_t *second = request_entry(f, 0, 1);
  ck_assert_ptr_null(attribute(second, "etag", NULL));
  ck_assert_ptr_null(attribute(second, "origin_time", NULL));
  ck_assert_str_eq(attribute(second, "line", NULL), "2");
  ck_assert_str_eq(attribute(second, "warehouse", NULL), "B");
  ck_assert_ptr_null(json_object_get(second, "MessageGroupId"));
  ck_assert_ptr_null(json_object_get(second, "MessageDeduplicationId"));
  ck_assert_ptr_null(json_object_get(second, "DelaySeconds"));
  json_decref(second);
  /* A missing field and an empty value reject their records. */
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 2);
  const char *reasons[2];
  for (size_t i = 0; i < 2; i++) {
    json_t *doc = letter(f, i);
    size_t line = (size_t)json_integer_value(json_object_get(doc, "line"));
    ck_assert(line == 3 || line == 4);
    reasons[line - 3] = json_string_value(json_object_get(doc, "reason"));
  }
  ck_assert_str_eq(reasons[0],
                   "message attribute 'warehouse': field 'location' is "
                   "missing or null");
  ck_assert_str_eq(reasons[1], "message attribute 'warehouse' is empty (SQS "
                               "refuses empty values)");
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  fixture_free(f);
}
END_TEST

START_TEST(attribute_sizes_count_toward_the_limit) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  /* A message of 262144 bytes with the origin and line attributes goes;
   * one more attribute of 1 + 6 + 1 bytes takes it over. */
  char *exact = record_of_message_size(262144 - 8);
  const char *records[] = {exact};
  run_records(f, records, 1, "q", "attributes { k = \"v\" }");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  fixture_free(f);
  f = fixture_create();
  run_records(f, records, 1, "q", "attributes { kk = \"v\" }");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 0);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 1);
  ck_assert_str_eq(pl_test_dead_letter_reason(f->t, 0),
                   "message of 262145 bytes exceeds the 262144-byte SQS limit");
  free(exact);
  fixture_free(f);
}
END_TEST

START_TEST(delay_sets_delay_seconds) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  const char *records[] = {"{\"n\":1}", "{\"n\":2}"};
  run_records(f, records, 2, "q", "delay = \"2m\"");
  test_plugin_assert_clean(f->t);
  for (size_t e = 0; e < 2; e++) {
    json_t *entry = request_entry(f, 0, e);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "DelaySeconds")),
                     120);
    json_decref(entry);
  }
  fixture_free(f);
}
END_TEST

/* ---- FIFO ---- */

/* The documented default deduplication id: SHA-256 of origin, etag,
 * origin time, message id and line, each followed by a NUL, then the
 * body. */
static void expected_dedup(const char *origin, const char *etag,
                           const char *otime, const char *msgid,
                           const char *line, const char *body, char out[65]) {
  pl_buf_t in = {0};
  pl_buf_append(&in, origin, strlen(origin) + 1);
  pl_buf_append(&in, etag, strlen(etag) + 1);
  pl_buf_append(&in, otime, strlen(otime) + 1);
  pl_buf_append(&in, msgid, strlen(msgid) + 1);
  pl_buf_append(&in, line, strlen(line) + 1);
  pl_buf_append(&in, body, strlen(body));
  unsigned char digest[32];
  unsigned int len = 0;
  ck_assert_int_eq(
      EVP_Digest(in.data, in.len, digest, &len, EVP_sha256(), NULL), 1);
  for (size_t i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", digest[i]);
  pl_buf_free(&in);
}

static const char *const fifo_records[] = {
    "{\"product_id\":\"P1\",\"q\":1}",
    "{\"product_id\":\"P2\",\"q\":2,\"etag\":\"abc\"}",
    ("{\"product_id\":\"P1\",\"q\":3,\"etag\":\"abc\",\"msgid\":\"m-9\","
     "\"otime\":\"2026-12-07T20:00:00Z\"}"),
};

/* The deduplication ids of a run of `records` (fifo_records when NULL),
 * in order. */
static json_t *fifo_run_records(const char *const *records,
                                const char *sink_extra, char **log) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  run_records(f, records ? records : fifo_records, 3, "q.fifo", sink_extra);
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_entries(f, 0), 3);
  json_t *ids = json_array();
  for (size_t e = 0; e < 3; e++) {
    json_t *entry = request_entry(f, 0, e);
    json_t *value = message(f, 0, e);
    ck_assert_str_eq(
        json_string_value(json_object_get(entry, "MessageGroupId")),
        json_string_value(json_object_get(value, "product_id")));
    ck_assert_ptr_null(json_object_get(entry, "DelaySeconds"));
    json_array_append(ids, json_object_get(entry, "MessageDeduplicationId"));
    json_decref(value);
    json_decref(entry);
  }
  if (log)
    *log = strdup(pl_test_log(f->t));
  fixture_free(f);
  return ids;
}

static json_t *fifo_run(const char *sink_extra, char **log) {
  return fifo_run_records(NULL, sink_extra, log);
}

START_TEST(fifo_ids_are_deterministic) {
  const char *group = "message_group_id = \"${product_id}\"";
  json_t *first = fifo_run(group, NULL);
  json_t *again = fifo_run(group, NULL);
  ck_assert(json_equal(first, again));
  char id[65];
  expected_dedup("test:script", "", "", "", "1", fifo_records[0], id);
  ck_assert_str_eq(json_string_value(json_array_get(first, 0)), id);
  expected_dedup("test:script", "abc", "", "", "2", fifo_records[1], id);
  ck_assert_str_eq(json_string_value(json_array_get(first, 1)), id);
  expected_dedup("test:script", "abc", "2026-12-07T20:00:00Z", "m-9", "3",
                 fifo_records[2], id);
  ck_assert_str_eq(json_string_value(json_array_get(first, 2)), id);
  json_decref(first);
  json_decref(again);
}
END_TEST

/* A file rewritten in place has the same origin and lines and no etag:
 * its new rows must not be dropped by SQS as duplicates of the old ones. */
START_TEST(fifo_ids_differ_when_the_content_changes) {
  const char *group = "message_group_id = \"${product_id}\"";
  static const char *const changed[] = {
      "{\"product_id\":\"P1\",\"q\":0}",
      "{\"product_id\":\"P2\",\"q\":2,\"etag\":\"abc\"}",
      ("{\"product_id\":\"P1\",\"q\":3,\"etag\":\"abc\",\"msgid\":\"m-9\","
       "\"otime\":\"2026-12-07T20:00:00Z\"}"),
  };
  json_t *first = fifo_run(group, NULL);
  json_t *again = fifo_run_records(changed, group, NULL);
  ck_assert_str_ne(json_string_value(json_array_get(first, 0)),
                   json_string_value(json_array_get(again, 0)));
  /* The same input: the same ids. */
  for (size_t i = 1; i < 3; i++)
    ck_assert_str_eq(json_string_value(json_array_get(first, i)),
                     json_string_value(json_array_get(again, i)));
  json_decref(first);
  json_decref(again);
}
END_TEST

START_TEST(fifo_deduplication_id_template) {
  json_t *ids = fifo_run("message_group_id = \"${product_id}\"\n"
                         "deduplication_id = \"${product_id}-${q}\"",
                         NULL);
  ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), "P1-1");
  ck_assert_str_eq(json_string_value(json_array_get(ids, 1)), "P2-2");
  ck_assert_str_eq(json_string_value(json_array_get(ids, 2)), "P1-3");
  json_decref(ids);
}
END_TEST

START_TEST(fifo_bad_group_ids_are_rejected) {
  fixture_t *f = fixture_create();
  push_ok(f, 1);
  const char *records[] = {
      "{\"product_id\":\"P1\"}",
      "{\"other\":1}",
      "{\"product_id\":\"has space\"}",
  };
  run_records(f, records, 3, "q.fifo", "message_group_id = \"${product_id}\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(request_entries(f, 0), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *doc = letter(f, i);
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    if (json_integer_value(json_object_get(doc, "line")) == 2)
      ck_assert_str_eq(reason, "message_group_id: field 'product_id' is "
                               "missing or null");
    else
      ck_assert_ptr_nonnull(strstr(reason, "is not a valid SQS group id"));
  }
  fixture_free(f);
}
END_TEST

START_TEST(fifo_sends_in_order_and_stops_a_batch_at_a_failure) {
  fixture_t *f = fixture_create();
  /* The first request loses entry 3 (not the sender's fault): the second
   * request of the batch is not sent, and the retry carries record 4 and
   * records 11 to 20, in order. */
  push(f, 200,
       "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"},{\"Id\":\"2\"},"
       "{\"Id\":\"4\"},{\"Id\":\"5\"},{\"Id\":\"6\"},{\"Id\":\"7\"},"
       "{\"Id\":\"8\"},{\"Id\":\"9\"}],"
       "\"Failed\":[{\"Id\":\"3\",\"SenderFault\":false,"
       "\"Code\":\"InternalError\"}]}");
  push_ok(f, 2);
  char **records = numbered(20);
  run_records(f, (const char *const *)records, 20, "q.fifo",
              "message_group_id = \"g\"\n batch_size = 20\n linger = \"1s\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 3);
  ck_assert_uint_eq(request_entries(f, 0), 10);
  ck_assert_uint_eq(request_entries(f, 1), 10);
  ck_assert_uint_eq(request_entries(f, 2), 1);
  json_int_t expected[] = {4, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  for (size_t e = 0; e < 10; e++) {
    json_t *value = message(f, 1, e);
    ck_assert_int_eq(n_of(value), expected[e]);
    json_decref(value);
  }
  json_t *value = message(f, 2, 0);
  ck_assert_int_eq(n_of(value), 20);
  json_decref(value);
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(test_plugin_metrics(f->t)->records_out, 20);
  free_texts(records, 20);
  fixture_free(f);
}
END_TEST

static void on_run_for(uv_timer_t *timer) {
  *(int *)timer->data = 1;
}

static void on_run_for_closed(uv_handle_t *handle) {
  *(int *)handle->data = 2;
}

/* Runs the loop for `ms` milliseconds. */
static void run_for(fixture_t *f, uint64_t ms) {
  int state = 0;
  uv_timer_t timer;
  uv_loop_t *loop = pl_test_loop(f->t);
  uv_timer_init(loop, &timer);
  timer.data = &state;
  uv_timer_start(&timer, on_run_for, ms, 0);
  while (state == 0)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, on_run_for_closed);
  while (state != 2)
    uv_run(loop, UV_RUN_ONCE);
}

/* Starts `count` records with a shutdown_timeout of 50 ms and runs the
 * loop until the server has seen a request. */
static void start_until_a_request(fixture_t *f, const char *const *records,
                                  size_t count, const char *queue,
                                  const char *sink_extra) {
  pl_test_set_globals(f->t, "shutdown_timeout = \"50ms\"\n"
                            "aws { max_attempts = 1 }");
  feed_records(f, records, count, queue, sink_extra);
  int rc = pl_test_start(f->t);
  ck_assert_msg(rc == 0, "rc %d: %s%s", rc, pl_test_errors(f->t),
                pl_test_log(f->t));
  while (pl_test_http_request_count(f->server) < 1)
    uv_run(pl_test_loop(f->t), UV_RUN_ONCE);
}

/* Shuts the run down and runs it to its end. */
static void shut_down(fixture_t *f) {
  pl_test_shutdown(f->t);
  int rc = pl_test_run(f->t, 30000);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, pl_test_log(f->t));
}

/* Requests sent while the first one gets no answer, for 30 records in
 * batches of 10 (the first answer never comes: shutdown cancels it). */
static size_t sent_while_the_first_hangs(const char *queue,
                                         const char *sink_extra) {
  fixture_t *f = fixture_create();
  pl_test_http_push(f->server, &(pl_test_http_response_t){.hang = true});
  push_ok(f, 2);
  char **records = numbered(30);
  start_until_a_request(f, (const char *const *)records, 30, queue, sink_extra);
  run_for(f, 100);
  size_t sent = pl_test_http_request_count(f->server);
  shut_down(f);
  free_texts(records, 30);
  fixture_free(f);
  return sent;
}

START_TEST(fifo_requests_go_one_at_a_time) {
  ck_assert_uint_eq(
      sent_while_the_first_hangs("q.fifo", "message_group_id = \"g\""), 1);
  /* A standard queue sends the three at once. */
  ck_assert_uint_eq(sent_while_the_first_hangs("q", ""), 3);
}
END_TEST

START_TEST(fifo_requests_go_in_order) {
  fixture_t *f = fixture_create();
  push_ok(f, 5);
  char **records = numbered(50);
  run_records(f, (const char *const *)records, 50, "q.fifo",
              "message_group_id = \"g\"");
  test_plugin_assert_clean(f->t);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 5);
  json_int_t next = 1;
  for (size_t i = 0; i < 5; i++) {
    size_t n = request_entries(f, i);
    for (size_t e = 0; e < n; e++) {
      json_t *value = message(f, i, e);
      ck_assert_int_eq(n_of(value), next++);
      json_decref(value);
    }
  }
  ck_assert_int_eq(next, 51);
  free_texts(records, 50);
  fixture_free(f);
}
END_TEST

/* ---- Configuration errors ---- */

/* Creating the engine fails, and the log says `expected`. */
static void assert_refused(const char *queue, const char *sink_extra,
                           const char *expected) {
  fixture_t *f = fixture_create();
  const char *records[] = {"{\"n\":1}"};
  feed_records(f, records, 1, queue, sink_extra);
  ck_assert_int_lt(pl_test_run(f->t, 30000), 0);
  const char *log = pl_test_log(f->t);
  ck_assert_msg(strstr(log, expected) || strstr(pl_test_errors(f->t), expected),
                "expected \"%s\" in: %s%s", expected, log,
                pl_test_errors(f->t));
  fixture_free(f);
}

START_TEST(fifo_needs_a_group_id) {
  assert_refused("q.fifo", "",
                 "option 'message_group_id' is required for FIFO queue");
}
END_TEST

START_TEST(fifo_refuses_delay) {
  assert_refused("q.fifo", "message_group_id = \"g\"\n delay = \"5s\"",
                 "option 'delay' is for standard queues");
}
END_TEST

START_TEST(standard_refuses_deduplication_id) {
  assert_refused("q", "deduplication_id = \"${id}\"",
                 "option 'deduplication_id' is for FIFO queues");
}
END_TEST

START_TEST(bad_options_are_refused) {
  /* Ranges are the table's limits, said by the core. */
  assert_refused("q", "delay = \"16m\"",
                 "option 'delay' expects a duration of at most 15m, found "
                 "\"16m\"\n");
  assert_refused("q", "delay = \"1500ms\"",
                 "option 'delay' must be whole seconds (SQS's DelaySeconds), "
                 "not 1500 ms");
  assert_refused("q", "max_batch_bytes = \"2MiB\"",
                 "option 'max_batch_bytes' expects a size from 1B to 1MiB, "
                 "found \"2MiB\"\n");
  assert_refused("q", "max_message_bytes = \"0B\"",
                 "option 'max_message_bytes' expects a size from 1B to 1MiB, "
                 "found \"0B\"\n");
  assert_refused("q", "attributes { origin = \"x\" }",
                 "'origin' is set by the sink itself");
  char long_name[258];
  memset(long_name, 'a', 257);
  long_name[257] = '\0';
  pl_buf_t too_long = {0};
  pl_buf_printf(&too_long, "attributes { %s = \"x\" }", long_name);
  assert_refused("q", too_long.data, "is not a valid SQS attribute name");
  pl_buf_free(&too_long);
  assert_refused("q",
                 "attributes { a = \"1\"\n b = \"2\"\n c = \"3\"\n d = \"4\"\n"
                 " e = \"5\"\n f = \"6\"\n g = \"7\" }",
                 "option 'attributes' expects a block with at most 6 "
                 "entries, found 7 entries\n");
  assert_refused("q", "attributes { origin_time = \"x\" }",
                 "'origin_time' is set by the sink itself");
  assert_refused("q", "attributes { a = \"${\" }", "attributes: 'a': template");
}
END_TEST

/* ---- Shutdown ---- */

START_TEST(shutdown_cancels_requests_in_flight) {
  fixture_t *f = fixture_create();
  pl_test_http_push(f->server, &(pl_test_http_response_t){.hang = true});
  const char *records[] = {"{\"n\":1}"};
  start_until_a_request(f, records, 1, "q", "");
  shut_down(f);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  fixture_free(f);
  /* The cancelled call's callback ran (or the loop could not close). */
}
END_TEST

/* ---- Whole requests ---- */

/* The entries of request i (new reference). */
static json_t *request_entries_json(fixture_t *f, size_t i) {
  json_t *body = request_body(f, i);
  json_t *entries = json_incref(json_object_get(body, "Entries"));
  json_decref(body);
  return entries;
}

START_TEST(a_whole_request_500_is_retried) {
  fixture_t *f = fixture_create();
  pl_test_http_push_status(
      f->server, 500, "{\"__type\":\"InternalError\",\"message\":\"boom\"}", 1);
  char *ok = all_ok(SQS_MAX_ENTRIES);
  pl_test_http_push_status(f->server, 200, ok, 1);
  free(ok);
  char **records = numbered(3);
  run_records(f, (const char *const *)records, 3, "q", "");
  ck_assert_msg(pl_test_status(f->t) == 0, "%s", pl_test_log(f->t));
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  for (size_t i = 0; i < 2; i++) {
    json_t *entries = request_entries_json(f, i);
    ck_assert_uint_eq(json_array_size(entries), 3);
    json_decref(entries);
  }
  ck_assert_uint_eq(pl_test_committed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  ck_assert_uint_eq(pl_test_counter(f->t, "messages_sent"), 3);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "InternalError"));
  free_texts(records, 3);
  fixture_free(f);
}
END_TEST

START_TEST(a_missing_queue_fails_the_records_without_dead_lettering) {
  fixture_t *f = fixture_create();
  for (int i = 0; i < 2; i++)
    pl_test_http_push(
        f->server,
        &(pl_test_http_response_t){
            .status = 400,
            .headers = "x-amzn-query-error: "
                       "AWS.SimpleQueueService.NonExistentQueue;Sender\r\n",
            .body = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                    "\"message\":\"The specified queue does not exist.\"}"});
  char **records = numbered(2);
  run_records(f, (const char *const *)records, 2, "q", "retry_limit = 1");
  ck_assert_int_eq(pl_test_status(f->t), 1);
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 2);
  ck_assert_uint_eq(pl_test_committed(f->t), 0);
  ck_assert_uint_eq(pl_test_failed(f->t), 1);
  ck_assert_uint_eq(pl_test_dead_letter_count(f->t), 0);
  const char *log = pl_test_log(f->t);
  ck_assert_ptr_nonnull(
      strstr(log, "AWS.SimpleQueueService.NonExistentQueue: The specified "
                  "queue does not exist."));
  ck_assert_ptr_nonnull(strstr(log, "rather than go to the dead letter"));
  free_texts(records, 2);
  fixture_free(f);
}
END_TEST

START_TEST(the_body_is_the_records_compact_json) {
  fixture_t *f = fixture_create();
  char *ok = all_ok(SQS_MAX_ENTRIES);
  pl_test_http_push_status(f->server, 200, ok, 1);
  free(ok);
  const char *records[] = {
      "{ \"b\" : 1, \"a\" : [true, null, \"\\u00e9\\n\"] }",
      "[1, 2]",
      "\"text\"",
  };
  run_records(f, records, 3, "q", "");
  ck_assert_msg(pl_test_status(f->t) == 0, "%s", pl_test_log(f->t));
  const char *expected[] = {"{\"b\":1,\"a\":[true,null,\"\xc3\xa9\\n\"]}",
                            "[1,2]", "\"text\""};
  json_t *entries = request_entries_json(f, 0);
  for (size_t e = 0; e < 3; e++)
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(entries, e), "MessageBody")),
                     expected[e]);
  json_decref(entries);
  fixture_free(f);
}
END_TEST

/* ---- The encode and response steps on their own ---- */

START_TEST(split_packs_by_count_and_bytes) {
  uint64_t sizes[25];
  size_t ends[25];
  for (size_t i = 0; i < 25; i++)
    sizes[i] = 100;
  ck_assert_uint_eq(sqs_split(sizes, 25, 262144, ends), 3);
  ck_assert_uint_eq(ends[0], 10);
  ck_assert_uint_eq(ends[1], 20);
  ck_assert_uint_eq(ends[2], 25);
  for (size_t i = 0; i < 5; i++)
    sizes[i] = 100 * 1024;
  ck_assert_uint_eq(sqs_split(sizes, 5, 262144, ends), 3);
  ck_assert_uint_eq(ends[0], 2);
  ck_assert_uint_eq(ends[1], 4);
  ck_assert_uint_eq(ends[2], 5);
  /* Larger than max_bytes: alone. */
  uint64_t mixed[] = {10, 300, 10, 10};
  ck_assert_uint_eq(sqs_split(mixed, 4, 100, ends), 3);
  ck_assert_uint_eq(ends[0], 1);
  ck_assert_uint_eq(ends[1], 2);
  ck_assert_uint_eq(ends[2], 4);
  /* Exactly max_bytes fits. */
  uint64_t exact[] = {50, 50, 1};
  ck_assert_uint_eq(sqs_split(exact, 3, 100, ends), 2);
  ck_assert_uint_eq(ends[0], 2);
  ck_assert_uint_eq(sqs_split(exact, 0, 100, ends), 0);
}
END_TEST

START_TEST(response_parse_reads_each_entry) {
  json_t *result = json_loads(
      "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"4\"},{\"Id\":\"07\"},"
      "{\"Id\":\"12\"},{\"Id\":5},{}],"
      "\"Failed\":[{\"Id\":\"1\",\"SenderFault\":true,\"Code\":\"C1\","
      "\"Message\":\"M1\"},{\"Id\":\"2\",\"SenderFault\":false,"
      "\"Code\":\"C2\"},{\"Id\":\"3\",\"SenderFault\":\"true\"},"
      "{\"Id\":\"4\",\"SenderFault\":true,\"Code\":\"C4\"}]}",
      0, NULL);
  ck_assert_ptr_nonnull(result);
  sqs_entry_result_t out[8];
  sqs_response_parse(result, 8, out);
  ck_assert_int_eq(out[0].result, PL_RESULT_DELIVERED);
  ck_assert_int_eq(out[1].result, PL_RESULT_REJECTED);
  ck_assert_str_eq(out[1].code, "C1");
  ck_assert_str_eq(out[1].message, "M1");
  ck_assert_int_eq(out[2].result, PL_RESULT_FAILED);
  ck_assert_ptr_null(out[2].message);
  /* Only a boolean true is the sender's fault. */
  ck_assert_int_eq(out[3].result, PL_RESULT_FAILED);
  /* Listed both ways: failed wins. */
  ck_assert_int_eq(out[4].result, PL_RESULT_REJECTED);
  /* Ids that are not the request's are ignored. */
  ck_assert_int_eq(out[5].result, PL_RESULT_PENDING);
  ck_assert_int_eq(out[7].result, PL_RESULT_PENDING);
  json_decref(result);
  /* Not an object at all: nothing is known. */
  json_t *junk = json_string("nope");
  sqs_response_parse(junk, 2, out);
  ck_assert_int_eq(out[0].result, PL_RESULT_PENDING);
  json_decref(junk);
}
END_TEST

/* sqs_response_scan on `text` for 4 entries: its return code, and, when
 * it read the text, the same results as jansson's tree of it. */
static int scan_like_jansson(const char *text) {
  sqs_entry_result_t scanned[4], parsed[4];
  int rc = sqs_response_scan(text, strlen(text), 4, scanned);
  if (rc < 0)
    return rc;
  json_error_t jerr;
  json_t *tree = json_loadb(text, strlen(text), JSON_DECODE_ANY, &jerr);
  ck_assert_msg(tree != NULL, "scanned, but jansson refuses %s: %s", text,
                jerr.text);
  sqs_response_parse(tree, 4, parsed);
  for (size_t i = 0; i < 4; i++) {
    ck_assert_msg(scanned[i].result == parsed[i].result, "%s: entry %zu", text,
                  i);
    ck_assert_ptr_null(scanned[i].code);
  }
  json_decref(tree);
  return rc;
}

START_TEST(response_scan_reads_the_usual_result_as_jansson_does) {
  sqs_entry_result_t out[4];
  const char *usual =
      "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"85e45939-f907\","
      "\"MD5OfMessageBody\":\"bb6cb5c68df4\"},{\"Id\":\"2\",\"MessageId\":"
      "\"f14fd948\"}],\"Failed\":[]}";
  ck_assert_int_eq(sqs_response_scan(usual, strlen(usual), 4, out), 0);
  ck_assert_int_eq(out[0].result, PL_RESULT_DELIVERED);
  ck_assert_int_eq(out[1].result, PL_RESULT_PENDING);
  ck_assert_int_eq(out[2].result, PL_RESULT_DELIVERED);
  ck_assert_int_eq(out[3].result, PL_RESULT_PENDING);
  /* Read directly, and the same as jansson's reading. */
  const char *read[] = {
      usual,
      "{}",
      " \r\n\t{ \"Failed\" : [ ] , \"Successful\" : [ { \"Id\" : \"3\" } ] }\n",
      "{\"Successful\":[{\"Id\":\"1\"},{\"Id\":\"01\"},{\"Id\":\"4\"},"
      "{\"Id\":\"12\"},{\"Id\":\"\"},{\"Id\":-1},{\"Id\":null},{},[],7,"
      "\"0\",{\"X\":{\"Id\":\"2\"}}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":[1,-2,0,true,false,null,{}],"
      "\"u\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}],\"Extra\":"
      "{\"a\":[[[]]],\"b\":123456789012345}}",
      "{\"Successful\":null,\"Failed\":null}",
      "{\"Successful\":{\"Id\":\"0\"},\"Failed\":{}}",
      "{\"Failed\":\"none\",\"Successful\":[{\"Id\":\"3\"}]}",
  };
  for (size_t i = 0; i < sizeof read / sizeof read[0]; i++)
    ck_assert_msg(scan_like_jansson(read[i]) == 0, "not read: %s", read[i]);
  /* Left to jansson: failed entries, escapes, numbers it reads itself,
   * repeated keys, deep nesting, and text that is not JSON. */
  const char *left[] = {
      "{\"Successful\":[],\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true}]}",
      "{\"Successful\":[{\"Id\":\"\\u0030\"}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"M\":\"a\\\"b\"}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":1.5}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":1e3}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":1234567890123456}]}",
      "{\"Successful\":[{\"Id\":\"0\"}],\"Successful\":[]}",
      "{\"Failed\":[],\"Failed\":[{\"Id\":\"0\"}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"Id\":\"1\"}]}",
      /* One literal in two lines (parenthesized for clang's
       * -Wstring-concatenation). */
      ("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]"
       "]]]]]]]]]]]]]]]]]}"),
      "",
      "[]",
      "\"Successful\"",
      "{\"Successful\":[{\"Id\":\"0\"}]",
      "{\"Successful\":[{\"Id\":\"0\"}]}x",
      "{\"Successful\":[{\"Id\":\"0\"},]}",
      "{\"Successful\":[{\"Id\":\"0\"}],}",
      "{\"Successful\" [{\"Id\":\"0\"}]}",
      "{\"Successful\":[{\"Id\":\"0\"}]}{}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":01}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"n\":-}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"b\":tru}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"s\":\"a\tb\"}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"s\":\"\xc3\"}]}",
      "{\"Successful\":[{\"Id\":\"0\",\"s\":\"\xed\xa0\x80\"}]}",
      "{'Successful':[]}",
  };
  for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
    ck_assert_msg(scan_like_jansson(left[i]) == PL_EAGAIN, "read: %s", left[i]);
  /* A NUL byte inside a string is not JSON either. */
  const char nul[] = "{\"Successful\":[{\"Id\":\"0\",\"s\":\"a\0b\"}]}";
  ck_assert_int_eq(sqs_response_scan(nul, sizeof nul - 1, 4, out), PL_EAGAIN);
}
END_TEST

START_TEST(text_and_names_sqs_accepts) {
  ck_assert(sqs_text_allowed("plain\ttext\r\n", 12));
  ck_assert(sqs_text_allowed("\xc3\xa9\xf0\x9f\x98\x80", 6));
  ck_assert(!sqs_text_allowed("a\x01", 2));
  ck_assert(!sqs_text_allowed("\xef\xbf\xbf", 3));
  ck_assert(!sqs_text_allowed("\xef\xbf\xbe", 3));
  ck_assert(sqs_text_allowed("\xef\xbf\xbd", 3));
  ck_assert(!sqs_text_allowed("\xff", 1));
  ck_assert(!sqs_text_allowed("\xc3", 1));
  /* Long text goes a word at a time: what it refuses is found at every
   * place of its words, and DEL and U+FFFD are still fine. */
  char text[40];
  for (size_t at = 0; at < sizeof text; at++) {
    memset(text, 'x', sizeof text);
    text[at] = '\x1f';
    ck_assert_msg(!sqs_text_allowed(text, sizeof text), "control at %zu", at);
    text[at] = '\x7f';
    ck_assert_msg(sqs_text_allowed(text, sizeof text), "DEL at %zu", at);
    if (at + 3 <= sizeof text) {
      memcpy(text + at, "\xef\xbf\xbf", 3);
      ck_assert_msg(!sqs_text_allowed(text, sizeof text), "U+FFFF at %zu", at);
      memcpy(text + at, "\xef\xbf\xbd", 3);
      ck_assert_msg(sqs_text_allowed(text, sizeof text), "U+FFFD at %zu", at);
    }
  }
  ck_assert(sqs_attribute_name_valid("warehouse"));
  ck_assert(sqs_attribute_name_valid("a.b-c_D9"));
  ck_assert(!sqs_attribute_name_valid(""));
  ck_assert(!sqs_attribute_name_valid("aws.thing"));
  ck_assert(!sqs_attribute_name_valid("Amazon.x"));
  ck_assert(!sqs_attribute_name_valid(".a"));
  ck_assert(!sqs_attribute_name_valid("a."));
  ck_assert(!sqs_attribute_name_valid("a..b"));
  ck_assert(!sqs_attribute_name_valid("a b"));
}
END_TEST

START_TEST(encode_message_on_its_own) {
  pl_test_records_t *set = NULL;
  ck_assert_int_eq(pl_test_records_create(&set), 0);
  pl_record_t *rec = pl_test_records_add(set, "{\"id\": \"P1\", \"q\": 5}");
  pl_record_set_origin(rec, "s3://bucket/key.csv");
  pl_record_set_etag(rec, "\"abc\"");
  pl_record_set_line(rec, 42);
  pl_template_t *group_id = NULL;
  ck_assert_int_eq(pl_template_create("${id}", &group_id, NULL), 0);
  sqs_encoding_t enc = {.queue_url = "https://sqs/q.fifo",
                        .fifo = true,
                        .max_batch_bytes = 262144,
                        .max_message_bytes = 262144,
                        .group_id = group_id};
  pl_buf_t text = {0};
  uint64_t size = 0;
  pl_buf_t why = {0};
  ck_assert_int_eq(sqs_encode_message(&enc, rec, &text, &size, &why), 0);
  /* The members in their order, written directly. */
  char id[65];
  expected_dedup("s3://bucket/key.csv", "\"abc\"", "", "", "42",
                 "{\"id\":\"P1\",\"q\":5}", id);
  pl_buf_t expected = {0};
  pl_buf_printf(&expected,
                "\"MessageBody\":\"{\\\"id\\\":\\\"P1\\\",\\\"q\\\":5}\","
                "\"MessageAttributes\":{"
                "\"origin\":{\"DataType\":\"String\",\"StringValue\":"
                "\"s3://bucket/key.csv\"},"
                "\"etag\":{\"DataType\":\"String\",\"StringValue\":"
                "\"\\\"abc\\\"\"},"
                "\"line\":{\"DataType\":\"Number\",\"StringValue\":\"42\"}},"
                "\"MessageGroupId\":\"P1\",\"MessageDeduplicationId\":\"%s\"",
                id);
  ck_assert_str_eq(text.data, expected.data);
  pl_buf_free(&expected);
  json_t *entry = entry_members(&text);
  const char *body = "{\"id\":\"P1\",\"q\":5}";
  ck_assert_str_eq(json_string_value(json_object_get(entry, "MessageBody")),
                   body);
  /* Body, then origin, etag and line: name, type and value each. */
  ck_assert_uint_eq(size,
                    strlen(body) + (6 + 6 + 19) + (4 + 6 + 5) + (4 + 6 + 2));
  ck_assert_str_eq(json_string_value(json_object_get(entry, "MessageGroupId")),
                   "P1");
  ck_assert_str_eq(
      json_string_value(json_object_get(entry, "MessageDeduplicationId")), id);
  json_decref(entry);
  /* Without an origin the body is hashed, as content-based deduplication
   * does. */
  pl_record_t *bare = pl_test_records_add(set, "{\"id\": \"P2\"}");
  pl_buf_reset(&text);
  ck_assert_int_eq(sqs_encode_message(&enc, bare, &text, &size, &why), 0);
  entry = entry_members(&text);
  unsigned char digest[32];
  const char *bare_body = "{\"id\":\"P2\"}";
  EVP_Digest(bare_body, strlen(bare_body), digest, NULL, EVP_sha256(), NULL);
  for (size_t i = 0; i < 32; i++)
    snprintf(id + 2 * i, 3, "%02x", digest[i]);
  ck_assert_str_eq(
      json_string_value(json_object_get(entry, "MessageDeduplicationId")), id);
  json_decref(entry);
  /* A record with neither a value nor bytes cannot be sent, and leaves
   * the text as it was. */
  pl_record_t *empty = pl_test_records_add(set, NULL);
  size_t before = text.len;
  ck_assert_int_eq(sqs_encode_message(&enc, empty, &text, &size, &why),
                   PL_EINVAL);
  ck_assert_uint_eq(text.len, before);
  ck_assert_uint_eq(strlen(text.data), before);
  pl_buf_free(&text);
  ck_assert_str_eq(why.data, "the record has neither a value nor bytes");
  pl_buf_free(&why);
  pl_template_destroy(group_id);
  ck_assert_int_eq(pl_test_records_destroy(set), 0);
}
END_TEST

START_TEST(encode_batch_on_its_own) {
  /* 23 records, the third one oversize: 22 messages in requests of 10,
   * 10 and 2, each entry mapped back to its batch index. */
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&sink_encode, &t), 0);
  for (size_t i = 0; i < 23; i++) {
    pl_buf_t text = {0};
    if (i == 2)
      pl_buf_printf(&text, "{\"d\":\"%0300000d\"}", 0);
    else
      pl_buf_printf(&text, "{\"n\":%zu}", i);
    ck_assert_int_eq(pl_test_feed_record(t, text.data), 0);
    pl_buf_free(&text);
  }
  int rc = pl_test_run(t, 30000);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, pl_test_errors(t));
  ck_assert_msg(pl_test_status(t) == 0, "%s", pl_test_log(t));
  encode_sink_t *e = pl_instance_context(pl_test_instance(t));
  ck_assert_uint_eq(e->batches, 1);
  ck_assert_uint_eq(json_array_size(e->bodies), 3);
  size_t expected_sizes[] = {10, 10, 2};
  json_int_t next = 0;
  for (size_t r = 0; r < 3; r++) {
    json_t *body = json_array_get(e->bodies, r);
    ck_assert_str_eq(json_string_value(json_object_get(body, "QueueUrl")), "q");
    json_t *entries = json_object_get(body, "Entries");
    json_t *index = json_array_get(e->records, r);
    ck_assert_uint_eq(json_array_size(entries), expected_sizes[r]);
    ck_assert_uint_eq(json_array_size(index), expected_sizes[r]);
    for (size_t k = 0; k < json_array_size(entries); k++) {
      json_t *entry = json_array_get(entries, k);
      char id[24];
      snprintf(id, sizeof(id), "%zu", k);
      ck_assert_str_eq(json_string_value(json_object_get(entry, "Id")), id);
      if (next == 2)
        next++; /* the oversize record */
      ck_assert_int_eq(json_integer_value(json_array_get(index, k)), next);
      json_t *value = json_loads(
          json_string_value(json_object_get(entry, "MessageBody")), 0, NULL);
      ck_assert_int_eq(n_of(value), next);
      json_decref(value);
      next++;
    }
  }
  ck_assert_int_eq(next, 23);
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_ptr_nonnull(strstr(pl_test_dead_letter_reason(t, 0),
                               "exceeds the 262144-byte SQS limit"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

/* One batch whose records change origin and etag from record to record
 * (the encoder writes the last ones' attributes again from a cache): each
 * entry carries its own record's, and a record whose etag SQS refuses is
 * rejected even when it follows one that was sent. */
START_TEST(encode_batch_metadata_from_record_to_record) {
  static const struct {
    const char *origin, *etag;
  } meta[] = {{"file:/a.csv", "e1"}, {"file:/a.csv", "e1"},
              {"file:/b.csv", "e1"}, {"file:/b.csv", NULL},
              {"file:/a.csv", "e2"}, {"file:/a.csv", "e2\x01"},
              {"file:/a.csv", "e2"}, {"file:/a.csvx", "e2"},
              {"file:/a.cs", "e22"}, {NULL, "e22"}}; /* NULL: "test:feed" */
  size_t n = sizeof meta / sizeof meta[0];
  pl_test_t *t = NULL;
  ck_assert_int_eq(pl_test_create(&sink_encode, &t), 0);
  for (size_t i = 0; i < n; i++) {
    pl_buf_t text = {0};
    pl_buf_printf(&text, "{\"n\":%zu}", i);
    ck_assert_int_eq(pl_test_feed_record(t, text.data), 0);
    pl_buf_free(&text);
    pl_test_meta_t m = {
        .origin = meta[i].origin, .etag = meta[i].etag, .line = i + 1};
    ck_assert_int_eq(pl_test_feed_meta(t, &m), 0);
  }
  int rc = pl_test_run(t, 30000);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, pl_test_errors(t));
  encode_sink_t *e = pl_instance_context(pl_test_instance(t));
  ck_assert_uint_eq(json_array_size(e->bodies), 1);
  json_t *entries = json_object_get(json_array_get(e->bodies, 0), "Entries");
  json_t *index = json_array_get(e->records, 0);
  ck_assert_uint_eq(json_array_size(entries), n - 1);
  for (size_t k = 0; k < json_array_size(entries); k++) {
    size_t i = (size_t)json_integer_value(json_array_get(index, k));
    ck_assert_uint_ne(i, 5);
    json_t *entry = json_array_get(entries, k);
    const char *origin = attribute(entry, "origin", NULL);
    const char *etag = attribute(entry, "etag", NULL);
    ck_assert_str_eq(origin ? origin : "(none)",
                     meta[i].origin ? meta[i].origin : "test:feed");
    if (meta[i].etag)
      ck_assert_str_eq(etag ? etag : "(none)", meta[i].etag);
    else
      ck_assert_ptr_null(etag);
  }
  ck_assert_uint_eq(pl_test_dead_letter_count(t), 1);
  ck_assert_ptr_nonnull(
      strstr(pl_test_dead_letter_reason(t, 0), "message attribute 'etag'"));
  ck_assert_int_eq(pl_test_destroy(t), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sink_sqs");
  TCase *batching = tcase_create("batching");
  tcase_set_timeout(batching, 60);
  tcase_add_test(batching, batches_by_count);
  tcase_add_test(batching, a_larger_batch_size_is_split_into_requests_of_ten);
  tcase_add_test(batching, batches_by_bytes);
  tcase_add_test(batching, max_batch_bytes_allows_larger_requests);
  suite_add_tcase(s, batching);
  TCase *results = tcase_create("results");
  tcase_set_timeout(results, 60);
  tcase_add_test(results, entry_failures_reject_or_retry_only_those_entries);
  tcase_add_test(results, entries_the_result_omits_are_retried);
  tcase_add_test(results, an_answer_that_is_not_json_fails_its_records);
  tcase_add_test(results, a_whole_request_500_is_retried);
  tcase_add_test(results,
                 a_missing_queue_fails_the_records_without_dead_lettering);
  tcase_add_test(results, shutdown_cancels_requests_in_flight);
  suite_add_tcase(s, results);
  TCase *messages = tcase_create("messages");
  tcase_set_timeout(messages, 60);
  tcase_add_test(messages, an_oversize_record_is_rejected_not_truncated);
  tcase_add_test(messages, a_message_at_the_limit_is_sent);
  tcase_add_test(messages, max_message_bytes_raises_the_limit);
  tcase_add_test(messages, the_body_is_the_records_compact_json);
  tcase_add_test(messages, bytes_are_sent_as_raw);
  tcase_add_test(messages, text_sqs_refuses_is_rejected);
  tcase_add_test(messages, attributes_carry_the_origin_and_templates);
  tcase_add_test(messages, attribute_sizes_count_toward_the_limit);
  tcase_add_test(messages, delay_sets_delay_seconds);
  suite_add_tcase(s, messages);
  TCase *fifo = tcase_create("fifo");
  tcase_set_timeout(fifo, 60);
  tcase_add_test(fifo, fifo_ids_are_deterministic);
  tcase_add_test(fifo, fifo_ids_differ_when_the_content_changes);
  tcase_add_test(fifo, fifo_deduplication_id_template);
  tcase_add_test(fifo, fifo_bad_group_ids_are_rejected);
  tcase_add_test(fifo, fifo_sends_in_order_and_stops_a_batch_at_a_failure);
  tcase_add_test(fifo, fifo_requests_go_one_at_a_time);
  tcase_add_test(fifo, fifo_requests_go_in_order);
  suite_add_tcase(s, fifo);
  TCase *config = tcase_create("config");
  tcase_set_timeout(config, 60);
  tcase_add_test(config, fifo_needs_a_group_id);
  tcase_add_test(config, fifo_refuses_delay);
  tcase_add_test(config, standard_refuses_deduplication_id);
  tcase_add_test(config, bad_options_are_refused);
  suite_add_tcase(s, config);
  TCase *pure = tcase_create("pure");
  tcase_add_test(pure, split_packs_by_count_and_bytes);
  tcase_add_test(pure, response_parse_reads_each_entry);
  tcase_add_test(pure, response_scan_reads_the_usual_result_as_jansson_does);
  tcase_add_test(pure, text_and_names_sqs_accepts);
  tcase_add_test(pure, encode_message_on_its_own);
  tcase_add_test(pure, encode_batch_metadata_from_record_to_record);
  tcase_add_test(pure, encode_batch_on_its_own);
  suite_add_tcase(s, pure);
  return test_suite_run(s);
}
