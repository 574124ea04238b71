/* The SQS poller of the AWS layer (<pipelined/sqs.h>): its parts on their
 * own (the ReceiveMessage parser and request, the batch request bodies,
 * the message accessors, the option fragment and its checks; the parser's
 * promises are fuzzed by tests/fuzz/fuzz_sqs_receive.c), and the
 * public API driven by a minimal owner, a source plugin defined here that
 * uses nothing but <pipelined/sqs.h>, run in-process by the harness of
 * <pipelined/testing.h> against a scripted loopback SQS (test_sqs.h). The
 * poller's behaviour under a real plugin (heartbeat, backpressure, stop,
 * receive errors, failed deletes) is tested through source-sqs in
 * check_source_sqs.c and source-s3 in check_source_s3.c.
 *
 * Every SQS call is a POST to "/", so the server answers requests in the
 * order they arrive: the tests use one poller and "{}" where the order
 * could vary (an empty receive, and a batch in which every entry
 * worked). */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/sqs.h>
#include <pipelined/testing.h>

#include "sqs_acks.h"
#include "sqs_poller.h"
#include "sqs_receive.h"
#include "test_plugin.h"
#include "test_sqs.h"
#include "test_stages.h"
#include "test_suite.h"

static json_t *string_attr(const char *value) {
  return json_pack("{s:s, s:s}", "DataType", "String", "StringValue", value);
}

static json_t *number_attr(const char *value) {
  return json_pack("{s:s, s:s}", "DataType", "Number", "StringValue", value);
}

/* ---- The parser and the request bodies ---- */

START_TEST(a_response_parses_into_messages) {
  json_t *attrs = json_pack(
      "{s:o, s:o, s:o, s:o, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}}", "origin",
      string_attr("file:/in.csv"), "line", number_attr("42"), "ratio",
      number_attr("0.5"), "huge", number_attr("123456789012345678901234"),
      "blob", "DataType", "Binary", "BinaryValue", "AAEC", "uuid", "DataType",
      "String.uuid", "StringValue", "u-1", "broken", "DataType", "String");
  json_t *response =
      json_pack("{s:[o, {s:s, s:s, s:s}]}", "Messages",
                test_sqs_message("m1", "rh1", "{\"a\":1}", 3, attrs),
                "MessageId", "m2", "ReceiptHandle", "rh2", "Body", "plain");
  pl__sqs_receive_result_t got;
  ck_assert_int_eq(pl__sqs_receive_parse(response, &got), 0);
  ck_assert_uint_eq(got.count, 2);
  ck_assert_uint_eq(got.skipped, 0);
  pl_sqs_message_t *m = got.messages[0];
  /* What owners read, through the public accessors. */
  ck_assert_str_eq(pl_sqs_message_id(m), "m1");
  ck_assert_str_eq(m->receipt_handle, "rh1");
  size_t len = 0;
  ck_assert_str_eq(pl_sqs_message_body(m, &len), "{\"a\":1}");
  ck_assert_uint_eq(len, 7);
  ck_assert_ptr_eq(pl_sqs_message_body(m, NULL), m->body);
  ck_assert_int_eq(pl_sqs_message_receive_count(m), 3);
  ck_assert_int_eq(pl_sqs_message_sent_timestamp(m), 1700000000123);
  json_t *want =
      json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "origin", "file:/in.csv",
                "line", (json_int_t)42, "ratio", "0.5", "huge",
                "123456789012345678901234", "blob", "AAEC", "uuid", "u-1");
  const json_t *attributes = pl_sqs_message_attributes(m);
  ck_assert_msg(json_equal(attributes, want), "%s",
                json_dumps(attributes, JSON_COMPACT | JSON_SORT_KEYS));
  json_decref(want);
  /* Taken: the caller's now, the message has none, and its memory no
   * longer counts them (a record that holds them does). */
  size_t with = pl_sqs_message_memory(m);
  json_t *taken = pl_sqs_message_take_attributes(m);
  ck_assert_ptr_eq(taken, attributes);
  ck_assert_ptr_null(pl_sqs_message_attributes(m));
  ck_assert_ptr_null(pl_sqs_message_take_attributes(m));
  ck_assert_uint_lt(pl_sqs_message_memory(m), with);
  json_decref(taken);
  m = got.messages[1];
  ck_assert_str_eq(pl_sqs_message_id(m), "m2");
  ck_assert_str_eq(pl_sqs_message_body(m, &len), "plain");
  ck_assert_uint_eq(len, 5);
  ck_assert_int_eq(pl_sqs_message_receive_count(m), 0);
  ck_assert_int_eq(pl_sqs_message_sent_timestamp(m), 0);
  ck_assert_ptr_null(pl_sqs_message_attributes(m));
  pl__sqs_receive_result_free(&got);
  json_decref(response);
}
END_TEST

