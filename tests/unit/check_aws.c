/* pl_aws_client against a scripted loopback server: signing, the JSON
 * protocol, the standard retry rules, clock skew, S3 REST calls streamed
 * with pauses, in-flight limits and cancellation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws.h>

#include "fake_http.h"
#include "metrics.h"
#include "test_aws_idle.h"
#include "test_suite.h"

typedef struct env_entry {
  const char *name;
  const char *value;
} env_entry_t;

static const char *fake_env(void *data, const char *name) {
  for (const env_entry_t *e = data; e->name; e++)
    if (strcmp(e->name, name) == 0)
      return e->value;
  return NULL;
}

typedef struct fixture {
  test_run_t *run;
  fake_http_t *server;
  pl_instance_t *inst;
  pl_aws_client_t *client;
  env_entry_t env[8];
  pl_env_t cfg_env;
} fixture_t;

/* A client of `service`; `request_timeout_ms` 0 keeps the aws { }
 * block's default. */
static fixture_t *fixture_create_timed(const char *service,
                                       int64_t max_attempts,
                                       int64_t max_in_flight,
                                       uint64_t request_timeout_ms) {
  fixture_t *f = calloc(1, sizeof(*f));
  f->cfg_env = (pl_env_t){fake_env, f->env};
  char block[64] = "";
  if (request_timeout_ms)
    snprintf(block, sizeof(block), "aws { request_timeout = \"%llums\" }",
             (unsigned long long)request_timeout_ms);
  f->run = test_aws_idle(&f->cfg_env, block);
  ck_assert_int_eq(fake_http_start(&f->run->loop, &f->server), 0);
  env_entry_t env[] = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                       {"AWS_SECRET_ACCESS_KEY", "sekrit-do-not-log"},
                       {"AWS_REGION", "eu-west-1"},
                       {"AWS_ENDPOINT_URL", fake_http_url(f->server)},
                       {"AWS_EC2_METADATA_DISABLED", "true"},
                       {NULL, NULL}};
  memcpy(f->env, env, sizeof(env));
  f->inst = test_stage(f->run, "p", PL_ROLE_SINK);
  pl_aws_client_options_t opts = {.service = service,
                                  .max_attempts = max_attempts,
                                  .max_in_flight = max_in_flight};
  ck_assert_int_eq(pl_aws_client_create(f->inst, &opts, &f->client), 0);
  return f;
}

static fixture_t *fixture_create(const char *service, int64_t max_attempts,
                                 int64_t max_in_flight) {
  return fixture_create_timed(service, max_attempts, max_in_flight, 0);
}

static void fixture_free(fixture_t *f) {
  pl_aws_client_destroy(f->client);
  fake_http_close(f->server);
  ck_assert_int_eq(test_run_stop(f->run), 0);
  free(f);
}

/* ---- JSON calls ---- */

typedef struct result {
  int calls;
  json_t *value;
  char *error;
  char *code;
  bool retryable;
  int status;
} result_t;

static void on_json(void *data, json_t *value, const pl_aws_error_t *error) {
  result_t *r = data;
  r->calls++;
  if (value)
    r->value = json_incref(value);
  if (error) {
    pl_buf_t text = {0};
    pl_aws_error_format(error, &text);
    r->error = text.data;
    r->code = strdup(error->code);
    r->retryable = error->retryable;
    r->status = error->status;
  }
}

static void result_free(result_t *r) {
  json_decref(r->value);
  free(r->error);
  free(r->code);
}

static void run_until(fixture_t *f, const int *calls, int want) {
  while (*calls < want)
    ck_assert(uv_run(&f->run->loop, UV_RUN_ONCE) != 0 || *calls >= want);
}

/* Sends `body` (stolen) to `target` and runs the loop until its
 * callback has filled `r`. */
static void call_and_wait(fixture_t *f, const char *target, json_t *body,
                          result_t *r) {
  ck_assert_int_eq(pl_aws_json_call(f->client, target, body, on_json, r), 0);
  json_decref(body);
  run_until(f, &r->calls, 1);
}

static json_t *send_body(void) {
  return json_pack("{s:s, s:[{s:s, s:s}]}", "QueueUrl", "http://q/1",
                   "Entries", "Id", "0", "MessageBody", "hello");
}

