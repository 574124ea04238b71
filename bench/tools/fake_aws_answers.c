/* The fake AWS's answers and counts (see fake_aws_answers.h). */
#include "fake_aws_answers.h"
#include "fake_aws_json.h"
#include "fake_aws_stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQS_PREFIX "AmazonSQS."
#define DDB_PREFIX "DynamoDB_20120810."
#define OBJECT_KEY "inventory.csv"
#define OBJECT_ETAG "\"0123456789abcdef0123456789abcdef\""
#define OBJECT_TIME "Thu, 01 Jan 2026 00:00:00 GMT"

static const char *const op_names[] = {
#define FAKE_OP_NAME(id, name) name,
    FAKE_OPS(FAKE_OP_NAME)
#undef FAKE_OP_NAME
};

const char *fake_op_name(fake_op_t op) { return op_names[op]; }

/* ---- Buffers ---- */

bool fake_buf_add(fake_buf_t *buf, const char *bytes, size_t len) {
  if (buf->len + len + 1 > buf->cap) {
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + len + 1)
      cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data)
      return false;
    buf->data = data;
    buf->cap = cap;
  }
  if (len)
    memcpy(buf->data + buf->len, bytes, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
  return true;
}

bool fake_buf_printf(fake_buf_t *buf, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return false;
  if ((size_t)n < sizeof(small))
    return fake_buf_add(buf, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (!big)
    return false;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  bool ok = fake_buf_add(buf, big, (size_t)n);
  free(big);
  return ok;
}

void fake_buf_free(fake_buf_t *buf) {
  free(buf->data);
  *buf = (fake_buf_t){0};
}

/* ---- State ---- */

bool fake_state_init(fake_state_t *st, uint64_t messages) {
  *st = (fake_state_t){.empty_wait_ms = 1000, .messages = messages,
                       .object_rows = 1000, .dynamodb_latency_ms = -1};
  for (int i = 0; i < FAKE_OP_COUNT; i++)
    st->first_ms[i] = st->last_ms[i] = -1;
  st->deleted_map = calloc(messages / 8 + 1, 1);
  return st->deleted_map != NULL;
}

void fake_state_close(fake_state_t *st) {
  free(st->deleted_map);
  fake_buf_free(&st->object);
  st->deleted_map = NULL;
}

void fake_answer_free(fake_answer_t *answer) {
  fake_buf_free(&answer->headers);
  fake_buf_free(&answer->body);
}

static size_t second_of(uint64_t now_ms) {
  uint64_t s = now_ms / 1000;
  return s < FAKE_HISTORY_S ? (size_t)s : FAKE_HISTORY_S - 1;
}

void fake_answer_sent(fake_state_t *st, const fake_answer_t *answer,
                      uint64_t now_ms) {
  if (answer->op == FAKE_OP_OTHER)
    return;
  size_t s = second_of(now_ms);
  st->per_second[s]++;
  if (answer->throttled)
    st->throttled_second[s]++;
}

void fake_state_late(fake_state_t *st, uint64_t late_ns) {
  st->held_answers++;
  st->late_ns_sum += late_ns;
  if (late_ns > st->late_ns_max)
    st->late_ns_max = late_ns;
}

void fake_state_in_flight(fake_state_t *st, uint64_t count, uint64_t now_ms) {
  st->in_flight = count;
  if (count > st->in_flight_max)
    st->in_flight_max = count;
  size_t s = second_of(now_ms);
  if (count > st->in_flight_second[s])
    st->in_flight_second[s] = (uint32_t)count;
}

/* ---- The inventory rows ---- */

/* Row i as the CSV of bench/producer makes it, and as the JSON body
 * sink-sqs sends for it (etc/file-to-sqs.conf). */
static bool row_csv(fake_buf_t *out, uint64_t i) {
  return fake_buf_printf(out, "P%07llu,Warehouse %c,%llu,2023-%02d-%02d\n",
                         (unsigned long long)i, (char)('A' + i % 3),
                         (unsigned long long)(i % 1000), (int)(1 + i % 12),
                         (int)(1 + i % 28));
}

static bool row_json_escaped(fake_buf_t *out, uint64_t i) {
  return fake_buf_printf(
      out,
      "{\\\"product_id\\\":\\\"P%07llu\\\",\\\"location\\\":\\\"Warehouse "
      "%c\\\",\\\"quantity\\\":%llu,\\\"update_date\\\":\\\"2023-%02d-%02d\\\"}",
      (unsigned long long)i, (char)('A' + i % 3),
      (unsigned long long)(i % 1000), (int)(1 + i % 12), (int)(1 + i % 28));
}

static bool make_object(fake_state_t *st) {
  if (st->object.len > 0)
    return true;
  bool ok = fake_buf_printf(&st->object,
                            "product_id,location,quantity,update_date\n");
  for (uint64_t i = 0; ok && i < st->object_rows; i++)
    ok = row_csv(&st->object, i);
  return ok;
}

/* ---- JSON answers ---- */

/* Member `key` of the request when it is an array; else an empty text
 * (which walks as empty). */
static fake_text_t array_of(fake_text_t request, const char *key) {
  fake_text_t value;
  if (fake_json_member(request, key, &value) && value.at[0] == '[')
    return value;
  return (fake_text_t){"", 0};
}

/* The text of string member `key` of `object` (as written, a valid JSON
 * string's body); empty when there is none. */
static fake_text_t string_of(fake_text_t object, const char *key) {
  fake_text_t value, text;
  if (fake_json_member(object, key, &value) && fake_json_string(value, &text))
    return text;
  return (fake_text_t){"", 0};
}

/* {"Successful":[{"Id":...}...],"Failed":[]} for every entry of the
 * request; with MessageIds for SendMessageBatch. Returns the entries'
 * count in *count. */
static bool batch_result(fake_state_t *st, fake_text_t request, bool ids,
                         fake_buf_t *out, size_t *count) {
  bool ok = fake_buf_printf(out, "{\"Successful\":[");
  fake_json_iter_t it = fake_json_iter(array_of(request, "Entries"));
  fake_text_t entry;
  size_t i = 0;
  for (; ok && fake_json_next(&it, NULL, &entry); i++) {
    fake_text_t id = string_of(entry, "Id");
    ok = fake_buf_printf(out, "%s{\"Id\":\"", i ? "," : "") &&
         fake_buf_add(out, id.at, id.len) && fake_buf_add(out, "\"", 1);
    if (ids)
      ok = ok &&
           fake_buf_printf(out,
                           ",\"MessageId\":\"00000000-0000-4000-8000-%012llx\"",
                           (unsigned long long)++st->next_id);
    ok = ok && fake_buf_add(out, "}", 1);
  }
  *count = i;
  return ok && fake_buf_printf(out, "],\"Failed\":[]}");
}

/* Marks the messages of a DeleteMessageBatch deleted ("rh-<n>"). */
static void note_deletes(fake_state_t *st, fake_text_t request) {
  fake_json_iter_t it = fake_json_iter(array_of(request, "Entries"));
  fake_text_t entry;
  while (fake_json_next(&it, NULL, &entry)) {
    fake_text_t handle = string_of(entry, "ReceiptHandle");
    long long n = -1;
    if (handle.len <= 3 || memcmp(handle.at, "rh-", 3) != 0 ||
        handle.at[3] == '-' ||
        !fake_json_int((fake_text_t){handle.at + 3, handle.len - 3}, &n) ||
        (unsigned long long)n >= st->messages)
      continue;
    uint8_t bit = (uint8_t)(1u << (n % 8));
    if (st->deleted_map[n / 8] & bit) {
      st->deleted_again++;
    } else {
      st->deleted_map[n / 8] |= bit;
      st->deleted++;
    }
  }
}

/* An SQS error as its JSON protocol sends one: status 400, the query
 * protocol's code in x-amzn-query-error, `type` in the body's __type.
 * `message` holds no character JSON would escape. */
static bool sqs_error(fake_answer_t *out, const char *code, const char *type,
                      const char *message) {
  out->status = 400;
  return fake_buf_printf(&out->headers, "x-amzn-query-error: %s;Sender\r\n",
                         code) &&
         fake_buf_printf(&out->body,
                         "{\"__type\":\"com.amazonaws.sqs#%s\","
                         "\"message\":\"%s\"}",
                         type, message);
}

/* Integer member `key` of `request` within [low, high], as SQS checks it.
 * Returns 1 when it is (`fallback` when absent), 0 when it is not (SQS's
 * InvalidParameterValue written to `out`), -1 out of memory. */
static int int_in(fake_text_t request, const char *key, long long low,
                  long long high, long long fallback, long long *value,
                  fake_answer_t *out) {
  fake_text_t text;
  *value = fallback;
  if (!fake_json_member(request, key, &text) ||
      (fake_json_int(text, value) && *value >= low && *value <= high))
    return 1;
  char message[128];
  snprintf(message, sizeof message,
           "Value for parameter %s is invalid. Must be between %lld and %lld "
           "(fake).",
           key, low, high);
  return sqs_error(out, "InvalidParameterValue", "InvalidParameterValue",
                   message)
             ? 0
             : -1;
}

static bool receive(fake_state_t *st, fake_text_t request, fake_answer_t *out) {
  long long max = 1, wait = 0;
  int rc = int_in(request, "MaxNumberOfMessages", 1, 10, 1, &max, out);
  if (rc == 1)
    rc = int_in(request, "WaitTimeSeconds", 0, 20, 0, &wait, out);
  if (rc < 1)
    return rc == 0;
  uint64_t left = st->messages - st->served;
  uint64_t n = left < (uint64_t)max ? left : (uint64_t)max;
  if (n == 0) {
    /* Nothing left: as SQS, hold the long poll a while. */
    uint64_t most = (uint64_t)wait * 1000;
    out->delay_ms += st->empty_wait_ms < most ? st->empty_wait_ms : most;
  }
  bool ok = fake_buf_printf(&out->body, "{\"Messages\":[");
  for (uint64_t k = 0; ok && k < n; k++) {
    uint64_t m = st->served++;
    ok = fake_buf_printf(
             &out->body,
             "%s{\"MessageId\":\"00000000-0000-4000-9000-%012llx\","
             "\"ReceiptHandle\":\"rh-%llu\",\"Body\":\"",
             k ? "," : "", (unsigned long long)m, (unsigned long long)m) &&
         row_json_escaped(&out->body, m) &&
         fake_buf_printf(
             &out->body,
             "\",\"Attributes\":{\"ApproximateReceiveCount\":\"1\","
             "\"SentTimestamp\":\"1767225600000\"},\"MessageAttributes\":{"
             "\"origin\":{\"DataType\":\"String\",\"StringValue\":"
             "\"s3://fake-bench/" OBJECT_KEY "\"},"
             "\"origin_time\":{\"DataType\":\"String\",\"StringValue\":"
             "\"2026-01-01T00:00:00.000Z\"},"
             "\"etag\":{\"DataType\":\"String\",\"StringValue\":"
             "\"0123456789abcdef0123456789abcdef\"},"
             "\"line\":{\"DataType\":\"Number\",\"StringValue\":\"%llu\"}}}",
             (unsigned long long)(m + 2));
  }
  st->entries[FAKE_OP_RECEIVE_MESSAGE] += n;
  return ok && fake_buf_printf(&out->body, "]}");
}

/* Items of a BatchWriteItem: every table's requests. */
static size_t write_items(fake_text_t request) {
  fake_text_t tables, list;
  size_t n = 0;
  if (!fake_json_member(request, "RequestItems", &tables))
    return 0;
  fake_json_iter_t it = fake_json_iter(tables);
  while (it.close == '}' && fake_json_next(&it, NULL, &list))
    n += list.at[0] == '[' ? fake_json_count(list) : 0;
  return n;
}

static bool statements(fake_text_t request, fake_answer_t *out, size_t *count) {
  *count = fake_json_count(array_of(request, "Statements"));
  bool ok = fake_buf_printf(&out->body, "{\"Responses\":[");
  for (size_t i = 0; ok && i < *count; i++)
    ok = fake_buf_printf(&out->body, "%s{}", i ? "," : "");
  return ok && fake_buf_printf(&out->body, "]}");
}

static fake_op_t json_op(fake_text_t target) {
  static const struct {
    const char *target;
    fake_op_t op;
  } ops[] = {
      {SQS_PREFIX "SendMessageBatch", FAKE_OP_SEND_MESSAGE_BATCH},
      {SQS_PREFIX "ReceiveMessage", FAKE_OP_RECEIVE_MESSAGE},
      {SQS_PREFIX "DeleteMessageBatch", FAKE_OP_DELETE_MESSAGE_BATCH},
      {SQS_PREFIX "ChangeMessageVisibilityBatch",
       FAKE_OP_CHANGE_VISIBILITY_BATCH},
      {SQS_PREFIX "GetQueueAttributes", FAKE_OP_GET_QUEUE_ATTRIBUTES},
      {DDB_PREFIX "BatchWriteItem", FAKE_OP_BATCH_WRITE_ITEM},
      {DDB_PREFIX "UpdateItem", FAKE_OP_UPDATE_ITEM},
      {DDB_PREFIX "PutItem", FAKE_OP_PUT_ITEM},
      {DDB_PREFIX "BatchExecuteStatement", FAKE_OP_BATCH_EXECUTE_STATEMENT},
      {DDB_PREFIX "DescribeTable", FAKE_OP_DESCRIBE_TABLE},
  };
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    if (fake_text_is(target, ops[i].target))
      return ops[i].op;
  return FAKE_OP_OTHER;
}

/* The service's throttling error, as SQS's JSON protocol and DynamoDB
 * send it. */
static bool throttle_error(fake_op_t op, fake_answer_t *out) {
  out->throttled = true;
  if (op <= FAKE_OP_GET_QUEUE_ATTRIBUTES)
    return sqs_error(out, "AWS.SimpleQueueService.RequestThrottled",
                     "RequestThrottled", "Rate exceeded (fake)");
  out->status = 400;
  return fake_buf_printf(&out->headers, "x-amzn-errortype: "
                                        "ProvisionedThroughputExceededException\r\n") &&
         fake_buf_printf(&out->body,
                         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                         "ProvisionedThroughputExceededException\","
                         "\"message\":\"The level of configured provisioned "
                         "throughput for the table was exceeded (fake)\"}");
}

/* Whether this request is the next of the throttled fraction. */
static bool throttled(fake_state_t *st, fake_op_t op) {
  if (st->throttle <= 0 || op == FAKE_OP_GET_QUEUE_ATTRIBUTES ||
      op == FAKE_OP_DESCRIBE_TABLE)
    return false;
  st->throttle_debt += st->throttle;
  if (st->throttle_debt < 1)
    return false;
  st->throttle_debt -= 1;
  return true;
}

static bool answer_json(fake_state_t *st, const fake_aws_http_request_t *req,
                        fake_answer_t *out) {
  fake_op_t op = out->op = json_op(req->target);
  out->content_type = "application/x-amz-json-1.0";
  if (op == FAKE_OP_OTHER) {
    out->status = 400;
    return fake_buf_printf(&out->body,
                           "{\"__type\":\"com.amazon.coral.service#"
                           "UnknownOperationException\",\"message\":\"the "
                           "fake does not answer this operation\"}");
  }
  st->requests[op]++;
  if (throttled(st, op)) {
    st->throttled[op]++;
    return throttle_error(op, out);
  }
  fake_text_t request = req->body;
  if (request.len == 0)
    request = (fake_text_t){"{}", 2};
  if (!fake_json_valid(request)) {
    out->status = 400;
    return fake_buf_printf(&out->body,
                           "{\"__type\":\"com.amazon.coral.service#"
                           "SerializationException\",\"message\":\"the "
                           "body is not JSON\"}");
  }
  bool ok = true;
  size_t n = 0;
  switch (op) {
  case FAKE_OP_SEND_MESSAGE_BATCH:
  case FAKE_OP_CHANGE_VISIBILITY_BATCH:
    ok = batch_result(st, request, op == FAKE_OP_SEND_MESSAGE_BATCH, &out->body,
                      &n);
    break;
  case FAKE_OP_DELETE_MESSAGE_BATCH:
    note_deletes(st, request);
    ok = batch_result(st, request, false, &out->body, &n);
    break;
  case FAKE_OP_RECEIVE_MESSAGE:
    ok = receive(st, request, out);
    break;
  case FAKE_OP_GET_QUEUE_ATTRIBUTES:
    ok = fake_buf_printf(&out->body,
                         "{\"Attributes\":{\"VisibilityTimeout\":\"300\","
                         "\"ApproximateNumberOfMessages\":\"%llu\"}}",
                         (unsigned long long)(st->messages - st->served));
    break;
  case FAKE_OP_BATCH_WRITE_ITEM:
    n = write_items(request);
    ok = fake_buf_printf(&out->body, "{\"UnprocessedItems\":{}}");
    break;
  case FAKE_OP_UPDATE_ITEM:
  case FAKE_OP_PUT_ITEM:
    n = 1;
    ok = fake_buf_printf(&out->body, "{}");
    break;
  case FAKE_OP_BATCH_EXECUTE_STATEMENT:
    ok = statements(request, out, &n);
    break;
  default: { /* DescribeTable */
    fake_text_t table = string_of(request, "TableName");
    ok = fake_buf_printf(&out->body, "{\"Table\":{\"TableName\":\"") &&
         fake_buf_add(&out->body, table.at, table.len) &&
         fake_buf_printf(
             &out->body,
             "\",\"TableStatus\":\"ACTIVE\",\"KeySchema\":[{\"AttributeName\":"
             "\"id\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{"
             "\"AttributeName\":\"id\",\"AttributeType\":\"S\"}]}}");
    break;
  }
  }
  st->entries[op] += n;
  return ok;
}

/* ---- S3 ---- */

/* "bytes=A-" or "bytes=A-B" within `size`; false for anything else. */
static bool parse_range(fake_text_t range, size_t size, size_t *from,
                        size_t *to) {
  char text[64];
  if (range.len == 0 || range.len >= sizeof(text))
    return false;
  memcpy(text, range.at, range.len);
  text[range.len] = '\0';
  unsigned long long a = 0, b = 0;
  int got = sscanf(text, "bytes=%llu-%llu", &a, &b);
  if (got < 1 || a >= size)
    return false;
  *from = (size_t)a;
  *to = got == 2 && b < size ? (size_t)b : size - 1;
  return *to >= *from;
}

static bool answer_s3(fake_state_t *st, const fake_aws_http_request_t *req,
                      fake_answer_t *out) {
  bool head = fake_text_is(req->method, "HEAD");
  const char *slash = memchr(req->path.at + 1, '/', req->path.len - 1);
  out->content_type = "application/xml";
  if (!slash) { /* /bucket?list-type=2... */
    out->op = FAKE_OP_LIST_OBJECTS;
    st->requests[out->op]++;
    fake_text_t prefix = {"", 0};
    fake_aws_http_query(req->query, "prefix", &prefix);
    bool match = prefix.len <= strlen(OBJECT_KEY) &&
                 memcmp(OBJECT_KEY, prefix.at, prefix.len) == 0;
    return make_object(st) &&
           fake_buf_printf(
               &out->body,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<ListBucketResult "
               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<Name>bucket</Name><KeyCount>%d</KeyCount>"
               "<IsTruncated>false</IsTruncated>",
               match ? 1 : 0) &&
           (!match ||
            fake_buf_printf(&out->body,
                            "<Contents><Key>" OBJECT_KEY "</Key>"
                            "<LastModified>2026-01-01T00:00:00.000Z"
                            "</LastModified><ETag>&quot;"
                            "0123456789abcdef0123456789abcdef&quot;</ETag>"
                            "<Size>%zu</Size><StorageClass>STANDARD"
                            "</StorageClass></Contents>",
                            st->object.len)) &&
           fake_buf_printf(&out->body, "</ListBucketResult>");
  }
  out->op = head ? FAKE_OP_HEAD_OBJECT : FAKE_OP_GET_OBJECT;
  out->head = head;
  st->requests[out->op]++;
  if (!make_object(st))
    return false;
  size_t from = 0, to = st->object.len - 1;
  if (parse_range(req->range, st->object.len, &from, &to)) {
    out->status = 206;
    if (!fake_buf_printf(&out->headers, "Content-Range: bytes %zu-%zu/%zu\r\n",
                         from, to, st->object.len))
      return false;
  }
  out->content_type = "text/csv";
  st->entries[out->op] += to - from + 1;
  return fake_buf_printf(&out->headers,
                         "ETag: " OBJECT_ETAG "\r\nLast-Modified: " OBJECT_TIME
                         "\r\nAccept-Ranges: bytes\r\n") &&
         fake_buf_add(&out->body, st->object.data + from, to - from + 1);
}

/* ---- The fake's own endpoints ---- */

static bool parse_double(fake_text_t v, double *out) {
  char text[32];
  if (v.len == 0 || v.len >= sizeof(text))
    return false;
  memcpy(text, v.at, v.len);
  text[v.len] = '\0';
  char *end = NULL;
  *out = strtod(text, &end);
  return *end == '\0';
}

static bool control(fake_state_t *st, const fake_aws_http_request_t *req,
                    fake_answer_t *out) {
  fake_text_t v;
  double d;
  if (fake_aws_http_query(req->query, "throttle", &v)) {
    if (!parse_double(v, &d) || d < 0 || d > 1) {
      out->status = 400;
      return fake_buf_printf(&out->body, "{\"error\":\"throttle: 0 to 1\"}");
    }
    st->throttle = d;
    st->throttle_debt = 0;
  }
  if (fake_aws_http_query(req->query, "latency", &v)) {
    if (!parse_double(v, &d) || d < 0 || d > 60000) {
      out->status = 400;
      return fake_buf_printf(&out->body,
                             "{\"error\":\"latency: 0 to 60000 ms\"}");
    }
    st->latency_ms = (uint64_t)d;
  }
  if (fake_aws_http_query(req->query, "dynamodb_latency", &v)) {
    if (!parse_double(v, &d) || d < -1 || d > 60000) {
      out->status = 400;
      return fake_buf_printf(
          &out->body, "{\"error\":\"dynamodb_latency: 0 to 60000 ms, or "
                      "-1 (as latency)\"}");
    }
    st->dynamodb_latency_ms = d < 0 ? -1 : (int64_t)d;
  }
  return fake_buf_printf(&out->body,
                         "{\"throttle\":%g,\"latency_ms\":%llu,"
                         "\"dynamodb_latency_ms\":%lld}",
                         st->throttle, (unsigned long long)st->latency_ms,
                         (long long)st->dynamodb_latency_ms);
}

bool fake_answer(fake_state_t *st, const fake_aws_http_request_t *req,
                 uint64_t now_ms, fake_answer_t *out) {
  *out = (fake_answer_t){.status = 200, .op = FAKE_OP_OTHER,
                         .content_type = "application/json"};
  if (fake_text_is(req->path, "/__stats"))
    return fake_stats_json(st, now_ms, &out->body);
  if (fake_text_is(req->path, "/__control"))
    return control(st, req, out);
  out->delay_ms = st->latency_ms;
  bool ok;
  if (req->target.len > 0) {
    if (st->dynamodb_latency_ms >= 0 && req->target.len > strlen(DDB_PREFIX) &&
        memcmp(req->target.at, DDB_PREFIX, strlen(DDB_PREFIX)) == 0)
      out->delay_ms = (uint64_t)st->dynamodb_latency_ms;
    ok = answer_json(st, req, out);
  }
  else if ((fake_text_is(req->method, "GET") ||
            fake_text_is(req->method, "HEAD")) &&
           req->path.len > 1)
    ok = answer_s3(st, req, out);
  else {
    out->status = 404;
    ok = fake_buf_printf(&out->body, "{\"error\":\"not an operation the fake "
                                     "answers\"}");
  }
  if (out->op != FAKE_OP_OTHER) {
    if (st->first_ms[out->op] < 0)
      st->first_ms[out->op] = (int64_t)now_ms;
    st->last_ms[out->op] = (int64_t)now_ms;
  }
  return ok;
}
