/* The plugin registry: finds "<kind>-<name>" plugins in a list of
 * directories, opens them with libltdl and validates their descriptors. */
#ifndef PL_CORE_REGISTRY_H
#define PL_CORE_REGISTRY_H

#include <pipelined/plugin.h>

typedef struct pl_registry pl_registry_t;

/* Creates a registry searching `dirs` in order (copied). */
int pl__registry_create(const char *const *dirs, size_t count,
                        pl_registry_t **out);
/* Frees the registry and closes every plugin it opened. */
void pl__registry_destroy(pl_registry_t *reg);
/* Puts directories before the existing ones. */
int pl__registry_prepend_dirs(pl_registry_t *reg, const char *const *dirs,
                              size_t count);
/* The same for the config's plugin_path, whose relative directories the
 * option table already made relative to their config file (PL_OPT_PATH):
 * each is made absolute with the working directory of this moment, so
 * that later loads do not depend on it. */
int pl__registry_prepend_config_dirs(pl_registry_t *reg,
                                     const char *const *dirs, size_t count);
/* Splits a colon-separated path list (PIPELINED_PLUGIN_PATH) and appends
 * its directories. */
int pl__registry_append_path(pl_registry_t *reg, const char *path_list);
/* Registers a descriptor linked into the program (tests); borrowed. */
int pl__registry_add(pl_registry_t *reg, const pl_plugin_t *plugin);

/* Finds the plugin `kind`-`name`, loading it if needed. A module file, or
 * a directory from it up to its plugin directory, that is writable by
 * group or others or owned by someone other than root and this user is
 * refused (PL_EINVAL) before it is opened, naming the path and its mode.
 * On failure returns a negative code and a new malloc()ed message in
 * *error. */
int pl__registry_find(pl_registry_t *reg, pl_kind_t kind, const char *name,
                      const pl_plugin_t **out, char **error);
/* Loads every plugin found in the directories and calls `cb` for each
 * (sorted by full name); load errors go to `errors`, one per line. */
typedef void (*pl_registry_each_cb)(void *data, const pl_plugin_t *plugin,
                                    const char *path);
int pl__registry_each(pl_registry_t *reg, pl_registry_each_cb cb, void *data,
                      pl_buf_t *errors);
/* Checks a descriptor: ABI version (first), size (at least the size this
 * ABI version defines; a larger one is a descriptor with fields appended
 * later, which the core does not read), kind, callbacks and option table
 * (limits valid, defaults parse and keep them, the sink's stage defaults
 * too). `where` names the file in messages. */
int pl__plugin_validate(const pl_plugin_t *plugin, const char *where,
                        char **error);
/* "source-file" for the source plugin "file" (new malloc()ed string). */
char *pl__plugin_full_name(const pl_plugin_t *plugin);

#endif