START_TEST(empty_and_malformed_responses) {
  const char *empty[] = {"{}", "{\"Messages\": []}", "{\"Messages\": null}"};
  for (size_t i = 0; i < 3; i++) {
    json_t *r = json_loads(empty[i], 0, NULL);
    pl__sqs_receive_result_t got;
    ck_assert_int_eq(pl__sqs_receive_parse(r, &got), 0);
    ck_assert_uint_eq(got.count, 0);
    pl__sqs_receive_result_free(&got);
    json_decref(r);
  }
  const char *bad[] = {"[]", "{\"Messages\": {}}", "\"x\""};
  for (size_t i = 0; i < 3; i++) {
    json_t *r = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    pl__sqs_receive_result_t got;
    ck_assert_int_eq(pl__sqs_receive_parse(r, &got), PL_EPARSE);
    ck_assert_uint_eq(got.count, 0);
    pl__sqs_receive_result_free(&got);
    json_decref(r);
  }
}
END_TEST

START_TEST(messages_without_id_or_handle_are_skipped) {
  json_t *r = json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "Messages",
                        "ReceiptHandle", "rh0", "Body", "x", "MessageId", "m1",
                        "Body", "x", "MessageId", "m2", "ReceiptHandle", "rh2");
  pl__sqs_receive_result_t got;
  ck_assert_int_eq(pl__sqs_receive_parse(r, &got), 0);
  ck_assert_uint_eq(got.count, 1);
  ck_assert_uint_eq(got.skipped, 2);
  ck_assert_str_eq(got.problem, "a message without a MessageId");
  ck_assert_str_eq(pl_sqs_message_id(got.messages[0]), "m2");
  size_t len = 1;
  /* No Body: empty. */
  ck_assert_str_eq(pl_sqs_message_body(got.messages[0], &len), "");
  ck_assert_uint_eq(len, 0);
  pl__sqs_receive_result_free(&got);
  json_decref(r);
}
END_TEST

/* Found by fuzz_sqs_receive: attributes none of which has a value leave
 * the message without attributes, not with an empty object. */
START_TEST(attributes_without_values_are_none) {
  json_t *r =
      json_pack("{s:[{s:s, s:s, s:{s:{s:s}, s:{s:s}}}]}", "Messages",
                "MessageId", "m1", "ReceiptHandle", "rh1", "MessageAttributes",
                "a", "DataType", "String", "b", "StringValue", "no type");
  pl__sqs_receive_result_t got;
  ck_assert_int_eq(pl__sqs_receive_parse(r, &got), 0);
  ck_assert_uint_eq(got.count, 1);
  ck_assert_ptr_null(pl_sqs_message_attributes(got.messages[0]));
  pl__sqs_receive_result_free(&got);
  json_decref(r);
}
END_TEST

START_TEST(the_receive_request_asks_for_everything_needed) {
  pl__sqs_receive_params_t p = {.queue_url = "https://q/1/x",
                                .max_messages = 7,
                                .wait_seconds = 20,
                                .visibility_seconds = 45};
  json_t *body = pl__sqs_receive_request(&p);
  json_t *want = json_pack(
      "{s:s, s:I, s:I, s:I, s:[s,s], s:[s,s], s:[s]}", "QueueUrl",
      "https://q/1/x", "MaxNumberOfMessages", (json_int_t)7, "WaitTimeSeconds",
      (json_int_t)20, "VisibilityTimeout", (json_int_t)45, "AttributeNames",
      "ApproximateReceiveCount", "SentTimestamp", "MessageSystemAttributeNames",
      "ApproximateReceiveCount", "SentTimestamp", "MessageAttributeNames",
      "All");
  ck_assert(json_equal(body, want));
  json_decref(want);
  json_decref(body);
}
END_TEST

/* The batch request's JSON text, parsed (a new reference). */
static json_t *acks_request(pl__sqs_ack_kind_t kind,
                            pl__sqs_ack_entry_t *const *entries, size_t n) {
  pl_buf_t text = {0};
  ck_assert_int_eq(pl__sqs_acks_request(kind, "https://q", entries, n, &text),
                   0);
  json_t *body = json_loadb(text.data, text.len, 0, NULL);
  ck_assert_ptr_nonnull(body);
  pl_buf_free(&text);
  return body;
}