START_TEST(json_call_is_signed_and_parsed) {
  fixture_t *f = fixture_create("sqs", 0, 0);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200,
                                         .body = "{\"Successful\":[{\"Id\":\"0\"}]}"});
  result_t r = {0};
  json_t *body = send_body();
  ck_assert_int_eq(pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch",
                                    body, on_json, &r),
                   0);
  json_decref(body);
  ck_assert_int_eq(r.calls, 0); /* never from inside the call */
  run_until(f, &r.calls, 1);
  ck_assert_ptr_null(r.error);
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(r.value, "Successful"), 0),
                       "Id")),
                   "0");
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  const fake_http_request_t *req = fake_http_request(f->server, 0);
  ck_assert_str_eq(req->method, "POST");
  ck_assert_str_eq(req->path, "/");
  char *target = fake_http_request_header(req, "X-Amz-Target");
  ck_assert_str_eq(target, "AmazonSQS.SendMessageBatch");
  char *type = fake_http_request_header(req, "Content-Type");
  ck_assert_str_eq(type, "application/x-amz-json-1.0");
  char *auth = fake_http_request_header(req, "Authorization");
  ck_assert_ptr_nonnull(strstr(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
  ck_assert_ptr_nonnull(strstr(auth, "/eu-west-1/sqs/aws4_request"));
  ck_assert_ptr_null(strstr(req->headers, "sekrit"));
  ck_assert_ptr_nonnull(strstr(req->body, "\"MessageBody\":\"hello\""));
  free(target);
  free(type);
  free(auth);
  result_free(&r);
  fixture_free(f);
}
END_TEST

/* The URL, path and Host of JSON calls are worked out at the first call
 * of a client and copied for the next ones: every call goes to the
 * endpoint's root, with the endpoint's host and port, also when the
 * endpoint has a path of its own, "/.." included (which crashed the
 * signer's normalisation before). */
START_TEST(json_calls_go_to_the_endpoint_root_every_time) {
  fixture_t *f = fixture_create("sqs", 1, 0);
  char host[64];
  const char *url = fake_http_url(f->server);
  snprintf(host, sizeof host, "%s", strstr(url, "://") + 3);
  char prefixed[128], dotdot[128];
  snprintf(prefixed, sizeof prefixed, "%s/prefix", url);
  snprintf(dotdot, sizeof dotdot, "%s/..", url);
  const char *paths[] = {"/", "/prefix/", "/../"};
  for (int client = 0; client < 3; client++) {
    if (client > 0) {
      /* Clients whose endpoint has a path. */
      pl_aws_client_destroy(f->client);
      f->env[3].value = client == 1 ? prefixed : dotdot;
      pl_aws_client_options_t opts = {.service = "sqs", .max_attempts = 1};
      ck_assert_int_eq(pl_aws_client_create(f->inst, &opts, &f->client), 0);
    }
    for (int call = 0; call < 3; call++) {
      fake_http_push(f->server,
                     &(fake_http_response_t){.status = 200, .body = "{}"});
      result_t r = {0};
      call_and_wait(f, "AmazonSQS.SendMessage", send_body(), &r);
      ck_assert_ptr_null(r.error);
      size_t n = fake_http_request_count(f->server);
      const fake_http_request_t *req = fake_http_request(f->server, n - 1);
      ck_assert_str_eq(req->path, paths[client]);
      char *sent_host = fake_http_request_header(req, "Host");
      ck_assert_str_eq(sent_host, host);
      free(sent_host);
      result_free(&r);
    }
  }
  fixture_free(f);
}
END_TEST

/* pl_aws_json_call_text's callback: the answer's text, or the error. */
typedef struct text_result {
  int calls;
  char *body;
  size_t len;
  char *code;
} text_result_t;

static void on_text(void *data, const char *body, size_t len,
                    const pl_aws_error_t *error) {
  text_result_t *r = data;
  r->calls++;
  if (body) {
    r->body = strndup(body, len);
    r->len = len;
  }
  if (error)
    r->code = strdup(error->code);
}

START_TEST(json_text_call_sends_and_returns_text) {
  fixture_t *f = fixture_create("sqs", 3, 0);
  /* A retry as for pl_aws_json_call, then an answer that is not JSON:
   * handed over as it is, for the caller to parse. */
  fake_http_push(f->server, &(fake_http_response_t){.status = 500,
                                                    .body = "{}"});
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "not json"});
  text_result_t r = {0};
  const char body[] = "{\"QueueUrl\":\"http://q/1\",\"Entries\":[]}xyz";
  size_t len = sizeof body - 4; /* the text stops before "xyz" */
  ck_assert_int_eq(pl_aws_json_call_text(f->client,
                                         "AmazonSQS.SendMessageBatch", body,
                                         len, on_text, &r),
                   0);
  ck_assert_int_eq(r.calls, 0); /* never from inside the call */
  run_until(f, &r.calls, 1);
  ck_assert_ptr_null(r.code);
  ck_assert_str_eq(r.body, "not json");
  ck_assert_uint_eq(r.len, 8);
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  const fake_http_request_t *req = fake_http_request(f->server, 1);
  ck_assert_str_eq(req->body, "{\"QueueUrl\":\"http://q/1\",\"Entries\":[]}");
  char *target = fake_http_request_header(req, "X-Amz-Target");
  ck_assert_str_eq(target, "AmazonSQS.SendMessageBatch");
  char *auth = fake_http_request_header(req, "Authorization");
  ck_assert_ptr_nonnull(strstr(auth, "/eu-west-1/sqs/aws4_request"));
  free(target);
  free(auth);
  free(r.body);
  /* A client error: no text, the error. */
  fake_http_push(f->server,
                 &(fake_http_response_t){
                     .status = 400,
                     .body = "{\"__type\":\"com.amazonaws.sqs#"
                             "QueueDoesNotExist\",\"message\":\"no\"}"});
  text_result_t e = {0};
  ck_assert_int_eq(pl_aws_json_call_text(f->client,
                                         "AmazonSQS.SendMessageBatch", body,
                                         len, on_text, &e),
                   0);
  run_until(f, &e.calls, 1);
  ck_assert_ptr_null(e.body);
  ck_assert_str_eq(e.code, "QueueDoesNotExist");
  free(e.code);
  /* An empty body is refused at once. */
  ck_assert_int_eq(pl_aws_json_call_text(f->client, "AmazonSQS.X", body, 0,
                                         on_text, &e),
                   PL_EINVAL);
  fixture_free(f);
}
END_TEST

