/* The pipelined plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * PL_PLUGIN_SYMBOL, a const pl_plugin_t. The core checks abi_version and
 * struct_size before it reads anything else, validates the user's options
 * against the option table, and calls the callbacks on the one libuv loop of
 * the engine. Every callback gets the stage instance and the plugin's own
 * context pointer; plugins keep no global state (HACKING.md#s2). */
#ifndef PIPELINED_PLUGIN_H
#define PIPELINED_PLUGIN_H

#include <pipelined/common.h>
#include <pipelined/log.h>
#include <pipelined/record.h>
#include <pipelined/template.h>
#include <uv.h>

/* Bumped by every change that a plugin built against the previous headers
 * would misread (docs/plugin-guide.md, "ABI policy"). 2: pl_option_t has
 * limits (has_limits, min, max), and the descriptor ends with extensions. */
#define PL_ABI_VERSION 2
#define PL_PLUGIN_SYMBOL pipelined_plugin
#define PL_PLUGIN_SYMBOL_NAME "pipelined_plugin"

#define PL_KIND_MAP(XX)                                                        \
  XX(SOURCE, "source")                                                         \
  XX(TRANSFORM, "transform")                                                   \
  XX(SINK, "sink")

typedef enum {
#define PL__KIND_ENUM(name, text) PL_KIND_##name,
  PL_KIND_MAP(PL__KIND_ENUM)
#undef PL__KIND_ENUM
} pl_kind_t;

PL_EXTERN const char *pl_kind_name(pl_kind_t kind);

/* Option types and the C type of the field each one fills:
 *   STRING   char *           INT      int64_t        BOOL   bool
 *   DOUBLE   double           DURATION uint64_t (ms)  SIZE   uint64_t (bytes)
 *   LIST     pl_list_t        ENUM     int (index)    TEMPLATE pl_template_t *
 *   MAP      pl_map_t (a nested block of key = "text") */
#define PL_OPT_TYPE_MAP(XX)                                                    \
  XX(STRING, "string")                                                         \
  XX(INT, "int")                                                               \
  XX(BOOL, "bool")                                                             \
  XX(DOUBLE, "double")                                                         \
  XX(DURATION, "duration")                                                     \
  XX(SIZE, "size")                                                             \
  XX(LIST, "list")                                                             \
  XX(ENUM, "enum")                                                             \
  XX(TEMPLATE, "template")                                                     \
  XX(MAP, "map")

typedef enum {
#define PL__OPT_TYPE_ENUM(name, text) PL_OPT_##name,
  PL_OPT_TYPE_MAP(PL__OPT_TYPE_ENUM)
#undef PL__OPT_TYPE_ENUM
} pl_opt_type_t;

PL_EXTERN const char *pl_opt_type_name(pl_opt_type_t type);

enum {
  PL_OPT_REQUIRED = 1u << 0,   /* the user must set it */
  PL_OPT_SECRET = 1u << 1,     /* never printed, logged or described */
  PL_OPT_DEPRECATED = 1u << 2, /* accepted with a warning */
  /* STRING and LIST: an empty text (often a ${VAR} that expanded to
   * nothing) is a config error, not "the current directory" or "none".
   * REQUIRED options refuse empty texts as well. */
  PL_OPT_NOT_EMPTY = 1u << 3,
  /* STRING and LIST: file system paths. A relative one written in the
   * config is made relative to the directory of the file that holds it;
   * one that begins with a variable's value ("${INPUT}") stays relative to
   * the working directory, and "-" (a standard stream) stays as it is. */
  PL_OPT_PATH = 1u << 4,
};

/* One bound of an option's limits, in the member of the option's type:
 *   .i  INT                    .d  DOUBLE
 *   .u  DURATION (ms), SIZE (bytes), and the length of STRING (bytes),
 *       LIST (items) and MAP (entries) */
typedef union pl_opt_bound {
  int64_t i;
  uint64_t u;
  double d;
} pl_opt_bound_t;

