/* libFuzzer harness for the AWS JSON protocol error parser
 * (pl__aws_error_from_json in src/aws/aws_error.c).
 *
 * Input: two bytes that choose the HTTP status (100..599), then response
 * headers as "name: value" lines ended by an empty line when the text
 * holds "\n\n" (otherwise there are none), then the body.
 *
 * An error is always made, whatever the body. Its code is checked against
 * a second reading of the rules of aws_error.h (x-amzn-query-error up to
 * ';', else x-amzn-errortype, the body's "code" or "__type", each cleaned
 * the Smithy way, else the status's code), its message and request id
 * against the body and headers, and its log line must be one line equal
 * to the public view's. */
#define _GNU_SOURCE /* memmem */
#include "aws_error.h"

#include <jansson.h>
#include <pipelined/aws.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

/* A header's value, "" being no header (as aws_error.c reads them). */
static const char *present(headers_t *h, const char *name) {
  const char *v = header(h, name);
  return v && *v ? v : NULL;
}

/* The Smithy cleaning, written again: drop from the first ':' on, then up
 * to and including the first '#'. Returns a new string, NULL when empty. */
static char *clean_code(const char *raw) {
  size_t len = strcspn(raw, ":");
  const char *hash = memchr(raw, '#', len);
  if (hash) {
    len -= (size_t)(hash + 1 - raw);
    raw = hash + 1;
  }
  return len ? strndup(raw, len) : NULL;
}

static const char *member(json_t *root, const char *name) {
  const char *text = json_string_value(json_object_get(root, name));
  return text && *text ? text : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  int status = 100 + (int)((data[0] | (unsigned)data[1] << 8) % 500);
  const char *text = (const char *)data + 2;
  size_t len = size - 2;
  headers_t h = {0};
  const char *body = text;
  size_t body_len = len;
  const char *blank = memmem(text, len, "\n\n", 2);
  if (blank) {
    parse_headers(text, (size_t)(blank - text), &h);
    body = blank + 2;
    body_len = (size_t)(text + len - body);
  }
  const pl_aws_response_view_t response = {
      .status = status,
      .header = header,
      .header_data = &h,
      .body = body,
      .body_len = body_len,
  };
  pl_aws_error_detail_t *e = NULL;
  check(pl__aws_error_from_json("sqs", NULL, &response, &e) == 0);
  check(e && strcmp(e->service, "sqs") == 0 && !e->operation &&
        e->status == status && e->transport == 0);
  check(!e->throttling || e->retryable);

  /* The expected code, message and request id. */
  json_t *root = body_len ? json_loadb(body, body_len, 0, NULL) : NULL;
  if (root && !json_is_object(root)) {
    json_decref(root);
    root = NULL;
  }
  char *code = NULL;
  const char *query = present(&h, "x-amzn-query-error");
  if (query && strcspn(query, ";") > 0)
    code = strndup(query, strcspn(query, ";"));
  const char *candidates[] = {present(&h, "x-amzn-errortype"),
                              root ? member(root, "code") : NULL,
                              root ? member(root, "__type") : NULL};
  for (size_t i = 0; !code && i < 3; i++)
    if (candidates[i])
      code = clean_code(candidates[i]);
  const char *want_code = code ? code : pl__aws_error_status_code(status);
  check(e->code && strcmp(e->code, want_code) == 0);
  const char *message = root ? member(root, "message") : NULL;
  if (!message && root)
    message = member(root, "Message");
  check(message ? e->message && strcmp(e->message, message) == 0 : !e->message);
  const char *id = present(&h, "x-amzn-requestid");
  if (!id)
    id = present(&h, "x-amz-request-id");
  check(id ? e->request_id && strcmp(e->request_id, id) == 0 : !e->request_id);
  free(code);
  json_decref(root);

  pl_buf_t line = {0};
  check(pl_buf_append_str(&line, PREFIX) == 0);
  check(pl__aws_error_format(e, &line) == 0);
  check_line(&line, SIZE_MAX);
  const pl_aws_error_t view = {
      .service = e->service,
      .operation = e->operation,
      .status = e->status,
      .code = e->code,
      .message = e->message,
      .request_id = e->request_id,
      .retryable = e->retryable,
  };
  pl_buf_t public_line = {0};
  check(pl_buf_append_str(&public_line, PREFIX) == 0);
  pl_aws_error_format(&view, &public_line);
  check(public_line.len == line.len &&
        memcmp(public_line.data, line.data, line.len) == 0);
  pl_buf_free(&public_line);
  pl_buf_free(&line);
  pl__aws_error_destroy(e);
  free_headers(&h);
  return 0;
}
