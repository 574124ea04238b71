/* Reading an SQS queue: the consumer every plugin that reads a queue shares
 * (source-sqs, and source-s3 for its event notifications; HACKING.md#s14).
 *
 * A poller long-polls the queue with `pollers` ReceiveMessage calls at once
 * while its owner has room, keeps each message it hands over invisible to
 * other consumers (a visibility heartbeat, every half visibility timeout:
 * the option's, or else the queue's own VisibilityTimeout, read once at
 * start with GetQueueAttributes, or 30 s when the queue does not say)
 * until the owner finishes it, and sends the deletes and visibility changes
 * in batches of up to 10 (entries SQS failed for its own reasons are sent
 * again with backoff). A failed receive backs off exponentially with full
 * jitter, one probing receive at a time, until one works again. With
 * --once the source is exhausted (pl_source_exhausted) after `idle_polls`
 * empty receives in a row, once nothing is in flight and every delete is
 * done; after 5 failed receives in a row the run gives up
 * (pl_instance_error). Delivery is at-least-once: a message that is not
 * deleted is received again, and reaches the queue's own dead-letter queue
 * after its maxReceiveCount receives.
 *
 * Use, from a source plugin's callbacks (docs/plugin-guide.md):
 *   options  embed a pl_sqs_poller_options_t and put
 *            PL_SQS_POLLER_OPTIONS(T, field, "") in the option table;
 *   init     pl_sqs_poller_options_check(), then pl_sqs_poller_create();
 *   start    create an "sqs" AWS client, then pl_sqs_poller_start();
 *   message  (event) turn the message into groups; when a group resolves,
 *            pl_sqs_poller_finish() (or pl_sqs_poller_release());
 *   resume   pl_sqs_poller_poll() (the room event says true again);
 *   stop     pl_sqs_poller_stop();
 *   close    pl_sqs_poller_close(), then pl_aws_client_destroy();
 *   destroy  pl_sqs_poller_destroy().
 * Everything runs on the engine's loop (HACKING.md#s7). */
#ifndef PIPELINED_SQS_H
#define PIPELINED_SQS_H

#include <jansson.h>
#include <pipelined/aws.h>
#include <pipelined/plugin.h>

typedef struct pl_sqs_poller pl_sqs_poller_t;

/* ---- Messages ---- */

/* One received message. The poller hands it to its owner, who keeps it
 * until pl_sqs_poller_finish() or pl_sqs_poller_release(); what the
 * accessors return is borrowed from the message until then. */
typedef struct pl_sqs_message pl_sqs_message_t;

/* The SQS MessageId (never NULL or empty). */
PL_EXTERN const char *pl_sqs_message_id(const pl_sqs_message_t *msg);
/* The body: NUL-terminated, but it may hold other NULs, so its length in
 * bytes goes to `*len` (unless `len` is NULL). Empty when SQS sent none. */
PL_EXTERN const char *pl_sqs_message_body(const pl_sqs_message_t *msg,
                                          size_t *len);
/* ApproximateReceiveCount: 1 on the first receive; 0 when SQS did not say. */
PL_EXTERN int64_t pl_sqs_message_receive_count(const pl_sqs_message_t *msg);
/* SentTimestamp in ms since the epoch; 0 when SQS did not say. */
PL_EXTERN int64_t pl_sqs_message_sent_timestamp(const pl_sqs_message_t *msg);
/* The message attributes as a JSON object by name: String attributes as
 * strings, whole numbers of Number attributes as integers (other numbers
 * as their text), Binary ones as their base64 text. NULL when the message
 * has none. Borrowed. */
PL_EXTERN const json_t *pl_sqs_message_attributes(const pl_sqs_message_t *msg);
/* Hands those attributes to the caller, who owns them (json_decref());
 * NULL when the message has none. The message has none after, and its
 * pl_sqs_message_memory() no longer counts them: a record that holds
 * them counts them (pl_record_set_attributes_new()). */
PL_EXTERN json_t *pl_sqs_message_take_attributes(pl_sqs_message_t *msg);
/* About how many bytes of memory the message holds until it is finished
 * or released: its structure, texts (id, receipt handle, body) and
 * attributes, with the allocator's and jansson's overhead; for
 * pl_record_set_source_cost(). O(1). */
