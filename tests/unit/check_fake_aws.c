/* Check suite for bench/tools/fake_aws_http.c, fake_aws_answers.c and
 * fake_aws_stats.c, the fake AWS of bench/far-away: its HTTP parsing, its
 * reader of JSON bodies (fake_aws_json.c), its heap of held answers
 * (fake_aws_held.c), and that
 * its answers are what pipelined's own parsers accept (a ReceiveMessage
 * answer read by pl__sqs_receive_parse, a listing by pl_s3_list_parse,
 * throttling errors read and classified as throttling by the AWS layer). */
#include <pipelined/aws.h>
#include <pipelined/s3.h>

#include "aws_error.h"
#include "fake_aws_answers.h"
#include "fake_aws_held.h"
#include "fake_aws_http.h"
#include "fake_aws_json.h"
#include "fake_aws_stats.h"
#include "retry.h"
#include "sqs_receive.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* ---- HTTP ---- */

START_TEST(parses_a_request_with_its_body) {
  const char *text = "POST /q?a=1&throttle=0.5 HTTP/1.1\r\nHost: x\r\n"
                     "X-Amz-Target: AmazonSQS.SendMessageBatch\r\n"
                     "content-length: 4\r\n\r\n{}{}GET / HTTP/1.1\r\n";
  fake_aws_http_request_t req;
  ck_assert_int_eq(fake_aws_http_parse(text, strlen(text), &req), FAKE_AWS_HTTP_DONE);
  ck_assert(fake_text_is(req.method, "POST"));
  ck_assert(fake_text_is(req.path, "/q"));
  ck_assert(fake_text_is(req.query, "a=1&throttle=0.5"));
  ck_assert(fake_text_is(req.target, "AmazonSQS.SendMessageBatch"));
  ck_assert(fake_text_is(req.body, "{}{}"));
  ck_assert(req.keep_alive);
  /* The next request starts right after this one's body. */
  ck_assert_str_eq(text + req.size, "GET / HTTP/1.1\r\n");
  fake_text_t v;
  ck_assert(fake_aws_http_query(req.query, "throttle", &v));
  ck_assert(fake_text_is(v, "0.5"));
  ck_assert(!fake_aws_http_query(req.query, "thr", &v));
}
END_TEST

START_TEST(waits_for_the_whole_request) {
  const char *text = "POST / HTTP/1.1\r\nContent-Length: 10\r\n"
                     "Expect: 100-continue\r\n\r\n12345";
  fake_aws_http_request_t req;
  /* Headers cut short: not even they are done. */
  ck_assert_int_eq(fake_aws_http_parse(text, 20, &req), FAKE_AWS_HTTP_MORE);
  ck_assert(!req.headers_done);
  /* Headers whole, body short: the server may say 100 Continue. */
  ck_assert_int_eq(fake_aws_http_parse(text, strlen(text), &req), FAKE_AWS_HTTP_MORE);
  ck_assert(req.headers_done);
  ck_assert(req.expect_continue);
}
END_TEST

START_TEST(refuses_what_it_cannot_read) {
  const char *bad[] = {
      "NONSENSE\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
      "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
  };
  fake_aws_http_request_t req;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(fake_aws_http_parse(bad[i], strlen(bad[i]), &req) ==
                      FAKE_AWS_HTTP_BAD,
                  "%s", bad[i]);
}
END_TEST

START_TEST(connection_close_and_http10_end_the_connection) {
  const char *close = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  const char *old = "GET / HTTP/1.0\r\n\r\n";
  fake_aws_http_request_t req;
  ck_assert_int_eq(fake_aws_http_parse(close, strlen(close), &req), FAKE_AWS_HTTP_DONE);
  ck_assert(!req.keep_alive);
  ck_assert_int_eq(fake_aws_http_parse(old, strlen(old), &req), FAKE_AWS_HTTP_DONE);
  ck_assert(!req.keep_alive);
}
END_TEST

/* ---- Answers ---- */

static fake_aws_http_request_t json_request(const char *target, const char *body) {
  return (fake_aws_http_request_t){.method = {"POST", 4},
                               .path = {"/", 1},
                               .query = {"", 0},
                               .target = {target, strlen(target)},
                               .body = {body, strlen(body)},
                               .keep_alive = true};
}

