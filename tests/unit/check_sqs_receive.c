/* The SQS poller's reading of ReceiveMessage answers as text
 * (pl__sqs_receive_read and pl__sqs_receive_scan in src/aws/sqs_receive.c):
 * on each text below, wherever the scanner answers, its messages are those
 * that json_loadb and pl__sqs_receive_parse give; the usual answers are
 * the scanner's, and the others are left to jansson. The tree parser
 * itself is tested in check_sqs_poller.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/sqs.h>

#include "sqs_receive.h"
#include "test_suite.h"

/* An answer as fauxqs and SQS write it: two messages of the producer. */
static const char usual[] =
    "{\"Messages\":[{\"MessageId\":\"6c4b0d6e-1\",\"ReceiptHandle\":"
    "\"AQEB+abc/def==\",\"MD5OfBody\":\"0f343b0931126a20f133d67c2b018a3b\","
    "\"Body\":\"{\\\"product_id\\\":\\\"P0000001\\\",\\\"location\\\":"
    "\\\"Warehouse B\\\",\\\"quantity\\\":1,\\\"update_date\\\":"
    "\\\"2023-02-02\\\"}\",\"Attributes\":{\"ApproximateReceiveCount\":"
    "\"1\",\"SentTimestamp\":\"1700000000123\"},\"MD5OfMessageAttributes\":"
    "\"d25a6aea97eb8f585bfa92d314504a92\",\"MessageAttributes\":{\"origin\":"
    "{\"StringValue\":\"file:/in.csv\",\"DataType\":\"String\"},\"line\":"
    "{\"StringValue\":\"2\",\"DataType\":\"Number\"}}},\n"
    " {\"MessageId\":\"m2\",\"ReceiptHandle\":\"rh2\",\"Body\":\"caf\xc3\xa9"
    " \\t\\\\ \\/ \\n\",\"MessageAttributes\":{\"blob\":{\"DataType\":"
    "\"Binary\",\"BinaryValue\":\"AAEC\"},\"f\":{\"DataType\":"
    "\"Number.float\",\"StringValue\":\"0.5\"},\"none\":{\"DataType\":"
    "\"String\"}}}]}";

/* Texts the scanner reads itself. */
static const char *const scanned[] = {
    usual,
    "{}",
    " { \"Messages\" : [ ] } ",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\"}]}",
    /* Skipped entries, as the tree parser skips them. */
    "{\"Messages\":[{\"ReceiptHandle\":\"r\"},{\"MessageId\":\"\","
    "\"ReceiptHandle\":\"r\"},{\"MessageId\":\"m\"},"
    "{\"MessageId\":\"m3\",\"ReceiptHandle\":\"r3\",\"Body\":\"\"}]}",
    /* Attributes none of which has a value: no attributes. */
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"MessageAttributes\":{\"a\":{\"DataType\":\"String\"},\"b\":{}}}]}",
    /* Counts that are not whole numbers read as 0. */
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Attributes\":{\"ApproximateReceiveCount\":\"x\",\"SentTimestamp\":"
    "\"99999999999999999999\",\"Other\":\"1\"}}]}",
    "{\"Other\":{\"a\":[\"b\",{}]},\"Messages\":[]}",
    /* An escaped quote and backslash at the end of the body. */
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":"
    "\"\\\"\\\\\"}]}",
};

/* Texts left to jansson: each is valid JSON outside the usual shape,
 * or not JSON at all. */
static const char *const unusual[] = {
    "[]",
    "{\"Messages\":null}",
    "{\"Messages\":{}}",
    "{\"Messages\":[1]}",
    "{\"Messages\":[],\"Messages\":[]}",
    "{\"Messages\":[{\"MessageId\":\"a\",\"MessageId\":\"b\","
    "\"ReceiptHandle\":\"r\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"\\u00e9\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":7}]}",
    "{\"Messages\":[{\"M\\u0065ssageId\":\"m\",\"ReceiptHandle\":\"r\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"MessageAttributes\":{\"a\":{\"DataType\":\"String\",\"StringValue\":"
    "\"1\"},\"a\":{\"DataType\":\"String\"}}}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"MessageAttributes\":{\"a\":{\"DataType\":\"String\","
    "\"StringListValues\":[]}}}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Attributes\":{\"SentTimestamp\":1}}]}",
    /* Not JSON. */
    "",
    "{",
    "{\"Messages\":[]}x",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"a\tb\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"\xc3\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"\xed\xa0\x80\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"\xc0\xaf\"}]}",
    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
    "\"Body\":\"\\x\"}]}",
};

