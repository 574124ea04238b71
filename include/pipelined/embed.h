/* Embedding the engine: a program (a plugin's tests, through
 * <pipelined/testing.h>) runs a config text in-process on its own libuv
 * loop with plugins linked into it. The daemon itself does not use this:
 * it is a small, stable door onto the engine for code outside
 * libpipelined, which sees only PL_EXTERN symbols.
 *
 * The life of an engine: pl_engine_create_from_text() validates the config
 * and creates every stage (the plugins' init callbacks run; nothing
 * starts), pl_engine_start() starts the pipelines, the caller runs the
 * loop; pl_engine_shutdown() asks for a graceful stop. Once
 * pl_engine_finished() is true every stage has been told to close, and
 * pl_engine_status() is final; run the loop until the handles are closed,
 * then pl_engine_destroy(). */
#ifndef PIPELINED_EMBED_H
#define PIPELINED_EMBED_H

#include <pipelined/common.h>
#include <pipelined/plugin.h>
#include <stdio.h>
#include <uv.h>

typedef struct pl_engine pl_engine_t;

/* Parses `config_text` (named `config_name` in error locations; NULL:
 * "<config>") and creates the engine on `loop` (borrowed; it must outlive
 * the engine). `plugins` (NULL-terminated, borrowed for the engine's life;
 * NULL: none) are registered first; any other plugin the config names is
 * loaded from the config's plugin_path (a relative directory against the
 * directory of `config_name`, which is the working directory for a bare
 * name): neither PIPELINED_PLUGIN_PATH nor the installed plugin directory
 * is searched. `env` (borrowed; NULL: the process's)
 * expands ${VAR} in the config and is what extensions read (AWS
 * credentials). `log` (borrowed; NULL: stderr) gets the log lines. With
 * `once` the run ends when every source is exhausted and every group is
 * resolved (the daemon's --once); without, it runs until
 * pl_engine_shutdown().
 * Returns 0 and a new engine in *out, or a negative PL_E* code, *out NULL,
 * and, when `errors` is not NULL, a new malloc()ed text in *errors with
 * one line per problem (NULL when there is none to tell). */
PL_EXTERN int pl_engine_create_from_text(
    uv_loop_t *loop, const char *config_name, const char *config_text,
    const pl_plugin_t *const *plugins, const pl_env_t *env, FILE *log,
    bool once, pl_engine_t **out, char **errors);
/* Starts every pipeline (the sources' start callbacks run). Returns 0, or
 * a negative code with the reason logged; the engine is then finished
 * (its stages are closing) and only waits for the loop and destroy. */
PL_EXTERN int pl_engine_start(pl_engine_t *engine);
/* Sources take no new work; the run ends once what is in flight is
 * resolved, or when the config's shutdown_timeout expires (the loop is
 * then stopped with uv_stop()). Repeated calls do nothing. */
PL_EXTERN void pl_engine_shutdown(pl_engine_t *engine);
/* True once the run has ended and the stages are closing; run the loop on
 * to let their handles close. */
PL_EXTERN bool pl_engine_finished(const pl_engine_t *engine);
/* The exit status the daemon would have: 0, or 1 when a group failed, a
 * plugin counted an input error (once), a stage broke, or the shutdown
 * timed out. Final once pl_engine_finished(). */
PL_EXTERN int pl_engine_status(const pl_engine_t *engine);
/* Frees the engine; call after the loop has run the close callbacks.
 * NULL is allowed. */
PL_EXTERN void pl_engine_destroy(pl_engine_t *engine);

/* The `index`-th stage of pipeline `pipeline` in config order: the source
 * is 0, then the transforms, the sink, and last the dead letter if there
 * is one. Borrowed for the engine's life; NULL when there is no such
 * stage. */
PL_EXTERN pl_instance_t *pl_engine_stage(const pl_engine_t *engine,
                                         const char *pipeline, size_t index);
/* The context the stage's plugin made in its init callback (borrowed). */
PL_EXTERN void *pl_instance_context(const pl_instance_t *inst);
/* The stage's counter `name` (pl_instance_count); 0 when never counted. */
PL_EXTERN uint64_t pl_instance_counter(const pl_instance_t *inst,
                                       const char *name);

#endif
