/* Check suite for src/aws/http_curl.c (the libcurl transport driven by the
 * libuv loop) against tests/unit/fake_http.c on the same loop: methods,
 * bodies and headers both ways, keep-alive, the per-host in-flight limit
 * and its FIFO queue, timeouts and transport errors, streaming with
 * pauses, cancellation and close. The streaming, stall and cancel cases
 * run twice (loop tests): on libcurl (_i == 0) and on the builtin client
 * (http_h1.c, _i == 1), whose fallback there is a libcurl that cannot be
 * loaded, so that a request it handed on would fail. Every test ends with
 * uv_loop_close() == 0 (HACKING.md#s6). */
#include "http.h"
#include "http_h1.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_http.h"
#include "test_suite.h"

enum { MAX_ORDER = 64 };

typedef struct fixture {
  uv_loop_t loop;
  fake_http_t *server;
  pl_http_curl_t *http;
  pl_http_h1_t *h1; /* the builtin client on top of `http`, or NULL */
  const pl_http_transport_t *transport;
  uv_timer_t guard;
  bool expired;
  bool in_submit;    /* on_done must never run while this is set */
  bool http_closing; /* the test closed the transport itself */
  bool closed;
  int closed_after; /* on_done calls seen when `closed` ran */
  int done_count;
  int order[MAX_ORDER]; /* result indexes in on_done order */
  char url[256];
} fixture_t;

/* Response headers the tests look at, copied out of on_done. */
static const char *const watched[] = {"content-length", "x-thing",
                                      "x-fake-http-connection", "content-type"};
enum { WATCHED = sizeof watched / sizeof *watched };

typedef struct result {
  fixture_t *t;
  int index;
  pl_http_call_t *call;
  int done_calls;
  int headers_calls;
  int headers_status;
  int status;
  int error;
  char *error_text;
  bool body_null;
  char *body;
  size_t body_len;
  bool body_truncated;
  char *header[WATCHED];
  uint64_t done_at;
  /* Streaming. */
  size_t streamed;
  size_t pieces;
  size_t max_piece;
  bool pattern_broken;
  unsigned pause_every; /* on_body returns false every n-th piece */
  unsigned resume_ms;
  unsigned pauses;
  bool paused;
  bool timer_ready;
  uv_timer_t resume_timer;
  size_t cancel_at;      /* >0: cancel itself after this many bytes */
  size_t close_at;       /* >0: close the transport after this many */
  bool pause_in_headers; /* pause() from on_headers, resume later */
  bool chain;            /* on_done submits the next request */
  int chain_left;
} result_t;

/* ---- Fixture ---- */

static void on_guard(uv_timer_t *timer) {
  fixture_t *t = timer->data;
  t->expired = true;
}

static void setup_with(fixture_t *t, const pl_http_curl_options_t *opts) {
  memset(t, 0, sizeof *t);
  ck_assert_int_eq(uv_loop_init(&t->loop), 0);
  ck_assert_int_eq(fake_http_start(&t->loop, &t->server), 0);
  ck_assert_int_eq(pl__http_curl_create(&t->loop, opts, &t->http), 0);
  t->transport = pl__http_curl_transport(t->http);
  uv_timer_init(&t->loop, &t->guard);
  t->guard.data = t;
  uv_timer_start(&t->guard, on_guard, 20000, 0);
}

static void setup(fixture_t *t, size_t max_in_flight) {
  pl_http_curl_options_t opts = {.tls_verify = true,
                                 .max_in_flight = max_in_flight};
  setup_with(t, &opts);
}

/* setup() for loop test `kind`: 0 libcurl, 1 the builtin client, over a
 * libcurl that cannot be loaded. */
static void setup_on(fixture_t *t, size_t max_in_flight, int kind) {
  pl_http_curl_options_t opts = {
      .tls_verify = true,
      .max_in_flight = max_in_flight,
      .library =
          kind ? "/nonexistent/libcurl-not-for-the-builtin-client.so" : NULL};
  setup_with(t, &opts);
  if (!kind)
    return;
  pl_http_h1_options_t h1_opts = {.fallback = pl__http_curl_transport(t->http),
                                  .tls_verify = true};
  ck_assert_int_eq(pl__http_h1_create(&t->loop, &h1_opts, &t->h1), 0);
  t->transport = pl__http_h1_transport(t->h1);
}

static void on_closed(void *data) {
  fixture_t *t = data;
  ck_assert(!t->closed);
  t->closed = true;
  t->closed_after = t->done_count;
}

static void on_h1_closed(void *data) {
  fixture_t *t = data;
  pl__http_curl_close(t->http, on_closed, t);
}

static void close_http(fixture_t *t) {
  t->http_closing = true;
  if (t->h1)
    pl__http_h1_close(t->h1, on_h1_closed, t);
  else
    pl__http_curl_close(t->http, on_closed, t);
}

static void teardown(fixture_t *t) {
  if (!t->http_closing)
    close_http(t);
  fake_http_close(t->server);
  uv_close((uv_handle_t *)&t->guard, NULL);
  ck_assert_int_eq(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
  ck_assert(t->closed);
  ck_assert_int_eq(uv_loop_close(&t->loop), 0);
}

static void run_until(fixture_t *t, const int *value, int target) {
  while (*value < target && !t->expired)
    uv_run(&t->loop, UV_RUN_ONCE);
  ck_assert_msg(!t->expired, "timed out waiting (%d of %d)", *value, target);
}

static void run_until_requests(fixture_t *t, size_t count) {
  while (fake_http_request_count(t->server) < count && !t->expired)
    uv_run(&t->loop, UV_RUN_ONCE);
  ck_assert(!t->expired);
}

static const char *url(fixture_t *t, const char *path) {
  snprintf(t->url, sizeof t->url, "%s%s", fake_http_url(t->server), path);
  return t->url;
}

static unsigned char pattern(size_t i) {
  return (unsigned char)((i * 2654435761u) >> 24);
}

/* ---- Handlers ---- */

static int submit(fixture_t *t, result_t *r, const pl_http_request_t *req);

static void on_headers(void *data, const pl_http_response_t *response) {
  result_t *r = data;
  ck_assert(!r->t->in_submit);
  ck_assert_int_eq(r->done_calls, 0);
  ck_assert_ptr_null(response->body);
  r->headers_calls++;
  r->headers_status = response->status;
}

static void on_resume(uv_timer_t *timer) {
  result_t *r = timer->data;
  r->paused = false;
  /* libcurl may hand bytes to on_body from inside this call; the builtin
   * client does it from the loop. */
  r->t->transport->resume(r->t->transport->self, r->call);
}

static void on_headers_pausing(void *data, const pl_http_response_t *resp) {
  result_t *r = data;
  on_headers(data, resp);
  r->paused = true;
  r->t->transport->pause(r->t->transport->self, r->call);
  uv_timer_start(&r->resume_timer, on_resume, r->resume_ms ? r->resume_ms : 50,
                 0);
}

static bool on_body(void *data, const char *bytes, size_t len) {
  result_t *r = data;
  ck_assert(!r->t->in_submit);
  ck_assert_msg(!r->paused, "on_body while paused");
  ck_assert_int_eq(r->headers_calls, 1);
  ck_assert_int_eq(r->done_calls, 0);
  ck_assert_uint_gt(len, 0);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)bytes[i] != pattern(r->streamed + i))
      r->pattern_broken = true;
  r->streamed += len;
  r->pieces++;
  if (len > r->max_piece)
    r->max_piece = len;
  if (r->cancel_at && r->streamed >= r->cancel_at) {
    r->cancel_at = 0;
    r->t->transport->cancel(r->t->transport->self, r->call);
    return true;
  }
  if (r->close_at && r->streamed >= r->close_at) {
    r->close_at = 0;
    close_http(r->t);
    return true;
  }
  if (r->pause_every && r->pieces % r->pause_every == 0) {
    r->paused = true;
    r->pauses++;
    uv_timer_start(&r->resume_timer, on_resume, r->resume_ms, 0);
    return false;
  }
  return true;
}