/* The result of json_loadb and pl__sqs_receive_parse on `text`. */
static int by_tree(const char *text, pl__sqs_receive_result_t *out) {
  json_t *tree = json_loadb(text, strlen(text), JSON_DECODE_ANY, NULL);
  if (!tree) {
    *out = (pl__sqs_receive_result_t){0};
    return PL_EINVAL;
  }
  int rc = pl__sqs_receive_parse(tree, out);
  json_decref(tree);
  return rc;
}

static void assert_same(const pl__sqs_receive_result_t *a,
                        const pl__sqs_receive_result_t *b) {
  ck_assert_uint_eq(a->count, b->count);
  ck_assert_uint_eq(a->skipped, b->skipped);
  if (a->problem || b->problem)
    ck_assert_str_eq(a->problem, b->problem);
  for (size_t i = 0; i < a->count; i++) {
    const pl_sqs_message_t *x = a->messages[i], *y = b->messages[i];
    ck_assert_str_eq(x->message_id, y->message_id);
    ck_assert_str_eq(x->receipt_handle, y->receipt_handle);
    ck_assert_uint_eq(x->body_len, y->body_len);
    ck_assert_int_eq(memcmp(x->body, y->body, x->body_len + 1), 0);
    ck_assert_int_eq(x->receive_count, y->receive_count);
    ck_assert_int_eq(x->sent_timestamp, y->sent_timestamp);
    ck_assert_int_eq(x->attributes == NULL, y->attributes == NULL);
    if (x->attributes) {
      ck_assert(json_equal(x->attributes, y->attributes));
      /* In the same order, as the record's attributes are set. */
      void *ix = json_object_iter(x->attributes);
      void *iy = json_object_iter(y->attributes);
      for (; ix && iy; ix = json_object_iter_next(x->attributes, ix),
                       iy = json_object_iter_next(y->attributes, iy))
        ck_assert_str_eq(json_object_iter_key(ix), json_object_iter_key(iy));
    }
  }
}

START_TEST(the_usual_answers_are_scanned_as_the_tree_reads_them) {
  for (size_t i = 0; i < sizeof(scanned) / sizeof(*scanned); i++) {
    pl__sqs_receive_result_t scan, tree;
    ck_assert_msg(pl__sqs_receive_scan(scanned[i], strlen(scanned[i]),
                                       &scan) == 0,
                  "text %zu was not scanned", i);
    ck_assert_int_eq(by_tree(scanned[i], &tree), 0);
    assert_same(&scan, &tree);
    pl__sqs_receive_result_t read;
    json_error_t error;
    ck_assert_int_eq(
        pl__sqs_receive_read(scanned[i], strlen(scanned[i]), &read, &error),
        0);
    assert_same(&read, &tree);
    pl__sqs_receive_result_free(&scan);
    pl__sqs_receive_result_free(&tree);
    pl__sqs_receive_result_free(&read);
  }
}
END_TEST

START_TEST(the_usual_answer_holds_what_was_sent) {
  pl__sqs_receive_result_t got;
  ck_assert_int_eq(pl__sqs_receive_scan(usual, strlen(usual), &got), 0);
  ck_assert_uint_eq(got.count, 2);
  const pl_sqs_message_t *m = got.messages[0];
  ck_assert_str_eq(m->message_id, "6c4b0d6e-1");
  ck_assert_str_eq(m->receipt_handle, "AQEB+abc/def==");
  ck_assert_str_eq(m->body, "{\"product_id\":\"P0000001\",\"location\":"
                            "\"Warehouse B\",\"quantity\":1,"
                            "\"update_date\":\"2023-02-02\"}");
  ck_assert_int_eq(m->receive_count, 1);
  ck_assert_int_eq(m->sent_timestamp, 1700000000123);
  ck_assert_str_eq(
      json_string_value(json_object_get(m->attributes, "origin")),
      "file:/in.csv");
  ck_assert_int_eq(
      json_integer_value(json_object_get(m->attributes, "line")), 2);
  /* What it holds in memory: at least its texts, and more per attribute. */
  size_t texts = strlen(m->message_id) + strlen(m->receipt_handle) + m->body_len;
  size_t attributes = json_object_size(m->attributes);
  ck_assert_uint_gt(attributes, 0);
  ck_assert_uint_ge(pl_sqs_message_memory(m),
                    sizeof(*m) + texts + attributes * 128);
  ck_assert_uint_lt(pl_sqs_message_memory(m), sizeof(*m) + texts + 4096);
  m = got.messages[1];
  ck_assert_str_eq(m->body, "caf\xc3\xa9 \t\\ / \n");
  ck_assert_int_eq(m->receive_count, 0);
  ck_assert_uint_eq(json_object_size(m->attributes), 2);
  ck_assert_str_eq(json_string_value(json_object_get(m->attributes, "f")),
                   "0.5");
  pl__sqs_receive_result_free(&got);
}
END_TEST

