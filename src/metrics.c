/* What the engine reports: the Prometheus text exposition of its counters
 * and of the process, the /healthz verdict and the --once summary line.
 * metrics_server.c serves them. */
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "build_config.h"
#include "engine.h"
#include "extension.h"
#include "metrics.h"
#include "sink.h"

/* A label value with \\, " and newlines escaped, as the format requires. */
static void label_value(pl_buf_t *out, const char *text) {
  pl_buf_append_str(out, "\"");
  for (const char *p = text; *p; p++) {
    if (*p == '\\' || *p == '"')
      pl_buf_printf(out, "\\%c", *p);
    else if (*p == '\n')
      pl_buf_append_str(out, "\\n");
    else
      pl_buf_append(out, p, 1);
  }
  pl_buf_append_str(out, "\"");
}

static void labels(pl_buf_t *out, const pl_pipeline_t *pipeline,
                   const pl_instance_t *stage) {
  pl_buf_append_str(out, "{pipeline=");
  label_value(out, pipeline->name);
  pl_buf_printf(out, ",stage=\"%s\",plugin=", pl__role_name(stage->role));
  label_value(out, stage->name);
  pl_buf_append_str(out, "}");
}

static void pipeline_label(pl_buf_t *out, const pl_pipeline_t *pipeline) {
  pl_buf_append_str(out, "{pipeline=");
  label_value(out, pipeline->name);
  pl_buf_append_str(out, "}");
}

static void header(pl_buf_t *out, const char *name, const char *type,
                   const char *help) {
  pl_buf_printf(out, "# HELP pipelined_%s %s\n# TYPE pipelined_%s %s\n", name,
                help, name, type);
}

/* A stage gauge: its value, or false when the stage has no such series
 * (in-flight figures are a sink's). */
typedef bool (*gauge_fn)(const pl_instance_t *stage, uint64_t *value);

static bool queue_depth(const pl_instance_t *stage, uint64_t *value) {
  *value = stage->queue.count;
  return true;
}

static bool queue_bytes(const pl_instance_t *stage, uint64_t *value) {
  *value = stage->queue.bytes;
  return true;
}

static bool in_flight(const pl_instance_t *stage, uint64_t *value) {
  *value = stage->sink ? stage->sink->in_flight : 0;
  return stage->sink != NULL;
}

static bool in_flight_limit(const pl_instance_t *stage, uint64_t *value) {
  *value = stage->sink ? (uint64_t)stage->stage.max_in_flight : 0;
  return stage->sink != NULL;
}

static bool concurrency_limit(const pl_instance_t *stage, uint64_t *value) {
  *value = stage->concurrency_limit;
  return stage->has_concurrency_limit;
}

/* The counters every pipeline keeps, one family each. */
static uint64_t groups_committed(const pl_pipeline_t *pipeline) {
  return pipeline->groups_committed;
}

static uint64_t groups_failed(const pl_pipeline_t *pipeline) {
  return pipeline->groups_failed;
}

typedef struct pipeline_counter {
  const char *name;
  const char *help;
  uint64_t (*value)(const pl_pipeline_t *pipeline);
} pipeline_counter_t;

static const pipeline_counter_t pipeline_counters[] = {
    {"groups_committed_total",
     "ack groups fully delivered or dead-lettered and committed",
     groups_committed},
    {"groups_failed_total",
     "ack groups not committed (a record failed, or abandoned)", groups_failed},
};

typedef struct gauge_view {
  const char *name;
  const char *help;
  gauge_fn value;
} gauge_view_t;

static const gauge_view_t stage_gauges[] = {
    {"queue_depth", "records waiting in the stage's input queue",
     queue_depth},
    {"queue_bytes", "bytes held by the records in the stage's input queue",
     queue_bytes},
    {"in_flight", "sink batches being written or waiting for a retry",
     in_flight},
    {"in_flight_limit", "batches a sink may have in flight at once "
                        "(max_in_flight)",
     in_flight_limit},
    {"concurrency_limit",
     "requests a sink may have in flight now: found by adaptive concurrency "
     "up to max_in_flight, or max_in_flight when it is fixed",
     concurrency_limit},
};

