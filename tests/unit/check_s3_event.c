/* Check suite for plugins/source-s3/s3_event.c: S3 event notification
 * bodies shaped like the ones in the S3 user guide ("Event message
 * structure"), several records, the test event, SNS-wrapped bodies,
 * skipped event types, awkward keys (URL-encoded with '+' for spaces,
 * unicode, literal '+'), eTag quotes, a missing size, and the exact reason
 * of every refusal, which must be safe to log. */
#include <check.h>
#include <jansson.h>
#include <pipelined/s3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_event.h"
#include "test_suite.h"

/* The example of the S3 user guide, with `key`, `etag` and `size` (the
 * JSON text of the members, without the member when NULL) spliced in. */
static char *documented_record(const char *event_name, const char *key,
                               const char *etag, const char *size) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_printf(
          &buf,
          "{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\","
          "\"awsRegion\":\"us-west-2\","
          "\"eventTime\":\"1970-01-01T00:00:00.000Z\","
          "\"eventName\":\"%s\","
          "\"userIdentity\":{\"principalId\":\"AIDAJDPLRKLG7UEXAMPLE\"},"
          "\"requestParameters\":{\"sourceIPAddress\":\"127.0.0.1\"},"
          "\"responseElements\":{\"x-amz-request-id\":\"C3D13FE58DE4C810\","
          "\"x-amz-id-2\":\"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/"
          "JRWeUWerMUE5JgHvANOjpD\"},"
          "\"s3\":{\"s3SchemaVersion\":\"1.0\","
          "\"configurationId\":\"testConfigRule\","
          "\"bucket\":{\"name\":\"amzn-s3-demo-bucket\","
          "\"ownerIdentity\":{\"principalId\":\"A3NL1KOZZKExample\"},"
          "\"arn\":\"arn:aws:s3:::amzn-s3-demo-bucket\"},"
          "\"object\":{\"key\":\"%s\"%s%s%s%s,"
          "\"versionId\":\"096fKKXTRTtl3on89fVO.nfljtsv6qko\","
          "\"sequencer\":\"0055AED6DCD90281E5\"}}}",
          event_name, key, etag ? ",\"eTag\":" : "", etag ? etag : "",
          size ? ",\"size\":" : "", size ? size : ""),
      0);
  return buf.data;
}

/* {"Records":[<records>]} */
static char *records_body(const char *records) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_printf(&buf, "{\"Records\":[%s]}", records), 0);
  return buf.data;
}

/* A body of one documented ObjectCreated:Put record. */
static char *one_record(const char *key, const char *etag, const char *size) {
  char *record = documented_record("ObjectCreated:Put", key, etag, size);
  char *body = records_body(record);
  free(record);
  return body;
}

/* A body's event, which must parse. */
static s3_event_t parse_ok(const char *body) {
  s3_event_t ev = {.count = 9, .skipped = 9}; /* garbage to be reset */
  pl_buf_t why = {0};
  int rc = s3_event_parse(body, strlen(body), &ev, &why);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, why.data ? why.data : "");
  ck_assert_uint_eq(why.len, 0);
  pl_buf_free(&why);
  return ev;
}

/* Checks that `len` bytes of `body` are refused with exactly `reason`,
 * appended after what the buffer held, and that the event is empty. */
static void parse_fails(const char *body, size_t len, const char *reason) {
  s3_event_t ev = {.count = 7, .test_event = true}; /* garbage */
  pl_buf_t why = {0};
  ck_assert_int_eq(pl_buf_append_str(&why, "s3 event: "), 0);
  ck_assert_int_eq(s3_event_parse(body, len, &ev, &why), PL_EPARSE);
  ck_assert_mem_eq(why.data, "s3 event: ", strlen("s3 event: "));
  ck_assert_str_eq(why.data + strlen("s3 event: "), reason);
  ck_assert_ptr_null(ev.objects);
  ck_assert_uint_eq(ev.count, 0);
  ck_assert_uint_eq(ev.skipped, 0);
  ck_assert(!ev.test_event);
  s3_event_close(&ev);
  pl_buf_free(&why);
}