START_TEST(batch_requests_number_their_entries) {
  pl__sqs_ack_entry_t a = {.receipt_handle = "rh-a", .visibility = 30};
  pl__sqs_ack_entry_t b = {.receipt_handle = "rh\"b", .visibility = 0};
  pl__sqs_ack_entry_t *entries[] = {&a, &b};
  json_t *del = acks_request(PL__SQS_ACK_DELETE, entries, 2);
  json_t *want = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "QueueUrl",
                           "https://q", "Entries", "Id", "0", "ReceiptHandle",
                           "rh-a", "Id", "1", "ReceiptHandle", "rh\"b");
  ck_assert(json_equal(del, want));
  json_decref(want);
  json_decref(del);
  json_t *vis = acks_request(PL__SQS_ACK_VISIBILITY, entries, 2);
  want = json_pack("{s:s, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}]}", "QueueUrl",
                   "https://q", "Entries", "Id", "0", "ReceiptHandle", "rh-a",
                   "VisibilityTimeout", 30, "Id", "1", "ReceiptHandle", "rh\"b",
                   "VisibilityTimeout", 0);
  ck_assert(json_equal(vis, want));
  json_decref(want);
  json_decref(vis);
}
END_TEST

/* Only the answer in which every entry succeeded, in order, is taken
 * without a parse. */
START_TEST(the_usual_batch_answer_is_recognized_whole) {
  const char *ok = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"}]}";
  const char *ok_failed =
      "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"}],\"Failed\":[]}";
  ck_assert(pl__sqs_acks_all_done(ok, strlen(ok), 2));
  ck_assert(pl__sqs_acks_all_done(ok_failed, strlen(ok_failed), 2));
  ck_assert(!pl__sqs_acks_all_done(ok, strlen(ok), 3));
  ck_assert(!pl__sqs_acks_all_done(ok, strlen(ok) - 1, 2));
  const char *failed =
      "{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"1\","
      "\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\"}]}";
  ck_assert(!pl__sqs_acks_all_done(failed, strlen(failed), 2));
  const char *spaced = "{\"Successful\": [{\"Id\":\"0\"}]}";
  ck_assert(!pl__sqs_acks_all_done(spaced, strlen(spaced), 1));
  ck_assert(!pl__sqs_acks_all_done("", 0, 0));
}
END_TEST

/* A partial batch goes when its oldest entry has waited the delay,
 * counted from that entry's arrival: entries that keep coming one at a
 * time fill their batches instead of being cut off by a window opened by
 * an earlier burst. */
START_TEST(a_partial_batch_waits_from_its_oldest_entry) {
  pl__sqs_ack_queue_t q = {0};
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 5000), UINT64_MAX);
  pl__sqs_ack_entry_t first = {.queued_ms = 1000};
  pl__sqs_ack_entry_t second = {.queued_ms = 1090};
  first.next = &second;
  q.head = &first;
  q.tail = &second;
  q.count = 2;
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1000), 100);
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1060), 40);
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1100), 0);
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1500), 0);
  /* The first went in a full batch: the second waits its own 100 ms from
   * 1090, not what was left of the first's. */
  q.head = &second;
  q.count = 1;
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1100), 90);
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 100, 1190), 0);
  ck_assert_uint_eq(pl__sqs_acks_wait_ms(&q, 0, 1090), 0);
}
END_TEST

/* ---- The option fragment and its checks ---- */

typedef struct owner_options {
  char *queue_url;
  char *endpoint;
  pl_sqs_poller_options_t poller;
  int64_t finish; /* 0: commit each message, 1: fail it, 2: release it */
} owner_options_t;

static const pl_option_t owner_option_table[] = {
    PL_OPTION_STRING(owner_options_t, queue_url, "queue_url", NULL,
                     PL_OPT_REQUIRED, "The queue."),
    PL_OPTION_STRING(owner_options_t, endpoint, "endpoint", NULL, 0,
                     "The scripted SQS."),
    PL_SQS_POLLER_OPTIONS(owner_options_t, poller, " Test scope."),
    PL_OPTION_INT(owner_options_t, finish, "finish", "0", 0,
                  "0: commit each message, 1: fail it, 2: release it."),
};

