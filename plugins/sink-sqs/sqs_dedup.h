/* The default MessageDeduplicationId of a FIFO message: the SHA-256 (hex)
 * of where the record came from, so that sending the same input again
 * within SQS's deduplication window does not duplicate it (sqs_batch.h
 * says when it is used). */
#ifndef PL_SINK_SQS_DEDUP_H
#define PL_SINK_SQS_DEDUP_H

#include <pipelined/pipelined.h>

/* The default deduplication id of `record` (64 hex digits and a NUL), from
 * its metadata and `body` or, when it has no origin and no message id,
 * from `body` alone.
 * Returns 0 or PL_ENOMEM. */
int sqs_default_dedup_id(const pl_record_t *record, const char *body,
                         size_t body_len, char out[65]);

#endif
