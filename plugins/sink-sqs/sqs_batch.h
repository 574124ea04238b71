/* SendMessageBatch requests: the pure encode step of sink-sqs
 * (HACKING.md#s12).
 *
 * Every record becomes at most one SQS message:
 *   - the body is the record's value as compact JSON (object keys in their
 *     insertion order, non-ASCII text as UTF-8); a record holding bytes
 *     instead of a value is sent as {"raw":"<the bytes>"}, as sink-file
 *     writes it (the bytes must be UTF-8; empty bytes, such as the empty
 *     last chunk of a byte stream, give no message);
 *   - message attributes carry where the record came from: "origin",
 *     "origin_time" and "etag" (String) and "line" (Number) when known,
 *     then the configured template attributes (String); a consumer orders
 *     the updates of one item by them (sink-dynamodb's newer_than);
 *   - FIFO queues get MessageGroupId from its template and
 *     MessageDeduplicationId from its template or, by default, the SHA-256
 *     (hex) of the record's origin, etag, origin time, message id, line and
 *     body, so that sending the same input again within SQS's 5-minute
 *     deduplication window does not duplicate it, while the chunks of one
 *     input (no line), a file changed in place (no etag) and an object
 *     written back to an earlier content (its etag again) are not taken
 *     for duplicates of each other. A record with no origin and no message
 *     id is hashed by its body instead (what ContentBasedDeduplication
 *     does): a hash of nothing would make every such record a duplicate of
 *     the first;
 *   - standard queues get DelaySeconds when a delay is configured.
 * A message's size is counted as SQS counts it: the body plus, for each
 * attribute, its name, its data type and its value, in bytes.
 *
 * A record is rejected, never truncated or altered, when its message
 * cannot be sent: larger than max_message_bytes, a template field missing,
 * an attribute, group or deduplication id SQS would refuse, or text SQS
 * does not allow (U+FFFE, U+FFFF, control characters outside JSON
 * escapes). Messages are then packed in order into requests of at most
 * SQS_MAX_ENTRIES entries and max_batch_bytes bytes; a message larger than
 * max_batch_bytes (but within max_message_bytes) goes alone. */
#ifndef PL_SINK_SQS_BATCH_H
#define PL_SINK_SQS_BATCH_H

#include <pipelined/pipelined.h>

#include "sqs_dedup.h"
#include "sqs_text.h"

/* SQS's limits. */
#define SQS_MAX_ENTRIES 10         /* entries per SendMessageBatch */
#define SQS_MAX_ATTRIBUTES 10      /* message attributes per message */
#define SQS_MAX_BYTES (1u << 20)   /* largest message and request payload */
#define SQS_MAX_DELAY_S 900        /* DelaySeconds */

/* Attributes the sink sets itself from the record's metadata. */
#define SQS_ORIGIN_ATTRIBUTES 4

/* A configured message attribute: its name, which sqs_attribute_name_valid()
 * accepts (it is written into the JSON as it is), and the template of its
 * value (both borrowed). */
typedef struct sqs_attribute {
  const char *name;
  const pl_template_t *value;
} sqs_attribute_t;

/* What the encoder needs to know, borrowed for as long as it is used. */
typedef struct sqs_encoding {
  const char *queue_url;
  bool fifo;
  uint64_t max_batch_bytes;   /* of one request's messages */
  uint64_t max_message_bytes; /* of one message */
  unsigned delay_s;           /* standard queues: DelaySeconds, 0: none */
  const pl_template_t *group_id; /* MessageGroupId, or NULL */
  const pl_template_t *dedup_id; /* FIFO: NULL for the default hash */
  const sqs_attribute_t *attributes;
  size_t attribute_count;
} sqs_encoding_t;

/* One SendMessageBatch request. Entry i has the Id "i" and is record
 * records[i] of the batch it was encoded from. */
typedef struct sqs_request {
  /* The request's JSON text, written directly (no jansson values):
   * {"QueueUrl":...,"Entries":[{"Id":"0",...},...]}. */
  pl_buf_t body;
  size_t count;
  size_t records[SQS_MAX_ENTRIES];
  uint64_t bytes; /* sum of the messages' sizes */
} sqs_request_t;

/* Appends the entry of `record` without its Id to `entry`: its members as
 * JSON text without the braces ("MessageBody":"...",...), in the order
 * MessageBody, MessageAttributes, MessageGroupId, MessageDeduplicationId,
 * DelaySeconds; its size (as SQS counts it) goes to *size. Returns 0;
 * PL_EINVAL when the record cannot be sent (`why` then says why, to reject
 * it with); PL_ENOENT when it has nothing to send (empty bytes: deliver it
 * as it is); or PL_ENOMEM. On failure `entry` is as it was. */
int sqs_encode_message(const sqs_encoding_t *enc, const pl_record_t *record,
                       pl_buf_t *entry, uint64_t *size, pl_buf_t *why);

/* Packs `count` messages of the given sizes, in order, into requests of at
 * most SQS_MAX_ENTRIES messages and `max_bytes` bytes (a larger message
 * goes alone). ends[k] (room for `count` values) receives the index after
 * the last message of request k. Returns the number of requests. */
size_t sqs_split(const uint64_t *sizes, size_t count, uint64_t max_bytes,
                 size_t *ends);

/* Encodes the records of `batch` that are still pending into requests: a
 * new array of *count requests in *requests (NULL when none). Records that
 * cannot be sent are resolved here: rejected with the reason, delivered
 * when they have nothing to send, failed when memory ran out while
 * encoding them (the engine retries them). Returns 0, or PL_ENOMEM when
 * the requests could not be built: then none is returned and the records
 * that were to be sent are still pending (the caller fails them). */
int sqs_encode_batch(const sqs_encoding_t *enc, pl_batch_t *batch,
                     sqs_request_t **requests, size_t *count);

/* Frees requests from sqs_encode_batch (NULL is fine). */
void sqs_requests_free(sqs_request_t *requests, size_t count);

#endif