START_TEST(the_fragment_fills_the_embedded_struct) {
  ck_assert_uint_eq(sizeof(owner_option_table) / sizeof(owner_option_table[0]),
                    8);
  struct {
    const char *name;
    pl_opt_type_t type;
    const char *def;
    size_t offset;
  } want[] = {
      {"wait_time", PL_OPT_DURATION, "20s",
       offsetof(owner_options_t, poller.wait_time_ms)},
      {"max_messages", PL_OPT_INT, "10",
       offsetof(owner_options_t, poller.max_messages)},
      {"visibility_timeout", PL_OPT_DURATION, NULL,
       offsetof(owner_options_t, poller.visibility_timeout_ms)},
      {"retry_visibility", PL_OPT_DURATION, "0",
       offsetof(owner_options_t, poller.retry_visibility_ms)},
      {"idle_polls", PL_OPT_INT, "2",
       offsetof(owner_options_t, poller.idle_polls)},
  };
  for (size_t i = 0; i < 5; i++) {
    const pl_option_t *o = &owner_option_table[i + 2];
    ck_assert_str_eq(o->name, want[i].name);
    ck_assert_int_eq(o->type, want[i].type);
    if (want[i].def)
      ck_assert_str_eq(o->default_value, want[i].def);
    else /* unset: the queue's own */
      ck_assert_ptr_null(o->default_value);
    ck_assert_uint_eq(o->offset, want[i].offset);
    ck_assert_uint_eq(o->flags, 0);
    const char *d = o->description;
    size_t n = strlen(d), scope = strlen(" Test scope.");
    ck_assert_msg(n > scope && strcmp(d + n - scope, " Test scope.") == 0, "%s",
                  d);
  }
}
END_TEST

/* Checks `opts` against the source of an idle engine; returns the code
 * and, in `log`, what was logged (a new string). */
static int check_with(const pl_sqs_poller_options_t *opts, const char *url,
                      pl_sqs_poller_params_t *out, char **log) {
  test_run_t *run = test_run_idle(NULL);
  pl_instance_t *inst = test_stage(run, "p", PL_ROLE_SOURCE);
  int rc = pl_sqs_poller_options_check(inst, "the_queue", url, opts, out);
  fflush(run->log);
  *log = strdup(test_log(run));
  ck_assert_int_eq(test_run_stop(run), 0);
  return rc;
}

