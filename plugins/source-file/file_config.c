/* source-file's options: the checks and preparation of init. */
#include "file_config.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_scan.h"

/* The checks that relate options to each other; the table's limits have
 * checked each alone (paths has an entry, chunk_size is 1B to 1GiB,
 * poll_interval is at least 1ms). */
static int check_options(pl_instance_t *inst, const file_options_t *o) {
  if (o->on_commit == FILE_ON_COMMIT_MOVE && !o->done_dir) {
    pl_log(inst, PL_LOG_ERROR,
           "on_commit = move needs done_dir, the directory committed files "
           "are moved to");
    return PL_EINVAL;
  }
  if (o->on_commit != FILE_ON_COMMIT_MOVE && o->done_dir)
    pl_log(inst, PL_LOG_WARN, "done_dir is ignored unless on_commit = move");
  return 0;
}

static int prepare_dir(pl_instance_t *inst, const char *option, const char *dir,
                       const char *cwd, char **out) {
  if (file_scan_absolute(dir, cwd, out) < 0)
    return PL_ENOMEM;
  int err = pl_make_dirs(*out, false);
  if (err != 0) {
    pl_log(inst, PL_LOG_ERROR, "%s: cannot use %s as a directory: %s", option,
           *out, strerror(err));
    return PL_EINVAL;
  }
  return 0;
}

/* True when `a` and `b` name the same directory, whatever the spelling
 * ("in" and "x/../in", a symbolic link). */
static bool same_dir(const char *a, const struct stat *b) {
  struct stat st;
  return stat(a, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == b->st_dev &&
         st.st_ino == b->st_ino;
}

/* True when the directory pattern `parent` matches `done` however either
 * is spelt (a ".." in it, a symbolic link): glob(3) it as the scan will. */
static bool glob_reaches(const char *parent, const struct stat *done) {
  glob_t g;
  bool hit = false;
  if (glob(parent, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0) {
    for (size_t i = 0; !hit && i < g.gl_pathc; i++)
      hit = same_dir(g.gl_pathv[i], done);
    globfree(&g);
  }
  return hit;
}

/* A done_dir that `paths` reads would have moved files read again. */
static bool reads_from(const file_config_t *cfg, const char *dir) {
  struct stat done;
  if (stat(dir, &done) != 0)
    return false; /* prepare_dir made it: cannot happen */
  for (size_t i = 0; i < cfg->entry_count; i++) {
    const char *entry = cfg->entries[i];
    if (file_scan_is_glob(entry)) {
      /* The parent may be a pattern too (paths = ["in/SUPPLIER/x.csv"]
       * with a '*' for SUPPLIER): matched as glob(3) matches it. */
      char *parent = file_scan_dirname(entry);
      bool same =
          parent && (fnmatch(parent, dir, FNM_PATHNAME | FNM_PERIOD) == 0 ||
                     glob_reaches(parent, &done));
      free(parent);
      if (same)
        return true;
    } else if (same_dir(entry, &done)) {
      return true;
    }
  }
  return false;
}

/* One state file per pipeline, named after it; bytes other than letters,
 * digits, '-', '_' and '.' are written %XX so that no two names collide. */
static int state_file_path(const char *state_dir, const char *pipeline,
                           const char *suffix, char **out) {
  pl_buf_t path = {0};
  int rc = pl_buf_printf(&path, "%s/", state_dir);
  for (const unsigned char *p = (const unsigned char *)pipeline; rc == 0 && *p;
       p++) {
    bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                 *p == '.';
    rc =
        plain ? pl_buf_append(&path, p, 1) : pl_buf_printf(&path, "%%%02X", *p);
  }
  if (rc == 0)
    rc = pl_buf_append_str(&path, suffix);
  if (rc < 0) {
    pl_buf_free(&path);
    return PL_ENOMEM;
  }
  *out = path.data;
  return 0;
}

int file_config_init(file_config_t *cfg, pl_instance_t *inst,
                     const file_options_t *opts) {
  int rc = check_options(inst, opts);
  if (rc < 0)
    return rc;
  char cwd[4096];
  size_t cwd_len = sizeof(cwd);
  if (uv_cwd(cwd, &cwd_len) < 0) {
    pl_log(inst, PL_LOG_ERROR, "cannot get the current directory");
    return PL_EIO;
  }
  cfg->watch = opts->watch && !pl_instance_once(inst);
  /* watch is on by default: with --once it is not worth a line at info. */
  if (opts->watch && !cfg->watch)
    pl_log(inst, PL_LOG_DEBUG, "watch is ignored with --once");
  cfg->entries = calloc(opts->paths.count, sizeof(*cfg->entries));
  if (!cfg->entries)
    return PL_ENOMEM;
  for (size_t i = 0; i < opts->paths.count; i++) {
    if (file_scan_absolute(opts->paths.items[i], cwd, &cfg->entries[i]) < 0)
      return PL_ENOMEM;
    cfg->entry_count++;
  }
  if (opts->on_commit == FILE_ON_COMMIT_MOVE) {
    rc = prepare_dir(inst, "done_dir", opts->done_dir, cwd, &cfg->done_dir);
    if (rc < 0)
      return rc;
    if (reads_from(cfg, cfg->done_dir)) {
      pl_log(inst, PL_LOG_ERROR,
             "done_dir %s is a directory that paths reads: moved files would "
             "be read again",
             cfg->done_dir);
      return PL_EINVAL;
    }
  }
  if (opts->state_dir) {
    char *dir = NULL;
    rc = prepare_dir(inst, "state_dir", opts->state_dir, cwd, &dir);
    if (rc == 0)
      rc = state_file_path(dir, pl_instance_pipeline(inst), ".state",
                           &cfg->state_file);
    if (rc == 0)
      rc = state_file_path(dir, pl_instance_pipeline(inst), ".ledger",
                           &cfg->ledger_file);
    free(dir);
  }
  return rc;
}

void file_config_free(file_config_t *cfg) {
  for (size_t i = 0; i < cfg->entry_count; i++)
    free(cfg->entries[i]);
  free(cfg->entries);
  free(cfg->done_dir);
  free(cfg->state_file);
  free(cfg->ledger_file);
  *cfg = (file_config_t){0};
}
