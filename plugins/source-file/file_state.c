/* Sorted sets of files and the state file of source-file. */
#include "file_state.h"

#include <stdlib.h>
#include <string.h>

#include <pipelined/state_file.h>

#define STATE_HEADER "pipelined source-file state 1"

typedef struct file_item {
  char *path;
  uint64_t size;
  int64_t mtime_ns;
  bool marked;
} file_item_t;

struct file_state {
  pl_state_file_t *file; /* owned and locked; NULL: in memory only */
  file_item_t *items;    /* sorted by path (strcmp) */
  size_t count;
  size_t cap;
};

/* Returns PL_ENOMEM, with the message in *error when `error` is not NULL. */
static int out_of_memory(char **error) {
  if (error)
    *error = strdup("out of memory");
  return PL_ENOMEM;
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
  return state->file ? pl_state_file_path(state->file) : NULL;
}

size_t file_state_count(const file_state_t *state) {
  return state->count;
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
  char *path = NULL;
  int rc = pl_state_unescape(p, (size_t)(end - p), &path);
  if (rc < 0 || path[0] != '/') {
    free(path);
    return rc < 0 ? rc : PL_EPARSE;
  }
  int64_t mtime_ns = negative ? -(int64_t)mtime : (int64_t)mtime;
  rc = file_state_put(state, path, size, mtime_ns);
  free(path);
  return rc;
}

/* The first line is the header, each other one a file. */
static int load_line(void *arg, size_t number, const char *line, size_t len,
                     const char **what) {
  if (number > 1)
    return parse_line(arg, line, len, what);
  if (len == strlen(STATE_HEADER) && memcmp(line, STATE_HEADER, len) == 0)
    return 0;
  *what =
      "not a source-file state file (the first line should be \"" STATE_HEADER
      "\")";
  return PL_EPARSE;
}

int file_state_create(const char *file, file_state_t **out, char **error) {
  file_state_t *state = calloc(1, sizeof(*state));
  if (!state)
    return out_of_memory(error);
  int rc = pl_state_file_open_load_headed(file, load_line, state, &state->file,
                                          error);
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
  pl_state_file_close(state->file);
  free(state);
}

/* ---- Saving ---- */

/* The whole file: the header, then one line per file. */
/* pl_state_render_cb */
static int render(const void *data, pl_buf_t *text) {
  const file_state_t *state = data;
  int rc = pl_buf_printf(text, "%s\n", STATE_HEADER);
  for (size_t i = 0; rc == 0 && i < state->count; i++) {
    const file_item_t *item = &state->items[i];
    rc = pl_buf_printf(text, "%llu %lld ", (unsigned long long)item->size,
                       (long long)item->mtime_ns);
    if (rc == 0)
      rc = pl_state_escape(item->path, NULL, text);
    if (rc == 0)
      rc = pl_buf_append_str(text, "\n");
  }
  return rc;
}

int file_state_save(const file_state_t *state, char **error) {
  return pl_state_file_write_state(state->file, render, state, error);
}

int file_state_save_async(const file_state_t *state, uv_loop_t *loop) {
  return pl_state_file_save_state(state->file, loop, render, state);
}

pl_state_file_t *file_state_owner(const file_state_t *state) {
  return state->file;
}
