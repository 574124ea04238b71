/* libFuzzer harness for source-sqs's check of a body's numbers
 * (plugins/source-sqs/sqs_number.c), which walks text json_loadb took (or
 * refused for a number) without a parser of its own.
 *
 * Input: a message body. Whatever the bytes, the walk reads nothing past
 * them and returns 0 or PL_EPARSE, the latter with a reason naming the
 * number. When json_loadb takes the text and its tree holds no real, every
 * number was an integer jansson holds: the check finds nothing (so it
 * never takes a string's text for a number; text with duplicate keys is
 * not compared, as the tree keeps only the last). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws.h"
#include "sqs_number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_real(const json_t *value) {
  if (json_is_real(value))
    return true;
  const char *key;
  size_t i;
  json_t *member;
  if (json_is_object(value)) {
    json_object_foreach((json_t *)value, key, member) {
      if (has_real(member))
        return true;
    }
  }
  if (json_is_array(value)) {
    json_array_foreach(value, i, member) {
      if (has_real(member))
        return true;
    }
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy of exactly `size` bytes: ASan sees a read past them. */
  char *text = malloc(size ? size : 1);
  check(text != NULL);
  memcpy(text, data, size);
  pl_buf_t reason = {0};
  int rc = sqs_numbers_check(text, size, &reason);
  check(rc == 0 || rc == PL_EPARSE);
  check((rc == 0) == (reason.len == 0));
  if (rc == PL_EPARSE)
    check(strstr(reason.data, "the number ") != NULL);
  /* Duplicate keys are refused for this: jansson keeps the last, and a
   * number the text holds in an earlier one is not in the tree. */
  json_t *tree = json_loadb(
      text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
      NULL);
  if (tree && !has_real(tree))
    check(rc == 0);
  json_decref(tree);
  pl_buf_free(&reason);
  free(text);
  return 0;
}
