/* credential_process: the credentials a profile's command prints. */
#include "creds_process.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef struct process_op {
  pl__creds_op_t op;
  uv_process_t process;
  uv_pipe_t out;
  uv_timer_t timer;
  int open_handles;   /* closed ones are counted down; freed at 0 */
  pl_secret_t *text;  /* standard output: secret */
  size_t len;         /* bytes of it read */
  char *source;       /* "profile prod (credential_process)" */
  pid_t pid;          /* of the shell, and of its process group */
  uint64_t timeout_ms;
  bool exited;
  int64_t exit_status;
  int term_signal;
  bool eof;
  bool too_large;
  bool timed_out;
  bool canceled;
  bool finished; /* the callback ran */
} process_op_t;

static void op_free(process_op_t *op) {
  pl__secret_free(op->text);
  free(op->source);
  free(op);
}

static void on_closed(uv_handle_t *handle) {
  process_op_t *op = handle->data;
  if (--op->open_handles == 0)
    op_free(op);
}

static void close_handle(process_op_t *op, uv_handle_t *handle) {
  (void)op;
  if (!uv_is_closing(handle))
    uv_close(handle, on_closed);
}

/* Closes the pipe and the timer, and the process handle once the process
 * has exited (closing it earlier would leave a zombie: libuv reaps only
 * the children of open handles). */
static void close_all(process_op_t *op) {
  close_handle(op, (uv_handle_t *)&op->out);
  close_handle(op, (uv_handle_t *)&op->timer);
  if (op->exited)
    close_handle(op, (uv_handle_t *)&op->process);
}

/* Runs the callback once, when the process has exited and its output is
 * read (or the run was given up), then closes everything. */
static void maybe_finish(process_op_t *op) {
  bool given_up = op->canceled || op->timed_out || op->too_large;
  if (op->finished || !(given_up || (op->exited && op->eof)))
    return;
  /* The command's whole process group: a shell killed alone leaves what
   * it started (a helper, a `sleep`) running, reparented to init, and
   * holding the pipe open. Once the command exited and its output ended,
   * nothing of it is left to kill, and the group's id may be reused. */
  if (given_up && !(op->exited && op->eof))
    kill(-op->pid, SIGKILL);
  op->finished = true;
  pl__creds_result_t result = {0};
  int rc = 0;
  if (op->canceled)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED, "canceled");
  else if (op->timed_out)
    rc = op->timeout_ms % 1000 == 0
             ? pl__creds_result_set(&result, PL__CREDS_FAILED,
                                    "credential_process gave no answer within "
                                    "%llu s (killed)",
                                    (unsigned long long)op->timeout_ms / 1000)
             : pl__creds_result_set(&result, PL__CREDS_FAILED,
                                    "credential_process gave no answer within "
                                    "%llu ms (killed)",
                                    (unsigned long long)op->timeout_ms);
  else if (op->too_large)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED,
                              "credential_process printed more than %d bytes "
                              "(killed)",
                              PL_CREDS_PROCESS_MAX_OUTPUT);
  else if (op->term_signal)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED,
                              "credential_process was killed by signal %d",
                              op->term_signal);
  else if (op->exit_status != 0)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED,
                              "credential_process exited with status %lld "
                              "(its standard error says why)",
                              (long long)op->exit_status);
  else {
    static const pl__creds_json_shape_t shape = {.token = "SessionToken",
                                                 .version_1 = true};
    rc = pl__creds_from_json_shaped(pl__secret_str(op->text), op->len,
                                    "credential_process", op->source, &shape,
                                    &result);
  }
  if (rc == PL_ENOMEM && !result.reason && !result.set)
    result.outcome = PL__CREDS_FAILED;
  close_all(op);
  op->op.cb(op->op.data, &result);
}

static void on_exit_cb(uv_process_t *process, int64_t status, int signal) {
  process_op_t *op = process->data;
  op->exited = true;
  op->exit_status = status;
  op->term_signal = signal;
  if (op->finished) /* given up and killed: now it can be closed */
    close_handle(op, (uv_handle_t *)&op->process);
  else
    maybe_finish(op);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  process_op_t *op = handle->data;
  (void)suggested;
  /* One byte is left for the terminating NUL the secret keeps. */
  size_t room = PL_CREDS_PROCESS_MAX_OUTPUT - op->len;
  *buf = uv_buf_init(pl__secret_data(op->text) + op->len, (unsigned)room);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  process_op_t *op = stream->data;
  (void)buf;
  if (nread > 0) {
    op->len += (size_t)nread;
    if (op->len >= PL_CREDS_PROCESS_MAX_OUTPUT)
      op->too_large = true;
  } else if (nread < 0) {
    op->eof = true; /* UV_EOF or an error: nothing more comes */
    uv_read_stop(stream);
  }
  maybe_finish(op);
}

static void on_timeout(uv_timer_t *timer) {
  process_op_t *op = timer->data;
  op->timed_out = true;
  maybe_finish(op);
}

static void process_cancel(pl__creds_op_t *base) {
  process_op_t *op = (process_op_t *)base;
  op->canceled = true;
  maybe_finish(op);
}

int pl__creds_process_start(const pl__creds_ctx_t *ctx, const char *command,
                            const char *source, pl__creds_result_t *result,
                            pl__creds_done_cb cb, void *data,
                            pl__creds_op_t **out) {
  *out = NULL;
  process_op_t *op = calloc(1, sizeof(*op));
  if (!op || !(op->source = strdup(source)) ||
      pl__secret_alloc(PL_CREDS_PROCESS_MAX_OUTPUT, &op->text) < 0) {
    if (op)
      op_free(op);
    return PL_ENOMEM;
  }
  op->op = (pl__creds_op_t){.cancel = process_cancel, .cb = cb, .data = data};
  op->timeout_ms = ctx->process_timeout_ms ? ctx->process_timeout_ms
                                           : PL_CREDS_PROCESS_TIMEOUT_MS;
  uv_pipe_init(ctx->loop, &op->out, 0);
  uv_timer_init(ctx->loop, &op->timer);
  op->out.data = op->timer.data = op->process.data = op;
  op->open_handles = 3;
  /* As the AWS CLI does on POSIX systems: the command line goes to the
   * shell, the daemon's environment is inherited, standard error is the
   * daemon's, and standard output (the credentials) is only parsed. */
  char *args[] = {"/bin/sh", "-c", (char *)command, NULL};
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
       .data.stream = (uv_stream_t *)&op->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2},
  };
  /* Detached: in a process group (and session) of its own, which a
   * timeout or a cancel kills whole. */
  uv_process_options_t options = {.exit_cb = on_exit_cb,
                                  .file = args[0],
                                  .args = args,
                                  .flags = UV_PROCESS_DETACHED,
                                  .stdio_count = 3,
                                  .stdio = stdio};
  int err = uv_spawn(ctx->loop, &op->process, &options);
  if (err == 0) {
    op->pid = op->process.pid;
    uv_read_start((uv_stream_t *)&op->out, on_alloc, on_read);
    uv_timer_start(&op->timer, on_timeout, op->timeout_ms, 0);
    *out = &op->op;
    return PL_EAGAIN;
  }
  /* A failed spawn leaves the handle to be closed, with no child. */
  op->finished = true;
  op->exited = true;
  close_all(op);
  return pl__creds_result_set(result, PL__CREDS_FAILED,
                              "cannot run credential_process: %s",
                              uv_strerror(err));
}
