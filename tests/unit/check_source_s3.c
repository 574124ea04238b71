/* source-s3 run in-process by the harness of <pipelined/testing.h> against
 * a scripted loopback server standing in for both S3 (REST, path style since
 * the endpoint is custom: GET /<bucket>/<key>, GET /<bucket>?list-type=2...)
 * and SQS (POST / with X-Amz-Target): notifications mode (events become
 * byte chunks, deletes after delivery, test events, other buckets and
 * filters, poison bodies, missing objects, failures, Range resumes, an
 * object that changes while read, backpressure), list mode (paging, the
 * state file across runs) and option checks.
 *
 * The server matches answers by method and path prefix: S3 answers
 * are queued for "GET" and a path, SQS answers for "POST" in the order the
 * calls arrive ("{}" is an empty receive and a batch in which every entry
 * worked, so it suits any SQS call whose order could vary). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipelined/testing.h>

#include "../../plugins/source-s3/source_s3.h"
#include "config_tree.h"
#include "pipeline.h"
#include "reload.h"
#include "stage.h" /* the queue before the capturing sink */
#include "test_compress.h"
#include "test_plugin.h"
#include "test_sqs.h"
#include "test_suite.h"

extern const pl_plugin_t pipelined_plugin;

/* ---- The fixture ---- */

/* source-s3 under the harness, its AWS clients talking to the server on
 * the harness's loop; the capturing sink's writes are watched. */
typedef struct fixture {
  pl_test_t *t;
  pl_test_http_t *server;
  size_t deletes_at_write; /* most DeleteMessageBatch calls seen by a write */
  bool saw_paused;         /* the source's reader was paused at a write */
  size_t max_queue;        /* deepest queue before the sink at a write */
  json_t *chunks;          /* what chunks_of() made, or NULL */
} fixture_t;

/* At each write of the capturing sink: what the source has done by then. */
static void watch_write(pl_test_t *t, void *data) {
  fixture_t *f = data;
  pl_instance_t *source = pl_test_instance(t);
  size_t queued = source->next->queue.count;
  if (queued > f->max_queue)
    f->max_queue = queued;
  size_t deletes = test_sqs_count_calls(f->server, SQS_DELETE);
  if (deletes > f->deletes_at_write)
    f->deletes_at_write = deletes;
  source_s3_t *s = pl_instance_context(source);
  if (s->reader.paused)
    f->saw_paused = true;
}

static fixture_t *fixture_create(void) {
  fixture_t *f = calloc(1, sizeof(*f));
  ck_assert_int_eq(pl_test_create(&pipelined_plugin, &f->t), 0);
  f->server = pl_test_aws_server(f->t);
  ck_assert_ptr_nonnull(f->server);
  ck_assert_int_eq(pl_test_on_write(f->t, watch_write, f), 0);
  return f;
}

/* Closes the harness and its server; fails the test when a handle was
 * left open. */
static void fixture_free(fixture_t *f) {
  ck_assert_int_eq(pl_test_destroy(f->t), 0);
  json_decref(f->chunks);
  free(f);
}

/* The URL of the notifications queue: a new string. */
static char *queue_url(fixture_t *f) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_printf(&buf, "%s/123456789012/q", pl_test_http_url(f->server)), 0);
  return buf.data;
}

/* The capturing sink's settings: `sink` (NULL: none), with a batch_size
 * of 10 unless it sets one. */
static void set_sink(fixture_t *f, const char *sink) {
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, "%s\n%s",
                sink && strstr(sink, "batch_size") ? "" : "batch_size = 10",
                sink ? sink : "");
  pl_test_set_sink_options(f->t, buf.data);
  pl_buf_free(&buf);
}

/* The aws { } block of a run with `attempts` per AWS request: a new
 * string, for with_aws() and run_config(). */
static char *aws_block(int attempts) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_printf(&buf, "aws { max_attempts = %d }", attempts),
                   0);
  return buf.data;
}

/* Notifications mode: source "s3" reading the queue, with `source`
 * settings (a visibility timeout of 60 s unless they set one: the
 * scripted queue answers no GetQueueAttributes) and `sink` settings of the
 * capturing sink (NULL: none); returns the aws { } block with `attempts`
 * per AWS request. */
static char *notify_config(fixture_t *f, const char *source, const char *sink,
                           int attempts) {
  char *url = queue_url(f);
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_printf(
          &buf,
          "notifications = \"%s\"\n"
          "endpoint = \"%s\"\n"
          "sqs_endpoint = \"%s\"\n"
          "%s\n"
          "%s\n"
          "%s\n",
          url, pl_test_http_url(f->server), pl_test_http_url(f->server),
          source && strstr(source, "wait_time") ? "" : "wait_time = \"0s\"",
          source && strstr(source, "visibility_timeout")
              ? ""
              : "visibility_timeout = \"60s\"",
          source ? source : ""),
      0);
  free(url);
  pl_test_set_options(f->t, buf.data);
  pl_buf_free(&buf);
  set_sink(f, sink);
  return aws_block(attempts);
}

/* List mode: source "s3" listing bucket "b" with `source` settings;
 * returns the aws { } block. */
static char *list_config(fixture_t *f, const char *source) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_printf(&buf,
                                 "bucket = \"b\"\n"
                                 "endpoint = \"%s\"\n"
                                 "%s\n",
                                 pl_test_http_url(f->server),
                                 source ? source : ""),
                   0);
  pl_test_set_options(f->t, buf.data);
  pl_buf_free(&buf);
  set_sink(f, NULL);
  return aws_block(1);
}

/* `config` (freed) with `settings` added to its aws { } block: a new
 * string. */
static char *with_aws(char *config, const char *settings) {
  const char *at = strstr(config, "aws { ");
  ck_assert_ptr_nonnull(at);
  size_t head = (size_t)(at - config) + strlen("aws { ");
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_append(&buf, config, head), 0);
  ck_assert_int_eq(pl_buf_printf(&buf, "%s; ", settings), 0);
  ck_assert_int_eq(pl_buf_append_str(&buf, config + head), 0);
  free(config);
  return buf.data;
}

/* Runs (--once) with the aws { } block `config` (freed), which must be
 * accepted, to its end. */
static void run_config(fixture_t *f, char *config) {
  pl_test_set_globals(f->t, config);
  free(config);
  test_plugin_run(f->t, 60000);
}

/* Runs with the aws { } block `config` (freed): the engine refuses to
 * start. */
static void run_refused(fixture_t *f, char *config) {
  pl_test_set_globals(f->t, config);
  free(config);
  ck_assert_int_lt(pl_test_run(f->t, 60000), 0);
}

static void assert_status(fixture_t *f, int status) {
  ck_assert_msg(pl_test_status(f->t) == status, "status %d, want %d; log:\n%s",
                pl_test_status(f->t), status, pl_test_log(f->t));
}

/* ---- Scripted SQS answers ---- */

#define EVENT_TIME "2026-05-01T10:00:00.123Z"

/* One ObjectCreated record of an S3 event: a new reference. */
static json_t *event_record(const char *bucket, const char *key,
                            const char *etag) {
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}, s:{s:s, s:i, "
                   "s:s}}}",
                   "eventVersion", "2.1", "eventSource", "aws:s3", "awsRegion",
                   "us-east-1", "eventTime", EVENT_TIME, "eventName",
                   "ObjectCreated:Put", "s3", "s3SchemaVersion", "1.0",
                   "bucket", "name", bucket, "object", "key", key, "size", 3,
                   "eTag", etag);
}

/* The body of an event message with `records` (a JSON array, stolen): a
 * new string. */
static char *event_body(json_t *records) {
  json_t *body = json_pack("{s:o}", "Records", records);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  return text;
}

/* Queues a receive answer of one message `id`/`handle` announcing
 * `records` (stolen). */
static void push_event(fixture_t *f, const char *id, const char *handle,
                       json_t *records) {
  char *body = event_body(records);
  test_sqs_push_messages(
      f->server, json_pack("[o]", test_sqs_message(id, handle, body, 1, NULL)),
      0);
  free(body);
}

/* The receipt handles of the calls to `target` are `want` (see
 * test_sqs_handles). */
static void assert_handles(fixture_t *f, const char *target, const char *want) {
  char *url = queue_url(f);
  test_sqs_assert_handles(f->server, target, url, want, pl_test_log(f->t));
  free(url);
}

/* ---- Scripted S3 answers ---- */

/* Queues an answer to GET `path` (a prefix): `status`, extra `headers`
 * lines, `body` (`len` bytes; 0: strlen) and, when `cut_after` > 0, the
 * connection dropped after that many body bytes. */
static void push_get(fixture_t *f, const char *path, int status,
                     const char *headers, const char *body, size_t len,
                     size_t cut_after) {
  pl_test_http_push(f->server,
                    &(pl_test_http_response_t){.method = "GET",
                                               .path_prefix = path,
                                               .status = status,
                                               .headers = headers,
                                               .body = body,
                                               .body_len = len,
                                               .cut_after = cut_after});
}

/* Queues an answer to GET `path` that sends its headers and the first
 * `stall_after` bytes of `body` (`len` bytes), then nothing more. */
static void push_stalled_get(fixture_t *f, const char *path,
                             const char *headers, const char *body, size_t len,
                             size_t stall_after) {
  pl_test_http_push(f->server,
                    &(pl_test_http_response_t){.method = "GET",
                                               .path_prefix = path,
                                               .status = 200,
                                               .headers = headers,
                                               .body = body,
                                               .body_len = len,
                                               .stall = true,
                                               .stall_after = stall_after});
}

/* An S3 XML error body: a new string. */
static char *s3_error(const char *code, const char *text) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_printf(&buf,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                    "%s</Code><Message>%s</Message><RequestId>R1</RequestId>"
                    "<HostId>H1</HostId></Error>",
                    code, text),
      0);
  return buf.data;
}

static void push_s3_error(fixture_t *f, const char *path, int status,
                          const char *code, const char *text) {
  char *body = s3_error(code, text);
  push_get(f, path, status, "Content-Type: application/xml\r\n", body, 0, 0);
  free(body);
}

/* GET requests whose path starts with `prefix`. */
static size_t count_gets(fixture_t *f, const char *prefix) {
  size_t n = 0;
  for (size_t i = 0; i < pl_test_http_request_count(f->server); i++) {
    const pl_test_http_request_t *req = pl_test_http_request(f->server, i);
    n += strcmp(req->method, "GET") == 0 &&
         strncmp(req->path, prefix, strlen(prefix)) == 0;
  }
  return n;
}

/* The nth GET request whose path starts with `prefix`. */
static const pl_test_http_request_t *nth_get(fixture_t *f, const char *prefix,
                                             size_t nth) {
  for (size_t i = 0; i < pl_test_http_request_count(f->server); i++) {
    const pl_test_http_request_t *req = pl_test_http_request(f->server, i);
    if (strcmp(req->method, "GET") == 0 &&
        strncmp(req->path, prefix, strlen(prefix)) == 0 && nth-- == 0)
      return req;
  }
  ck_abort_msg("no GET %s number %zu", prefix, nth);
  return NULL;
}