START_TEST(options_become_params_or_are_refused) {
  pl_sqs_poller_options_t good = {.wait_time_ms = 5000,
                                  .max_messages = 3,
                                  .visibility_timeout_ms = 30000,
                                  .retry_visibility_ms = 2000,
                                  .idle_polls = 4};
  pl_sqs_poller_params_t params;
  char *log = NULL;
  ck_assert_int_eq(check_with(&good, "http://127.0.0.1:1/1/q", &params, &log),
                   0);
  free(log);
  ck_assert_str_eq(params.queue_url, "http://127.0.0.1:1/1/q");
  ck_assert_int_eq(params.pollers, 1);
  ck_assert_int_eq(params.max_messages, 3);
  ck_assert_uint_eq(params.wait_time_ms, 5000);
  ck_assert_uint_eq(params.visibility_timeout_ms, 30000);
  ck_assert_uint_eq(params.retry_visibility_ms, 2000);
  ck_assert_int_eq(params.idle_polls, 4);
  /* Not set (0): the queue's own, asked at start. */
  pl_sqs_poller_options_t unset = good;
  unset.visibility_timeout_ms = 0;
  ck_assert_int_eq(check_with(&unset, "https://q", &params, &log), 0);
  free(log);
  ck_assert_uint_eq(params.visibility_timeout_ms, 0);

  struct {
    const char *url;
    pl_sqs_poller_options_t opts;
    const char *says;
  } bad[] = {
      {"sqs.example/q", good, "the_queue must be the URL of an SQS queue"},
      {NULL, good, "the_queue must be the URL of an SQS queue"},
      {"https://q", {21000, 3, 30000, 0, 1}, "wait_time must be a whole"},
      {"https://q", {1500, 3, 30000, 0, 1}, "wait_time must be a whole"},
      {"https://q", {0, 0, 30000, 0, 1}, "max_messages must be from 1 to 10"},
      {"https://q", {0, 11, 30000, 0, 1}, "max_messages must be from 1 to 10"},
      {"https://q", {0, 1, 1500, 0, 1}, "visibility_timeout must be"},
      {"https://q",
       {0, 1, 13ull * 3600 * 1000, 0, 1},
       "visibility_timeout must be"},
      {"https://q", {0, 1, 1000, 500, 1}, "retry_visibility must be"},
      {"https://q",
       {0, 1, 1000, 13ull * 3600 * 1000, 1},
       "retry_visibility must be"},
      {"https://q", {0, 1, 1000, 0, 0}, "idle_polls must be at least 1"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    params = (pl_sqs_poller_params_t){.pollers = 99};
    int rc = check_with(&bad[i].opts, bad[i].url, &params, &log);
    ck_assert_msg(rc == PL_EINVAL, "case %zu: rc %d", i, rc);
    ck_assert_msg(strstr(log, bad[i].says), "case %zu: %s", i, log);
    ck_assert_int_eq(params.pollers, 99); /* untouched */
    free(log);
  }
}
END_TEST

START_TEST(create_refuses_missing_arguments) {
  test_run_t *run = test_run_idle(NULL);
  pl_instance_t *inst = test_stage(run, "p", PL_ROLE_SOURCE);
  pl_sqs_poller_params_t params = {.queue_url = "https://q",
                                   .pollers = 1,
                                   .max_messages = 1,
                                   .visibility_timeout_ms = 1000,
                                   .idle_polls = 1};
  pl_sqs_poller_events_t events = {.data = NULL};
  pl_sqs_poller_t *p = (pl_sqs_poller_t *)&params;
  ck_assert_int_eq(pl_sqs_poller_create(inst, &params, &events, &p), PL_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(pl_sqs_poller_create(NULL, &params, &events, &p), PL_EINVAL);
  ck_assert_int_eq(pl_sqs_poller_create(inst, &params, &events, NULL),
                   PL_EINVAL);
  pl_sqs_poller_destroy(NULL);
  ck_assert_int_eq(test_run_stop(run), 0);
}
END_TEST

/* ---- A minimal owner, through the engine ---- */

typedef struct owner {
  pl_instance_t *inst;
  const owner_options_t *opts;
  pl_aws_client_t *client;
  pl_sqs_poller_t *poller;
  json_t *seen; /* [{id, body, receive_count, sent, attributes, in_flight}] */
  size_t in_flight_at_end;
} owner_t;

static bool owner_room(void *data) {
  (void)data;
  return true;
}

static void owner_message(void *data, pl_sqs_message_t *msg) {
  owner_t *o = data;
  size_t len = 0;
  const char *body = pl_sqs_message_body(msg, &len);
  const json_t *attrs = pl_sqs_message_attributes(msg);
  json_array_append_new(
      o->seen,
      json_pack("{s:s, s:s%, s:I, s:I, s:O?, s:I}", "id",
                pl_sqs_message_id(msg), "body", body, len, "receive_count",
                (json_int_t)pl_sqs_message_receive_count(msg), "sent",
                (json_int_t)pl_sqs_message_sent_timestamp(msg), "attributes",
                attrs, "in_flight",
                (json_int_t)pl_sqs_poller_in_flight(o->poller)));
  if (o->opts->finish == 2)
    pl_sqs_poller_release(o->poller, msg);
  else
    pl_sqs_poller_finish(o->poller, msg, o->opts->finish == 0);
}

static void owner_destroy(void *ctx) {
  owner_t *o = ctx;
  pl_sqs_poller_destroy(o->poller);
  json_decref(o->seen);
  free(o);
}

static int owner_init(pl_instance_t *inst, const void *options, void **ctx) {
  const owner_options_t *opts = options;
  pl_sqs_poller_params_t params;
  int rc = pl_sqs_poller_options_check(inst, "queue_url", opts->queue_url,
                                       &opts->poller, &params);
  if (rc < 0)
    return rc;
  owner_t *o = calloc(1, sizeof(*o));
  ck_assert_ptr_nonnull(o);
  o->inst = inst;
  o->opts = opts;
  o->seen = json_array();
  pl_sqs_poller_events_t events = {
      .data = o, .message = owner_message, .room = owner_room};
  rc = pl_sqs_poller_create(inst, &params, &events, &o->poller);
  if (rc < 0) {
    owner_destroy(o);
    return rc;
  }
  *ctx = o;
  return 0;
}

static int owner_start(pl_instance_t *inst, void *ctx) {
  owner_t *o = ctx;
  pl_aws_client_options_t copts = {
      .service = "sqs", .endpoint = o->opts->endpoint, .max_in_flight = 9};
  int rc = pl_aws_client_create(inst, &copts, &o->client);
  if (rc == 0)
    pl_sqs_poller_start(o->poller, o->client);
  return rc;
}

static void owner_stop(pl_instance_t *inst, void *ctx) {
  (void)inst;
  owner_t *o = ctx;
  pl_sqs_poller_stop(o->poller);
}

static void owner_close(pl_instance_t *inst, void *ctx) {
  (void)inst;
  owner_t *o = ctx;
  o->in_flight_at_end = pl_sqs_poller_in_flight(o->poller);
  pl_sqs_poller_close(o->poller);
  pl_aws_client_destroy(o->client);
  o->client = NULL;
}

static const pl_plugin_t test_source_owner = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "owner",
    .kind = PL_KIND_SOURCE,
    .description = "Test source: an SQS poller's minimal owner.",
    .options = owner_option_table,
    .options_count = sizeof(owner_option_table) / sizeof(owner_option_table[0]),
    .options_size = sizeof(owner_options_t),
    .extensions = PL_AWS_EXTENSIONS,
    .init = owner_init,
    .start = owner_start,
    .stop = owner_stop,
    .close = owner_close,
    .destroy = owner_destroy,
};

/* The owner under the harness of <pipelined/testing.h>, its AWS client
 * talking to a scripted SQS on the harness's loop. */
typedef struct owner_run {
  pl_test_t *t;
  pl_test_http_t *server;
} owner_run_t;

static owner_run_t *owner_aws(void) {
  owner_run_t *aws = calloc(1, sizeof(*aws));
  ck_assert_int_eq(pl_test_create(&test_source_owner, &aws->t), 0);
  aws->server = pl_test_aws_server(aws->t);
  ck_assert_ptr_nonnull(aws->server);
  pl_test_set_globals(aws->t, "aws { max_attempts = 1 }");
  return aws;
}

/* Closes the harness and its server; fails the test when a handle was
 * left open. */
static void owner_free(owner_run_t *aws) {
  ck_assert_int_eq(pl_test_destroy(aws->t), 0);
  free(aws);
}

/* The owner with --once against the scripted SQS of `aws` (its answers
 * queued already; `source`: more of the owner's settings), run to its end.
 * Returns the owner, whose context lives until owner_free(). The queue URL
 * is `queue_url` (room for 96 bytes). */
static owner_t *owner_go(owner_run_t *aws, const char *source,
                         char *queue_url) {
  snprintf(queue_url, 96, "%s/123456789012/q", pl_test_http_url(aws->server));
  pl_buf_t options = {0};
  pl_buf_printf(&options, "queue_url = \"%s\"\n%s", queue_url,
                source ? source : "");
  pl_test_set_options(aws->t, options.data);
  pl_buf_free(&options);
  test_plugin_run(aws->t, 30000);
  return pl_instance_context(pl_test_instance(aws->t));
}

/* How many times `text` is in `log` (each message is one line). */
static size_t log_lines_with(const char *log, const char *text) {
  size_t n = 0;
  for (const char *at = log; (at = strstr(at, text)); at += strlen(text))
    n++;
  return n;
}

START_TEST(committed_messages_are_handed_over_then_deleted) {
  owner_run_t *aws = owner_aws();
  char url[96];
  json_t *attrs = json_pack("{s:o, s:o}", "origin", string_attr("o-1"), "line",
                            number_attr("7"));
  test_sqs_push_messages(
      aws->server,
      json_pack("[o, o]", test_sqs_message("m1", "rh1", "one", 2, attrs),
                test_sqs_message("m2", "rh2", "two", 1, NULL)),
      0);
  test_sqs_push_empty(aws->server, 20, 10);
  owner_t *o = owner_go(
      aws,
      "wait_time = \"1s\"\n max_messages = 7\n visibility_timeout = \"45s\"",
      url);
  test_plugin_assert_clean(aws->t);
  json_t *want = json_pack(
      "[{s:s, s:s, s:i, s:I, s:{s:s, s:i}, s:i},"
      " {s:s, s:s, s:i, s:I, s:n, s:i}]",
      "id", "m1", "body", "one", "receive_count", 2, "sent",
      (json_int_t)1700000000123, "attributes", "origin", "o-1", "line", 7,
      "in_flight", 1, "id", "m2", "body", "two", "receive_count", 1, "sent",
      (json_int_t)1700000000123, "attributes", "in_flight", 1);
  /* s:O? packs a NULL as null. */
  ck_assert_msg(json_equal(o->seen, want), "%s",
                json_dumps(o->seen, JSON_COMPACT));
  json_decref(want);
  ck_assert_uint_eq(o->in_flight_at_end, 0);
  json_t *receive = test_sqs_call_body(aws->server, SQS_RECEIVE, 0);
  ck_assert_int_eq(
      json_integer_value(json_object_get(receive, "MaxNumberOfMessages")), 7);
  ck_assert_int_eq(
      json_integer_value(json_object_get(receive, "WaitTimeSeconds")), 1);
  ck_assert_int_eq(
      json_integer_value(json_object_get(receive, "VisibilityTimeout")), 45);
  json_decref(receive);
  test_sqs_assert_handles(aws->server, SQS_DELETE, url, "rh1 rh2",
                          pl_test_log(aws->t));
  ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_VISIBILITY), 0);
  /* The option set: the queue is not asked. */
  ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_ATTRIBUTES), 0);
  ck_assert_ptr_nonnull(
      strstr(pl_test_log(aws->t),
             "visibility timeout: 45 s, from the visibility_timeout option"));
  /* --once: two empty receives in a row (idle_polls) drained the queue. */
  ck_assert_ptr_nonnull(strstr(pl_test_log(aws->t), "queue drained"));
  owner_free(aws);
}
END_TEST

