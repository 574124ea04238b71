/* How the S3 reader goes on when a response does not end the object
 * well (see s3_recover.h). */
#include "s3_recover.h"

#include <stdlib.h>
#include <string.h>

/* Range requests in a row that may fail without a byte of progress. */
#define MAX_RESUMES 5
/* Times an object may change under the reader before it gives up. */
#define MAX_RESTARTS 3

void s3_recover_range(s3_reader_t *r, const char *text) {
  r->resumes = r->offset > r->request_from ? 1 : r->resumes + 1;
  if (r->resumes > MAX_RESUMES) {
    pl_buf_t why = {0};
    pl_buf_printf(&why, "%u Range requests failed in a row; last: %s",
                  MAX_RESUMES, text);
    s3_reader_finish(r, S3_READ_FAILED, why.data ? why.data : "out of memory");
    pl_buf_free(&why);
    return;
  }
  pl_log(r->inst, PL_LOG_WARN,
         "%s: the download broke after %llu bytes (%s); asking for the rest "
         "with a Range request",
         r->origin, (unsigned long long)r->offset, text);
  pl_instance_count(r->inst, "range_resumes", 1);
  int rc = s3_reader_request(r);
  if (rc < 0)
    s3_reader_finish(r, S3_READ_FAILED, pl_strerror(rc));
}

void s3_recover_restart(s3_reader_t *r) {
  if (++r->restarts > MAX_RESTARTS) {
    s3_reader_finish(r, S3_READ_FAILED,
                     "the object kept changing while being read");
    return;
  }
  pl_log(r->inst, PL_LOG_WARN,
         "%s changed while being read (after %llu bytes): reading it again "
         "from the beginning; the rows sent so far stay sent",
         r->origin, (unsigned long long)r->offset);
  pl_instance_count(r->inst, "object_restarts", 1);
  if (r->track)
    r->track->off = true; /* the marks so far are of another version */
  if (!s3_reader_emit(r, NULL, 0, true, true)) {
    s3_reader_finish(r, S3_READ_FAILED, "out of memory");
    return;
  }
  free(r->etag);
  free(r->etag_raw);
  r->etag = r->etag_raw = NULL;
  s3_reader_forget_decoder(r);
  r->offset = 0;
  r->resumes = 0;
  int rc = s3_reader_request(r);
  if (rc < 0)
    s3_reader_finish(r, S3_READ_FAILED, pl_strerror(rc));
}

bool s3_recover_is_gone(const pl_aws_error_t *e) {
  const char *code = e->code ? e->code : "";
  return e->status == 404 ||
         (e->status == 403 && strcmp(code, "AccessDenied") == 0) ||
         strcmp(code, "InvalidObjectState") == 0;
}

/* Why the object cannot be taken up at resume_at after its first piece
 * came (`error` when it did not), or NULL when it can. */
static const char *no_resume(s3_reader_t *r, const pl_aws_error_t *error,
                             size_t *header) {
  if (r->mismatch || (error && error->status == 412))
    return "it changed since"; /* a server that ignored If-Match, or 412 */
  if (error)
    return "its first bytes could not be read";
  pl_compression_t kind = PL_COMPRESSION_NONE;
  if (r->decompress) {
    kind = pl_compression_detect((pl_compression_t)r->decompress->compression,
                                 r->content_encoding, r->key);
    if (kind == PL_COMPRESSION_AUTO)
      kind = pl_compression_sniff(r->head.data, r->head.len, true);
  }
  if (kind != PL_COMPRESSION_NONE)
    return "it is compressed";
  const char *lf = r->head.len ? memchr(r->head.data, '\n', r->head.len) : NULL;
  *header = lf ? (size_t)(lf - r->head.data) + 1 : 0;
  if (!lf || *header > r->resume_at)
    return "no whole first line before that point";
  return NULL;
}

void s3_recover_end_heading(s3_reader_t *r, const pl_aws_error_t *error) {
  size_t header = 0;
  if (error && error->status == 412 && !r->mismatch) {
    /* The version announced (the ledger's, which is the event's) is gone:
     * as on a first GET, the new one is read for its own announcement. */
    pl_buf_t text = {0};
    pl_aws_error_format(error, &text);
    r->resume_at = 0;
    r->heading = false;
    pl_buf_free(&r->head);
    s3_reader_finish(r, S3_READ_REPLACED, text.data ? text.data : "412");
    pl_buf_free(&text);
    return;
  }
  const char *why = no_resume(r, error, &header);
  uint64_t at = r->resume_at;
  r->resume_at = 0;
  if (!why && !s3_reader_emit(r, r->head.data, header, false, false)) {
    s3_reader_finish(r, S3_READ_FAILED, "out of memory");
    return;
  }
  r->heading = false;
  if (why) {
    pl_log(r->inst, PL_LOG_INFO,
           "%s: not taken up at byte %llu (%s): read from the start", r->origin,
           (unsigned long long)at, why);
    free(r->etag);
    free(r->etag_raw);
    r->etag = r->etag_raw = NULL;
    if (r->track) {
      free(r->track->etag);
      r->track->etag = NULL;
    }
    s3_reader_forget_decoder(r);
  } else {
    pl_log(r->inst, PL_LOG_INFO,
           "%s: resuming at byte %llu (line %llu): the rows before it were "
           "committed by an earlier run",
           r->origin, (unsigned long long)at,
           (unsigned long long)r->resume_line);
    pl_instance_count(r->inst, "objects_resumed", 1);
    r->sniffed = true; /* read as it is */
    r->offset = at;
    r->next_line = r->resume_line;
  }
  pl_buf_free(&r->head);
  int rc = s3_reader_request(r);
  if (rc < 0)
    s3_reader_finish(r, S3_READ_FAILED, pl_strerror(rc));
}
