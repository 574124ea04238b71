/* libFuzzer harness for the fake AWS's reader of JSON request bodies
 * (bench/tools/fake_aws_json.c), checked against jansson.
 *
 * Input: the text. Whatever jansson takes (any value, nesting within the
 * reader's bound, no NUL byte) the reader takes too. Whatever the reader takes,
 * it walks: an array has as many elements as jansson's, an object as many
 * members as written (jansson keeps one of each duplicate key) and, where
 * the keys are distinct and have no escapes, each member found by
 * fake_json_member() is the text of jansson's value for that key (a
 * string read by fake_json_string() its text, an integer read by
 * fake_json_int() its value, an array as long). Any text, taken or not,
 * is walked without reading past its end (the sanitizers watch). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_aws_json.h"
#include "fuzz_aws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reader refuses nesting deeper than this (fake_aws_json.c's bound). */
#define READER_DEPTH 64

static size_t depth_of(const json_t *value) {
  size_t deepest = 0;
  if (json_is_array(value)) {
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item) {
      size_t d = depth_of(item);
      deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
  }
  if (json_is_object(value)) {
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)value, key, item) {
      size_t d = depth_of(item);
      deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
  }
  return 0;
}

static bool has_escape(fake_text_t key) {
  return memchr(key.at, '\\', key.len) != NULL;
}

/* Each member of `object` (distinct keys) is jansson's value of its key. */
static void check_members(fake_text_t text, const json_t *root) {
  fake_json_iter_t it = fake_json_iter(text);
  fake_text_t key, value, found;
  while (fake_json_next(&it, &key, &value)) {
    if (has_escape(key))
      continue;
    char name[256];
    if (key.len >= sizeof(name) || memchr(key.at, '\0', key.len))
      continue;
    memcpy(name, key.at, key.len);
    name[key.len] = '\0';
    check(fake_json_member(text, name, &found));
    check(found.at == value.at && found.len == value.len);
    json_t *mine =
        json_loadb(value.at, value.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    check(mine != NULL);
    const json_t *theirs = json_object_get(root, name);
    check(json_equal(mine, theirs));
    json_decref(mine);
    /* A string without escapes is its text; a short integer its value. */
    fake_text_t str;
    if (fake_json_string(value, &str)) {
      check(json_is_string(theirs));
      if (!memchr(str.at, '\\', str.len))
        check(str.len == json_string_length(theirs) &&
              memcmp(str.at, json_string_value(theirs), str.len) == 0);
    }
    long long n;
    if (fake_json_int(value, &n))
      check(json_is_integer(theirs) && json_integer_value(theirs) == n);
    /* Nested containers walk as jansson's do. */
    if (json_is_array(theirs))
      check(fake_json_count(value) == json_array_size(theirs));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fake_text_t text = {(const char *)data, size};
  json_t *root =
      json_loadb(text.at, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  bool valid = fake_json_valid(text);
  /* jansson ends a text at a NUL byte, which RFC 8259 does not. */
  if (root && depth_of(root) < READER_DEPTH && !memchr(data, '\0', size))
    check(valid);
  if (valid) {
    size_t count = fake_json_count(text);
    if (root && json_is_array(root))
      check(count == json_array_size(root));
    if (root && json_is_object(root)) {
      check(count >= json_object_size(root));
      if (count == json_object_size(root))
        check_members(text, root);
    }
    if (root && !json_is_array(root) && !json_is_object(root))
      check(count == 0);
  }
  /* Any text, taken or not, is walked without reading past its end. */
  fake_text_t found;
  (void)fake_json_count(text);
  (void)fake_json_member(text, "Entries", &found);
  json_decref(root);
  return 0;
}
