/* The plugin registry: libltdl opens "<dir>/<kind>-<name>" (.la or .so) in
 * the configured order, and every descriptor is validated before use. Full
 * paths are built here so that libltdl's global search path is never
 * touched (HACKING.md#s2). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pipelined/extension.h>
#include <unistd.h>

#include "options.h"

#include "registry.h"

typedef struct pl_loaded {
  const pl_plugin_t *plugin;
  char *full_name; /* "source-file" */
  char *path;      /* NULL for plugins linked into the program */
  lt_dlhandle handle;
} pl_loaded_t;

struct pl_registry {
  char **dirs;
  size_t dir_count;
  pl_loaded_t *loaded;
  size_t loaded_count;
};

char *pl__plugin_full_name(const pl_plugin_t *plugin) {
  pl_buf_t buf = {0};
  if (pl_buf_printf(&buf, "%s-%s", pl_kind_name(plugin->kind), plugin->name) <
      0) {
    pl_buf_free(&buf);
    return NULL;
  }
  return buf.data;
}

int pl__registry_create(const char *const *dirs, size_t count,
                        pl_registry_t **out) {
  pl_registry_t *reg = calloc(1, sizeof(*reg));
  if (!reg)
    return PL_ENOMEM;
  if (lt_dlinit() != 0) {
    free(reg);
    return PL_EIO;
  }
  int rc = pl__registry_prepend_dirs(reg, dirs, count);
  if (rc < 0) {
    pl__registry_destroy(reg);
    return rc;
  }
  *out = reg;
  return 0;
}

void pl__registry_destroy(pl_registry_t *reg) {
  if (!reg)
    return;
  for (size_t i = 0; i < reg->loaded_count; i++) {
    if (reg->loaded[i].handle)
      lt_dlclose(reg->loaded[i].handle);
    free(reg->loaded[i].full_name);
    free(reg->loaded[i].path);
  }
  free(reg->loaded);
  for (size_t i = 0; i < reg->dir_count; i++)
    free(reg->dirs[i]);
  free(reg->dirs);
  free(reg);
  lt_dlexit();
}

int pl__registry_prepend_dirs(pl_registry_t *reg, const char *const *dirs,
                              size_t count) {
  if (count == 0)
    return 0;
  char **all = realloc(reg->dirs, (reg->dir_count + count) * sizeof(*all));
  if (!all)
    return PL_ENOMEM;
  reg->dirs = all;
  memmove(all + count, all, reg->dir_count * sizeof(*all));
  for (size_t i = 0; i < count; i++)
    all[i] = strdup(dirs[i]);
  reg->dir_count += count;
  for (size_t i = 0; i < count; i++)
    if (!all[i])
      return PL_ENOMEM;
  return 0;
}

/* `dir` made absolute with the working directory (unchanged when it is).
 * A new string, or NULL. */
static char *resolve_dir(const char *dir) {
  pl_buf_t out = {0};
  int rc = 0;
  if (dir[0] == '/')
    return strdup(dir);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)))
    return NULL;
  rc = pl_buf_printf(&out, "%s/", strcmp(cwd, "/") == 0 ? "" : cwd);
  if (rc == 0)
    rc = pl_buf_append_str(&out, dir);
  if (rc < 0) {
    pl_buf_free(&out);
    return NULL;
  }
  return out.data;
}

int pl__registry_prepend_config_dirs(pl_registry_t *reg,
                                     const char *const *dirs, size_t count) {
  char **resolved = calloc(count ? count : 1, sizeof(*resolved));
  int rc = resolved ? 0 : PL_ENOMEM;
  for (size_t i = 0; rc == 0 && i < count; i++)
    if (!(resolved[i] = resolve_dir(dirs[i])))
      rc = PL_ENOMEM;
  if (rc == 0)
    rc = pl__registry_prepend_dirs(reg, (const char *const *)resolved, count);
  for (size_t i = 0; resolved && i < count; i++)
    free(resolved[i]);
  free(resolved);
  return rc;
}

int pl__registry_append_path(pl_registry_t *reg, const char *path_list) {
  const char *p = path_list;
  while (p && *p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0) {
      char **all = realloc(reg->dirs, (reg->dir_count + 1) * sizeof(*all));
      if (!all)
        return PL_ENOMEM;
      reg->dirs = all;
      if (!(all[reg->dir_count] = strndup(p, len)))
        return PL_ENOMEM;
      reg->dir_count++;
    }
    p = end ? end + 1 : NULL;
  }
  return 0;
}