START_TEST(server_errors_are_retried_then_succeed) {
  fixture_t *f = fixture_create("dynamodb", 3, 0);
  fake_http_push(f->server, &(fake_http_response_t){.status = 500,
                                                    .body = "{}"});
  fake_http_push(
      f->server,
      &(fake_http_response_t){
          .status = 400,
          .body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                  "ProvisionedThroughputExceededException\",\"message\":"
                  "\"slow down\"}"});
  fake_http_push(f->server, &(fake_http_response_t){.status = 200,
                                                    .body = "{}"});
  result_t r = {0};
  call_and_wait(f, "DynamoDB_20120810.PutItem", json_object(), &r);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  ck_assert_uint_eq(fake_http_request_count(f->server), 3);
  /* Each attempt is in /metrics: a 5xx, a throttling, a success. */
  pl_buf_t text = {0};
  pl__metrics_render(f->run->engine, &text);
  const char *labels = "{service=\"dynamodb\",operation=\"PutItem\"";
  char line[256];
  snprintf(line, sizeof(line),
           "\npipelined_aws_request_duration_seconds_count%s} 3\n", labels);
  ck_assert_msg(strstr(text.data, line), "no '%s' in:\n%s", line, text.data);
  snprintf(line, sizeof(line),
           "\npipelined_aws_request_duration_seconds_bucket%s,le=\"+Inf\"} 3\n",
           labels);
  ck_assert_msg(strstr(text.data, line), "no '%s'", line);
  static const char *const classes[][2] = {
      {"5xx", "1"}, {"throttling", "1"}, {"4xx", "0"}, {"network", "0"}};
  for (size_t i = 0; i < 4; i++) {
    snprintf(line, sizeof(line),
             "\npipelined_aws_request_errors_total%s,class=\"%s\"} %s\n",
             labels, classes[i][0], classes[i][1]);
    ck_assert_msg(strstr(text.data, line), "no '%s' in:\n%s", line,
                  text.data);
  }
  pl_buf_free(&text);
  result_free(&r);
  fixture_free(f);
}
END_TEST

START_TEST(client_errors_are_not_retried) {
  fixture_t *f = fixture_create("dynamodb", 3, 0);
  fake_http_push(
      f->server,
      &(fake_http_response_t){
          .status = 400,
          .headers = "x-amzn-RequestId: REQ123\r\n",
          .body = "{\"__type\":\"com.amazon.coral.validate#"
                  "ValidationException\",\"message\":\"key is empty\"}"});
  result_t r = {0};
  json_t *body = json_object();
  pl_aws_json_call(f->client, "DynamoDB_20120810.PutItem", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  ck_assert_str_eq(r.code, "ValidationException");
  ck_assert(!r.retryable);
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.error, "dynamodb PutItem: HTTP 400 ValidationException: "
                            "key is empty (request id REQ123)");
  result_free(&r);
  fixture_free(f);
}
END_TEST

START_TEST(attempts_run_out_on_throttling) {
  fixture_t *f = fixture_create("sqs", 2, 0);
  for (int i = 0; i < 2; i++)
    fake_http_push(f->server,
                   &(fake_http_response_t){
                       .status = 400,
                       .headers = "x-amzn-query-error: "
                                  "AWS.SimpleQueueService.RequestThrottled;"
                                  "Sender\r\n",
                       .body = "{\"__type\":\"RequestThrottled\"}"});
  result_t r = {0};
  json_t *body = send_body();
  pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  ck_assert(r.retryable);
  ck_assert_ptr_nonnull(strstr(r.code, "RequestThrottled"));
  result_free(&r);
  fixture_free(f);
}
END_TEST

START_TEST(connection_errors_are_retried) {
  fixture_t *f = fixture_create("sqs", 2, 0);
  fake_http_push(f->server, &(fake_http_response_t){.drop = true});
  fake_http_push(f->server, &(fake_http_response_t){.status = 200,
                                                    .body = "{}"});
  result_t r = {0};
  json_t *body = send_body();
  pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  result_free(&r);
  fixture_free(f);
}
END_TEST

/* A request that went out on a kept-alive connection which then closed
 * without an answer is sent again by the HTTP client on a new one, as
 * libcurl does; the server may have done it the first time (an SQS message
 * sent twice), so it is counted as a failed attempt of class network. */
START_TEST(a_request_sent_again_by_the_http_client_is_counted) {
  fixture_t *f = fixture_create("sqs", 1, 0);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  fake_http_push(f->server, &(fake_http_response_t){.drop = true});
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t first = {0}, second = {0};
  call_and_wait(f, "AmazonSQS.SendMessageBatch", send_body(), &first);
  call_and_wait(f, "AmazonSQS.SendMessageBatch", send_body(), &second);
  ck_assert_msg(second.error == NULL, "%s", second.error);
  ck_assert_uint_eq(fake_http_request_count(f->server), 3);
  pl_buf_t text = {0};
  pl__metrics_render(f->run->engine, &text);
  const char *want = "\npipelined_aws_request_errors_total{service=\"sqs\","
                     "operation=\"SendMessageBatch\",class=\"network\"} 1\n";
  ck_assert_msg(strstr(text.data, want), "no '%s'", want);
  pl_buf_free(&text);
  result_free(&first);
  result_free(&second);
  fixture_free(f);
}
END_TEST