/* Asserts header `name` of `req` is `want` (NULL: absent). */
static void assert_header(const pl_test_http_request_t *req, const char *name,
                          const char *want) {
  char *got = pl_test_http_request_header(req, name);
  if (!want)
    ck_assert_msg(got == NULL, "%s %s: %s is '%s'", req->method, req->path,
                  name, got);
  else
    ck_assert_msg(got && strcmp(got, want) == 0, "%s %s: %s is '%s', want '%s'",
                  req->method, req->path, name, got ? got : "(none)", want);
  free(got);
}

/* ---- What arrived ---- */

/* What reached the sink, after the run (borrowed): a byte chunk as
 * {origin, etag, time, bytes, last, cut}, a value as {value}. */
static json_t *chunks_of(fixture_t *f) {
  if (f->chunks)
    return f->chunks;
  f->chunks = json_array();
  for (size_t i = 0; i < pl_test_record_count(f->t); i++) {
    json_t *meta = pl_test_record_meta(f->t, i);
    json_t *entry;
    if (json_is_true(json_object_get(meta, "bytes")))
      entry = json_pack("{s:O?, s:O?, s:O?, s:O, s:O, s:O}", "origin",
                        json_object_get(meta, "origin"), "etag",
                        json_object_get(meta, "etag"), "time",
                        json_object_get(meta, "origin_time"), "bytes",
                        pl_test_record(f->t, i), "last",
                        json_object_get(meta, "last"), "cut",
                        json_object_get(meta, "cut"));
    else
      entry = json_pack("{s:O}", "value", pl_test_record(f->t, i));
    ck_assert_ptr_nonnull(entry);
    json_array_append_new(f->chunks, entry);
  }
  return f->chunks;
}

/* The documents the dead letter received, after the run (borrowed). */
static json_t *dead_letters(fixture_t *f) {
  return pl_test_dead_letters(f->t);
}

/* A counter of the source (0 when never counted). */
static uint64_t source_counter(fixture_t *f, const char *name) {
  return pl_test_counter(f->t, name);
}

/* The bytes of the chunks with `origin` concatenated, in order: a new
 * string ("" for none). */
static char *bytes_of(fixture_t *f, const char *origin) {
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "");
  size_t i;
  json_t *chunk;
  json_array_foreach(chunks_of(f), i, chunk) {
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    json_t *bytes = json_object_get(chunk, "bytes");
    if (o && strcmp(o, origin) == 0 && bytes)
      pl_buf_append(&out, json_string_value(bytes), json_string_length(bytes));
  }
  return out.data;
}

/* Checks the chunks of `origin`: contiguous in the sink's order, each with
 * the etag `etag`, none cut, and only the final one (empty) marked last.
 * Returns the index after the last one. */
static size_t assert_object_stream(fixture_t *f, const char *origin,
                                   const char *etag) {
  json_t *chunks = chunks_of(f);
  size_t first = SIZE_MAX, last = 0, count = 0;
  for (size_t i = 0; i < json_array_size(chunks); i++) {
    json_t *chunk = json_array_get(chunks, i);
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    if (!o || strcmp(o, origin) != 0)
      continue;
    if (first == SIZE_MAX)
      first = i;
    last = i;
    count++;
    const char *e = json_string_value(json_object_get(chunk, "etag"));
    ck_assert_msg(e && strcmp(e, etag) == 0, "%s: chunk %zu etag '%s'", origin,
                  i, e ? e : "(null)");
    ck_assert(!json_is_true(json_object_get(chunk, "cut")));
  }
  ck_assert_msg(count >= 2, "%s: %zu chunk(s)", origin, count);
  ck_assert_uint_eq(last - first + 1, count); /* not interleaved */
  for (size_t i = first; i <= last; i++) {
    json_t *chunk = json_array_get(chunks, i);
    bool is_last = json_is_true(json_object_get(chunk, "last"));
    ck_assert_msg(is_last == (i == last), "%s: chunk %zu last=%d", origin, i,
                  is_last);
  }
  ck_assert_uint_eq(json_string_length(
                        json_object_get(json_array_get(chunks, last), "bytes")),
                    0);
  return last + 1;
}

/* Every chunk of `origin` carries `time` as its origin time. */
static void assert_stream_time(fixture_t *f, const char *origin,
                               const char *time) {
  json_t *chunks = chunks_of(f);
  size_t seen = 0;
  for (size_t i = 0; i < json_array_size(chunks); i++) {
    json_t *chunk = json_array_get(chunks, i);
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    if (!o || strcmp(o, origin) != 0)
      continue;
    const char *t = json_string_value(json_object_get(chunk, "time"));
    ck_assert_msg(t && strcmp(t, time) == 0, "%s: chunk %zu time '%s'", origin,
                  i, t ? t : "(null)");
    seen++;
  }
  ck_assert_uint_gt(seen, 0);
}

/* A text of `len` bytes that shows where every part of it came from. */
static char *pattern(size_t len, char salt) {
  char *text = malloc(len + 1);
  ck_assert_ptr_nonnull(text);
  for (size_t i = 0; i < len; i++)
    text[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i / 64 + salt) % 26);
  text[len] = '\0';
  return text;
}

/* The bytes of the chunks of `origin` are `want` (`len` bytes). */
static void assert_bytes(fixture_t *f, const char *origin, const char *want,
                         size_t len) {
  char *got = bytes_of(f, origin);
  ck_assert_uint_eq(strlen(got), len);
  ck_assert_msg(strcmp(got, want) == 0, "%s: the bytes differ", origin);
  free(got);
}

/* Runs `f` in notifications mode behind a sink with room for two chunks
 * that takes 1 ms per chunk, and checks that the download was paused, not
 * buffered: the queue before the sink never grew past its room. */
static void run_behind_a_slow_sink(fixture_t *f) {
  run_config(f,
             notify_config(f, NULL,
                           "delay_ms = 1; batch_size = 1; queue_size = 1", 1));
  assert_status(f, 0);
  ck_assert(f->saw_paused);
  ck_assert_uint_le(f->max_queue, 2);
}

/* ---- Notifications mode ---- */

START_TEST(event_objects_stream_in_order_then_the_message_is_deleted) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o, o]", event_record("b", "in/a.csv", "ev-a"),
                       event_record("b", "in/b.csv", "ev-b")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/in/a.csv", 200, "ETag: \"etag-a\"\r\n", "id,qty\n1,2\n", 0,
           0);
  push_get(f, "/b/in/b.csv", 200, "ETag: \"etag-b\"\r\n", "id,qty\n3,4\n5,6\n",
           0, 0);
  run_config(f, notify_config(f, "bucket = \"b\"; idle_polls = 3",
                              "delay_ms = 50", 1));
  assert_status(f, 0);
  /* Object a, then object b, each ending with an empty last chunk. */
  size_t after_a = assert_object_stream(f, "s3://b/in/a.csv", "etag-a");
  size_t after_b = assert_object_stream(f, "s3://b/in/b.csv", "etag-b");
  /* The rows are ordered by the event's time (sink-dynamodb). */
  assert_stream_time(f, "s3://b/in/a.csv", EVENT_TIME);
  assert_stream_time(f, "s3://b/in/b.csv", EVENT_TIME);
  ck_assert_uint_eq(after_b, json_array_size(chunks_of(f)));
  ck_assert_uint_lt(after_a, after_b);
  char *a = bytes_of(f, "s3://b/in/a.csv");
  char *b = bytes_of(f, "s3://b/in/b.csv");
  ck_assert_str_eq(a, "id,qty\n1,2\n");
  ck_assert_str_eq(b, "id,qty\n3,4\n5,6\n");
  free(a);
  free(b);
  ck_assert_uint_eq(count_gets(f, "/b/in/a.csv"), 1);
  ck_assert_uint_eq(count_gets(f, "/b/in/b.csv"), 1);
  assert_header(nth_get(f, "/b/in/a.csv", 0), "Range", NULL);
  /* The version the event announced (this server ignores If-Match: what it
   * served is what the chunks say they are). */
  assert_header(nth_get(f, "/b/in/a.csv", 0), "If-Match", "\"ev-a\"");
  /* Deleted once, after the sink had everything. */
  assert_handles(f, SQS_DELETE, "rh1");
  ck_assert_uint_eq(f->deletes_at_write, 0);
  ck_assert_uint_eq(test_sqs_count_calls(f->server, SQS_VISIBILITY), 0);
  ck_assert_uint_eq(json_array_size(dead_letters(f)), 0);
  ck_assert_uint_eq(source_counter(f, "objects_read"), 2);
  ck_assert_uint_eq(source_counter(f, "bytes_read"), 11 + 15);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "queue drained: 3 empty "
                                                  "receive(s) in a row"));
  fixture_free(f);
}
END_TEST

START_TEST(encoded_keys_are_decoded_then_encoded_in_the_path) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "dir/my+file%C3%A9.csv", "e")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/dir/my%20file%C3%A9.csv", 200, "ETag: \"e1\"\r\n", "x\n", 0,
           0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/"), 1);
  ck_assert_str_eq(nth_get(f, "/b/", 0)->path, "/b/dir/my%20file%C3%A9.csv");
  char *got = bytes_of(f, "s3://b/dir/my file\xC3\xA9.csv");
  ck_assert_str_eq(got, "x\n");
  free(got);
  assert_object_stream(f, "s3://b/dir/my file\xC3\xA9.csv", "e1");
  assert_handles(f, SQS_DELETE, "rh1");
  fixture_free(f);
}
END_TEST

START_TEST(eventbridge_events_are_read_with_their_keys_as_sent) {
  fixture_t *f = fixture_create();
  /* EventBridge's shape: one object in "detail", its key not encoded. */
  const char *body =
      "{\"version\":\"0\",\"id\":\"e-1\",\"detail-type\":\"Object Created\","
      "\"source\":\"aws.s3\",\"time\":\"2026-05-01T10:00:00Z\","
      "\"detail\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":"
      "\"dir/a+b c.csv\",\"size\":2,\"etag\":\"e\"}}}";
  test_sqs_push_messages(
      f->server, json_pack("[o]", test_sqs_message("m1", "rh1", body, 1, NULL)),
      0);
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/dir/a%2Bb%20c.csv", 200, "ETag: \"e1\"\r\n", "x\n", 0, 0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/"), 1);
  char *got = bytes_of(f, "s3://b/dir/a+b c.csv");
  ck_assert_str_eq(got, "x\n");
  free(got);
  assert_handles(f, SQS_DELETE, "rh1");
  fixture_free(f);
}
END_TEST

