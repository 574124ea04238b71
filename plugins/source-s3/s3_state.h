/* The objects source-s3 has committed in list mode: a set of keys, each
 * with the ETag it had when it was committed, and the state file that
 * makes the set survive a restart. An object whose ETag changed since is
 * new again (s3_state_has() is false for it).
 *
 * Lookups are hashed (100k keys and more); the state file lists the keys
 * sorted by their bytes (strcmp, S3's listing order). It is text, one
 * header line then one line per key:
 *
 *   pipelined source-s3 state 1
 *   <etag> <key>
 *
 * In both fields '%', control bytes and DEL are written as %XX, and in the
 * ETag the space too, so that the ETag is one word and the key the rest of
 * the line (spaces included). A key or ETag with no NUL byte of any text
 * (not only UTF-8) fits. No ETag is written "-" (an ETag that is "-"
 * itself is written "%2D"). The file is replaced atomically (temporary
 * file, fsync, rename, fsync of the directory). */
#ifndef PL_SOURCE_S3_STATE_H
#define PL_SOURCE_S3_STATE_H

#include <pipelined/common.h>
#include <pipelined/state_file.h>

typedef struct s3_state s3_state_t;

/* Creates an empty set. With `file` (a path; borrowed for the call), the
 * set owns that state file until s3_state_destroy() (pl_state_file_open():
 * its directory is created), is loaded from it when it exists (a missing
 * file is an empty set; an empty one is refused: it lacks its header) and
 * s3_state_save() writes it there. Returns 0, or PL_ENOMEM, PL_EIO (the
 * file cannot be read) or PL_EPARSE (it is not a valid state file) and
 * then, when `error` is not
 * NULL, a new malloc()ed message in *error naming the file and line
 * ("state file /x/s.state:3: bad key"). Blocking when `file` is set: it is
 * read whole. */
int s3_state_create(const char *file, s3_state_t **out, char **error);
void s3_state_destroy(s3_state_t *state);

/* The state file's path (borrowed), or NULL for a set in memory only. */
const char *s3_state_file(const s3_state_t *state);
size_t s3_state_count(const s3_state_t *state);

/* True when `key` is in the set; *etag (when not NULL) then gets the ETag
 * committed with it (borrowed until the key is put, removed or swept), or
 * NULL for none. */
bool s3_state_find(const s3_state_t *state, const char *key, const char **etag);
/* True when `key` is in the set with this ETag. NULL and "" both mean no
 * ETag and match only a key committed without one. */
bool s3_state_has(const s3_state_t *state, const char *key, const char *etag);
/* Adds `key` with `etag` (both copied; etag NULL or "" for none), or
 * replaces the ETag of a key already there; either way the key is marked.
 * Returns 0, PL_EINVAL (key NULL or empty) or PL_ENOMEM (the set is left
 * as it was). */
int s3_state_put(s3_state_t *state, const char *key, const char *etag);
/* Removes `key`; returns true when it was there. */
bool s3_state_remove(s3_state_t *state, const char *key);

/* Mark and sweep, to forget keys that are no longer listed:
 * s3_state_unmark_all() before a full listing, s3_state_mark() for each
 * key listed, then s3_state_sweep() removes the unmarked ones and returns
 * how many. Keys put in between are marked. */
void s3_state_unmark_all(s3_state_t *state);
void s3_state_mark(s3_state_t *state, const char *key);
size_t s3_state_sweep(s3_state_t *state);

/* Writes the set to its state file atomically (nothing to do for a set in
 * memory only). Returns 0, or PL_ENOMEM or PL_EIO and then, when `error`
 * is not NULL, a new malloc()ed message in *error ("cannot create a
 * temporary file for /x/s.state: Permission denied"). Blocking: it writes
 * and syncs the whole file, so not for the loop (tests). */
int s3_state_save(const s3_state_t *state, char **error);
/* The same on the thread pool of `loop` (pl_state_file_save(): the latest
 * state wins); the result goes to the callback set on s3_state_owner().
 * Returns 0 (also for a set in memory only) or PL_ENOMEM. */
int s3_state_save_async(const s3_state_t *state, uv_loop_t *loop);
/* The state file (borrowed), or NULL for a set in memory only: what
 * pl_state_file_lock() (at start) and pl_state_file_on_saved() take. */
pl_state_file_t *s3_state_owner(const s3_state_t *state);

#endif