static char *copy_or_null(const char *text) {
  return text ? strdup(text) : NULL;
}

static void on_done(void *data, const pl_http_response_t *response) {
  result_t *r = data;
  fixture_t *t = r->t;
  ck_assert(!t->in_submit);
  ck_assert_int_eq(r->done_calls, 0);
  r->done_calls++;
  r->done_at = uv_now(&t->loop);
  ck_assert_int_lt(t->done_count, MAX_ORDER);
  t->order[t->done_count++] = r->index;
  r->status = response->status;
  r->error = response->error;
  r->error_text = copy_or_null(response->error_text);
  r->body_null = response->body == NULL;
  if (response->body) {
    ck_assert_int_eq(response->body[response->body_len], '\0');
    r->body = malloc(response->body_len + 1);
    memcpy(r->body, response->body, response->body_len + 1);
    r->body_len = response->body_len;
  }
  r->body_truncated = response->body_truncated;
  for (size_t i = 0; i < WATCHED; i++)
    r->header[i] = copy_or_null(pl__http_header(response, watched[i]));
  if (r->chain && r->chain_left > 0) {
    result_t *next = r + 1;
    next->chain = true;
    next->chain_left = r->chain_left - 1;
    pl_http_request_t req = {.method = "GET", .url = url(t, "/chain")};
    ck_assert_int_eq(submit(t, next, &req), 0);
  }
}

static void result_free(result_t *r) {
  free(r->error_text);
  free(r->body);
  for (size_t i = 0; i < WATCHED; i++)
    free(r->header[i]);
}

static const char *header_of(const result_t *r, const char *name) {
  for (size_t i = 0; i < WATCHED; i++)
    if (strcmp(watched[i], name) == 0)
      return r->header[i];
  return NULL;
}

/* Submits with on_headers and on_done, and on_body when `streamed`. */
static int submit_with(fixture_t *t, result_t *r, const pl_http_request_t *req,
                       bool streamed) {
  r->t = t;
  pl_http_handlers_t handlers = {
      .on_headers = r->pause_in_headers ? on_headers_pausing : on_headers,
      .on_body = streamed ? on_body : NULL,
      .on_done = on_done,
      .data = r,
  };
  t->in_submit = true;
  int rc = pl__http_submit(t->transport, req, &handlers, &r->call);
  t->in_submit = false;
  return rc;
}

static int submit(fixture_t *t, result_t *r, const pl_http_request_t *req) {
  return submit_with(t, r, req, false);
}

static void get(fixture_t *t, result_t *r, const char *path,
                uint64_t timeout_ms) {
  pl_http_request_t req = {
      .method = "GET", .url = url(t, path), .timeout_ms = timeout_ms};
  ck_assert_int_eq(submit(t, r, &req), 0);
}

static void assert_header(const fake_http_request_t *req, const char *name,
                          const char *expected) {
  char *value = fake_http_request_header(req, name);
  if (expected) {
    ck_assert_msg(value != NULL, "no %s header", name);
    ck_assert_str_eq(value, expected);
  } else {
    ck_assert_msg(value == NULL, "unexpected %s: %s", name, value);
  }
  free(value);
}

/* ---- Requests and responses ---- */

START_TEST(get_sends_headers_and_returns_status_headers_and_body) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){
                               .method = "GET",
                               .path_prefix = "/hello",
                               .status = 200,
                               .headers = "X-Thing:  Some Value \r\n"
                                          "Content-Type: text/plain\r\n",
                               .body = "hello"});
  pl_http_header_t headers[] = {{"X-Custom", "abc"}, {"X-Empty", ""}};
  pl_http_request_t req = {.method = "GET",
                           .url = url(&t, "/hello?a=1&b=x%20y"),
                           .headers = headers,
                           .header_count = 2,
                           .timeout_ms = 5000};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  ck_assert_int_eq(r.done_calls, 0); /* never from inside submit */
  run_until(&t, &r.done_calls, 1);

  ck_assert_int_eq(r.error, 0);
  ck_assert_ptr_null(r.error_text);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(r.headers_calls, 1);
  ck_assert_int_eq(r.headers_status, 200);
  ck_assert(!r.body_null);
  ck_assert_uint_eq(r.body_len, 5);
  ck_assert_str_eq(r.body, "hello");
  ck_assert_str_eq(header_of(&r, "x-thing"), "Some Value");
  ck_assert_str_eq(header_of(&r, "content-type"), "text/plain");
  ck_assert_str_eq(header_of(&r, "content-length"), "5");

  ck_assert_uint_eq(fake_http_request_count(t.server), 1);
  const fake_http_request_t *seen = fake_http_request(t.server, 0);
  ck_assert_str_eq(seen->method, "GET");
  ck_assert_str_eq(seen->path, "/hello?a=1&b=x%20y");
  assert_header(seen, "x-custom", "abc");
  assert_header(seen, "X-Empty", "");
  assert_header(seen, "Expect", NULL);
  assert_header(seen, "Accept", NULL);
  assert_header(seen, "Content-Length", NULL);
  ck_assert_uint_eq(seen->body_len, 0);
  result_free(&r);
  teardown(&t);
}
END_TEST

/* Response headers are stored one block each: past the first 16 the arrays
 * grow, and an obsolete folded line continues the previous value. */
