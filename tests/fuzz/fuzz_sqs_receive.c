/* libFuzzer harness for the SQS ReceiveMessage response parser
 * (pl__sqs_receive_parse in src/aws/sqs_receive.c), the poller's reading
 * of what SQS (or anything answering in its place) sends.
 *
 * Input: the response body. Whatever it is, the parser returns 0,
 * PL_EPARSE or PL_ENOMEM; an error leaves no message; otherwise every
 * entry of "Messages" is either a message or counted as skipped (with the
 * first problem named), and each message is checked against its entry:
 * the MessageId and ReceiptHandle, the body and its length (NULs
 * included, NUL-terminated), and attributes that are only the entry's
 * own, each read as pl__sqs_attribute_value reads it. The public
 * accessors must say the same. And wherever the scanner of the usual
 * answer (pl__sqs_receive_scan) reads the text, its result is the tree
 * parser's. */
#include "sqs_receive.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_aws.h"

static bool usable(const json_t *text) {
  return json_is_string(text) && json_string_length(text) > 0;
}

static void check_message(const pl_sqs_message_t *m, const json_t *entry) {
  const json_t *id = json_object_get(entry, "MessageId");
  const json_t *handle = json_object_get(entry, "ReceiptHandle");
  check(json_is_string(id) && json_string_length(id) > 0);
  check(json_is_string(handle) && json_string_length(handle) > 0);
  check(strcmp(pl_sqs_message_id(m), json_string_value(id)) == 0);
  check(strcmp(m->receipt_handle, json_string_value(handle)) == 0);
  const json_t *body = json_object_get(entry, "Body");
  size_t len = 99;
  const char *text = pl_sqs_message_body(m, &len);
  check(text == m->body && len == m->body_len && text[len] == '\0');
  if (json_is_string(body))
    check(len == json_string_length(body) &&
          memcmp(text, json_string_value(body), len) == 0);
  else
    check(len == 0);
  check(pl_sqs_message_receive_count(m) == m->receive_count);
  check(pl_sqs_message_sent_timestamp(m) == m->sent_timestamp);
  const json_t *attrs = pl_sqs_message_attributes(m);
  check(attrs == m->attributes);
  const json_t *sent = json_object_get(entry, "MessageAttributes");
  if (!attrs)
    return;
  check(json_is_object(attrs) && json_object_size(attrs) > 0);
  const char *name;
  json_t *value;
  json_object_foreach((json_t *)attrs, name, value) {
    json_t *again = pl__sqs_attribute_value(json_object_get(sent, name));
    check(again && json_equal(again, value));
    check(json_is_string(value) || json_is_integer(value));
    json_decref(again);
  }
}

/* The scanner of the usual answer (pl__sqs_receive_scan) either gives
 * up or gives exactly what the tree parser gives. */
static void check_scan(const uint8_t *data, size_t size,
                       const pl__sqs_receive_result_t *tree, int tree_rc) {
  pl__sqs_receive_result_t scan;
  int rc = pl__sqs_receive_scan((const char *)data, size, &scan);
  check(rc == 0 || rc == PL_EAGAIN || rc == PL_ENOMEM);
  if (rc != 0) {
    check(scan.count == 0 && !scan.messages);
    return;
  }
  check(tree_rc == 0);
  check(scan.count == tree->count && scan.skipped == tree->skipped);
  check((scan.problem == NULL) == (tree->problem == NULL));
  check(!scan.problem || strcmp(scan.problem, tree->problem) == 0);
  for (size_t i = 0; i < scan.count; i++) {
    const pl_sqs_message_t *a = scan.messages[i], *b = tree->messages[i];
    check(strcmp(a->message_id, b->message_id) == 0);
    check(strcmp(a->receipt_handle, b->receipt_handle) == 0);
    check(a->body_len == b->body_len &&
          memcmp(a->body, b->body, a->body_len + 1) == 0);
    check(a->receive_count == b->receive_count);
    check(a->sent_timestamp == b->sent_timestamp);
    check((a->attributes == NULL) == (b->attributes == NULL));
    check(!a->attributes || json_equal(a->attributes, b->attributes));
  }
  pl__sqs_receive_result_free(&scan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  pl__sqs_receive_result_t got;
  int rc = pl__sqs_receive_parse(root, &got);
  const json_t *list = json_object_get(root, "Messages");
  if (rc < 0) {
    check(rc == PL_EPARSE || rc == PL_ENOMEM);
    check(rc != PL_EPARSE || !json_is_object(root) ||
          (list && !json_is_null(list) && !json_is_array(list)));
    check(got.count == 0 && got.skipped == 0 && !got.messages);
  } else {
    check(rc == 0 && json_is_object(root));
    size_t n = json_is_array(list) ? json_array_size(list) : 0;
    check(got.count + got.skipped == n);
    check((got.skipped > 0) == (got.problem != NULL));
    /* An entry is used exactly when it has a non-empty MessageId and
     * ReceiptHandle, and the messages keep the entries' order. */
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
      const json_t *entry = json_array_get(list, i);
      if (!usable(json_object_get(entry, "MessageId")) ||
          !usable(json_object_get(entry, "ReceiptHandle")))
        continue;
      check(used < got.count);
      check_message(got.messages[used++], entry);
    }
    check(used == got.count);
  }
  /* jansson's root of an empty text is NULL, not the empty receive the
   * scanner never gives for it. */
  check_scan(data, size, &got, root ? rc : PL_EPARSE);
  pl__sqs_receive_result_free(&got);
  check(got.count == 0 && !got.messages);
  json_decref(root);
  return 0;
}