/* A broken or hostile endpoint's answer past the 8 MiB a parsed response
 * may have fails the call with a clear error, once: sending the request
 * again would only fetch the same answer. */
START_TEST(an_oversized_response_fails_without_a_retry) {
  fixture_t *f = fixture_create("sqs", 3, 0);
  size_t len = ((size_t)8 << 20) + 1;
  char *big = malloc(len);
  memset(big, ' ', len);
  big[0] = '{';
  big[len - 1] = '}';
  fake_http_push(f->server, &(fake_http_response_t){
                                .status = 200, .body = big, .body_len = len});
  free(big);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t r = {0};
  json_t *body = send_body();
  pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_ptr_null(r.value);
  ck_assert_str_eq(r.code, "ResponseTooLarge");
  ck_assert(!r.retryable);
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  ck_assert_msg(strstr(r.error, "sqs SendMessageBatch: response too large: ") &&
                    strstr(r.error, "8 MiB"),
                "%s", r.error);
  result_free(&r);
  fixture_free(f);
}
END_TEST

/* Ten SQS messages of up to 1 MiB each, JSON-escaped, can be more than
 * 8 MiB: a receive may have more (64 MiB). */
START_TEST(a_receive_may_be_larger_than_other_answers) {
  fixture_t *f = fixture_create("sqs", 1, 0);
  size_t len = (size_t)12 << 20;
  char *big = malloc(len);
  memset(big, ' ', len);
  memcpy(big, "{\"Messages\":[]", 14);
  big[len - 1] = '}';
  fake_http_push(f->server, &(fake_http_response_t){
                                .status = 200, .body = big, .body_len = len});
  free(big);
  result_t r = {0};
  json_t *body = json_pack("{s:s}", "QueueUrl", "http://q/1");
  pl_aws_json_call(f->client, "AmazonSQS.ReceiveMessage", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  ck_assert(json_is_array(json_object_get(r.value, "Messages")));
  result_free(&r);
  fixture_free(f);
}
END_TEST

/* request_timeout bounds each attempt, but a long poll may take its
 * WaitTimeSeconds on top: a receive that waits 1 s is answered after
 * 800 ms under a 300 ms request_timeout, while a send is not. */
START_TEST(a_long_poll_has_its_wait_on_top_of_request_timeout) {
  fixture_t *f = fixture_create_timed("sqs", 1, 0, 300);
  fake_http_push(f->server, &(fake_http_response_t){
                                .status = 200, .body = "{}", .delay_ms = 800});
  result_t r = {0};
  json_t *body =
      json_pack("{s:s, s:i}", "QueueUrl", "http://q/1", "WaitTimeSeconds", 1);
  pl_aws_json_call(f->client, "AmazonSQS.ReceiveMessage", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  result_free(&r);

  fake_http_push(f->server, &(fake_http_response_t){
                                .status = 200, .body = "{}", .delay_ms = 800});
  result_t sent = {0};
  body = send_body();
  pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch", body, on_json,
                   &sent);
  json_decref(body);
  run_until(f, &sent.calls, 1);
  ck_assert_ptr_nonnull(sent.code);
  ck_assert_str_eq(sent.code, "Timeout");
  result_free(&sent);
  fixture_free(f);
}
END_TEST

START_TEST(clock_skew_is_corrected_from_the_date_header) {
  fixture_t *f = fixture_create("dynamodb", 3, 0);
  /* The server says it is 2001: the client signs with that time next. */
  fake_http_push(
      f->server,
      &(fake_http_response_t){
          .status = 400,
          .headers = "Date: Mon, 01 Jan 2001 00:00:00 GMT\r\n",
          .body = "{\"__type\":\"com.amazon.coral.service#"
                  "InvalidSignatureException\",\"message\":\"Signature "
                  "expired: 20261126T000000Z is now earlier than "
                  "20010101T000000Z\"}"});
  fake_http_push(f->server, &(fake_http_response_t){.status = 200,
                                                    .body = "{}"});
  result_t r = {0};
  json_t *body = json_object();
  pl_aws_json_call(f->client, "DynamoDB_20120810.GetItem", body, on_json, &r);
  json_decref(body);
  run_until(f, &r.calls, 1);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  char *date = fake_http_request_header(fake_http_request(f->server, 1),
                                        "X-Amz-Date");
  ck_assert_msg(strncmp(date, "20010101T", 9) == 0, "%s", date);
  free(date);
  ck_assert_ptr_nonnull(strstr(test_log(f->run), "the clock is off"));
  result_free(&r);
  fixture_free(f);
}
END_TEST

/* The 400 a service answers for a session token past its time. */
static const fake_http_response_t expired_token = {
    .status = 400,
    .body = "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\","
            "\"message\":\"The security token included in the request is "
            "expired\"}"};

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

/* Credentials a service refuses as expired are dropped and fetched again,
 * and the request is sent again with the new ones, once: before, every
 * request failed with ExpiredToken until the cached set reached its own
 * Expiration (up to 6 hours for instance metadata). */
START_TEST(an_expired_token_fetches_new_credentials_once) {
  fixture_t *f = fixture_create("sqs", 3, 0);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t r = {0};
  call_and_wait(f, "AmazonSQS.SendMessageBatch", send_body(), &r);
  ck_assert_msg(r.error == NULL, "%s", r.error);
  result_free(&r);
  /* The environment now has other keys; the cached ones never expire. */
  f->env[0].value = "AKIDFRESH";
  fake_http_push(f->server, &expired_token);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t r2 = {0};
  call_and_wait(f, "AmazonSQS.SendMessageBatch", send_body(), &r2);
  ck_assert_msg(r2.error == NULL, "%s", r2.error);
  ck_assert_uint_eq(fake_http_request_count(f->server), 3);
  char *auth = fake_http_request_header(fake_http_request(f->server, 2),
                                        "Authorization");
  ck_assert_msg(strstr(auth, "Credential=AKIDFRESH/"), "%s", auth);
  free(auth);
  ck_assert_int_eq(
      count_of(test_log(f->run),
               "fetching new credentials (these were refused as expired"),
      1);
  result_free(&r2);

  /* Refused again with the new ones: the call fails, naming the token,
   * and retrying later may help (it is not a lasting error). */
  fake_http_push(f->server, &expired_token);
  fake_http_push(f->server, &expired_token);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t r3 = {0};
  call_and_wait(f, "AmazonSQS.SendMessageBatch", send_body(), &r3);
  ck_assert_uint_eq(fake_http_request_count(f->server), 5);
  ck_assert_str_eq(r3.code, "ExpiredTokenException");
  ck_assert(r3.retryable);
  ck_assert_int_eq(
      count_of(test_log(f->run),
               "fetching new credentials (these were refused as expired"),
      2);
  result_free(&r3);
  fixture_free(f);
}
END_TEST

START_TEST(no_region_is_a_clear_error) {
  fixture_t *f = fixture_create("sqs", 0, 0);
  f->env[2].value = NULL; /* AWS_REGION */
  pl_aws_client_t *client = NULL;
  pl_aws_client_options_t opts = {.service = "sqs"};
  ck_assert_int_lt(pl_aws_client_create(f->inst, &opts, &client), 0);
  ck_assert_ptr_nonnull(strstr(test_log(f->run), "no AWS region"));
  fixture_free(f);
}
END_TEST

/* ---- In-flight limit and cancellation ---- */

START_TEST(max_in_flight_bounds_concurrent_requests) {
  fixture_t *f = fixture_create("sqs", 1, 2);
  result_t r[5] = {{0}};
  for (int i = 0; i < 5; i++) {
    /* The second request's answer comes well after the first's, so that
     * one slot frees at a time. */
    fake_http_push(f->server, &(fake_http_response_t){
                                  .status = 200,
                                  .body = "{}",
                                  .delay_ms = i == 1 ? 250 : 30});
    json_t *body = send_body();
    ck_assert_int_eq(pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch",
                                      body, on_json, &r[i]),
                     0);
    json_decref(body);
  }
  /* Run until the first answer: only two requests may have been sent,
   * and a third in the same turn once the answer frees a slot. */
  while (r[0].calls + r[1].calls == 0)
    ck_assert(uv_run(&f->run->loop, UV_RUN_ONCE) != 0);
  ck_assert_uint_le(fake_http_request_count(f->server), 3);
  for (int i = 0; i < 5; i++)
    run_until(f, &r[i].calls, 1);
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(r[i].calls, 1);
    result_free(&r[i]);
  }
  fixture_free(f);
}
END_TEST

