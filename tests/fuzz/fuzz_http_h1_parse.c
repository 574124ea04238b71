/* libFuzzer harness for the builtin HTTP client's response parser
 * (pl__http_h1_parse in src/aws/http_h1_parse.c), which reads what any
 * server, or anything posing as one, sends back.
 *
 * Input: one byte of flags (bit 0: the answer to a HEAD request; bits 1-7:
 * the size of the pieces the rest is fed in, 0: whole), then the bytes.
 *
 * Checked: the parser returns 0, 1 or PL_EIO (with a reason) and never
 * takes more than it was given; once the headers are read, every name is
 * lower-case and free of blanks, and the status is 200 to 599; a complete
 * answer's body has its Content-Length when one was given (and no chunked
 * coding), and none for HEAD, 204 and 304; feeding the input whole or in
 * pieces gives the same outcome, status and body. */
#include "http_h1_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

typedef struct outcome {
  int rc;
  int status;
  pl_buf_t body;
} outcome_t;

static int collect(void *data, const char *bytes, size_t len) {
  outcome_t *o = data;
  return pl_buf_append(&o->body, bytes, len) < 0 ? PL_ENOMEM : 0;
}

static void run(const char *bytes, size_t size, bool head, size_t piece,
                outcome_t *o) {
  pl_http_h1_parser_t p;
  pl__http_h1_parser_init(&p, head, collect, o);
  int rc = 0;
  size_t at = 0;
  while (at < size && rc == 0) {
    size_t n = piece && size - at > piece ? piece : size - at;
    size_t used = 0;
    rc = pl__http_h1_parse(&p, bytes + at, n, &used);
    check(used <= n);
    check(rc == 0 || rc == 1 || rc == PL_EIO);
    check(rc != PL_EIO || p.error);
    check(rc != 0 || used == n);
    at += used;
  }
  if (p.headers_done) {
    check(p.status >= 200 && p.status <= 599);
    check(p.headers || p.header_count == 0);
    for (size_t i = 0; i < p.header_count; i++)
      for (const char *c = p.headers[i].name; *c; c++)
        check(!(*c >= 'A' && *c <= 'Z') && *c != ' ' && *c != '\t');
  }
  if (rc == 1) {
    if (head || p.status == 204 || p.status == 304)
      check(o->body.len == 0);
    else if (p.has_length && !p.chunked)
      check(o->body.len == p.length);
  }
  o->rc = rc;
  o->status = p.headers_done ? p.status : 0;
  pl__http_h1_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  bool head = data[0] & 1;
  size_t piece = data[0] >> 1;
  const char *bytes = (const char *)data + 1;
  size -= 1;
  outcome_t whole = {0}, split = {0};
  run(bytes, size, head, 0, &whole);
  run(bytes, size, head, piece, &split);
  check(whole.rc == split.rc && whole.status == split.status);
  check(whole.body.len == split.body.len);
  check(whole.body.len == 0 ||
        memcmp(whole.body.data, split.body.data, whole.body.len) == 0);
  pl_buf_free(&whole.body);
  pl_buf_free(&split.body);
  return 0;
}
