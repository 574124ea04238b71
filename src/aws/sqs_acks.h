/* What the SQS poller tells the queue about messages it received: deletes
 * (DeleteMessageBatch) for finished messages and visibility changes
 * (ChangeMessageVisibilityBatch) for heartbeats, retries and releases.
 *
 * Both are batched: a batch goes out at once when it has 10 (the SQS
 * limit), and a partial batch only once its oldest entry has waited
 * `flush_delay_ms` for others. The wait is each entry's own, not a window
 * opened by the first of a burst: while entries keep coming (one message
 * finished at a time, as update mode finishes them) every batch fills,
 * and none waits longer than `flush_delay_ms`, far inside a visibility
 * timeout. Entries that fail
 * are sent again with backoff while the failure is the service's
 * (SenderFault false, or a retryable error of the whole call), at most
 * PL__SQS_ACK_MAX_ROUNDS times; the others are logged: a message that is not
 * deleted is delivered again (at-least-once). */
#ifndef PL_AWS_SQS_ACKS_H
#define PL_AWS_SQS_ACKS_H

#include <pipelined/aws.h>
#include <pipelined/backoff.h>
#include <pipelined/plugin.h>

#define PL__SQS_ACK_BATCH_MAX 10
#define PL__SQS_ACK_MAX_ROUNDS 4

typedef enum { PL__SQS_ACK_DELETE, PL__SQS_ACK_VISIBILITY } pl__sqs_ack_kind_t;

typedef struct pl__sqs_ack_entry {
  struct pl__sqs_ack_entry *next;
  char *receipt_handle;
  char *message_id;
  unsigned visibility; /* PL__SQS_ACK_VISIBILITY: seconds */
  unsigned rounds;     /* calls that failed this entry so far */
  uint64_t queued_ms;  /* the loop's time when it was queued */
  /* Told once how the entry ended (pl__sqs_acks_delete_then), or NULL. */
  void (*done)(void *data, bool ok);
  void *done_data;
} pl__sqs_ack_entry_t;

struct pl__sqs_acks;

/* Entries of one kind waiting to be sent. */
typedef struct pl__sqs_ack_queue {
  struct pl__sqs_acks *acks;
  pl__sqs_ack_kind_t kind;
  pl__sqs_ack_entry_t *head;
  pl__sqs_ack_entry_t *tail;
  size_t count;
  uv_timer_t timer;  /* the oldest entry's wait, or the backoff of a retry */
  unsigned failures; /* calls in a row that left entries to retry */
  bool backing_off;  /* the timer is a retry's backoff: all go when it ends */
} pl__sqs_ack_queue_t;

/* Embedded in its owner; the fields are private. */
typedef struct pl__sqs_acks {
  pl_instance_t *inst;
  pl_aws_client_t *client; /* borrowed; NULL once closed */
  const char *queue_url;   /* borrowed */
  uint64_t flush_delay_ms;
  pl__sqs_ack_queue_t deletes;
  pl__sqs_ack_queue_t changes;
  size_t calls; /* in flight */
  pl_rng_t rng;
  bool open;
  bool closed;
  /* Nothing is pending or in flight any more (after having been). */
  void (*idle)(void *data);
  void *data;
} pl__sqs_acks_t;

/* Prepares `a` (no I/O); `queue_url` is borrowed for its life. */
void pl__sqs_acks_init(pl__sqs_acks_t *a, pl_instance_t *inst, const char *queue_url,
                   uint64_t flush_delay_ms, void (*idle)(void *data),
                   void *data);
/* Opens the timers; calls go through `client` (borrowed until close). */
void pl__sqs_acks_start(pl__sqs_acks_t *a, pl_aws_client_t *client);

/* Queues a delete / a visibility change of the message (both strings are
 * copied). PL_ENOMEM, or PL_ECANCELED once closed: nothing is queued. */
int pl__sqs_acks_delete(pl__sqs_acks_t *a, const char *receipt_handle,
                    const char *message_id);
/* As pl__sqs_acks_delete(), and when it returns 0, `done(data, ok)` runs
 * once later: ok when SQS deleted the message, false when the delete was
 * given up or dropped at close. */
int pl__sqs_acks_delete_then(pl__sqs_acks_t *a, const char *receipt_handle,
                             const char *message_id,
                             void (*done)(void *data, bool ok), void *data);
int pl__sqs_acks_set_visibility(pl__sqs_acks_t *a, const char *receipt_handle,
                            const char *message_id, unsigned seconds);
/* Drops the visibility changes of a message that are not sent yet (it is
 * about to be deleted: extending it would only fail). */
void pl__sqs_acks_forget_visibility(pl__sqs_acks_t *a, const char *receipt_handle);

/* True when nothing is pending or in flight. */
bool pl__sqs_acks_idle(const pl__sqs_acks_t *a);

/* Closes the timers; entries not sent yet are dropped (logged). Calls in
 * flight finish later, when the owner destroys the client, without
 * effect. */
void pl__sqs_acks_close(pl__sqs_acks_t *a);
/* Frees what is left; the loop has ended. */
void pl__sqs_acks_free(pl__sqs_acks_t *a);

/* How long the entries of `q` still wait before a partial batch goes, at
 * the loop's time `now_ms` when each waits `delay_ms`: 0 when the oldest
 * (the head; entries sent again are flushed by their backoff) has waited
 * that long, UINT64_MAX when `q` is empty. */
uint64_t pl__sqs_acks_wait_ms(const pl__sqs_ack_queue_t *q, uint64_t delay_ms,
                              uint64_t now_ms);

/* Appends the body of a DeleteMessageBatch / ChangeMessageVisibilityBatch
 * call for `entries[0..n)` (Ids "0".."n-1") to `out` as JSON text.
 * Returns 0, or PL_ENOMEM with `out` as it was. */
int pl__sqs_acks_request(pl__sqs_ack_kind_t kind, const char *queue_url,
                         pl__sqs_ack_entry_t *const *entries, size_t n,
                         pl_buf_t *out);

/* True when `len` bytes of `text` are, byte for byte, the usual answer to
 * such a call of `n` entries: every entry successful, in order, with or
 * without an empty "Failed" list ({"Successful":[{"Id":"0"},...]}). Any
 * other answer is parsed. */
bool pl__sqs_acks_all_done(const char *text, size_t len, size_t n);

#endif
