/* What the AWS clients of one engine measured, for /metrics: the latency
 * of every request (each attempt) as a histogram per service and
 * operation, and its failures by class. Kept by the engine's AWS context;
 * rendered through the extension's metrics callback. */
#ifndef PL_AWS_STATS_H
#define PL_AWS_STATS_H

#include <pipelined/common.h>

/* The outcome of one attempt; the failures' label values. */
#define PL_AWS_OUTCOME_MAP(XX)                                                 \
  XX(OK, NULL)                                                                 \
  XX(THROTTLING, "throttling")                                                 \
  XX(SERVER, "5xx")                                                            \
  XX(CLIENT, "4xx")                                                            \
  XX(NETWORK, "network")

typedef enum {
#define PL__AWS_OUTCOME_ENUM(name, label) PL_AWS_ATTEMPT_##name,
  PL_AWS_OUTCOME_MAP(PL__AWS_OUTCOME_ENUM)
#undef PL__AWS_OUTCOME_ENUM
      PL_AWS_ATTEMPT_OUTCOMES
} pl_aws_attempt_outcome_t;

/* Upper bounds of the latency buckets, in seconds (+Inf besides). */
#define PL_AWS_LATENCY_BUCKETS 12

typedef struct pl_aws_op_stats {
  char *service;   /* owned */
  char *operation; /* owned */
  uint64_t buckets[PL_AWS_LATENCY_BUCKETS]; /* not cumulative */
  uint64_t count;
  double sum_s;
  uint64_t failures[PL_AWS_ATTEMPT_OUTCOMES]; /* [OK] unused */
} pl_aws_op_stats_t;

/* Zero-initialise; pl__aws_stats_free() when done. */
typedef struct pl_aws_stats {
  pl_aws_op_stats_t *ops;
  size_t count;
} pl_aws_stats_t;

/* Counts one attempt of `service` `operation` that took `seconds`. Out of
 * memory, the attempt is not counted. */
void pl__aws_stats_record(pl_aws_stats_t *stats, const char *service,
                          const char *operation, double seconds,
                          pl_aws_attempt_outcome_t outcome);
/* Counts a failed attempt of `service` `operation` whose time is not
 * known (a request the HTTP client sent again on its own), without a
 * latency sample. Out of memory, it is not counted. */
void pl__aws_stats_count_failure(pl_aws_stats_t *stats, const char *service,
                                 const char *operation,
                                 pl_aws_attempt_outcome_t outcome);
/* Appends the families pipelined_aws_request_duration_seconds (histogram)
 * and pipelined_aws_request_errors_total (counter), labelled by service,
 * operation and, for errors, class. Nothing when no request was made. */
void pl__aws_stats_render(const pl_aws_stats_t *stats, pl_buf_t *out);
void pl__aws_stats_free(pl_aws_stats_t *stats);

#endif