#define ck_parse_fails(body, reason) parse_fails((body), strlen(body), (reason))

/* A record body spliced from parts, which must be refused with `reason`. */
static void record_fails(const char *record, const char *reason) {
  char *body = records_body(record);
  ck_parse_fails(body, reason);
  free(body);
}

/* The decoded key of a one-record body with `encoded` as its key. */
static char *parsed_key(const char *encoded) {
  char *body = one_record(encoded, NULL, "1");
  s3_event_t ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 1);
  char *key = strdup(ev.objects[0].key);
  s3_event_close(&ev);
  free(body);
  return key;
}

#define ck_key(encoded, expected)                                              \
  do {                                                                         \
    char *key_ = parsed_key(encoded);                                          \
    ck_assert_str_eq(key_, (expected));                                        \
    free(key_);                                                                \
  } while (0)

/* A JSON string of `n` copies of `unit`. */
static char *repeat(const char *unit, size_t n) {
  pl_buf_t buf = {0};
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(pl_buf_append_str(&buf, unit), 0);
  return buf.data;
}

/* ---- Accepted bodies ---- */

START_TEST(the_documented_record_is_read) {
  char *body = one_record("HappyFace.jpg",
                          "\"d41d8cd98f00b204e9800998ecf8427e\"", "1024");
  s3_event_t ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 1);
  ck_assert_uint_eq(ev.skipped, 0);
  ck_assert(!ev.test_event);
  const s3_event_object_t *obj = &ev.objects[0];
  ck_assert_str_eq(obj->bucket, "amzn-s3-demo-bucket");
  ck_assert_str_eq(obj->key, "HappyFace.jpg");
  ck_assert_str_eq(obj->etag, "d41d8cd98f00b204e9800998ecf8427e");
  ck_assert(obj->has_size);
  ck_assert_uint_eq(obj->size, 1024);
  ck_assert_str_eq(obj->event_name, "ObjectCreated:Put");
  s3_event_close(&ev);
  s3_event_close(&ev); /* closing twice is allowed */
  free(body);
}
END_TEST

START_TEST(several_records_keep_their_order_and_others_are_skipped) {
  static const struct {
    const char *name, *key;
  } records[] = {
      {"ObjectCreated:Put", "a.csv"},
      {"ObjectRemoved:Delete", "gone.csv"},
      {"ObjectCreated:CompleteMultipartUpload", "big.csv"},
      {"ObjectRestore:Completed", "cold.csv"},
      {"ObjectCreated:Copy", "copy.csv"},
      {"ObjectTagging:Put", "tagged.csv"},
      {"ObjectCreated:Post", "form.csv"},
      {"LifecycleExpiration:Delete", "old.csv"},
  };
  pl_buf_t list = {0};
  for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
    char size[32];
    snprintf(size, sizeof(size), "%zu", i * 1000);
    char *record =
        documented_record(records[i].name, records[i].key, "\"e\"", size);
    ck_assert_int_eq(pl_buf_printf(&list, "%s%s", i ? "," : "", record), 0);
    free(record);
  }
  char *body = records_body(list.data);
  s3_event_t ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 4);
  ck_assert_uint_eq(ev.skipped, 4);
  ck_assert_str_eq(ev.objects[0].key, "a.csv");
  ck_assert_str_eq(ev.objects[0].time, "1970-01-01T00:00:00.000Z");
  ck_assert_uint_eq(ev.objects[0].size, 0);
  ck_assert(ev.objects[0].has_size);
  ck_assert_str_eq(ev.objects[1].key, "big.csv");
  ck_assert_str_eq(ev.objects[1].event_name,
                   "ObjectCreated:CompleteMultipartUpload");
  ck_assert_uint_eq(ev.objects[1].size, 2000);
  ck_assert_str_eq(ev.objects[2].key, "copy.csv");
  ck_assert_str_eq(ev.objects[2].event_name, "ObjectCreated:Copy");
  ck_assert_str_eq(ev.objects[3].key, "form.csv");
  ck_assert_uint_eq(ev.objects[3].size, 6000);
  s3_event_close(&ev);
  pl_buf_free(&list);
  free(body);
}
END_TEST

