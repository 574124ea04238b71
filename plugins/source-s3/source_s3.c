/* source-s3: streams S3 objects into the pipeline, announced by S3 event
 * notifications on an SQS queue (`notifications`) or found by listing a
 * bucket (`bucket` alone). The plugin descriptor, its options, and the
 * queue of jobs whose objects the reader streams (see source_s3.h). */
#include "s3_preflight.h"
#include "s3_resume.h"
#include "source_s3.h"

#include <stdlib.h>
#include <string.h>

static const pl_option_t s3_option_table[] = {
    PL_OPTION_STRING(s3_options_t, notifications, "notifications", NULL,
                     PL_OPT_NOT_EMPTY,
                     "URL of the SQS queue that receives the bucket's S3 "
                     "event notifications (notifications mode). Without it "
                     "the source lists `bucket` (list mode)."),
    PL_OPTION_STRING(s3_options_t, bucket, "bucket", NULL,
                     PL_OPT_NOT_EMPTY,
                     "List mode: the bucket to list (required). "
                     "Notifications mode: only this bucket's events are "
                     "read; events for others are skipped."),
    PL_OPTION_STRING(s3_options_t, prefix, "prefix", "", 0,
                     "Only keys that start with this."),
    PL_OPTION_STRING(s3_options_t, suffix, "suffix", "", 0,
                     "Only keys that end with this (e.g. \".csv\")."),
    PL_OPTION_DURATION_RANGE(s3_options_t, interval_ms, "interval", "60s",
                             1000, UINT64_MAX, 0,
                             "List mode: time between two listings of the "
                             "bucket."),
    PL_OPTION_STRING(s3_options_t, state_dir, "state_dir", NULL,
                     PL_OPT_NOT_EMPTY | PL_OPT_PATH,
                     "Directory of the ledger that says how far into each "
                     "object being read its rows are committed, so that an "
                     "object announced or listed again after a crash is "
                     "taken up there (a Range request) instead of sent "
                     "again whole; in list mode also of the state file "
                     "that keeps the key and etag of committed objects, so "
                     "that a restart does not read them again (created if "
                     "missing; default: kept in memory only)."),
    PL_AWS_CLIENT_OPTIONS(s3_options_t, "S3", "S3"),
    PL_OPTION_STRING(s3_options_t, sqs_endpoint, "sqs_endpoint", NULL, 0,
                     "SQS endpoint URL of the notifications queue (default: "
                     "the aws block's, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, "
                     "the profile's, the region's)."),
    PL_SQS_POLLER_OPTIONS(s3_options_t, poller, " Notifications mode only."),
    PL_DECOMPRESS_OPTIONS(s3_options_t, decompress, "object",
                          "its Content-Encoding, else "),
};

static int fail(pl_instance_t *inst, const char *why) {
  pl_log(inst, PL_LOG_ERROR, "%s", why);
  return PL_EINVAL;
}

/* In notifications mode, `params` gets the poller's checked options. */
static int check_options(pl_instance_t *inst, const s3_options_t *o,
                         pl_sqs_poller_params_t *params) {
  if (o->notifications) {
    int rc = pl_sqs_poller_options_check(inst, "notifications",
                                         o->notifications, &o->poller, params);
    if (rc < 0)
      return rc;
    return 0;
  }
  /* interval's least value is the table's limit. */
  if (!o->bucket || !*o->bucket)
    return fail(inst, "set 'notifications' (the URL of the queue of the "
                      "bucket's S3 events) or 'bucket' (to list it)");
  return 0;
}

/* ---- Jobs ---- */

bool s3_source_wants(const source_s3_t *s, const char *key) {
  size_t len = strlen(key), pre = strlen(s->opts->prefix),
         suf = strlen(s->opts->suffix);
  return strncmp(key, s->opts->prefix, pre) == 0 && len >= suf &&
         strcmp(key + len - suf, s->opts->suffix) == 0;
}

s3_job_t *s3_job_create(source_s3_t *s, s3_event_t *objects,
                        pl_sqs_message_t *msg) {
  s3_job_t *job = calloc(1, sizeof(*job));
  if (job && !(job->group = pl_group_create(s->inst, job))) {
    free(job);
    job = NULL;
  }
  if (!job) {
    s3_event_close(objects);
    return NULL;
  }
  job->objects = *objects;
  *objects = (s3_event_t){0};
  job->msg = msg;
  return job;
}