static json_t *answer_json(fake_state_t *st, const char *target,
                           const char *body, fake_answer_t *a) {
  fake_aws_http_request_t req = json_request(target, body);
  ck_assert(fake_answer(st, &req, 5, a));
  json_error_t error;
  json_t *root = json_loadb(a->body.data, a->body.len, 0, &error);
  ck_assert_msg(root != NULL, "%s: %s", a->body.data, error.text);
  return root;
}

/* ---- JSON bodies ---- */

static fake_text_t text_of(const char *s) { return (fake_text_t){s, strlen(s)}; }

START_TEST(json_bodies_are_checked_whole) {
  static const char *const good[] = {
      "{}", " [ ] ", "{\"a\":[1,-2.5e+3,0,true,false,null,{\"b\":\"\\\"\\u00e9\"}]}",
      "\"x\"", "0", "{\"Body\":\"{\\\"k\\\":\\\"v\\\"}\"}"};
  static const char *const bad[] = {
      "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1 2]", "[01]", "[1.]",
      "\"\\x\"", "\"\\u12g4\"", "\"tab\there\"", "{} {}", "tru", "{a:1}",
      "\"open"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ck_assert_msg(fake_json_valid(text_of(good[i])), "%s", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(!fake_json_valid(text_of(bad[i])), "%s", bad[i]);
  /* Nesting deeper than the reader's bound is refused, not recursed. */
  char deep[200];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  ck_assert(!fake_json_valid((fake_text_t){deep, sizeof(deep)}));
  ck_assert(fake_json_valid((fake_text_t){deep + 40, 120}));
}
END_TEST

START_TEST(json_members_are_found_in_place) {
  fake_text_t body = text_of(
      "{ \"QueueUrl\" : \"q\", \"Entries\": [{\"MessageBody\":\"{\\\"Id\\\":9}\","
      "\"Id\":\"a\\\"b\"}, {\"Id\":\"2\"} ], \"Max\": 10, \"Neg\": -3,"
      " \"Big\": 1234567890123456789, \"Real\": 1.5 }");
  fake_text_t v, s, key;
  ck_assert(fake_json_member(body, "QueueUrl", &v));
  ck_assert(fake_text_is(v, "\"q\""));
  ck_assert(fake_json_string(v, &s) && fake_text_is(s, "q"));
  ck_assert(!fake_json_member(body, "Queue", &v));
  ck_assert(fake_json_member(body, "Entries", &v));
  ck_assert_uint_eq(fake_json_count(v), 2);
  fake_json_iter_t it = fake_json_iter(v);
  fake_text_t entry;
  ck_assert(fake_json_next(&it, NULL, &entry));
  /* The "Id" inside the message's body is text, not a member. */
  ck_assert(fake_json_member(entry, "Id", &v) && fake_json_string(v, &s));
  ck_assert(fake_text_is(s, "a\\\"b"));
  ck_assert(fake_json_next(&it, NULL, &entry));
  ck_assert(!fake_json_next(&it, NULL, &entry));
  ck_assert(!fake_json_next(&it, NULL, &entry));
  long long n = 0;
  ck_assert(fake_json_member(body, "Max", &v) && fake_json_int(v, &n));
  ck_assert_int_eq(n, 10);
  ck_assert(fake_json_member(body, "Neg", &v) && fake_json_int(v, &n));
  ck_assert_int_eq(n, -3);
  ck_assert(fake_json_member(body, "Big", &v) && !fake_json_int(v, &n));
  ck_assert(fake_json_member(body, "Real", &v) && !fake_json_int(v, &n));
  ck_assert(!fake_json_string(v, &s));
  /* An object's members walk with their keys; anything else is empty. */
  it = fake_json_iter(body);
  ck_assert(fake_json_next(&it, &key, &v) && fake_text_is(key, "QueueUrl"));
  ck_assert_uint_eq(fake_json_count(body), 6);
  ck_assert_uint_eq(fake_json_count(text_of("\"[1,2]\"")), 0);
  ck_assert_uint_eq(fake_json_count(text_of("[]")), 0);
  ck_assert(!fake_json_member(text_of("[{\"a\":1}]"), "a", &v));
  /* Of a key written twice, the first. */
  ck_assert(fake_json_member(text_of("{\"a\":1,\"a\":2}"), "a", &v));
  ck_assert(fake_text_is(v, "1"));
  /* A walk stops at a fault: what came before it was read, nothing after. */
  ck_assert_uint_eq(fake_json_count(text_of("[1 2]")), 1);
  ck_assert_uint_eq(fake_json_count(text_of("[1,2")), 2);
  ck_assert_uint_eq(fake_json_count(text_of("[1,}")), 1);
  ck_assert(!fake_json_member(text_of("{\"a\":1 \"b\":2}"), "b", &v));
}
END_TEST

START_TEST(a_body_that_is_not_json_is_refused) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  fake_answer_t a;
  json_t *root = answer_json(&st, "AmazonSQS.SendMessageBatch",
                             "{\"Entries\":[{\"Id\":\"0\"}", &a);
  ck_assert_int_eq(a.status, 400);
  ck_assert_str_eq(json_string_value(json_object_get(root, "__type")),
                   "com.amazon.coral.service#SerializationException");
  ck_assert_int_eq(st.entries[FAKE_OP_SEND_MESSAGE_BATCH], 0);
  json_decref(root);
  fake_answer_free(&a);
  /* No body at all reads as an empty request. */
  root = answer_json(&st, "AmazonSQS.GetQueueAttributes", "", &a);
  ck_assert_int_eq(a.status, 200);
  json_decref(root);
  fake_answer_free(&a);
  fake_state_close(&st);
}
END_TEST

/* ---- Held answers ---- */

/* Random holds and releases, against a plain scan for the first due:
 * the heap always gives an entry of the earliest time, keeps each
 * entry's place, and lets go of exactly what it is told to. */
START_TEST(held_answers_come_out_first_due_first) {
  enum { N = 300 };
  fake_held_entry_t entries[N];
  for (size_t i = 0; i < N; i++)
    entries[i] = (fake_held_entry_t){.at = FAKE_HELD_NONE};
  fake_held_t held = {0};
  uint64_t seed = 12345;
  size_t count = 0;
  for (int step = 0; step < 20000; step++) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t i = (size_t)(seed >> 33) % N;
    unsigned what = (unsigned)(seed >> 20) % 3;
    if (entries[i].at == FAKE_HELD_NONE && what != 2) {
      /* Few distinct times, so that equal ones are common. */
      entries[i].due_ns = (seed >> 40) % 50;
      ck_assert(fake_held_push(&held, &entries[i]));
      count++;
    } else if (what == 2 || entries[i].at != FAKE_HELD_NONE) {
      bool was_held = entries[i].at != FAKE_HELD_NONE;
      fake_held_remove(&held, &entries[i]); /* held or not */
      ck_assert(entries[i].at == FAKE_HELD_NONE);
      count -= was_held;
    }
    if (step % 7 == 0 && count > 0) { /* take the first, as the timer does */
      fake_held_entry_t *first = fake_held_first(&held);
      for (size_t k = 0; k < N; k++)
        if (entries[k].at != FAKE_HELD_NONE)
          ck_assert_uint_le(first->due_ns, entries[k].due_ns);
      fake_held_remove(&held, first);
      count--;
    }
    ck_assert_uint_eq(held.count, count);
    for (size_t k = 0; k < held.count; k++)
      ck_assert_uint_eq(held.items[k]->at, k);
  }
  ck_assert(count == 0 || fake_held_first(&held) != NULL);
  fake_held_free(&held);
  ck_assert_ptr_null(fake_held_first(&held));
}
END_TEST