START_TEST(bodies_without_created_objects_are_empty_events) {
  /* Only other event types; the records are not read beyond eventName. */
  s3_event_t ev = parse_ok("{\"Records\":[{\"eventName\":\"ObjectRemoved:"
                           "Delete\",\"s3\":{\"object\":{\"key\":\"a\"}}},"
                           "{\"eventName\":\"ObjectRestore:Post\"}]}");
  ck_assert_uint_eq(ev.count, 0);
  ck_assert_uint_eq(ev.skipped, 2);
  ck_assert_ptr_null(ev.objects);
  s3_event_close(&ev);
  ev = parse_ok("{\"Records\":[]}");
  ck_assert_uint_eq(ev.count, 0);
  ck_assert_uint_eq(ev.skipped, 0);
  ck_assert(!ev.test_event);
  ck_assert_ptr_null(ev.objects);
  s3_event_close(&ev);
}
END_TEST

START_TEST(the_test_event_is_recognised) {
  static const char test_event[] =
      "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\","
      "\"Time\":\"2014-10-13T15:57:02.089Z\","
      "\"Bucket\":\"amzn-s3-demo-bucket\","
      "\"RequestId\":\"5582815E1AEA5ADF\","
      "\"HostId\":\"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8E"
      "XAMPLE\"}";
  s3_event_t ev = parse_ok(test_event);
  ck_assert(ev.test_event);
  ck_assert_uint_eq(ev.count, 0);
  ck_assert_uint_eq(ev.skipped, 0);
  ck_assert_ptr_null(ev.objects);
  s3_event_close(&ev);
  /* Another "Event" is not a test event. */
  ck_parse_fails("{\"Service\":\"Amazon S3\",\"Event\":\"s3:Other\"}",
                 "not an S3 event notification: no \"Records\" array");
}
END_TEST

/* An SNS notification whose Message is `message` as a JSON string. */
static char *sns_wrap(const char *message) {
  json_t *sns = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Type", "Notification",
      "MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn",
      "arn:aws:sns:us-west-2:123456789012:MyTopic", "Subject",
      "Amazon S3 Notification", "Message", message, "Timestamp",
      "2012-05-02T00:54:06.655Z", "SignatureVersion", "1", "Signature",
      "EXAMPLEw6JRN...");
  ck_assert_ptr_nonnull(sns);
  char *text = json_dumps(sns, JSON_COMPACT);
  ck_assert_ptr_nonnull(text);
  json_decref(sns);
  return text;
}

START_TEST(sns_notifications_are_unwrapped_once) {
  char *inner = one_record("dir/my+file%C3%A9.csv", "\"abc\"", "5");
  char *body = sns_wrap(inner);
  s3_event_t ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 1);
  ck_assert_str_eq(ev.objects[0].key, "dir/my file\xc3\xa9.csv");
  ck_assert_str_eq(ev.objects[0].etag, "abc");
  ck_assert_uint_eq(ev.objects[0].size, 5);
  s3_event_close(&ev);
  free(body);
  free(inner);

  body = sns_wrap("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}");
  ev = parse_ok(body);
  ck_assert(ev.test_event);
  s3_event_close(&ev);
  free(body);

  /* Reasons inside the Message say so. */
  body = sns_wrap("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}");
  ck_parse_fails(body, "SNS Message: record 1: s3 is missing");
  free(body);
  body = sns_wrap("nope");
  ck_parse_fails(body, "SNS Message: not JSON: '[' or '{' expected near "
                       "'nope' (line 1, column 4)");
  free(body);
  body = sns_wrap("[1]");
  ck_parse_fails(body, "SNS Message: not an S3 event notification: the body "
                       "is an array, not an object");
  free(body);
  /* Once only: an SNS notification in the Message is not unwrapped. */
  char *twice = sns_wrap("{\"Records\":[]}");
  body = sns_wrap(twice);
  ck_parse_fails(body, "SNS Message: not an S3 event notification: no "
                       "\"Records\" array");
  free(body);
  free(twice);
  ck_parse_fails("{\"Type\":\"Notification\",\"Message\":{\"Records\":[]}}",
                 "SNS notification: \"Message\" is not a string");
  ck_parse_fails("{\"Type\":\"Notification\"}",
                 "SNS notification: \"Message\" is not a string");
  /* Another SNS message type is not a notification. */
  ck_parse_fails("{\"Type\":\"SubscriptionConfirmation\",\"Message\":\"x\"}",
                 "not an S3 event notification: no \"Records\" array");
}
END_TEST

