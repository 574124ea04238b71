/* AIMD on the requests an AWS client has in flight (concurrency.h). */
#include "concurrency.h"

static void window_reset(pl_aws_concurrency_t *c) {
  c->window_samples = 0;
  c->window_min_ns = UINT64_MAX;
  c->window_full = false;
}

void pl__aws_concurrency_init(pl_aws_concurrency_t *c, bool adaptive,
                              size_t ceiling) {
  if (ceiling == 0)
    ceiling = 1;
  *c = (pl_aws_concurrency_t){
      .adaptive = adaptive,
      .slow_start = true,
      .ceiling = ceiling,
      .limit = adaptive && ceiling > PL_AWS_CONCURRENCY_START
                   ? PL_AWS_CONCURRENCY_START
                   : ceiling,
  };
  window_reset(c);
}

size_t pl__aws_concurrency_limit(const pl_aws_concurrency_t *c) {
  return c->limit;
}

uint64_t pl__aws_concurrency_sent(pl_aws_concurrency_t *c, size_t in_flight) {
  if (in_flight >= c->limit)
    c->window_full = true;
  return c->epoch;
}

/* Halves the limit (at least 1) and opens a new epoch: the answers to
 * requests sent before now no longer count. */
static void decrease(pl_aws_concurrency_t *c) {
  c->limit = c->limit > 1 ? c->limit / 2 : 1;
  c->slow_start = false;
  c->slow_window = false;
  c->epoch++;
  window_reset(c);
}

static bool latency_grew(const pl_aws_concurrency_t *c, uint64_t rtt_ns) {
  uint64_t base = c->baseline_ns;
  return base > 0 && rtt_ns > base * PL_AWS_CONCURRENCY_LATENCY_FACTOR &&
         rtt_ns - base > PL_AWS_CONCURRENCY_LATENCY_SLACK_NS;
}

/* The window is over: compare its fastest round trip with the baseline,
 * then fold it into the baseline (an EWMA weighing the new window 1/4, so
 * that a lasting change of the path, a farther region, becomes the new
 * normal within a few windows rather than halving the limit forever). */
static void window_end(pl_aws_concurrency_t *c) {
  uint64_t fastest = c->window_min_ns;
  bool timed = fastest != UINT64_MAX;
  bool grew = timed && latency_grew(c, fastest);
  bool full = c->window_full;
  if (timed)
    c->baseline_ns =
        c->baseline_ns ? (3 * c->baseline_ns + fastest) / 4 : fastest;
  if (grew && c->slow_window) {
    decrease(c);
    return;
  }
  /* One slow window holds the limit: a pause of the client's own (its
   * loop busy with a burst of work, the process not scheduled) delays
   * every answer of about one round trip; queueing at the service lasts. */
  c->slow_window = grew;
  if (grew) {
    window_reset(c);
    return;
  }
  if (full && c->limit < c->ceiling) {
    size_t more = c->slow_start ? c->limit : 1;
    c->limit = c->ceiling - c->limit < more ? c->ceiling : c->limit + more;
  }
  window_reset(c);
}

bool pl__aws_concurrency_ended(pl_aws_concurrency_t *c, uint64_t epoch,
                               uint64_t rtt_ns, pl_aws_signal_t signal) {
  if (!c->adaptive || epoch != c->epoch || signal == PL_AWS_SIGNAL_NONE)
    return false;
  size_t before = c->limit;
  if (signal == PL_AWS_SIGNAL_OVERLOAD) {
    decrease(c);
    return c->limit != before;
  }
  c->window_samples++;
  if (signal == PL_AWS_SIGNAL_ANSWER && rtt_ns < c->window_min_ns)
    c->window_min_ns = rtt_ns;
  if (c->window_samples >= c->limit)
    window_end(c);
  return c->limit != before;
}
