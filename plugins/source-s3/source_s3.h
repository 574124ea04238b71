/* source-s3's state, shared by its parts: source_s3.c (options, jobs and
 * the plugin descriptor), s3_notify.c (notifications mode: S3 events from
 * an SQS queue) and s3_listing.c (list mode: ListObjectsV2 polling).
 *
 * Both modes turn their input into jobs: one ack group and the objects it
 * covers (every object of an event message; one object of a listing). Jobs
 * wait in a queue and the reader (s3_reader.c) streams their objects one
 * at a time into the next stage. */
#ifndef PL_SOURCE_S3_H
#define PL_SOURCE_S3_H

#include <pipelined/aws.h>
#include <pipelined/ledger.h>
#include <pipelined/plugin.h>
#include <pipelined/sqs.h>

#include "s3_event.h"
#include "s3_reader.h"
#include "s3_state.h"

typedef struct s3_options {
  char *notifications;
  char *bucket;
  char *prefix;
  char *suffix;
  uint64_t interval_ms;
  char *state_dir;
  char *endpoint;
  char *region;
  char *sqs_endpoint;
  pl_sqs_poller_options_t poller; /* notifications mode */
  pl_decompress_options_t decompress; /* compression, max_decompressed_bytes */
} s3_options_t;

typedef struct s3_job {
  struct s3_job *next; /* in the queue of jobs */
  pl_group_t *group;   /* its data is the job */
  s3_event_t objects;  /* what to read, in order */
  size_t next_object;
  pl_sqs_message_t *msg; /* notifications mode: the event message */
  bool failed;        /* an object could not be read: seal incomplete */
  struct source_s3 *src; /* with a ledger (s3_resume.c) */
  char *ledger_key;      /* "s3://b/k" of its one object, when tracked */
  s3_track_t track;      /* which version its marks are of */
} s3_job_t;

/* List mode's state (s3_listing.c). */
typedef struct s3_listing {
  s3_state_t *committed; /* key and etag of committed objects */
  s3_state_t *pending;   /* objects queued or being read */
  uv_timer_t timer;      /* the next pass */
  bool timer_open;
  char *token;      /* continuation of the pass, or NULL */
  bool in_pass;     /* a pass is under way (pages left or jobs queued) */
  bool calling;     /* a ListObjectsV2 call is in flight */
  bool dirty;       /* committed changed since the last save */
  bool save_lost;   /* the last save failed: the state on disk is behind */
} s3_listing_t;

typedef struct source_s3 {
  pl_instance_t *inst;
  const s3_options_t *opts;
  pl_aws_client_t *s3;
  pl_aws_client_t *sqs; /* notifications mode */
  s3_reader_t reader;
  s3_job_t *head; /* head is the job being read, if any */
  s3_job_t *tail;
  size_t queued; /* jobs in the queue */
  bool notifications;
  pl_sqs_poller_t *poller; /* notifications mode */
  s3_listing_t listing; /* list mode */
  pl_ledger_t *ledger;  /* with state_dir: how far into each object */
  bool stopped;
  bool closed;
  bool exhausted;
} source_s3_t;

/* ---- source_s3.c ---- */

/* True when `key` passes the prefix and suffix filters. */
bool s3_source_wants(const source_s3_t *s, const char *key);
/* Creates a job for `objects` (stolen) with a new group; NULL when out of
 * memory (`objects` is then closed). */
s3_job_t *s3_job_create(source_s3_t *s, s3_event_t *objects,
                        pl_sqs_message_t *msg);
/* Queues `job` (stolen): its objects are read in turn, then its group is
 * sealed. */
void s3_job_queue(source_s3_t *s, s3_job_t *job);
void s3_job_destroy(s3_job_t *job);

/* ---- s3_notify.c ---- */

/* Creates the poller with `params` (checked by
 * pl_sqs_poller_options_check()). Returns 0 or a negative PL_E* code. */
int s3_notify_init(source_s3_t *s, const pl_sqs_poller_params_t *params);
int s3_notify_start(source_s3_t *s);
/* The queue of jobs has room again, or the next stage has. */
void s3_notify_poll(source_s3_t *s);
struct s3_kept;

/* The job's event message is deleted (committed) or left; `kept` (when
 * not NULL, s3_resume_commit()) hears when the delete is done. */
void s3_notify_commit(source_s3_t *s, s3_job_t *job, bool committed,
                      struct s3_kept *kept);
void s3_notify_stop(source_s3_t *s);
void s3_notify_close(source_s3_t *s);
void s3_notify_free(source_s3_t *s);

/* ---- s3_listing.c ---- */

int s3_listing_init(source_s3_t *s);
int s3_listing_start(source_s3_t *s);
/* The queue of jobs is empty: the next page, or the end of the pass. */
void s3_listing_idle(source_s3_t *s);
void s3_listing_commit(source_s3_t *s, s3_job_t *job, bool committed);
void s3_listing_stop(source_s3_t *s);
void s3_listing_close(source_s3_t *s);
void s3_listing_free(source_s3_t *s);

#endif