typedef struct pl_option {
  const char *name;
  pl_opt_type_t type;
  const char *default_value; /* text, parsed like user input; NULL: none */
  unsigned flags;
  size_t offset;               /* of the field in the plugin's options struct */
  const char *const *choices;  /* ENUM: NULL-terminated list of names */
  const char *description;
  /* Limits (ABI 2), set by the PL_OPTION_*_RANGE and _LENGTH macros. When
   * has_limits is true, the core refuses a value, the default included,
   * outside [min, max], with one message naming the range, and --describe
   * and the docs show it. A bound at the end of its type's range (INT64_MIN
   * or INT64_MAX, -HUGE_VAL or HUGE_VAL, 0 or UINT64_MAX) is no limit on
   * that side. Only INT, DOUBLE, DURATION, SIZE, STRING, LIST and MAP
   * options may have limits. */
  bool has_limits;
  pl_opt_bound_t min;
  pl_opt_bound_t max;
} pl_option_t;

/* Compile-time check that `field` of `type` has the C type `ctype`. */
#define PL__OFFSET(T, f, ctype)                                                \
  (offsetof(T, f) + 0 * sizeof(_Generic(&((T *)0)->f, ctype *: 1)))

#define PL__OPTION(tname, ctype, T, f, oname, def, fl, desc)                   \
  {                                                                            \
    .name = (oname), .type = PL_OPT_##tname, .default_value = (def),           \
    .flags = (fl), .offset = PL__OFFSET(T, f, ctype), .description = (desc)    \
  }

#define PL_OPTION_STRING(T, f, n, d, fl, desc) PL__OPTION(STRING, char *, T, f, n, d, fl, desc)
#define PL_OPTION_INT(T, f, n, d, fl, desc) PL__OPTION(INT, int64_t, T, f, n, d, fl, desc)
#define PL_OPTION_BOOL(T, f, n, d, fl, desc) PL__OPTION(BOOL, bool, T, f, n, d, fl, desc)
#define PL_OPTION_DOUBLE(T, f, n, d, fl, desc) PL__OPTION(DOUBLE, double, T, f, n, d, fl, desc)
#define PL_OPTION_DURATION(T, f, n, d, fl, desc) PL__OPTION(DURATION, uint64_t, T, f, n, d, fl, desc)
#define PL_OPTION_SIZE(T, f, n, d, fl, desc) PL__OPTION(SIZE, uint64_t, T, f, n, d, fl, desc)
#define PL_OPTION_LIST(T, f, n, d, fl, desc) PL__OPTION(LIST, pl_list_t, T, f, n, d, fl, desc)
#define PL_OPTION_TEMPLATE(T, f, n, d, fl, desc) PL__OPTION(TEMPLATE, pl_template_t *, T, f, n, d, fl, desc)
#define PL_OPTION_MAP(T, f, n, fl, desc) PL__OPTION(MAP, pl_map_t, T, f, n, NULL, fl, desc)
#define PL_OPTION_ENUM(T, f, n, d, ch, fl, desc)                               \
  {                                                                            \
    .name = (n), .type = PL_OPT_ENUM, .default_value = (d), .flags = (fl),     \
    .offset = PL__OFFSET(T, f, int), .choices = (ch), .description = (desc)    \
  }

/* Rows with limits: min and max are the bounds in the field's unit
 * (milliseconds for durations, bytes for sizes); the end of the type's
 * range is no limit, e.g. PL_OPTION_INT_RANGE(T, f, "n", "1", 1, INT64_MAX,
 * 0, "...") is "at least 1". _LENGTH rows bound the length of a STRING in
 * bytes, the items of a LIST and the entries of a MAP (UINT64_MAX: no
 * maximum). */
#define PL__OPTION_LIMITS(tname, ctype, T, f, oname, def, fl, desc, member,    \
                          lo, hi)                                              \
  {                                                                            \
    .name = (oname), .type = PL_OPT_##tname, .default_value = (def),           \
    .flags = (fl), .offset = PL__OFFSET(T, f, ctype), .description = (desc),   \
    .has_limits = true, .min = {.member = (lo)}, .max = {.member = (hi)}       \
  }

#define PL_OPTION_INT_RANGE(T, f, n, def, lo, hi, fl, desc)                    \
  PL__OPTION_LIMITS(INT, int64_t, T, f, n, def, fl, desc, i, lo, hi)