START_TEST(send_message_batch_succeeds_for_every_entry) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  st.latency_ms = 20;
  fake_answer_t a;
  json_t *root = answer_json(&st, "AmazonSQS.SendMessageBatch",
                             "{\"QueueUrl\":\"q\",\"Entries\":[{\"Id\":\"0\","
                             "\"MessageBody\":\"a\"},{\"Id\":\"1\\\"\","
                             "\"MessageBody\":\"b\"}]}",
                             &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_int_eq(a.delay_ms, 20);
  json_t *ok = json_object_get(root, "Successful");
  ck_assert_int_eq(json_array_size(ok), 2);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ok, 1), "Id")),
                   "1\"");
  ck_assert(json_is_string(
      json_object_get(json_array_get(ok, 0), "MessageId")));
  ck_assert_int_eq(json_array_size(json_object_get(root, "Failed")), 0);
  ck_assert_int_eq(st.requests[FAKE_OP_SEND_MESSAGE_BATCH], 1);
  ck_assert_int_eq(st.entries[FAKE_OP_SEND_MESSAGE_BATCH], 2);
  json_decref(root);
  fake_answer_free(&a);
  fake_state_close(&st);
}
END_TEST

START_TEST(receive_hands_out_the_messages_then_waits_empty) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 13));
  fake_answer_t a;
  const char *ask = "{\"QueueUrl\":\"q\",\"MaxNumberOfMessages\":10,"
                    "\"WaitTimeSeconds\":20}";
  size_t got[3];
  for (int i = 0; i < 3; i++) {
    json_t *root = answer_json(&st, "AmazonSQS.ReceiveMessage", ask, &a);
    pl__sqs_receive_result_t result;
    ck_assert_int_eq(pl__sqs_receive_parse(root, &result), 0);
    ck_assert_int_eq(result.skipped, 0);
    got[i] = result.count;
    if (i == 0) {
      /* A message as sink-sqs sends an inventory row, with its
       * attributes. */
      size_t len;
      const char *body = pl_sqs_message_body(result.messages[1], &len);
      json_t *row = json_loadb(body, len, 0, NULL);
      ck_assert_str_eq(json_string_value(json_object_get(row, "product_id")),
                       "P0000001");
      ck_assert_int_eq(json_integer_value(json_object_get(row, "quantity")), 1);
      json_decref(row);
      const json_t *attrs = pl_sqs_message_attributes(result.messages[1]);
      ck_assert_int_eq(json_integer_value(json_object_get(attrs, "line")), 3);
      ck_assert(json_is_string(json_object_get(attrs, "origin_time")));
      ck_assert_int_eq(pl_sqs_message_receive_count(result.messages[1]), 1);
      ck_assert_int_eq(a.delay_ms, 0);
    }
    if (i == 2) /* empty: held as a long poll, up to its wait */
      ck_assert_int_eq(a.delay_ms, 1000);
    pl__sqs_receive_result_free(&result);
    json_decref(root);
    fake_answer_free(&a);
  }
  ck_assert_int_eq(got[0], 10);
  ck_assert_int_eq(got[1], 3);
  ck_assert_int_eq(got[2], 0);
  ck_assert_int_eq(st.served, 13);
  fake_state_close(&st);
}
END_TEST

