/* Metrics: the Prometheus text exposition of every stage's counters and
 * of the process, /healthz and the --once summary (served by
 * metrics_server.h). */
#ifndef PL_CORE_METRICS_H
#define PL_CORE_METRICS_H

#include <pipelined/common.h>
#include <uv.h>

typedef struct pl_engine pl_engine_t;
typedef struct pl_pipeline pl_pipeline_t;

/* Appends the exposition of every pipeline of the engine. */
void pl__metrics_render(const pl_engine_t *engine, pl_buf_t *out);
/* /healthz: true (body "ok") while every sink writes and every source
 * reads, or has failed for less than unhealthy_after; false with a
 * one-line JSON body naming the first pipeline a reload could not start
 * (pipeline, last error) or else the first stage that has failed longer
 * (pipeline, stage, plugin, for how long, its last error), or while
 * shutting down. */
bool pl__metrics_health(const pl_engine_t *engine, pl_buf_t *out);
/* The /readyz verdict: true once every pipeline has started, none of the
 * config is left not running by a reload, and no shutdown has begun;
 * `out` gets the one line that says so. */
bool pl__metrics_ready(const pl_engine_t *engine, pl_buf_t *out);

/* The line a --once run ends with for `pipeline`: groups committed and
 * failed; records delivered by the sink, rejected (by any stage), retried
 * and failed; bytes written; `elapsed_ms`; and, when its dead letter
 * retried or failed any, the records it wrote, retried and failed. */
void pl__metrics_summary(const pl_pipeline_t *pipeline, uint64_t elapsed_ms,
                         pl_buf_t *out);

#endif