START_TEST(destroy_cancels_calls) {
  fixture_t *f = fixture_create("sqs", 3, 1);
  fake_http_push(f->server, &(fake_http_response_t){.hang = true});
  result_t r[2] = {{0}};
  for (int i = 0; i < 2; i++) {
    json_t *body = send_body();
    pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch", body, on_json,
                     &r[i]);
    json_decref(body);
  }
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  run_until(f, &r[0].calls, 1);
  run_until(f, &r[1].calls, 1);
  ck_assert_str_eq(r[0].code, "Canceled");
  ck_assert_str_eq(r[1].code, "Canceled");
  result_free(&r[0]);
  result_free(&r[1]);
  fixture_free(f);
}
END_TEST

/* ---- S3 REST ---- */

typedef struct stream {
  fixture_t *f;
  pl_aws_call_t *call;
  size_t received;
  int done;
  int status;
  int pauses;
  char *error;
  uv_timer_t timer;
} stream_t;

static void on_resume(uv_timer_t *timer) {
  stream_t *s = timer->data;
  pl_aws_call_resume(s->call);
}

static bool on_body(void *data, const char *bytes, size_t len) {
  stream_t *s = data;
  for (size_t i = 0; i < len; i++)
    ck_assert_int_eq((unsigned char)bytes[i], (s->received + i) % 251);
  s->received += len;
  if (s->pauses < 3) {
    s->pauses++;
    uv_timer_start(&s->timer, on_resume, 5, 0);
    return false;
  }
  return true;
}

