/* Adaptive concurrency of one AWS client: how many requests it may have in
 * flight now, between 1 and the stage's max_in_flight (the ceiling), found
 * by additive increase and multiplicative decrease (AIMD), as TCP's
 * congestion control and Vector's adaptive request concurrency find theirs.
 *
 * A pure state machine: the client tells it when a request is sent and
 * how each one ended (its round trip in nanoseconds, measured by the
 * caller, and what the answer says about load); it never reads a clock.
 *
 * - It starts at PL_AWS_CONCURRENCY_START (or the ceiling, if lower).
 * - A window is as many latency samples as the limit: about one round trip
 *   when the limit is used. At the end of a window whose fastest request
 *   stayed within PL_AWS_CONCURRENCY_LATENCY_FACTOR of the baseline (an
 *   EWMA of the windows' fastest round trips), and in which the limit was
 *   reached (a client that does not use its limit learns nothing about a
 *   higher one), the limit grows: it doubles until the first decrease
 *   (TCP's slow start, so that a far-away service is not fed one more
 *   request per round trip from 4 to 64), then grows by one.
 * - A throttling answer halves the limit at once (at least 1); so does the
 *   second window in a row whose fastest request took more than the
 *   threshold: queueing delays every request, the fastest included, while
 *   a slow tail or the handshake of a new connection does not. One such
 *   window alone holds the limit (it neither grows nor halves): a pause of
 *   the client's own (its loop busy with a burst, the process not
 *   scheduled on a busy machine) delays every answer of about one round
 *   trip too, and halving for it costs dozens of round trips of additive
 *   increase back; queueing at the service lasts.
 * - One decrease per round trip: requests sent before a decrease were sent
 *   under the old limit, so their answers neither decrease it again nor
 *   count in the next window.
 *
 * "fixed" keeps the limit at the ceiling and ignores every signal. */
#ifndef PL_AWS_CONCURRENCY_H
#define PL_AWS_CONCURRENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first limit. Small, because a stage knows nothing of its service's
 * capacity at start (a table provisioned for 5 writes per second throttles
 * at once), but not 1: four requests at once is a load every AWS service
 * takes from one client, and slow start reaches 64 from 4 in four round
 * trips instead of six. */
#define PL_AWS_CONCURRENCY_START 4
/* Latency has grown when a window's fastest round trip exceeds the
 * baseline times this factor and by more than the slack (below a few
 * milliseconds, on loopback, scheduling noise doubles a round trip). */
#define PL_AWS_CONCURRENCY_LATENCY_FACTOR 2
#define PL_AWS_CONCURRENCY_LATENCY_SLACK_NS ((uint64_t)2000000)
/* A request whose body is larger is answered "untimed": its round trip is
 * bandwidth more than the service's queue. Above any SQS batch (1 MiB),
 * below any S3 part but the last (5 MiB). */
#define PL_AWS_CONCURRENCY_TIMED_BODY_MAX ((size_t)1 << 20)

/* What an ended request says about the service's load. */
typedef enum {
  /* The service answered (with success or an error of the request's own,
   * such as a failed condition): its round trip is a latency sample. */
  PL_AWS_SIGNAL_ANSWER,
  /* The service answered a request whose round trip is mostly its own
   * transfer (an S3 part of megabytes): it counts in the window, as an
   * answer, but its round trip says nothing of queueing. */
  PL_AWS_SIGNAL_ANSWER_UNTIMED,
  /* Throttled (a throttling code, HTTP 429 or 503) or timed out: too many
   * requests; the limit is halved. */
  PL_AWS_SIGNAL_OVERLOAD,
  /* Nothing about load (a refused connection, a long poll's wait, a
   * stream held by its consumer): ignored. */
  PL_AWS_SIGNAL_NONE,
} pl_aws_signal_t;

typedef struct pl_aws_concurrency {
  bool adaptive;
  bool slow_start; /* doubling, until the first decrease */
  size_t ceiling;  /* max_in_flight */
  size_t limit;
  uint64_t epoch;       /* counts decreases; requests carry theirs */
  uint64_t baseline_ns; /* EWMA of windows' fastest round trip; 0: none */
  size_t window_samples;
  uint64_t window_min_ns;
  bool window_full; /* a request was sent at the limit in this window */
  bool slow_window; /* the last window's fastest was over the threshold */
} pl_aws_concurrency_t;

/* Sets `c` up (it owns nothing: no close). `ceiling` 0 counts as 1. */
void pl__aws_concurrency_init(pl_aws_concurrency_t *c, bool adaptive,
                              size_t ceiling);
/* How many requests may be in flight now (1 to the ceiling). */
size_t pl__aws_concurrency_limit(const pl_aws_concurrency_t *c);
/* A request is sent while `in_flight` requests (it included) hold a slot.
 * Returns the epoch to hand back with its end. */
uint64_t pl__aws_concurrency_sent(pl_aws_concurrency_t *c, size_t in_flight);
/* The request sent in `epoch` ended after `rtt_ns` with `signal`. Returns
 * true when the limit changed. */
bool pl__aws_concurrency_ended(pl_aws_concurrency_t *c, uint64_t epoch,
                               uint64_t rtt_ns, pl_aws_signal_t signal);

#endif
