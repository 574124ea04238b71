/* libFuzzer harness for source-sqs's reader of flat message bodies
 * (plugins/source-sqs/sqs_body.c), which stands in for json_loadb on the
 * usual bodies.
 *
 * Input: a message body. Whenever the reader takes it, json_loadb takes it
 * too and gives an equal tree whose members come in the same order (the
 * same text when both are dumped), and the tree is a flat object. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_aws.h"
#include "sqs_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  json_t *got = sqs_body_scan(text, size);
  if (!got)
    return 0;
  check(json_is_object(got));
  const char *key;
  json_t *value;
  json_object_foreach(got, key, value) {
    check(!json_is_object(value) && !json_is_array(value) &&
          !json_is_real(value));
  }
  json_t *want = json_loadb(text, size, JSON_DECODE_ANY, NULL);
  check(want != NULL);
  check(json_equal(got, want));
  char *got_text = json_dumps(got, JSON_COMPACT);
  char *want_text = json_dumps(want, JSON_COMPACT);
  check(got_text && want_text && strcmp(got_text, want_text) == 0);
  free(got_text);
  free(want_text);
  json_decref(got);
  json_decref(want);
  return 0;
}