/* Every stage's plugin counter `name`, as one family. */
static void render_plugin_counter(const pl_engine_t *engine, const char *name,
                                  pl_buf_t *out) {
  pl_buf_printf(out,
                "# HELP pipelined_plugin_%s_total %s, counted by the "
                "plugin\n# TYPE pipelined_plugin_%s_total counter\n",
                name, name, name);
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t s = 0; s < pipeline->stage_count; s++) {
      const pl_instance_t *stage = pipeline->stages[s];
      for (size_t c = 0; c < stage->counter_count; c++) {
        if (strcmp(stage->counters[c].name, name) != 0)
          continue;
        pl_buf_printf(out, "pipelined_plugin_%s_total", name);
        labels(out, pipeline, stage);
        pl_buf_printf(out, " %llu\n",
                      (unsigned long long)stage->counters[c].value);
      }
    }
  }
}

/* True when stage (p, s)'s counter c is the first of its name in the
 * engine: its family is rendered there, once. */
static bool first_counter(const pl_engine_t *engine, size_t p, size_t s,
                          size_t c) {
  const char *name = engine->pipelines[p]->stages[s]->counters[c].name;
  for (size_t q = 0; q <= p; q++) {
    const pl_pipeline_t *pipeline = engine->pipelines[q];
    size_t stages = q < p ? pipeline->stage_count : s + 1;
    for (size_t t = 0; t < stages; t++) {
      const pl_instance_t *stage = pipeline->stages[t];
      size_t counters = q == p && t == s ? c : stage->counter_count;
      for (size_t k = 0; k < counters; k++)
        if (strcmp(stage->counters[k].name, name) == 0)
          return false;
    }
  }
  return true;
}

/* pipelined_rejected_total, by stage and class of reason: a stage that
 * rejected nothing has one series, reason="other", at 0. */
static void render_rejected(const pl_engine_t *engine, const char *help,
                            pl_buf_t *out) {
  header(out, "rejected_total", "counter", help);
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t s = 0; s < pipeline->stage_count; s++) {
      const pl_instance_t *stage = pipeline->stages[s];
      for (size_t r = 0; r < stage->rejection_count || r == 0; r++) {
        const pl_counter_t *c =
            stage->rejection_count ? &stage->rejections[r] : NULL;
        pl_buf_append_str(out, "pipelined_rejected_total");
        labels(out, pipeline, stage);
        out->len--; /* the closing brace: one more label */
        pl_buf_printf(out, ",reason=\"%s\"} %llu\n", c ? c->name : "other",
                      (unsigned long long)(c ? c->value : 0));
      }
    }
  }
}

/* The memory budget (memory_limit): one series each, for the whole
 * daemon, since the budget is shared by every pipeline. */
static void render_memory(const pl_memory_budget_t *memory, pl_buf_t *out) {
  static const struct {
    const char *name, *type, *help;
    size_t offset;
  } families[] = {
      {"memory_held_bytes", "gauge",
       "bytes held by the records of every pipeline, in queues, batches and "
       "requests in flight",
       offsetof(pl_memory_budget_t, held)},
      {"memory_held_peak_bytes", "gauge",
       "the most bytes the records have held at once since the start",
       offsetof(pl_memory_budget_t, peak)},
      {"memory_limit_bytes", "gauge",
       "memory_limit: sources pause when the bytes held reach it (0: no "
       "limit)",
       offsetof(pl_memory_budget_t, limit)},
      {"memory_pauses_total", "counter",
       "times a source paused because the bytes held reached memory_limit",
       offsetof(pl_memory_budget_t, pauses)},
  };
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
    header(out, families[i].name, families[i].type, families[i].help);
    uint64_t value =
        *(const uint64_t *)((const char *)memory + families[i].offset);
    pl_buf_printf(out, "pipelined_%s %llu\n", families[i].name,
                  (unsigned long long)value);
  }
}

/* The process, under the names Prometheus client libraries use. */
static void render_process(pl_buf_t *out) {
  uv_rusage_t ru;
  if (uv_getrusage(&ru) == 0) {
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
                     1e6;
    pl_buf_printf(out,
                  "# HELP process_cpu_seconds_total user and system CPU time "
                  "of the process\n# TYPE process_cpu_seconds_total counter\n"
                  "process_cpu_seconds_total %.6f\n",
                  cpu);
  }
  size_t rss = 0;
  if (uv_resident_set_memory(&rss) == 0)
    pl_buf_printf(out,
                  "# HELP process_resident_memory_bytes resident set size of "
                  "the process\n# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %zu\n",
                  rss);
  /* /proc is a kernel view: reading it does not wait on a device. */
  DIR *dir = opendir("/proc/self/fd");
  if (dir) {
    size_t fds = 0;
    for (struct dirent *e; (e = readdir(dir));)
      if (e->d_name[0] != '.')
        fds++;
    closedir(dir);
    /* Less the descriptor of the listing itself. */
    pl_buf_printf(out,
                  "# HELP process_open_fds open file descriptors of the "
                  "process\n# TYPE process_open_fds gauge\n"
                  "process_open_fds %zu\n",
                  fds > 0 ? fds - 1 : 0);
  }
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    pl_buf_printf(out,
                  "# HELP process_max_fds the process's limit of open file "
                  "descriptors\n# TYPE process_max_fds gauge\n"
                  "process_max_fds %llu\n",
                  (unsigned long long)limit.rlim_cur);
}

