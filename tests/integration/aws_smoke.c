/* aws_smoke (SMOKE_BUCKET, SMOKE_TABLE in the environment): signs and sends real requests through the AWS
 * layer to the endpoints in the environment (a local emulator; see
 * aws-env.sh): S3 PutObject, GetObject streamed with a Range,
 * ListObjectsV2 with continuation; SQS CreateQueue, SendMessageBatch,
 * ReceiveMessage, DeleteMessageBatch; DynamoDB BatchWriteItem, UpdateItem
 * with a condition, GetItem. Each step checks its answer and the next one
 * starts from its callback; the caller then checks the results with an
 * independent client (the aws CLI). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws.h>

#include <pipelined/s3.h>
#include "test_aws_idle.h"

#define SMOKE_OBJECTS 5
#define SMOKE_MESSAGES 10

typedef struct smoke {
  test_run_t *run;
  pl_aws_client_t *s3, *sqs, *ddb;
  const char *bucket, *table;
  int step;
  bool failed;
  bool done;
  pl_buf_t body;       /* streamed GetObject bytes */
  size_t listed;       /* keys seen by ListObjectsV2 */
  size_t pages;
  char *queue_url;
  size_t received;
  json_t *receipts;    /* receipt handles to delete */
  int puts_done;
} smoke_t;

static void next(smoke_t *s);

static void smoke_fail(smoke_t *s, const char *what, const pl_aws_error_t *error) {
  pl_buf_t text = {0};
  if (error)
    pl_aws_error_format(error, &text);
  fprintf(stderr, "FAIL: %s%s%s\n", what, error ? ": " : "",
          error ? text.data : "");
  pl_buf_free(&text);
  s->failed = true;
  s->done = true;
}

static void ok(smoke_t *s, const char *what) {
  printf("ok: %s\n", what);
  fflush(stdout);
  s->step++;
  next(s);
}

/* ---- S3 ---- */

static void on_put(void *data, int status, const char *body, size_t len,
                   const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error) {
    smoke_fail(s, "PutObject", error);
    return;
  }
  if (++s->puts_done == SMOKE_OBJECTS + 1)
    ok(s, "s3 PutObject x6");
}

static void put_objects(smoke_t *s) {
  static const char text[] = "hello range world";
  for (int i = 0; i <= SMOKE_OBJECTS; i++) {
    char key[64];
    if (i == 0)
      snprintf(key, sizeof(key), "smoke/a b+c \xc3\xbc.txt");
    else
      snprintf(key, sizeof(key), "smoke/k%d", i);
    pl_aws_header_t type = {"Content-Type", "text/plain"};
    pl_aws_rest_request_t req = {.operation = "PutObject",
                                 .method = "PUT",
                                 .bucket = s->bucket,
                                 .key = key,
                                 .headers = &type,
                                 .header_count = 1,
                                 .body = text,
                                 .body_len = sizeof(text) - 1};
    pl_aws_rest_handlers_t h = {.on_done = on_put, .data = s};
    if (pl_aws_rest_call(s->s3, &req, &h, NULL) < 0)
      smoke_fail(s, "PutObject submit", NULL);
  }
}

static bool on_range_body(void *data, const char *bytes, size_t len) {
  smoke_t *s = data;
  pl_buf_append(&s->body, bytes, len);
  return true;
}

static void on_range_done(void *data, int status, const char *body,
                          size_t len, const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error) {
    smoke_fail(s, "GetObject", error);
    return;
  }
  if (status != 206 || s->body.len != 5 || memcmp(s->body.data, "range", 5)) {
    fprintf(stderr, "GetObject Range: status %d, body '%.*s'\n", status,
            (int)s->body.len, s->body.data ? s->body.data : "");
    smoke_fail(s, "GetObject Range", NULL);
    return;
  }
  ok(s, "s3 GetObject streamed with Range bytes=6-10");
}

