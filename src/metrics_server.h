/* The listener of metrics_listen: /metrics, /healthz and /readyz. */
#ifndef PL_CORE_METRICS_SERVER_H
#define PL_CORE_METRICS_SERVER_H

#include <pipelined/common.h>
#include <uv.h>

typedef struct pl_engine pl_engine_t;
typedef struct pl_metrics_server pl_metrics_server_t;

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