/* What SQS refuses, the fake refuses: MaxNumberOfMessages outside 1 to
 * 10, WaitTimeSeconds outside 0 to 20, or either not a whole number, with
 * InvalidParameterValue and no message handed out; absent, they are 1 and
 * 0. */
START_TEST(receive_refuses_parameters_out_of_range) {
  static const char *const bad[] = {
      "{\"MaxNumberOfMessages\":0}",
      "{\"MaxNumberOfMessages\":11}",
      "{\"MaxNumberOfMessages\":-1}",
      "{\"MaxNumberOfMessages\":\"10\"}",
      "{\"MaxNumberOfMessages\":1.5}",
      "{\"WaitTimeSeconds\":21}",
      "{\"WaitTimeSeconds\":-1}",
      "{\"WaitTimeSeconds\":999999999999999999}",
      "{\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":9999999999999999999}",
  };
  fake_state_t st;
  ck_assert(fake_state_init(&st, 5));
  fake_answer_t a;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *root = answer_json(&st, "AmazonSQS.ReceiveMessage", bad[i], &a);
    ck_assert_msg(a.status == 400, "%s: status %d", bad[i], a.status);
    ck_assert_str_eq(json_string_value(json_object_get(root, "__type")),
                     "com.amazonaws.sqs#InvalidParameterValue");
    ck_assert_int_eq(a.delay_ms, 0);
    json_decref(root);
    fake_answer_free(&a);
  }
  ck_assert_int_eq(st.served, 0);
  /* Absent: one message, and an empty queue answers at once. */
  json_t *root = answer_json(&st, "AmazonSQS.ReceiveMessage", "{}", &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_int_eq(json_array_size(json_object_get(root, "Messages")), 1);
  json_decref(root);
  fake_answer_free(&a);
  root = answer_json(&st, "AmazonSQS.ReceiveMessage",
                     "{\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":0}", &a);
  ck_assert_int_eq(json_array_size(json_object_get(root, "Messages")), 4);
  json_decref(root);
  fake_answer_free(&a);
  root = answer_json(&st, "AmazonSQS.ReceiveMessage", "{}", &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_int_eq(a.delay_ms, 0);
  json_decref(root);
  fake_answer_free(&a);
  fake_state_close(&st);
}
END_TEST

START_TEST(deletes_count_each_message_once) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 5));
  fake_answer_t a;
  json_t *root = answer_json(
      &st, "AmazonSQS.DeleteMessageBatch",
      "{\"Entries\":[{\"Id\":\"a\",\"ReceiptHandle\":\"rh-0\"},"
      "{\"Id\":\"b\",\"ReceiptHandle\":\"rh-4\"},"
      "{\"Id\":\"c\",\"ReceiptHandle\":\"rh-4\"},"
      "{\"Id\":\"d\",\"ReceiptHandle\":\"rh-5\"},"
      "{\"Id\":\"e\",\"ReceiptHandle\":\"other\"}]}",
      &a);
  ck_assert_int_eq(json_array_size(json_object_get(root, "Successful")), 5);
  ck_assert_int_eq(st.deleted, 2);
  ck_assert_int_eq(st.deleted_again, 1);
  ck_assert_int_eq(st.entries[FAKE_OP_DELETE_MESSAGE_BATCH], 5);
  json_decref(root);
  fake_answer_free(&a);
  fake_state_close(&st);
}
END_TEST

