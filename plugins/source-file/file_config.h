/* The options of source-file (their table is in source_file.c, with the
 * descriptor) and what they mean once checked: absolute paths,
 * directories that exist, the state file. */
#ifndef PL_SOURCE_FILE_CONFIG_H
#define PL_SOURCE_FILE_CONFIG_H

#include <pipelined/decompress.h>
#include <pipelined/plugin.h>

typedef enum {
  FILE_ON_COMMIT_KEEP,
  FILE_ON_COMMIT_MOVE,
  FILE_ON_COMMIT_DELETE,
} file_on_commit_t;

/* Filled by the core from the option table (HACKING.md#s3); borrowed. */
typedef struct file_options {
  pl_list_t paths;
  bool watch;
  uint64_t poll_interval_ms;
  uint64_t chunk_size;
  int on_commit; /* file_on_commit_t */
  char *done_dir;
  char *state_dir;
  pl_decompress_options_t decompress; /* compression, max_decompressed_bytes */
} file_options_t;

typedef struct file_config {
  char **entries; /* `paths`, absolute and normalised */
  size_t entry_count;
  char *done_dir;   /* absolute, existing; NULL unless on_commit = move */
  char *state_file; /* <state_dir>/<pipeline>.state, or NULL */
  char *ledger_file; /* <state_dir>/<pipeline>.ledger, or NULL */
  bool watch;       /* watch, and not --once */
} file_config_t;

/* Checks `opts` and prepares `cfg` (zeroed by the caller): makes paths
 * absolute against the current directory, creates done_dir and state_dir
 * when missing. Small synchronous calls, for init. Problems are logged
 * with pl_log() and give PL_EINVAL; free `cfg` with file_config_free() in
 * every case. */
int file_config_init(file_config_t *cfg, pl_instance_t *inst,
                     const file_options_t *opts);
void file_config_free(file_config_t *cfg);

#endif
