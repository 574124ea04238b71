/* source-file's state file on the loop: remembering committed files and
 * writing the state (on the thread pool, once per loop iteration), with
 * retries when a write fails. Does nothing without state_dir. */
#ifndef PL_SOURCE_FILE_SAVE_H
#define PL_SOURCE_FILE_SAVE_H

#include "source_file.h"

/* The committed set changed: schedules a write (at once when the timers
 * are closed). */
void file_save_changed(source_file_t *s);

/* Remembers `e` (path, size, mtime) as committed and schedules a write;
 * logs when out of memory. Its ledger entry (pl_ledger_complete() at the
 * commit) is removed once a write that holds `e` succeeded: a crash
 * before then takes the file up at its end, not at its start. */
void file_save_remember(source_file_t *s, const file_entry_t *e);

/* Removes the ledger entry of `e` now when it is of the version read
 * (a file moved, deleted or changed since needs none). */
void file_save_forget_progress(source_file_t *s, const file_entry_t *e);

/* Frees the entries still waiting for a write (at destroy). */
void file_save_free(source_file_t *s);

/* Starts a write now if the set changed since the last one. */
void file_save_now(source_file_t *s);

/* The pl_state_saved_cb given to pl_state_file_on_saved(); `arg` is
 * the source_file_t. Logs a failed write and plans a retry. */
void file_save_on_saved(void *arg, int status, const char *error);

#endif