static int remember(pl_registry_t *reg, const pl_plugin_t *plugin,
                    const char *path, lt_dlhandle handle) {
  pl_loaded_t *loaded =
      realloc(reg->loaded, (reg->loaded_count + 1) * sizeof(*loaded));
  if (!loaded)
    return PL_ENOMEM;
  reg->loaded = loaded;
  pl_loaded_t *entry = &loaded[reg->loaded_count];
  *entry = (pl_loaded_t){.plugin = plugin, .handle = handle};
  entry->full_name = pl__plugin_full_name(plugin);
  entry->path = path ? strdup(path) : NULL;
  if (!entry->full_name || (path && !entry->path)) {
    free(entry->full_name);
    free(entry->path);
    return PL_ENOMEM;
  }
  reg->loaded_count++;
  return 0;
}

int pl__registry_add(pl_registry_t *reg, const pl_plugin_t *plugin) {
  char *error = NULL;
  int rc = pl__plugin_validate(plugin, "(built in)", &error);
  free(error);
  return rc < 0 ? rc : remember(reg, plugin, NULL, NULL);
}

static const pl_loaded_t *lookup(const pl_registry_t *reg,
                                 const char *full_name) {
  for (size_t i = 0; i < reg->loaded_count; i++)
    if (strcmp(reg->loaded[i].full_name, full_name) == 0)
      return &reg->loaded[i];
  return NULL;
}

/* The size of the C field each option type fills. */
static size_t field_size(pl_opt_type_t type) {
  switch (type) {
  case PL_OPT_STRING:
    return sizeof(char *);
  case PL_OPT_INT:
    return sizeof(int64_t);
  case PL_OPT_BOOL:
    return sizeof(bool);
  case PL_OPT_DOUBLE:
    return sizeof(double);
  case PL_OPT_DURATION:
  case PL_OPT_SIZE:
    return sizeof(uint64_t);
  case PL_OPT_LIST:
    return sizeof(pl_list_t);
  case PL_OPT_ENUM:
    return sizeof(int);
  case PL_OPT_TEMPLATE:
    return sizeof(pl_template_t *);
  case PL_OPT_MAP:
    return sizeof(pl_map_t);
  }
  return SIZE_MAX;
}

static bool callback_needed(const pl_plugin_t *p, char **error,
                            const char *where) {
  const char *missing = NULL;
  if (!p->init)
    missing = "init";
  else if (!p->destroy)
    missing = "destroy";
  else if (p->kind == PL_KIND_SOURCE && !p->start)
    missing = "start";
  else if (p->kind == PL_KIND_TRANSFORM && !p->process)
    missing = "process";
  else if (p->kind == PL_KIND_SINK && !p->write)
    missing = "write";
  if (!missing)
    return true;
  pl_buf_t buf = {0};
  pl_buf_printf(&buf, "%s: %s plugin '%s' has no %s callback", where,
                pl_kind_name(p->kind), p->name, missing);
  *error = buf.data;
  return false;
}

/* The descriptor as ABI 2 defined it, up to and including its last field.
 * A plugin built against later headers of the same ABI may append fields:
 * its struct_size is larger, and the core reads those fields only when
 * struct_size covers them (docs/plugin-guide.md, "ABI policy"). */
#define PLUGIN_MIN_SIZE                                                        \
  (offsetof(pl_plugin_t, extensions) +                                         \
   sizeof(((pl_plugin_t *)0)->extensions))

/* Checks an option table that fills a struct of `size` bytes: names,
 * types, offsets, limits and defaults. `owner` and `name` say whose it is
 * ("plugin 'file'"). Returns 0, or PL_EINVAL with *error set (new). */
static int check_table(const pl_option_t *options, size_t count, size_t size,
                       const char *owner, const char *name, const char *where,
                       char **error) {
  for (size_t i = 0; i < count; i++) {
    const pl_option_t *o = &options[i];
    char *message = NULL;
    size_t field = field_size(o->type);
    if (!o->name || !o->description || field == SIZE_MAX ||
        (o->type == PL_OPT_ENUM && !o->choices) || o->offset > size ||
        field > size - o->offset ||
        pl__option_check_default(o, &message) < 0) {
      pl_buf_t buf = {0};
      pl_buf_printf(&buf, "%s: %s '%s': option %zu ('%s') is invalid%s%s",
                    where, owner, name, i, o->name ? o->name : "?",
                    message ? ": " : "", message ? message : "");
      free(message);
      *error = buf.data;
      return PL_EINVAL;
    }
  }
  return 0;
}