PL_EXTERN size_t pl_sqs_message_memory(const pl_sqs_message_t *msg);

/* ---- Options: one fragment for every plugin that reads a queue ---- */

/* The values of the rows PL_SQS_POLLER_OPTIONS() adds to a plugin's option
 * table; the plugin embeds this struct in its options struct. */
typedef struct pl_sqs_poller_options {
  uint64_t wait_time_ms;          /* wait_time: long polling, 0s to 20s */
  int64_t max_messages;           /* max_messages: 1 to 10 per receive */
  uint64_t visibility_timeout_ms; /* visibility_timeout: 1s to 12h; 0 (not
                                     set): the queue's own */
  uint64_t retry_visibility_ms;   /* retry_visibility: 0 (off) to 12h */
  int64_t idle_polls;             /* idle_polls: --once, at least 1 */
} pl_sqs_poller_options_t;

/* The option rows of a poller, for the field `field` (a
 * pl_sqs_poller_options_t) of the options struct `T`: wait_time,
 * max_messages, visibility_timeout, retry_visibility and idle_polls.
 * `scope` is a sentence appended to each description ("" for none, or
 * " Notifications mode only." for a source that reads a queue in one of
 * its modes). visibility_timeout has no default: unset, the poller uses
 * the queue's own. The queue's URL is the plugin's own option (its name
 * and description say what the queue is for). The rows state their
 * ranges; that the durations are whole seconds is checked by
 * pl_sqs_poller_options_check(). */
#define PL_SQS_POLLER_OPTIONS(T, field, scope)                                 \
  PL_OPTION_DURATION_RANGE(T, field.wait_time_ms, "wait_time", "20s", 0,       \
                           20000, 0,                                           \
                           "Long polling: how long a receive waits for "       \
                           "messages (whole seconds)." scope),                 \
      PL_OPTION_INT_RANGE(T, field.max_messages, "max_messages", "10", 1, 10,  \
                          0, "Messages asked for per receive." scope),         \
      PL_OPTION_DURATION_RANGE(T, field.visibility_timeout_ms,                 \
                               "visibility_timeout", NULL, 1000, 43200000, 0,  \
                               "Visibility timeout set on each receive "       \
                               "(whole seconds); a message still in flight "   \
                               "is extended by as much every half of it. "     \
                               "Default: the queue's own VisibilityTimeout, "  \
                               "read once at start (GetQueueAttributes); "     \
                               "30s when it cannot be read." scope),           \
      PL_OPTION_DURATION_RANGE(T, field.retry_visibility_ms,                   \
                               "retry_visibility", "0", 0, 43200000, 0,        \
                               "When the work of a message fails, make it "    \
                               "visible again after this delay (whole "        \
                               "seconds) instead of at the end of its "        \
                               "visibility timeout; 0: off." scope),           \
      PL_OPTION_INT_RANGE(T, field.idle_polls, "idle_polls", "2", 1,           \
                          INT64_MAX, 0,                                        \
                          "With --once: empty receives in a row after which "  \
                          "the queue counts as drained." scope)

/* ---- The poller ---- */

typedef struct pl_sqs_poller_params {
  const char *queue_url; /* borrowed for the poller's life */
  int64_t pollers;       /* receives in flight at once, 1 or more */
  int64_t max_messages;  /* 1 to 10 */
  uint64_t wait_time_ms; /* whole seconds, up to 20 s */
  uint64_t visibility_timeout_ms; /* whole seconds, 1 s to 12 h; 0: the
                                     queue's own (GetQueueAttributes) */
  uint64_t retry_visibility_ms;   /* 0: a failed message waits its timeout */
  int64_t idle_polls;             /* --once: empty receives that end the run */
} pl_sqs_poller_params_t;

/* Checks the ranges of `options` (filled by the PL_SQS_POLLER_OPTIONS rows)
 * and that `queue_url` (the value of the plugin's option `url_option`, e.g.
 * "queue_url") is an http(s) URL, and fills `out` with them and one poller
 * (`out->queue_url` borrows `queue_url`). Returns 0, or PL_EINVAL after
 * logging on `inst` which option is wrong and what it must be. */
