/* One failed AWS call as a structured error (HACKING.md#s5): which service and
 * operation, the HTTP status, the AWS error code, the message and the
 * request id, plus whether the standard retry mode would retry it. Callers
 * log it with pl__aws_error_format() and branch on the fields, never on the
 * formatted text.
 *
 * Errors come from three places:
 *  - AWS JSON protocol responses (DynamoDB, SQS JSON): pl__aws_error_from_json;
 *  - REST XML and query XML responses (S3, STS): pl__aws_error_from_xml,
 *    which also covers HEAD responses that carry no body;
 *  - transport failures that never produced a response:
 *    pl__aws_error_from_transport.
 * The parsers take the response through pl_aws_response_view_t so that this
 * file does not depend on the HTTP layer.
 *
 * pl_aws_error_detail_t owns its strings and carries what retrying needs
 * (transport code, Date header, throttling); the public pl_aws_error_t of
 * <pipelined/aws.h> is the borrowed view the client hands to plugins, built
 * from it field by field. Both headers can be included together. */
#ifndef PL_AWS_ERROR_H
#define PL_AWS_ERROR_H

#include <pipelined/common.h>

/* Looks up a response header by its lower-case name ("x-amzn-requestid").
 * Returns borrowed text valid while the view is, or NULL when absent. */
typedef const char *(*pl_aws_header_cb)(const void *data, const char *name);

/* A received HTTP response, everything borrowed for the call it is passed
 * to. `header` may be NULL (no headers); `body` may be NULL when body_len
 * is 0 and need not be NUL-terminated. */
typedef struct pl_aws_response_view {
  int status; /* 100..599 */
  pl_aws_header_cb header;
  const void *header_data;
  const char *body;
  size_t body_len;
} pl_aws_response_view_t;

typedef struct pl_aws_error_detail {
  char *service;    /* "sqs", "s3", "dynamodb", "sts" */
  char *operation;  /* "SendMessageBatch", or NULL when unknown */
  int status;       /* HTTP status; 0 when the request failed in transport */
  int transport;    /* 0, or the transport's PL_E* code when status is 0 */
  char *code;       /* "NoSuchKey"; NULL only for transport errors */
  char *message;    /* the service's or the transport's text, or NULL */
  char *request_id; /* or NULL */
  char *date;       /* the response's Date header (for clock skew), or NULL */
  bool retryable;   /* the standard retry mode would retry it (retry.h) */
  bool throttling;  /* retryable because the service throttled us */
} pl_aws_error_detail_t;

/* What an error is made from: the fields of pl_aws_error_detail_t that are
 * not computed, every string borrowed. */
typedef struct pl_aws_error_fields {
  const char *service;
  const char *operation;
  int status;
  int transport;
  const char *code;
  const char *message;
  const char *request_id;
  const char *date;
} pl_aws_error_fields_t;

/* Creates an error from fields the caller already has, such as one failed
 * entry of an SQS SendMessageBatch result. The strings of `fields` are
 * borrowed and copied; `service` is required and `code` is required unless
 * `fields->transport` is set. `retryable` and `throttling` are computed by
 * pl__aws_retry_classify(). On success *out is a new error for
 * pl__aws_error_destroy(). Returns 0, PL_EINVAL or PL_ENOMEM. */
int pl__aws_error_create(const pl_aws_error_fields_t *fields,
                         pl_aws_error_detail_t **out);

/* Parses an AWS JSON protocol error response. The code is taken, in this
 * order, from the x-amzn-query-error header ("AWS.SimpleQueueService.
 * NonExistentQueue;Sender", sent by SQS for query compatibility), the
 * x-amzn-errortype header, and the body's "code" and "__type" members;
 * each is cleaned as the Smithy AWS JSON protocols specify: text from the
 * first ':' on is dropped, then text up to and including the first '#'.
 * The message is the body's "message" or "Message"; the request id comes
 * from x-amzn-requestid, else x-amz-request-id. A body that is empty or not
 * a JSON object still yields an error, with a code derived from the status
 * (see pl__aws_error_status_code). `service` is required, `operation` may
 * be NULL; both are copied. Returns 0, PL_EINVAL (status out of 100..599)
 * or PL_ENOMEM; *out is a new error on success. */
int pl__aws_error_from_json(const char *service, const char *operation,
                            const pl_aws_response_view_t *response,
                            pl_aws_error_detail_t **out);

/* Parses an XML error response with expat: S3's <Error><Code>…</Code>
 * <Message>…</Message><RequestId>…</RequestId></Error> and the query
 * protocol's <ErrorResponse><Error>…</Error><RequestId>…</RequestId>
 * </ErrorResponse> (STS). The request id comes from x-amz-request-id, else
 * the body, else x-amzn-requestid. HEAD responses have no body, and a body
 * that is not well-formed XML (or has a DOCTYPE, refused so that entity
 * expansion never runs) is ignored: the code is then derived from the
 * status. Arguments, ownership and return values as pl__aws_error_from_json.
 */
int pl__aws_error_from_xml(const char *service, const char *operation,
                           const pl_aws_response_view_t *response,
                           pl_aws_error_detail_t **out);

/* Creates the error of a request that got no response: `transport` is the
 * transport's negative PL_E* code (http.h: PL_EIO connection, DNS or TLS;
 * PL_EAGAIN timeout; PL_ECANCELED cancelled) and `text` its message or
 * NULL. Returns 0, PL_EINVAL (transport not negative) or PL_ENOMEM. */
int pl__aws_error_from_transport(const char *service, const char *operation,
                                 int transport, const char *text,
                                 pl_aws_error_detail_t **out);

/* The code S3 and other REST services mean by a bodiless error status:
 * 301 "PermanentRedirect", 304 "NotModified", 307 "TemporaryRedirect",
 * 400 "BadRequest", 403 "Forbidden", 404 "NotFound", 405
 * "MethodNotAllowed", 409 "Conflict", 412 "PreconditionFailed", 416
 * "InvalidRange", 429 "TooManyRequests", 500 "InternalError", 501
 * "NotImplemented", 502 "BadGateway", 503 "ServiceUnavailable", 504
 * "GatewayTimeout"; anything else "UnknownError". Static text. */
const char *pl__aws_error_status_code(int status);

/* Appends one line to `out` (control characters of remote text become
 * spaces, so a hostile message cannot forge log lines):
 *   "sqs SendMessageBatch: HTTP 400 AWS.SimpleQueueService.NonExistentQueue:
 *    The specified queue does not exist (request id 1f3c…)"
 *   "s3 HeadObject: HTTP 404 NotFound (request id 7X2…)"
 *   "sqs SendMessageBatch: timed out: Operation timed out after 30000 ms"
 * The ": message" and " (request id …)" parts appear only when known; the
 * operation is left out when NULL. Returns 0 or PL_ENOMEM. */
int pl__aws_error_format(const pl_aws_error_detail_t *error, pl_buf_t *out);
/* The code of the public pl_aws_error_t for a transport failure (PL_EAGAIN:
 * "Timeout", PL_EIO: "ConnectionError", ...). pl_aws_error_format() writes
 * the same line as pl__aws_error_format() from the public fields. */
const char *pl__aws_transport_code(int transport);

/* Frees an error and its strings; NULL is allowed. */
void pl__aws_error_destroy(pl_aws_error_detail_t *error);

#endif
