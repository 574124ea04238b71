/* Expansion of `paths`: stat, directory listing and glob(3). */
#include "file_scan.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

bool file_scan_is_glob(const char *entry) {
  return strpbrk(entry, "*?[") != NULL;
}

int file_scan_absolute(const char *path, const char *cwd, char **out) {
  pl_buf_t joined = {0};
  int rc = path[0] == '/' ? pl_buf_append_str(&joined, path)
                          : pl_buf_printf(&joined, "%s/%s", cwd, path);
  pl_buf_t norm = {0};
  const char *p = joined.data;
  while (rc == 0 && p && *p) {
    while (*p == '/')
      p++;
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0 && !(len == 1 && p[0] == '.')) {
      rc = pl_buf_append_str(&norm, "/");
      if (rc == 0)
        rc = pl_buf_append(&norm, p, len);
    }
    p += len;
  }
  if (rc == 0 && norm.len == 0)
    rc = pl_buf_append_str(&norm, "/");
  pl_buf_free(&joined);
  if (rc < 0) {
    pl_buf_free(&norm);
    return PL_ENOMEM;
  }
  *out = norm.data;
  return 0;
}

char *file_scan_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static int64_t mtime_ns_of(const struct stat *st) {
  return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Appends `path` (copied) to the results. */
static int add_file(file_scan_t *scan, const char *path,
                    const struct stat *st) {
  if (scan->count == scan->cap) {
    size_t cap = scan->cap ? scan->cap * 2 : 16;
    file_found_t *files = realloc(scan->files, cap * sizeof(*files));
    if (!files)
      return PL_ENOMEM;
    scan->files = files;
    scan->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy)
    return PL_ENOMEM;
  scan->files[scan->count++] =
      (file_found_t){copy, (uint64_t)st->st_size, mtime_ns_of(st),
                     (uint64_t)st->st_dev, (uint64_t)st->st_ino};
  return 0;
}

static int compare_found(const void *a, const void *b) {
  return strcmp(((const file_found_t *)a)->path,
                ((const file_found_t *)b)->path);
}

/* Adds `path` when it is a regular file (following symbolic links); files
 * that vanish or cannot be stat()ed meanwhile are skipped. */
static int add_if_regular(file_scan_t *scan, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  return add_file(scan, path, &st);
}

static int list_directory(file_scan_t *scan, const char *dir, int *status) {
  DIR *d = opendir(dir);
  if (!d) {
    *status = uv_translate_sys_error(errno);
    return 0;
  }
  pl_buf_t path = {0};
  int rc = 0;
  struct dirent *entry;
  while (rc == 0 && (entry = readdir(d))) {
    /* Hidden files are skipped: writers often create ".name.tmp" and
     * rename it into place when it is complete. */
    if (entry->d_name[0] == '.')
      continue;
    pl_buf_reset(&path);
    rc = pl_buf_printf(&path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
                       entry->d_name);
    if (rc == 0)
      rc = add_if_regular(scan, path.data);
  }
  closedir(d);
  pl_buf_free(&path);
  return rc;
}

static int expand_glob(file_scan_t *scan, const char *pattern) {
  glob_t g = {0};
  /* No GLOB_ERR: an unreadable directory on the way matches nothing. No
   * GLOB_TILDE: it would read the user database and the environment. */
  int grc = glob(pattern, GLOB_NOSORT, NULL, &g);
  int rc = grc == GLOB_NOSPACE ? PL_ENOMEM : 0;
  for (size_t i = 0; rc == 0 && grc == 0 && i < g.gl_pathc; i++)
    rc = add_if_regular(scan, g.gl_pathv[i]);
  globfree(&g);
  return rc;
}

static int scan_entry(file_scan_t *scan, const char *entry, int *status) {
  if (file_scan_is_glob(entry))
    return expand_glob(scan, entry);
  struct stat st;
  if (stat(entry, &st) != 0) {
    *status = uv_translate_sys_error(errno);
    return 0;
  }
  if (S_ISDIR(st.st_mode))
    return list_directory(scan, entry, status);
  if (!S_ISREG(st.st_mode)) {
    *status = FILE_SCAN_NOT_REGULAR;
    return 0;
  }
  return add_file(scan, entry, &st);
}

int file_scan_run(const char *const *entries, size_t count, file_scan_t *out) {
  out->status = calloc(count ? count : 1, sizeof(*out->status));
  if (!out->status)
    return PL_ENOMEM;
  out->entry_count = count;
  for (size_t i = 0; i < count; i++) {
    size_t first = out->count;
    int status = FILE_SCAN_OK;
    int rc = scan_entry(out, entries[i], &status);
    if (rc < 0)
      return rc;
    if (status == FILE_SCAN_OK && out->count == first)
      status = FILE_SCAN_NO_MATCH;
    out->status[i] = status;
    if (out->count - first > 1)
      qsort(out->files + first, out->count - first, sizeof(*out->files),
            compare_found);
  }
  return 0;
}

void file_scan_free(file_scan_t *scan) {
  for (size_t i = 0; i < scan->count; i++)
    free(scan->files[i].path);
  free(scan->files);
  free(scan->status);
  *scan = (file_scan_t){0};
}
