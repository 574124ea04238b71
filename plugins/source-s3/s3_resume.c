/* The progress ledger of source-s3 (see s3_resume.h). */
#include "s3_resume.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over a string and a separator. */
static uint64_t fnv1a(uint64_t h, const char *text) {
  for (const unsigned char *p = (const unsigned char *)(text ? text : "");
       *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  h ^= 0xff;
  return h * 0x100000001b3ull;
}

/* What the ledger belongs to: the pipeline and what the source reads. */
static uint64_t ledger_id(const source_s3_t *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, pl_instance_pipeline(s->inst));
  h = fnv1a(h, s->opts->notifications);
  h = fnv1a(h, s->opts->bucket);
  h = fnv1a(h, s->opts->prefix);
  return fnv1a(h, s->opts->suffix);
}

int s3_resume_init(source_s3_t *s) {
  if (!s->opts->state_dir)
    return 0;
  pl_buf_t path = {0};
  if (pl_buf_printf(&path, "%s/s3-%016llx.ledger", s->opts->state_dir,
                    (unsigned long long)ledger_id(s)) < 0)
    return PL_ENOMEM;
  char *error = NULL;
  int rc = pl_ledger_create(path.data, &s->ledger, &error);
  if (rc < 0 || error)
    pl_log(s->inst, rc < 0 ? PL_LOG_ERROR : PL_LOG_WARN, "%s",
           error ? error : "out of memory");
  else
    pl_log(s->inst, PL_LOG_DEBUG, "ledger %s: %zu object(s) read in part",
           path.data, pl_ledger_count(s->ledger));
  free(error);
  pl_buf_free(&path);
  return rc;
}

int s3_resume_start(source_s3_t *s) {
  if (!s->ledger)
    return 0;
  char *error = NULL;
  int rc = pl_state_file_lock(pl_ledger_file(s->ledger), &error);
  if (rc < 0)
    pl_log(s->inst, PL_LOG_ERROR, "%s", error ? error : pl_strerror(rc));
  free(error);
  return rc;
}

/* The committed prefix of the job's object grew (pl_group_progress_cb). */
static void on_progress(void *data, pl_group_t *group, uint64_t offset,
                        uint64_t line) {
  (void)group;
  s3_job_t *job = data;
  source_s3_t *s = job->src;
  if (!job->ledger_key || !job->track.etag)
    return;
  if (job->track.off) {
    pl_ledger_remove(s->ledger, job->ledger_key);
    return;
  }
  pl_ledger_advance(s->ledger, s->inst, job->ledger_key, job->track.etag,
                    offset, line);
}

/* An ETag as the ledger keeps it: without quotes (new string or NULL). */
static char *unquoted(const char *etag) {
  size_t n = etag ? strlen(etag) : 0;
  if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
    return strndup(etag + 1, n - 2);
  return n ? strdup(etag) : NULL;
}

void s3_resume_object(source_s3_t *s, s3_job_t *job,
                      const s3_event_object_t *o) {
  if (!s->ledger || job->objects.count != 1 || job->ledger_key)
    return;
  if (s3_reader_origin(o->bucket, o->key, &job->ledger_key) < 0)
    return; /* not UTF-8: the reader refuses it anyway */
  job->src = s;
  s3_reader_track(&s->reader, &job->track);
  pl_group_on_progress(job->group, on_progress, job);
  char *etag = unquoted(o->etag);
  uint64_t offset = 0, line = 0;
  if (etag && pl_ledger_find(s->ledger, job->ledger_key, etag, &offset, &line) &&
      offset > 0)
    s3_reader_resume_at(&s->reader, offset, line, etag);
  free(etag);
}

struct s3_kept {
  source_s3_t *s;
  char *key;
  char *etag;
};

s3_kept_t *s3_resume_commit(source_s3_t *s, s3_job_t *job, bool committed,
                            bool keep) {
  if (!s->ledger || !job->ledger_key || !(committed || job->track.off))
    return NULL;
  uint64_t offset = 0, line = 0;
  const char *etag = job->track.etag;
  if (keep && committed && !job->track.off && etag &&
      pl_ledger_find(s->ledger, job->ledger_key, etag, &offset, &line)) {
    s3_kept_t *kept = calloc(1, sizeof(*kept));
    if (kept && (kept->key = strdup(job->ledger_key)) &&
        (kept->etag = strdup(etag)) &&
        pl_ledger_complete(s->ledger, job->ledger_key, etag, offset) == 0) {
      kept->s = s;
      return kept;
    }
    if (kept) {
      free(kept->key);
      free(kept->etag);
      free(kept);
    }
  }
  pl_ledger_remove(s->ledger, job->ledger_key);
  return NULL;
}

void s3_resume_deleted(void *data, bool ok) {
  s3_kept_t *kept = data;
  uint64_t offset, line;
  if (ok && kept->s->ledger &&
      pl_ledger_find(kept->s->ledger, kept->key, kept->etag, &offset, &line))
    pl_ledger_remove(kept->s->ledger, kept->key);
  free(kept->key);
  free(kept->etag);
  free(kept);
}

void s3_resume_close(source_s3_t *s) {
  char *error = NULL;
  if (s->ledger && pl_ledger_flush(s->ledger, &error) < 0)
    pl_log(s->inst, PL_LOG_ERROR, "%s", error ? error : "out of memory");
  free(error);
}

void s3_resume_free(source_s3_t *s) {
  pl_ledger_destroy(s->ledger);
  s->ledger = NULL;
}

void s3_resume_job_free(s3_job_t *job) {
  free(job->ledger_key);
  free(job->track.etag);
  job->ledger_key = job->track.etag = NULL;
}
