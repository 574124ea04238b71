/* What the fake AWS (bench/tools/fake_aws.c) answers: valid minimal
 * responses of the SQS and DynamoDB JSON protocols and of S3's REST API,
 * enough for pipelined's sinks and sources to accept, with counts of every
 * operation and injectable throttling. Signatures are not checked.
 *
 *   SQS       SendMessageBatch (every entry successful), ReceiveMessage
 *             (the `messages` pre-made inventory rows, then empty
 *             answers), DeleteMessageBatch, ChangeMessageVisibilityBatch,
 *             GetQueueAttributes
 *   DynamoDB  BatchWriteItem (nothing unprocessed), UpdateItem, PutItem,
 *             BatchExecuteStatement (every statement successful),
 *             DescribeTable (key "id", S)
 *   S3        GetObject and HeadObject of any key (a generated inventory
 *             CSV, Range honoured), ListObjectsV2 (that one object)
 *   fake      GET /__stats (the counts, as JSON), POST /__control?throttle=F
 *             &latency=MS&dynamodb_latency=MS (F: the fraction of SQS and
 *             DynamoDB requests answered with the service's throttling
 *             error; dynamodb_latency: DynamoDB's answers only, -1: as
 *             latency), each changing what it names
 *
 * No I/O: the server feeds it parsed requests and writes its answers. */
#ifndef FAKE_AWS_ANSWERS_H
#define FAKE_AWS_ANSWERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_aws_http.h"

/* The operations counted, with the names /__stats gives them. */
#define FAKE_OPS(X)                                                            \
  X(SEND_MESSAGE_BATCH, "SendMessageBatch")                                    \
  X(RECEIVE_MESSAGE, "ReceiveMessage")                                         \
  X(DELETE_MESSAGE_BATCH, "DeleteMessageBatch")                                \
  X(CHANGE_VISIBILITY_BATCH, "ChangeMessageVisibilityBatch")                   \
  X(GET_QUEUE_ATTRIBUTES, "GetQueueAttributes")                                \
  X(BATCH_WRITE_ITEM, "BatchWriteItem")                                        \
  X(UPDATE_ITEM, "UpdateItem")                                                 \
  X(PUT_ITEM, "PutItem")                                                       \
  X(BATCH_EXECUTE_STATEMENT, "BatchExecuteStatement")                          \
  X(DESCRIBE_TABLE, "DescribeTable")                                           \
  X(GET_OBJECT, "GetObject")                                                   \
  X(HEAD_OBJECT, "HeadObject")                                                 \
  X(LIST_OBJECTS, "ListObjectsV2")                                             \
  X(OTHER, "Other")

#define FAKE_OP_ENUM(id, name) FAKE_OP_##id,
typedef enum { FAKE_OPS(FAKE_OP_ENUM) FAKE_OP_COUNT } fake_op_t;
#undef FAKE_OP_ENUM

/* Seconds of per-second history kept for /__stats. */
#define FAKE_HISTORY_S 3600

/* A growable byte buffer; zero-initialised is empty. */
typedef struct fake_buf {
  char *data;
  size_t len, cap;
} fake_buf_t;

/* Appends; false when out of memory. */
bool fake_buf_add(fake_buf_t *buf, const char *bytes, size_t len);
bool fake_buf_printf(fake_buf_t *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fake_buf_free(fake_buf_t *buf);

typedef struct fake_state {
  /* Settings. */
  uint64_t latency_ms;    /* added before each answer */
  int64_t dynamodb_latency_ms; /* instead, before DynamoDB's; -1: latency_ms */
  uint64_t empty_wait_ms; /* an empty ReceiveMessage waits this much more
                             (at most its WaitTimeSeconds) */
  double throttle;        /* 0 to 1 */
  uint64_t messages;      /* ReceiveMessage serves this many, then none */
  uint64_t object_rows;   /* rows of the generated CSV object */
  /* Counts. */
  uint64_t requests[FAKE_OP_COUNT];
  uint64_t entries[FAKE_OP_COUNT];   /* messages, items, statements */
  uint64_t throttled[FAKE_OP_COUNT]; /* answered with a throttling error */
  int64_t first_ms[FAKE_OP_COUNT];   /* -1: never */
  int64_t last_ms[FAKE_OP_COUNT];
  uint64_t served;         /* messages handed out */
  uint64_t deleted;        /* of them, deleted (once each) */
  uint64_t deleted_again;  /* deletes of a message already deleted */
  uint8_t *deleted_map;    /* a bit per message */
  uint64_t in_flight, in_flight_max;
  uint32_t per_second[FAKE_HISTORY_S];     /* requests answered */
  uint32_t throttled_second[FAKE_HISTORY_S];
  uint32_t in_flight_second[FAKE_HISTORY_S]; /* the peak in that second */
  uint64_t held_answers; /* answers held a latency, and sent */
  uint64_t late_ns_sum;  /* of them, how late after their due time */
  uint64_t late_ns_max;
  double throttle_debt; /* spreads the throttled fraction evenly */
  uint64_t next_id;
  fake_buf_t object; /* the CSV, made on first use */
} fake_state_t;

/* An answer: its status, content type, extra header lines (each ending
 * in "\r\n") and body, and how long to hold it. */
typedef struct fake_answer {
  int status;
  const char *content_type;
  fake_buf_t headers;
  fake_buf_t body;
  bool head;         /* HEAD: send the headers only */
  bool throttled;    /* the service's throttling error */
  uint64_t delay_ms; /* the latency, and the wait of an empty receive */
  fake_op_t op;      /* what it was, for the counts of answers */
} fake_answer_t;

/* Sets the defaults and makes the deleted-message map; false when out of
 * memory. `messages` is the number ReceiveMessage hands out. */
bool fake_state_init(fake_state_t *st, uint64_t messages);
void fake_state_close(fake_state_t *st);

/* Answers `req` at `now_ms` (milliseconds since the fake started) into
 * *out, which the caller frees with fake_answer_free. False only when out
 * of memory. */
bool fake_answer(fake_state_t *st, const fake_aws_http_request_t *req,
                 uint64_t now_ms, fake_answer_t *out);
void fake_answer_free(fake_answer_t *answer);

/* Counts an answer as sent at `now_ms` (the per-second history). */
void fake_answer_sent(fake_state_t *st, const fake_answer_t *answer,
                      uint64_t now_ms);

/* Notes a held answer sent `late_ns` after it was due. */
void fake_state_late(fake_state_t *st, uint64_t late_ns);
/* Notes the requests in flight (received, not yet answered). */
void fake_state_in_flight(fake_state_t *st, uint64_t count, uint64_t now_ms);

/* The name of an operation. */
const char *fake_op_name(fake_op_t op);

#endif