/* The sink's defaults of stage options (pl_stage_defaults_t) parse and keep
 * the limits of the stage table. */
static int check_stage_defaults(const pl_plugin_t *p, const char *where,
                                char **error) {
  pl_option_t table[PL_STAGE_OPTION_MAX];
  size_t count = pl__stage_table_for(p, table);
  for (size_t i = 0; i < count; i++) {
    char *message = NULL;
    if (pl__option_check_default(&table[i], &message) < 0) {
      pl_buf_t buf = {0};
      pl_buf_printf(&buf, "%s: plugin '%s': stage defaults: %s", where,
                    p->name, message ? message : "invalid");
      free(message);
      *error = buf.data;
      return PL_EINVAL;
    }
  }
  return 0;
}

int pl__plugin_validate(const pl_plugin_t *p, const char *where,
                        char **error) {
  pl_buf_t buf = {0};
  /* The version comes first: nothing else can be read safely before. */
  if (p->abi_version != PL_ABI_VERSION) {
    pl_buf_printf(&buf,
                  "%s: plugin ABI version %u, but this pipelined needs "
                  "version %u (rebuild the plugin against these headers)",
                  where, p->abi_version, PL_ABI_VERSION);
    *error = buf.data;
    return PL_EABI;
  }
  if (p->struct_size < PLUGIN_MIN_SIZE) {
    pl_buf_printf(&buf,
                  "%s: descriptor size %u, but ABI version %u needs at least "
                  "%zu",
                  where, p->struct_size, PL_ABI_VERSION,
                  (size_t)PLUGIN_MIN_SIZE);
    *error = buf.data;
    return PL_EABI;
  }
  if (!p->name || !*p->name || !p->description ||
      (unsigned)p->kind > PL_KIND_SINK) {
    pl_buf_printf(&buf, "%s: descriptor lacks a name, kind or description",
                  where);
    *error = buf.data;
    return PL_EINVAL;
  }
  if (!callback_needed(p, error, where))
    return PL_EINVAL;
  if (check_table(p->options, p->options_count, p->options_size, "plugin",
                  p->name, where, error) < 0)
    return PL_EINVAL;
  for (size_t e = 0; p->extensions && p->extensions[e]; e++) {
    const pl_extension_type_t *x = p->extensions[e];
    if (!x->name || !*x->name || !x->create) {
      pl_buf_printf(&buf, "%s: plugin '%s': extension %zu lacks a name or a "
                    "create callback", where, p->name, e);
      *error = buf.data;
      return PL_EINVAL;
    }
    if (check_table(x->options, x->options_count, x->settings_size,
                    "extension", x->name, where, error) < 0)
      return PL_EINVAL;
  }
  return check_stage_defaults(p, where, error);
}

/* ---- Trust ---- */

/* Sets *error to "refusing to load `plugin`: `what` ..." when `st` (of
 * `what`) is writable by group or others or owned by someone else than
 * root and us. Returns 0 or PL_EINVAL. */
static int check_owner_and_mode(const char *plugin, const char *what,
                                const struct stat *st, char **error) {
  pl_buf_t buf = {0};
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    pl_buf_printf(&buf,
                  "refusing to load %s: %s has mode %04o, writable by %s "
                  "(chmod go-w %s)",
                  plugin, what, (unsigned)(st->st_mode & 07777),
                  (st->st_mode & S_IWOTH) ? "every user" : "its group", what);
  } else if (st->st_uid != 0 && st->st_uid != geteuid()) {
    pl_buf_printf(&buf,
                  "refusing to load %s: %s is owned by uid %u, neither root "
                  "nor this user (uid %u)",
                  plugin, what, (unsigned)st->st_uid, (unsigned)geteuid());
  } else {
    return 0;
  }
  *error = buf.data;
  return PL_EINVAL;
}

/* Loading a module runs its code, so a module that another user could have
 * replaced must not load (as sshd's StrictModes): `file`, when it exists,
 * and every directory from it up to the plugin directory `dir` (both
 * resolved, so a symlink counts where it points), must be writable only by
 * their owner, root or us. Returns 0, PL_EINVAL with the message in
 * *error, or PL_ENOMEM. */
