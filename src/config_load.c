/* Several config files, and the ones they include, as one tree. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_load.h"

typedef struct loader {
  const pl_cfg_env_t *env;
  pl_cfg_node_t *root; /* the merged tree */
  char *error;
  /* The files being read, by real path: one that comes back is a cycle. */
  char *stack[PL_CFG_MAX_INCLUDE_DEPTH + 2];
  size_t depth;
} loader_t;

static int fail(loader_t *ld, int rc, const pl_cfg_loc_t *loc,
                const char *fmt, ...) PL_PRINTF(4, 5);

static int fail(loader_t *ld, int rc, const pl_cfg_loc_t *loc,
                const char *fmt, ...) {
  pl_buf_t msg = {0};
  if (loc)
    pl_buf_printf(&msg, "%s:%d:%d: ", loc->file, loc->line, loc->col);
  va_list ap;
  va_start(ap, fmt);
  pl_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  free(ld->error);
  ld->error = msg.data;
  return rc;
}

static int append(pl_cfg_node_t *root, pl_cfg_node_t *node) {
  pl_cfg_node_t **children =
      realloc(root->children, (root->count + 1) * sizeof(*children));
  if (!children)
    return PL_ENOMEM;
  root->children = children;
  children[root->count++] = node;
  return 0;
}

/* Frees one node that was taken out of its tree. */
static void free_node(pl_cfg_node_t *node) {
  pl_cfg_node_t *holder = calloc(1, sizeof(*holder));
  pl_cfg_node_t **children = malloc(sizeof(*children));
  if (!holder || !children) { /* out of memory: leak rather than crash */
    free(holder);
    free(children);
    return;
  }
  children[0] = node;
  holder->children = children;
  holder->count = 1;
  pl__cfg_destroy(holder);
}

static bool is_include(const pl_cfg_node_t *node) {
  return !node->is_block && strcmp(node->key, "include") == 0 &&
         node->value.kind == PL_CFG_STRING;
}

static int load_file(loader_t *ld, const char *path,
                     const pl_cfg_loc_t *included_at);

/* The directory part of `file` ("" for none), for relative patterns. */
static void directory_of(const char *file, pl_buf_t *out) {
  const char *slash = strrchr(file, '/');
  if (slash && strcmp(file, "<stdin>") != 0)
    pl_buf_append(out, file, (size_t)(slash - file) + 1);
}

static int include(loader_t *ld, const pl_cfg_node_t *directive) {
  const char *pattern = directive->value.text;
  pl_buf_t full = {0}; /* as the messages name it */
  pl_buf_t glob_pattern = {0};
  if (pattern[0] != '/') {
    directory_of(directive->loc.file, &full);
    /* The directory is a name, not a pattern: its own '[', '*' or '?'
     * would make glob() look elsewhere. */
    for (size_t i = 0; i < full.len; i++) {
      if (strchr("*?[\\", full.data[i]))
        pl_buf_append(&glob_pattern, "\\", 1);
      pl_buf_append(&glob_pattern, full.data + i, 1);
    }
  }
  pl_buf_append_str(&full, pattern);
  pl_buf_append_str(&glob_pattern, pattern);
  if (!full.data || !glob_pattern.data) {
    pl_buf_free(&full);
    pl_buf_free(&glob_pattern);
    return fail(ld, PL_ENOMEM, NULL, "out of memory");
  }
  glob_t matches;
  int g = glob(glob_pattern.data, 0, NULL, &matches);
  pl_buf_free(&glob_pattern);
  int rc = 0;
  if (g == GLOB_NOMATCH) {
    /* An empty conf.d is fine; a file named alone must be there. */
    if (!strpbrk(pattern, "*?["))
      rc = fail(ld, PL_ENOENT, &directive->loc,
                "include \"%s\": no such file (%s)", pattern, full.data);
  } else if (g != 0) {
    rc = fail(ld, PL_EIO, &directive->loc, "include \"%s\": cannot list %s",
              pattern, full.data);
  }
  for (size_t i = 0; g == 0 && rc == 0 && i < matches.gl_pathc; i++)
    rc = load_file(ld, matches.gl_pathv[i], &directive->loc);
  if (g == 0)
    globfree(&matches);
  pl_buf_free(&full);
  return rc;
}

/* Moves the entries of `part` (destroyed) into the merged root, carrying
 * out its include directives in place. */