static void on_rest_done(void *data, int status, const char *body, size_t len,
                         const pl_aws_error_t *error) {
  stream_t *s = data;
  s->done++;
  s->status = status;
  if (error) {
    pl_buf_t text = {0};
    pl_aws_error_format(error, &text);
    s->error = text.data;
  }
}

START_TEST(s3_get_streams_with_pauses) {
  fixture_t *f = fixture_create("s3", 0, 0);
  size_t size = 3 * 1024 * 1024;
  char *object = malloc(size);
  for (size_t i = 0; i < size; i++)
    object[i] = (char)(i % 251);
  fake_http_push(f->server,
                 &(fake_http_response_t){.method = "GET",
                                         .path_prefix = "/my-bucket/dir/a%20b.csv",
                                         .status = 200,
                                         .body = object,
                                         .body_len = size});
  stream_t s = {.f = f};
  uv_timer_init(&f->run->loop, &s.timer);
  s.timer.data = &s;
  pl_aws_rest_request_t req = {.operation = "GetObject",
                               .method = "GET",
                               .bucket = "my-bucket",
                               .key = "dir/a b.csv"};
  pl_aws_rest_handlers_t handlers = {.on_body = on_body,
                                     .on_done = on_rest_done,
                                     .data = &s};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, &s.call), 0);
  run_until(f, &s.done, 1);
  ck_assert_msg(s.error == NULL, "%s", s.error);
  ck_assert_uint_eq(s.received, size);
  ck_assert_int_ge(s.pauses, 3);
  const fake_http_request_t *r = fake_http_request(f->server, 0);
  char *sha = fake_http_request_header(r, "x-amz-content-sha256");
  ck_assert_str_eq(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
                        "991b7852b855");
  free(sha);
  uv_close((uv_handle_t *)&s.timer, NULL);
  free(object);
  fixture_free(f);
}
END_TEST

START_TEST(s3_errors_are_parsed_from_xml) {
  fixture_t *f = fixture_create("s3", 0, 0);
  fake_http_push(
      f->server,
      &(fake_http_response_t){
          .status = 404,
          .body = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>"
                  "<Message>The specified key does not exist.</Message>"
                  "<RequestId>R1</RequestId></Error>"});
  stream_t s = {.f = f};
  pl_aws_rest_request_t req = {.operation = "GetObject",
                               .method = "GET",
                               .bucket = "b",
                               .key = "missing"};
  pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &s};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
  run_until(f, &s.done, 1);
  ck_assert_int_eq(s.status, 404);
  ck_assert_str_eq(s.error, "s3 GetObject: HTTP 404 NoSuchKey: The specified "
                            "key does not exist. (request id R1)");
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  free(s.error);
  fixture_free(f);
}
END_TEST

/* A call waiting for its credentials (a new client's first: they are read
 * from the loop) ends once, "Canceled", when its client is destroyed or
 * it is cancelled, and sends nothing; the credentials that come later
 * find no call (they reached the freed call before: ASan's
 * heap-use-after-free in send_signed). */
START_TEST(a_call_waiting_for_credentials_can_be_cancelled) {
  fixture_t *f = fixture_create("sqs", 3, 0);
  result_t r = {0};
  json_t *body = send_body();
  ck_assert_int_eq(pl_aws_json_call(f->client, "AmazonSQS.SendMessageBatch",
                                    body, on_json, &r),
                   0);
  json_decref(body);
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  run_until(f, &r.calls, 1);
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_str_eq(r.code, "Canceled");
  result_free(&r);
  ck_assert_uint_eq(fake_http_request_count(f->server), 0);
  fixture_free(f);

  f = fixture_create("s3", 3, 0);
  stream_t s = {.f = f};
  pl_aws_rest_request_t req = {
      .operation = "GetObject", .method = "GET", .bucket = "b", .key = "k"};
  pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &s};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, &s.call), 0);
  pl_aws_call_cancel(s.call);
  run_until(f, &s.done, 1);
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(s.done, 1);
  ck_assert_str_eq(s.error, "s3 GetObject: cancelled: cancelled");
  ck_assert_uint_eq(fake_http_request_count(f->server), 0);
  free(s.error);
  fixture_free(f);
}
END_TEST

/* A call whose request cannot be sent (here a header value with a line
 * break, which the transport refuses) fails from the loop, never inside
 * pl_aws_rest_call(): the call it returned is still there to pause, as
 * the S3 reader does (before, the call was freed and pausing it was a
 * heap-use-after-free). */
START_TEST(a_request_that_cannot_be_sent_fails_later) {
  fixture_t *f = fixture_create("s3", 0, 0);
  fake_http_push(f->server, &(fake_http_response_t){.status = 200});
  stream_t first = {.f = f};
  pl_aws_rest_request_t req = {
      .operation = "GetObject", .method = "GET", .bucket = "b", .key = "k"};
  pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &first};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
  run_until(f, &first.done, 1); /* the credentials are kept from now on */
  ck_assert_ptr_null(first.error);
  pl_aws_header_t bad[] = {{"If-Match", "\"abc\"\r\nX-Injected: y"}};
  stream_t s = {.f = f};
  req.headers = bad;
  req.header_count = 1;
  handlers.data = &s;
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, &s.call), 0);
  ck_assert_int_eq(s.done, 0);
  pl_aws_call_pause(s.call);
  run_until(f, &s.done, 1);
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(s.done, 1);
  ck_assert_str_eq(s.error, "s3 GetObject: connection failed: cannot send the "
                            "request");
  ck_assert_uint_eq(fake_http_request_count(f->server), 1);
  free(s.error);
  fixture_free(f);
}
END_TEST