START_TEST(many_and_folded_response_headers) {
  fixture_t t;
  setup(&t, 4);
  pl_buf_t extra = {0};
  for (int i = 0; i < 20; i++)
    ck_assert_int_eq(pl_buf_printf(&extra, "X-Filler-%d: %d\r\n", i, i), 0);
  ck_assert_int_eq(pl_buf_printf(&extra, "X-THING: first\r\n"
                                         " second\r\n"
                                         "Content-Type: text/plain\r\n"),
                   0);
  fake_http_push(t.server, &(fake_http_response_t){.method = "GET",
                                                   .status = 200,
                                                   .headers = extra.data,
                                                   .body = "ok"});
  pl_http_request_t req = {
      .method = "GET", .url = url(&t, "/many"), .timeout_ms = 5000};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(header_of(&r, "x-thing"), "first second");
  ck_assert_str_eq(header_of(&r, "content-type"), "text/plain");
  ck_assert_str_eq(header_of(&r, "content-length"), "2");
  pl_buf_free(&extra);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(put_sends_a_binary_body_with_its_length) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server,
                 &(fake_http_response_t){.method = "PUT",
                                         .status = 200,
                                         .headers = "ETag: \"abc\"\r\n"});
  size_t len = 300 * 1024;
  char *body = malloc(len);
  for (size_t i = 0; i < len; i++)
    body[i] = (char)pattern(i); /* NUL bytes included */
  pl_http_header_t headers[] = {{"Content-Type", "application/octet-stream"}};
  pl_http_request_t req = {.method = "PUT",
                           .url = url(&t, "/bucket/key"),
                           .headers = headers,
                           .header_count = 1,
                           .body = body,
                           .body_len = len};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  /* Borrowed for the call only: the transport kept its own copy. */
  memset(body, 'x', len);
  free(body);
  run_until(&t, &r.done_calls, 1);

  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.body_len, 0);
  ck_assert_str_eq(r.body, "");
  const fake_http_request_t *seen = fake_http_request(t.server, 0);
  ck_assert_str_eq(seen->method, "PUT");
  ck_assert_str_eq(seen->path, "/bucket/key");
  ck_assert_uint_eq(seen->body_len, len);
  size_t mismatches = 0;
  for (size_t i = 0; i < len; i++)
    mismatches += (unsigned char)seen->body[i] != pattern(i);
  ck_assert_uint_eq(mismatches, 0);
  char expected_length[32];
  snprintf(expected_length, sizeof expected_length, "%zu", len);
  assert_header(seen, "Content-Length", expected_length);
  assert_header(seen, "Content-Type", "application/octet-stream");
  assert_header(seen, "Expect", NULL);
  assert_header(seen, "Transfer-Encoding", NULL);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(post_returns_an_error_status_as_a_response) {
  fixture_t t;
  setup(&t, 4);
  const char *error_body = "{\"__type\":\"ThrottlingException\"}";
  fake_http_push(t.server,
                 &(fake_http_response_t){
                     .method = "POST",
                     .path_prefix = "/",
                     .status = 400,
                     .headers = "Content-Type: application/x-amz-json-1.0\r\n",
                     .body = error_body});
  const char *json = "{\"QueueUrl\":\"q\"}";
  pl_http_header_t headers[] = {{"Content-Type", "application/x-amz-json-1.0"},
                                {"X-Amz-Target", "AmazonSQS.SendMessageBatch"}};
  pl_http_request_t req = {.method = "POST",
                           .url = url(&t, "/"),
                           .headers = headers,
                           .header_count = 2,
                           .body = json,
                           .body_len = strlen(json)};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);

  ck_assert_int_eq(r.error, 0); /* an HTTP error is not a transport one */
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.body, error_body);
  const fake_http_request_t *seen = fake_http_request(t.server, 0);
  ck_assert_str_eq(seen->method, "POST");
  ck_assert_str_eq(seen->body, json);
  assert_header(seen, "Content-Type", "application/x-amz-json-1.0");
  assert_header(seen, "X-Amz-Target", "AmazonSQS.SendMessageBatch");
  result_free(&r);
  teardown(&t);
}
END_TEST

/* A streaming caller gets an error response's body whole, in on_done, for
 * its error parser; on_body sees none of it. */
START_TEST(an_error_body_is_buffered_even_when_streaming) {
  fixture_t t;
  setup_on(&t, 4, _i);
  const char *error_body = "<Error><Code>NoSuchKey</Code></Error>";
  fake_http_push(t.server, &(fake_http_response_t){.method = "GET",
                                                   .path_prefix = "/b/k",
                                                   .status = 404,
                                                   .body = error_body});
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/b/k")};
  result_t r = {0};
  ck_assert_int_eq(submit_with(&t, &r, &req, true), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, 404);
  ck_assert_uint_eq(r.streamed, 0);
  ck_assert_str_eq(r.body, error_body);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(post_without_a_body_sends_no_form_content_type) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){.status = 200});
  pl_http_request_t req = {.method = "POST", .url = url(&t, "/empty")};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.status, 200);
  const fake_http_request_t *seen = fake_http_request(t.server, 0);
  assert_header(seen, "Content-Length", "0");
  assert_header(seen, "Content-Type", NULL);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(an_interim_100_continue_is_not_the_response) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server,
                 &(fake_http_response_t){.status = 200,
                                         .headers = "X-Thing: final\r\n",
                                         .body = "done"});
  /* Asked for explicitly, so libcurl waits for the server's 100. */
  pl_http_header_t headers[] = {{"Expect", "100-continue"}};
  pl_http_request_t req = {.method = "PUT",
                           .url = url(&t, "/upload"),
                           .headers = headers,
                           .header_count = 1,
                           .body = "payload",
                           .body_len = 7,
                           .timeout_ms = 5000};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, 0);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(r.headers_calls, 1);
  ck_assert_int_eq(r.headers_status, 200);
  ck_assert_str_eq(r.body, "done");
  ck_assert_str_eq(header_of(&r, "x-thing"), "final");
  const fake_http_request_t *seen = fake_http_request(t.server, 0);
  ck_assert_str_eq(seen->body, "payload");
  assert_header(seen, "Expect", "100-continue");
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(head_and_delete_have_no_response_body) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){.method = "HEAD",
                                                   .status = 200,
                                                   .body = "sixsix"});
  fake_http_push(t.server,
                 &(fake_http_response_t){.method = "DELETE", .status = 204});
  result_t head = {0}, del = {.index = 1};
  pl_http_request_t req = {.method = "HEAD", .url = url(&t, "/obj")};
  ck_assert_int_eq(submit(&t, &head, &req), 0);
  req = (pl_http_request_t){.method = "DELETE", .url = url(&t, "/obj")};
  ck_assert_int_eq(submit(&t, &del, &req), 0);
  run_until(&t, &t.done_count, 2);

  ck_assert_int_eq(head.error, 0);
  ck_assert_int_eq(head.status, 200);
  ck_assert_str_eq(header_of(&head, "content-length"), "6");
  ck_assert_uint_eq(head.body_len, 0);
  ck_assert_int_eq(del.error, 0);
  ck_assert_int_eq(del.status, 204);
  ck_assert_uint_eq(del.body_len, 0);
  ck_assert_str_eq(fake_http_request(t.server, 0)->method, "HEAD");
  ck_assert_str_eq(fake_http_request(t.server, 1)->method, "DELETE");
  result_free(&head);
  result_free(&del);
  teardown(&t);
}
END_TEST

START_TEST(bad_requests_are_refused_without_a_callback) {
  fixture_t t;
  setup(&t, 4);
  result_t r = {0};
  const char *urls[] = {"not a url", "ftp://127.0.0.1/x", "/relative", ""};
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    pl_http_request_t req = {.method = "GET", .url = urls[i]};
    ck_assert_int_eq(submit(&t, &r, &req), PL_EINVAL);
  }
  pl_http_header_t bad[][1] = {
      {{"Bad Name", "v"}}, {{"X-Split", "a\r\nX-Injected: b"}},
      {{"X-Lf", "a\nb"}},  {{"X-Cr", "a\r"}},
      {{NULL, "v"}},       {{"X-Null", NULL}}};
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/")};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    req.headers = bad[i];
    req.header_count = 1;
    ck_assert_int_eq(submit(&t, &r, &req), PL_EINVAL);
  }
  req = (pl_http_request_t){.method = "G T", .url = url(&t, "/")};
  ck_assert_int_eq(submit(&t, &r, &req), PL_EINVAL);
  req =
      (pl_http_request_t){.method = "PUT", .url = url(&t, "/"), .body_len = 3};
  ck_assert_int_eq(submit(&t, &r, &req), PL_EINVAL);
  pl_http_handlers_t no_done = {.data = &r};
  req = (pl_http_request_t){.method = "GET", .url = url(&t, "/")};
  ck_assert_int_eq(pl__http_submit(t.transport, &req, &no_done, NULL),
                   PL_EINVAL);
  for (int i = 0; i < 5; i++)
    uv_run(&t.loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(r.done_calls, 0);
  ck_assert_uint_eq(fake_http_request_count(t.server), 0);
  teardown(&t);
}
END_TEST

