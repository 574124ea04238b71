/* The SQS poller's state (the public API and its promises are in
 * <pipelined/sqs.h>). Its parts: sqs_receive.c (ReceiveMessage requests
 * and responses, the messages), sqs_heartbeat.c (the messages in flight
 * and their visibility heartbeat) and sqs_acks.c (batched deletes and
 * visibility changes); sqs_poller.c is the receive loop, its backoff and
 * the end of a --once run. */
#ifndef PL_AWS_SQS_POLLER_H
#define PL_AWS_SQS_POLLER_H

#include <pipelined/sqs.h>

#include "sqs_acks.h"
#include "sqs_heartbeat.h"
#include "sqs_receive.h"

/* Allocated by pl_sqs_poller_create(); the fields are private. */
struct pl_sqs_poller {
  pl_instance_t *inst;
  pl_sqs_poller_params_t params;
  pl_sqs_poller_events_t events;
  pl_aws_client_t *client; /* borrowed; NULL once closed */
  json_t *receive_body;
  pl_buf_t receive_text; /* receive_body as text, sent by every receive */
  pl__sqs_acks_t acks;
  pl__sqs_heartbeat_t heartbeat;
  uv_timer_t backoff_timer;
  bool timer_open;
  size_t receiving;     /* ReceiveMessage calls in flight */
  bool asking;          /* GetQueueAttributes in flight: no receive yet */
  /* Messages not delivered (left in the queue): one line, not one each. */
  pl_complain_t not_delivered;
  /* Failed receives (no credentials, a missing queue): one line at once,
   * then at growing intervals with a count, one when it works again. */
  pl_complain_t receive_failing;
  unsigned failures;    /* failed receive rounds in a row */
  int64_t empty_streak; /* empty receives in a row */
  pl_rng_t rng;
  bool once;
  bool gave_up; /* --once: too many failed receives */
  bool stopped;
  bool stop_wait_over; /* stopped and its receives waited for long enough */
  bool closed;
  bool exhausted;
};

#endif
