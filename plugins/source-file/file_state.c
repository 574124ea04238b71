/* Sorted sets of files and the state file of source-file. */
#include "file_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_HEADER "pipelined source-file state 1"

typedef struct file_item {
  char *path;
  uint64_t size;
  int64_t mtime_ns;
  bool marked;
} file_item_t;

struct file_state {
  char *file;         /* NULL: in memory only */
  file_item_t *items; /* sorted by path (strcmp) */
  size_t count;
  size_t cap;
};

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

/* Index of `path`, or of where it would be inserted (*found false). */
static size_t position(const file_state_t *state, const char *path,
                       bool *found) {
  size_t lo = 0, hi = state->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(state->items[mid].path, path);
    if (cmp == 0) {
      *found = true;
      return mid;
    }
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

bool file_state_find(const file_state_t *state, const char *path,
                     uint64_t *found_size, int64_t *found_mtime_ns) {
  bool found;
  size_t i = position(state, path, &found);
  if (!found)
    return false;
  if (found_size)
    *found_size = state->items[i].size;
  if (found_mtime_ns)
    *found_mtime_ns = state->items[i].mtime_ns;
  return true;
}

bool file_state_has(const file_state_t *state, const char *path, uint64_t size,
                    int64_t mtime_ns) {
  uint64_t found_size;
  int64_t found_mtime;
  return file_state_find(state, path, &found_size, &found_mtime) &&
         found_size == size && found_mtime == mtime_ns;
}

int file_state_put(file_state_t *state, const char *path, uint64_t size,
                   int64_t mtime_ns) {
  bool found;
  size_t i = position(state, path, &found);
  if (found) {
    state->items[i].size = size;
    state->items[i].mtime_ns = mtime_ns;
    state->items[i].marked = true;
    return 0;
  }
  if (state->count == state->cap) {
    size_t cap = state->cap ? state->cap * 2 : 16;
    file_item_t *items = realloc(state->items, cap * sizeof(*items));
    if (!items)
      return PL_ENOMEM;
    state->items = items;
    state->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy)
    return PL_ENOMEM;
  memmove(&state->items[i + 1], &state->items[i],
          (state->count - i) * sizeof(*state->items));
  state->items[i] = (file_item_t){copy, size, mtime_ns, true};
  state->count++;
  return 0;
}

bool file_state_remove(file_state_t *state, const char *path) {
  bool found;
  size_t i = position(state, path, &found);
  if (!found)
    return false;
  free(state->items[i].path);
  memmove(&state->items[i], &state->items[i + 1],
          (state->count - i - 1) * sizeof(*state->items));
  state->count--;
  return true;
}

void file_state_unmark_all(file_state_t *state) {
  for (size_t i = 0; i < state->count; i++)
    state->items[i].marked = false;
}

void file_state_mark(file_state_t *state, const char *path) {
  bool found;
  size_t i = position(state, path, &found);
  if (found)
    state->items[i].marked = true;
}

size_t file_state_sweep(file_state_t *state) {
  size_t kept = 0;
  for (size_t i = 0; i < state->count; i++) {
    if (state->items[i].marked)
      state->items[kept++] = state->items[i];
    else
      free(state->items[i].path);
  }
  size_t removed = state->count - kept;
  state->count = kept;
  return removed;
}

const char *file_state_file(const file_state_t *state) {
  return state->file;
}

size_t file_state_count(const file_state_t *state) {
  return state->count;
}

/* ---- Encoding ---- */

static bool needs_escape(unsigned char c) {
  return c == '%' || c < 0x20 || c == 0x7f;
}

int file_state_encode_path(const char *path, pl_buf_t *out) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
    int rc = needs_escape(*p) ? pl_buf_append(out, escaped, 3)
                              : pl_buf_append(out, p, 1);
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

char *file_state_decode_path(const char *text, size_t len) {
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < len ? hex_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
      int byte = lo >= 0 ? hi * 16 + lo : -1;
      if (byte <= 0) { /* also refuses %00: paths hold no NUL */
        free(out);
        return NULL;
      }
      out[n++] = (char)byte;
      i += 2;
    } else if ((unsigned char)c < 0x20 || c == 0x7f) {
      free(out);
      return NULL;
    } else {
      out[n++] = c;
    }
  }
  out[n] = '\0';
  return out;
}

/* ---- Loading ---- */

static int parse_u64(const char **p, const char *end, uint64_t *out) {
  uint64_t value = 0;
  const char *s = *p;
  if (s == end || *s < '0' || *s > '9')
    return PL_EPARSE;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    unsigned digit = (unsigned)(*s - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return PL_ERANGE;
    value = value * 10 + digit;
  }
  *p = s;
  *out = value;
  return 0;
}

static int parse_line(file_state_t *state, const char *line, size_t len,
                      const char **what) {
  const char *p = line, *end = line + len;
  uint64_t size = 0, mtime = 0;
  bool negative = false;
  *what = "bad size";
  if (parse_u64(&p, end, &size) < 0 || p == end || *p++ != ' ')
    return PL_EPARSE;
  *what = "bad modification time";
  if (p < end && *p == '-') {
    negative = true;
    p++;
  }
  if (parse_u64(&p, end, &mtime) < 0 || mtime > (uint64_t)INT64_MAX ||
      p == end || *p++ != ' ')
    return PL_EPARSE;
  *what = "bad path";
  char *path = file_state_decode_path(p, (size_t)(end - p));
  if (!path || path[0] != '/') {
    free(path);
    return PL_EPARSE;
  }
  int64_t mtime_ns = negative ? -(int64_t)mtime : (int64_t)mtime;
  int rc = file_state_put(state, path, size, mtime_ns);
  free(path);
  *what = "out of memory";
  return rc;
}