void s3_job_destroy(s3_job_t *job) {
  s3_resume_job_free(job);
  s3_event_close(&job->objects);
  free(job);
}

static void next_object(source_s3_t *s);

/* An object that cannot be read for good: one record in the dead letter,
 * saying which and why (`reason_class`: a string constant). */
static void reject_object(source_s3_t *s, s3_job_t *job,
                          const s3_event_object_t *o, const char *reason_class,
                          const char *why) {
  pl_log(s->inst, PL_LOG_WARN, "s3://%s/%s: %s; to the dead letter", o->bucket,
         o->key, why);
  pl_record_t *rec = pl_record_create(job->group);
  json_t *value = json_pack("{s:s, s:s}", "bucket", o->bucket, "key", o->key);
  char *origin = NULL;
  s3_reader_origin(o->bucket, o->key, &origin); /* NULL: no origin */
  if (!rec || !value) {
    job->failed = true; /* cannot say it: the message is read again */
    if (rec)
      pl_record_done(rec);
    json_decref(value);
    free(origin);
    return;
  }
  if (origin)
    pl_record_set_origin(rec, origin);
  if (o->etag)
    pl_record_set_etag(rec, o->etag);
  pl_record_set_value_new(rec, value);
  pl_record_set_size(rec, 64);
  pl_record_reject_as(rec, reason_class, "%s", why);
  free(origin);
}

static void on_read(void *data, s3_read_result_t result, const char *why) {
  source_s3_t *s = data;
  s3_job_t *job = s->head;
  const s3_event_object_t *o = &job->objects.objects[job->next_object - 1];
  if (result == S3_READ_DONE)
    pl_source_reading(s->inst, "download");
  if (result == S3_READ_GONE) {
    reject_object(s, job, o, "unreadable_object", why);
  } else if (result == S3_READ_CORRUPT || result == S3_READ_TOO_LARGE) {
    /* Reading it again gives the same: the rows before that point stay
     * delivered, and a --once run says that an object failed. */
    reject_object(s, job, o,
                  result == S3_READ_CORRUPT ? "corrupt" : "too_large", why);
    pl_instance_error(s->inst);
  } else if (result == S3_READ_REPLACED) {
    pl_log(s->inst, PL_LOG_INFO,
           "s3://%s/%s was replaced since it was announced (etag %s): its "
           "new version is read for its own announcement",
           o->bucket, o->key, o->etag ? o->etag : "");
  } else if (result == S3_READ_FAILED) {
    if (!s->stopped) {
      pl_buf_t text = {0};
      pl_buf_printf(&text, "s3://%s/%s: %s", o->bucket, o->key, why);
      pl_log(s->inst, PL_LOG_ERROR,
             "%s; its rows are not committed and it is read again later",
             text.data ? text.data : why);
      pl_source_failing(s->inst, "download", text.data ? text.data : why);
      pl_buf_free(&text);
    }
    job->failed = true;
    job->next_object = job->objects.count; /* the rest waits for the retry */
  }
  next_object(s);
}

/* Starts the next object, sealing the jobs that are done, while the next
 * stage has room. */
static void next_object(source_s3_t *s) {
  while (s->head && !s3_reader_busy(&s->reader)) {
    s3_job_t *job = s->head;
    if (job->next_object < job->objects.count && !s->stopped) {
      if (s3_reader_paused(&s->reader))
        break; /* no new object while the next stage is full */
      const s3_event_object_t *o = &job->objects.objects[job->next_object++];
      s3_resume_object(s, job, o);
      /* Out of memory, any version is read. */
      (void)s3_reader_expect(&s->reader, o->etag);
      int rc = s3_reader_start(&s->reader, job->group, o->bucket, o->key,
                               o->time);
      if (rc == 0)
        return;
      on_read(s, rc == PL_EPARSE ? S3_READ_GONE : S3_READ_FAILED,
              rc == PL_EPARSE ? "the key is not valid UTF-8"
                              : pl_strerror(rc));
      return;
    }
    s->head = job->next;
    if (!s->head)
      s->tail = NULL;
    s->queued--;
    /* Complete when every object was read (a stop may come after the
     * last one); the commit callback runs later, from the engine. */
    pl_group_seal(job->group,
                  !job->failed && job->next_object >= job->objects.count);
  }
  if (s->closed)
    return;
  if (s->notifications)
    s3_notify_poll(s);
  else if (!s->head)
    s3_listing_idle(s);
}

