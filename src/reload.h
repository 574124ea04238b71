/* Reload (SIGHUP): a running daemon takes a new config. The pipelines
 * whose blocks changed are drained and restarted, new ones start, removed
 * ones drain and go; the others run on untouched. A config that is not
 * valid, or that changes anything a running daemon cannot change (the
 * top-level settings and blocks other than log_level and log_format), is
 * refused as a whole and nothing changes. */
#ifndef PL_CORE_RELOAD_H
#define PL_CORE_RELOAD_H

#include "config.h"

typedef struct pl_engine pl_engine_t;

/* A config's top-level entries but the pipelines and the log settings: one
 * fingerprint (pl__cfg_fingerprint) per entry, in file order, with the
 * entry's key. */
typedef struct pl_reload_top {
  char **keys;         /* new strings */
  char **fingerprints; /* new strings */
  size_t count;
} pl_reload_top_t;

/* Fills `top` (zeroed by the caller) from `root`; PL_ENOMEM. */
int pl__reload_top_read(const pl_cfg_node_t *root, pl_reload_top_t *top);
void pl__reload_top_free(pl_reload_top_t *top);

/* Applies `root` to a started daemon: validates it whole (every pipeline
 * block that is new or changed is built and initialised); on any problem
 * appends one line per problem to `errors` and returns PL_EINVAL with
 * nothing changed. Otherwise logs, at info, what changes, and starts it:
 * changed and removed pipelines stop taking work and, once every group in
 * flight is resolved, are closed and freed, and a changed one's successor
 * starts then (a new one at once). Records in flight are never dropped:
 * a pipeline that cannot drain (a sink down) keeps its old config until it
 * can. Refused too while a previous reload is still draining, during
 * shutdown and in a --once run. */
int pl__engine_reload(pl_engine_t *engine, const pl_cfg_node_t *root,
                      pl_buf_t *errors);
/* From pl__engine_check_done(): closes the draining pipelines that are
 * idle now. True when the engine's pipeline list changed. */
void pl__reload_progress(pl_engine_t *engine);
/* Closes the reload's own handle (the engine is closing). */
void pl__reload_close(pl_engine_t *engine);
/* Forgets the pipelines a reload could not start (engine->not_running). */
void pl__reload_forget_not_running(pl_engine_t *engine);

#endif
