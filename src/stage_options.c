/* The options every stage has (batching, retries, queues, log level),
 * one table for all plugins, with each sink plugin's own defaults. */
#include <stdint.h>
#include <string.h>

#include "stage.h"
#include "stage_options.h"

static const char *const log_level_choices[] = {"error", "warn", "info",
                                                "debug", NULL};
static const char *const concurrency_choices[] = {
#define PL__CONCURRENCY_NAME(name, text) text,
    PL_STAGE_CONCURRENCY_MAP(PL__CONCURRENCY_NAME)
#undef PL__CONCURRENCY_NAME
        NULL};

const pl_option_t pl__stage_option_table[] = {
    PL_OPTION_INT_RANGE(pl_stage_options_t, batch_size, "batch_size", "100", 1,
                        INT64_MAX, 0, "Sinks: most records in one batch."),
    PL_OPTION_SIZE_RANGE(pl_stage_options_t, batch_bytes, "batch_bytes",
                         "1MiB", 1, UINT64_MAX, 0,
                         "Sinks: most bytes in one batch (a larger record "
                         "goes alone)."),
    PL_OPTION_DURATION(pl_stage_options_t, linger_ms, "linger", "0", 0,
                       "Sinks: how long a partial batch waits for more "
                       "records (0: write at once)."),
    PL_OPTION_INT_RANGE(pl_stage_options_t, max_in_flight, "max_in_flight", "1",
                        1, INT64_MAX, 0,
                        "Sinks: batches being written at the same time."),
    PL_OPTION_ENUM(pl_stage_options_t, concurrency, "concurrency", "adaptive",
                   concurrency_choices, 0,
                   "Sinks that send requests (the AWS sinks): \"adaptive\" "
                   "starts with 4 requests at once and finds how many the "
                   "service takes, up to max_in_flight: more each round "
                   "trip while latency holds (twice as many until the "
                   "first decrease, then one more), half as many on a "
                   "throttling answer or when latency doubles; \"fixed\" "
                   "sends up to max_in_flight at once."),
    PL_OPTION_INT_RANGE(pl_stage_options_t, retry_limit, "retry_limit", "5", 0,
                        INT64_MAX, 0,
                        "Sinks: retries of a failed record before its group "
                        "fails."),
    PL_OPTION_DURATION(pl_stage_options_t, retry_backoff_ms, "retry_backoff",
                       "100ms", 0,
                       "Sinks: base of the exponential backoff between "
                       "retries (full jitter)."),
    PL_OPTION_DURATION(pl_stage_options_t, retry_backoff_max_ms,
                       "retry_backoff_max", "30s", 0,
                       "Sinks: cap of the backoff between retries."),
    PL_OPTION_INT_RANGE(pl_stage_options_t, queue_size, "queue_size", "1024", 1,
                        INT64_MAX, 0,
                        "Records queued before this stage; a full queue "
                        "pauses the stages before it."),
    PL_OPTION_ENUM(pl_stage_options_t, log_level, "log_level", NULL,
                   log_level_choices, 0,
                   "This stage's log level (default: the global one)."),
};
const size_t pl__stage_option_count =
    sizeof(pl__stage_option_table) / sizeof(pl__stage_option_table[0]);

bool pl__stage_option_applies(const pl_option_t *option, pl_kind_t kind) {
  if (strcmp(option->name, "log_level") == 0)
    return true;
  if (strcmp(option->name, "queue_size") == 0)
    return kind != PL_KIND_SOURCE;
  return kind == PL_KIND_SINK;
}

size_t pl__stage_table_for(const pl_plugin_t *plugin,
                           pl_option_t table[PL_STAGE_OPTION_MAX]) {
  const pl_stage_defaults_t *d = &plugin->defaults;
  const struct {
    const char *name;
    const char *value;
  } overrides[] = {{"batch_size", d->batch_size},
                   {"batch_bytes", d->batch_bytes},
                   {"linger", d->linger},
                   {"max_in_flight", d->max_in_flight}};
  size_t n = 0;
  for (size_t i = 0; i < pl__stage_option_count; i++) {
    const pl_option_t *option = &pl__stage_option_table[i];
    if (!pl__stage_option_applies(option, plugin->kind))
      continue;
    table[n] = *option;
    for (size_t o = 0; o < sizeof(overrides) / sizeof(overrides[0]); o++)
      if (overrides[o].value && strcmp(option->name, overrides[o].name) == 0)
        table[n].default_value = overrides[o].value;
    n++;
  }
  return n;
}
