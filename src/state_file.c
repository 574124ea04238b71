/* State files: atomic replacement, whole-file reads, the line loop and the
 * percent-escaping of text fields, shared by every plugin that keeps one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipelined/state_file.h>

static void set_error(char **error, const char *fmt, ...) PL_PRINTF(2, 3);

static void set_error(char **error, const char *fmt, ...) {
  if (!error)
    return;
  pl_buf_t text = {0};
  va_list ap;
  va_start(ap, fmt);
  if (pl_buf_vprintf(&text, fmt, ap) < 0)
    pl_buf_free(&text);
  va_end(ap);
  *error = text.data;
}

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

/* Writes the bytes to a new file at `path` and syncs it. Returns 0 or an
 * errno value, with the failed step in *step. */
static int write_synced(const char *path, const void *bytes, size_t len,
                        const char **step) {
  *step = "create";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  int err = 0;
  if (write_all(fd, bytes, len) != 0) {
    *step = "write";
    err = errno;
  } else if (fsync(fd) != 0) {
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

int pl_state_file_write(const char *path, const void *bytes, size_t len,
                        char **error) {
  pl_buf_t tmp = {0};
  if (pl_buf_printf(&tmp, "%s.tmp", path) < 0) {
    set_error(error, "out of memory");
    return PL_ENOMEM;
  }
  const char *step = NULL;
  int err = write_synced(tmp.data, bytes, len, &step);
  if (err != 0) {
    set_error(error, "cannot %s %s: %s", step, tmp.data, strerror(err));
    unlink(tmp.data);
  } else if (rename(tmp.data, path) != 0) {
    err = errno;
    set_error(error, "cannot rename %s to %s: %s", tmp.data, path,
              strerror(err));
    unlink(tmp.data);
  } else if ((err = sync_directory_of(path)) != 0) {
    set_error(error, "cannot fsync the directory of %s: %s", path,
              strerror(err));
  }
  pl_buf_free(&tmp);
  return err == 0 ? 0 : PL_EIO;
}

/* ---- Reading ---- */

int pl_state_file_read(const char *path, pl_buf_t *out, char **error) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0; /* the first run */
    set_error(error, "cannot read state file %s: %s", path, strerror(errno));
    return PL_EIO;
  }
  int rc = 0;
  for (;;) {
    if ((rc = pl_buf_reserve(out, 8192)) < 0) {
      set_error(error, "out of memory");
      break;
    }
    ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      set_error(error, "cannot read state file %s: %s", path, strerror(errno));
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

int pl_state_file_load(const char *path, pl_state_line_cb on_line, void *arg,
                       char **error) {
  pl_buf_t text = {0};
  int rc = pl_state_file_read(path, &text, error);
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
      set_error(error, "out of memory");
    else if (rc < 0)
      set_error(error, "state file %s:%zu: %s", path, number,
                reason ? reason : pl_strerror(rc));
    pos += len + 1;
  }
  pl_buf_free(&text);
  return rc;
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

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
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
      int hi = i + 2 < len ? hex_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
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
