/* Progress ledgers: how far a source got, committed, inside each input it
 * is reading (a file, an S3 object), so that after a crash or a restart it
 * resumes there instead of sending the whole input again.
 *
 * An entry is one input: its key (the origin, "s3://b/k" or "file:/x"),
 * its version (an S3 ETag, a file's identity: whatever changes when the
 * input is replaced), the offset of the first byte not yet committed and
 * the line where the row there starts (0: unknown). A source sets an entry
 * as its group's committed prefix grows (pl_group_on_progress()), moves it
 * to the input's end once the whole input is committed
 * (pl_ledger_complete()), removes it once its own state, which says the
 * input is committed, is written, and looks it up when it starts an input:
 * an entry of another version is stale (read from the start).
 *
 * The file is text, one header line then one line per entry:
 *
 *   pipelined ledger 1
 *   <offset> <line> <version> <key>
 *
 * with the version and the key percent-escaped as in a state file
 * (pl_state_escape(); a space too in the version, "-" for none), and
 * replaced atomically (a temporary file renamed over it). An entry is
 * saved again only once it moved by PL_LEDGER_SAVE_BYTES: what a crash
 * loses is sent again (at least once), a bounded share of the input.
 * Saves are written at once, on the calling thread, and not synced
 * (pl_state_file_write_unsynced()): a ledger is a hint whose loss costs
 * rows sent twice, never rows lost; a few lines written at most once per
 * PL_LEDGER_SAVE_BYTES of input cost little, while an fsync, or a turn in
 * the thread pool behind the pipeline's reads and writes, would leave the
 * ledger behind by as many rows as a fast pipeline commits meanwhile.
 * pl_ledger_flush() (at close) is synced. */
#ifndef PIPELINED_LEDGER_H
#define PIPELINED_LEDGER_H

#include <pipelined/common.h>
#include <pipelined/log.h>
#include <pipelined/state_file.h>

/* An entry moving by less than this does not ask for a save on its own. */
#define PL_LEDGER_SAVE_BYTES (64 * 1024)

typedef struct pl_ledger pl_ledger_t;

/* Creates a ledger, loaded from the file at `path` (borrowed) when it
 * exists; NULL keeps it in memory only. The ledger owns its state file
 * (pl_state_file_open_load_headed(): the directory is created). A file
 * that is not a valid ledger (a machine crash can tear or empty one: saves
 * are not synced)
 * is renamed <path>.bad and the ledger starts empty: 0 is returned and,
 * when `error` is not NULL, a warning in *error ("state file
 * /x/p.ledger:2: bad offset; set aside as /x/p.ledger.bad: ..."). Returns
 * 0 (*error NULL unless so), or PL_ENOMEM or PL_EIO and then a new
 * malloc()ed message in *error. Blocking: the file is read whole. */
PL_EXTERN int pl_ledger_create(const char *path, pl_ledger_t **out,
                               char **error);
/* Frees the ledger and closes its file (a save in flight finishes). NULL
 * is allowed. */
PL_EXTERN void pl_ledger_destroy(pl_ledger_t *ledger);
/* The state file (borrowed), NULL in memory only: for pl_state_file_lock(). */
PL_EXTERN pl_state_file_t *pl_ledger_file(const pl_ledger_t *ledger);
PL_EXTERN size_t pl_ledger_count(const pl_ledger_t *ledger);

/* True when `key` has an entry of `version` (NULL and "" both mean none
 * and match only each other); *offset and *line (not NULL) then get it. */
PL_EXTERN bool pl_ledger_find(const pl_ledger_t *ledger, const char *key,
                              const char *version, uint64_t *offset,
                              uint64_t *line);
/* Sets the entry of `key` (copied, with `version`), replacing any, and
 * saves the ledger when the entry is new, changed version or moved by
 * PL_LEDGER_SAVE_BYTES since its last save. Returns 0, PL_EINVAL (key
 * NULL or empty), PL_ENOMEM, or PL_EIO when the save failed (the entry is
 * set; the next save, or pl_ledger_flush(), writes it). */
PL_EXTERN int pl_ledger_set(pl_ledger_t *ledger, const char *key,
                            const char *version, uint64_t offset,
                            uint64_t line);
/* pl_ledger_set() for a source's progress callback: a failed save is
 * logged through `inst` (a warning naming `key`, that a restart may send
 * more rows again) once, not again until a save succeeded. Returns as
 * pl_ledger_set(). */
PL_EXTERN int pl_ledger_advance(pl_ledger_t *ledger, pl_instance_t *inst,
                                const char *key, const char *version,
                                uint64_t offset, uint64_t line);
/* The whole input of `key` (of `version`) is committed: sets its entry to
 * `offset`, the input's end (line unknown), and saves the ledger now,
 * however little the entry moved. A source whose state that remembers
 * committed inputs is written later (on the thread pool) keeps the entry
 * until that write succeeded, then removes it: a crash in between takes
 * the input up at its end instead of reading it whole again. Returns as
 * pl_ledger_set(). */
PL_EXTERN int pl_ledger_complete(pl_ledger_t *ledger, const char *key,
                                 const char *version, uint64_t offset);
/* Removes the entry of `key` and saves the ledger (a failed save is
 * retried by the next one or the flush); true when there was one. */
PL_EXTERN bool pl_ledger_remove(pl_ledger_t *ledger, const char *key);
/* Writes the ledger now when anything changed since the last save asked
 * for (at close; blocking). Returns 0, PL_ENOMEM or PL_EIO and then, when
 * `error` is not NULL, a new malloc()ed message in *error. */
PL_EXTERN int pl_ledger_flush(pl_ledger_t *ledger, char **error);

#endif
