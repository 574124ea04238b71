/* --list-plugins, --describe and --print-setting of the command line
 * (src/cli.c). Each
 * prints to standard output, problems to standard error, and returns the
 * exit status. */
#ifndef PL_CORE_CLI_DESCRIBE_H
#define PL_CORE_CLI_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/* The exit status of a usage error (pipelined(8), EXIT STATUS): a bad
 * option, or a plugin name that names no plugin. */
enum { EXIT_USAGE = 2 };

/* One line per plugin found: its full name and description. */
int pl__cli_list_plugins(pl_registry_t *reg);
/* Every plugin's options and the stage options, as one JSON document. */
int pl__cli_describe_all(pl_registry_t *reg);
/* One plugin's options (`full_name`: "source-file"), as text or JSON;
 * "settings": the top-level settings; the name of an extension a plugin
 * found declares ("aws"): its block's settings. A
 * name that is not <kind>-<name> or that no plugin has is a usage error
 * (EXIT_USAGE); a plugin found but not loaded is 1. */
int pl__cli_describe(pl_registry_t *reg, const char *full_name, bool json);
/* The top-level setting `name` of the config the files `configs` (borrowed;
 * "-": standard input) make, as a run reads them (includes, ${VAR}s):
 * its value as written, a list one item a line, or its default when the
 * config does not set it; nothing when it has none. Exit status 2 when
 * `name` is no top-level setting or the config cannot be read or its
 * settings are not valid. */
int pl__cli_print_setting(const char *const *configs, size_t count,
                          const char *name);

#endif