static void get_range(smoke_t *s) {
  pl_aws_header_t range = {"Range", "bytes=6-10"};
  pl_aws_rest_request_t req = {.operation = "GetObject",
                               .method = "GET",
                               .bucket = s->bucket,
                               .key = "smoke/a b+c \xc3\xbc.txt",
                               .headers = &range,
                               .header_count = 1};
  pl_aws_rest_handlers_t h = {.on_body = on_range_body,
                              .on_done = on_range_done,
                              .data = s};
  if (pl_aws_rest_call(s->s3, &req, &h, NULL) < 0)
    smoke_fail(s, "GetObject submit", NULL);
}

static void list_page(smoke_t *s, const char *token);

static void on_list(void *data, int status, const char *body, size_t len,
                    const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error) {
    smoke_fail(s, "ListObjectsV2", error);
    return;
  }
  pl_s3_list_page_t page = {0};
  pl_buf_t why = {0};
  if (pl_s3_list_parse(body, len, &page, &why) < 0) {
    fprintf(stderr, "ListObjectsV2: %s\n", why.data);
    pl_buf_free(&why);
    smoke_fail(s, "ListObjectsV2 parse", NULL);
    return;
  }
  s->listed += page.count;
  s->pages++;
  if (page.truncated) {
    char *token = strdup(page.next_token);
    pl_s3_list_page_close(&page);
    list_page(s, token);
    free(token);
    return;
  }
  pl_s3_list_page_close(&page);
  if (s->listed != SMOKE_OBJECTS + 1 || s->pages < 3) {
    fprintf(stderr, "ListObjectsV2: %zu keys in %zu pages\n", s->listed,
            s->pages);
    smoke_fail(s, "ListObjectsV2 continuation", NULL);
    return;
  }
  ok(s, "s3 ListObjectsV2 with continuation (6 keys, 2 per page)");
}

static void list_page(smoke_t *s, const char *token) {
  pl_buf_t query = {0};
  pl_s3_list_query("smoke/", token, 2, &query);
  pl_aws_rest_request_t req = {.operation = "ListObjectsV2",
                               .method = "GET",
                               .bucket = s->bucket,
                               .query = query.data};
  pl_aws_rest_handlers_t h = {.on_done = on_list, .data = s};
  if (pl_aws_rest_call(s->s3, &req, &h, NULL) < 0)
    smoke_fail(s, "ListObjectsV2 submit", NULL);
  pl_buf_free(&query);
}

/* ---- SQS ---- */

static void call(smoke_t *s, pl_aws_client_t *c, const char *target,
                 json_t *body, pl_aws_json_cb cb) {
  if (pl_aws_json_call(c, target, body, cb, s) < 0)
    smoke_fail(s, target, NULL);
  json_decref(body);
}

static void on_create_queue(void *data, json_t *result,
                            const pl_aws_error_t *error) {
  smoke_t *s = data;
  const char *url = json_string_value(json_object_get(result, "QueueUrl"));
  if (error || !url) {
    smoke_fail(s, "CreateQueue", error);
    return;
  }
  s->queue_url = strdup(url);
  ok(s, "sqs CreateQueue");
}

static void on_send(void *data, json_t *result, const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error ||
      json_array_size(json_object_get(result, "Successful")) != SMOKE_MESSAGES) {
    smoke_fail(s, "SendMessageBatch", error);
    return;
  }
  ok(s, "sqs SendMessageBatch (10 entries)");
}

static void send_batch(smoke_t *s) {
  json_t *entries = json_array();
  for (int i = 0; i < SMOKE_MESSAGES; i++) {
    char id[8], body[32];
    snprintf(id, sizeof(id), "m%d", i);
    snprintf(body, sizeof(body), "{\"n\":%d}", i);
    json_array_append_new(entries, json_pack("{s:s, s:s}", "Id", id,
                                             "MessageBody", body));
  }
  call(s, s->sqs, "AmazonSQS.SendMessageBatch",
       json_pack("{s:s, s:o}", "QueueUrl", s->queue_url, "Entries", entries),
       on_send);
}

static void receive(smoke_t *s);

