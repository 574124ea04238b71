/* Metrics: Prometheus text exposition of every stage's counters, served
 * with /healthz on an optional loopback listener. */
#ifndef PL_CORE_METRICS_H
#define PL_CORE_METRICS_H

#include <pipelined/common.h>
#include <uv.h>

typedef struct pl_engine pl_engine_t;
typedef struct pl_pipeline pl_pipeline_t;
typedef struct pl_metrics_server pl_metrics_server_t;

/* Appends the exposition of every pipeline of the engine. */
void pl__metrics_render(const pl_engine_t *engine, pl_buf_t *out);
/* /healthz: true (body "ok") while every sink writes, or has failed for
 * less than unhealthy_after; false with a one-line JSON body naming the
 * first sink that has failed longer (pipeline, stage, plugin, for how
 * long, its last error), or while shutting down. */
bool pl__metrics_health(const pl_engine_t *engine, pl_buf_t *out);

/* The line a --once run ends with for `pipeline`: groups committed and
 * failed; records delivered by the sink, rejected (by any stage), retried
 * and failed; bytes written; and `elapsed_ms`. */
void pl__metrics_summary(const pl_pipeline_t *pipeline, uint64_t elapsed_ms,
                         pl_buf_t *out);

/* Parses "host:port" (IPv4 or [IPv6]:port). */
int pl__metrics_parse_listen(const char *text, struct sockaddr_storage *addr);
/* Listens on `listen` ("127.0.0.1:9100"); port 0 picks a free one. */
int pl__metrics_server_create(pl_engine_t *engine, const char *listen,
                              pl_metrics_server_t **out);
/* The bound port (after create). */
int pl__metrics_server_port(const pl_metrics_server_t *server);
/* Connections accepted and not yet freed, those being closed included. */
size_t pl__metrics_server_connections(const pl_metrics_server_t *server);
/* Closes the listener and every connection; frees when the last close
 * callback ran. */
void pl__metrics_server_close(pl_metrics_server_t *server);

#endif