START_TEST(test_events_other_buckets_and_filtered_keys_are_deleted_unread) {
  fixture_t *f = fixture_create();
  char *other =
      event_body(json_pack("[o]", event_record("other", "in/x.csv", "e")));
  char *filtered =
      event_body(json_pack("[o, o, o]", event_record("b", "out/a.csv", "e1"),
                           event_record("b", "in/a.txt", "e2"),
                           event_record("b", "in/ok.csv", "e3")));
  test_sqs_push_messages(
      f->server,
      json_pack(
          "[o, o, o]",
          test_sqs_message("m1", "rh1",
                           "{\"Service\":\"Amazon S3\",\"Event\":"
                           "\"s3:TestEvent\",\"Time\":\"2024-01-01T00:00:00Z\","
                           "\"Bucket\":\"b\",\"RequestId\":\"r\","
                           "\"HostId\":\"h\"}",
                           1, NULL),
          test_sqs_message("m2", "rh2", other, 1, NULL),
          test_sqs_message("m3", "rh3", filtered, 1, NULL)),
      0);
  free(other);
  free(filtered);
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/in/ok.csv", 200, "ETag: \"ok\"\r\n", "ok\n", 0, 0);
  run_config(
      f, notify_config(f, "bucket = \"b\"; prefix = \"in/\"; suffix = \".csv\"",
                       NULL, 1));
  assert_status(f, 0);
  /* Only the one key that passes every filter was read. */
  ck_assert_uint_eq(count_gets(f, "/"), 1);
  ck_assert_uint_eq(count_gets(f, "/b/in/ok.csv"), 1);
  ck_assert_uint_eq(count_gets(f, "/other"), 0);
  char *got = bytes_of(f, "s3://b/in/ok.csv");
  ck_assert_str_eq(got, "ok\n");
  free(got);
  ck_assert_uint_eq(json_array_size(chunks_of(f)), 2); /* "ok\n", last */
  ck_assert_uint_eq(json_array_size(dead_letters(f)), 0);
  /* Every message deleted (one batch or several, in order). */
  char *url = queue_url(f);
  char *deleted = test_sqs_handles(f->server, SQS_DELETE, url);
  free(url);
  for (int i = 1; i <= 3; i++) {
    char handle[8];
    snprintf(handle, sizeof(handle), "rh%d", i);
    ck_assert_msg(strstr(deleted, handle), "%s not in '%s'", handle, deleted);
  }
  ck_assert_uint_eq(strlen(deleted), strlen("rh1 rh2 rh3"));
  free(deleted);
  ck_assert_uint_eq(source_counter(f, "objects_skipped"), 3);
  const char *log = pl_test_log(f->t);
  ck_assert_ptr_nonnull(strstr(log, "message m1 is an s3:TestEvent; deleted"));
  ck_assert_ptr_nonnull(strstr(log, "event for s3://other/in/x.csv skipped: "
                                    "this source reads bucket b"));
  fixture_free(f);
}
END_TEST

START_TEST(bodies_that_are_not_events_are_dead_lettered_then_deleted) {
  fixture_t *f = fixture_create();
  test_sqs_push_messages(
      f->server,
      json_pack("[o, o, o]", test_sqs_message("m1", "rh1", "hello", 1, NULL),
                test_sqs_message("m2", "rh2", "{\"foo\":1}", 1, NULL),
                test_sqs_message("m3", "rh3",
                                 "{\"Type\": \"Notification\", "
                                 "\"Message\": \"{}\"}",
                                 1, NULL)),
      0);
  test_sqs_push_empty(f->server, 40, 20);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/"), 0);
  ck_assert_uint_eq(json_array_size(chunks_of(f)), 0);
  json_t *letters = dead_letters(f);
  ck_assert_uint_eq(json_array_size(letters), 3);
  /* Inside SNS: where, then why, said once too. */
  ck_assert_str_eq(
      json_string_value(json_object_get(json_array_get(letters, 2), "reason")),
      "SNS Message: not an S3 event notification: no \"Records\" array");
  const char *raws[] = {"hello", "{\"foo\":1}"};
  const char *ids[] = {"m1", "m2"};
  for (size_t i = 0; i < 2; i++) {
    json_t *doc = json_array_get(letters, i);
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    ck_assert_ptr_nonnull(reason);
    const char *prefix = "not an S3 event notification: ";
    ck_assert_msg(strncmp(reason, prefix, strlen(prefix)) == 0, "%s", reason);
    /* Said once, not twice. */
    ck_assert_msg(strstr(reason + strlen(prefix), "not an S3 event") == NULL,
                  "%s", reason);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "raw")), raws[i]);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "message_id")),
                     ids[i]);
  }
  ck_assert_ptr_nonnull(strstr(
      json_string_value(json_object_get(json_array_get(letters, 0), "reason")),
      "not JSON"));
  ck_assert_ptr_nonnull(strstr(
      json_string_value(json_object_get(json_array_get(letters, 1), "reason")),
      "no \"Records\" array"));
  assert_handles(f, SQS_DELETE, "rh1 rh2 rh3");
  ck_assert_uint_eq(source_counter(f, "poison_messages"), 3);
  fixture_free(f);
}
END_TEST

START_TEST(missing_and_forbidden_objects_are_dead_lettered) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o, o, o]", event_record("b", "missing.csv", "e-m"),
                       event_record("b", "denied.csv", "e-d"),
                       event_record("b", "ok.csv", "e-o")));
  test_sqs_push_empty(f->server, 40, 20);
  push_s3_error(f, "/b/missing.csv", 404, "NoSuchKey",
                "The specified key does not exist.");
  push_s3_error(f, "/b/denied.csv", 403, "AccessDenied", "Access Denied");
  push_get(f, "/b/ok.csv", 200, "ETag: \"ok\"\r\n", "fine\n", 0, 0);
  run_config(f, notify_config(f, NULL, NULL, 3));
  assert_status(f, 0);
  /* Client errors are not retried. */
  ck_assert_uint_eq(count_gets(f, "/b/missing.csv"), 1);
  ck_assert_uint_eq(count_gets(f, "/b/denied.csv"), 1);
  json_t *letters = dead_letters(f);
  ck_assert_uint_eq(json_array_size(letters), 2);
  /* The reason has the status and S3's own code and message. */
  const char *codes[] = {
      "s3 GetObject: HTTP 404 NoSuchKey: The specified key does not exist.",
      "s3 GetObject: HTTP 403 AccessDenied: Access Denied"};
  const char *keys[] = {"missing.csv", "denied.csv"};
  const char *etags[] = {"e-m", "e-d"};
  for (size_t i = 0; i < 2; i++) {
    json_t *doc = json_array_get(letters, i);
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    ck_assert_msg(reason && strstr(reason, codes[i]), "%s", reason);
    char origin[64];
    snprintf(origin, sizeof(origin), "s3://b/%s", keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "origin")), origin);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "etag")), etags[i]);
    json_t *record = json_object_get(doc, "record");
    ck_assert_str_eq(json_string_value(json_object_get(record, "bucket")), "b");
    ck_assert_str_eq(json_string_value(json_object_get(record, "key")),
                     keys[i]);
  }
  /* Nothing of the missing objects reached the sink; the third did. */
  char *missing = bytes_of(f, "s3://b/missing.csv");
  ck_assert_str_eq(missing, "");
  free(missing);
  ck_assert_uint_eq(json_array_size(chunks_of(f)), 2);
  char *ok = bytes_of(f, "s3://b/ok.csv");
  ck_assert_str_eq(ok, "fine\n");
  free(ok);
  assert_handles(f, SQS_DELETE, "rh1");
  ck_assert_uint_eq(source_counter(f, "objects_gone"), 2);
  fixture_free(f);
}
END_TEST

/* An object replaced between its event and its GET: the new version has an
 * event of its own, so reading it for the old one's too would deliver its
 * rows twice. The GET asks for the version announced (If-Match); a 412
 * ends that object with nothing read. */
START_TEST(an_object_replaced_before_its_read_is_left_to_its_own_event) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o, o]", event_record("b", "old.csv", "v1"),
                       event_record("b", "ok.csv", "e-o")));
  test_sqs_push_empty(f->server, 40, 20);
  push_s3_error(f, "/b/old.csv", 412, "PreconditionFailed",
                "At least one of the pre-conditions you specified did not "
                "hold");
  push_get(f, "/b/ok.csv", 200, "ETag: \"e-o\"\r\n", "fine\n", 0, 0);
  run_config(f, notify_config(f, NULL, NULL, 3));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/old.csv"), 1);
  assert_header(nth_get(f, "/b/old.csv", 0), "If-Match", "\"v1\"");
  assert_header(nth_get(f, "/b/ok.csv", 0), "If-Match", "\"e-o\"");
  /* Nothing of it reached the sink or the dead letter; the other did. */
  char *old = bytes_of(f, "s3://b/old.csv");
  ck_assert_str_eq(old, "");
  free(old);
  ck_assert_uint_eq(json_array_size(chunks_of(f)), 2);
  ck_assert_uint_eq(json_array_size(dead_letters(f)), 0);
  ck_assert_uint_eq(source_counter(f, "objects_replaced"), 1);
  ck_assert_uint_eq(source_counter(f, "objects_read"), 1);
  const pl_failing_t *downloads = test_plugin_reads(f->t, "download");
  ck_assert(!downloads || !downloads->failing);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t),
                               "s3://b/old.csv was replaced since it was "
                               "announced (etag v1): its new version is read "
                               "for its own announcement"));
  /* Done with: the message goes. */
  assert_handles(f, SQS_DELETE, "rh1");
  fixture_free(f);
}
END_TEST

/* Receives that work (empty ones, many) do not end the failing of a
 * download that keeps failing: /healthz goes by each kind of read. */
START_TEST(empty_receives_do_not_clear_a_failing_download) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "bad.csv", "e1")));
  test_sqs_push_empty(f->server, 400, 20);
  for (int i = 0; i < 2; i++)
    push_s3_error(f, "/b/bad.csv", 500, "InternalError",
                  "We encountered an internal error.");
  run_config(f, notify_config(f, "idle_polls = 300", NULL, 2));
  ck_assert_uint_eq(count_gets(f, "/b/bad.csv"), 2);
  ck_assert_uint_eq(source_counter(f, "objects_failed"), 1);
  const pl_failing_t *downloads = test_plugin_reads(f->t, "download");
  ck_assert_ptr_nonnull(downloads);
  ck_assert_msg(downloads->failing, "%s", pl_test_log(f->t));
  const pl_failing_t *receives = test_plugin_reads(f->t, "receive");
  ck_assert(!receives || !receives->failing);
  fixture_free(f);
}
END_TEST

