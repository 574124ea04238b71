/* Options are data (HACKING.md#s3): a config block is checked against one or
 * more option tables and its values are stored at each option's offset.
 * Defaults are text parsed by the same code as user input. */
#ifndef PL_CORE_OPTIONS_H
#define PL_CORE_OPTIONS_H

#include <pipelined/plugin.h>

#include "closest_name.h"
#include "config.h"
#include "stage_options.h"

/* One table and the struct it fills. */
typedef struct pl_opt_table {
  const pl_option_t *options;
  size_t count;
  void *dest;
} pl_opt_table_t;

/* Fills every table's struct from `block` (NULL: defaults only). `what`
 * names the block in messages ("source \"file\" in pipeline \"x\"").
 * Every problem (unknown option with the closest valid one, missing
 * required option, wrong type, a value outside the option's limits) is
 * appended to `errors` as one "file:line:col: ..." line. Returns 0 or PL_EINVAL. On failure the structs
 * may hold partial values: free them with pl__options_free() anyway. */
int pl__options_apply(const pl_opt_table_t *tables, size_t count,
                      const pl_cfg_node_t *block, const char *what,
                      pl_buf_t *errors);
/* Frees the values the table stored in `dest` (strings, lists, maps,
 * templates) and zeroes them. */
void pl__options_free(const pl_option_t *options, size_t count, void *dest);
/* Checks a table row at load time: its limits are valid
 * (pl__option_limits_valid) and its default text parses as its type and
 * keeps the limits. Returns 0, or PL_EINVAL with *error (new). */
int pl__option_check_default(const pl_option_t *option, char **error);
/* The closest name in the tables within a small edit distance, or NULL. */
const char *pl__options_closest(const pl_opt_table_t *tables, size_t count,
                                const char *name);



#endif