static void on_receive(void *data, json_t *result,
                       const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error) {
    smoke_fail(s, "ReceiveMessage", error);
    return;
  }
  json_t *messages = json_object_get(result, "Messages");
  size_t i;
  json_t *m;
  json_array_foreach(messages, i, m) {
    json_array_append(s->receipts, json_object_get(m, "ReceiptHandle"));
    s->received++;
  }
  if (s->received < SMOKE_MESSAGES) {
    receive(s);
    return;
  }
  ok(s, "sqs ReceiveMessage (all 10)");
}

static void receive(smoke_t *s) {
  call(s, s->sqs, "AmazonSQS.ReceiveMessage",
       json_pack("{s:s, s:i, s:i, s:[s]}", "QueueUrl", s->queue_url,
                 "MaxNumberOfMessages", 10, "WaitTimeSeconds", 1,
                 "MessageSystemAttributeNames", "ApproximateReceiveCount"),
       on_receive);
}

static void on_delete(void *data, json_t *result, const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error || json_array_size(json_object_get(result, "Failed")) > 0) {
    smoke_fail(s, "DeleteMessageBatch", error);
    return;
  }
  if (json_array_size(s->receipts) > 0) {
    ok(s, "sqs DeleteMessageBatch");
    return;
  }
}

static void delete_batch(smoke_t *s) {
  /* At most 10 per call; the smoke test received exactly 10. */
  json_t *entries = json_array();
  size_t i;
  json_t *handle;
  json_array_foreach(s->receipts, i, handle) {
    char id[32];
    snprintf(id, sizeof(id), "d%zu", i);
    json_array_append_new(entries, json_pack("{s:s, s:O}", "Id", id,
                                             "ReceiptHandle", handle));
  }
  call(s, s->sqs, "AmazonSQS.DeleteMessageBatch",
       json_pack("{s:s, s:o}", "QueueUrl", s->queue_url, "Entries", entries),
       on_delete);
}

/* ---- DynamoDB ---- */

static json_t *item(const char *id, int quantity, const char *date) {
  char n[16];
  snprintf(n, sizeof(n), "%d", quantity);
  return json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "id", "S", id, "quantity",
                   "N", n, "update_date", "S", date);
}

static void on_batch_write(void *data, json_t *result,
                           const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error || json_object_size(json_object_get(result, "UnprocessedItems"))) {
    smoke_fail(s, "BatchWriteItem", error);
    return;
  }
  ok(s, "dynamodb BatchWriteItem (3 items)");
}

static void batch_write(smoke_t *s) {
  json_t *requests = json_array();
  const char *ids[] = {"P1#A", "P2#B", "P3#C"};
  for (int i = 0; i < 3; i++)
    json_array_append_new(
        requests, json_pack("{s:{s:o}}", "PutRequest", "Item",
                            item(ids[i], 10 * (i + 1), "2024-01-02")));
  json_t *body = json_pack("{s:{s:o}}", "RequestItems", s->table, requests);
  call(s, s->ddb, "DynamoDB_20120810.BatchWriteItem", body, on_batch_write);
}

static json_t *update_body(const smoke_t *s, const char *date, int quantity) {
  char n[16];
  snprintf(n, sizeof(n), "%d", quantity);
  return json_pack(
      "{s:s, s:{s:{s:s}}, s:s, s:s, s:{s:{s:s}, s:{s:s}}}", "TableName",
      s->table, "Key", "id", "S", "P1#A", "UpdateExpression",
      "SET quantity = :q, update_date = :d", "ConditionExpression",
      "attribute_not_exists(id) OR update_date <= :d",
      "ExpressionAttributeValues", ":q", "N", n, ":d", "S", date);
}

static void on_update_newer(void *data, json_t *result,
                            const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (error) {
    smoke_fail(s, "UpdateItem (newer)", error);
    return;
  }
  ok(s, "dynamodb UpdateItem with a condition that holds");
}

static void on_update_older(void *data, json_t *result,
                            const pl_aws_error_t *error) {
  smoke_t *s = data;
  if (!error || strstr(error->code, "ConditionalCheckFailed") == NULL ||
      error->retryable) {
    smoke_fail(s, "UpdateItem (older) should fail its condition", error);
    return;
  }
  ok(s, "dynamodb UpdateItem refused by its condition "
        "(ConditionalCheckFailedException, not retried)");
}

