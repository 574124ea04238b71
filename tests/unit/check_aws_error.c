/* Check suite for src/aws/aws_error.c: every place a code, message and
 * request id can come from in JSON and XML error responses, the fallbacks
 * when the body says nothing, transport errors, and the exact formatted
 * line. */
#include <pipelined/aws.h>

#include "aws_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* Response headers as lower-case name/value pairs, NULL-terminated. */
static const char *fake_header(const void *data, const char *name) {
  const char *const *pairs = data;
  for (; pairs[0]; pairs += 2)
    if (strcmp(pairs[0], name) == 0)
      return pairs[1];
  return NULL;
}

static pl_aws_response_view_t view(int status, const char *const *headers,
                                   const char *body) {
  return (pl_aws_response_view_t){
      .status = status,
      .header = headers ? fake_header : NULL,
      .header_data = headers,
      .body = body,
      .body_len = body ? strlen(body) : 0,
  };
}

/* The formatted line of an error, as a new string. */
static char *format(const pl_aws_error_detail_t *error) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl__aws_error_format(error, &buf), 0);
  return buf.data;
}

#define ck_assert_format(error, expected)                                      \
  do {                                                                         \
    char *line_ = format(error);                                               \
    ck_assert_str_eq(line_, expected);                                         \
    free(line_);                                                               \
  } while (0)

static pl_aws_error_detail_t *json_error(const char *service,
                                         const char *operation, int status,
                                         const char *const *headers,
                                         const char *body) {
  pl_aws_response_view_t r = view(status, headers, body);
  pl_aws_error_detail_t *error = (pl_aws_error_detail_t *)1;
  ck_assert_int_eq(pl__aws_error_from_json(service, operation, &r, &error), 0);
  ck_assert_ptr_nonnull(error);
  return error;
}

static pl_aws_error_detail_t *xml_error(const char *service,
                                        const char *operation, int status,
                                        const char *const *headers,
                                        const char *body) {
  pl_aws_response_view_t r = view(status, headers, body);
  pl_aws_error_detail_t *error = (pl_aws_error_detail_t *)1;
  ck_assert_int_eq(pl__aws_error_from_xml(service, operation, &r, &error), 0);
  ck_assert_ptr_nonnull(error);
  return error;
}

/* ---- JSON ---- */