/* ---- Connections and the in-flight limit ---- */

START_TEST(keep_alive_reuses_one_connection) {
  fixture_t t;
  setup(&t, 4);
  enum { N = 5 };
  for (int i = 0; i < N; i++)
    fake_http_push(t.server,
                   &(fake_http_response_t){.status = 200, .body = "ok"});
  result_t r[N] = {{0}};
  for (int i = 0; i < N; i++)
    r[i].index = i;
  r[0].chain = true;
  r[0].chain_left = N - 1; /* each on_done submits the next */
  get(&t, &r[0], "/chain", 5000);
  run_until(&t, &t.done_count, N);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(r[i].error, 0);
    ck_assert_int_eq(r[i].status, 200);
    ck_assert_str_eq(r[i].body, "ok");
    ck_assert_str_eq(header_of(&r[i], "x-fake-http-connection"), "1");
    result_free(&r[i]);
  }
  ck_assert_uint_eq(fake_http_request_count(t.server), N);
  teardown(&t);
}
END_TEST

typedef struct sampler {
  uv_timer_t timer;
  fixture_t *t;
  size_t max_outstanding;
} sampler_t;

/* Requests the server has received but the client has not finished. */
static void on_sample(uv_timer_t *timer) {
  sampler_t *s = timer->data;
  size_t outstanding =
      fake_http_request_count(s->t->server) - (size_t)s->t->done_count;
  if (outstanding > s->max_outstanding)
    s->max_outstanding = outstanding;
}

START_TEST(max_in_flight_queues_requests_in_fifo_order) {
  fixture_t t;
  setup(&t, 2);
  enum { N = 5 };
  /* Unequal delays make the completion order a property of the queue:
   * 0 and 1 start at once and end at 60 and 80 ms; 2 takes 0's slot (ends
   * at 120), 3 takes 1's (160), 4 takes 2's (180). */
  static const unsigned delays[N] = {60, 80, 60, 80, 60};
  char paths[N][8];
  for (int i = 0; i < N; i++) {
    snprintf(paths[i], sizeof paths[i], "/%d", i);
    fake_http_push(t.server, &(fake_http_response_t){.path_prefix = paths[i],
                                                     .status = 200,
                                                     .body = paths[i],
                                                     .delay_ms = delays[i]});
  }
  sampler_t sampler = {.t = &t};
  uv_timer_init(&t.loop, &sampler.timer);
  sampler.timer.data = &sampler;
  uv_timer_start(&sampler.timer, on_sample, 1, 1);
  result_t r[N] = {{0}};
  uint64_t start = uv_now(&t.loop);
  for (int i = 0; i < N; i++) {
    r[i].index = i;
    get(&t, &r[i], paths[i], 5000);
  }
  ck_assert_int_eq(t.done_count, 0);
  run_until(&t, &t.done_count, N);
  uv_close((uv_handle_t *)&sampler.timer, NULL);

  ck_assert_uint_le(sampler.max_outstanding, 2);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(r[i].error, 0);
    ck_assert_str_eq(r[i].body, paths[i]);
    ck_assert_int_eq(t.order[i], i);
    int connection = atoi(header_of(&r[i], "x-fake-http-connection"));
    ck_assert_int_ge(connection, 1);
    ck_assert_int_le(connection, 2);
  }
  /* The first two race to the server; the rest start in queue order. */
  const char *first = fake_http_request(t.server, 0)->path;
  const char *second = fake_http_request(t.server, 1)->path;
  ck_assert((strcmp(first, "/0") == 0 && strcmp(second, "/1") == 0) ||
            (strcmp(first, "/1") == 0 && strcmp(second, "/0") == 0));
  for (int i = 2; i < N; i++)
    ck_assert_str_eq(fake_http_request(t.server, (size_t)i)->path, paths[i]);
  ck_assert_uint_ge(r[N - 1].done_at - start, 170);
  for (int i = 0; i < N; i++)
    result_free(&r[i]);
  teardown(&t);
}
END_TEST

/* A GET of /other on the fake server named "localhost" instead of
 * 127.0.0.1: another host:port key for the transport. */
static pl_http_request_t other_host_get(fixture_t *t, char *url, size_t size) {
  snprintf(url, size, "http://localhost:%d/other", fake_http_port(t->server));
  return (pl_http_request_t){.method = "GET", .url = url};
}

START_TEST(the_limit_applies_per_host) {
  fixture_t t;
  setup(&t, 1);
  fake_http_push(t.server,
                 &(fake_http_response_t){.path_prefix = "/slow", .hang = true});
  fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/other",
                                                   .status = 200});
  result_t slow = {0}, other = {.index = 1};
  get(&t, &slow, "/slow", 0);
  run_until_requests(&t, 1);
  /* Same server, another host:port key: not behind /slow. */
  char other_url[128];
  pl_http_request_t req = other_host_get(&t, other_url, sizeof other_url);
  ck_assert_int_eq(submit(&t, &other, &req), 0);
  run_until(&t, &other.done_calls, 1);
  ck_assert_int_eq(other.error, 0);
  ck_assert_int_eq(other.status, 200);
  ck_assert_int_eq(slow.done_calls, 0);
  t.transport->cancel(t.transport->self, slow.call);
  run_until(&t, &slow.done_calls, 1);
  ck_assert_int_eq(slow.error, PL_ECANCELED);
  result_free(&slow);
  result_free(&other);
  teardown(&t);
}
END_TEST

/* The host of a repeated URL is remembered, not parsed again: the same
 * URL queues behind the per-host limit, another host's does not, and a
 * host forgotten once idle is found again. */
START_TEST(a_repeated_url_keeps_its_host) {
  fixture_t t;
  setup(&t, 1);
  fake_http_push(t.server,
                 &(fake_http_response_t){.path_prefix = "/slow", .hang = true});
  fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/slow",
                                                   .status = 200});
  fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/other",
                                                   .status = 200});
  fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/other",
                                                   .status = 200});
  result_t slow = {0}, again = {.index = 1}, other = {.index = 2},
           later = {.index = 3};
  get(&t, &slow, "/slow", 0);
  run_until_requests(&t, 1);
  get(&t, &again, "/slow", 5000); /* the same URL: behind the first */
  char other_url[128];
  pl_http_request_t req = other_host_get(&t, other_url, sizeof other_url);
  ck_assert_int_eq(submit(&t, &other, &req), 0);
  run_until(&t, &other.done_calls, 1);
  ck_assert_int_eq(other.status, 200);
  ck_assert_int_eq(again.done_calls, 0);
  ck_assert_uint_eq(fake_http_request_count(t.server), 2);
  /* The other host is idle now, and forgotten: its URL again. */
  ck_assert_int_eq(submit(&t, &later, &req), 0);
  run_until(&t, &later.done_calls, 1);
  ck_assert_int_eq(later.status, 200);
  t.transport->cancel(t.transport->self, slow.call);
  run_until(&t, &again.done_calls, 1);
  ck_assert_int_eq(slow.error, PL_ECANCELED);
  ck_assert_int_eq(again.error, 0);
  ck_assert_int_eq(again.status, 200);
  result_free(&slow);
  result_free(&again);
  result_free(&other);
  result_free(&later);
  teardown(&t);
}
END_TEST

