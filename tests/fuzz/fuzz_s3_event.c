/* libFuzzer harness for source-s3's event notification parser
 * (plugins/source-s3/s3_event.c): the input is one SQS message body.
 *
 * Checked: an accepted body gives objects as s3_event.h promises them
 * (bucket non-empty, key 1..PL_S3_KEY_MAX bytes without NUL, etag NULL or
 * non-empty, event name "ObjectCreated:..." or EventBridge's "Object
 * Created"); a refused one leaves the
 * event empty and appends exactly one printable line of bounded size to
 * the reason (what was in the buffer before stays); the code does not
 * depend on whether a reason is wanted. The body is then wrapped in an SNS
 * notification: when that is accepted, the bare body must have been
 * accepted with the same objects, and a bare body refused must be refused
 * wrapped. */
#include "s3_event.h"

#include <jansson.h>
#include <pipelined/s3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "earlier text\n"
#define REASON_MAX 512

/* Stops the run at the first broken promise, naming the check's line. */
static void check_at(bool ok, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

static bool same_text(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_event(const s3_event_t *ev) {
  check((ev->count == 0) == (ev->objects == NULL));
  check(!ev->test_event || ev->count == 0);
  for (size_t i = 0; i < ev->count; i++) {
    const s3_event_object_t *o = &ev->objects[i];
    check(o->bucket && o->bucket[0]);
    size_t key_len = o->key ? strlen(o->key) : 0;
    check(key_len >= 1 && key_len <= PL_S3_KEY_MAX);
    check(!o->etag || o->etag[0]);
    check(o->has_size || o->size == 0);
    /* A notification's record, or an EventBridge "Object Created". */
    check(o->event_name &&
          (strncmp(o->event_name, "ObjectCreated:", 14) == 0 ||
           strcmp(o->event_name, "Object Created") == 0));
    check(!o->time || o->time[0]);
  }
}

static bool same_event(const s3_event_t *a, const s3_event_t *b) {
  if (a->count != b->count || a->skipped != b->skipped ||
      a->test_event != b->test_event)
    return false;
  for (size_t i = 0; i < a->count; i++) {
    const s3_event_object_t *x = &a->objects[i], *y = &b->objects[i];
    if (!same_text(x->bucket, y->bucket) || !same_text(x->key, y->key) ||
        !same_text(x->etag, y->etag) || x->size != y->size ||
        x->has_size != y->has_size ||
        !same_text(x->event_name, y->event_name) ||
        !same_text(x->time, y->time))
      return false;
  }
  return true;
}

/* Parses `body`, checks the result and returns the code; *ev is filled
 * (the caller closes it). */
static int parse(const char *body, size_t len, s3_event_t *ev) {
  pl_buf_t why = {0};
  check(pl_buf_append_str(&why, PREFIX) == 0);
  int rc = s3_event_parse(body, len, ev, &why);
  if (rc == 0) {
    check(why.len == strlen(PREFIX));
    check(ev->problem == S3_EVENT_PARSED);
    check_event(ev);
  } else {
    check(rc == PL_EPARSE);
    check(ev->problem != S3_EVENT_PARSED);
    check(ev->count == 0 && ev->objects == NULL && ev->skipped == 0 &&
          !ev->test_event);
    check(strncmp(why.data, PREFIX, strlen(PREFIX)) == 0);
    const char *reason = why.data + strlen(PREFIX);
    size_t n = strlen(reason);
    check(n > 0 && n < REASON_MAX && n == why.len - strlen(PREFIX));
    for (size_t i = 0; i < n; i++)
      check(reason[i] >= 0x20 && reason[i] < 0x7f);
  }
  s3_event_t quiet;
  check(s3_event_parse(body, len, &quiet, NULL) == rc);
  check(quiet.problem == ev->problem);
  s3_event_close(&quiet);
  pl_buf_free(&why);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  s3_event_t bare;
  int rc = parse(body, size, &bare);

  json_t *message = json_stringn(body, size); /* NULL: not UTF-8 */
  if (message) {
    json_t *sns =
        json_pack("{s:s, s:o}", "Type", "Notification", "Message", message);
    char *text = sns ? json_dumps(sns, JSON_COMPACT) : NULL;
    check(text != NULL);
    s3_event_t wrapped;
    int wrapped_rc = parse(text, strlen(text), &wrapped);
    if (wrapped_rc == 0)
      check(rc == 0 && same_event(&bare, &wrapped));
    if (rc != 0)
      check(wrapped_rc != 0);
    s3_event_close(&wrapped);
    free(text);
    json_decref(sns);
  }
  s3_event_close(&bare);
  s3_event_close(&bare); /* closing twice is allowed */
  return 0;
}
