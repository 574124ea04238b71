/* `pipelined top`: a live terminal view of a running daemon, read from
 * its metrics endpoint once a second (as `vector top` does for Vector). */
#ifndef PL_CORE_TOP_H
#define PL_CORE_TOP_H

#include <pipelined/common.h>

#include "exposition.h"

/* One stage's figures from one scrape. */
typedef struct pl_top_row {
  char *pipeline;
  char *stage; /* source, transform, sink, dead_letter */
  char *plugin;
  double records_in;
  double records_out;
  double rejected;
  double failed;
  double queue_depth;
  double in_flight;
  double in_flight_limit; /* < 0: not a sink */
} pl_top_row_t;

/* The rows of a scrape, in the order its records_in series came. */
typedef struct pl_top_view {
  pl_top_row_t *rows;
  size_t count;
} pl_top_view_t;

/* Builds `view` from a parsed scrape. Returns 0 or PL_ENOMEM. */
int pl__top_view(const pl_exposition_t *scrape, pl_top_view_t *view);
void pl__top_view_free(pl_top_view_t *view);

/* Appends the screen (lines of at most 80 columns): a title naming `url`
 * and `status` (NULL: ok), then per pipeline and stage the records/s in
 * and out since `prev` (NULL: no rates yet) over `dt_s` seconds, the
 * queue, the batches in flight and the limit, and the rejected and failed
 * counts. */
void pl__top_render(const pl_top_view_t *prev, const pl_top_view_t *cur,
                    double dt_s, const char *url, const char *status,
                    pl_buf_t *out);

/* `pipelined top [--url URL | -c FILE] [--interval SECONDS]
 * [--iterations N]`: returns the exit status: 0, 1 when the last scrape
 * failed (the daemon did not answer), 2 for a usage error. */
int pl__top_main(int argc, char **argv);

#endif
