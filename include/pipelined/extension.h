/* Engine extensions: state that every stage of one engine shares and that
 * a library outside the core defines. libpipelined-aws keeps its
 * credentials cache and connection pool in one, set by the config's
 * top-level `aws { }` block; a file-to-file pipeline never loads it.
 *
 * A plugin names the extensions it uses in its descriptor
 * (pl_plugin_t.extensions). When the config loads, the engine validates
 * the top-level block of each extension's name with the extension's option
 * table (a block no plugin of the config reads is an error), and a stage
 * gets the extension's state with pl_extension_get(): created on the first
 * call, from the validated settings. The engine closes it after every
 * stage has closed. */
#ifndef PIPELINED_EXTENSION_H
#define PIPELINED_EXTENSION_H

#include <pipelined/common.h>
#include <pipelined/log.h>
#include <pipelined/plugin.h>
#include <uv.h>

/* The engine's side of one extension: handed to the type's callbacks. */
typedef struct pl_extension pl_extension_t;

typedef struct pl_extension_type {
  const char *name;        /* and the top-level block's, e.g. "aws" */
  const char *description; /* one line */
  const pl_option_t *options;
  size_t options_count;
  size_t settings_size; /* sizeof the struct the options fill */
  /* Creates the state from the validated `settings` (borrowed for the
   * engine's life). Runs on the loop, on a stage's first
   * pl_extension_get(). Returns 0 or a negative PL_E* code. */
  int (*create)(pl_extension_t *ext, const void *settings, void **state);
  /* The engine is closing, every stage is closed: close the state's
   * handles. The type frees the state once they are closed. */
  void (*close)(void *state);
  /* Appends the extension's own families to the /metrics exposition
   * (Prometheus text: # HELP, # TYPE, then the samples; names start with
   * pipelined_<name>_), while it has a state. NULL: none. */
  void (*metrics)(const void *state, pl_buf_t *out);
} pl_extension_type_t;

/* The state of extension `type` for the engine `inst` runs in (borrowed
 * until the engine closes), created on first use. Returns 0,
 * PL_ECANCELED once the engine is closing, PL_ENOENT when the plugin's
 * descriptor does not name `type`, or the create callback's error. */
PL_EXTERN int pl_extension_get(pl_instance_t *inst,
                               const pl_extension_type_t *type, void **state);

/* For the type's callbacks: the engine's loop and environment (borrowed). */
PL_EXTERN uv_loop_t *pl_extension_loop(const pl_extension_t *ext);
PL_EXTERN const pl_env_t *pl_extension_env(const pl_extension_t *ext);
/* Logs on the engine's log, naming the extension where a line names its
 * plugin ("[aws:-] message"; "plugin":"aws" in JSON lines). */
PL_EXTERN void pl_extension_log(const pl_extension_t *ext,
                                pl_log_level_t level, const char *fmt, ...)
    PL_PRINTF(3, 4);

#endif
