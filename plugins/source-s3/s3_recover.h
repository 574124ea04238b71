/* How the S3 reader (s3_reader.h) goes on when a response does not end
 * the object well, called from its GetObject's completion: a download
 * that broke in the middle is continued with a Range request (If-Match
 * its ETag), an object that changed meanwhile is read again from its
 * start, and an object taken up where an earlier run's committed rows end
 * (s3_reader_resume_at()) gets its first line as a replay chunk, then the
 * rest from that offset. Each of them ends the object with
 * s3_reader_finish() when it cannot go on. */
#ifndef PL_SOURCE_S3_RECOVER_H
#define PL_SOURCE_S3_RECOVER_H

#include "s3_reader.h"

/* The download broke in the middle (a retryable or transport error, whose
 * text is `text`, borrowed for the call): asks for the rest, unless
 * Range requests keep failing without progress (5 in a row), when the
 * object fails. */
void s3_recover_range(s3_reader_t *r, const char *text);

/* The object changed since the reader started it (412, or another ETag):
 * the bytes sent so far end with a cut chunk and it is read again from
 * the beginning, at most 3 times, then the object fails. */
void s3_recover_restart(s3_reader_t *r);

/* True for errors that say the object cannot be read, ever: it does not
 * exist (or its bucket), access to it is denied, or it is archived.
 * Everything else (expired credentials, a skewed clock, throttling, 5xx)
 * fails the read, so that the message comes back and the queue's redrive
 * policy decides. */
bool s3_recover_is_gone(const pl_aws_error_t *e);

/* The first piece of an object to resume came (`error` NULL) or failed
 * (`error` borrowed): its first line goes out as a replay for the header,
 * and the rest is asked for from resume_at; or, as the log says, the
 * object is read from its start (it changed, is compressed, or has no
 * whole first line before resume_at). */
void s3_recover_end_heading(s3_reader_t *r, const pl_aws_error_t *error);

#endif