/* A request the signer refuses (a method that is not a token) fails from
 * the loop, once, the credentials kept or not (it failed inside
 * pl_aws_rest_call() before once they were kept: a caller counting its
 * calls after a 0 saw the callback first). */
START_TEST(a_request_that_cannot_be_signed_fails_later) {
  fixture_t *f = fixture_create("s3", 0, 0);
  pl_aws_rest_request_t req = {
      .operation = "GetObject", .method = "G T", .bucket = "b", .key = "k"};
  for (int i = 0; i < 2; i++) {
    stream_t s = {.f = f};
    pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &s};
    ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
    ck_assert_int_eq(s.done, 0);
    run_until(f, &s.done, 1);
    ck_assert_str_eq(s.error, "s3 GetObject: connection failed: cannot sign "
                              "the request");
    free(s.error);
  }
  ck_assert_uint_eq(fake_http_request_count(f->server), 0);
  fixture_free(f);
}
END_TEST

static void destroy_client_on_done(void *data, int status, const char *body,
                                   size_t len, const pl_aws_error_t *error) {
  stream_t *s = data;
  on_rest_done(data, status, body, len, error);
  pl_aws_client_destroy(s->f->client);
  s->f->client = NULL;
}

/* A call waiting for a slot (max_in_flight 1) is started when the one
 * before it ends; when it cannot be sent, its callback, which destroys the
 * client (as the preflight's last check does), runs from the loop, after
 * the ending call let go of the client (before, release() went on with
 * the freed client: a heap-use-after-free). */
START_TEST(a_call_started_by_another_ending_may_destroy_the_client) {
  fixture_t *f = fixture_create("s3", 0, 1);
  fake_http_push(f->server, &(fake_http_response_t){.status = 200});
  stream_t first = {.f = f};
  pl_aws_rest_request_t req = {
      .operation = "GetObject", .method = "GET", .bucket = "b", .key = "k"};
  pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &first};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
  run_until(f, &first.done, 1);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .delay_ms = 50});
  stream_t a = {.f = f}, b = {.f = f};
  handlers.data = &a;
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
  pl_aws_header_t bad[] = {{"If-Match", "\"x\"\r\nX-Injected: y"}};
  pl_aws_rest_request_t broken = req;
  broken.headers = bad;
  broken.header_count = 1;
  pl_aws_rest_handlers_t destroying = {.on_done = destroy_client_on_done,
                                       .data = &b};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &broken, &destroying, NULL), 0);
  run_until(f, &b.done, 1);
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(a.done, 1);
  ck_assert_ptr_null(a.error);
  ck_assert_int_eq(b.done, 1);
  ck_assert_ptr_nonnull(strstr(b.error, "cannot send the request"));
  ck_assert_ptr_null(f->client);
  free(b.error);
  fixture_free(f);
}
END_TEST

/* Two calls waiting for their credentials when the client is destroyed;
 * the first's callback cancels the second (a plugin giving up the rest
 * of a job). Each ends once, "Canceled" (before, destroy went on to the
 * second after it was freed). */
typedef struct sibling {
  stream_t own;
  stream_t *other;
} sibling_t;

static void cancel_sibling_on_done(void *data, int status, const char *body,
                                   size_t len, const pl_aws_error_t *error) {
  sibling_t *sib = data;
  on_rest_done(&sib->own, status, body, len, error);
  if (sib->other->done == 0)
    pl_aws_call_cancel(sib->other->call);
}

START_TEST(a_callback_may_cancel_another_call_during_destroy) {
  fixture_t *f = fixture_create("s3", 0, 0);
  stream_t second = {.f = f};
  sibling_t first = {.own = {.f = f}, .other = &second};
  pl_aws_rest_request_t req = {
      .operation = "GetObject", .method = "GET", .bucket = "b", .key = "k"};
  pl_aws_rest_handlers_t h1 = {.on_done = cancel_sibling_on_done,
                               .data = &first};
  pl_aws_rest_handlers_t h2 = {.on_done = on_rest_done, .data = &second};
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &h1, &first.own.call), 0);
  ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &h2, &second.call), 0);
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(first.own.done, 1);
  ck_assert_int_eq(second.done, 1);
  ck_assert_str_eq(first.own.error, "s3 GetObject: cancelled: cancelled");
  ck_assert_str_eq(second.error, "s3 GetObject: cancelled: cancelled");
  ck_assert_uint_eq(fake_http_request_count(f->server), 0);
  free(first.own.error);
  free(second.error);
  fixture_free(f);
}
END_TEST

/* A call with more headers than the client keeps on the stack sends them
 * all, signed. */