/* ---- Failures ---- */

START_TEST(a_hung_request_times_out_with_eagain) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){.hang = true});
  result_t r = {0};
  uint64_t start = uv_now(&t.loop);
  get(&t, &r, "/hang", 200);
  run_until(&t, &r.done_calls, 1);
  uint64_t elapsed = r.done_at - start;
  ck_assert_int_eq(r.error, PL_EAGAIN);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(r.error_text);
  ck_assert(r.body_null);
  ck_assert_uint_ge(elapsed, 150);
  ck_assert_uint_lt(elapsed, 5000);
  result_free(&r);
  teardown(&t);
}
END_TEST

static void on_probe_closed(uv_handle_t *handle) {
  (void)handle;
}

START_TEST(a_refused_connection_is_eio_with_text) {
  fixture_t t;
  setup(&t, 4);
  /* A port that was free a moment ago: bind, read it, close. */
  uv_tcp_t probe;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_init(&t.loop, &probe);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ck_assert_int_eq(uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0), 0);
  ck_assert_int_eq(uv_tcp_getsockname(&probe, (struct sockaddr *)&bound, &len),
                   0);
  int port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  uv_close((uv_handle_t *)&probe, on_probe_closed);
  uv_run(&t.loop, UV_RUN_NOWAIT);
  char refused[64];
  char endpoint[32];
  snprintf(endpoint, sizeof endpoint, "127.0.0.1:%d", port);
  snprintf(refused, sizeof refused, "http://%s/", endpoint);
  pl_http_request_t req = {.method = "GET", .url = refused, .timeout_ms = 5000};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_EIO);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(r.error_text);
  /* The text names the endpoint (libcurl's own words may not). */
  ck_assert_msg(strstr(r.error_text, endpoint), "%s", r.error_text);
  ck_assert_int_eq(r.headers_calls, 0);
  result_free(&r);
  teardown(&t);
}
END_TEST

/* libcurl is opened at the first call: one that cannot be opened (not
 * there, or not libcurl) fails every call with PL_EIO and the reason,
 * through on_done, and sends nothing. */
START_TEST(a_libcurl_that_cannot_be_loaded_fails_each_call_with_why) {
  static const struct {
    const char *library, *says;
  } cases[] = {
      {"libpipelined-no-such-curl.so.4", "libpipelined-no-such-curl.so.4"},
      {"libc.so.6", "libc.so.6 has no curl_global_init"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fixture_t t;
    pl_http_curl_options_t opts = {.tls_verify = true,
                                   .library = cases[i].library};
    setup_with(&t, &opts);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok",
             fake_http_port(t.server));
    pl_http_request_t req = {.method = "GET", .url = url, .timeout_ms = 5000};
    for (int call = 0; call < 2; call++) {
      result_t r = {0};
      ck_assert_int_eq(submit(&t, &r, &req), 0);
      ck_assert_int_eq(r.done_calls, 0); /* never from inside submit */
      run_until(&t, &r.done_calls, 1);
      ck_assert_int_eq(r.error, PL_EIO);
      ck_assert_int_eq(r.status, 0);
      ck_assert_ptr_nonnull(r.error_text);
      ck_assert_msg(strstr(r.error_text, "cannot load libcurl") &&
                        strstr(r.error_text, cases[i].says),
                    "%s", r.error_text);
      result_free(&r);
    }
    ck_assert_uint_eq(fake_http_request_count(t.server), 0);
    teardown(&t);
  }
}
END_TEST

START_TEST(a_dropped_connection_is_eio) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){.drop = true});
  result_t r = {0};
  get(&t, &r, "/drop", 5000);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_EIO);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(r.error_text);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(a_body_cut_short_is_eio) {
  fixture_t t;
  setup(&t, 4);
  fake_http_push(t.server, &(fake_http_response_t){.status = 200,
                                                   .body = "0123456789",
                                                   .cut_after = 4});
  result_t r = {0};
  get(&t, &r, "/cut", 5000);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_EIO);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(r.error_text);
  ck_assert(r.body_null); /* no partial body passes for a whole one */
  ck_assert_int_eq(r.headers_calls, 1);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(tls_to_a_plain_server_is_eio) {
  fixture_t t;
  setup(&t, 4);
  char https[64];
  snprintf(https, sizeof https, "https://127.0.0.1:%d/",
           fake_http_port(t.server));
  pl_http_request_t req = {.method = "GET", .url = https, .timeout_ms = 5000};
  result_t r = {0};
  ck_assert_int_eq(submit(&t, &r, &req), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_EIO);
  ck_assert_ptr_nonnull(r.error_text);
  result_free(&r);
  teardown(&t);
}
END_TEST

/* ---- Streaming ---- */

static char *big_body(size_t len) {
  char *body = malloc(len);
  for (size_t i = 0; i < len; i++)
    body[i] = (char)pattern(i);
  return body;
}

static void stream(int kind, size_t len, unsigned pause_every,
                   unsigned resume_ms, bool pause_in_headers) {
  fixture_t t;
  setup_on(&t, 4, kind);
  char *body = big_body(len);
  fake_http_push(t.server, &(fake_http_response_t){
                               .status = 200, .body = body, .body_len = len});
  free(body);
  result_t r = {.pause_every = pause_every,
                .resume_ms = resume_ms,
                .pause_in_headers = pause_in_headers};
  uv_timer_init(&t.loop, &r.resume_timer);
  r.resume_timer.data = &r;
  pl_http_request_t req = {
      .method = "GET", .url = url(&t, "/big"), .timeout_ms = 20000};
  ck_assert_int_eq(submit_with(&t, &r, &req, true), 0);
  run_until(&t, &r.done_calls, 1);
  uv_close((uv_handle_t *)&r.resume_timer, NULL);

  ck_assert_msg(r.error == 0, "error %d: %s", r.error,
                r.error_text ? r.error_text : "");
  ck_assert_int_eq(r.status, 200);
  ck_assert(r.body_null); /* streamed, not buffered */
  ck_assert_uint_eq(r.streamed, len);
  ck_assert(!r.pattern_broken);
  ck_assert_uint_gt(r.pieces, 1);
  /* Pieces stay small: memory is flat whatever the object's size. */
  ck_assert_uint_le(r.max_piece, 64 * 1024);
  if (pause_every)
    ck_assert_uint_ge(r.pauses, r.pieces / pause_every - 1);
  result_free(&r);
  teardown(&t);
}

START_TEST(a_5mb_body_streams_with_pauses) {
  stream(_i, 5 * 1024 * 1024, 7, 2, false);
}
END_TEST

START_TEST(a_body_paused_after_every_piece_still_arrives_once) {
  /* Every resume hands on the next piece (libcurl from inside its
   * resume, the builtin client from the loop), which pauses again. */
  stream(_i, 1024 * 1024, 1, 0, false);
}
END_TEST

START_TEST(pause_from_on_headers_holds_the_body) {
  stream(_i, 256 * 1024, 0, 0, true);
}
END_TEST

/* ---- Cancellation and close ---- */