PL_EXTERN int pl_sqs_poller_options_check(pl_instance_t *inst,
                                          const char *url_option,
                                          const char *queue_url,
                                          const pl_sqs_poller_options_t *options,
                                          pl_sqs_poller_params_t *out);

/* What the poller tells its owner. */
typedef struct pl_sqs_poller_events {
  void *data; /* passed to both */
  /* A new message, already in flight: the owner owns `msg` (stolen) until
   * it passes it to pl_sqs_poller_finish() or pl_sqs_poller_release(),
   * which it may do from this callback. Required. */
  void (*message)(void *data, pl_sqs_message_t *msg);
  /* True while the owner can take more messages; asked before each
   * receive. When it becomes true again the owner calls
   * pl_sqs_poller_poll(). Required. */
  bool (*room)(void *data);
} pl_sqs_poller_events_t;

/* Creates a poller for the source `inst` (borrowed; params copied, its
 * queue_url borrowed). No I/O until pl_sqs_poller_start(). Returns 0 and a
 * new poller in `*out` (free it with pl_sqs_poller_destroy()), or PL_EINVAL
 * (a NULL argument, or an event missing), or PL_ENOMEM. */
PL_EXTERN int pl_sqs_poller_create(pl_instance_t *inst,
                                   const pl_sqs_poller_params_t *params,
                                   const pl_sqs_poller_events_t *events,
                                   pl_sqs_poller_t **out);
/* Starts receiving through `client` (an "sqs" client, borrowed until
 * pl_sqs_poller_close(); give it max_in_flight of pollers + 8, as long
 * polls hold their connections). Without a visibility timeout in the
 * params, the first receive waits for the queue's VisibilityTimeout
 * (GetQueueAttributes); when that call fails, the poller says why once
 * (a warning) and uses 30 s. Either way one info line says which value is
 * used and where it came from. */
PL_EXTERN void pl_sqs_poller_start(pl_sqs_poller_t *poller,
                                   pl_aws_client_t *client);
/* Receives while the owner has room (after it had none). */
PL_EXTERN void pl_sqs_poller_poll(pl_sqs_poller_t *poller);
/* The work of `msg` is resolved (steals `msg`): deleted when `committed`;
 * otherwise left in the queue, made visible again after retry_visibility
 * when that is set. */
PL_EXTERN void pl_sqs_poller_finish(pl_sqs_poller_t *poller,
                                    pl_sqs_message_t *msg, bool committed);
/* pl_sqs_poller_finish(poller, msg, true), and `deleted(data, ok)` runs
 * exactly once: ok once SQS deleted the message, false when the delete was
 * given up or could not be sent (the message will be received again; at
 * close, from inside pl_sqs_poller_close()). An owner that keeps a note
 * of the message's work (a ledger entry) drops it there. */
PL_EXTERN void pl_sqs_poller_commit(pl_sqs_poller_t *poller,
                                    pl_sqs_message_t *msg,
                                    void (*deleted)(void *data, bool ok),
                                    void *data);
/* A message the owner cannot take (out of memory, or stopping; steals
 * `msg`): made visible again at once, for another consumer. */
PL_EXTERN void pl_sqs_poller_release(pl_sqs_poller_t *poller,
                                     pl_sqs_message_t *msg);
/* Messages handed to the owner and not finished or released yet. */
PL_EXTERN size_t pl_sqs_poller_in_flight(const pl_sqs_poller_t *poller);
/* Shutdown (the source's stop callback): no new receives; messages in
 * flight finish first, and those a receive still out brings are released.
 * The source stays busy (pl_source_busy) while deletes are pending. */
PL_EXTERN void pl_sqs_poller_stop(pl_sqs_poller_t *poller);
/* Closes the poller's timers and drops what was not sent (the source's
 * close callback, before it destroys the client, which cancels the calls
 * in flight). */
PL_EXTERN void pl_sqs_poller_close(pl_sqs_poller_t *poller);
/* Frees the poller and the messages still in flight (the plugin's destroy
 * callback: after pl_sqs_poller_close() and the loop has run the close
 * callbacks, or when it was never started). NULL is allowed. */
PL_EXTERN void pl_sqs_poller_destroy(pl_sqs_poller_t *poller);

#endif