START_TEST(dynamodb_writes_are_counted_per_item) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  fake_answer_t a;
  json_t *root = answer_json(
      &st, "DynamoDB_20120810.BatchWriteItem",
      "{\"RequestItems\":{\"t\":[{\"PutRequest\":{}},{\"PutRequest\":{}}]}}",
      &a);
  ck_assert_int_eq(json_object_size(json_object_get(root, "UnprocessedItems")),
                   0);
  json_decref(root);
  fake_answer_free(&a);
  root = answer_json(&st, "DynamoDB_20120810.BatchExecuteStatement",
                     "{\"Statements\":[{},{},{}]}", &a);
  ck_assert_int_eq(json_array_size(json_object_get(root, "Responses")), 3);
  json_decref(root);
  fake_answer_free(&a);
  root = answer_json(&st, "DynamoDB_20120810.UpdateItem", "{}", &a);
  ck_assert_int_eq(a.status, 200);
  json_decref(root);
  fake_answer_free(&a);
  /* PutItem (the boto3 baseline's write) answers as UpdateItem does. */
  root = answer_json(&st, "DynamoDB_20120810.PutItem", "{}", &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_int_eq(json_object_size(root), 0);
  json_decref(root);
  fake_answer_free(&a);
  ck_assert_int_eq(st.entries[FAKE_OP_PUT_ITEM], 1);
  ck_assert_int_eq(st.requests[FAKE_OP_PUT_ITEM], 1);
  ck_assert_int_eq(st.entries[FAKE_OP_BATCH_WRITE_ITEM], 2);
  ck_assert_int_eq(st.entries[FAKE_OP_BATCH_EXECUTE_STATEMENT], 3);
  ck_assert_int_eq(st.entries[FAKE_OP_UPDATE_ITEM], 1);
  fake_state_close(&st);
}
END_TEST

/* POST /__control?QUERY: the answer's status. */
static int control(fake_state_t *st, const char *query) {
  fake_aws_http_request_t req = {.method = {"POST", 4},
                                 .path = {"/__control", 10},
                                 .query = {query, strlen(query)},
                                 .keep_alive = true};
  fake_answer_t a;
  ck_assert(fake_answer(st, &req, 0, &a));
  int status = a.status;
  fake_answer_free(&a);
  return status;
}

/* The delay of an answer to an empty request of `target`. */
static uint64_t delay_of(fake_state_t *st, const char *target) {
  fake_answer_t a;
  json_decref(answer_json(st, target, "{}", &a));
  uint64_t delay = a.delay_ms;
  fake_answer_free(&a);
  return delay;
}

