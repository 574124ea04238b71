/* S3 uploads for sinks, all pure (no I/O): the query strings of the
 * multipart upload requests, the body of CompleteMultipartUpload, and the
 * parsers of the two answers that carry XML. A sink sends them with
 * pl_aws_rest_call() (<pipelined/aws.h>):
 *
 *   PutObject                PUT  /key                 body: the object
 *   CreateMultipartUpload    POST /key?uploads=        answer: UploadId
 *   UploadPart               PUT  /key?partNumber=N&uploadId=ID
 *                                                      answer: ETag header
 *   CompleteMultipartUpload  POST /key?uploadId=ID     body: the parts
 *   AbortMultipartUpload     DELETE /key?uploadId=ID
 *
 * Parts are numbered from 1 (at most PL_S3_MAX_PARTS); every part but the
 * last holds at least PL_S3_MIN_PART_BYTES. CompleteMultipartUpload may
 * answer 200 with an <Error> document: pl_s3_complete_parse() tells. */
#ifndef PIPELINED_S3_UPLOAD_H
#define PIPELINED_S3_UPLOAD_H

#include <pipelined/common.h>
#include <stdint.h>

#define PL_S3_MIN_PART_BYTES ((uint64_t)5 << 20) /* 5 MiB */
#define PL_S3_MAX_PART_BYTES ((uint64_t)5 << 30) /* 5 GiB */
#define PL_S3_MAX_PARTS 10000
/* The largest object one PutObject may carry. */
#define PL_S3_MAX_PUT_BYTES ((uint64_t)5 << 30)

/* Appends to `out` the query string (without '?') of a multipart request,
 * parameters sorted as SigV4 signs them:
 *   upload_id NULL, part 0:  "uploads="              (Create)
 *   upload_id, part 0:       "uploadId=<id>"         (Complete, Abort)
 *   upload_id, part 1..max:  "partNumber=<n>&uploadId=<id>" (UploadPart)
 * The id is RFC 3986 encoded. Returns 0, PL_EINVAL (`out` NULL, a part
 * without an id, an empty id) or PL_ERANGE (part above PL_S3_MAX_PARTS) or
 * PL_ENOMEM; on failure `out` is left as it was. */
PL_EXTERN int pl_s3_upload_query(const char *upload_id, unsigned part,
                                 pl_buf_t *out);

/* Appends the CompleteMultipartUpload body naming `count` parts (1 to
 * PL_S3_MAX_PARTS) numbered 1..count, with the ETags UploadPart answered
 * (borrowed, as sent: quotes included; XML-escaped here):
 *   <CompleteMultipartUpload><Part><PartNumber>1</PartNumber>
 *   <ETag>"…"</ETag></Part>…</CompleteMultipartUpload>
 * Returns 0, PL_EINVAL (a NULL etag or `out`, count 0), PL_ERANGE or
 * PL_ENOMEM; on failure `out` is left as it was. */
PL_EXTERN int pl_s3_complete_body(const char *const *etags, size_t count,
                                  pl_buf_t *out);

/* Parses the CreateMultipartUpload answer (<InitiateMultipartUploadResult>
 * with an <UploadId>, namespace or not) of `len` bytes: *upload_id gets a
 * new malloc()ed copy of the id (white space around it removed). Returns
 * 0; PL_EPARSE with one line appended to `error` (unless NULL): "the
 * document element is <Error>, not <InitiateMultipartUploadResult>",
 * "<InitiateMultipartUploadResult> has no <UploadId>", "<UploadId> is
 * longer than 1024 bytes", or the XML parser's reason with its position;
 * PL_EINVAL (NULL upload_id) or PL_ENOMEM. *upload_id is NULL on failure.
 * No remote text but element names (cut to 64 bytes) is in the reason. */
PL_EXTERN int pl_s3_initiate_parse(const char *xml, size_t len,
                                   char **upload_id, pl_buf_t *error);

/* Checks the answer of CompleteMultipartUpload: 0 when it is an XML
 * document whose element is not <Error> (S3's is
 * <CompleteMultipartUploadResult>, some emulators name it otherwise);
 * PL_EPARSE with one line appended to `error` unless NULL ("line 2, column
 * 1: the document element is <Error>", as S3 answers with status 200 when
 * the completion fails after it began; or the XML parser's reason, for an
 * empty or malformed body); or PL_ENOMEM. */
PL_EXTERN int pl_s3_complete_parse(const char *xml, size_t len,
                                   pl_buf_t *error);

#endif