static int merge(loader_t *ld, pl_cfg_node_t *part) {
  /* The file name the part's nodes borrow moves to the merged root. */
  char **files = realloc(ld->root->files,
                         (ld->root->file_count + 1) * sizeof(*files));
  if (!files) {
    pl__cfg_destroy(part);
    return fail(ld, PL_ENOMEM, NULL, "out of memory");
  }
  ld->root->files = files;
  files[ld->root->file_count++] = part->file;
  part->file = NULL;
  int rc = 0;
  size_t i = 0;
  for (; i < part->count && rc == 0; i++) {
    pl_cfg_node_t *child = part->children[i];
    if (is_include(child)) {
      rc = include(ld, child);
      free_node(child);
    } else if (ld->root->count >= PL_CFG_MAX_ENTRIES) {
      rc = fail(ld, PL_EPARSE, &child->loc,
                "too many entries at the top level of the config's files "
                "(the limit is %d)",
                PL_CFG_MAX_ENTRIES);
      free_node(child);
    } else if (append(ld->root, child) < 0) {
      rc = fail(ld, PL_ENOMEM, NULL, "out of memory");
      free_node(child);
    }
  }
  for (; i < part->count; i++)
    free_node(part->children[i]);
  part->count = 0;
  pl__cfg_destroy(part);
  return rc;
}

static int load_file(loader_t *ld, const char *path,
                     const pl_cfg_loc_t *included_at) {
  if (ld->depth > PL_CFG_MAX_INCLUDE_DEPTH)
    return fail(ld, PL_EPARSE, included_at,
                "includes are nested too deeply (the limit is %d)",
                PL_CFG_MAX_INCLUDE_DEPTH);
  char *real = NULL;
  if (strcmp(path, "-") != 0) {
    real = realpath(path, NULL);
    for (size_t i = 0; real && i < ld->depth; i++)
      if (ld->stack[i] && strcmp(ld->stack[i], real) == 0) {
        free(real);
        return fail(ld, PL_EPARSE, included_at,
                    "include: %s includes itself", path);
      }
  }
  pl_cfg_node_t *part = NULL;
  int rc = strcmp(path, "-") == 0
               ? pl__cfg_parse_stream(stdin, "<stdin>", ld->env, &part,
                                      &ld->error)
               : pl__cfg_parse_file(path, ld->env, &part, &ld->error);
  if (rc < 0) {
    free(real);
    return rc;
  }
  ld->stack[ld->depth++] = real;
  rc = merge(ld, part);
  free(ld->stack[--ld->depth]);
  return rc;
}

static bool same_name(const pl_cfg_node_t *a, const pl_cfg_node_t *b) {
  if (a->is_block != b->is_block || strcmp(a->key, b->key) != 0)
    return false;
  if (!a->is_block)
    return true;
  if (!a->label || !b->label)
    return !a->label && !b->label;
  return strcmp(a->label, b->label) == 0;
}

/* Names given twice across the files; within one file the parser, the
 * engine and the extensions say so themselves. */
static int check_twice(loader_t *ld) {
  const pl_cfg_node_t *root = ld->root;
  for (size_t j = 1; j < root->count; j++) {
    const pl_cfg_node_t *b = root->children[j];
    for (size_t i = 0; i < j; i++) {
      const pl_cfg_node_t *a = root->children[i];
      if (a->loc.file == b->loc.file || !same_name(a, b))
        continue;
      if (!b->is_block)
        return fail(ld, PL_EPARSE, &b->loc,
                    "duplicate setting '%s' (first set at %s:%d:%d)", b->key,
                    a->loc.file, a->loc.line, a->loc.col);
      if (b->label)
        return fail(ld, PL_EPARSE, &b->loc,
                    "%s \"%s\" is defined twice (first at %s:%d:%d)", b->key,
                    b->label, a->loc.file, a->loc.line, a->loc.col);
      return fail(ld, PL_EPARSE, &b->loc,
                  "block '%s' is defined twice (first at %s:%d:%d)", b->key,
                  a->loc.file, a->loc.line, a->loc.col);
    }
  }
  return 0;
}

int pl__cfg_load(const char *const *paths, size_t count,
                 const pl_cfg_env_t *env, pl_cfg_node_t **root, char **error) {
  *root = NULL;
  *error = NULL;
  loader_t ld = {.env = env};
  const char *first = strcmp(paths[0], "-") == 0 ? "<stdin>" : paths[0];
  ld.root = calloc(1, sizeof(*ld.root));
  int rc = PL_ENOMEM;
  if (ld.root && (ld.root->key = strdup("")) &&
      (ld.root->file = strdup(first))) {
    ld.root->is_block = true;
    ld.root->loc = (pl_cfg_loc_t){.file = ld.root->file, .line = 1, .col = 1};
    rc = 0;
  }
  for (size_t i = 0; rc == 0 && i < count; i++)
    rc = load_file(&ld, paths[i], NULL);
  if (rc == 0)
    rc = check_twice(&ld);
  if (rc < 0) {
    pl__cfg_destroy(ld.root);
    *error = ld.error ? ld.error : strdup("out of memory");
    return rc;
  }
  *root = ld.root;
  return 0;
}
