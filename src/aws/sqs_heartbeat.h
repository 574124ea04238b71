/* The messages of the SQS poller in flight (received, not finished yet)
 * and their visibility heartbeat: each one is extended every half
 * visibility timeout until its owner finishes it, so that a slow sink never
 * lets a message become visible (and be delivered twice) while it is
 * still being processed.
 *
 * Messages are kept in the order of their next extension (all share one
 * interval, so appending keeps the order), with one timer for all of
 * them; messages due within a small window are extended together so
 * that their changes share batches. */
#ifndef PL_AWS_SQS_HEARTBEAT_H
#define PL_AWS_SQS_HEARTBEAT_H

#include <uv.h>

#include "sqs_receive.h"

/* Called for each message that is due; it stays in flight. */
typedef void (*pl__sqs_heartbeat_cb)(void *data, pl_sqs_message_t *msg);

/* Embedded in its owner; the fields are private. */
typedef struct pl__sqs_heartbeat {
  uv_loop_t *loop;
  uv_timer_t timer;
  pl_sqs_message_t *head; /* next due first */
  pl_sqs_message_t *tail;
  size_t count;
  uint64_t interval_ms;
  pl__sqs_heartbeat_cb extend;
  void *data;
  bool open;
} pl__sqs_heartbeat_t;

/* Prepares `hb` for messages whose visibility lasts `visibility_ms`. */
void pl__sqs_heartbeat_init(pl__sqs_heartbeat_t *hb, uv_loop_t *loop,
                        uint64_t visibility_ms, pl__sqs_heartbeat_cb extend,
                        void *data);
/* Sets the visibility timeout of the messages to come; only while none is
 * in flight (the poller learns it from the queue before its first
 * receive). */
void pl__sqs_heartbeat_set_visibility(pl__sqs_heartbeat_t *hb,
                                      uint64_t visibility_ms);
/* Opens the timer. */
void pl__sqs_heartbeat_start(pl__sqs_heartbeat_t *hb);
/* A message just received (its visibility timeout starts now). */
void pl__sqs_heartbeat_add(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg);
/* The message is finished or released: no more extensions. */
void pl__sqs_heartbeat_remove(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg);
size_t pl__sqs_heartbeat_count(const pl__sqs_heartbeat_t *hb);
/* Closes the timer; messages stay listed. */
void pl__sqs_heartbeat_close(pl__sqs_heartbeat_t *hb);
/* Destroys the messages still listed; the loop has ended. */
void pl__sqs_heartbeat_free(pl__sqs_heartbeat_t *hb);

#endif
