/* State files: small text files in which a plugin keeps what it has
 * committed (source-file's files, source-s3's keys) across restarts.
 *
 * A state file is replaced whole and atomically (a temporary file next to
 * it, fsync, rename, fsync of the directory), so a crash leaves the old
 * file or the new one, never a mix. The temporary file gets a name nobody
 * can guess (mkstemp()), so a symlink planted in a shared state directory
 * redirects nothing. A source owns its state file through a
 * pl_state_file_t, locked against a second owner while the source runs. Its text fields are percent-escaped so
 * that any value fits on one line. Every function here but
 * pl_state_file_save() blocks on the file system; plugins save through
 * pl_state_file_save(), which writes on the thread pool, so that no plugin
 * blocks the loop with fsyncs. */
#ifndef PIPELINED_STATE_FILE_H
#define PIPELINED_STATE_FILE_H

#include <pipelined/common.h>
#include <uv.h>

/* ---- Owning a state file ---- */

typedef struct pl_state_file pl_state_file_t;

/* Makes a new object in *out for the state file at `path` (borrowed) and
 * creates the file's directory and any missing parents (mode 0755).
 * Returns 0, or PL_EIO or PL_ENOMEM and then, when `error` is not NULL, a
 * new malloc()ed message in *error ("cannot create the directory of state
 * file /x/s.state: Not a directory"). Reading the file needs no lock (it
 * is replaced by rename, so a reader sees a whole version). */
PL_EXTERN int pl_state_file_open(const char *path, pl_state_file_t **out,
                                 char **error);
/* Takes the state file for this process until pl_state_file_close(): locks
 * `path`.lock (flock(), exclusive, without waiting; a symlink there is
 * refused) and writes this process's PID in it. Two sources, or two
 * daemons, given the same file would each process everything; the second
 * one fails here instead. Sources lock when they start, not at init, so
 * that `pipelined --check` works beside the running daemon. Returns 0 (at
 * once when already locked), or PL_EAGAIN when another holds the lock,
 * PL_EIO, and then, when `error` is not NULL, puts a new malloc()ed
 * message in *error naming the file and the holder ("state file
 * /x/s.state is in use by another process: PID 4242 holds /x/s.state.lock
 * (...)"). The lock file is left in place on close. `file` may be NULL (a
 * plugin without a state file): 0. */
PL_EXTERN int pl_state_file_lock(pl_state_file_t *file, char **error);
/* The path given to pl_state_file_open(), borrowed from `file`. */
PL_EXTERN const char *pl_state_file_path(const pl_state_file_t *file);
/* Releases the lock and frees `file` (NULL is allowed). With a save in
 * flight, the object lives on until that save, and the one asked for after
 * it if any, are written (the loop must run until then); no callback runs
 * after close. */
PL_EXTERN void pl_state_file_close(pl_state_file_t *file);

/* ---- Saving without blocking the loop ---- */

/* Called on the loop after each write of pl_state_file_save() ends:
 * `status` is 0, or a negative PL_E* code with `error` (borrowed for the
 * call) naming the step and the file. The callback may close the file. */
typedef void (*pl_state_saved_cb)(void *arg, int status, const char *error);
/* Sets the callback of every write (NULL for none). */
PL_EXTERN void pl_state_file_on_saved(pl_state_file_t *file,
                                      pl_state_saved_cb cb, void *arg);

/* Replaces the file with the `len` bytes at `bytes` (copied) on the thread
 * pool of `loop` (uv_queue_work()), as pl_state_file_write() does: the
 * fsyncs and the rename never block the loop. One write is in flight per
 * file; a save asked for meanwhile waits, and a later one replaces it (the
 * latest state wins: states are whole files, so the newest holds all that
 * the one it replaces held). Returns 0, PL_ENOMEM or PL_EINVAL (after
 * close); each write that starts ends with one call of the on_saved
 * callback. */
PL_EXTERN int pl_state_file_save(pl_state_file_t *file, uv_loop_t *loop,
                                 const void *bytes, size_t len);
/* True while a write is in flight or waiting. */
PL_EXTERN bool pl_state_file_saving(const pl_state_file_t *file);

/* Appends the text of a plugin's state `state` to `out`. Returns 0 or
 * PL_ENOMEM. */
typedef int (*pl_state_render_cb)(const void *state, pl_buf_t *out);
/* pl_state_file_save() of the text `render` makes of `state`: the save of
 * a plugin's state in one call. `file` may be NULL (a plugin without a
 * state file): nothing is done and 0 returned. Returns as
 * pl_state_file_save(), or the error of `render`. */
PL_EXTERN int pl_state_file_save_state(pl_state_file_t *file, uv_loop_t *loop,
                                       pl_state_render_cb render,
                                       const void *state);
/* The same written now, on the calling thread, as pl_state_file_write()
 * (for a plugin's last save at close); "out of memory" in *error when
 * `render` fails. *error is NULL when 0 is returned. */
PL_EXTERN int pl_state_file_write_state(pl_state_file_t *file,
                                        pl_state_render_cb render,
                                        const void *state, char **error);

/* How pl_state_file_save() writes: runs on a thread of the pool, and
 * behaves as pl_state_file_write() (which is the default). For tests of a
 * slow or failing disk. */
typedef int (*pl_state_write_fn)(void *arg, const char *path,
                                 const void *bytes, size_t len, char **error);