START_TEST(test_json_dynamodb) {
  const char *headers[] = {"x-amzn-requestid", "RID-1", "date",
                           "Mon, 01 Jan 2024 00:00:00 GMT", NULL};
  pl_aws_error_detail_t *e = json_error(
      "dynamodb", "PutItem", 400, headers,
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
      "ConditionalCheckFailedException\",\"message\":\"The conditional "
      "request failed\"}");
  ck_assert_str_eq(e->service, "dynamodb");
  ck_assert_str_eq(e->operation, "PutItem");
  ck_assert_int_eq(e->status, 400);
  ck_assert_int_eq(e->transport, 0);
  ck_assert_str_eq(e->code, "ConditionalCheckFailedException");
  ck_assert_str_eq(e->message, "The conditional request failed");
  ck_assert_str_eq(e->request_id, "RID-1");
  ck_assert_str_eq(e->date, "Mon, 01 Jan 2024 00:00:00 GMT");
  ck_assert(!e->retryable);
  ck_assert(!e->throttling);
  ck_assert_format(e, "dynamodb PutItem: HTTP 400 "
                      "ConditionalCheckFailedException: The conditional "
                      "request failed (request id RID-1)");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_capital_message) {
  pl_aws_error_detail_t *e = json_error(
      "dynamodb", "Query", 400, NULL,
      "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
      "\"Message\":\"1 validation error detected\"}");
  ck_assert_str_eq(e->code, "ValidationException");
  ck_assert_str_eq(e->message, "1 validation error detected");
  ck_assert_ptr_null(e->request_id);
  ck_assert_ptr_null(e->date);
  ck_assert(!e->retryable);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_lower_message_wins) {
  pl_aws_error_detail_t *e = json_error(
      "dynamodb", "Query", 400, NULL,
      "{\"__type\":\"X\",\"Message\":\"upper\",\"message\":\"lower\"}");
  ck_assert_str_eq(e->message, "lower");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_sqs_query_error) {
  const char *headers[] = {
      "x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender",
      "x-amzn-requestid", "5f6e1c2a-0000-4000-8000-000000000001", NULL};
  pl_aws_error_detail_t *e =
      json_error("sqs", "SendMessageBatch", 400, headers,
                 "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                 "\"message\":\"The specified queue does not exist.\"}");
  ck_assert_str_eq(e->code, "AWS.SimpleQueueService.NonExistentQueue");
  ck_assert_str_eq(e->message, "The specified queue does not exist.");
  ck_assert_format(e, "sqs SendMessageBatch: HTTP 400 "
                      "AWS.SimpleQueueService.NonExistentQueue: The "
                      "specified queue does not exist. (request id "
                      "5f6e1c2a-0000-4000-8000-000000000001)");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_query_error_forms) {
  /* No ';': the whole value is the code. */
  const char *h1[] = {"x-amzn-query-error", "AWS.SimpleQueueService.Foo", NULL};
  pl_aws_error_detail_t *e =
      json_error("sqs", "X", 400, h1, "{\"__type\":\"Bar\"}");
  ck_assert_str_eq(e->code, "AWS.SimpleQueueService.Foo");
  pl__aws_error_destroy(e);
  /* An empty code before ';' falls through to the body. */
  const char *h2[] = {"x-amzn-query-error", ";Sender", NULL};
  e = json_error("sqs", "X", 400, h2, "{\"__type\":\"ns#Bar\"}");
  ck_assert_str_eq(e->code, "Bar");
  pl__aws_error_destroy(e);
  /* An empty header counts as absent. */
  const char *h3[] = {"x-amzn-query-error", "", NULL};
  e = json_error("sqs", "X", 400, h3, "{\"__type\":\"ns#Baz\"}");
  ck_assert_str_eq(e->code, "Baz");
  pl__aws_error_destroy(e);
  /* The query code is taken verbatim, ':' and '#' included. */
  const char *h4[] = {"x-amzn-query-error", "A.B#C:D;Receiver", NULL};
  e = json_error("sqs", "X", 500, h4, NULL);
  ck_assert_str_eq(e->code, "A.B#C:D");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_errortype_header) {
  const char *headers[] = {
      "x-amzn-errortype",
      "ThrottlingException:http://internal.amazon.com/coral/"
      "com.amazon.coral.service/",
      NULL};
  pl_aws_error_detail_t *e =
      json_error("sts", "AssumeRole", 400, headers,
                 "{\"__type\":\"ns#Other\",\"message\":\"Rate exceeded\"}");
  ck_assert_str_eq(e->code, "ThrottlingException");
  ck_assert(e->retryable);
  ck_assert(e->throttling);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_code_member_before_type) {
  pl_aws_error_detail_t *e = json_error("dynamodb", "X", 400, NULL,
                                        "{\"__type\":\"ns#TypeCode\","
                                        "\"code\":\"MemberCode\"}");
  ck_assert_str_eq(e->code, "MemberCode");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_sanitize) {
  const char *cases[][2] = {
      {"FooError", "FooError"},
      {"FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/",
       "FooError"},
      {"aws.protocoltests.restjson#FooError", "FooError"},
      {"aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/"
       "com.amazon.coral.validate/",
       "FooError"},
      {"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
       "ResourceNotFoundException"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char body[256];
    snprintf(body, sizeof body, "{\"__type\":\"%s\"}", cases[i][0]);
    pl_aws_error_detail_t *e = json_error("dynamodb", "X", 400, NULL, body);
    ck_assert_msg(strcmp(e->code, cases[i][1]) == 0, "%s -> %s", cases[i][0],
                  e->code);
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_json_throttling) {
  pl_aws_error_detail_t *e = json_error(
      "dynamodb", "BatchWriteItem", 400, NULL,
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
      "ProvisionedThroughputExceededException\",\"message\":\"The level of "
      "configured provisioned throughput for the table was exceeded.\"}");
  ck_assert_str_eq(e->code, "ProvisionedThroughputExceededException");
  ck_assert(e->retryable);
  ck_assert(e->throttling);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_not_json) {
  const char *headers[] = {"x-amz-request-id", "ALT-ID", NULL};
  pl_aws_error_detail_t *e =
      json_error("sqs", "SendMessage", 502, headers,
                 "<html><body>Bad Gateway</body></html>");
  ck_assert_str_eq(e->code, "BadGateway");
  ck_assert_ptr_null(e->message);
  ck_assert_str_eq(e->request_id, "ALT-ID");
  ck_assert(e->retryable);
  ck_assert(!e->throttling);
  ck_assert_format(e, "sqs SendMessage: HTTP 502 BadGateway (request id "
                      "ALT-ID)");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_odd_bodies) {
  /* Not an object. */
  pl_aws_error_detail_t *e = json_error("dynamodb", "X", 400, NULL, "[1,2]");
  ck_assert_str_eq(e->code, "BadRequest");
  pl__aws_error_destroy(e);
  /* Empty body. */
  e = json_error("dynamodb", "X", 500, NULL, NULL);
  ck_assert_str_eq(e->code, "InternalError");
  ck_assert(e->retryable);
  pl__aws_error_destroy(e);
  /* Members of the wrong type and empty strings are ignored. */
  e = json_error("dynamodb", "X", 400, NULL,
                 "{\"__type\":42,\"code\":\"\",\"message\":\"\","
                 "\"Message\":[\"x\"]}");
  ck_assert_str_eq(e->code, "BadRequest");
  ck_assert_ptr_null(e->message);
  pl__aws_error_destroy(e);
  /* A cut body. */
  e = json_error("dynamodb", "X", 400, NULL, "{\"__type\":\"ns#Foo\",\"mes");
  ck_assert_str_eq(e->code, "BadRequest");
  pl__aws_error_destroy(e);
  /* "#" alone leaves an empty code: the status decides. */
  e = json_error("dynamodb", "X", 404, NULL, "{\"__type\":\"ns#\"}");
  ck_assert_str_eq(e->code, "NotFound");
  pl__aws_error_destroy(e);
  /* Body bytes need not be NUL-terminated. */
  const char raw[] = "{\"__type\":\"ns#Cut\"}GARBAGE";
  pl_aws_response_view_t r = {.status = 400, .body = raw, .body_len = 19};
  ck_assert_int_eq(pl__aws_error_from_json("dynamodb", NULL, &r, &e), 0);
  ck_assert_str_eq(e->code, "Cut");
  ck_assert_ptr_null(e->operation);
  ck_assert_format(e, "dynamodb: HTTP 400 Cut");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_request_id_order) {
  const char *both[] = {"x-amz-request-id", "SECOND", "x-amzn-requestid",
                        "FIRST", NULL};
  pl_aws_error_detail_t *e = json_error("sqs", "X", 400, both, "{}");
  ck_assert_str_eq(e->request_id, "FIRST");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_json_invalid) {
  pl_aws_error_detail_t *e = (pl_aws_error_detail_t *)1;
  pl_aws_response_view_t r = view(0, NULL, "{}");
  ck_assert_int_eq(pl__aws_error_from_json("sqs", "X", &r, &e), PL_EINVAL);
  ck_assert_ptr_null(e);
  r = view(600, NULL, "{}");
  ck_assert_int_eq(pl__aws_error_from_json("sqs", "X", &r, &e), PL_EINVAL);
  r = view(400, NULL, "{}");
  ck_assert_int_eq(pl__aws_error_from_json(NULL, "X", &r, &e), PL_EINVAL);
  ck_assert_int_eq(pl__aws_error_from_json("sqs", "X", NULL, &e), PL_EINVAL);
  r = (pl_aws_response_view_t){.status = 400, .body = NULL, .body_len = 3};
  ck_assert_int_eq(pl__aws_error_from_json("sqs", "X", &r, &e), PL_EINVAL);
  ck_assert_int_eq(pl__aws_error_from_xml("s3", "X", &r, &e), PL_EINVAL);
  ck_assert_ptr_null(e);
}
END_TEST

/* ---- XML ---- */

START_TEST(test_xml_s3_no_such_key) {
  const char *body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
      "exist.</Message><Key>a/b.csv</Key><RequestId>4442587FB7D0A2F9</"
      "RequestId><HostId>eftixk72aD6Ap51TnqcoF8eFidJG9Z/2mkiDFu8yU9AS1ed4Ope"
      "IOzvW2k=</HostId></Error>";
  pl_aws_error_detail_t *e = xml_error("s3", "GetObject", 404, NULL, body);
  ck_assert_str_eq(e->code, "NoSuchKey");
  ck_assert_str_eq(e->message, "The specified key does not exist.");
  ck_assert_str_eq(e->request_id, "4442587FB7D0A2F9");
  ck_assert(!e->retryable);
  ck_assert_format(e, "s3 GetObject: HTTP 404 NoSuchKey: The specified key "
                      "does not exist. (request id 4442587FB7D0A2F9)");
  pl__aws_error_destroy(e);
  /* The header wins over the body. */
  const char *headers[] = {"x-amz-request-id", "HEADER-ID", NULL};
  e = xml_error("s3", "GetObject", 404, headers, body);
  ck_assert_str_eq(e->request_id, "HEADER-ID");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_xml_sts_query_error) {
  const char *body =
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
      "  <Error>\n"
      "    <Type>Sender</Type>\n"
      "    <Code>AccessDenied</Code>\n"
      "    <Message>User: arn:aws:iam::123456789012:user/x is not "
      "authorized to perform: sts:AssumeRole</Message>\n"
      "  </Error>\n"
      "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
      "</ErrorResponse>\n";
  pl_aws_error_detail_t *e = xml_error("sts", "AssumeRole", 403, NULL, body);
  ck_assert_str_eq(e->code, "AccessDenied");
  ck_assert_str_eq(e->message, "User: arn:aws:iam::123456789012:user/x is "
                               "not authorized to perform: sts:AssumeRole");
  ck_assert_str_eq(e->request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
  ck_assert(!e->retryable);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_xml_head_no_body) {
  const struct {
    int status;
    const char *code;
    bool retryable;
  } cases[] = {
      {301, "PermanentRedirect", false},  {304, "NotModified", false},
      {307, "TemporaryRedirect", false},  {400, "BadRequest", false},
      {403, "Forbidden", false},          {404, "NotFound", false},
      {405, "MethodNotAllowed", false},   {409, "Conflict", false},
      {412, "PreconditionFailed", false}, {416, "InvalidRange", false},
      {429, "TooManyRequests", true},     {500, "InternalError", true},
      {501, "NotImplemented", false},     {502, "BadGateway", true},
      {503, "ServiceUnavailable", true},  {504, "GatewayTimeout", true},
      {418, "UnknownError", false},       {599, "UnknownError", false},
  };
  const char *headers[] = {"x-amz-request-id", "HEAD-ID", NULL};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_aws_error_detail_t *e =
        xml_error("s3", "HeadObject", cases[i].status, headers, NULL);
    ck_assert_str_eq(e->code, cases[i].code);
    ck_assert_str_eq(pl__aws_error_status_code(cases[i].status), cases[i].code);
    ck_assert_ptr_null(e->message);
    ck_assert_msg(e->retryable == cases[i].retryable, "%d", cases[i].status);
    pl__aws_error_destroy(e);
  }
  pl_aws_error_detail_t *e = xml_error("s3", "HeadObject", 404, headers, NULL);
  ck_assert_format(e, "s3 HeadObject: HTTP 404 NotFound (request id "
                      "HEAD-ID)");
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_xml_slow_down) {
  pl_aws_error_detail_t *e =
      xml_error("s3", "PutObject", 503, NULL,
                "<Error><Code>SlowDown</Code><Message>Please reduce your "
                "request rate.</Message></Error>");
  ck_assert_str_eq(e->code, "SlowDown");
  ck_assert(e->retryable);
  ck_assert(e->throttling);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_xml_malformed) {
  const char *bodies[] = {
      "<Error><Code>NoSuchKey</Code><Message>cut", "not xml at all",
      "<Error><Code>A</Code></Wrong>",
      "<html><body><h1>502 Bad Gateway</h1></body></html>", /* well formed */
  };
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    pl_aws_error_detail_t *e =
        xml_error("s3", "GetObject", 502, NULL, bodies[i]);
    ck_assert_str_eq(e->code, "BadGateway");
    ck_assert_ptr_null(e->message);
    pl__aws_error_destroy(e);
  }
}
END_TEST

START_TEST(test_xml_doctype_refused) {
  const char *body = "<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE Error [<!ENTITY a \"aaaaaaaaaa\">"
                     "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n"
                     "<Error><Code>&b;</Code><Message>m</Message></Error>";
  pl_aws_error_detail_t *e = xml_error("s3", "GetObject", 400, NULL, body);
  ck_assert_str_eq(e->code, "BadRequest");
  ck_assert_ptr_null(e->message);
  pl__aws_error_destroy(e);
}
END_TEST

START_TEST(test_xml_text_handling) {
  /* Entities and CDATA are decoded; whitespace around the text trimmed. */
  pl_aws_error_detail_t *e = xml_error(
      "s3", "PutObject", 400, NULL,
      "<Error>\n  <Code>\n    InvalidArgument\n  </Code>\n"
      "  <Message>a &lt;b&gt; &amp; <![CDATA[<c>]]> &#233;</Message>\n"
      "</Error>");
  ck_assert_str_eq(e->code, "InvalidArgument");
  ck_assert_str_eq(e->message, "a <b> & <c> \xc3\xa9");
  pl__aws_error_destroy(e);
  /* Code and Message count only inside <Error>; the first wins. */
  e = xml_error("s3", "X", 400, NULL,
                "<Root><Code>Outer</Code><Error><Code>Inner</Code>"
                "<Code>Second</Code><Detail><Message>deep</Message></Detail>"
                "</Error></Root>");
  ck_assert_str_eq(e->code, "Inner");
  ck_assert_ptr_null(e->message);
  pl__aws_error_destroy(e);
  /* An empty Code leaves the status to decide. */
  e = xml_error("s3", "X", 403, NULL, "<Error><Code>  </Code></Error>");
  ck_assert_str_eq(e->code, "Forbidden");
  pl__aws_error_destroy(e);
  /* Deep nesting is walked without harm. */
  e = xml_error("s3", "X", 400, NULL,
                "<a><b><c><d><e><f><g><h><i><j><Error><Code>Deep</Code>"
                "</Error></j></i></h></g></f></e></d></c></b></a>");
  ck_assert_str_eq(e->code, "BadRequest");
  pl__aws_error_destroy(e);
  /* EC2's <Response><Errors><Error>…</Error></Errors><RequestID>. */
  e = xml_error("ec2", "X", 400, NULL,
                "<Response><Errors><Error><Code>AuthFailure</Code>"
                "<Message>m</Message></Error></Errors>"
                "<RequestID>ec2-id</RequestID></Response>");
  ck_assert_str_eq(e->code, "AuthFailure");
  ck_assert_str_eq(e->request_id, "ec2-id");
  pl__aws_error_destroy(e);
  /* The other request id header is the last resort. */
  const char *headers[] = {"x-amzn-requestid", "AMZN", NULL};
  e = xml_error("s3", "X", 400, headers, "<Error><Code>A</Code></Error>");
  ck_assert_str_eq(e->request_id, "AMZN");
  pl__aws_error_destroy(e);
}
END_TEST

/* ---- Transport and create ---- */

START_TEST(test_transport) {
  pl_aws_error_detail_t *e = NULL;
  ck_assert_int_eq(
      pl__aws_error_from_transport(
          "sqs", "SendMessageBatch", PL_EAGAIN,
          "Operation timed out after 30000 milliseconds with 0 bytes received",
          &e),
      0);
  ck_assert_int_eq(e->status, 0);
  ck_assert_int_eq(e->transport, PL_EAGAIN);
  ck_assert_ptr_null(e->code);
  ck_assert(e->retryable);
  ck_assert(!e->throttling);
  ck_assert_format(e, "sqs SendMessageBatch: timed out: Operation timed out "
                      "after 30000 milliseconds with 0 bytes received");
  pl__aws_error_destroy(e);

  ck_assert_int_eq(pl__aws_error_from_transport("s3", "PutObject", PL_EIO,
                                                "Could not resolve host: x",
                                                &e),
                   0);
  ck_assert(e->retryable);
  ck_assert_format(e, "s3 PutObject: connection failed: Could not resolve "
                      "host: x");
  pl__aws_error_destroy(e);

  ck_assert_int_eq(
      pl__aws_error_from_transport("s3", "PutObject", PL_ECANCELED, NULL, &e),
      0);
  ck_assert(!e->retryable);
  ck_assert_ptr_null(e->message);
  ck_assert_format(e, "s3 PutObject: cancelled");
  pl__aws_error_destroy(e);

  ck_assert_int_eq(pl__aws_error_from_transport("s3", NULL, PL_ENOMEM, "", &e),
                   0);
  ck_assert(!e->retryable);
  ck_assert_ptr_null(e->message);
  ck_assert_format(e, "s3: out of memory");
  pl__aws_error_destroy(e);

  e = (pl_aws_error_detail_t *)1;
  ck_assert_int_eq(pl__aws_error_from_transport("s3", "X", 0, "t", &e),
                   PL_EINVAL);
  ck_assert_ptr_null(e);
  ck_assert_int_eq(pl__aws_error_from_transport("s3", "X", 5, "t", &e),
                   PL_EINVAL);
  ck_assert_int_eq(pl__aws_error_from_transport(NULL, "X", PL_EIO, "t", &e),
                   PL_EINVAL);
}
END_TEST

START_TEST(test_create_from_fields) {
  /* One failed entry of an SQS batch: flags are computed, not copied. */
  pl_aws_error_fields_t fields = {
      .service = "sqs",
      .operation = "SendMessageBatch",
      .status = 200,
      .code = "InternalError",
      .message = "entry 3 failed",
  };
  pl_aws_error_detail_t *e = NULL;
  ck_assert_int_eq(pl__aws_error_create(&fields, &e), 0);
  ck_assert_ptr_ne(e->code, fields.code);
  ck_assert_str_eq(e->code, "InternalError");
  ck_assert(e->retryable);
  ck_assert(!e->throttling);
  pl__aws_error_destroy(e);

  fields.code = NULL;
  e = (pl_aws_error_detail_t *)1;
  ck_assert_int_eq(pl__aws_error_create(&fields, &e), PL_EINVAL);
  ck_assert_ptr_null(e);
  fields.code = "X";
  fields.service = NULL;
  ck_assert_int_eq(pl__aws_error_create(&fields, &e), PL_EINVAL);
  /* A transport error has no status. */
  pl_aws_error_fields_t bad = {
      .service = "s3", .status = 500, .transport = PL_EIO};
  ck_assert_int_eq(pl__aws_error_create(&bad, &e), PL_EINVAL);
  ck_assert_int_eq(pl__aws_error_create(NULL, &e), PL_EINVAL);
  pl__aws_error_destroy(NULL);
}
END_TEST

/* ---- Formatting ---- */

START_TEST(test_format_clean_and_append) {
  pl_aws_error_fields_t fields = {
      .service = "s3",
      .operation = "PutObject",
      .status = 400,
      .code = "InvalidArgument",
      .message = "line one\nline two\r\x1b[31mred\x7f",
      .request_id = "id\n",
  };
  pl_aws_error_detail_t *e = NULL;
  ck_assert_int_eq(pl__aws_error_create(&fields, &e), 0);
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_append_str(&buf, "prefix: "), 0);
  ck_assert_int_eq(pl__aws_error_format(e, &buf), 0);
  ck_assert_str_eq(buf.data, "prefix: s3 PutObject: HTTP 400 "
                             "InvalidArgument: line one line two  [31mred  "
                             "(request id id )");
  ck_assert_uint_eq(buf.len, strlen(buf.data));
  pl_buf_free(&buf);
  pl__aws_error_destroy(e);
}
END_TEST

