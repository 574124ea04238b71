/* libFuzzer harness for the AWS layer's XML readers, both through
 * src/aws/xml.c (expat): the S3 ListObjectsV2 parser (pl_s3_list_parse in
 * src/aws/s3.c) and the XML error parser (pl__aws_error_from_xml in
 * src/aws/aws_error.c).
 *
 * Input: two bytes that choose the HTTP status (100..599), then response
 * headers as "name: value" lines ended by an empty line when the text
 * holds "\n\n" (otherwise there are none), then the body. The body goes to
 * both parsers.
 *
 * Checked for the listing: an accepted page holds what pipelined/s3.h
 * promises (keys of 1..PL_S3_KEY_MAX bytes, next_token exactly when
 * truncated, capped texts); a refused one is empty and
 * appends one line without control characters to the reason; the code
 * does not depend on whether a reason is wanted. For the error: one is
 * always made, with the status, a non-empty code and the request id from
 * the headers when they have one, and its log line is one line. */
#define _GNU_SOURCE /* memmem */
#include "aws_error.h"

#include <pipelined/aws.h>
#include <pipelined/s3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

static void check_capped(const char *text, size_t max, bool nonempty) {
  if (!text)
    return;
  size_t n = strlen(text);
  check(n <= max && (!nonempty || n > 0));
}

static void fuzz_list(const char *body, size_t len) {
  pl_s3_list_page_t page;
  pl_buf_t error = {0};
  check(pl_buf_append_str(&error, PREFIX) == 0);
  int rc = pl_s3_list_parse(body, len, &page, &error);
  if (rc == 0) {
    check(error.len == strlen(PREFIX));
    check((page.count == 0) == (page.objects == NULL));
    check(page.truncated == (page.next_token != NULL));
    check_capped(page.next_token, 4096, true);
    check_capped(page.prefix, PL_S3_KEY_MAX, false);
    for (size_t i = 0; i < page.count; i++) {
      const pl_s3_object_t *o = &page.objects[i];
      check(o->key);
      check_capped(o->key, PL_S3_KEY_MAX, true);
      check_capped(o->etag, 1024, false);
      check_capped(o->last_modified, 64, false);
    }
  } else {
    check(rc == PL_EPARSE);
    check(page.count == 0 && !page.objects && !page.next_token &&
          !page.prefix && !page.truncated);
    check_line(&error, 512);
  }
  pl_s3_list_page_t quiet;
  check(pl_s3_list_parse(body, len, &quiet, NULL) == rc);
  pl_s3_list_page_close(&quiet);
  pl_s3_list_page_close(&page);
  pl_s3_list_page_close(&page); /* closing twice is allowed */
  pl_buf_free(&error);
}

static void fuzz_error(int status, headers_t *h, const char *body, size_t len) {
  const pl_aws_response_view_t response = {
      .status = status,
      .header = header,
      .header_data = h,
      .body = body,
      .body_len = len,
  };
  pl_aws_error_detail_t *e = NULL;
  check(pl__aws_error_from_xml("s3", "ListObjectsV2", &response, &e) == 0);
  check(e && strcmp(e->service, "s3") == 0 && e->status == status &&
        e->transport == 0);
  check(e->code && e->code[0]);
  check(!e->message || e->message[0]);
  const char *id = header(h, "x-amz-request-id"); /* "" is no header */
  if (id && *id)
    check(e->request_id && strcmp(e->request_id, id) == 0);
  check(!e->throttling || e->retryable);

  pl_buf_t line = {0};
  check(pl_buf_append_str(&line, PREFIX) == 0);
  check(pl__aws_error_format(e, &line) == 0);
  check_line(&line, SIZE_MAX);
  /* The public view gives the same line. */
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
  fuzz_list(body, body_len);
  fuzz_error(status, &h, body, body_len);
  free_headers(&h);
  return 0;
}