START_TEST(keys_are_url_decoded) {
  ck_key("my+file%C3%A9.csv", "my file\xc3\xa9.csv");
  ck_key("a%20b", "a b");
  ck_key("1%2B1%3D2", "1+1=2"); /* a literal plus */
  ck_key("100%25", "100%");
  ck_key("dir/sub/x.csv", "dir/sub/x.csv");
  ck_key("%e6%97%a5%e6%9c%ac", "\xe6\x97\xa5\xe6\x9c\xac"); /* lower case */
  ck_key("tab%09and%0Anewline", "tab\tand\nnewline");
  ck_key("+", " ");
  /* JSON escapes come first: \u0025 is a '%' that starts an escape. */
  ck_key("\\u002541", "A");
}
END_TEST

START_TEST(keys_of_1024_bytes_are_the_longest) {
  char *a1024 = repeat("a", 1024);
  char *key = parsed_key(a1024);
  ck_assert_uint_eq(strlen(key), 1024);
  free(key);
  /* 512 x "é" is 1024 bytes decoded from 3072 bytes of text. */
  char *e512 = repeat("%C3%A9", 512);
  key = parsed_key(e512);
  ck_assert_uint_eq(strlen(key), 1024);
  free(key);
  free(e512);
  free(a1024);
}
END_TEST

