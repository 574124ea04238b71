/* The messages of source-sqs in flight (received, group not resolved yet)
 * and their visibility heartbeat: each one is extended every half
 * visibility timeout until its group resolves, so that a slow sink never
 * lets a message become visible (and be delivered twice) while it is
 * still being processed.
 *
 * Messages are kept in the order of their next extension (all share one
 * interval, so appending keeps the order), with one timer for all of
 * them; messages due within a small window are extended together so
 * that their changes share batches. */
#ifndef PL_SOURCE_SQS_HEARTBEAT_H
#define PL_SOURCE_SQS_HEARTBEAT_H

#include <uv.h>

#include "sqs_receive.h"

/* Called for each message that is due; it stays in flight. */
typedef void (*sqs_heartbeat_cb)(void *data, sqs_message_t *msg);

/* Embedded in its owner; the fields are private. */
typedef struct sqs_heartbeat {
  uv_loop_t *loop;
  uv_timer_t timer;
  sqs_message_t *head; /* next due first */
  sqs_message_t *tail;
  size_t count;
  uint64_t interval_ms;
  sqs_heartbeat_cb extend;
  void *data;
  bool open;
} sqs_heartbeat_t;

/* Prepares `hb` for messages whose visibility lasts `visibility_ms`. */
void sqs_heartbeat_init(sqs_heartbeat_t *hb, uv_loop_t *loop,
                        uint64_t visibility_ms, sqs_heartbeat_cb extend,
                        void *data);
/* Opens the timer. */
void sqs_heartbeat_start(sqs_heartbeat_t *hb);
/* A message just received (its visibility timeout starts now). */
void sqs_heartbeat_add(sqs_heartbeat_t *hb, sqs_message_t *msg);
/* The message's group resolved: no more extensions. */
void sqs_heartbeat_remove(sqs_heartbeat_t *hb, sqs_message_t *msg);
size_t sqs_heartbeat_count(const sqs_heartbeat_t *hb);
/* Closes the timer; messages stay listed. */
void sqs_heartbeat_close(sqs_heartbeat_t *hb);
/* Destroys the messages still listed; the loop has ended. */
void sqs_heartbeat_free(sqs_heartbeat_t *hb);

#endif
