/* The scripted SQS of the queue-reading plugins' tests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/common.h>

#include "test_sqs.h"

json_t *test_sqs_message(const char *id, const char *handle, const char *body,
                         int receive_count, json_t *attrs) {
  char count[16];
  snprintf(count, sizeof(count), "%d", receive_count);
  json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "MessageId", id,
                        "ReceiptHandle", handle, "MD5OfBody", "x", "Body", body,
                        "Attributes", "ApproximateReceiveCount", count,
                        "SentTimestamp", "1700000000123");
  if (attrs)
    json_object_set_new(m, "MessageAttributes", attrs);
  return m;
}

void test_sqs_push_messages(fake_http_t *server, json_t *messages,
                            unsigned delay_ms) {
  json_t *answer = json_pack("{s:o}", "Messages", messages);
  char *text = json_dumps(answer, JSON_COMPACT);
  fake_http_push(server, &(fake_http_response_t){.method = "POST",
                                                 .status = 200,
                                                 .body = text,
                                                 .delay_ms = delay_ms});
  free(text);
  json_decref(answer);
}

void test_sqs_push_empty(fake_http_t *server, size_t n, unsigned delay_ms) {
  for (size_t i = 0; i < n; i++)
    fake_http_push(server, &(fake_http_response_t){.method = "POST",
                                                   .status = 200,
                                                   .body = "{}",
                                                   .delay_ms = delay_ms});
}

static bool has_target(const fake_http_request_t *req, const char *target) {
  char *value = fake_http_request_header(req, "X-Amz-Target");
  bool match = value && strcmp(value, target) == 0;
  free(value);
  return match;
}

size_t test_sqs_count_calls(const fake_http_t *server, const char *target) {
  size_t n = 0;
  for (size_t i = 0; i < fake_http_request_count(server); i++)
    n += has_target(fake_http_request(server, i), target);
  return n;
}

json_t *test_sqs_call_body(const fake_http_t *server, const char *target,
                           size_t nth) {
  size_t skip = nth;
  for (size_t i = 0; i < fake_http_request_count(server); i++) {
    const fake_http_request_t *req = fake_http_request(server, i);
    if (!has_target(req, target) || skip-- > 0)
      continue;
    json_error_t error;
    json_t *body = json_loads(req->body, 0, &error);
    ck_assert_msg(body != NULL, "%s: %s", req->body, error.text);
    return body;
  }
  ck_abort_msg("no call %zu to %s", nth, target);
  return NULL;
}

char *test_sqs_handles(const fake_http_t *server, const char *target,
                       const char *queue_url) {
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "");
  size_t calls = test_sqs_count_calls(server, target);
  for (size_t c = 0; c < calls; c++) {
    json_t *body = test_sqs_call_body(server, target, c);
    ck_assert_str_eq(json_string_value(json_object_get(body, "QueueUrl")),
                     queue_url);
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(body, "Entries"), i, entry) {
      if (out.len > 0)
        pl_buf_append_str(&out, " ");
      pl_buf_append_str(
          &out, json_string_value(json_object_get(entry, "ReceiptHandle")));
      json_t *vis = json_object_get(entry, "VisibilityTimeout");
      if (vis)
        pl_buf_printf(&out, "@%lld", (long long)json_integer_value(vis));
    }
    json_decref(body);
  }
  return out.data;
}

void test_sqs_assert_handles(const fake_http_t *server, const char *target,
                             const char *queue_url, const char *want,
                             const char *log) {
  char *got = test_sqs_handles(server, target, queue_url);
  ck_assert_msg(strcmp(got, want) == 0, "%s: got '%s', want '%s'\n%s", target,
                got, want, log);
  free(got);
}
