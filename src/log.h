/* The daemon's log: one line per message on a stream (stderr), as text or
 * JSON lines, filtered by level. */
#ifndef PL_CORE_LOG_H
#define PL_CORE_LOG_H

#include <pipelined/log.h>
#include <stdarg.h>
#include <stdio.h>

typedef enum { PL_LOG_TEXT, PL_LOG_JSON } pl_log_format_t;

typedef struct pl_logger {
  FILE *stream; /* borrowed */
  pl_log_level_t level;
  pl_log_format_t format;
  /* A line without its newline is on the terminal (the --once progress
   * line): a message clears it first and sets it false. NULL: none.
   * Borrowed. */
  bool *line_shown;
} pl_logger_t;

/* Writes one message; `plugin` and `pipeline` may be NULL. */
void pl__log_write(const pl_logger_t *log, pl_log_level_t level,
                   const char *plugin, const char *pipeline, const char *fmt,
                   va_list ap) PL_PRINTF(5, 0);
void pl__log(const pl_logger_t *log, pl_log_level_t level, const char *fmt,
             ...) PL_PRINTF(3, 4);

/* pl_log() with a va_list and `suffix` (NULL: none), text written right
 * after the message: what pl_complain() adds ("(and 3 more time(s)...)"). */
void pl__log_instance(const pl_instance_t *inst, pl_log_level_t level,
                      const char *suffix, const char *fmt, va_list ap)
    PL_PRINTF(4, 0);

#endif