START_TEST(etag_quotes_are_removed_and_absent_members_are_allowed) {
  static const struct {
    const char *etag; /* JSON text, or NULL for no member */
    const char *expected;
  } cases[] = {
      {"\"d41d8cd98f00b204e9800998ecf8427e\"",
       "d41d8cd98f00b204e9800998ecf8427e"},
      {"\"\\\"d41d8cd98f00b204e9800998ecf8427e\\\"\"",
       "d41d8cd98f00b204e9800998ecf8427e"},
      {"\"\\\"9b2cf535f27731c974343645a3985328-12\\\"\"",
       "9b2cf535f27731c974343645a3985328-12"},
      {"\"\\\"abc\"", "\"abc"}, /* one quote is not a pair */
      {"\"\\\"\"", "\""},
      {"\"\\\"\\\"\"", NULL},
      {"\"\"", NULL},
      {"null", NULL},
      {NULL, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *body = one_record("k", cases[i].etag, NULL);
    s3_event_t ev = parse_ok(body);
    ck_assert_uint_eq(ev.count, 1);
    if (cases[i].expected)
      ck_assert_str_eq(ev.objects[0].etag, cases[i].expected);
    else
      ck_assert_ptr_null(ev.objects[0].etag);
    /* No size member: none. */
    ck_assert(!ev.objects[0].has_size);
    ck_assert_uint_eq(ev.objects[0].size, 0);
    s3_event_close(&ev);
    free(body);
  }
  char *body = one_record("k", NULL, "null");
  s3_event_t ev = parse_ok(body);
  ck_assert(!ev.objects[0].has_size);
  s3_event_close(&ev);
  free(body);
  /* eventTime only orders rows: absent or mistyped, the object is read
   * without it. */
  static const char *const no_time[] = {
      "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{"
      "\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}",
      "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"eventTime\":"
      "7,\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":"
      "\"k\"}}}]}",
  };
  for (size_t i = 0; i < sizeof(no_time) / sizeof(no_time[0]); i++) {
    ev = parse_ok(no_time[i]);
    ck_assert_uint_eq(ev.count, 1);
    ck_assert_ptr_null(ev.objects[0].time);
    s3_event_close(&ev);
  }
  body = one_record("k", NULL, "5497558138880"); /* 5 TiB */
  ev = parse_ok(body);
  ck_assert(ev.objects[0].has_size);
  ck_assert_uint_eq(ev.objects[0].size, 5497558138880ull);
  s3_event_close(&ev);
  free(body);
}
END_TEST

START_TEST(the_body_needs_no_nul_and_is_read_to_its_length) {
  static const char text[] = "{\"Records\":[]}garbage";
  s3_event_t ev = {0};
  ck_assert_int_eq(s3_event_parse(text, strlen("{\"Records\":[]}"), &ev, NULL),
                   0);
  s3_event_close(&ev);
  parse_fails(text, sizeof(text) - 1,
              "not JSON: end of file expected near 'garbage' (line 1, column "
              "21)");
  /* A body cut short. */
  parse_fails(text, 5,
              "not JSON: premature end of input near '\"Rec' (line 1, "
              "column 5)");
}
END_TEST

/* ---- Refused bodies ---- */

START_TEST(bodies_that_are_not_event_notifications_are_refused) {
  ck_parse_fails("x", "not JSON: '[' or '{' expected near 'x' (line 1, "
                      "column 1)");
  ck_parse_fails("", "not JSON: '[' or '{' expected near end of file (line "
                     "1, column 0)");
  ck_parse_fails("{\"Records\":[", "not JSON: ']' expected near end of file "
                                   "(line 1, column 12)");
  ck_parse_fails("[]", "not an S3 event notification: the body is an array, "
                       "not an object");
  ck_parse_fails("[{\"Records\":[]}]", "not an S3 event notification: the "
                                       "body is an array, not an object");
  ck_parse_fails("{}", "not an S3 event notification: no \"Records\" array");
  ck_parse_fails("{\"records\":[]}",
                 "not an S3 event notification: no \"Records\" array");
  ck_parse_fails("{\"Records\":{}}",
                 "not an S3 event notification: \"Records\" is not an array");
  ck_parse_fails("{\"Records\":null}",
                 "not an S3 event notification: \"Records\" is not an array");
  ck_parse_fails("{\"Records\":[1]}", "record 1 is not an object");
  ck_parse_fails("{\"Records\":[{\"eventName\":\"ObjectRemoved:Delete\"},[]]}",
                 "record 2 is not an object");
}
END_TEST

START_TEST(records_with_missing_or_mistyped_members_are_refused) {
  static const struct {
    const char *record, *reason;
  } cases[] = {
      {"{}", "record 1: eventName is missing"},
      {"{\"eventName\":7}", "record 1: eventName is not a string"},
      {"{\"eventName\":null}", "record 1: eventName is not a string"},
      {"{\"eventName\":\"ObjectCreated:Put\"}", "record 1: s3 is missing"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":\"b/k\"}",
       "record 1: s3 is not an object"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"object\":{\"key\":"
       "\"k\"}}}",
       "record 1: s3.bucket is missing"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":\"b\"}}",
       "record 1: s3.bucket is not an object"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"arn\":"
       "\"arn:aws:s3:::b\"},\"object\":{\"key\":\"k\"}}}",
       "record 1: s3.bucket.name is missing"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "[]},\"object\":{\"key\":\"k\"}}}",
       "record 1: s3.bucket.name is not a string"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"\"},\"object\":{\"key\":\"k\"}}}",
       "record 1: s3.bucket.name is empty"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"}}}",
       "record 1: s3.object is missing"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":[]}}",
       "record 1: s3.object is not an object"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"size\":1}}}",
       "record 1: s3.object.key is missing"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"key\":12}}}",
       "record 1: s3.object.key is not a string"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"key\":\"k\",\"eTag\":123}}}",
       "record 1: s3.object.eTag is not a string"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"key\":\"k\",\"size\":\"12\"}}}",
       "record 1: s3.object.size is not a whole number"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"key\":\"k\",\"size\":1.5}}}",
       "record 1: s3.object.size is not a whole number"},
      {"{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
       "\"b\"},\"object\":{\"key\":\"k\",\"size\":-1}}}",
       "record 1: s3.object.size is negative"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    record_fails(cases[i].record, cases[i].reason);
}
END_TEST

START_TEST(one_bad_record_refuses_the_whole_body) {
  char *good = documented_record("ObjectCreated:Put", "a", "\"e\"", "1");
  char *skipped = documented_record("ObjectRemoved:Delete", "b", NULL, NULL);
  pl_buf_t list = {0};
  ck_assert_int_eq(
      pl_buf_printf(&list,
                    "%s,%s,%s,{\"eventName\":\"ObjectCreated:Put\",\"s3\":{"
                    "\"bucket\":{\"name\":\"b\"},\"object\":{\"size\":1}}}",
                    good, skipped, good),
      0);
  record_fails(list.data, "record 4: s3.object.key is missing");
  pl_buf_free(&list);
  free(skipped);
  free(good);
}
END_TEST

START_TEST(bad_keys_are_refused) {
  static const struct {
    const char *key, *reason;
  } cases[] = {
      {"a%zzb", "record 1: the key has a malformed percent escape"},
      {"a%4", "record 1: the key has a malformed percent escape"},
      {"a%", "record 1: the key has a malformed percent escape"},
      {"a%00b", "record 1: the key has an encoded NUL byte"},
      {"", "record 1: the key is empty"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *body = one_record(cases[i].key, NULL, "1");
    ck_parse_fails(body, cases[i].reason);
    free(body);
  }
  char *long_keys[] = {repeat("a", 1025), repeat("%C3%A9", 513),
                       repeat("+", 1025)};
  for (size_t i = 0; i < 3; i++) {
    char *body = one_record(long_keys[i], NULL, "1");
    ck_parse_fails(body, "record 1: the key is longer than 1024 bytes");
    free(body);
    free(long_keys[i]);
  }
}
END_TEST

/* True when `text` is one line of printable ASCII. */
static bool printable(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p >= 0x7f)
      return false;
  return true;
}

START_TEST(reasons_quote_little_remote_text_and_no_control_bytes) {
  /* A string cut by a control byte: jansson quotes the string so far
   * when it is short, and not at all past 20 bytes. */
  ck_parse_fails("{\"a\":\"zzzzzzzzzz\x01\"}",
                 "not JSON: control character 0x1 near '\"zzzzzzzzzz' (line "
                 "1, column 16)");
  char *zs = repeat("z", 300);
  pl_buf_t body = {0};
  ck_assert_int_eq(pl_buf_printf(&body, "{\"a\":\"%s\x01\"}", zs), 0);
  ck_parse_fails(body.data,
                 "not JSON: control character 0x1 (line 1, column 306)");
  pl_buf_free(&body);
  free(zs);

  /* Bytes that are not printable ASCII in the quote become '?'. */
  ck_parse_fails("{\"Records\":[]} \xc3\xa9\x1b[31m",
                 "not JSON: end of file expected near '\?\?' (line 1, column "
                 "16)");
  ck_parse_fails("{\"a\":\"\xff\"}",
                 "not JSON: unable to decode byte 0xff near '\"' (line 1, "
                 "column 6)");

  /* Whatever the body, the reason is one printable line of bounded size. */
  static const char *const bodies[] = {
      "{\"a\":\"\t\"}", "\x7f", "{\"\xe2\x80\xae\":1} \x07\x08",
      "{\"a\":\"\\u0000\"}", "{\"Records\":[{\"eventName\":\"\\n\"}]} x\n"};
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    s3_event_t ev;
    pl_buf_t why = {0};
    ck_assert_int_eq(s3_event_parse(bodies[i], strlen(bodies[i]), &ev, &why),
                     PL_EPARSE);
    ck_assert_msg(printable(why.data), "body %zu: %s", i, why.data);
    ck_assert_uint_lt(why.len, 200);
    pl_buf_free(&why);
  }
  /* A NUL byte in the body. */
  s3_event_t ev;
  pl_buf_t why = {0};
  ck_assert_int_eq(s3_event_parse("{\"a\":\0}", 7, &ev, &why), PL_EPARSE);
  ck_assert(printable(why.data));
  pl_buf_free(&why);
}
END_TEST

START_TEST(bad_arguments_are_refused) {
  s3_event_t ev = {0};
  ck_assert_int_eq(s3_event_parse("{}", 2, NULL, NULL), PL_EINVAL);
  ck_assert_int_eq(s3_event_parse(NULL, 2, &ev, NULL), PL_EINVAL);
  ck_assert_uint_eq(ev.count, 0);
  parse_fails(NULL, 0,
              "not JSON: '[' or '{' expected near end of file (line "
              "1, column 0)");
  /* Without a buffer for the reason, the code is the same. */
  ck_assert_int_eq(s3_event_parse("[]", 2, &ev, NULL), PL_EPARSE);
  s3_event_close(&ev);
  s3_event_close(NULL);
}
END_TEST

/* The kind of a refusal is a value (HACKING.md#s5): callers decide on it,
 * not on the reason's words. Without a buffer for the reason too. */
START_TEST(refusals_say_what_was_wrong_as_a_value) {
  struct {
    const char *body;
    s3_event_problem_t problem;
  } cases[] = {
      {"{\"Records\": [", S3_EVENT_NOT_JSON},
      {"[]", S3_EVENT_NOT_NOTIFICATION},
      {"{}", S3_EVENT_NOT_NOTIFICATION},
      {"{\"Records\": 1}", S3_EVENT_NOT_NOTIFICATION},
      {"{\"Records\": [1]}", S3_EVENT_BAD_RECORD},
      {"{\"Records\": [{\"eventName\": 1}]}", S3_EVENT_BAD_RECORD},
      {"{\"Type\": \"Notification\", \"Message\": 1}", S3_EVENT_BAD_SNS},
      {"{\"Type\": \"Notification\", \"Message\": \"{}\"}",
       S3_EVENT_NOT_NOTIFICATION},
      {"{\"Type\": \"Notification\", \"Message\": \"x\"}",
       S3_EVENT_NOT_JSON},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (int with_why = 0; with_why < 2; with_why++) {
      s3_event_t ev;
      pl_buf_t why = {0};
      ck_assert_int_eq(s3_event_parse(cases[i].body, strlen(cases[i].body),
                                      &ev, with_why ? &why : NULL),
                       PL_EPARSE);
      ck_assert_msg(ev.problem == cases[i].problem, "case %zu: %d, not %d", i,
                    (int)ev.problem, (int)cases[i].problem);
      s3_event_close(&ev);
      pl_buf_free(&why);
    }
  }
  s3_event_t ev;
  const char *fine = "{\"Records\": []}";
  ck_assert_int_eq(s3_event_parse(fine, strlen(fine), &ev, NULL), 0);
  ck_assert_int_eq(ev.problem, S3_EVENT_PARSED);
  s3_event_close(&ev);
}
END_TEST

/* The EventBridge "Object Created" example of the S3 user guide, with
 * `detail_type` and the object's members (JSON text) spliced in. */
static char *eventbridge_body(const char *detail_type, const char *object) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(
      pl_buf_printf(
          &buf,
          "{\"version\":\"0\",\"id\":\"17793124-05d4-b198-2fde-7ededc63b103\","
          "\"detail-type\":\"%s\",\"source\":\"aws.s3\","
          "\"account\":\"111122223333\",\"time\":\"2021-11-12T00:00:00Z\","
          "\"region\":\"ca-central-1\","
          "\"resources\":[\"arn:aws:s3:::amzn-s3-demo-bucket1\"],"
          "\"detail\":{\"version\":\"0\","
          "\"bucket\":{\"name\":\"amzn-s3-demo-bucket1\"},"
          "\"object\":{%s},"
          "\"request-id\":\"N4N7GDK58NMKJ12R\",\"requester\":\"123456789012\","
          "\"source-ip-address\":\"1.2.3.4\",\"reason\":\"PutObject\"}}",
          detail_type, object),
      0);
  return buf.data;
}

START_TEST(eventbridge_object_created_events_are_read) {
  /* The key is not URL-encoded there: '+' and "%20" stay as they are. */
  char *body = eventbridge_body(
      "Object Created",
      "\"key\":\"in/my file+1%20.csv\",\"size\":5,"
      "\"etag\":\"b1946ac92492d2347c6235b4d2611184\","
      "\"version-id\":\"IYV3p45BT0ac8hjHg1houSdS1a.Mro8e\","
      "\"sequencer\":\"617f08299329d189\"");
  s3_event_t ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 1);
  ck_assert_uint_eq(ev.skipped, 0);
  ck_assert_str_eq(ev.objects[0].bucket, "amzn-s3-demo-bucket1");
  ck_assert_str_eq(ev.objects[0].key, "in/my file+1%20.csv");
  ck_assert_str_eq(ev.objects[0].etag, "b1946ac92492d2347c6235b4d2611184");
  ck_assert(ev.objects[0].has_size);
  ck_assert_uint_eq(ev.objects[0].size, 5);
  ck_assert_str_eq(ev.objects[0].event_name, "Object Created");
  ck_assert_str_eq(ev.objects[0].time, "2021-11-12T00:00:00Z");
  s3_event_close(&ev);
  free(body);
  /* Other S3 event types are skipped, as ObjectRemoved:* records are. */
  body = eventbridge_body("Object Deleted", "\"key\":\"a.csv\"");
  ev = parse_ok(body);
  ck_assert_uint_eq(ev.count, 0);
  ck_assert_uint_eq(ev.skipped, 1);
  s3_event_close(&ev);
  free(body);
}
END_TEST

