/* Logging for plugins: pl_log(inst, PL_LOG_WARN, "...") writes one line to
 * the daemon's log, prefixed with the plugin and pipeline. */
#ifndef PIPELINED_LOG_H
#define PIPELINED_LOG_H

#include <pipelined/common.h>

#define PL_LOG_LEVEL_MAP(XX)                                                   \
  XX(ERROR, "error")                                                           \
  XX(WARN, "warn")                                                             \
  XX(INFO, "info")                                                             \
  XX(DEBUG, "debug")

typedef enum {
#define PL__LOG_ENUM(name, text) PL_LOG_##name,
  PL_LOG_LEVEL_MAP(PL__LOG_ENUM)
#undef PL__LOG_ENUM
} pl_log_level_t;

PL_EXTERN const char *pl_log_level_name(pl_log_level_t level);

PL_EXTERN void pl_log(const pl_instance_t *inst, pl_log_level_t level,
                      const char *fmt, ...) PL_PRINTF(3, 4);

#endif
