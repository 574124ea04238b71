/* Logging for plugins: pl_log(inst, PL_LOG_WARN, "...") writes one line to
 * the daemon's log, prefixed with the plugin and pipeline. */
#ifndef PIPELINED_LOG_H
#define PIPELINED_LOG_H

#include <pipelined/common.h>
#include <stdarg.h>

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

/* A failure that may repeat (a batch that fails, a request refused), limited
 * per call site: the caller owns one, zeroed, for each place that logs such
 * a failure, for as long as it may fail (no globals, HACKING.md#s2). */
typedef struct pl_complain {
  uint64_t last_ms;     /* when the last line was logged */
  uint64_t interval_ms; /* the wait before the next line; 0: not failing */
  uint64_t failures;    /* since the first of this run of failures */
  uint64_t suppressed;  /* since the last line */
} pl_complain_t;

/* Logs a failure through `c`: the first at once, then one line when at
 * least 1 s has passed, then 2 s, 4 s... up to a day, each with the number
 * of failures it did not log. */
PL_EXTERN void pl_complain(const pl_instance_t *inst, pl_complain_t *c,
                           pl_log_level_t level, const char *fmt, ...)
    PL_PRINTF(4, 5);
/* The failure `c` counted is over: when it had been logged, one info line
 * "<message> (recovered after N failure(s))". Resets `c`. */
PL_EXTERN void pl_complain_release(const pl_instance_t *inst, pl_complain_t *c,
                                   const char *fmt, ...) PL_PRINTF(3, 4);
/* pl_complain_release() with a va_list, for a function that passes its
 * own format on; nothing is formatted when nothing was logged. */
PL_EXTERN void pl_complain_vrelease(const pl_instance_t *inst, pl_complain_t *c,
                                    const char *fmt, va_list ap)
    PL_PRINTF(3, 0);

#endif
