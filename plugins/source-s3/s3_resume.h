/* source-s3's progress ledger (<pipelined/ledger.h>): with state_dir, in
 * either mode, a file <state_dir>/s3-<id>.ledger says how far into each
 * object being read its rows are committed, so that the object, announced
 * again after a crash (its message comes back) or listed again, is taken
 * up there with a Range request instead of being sent again whole.
 *
 * Only jobs of one object are tracked (an event message naming several
 * objects is one ack group whose marks would mix them), and only objects
 * read as they are (decompressed offsets cannot be asked for by Range). */
#ifndef PL_SOURCE_S3_RESUME_H
#define PL_SOURCE_S3_RESUME_H

#include "source_s3.h"

/* Creates the ledger when state_dir is set. Returns 0 or a negative PL_E*
 * code (logged). Blocking: the ledger is read. */
int s3_resume_init(source_s3_t *s);
/* Locks the ledger (a second daemon on it is refused). */
int s3_resume_start(source_s3_t *s);
/* Before `o` of `job` is started: tracks it and, when the ledger has it
 * in the version the job names, tells the reader where to take it up. */
void s3_resume_object(source_s3_t *s, s3_job_t *job,
                      const s3_event_object_t *o);
/* The entry of a committed object kept until its event message is
 * deleted (s3_resume_deleted). */
typedef struct s3_kept s3_kept_t;

/* The job's group ended: an object whose marks no longer hold leaves the
 * ledger; a failed one stays, to be resumed. A committed one stays too, at
 * the end of its rows and saved now, when `keep` (its event message is
 * still to be deleted: a crash before that brings the message back, and
 * the object is then taken up at its end instead of read again whole);
 * the entry to drop later is returned (a new s3_kept_t, for
 * s3_resume_deleted()), or NULL when there is none (it left now). */
s3_kept_t *s3_resume_commit(source_s3_t *s, s3_job_t *job, bool committed,
                            bool keep);
/* The event message of `kept` (freed here) was deleted (`ok`): its entry
 * leaves the ledger; or it was not, and the entry stays for its return.
 * A pl_sqs_poller_commit() callback. */
void s3_resume_deleted(void *kept, bool ok);
/* Writes what the ledger has not saved yet (blocking, at close). */
void s3_resume_close(source_s3_t *s);
void s3_resume_free(source_s3_t *s);
/* Frees what `job` holds for the ledger. */
void s3_resume_job_free(s3_job_t *job);

#endif