START_TEST(an_object_that_keeps_failing_leaves_its_message) {
  for (int retry = 0; retry < 2; retry++) {
    fixture_t *f = fixture_create();
    push_event(f, "m1", "rh1",
               json_pack("[o, o]", event_record("b", "bad.csv", "e1"),
                         event_record("b", "later.csv", "e2")));
    test_sqs_push_empty(f->server, 60, 20);
    for (int i = 0; i < 2; i++)
      push_s3_error(f, "/b/bad.csv", 500, "InternalError",
                    "We encountered an internal error.");
    push_get(f, "/b/later.csv", 200, "ETag: \"l\"\r\n", "later\n", 0, 0);
    run_config(f, notify_config(f, retry ? "retry_visibility = \"5s\"" : NULL,
                                NULL, 2));
    /* A group failed: a --once run says so. */
    assert_status(f, 1);
    /* Both attempts of the client, then given up; the rest of the
     * message waits for its next receive. */
    ck_assert_uint_eq(count_gets(f, "/b/bad.csv"), 2);
    ck_assert_uint_eq(count_gets(f, "/b/later.csv"), 0);
    ck_assert_uint_eq(json_array_size(chunks_of(f)), 0);
    ck_assert_uint_eq(json_array_size(dead_letters(f)), 0);
    ck_assert_uint_eq(test_sqs_count_calls(f->server, SQS_DELETE), 0);
    if (retry)
      assert_handles(f, SQS_VISIBILITY, "rh1@5");
    else
      ck_assert_uint_eq(test_sqs_count_calls(f->server, SQS_VISIBILITY), 0);
    ck_assert_ptr_nonnull(
        strstr(pl_test_log(f->t), "s3://b/bad.csv: s3 GetObject: HTTP 500"));
    ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "read again later"));
    ck_assert_uint_eq(source_counter(f, "objects_failed"), 1);
    /* /healthz's view: reading fails, naming the object. */
    const pl_failing_t *reads = test_plugin_reads(f->t, "download");
    ck_assert_ptr_nonnull(reads);
    ck_assert(reads->failing);
    ck_assert_ptr_nonnull(strstr(reads->last_error.data,
                                 "s3://b/bad.csv: s3 GetObject: HTTP 500"));
    fixture_free(f);
  }
}
END_TEST

/* Errors that do not say the object is gone (a request that timed out,
 * retried to the end; a signature or a token the server refused) fail the
 * read: nothing goes to the dead letter and the message stays. */
START_TEST(errors_other_than_gone_leave_the_message) {
  static const struct {
    int status;
    const char *code;
  } cases[] = {
      {400, "RequestTimeout"},
      {403, "SignatureDoesNotMatch"},
      {400, "ExpiredToken"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    fixture_t *f = fixture_create();
    push_event(f, "m1", "rh1",
               json_pack("[o]", event_record("b", "x.csv", "e1")));
    test_sqs_push_empty(f->server, 60, 20);
    for (int i = 0; i < 2; i++)
      push_s3_error(f, "/b/x.csv", cases[c].status, cases[c].code, "no");
    run_config(f, notify_config(f, NULL, NULL, 2));
    assert_status(f, 1);
    ck_assert_uint_eq(json_array_size(dead_letters(f)), 0);
    ck_assert_uint_eq(test_sqs_count_calls(f->server, SQS_DELETE), 0);
    ck_assert_uint_eq(source_counter(f, "objects_failed"), 1);
    ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), cases[c].code));
    fixture_free(f);
  }
}
END_TEST

/* A server that ignores If-Match answers the Range request with another
 * version of the object: its bytes are not spliced on; the object is cut
 * and read again. */
START_TEST(a_range_answer_of_another_version_restarts_the_object) {
  fixture_t *f = fixture_create();
  size_t len = 10000, cut = 3000;
  char *v1 = pattern(len, 0);
  char *v2 = pattern(len, 7);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "big.csv", "e")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/big.csv", 200, "ETag: \"v1\"\r\n", v1, len, cut);
  push_get(f, "/b/big.csv", 206, "ETag: \"v2\"\r\n", v2 + cut, len - cut, 0);
  push_get(f, "/b/big.csv", 200, "ETag: \"v2\"\r\n", v2, len, 0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 3);
  assert_header(nth_get(f, "/b/big.csv", 2), "Range", NULL);
  /* v1's first bytes, a cut, then v2 whole: nothing of the 206. */
  char *after_cut = NULL;
  json_t *chunks = chunks_of(f);
  pl_buf_t tail = {0};
  pl_buf_append_str(&tail, "");
  bool seen_cut = false;
  for (size_t i = 0; i < json_array_size(chunks); i++) {
    json_t *chunk = json_array_get(chunks, i);
    if (json_is_true(json_object_get(chunk, "cut"))) {
      seen_cut = true;
      continue;
    }
    json_t *bytes = json_object_get(chunk, "bytes");
    if (seen_cut)
      pl_buf_append(&tail, json_string_value(bytes), json_string_length(bytes));
  }
  ck_assert(seen_cut);
  after_cut = tail.data;
  ck_assert_uint_eq(tail.len, len);
  ck_assert(memcmp(after_cut, v2, len) == 0);
  ck_assert_ptr_nonnull(
      strstr(pl_test_log(f->t), "s3://b/big.csv changed while being read"));
  assert_handles(f, SQS_DELETE, "rh1");
  pl_buf_free(&tail);
  free(v1);
  free(v2);
  fixture_free(f);
}
END_TEST

START_TEST(a_dropped_download_resumes_with_a_range_request) {
  /* 0: the server honours Range (206); 1: it ignores it and sends the
   * whole object again (200), whose first bytes are dropped. */
  for (int ignore = 0; ignore < 2; ignore++) {
    fixture_t *f = fixture_create();
    size_t len = 10000, cut = 3000;
    char *object = pattern(len, 0);
    push_event(f, "m1", "rh1",
               json_pack("[o]", event_record("b", "big.csv", "e")));
    test_sqs_push_empty(f->server, 40, 20);
    push_get(f, "/b/big.csv", 200, "ETag: \"abc\"\r\n", object, len, cut);
    if (ignore)
      push_get(f, "/b/big.csv", 200, "ETag: \"abc\"\r\n", object, len, 0);
    else
      push_get(f, "/b/big.csv", 206,
               "ETag: \"abc\"\r\nContent-Range: bytes 3000-9999/10000\r\n",
               object + cut, len - cut, 0);
    run_config(f, notify_config(f, NULL, NULL, 1));
    assert_status(f, 0);
    ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 2);
    const pl_test_http_request_t *again = nth_get(f, "/b/big.csv", 1);
    assert_header(nth_get(f, "/b/big.csv", 0), "Range", NULL);
    assert_header(again, "Range", "bytes=3000-");
    assert_header(again, "If-Match", "\"abc\"");
    /* Every byte exactly once, in order. */
    char *got = bytes_of(f, "s3://b/big.csv");
    ck_assert_uint_eq(strlen(got), len);
    ck_assert_msg(strcmp(got, object) == 0, "the bytes differ");
    free(got);
    assert_object_stream(f, "s3://b/big.csv", "abc");
    ck_assert_uint_eq(source_counter(f, "range_resumes"), 1);
    ck_assert_uint_eq(source_counter(f, "bytes_read"), len);
    ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "the download broke after "
                                                    "3000 bytes"));
    assert_handles(f, SQS_DELETE, "rh1");
    free(object);
    fixture_free(f);
  }
}
END_TEST

/* A download whose server goes quiet in the middle is aborted after
 * read_timeout and the rest is asked for with a Range request. */
START_TEST(a_stalled_download_resumes_with_a_range_request) {
  fixture_t *f = fixture_create();
  size_t len = 10000, stall = 3000;
  char *object = pattern(len, 0);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "big.csv", "e")));
  test_sqs_push_empty(f->server, 100, 20);
  push_stalled_get(f, "/b/big.csv", "ETag: \"abc\"\r\n", object, len, stall);
  push_get(f, "/b/big.csv", 206,
           "ETag: \"abc\"\r\nContent-Range: bytes 3000-9999/10000\r\n",
           object + stall, len - stall, 0);
  run_config(
      f, with_aws(notify_config(f, NULL, NULL, 1), "read_timeout = \"300ms\""));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 2);
  assert_header(nth_get(f, "/b/big.csv", 1), "Range", "bytes=3000-");
  char *got = bytes_of(f, "s3://b/big.csv");
  ck_assert_msg(strcmp(got, object) == 0, "the bytes differ");
  free(got);
  assert_object_stream(f, "s3://b/big.csv", "abc");
  ck_assert_uint_eq(source_counter(f, "range_resumes"), 1);
  ck_assert_msg(strstr(pl_test_log(f->t),
                       "s3://b/big.csv: the download broke after 3000 bytes "
                       "(s3 GetObject: timed out: no data received for"),
                "%s", pl_test_log(f->t));
  assert_handles(f, SQS_DELETE, "rh1");
  free(object);
  fixture_free(f);
}
END_TEST

/* An object whose every answer stalls is given up when the attempts run
 * out: its group fails, the log names it, and the message stays. */
START_TEST(a_download_that_keeps_stalling_fails_naming_the_object) {
  fixture_t *f = fixture_create();
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "x.csv", "e1")));
  test_sqs_push_empty(f->server, 100, 20);
  for (int i = 0; i < 2; i++)
    push_stalled_get(f, "/b/x.csv", "ETag: \"x\"\r\n", "id\n1\n", 0, 0);
  run_config(
      f, with_aws(notify_config(f, NULL, NULL, 2), "read_timeout = \"300ms\""));
  assert_status(f, 1);
  ck_assert_uint_eq(count_gets(f, "/b/x.csv"), 2);
  ck_assert_msg(strstr(pl_test_log(f->t),
                       "s3://b/x.csv: s3 GetObject: timed out: no data "
                       "received for"),
                "%s", pl_test_log(f->t));
  ck_assert_uint_eq(test_sqs_count_calls(f->server, SQS_DELETE), 0);
  ck_assert_uint_eq(source_counter(f, "objects_failed"), 1);
  fixture_free(f);
}
END_TEST

START_TEST(an_object_that_changed_is_cut_and_read_again) {
  fixture_t *f = fixture_create();
  size_t len = 10000, cut = 3000;
  char *v1 = pattern(len, 0);
  char *v2 = pattern(len + 100, 7);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "big.csv", "e")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/big.csv", 200, "ETag: \"v1\"\r\n", v1, len, cut);
  push_s3_error(f, "/b/big.csv", 412, "PreconditionFailed",
                "At least one of the pre-conditions you specified did not "
                "hold");
  push_get(f, "/b/big.csv", 200, "ETag: \"v2\"\r\n", v2, len + 100, 0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 3);
  assert_header(nth_get(f, "/b/big.csv", 1), "Range", "bytes=3000-");
  assert_header(nth_get(f, "/b/big.csv", 1), "If-Match", "\"v1\"");
  /* From the beginning, whatever the new etag. */
  assert_header(nth_get(f, "/b/big.csv", 2), "Range", NULL);
  assert_header(nth_get(f, "/b/big.csv", 2), "If-Match", NULL);
  /* v1's first 3000 bytes, a cut chunk, then all of v2 and a last chunk. */
  json_t *chunks = chunks_of(f);
  pl_buf_t before = {0}, after = {0};
  pl_buf_append_str(&before, "");
  pl_buf_append_str(&after, "");
  size_t cuts = 0, lasts = 0;
  for (size_t i = 0; i < json_array_size(chunks); i++) {
    json_t *chunk = json_array_get(chunks, i);
    json_t *bytes = json_object_get(chunk, "bytes");
    bool is_cut = json_is_true(json_object_get(chunk, "cut"));
    bool is_last = json_is_true(json_object_get(chunk, "last"));
    const char *etag = json_string_value(json_object_get(chunk, "etag"));
    ck_assert_str_eq(json_string_value(json_object_get(chunk, "origin")),
                     "s3://b/big.csv");
    if (is_cut) {
      cuts++;
      ck_assert(is_last);
      ck_assert_uint_eq(json_string_length(bytes), 0);
      ck_assert_uint_eq(before.len, cut);
      continue;
    }
    if (is_last) {
      lasts++;
      ck_assert_uint_eq(i, json_array_size(chunks) - 1);
    }
    ck_assert_str_eq(etag, cuts ? "v2" : "v1");
    pl_buf_append(cuts ? &after : &before, json_string_value(bytes),
                  json_string_length(bytes));
  }
  ck_assert_uint_eq(cuts, 1);
  ck_assert_uint_eq(lasts, 1);
  ck_assert_uint_eq(before.len, cut);
  ck_assert(memcmp(before.data, v1, cut) == 0);
  ck_assert_uint_eq(after.len, len + 100);
  ck_assert(strcmp(after.data, v2) == 0);
  pl_buf_free(&before);
  pl_buf_free(&after);
  ck_assert_ptr_nonnull(
      strstr(pl_test_log(f->t), "s3://b/big.csv changed while being read"));
  ck_assert_uint_eq(source_counter(f, "object_restarts"), 1);
  assert_handles(f, SQS_DELETE, "rh1");
  free(v1);
  free(v2);
  fixture_free(f);
}
END_TEST