START_TEST(dynamodb_latency_holds_dynamodb_answers_alone) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 100));
  st.latency_ms = 20;
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.UpdateItem"), 20);
  ck_assert_int_eq(control(&st, "dynamodb_latency=30000"), 200);
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.UpdateItem"), 30000);
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.BatchWriteItem"), 30000);
  ck_assert_int_eq(delay_of(&st, "AmazonSQS.ReceiveMessage"), 20);
  ck_assert_int_eq(delay_of(&st, "AmazonSQS.DeleteMessageBatch"), 20);
  /* latency alone leaves DynamoDB's as it is; -1 makes it follow again. */
  ck_assert_int_eq(control(&st, "latency=5"), 200);
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.UpdateItem"), 30000);
  ck_assert_int_eq(control(&st, "dynamodb_latency=60001"), 400);
  ck_assert_int_eq(control(&st, "dynamodb_latency=soon"), 400);
  ck_assert_int_eq(st.dynamodb_latency_ms, 30000);
  ck_assert_int_eq(control(&st, "dynamodb_latency=-1"), 200);
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.UpdateItem"), 5);
  ck_assert_int_eq(control(&st, "dynamodb_latency=0"), 200);
  ck_assert_int_eq(delay_of(&st, "DynamoDB_20120810.UpdateItem"), 0);
  ck_assert_int_eq(delay_of(&st, "AmazonSQS.SendMessageBatch"), 5);
  fake_state_close(&st);
}
END_TEST

/* The answer's extra headers ("name: value\r\n"...), as the AWS layer's
 * view asks for them (lower-case names). */
static const char *answer_header(const void *data, const char *name) {
  static char value[256];
  const char *at = data;
  size_t n = strlen(name);
  while (at && *at) {
    const char *eol = strstr(at, "\r\n");
    if (strncasecmp(at, name, n) == 0 && at[n] == ':') {
      snprintf(value, sizeof(value), "%.*s", (int)(eol - at - n - 2),
               at + n + 2);
      return value;
    }
    at = eol + 2;
  }
  return NULL;
}

static void assert_throttling(const char *service, const fake_answer_t *a) {
  pl_aws_response_view_t view = {.status = a->status,
                                 .header = answer_header,
                                 .header_data = a->headers.data,
                                 .body = a->body.data,
                                 .body_len = a->body.len};
  pl_aws_error_detail_t *error = NULL;
  ck_assert_int_eq(pl__aws_error_from_json(service, "X", &view, &error), 0);
  ck_assert_int_eq(pl__aws_retry_classify(error), PL_AWS_RETRY_THROTTLING);
  pl__aws_error_destroy(error);
}

START_TEST(throttles_the_fraction_asked_with_the_services_errors) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  st.throttle = 0.5;
  int throttled = 0;
  for (int i = 0; i < 10; i++) {
    fake_answer_t a;
    bool sqs = i % 2 == 0;
    fake_aws_http_request_t req = json_request(
        sqs ? "AmazonSQS.SendMessageBatch" : "DynamoDB_20120810.UpdateItem",
        "{}");
    ck_assert(fake_answer(&st, &req, 0, &a));
    if (a.throttled) {
      throttled++;
      ck_assert_int_eq(a.status, 400);
      assert_throttling(sqs ? "sqs" : "dynamodb", &a);
    }
    fake_answer_free(&a);
  }
  ck_assert_int_eq(throttled, 5);
  ck_assert_int_eq(st.throttled[FAKE_OP_SEND_MESSAGE_BATCH] +
                       st.throttled[FAKE_OP_UPDATE_ITEM],
                   5);
  fake_state_close(&st);
}
END_TEST