START_TEST(failed_messages_stay_and_released_ones_come_back_at_once) {
  /* finish 1: failed, visible again after retry_visibility; finish 2:
   * released, visible again at once. */
  const char *settings[] = {
      "finish = 1\n retry_visibility = \"5s\"\n visibility_timeout = \"9s\"",
      "finish = 1\n visibility_timeout = \"9s\"",
      "finish = 2\n visibility_timeout = \"9s\""};
  const char *visibility[] = {"rh1@5", "", "rh1@0"};
  for (size_t i = 0; i < 3; i++) {
    owner_run_t *aws = owner_aws();
    char url[96];
    /* Case 1: three failed messages, and one line saying they stay. */
    size_t n = i == 1 ? 3 : 1;
    json_t *messages = json_array();
    for (size_t m = 0; m < n; m++) {
      char id[8], handle[8];
      snprintf(id, sizeof(id), "m%zu", m + 1);
      snprintf(handle, sizeof(handle), "rh%zu", m + 1);
      json_array_append_new(messages,
                            test_sqs_message(id, handle, "x", 1, NULL));
    }
    test_sqs_push_messages(aws->server, messages, 0);
    test_sqs_push_empty(aws->server, 20, 10);
    owner_t *o = owner_go(aws, settings[i], url);
    test_plugin_assert_clean(aws->t);
    ck_assert_uint_eq(json_array_size(o->seen), n);
    if (i < 2)
      ck_assert_uint_eq(
          log_lines_with(pl_test_log(aws->t), "a message was not delivered"),
          1);
    ck_assert_uint_eq(o->in_flight_at_end, 0);
    ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_DELETE), 0);
    if (*visibility[i])
      test_sqs_assert_handles(aws->server, SQS_VISIBILITY, url, visibility[i],
                              pl_test_log(aws->t));
    else
      ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_VISIBILITY), 0);
    owner_free(aws);
  }
}
END_TEST