static int check_trusted(const char *dir, const char *file, char **error) {
  struct stat st;
  if (stat(file, &st) != 0)
    return 0; /* nothing there; libltdl will not load it either */
  char *real_dir = realpath(dir, NULL);
  char *real = real_dir ? realpath(file, NULL) : NULL;
  int rc = 0;
  if (!real) {
    int err = errno;
    pl_buf_t buf = {0};
    pl_buf_printf(&buf, "refusing to load %s: cannot resolve its path: %s",
                  file, strerror(err));
    *error = buf.data;
    rc = err == ENOMEM ? PL_ENOMEM : PL_EINVAL;
  } else {
    rc = check_owner_and_mode(file, real, &st, error);
  }
  /* Up from the file's directory; past the plugin directory when the file
   * lies outside it (a symlink), up to the root. */
  while (rc == 0) {
    char *slash = strrchr(real, '/');
    if (!slash)
      break;
    slash[slash == real ? 1 : 0] = '\0';
    if (stat(real, &st) == 0)
      rc = check_owner_and_mode(file, real, &st, error);
    if (strcmp(real, real_dir) == 0 || strcmp(real, "/") == 0)
      break;
  }
  free(real);
  free(real_dir);
  return rc;
}

/* The files libltdl may open for dir/full_name: the .so, the .la and the
 * uninstalled library a .la names in .libs/. */
static int check_candidates(const char *dir, const char *full_name,
                            char **error) {
  static const char *const forms[] = {"%s/%s.so", "%s/%s.la",
                                      "%s/.libs/%s.so"};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(forms) / sizeof(forms[0]); i++) {
    pl_buf_t file = {0};
    if (pl_buf_printf(&file, forms[i], dir, full_name) < 0)
      rc = PL_ENOMEM;
    else
      rc = check_trusted(dir, file.data, error);
    pl_buf_free(&file);
  }
  return rc;
}

/* ---- Loading ---- */

/* lt_dlopenext() of `path`, whose mapping is then pinned (RTLD_NODELETE):
 * a plugin is never unmapped, so neither are the libraries it brought in
 * (libpipelined-aws, libcurl, OpenSSL), whose exit handlers and
 * thread-local data may outlive the engine, and a leak report can still
 * name the plugin's code. lt_dlclose() still frees libltdl's handle. */