START_TEST(cancel_ends_running_and_queued_calls) {
  fixture_t t;
  setup(&t, 1);
  fake_http_push(t.server, &(fake_http_response_t){.hang = true});
  result_t running = {0}, queued = {.index = 1};
  get(&t, &running, "/hang", 0);
  get(&t, &queued, "/queued", 0);
  run_until_requests(&t, 1);
  t.transport->cancel(t.transport->self, queued.call);
  t.transport->cancel(t.transport->self, queued.call); /* no-op */
  ck_assert_int_eq(queued.done_calls, 0); /* delivered from the loop */
  run_until(&t, &queued.done_calls, 1);
  ck_assert_int_eq(queued.error, PL_ECANCELED);
  ck_assert_int_eq(running.done_calls, 0);
  t.transport->cancel(t.transport->self, running.call);
  t.transport->pause(t.transport->self, running.call);  /* no-op */
  t.transport->resume(t.transport->self, running.call); /* no-op */
  run_until(&t, &running.done_calls, 1);
  ck_assert_int_eq(running.error, PL_ECANCELED);
  ck_assert_int_eq(running.status, 0);
  ck_assert_uint_eq(fake_http_request_count(t.server), 1);
  result_free(&running);
  result_free(&queued);
  teardown(&t);
}
END_TEST

START_TEST(cancel_from_inside_on_body) {
  fixture_t t;
  setup_on(&t, 4, _i);
  size_t len = 2 * 1024 * 1024;
  char *body = big_body(len);
  fake_http_push(t.server, &(fake_http_response_t){
                               .status = 200, .body = body, .body_len = len});
  free(body);
  result_t r = {.cancel_at = 100 * 1024};
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/big")};
  ck_assert_int_eq(submit_with(&t, &r, &req, true), 0);
  run_until(&t, &r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_ECANCELED);
  ck_assert_uint_lt(r.streamed, len);
  result_free(&r);
  teardown(&t);
}
END_TEST

START_TEST(close_cancels_every_call_then_reports_closed) {
  fixture_t t;
  setup(&t, 2);
  enum { N = 4 };
  for (int i = 0; i < N; i++)
    fake_http_push(t.server, &(fake_http_response_t){.hang = true});
  result_t r[N] = {{0}};
  for (int i = 0; i < N; i++) {
    r[i].index = i;
    get(&t, &r[i], "/hang", 0);
  }
  run_until_requests(&t, 2); /* two running, two queued */
  close_http(&t);
  ck_assert_int_eq(t.done_count, 0);
  result_t late = {0};
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/late")};
  ck_assert_int_eq(submit(&t, &late, &req), PL_ECANCELED);
  fake_http_close(t.server);
  uv_close((uv_handle_t *)&t.guard, NULL);
  ck_assert_int_eq(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
  ck_assert(t.closed);
  ck_assert_int_eq(t.closed_after, N); /* every on_done ran first */
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(r[i].done_calls, 1);
    ck_assert_int_eq(r[i].error, PL_ECANCELED);
    result_free(&r[i]);
  }
  ck_assert_int_eq(late.done_calls, 0);
  ck_assert_int_eq(uv_loop_close(&t.loop), 0);
}
END_TEST

START_TEST(close_while_paused_cancels_the_call) {
  fixture_t t;
  setup_on(&t, 4, _i);
  size_t len = 1024 * 1024;
  char *body = big_body(len);
  fake_http_push(t.server, &(fake_http_response_t){
                               .status = 200, .body = body, .body_len = len});
  free(body);
  /* Pauses after the first piece and would resume only after a minute. */
  result_t r = {.pause_every = 1, .resume_ms = 60000};
  uv_timer_init(&t.loop, &r.resume_timer);
  r.resume_timer.data = &r;
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/big")};
  ck_assert_int_eq(submit_with(&t, &r, &req, true), 0);
  while (r.pauses == 0 && !t.expired)
    uv_run(&t.loop, UV_RUN_ONCE);
  ck_assert_uint_eq(r.pauses, 1);
  uv_close((uv_handle_t *)&r.resume_timer, NULL);
  close_http(&t);
  teardown(&t);
  ck_assert_int_eq(r.done_calls, 1);
  ck_assert_int_eq(r.error, PL_ECANCELED);
  ck_assert_uint_lt(r.streamed, len);
  ck_assert_int_eq(t.closed_after, 1);
  result_free(&r);
}
END_TEST

START_TEST(close_from_inside_on_body) {
  fixture_t t;
  setup_on(&t, 4, _i);
  size_t len = 2 * 1024 * 1024;
  char *body = big_body(len);
  fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/big",
                                                   .status = 200,
                                                   .body = body,
                                                   .body_len = len});
  free(body);
  fake_http_push(t.server,
                 &(fake_http_response_t){.path_prefix = "/hang", .hang = true});
  result_t hung = {.index = 1};
  get(&t, &hung, "/hang", 0);
  run_until_requests(&t, 1);
  result_t r = {.close_at = 64 * 1024};
  pl_http_request_t req = {.method = "GET", .url = url(&t, "/big")};
  ck_assert_int_eq(submit_with(&t, &r, &req, true), 0);
  run_until(&t, &t.done_count, 2);
  ck_assert_int_eq(r.error, PL_ECANCELED);
  ck_assert_int_eq(hung.error, PL_ECANCELED);
  teardown(&t);
  ck_assert_int_eq(t.closed_after, 2);
  result_free(&r);
  result_free(&hung);
}
END_TEST

/* ---- fake_http itself, through a raw socket ---- */

typedef struct raw_client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  const char *text;
  char in[4096];
  size_t in_len;
  int eof;
} raw_client_t;

static void raw_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  raw_client_t *c = handle->data;
  *buf =
      uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - 1 - c->in_len));
}

static void raw_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  raw_client_t *c = stream->data;
  if (nread < 0) {
    c->eof = 1;
    uv_read_stop(stream);
    return;
  }
  c->in_len += (size_t)nread;
  c->in[c->in_len] = '\0';
}

static void raw_written(uv_write_t *req, int status) {
  ck_assert_int_eq(status, 0);
}

static void raw_connected(uv_connect_t *req, int status) {
  raw_client_t *c = req->data;
  ck_assert_int_eq(status, 0);
  uv_buf_t buf = uv_buf_init((char *)c->text, (unsigned)strlen(c->text));
  ck_assert_int_eq(
      uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, raw_written), 0);
  ck_assert_int_eq(uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_read),
                   0);
}

/* A token (a method, a header name) is one or more of RFC 9110's tchar:
 * every byte is tried alone, first and after a valid one, against the
 * grammar written out here; NULL and "" are not tokens. */
START_TEST(a_token_is_made_of_tchar_only) {
  const char *specials = "!#$%&'*+-.^_`|~";
  for (int c = 1; c < 256; c++) {
    bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || strchr(specials, c) != NULL;
    char alone[2] = {(char)c, '\0'}, after[3] = {'a', (char)c, '\0'};
    ck_assert_msg(pl__http_is_token(alone) == tchar, "byte %d alone", c);
    ck_assert_msg(pl__http_is_token(after) == tchar, "byte %d after 'a'", c);
  }
  ck_assert(pl__http_is_token("X-Amz-Target"));
  ck_assert(!pl__http_is_token("X-Amz Target"));
  ck_assert(!pl__http_is_token(""));
  ck_assert(!pl__http_is_token(NULL));
}
END_TEST

