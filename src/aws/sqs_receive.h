/* SQS ReceiveMessage: the request body, the parsing of a response into
 * messages, and the messages (pl_sqs_message_t of <pipelined/sqs.h>); and
 * GetQueueAttributes for the queue's VisibilityTimeout. Pure functions on
 * jansson values (HACKING.md#s12: tested directly). */
#ifndef PL_AWS_SQS_RECEIVE_H
#define PL_AWS_SQS_RECEIVE_H

#include <jansson.h>
#include <pipelined/sqs.h>

/* One received message, from the response until its owner finishes or releases it. */
struct pl_sqs_message {
  /* The in-flight list of the heartbeat (sqs_heartbeat.c). */
  struct pl_sqs_message *prev;
  struct pl_sqs_message *next;
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
};

/* Frees `msg` and what it owns. NULL is allowed. */
void pl__sqs_message_destroy(pl_sqs_message_t *msg);

typedef struct pl__sqs_receive_params {
  const char *queue_url;
  int64_t max_messages;        /* 1..10 */
  unsigned wait_seconds;       /* 0..20 */
  unsigned visibility_seconds; /* set on every receive */
} pl__sqs_receive_params_t;

/* The body of AmazonSQS.ReceiveMessage: a new reference, or NULL when out
 * of memory. Asks for the receive count, the sent timestamp and every
 * message attribute. */
json_t *pl__sqs_receive_request(const pl__sqs_receive_params_t *params);

/* What one response held. `messages` is a malloc()ed array of `count` new
 * messages; `skipped` counts entries that could not be used (no MessageId
 * or ReceiptHandle), and `problem` describes the first one (borrowed from
 * a static string). */
typedef struct pl__sqs_receive_result {
  pl_sqs_message_t **messages;
  size_t count;
  size_t skipped;
  const char *problem;
} pl__sqs_receive_result_t;

/* Parses a ReceiveMessage response (borrowed). A response without
 * "Messages" (or with an empty list) is an empty receive. Returns 0, or
 * PL_EPARSE when the response is not an object or "Messages" is not an
 * array, or PL_ENOMEM; `out` is then empty. Free with
 * pl__sqs_receive_result_free() in every case. */
int pl__sqs_receive_parse(const json_t *response, pl__sqs_receive_result_t *out);
/* Reads a ReceiveMessage answer's text (`len` bytes, borrowed) into `out`
 * as json_loadb and pl__sqs_receive_parse would; the usual answer without
 * a tree (pl__sqs_receive_scan). An empty text is an empty receive.
 * Returns what pl__sqs_receive_parse does, or PL_EINVAL with jansson's
 * reason in `error` when the text is not JSON. Free `out` with
 * pl__sqs_receive_result_free() in every case. */
int pl__sqs_receive_read(const char *text, size_t len,
                         pl__sqs_receive_result_t *out, json_error_t *error);

/* Reads the usual answer, the shape SQS writes (strings, and objects of
 * strings for Attributes and MessageAttributes; no \u escapes, numbers or
 * literals, no repeated key the reader uses), checking JSON's grammar and
 * UTF-8 as jansson does, and fills `out` as pl__sqs_receive_parse would
 * from jansson's tree of the same text: returns 0. Returns PL_EAGAIN
 * (`out` empty) for any other text, which is then jansson's; PL_ENOMEM. */
int pl__sqs_receive_scan(const char *text, size_t len,
                         pl__sqs_receive_result_t *out);

/* Destroys the messages still in `result` (those not taken: a caller that
 * keeps a message sets its slot to NULL). */
void pl__sqs_receive_result_free(pl__sqs_receive_result_t *result);

/* The JSON value of one message attribute ({"DataType": ..., "StringValue"
 * or "BinaryValue": ...}): a new reference, or NULL when it has no usable
 * value. */
json_t *pl__sqs_attribute_value(const json_t *attribute);

/* The body of AmazonSQS.GetQueueAttributes asking for the queue's
 * VisibilityTimeout: a new reference, or NULL when out of memory. */
json_t *pl__sqs_visibility_request(const char *queue_url);

/* The VisibilityTimeout of a GetQueueAttributes response (borrowed:
 * {"Attributes": {"VisibilityTimeout": "45"}}) in ms to `*ms`. Returns 0,
 * or PL_EPARSE when the response has no such attribute or it is not whole
 * seconds from 0 to 12 h (`*ms` untouched). */
int pl__sqs_visibility_parse(const json_t *response, uint64_t *ms);

#endif
