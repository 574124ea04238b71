/* Sets of files identified by path, size and modification time, kept
 * sorted by path, and the state file that makes one of them survive a
 * restart: the files source-file has committed.
 *
 * The state file is text, one header line then one line per file:
 *
 *   pipelined source-file state 1
 *   <size> <mtime in ns since the epoch> <absolute path>
 *
 * In the path, '%', control bytes and DEL are written as %XX, so that any
 * file name fits on one line (pl_state_escape()). The file is replaced
 * atomically (pl_state_file_write()). */
#ifndef PL_SOURCE_FILE_STATE_H
#define PL_SOURCE_FILE_STATE_H

#include <pipelined/common.h>
#include <pipelined/state_file.h>

typedef struct file_state file_state_t;

/* Creates an empty set. With `file` (a path), the set owns that state file
 * until file_state_destroy() (pl_state_file_open(): its directory is
 * created), is loaded from it when it exists (an empty one is refused: it
 * lacks its header), and file_state_save() writes
 * it there. On failure returns a negative PL_E* code and, when `error` is
 * not NULL, a new malloc()ed message in *error ("state file X:3: bad
 * size"). */
int file_state_create(const char *file, file_state_t **out, char **error);
void file_state_destroy(file_state_t *state);

/* The state file's path (borrowed), or NULL for a set in memory only. */
const char *file_state_file(const file_state_t *state);
size_t file_state_count(const file_state_t *state);

/* True when `path` is in the set; *found_size and *found_mtime_ns (either
 * may be NULL) then get what the set holds for it. */
bool file_state_find(const file_state_t *state, const char *path,
                     uint64_t *found_size, int64_t *found_mtime_ns);
/* True when `path` is in the set with exactly this size and mtime. */
bool file_state_has(const file_state_t *state, const char *path, uint64_t size,
                    int64_t mtime_ns);
/* Adds `path` (copied) or replaces what the set held for it. */
int file_state_put(file_state_t *state, const char *path, uint64_t size,
                   int64_t mtime_ns);
/* Removes `path`; returns true when it was there. */
bool file_state_remove(file_state_t *state, const char *path);

/* Mark and sweep, to forget files that are gone: file_state_unmark_all(),
 * then file_state_mark() for each file still there, then
 * file_state_sweep() removes the unmarked ones and returns how many. */
void file_state_unmark_all(file_state_t *state);
void file_state_mark(file_state_t *state, const char *path);
size_t file_state_sweep(file_state_t *state);

/* Writes the set to its state file atomically (nothing to do for a set in
 * memory only). On failure returns a negative code and a new message in
 * *error when `error` is not NULL. Blocking: two fsyncs and a rename, so
 * not for the loop (tests). */
int file_state_save(const file_state_t *state, char **error);
/* The same on the thread pool of `loop` (pl_state_file_save(): the latest
 * state wins); the result goes to the callback set on file_state_owner().
 * Returns 0 (also for a set in memory only) or PL_ENOMEM. */
int file_state_save_async(const file_state_t *state, uv_loop_t *loop);
/* The state file (borrowed), or NULL for a set in memory only: what
 * pl_state_file_lock() (at start) and pl_state_file_on_saved() take. */
pl_state_file_t *file_state_owner(const file_state_t *state);

#endif
