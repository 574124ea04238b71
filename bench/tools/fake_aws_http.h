/* The HTTP/1.1 requests the fake AWS reads (bench/tools/fake_aws.c): a
 * request line, headers and a Content-Length body, parsed in place from
 * the bytes a connection has received so far. Only what the fake answers
 * on is kept; everything else is skipped. Pure: no I/O, no allocation. */
#ifndef FAKE_AWS_HTTP_H
#define FAKE_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Largest header block and body the fake accepts. */
#define FAKE_AWS_HTTP_MAX_HEADERS (64 * 1024)
#define FAKE_AWS_HTTP_MAX_BODY (64 * 1024 * 1024)

typedef enum {
  FAKE_AWS_HTTP_DONE,    /* a whole request */
  FAKE_AWS_HTTP_MORE,    /* not all of it yet: read on */
  FAKE_AWS_HTTP_BAD,     /* not a request the fake can read: close */
} fake_aws_http_status_t;

/* A text borrowed from the buffer that was parsed (not terminated). */
typedef struct fake_text {
  const char *at;
  size_t len;
} fake_text_t;

typedef struct fake_aws_http_request {
  fake_text_t method;
  fake_text_t path;   /* the target up to '?' */
  fake_text_t query;  /* after '?', empty when none */
  fake_text_t target; /* the X-Amz-Target header */
  fake_text_t range;  /* the Range header */
  fake_text_t body;
  bool headers_done;    /* the header block is complete (even with MORE) */
  bool expect_continue; /* "Expect: 100-continue" */
  bool keep_alive;      /* HTTP/1.1 without "Connection: close" */
  size_t size;          /* bytes of the whole request (DONE only) */
} fake_aws_http_request_t;

/* Parses the request at the start of buf[0 .. len - 1] into *out, whose
 * texts point into buf. */
fake_aws_http_status_t fake_aws_http_parse(const char *buf, size_t len,
                                   fake_aws_http_request_t *out);

/* Whether `text` equals the NUL-terminated `word` exactly. */
bool fake_text_is(fake_text_t text, const char *word);

/* The value of `name` in a query string ("a=1&b=2"), not decoded;
 * false when it is not there. */
bool fake_aws_http_query(fake_text_t query, const char *name, fake_text_t *value);

#endif