#define PL_OPTION_DOUBLE_RANGE(T, f, n, def, lo, hi, fl, desc)                 \
  PL__OPTION_LIMITS(DOUBLE, double, T, f, n, def, fl, desc, d, lo, hi)
#define PL_OPTION_DURATION_RANGE(T, f, n, def, lo, hi, fl, desc)               \
  PL__OPTION_LIMITS(DURATION, uint64_t, T, f, n, def, fl, desc, u, lo, hi)
#define PL_OPTION_SIZE_RANGE(T, f, n, def, lo, hi, fl, desc)                   \
  PL__OPTION_LIMITS(SIZE, uint64_t, T, f, n, def, fl, desc, u, lo, hi)
#define PL_OPTION_STRING_LENGTH(T, f, n, def, lo, hi, fl, desc)                \
  PL__OPTION_LIMITS(STRING, char *, T, f, n, def, fl, desc, u, lo, hi)
#define PL_OPTION_LIST_LENGTH(T, f, n, def, lo, hi, fl, desc)                  \
  PL__OPTION_LIMITS(LIST, pl_list_t, T, f, n, def, fl, desc, u, lo, hi)
#define PL_OPTION_MAP_LENGTH(T, f, n, lo, hi, fl, desc)                        \
  PL__OPTION_LIMITS(MAP, pl_map_t, T, f, n, NULL, fl, desc, u, lo, hi)

/* Defaults a sink plugin gives to the stage-wide options (batch_size,
 * batch_bytes, linger, max_in_flight); the user may override each. */
typedef struct pl_stage_defaults {
  const char *batch_size;
  const char *batch_bytes;
  const char *linger;
  const char *max_in_flight;
} pl_stage_defaults_t;

/* One stage's live checks (<pipelined/preflight.h>). */
typedef struct pl_preflight pl_preflight_t;

typedef enum {
  PL_OUTCOME_COMMITTED, /* every record delivered or dead-lettered: commit */
  PL_OUTCOME_FAILED,    /* a record failed, or the group was abandoned */
} pl_outcome_t;

/* The descriptor. Fields may be appended in later versions without a bump
 * of PL_ABI_VERSION: the core reads them only when struct_size covers them,
 * and accepts any struct_size from the size this version defines. */
typedef struct pl_plugin {
  uint32_t abi_version; /* PL_ABI_VERSION */
  uint32_t struct_size; /* sizeof(pl_plugin_t) */
  const char *name;     /* "file": loaded as "<kind>-<name>" */
  pl_kind_t kind;
  const char *description; /* one line */
  const pl_option_t *options;
  size_t options_count;
  size_t options_size; /* sizeof the options struct the table fills */
  pl_stage_defaults_t defaults;

  /* Creates the plugin's context from its validated options (borrowed for
   * the life of the instance). Called before the loop runs; no I/O yet. */
  int (*init)(pl_instance_t *inst, const void *options, void **ctx);
  /* Starts work on the loop: a source begins emitting, a sink opens. */
  int (*start)(pl_instance_t *inst, void *ctx);
  /* Sources: pl_emit() returned false (the next queue is full, or the
   * memory_limit reached) and the source stopped producing; it may go on
   * now. */
  void (*resume)(pl_instance_t *inst, void *ctx);
  /* Sources: take no new work (shutdown). Seal or abandon open groups. */
  void (*stop)(pl_instance_t *inst, void *ctx);
  /* Sources: every record of `group` is resolved. Called exactly once per
   * group; the group is destroyed when it returns. */
  void (*commit)(pl_instance_t *inst, void *ctx, pl_group_t *group,
                 pl_outcome_t outcome);
  /* Transforms: steals `record`, which must be emitted (pl_emit), rejected
   * (pl_record_reject) or consumed (pl_record_done). Records whose
   * pl_record_is_last() is set end the byte stream of their group. */
  void (*process)(pl_instance_t *inst, void *ctx, pl_record_t *record);
  /* Sinks: write the batch, resolve its records, then call pl_batch_done()
   * exactly once (now or later on the loop). The batch is borrowed until
   * then. */
  void (*write)(pl_instance_t *inst, void *ctx, pl_batch_t *batch);
  /* Closes the plugin's uv handles; the loop runs until they are closed. */
  void (*close)(pl_instance_t *inst, void *ctx);
  /* Frees the context; every close callback has run. */
  void (*destroy)(void *ctx);
  /* The engine extensions the plugin gets with pl_extension_get()
   * (<pipelined/extension.h>), NULL-terminated; NULL: none. Their config
   * blocks are validated when the config loads. */
  const struct pl_extension_type *const *extensions;

  /* Appended after ABI 2 (read only when struct_size covers it; older
   * descriptors have none). */

  /* `pipelined --check --live`: checks what the stage will use (a table
   * exists, its keys match) without writing anything, reporting each
   * finding with pl_preflight_report() (<pipelined/preflight.h>). Called
   * after init, on the loop, instead of start. Returns 0 and then calls
   * pl_preflight_done() exactly once (now or later), with every handle
   * and request of the check over; or returns a negative PL_E* code and
   * never calls it. NULL: the stage has nothing to check live. */
  int (*preflight)(pl_instance_t *inst, void *ctx, pl_preflight_t *check);

  /* A sink: no record is coming soon, since its source's input is over
   * (the end of --once, a stop for SIGTERM or a reload) and nothing waits
   * upstream; what the sink holds back waiting to fill (sink-s3's open
   * object) should be written now rather than at its age. Called when
   * the sink's queue is empty with batches of it in flight, again after
   * each batch the sink gets after that call (a retry). NULL: the sink
   * holds nothing back. */
  void (*drain)(pl_instance_t *inst, void *ctx);
} pl_plugin_t;

