/* source-s3's notifications mode: S3 event messages received from an SQS
 * queue (the SQS poller of <pipelined/sqs.h>), each one job covering every
 * object it announces.
 *
 * A message is deleted once every row of its objects is delivered or
 * dead-lettered; while its objects are read the poller's heartbeat keeps it
 * invisible to other consumers. Test events, events of other buckets and
 * keys outside the filters leave nothing to read: their messages are
 * deleted. A body that is not an S3 event goes to the dead letter. */
#include "s3_resume.h"
#include "source_s3.h"

#include <stdlib.h>
#include <string.h>

/* Room for the next receive while fewer than two messages wait (each
 * receive brings up to max_messages). */
static bool has_room(void *data) {
  source_s3_t *s = data;
  return !s->stopped && s->queued < 2 && !s3_reader_paused(&s->reader);
}

/* A body that is not an S3 event (`problem` says why, `why` in words): to
 * the dead letter as it is. */
static void reject_message(source_s3_t *s, pl_sqs_message_t *msg,
                           s3_event_problem_t problem, const char *why) {
  const char *id = pl_sqs_message_id(msg);
  size_t body_len = 0;
  const char *body = pl_sqs_message_body(msg, &body_len);
  pl_log(s->inst, PL_LOG_WARN, "message %s is not an S3 event (%s); to the "
         "dead letter", id, why);
  pl_instance_count(s->inst, "poison_messages", 1);
  s3_event_t none = {0};
  s3_job_t *job = s3_job_create(s, &none, msg);
  pl_record_t *rec = job ? pl_record_create(job->group) : NULL;
  if (!rec || pl_record_set_message_id(rec, id) < 0 ||
      pl_record_set_bytes(rec, body, body_len) < 0) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again", id);
    if (rec)
      pl_record_done(rec);
    if (job)
      pl_group_seal(job->group, false); /* commit releases the message */
    else
      pl_sqs_poller_release(s->poller, msg);
    return;
  }
  pl_record_set_size(rec, body_len > 0 ? body_len : 1);
  /* The reason of a body that is not shaped as a notification says so
   * already; the others (not JSON, a bad record) get it said first. */
  if (problem == S3_EVENT_NOT_NOTIFICATION)
    pl_record_reject_as(rec, "not_event", "%s", why);
  else
    pl_record_reject_as(rec, "not_event", "not an S3 event notification: %s",
                        why);
  s3_job_queue(s, job);
}

/* Drops the objects this source does not read, saying why. */
static void filter(source_s3_t *s, s3_event_t *ev) {
  size_t kept = 0;
  for (size_t i = 0; i < ev->count; i++) {
    s3_event_object_t *o = &ev->objects[i];
    bool other_bucket = s->opts->bucket && *s->opts->bucket &&
                        strcmp(o->bucket, s->opts->bucket) != 0;
    if (other_bucket)
      pl_log(s->inst, PL_LOG_WARN,
             "event for s3://%s/%s skipped: this source reads bucket %s",
             o->bucket, o->key, s->opts->bucket);
    if (other_bucket || !s3_source_wants(s, o->key)) {
      pl_instance_count(s->inst, "objects_skipped", 1);
      free(o->bucket);
      free(o->key);
      free(o->etag);
      free(o->event_name);
      free(o->time);
      continue;
    }
    ev->objects[kept++] = *o;
  }
  ev->count = kept;
}

static void take(void *data, pl_sqs_message_t *msg) {
  source_s3_t *s = data;
  const char *id = pl_sqs_message_id(msg);
  size_t body_len = 0;
  const char *body = pl_sqs_message_body(msg, &body_len);
  s3_event_t ev = {0};
  pl_buf_t why = {0};
  int rc = s3_event_parse(body, body_len, &ev, &why);
  if (rc == PL_EPARSE) {
    reject_message(s, msg, ev.problem, why.data ? why.data : "unreadable");
    pl_buf_free(&why);
    return;
  }
  pl_buf_free(&why);
  if (rc < 0) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again", id);
    pl_sqs_poller_release(s->poller, msg);
    return;
  }
  if (ev.test_event)
    pl_log(s->inst, PL_LOG_INFO, "message %s is an s3:TestEvent; deleted", id);
  filter(s, &ev);
  s3_job_t *job = s3_job_create(s, &ev, msg);
  if (!job) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again", id);
    pl_sqs_poller_release(s->poller, msg);
    return;
  }
  s3_job_queue(s, job); /* a job with no object is sealed at once */
}

int s3_notify_init(source_s3_t *s, const pl_sqs_poller_params_t *params) {
  pl_sqs_poller_events_t events = {.data = s, .message = take,
                                   .room = has_room};
  return pl_sqs_poller_create(s->inst, params, &events, &s->poller);
}

int s3_notify_start(source_s3_t *s) {
  pl_aws_client_options_t copts = {.service = "sqs",
                                   .endpoint = s->opts->sqs_endpoint,
                                   .region = s->opts->region,
                                   .max_in_flight = 8};
  int rc = pl_aws_client_create(s->inst, &copts, &s->sqs);
  if (rc < 0)
    return rc;
  pl_log(s->inst, PL_LOG_DEBUG, "reading the S3 events of %s",
         s->opts->notifications);
  pl_sqs_poller_start(s->poller, s->sqs);
  return 0;
}

void s3_notify_poll(source_s3_t *s) { pl_sqs_poller_poll(s->poller); }

void s3_notify_commit(source_s3_t *s, s3_job_t *job, bool committed,
                      struct s3_kept *kept) {
  /* A message given up at shutdown is visible again at once. */
  if (!committed && s->stopped)
    pl_sqs_poller_release(s->poller, job->msg);
  else if (committed && kept)
    pl_sqs_poller_commit(s->poller, job->msg, s3_resume_deleted, kept);
  else
    pl_sqs_poller_finish(s->poller, job->msg, committed);
  job->msg = NULL;
}

void s3_notify_stop(source_s3_t *s) { pl_sqs_poller_stop(s->poller); }

void s3_notify_close(source_s3_t *s) {
  pl_sqs_poller_close(s->poller);
  pl_aws_client_destroy(s->sqs);
  s->sqs = NULL;
}

void s3_notify_free(source_s3_t *s) { pl_sqs_poller_destroy(s->poller); }
