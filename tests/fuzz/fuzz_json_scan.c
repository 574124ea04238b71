/* libFuzzer harness for the strict JSON text scanner (src/json_scan.c,
 * <pipelined/json_scan.h>), which readers of the usual AWS answers trust
 * to take only what jansson takes.
 *
 * Input: one byte of options (the scan's flags and its max_depth), then
 * the text. The text is walked twice: skipped whole (pl_json_scan_skip),
 * and walked value by value into a jansson tree (objects with
 * pl_json_scan_member, strings unescaped by pl_json_scan_str_dup, scalars
 * skipped and their text read by jansson). Whenever either walk takes the
 * whole text, json_loadb takes it too, the depth is back where it started,
 * both walks agree, and the walked tree is equal to jansson's. */
#include <jansson.h>
#include <pipelined/json_scan.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value at the cursor as a new reference, or NULL when the scanner
 * gives up. */
static json_t *walk(pl_json_scan_t *s) {
  if (pl_json_scan_peek(s, '"')) {
    pl_json_scan_str_t str;
    if (!pl_json_scan_string(s, &str))
      return NULL;
    check(str.present && str.len <= str.raw_len);
    char *text = pl_json_scan_str_dup(&str);
    check(text && strlen(text) == str.len);
    json_t *value = json_stringn(text, str.len);
    free(text);
    check(value != NULL); /* valid UTF-8, or jansson refuses it */
    return value;
  }
  if (pl_json_scan_peek(s, '{')) {
    if (!pl_json_scan_enter(s))
      return NULL;
    json_t *object = json_object();
    bool first = true, ok = true;
    pl_json_scan_str_t key;
    while (ok && pl_json_scan_member(s, &first, &key, &ok)) {
      check(key.len == key.raw_len);
      json_t *value = walk(s);
      char *name = pl_json_scan_str_dup(&key);
      ok = value && name && json_object_set_new(object, name, value) == 0;
      if (value && !name)
        json_decref(value);
      free(name);
    }
    s->depth--;
    if (!ok) {
      json_decref(object);
      return NULL;
    }
    return object;
  }
  if (pl_json_scan_take(s, '[')) {
    if (!pl_json_scan_enter(s))
      return NULL;
    json_t *array = json_array();
    bool ok = true;
    if (!pl_json_scan_take(s, ']')) {
      do {
        json_t *value = walk(s);
        ok = value && json_array_append_new(array, value) == 0;
      } while (ok && pl_json_scan_take(s, ','));
      ok = ok && pl_json_scan_take(s, ']');
    }
    s->depth--;
    if (!ok) {
      json_decref(array);
      return NULL;
    }
    return array;
  }
  pl_json_scan_ws(s);
  const char *start = s->p;
  if (!pl_json_scan_skip(s))
    return NULL;
  check(s->p > start);
  json_error_t error;
  json_t *scalar = json_loadb(start, (size_t)(s->p - start), JSON_DECODE_ANY,
                              &error);
  check(scalar && (json_is_integer(scalar) || json_is_true(scalar) ||
                   json_is_false(scalar) || json_is_null(scalar)));
  return scalar;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned flags = data[0] & 3u, max_depth = (unsigned)(data[0] >> 2);
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  json_error_t error;
  json_t *tree = json_loadb(text, len, JSON_DECODE_ANY, &error);

  pl_json_scan_t s;
  pl_json_scan_init(&s, text, len, flags, max_depth);
  bool skipped = pl_json_scan_skip(&s) && pl_json_scan_at_end(&s);
  if (skipped) {
    check(tree != NULL);
    check(s.depth == 0);
  }

  pl_json_scan_init(&s, text, len, flags, max_depth);
  json_t *walked = walk(&s);
  if (walked && !pl_json_scan_at_end(&s)) {
    json_decref(walked);
    walked = NULL;
  }
  check((walked != NULL) == skipped);
  if (walked) {
    check(s.depth == 0);
    check(json_equal(walked, tree));
  }
  json_decref(walked);
  json_decref(tree);
  return 0;
}