static void on_get(void *data, json_t *result, const pl_aws_error_t *error) {
  smoke_t *s = data;
  json_t *item_value = json_object_get(result, "Item");
  const char *q = json_string_value(
      json_object_get(json_object_get(item_value, "quantity"), "N"));
  if (error || !q || strcmp(q, "99") != 0) {
    smoke_fail(s, "GetItem (quantity 99 expected)", error);
    return;
  }
  ok(s, "dynamodb GetItem");
}

static void next(smoke_t *s) {
  switch (s->step) {
  case 0:
    put_objects(s);
    break;
  case 1:
    get_range(s);
    break;
  case 2:
    list_page(s, NULL);
    break;
  case 3:
    call(s, s->sqs, "AmazonSQS.CreateQueue",
         json_pack("{s:s}", "QueueName", "smoke-queue"), on_create_queue);
    break;
  case 4:
    send_batch(s);
    break;
  case 5:
    receive(s);
    break;
  case 6:
    delete_batch(s);
    break;
  case 7:
    batch_write(s);
    break;
  case 8:
    call(s, s->ddb, "DynamoDB_20120810.UpdateItem",
         update_body(s, "2024-03-01", 99), on_update_newer);
    break;
  case 9:
    call(s, s->ddb, "DynamoDB_20120810.UpdateItem",
         update_body(s, "2023-01-01", 5), on_update_older);
    break;
  case 10:
    call(s, s->ddb, "DynamoDB_20120810.GetItem",
         json_pack("{s:s, s:{s:{s:s}}, s:b}", "TableName", s->table, "Key",
                   "id", "S", "P1#A", "ConsistentRead", 1),
         on_get);
    break;
  default:
    s->done = true;
  }
}

static const char *process_env(void *data, const char *name) {
  return getenv(name);
}

/* Check's assertions need a running test: the smoke run is one. */
START_TEST(smoke) {
  const char *bucket = getenv("SMOKE_BUCKET"), *table = getenv("SMOKE_TABLE");
  ck_assert_msg(bucket && table, "set SMOKE_BUCKET and SMOKE_TABLE");
  pl_env_t env = {process_env, NULL};
  smoke_t s = {.bucket = bucket, .table = table};
  s.receipts = json_array();
  s.run = test_aws_idle(&env, NULL);
  pl_instance_t *inst = test_stage(s.run, "p", PL_ROLE_SINK);
  pl_aws_client_options_t o3 = {.service = "s3"}, oq = {.service = "sqs"},
                          od = {.service = "dynamodb"};
  ck_assert_msg(pl_aws_client_create(inst, &o3, &s.s3) == 0 &&
                    pl_aws_client_create(inst, &oq, &s.sqs) == 0 &&
                    pl_aws_client_create(inst, &od, &s.ddb) == 0,
                "%s", test_log(s.run));
  next(&s);
  while (!s.done && uv_run(&s.run->loop, UV_RUN_ONCE) != 0)
    ;
  if (!s.done)
    smoke_fail(&s, "the loop ended before the last step", NULL);
  pl_aws_client_destroy(s.s3);
  pl_aws_client_destroy(s.sqs);
  pl_aws_client_destroy(s.ddb);
  if (s.failed)
    fprintf(stderr, "log:\n%s", test_log(s.run));
  ck_assert_int_eq(test_run_stop(s.run), 0);
  pl_buf_free(&s.body);
  json_decref(s.receipts);
  free(s.queue_url);
  ck_assert_msg(!s.failed, "a smoke step failed (see above)");
}
END_TEST

int main(void) {
  Suite *suite = suite_create("aws_smoke");
  TCase *tc = tcase_create("smoke");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, smoke);
  suite_add_tcase(suite, tc);
  SRunner *runner = srunner_create(suite);
  srunner_set_fork_status(runner, CK_NOFORK);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
