/* The --once progress line: what the run has done so far, redrawn on
 * standard error once a second when it is a terminal. */
#ifndef PL_CORE_PROGRESS_H
#define PL_CORE_PROGRESS_H

#include <pipelined/common.h>

typedef struct pl_engine pl_engine_t;

/* The rate's memory between two lines. Zero-initialise. */
typedef struct pl_progress {
  uint64_t last_ms; /* when the last line was made; 0: none yet */
  uint64_t last_rows;
} pl_progress_t;

/* Appends one line, without a newline, of what `engine` did by `now_ms`
 * (a monotonic clock): rows delivered by the sinks and rejected, bytes the
 * sources read and, when sources know the size of their input, the share
 * of it read, and rows per second since the last line. */
void pl__progress_line(const pl_engine_t *engine, pl_progress_t *progress,
                       uint64_t now_ms, pl_buf_t *out);

#endif
