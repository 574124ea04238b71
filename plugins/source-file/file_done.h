/* What source-file does with a file once its group is committed, with
 * on_commit = move or delete: asynchronous uv_fs_* steps on the loop.
 *
 * Both first check that the file still has the size and modification time
 * it had when it was read; a file changed since is left in place (moving
 * or deleting it would lose the change). So is a file replaced since by
 * another one (another device or inode: `cp new; touch -r old new; mv new
 * old` keeps the size and the mtime), which was never read: the reader
 * read the old one through its own descriptor. A move never replaces a file in
 * done_dir: "name" becomes "name.1", "name.2"... when taken. Across file
 * systems a move is a copy and an unlink. */
#ifndef PL_SOURCE_FILE_DONE_H
#define PL_SOURCE_FILE_DONE_H

#include <pipelined/common.h>
#include <uv.h>

typedef enum { FILE_DONE_MOVE, FILE_DONE_DELETE } file_done_action_t;

/* The file changed after it was read: left in place. */
#define FILE_DONE_CHANGED 1
/* Another file took the name after it was read: left in place. */
#define FILE_DONE_REPLACED 2

/* The file as it was read: what its fstat() said. */
typedef struct file_done_version {
  uint64_t size;
  int64_t mtime_ns;
  uint64_t dev;
  uint64_t ino;
} file_done_version_t;

typedef struct file_done_result {
  int status; /* 0, FILE_DONE_CHANGED, FILE_DONE_REPLACED or a libuv error */
  const char *step; /* the operation that failed: "stat", "rename"... */
  const char *dest; /* moves: where the file went or was going; or NULL */
} file_done_result_t;

/* `result` and its strings are borrowed for the call. */
typedef void (*file_done_cb)(void *data, const file_done_result_t *result);

/* Starts the action on `path` (copied, as is `done_dir`), which was read
 * as `version` (copied). Returns 0, and `cb` is then called exactly once
 * from the loop; or PL_ENOMEM, and `cb` is never called. The request
 * keeps the loop alive until then. */
int file_done_start(uv_loop_t *loop, file_done_action_t action,
                    const char *path, const file_done_version_t *version,
                    const char *done_dir, file_done_cb cb, void *data);

#endif