/* The VisibilityTimeout of the first receive. */
static json_int_t receive_visibility(owner_run_t *aws) {
  json_t *receive = test_sqs_call_body(aws->server, SQS_RECEIVE, 0);
  json_int_t v =
      json_integer_value(json_object_get(receive, "VisibilityTimeout"));
  json_decref(receive);
  return v;
}

START_TEST(unset_the_queue_s_own_visibility_timeout_is_used) {
  owner_run_t *aws = owner_aws();
  char url[96];
  pl_test_http_push(
      aws->server,
      &(pl_test_http_response_t){
          .method = "POST",
          .status = 200,
          .body = "{\"Attributes\":{\"VisibilityTimeout\":\"45\"}}"});
  test_sqs_push_messages(
      aws->server,
      json_pack("[o]", test_sqs_message("m1", "rh1", "one", 1, NULL)), 0);
  test_sqs_push_empty(aws->server, 20, 10);
  owner_t *o = owner_go(aws, "wait_time = \"1s\"", url);
  test_plugin_assert_clean(aws->t);
  ck_assert_uint_eq(json_array_size(o->seen), 1);
  /* Asked once, first, for that attribute of that queue. */
  ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_ATTRIBUTES), 1);
  json_t *ask = test_sqs_call_body(aws->server, SQS_ATTRIBUTES, 0);
  json_t *want = json_pack("{s:s, s:[s]}", "QueueUrl", url, "AttributeNames",
                           "VisibilityTimeout");
  ck_assert_msg(json_equal(ask, want), "%s", json_dumps(ask, JSON_COMPACT));
  json_decref(want);
  json_decref(ask);
  /* Every receive asks for it, and the heartbeat extends by it. */
  for (size_t i = 0; i < test_sqs_count_calls(aws->server, SQS_RECEIVE); i++) {
    json_t *receive = test_sqs_call_body(aws->server, SQS_RECEIVE, i);
    ck_assert_int_eq(
        json_integer_value(json_object_get(receive, "VisibilityTimeout")), 45);
    json_decref(receive);
  }
  ck_assert_uint_eq(o->poller->params.visibility_timeout_ms, 45000);
  ck_assert_uint_eq(o->poller->heartbeat.interval_ms, 22500);
  ck_assert_uint_eq(log_lines_with(pl_test_log(aws->t),
                                   "visibility timeout: 45 s, the queue's own "
                                   "(GetQueueAttributes)"),
                    1);
  test_sqs_assert_handles(aws->server, SQS_DELETE, url, "rh1",
                          pl_test_log(aws->t));
  owner_free(aws);
}
END_TEST