/* Counts and Number attributes are whole numbers as written: a sign of
 * '-' only, digits only, within int64_t; anything else reads as 0 (a
 * count) or stays text (an attribute). */
START_TEST(whole_numbers_are_read_exactly) {
  static const struct {
    const char *text;
    int64_t count;   /* as ApproximateReceiveCount */
    bool is_integer; /* as a Number attribute */
  } cases[] = {
      {"3", 3, true},
      {"-3", -3, true},
      {"007", 7, true},
      {"9223372036854775807", INT64_MAX, true},
      {"-9223372036854775808", INT64_MIN, true},
      {"9223372036854775808", 0, false},
      {"99999999999999999999", 0, false},
      {"+1", 0, false},
      {"1.0", 0, false},
      {" 1", 0, false},
      {"1 ", 0, false},
      {"-", 0, false},
      {"", 0, false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\","
             "\"Attributes\":{\"ApproximateReceiveCount\":\"%s\"},"
             "\"MessageAttributes\":{\"n\":{\"DataType\":\"Number\","
             "\"StringValue\":\"%s\"}}}]}",
             cases[i].text, cases[i].text);
    pl__sqs_receive_result_t got;
    json_error_t error;
    ck_assert_int_eq(pl__sqs_receive_read(text, strlen(text), &got, &error), 0);
    ck_assert_uint_eq(got.count, 1);
    const pl_sqs_message_t *m = got.messages[0];
    ck_assert_msg(m->receive_count == cases[i].count, "'%s' read as %lld",
                  cases[i].text, (long long)m->receive_count);
    const json_t *n = json_object_get(m->attributes, "n");
    ck_assert_msg(json_is_integer(n) == cases[i].is_integer,
                  "'%s' as a Number attribute", cases[i].text);
    if (cases[i].is_integer)
      ck_assert(json_integer_value(n) == cases[i].count);
    else
      ck_assert_str_eq(json_string_value(n), cases[i].text);
    pl__sqs_receive_result_free(&got);
  }
}
END_TEST

START_TEST(other_answers_are_left_to_jansson) {
  for (size_t i = 0; i < sizeof(unusual) / sizeof(*unusual); i++) {
    pl__sqs_receive_result_t scan, tree, read;
    ck_assert_msg(pl__sqs_receive_scan(unusual[i], strlen(unusual[i]),
                                       &scan) == PL_EAGAIN,
                  "text %zu was scanned", i);
    ck_assert_uint_eq(scan.count, 0);
    ck_assert_ptr_null(scan.messages);
    json_error_t error;
    int rc = by_tree(unusual[i], &tree);
    /* An empty text is an empty receive, as the AWS layer took it. */
    if (!*unusual[i])
      rc = 0;
    ck_assert_int_eq(pl__sqs_receive_read(unusual[i], strlen(unusual[i]),
                                          &read, &error),
                     rc);
    assert_same(&read, &tree);
    pl__sqs_receive_result_free(&tree);
    pl__sqs_receive_result_free(&read);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("sqs_receive");
  TCase *tc = tcase_create("read");
  tcase_add_test(tc, the_usual_answers_are_scanned_as_the_tree_reads_them);
  tcase_add_test(tc, the_usual_answer_holds_what_was_sent);
  tcase_add_test(tc, other_answers_are_left_to_jansson);
  tcase_add_test(tc, whole_numbers_are_read_exactly);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
