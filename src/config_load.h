/* A config made of several files: the ones given with -c, in order (and
 * "-", standard input), each with its `include "PATTERN"` directives
 * carried out in place, merged into one tree. */
#ifndef PL_CORE_CONFIG_LOAD_H
#define PL_CORE_CONFIG_LOAD_H

#include "config.h"

/* The depth of includes within includes. */
#define PL_CFG_MAX_INCLUDE_DEPTH 8

/* Reads `paths` (count >= 1) into one new root whose top-level entries
 * are those of every file in order, an include directive replaced by the
 * entries of the files its pattern matches (glob(3), sorted; relative to
 * the directory of the file that holds it; a pattern without a wildcard
 * must name a file). Every node's location names the file it is written
 * in; the root's own location is the first file's. A setting, or a block
 * with the same name and label (pipeline "p", aws), given twice across
 * the files is an error naming both places. On failure returns PL_EPARSE,
 * PL_ENOENT, PL_EIO or PL_ENOMEM with *error a new one-line message
 * naming the place (as pl__cfg_parse_file()). */
int pl__cfg_load(const char *const *paths, size_t count,
                 const pl_cfg_env_t *env, pl_cfg_node_t **root, char **error);

#endif