void s3_job_queue(source_s3_t *s, s3_job_t *job) {
  if (s->tail)
    s->tail->next = job;
  else
    s->head = job;
  s->tail = job;
  s->queued++;
  next_object(s);
}

/* ---- Plugin callbacks ---- */

static void source_s3_destroy(void *ctx) {
  source_s3_t *s = ctx;
  while (s->head) {
    s3_job_t *job = s->head;
    s->head = job->next;
    s3_job_destroy(job); /* its message is the poller's to free */
  }
  s3_reader_free(&s->reader);
  if (s->notifications)
    s3_notify_free(s);
  else
    s3_listing_free(s);
  s3_resume_free(s);
  free(s);
}

static int source_s3_init(pl_instance_t *inst, const void *options,
                          void **ctx) {
  const s3_options_t *o = options;
  pl_sqs_poller_params_t params = {0};
  int rc = check_options(inst, o, &params);
  if (rc < 0)
    return rc;
  source_s3_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = o;
  s->notifications = o->notifications != NULL;
  s3_reader_init(&s->reader, inst, on_read, s);
  s3_reader_set_decompress(&s->reader, &o->decompress);
  rc = s->notifications ? s3_notify_init(s, &params) : s3_listing_init(s);
  if (rc == 0)
    rc = s3_resume_init(s);
  if (rc < 0) {
    source_s3_destroy(s);
    return rc;
  }
  *ctx = s;
  return 0;
}

static int source_s3_start(pl_instance_t *inst, void *ctx) {
  source_s3_t *s = ctx;
  pl_aws_client_options_t copts = {.service = "s3",
                                   .endpoint = s->opts->endpoint,
                                   .region = s->opts->region,
                                   .max_in_flight = 4};
  int rc = pl_aws_client_create(inst, &copts, &s->s3);
  if (rc < 0)
    return rc;
  s3_reader_set_client(&s->reader, s->s3);
  rc = s3_resume_start(s);
  if (rc < 0)
    return rc;
  return s->notifications ? s3_notify_start(s) : s3_listing_start(s);
}

static void source_s3_resume(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_s3_t *s = ctx;
  s3_reader_resume(&s->reader);
  next_object(s);
}

static void source_s3_stop(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_s3_t *s = ctx;
  if (s->stopped)
    return;
  s->stopped = true;
  if (s->notifications)
    s3_notify_stop(s);
  else
    s3_listing_stop(s);
  /* The object being read is cut; jobs not started are sealed
   * incomplete, and their messages released. */
  s3_reader_stop(&s->reader);
  next_object(s);
}

static void source_s3_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                             pl_outcome_t outcome) {
  (void)inst;
  source_s3_t *s = ctx;
  s3_job_t *job = pl_group_data(group);
  bool committed = outcome == PL_OUTCOME_COMMITTED;
  /* In notifications mode a committed object's entry stays until its
   * message is deleted. List mode's state is saved later on its own
   * schedule, and the entry leaves now, as before. */
  s3_kept_t *kept = s3_resume_commit(s, job, committed, s->notifications);
  if (s->notifications)
    s3_notify_commit(s, job, committed, kept);
  else
    s3_listing_commit(s, job, committed);
  s3_job_destroy(job);
}

static void source_s3_close(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_s3_t *s = ctx;
  s->stopped = true;
  s->closed = true;
  s3_reader_stop(&s->reader);
  if (s->notifications)
    s3_notify_close(s);
  else
    s3_listing_close(s);
  s3_resume_close(s);
  pl_aws_client_destroy(s->s3);
  s->s3 = NULL;
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "s3",
    .kind = PL_KIND_SOURCE,
    .description = "Streams S3 objects announced by S3 event notifications "
                   "on an SQS queue, or found by listing a bucket; one ack "
                   "group per event message (or listed object).",
    .options = s3_option_table,
    .options_count = sizeof(s3_option_table) / sizeof(s3_option_table[0]),
    .options_size = sizeof(s3_options_t),
    .init = source_s3_init,
    .start = source_s3_start,
    .resume = source_s3_resume,
    .stop = source_s3_stop,
    .commit = source_s3_commit,
    .close = source_s3_close,
    .destroy = source_s3_destroy,
    .extensions = PL_AWS_EXTENSIONS,
    .preflight = s3_preflight,
};