START_TEST(an_unreadable_visibility_timeout_falls_back_to_30s_once) {
  struct {
    int status;
    const char *body;
    const char *says;
  } cases[] = {
      {400,
       "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":"
       "\"The specified queue does not exist.\"}",
       "QueueDoesNotExist"},
      {200, "{}", "has no VisibilityTimeout"},
      {200, "{\"Attributes\":{\"VisibilityTimeout\":\"soon\"}}",
       "has no VisibilityTimeout"},
      {200, "{\"Attributes\":{\"VisibilityTimeout\":\"0\"}}", "it is 0 s"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    owner_run_t *aws = owner_aws();
    char url[96];
    pl_test_http_push(aws->server,
                      &(pl_test_http_response_t){.method = "POST",
                                                 .status = cases[i].status,
                                                 .body = cases[i].body});
    test_sqs_push_messages(
        aws->server,
        json_pack("[o]", test_sqs_message("m1", "rh1", "one", 1, NULL)), 0);
    test_sqs_push_empty(aws->server, 20, 10);
    owner_t *o = owner_go(aws, "wait_time = \"1s\"", url);
    const char *log = pl_test_log(aws->t);
    ck_assert_uint_eq(json_array_size(o->seen), 1);
    ck_assert_uint_eq(test_sqs_count_calls(aws->server, SQS_ATTRIBUTES), 1);
    ck_assert_int_eq(receive_visibility(aws), 30);
    ck_assert_uint_eq(o->poller->heartbeat.interval_ms, 15000);
    /* Said once, with why and what is used instead. */
    ck_assert_msg(log_lines_with(log, "cannot use the queue's own visibility "
                                      "timeout") == 1,
                  "case %zu: %s", i, log);
    ck_assert_msg(strstr(log, cases[i].says), "case %zu: %s", i, log);
    ck_assert_msg(strstr(log, "using 30 s: set visibility_timeout, or allow "
                              "sqs:GetQueueAttributes"),
                  "case %zu: %s", i, log);
    ck_assert_uint_eq(log_lines_with(log, "visibility timeout: "), 0);
    test_sqs_assert_handles(aws->server, SQS_DELETE, url, "rh1", log);
    owner_free(aws);
  }
}
END_TEST

static Suite *sqs_poller_suite(void) {
  Suite *s = suite_create("sqs_poller");
  TCase *parts = tcase_create("parts");
  tcase_add_test(parts, a_response_parses_into_messages);
  tcase_add_test(parts, empty_and_malformed_responses);
  tcase_add_test(parts, messages_without_id_or_handle_are_skipped);
  tcase_add_test(parts, attributes_without_values_are_none);
  tcase_add_test(parts, the_receive_request_asks_for_everything_needed);
  tcase_add_test(parts, batch_requests_number_their_entries);
  tcase_add_test(parts, the_usual_batch_answer_is_recognized_whole);
  tcase_add_test(parts, a_partial_batch_waits_from_its_oldest_entry);
  tcase_add_test(parts, the_fragment_fills_the_embedded_struct);
  tcase_add_test(parts, options_become_params_or_are_refused);
  tcase_add_test(parts, create_refuses_missing_arguments);
  suite_add_tcase(s, parts);
  TCase *engine = tcase_create("engine");
  tcase_set_timeout(engine, 30);
  tcase_add_test(engine, committed_messages_are_handed_over_then_deleted);
  tcase_add_test(engine,
                 failed_messages_stay_and_released_ones_come_back_at_once);
  tcase_add_test(engine, unset_the_queue_s_own_visibility_timeout_is_used);
  tcase_add_test(engine,
                 an_unreadable_visibility_timeout_falls_back_to_30s_once);
  suite_add_tcase(s, engine);
  return s;
}

int main(void) {
  return test_suite_run(sqs_poller_suite());
}