static lt_dlhandle open_pinned(const char *path) {
  lt_dlhandle handle = lt_dlopenext(path);
  const lt_dlinfo *info = handle ? lt_dlgetinfo(handle) : NULL;
  if (info && info->filename) {
    void *pin = dlopen(info->filename, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    if (pin)
      dlclose(pin); /* the mapping stays: NODELETE */
  }
  return handle;
}

/* Opens dir/full_name (.la or .so) and validates it. Returns PL_ENOENT when
 * there is no such file. */
static int open_in(pl_registry_t *reg, const char *dir, const char *full_name,
                   const pl_loaded_t **out, char **error) {
  int trust = check_candidates(dir, full_name, error);
  if (trust < 0)
    return trust;
  pl_buf_t path = {0};
  pl_buf_printf(&path, "%s/%s", dir, full_name);
  lt_dlerror(); /* clear an earlier error: libltdl keeps only the last */
  lt_dlhandle handle = open_pinned(path.data);
  if (!handle) {
    pl_buf_t probe = {0};
    pl_buf_printf(&probe, "%s.so", path.data);
    FILE *f = fopen(probe.data, "r");
    if (!f) {
      pl_buf_reset(&probe);
      pl_buf_printf(&probe, "%s.la", path.data);
      f = fopen(probe.data, "r");
    }
    int rc = PL_ENOENT;
    if (f) {
      fclose(f);
      pl_buf_t buf = {0};
      const char *why = lt_dlerror();
      pl_buf_printf(&buf, "cannot load %s: %s", probe.data,
                    why ? why : "not a loadable module");
      *error = buf.data;
      rc = PL_EIO;
    }
    pl_buf_free(&probe);
    pl_buf_free(&path);
    return rc;
  }
  const pl_plugin_t *plugin = lt_dlsym(handle, PL_PLUGIN_SYMBOL_NAME);
  lt_dlerror();
  int rc = 0;
  if (!plugin) {
    pl_buf_t buf = {0};
    pl_buf_printf(&buf, "%s: no '%s' symbol: not a pipelined plugin",
                  path.data, PL_PLUGIN_SYMBOL_NAME);
    *error = buf.data;
    rc = PL_EINVAL;
  } else {
    rc = pl__plugin_validate(plugin, path.data, error);
  }
  if (rc == 0) {
    char *name = pl__plugin_full_name(plugin);
    if (name && strcmp(name, full_name) != 0) {
      pl_buf_t buf = {0};
      pl_buf_printf(&buf, "%s: the file is named %s but its plugin is %s",
                    path.data, full_name, name);
      *error = buf.data;
      rc = PL_EINVAL;
    }
    free(name);
  }
  if (rc == 0)
    rc = remember(reg, plugin, path.data, handle);
  if (rc < 0)
    lt_dlclose(handle);
  else
    *out = &reg->loaded[reg->loaded_count - 1];
  pl_buf_free(&path);
  return rc;
}

int pl__registry_find(pl_registry_t *reg, pl_kind_t kind, const char *name,
                      const pl_plugin_t **out, char **error) {
  pl_buf_t full = {0};
  pl_buf_printf(&full, "%s-%s", pl_kind_name(kind), name);
  const pl_loaded_t *found = lookup(reg, full.data);
  int rc = found ? 0 : PL_ENOENT;
  for (size_t i = 0; !found && i < reg->dir_count; i++) {
    rc = open_in(reg, reg->dirs[i], full.data, &found, error);
    if (rc != PL_ENOENT)
      break;
  }
  if (rc == PL_ENOENT) {
    pl_buf_t buf = {0};
    pl_buf_printf(&buf, "no plugin %s in", full.data);
    for (size_t i = 0; i < reg->dir_count; i++)
      pl_buf_printf(&buf, "%s %s", i ? "," : "", reg->dirs[i]);
    if (reg->dir_count == 0)
      pl_buf_append_str(&buf, " (no plugin directory)");
    pl_buf_append_str(&buf, " (pipelined --list-plugins shows what there is)");
    *error = buf.data;
  }
  pl_buf_free(&full);
  if (rc < 0)
    return rc;
  *out = found->plugin;
  return 0;
}

static int compare_loaded(const void *a, const void *b) {
  return strcmp(((const pl_loaded_t *)a)->full_name,
                ((const pl_loaded_t *)b)->full_name);
}

static bool plugin_file_name(const char *file, pl_buf_t *name) {
  static const char *const kinds[] = {"source-", "transform-", "sink-"};
  bool kind_ok = false;
  for (size_t k = 0; k < 3; k++)
    kind_ok |= strncmp(file, kinds[k], strlen(kinds[k])) == 0;
  size_t len = strlen(file);
  if (!kind_ok || len < 4)
    return false;
  if (strcmp(file + len - 3, ".la") != 0 && strcmp(file + len - 3, ".so") != 0)
    return false;
  pl_buf_reset(name);
  pl_buf_append(name, file, len - 3);
  return true;
}

int pl__registry_each(pl_registry_t *reg, pl_registry_each_cb cb, void *data,
                      pl_buf_t *errors) {
  pl_buf_t name = {0};
  for (size_t d = 0; d < reg->dir_count; d++) {
    DIR *dir = opendir(reg->dirs[d]);
    if (!dir)
      continue;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
      if (!plugin_file_name(entry->d_name, &name) || lookup(reg, name.data))
        continue;
      const pl_loaded_t *found = NULL;
      char *error = NULL;
      if (open_in(reg, reg->dirs[d], name.data, &found, &error) < 0 && error)
        pl_buf_printf(errors, "%s\n", error);
      free(error);
    }
    closedir(dir);
  }
  pl_buf_free(&name);
  if (reg->loaded_count == 0)
    return 0;
  pl_loaded_t *sorted = malloc(reg->loaded_count * sizeof(*sorted));
  if (!sorted)
    return PL_ENOMEM;
  memcpy(sorted, reg->loaded, reg->loaded_count * sizeof(*sorted));
  qsort(sorted, reg->loaded_count, sizeof(*sorted), compare_loaded);
  for (size_t i = 0; i < reg->loaded_count; i++)
    cb(data, sorted[i].plugin, sorted[i].path);
  free(sorted);
  return 0;
}
