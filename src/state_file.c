/* State files: atomic replacement, whole-file reads, the line loop and the
 * percent-escaping of text fields, shared by every plugin that keeps one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pipelined/state_file.h>

struct pl_state_file {
  char *path;
  char *lock_path;
  int lock_fd; /* open, and flock()ed, for the life of the object */
  pl_state_write_fn write;
  void *write_arg;
  pl_state_saved_cb on_saved;
  void *on_saved_arg;
  /* Asynchronous saves: at most one write in flight, and the latest state
   * asked for meanwhile, which is written after it. */
  uv_loop_t *loop;
  uv_work_t work;
  bool in_flight;
  pl_buf_t writing; /* the bytes of the write in flight */
  int write_rc;     /* set on the thread pool, read in after_write */
  char *write_error;
  pl_buf_t next;
  bool has_next;
  bool closing; /* closed by its owner while a write was in flight */
};

/* ---- Writing ---- */

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Writes the bytes to a new temporary file beside `path` and syncs it; its
 * name goes to *tmp. mkstemp() picks a name nobody could have planted a
 * symlink at, and creates the file with O_EXCL: a fixed "<path>.tmp" in a
 * shared directory would let anyone redirect the write. Returns 0 or an
 * errno value, with the failed step in *step; *created tells whether the
 * temporary file exists (and is to be removed on failure). */
static int write_temp(const char *path, const void *bytes, size_t len,
                      bool sync, pl_buf_t *tmp, const char **step,
                      bool *created) {
  *step = "create a temporary file for";
  *created = false;
  if (pl_buf_printf(tmp, "%s.XXXXXX", path) < 0)
    return ENOMEM;
  int fd = mkstemp(tmp->data);
  if (fd < 0)
    return errno;
  *created = true;
  int err = 0;
  /* mkstemp() makes the file 0600; a state file is no secret and was
   * always readable by others. */
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fchmod(fd, 0644) != 0) {
    *step = "set up";
    err = errno;
  } else if (write_all(fd, bytes, len) != 0) {
    *step = "write";
    err = errno;
  } else if (sync && fsync(fd) != 0) {
    *step = "fsync";
    err = errno;
  }
  if (close(fd) != 0 && err == 0) {
    *step = "close";
    err = errno;
  }
  return err;
}

/* The rename is durable only once the directory is synced. Returns 0 or
 * an errno value. */
static int sync_directory_of(const char *file) {
  const char *slash = strrchr(file, '/');
  char *dir = slash == file ? strdup("/")
              : slash       ? strndup(file, (size_t)(slash - file))
                            : strdup(".");
  if (!dir)
    return ENOMEM;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0)
    return errno;
  int err = fsync(fd) != 0 ? errno : 0;
  close(fd);
  return err;
}

static int write_state(const char *path, const void *bytes, size_t len,
                       bool sync, char **error) {
  pl_buf_t tmp = {0};
  const char *step = NULL;
  bool created = false;
  int err = write_temp(path, bytes, len, sync, &tmp, &step, &created);
  if (err == ENOMEM && !tmp.data) {
    pl_error_set(error, "out of memory");
    return PL_ENOMEM;
  }
  if (err != 0 && created) {
    pl_error_set(error, "cannot %s %s: %s", step, tmp.data, strerror(err));
    unlink(tmp.data);
  } else if (err != 0) {
    /* Before the file exists its name is only a template: name the state
     * file instead. */
    pl_error_set(error, "cannot %s %s: %s", step, path, strerror(err));
  } else if (rename(tmp.data, path) != 0) {
    err = errno;
    pl_error_set(error, "cannot rename %s to %s: %s", tmp.data, path,
              strerror(err));
    unlink(tmp.data);
  } else if (sync && (err = sync_directory_of(path)) != 0) {
    pl_error_set(error, "cannot fsync the directory of %s: %s", path,
              strerror(err));
  }
  pl_buf_free(&tmp);
  return err == 0 ? 0 : PL_EIO;
}

int pl_state_file_write(const char *path, const void *bytes, size_t len,
                        char **error) {
  return write_state(path, bytes, len, true, error);
}

int pl_state_file_write_unsynced(const char *path, const void *bytes,
                                 size_t len, char **error) {
  return write_state(path, bytes, len, false, error);
}

/* ---- Owning ---- */

static int default_write(void *arg, const char *path, const void *bytes,
                         size_t len, char **error) {
  (void)arg;
  return pl_state_file_write(path, bytes, len, error);
}

/* The PID the holder of `fd`'s lock wrote in it, or 0 when there is none
 * yet (it may be between its flock() and its write()). */