/* The public view: what retrying cannot cure is an answer of the service
 * that the AWS layer did not retry. */
START_TEST(test_lasting) {
  pl_aws_error_t denied = {.status = 403, .code = "AccessDenied"};
  pl_aws_error_t throttled = {.status = 400, .retryable = true};
  pl_aws_error_t server = {.status = 500, .retryable = true};
  pl_aws_error_t transport = {.status = 0, .code = "ConnectionError"};
  pl_aws_error_t canceled = {.status = 0, .code = "Canceled"};
  ck_assert(pl_aws_error_lasting(&denied));
  ck_assert(!pl_aws_error_lasting(&throttled));
  ck_assert(!pl_aws_error_lasting(&server));
  ck_assert(!pl_aws_error_lasting(&transport));
  ck_assert(!pl_aws_error_lasting(&canceled));
}
END_TEST

static Suite *aws_error_suite(void) {
  Suite *s = suite_create("aws_error");
  TCase *json = tcase_create("json");
  tcase_add_test(json, test_json_dynamodb);
  tcase_add_test(json, test_json_capital_message);
  tcase_add_test(json, test_json_lower_message_wins);
  tcase_add_test(json, test_json_sqs_query_error);
  tcase_add_test(json, test_json_query_error_forms);
  tcase_add_test(json, test_json_errortype_header);
  tcase_add_test(json, test_json_code_member_before_type);
  tcase_add_test(json, test_json_sanitize);
  tcase_add_test(json, test_json_throttling);
  tcase_add_test(json, test_json_not_json);
  tcase_add_test(json, test_json_odd_bodies);
  tcase_add_test(json, test_json_request_id_order);
  tcase_add_test(json, test_json_invalid);
  suite_add_tcase(s, json);
  TCase *xml = tcase_create("xml");
  tcase_add_test(xml, test_xml_s3_no_such_key);
  tcase_add_test(xml, test_xml_sts_query_error);
  tcase_add_test(xml, test_xml_head_no_body);
  tcase_add_test(xml, test_xml_slow_down);
  tcase_add_test(xml, test_xml_malformed);
  tcase_add_test(xml, test_xml_doctype_refused);
  tcase_add_test(xml, test_xml_text_handling);
  suite_add_tcase(s, xml);
  TCase *other = tcase_create("other");
  tcase_add_test(other, test_transport);
  tcase_add_test(other, test_create_from_fields);
  tcase_add_test(other, test_format_clean_and_append);
  tcase_add_test(other, test_lasting);
  suite_add_tcase(s, other);
  return s;
}

int main(void) {
  return test_suite_run(aws_error_suite());
}