/* The loop every callback runs on (borrowed). */
PL_EXTERN uv_loop_t *pl_instance_loop(const pl_instance_t *inst);
/* "csv-to-sqs" (the pipeline's name) and "source-file" (the plugin). */
PL_EXTERN const char *pl_instance_pipeline(const pl_instance_t *inst);
PL_EXTERN const char *pl_instance_plugin(const pl_instance_t *inst);
/* True when the stage serves as its pipeline's dead_letter: once a record
 * it acknowledges is committed at its source, the stage holds the only
 * copy, so it should acknowledge only what is durably written. */
PL_EXTERN bool pl_instance_dead_letter(const pl_instance_t *inst);
/* True when the engine runs with --once: sources exhaust their input, call
 * pl_source_exhausted() and do not wait for more. */
PL_EXTERN bool pl_instance_once(const pl_instance_t *inst);
/* Adds `delta` to a plugin-specific counter exported on the metrics
 * endpoint as pipelined_plugin_<name>_total{pipeline,stage,plugin}. In
 * `name` what a metric name cannot hold becomes '_' (up to 63 bytes). */
PL_EXTERN void pl_instance_count(pl_instance_t *inst, const char *name,
                                 uint64_t delta);

/* The stage's max_in_flight option (sinks: batches written at once), for
 * plugins that size their own concurrency (an AWS client) to match. */
PL_EXTERN int64_t pl_instance_max_in_flight(const pl_instance_t *inst);
/* The stage's concurrency option (sinks): true for "adaptive" (the
 * default: a plugin that sends requests finds how many it may have in
 * flight, up to max_in_flight), false for "fixed" (max_in_flight). */
PL_EXTERN bool pl_instance_concurrency_adaptive(const pl_instance_t *inst);
/* Reports how many requests the stage may have in flight now; a plugin
 * whose concurrency adapts calls it on each change. Exported on the
 * metrics endpoint as pipelined_concurrency_limit{pipeline,stage,plugin};
 * a stage that never reported has no such series. */
PL_EXTERN void pl_instance_set_concurrency_limit(pl_instance_t *inst,
                                                 uint64_t limit);
/* The stage's retry_limit option: a sink whose batch reached this attempt
 * (pl_batch_attempt) is not retried again if it fails. */
PL_EXTERN int64_t pl_instance_retry_limit(const pl_instance_t *inst);

/* Counts an input error the plugin has logged (e.g. a path that cannot be
 * read): a --once run then exits non-zero even when every group it did
 * create was committed. */
PL_EXTERN void pl_instance_error(pl_instance_t *inst);