static long lock_holder(int fd) {
  char text[32] = {0};
  ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
  if (n <= 0)
    return 0;
  char *end = NULL;
  long pid = strtol(text, &end, 10);
  return end != text && *end == '\n' && pid > 0 ? pid : 0;
}

/* Writes "<our pid>\n" over the lock file's content, for the message a
 * second daemon prints. Returns 0 or an errno. */
static int write_holder(int fd) {
  char text[32];
  int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0)
    return errno;
  ssize_t done = pwrite(fd, text, (size_t)n, 0);
  return done == n ? 0 : done < 0 ? errno : EIO;
}

static int lock_failed(pl_state_file_t *file, char **error, int err) {
  if (err == EWOULDBLOCK) {
    long pid = lock_holder(file->lock_fd);
    if (pid > 0)
      pl_error_set(error,
                "state file %s is in use by another process: PID %ld holds "
                "%s (two sources, or two daemons, given the same state file)",
                file->path, pid, file->lock_path);
    else
      pl_error_set(error,
                "state file %s is in use by another process: it holds %s "
                "(two sources, or two daemons, given the same state file)",
                file->path, file->lock_path);
    return PL_EAGAIN;
  }
  pl_error_set(error, "cannot lock %s: %s", file->lock_path, strerror(err));
  return PL_EIO;
}

int pl_state_file_open(const char *path, pl_state_file_t **out,
                       char **error) {
  pl_state_file_t *file = calloc(1, sizeof(*file));
  pl_buf_t lock_path = {0};
  if (!file || !(file->path = strdup(path)) ||
      pl_buf_printf(&lock_path, "%s.lock", path) < 0) {
    pl_buf_free(&lock_path);
    if (file)
      free(file->path);
    free(file);
    pl_error_set(error, "out of memory");
    return PL_ENOMEM;
  }
  file->lock_path = lock_path.data;
  file->lock_fd = -1;
  file->write = default_write;
  int err = pl_make_dirs(path, true);
  if (err != 0) {
    pl_error_set(error, "cannot create the directory of state file %s: %s",
              path, strerror(err));
    pl_state_file_close(file);
    return PL_EIO;
  }
  *out = file;
  return 0;
}

/* Removes the temporary files "<path>.XXXXXX" that a process killed in
 * the middle of a save left beside the state file. Only the holder of the
 * lock writes there, so none of them is in use. */
static void remove_leftovers(const char *path) {
  char *dir_path = strdup(path);
  if (!dir_path)
    return;
  char *slash = strrchr(dir_path, '/');
  const char *base = slash ? slash + 1 : path;
  if (slash)
    *slash = '\0';
  size_t base_len = strlen(base);
  DIR *dir = opendir(slash ? (*dir_path ? dir_path : "/") : ".");
  struct dirent *entry;
  while (dir && (entry = readdir(dir))) {
    const char *name = entry->d_name;
    if (strlen(name) != base_len + 7 || strncmp(name, base, base_len) != 0 ||
        name[base_len] != '.' ||
        strspn(name + base_len + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "abcdefghijklmnopqrstuvwxyz0123456789") != 6)
      continue;
    pl_buf_t leftover = {0};
    struct stat st;
    /* Regular files only: mkstemp() made nothing else. */
    if (pl_buf_printf(&leftover, "%s.%s", path, name + base_len + 1) == 0 &&
        lstat(leftover.data, &st) == 0 && S_ISREG(st.st_mode))
      unlink(leftover.data);
    pl_buf_free(&leftover);
  }
  if (dir)
    closedir(dir);
  free(dir_path);
}