/* The one rule both transports send headers by. */
START_TEST(a_header_is_sent_only_as_given) {
  size_t name_len = 0, value_len = 0;
  const pl_http_header_t ok[] = {{"X-Amz-Target", "DynamoDB_20120810.Query"},
                                 {"Accept", ""},
                                 {"X-Tabbed", "a\tb  c "}};
  const size_t ok_values[] = {23, 0, 7};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    ck_assert(pl__http_header_sendable(&ok[i], &name_len, &value_len));
    ck_assert_uint_eq(name_len, strlen(ok[i].name));
    ck_assert_uint_eq(value_len, ok_values[i]);
  }
  const pl_http_header_t refused[] = {{"X-Split", "a\r\nX-Injected: b"},
                                      {"X-Lf", "a\nb"},
                                      {"X-Cr", "a\r"},
                                      {"Bad Name", "v"},
                                      {"Colon:", "v"},
                                      {"", "v"},
                                      {NULL, "v"},
                                      {"X-Null", NULL}};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    ck_assert_msg(!pl__http_header_sendable(&refused[i], &name_len, &value_len),
                  "header %zu", i);
}
END_TEST

START_TEST(fake_http_answers_pipelined_and_chunked_requests_in_order) {
  fixture_t t;
  setup(&t, 4);
  /* Queued out of order: each request takes the first that matches. */
  fake_http_push(t.server, &(fake_http_response_t){.method = "POST",
                                                   .path_prefix = "/b",
                                                   .status = 201,
                                                   .body = "second"});
  fake_http_push(t.server, &(fake_http_response_t){.method = "GET",
                                                   .path_prefix = "/a",
                                                   .status = 200,
                                                   .body = "first",
                                                   .delay_ms = 30});
  raw_client_t c = {.text = "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
                            "POST /b HTTP/1.1\r\nHost: h\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
                            "GET /none HTTP/1.1\r\nHost: h\r\n"
                            "Connection: close\r\n\r\n"};
  uv_tcp_init(&t.loop, &c.tcp);
  c.tcp.data = &c;
  c.connect.data = &c;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", fake_http_port(t.server), &addr);
  ck_assert_int_eq(uv_tcp_connect(&c.connect, &c.tcp,
                                  (const struct sockaddr *)&addr,
                                  raw_connected),
                   0);
  run_until(&t, &c.eof, 1); /* the server closes after the third */
  uv_close((uv_handle_t *)&c.tcp, NULL);

  const char *first = strstr(c.in, "HTTP/1.1 200 OK\r\n");
  const char *second = strstr(c.in, "HTTP/1.1 201 Created\r\n");
  const char *third = strstr(c.in, "HTTP/1.1 500 Internal Server Error\r\n");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_nonnull(second);
  ck_assert_ptr_nonnull(third);
  ck_assert(first < second && second < third);
  ck_assert_ptr_nonnull(strstr(first, "\r\n\r\nfirst"));
  ck_assert_ptr_nonnull(strstr(second, "\r\n\r\nsecond"));
  ck_assert_ptr_nonnull(strstr(third, "Connection: close\r\n"));
  ck_assert_uint_eq(fake_http_request_count(t.server), 3);
  const fake_http_request_t *a = fake_http_request(t.server, 0);
  const fake_http_request_t *b = fake_http_request(t.server, 1);
  ck_assert_str_eq(a->method, "GET");
  ck_assert_str_eq(a->path, "/a?x=1");
  ck_assert_str_eq(a->headers, "Host: h\r\n");
  ck_assert_str_eq(b->method, "POST");
  ck_assert_str_eq(b->body, "hello world");
  ck_assert_uint_eq(b->body_len, 11);
  assert_header(b, "transfer-encoding", "chunked");
  assert_header(b, "missing", NULL);
  ck_assert_ptr_null(fake_http_request(t.server, 3));
  teardown(&t);
}
END_TEST

/* ---- Limits ---- */

/* A body the caller parses whole is read up to PL_HTTP_MAX_BODY: one byte
 * more fails the call with PL_ERANGE and says why, and nothing of it
 * passes for a response. */
START_TEST(a_response_body_past_the_cap_fails_the_call) {
  fixture_t t;
  setup(&t, 4);
  char *body = big_body(PL_HTTP_MAX_BODY + 1);
  fake_http_push(t.server,
                 &(fake_http_response_t){.path_prefix = "/at",
                                         .status = 200,
                                         .body = body,
                                         .body_len = PL_HTTP_MAX_BODY});
  fake_http_push(t.server,
                 &(fake_http_response_t){.path_prefix = "/past",
                                         .status = 200,
                                         .body = body,
                                         .body_len = PL_HTTP_MAX_BODY + 1});
  free(body);
  result_t at = {0}, past = {0};
  get(&t, &at, "/at", 10000);
  get(&t, &past, "/past", 10000);
  run_until(&t, &t.done_count, 2);
  ck_assert_int_eq(at.error, 0);
  ck_assert_int_eq(at.status, 200);
  ck_assert_uint_eq(at.body_len, PL_HTTP_MAX_BODY);
  ck_assert_int_eq(past.error, PL_ERANGE);
  ck_assert_int_eq(past.status, 0);
  ck_assert(past.body_null);
  ck_assert_ptr_nonnull(past.error_text);
  ck_assert_msg(strstr(past.error_text, "8 MiB") != NULL, "%s",
                past.error_text);
  result_free(&at);
  result_free(&past);
  teardown(&t);
}
END_TEST

/* Of an error body the first PL_HTTP_MAX_ERROR_BODY bytes are kept and the
 * call still reports its status, streamed or not. */
START_TEST(an_error_body_past_the_cap_is_kept_truncated) {
  fixture_t t;
  setup(&t, 4);
  size_t len = 1 << 20;
  char *body = big_body(len);
  memcpy(body, "<Error><Code>SlowDown</Code>", 28);
  for (int i = 0; i < 2; i++)
    fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/err",
                                                     .status = 503,
                                                     .body = body,
                                                     .body_len = len});
  result_t r[2] = {{0}};
  for (int i = 0; i < 2; i++) {
    pl_http_request_t req = {
        .method = "GET", .url = url(&t, "/err"), .timeout_ms = 10000};
    ck_assert_int_eq(submit_with(&t, &r[i], &req, i == 1), 0);
  }
  run_until(&t, &t.done_count, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(r[i].error, 0);
    ck_assert_int_eq(r[i].status, 503);
    ck_assert_uint_eq(r[i].streamed, 0);
    ck_assert(r[i].body_truncated);
    ck_assert_uint_eq(r[i].body_len, PL_HTTP_MAX_ERROR_BODY);
    ck_assert(memcmp(r[i].body, body, PL_HTTP_MAX_ERROR_BODY) == 0);
    result_free(&r[i]);
  }
  free(body);
  teardown(&t);
}
END_TEST

/* ---- Stalls ---- */

/* A server that sends the headers and some bytes, then nothing, ends the
 * call with PL_EAGAIN once read_timeout_ms passed without a byte, whether
 * the body is streamed or buffered. */