START_TEST(a_slow_sink_pauses_the_download_without_loss) {
  fixture_t *f = fixture_create();
  size_t len = 2 * 1024 * 1024;
  char *object = pattern(len, 3);
  push_event(f, "m1", "rh1",
             json_pack("[o, o]", event_record("b", "huge.csv", "e"),
                       event_record("b", "small.csv", "e")));
  test_sqs_push_empty(f->server, 200, 20);
  push_get(f, "/b/huge.csv", 200, "ETag: \"h\"\r\n", object, len, 0);
  push_get(f, "/b/small.csv", 200, "ETag: \"s\"\r\n", "tail\n", 0, 0);
  run_behind_a_slow_sink(f);
  assert_bytes(f, "s3://b/huge.csv", object, len);
  size_t after = assert_object_stream(f, "s3://b/huge.csv", "h");
  ck_assert_uint_eq(assert_object_stream(f, "s3://b/small.csv", "s"),
                    json_array_size(chunks_of(f)));
  ck_assert_uint_le(after, json_array_size(chunks_of(f)) - 2);
  ck_assert_uint_eq(count_gets(f, "/b/huge.csv"), 1);
  ck_assert_uint_eq(source_counter(f, "range_resumes"), 0);
  assert_handles(f, SQS_DELETE, "rh1");
  free(object);
  fixture_free(f);
}
END_TEST

/* ---- List mode ---- */

/* A ListObjectsV2 page of `count` keys with their etags: a new string. */
static char *list_page(const char *const *keys, const char *const *etags,
                       size_t count, const char *next_token) {
  pl_buf_t buf = {0};
  pl_buf_printf(&buf,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
                "2006-03-01/\"><Name>b</Name><Prefix>in/</Prefix>"
                "<KeyCount>%zu</KeyCount><MaxKeys>1000</MaxKeys>"
                "<IsTruncated>%s</IsTruncated>",
                count, next_token ? "true" : "false");
  if (next_token)
    pl_buf_printf(&buf, "<NextContinuationToken>%s</NextContinuationToken>",
                  next_token);
  for (size_t i = 0; i < count; i++)
    pl_buf_printf(&buf,
                  "<Contents><Key>%s</Key><LastModified>2024-01-01T00:00:00."
                  "000Z</LastModified><ETag>&quot;%s&quot;</ETag><Size>3</Size>"
                  "<StorageClass>STANDARD</StorageClass></Contents>",
                  keys[i], etags[i]);
  pl_buf_append_str(&buf, "</ListBucketResult>");
  return buf.data;
}

static void push_list(fixture_t *f, const char *const *keys,
                      const char *const *etags, size_t count,
                      const char *next_token) {
  char *body = list_page(keys, etags, count, next_token);
  push_get(f, "/b?", 200, "Content-Type: application/xml\r\n", body, 0, 0);
  free(body);
}

/* The path of the state file in `dir` (a new string), or NULL. */
static char *state_file(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  char *found = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (strncmp(e->d_name, "s3-b-", 5) == 0 && n > 6 &&
        strcmp(e->d_name + n - 6, ".state") == 0) {
      pl_buf_t path = {0};
      pl_buf_printf(&path, "%s/%s", dir, e->d_name);
      found = path.data;
    }
  }
  closedir(d);
  return found;
}

static char *read_text(const char *path) {
  FILE *fp = fopen(path, "r");
  ck_assert_ptr_nonnull(fp);
  pl_buf_t buf = {0};
  char piece[4096];
  size_t n;
  while ((n = fread(piece, 1, sizeof(piece), fp)) > 0)
    pl_buf_append(&buf, piece, n);
  fclose(fp);
  pl_buf_append_str(&buf, "");
  return buf.data;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    pl_buf_t path = {0};
    pl_buf_printf(&path, "%s/%s", dir, e->d_name);
    unlink(path.data);
    pl_buf_free(&path);
  }
  closedir(d);
  rmdir(dir);
}

/* What a user can get wrong in list mode: a state file that is not one
 * stops the start with its path and line; a listing the bucket refuses is
 * an error of the run, and nothing is read. */
START_TEST(list_mode_errors_are_reported) {
  char dir[] = "/tmp/check_source_s3_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  pl_buf_t settings = {0};
  pl_buf_printf(&settings, "prefix = \"in/\"; state_dir = \"%s\"", dir);
  const char *keys[] = {"in/a.csv"};
  const char *etags[] = {"e1"};
  fixture_t *f = fixture_create();
  push_list(f, keys, etags, 1, NULL);
  push_get(f, "/b/in/a.csv", 200, "ETag: \"e1\"\r\n", "a\n", 0, 0);
  run_config(f, list_config(f, settings.data));
  assert_status(f, 0);
  fixture_free(f);
  char *file = state_file(dir);
  ck_assert_ptr_nonnull(file);
  FILE *out = fopen(file, "w");
  ck_assert_ptr_nonnull(out);
  fputs("not a state file\n", out);
  fclose(out);

  f = fixture_create();
  run_refused(f, list_config(f, settings.data));
  char want[512];
  snprintf(want, sizeof(want), "state file %s:1:", file);
  ck_assert_msg(strstr(pl_test_log(f->t), want), "%s", pl_test_log(f->t));
  ck_assert_uint_eq(pl_test_http_request_count(f->server), 0);
  fixture_free(f);
  free(file);
  remove_dir(dir);
  pl_buf_free(&settings);

  f = fixture_create();
  push_s3_error(f, "/b?", 403, "AccessDenied", "Access Denied");
  run_config(f, list_config(f, "prefix = \"in/\""));
  assert_status(f, 1);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t),
                               "cannot list s3://b/in/: s3 ListObjectsV2: "
                               "HTTP 403 AccessDenied"));
  ck_assert_uint_eq(count_gets(f, "/b/"), 0);
  /* What /healthz goes by: the source cannot read. */
  const pl_failing_t *reads = test_plugin_reads(f->t, "list");
  ck_assert_ptr_nonnull(reads);
  ck_assert(reads->failing);
  ck_assert_ptr_nonnull(strstr(reads->last_error.data,
                               "cannot list s3://b/in/: s3 ListObjectsV2: "
                               "HTTP 403 AccessDenied"));
  fixture_free(f);
}
END_TEST

/* A request that is not a download is bounded as a whole: a listing the
 * server never answers ends after request_timeout with an error. */
START_TEST(a_listing_that_hangs_times_out) {
  fixture_t *f = fixture_create();
  pl_test_http_push(f->server, &(pl_test_http_response_t){.method = "GET",
                                                          .path_prefix = "/b?",
                                                          .hang = true});
  uint64_t start = uv_now(pl_test_loop(f->t));
  run_config(f, with_aws(list_config(f, "prefix = \"in/\""),
                         "request_timeout = \"300ms\""));
  assert_status(f, 1);
  ck_assert_uint_lt(uv_now(pl_test_loop(f->t)) - start, 10000);
  ck_assert_msg(strstr(pl_test_log(f->t), "cannot list s3://b/in/: s3 "
                                          "ListObjectsV2: timed out"),
                "%s", pl_test_log(f->t));
  fixture_free(f);
}
END_TEST

START_TEST(list_mode_pages_reads_and_remembers_across_runs) {
  char top[] = "/tmp/check_source_s3_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(top));
  /* A state_dir that does not exist yet is created, parents and all, as
   * source-file creates its own. */
  char parent[sizeof(top) + 8], dir[sizeof(top) + 16];
  snprintf(parent, sizeof(parent), "%s/new", top);
  snprintf(dir, sizeof(dir), "%s/state", parent);
  pl_buf_t settings = {0};
  pl_buf_printf(&settings, "prefix = \"in/\"; state_dir = \"%s\"", dir);
  const char *keys[] = {"in/a.csv", "in/b.csv", "in/c.csv"};
  const char *etags[] = {"e1", "e2", "e3"};

  /* Run 1: two pages, three objects. */
  fixture_t *f = fixture_create();
  push_list(f, keys, etags, 2, "tok+1/=");
  push_list(f, keys + 2, etags + 2, 1, NULL);
  push_get(f, "/b/in/a.csv", 200, "ETag: \"e1\"\r\n", "a\n", 0, 0);
  push_get(f, "/b/in/b.csv", 200, "ETag: \"e2\"\r\n", "b\n", 0, 0);
  push_get(f, "/b/in/c.csv", 200, "ETag: \"e3\"\r\n", "c\n", 0, 0);
  run_config(f, list_config(f, settings.data));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b?"), 2);
  const char *first = nth_get(f, "/b?", 0)->path;
  const char *second = nth_get(f, "/b?", 1)->path;
  ck_assert_msg(strstr(first, "list-type=2") && strstr(first, "prefix=in%2F") &&
                    !strstr(first, "continuation-token"),
                "%s", first);
  ck_assert_msg(strstr(second, "continuation-token=tok%2B1%2F%3D") &&
                    strstr(second, "prefix=in%2F"),
                "%s", second);
  for (size_t i = 0; i < 3; i++) {
    char path[32], origin[32], want[4];
    snprintf(path, sizeof(path), "/b/%s", keys[i]);
    snprintf(origin, sizeof(origin), "s3://b/%s", keys[i]);
    snprintf(want, sizeof(want), "%c\n", keys[i][3]);
    ck_assert_uint_eq(count_gets(f, path), 1);
    char *got = bytes_of(f, origin);
    ck_assert_str_eq(got, want);
    free(got);
    assert_object_stream(f, origin, etags[i]);
    assert_stream_time(f, origin, "2024-01-01T00:00:00.000Z");
  }
  /* The third object was read after the second page was asked for. */
  size_t list2 = 0, get_c = 0;
  for (size_t i = 0; i < pl_test_http_request_count(f->server); i++) {
    const char *path = pl_test_http_request(f->server, i)->path;
    if (strstr(path, "continuation-token"))
      list2 = i;
    if (strcmp(path, "/b/in/c.csv") == 0)
      get_c = i;
  }
  ck_assert_uint_gt(get_c, list2);
  fixture_free(f);
  char *file = state_file(dir);
  ck_assert_msg(file != NULL, "no state file in %s", dir);
  char *text = read_text(file);
  ck_assert_msg(strstr(text, "e1 in/a.csv\n") &&
                    strstr(text, "e2 in/b.csv\n") &&
                    strstr(text, "e3 in/c.csv\n"),
                "%s", text);
  free(text);

  /* Run 2: the same listing; nothing is read again. */
  f = fixture_create();
  push_list(f, keys, etags, 3, NULL);
  run_config(f, list_config(f, settings.data));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b?"), 1);
  ck_assert_uint_eq(count_gets(f, "/b/"), 0);
  ck_assert_uint_eq(json_array_size(chunks_of(f)), 0);
  fixture_free(f);

  /* Run 3: b changed (new etag): only b is read, and remembered. */
  const char *etags3[] = {"e1", "e2x", "e3"};
  f = fixture_create();
  push_list(f, keys, etags3, 3, NULL);
  push_get(f, "/b/in/b.csv", 200, "ETag: \"e2x\"\r\n", "B\n", 0, 0);
  run_config(f, list_config(f, settings.data));
  assert_status(f, 0);
  ck_assert_uint_eq(count_gets(f, "/b/"), 1);
  ck_assert_uint_eq(count_gets(f, "/b/in/b.csv"), 1);
  char *got = bytes_of(f, "s3://b/in/b.csv");
  ck_assert_str_eq(got, "B\n");
  free(got);
  fixture_free(f);
  text = read_text(file);
  ck_assert_msg(strstr(text, "e2x in/b.csv\n") && !strstr(text, "e2 in/b.csv"),
                "%s", text);
  free(text);

  free(file);
  pl_buf_free(&settings);
  remove_dir(dir);
  ck_assert_int_eq(rmdir(parent), 0);
  ck_assert_int_eq(rmdir(top), 0);
}
END_TEST