int pl_state_file_lock(pl_state_file_t *file, char **error) {
  if (!file || file->lock_fd >= 0)
    return 0;
  int rc = 0, err = 0;
  /* O_NOFOLLOW: a planted symlink is refused, not followed. */
  file->lock_fd = open(file->lock_path,
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (file->lock_fd < 0) {
    pl_error_set(error, "cannot open %s: %s", file->lock_path, strerror(errno));
    rc = PL_EIO;
  } else if (flock(file->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    rc = lock_failed(file, error, errno);
  } else if ((err = write_holder(file->lock_fd)) != 0) {
    pl_error_set(error, "cannot write %s: %s", file->lock_path, strerror(err));
    rc = PL_EIO;
  } else {
    remove_leftovers(file->path);
  }
  if (rc < 0 && file->lock_fd >= 0) {
    close(file->lock_fd);
    file->lock_fd = -1;
  }
  return rc;
}

const char *pl_state_file_path(const pl_state_file_t *file) {
  return file->path;
}

static void file_free(pl_state_file_t *file) {
  /* The lock file stays: were it removed, a process that opened it just
   * before could lock the removed file while a third one locks a new file
   * of the same name, and both would think they own the state. */
  if (file->lock_fd >= 0)
    close(file->lock_fd);
  pl_buf_free(&file->writing);
  pl_buf_free(&file->next);
  free(file->write_error);
  free(file->lock_path);
  free(file->path);
  free(file);
}

void pl_state_file_close(pl_state_file_t *file) {
  if (!file)
    return;
  /* A write in flight still uses the object, and the state asked for last
   * must still reach the disk: after_write() frees it when done. */
  if (file->in_flight) {
    file->closing = true;
    return;
  }
  file_free(file);
}

/* ---- Saving without blocking the loop ---- */

void pl_state_file_set_writer(pl_state_file_t *file, pl_state_write_fn write,
                              void *arg) {
  file->write = write ? write : default_write;
  file->write_arg = write ? arg : NULL;
}

void pl_state_file_on_saved(pl_state_file_t *file, pl_state_saved_cb cb,
                            void *arg) {
  file->on_saved = cb;
  file->on_saved_arg = arg;
}

bool pl_state_file_saving(const pl_state_file_t *file) {
  return file->in_flight || file->has_next;
}

/* On the thread pool: the fsyncs and the rename. */
static void do_write(uv_work_t *req) {
  pl_state_file_t *file = req->data;
  file->write_rc = file->write(file->write_arg, file->path, file->writing.data,
                               file->writing.len, &file->write_error);
}

static void after_write(uv_work_t *req, int status);

static int start_write(pl_state_file_t *file) {
  file->work.data = file;
  file->write_rc = 0;
  file->write_error = NULL;
  if (uv_queue_work(file->loop, &file->work, do_write, after_write) != 0)
    return PL_EIO;
  file->in_flight = true;
  return 0;
}

static void after_write(uv_work_t *req, int status) {
  pl_state_file_t *file = req->data;
  file->in_flight = false;
  int rc = status == UV_ECANCELED ? PL_ECANCELED : file->write_rc;
  char *error = file->write_error;
  file->write_error = NULL;
  if (file->has_next) {
    /* The latest state asked for while this one was written. */
    pl_buf_t done = file->writing;
    file->writing = file->next;
    file->next = done;
    pl_buf_reset(&file->next);
    file->has_next = false;
    if (start_write(file) < 0 && rc == 0) {
      rc = PL_EIO;
      free(error);
      error = NULL;
    }
  }
  if (file->closing) {
    free(error);
    if (!file->in_flight)
      file_free(file);
    return;
  }
  pl_state_saved_cb cb = file->on_saved;
  void *arg = file->on_saved_arg;
  /* Last: the callback may close the file. */
  if (cb)
    cb(arg, rc, rc < 0 ? (error ? error : pl_strerror(rc)) : NULL);
  free(error);
}

int pl_state_file_save(pl_state_file_t *file, uv_loop_t *loop,
                       const void *bytes, size_t len) {
  if (!file || !loop || file->closing || (!bytes && len > 0))
    return PL_EINVAL;
  file->loop = loop;
  /* Copied aside first: out of memory must leave a state waiting for its
   * turn as it was, not empty (it would be written as an empty state). */
  pl_buf_t copy = {0};
  /* Reserve even for no bytes: an empty state is written as one. */
  if (pl_buf_reserve(&copy, len + 1) < 0 ||
      (len > 0 && pl_buf_append(&copy, bytes, len) < 0)) {
    pl_buf_free(&copy);
    return PL_ENOMEM;
  }
  pl_buf_t *into = file->in_flight ? &file->next : &file->writing;
  pl_buf_free(into);
  *into = copy;
  if (file->in_flight) {
    file->has_next = true; /* replaces a state not written yet */
    return 0;
  }
  return start_write(file);
}

/* ---- Reading ---- */

/* pl_state_file_read(); *found tells a missing file from an empty one. */
static int read_file(const char *path, pl_buf_t *out, bool *found,
                     char **error) {
  *found = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0; /* the first run */
    pl_error_set(error, "cannot read state file %s: %s", path, strerror(errno));
    return PL_EIO;
  }
  *found = true;
  int rc = 0;
  for (;;) {
    if ((rc = pl_buf_reserve(out, 8192)) < 0) {
      pl_error_set(error, "out of memory");
      break;
    }
    ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      pl_error_set(error, "cannot read state file %s: %s", path, strerror(errno));
      rc = PL_EIO;
    }
    if (n <= 0)
      break;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
  }
  close(fd);
  return rc;
}

