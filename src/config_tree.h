/* Helpers over a parsed config tree (src/config.h): error lines, a view of
 * a block's settings, and fingerprints that compare blocks. */
#ifndef PL_CORE_CONFIG_TREE_H
#define PL_CORE_CONFIG_TREE_H

#include "config.h"

/* Appends "file:line:col: message\n" to `errors`. */
void pl__cfg_error(pl_buf_t *errors, const pl_cfg_loc_t *loc, const char *fmt,
                   ...) PL_PRINTF(3, 4);
/* A view of `block` that holds only its settings (not its blocks): the
 * children array is new (free it), the children are borrowed. */
int pl__cfg_settings_view(const pl_cfg_node_t *block, pl_cfg_node_t *view);
/* Appends to `out` a text that is equal for two nodes exactly when their
 * keys, labels, values (kinds and texts, after ${VAR} expansion) and
 * children in order are, wherever they stand in their files: a reload
 * compares a pipeline block with the one that is running this way. */
void pl__cfg_fingerprint(const pl_cfg_node_t *node, pl_buf_t *out);

#endif