/* ---- Options ---- */

/* ---- Resuming an object from the ledger ---- */

/* The ledger file under `dir` (one s3-*.ledger there): its text, a new
 * string. */
static char *ledger_text(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  pl_buf_t path = {0};
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n > 7 && strcmp(e->d_name + n - 7, ".ledger") == 0)
      pl_buf_printf(&path, "%s/%s", dir, e->d_name);
  }
  closedir(d);
  ck_assert_ptr_nonnull(path.data);
  pl_buf_t text = {0};
  ck_assert_int_eq(pl_state_file_read(path.data, &text, NULL), 0);
  pl_buf_free(&path);
  return text.data;
}

/* Notifications mode with a ledger under a new directory (in *dir, a new
 * string) that says big.csv, version "abc", is committed up to byte 3008,
 * line 48; the run is started, not run. */
static source_s3_t *start_with_ledger(fixture_t *f, char **dir) {
  *dir = strdup("/tmp/check_source_s3.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(*dir));
  pl_buf_t source = {0};
  ck_assert_int_eq(pl_buf_printf(&source, "state_dir = \"%s\"", *dir), 0);
  char *aws = notify_config(f, source.data, NULL, 1);
  pl_buf_free(&source);
  pl_test_set_globals(f->t, aws);
  free(aws);
  ck_assert_int_eq(pl_test_start(f->t), 0);
  source_s3_t *s = pl_instance_context(pl_test_instance(f->t));
  ck_assert_ptr_nonnull(s->ledger);
  ck_assert_int_eq(pl_ledger_set(s->ledger, "s3://b/big.csv", "abc", 3008, 48),
                   0);
  return s;
}

/* The run ended well, its message deleted, and the ledger under `dir`
 * (freed, with the directory) is empty again: the object was committed. */
static void assert_ledger_emptied(fixture_t *f, char *dir) {
  assert_status(f, 0);
  assert_handles(f, SQS_DELETE, "rh1");
  fixture_free(f);
  char *text = ledger_text(dir);
  ck_assert_str_eq(text, "pipelined ledger 1\n");
  free(text);
  remove_dir(dir);
  free(dir);
}

/* An object the ledger has (a crash left it half sent; its message came
 * back): its first line again for the header, then the rest from the
 * ledger's offset, both asked for with If-Match, the first chunk after the
 * jump carrying its true line. Once committed it leaves the ledger. */
START_TEST(an_object_in_the_ledger_is_taken_up_where_its_rows_end) {
  fixture_t *f = fixture_create();
  size_t len = 10000, at = 3008; /* lines of 64 bytes: 3008 starts line 48 */
  char *object = pattern(len, 0);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "big.csv", "abc")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/big.csv", 206,
           "ETag: \"abc\"\r\nContent-Range: bytes 0-9999/10000\r\n", object,
           len, 0);
  push_get(f, "/b/big.csv", 206,
           "ETag: \"abc\"\r\nContent-Range: bytes 3008-9999/10000\r\n",
           object + at, len - at, 0);
  char *dir = NULL;
  start_with_ledger(f, &dir);
  ck_assert_int_eq(pl_test_run(f->t, 60000), 0);
  ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 2);
  assert_header(nth_get(f, "/b/big.csv", 0), "Range", "bytes=0-65535");
  assert_header(nth_get(f, "/b/big.csv", 0), "If-Match", "\"abc\"");
  assert_header(nth_get(f, "/b/big.csv", 1), "Range", "bytes=3008-");
  assert_header(nth_get(f, "/b/big.csv", 1), "If-Match", "\"abc\"");
  /* The header line, then the bytes from 3008 on: none before it again. */
  char *got = bytes_of(f, "s3://b/big.csv");
  ck_assert_uint_eq(strlen(got), 64 + len - at);
  ck_assert(memcmp(got, object, 64) == 0);
  ck_assert(strcmp(got + 64, object + at) == 0);
  free(got);
  json_t *first = pl_test_record_meta(f->t, 0), *second = NULL;
  ck_assert_ptr_null(json_object_get(first, "line"));
  for (size_t i = 1; i < pl_test_record_count(f->t) && !second; i++)
    if (json_is_true(json_object_get(pl_test_record_meta(f->t, i), "bytes")))
      second = pl_test_record_meta(f->t, i);
  ck_assert_ptr_nonnull(second);
  ck_assert_int_eq(json_integer_value(json_object_get(second, "line")), 48);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "s3://b/big.csv: resuming "
                                                  "at byte 3008 (line 48)"));
  ck_assert_uint_eq(source_counter(f, "objects_resumed"), 1);
  assert_ledger_emptied(f, dir);
  free(object);
}
END_TEST

/* A committed object's entry stays in the ledger, at the end of its rows,
 * until its event message is deleted: when the delete is given up (or a
 * crash comes first) the message comes back, and the object is taken up
 * at its end rather than read again whole. Deleted, the entry leaves (the
 * test above). */
START_TEST(
    a_committed_object_stays_in_the_ledger_until_its_message_is_deleted) {
  fixture_t *f = fixture_create();
  size_t len = 10000, at = 3008;
  char *object = pattern(len, 0);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "big.csv", "abc")));
  /* Every later answer is an empty receive to a receive, and to the
   * delete a refusal it does not retry (the request's fault). */
  for (int i = 0; i < 40; i++)
    fake_http_push(f->server,
                   &(fake_http_response_t){
                       .method = "POST",
                       .status = 200,
                       .body =
                           "{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,"
                           "\"Code\":\"ReceiptHandleIsInvalid\","
                           "\"Message\":\"no\"}]}",
                       .delay_ms = 20});
  push_get(f, "/b/big.csv", 206,
           "ETag: \"abc\"\r\nContent-Range: bytes 0-9999/10000\r\n", object,
           len, 0);
  push_get(f, "/b/big.csv", 206,
           "ETag: \"abc\"\r\nContent-Range: bytes 3008-9999/10000\r\n",
           object + at, len - at, 0);
  char *dir = NULL;
  start_with_ledger(f, &dir);
  ck_assert_int_eq(pl_test_run(f->t, 60000), 0);
  assert_status(f, 0);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "message m1 not deleted"));
  fixture_free(f);
  char *text = ledger_text(dir);
  /* "offset line version key": at the object's end. */
  ck_assert_msg(strstr(text, "\n10000 0 abc s3://b/big.csv\n"), "%s", text);
  free(text);
  remove_dir(dir);
  free(dir);
  free(object);
}
END_TEST

/* The object changed since the ledger's entry: 412 to If-Match, or (a
 * server that ignores If-Match) the first piece of another version. It
 * is read from its start, and the stale entry is replaced then removed. */
/* An object of the ledger that changed since: a server that answers 412
 * leaves it to the new version's own event; one that ignores If-Match
 * sends the new version, read from the start. */
START_TEST(a_changed_object_in_the_ledger_is_read_from_the_start) {
  for (int ignores = 0; ignores < 2; ignores++) {
    fixture_t *f = fixture_create();
    size_t len = 10000;
    char *object = pattern(len, 3);
    push_event(f, "m1", "rh1",
               json_pack("[o]", event_record("b", "big.csv", "abc")));
    test_sqs_push_empty(f->server, 40, 20);
    if (ignores)
      push_get(f, "/b/big.csv", 206,
               "ETag: \"def\"\r\nContent-Range: bytes 0-9999/10000\r\n",
               object, len, 0);
    else
      push_s3_error(f, "/b/big.csv", 412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did "
                    "not hold");
    push_get(f, "/b/big.csv", 200, "ETag: \"def\"\r\n", object, len, 0);
    char *dir = NULL;
    start_with_ledger(f, &dir);
    ck_assert_int_eq(pl_test_run(f->t, 60000), 0);
    assert_header(nth_get(f, "/b/big.csv", 0), "If-Match", "\"abc\"");
    if (ignores) {
      /* A server that ignored If-Match sent another version: it is read
       * from the start, as it is what this event finds. */
      ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 2);
      assert_header(nth_get(f, "/b/big.csv", 1), "Range", NULL);
      assert_header(nth_get(f, "/b/big.csv", 1), "If-Match", NULL);
      assert_bytes(f, "s3://b/big.csv", object, len);
      assert_object_stream(f, "s3://b/big.csv", "def");
      ck_assert_ptr_nonnull(strstr(pl_test_log(f->t),
                                   "s3://b/big.csv: not taken up at byte 3008 "
                                   "(it changed since): read from the start"));
    } else {
      /* 412: the version announced (the ledger's) is gone, and the one
       * that replaced it has an event of its own: reading it here too
       * would send its rows twice. */
      ck_assert_uint_eq(count_gets(f, "/b/big.csv"), 1);
      char *bytes = bytes_of(f, "s3://b/big.csv");
      ck_assert_str_eq(bytes, "");
      free(bytes);
      ck_assert_uint_eq(source_counter(f, "objects_replaced"), 1);
      ck_assert_ptr_nonnull(strstr(pl_test_log(f->t),
                                   "s3://b/big.csv was replaced since it was "
                                   "announced (etag abc)"));
    }
    ck_assert_uint_eq(source_counter(f, "objects_resumed"), 0);
    assert_ledger_emptied(f, dir);
    free(object);
  }
}
END_TEST

