/* The fake AWS's counts as JSON (see fake_aws_stats.h). */
#include "fake_aws_stats.h"

/* "name":{"Op":n,...} of the operations with a count (or a time). */
static bool per_op(fake_buf_t *out, const char *name, const uint64_t *counts,
                   const int64_t *times) {
  bool ok = fake_buf_printf(out, ",\"%s\":{", name);
  bool first = true;
  for (int op = 0; ok && op < FAKE_OP_COUNT; op++) {
    if (counts ? counts[op] == 0 : times[op] < 0)
      continue;
    ok = fake_buf_printf(out, "%s\"%s\":%lld", first ? "" : ",",
                         fake_op_name((fake_op_t)op),
                         counts ? (long long)counts[op] : (long long)times[op]);
    first = false;
  }
  return ok && fake_buf_add(out, "}", 1);
}

/* "name":[n,...] for each second from the start to `now_ms`. */
static bool history(fake_buf_t *out, const char *name, const uint32_t *values,
                    uint64_t now_ms) {
  uint64_t seconds = now_ms / 1000 + 1;
  if (seconds > FAKE_HISTORY_S)
    seconds = FAKE_HISTORY_S;
  bool ok = fake_buf_printf(out, ",\"%s\":[", name);
  for (uint64_t s = 0; ok && s < seconds; s++)
    ok = fake_buf_printf(out, "%s%u", s ? "," : "", values[s]);
  return ok && fake_buf_add(out, "]", 1);
}

bool fake_stats_json(const fake_state_t *st, uint64_t now_ms, fake_buf_t *out) {
  uint64_t throttled = 0;
  for (int op = 0; op < FAKE_OP_COUNT; op++)
    throttled += st->throttled[op];
  return fake_buf_printf(out,
                         "{\"uptime_ms\":%llu,\"latency_ms\":%llu,"
                         "\"dynamodb_latency_ms\":%lld,"
                         "\"throttle\":%g,\"throttled_total\":%llu",
                         (unsigned long long)now_ms,
                         (unsigned long long)st->latency_ms,
                         (long long)st->dynamodb_latency_ms, st->throttle,
                         (unsigned long long)throttled) &&
         per_op(out, "requests", st->requests, NULL) &&
         per_op(out, "entries", st->entries, NULL) &&
         per_op(out, "throttled", st->throttled, NULL) &&
         per_op(out, "first_ms", NULL, st->first_ms) &&
         per_op(out, "last_ms", NULL, st->last_ms) &&
         fake_buf_printf(out,
                         ",\"messages\":{\"total\":%llu,\"served\":%llu,"
                         "\"deleted\":%llu,\"deleted_again\":%llu}"
                         ",\"in_flight\":%llu,\"in_flight_max\":%llu"
                         ",\"held\":{\"answers\":%llu,\"late_us_mean\":%.1f,"
                         "\"late_us_max\":%.1f}",
                         (unsigned long long)st->messages,
                         (unsigned long long)st->served,
                         (unsigned long long)st->deleted,
                         (unsigned long long)st->deleted_again,
                         (unsigned long long)st->in_flight,
                         (unsigned long long)st->in_flight_max,
                         (unsigned long long)st->held_answers,
                         st->held_answers ? (double)st->late_ns_sum / 1e3 /
                                                (double)st->held_answers
                                          : 0.0,
                         (double)st->late_ns_max / 1e3) &&
         history(out, "per_second", st->per_second, now_ms) &&
         history(out, "throttled_per_second", st->throttled_second, now_ms) &&
         history(out, "in_flight_per_second", st->in_flight_second, now_ms) &&
         fake_buf_add(out, "}\n", 2);
}