START_TEST(a_stalled_download_times_out_after_the_read_timeout) {
  fixture_t t;
  setup_on(&t, 4, _i);
  size_t len = 10000;
  char *body = big_body(len);
  for (int i = 0; i < 2; i++)
    fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/stall",
                                                     .status = 200,
                                                     .body = body,
                                                     .body_len = len,
                                                     .stall = true,
                                                     .stall_after = 1000});
  free(body);
  result_t r[2] = {{0}};
  uint64_t start = uv_now(&t.loop);
  for (int i = 0; i < 2; i++) {
    pl_http_request_t req = {.method = "GET",
                             .url = url(&t, "/stall"),
                             .timeout_ms = 20000,
                             .read_timeout_ms = 300};
    ck_assert_int_eq(submit_with(&t, &r[i], &req, i == 0), 0);
  }
  run_until(&t, &t.done_count, 2);
  for (int i = 0; i < 2; i++) {
    uint64_t elapsed = r[i].done_at - start;
    ck_assert_int_eq(r[i].error, PL_EAGAIN);
    ck_assert_int_eq(r[i].status, 0);
    ck_assert(r[i].body_null);
    ck_assert_ptr_nonnull(r[i].error_text);
    ck_assert_msg(strstr(r[i].error_text, "no data received for") != NULL &&
                      strstr(r[i].error_text, "127.0.0.1:") != NULL,
                  "%s", r[i].error_text);
    ck_assert_uint_ge(elapsed, 250);
    ck_assert_uint_lt(elapsed, 5000);
    result_free(&r[i]);
  }
  ck_assert_uint_eq(r[0].streamed, 1000);
  ck_assert(!r[0].pattern_broken);
  teardown(&t);
}
END_TEST

/* A transfer the caller paused for longer than read_timeout_ms (1 s from
 * on_headers, or 0.8 s after each piece, under 0.4 s) is backpressure, not
 * a stall: it resumes and completes. */
START_TEST(a_paused_download_is_not_a_stall) {
  fixture_t t;
  setup_on(&t, 4, _i);
  size_t len = 10000;
  char *body = big_body(len);
  for (int i = 0; i < 2; i++)
    fake_http_push(t.server, &(fake_http_response_t){.path_prefix = "/slow",
                                                     .status = 200,
                                                     .body = body,
                                                     .body_len = len});
  free(body);
  result_t r[2] = {{.pause_in_headers = true, .resume_ms = 1000},
                   {.pause_every = 1, .resume_ms = 800}};
  uint64_t start = uv_now(&t.loop);
  for (int i = 0; i < 2; i++) {
    uv_timer_init(&t.loop, &r[i].resume_timer);
    r[i].resume_timer.data = &r[i];
    pl_http_request_t req = {.method = "GET",
                             .url = url(&t, "/slow"),
                             .timeout_ms = 20000,
                             .read_timeout_ms = 400};
    ck_assert_int_eq(submit_with(&t, &r[i], &req, true), 0);
  }
  run_until(&t, &t.done_count, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_msg(r[i].error == 0, "%d: %s", i,
                  r[i].error_text ? r[i].error_text : "");
    ck_assert_int_eq(r[i].status, 200);
    ck_assert_uint_eq(r[i].streamed, len);
    ck_assert(!r[i].pattern_broken);
    uv_close((uv_handle_t *)&r[i].resume_timer, NULL);
  }
  ck_assert_uint_ge(r[0].done_at - start, 1000);
  ck_assert_uint_ge(r[1].pauses, 1);
  ck_assert_uint_ge(r[1].done_at - start, 800);
  for (int i = 0; i < 2; i++)
    result_free(&r[i]);
  teardown(&t);
}
END_TEST

static Suite *http_suite(void) {
  Suite *s = suite_create("http");
  TCase *requests = tcase_create("requests");
  tcase_set_timeout(requests, 30);
  tcase_add_test(requests,
                 get_sends_headers_and_returns_status_headers_and_body);
  tcase_add_test(requests, put_sends_a_binary_body_with_its_length);
  tcase_add_test(requests, post_returns_an_error_status_as_a_response);
  tcase_add_loop_test(requests, an_error_body_is_buffered_even_when_streaming,
                      0, 2);
  tcase_add_test(requests, post_without_a_body_sends_no_form_content_type);
  tcase_add_test(requests, an_interim_100_continue_is_not_the_response);
  tcase_add_test(requests, many_and_folded_response_headers);
  tcase_add_test(requests, head_and_delete_have_no_response_body);
  tcase_add_test(requests, bad_requests_are_refused_without_a_callback);
  suite_add_tcase(s, requests);

  TCase *connections = tcase_create("connections");
  tcase_set_timeout(connections, 30);
  tcase_add_test(connections, keep_alive_reuses_one_connection);
  tcase_add_test(connections, max_in_flight_queues_requests_in_fifo_order);
  tcase_add_test(connections, the_limit_applies_per_host);
  tcase_add_test(connections, a_repeated_url_keeps_its_host);
  suite_add_tcase(s, connections);

  TCase *failures = tcase_create("failures");
  tcase_set_timeout(failures, 30);
  tcase_add_test(failures, a_hung_request_times_out_with_eagain);
  tcase_add_test(failures, a_refused_connection_is_eio_with_text);
  tcase_add_test(failures, a_libcurl_that_cannot_be_loaded_fails_each_call_with_why);
  tcase_add_test(failures, a_dropped_connection_is_eio);
  tcase_add_test(failures, a_body_cut_short_is_eio);
  tcase_add_test(failures, tls_to_a_plain_server_is_eio);
  suite_add_tcase(s, failures);

  TCase *limits = tcase_create("limits");
  tcase_set_timeout(limits, 30);
  tcase_add_test(limits, a_response_body_past_the_cap_fails_the_call);
  tcase_add_test(limits, an_error_body_past_the_cap_is_kept_truncated);
  suite_add_tcase(s, limits);

  TCase *stalls = tcase_create("stalls");
  tcase_set_timeout(stalls, 30);
  tcase_add_loop_test(
      stalls, a_stalled_download_times_out_after_the_read_timeout, 0, 2);
  tcase_add_loop_test(stalls, a_paused_download_is_not_a_stall, 0, 2);
  suite_add_tcase(s, stalls);

  TCase *streaming = tcase_create("streaming");
  tcase_set_timeout(streaming, 60);
  tcase_add_loop_test(streaming, a_5mb_body_streams_with_pauses, 0, 2);
  tcase_add_loop_test(streaming,
                      a_body_paused_after_every_piece_still_arrives_once, 0, 2);
  tcase_add_loop_test(streaming, pause_from_on_headers_holds_the_body, 0, 2);
  suite_add_tcase(s, streaming);

  TCase *cancel = tcase_create("cancel and close");
  tcase_set_timeout(cancel, 30);
  tcase_add_test(cancel, cancel_ends_running_and_queued_calls);
  tcase_add_loop_test(cancel, cancel_from_inside_on_body, 0, 2);
  tcase_add_test(cancel, close_cancels_every_call_then_reports_closed);
  tcase_add_loop_test(cancel, close_while_paused_cancels_the_call, 0, 2);
  tcase_add_loop_test(cancel, close_from_inside_on_body, 0, 2);
  suite_add_tcase(s, cancel);

  TCase *grammar = tcase_create("grammar");
  tcase_add_test(grammar, a_token_is_made_of_tchar_only);
  tcase_add_test(grammar, a_header_is_sent_only_as_given);
  suite_add_tcase(s, grammar);

  TCase *fake = tcase_create("fake_http");
  tcase_set_timeout(fake, 30);
  tcase_add_test(fake,
                 fake_http_answers_pipelined_and_chunked_requests_in_order);
  suite_add_tcase(s, fake);
  return s;
}

int main(void) {
  return test_suite_run(http_suite());
}