START_TEST(eventbridge_events_with_bad_members_are_refused) {
  char *body = eventbridge_body("Object Created", "\"size\":5");
  ck_parse_fails(body, "record 1: detail.object.key is missing");
  free(body);
  body = eventbridge_body("Object Created", "\"key\":\"a\",\"etag\":5");
  ck_parse_fails(body, "record 1: detail.object.etag is not a string");
  free(body);
  body = eventbridge_body("Object Created", "\"key\":\"a\",\"size\":-1");
  ck_parse_fails(body, "record 1: detail.object.size is negative");
  free(body);
  body = eventbridge_body("Object Created", "\"key\":\"\"");
  ck_parse_fails(body, "record 1: the key is empty");
  free(body);
  /* An event of another source is not an S3 notification. */
  ck_parse_fails("{\"source\":\"aws.ec2\",\"detail-type\":\"Object Created\","
                 "\"detail\":{}}",
                 "not an S3 event notification: no \"Records\" array");
}
END_TEST

static Suite *s3_event_suite(void) {
  Suite *s = suite_create("s3_event");
  TCase *ok = tcase_create("accepted");
  tcase_add_test(ok, the_documented_record_is_read);
  tcase_add_test(ok, several_records_keep_their_order_and_others_are_skipped);
  tcase_add_test(ok, bodies_without_created_objects_are_empty_events);
  tcase_add_test(ok, the_test_event_is_recognised);
  tcase_add_test(ok, sns_notifications_are_unwrapped_once);
  tcase_add_test(ok, keys_are_url_decoded);
  tcase_add_test(ok, keys_of_1024_bytes_are_the_longest);
  tcase_add_test(ok, etag_quotes_are_removed_and_absent_members_are_allowed);
  tcase_add_test(ok, the_body_needs_no_nul_and_is_read_to_its_length);
  tcase_add_test(ok, eventbridge_object_created_events_are_read);
  suite_add_tcase(s, ok);
  TCase *refused = tcase_create("refused");
  tcase_add_test(refused, bodies_that_are_not_event_notifications_are_refused);
  tcase_add_test(refused, records_with_missing_or_mistyped_members_are_refused);
  tcase_add_test(refused, one_bad_record_refuses_the_whole_body);
  tcase_add_test(refused, bad_keys_are_refused);
  tcase_add_test(refused, eventbridge_events_with_bad_members_are_refused);
  tcase_add_test(refused,
                 reasons_quote_little_remote_text_and_no_control_bytes);
  tcase_add_test(refused, bad_arguments_are_refused);
  tcase_add_test(refused, refusals_say_what_was_wrong_as_a_value);
  suite_add_tcase(s, refused);
  return s;
}

int main(void) {
  return test_suite_run(s3_event_suite());
}
