/* Request latency and failures of the AWS clients, for /metrics. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "aws_stats.h"

static const double bucket_bounds[PL_AWS_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

static const char *const outcome_labels[PL_AWS_ATTEMPT_OUTCOMES] = {
#define PL__AWS_OUTCOME_LABEL(name, label) label,
    PL_AWS_OUTCOME_MAP(PL__AWS_OUTCOME_LABEL)
#undef PL__AWS_OUTCOME_LABEL
};

static pl_aws_op_stats_t *find_or_add(pl_aws_stats_t *stats,
                                      const char *service,
                                      const char *operation) {
  for (size_t i = 0; i < stats->count; i++)
    if (strcmp(stats->ops[i].service, service) == 0 &&
        strcmp(stats->ops[i].operation, operation) == 0)
      return &stats->ops[i];
  pl_aws_op_stats_t *grown =
      realloc(stats->ops, (stats->count + 1) * sizeof(*grown));
  if (!grown)
    return NULL;
  stats->ops = grown;
  pl_aws_op_stats_t *op = &grown[stats->count];
  *op = (pl_aws_op_stats_t){.service = strdup(service),
                            .operation = strdup(operation)};
  if (!op->service || !op->operation) {
    free(op->service);
    free(op->operation);
    return NULL;
  }
  stats->count++;
  return op;
}

void pl__aws_stats_record(pl_aws_stats_t *stats, const char *service,
                          const char *operation, double seconds,
                          pl_aws_attempt_outcome_t outcome) {
  pl_aws_op_stats_t *op = find_or_add(stats, service, operation);
  if (!op)
    return;
  if (seconds < 0)
    seconds = 0;
  size_t b = 0;
  while (b < PL_AWS_LATENCY_BUCKETS && seconds > bucket_bounds[b])
    b++;
  if (b < PL_AWS_LATENCY_BUCKETS)
    op->buckets[b]++;
  op->count++;
  op->sum_s += seconds;
  if (outcome != PL_AWS_ATTEMPT_OK && outcome < PL_AWS_ATTEMPT_OUTCOMES)
    op->failures[outcome]++;
}

void pl__aws_stats_count_failure(pl_aws_stats_t *stats, const char *service,
                                 const char *operation,
                                 pl_aws_attempt_outcome_t outcome) {
  pl_aws_op_stats_t *op = find_or_add(stats, service, operation);
  if (op && outcome != PL_AWS_ATTEMPT_OK && outcome < PL_AWS_ATTEMPT_OUTCOMES)
    op->failures[outcome]++;
}

/* Service and operation names are AWS's own: letters and digits, no
 * character a label value must escape. */
static void op_labels(pl_buf_t *out, const pl_aws_op_stats_t *op) {
  pl_buf_printf(out, "service=\"%s\",operation=\"%s\"", op->service,
                op->operation);
}

/* The HELP and TYPE lines of "pipelined_aws_request_<name>". */
static void family(pl_buf_t *out, const char *name, const char *type,
                   const char *help) {
  pl_buf_printf(out,
                "# HELP pipelined_aws_request_%s %s\n"
                "# TYPE pipelined_aws_request_%s %s\n",
                name, help, name, type);
}

/* One sample of `op`: "pipelined_aws_request_<family>{<labels>" then the
 * rest, formatted ("} 3\n", or more labels first). */
static void op_sample(pl_buf_t *out, const char *family,
                      const pl_aws_op_stats_t *op, const char *fmt, ...)
    PL_PRINTF(4, 5);
static void op_sample(pl_buf_t *out, const char *family,
                      const pl_aws_op_stats_t *op, const char *fmt, ...) {
  pl_buf_printf(out, "pipelined_aws_request_%s{", family);
  op_labels(out, op);
  va_list ap;
  va_start(ap, fmt);
  pl_buf_vprintf(out, fmt, ap);
  va_end(ap);
}

void pl__aws_stats_render(const pl_aws_stats_t *stats, pl_buf_t *out) {
  if (stats->count == 0)
    return;
  family(out, "duration_seconds", "histogram",
         "time from sending an AWS request (one attempt) to its answer");
  for (size_t i = 0; i < stats->count; i++) {
    const pl_aws_op_stats_t *op = &stats->ops[i];
    uint64_t cumulative = 0;
    for (size_t b = 0; b < PL_AWS_LATENCY_BUCKETS; b++) {
      cumulative += op->buckets[b];
      op_sample(out, "duration_seconds_bucket", op, ",le=\"%g\"} %llu\n",
                bucket_bounds[b], (unsigned long long)cumulative);
    }
    op_sample(out, "duration_seconds_bucket", op, ",le=\"+Inf\"} %llu\n",
              (unsigned long long)op->count);
    op_sample(out, "duration_seconds_sum", op, "} %.6f\n", op->sum_s);
    op_sample(out, "duration_seconds_count", op, "} %llu\n",
              (unsigned long long)op->count);
  }
  family(out, "errors_total", "counter",
         "failed AWS requests (attempts) by class: throttling, 5xx, 4xx, "
         "network");
  for (size_t i = 0; i < stats->count; i++) {
    const pl_aws_op_stats_t *op = &stats->ops[i];
    for (int o = PL_AWS_ATTEMPT_OK + 1; o < PL_AWS_ATTEMPT_OUTCOMES; o++) {
      op_sample(out, "errors_total", op, ",class=\"%s\"} %llu\n",
                outcome_labels[o], (unsigned long long)op->failures[o]);
    }
  }
}

void pl__aws_stats_free(pl_aws_stats_t *stats) {
  for (size_t i = 0; i < stats->count; i++) {
    free(stats->ops[i].service);
    free(stats->ops[i].operation);
  }
  free(stats->ops);
  *stats = (pl_aws_stats_t){0};
}