int pl_state_file_read(const char *path, pl_buf_t *out, char **error) {
  bool found;
  return read_file(path, out, &found, error);
}

/* pl_state_file_load(); with `headed`, a file that exists without a line
 * is refused. */
static int load(const char *path, bool headed, pl_state_line_cb on_line,
                void *arg, char **error) {
  pl_buf_t text = {0};
  bool found = false;
  int rc = read_file(path, &text, &found, error);
  if (rc == 0 && headed && found && text.len == 0) {
    pl_error_set(error,
                 "state file %s:1: the first line (the header) is "
                 "missing",
                 path);
    rc = PL_EPARSE;
  }
  size_t number = 0;
  for (size_t pos = 0; rc == 0 && pos < text.len;) {
    const char *line = text.data + pos;
    const char *nl = memchr(line, '\n', text.len - pos);
    size_t len = nl ? (size_t)(nl - line) : 0;
    const char *reason = NULL;
    number++;
    if (nl) {
      rc = on_line(arg, number, line, len, &reason);
    } else {
      reason = "the last line is incomplete";
      rc = PL_EPARSE;
    }
    if (rc == PL_ENOMEM)
      pl_error_set(error, "out of memory");
    else if (rc < 0)
      pl_error_set(error, "state file %s:%zu: %s", path, number,
                reason ? reason : pl_strerror(rc));
    pos += len + 1;
  }
  pl_buf_free(&text);
  return rc;
}

int pl_state_file_load(const char *path, pl_state_line_cb on_line, void *arg,
                       char **error) {
  return load(path, false, on_line, arg, error);
}

static int open_load(const char *path, bool headed, pl_state_line_cb on_line,
                     void *arg, pl_state_file_t **out, char **error) {
  *out = NULL;
  if (!path)
    return 0;
  pl_state_file_t *file = NULL;
  int rc = pl_state_file_open(path, &file, error);
  if (rc == 0 && (rc = load(path, headed, on_line, arg, error)) < 0)
    pl_state_file_close(file);
  else if (rc == 0)
    *out = file;
  return rc;
}

int pl_state_file_open_load(const char *path, pl_state_line_cb on_line,
                            void *arg, pl_state_file_t **out, char **error) {
  return open_load(path, false, on_line, arg, out, error);
}

int pl_state_file_open_load_headed(const char *path, pl_state_line_cb on_line,
                                   void *arg, pl_state_file_t **out,
                                   char **error) {
  return open_load(path, true, on_line, arg, out, error);
}

/* ---- Escaping ---- */

int pl_state_escape(const char *text, const char *also, pl_buf_t *out) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    bool escape =
        *p == '%' || *p < 0x20 || *p == 0x7f || (also && strchr(also, *p));
    char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
    int rc = escape ? pl_buf_append(out, escaped, 3) : pl_buf_append(out, p, 1);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int pl_state_unescape(const char *text, size_t len, char **out) {
  char *s = malloc(len + 1);
  if (!s)
    return PL_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    int byte = c;
    if (c == '%') {
      int hi = i + 2 < len ? pl_hex_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? pl_hex_value(text[i + 2]) : -1;
      byte = lo >= 0 ? hi * 16 + lo : -1;
      i += 2;
    } else if (c < 0x20 || c == 0x7f) {
      byte = -1;
    }
    if (byte <= 0) { /* also refuses %00: the result is a C string */
      free(s);
      return PL_EPARSE;
    }
    s[n++] = (char)byte;
  }
  s[n] = '\0';
  *out = s;
  return 0;
}

int pl_state_file_save_state(pl_state_file_t *file, uv_loop_t *loop,
                             pl_state_render_cb render, const void *state) {
  if (!file)
    return 0;
  pl_buf_t text = {0};
  int rc = render(state, &text);
  if (rc == 0)
    rc = pl_state_file_save(file, loop, text.data, text.len);
  pl_buf_free(&text);
  return rc;
}

int pl_state_file_write_state(pl_state_file_t *file, pl_state_render_cb render,
                              const void *state, char **error) {
  if (error)
    *error = NULL;
  if (!file)
    return 0;
  pl_buf_t text = {0};
  int rc = render(state, &text);
  if (rc == 0) {
    rc = pl_state_file_write(file->path, text.data, text.len, error);
  } else if (error) {
    *error = strdup("out of memory");
  }
  pl_buf_free(&text);
  return rc;
}