START_TEST(a_call_with_many_headers_sends_them_all) {
  fixture_t *f = fixture_create("s3", 0, 0);
  /* With Host, around the call's own room for 4 and each doubling. */
  static const size_t counts[] = {2, 3, 4, 7, 8, 15, 16, 20};
  char names[20][24], values[20][24];
  pl_aws_header_t headers[20];
  for (size_t i = 0; i < 20; i++) {
    snprintf(names[i], sizeof names[i], "x-amz-meta-h%zu", i);
    snprintf(values[i], sizeof values[i], "value %zu", i);
    headers[i] = (pl_aws_header_t){names[i], values[i]};
  }
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    size_t n = counts[c];
    fake_http_push(f->server,
                   &(fake_http_response_t){.method = "PUT", .status = 200});
    stream_t s = {.f = f};
    pl_aws_rest_request_t req = {.operation = "PutObject",
                                 .method = "PUT",
                                 .bucket = "b",
                                 .key = "k",
                                 .headers = headers,
                                 .header_count = n,
                                 .body = "abc",
                                 .body_len = 3};
    pl_aws_rest_handlers_t handlers = {.on_done = on_rest_done, .data = &s};
    ck_assert_int_eq(pl_aws_rest_call(f->client, &req, &handlers, NULL), 0);
    run_until(f, &s.done, 1);
    ck_assert_msg(s.error == NULL, "%s", s.error);
    const fake_http_request_t *r = fake_http_request(f->server, c);
    for (size_t i = 0; i < n; i++) {
      char *v = fake_http_request_header(r, names[i]);
      ck_assert_msg(v && strcmp(v, values[i]) == 0, "%zu headers, %s: %s", n,
                    names[i], v ? v : "(missing)");
      free(v);
    }
    char *auth = fake_http_request_header(r, "authorization");
    ck_assert_ptr_nonnull(strstr(auth, names[n - 1]));
    free(auth);
  }
  fixture_free(f);
}
END_TEST

/* A JSON call points to its client's URL, path and Host (worked out at the
 * client's first call): destroying the client while such a call waits out
 * a retry's backoff ends it "Canceled", once, and frees it after the
 * client without reading them. */
START_TEST(a_call_in_backoff_ends_with_its_client) {
  fixture_t *f = fixture_create("sqs", 3, 0);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 200, .body = "{}"});
  result_t first = {0};
  call_and_wait(f, "AmazonSQS.SendMessage", send_body(), &first);
  ck_assert_ptr_null(first.error);
  result_free(&first);
  fake_http_push(f->server,
                 &(fake_http_response_t){.status = 500, .body = "{}"});
  result_t r = {0};
  json_t *body = send_body();
  ck_assert_int_eq(
      pl_aws_json_call(f->client, "AmazonSQS.SendMessage", body, on_json, &r),
      0);
  json_decref(body);
  while (fake_http_request_count(f->server) < 2)
    ck_assert(uv_run(&f->run->loop, UV_RUN_ONCE) != 0);
  for (int i = 0; i < 5; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(r.calls, 0); /* waiting to retry */
  pl_aws_client_destroy(f->client);
  f->client = NULL;
  run_until(f, &r.calls, 1);
  for (int i = 0; i < 20; i++)
    uv_run(&f->run->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_str_eq(r.code, "Canceled");
  ck_assert_uint_eq(fake_http_request_count(f->server), 2);
  result_free(&r);
  fixture_free(f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("aws_client");
  TCase *json = tcase_create("json");
  tcase_set_timeout(json, 30);
  tcase_add_test(json, json_call_is_signed_and_parsed);
  tcase_add_test(json, an_expired_token_fetches_new_credentials_once);
  tcase_add_test(json, a_call_waiting_for_credentials_can_be_cancelled);
  tcase_add_test(json, a_call_in_backoff_ends_with_its_client);
  tcase_add_test(json, a_request_that_cannot_be_sent_fails_later);
  tcase_add_test(json, a_request_that_cannot_be_signed_fails_later);
  tcase_add_test(json, a_call_started_by_another_ending_may_destroy_the_client);
  tcase_add_test(json, a_callback_may_cancel_another_call_during_destroy);
  tcase_add_test(json, json_calls_go_to_the_endpoint_root_every_time);
  tcase_add_test(json, json_text_call_sends_and_returns_text);
  tcase_add_test(json, server_errors_are_retried_then_succeed);
  tcase_add_test(json, client_errors_are_not_retried);
  tcase_add_test(json, attempts_run_out_on_throttling);
  tcase_add_test(json, connection_errors_are_retried);
  tcase_add_test(json, a_request_sent_again_by_the_http_client_is_counted);
  tcase_add_test(json, an_oversized_response_fails_without_a_retry);
  tcase_add_test(json, a_receive_may_be_larger_than_other_answers);
  tcase_add_test(json, a_long_poll_has_its_wait_on_top_of_request_timeout);
  tcase_add_test(json, clock_skew_is_corrected_from_the_date_header);
  tcase_add_test(json, no_region_is_a_clear_error);
  tcase_add_test(json, max_in_flight_bounds_concurrent_requests);
  tcase_add_test(json, destroy_cancels_calls);
  suite_add_tcase(s, json);
  TCase *rest = tcase_create("s3");
  tcase_set_timeout(rest, 30);
  tcase_add_test(rest, s3_get_streams_with_pauses);
  tcase_add_test(rest, s3_errors_are_parsed_from_xml);
  tcase_add_test(rest, a_call_with_many_headers_sends_them_all);
  suite_add_tcase(s, rest);
  return test_suite_run(s);
}