/* Sinks that write files: `fd` (borrowed), once open, is a file this
 * daemon writes; no source of the same engine reads it (a directory or a
 * glob of a source-file that also matches a sink's output or dead letter
 * would otherwise read it back and double it on every run). Descriptors
 * that are not regular files are ignored. Returns 0 or PL_ENOMEM. */
PL_EXTERN int pl_output_file_add(pl_instance_t *inst, int fd);
/* Sources that read files: true when the file of `dev` and `ino` (from
 * stat) is one a sink of this daemon writes; the source must skip it. */
PL_EXTERN bool pl_output_file_has(const pl_instance_t *inst, uint64_t dev,
                                  uint64_t ino);

/* Sources that read files: `path` (absolute: a file, a directory whose
 * files are read, or a glob(3) pattern; copied) is where the stage finds
 * its input, so that a sink of the same engine that would empty a file
 * there at its start refuses to (pl_input_file_reader()). Call it at init:
 * sinks start before sources. Returns 0 or PL_ENOMEM. */
PL_EXTERN int pl_input_path_add(pl_instance_t *inst, const char *path);
/* Sinks that empty a file at their start: a stage of this engine whose
 * input paths take in the file at absolute `path` (the same file by
 * device and inode, a file of the same directory, a name the pattern
 * matches), or NULL. */
PL_EXTERN const pl_instance_t *pl_input_file_reader(const pl_instance_t *inst,
                                                    const char *path);

/* Sinks: the stage cannot write any more; an error such as a broken pipe
 * or a read-only file system will not go away by retrying. The core logs
 * the reason once, naming the stage, stops the pipeline's source, retries
 * nothing of this stage again, fails what is queued for it or waiting for a
 * retry (their groups are not committed), and the run ends with exit
 * status 1 (a daemon shuts down). Call it before pl_batch_done() of the
 * batch that met the error; later calls are ignored. */
PL_EXTERN void pl_sink_broken(pl_instance_t *inst, const char *fmt, ...)
    PL_PRINTF(2, 3);

/* Sources and transforms: pass `record` (stolen) to the next stage. Returns
 * false when the next queue is full, or to a source when the records held
 * reach the daemon's memory_limit: a source then stops producing until its
 * resume callback runs. Nothing is ever dropped. */
PL_EXTERN bool pl_emit(pl_instance_t *inst, pl_record_t *record);

/* Sources: the source still has work of its own in flight (e.g. deletes of
 * committed messages); the engine does not end a --once run or a shutdown
 * while it is busy (shutdown_timeout still applies). */
PL_EXTERN void pl_source_busy(pl_instance_t *inst, bool busy);

/* Any stage: callbacks into it are still to come after its close (a
 * request cancelled at close whose transport hands it back from the loop
 * later). A reload frees a stage's pipeline only once every hold of its
 * stages is released, so that no such callback finds its memory freed.
 * The AWS layer holds a stage for each of its clients until the client
 * is freed, after its last call's callback. */
PL_EXTERN void pl_instance_hold(pl_instance_t *inst);
PL_EXTERN void pl_instance_release(pl_instance_t *inst);

/* Sources: a read of kind `what` fails (a queue that cannot be received
 * from: "receive"; a listing refused: "list"), for `error` (both copied;
 * the last error is shown); or one of that kind works again. /healthz
 * fails once one kind has failed for `unhealthy_after` with no read of
 * that kind between, as it does for a sink whose writes fail; a read of
 * another kind does not end it (empty receives while every download
 * fails). Cheap: call them on each failure and each success. */
PL_EXTERN void pl_source_failing(pl_instance_t *inst, const char *what,
                                 const char *error);
PL_EXTERN void pl_source_reading(pl_instance_t *inst, const char *what);
/* Sources: no more groups will be created (--once ends when every source is
 * exhausted and every group is resolved). */
PL_EXTERN void pl_source_exhausted(pl_instance_t *inst);
/* Sources: adds to what the --once progress line shows: `read_bytes` more
 * bytes of input read, and `total_bytes` more input of known size (call it
 * with the size of a file or object as its reading starts; input of
 * unknown size adds nothing there). Cheap: it only adds. */
PL_EXTERN void pl_source_progress(pl_instance_t *inst, uint64_t read_bytes,
                                  uint64_t total_bytes);

#endif
