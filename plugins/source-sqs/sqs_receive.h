/* SQS ReceiveMessage: the request body and the parsing of a response into
 * messages. Pure functions on jansson values (HACKING.md#s12: tested
 * directly). */
#ifndef PL_SOURCE_SQS_RECEIVE_H
#define PL_SOURCE_SQS_RECEIVE_H

#include <jansson.h>
#include <pipelined/common.h>

/* One received message, from the response until its group is resolved. */
typedef struct sqs_message {
  /* The in-flight list of the heartbeat (sqs_heartbeat.c). */
  struct sqs_message *prev;
  struct sqs_message *next;
  uint64_t extend_at; /* loop time (ms) of the next visibility extension */
  char *message_id;
  char *receipt_handle;
  char *body; /* NUL-terminated; may hold other NULs */
  size_t body_len;
  int64_t receive_count;  /* ApproximateReceiveCount; 0 when absent */
  int64_t sent_timestamp; /* SentTimestamp, ms since the epoch; 0: absent */
  /* Message attributes by name as JSON values (strings; whole numbers of
   * Number attributes as integers; Binary as their base64 text), or NULL
   * when the message has none. Owned. */
  json_t *attributes;
} sqs_message_t;

void sqs_message_destroy(sqs_message_t *msg);

typedef struct sqs_receive_params {
  const char *queue_url;
  int64_t max_messages;        /* 1..10 */
  unsigned wait_seconds;       /* 0..20 */
  unsigned visibility_seconds; /* set on every receive */
} sqs_receive_params_t;

/* The body of AmazonSQS.ReceiveMessage: a new reference, or NULL when out
 * of memory. Asks for the receive count, the sent timestamp and every
 * message attribute. */
json_t *sqs_receive_request(const sqs_receive_params_t *params);

/* What one response held. `messages` is a malloc()ed array of `count` new
 * messages; `skipped` counts entries that could not be used (no MessageId
 * or ReceiptHandle), and `problem` describes the first one (borrowed from
 * a static string). */
typedef struct sqs_receive_result {
  sqs_message_t **messages;
  size_t count;
  size_t skipped;
  const char *problem;
} sqs_receive_result_t;

/* Parses a ReceiveMessage response (borrowed). A response without
 * "Messages" (or with an empty list) is an empty receive. Returns 0, or
 * PL_EPARSE when the response is not an object or "Messages" is not an
 * array, or PL_ENOMEM; `out` is then empty. Free with
 * sqs_receive_result_free() in every case. */
int sqs_receive_parse(const json_t *response, sqs_receive_result_t *out);
/* Destroys the messages still in `result` (those not taken: a caller that
 * keeps a message sets its slot to NULL). */
void sqs_receive_result_free(sqs_receive_result_t *result);

/* The JSON value of one message attribute ({"DataType": ..., "StringValue"
 * or "BinaryValue": ...}): a new reference, or NULL when it has no usable
 * value. */
json_t *sqs_attribute_value(const json_t *attribute);

#endif