static int load(file_state_t *state, char **error) {
  FILE *f = fopen(state->file, "rb");
  if (!f) {
    if (errno == ENOENT)
      return 0; /* the first run */
    set_error(error, "cannot read state file %s: %s", state->file,
              strerror(errno));
    return PL_EIO;
  }
  pl_buf_t text = {0};
  char chunk[8192];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if ((rc = pl_buf_append(&text, chunk, n)) < 0)
      break;
  if (rc == 0 && ferror(f)) {
    set_error(error, "cannot read state file %s: %s", state->file,
              strerror(errno));
    rc = PL_EIO;
  }
  fclose(f);
  const char *data = text.data ? text.data : "";
  size_t line_no = 0;
  for (size_t pos = 0; rc == 0 && pos < text.len;) {
    const char *nl = memchr(data + pos, '\n', text.len - pos);
    if (!nl) {
      set_error(error, "state file %s:%zu: the last line is incomplete",
                state->file, line_no + 1);
      rc = PL_EPARSE;
      break;
    }
    size_t len = (size_t)(nl - (data + pos));
    line_no++;
    if (line_no == 1) {
      if (len != strlen(STATE_HEADER) ||
          memcmp(data + pos, STATE_HEADER, len) != 0) {
        set_error(error,
                  "state file %s: not a source-file state file (the first "
                  "line should be \"%s\")",
                  state->file, STATE_HEADER);
        rc = PL_EPARSE;
      }
    } else {
      const char *what = NULL;
      if ((rc = parse_line(state, data + pos, len, &what)) < 0)
        set_error(error, "state file %s:%zu: %s", state->file, line_no, what);
    }
    pos += len + 1;
  }
  pl_buf_free(&text);
  return rc;
}

int file_state_create(const char *file, file_state_t **out, char **error) {
  file_state_t *state = calloc(1, sizeof(*state));
  if (!state || (file && !(state->file = strdup(file)))) {
    free(state);
    set_error(error, "out of memory");
    return PL_ENOMEM;
  }
  int rc = file ? load(state, error) : 0;
  if (rc < 0) {
    file_state_destroy(state);
    return rc;
  }
  *out = state;
  return 0;
}

void file_state_destroy(file_state_t *state) {
  if (!state)
    return;
  for (size_t i = 0; i < state->count; i++)
    free(state->items[i].path);
  free(state->items);
  free(state->file);
  free(state);
}

/* ---- Saving ---- */

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

/* The rename is durable only once the directory is synced. */
static int sync_directory_of(const char *file) {
  const char *slash = strrchr(file, '/');
  char *dir = slash == file ? strdup("/")
              : slash       ? strndup(file, (size_t)(slash - file))
                            : strdup(".");
  if (!dir)
    return -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Writes `text` to a new file at `path` and syncs it. Returns 0 or an
 * errno value, with the failed step in *step. */
static int write_synced(const char *path, const pl_buf_t *text,
                        const char **step) {
  *step = "create";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  int err = 0;
  if (write_all(fd, text->data, text->len) != 0) {
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

int file_state_save(const file_state_t *state, char **error) {
  if (!state->file)
    return 0;
  pl_buf_t text = {0};
  int rc = pl_buf_printf(&text, "%s\n", STATE_HEADER);
  for (size_t i = 0; rc == 0 && i < state->count; i++) {
    const file_item_t *item = &state->items[i];
    rc = pl_buf_printf(&text, "%llu %lld ", (unsigned long long)item->size,
                       (long long)item->mtime_ns);
    if (rc == 0)
      rc = file_state_encode_path(item->path, &text);
    if (rc == 0)
      rc = pl_buf_append_str(&text, "\n");
  }
  pl_buf_t tmp = {0};
  if (rc == 0)
    rc = pl_buf_printf(&tmp, "%s.tmp", state->file);
  if (rc < 0) {
    pl_buf_free(&text);
    pl_buf_free(&tmp);
    set_error(error, "out of memory");
    return PL_ENOMEM;
  }
  const char *step = NULL;
  int err = write_synced(tmp.data, &text, &step);
  if (err != 0) {
    set_error(error, "cannot %s %s: %s", step, tmp.data, strerror(err));
    unlink(tmp.data);
  } else if (rename(tmp.data, state->file) != 0) {
    err = errno;
    set_error(error, "cannot rename %s to %s: %s", tmp.data, state->file,
              strerror(err));
    unlink(tmp.data);
  } else if (sync_directory_of(state->file) != 0) {
    err = errno;
    set_error(error, "cannot fsync the directory of %s: %s", state->file,
              strerror(err));
  }
  pl_buf_free(&text);
  pl_buf_free(&tmp);
  return err == 0 ? 0 : PL_EIO;
}
