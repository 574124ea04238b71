/* What the fake AWS (bench/tools/fake_aws.c) reads of a JSON request
 * body: a few members found in place, without building a tree. The fake
 * must cost a small part of what the client it measures costs per
 * request; a tree of every request (jansson's, two thirds of the fake's
 * CPU) made it slower than pipelined itself, so that pipelined waited for
 * it. Its own small reader, not pipelined's: the fake checks pipelined's
 * requests and must not share their parser's mistakes.
 *
 * fake_json_valid() checks a whole body (RFC 8259's grammar; strings'
 * escapes are checked for form, UTF-8 is not), and the fake reads only
 * bodies it took. The other functions read a valid text; in one that is
 * not, a walk stops at the first fault (what came before it was read).
 * Pure: no I/O, no allocation; every text points into the body, which
 * need not end in a NUL. */
#ifndef FAKE_AWS_JSON_H
#define FAKE_AWS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_aws_http.h"

/* Whether `text` is one JSON value, with white space around it only. */
bool fake_json_valid(fake_text_t text);

/* The value of member `key` of the object `object` (its whole text, a
 * string with its quotes; of a key written twice, the first); false when
 * `object` is not an object or has no such member. Keys are compared as
 * written (no escapes decoded). */
bool fake_json_member(fake_text_t object, const char *key, fake_text_t *value);

/* Walks the elements of an array or the members of an object. */
typedef struct fake_json_iter {
  const char *at, *end;
  char close; /* ']' or '}'; 0 when not a container */
} fake_json_iter_t;

/* Starts a walk of `container`; a value that is not an array or object
 * walks as empty. */
fake_json_iter_t fake_json_iter(fake_text_t container);
/* The next element (`key` may be NULL: unset for arrays) or member (its
 * key's text without quotes, and its value); false at the end. */
bool fake_json_next(fake_json_iter_t *it, fake_text_t *key, fake_text_t *value);
/* Elements of an array or members of an object; 0 for anything else. */
size_t fake_json_count(fake_text_t container);

/* A string's text between its quotes, escapes as written (a valid JSON
 * string's body again); false when `value` is not a string. */
bool fake_json_string(fake_text_t value, fake_text_t *text);
/* An integer's value; false when `value` is not an integer of at most 18
 * digits. */
bool fake_json_int(fake_text_t value, long long *out);

#endif
