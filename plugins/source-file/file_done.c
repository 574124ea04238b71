/* Moving or deleting committed files: a small state machine of uv_fs_*
 * requests (HACKING.md#s7), one request in flight at a time. */
#include "file_done.h"

#include <stdlib.h>
#include <string.h>

/* How many "name.N" are tried before a move gives up. */
#define FILE_DONE_MAX_SUFFIX 1000

typedef struct file_done {
  uv_fs_t req;
  uv_loop_t *loop;
  file_done_action_t action;
  char *path;
  char *done_dir;
  const char *base; /* in path */
  file_done_version_t version; /* as read */
  unsigned suffix; /* of the destination being tried */
  pl_buf_t dest;
  file_done_cb cb;
  void *data;
  int copy_error; /* a failed copy is reported after its cleanup */
} file_done_t;

static void finish(file_done_t *op, int status, const char *step) {
  file_done_result_t result = {
      .status = status,
      .step = step,
      .dest =
          op->action == FILE_DONE_MOVE && op->dest.data ? op->dest.data : NULL,
  };
  op->cb(op->data, &result);
  pl_buf_free(&op->dest);
  free(op->path);
  free(op->done_dir);
  free(op);
}

static void on_dest_stat(uv_fs_t *req);
static void on_unlinked(uv_fs_t *req);

/* Starts `rc` = uv_fs_xxx(...): an immediate error finishes the op. */
static void started(file_done_t *op, int rc, const char *step) {
  if (rc < 0)
    finish(op, rc, step);
}

static void try_destination(file_done_t *op) {
  pl_buf_reset(&op->dest);
  int rc = op->suffix == 0
               ? pl_buf_printf(&op->dest, "%s/%s", op->done_dir, op->base)
               : pl_buf_printf(&op->dest, "%s/%s.%u", op->done_dir, op->base,
                               op->suffix);
  if (rc < 0) {
    finish(op, UV_ENOMEM, "find a free name");
    return;
  }
  started(op, uv_fs_lstat(op->loop, &op->req, op->dest.data, on_dest_stat),
          "lstat");
}

static void unlink_source(file_done_t *op) {
  started(op, uv_fs_unlink(op->loop, &op->req, op->path, on_unlinked),
          "unlink");
}

static void on_copy_cleaned(uv_fs_t *req) {
  file_done_t *op = req->data;
  uv_fs_req_cleanup(req);
  finish(op, op->copy_error, "copy");
}

static void on_copied(uv_fs_t *req) {
  file_done_t *op = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  if (rc >= 0) {
    unlink_source(op);
    return;
  }
  /* Remove a partial copy (never a file someone else put there); the
   * source stays where it is. */
  op->copy_error = rc;
  if (rc == UV_EEXIST ||
      uv_fs_unlink(op->loop, &op->req, op->dest.data, on_copy_cleaned) < 0)
    finish(op, rc, "copy");
}

static void on_renamed(uv_fs_t *req) {
  file_done_t *op = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  if (rc == UV_EXDEV) {
    started(op,
            uv_fs_copyfile(op->loop, &op->req, op->path, op->dest.data,
                           UV_FS_COPYFILE_EXCL, on_copied),
            "copy");
    return;
  }
  finish(op, rc < 0 ? rc : 0, "rename");
}

static void on_dest_stat(uv_fs_t *req) {
  file_done_t *op = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  if (rc == 0) {
    /* Taken: never replace a file in done_dir. */
    if (++op->suffix > FILE_DONE_MAX_SUFFIX) {
      finish(op, UV_EEXIST, "find a free name");
      return;
    }
    try_destination(op);
    return;
  }
  if (rc != UV_ENOENT) {
    finish(op, rc, "lstat");
    return;
  }
  started(op,
          uv_fs_rename(op->loop, &op->req, op->path, op->dest.data, on_renamed),
          "rename");
}

static void on_unlinked(uv_fs_t *req) {
  file_done_t *op = req->data;
  int rc = (int)req->result;
  uv_fs_req_cleanup(req);
  finish(op, rc < 0 ? rc : 0, "unlink");
}

static void on_source_stat(uv_fs_t *req) {
  file_done_t *op = req->data;
  int rc = (int)req->result;
  uv_stat_t st = req->statbuf;
  uv_fs_req_cleanup(req);
  if (rc < 0) {
    finish(op, rc, "stat");
    return;
  }
  int64_t mtime_ns =
      (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  if (st.st_size != op->version.size || mtime_ns != op->version.mtime_ns) {
    finish(op, FILE_DONE_CHANGED, "stat");
    return;
  }
  if (st.st_dev != op->version.dev || st.st_ino != op->version.ino) {
    finish(op, FILE_DONE_REPLACED, "stat");
    return;
  }
  if (op->action == FILE_DONE_DELETE)
    unlink_source(op);
  else
    try_destination(op);
}

int file_done_start(uv_loop_t *loop, file_done_action_t action,
                    const char *path, const file_done_version_t *version,
                    const char *done_dir, file_done_cb cb, void *data) {
  file_done_t *op = calloc(1, sizeof(*op));
  if (!op)
    return PL_ENOMEM;
  *op = (file_done_t){.loop = loop,
                      .action = action,
                      .path = strdup(path),
                      .done_dir = done_dir ? strdup(done_dir) : NULL,
                      .version = *version,
                      .cb = cb,
                      .data = data};
  if (!op->path || (done_dir && !op->done_dir) ||
      (action == FILE_DONE_MOVE && !done_dir)) {
    free(op->path);
    free(op->done_dir);
    free(op);
    return done_dir || action != FILE_DONE_MOVE ? PL_ENOMEM : PL_EINVAL;
  }
  op->base = strrchr(op->path, '/') ? strrchr(op->path, '/') + 1 : op->path;
  op->req.data = op;
  int rc = uv_fs_stat(loop, &op->req, op->path, on_source_stat);
  if (rc < 0) {
    free(op->path);
    free(op->done_dir);
    free(op);
    return PL_EIO;
  }
  return 0;
}
