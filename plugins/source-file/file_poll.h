/* source-file's scans: file_scan_run() on the thread pool, then the
 * report of each entry of paths, the sweep of files that are gone and the
 * queueing of new ones; with watch, again every poll_interval. */
#ifndef PL_SOURCE_FILE_POLL_H
#define PL_SOURCE_FILE_POLL_H

#include "source_file.h"

/* Starts a scan on the thread pool. Returns 0, or PL_EIO (logged) when it
 * cannot be queued. */
int file_poll_start(source_file_t *s);

#endif