/* Sets the write function and its `arg` (borrowed); NULL restores
 * pl_state_file_write(). Not while a save is in flight. */
PL_EXTERN void pl_state_file_set_writer(pl_state_file_t *file,
                                        pl_state_write_fn write, void *arg);

/* ---- Reading and writing by path ---- */

/* Replaces the file at `path` with the `len` bytes at `bytes` (both
 * borrowed): writes and syncs a new temporary file `path`.XXXXXX (mode
 * 0644), renames it to `path` and syncs the directory. Returns 0, or
 * PL_ENOMEM or PL_EIO and then, when `error` is not NULL, a new malloc()ed
 * message in *error naming the step and the file ("cannot create a
 * temporary file for /x/s.state: Permission denied", "cannot rename
 * /x/s.state.Ab12Cd to /x/s.state: Is a directory"). The temporary file is
 * removed when the rename did not happen. Takes no lock: the caller owns
 * `path` through pl_state_file_open(). */
PL_EXTERN int pl_state_file_write(const char *path, const void *bytes,
                                  size_t len, char **error);

/* The same without the fsyncs (the temporary file's and the directory's):
 * the new file survives a crash of the process at once (the kernel holds
 * it), but a crash of the machine may leave the old file, or an empty or
 * torn one. For states that are only hints, saved often, whose loss costs
 * work done again and never data (a progress ledger): an fsync waits for
 * every dirty byte of the file system with some (ext4's data=ordered),
 * hundreds of milliseconds beside a sink writing a large file. */
PL_EXTERN int pl_state_file_write_unsynced(const char *path, const void *bytes,
                                           size_t len, char **error);

/* Appends the whole file at `path` to `out`. A missing file is the first
 * run: it appends nothing and returns 0. Returns 0, or PL_ENOMEM or PL_EIO
 * and then, when `error` is not NULL, a new malloc()ed message in *error
 * ("cannot read state file /x/s.state: Is a directory"); `out` may then
 * hold part of the file (the caller frees it either way). */
PL_EXTERN int pl_state_file_read(const char *path, pl_buf_t *out, char **error);

/* Called by pl_state_file_load() for each line, in order, before
 * pl_state_file_load() returns (a visitor, not a completion callback).
 * `line` is `len` bytes without the '\n', borrowed for the call; `number`
 * counts from 1. Returns 0 to go on, or a negative PL_E* code to stop and
 * then sets *reason to a static text saying what is wrong with the line
 * ("bad key"; not needed for PL_ENOMEM). */
typedef int (*pl_state_line_cb)(void *arg, size_t number, const char *line,
                                size_t len, const char **reason);

/* Reads the file at `path` (see pl_state_file_read(); a missing or empty
 * file has no lines) and calls `on_line` for each line; every line,
 * the last one too, must end with '\n'. Returns 0 or the first failure:
 * PL_EIO, PL_ENOMEM, PL_EPARSE (the last line is incomplete) or the code
 * `on_line` returned, and then, when `error` is not NULL, a new malloc()ed
 * message in *error: "out of memory" for PL_ENOMEM, otherwise the file,
 * the line and the reason ("state file /x/s.state:3: bad key";
 * pl_strerror() of the code when `on_line` set no reason). */
PL_EXTERN int pl_state_file_load(const char *path, pl_state_line_cb on_line,
                                 void *arg, char **error);

/* A plugin's state file in one call: pl_state_file_open() of `path`, then
 * pl_state_file_load() with `on_line` and `arg`. `path` may be NULL (a
 * plugin without a state file): *out is then NULL and 0 returned. On a
 * failure nothing is left open, *out is NULL, and the code and *error are
 * those of the call that failed. */
PL_EXTERN int pl_state_file_open_load(const char *path,
                                      pl_state_line_cb on_line, void *arg,
                                      pl_state_file_t **out, char **error);

/* pl_state_file_open_load() of a format whose first line is a header (its
 * name and version, which `on_line` checks as line 1): a file that exists
 * but has no line at all (empty: a machine crash after a write that was
 * not synced, a copy gone wrong) is refused, PL_EPARSE and "state file
 * /x/s.state:1: the first line (the header) is missing", as a truncated
 * one is, rather than read as a state that holds nothing. A missing file
 * is still the first run. */
PL_EXTERN int pl_state_file_open_load_headed(const char *path,
                                             pl_state_line_cb on_line,
                                             void *arg, pl_state_file_t **out,
                                             char **error);

/* Appends `text` (borrowed, NUL-terminated) to `out` with '%', bytes
 * below 0x20, DEL (0x7f) and any byte of `also` (NULL for none; " " keeps
 * a field free of spaces) written as %XX, upper-case hex. Returns 0 or
 * PL_ENOMEM. */
PL_EXTERN int pl_state_escape(const char *text, const char *also,
                              pl_buf_t *out);

/* Decodes the `len` bytes at `text` (borrowed) into a new malloc()ed
 * string in *out. Refuses a malformed escape ("%", "%4", "%zz"), %00 (the
 * result is a C string) and a raw byte below 0x20 or DEL, which
 * pl_state_escape() never writes. Returns 0, PL_EPARSE or PL_ENOMEM; *out
 * is set only on success. */
PL_EXTERN int pl_state_unescape(const char *text, size_t len, char **out);

#endif
