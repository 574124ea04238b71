/* The options every stage has: one table, and the part of it a plugin's
 * stages take with the plugin's own defaults. */
#ifndef PL_CORE_STAGE_OPTIONS_H
#define PL_CORE_STAGE_OPTIONS_H

#include <pipelined/plugin.h>

/* The stage-wide options every stage accepts (batching, in-flight,
 * retries, queue size, log level): one table for all. */
extern const pl_option_t pl__stage_option_table[];
extern const size_t pl__stage_option_count;
/* The stage-wide options that apply to `plugin`'s kind, with the plugin's
 * defaults; returns how many were written to `table`. */
#define PL_STAGE_OPTION_MAX 16
size_t pl__stage_table_for(const pl_plugin_t *plugin,
                           pl_option_t table[PL_STAGE_OPTION_MAX]);
/* Which stage-wide options apply to stages of this kind. */
bool pl__stage_option_applies(const pl_option_t *option, pl_kind_t kind);

#endif