START_TEST(serves_the_object_and_its_listing) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  st.object_rows = 3;
  fake_aws_http_request_t get = {.method = {"GET", 3},
                             .path = {"/b/inventory.csv", 16},
                             .query = {"", 0},
                             .range = {"bytes=41-", 9}};
  fake_answer_t a;
  ck_assert(fake_answer(&st, &get, 0, &a));
  ck_assert_int_eq(a.status, 206);
  /* The header line is 41 bytes: the range starts at the first row. */
  ck_assert_str_eq(a.body.data, "P0000000,Warehouse A,0,2023-01-01\n"
                                "P0000001,Warehouse B,1,2023-02-02\n"
                                "P0000002,Warehouse C,2,2023-03-03\n");
  ck_assert_ptr_nonnull(strstr(a.headers.data, "Content-Range: bytes 41-"));
  fake_answer_free(&a);
  fake_aws_http_request_t list = {.method = {"GET", 3},
                              .path = {"/b", 2},
                              .query = {"list-type=2&prefix=inv", 22}};
  ck_assert(fake_answer(&st, &list, 0, &a));
  pl_s3_list_page_t page;
  pl_buf_t why = {0};
  ck_assert_int_eq(pl_s3_list_parse(a.body.data, a.body.len, &page, &why), 0);
  ck_assert_int_eq(page.count, 1);
  ck_assert_str_eq(page.objects[0].key, "inventory.csv");
  ck_assert_int_eq(page.objects[0].size, st.object.len);
  pl_s3_list_page_close(&page);
  pl_buf_free(&why);
  fake_answer_free(&a);
  fake_state_close(&st);
}
END_TEST

START_TEST(stats_are_json_with_the_counts) {
  fake_state_t st;
  ck_assert(fake_state_init(&st, 0));
  fake_answer_t a;
  json_decref(answer_json(&st, "DynamoDB_20120810.UpdateItem", "{}", &a));
  fake_answer_sent(&st, &a, 1500);
  fake_answer_free(&a);
  fake_state_in_flight(&st, 7, 1500);
  fake_state_late(&st, 1000);
  fake_state_late(&st, 3000);
  fake_buf_t out = {0};
  ck_assert(fake_stats_json(&st, 2100, &out));
  json_t *root = json_loads(out.data, 0, NULL);
  ck_assert_ptr_nonnull(root);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_object_get(root, "requests"), "UpdateItem")),
                   1);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_object_get(root, "first_ms"), "UpdateItem")),
                   5);
  json_t *per = json_object_get(root, "per_second");
  ck_assert_int_eq(json_array_size(per), 3);
  ck_assert_int_eq(json_integer_value(json_array_get(per, 1)), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(root, "in_flight_max")),
                   7);
  ck_assert_int_eq(
      json_integer_value(json_object_get(root, "dynamodb_latency_ms")), -1);
  /* Held answers: how many, and how late after their due time. */
  json_t *held = json_object_get(root, "held");
  ck_assert_int_eq(json_integer_value(json_object_get(held, "answers")), 2);
  ck_assert_double_eq(json_number_value(json_object_get(held, "late_us_mean")),
                      2.0);
  ck_assert_double_eq(json_number_value(json_object_get(held, "late_us_max")),
                      3.0);
  json_decref(root);
  fake_buf_free(&out);
  fake_state_close(&st);
}
END_TEST

static Suite *fake_aws_suite(void) {
  Suite *s = suite_create("fake_aws");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, parses_a_request_with_its_body);
  tcase_add_test(tc, waits_for_the_whole_request);
  tcase_add_test(tc, refuses_what_it_cannot_read);
  tcase_add_test(tc, connection_close_and_http10_end_the_connection);
  tcase_add_test(tc, json_bodies_are_checked_whole);
  tcase_add_test(tc, json_members_are_found_in_place);
  tcase_add_test(tc, a_body_that_is_not_json_is_refused);
  tcase_add_test(tc, held_answers_come_out_first_due_first);
  tcase_add_test(tc, send_message_batch_succeeds_for_every_entry);
  tcase_add_test(tc, receive_hands_out_the_messages_then_waits_empty);
  tcase_add_test(tc, receive_refuses_parameters_out_of_range);
  tcase_add_test(tc, deletes_count_each_message_once);
  tcase_add_test(tc, dynamodb_writes_are_counted_per_item);
  tcase_add_test(tc, dynamodb_latency_holds_dynamodb_answers_alone);
  tcase_add_test(tc, throttles_the_fraction_asked_with_the_services_errors);
  tcase_add_test(tc, serves_the_object_and_its_listing);
  tcase_add_test(tc, stats_are_json_with_the_counts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(fake_aws_suite());
}
