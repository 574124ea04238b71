/* The parts of source-file share one context: the instance, its files
 * and their queue (source_file.c, with the descriptor and the reading),
 * the state file's writes (file_save.c) and the scans (file_poll.c). */
#ifndef PL_SOURCE_FILE_H
#define PL_SOURCE_FILE_H

#include <pipelined/ledger.h>
#include <pipelined/plugin.h>

#include "file_config.h"
#include "file_reader.h"
#include "file_scan.h"
#include "file_state.h"

/* A file from the moment it is queued until its group is committed and
 * the on_commit action is done. */
typedef struct file_entry {
  struct source_file *src;
  struct file_entry *prev; /* every entry, for destroy */
  struct file_entry *next;
  struct file_entry *queue_next; /* queued, not opened yet */
  char *path;
  char *origin;  /* "file:<path>", the key in the ledger; NULL until open */
  char *version; /* "<size>-<mtime_ns>" at open, the ledger's version */
  uint64_t size; /* as read (fstat at open time); before, as scanned */
  int64_t mtime_ns;
  uint64_t dev; /* of the file read (fstat at open time); 0 before */
  uint64_t ino;
  bool rejected; /* not decompressed to its end: on_commit leaves it */
} file_entry_t;

typedef struct source_file {
  pl_instance_t *inst;
  const file_options_t *opts;
  file_config_t cfg;
  uv_loop_t *loop;
  int *reported;            /* per entry of paths: the status last logged */
  file_state_t *committed;  /* remembered files; saved with state_dir */
  pl_ledger_t *ledger;      /* with state_dir: how far into each file */
  /* The two files as they were read (progress_stamp()): start reads them
   * again when they changed since init. */
  char progress_read[2][64];
  file_state_t *tracked;    /* paths of every file_entry_t */
  file_state_t *candidates; /* watch: new files seen once, not read yet */
  file_state_t *complaints; /* watch: files whose failure was logged */
  file_entry_t *all;
  file_entry_t *queue_head;
  file_entry_t *queue_tail;
  file_reader_t reader;
  uv_work_t scan_req;
  file_scan_t scan; /* filled in the thread pool */
  int scan_rc;
  bool scanning;
  size_t scans_done;
  uv_timer_t poll_timer;
  uv_timer_t save_timer;
  bool save_lost; /* the last save failed: the state on disk is behind */
  /* Writes of the state are numbered from 1 as they are asked for: the
   * one in flight and the one waiting behind it (0: none), and committed
   * files whose ledger entries wait for a write that holds them
   * (file_save.c). */
  uint64_t saves_asked;
  uint64_t save_writing;
  uint64_t save_waiting;
  struct file_unsaved *unsaved;
  bool timers_open;
  bool dirty; /* the committed set changed since the last save */
  bool stopped;
  bool closed;
  bool exhausted;
} source_file_t;

/* A new entry for `f` (its path is copied), tracked and on the list of
 * all entries, not queued; NULL when out of memory. */
file_entry_t *source_file_entry_create(source_file_t *s, const file_found_t *f);

/* Removes `e` from the tracked set and from the list of all entries
 * (not from the queue: the caller dequeued it) and frees it. */
void source_file_entry_destroy(source_file_t *s, file_entry_t *e);

/* Puts `e` at the end of the read queue. */
void source_file_enqueue(source_file_t *s, file_entry_t *e);

/* Opens the next queued file when the reader can take it; says the
 * source is exhausted when nothing is left outside watch mode. */
void source_file_advance(source_file_t *s);

#endif