START_TEST(bad_options_are_refused) {
  static const struct {
    bool notifications;
    const char *settings;
    const char *message;
  } cases[] = {
      {false, "",
       "set 'notifications' (the URL of the queue of the bucket's "
       "S3 events) or 'bucket'"},
      {true, "wait_time = \"25s\"",
       "option 'wait_time' expects a duration of at most 20s, found \"25s\""},
      {true, "wait_time = \"1500ms\"",
       "wait_time must be a whole number of seconds from 0s to 20s"},
      {true, "max_messages = 11",
       "option 'max_messages' expects an integer from 1 to 10, found 11"},
      {true, "visibility_timeout = \"1500ms\"", "visibility_timeout must be"},
      {false, "bucket = \"b\"; interval = \"500ms\"",
       "source \"s3\": option 'interval' expects a duration of at least 1s, "
       "found \"500ms\"\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fixture_t *f = fixture_create();
    if (cases[i].notifications) {
      run_refused(f, notify_config(f, cases[i].settings, NULL, 1));
    } else {
      pl_buf_t text = {0};
      pl_buf_printf(&text, "endpoint = \"%s\"; %s", pl_test_http_url(f->server),
                    cases[i].settings);
      pl_test_set_options(f->t, text.data);
      pl_buf_free(&text);
      ck_assert_int_lt(pl_test_run(f->t, 60000), 0);
    }
    const char *errors = pl_test_errors(f->t);
    ck_assert_msg(strstr(pl_test_log(f->t), cases[i].message) ||
                      strstr(errors, cases[i].message),
                  "%s: log '%s', errors '%s'", cases[i].settings,
                  pl_test_log(f->t), errors);
    ck_assert_uint_eq(pl_test_http_request_count(f->server), 0);
    fixture_free(f);
  }
  /* notifications that is not a URL. */
  fixture_t *f = fixture_create();
  pl_buf_t text = {0};
  pl_buf_printf(&text, "notifications = \"my-queue\"; endpoint = \"%s\"",
                pl_test_http_url(f->server));
  pl_test_set_options(f->t, text.data);
  pl_buf_free(&text);
  ck_assert_int_lt(pl_test_run(f->t, 60000), 0);
  ck_assert_ptr_nonnull(strstr(
      pl_test_log(f->t), "notifications must be the URL of an SQS queue"));
  fixture_free(f);
}
END_TEST

/* ---- Compressed objects ---- */

/* `rows` CSV rows (with a header): a new string, its length in *len. */
static char *csv_rows(size_t rows, size_t *len) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_append_str(&buf, "product_id,location,quantity,update_date\n"), 0);
  for (size_t i = 1; i <= rows; i++)
    ck_assert_int_eq(pl_buf_printf(&buf,
                                   "P%07zu,Warehouse %zu,%zu,2024-01-%02zu\n",
                                   i, i % 97, i % 1000, i % 28 + 1),
                     0);
  *len = buf.len;
  return buf.data;
}

/* The chunks of `origin` are at most S3_READER_CHUNK bytes each. */
static void assert_chunk_sizes(fixture_t *f, const char *origin) {
  size_t i;
  json_t *chunk;
  json_array_foreach(chunks_of(f), i, chunk) {
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    json_t *bytes = json_object_get(chunk, "bytes");
    if (o && strcmp(o, origin) == 0 && bytes)
      ck_assert_uint_le(json_string_length(bytes), S3_READER_CHUNK);
  }
}

START_TEST(compressed_objects_are_streamed_decompressed) {
  fixture_t *f = fixture_create();
  /* 1,000,000 rows gzip'd, found by the key's suffix; 100,000 rows in
   * zstd, found by Content-Encoding, whose download breaks in the middle
   * and goes on with a Range request into the same stream. */
  size_t big_len, small_len, gz_len, zs_len;
  char *big = csv_rows(1000000, &big_len);
  char *small = csv_rows(100000, &small_len);
  unsigned char *gz = test_gzip(big, big_len, &gz_len);
  unsigned char *zs = test_zstd(small, small_len, &zs_len);
  push_event(f, "m1", "rh1",
             json_pack("[o, o]", event_record("b", "big.csv.gz", "e1"),
                       event_record("b", "small.csv", "e2")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/big.csv.gz", 200, "ETag: \"g\"\r\n", (const char *)gz, gz_len,
           0);
  size_t cut = zs_len / 2;
  push_get(f, "/b/small.csv", 200, "ETag: \"z\"\r\nContent-Encoding: zstd\r\n",
           (const char *)zs, zs_len, cut);
  char range[96];
  snprintf(range, sizeof(range),
           "ETag: \"z\"\r\nContent-Range: bytes %zu-%zu/%zu\r\n", cut,
           zs_len - 1, zs_len);
  push_get(f, "/b/small.csv", 206, range, (const char *)zs + cut, zs_len - cut,
           0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  assert_bytes(f, "s3://b/big.csv.gz", big, big_len);
  assert_bytes(f, "s3://b/small.csv", small, small_len);
  assert_object_stream(f, "s3://b/big.csv.gz", "g");
  assert_object_stream(f, "s3://b/small.csv", "z");
  assert_chunk_sizes(f, "s3://b/big.csv.gz");
  snprintf(range, sizeof(range), "bytes=%zu-", cut);
  assert_header(nth_get(f, "/b/small.csv", 1), "Range", range);
  ck_assert_uint_eq(source_counter(f, "range_resumes"), 1);
  ck_assert_uint_eq(source_counter(f, "bytes_read"), gz_len + zs_len);
  ck_assert_uint_eq(source_counter(f, "bytes_decompressed"),
                    big_len + small_len);
  assert_handles(f, SQS_DELETE, "rh1");
  free(big);
  free(small);
  free(gz);
  free(zs);
  fixture_free(f);
}
END_TEST

/* Every chunk of `origin` is whole UTF-8 text: a sink that writes a
 * chunk's bytes as a JSON string takes each. Returns how many there are. */
static size_t assert_chunks_are_text(fixture_t *f, const char *origin) {
  size_t i, count = 0;
  json_t *chunk;
  json_array_foreach(chunks_of(f), i, chunk) {
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    json_t *bytes = json_object_get(chunk, "bytes");
    if (!o || strcmp(o, origin) != 0 || !bytes)
      continue;
    ck_assert_msg(
        pl_utf8_valid(json_string_value(bytes), json_string_length(bytes)),
        "%s: chunk %zu (%zu bytes) cuts a character", origin, i,
        json_string_length(bytes));
    count++;
  }
  return count;
}

/* `count` times "a" (or a line end) and an accented letter: 3 bytes each;
 * a new string. */
static char *accented_text(size_t count, size_t *len) {
  pl_buf_t buf = {0};
  for (size_t i = 0; i < count; i++)
    ck_assert_int_eq(
        pl_buf_append_str(&buf, i % 40 == 39 ? "\n\xC3\xA9" : "a\xC3\xA9"), 0);
  *len = buf.len;
  return buf.data;
}

/* A download that breaks inside a character, and a decompressed chunk
 * that would end inside one: the bytes that begin it wait for the rest
 * (the object's pieces and the decoder's output are cut anywhere). */
START_TEST(chunks_of_utf8_text_never_cut_a_character) {
  fixture_t *f = fixture_create();
  size_t len, gz_len, cut = 3001; /* inside the 1001st accented letter */
  char *object = accented_text(100000, &len);
  unsigned char *gz = test_gzip(object, len, &gz_len);
  push_event(f, "m1", "rh1",
             json_pack("[o, o]", event_record("b", "plain.csv", "e1"),
                       event_record("b", "packed.csv.gz", "e2")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/plain.csv", 200, "ETag: \"p\"\r\n", object, len, cut);
  char range[96];
  snprintf(range, sizeof(range),
           "ETag: \"p\"\r\nContent-Range: bytes %zu-%zu/%zu\r\n", cut, len - 1,
           len);
  push_get(f, "/b/plain.csv", 206, range, object + cut, len - cut, 0);
  push_get(f, "/b/packed.csv.gz", 200, "ETag: \"g\"\r\n", (const char *)gz,
           gz_len, 0);
  run_config(f, notify_config(f, NULL, NULL, 1));
  assert_status(f, 0);
  assert_header(nth_get(f, "/b/plain.csv", 1), "Range", "bytes=3001-");
  assert_bytes(f, "s3://b/plain.csv", object, len);
  assert_bytes(f, "s3://b/packed.csv.gz", object, len);
  ck_assert_uint_ge(assert_chunks_are_text(f, "s3://b/plain.csv"), 3);
  /* 300,000 bytes in chunks of at most 64 KiB, and the last (empty). */
  ck_assert_uint_ge(assert_chunks_are_text(f, "s3://b/packed.csv.gz"), 6);
  assert_chunk_sizes(f, "s3://b/packed.csv.gz");
  assert_object_stream(f, "s3://b/plain.csv", "p");
  assert_object_stream(f, "s3://b/packed.csv.gz", "g");
  free(object);
  free(gz);
  fixture_free(f);
}
END_TEST

START_TEST(a_slow_sink_pauses_a_compressed_download_without_loss) {
  fixture_t *f = fixture_create();
  size_t len = 4 * 1024 * 1024, gz_len;
  char *object = pattern(len, 5);
  unsigned char *gz = test_gzip(object, len, &gz_len);
  push_event(f, "m1", "rh1",
             json_pack("[o]", event_record("b", "huge.csv.gz", "e")));
  test_sqs_push_empty(f->server, 200, 20);
  push_get(f, "/b/huge.csv.gz", 200, "ETag: \"h\"\r\n", (const char *)gz,
           gz_len, 0);
  /* A piece of the body expands to many chunks, given out one at a time
   * as room comes back. */
  run_behind_a_slow_sink(f);
  assert_bytes(f, "s3://b/huge.csv.gz", object, len);
  assert_object_stream(f, "s3://b/huge.csv.gz", "h");
  assert_handles(f, SQS_DELETE, "rh1");
  free(object);
  free(gz);
  fixture_free(f);
}
END_TEST

START_TEST(corrupt_truncated_and_oversized_objects_are_dead_lettered) {
  fixture_t *f = fixture_create();
  size_t len, gz_len, bomb_len;
  char *rows = csv_rows(20000, &len);
  unsigned char *gz = test_gzip(rows, len, &gz_len);
  char *zeros = calloc(1, 8 * 1024 * 1024);
  unsigned char *bomb = test_zstd(zeros, 8 * 1024 * 1024, &bomb_len);
  push_event(f, "m1", "rh1",
             json_pack("[o, o, o, o]", event_record("b", "cut.csv.gz", "e1"),
                       event_record("b", "bomb.zst", "e2"),
                       event_record("b", "junk.gz", "e3"),
                       event_record("b", "ok.csv", "e4")));
  test_sqs_push_empty(f->server, 40, 20);
  push_get(f, "/b/cut.csv.gz", 200, "ETag: \"c\"\r\n", (const char *)gz,
           gz_len / 2, 0);
  push_get(f, "/b/bomb.zst", 200, "ETag: \"b\"\r\n", (const char *)bomb,
           bomb_len, 0);
  push_get(f, "/b/junk.gz", 200, "ETag: \"j\"\r\n", "not gzip at all\n", 0, 0);
  push_get(f, "/b/ok.csv", 200, "ETag: \"o\"\r\n", "fine\n", 0, 0);
  run_config(f, notify_config(f, "max_decompressed_bytes = \"1MiB\"", NULL, 1));
  /* The message is done with (deleted), and --once says objects failed. */
  assert_status(f, 1);
  assert_handles(f, SQS_DELETE, "rh1");
  json_t *letters = dead_letters(f);
  ck_assert_uint_eq(json_array_size(letters), 3);
  char want[160];
  snprintf(want, sizeof(want),
           "gzip stream is truncated: the input ends at byte %zu, inside a "
           "member",
           gz_len / 2);
  const char *reasons[] = {
      want,
      "zstd stream decompresses to more than 1048576 bytes "
      "(max_decompressed_bytes), at byte ",
      "gzip stream is corrupt at byte 2 of the input: incorrect header check"};
  const char *keys[] = {"cut.csv.gz", "bomb.zst", "junk.gz"};
  for (size_t i = 0; i < 3; i++) {
    json_t *doc = json_array_get(letters, i);
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    ck_assert_msg(reason &&
                      strncmp(reason, reasons[i], strlen(reasons[i])) == 0,
                  "%s", reason);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(doc, "record"), "key")),
                     keys[i]);
    char line[256];
    snprintf(line, sizeof(line), "s3://b/%s: %s", keys[i], reasons[i]);
    ck_assert_msg(strstr(pl_test_log(f->t), line), "%s", pl_test_log(f->t));
  }
  /* The rows before the break were delivered, then a cut chunk. */
  char *got = bytes_of(f, "s3://b/cut.csv.gz");
  ck_assert_uint_gt(strlen(got), 0);
  ck_assert(strncmp(got, rows, strlen(got)) == 0);
  free(got);
  /* Of the bomb, no more than the limit (zeros, some of 1 MiB). */
  size_t i, bomb_out = 0;
  json_t *chunk;
  json_array_foreach(chunks_of(f), i, chunk) {
    const char *o = json_string_value(json_object_get(chunk, "origin"));
    if (o && strcmp(o, "s3://b/bomb.zst") == 0)
      bomb_out += json_string_length(json_object_get(chunk, "bytes"));
  }
  ck_assert_uint_le(bomb_out, 1024 * 1024);
  ck_assert_uint_gt(bomb_out, 0);
  got = bytes_of(f, "s3://b/ok.csv");
  ck_assert_str_eq(got, "fine\n");
  free(got);
  ck_assert_uint_eq(source_counter(f, "objects_rejected"), 3);
  ck_assert_uint_eq(source_counter(f, "objects_read"), 1);
  ck_assert_uint_eq(pl_test_instance(f->t)->metrics.rejected, 3);
  free(rows);
  free(gz);
  free(zeros);
  free(bomb);
  fixture_free(f);
}
END_TEST

