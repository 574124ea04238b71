/* A received message as a record: its value from the body, and its
 * metadata for templates and dead letters. */
#ifndef PL_SOURCE_SQS_RECORD_H
#define PL_SOURCE_SQS_RECORD_H

#include <pipelined/plugin.h>
#include <pipelined/sqs.h>

typedef enum { SQS_FORMAT_JSON, SQS_FORMAT_RAW } sqs_format_t;

/* Sets the metadata of `rec`:
 *   message id            the SQS MessageId;
 *   origin                the message attribute "origin" when it is a
 *                         string (what the producer read: a CSV line that
 *                         went through sink-sqs), else
 *                         "sqs:<queue url>#<message id>";
 *   line, etag,           the "line" (a whole number), "etag" and
 *   origin time           "origin_time" attributes, when present (what
 *                         sink-sqs sends);
 *   attributes            every message attribute by name (the
 *                         message's own object, taken from it: the message
 *                         has none after), then "receive_count"
 *                         (ApproximateReceiveCount) and "sent_timestamp"
 *                         (ms since the epoch), which win over message
 *                         attributes of the same names.
 * Returns 0 or PL_ENOMEM. */
int sqs_record_metadata(pl_record_t *rec, pl_sqs_message_t *msg,
                        const char *queue_url);

/* The value of a message's record, from its body: the parsed JSON value
 * (any JSON text; a string may hold \u0000, which every stage writes
 * back by its length), or {"body": "<body>"} with SQS_FORMAT_RAW. Returns 0
 * and a new reference in `out`; PL_EPARSE when the body is not valid JSON
 * or holds a number the daemon cannot keep as written (format json;
 * sqs_number.h), with the reason appended to `reason`; or PL_ENOMEM. */
int sqs_record_value(const pl_sqs_message_t *msg, sqs_format_t format,
                     json_t **out, pl_buf_t *reason);

#endif