void pl__metrics_render(const pl_engine_t *engine, pl_buf_t *out) {
  header(out, "build_info", "gauge",
         "always 1; the version of the daemon as a label");
  pl_buf_append_str(out, "pipelined_build_info{version=");
  label_value(out, PACKAGE_VERSION);
  pl_buf_append_str(out, "} 1\n");

#define PL__METRIC_RENDER(field, help)                                         \
  if (strcmp(#field, "rejected") == 0) {                                       \
    render_rejected(engine, help, out);                                        \
  } else {                                                                     \
    header(out, #field "_total", "counter", help);                             \
    for (size_t p = 0; p < engine->pipeline_count; p++) {                      \
      const pl_pipeline_t *pipeline = engine->pipelines[p];                    \
      for (size_t s = 0; s < pipeline->stage_count; s++) {                     \
        const pl_instance_t *stage = pipeline->stages[s];                      \
        pl_buf_append_str(out, "pipelined_" #field "_total");                 \
        labels(out, pipeline, stage);                                          \
        pl_buf_printf(out, " %llu\n",                                          \
                      (unsigned long long)stage->metrics.field);               \
      }                                                                        \
    }                                                                          \
  }
  PL_STAGE_METRICS_MAP(PL__METRIC_RENDER)
#undef PL__METRIC_RENDER

  for (size_t g = 0; g < sizeof(stage_gauges) / sizeof(stage_gauges[0]);
       g++) {
    header(out, stage_gauges[g].name, "gauge", stage_gauges[g].help);
    for (size_t p = 0; p < engine->pipeline_count; p++) {
      const pl_pipeline_t *pipeline = engine->pipelines[p];
      for (size_t s = 0; s < pipeline->stage_count; s++) {
        const pl_instance_t *stage = pipeline->stages[s];
        uint64_t value = 0;
        if (!stage_gauges[g].value(stage, &value))
          continue;
        pl_buf_printf(out, "pipelined_%s", stage_gauges[g].name);
        labels(out, pipeline, stage);
        pl_buf_printf(out, " %llu\n", (unsigned long long)value);
      }
    }
  }

  for (size_t c = 0; c < sizeof(pipeline_counters) / sizeof(*pipeline_counters);
       c++) {
    const pipeline_counter_t *counter = &pipeline_counters[c];
    header(out, counter->name, "counter", counter->help);
    for (size_t p = 0; p < engine->pipeline_count; p++) {
      pl_buf_printf(out, "pipelined_%s", counter->name);
      pipeline_label(out, engine->pipelines[p]);
      pl_buf_printf(out, " %llu\n",
                    (unsigned long long)counter->value(engine->pipelines[p]));
    }
  }

  /* A pipeline a reload could not start has no series left: this says it
   * is missing. */
  header(out, "pipeline_not_running", "gauge",
         "1 for each pipeline of the config that the last reload could not "
         "start: it runs nothing until a reload starts it");
  for (size_t i = 0; i < engine->not_running_count; i++) {
    pl_buf_append_str(out, "pipelined_pipeline_not_running{pipeline=");
    label_value(out, engine->not_running[i].pipeline);
    pl_buf_append_str(out, "} 1\n");
  }

  /* Plugin counters (pl_instance_count): pipelined_plugin_<name>_total,
   * one family per name however many stages count it. */
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t s = 0; s < pipeline->stage_count; s++)
      for (size_t c = 0; c < pipeline->stages[s]->counter_count; c++)
        if (first_counter(engine, p, s, c))
          render_plugin_counter(engine, pipeline->stages[s]->counters[c].name,
                                out);
  }

  render_memory(&engine->memory, out);
  pl__extensions_metrics(engine, out);
  render_process(out);
}

void pl__metrics_summary(const pl_pipeline_t *pipeline, uint64_t elapsed_ms,
                         pl_buf_t *out) {
  uint64_t rejected = 0;
  for (size_t s = 0; s < pipeline->stage_count; s++)
    if (pipeline->stages[s]->role != PL_ROLE_DEAD_LETTER)
      rejected += pipeline->stages[s]->metrics.rejected;
  const pl_stage_metrics_t *sink = &pipeline->sink->metrics;
  pl_buf_append_str(out, "pipeline ");
  label_value(out, pipeline->name);
  pl_buf_printf(out,
                ": %llu group(s) committed, %llu failed; %llu record(s) "
                "delivered, %llu rejected, %llu retried, %llu failed",
                (unsigned long long)pipeline->groups_committed,
                (unsigned long long)pipeline->groups_failed,
                (unsigned long long)sink->records_out,
                (unsigned long long)rejected, (unsigned long long)sink->retried,
                (unsigned long long)sink->failed);
  /* A rejected record the dead letter could not write is written nowhere
   * (its group fails): the line says so when it happened. */
  const pl_instance_t *dead_letter = pipeline->dead_letter;
  if (dead_letter &&
      (dead_letter->metrics.retried > 0 || dead_letter->metrics.failed > 0))
    pl_buf_printf(out,
                  "; dead letter: %llu record(s) written, %llu retried, "
                  "%llu failed",
                  (unsigned long long)dead_letter->metrics.records_out,
                  (unsigned long long)dead_letter->metrics.retried,
                  (unsigned long long)dead_letter->metrics.failed);
  pl_buf_printf(out, "; about %llu byte(s) delivered; %.2f s",
                (unsigned long long)sink->bytes, (double)elapsed_ms / 1000.0);
}

/* Appends one line of JSON, `status` "unhealthy", for /healthz. */
static void unhealthy(pl_buf_t *out, json_t *doc) {
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  pl_buf_append_str(out, text ? text : "{\"status\":\"unhealthy\"}");
  pl_buf_append_str(out, "\n");
  free(text);
  json_decref(doc);
}

bool pl__metrics_health(const pl_engine_t *engine, pl_buf_t *out) {
  if (engine->stopping) {
    pl_buf_append_str(out, "shutting down\n");
    return false;
  }
  /* A pipeline of the config that runs nothing is work failing too. */
  if (engine->not_running_count > 0) {
    const pl_not_running_t *first = &engine->not_running[0];
    unhealthy(out,
              json_pack("{s:s, s:s, s:s}", "status", "unhealthy", "pipeline",
                        first->pipeline, "last_error", first->why));
    return false;
  }
  uint64_t now = uv_now(engine->loop);
  for (size_t p = 0; p < engine->pipeline_count; p++) {
    const pl_pipeline_t *pipeline = engine->pipelines[p];
    for (size_t s = 0; s < pipeline->stage_count; s++) {
      const pl_instance_t *stage = pipeline->stages[s];
      /* A sink's writes; a source's reads, of each kind. */
      uint64_t after = engine->settings.unhealthy_after_ms;
      uint64_t failing_ms = 0;
      const pl_failing_t *work = NULL;
      if (stage->sink)
        work = pl__failing_longer_than(&stage->sink->writes, now, after,
                                       &failing_ms)
                   ? &stage->sink->writes
                   : NULL;
      else
        work =
            pl__failing_set_longer_than(&stage->reads, now, after, &failing_ms);
      if (!work)
        continue;
      const pl_buf_t *why = &work->last_error;
      unhealthy(out,
                json_pack("{s:s, s:s, s:s, s:s, s:I, s:s%}", "status",
                          "unhealthy", "pipeline", pipeline->name, "stage",
                          pl__role_name(stage->role), "plugin", stage->name,
                          "failing_for_ms", (json_int_t)failing_ms,
                          "last_error", why->data ? why->data : "", why->len));
      return false;
    }
  }
  pl_buf_append_str(out, "ok\n");
  return true;
}

bool pl__metrics_ready(const pl_engine_t *engine, pl_buf_t *out) {
  if (engine->stopping) {
    pl_buf_append_str(out, "shutting down\n");
    return false;
  }
  if (engine->not_running_count > 0) {
    pl_buf_printf(out, "pipeline \"%s\" is not running: %s\n",
                  engine->not_running[0].pipeline, engine->not_running[0].why);
    return false;
  }
  pl_buf_append_str(out, engine->ready ? "ready\n" : "starting\n");
  return engine->ready;
}