/* ---- Reload with a request in flight ---- */

typedef struct reloader {
  fixture_t *f;
  char *text; /* the config to reload */
  int rc;
  uv_timer_t timer;
  uv_check_t check;
} reloader_t;

/* Reloads from a check handle, after the loop's idle phase, where the
 * libcurl transport delivers: a cancelled call's callback then comes in
 * the next turn, after the reaper's timer. */
static void reload_now(uv_check_t *check) {
  reloader_t *r = check->data;
  uv_check_stop(check);
  pl_instance_t *src = pl_test_instance(r->f->t);
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  ck_assert_int_eq(
      pl__cfg_parse("test.conf", r->text, strlen(r->text), NULL, &root, &error),
      0);
  pl_buf_t errors = {0};
  r->rc = pl__engine_reload(src->pipeline->engine, root, &errors);
  ck_assert_msg(r->rc == 0, "%s", errors.data);
  pl__cfg_destroy(root);
  pl_buf_free(&errors);
}

static void wake_for_check(uv_timer_t *timer) {
  (void)timer;
}

static void arm_reload(uv_timer_t *timer) {
  reloader_t *r = timer->data;
  uv_check_start(&r->check, reload_now);
  uv_timer_start(&r->timer, wake_for_check, 1, 0);
}

static void end_run(uv_timer_t *timer) {
  reloader_t *r = timer->data;
  pl_test_shutdown(r->f->t);
}

/* A reload retires a pipeline whose listing (cases 0, 1) or long poll
 * (cases 2, 3) is in flight, over libcurl (0, 2) or the builtin client (1,
 * 3). Its close cancels the request; the pipeline is freed only after the
 * cancelled request's callback ran (before, that callback read the freed
 * source: heap-use-after-free under ASan in on_page and on_receive). */
START_TEST(a_reload_waits_for_the_callbacks_of_cancelled_requests) {
  bool notify = _i >= 2;
  fixture_t *f = fixture_create();
  for (int i = 0; i < 2; i++)
    pl_test_http_push(f->server, &(pl_test_http_response_t){
                                     .method = notify ? "POST" : "GET",
                                     .path_prefix = notify ? "/" : "/b?",
                                     .hang = true});
  const char *from =
      notify ? "visibility_timeout = \"60s\"" : "prefix = \"in/\"";
  const char *to =
      notify ? "visibility_timeout = \"61s\"" : "prefix = \"in2/\"";
  char *globals =
      with_aws(notify ? notify_config(f, NULL, NULL, 1)
                      : list_config(f, "prefix = \"in/\""),
               _i % 2 ? "http_client = \"builtin\"" : "http_client = \"curl\"");
  pl_test_set_globals(f->t, globals);
  free(globals);
  pl_test_set_daemon(f->t, true);
  ck_assert_int_eq(pl_test_start(f->t), 0);
  const char *config = pl_test_config(f->t);
  const char *at = strstr(config, from);
  ck_assert_ptr_nonnull(at);
  pl_buf_t text = {0};
  pl_buf_append(&text, config, (size_t)(at - config));
  pl_buf_append_str(&text, to);
  pl_buf_append_str(&text, at + strlen(from));
  reloader_t r = {.f = f, .text = text.data, .rc = -1};
  uv_loop_t *loop = pl_test_loop(f->t);
  uv_check_init(loop, &r.check);
  r.check.data = &r;
  uv_timer_init(loop, &r.timer);
  r.timer.data = &r;
  uv_timer_start(&r.timer, arm_reload, 300, 0);
  uv_timer_t end;
  uv_timer_init(loop, &end);
  end.data = &r;
  uv_timer_start(&end, end_run, 5000, 0);
  pl_test_run(f->t, 10000);
  ck_assert_int_eq(r.rc, 0);
  ck_assert_ptr_nonnull(strstr(pl_test_log(f->t), "drained"));
  uv_close((uv_handle_t *)&r.check, NULL);
  uv_close((uv_handle_t *)&r.timer, NULL);
  uv_close((uv_handle_t *)&end, NULL);
  fixture_free(f);
  pl_buf_free(&text);
}
END_TEST

static Suite *source_s3_suite(void) {
  Suite *s = suite_create("source_s3");
  TCase *reload = tcase_create("reload");
  tcase_set_timeout(reload, 60);
  tcase_add_loop_test(
      reload, a_reload_waits_for_the_callbacks_of_cancelled_requests, 0, 4);
  suite_add_tcase(s, reload);
  TCase *notify = tcase_create("notifications");
  tcase_set_timeout(notify, 60);
  tcase_add_test(notify,
                 event_objects_stream_in_order_then_the_message_is_deleted);
  tcase_add_test(notify, encoded_keys_are_decoded_then_encoded_in_the_path);
  tcase_add_test(notify, eventbridge_events_are_read_with_their_keys_as_sent);
  tcase_add_test(
      notify, test_events_other_buckets_and_filtered_keys_are_deleted_unread);
  tcase_add_test(notify,
                 bodies_that_are_not_events_are_dead_lettered_then_deleted);
  tcase_add_test(notify, missing_and_forbidden_objects_are_dead_lettered);
  tcase_add_test(notify,
                 an_object_replaced_before_its_read_is_left_to_its_own_event);
  tcase_add_test(notify, an_object_that_keeps_failing_leaves_its_message);
  tcase_add_test(notify, empty_receives_do_not_clear_a_failing_download);
  tcase_add_test(notify, errors_other_than_gone_leave_the_message);
  tcase_add_test(notify, a_range_answer_of_another_version_restarts_the_object);
  tcase_add_test(notify, a_dropped_download_resumes_with_a_range_request);
  tcase_add_test(notify, an_object_in_the_ledger_is_taken_up_where_its_rows_end);
  tcase_add_test(
      notify,
      a_committed_object_stays_in_the_ledger_until_its_message_is_deleted);
  tcase_add_test(notify, a_changed_object_in_the_ledger_is_read_from_the_start);
  tcase_add_test(notify, a_stalled_download_resumes_with_a_range_request);
  tcase_add_test(notify,
                 a_download_that_keeps_stalling_fails_naming_the_object);
  tcase_add_test(notify, an_object_that_changed_is_cut_and_read_again);
  tcase_add_test(notify, a_slow_sink_pauses_the_download_without_loss);
  suite_add_tcase(s, notify);
  TCase *compressed = tcase_create("compressed");
  tcase_set_timeout(compressed, 60);
  tcase_add_test(compressed, compressed_objects_are_streamed_decompressed);
  tcase_add_test(compressed, chunks_of_utf8_text_never_cut_a_character);
  tcase_add_test(compressed,
                 a_slow_sink_pauses_a_compressed_download_without_loss);
  tcase_add_test(compressed,
                 corrupt_truncated_and_oversized_objects_are_dead_lettered);
  suite_add_tcase(s, compressed);
  TCase *list = tcase_create("list");
  tcase_set_timeout(list, 60);
  tcase_add_test(list, list_mode_pages_reads_and_remembers_across_runs);
  tcase_add_test(list, list_mode_errors_are_reported);
  tcase_add_test(list, a_listing_that_hangs_times_out);
  suite_add_tcase(s, list);
  TCase *options = tcase_create("options");
  tcase_set_timeout(options, 60);
  tcase_add_test(options, bad_options_are_refused);
  suite_add_tcase(s, options);
  return s;
}

int main(void) {
  return test_suite_run(source_s3_suite());
}
