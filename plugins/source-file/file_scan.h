/* Expansion of source-file's `paths` into the files to read: each entry is
 * a file, a directory (its regular files, not those whose name starts with
 * '.', not recursively) or a glob(3) pattern (the regular files it
 * matches). Each entry's files are sorted by path (strcmp); entries keep
 * the user's order.
 *
 * file_scan_run() blocks on the file system (stat, readdir, glob): the
 * plugin runs it in uv_queue_work(), off the loop. It touches nothing but
 * its arguments. */
#ifndef PL_SOURCE_FILE_SCAN_H
#define PL_SOURCE_FILE_SCAN_H

#include <pipelined/common.h>

/* What one entry of `paths` gave. Negative values are libuv error codes
 * (UV_ENOENT, UV_EACCES...) from stat() or opendir() on the entry. */
enum {
  FILE_SCAN_OK = 0,          /* at least one regular file */
  FILE_SCAN_NO_MATCH = 1,    /* a glob that matched no regular file, or a
                                directory with none */
  FILE_SCAN_NOT_REGULAR = 2, /* neither a regular file nor a directory */
};

typedef struct file_found {
  char *path; /* absolute */
  uint64_t size;
  int64_t mtime_ns;
  uint64_t dev; /* with ino: which file it is, whatever the path */
  uint64_t ino;
} file_found_t;

typedef struct file_scan {
  file_found_t *files; /* in order; a file matched twice appears twice */
  size_t count;
  size_t cap;
  int *status; /* one FILE_SCAN_* or error code per entry of `paths` */
  size_t entry_count;
} file_scan_t;

/* Expands `entries` (absolute paths or patterns) into `out`, which must be
 * zeroed. Returns 0 or PL_ENOMEM; problems with single entries are in
 * out->status. Free `out` with file_scan_free() in either case. */
int file_scan_run(const char *const *entries, size_t count, file_scan_t *out);
void file_scan_free(file_scan_t *scan);

/* True when `entry` has glob(3) special characters (*, ? or [). */
bool file_scan_is_glob(const char *entry);

/* A new absolute, lexically normalised copy of `path` in *out: relative to
 * `cwd` unless it starts with '/', without empty or "." components nor a
 * trailing '/' (".." is kept: symbolic links make removing it unsafe). */
int file_scan_absolute(const char *path, const char *cwd, char **out);

/* A new copy of the directory part of absolute `path` ("/a/b" → "/a",
 * "/a" → "/"), or NULL when out of memory. */
char *file_scan_dirname(const char *path);

#endif
