/* The engine's side of <pipelined/extension.h>: the extensions the
 * config's plugins name, their validated settings and their state. */
#ifndef PL_CORE_EXTENSION_H
#define PL_CORE_EXTENSION_H

#include <pipelined/extension.h>

#include "config.h"

typedef struct pl_engine pl_engine_t;

struct pl_extension {
  pl_engine_t *engine; /* borrowed: the engine owns its extensions */
  const pl_extension_type_t *type;
  void *settings; /* owned; filled by the type's option table */
  void *state;    /* the type's, from create; NULL until first used */
};

/* Collects the extensions the plugins of `engine`'s pipelines name (their
 * stages exist), validates each one's top-level block of `root` (or its
 * defaults when there is none), and checks that every top-level block but
 * the pipelines belongs to one of them. Problems are appended to `errors`
 * as "file:line:col: ..." lines. When the pipelines are not `complete`
 * (they had errors: a plugin that did not load might own a block), only
 * blocks named like a known one are reported. Returns 0, PL_EINVAL or
 * PL_ENOMEM. */
int pl__extensions_configure(pl_engine_t *engine, const pl_cfg_node_t *root,
                             bool complete, pl_buf_t *errors);
/* Closes the state of every extension created (after every stage). */
void pl__extensions_close(pl_engine_t *engine);
/* Frees the settings and the array; the loop has ended. */
void pl__extensions_free(pl_engine_t *engine);

#endif
