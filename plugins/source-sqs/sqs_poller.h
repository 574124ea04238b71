/* The receiving side of an SQS source, shared by source-sqs and source-s3
 * (whose notifications arrive on a queue): long polling with `pollers`
 * receives at once while the owner has room, messages in flight with their
 * visibility heartbeat, deletes and visibility changes in batches, and the
 * end of a --once run.
 *
 * The owner turns each message into groups and, when the message's work
 * is resolved, calls sqs_poller_finish(): a committed message is deleted; a
 * failed one stays in the queue, to be received again after
 * retry_visibility or its visibility timeout (and to reach the queue's own
 * dead-letter queue after maxReceiveCount receives).
 *
 * Failed receives back off exponentially with full jitter, one probing
 * receive at a time, until a receive works again. With --once the source
 * is exhausted (pl_source_exhausted) after idle_polls empty receives in a
 * row, once nothing is in flight and every delete is done. */
#ifndef PL_SOURCE_SQS_POLLER_H
#define PL_SOURCE_SQS_POLLER_H

#include <pipelined/aws.h>
#include <pipelined/plugin.h>

#include "sqs_acks.h"
#include "sqs_heartbeat.h"
#include "sqs_receive.h"

typedef struct sqs_poller_params {
  const char *queue_url; /* borrowed for the poller's life */
  int64_t pollers;       /* receives in flight at once */
  int64_t max_messages;
  uint64_t wait_time_ms;
  uint64_t visibility_timeout_ms;
  uint64_t retry_visibility_ms; /* 0: a failed message waits its timeout */
  int64_t idle_polls;           /* --once: empty receives that end the run */
} sqs_poller_params_t;

typedef struct sqs_poller_events {
  void *data;
  /* A new message, in flight already (stolen until sqs_poller_finish() or
   * sqs_poller_release()). */
  void (*message)(void *data, sqs_message_t *msg);
  /* True while the owner can take more messages. When it becomes true
   * again the owner calls sqs_poller_poll(). */
  bool (*room)(void *data);
} sqs_poller_events_t;

/* Embedded in its owner; the fields are private. */
typedef struct sqs_poller {
  pl_instance_t *inst;
  sqs_poller_params_t params;
  sqs_poller_events_t events;
  pl_aws_client_t *client; /* borrowed; NULL once closed */
  json_t *receive_body;
  sqs_acks_t acks;
  sqs_heartbeat_t heartbeat;
  uv_timer_t backoff_timer;
  bool timer_open;
  size_t receiving;     /* ReceiveMessage calls in flight */
  unsigned failures;    /* failed receive rounds in a row */
  int64_t empty_streak; /* empty receives in a row */
  pl_rng_t rng;
  bool once;
  bool gave_up; /* --once: too many failed receives */
  bool stopped;
  bool stop_wait_over; /* stopped and its receives waited for long enough */
  bool closed;
  bool exhausted;
} sqs_poller_t;

/* Prepares `p` (no I/O). Returns 0 or PL_ENOMEM. */
int sqs_poller_init(sqs_poller_t *p, pl_instance_t *inst,
                    const sqs_poller_params_t *params,
                    const sqs_poller_events_t *events);
/* Starts receiving with `client` (borrowed until sqs_poller_close()). */
void sqs_poller_start(sqs_poller_t *p, pl_aws_client_t *client);
/* Receives while the owner has room. */
void sqs_poller_poll(sqs_poller_t *p);
/* The message's work is resolved: deleted when committed, otherwise left
 * (or made visible after retry_visibility). Destroys `msg`. */
void sqs_poller_finish(sqs_poller_t *p, sqs_message_t *msg, bool committed);
/* A message the owner cannot take (out of memory, or stopping): visible
 * again at once, for another consumer. Destroys `msg`. */
void sqs_poller_release(sqs_poller_t *p, sqs_message_t *msg);
/* Messages received and not finished. */
size_t sqs_poller_in_flight(const sqs_poller_t *p);
/* Shutdown: no new receives; messages in flight finish first. */
void sqs_poller_stop(sqs_poller_t *p);
/* Closes the timers and the batches (before the owner destroys the
 * client, which cancels what is in flight). */
void sqs_poller_close(sqs_poller_t *p);
/* Frees what the poller holds; the loop has ended. */
void sqs_poller_free(sqs_poller_t *p);

#endif
