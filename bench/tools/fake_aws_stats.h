/* The fake AWS's counts as JSON (GET /__stats, and what it prints when it
 * stops): requests, entries and throttled answers per operation, the
 * first and last time each was seen, the messages handed out and deleted,
 * the requests in flight, and per-second histories. */
#ifndef FAKE_AWS_STATS_H
#define FAKE_AWS_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_aws_answers.h"

/* Appends the counts of `st` at `now_ms` to `out` as one JSON object;
 * false when out of memory. */
bool fake_stats_json(const fake_state_t *st, uint64_t now_ms, fake_buf_t *out);

#endif
