/* The AWS client every AWS plugin shares (HACKING.md#s14: no plugin talks to
 * libcurl or signs requests on its own). One client per plugin instance and
 * service; all clients of an engine share one connection pool, one
 * credentials chain and the settings of the config's aws { } block.
 *
 * Requests are signed with SigV4, sent on the engine's loop, and retried in
 * the AWS "standard" mode (throttling, 5xx, timeouts and connection errors;
 * never client errors), with a retry token bucket and clock-skew
 * correction. Every failure arrives as one structured pl_aws_error_t. */
#ifndef PIPELINED_AWS_H
#define PIPELINED_AWS_H

#include <jansson.h>
#include <pipelined/common.h>
#include <pipelined/extension.h>
#include <pipelined/plugin.h>

/* The AWS layer is its own library, libpipelined-aws (pkg-config module
 * pipelined-aws). Its engine extension holds what the clients of one
 * engine share, set by the config's aws { } block: a plugin that creates
 * clients names it in its descriptor,
 *     .extensions = PL_AWS_EXTENSIONS,
 * so that the block is validated when the config loads. */
PL_EXTERN extern const pl_extension_type_t pl_aws_extension;
#define PL_AWS_EXTENSIONS                                                      \
  ((const pl_extension_type_t *const[]){&pl_aws_extension, NULL})

typedef struct pl_aws_client pl_aws_client_t;
typedef struct pl_aws_call pl_aws_call_t;

/* A failed call. Borrowed for the callback it is passed to. */
typedef struct pl_aws_error {
  const char *service;    /* "sqs" */
  const char *operation;  /* "SendMessageBatch" */
  int status;             /* HTTP status; 0 for a transport failure */
  const char *code;       /* "ThrottlingException", or "ConnectionError" */
  const char *message;    /* the service's message, or the transport's */
  const char *request_id; /* or NULL */
  bool retryable;         /* true when the attempts ran out on a retryable
                             error: the caller may fail (not reject) */
  /* The service's error answer as it came (`body_len` bytes, not
   * NUL-terminated), for the fields of an error beyond its code and
   * message (DynamoDB's Item of a failed condition with
   * ReturnValuesOnConditionCheckFailure); NULL without one. Borrowed for
   * the callback. */
  const char *body;
  size_t body_len;
} pl_aws_error_t;

/* Appends one line: "sqs SendMessageBatch: HTTP 400 Code: message
 * (request id ...)". */
PL_EXTERN void pl_aws_error_format(const pl_aws_error_t *error, pl_buf_t *out);

/* True when retrying does not cure `error`: the service answered (status
 * is not 0) with an error the AWS layer does not retry (a missing queue or
 * table, a denied permission, a bad request), as opposed to a throttling
 * or server error or a transport failure whose attempts ran out. */
static inline bool pl_aws_error_lasting(const pl_aws_error_t *error) {
  return !error->retryable && error->status != 0;
}

/* The error of a call whose successful answer (HTTP `status`) is not the
 * operation's result: cut short on the way, or a proxy's page. Retrying
 * may cure it, so it is not lasting (the records fail and are tried
 * again, and no log says retrying will not help). `service`, `operation`
 * and `why` (what the parse said) are borrowed. */
static inline pl_aws_error_t pl_aws_error_invalid_answer(const char *service,
                                                         const char *operation,
                                                         int status,
                                                         const char *why) {
  return (pl_aws_error_t){.service = service,
                          .operation = operation,
                          .status = status,
                          .code = "InvalidResponse",
                          .message = why,
                          .retryable = true};
}

typedef struct pl_aws_client_options {
  const char *service;   /* "sqs", "dynamodb", "s3" (signing name) */
  const char *endpoint;  /* the plugin's own option, or NULL */
  const char *region;    /* the plugin's own option, or NULL */
  int64_t max_in_flight; /* requests at once; 0: 16 */
  int64_t max_attempts;  /* 0: the aws { } block's (default 3) */
  /* S3 addressing: 0 path style exactly when the endpoint is custom (a
   * local emulator), 1 always path style, -1 always virtual-hosted. */
  int path_style;
} pl_aws_client_options_t;

/* Creates a client for `inst` (borrowed options); the plugin's descriptor
 * names PL_AWS_EXTENSIONS. Fails with a logged reason when no region can
 * be found. */
PL_EXTERN int pl_aws_client_create(pl_instance_t *inst,
                                   const pl_aws_client_options_t *options,
                                   pl_aws_client_t **out);
/* Cancels the client's calls (their callbacks run with code "Canceled")
 * and frees it once they have. Call from the plugin's close callback. */
PL_EXTERN void pl_aws_client_destroy(pl_aws_client_t *client);

/* ---- Options: the rows every AWS plugin has ---- */

/* The `endpoint` and `region` rows of an AWS plugin's option table, for an
 * options struct `type` with `char *endpoint` and `char *region` (what
 * pl_aws_client_options_t takes; pl_aws_client_create() resolves them when
 * they are not set, in the order the texts give). `name` is the service's
 * name in the text ("DynamoDB"), `env` the end of its variable ("DYNAMODB":
 * AWS_ENDPOINT_URL_DYNAMODB). */
#define PL_AWS_CLIENT_OPTIONS(type, name, env)                                 \
  PL_OPTION_STRING(type, endpoint, "endpoint", NULL, 0,                        \
                   name " endpoint URL (default: the aws block's, "            \
                        "AWS_ENDPOINT_URL_" env ", AWS_ENDPOINT_URL, the "     \
                        "profile's, the region's)."),                          \
      PL_OPTION_STRING(type, region, "region", NULL, 0,                        \
                       "AWS region (default: the aws block's, AWS_REGION, "    \
                       "AWS_DEFAULT_REGION, the profile's, the EC2 "        \
                       "instance's from instance metadata).")

/* ---- Sinks ---- */

/* What every AWS sink keeps beside its own state: the client, and the
 * limit on logging requests refused in a way retrying does not cure
 * (`refused`: the sink logs them with pl_complain() when
 * pl_aws_error_lasting() says so). The sink embeds one, zeroed, in its
 * context; the client is NULL before start and after close, so a sink
 * that finds it NULL is closed (or never started). */
typedef struct pl_aws_sink {
  pl_instance_t *inst;     /* borrowed */
  pl_aws_client_t *client; /* owned from start to close */
  pl_complain_t refused;
} pl_aws_sink_t;

/* From the start callback: creates the client of `service` with the
 * plugin's own `endpoint` and `region` options (NULL: not set; borrowed)
 * and room for as many requests at once as the stage lets batches be in
 * flight (pl_instance_max_in_flight). With the stage's concurrency
 * "adaptive" (pl_instance_concurrency_adaptive) the client sends fewer
 * while the service throttles or slows down, and tells the stage its limit
 * (pl_instance_set_concurrency_limit). Returns 0, or a negative code with
 * the reason logged. */
PL_EXTERN int pl_aws_sink_start(pl_aws_sink_t *sink, pl_instance_t *inst,
                                const char *service, const char *endpoint,
                                const char *region);

/* First thing in the write callback: true when the sink is closed (the
 * engine hands over a retry whose timer outlived the shutdown); the batch
 * is then done, failed with "the sink is closed". False otherwise. */
PL_EXTERN bool pl_aws_sink_closed(pl_aws_sink_t *sink, pl_batch_t *batch);

/* A request succeeded: when requests had been refused, one info line
 * "<message> (recovered after N failure(s))"; nothing otherwise, and
 * nothing is formatted then. */
PL_EXTERN void pl_aws_sink_accepted(pl_aws_sink_t *sink, const char *fmt, ...)
    PL_PRINTF(2, 3);

/* From the close callback: destroys the client. Calls in flight end with
 * "Canceled" (their callbacks run later, and finish their batches). */
PL_EXTERN void pl_aws_sink_close(pl_aws_sink_t *sink);

/* ---- The AWS JSON protocol (SQS, DynamoDB) ---- */

/* `result` is borrowed for the call (NULL on error); exactly one of result
 * and error is set. */
typedef void (*pl_aws_json_cb)(void *data, json_t *result,
                               const pl_aws_error_t *error);

/* Calls `target` ("AmazonSQS.SendMessageBatch",
 * "DynamoDB_20120810.UpdateItem") with `body` (borrowed, serialized now).
 * Returns 0 and calls `cb` once later, or returns a negative code and never
 * calls it. */
PL_EXTERN int pl_aws_json_call(pl_aws_client_t *client, const char *target,
                               const json_t *body, pl_aws_json_cb cb,
                               void *data);
/* The answer of pl_aws_json_call_text: the body of a 2xx answer as it
 * came, `len` bytes at `body` (borrowed for the call; neither parsed nor
 * checked: the caller parses it, and treats text that is not what it
 * expects as it would any bad answer), or NULL and `error`. */
typedef void (*pl_aws_json_text_cb)(void *data, const char *body, size_t len,
                                    const pl_aws_error_t *error);

/* pl_aws_json_call for callers on a hot path that write their requests
 * directly (<pipelined/json.h>) and read only a few fields of the answer:
 * `len` bytes of JSON text at `body` (borrowed, copied now; a JSON object,
 * which is not checked) and the answer as text. Signing, retries and
 * errors are those of pl_aws_json_call. It sets no long-poll wait: a call
 * with WaitTimeSeconds goes through pl_aws_json_call. Returns 0 and calls
 * `cb` once later; PL_EINVAL for an empty body, PL_ECANCELED once the
 * client is being destroyed, PL_ENOMEM, and then never calls it. */
PL_EXTERN int pl_aws_json_call_text(pl_aws_client_t *client,
                                    const char *target, const char *body,
                                    size_t len, pl_aws_json_text_cb cb,
                                    void *data);
/* pl_aws_json_call_text for a long poll: `wait_ms` is the request's own
 * wait (WaitTimeSeconds), which the request timeout comes on top of, as
 * pl_aws_json_call reads it from its body. */
PL_EXTERN int pl_aws_json_call_text_wait(pl_aws_client_t *client,
                                         const char *target, const char *body,
                                         size_t len, uint64_t wait_ms,
                                         pl_aws_json_text_cb cb, void *data);

/* ---- REST (S3) ---- */

typedef struct pl_aws_header {
  const char *name;
  const char *value;
} pl_aws_header_t;

typedef struct pl_aws_rest_request {
  const char *operation; /* "GetObject", for errors and metrics */
  const char *method;
  const char *bucket;    /* path-style or virtual-hosted per the client */
  const char *key;       /* not encoded; NULL for bucket operations */
  const char *query;     /* encoded "list-type=2&prefix=a%2Fb", or NULL */
  const pl_aws_header_t *headers;
  size_t header_count;
  const void *body; /* borrowed for the call */
  size_t body_len;
} pl_aws_rest_request_t;

typedef struct pl_aws_rest_handlers {
  /* Optional: the status and headers, before any body. */
  void (*on_headers)(void *data, int status, const pl_aws_header_t *headers,
                     size_t count);
  /* Optional: the body in pieces (not buffered); return false to pause
   * until pl_aws_call_resume(). Without it the body is buffered and handed
   * to on_done. */
  bool (*on_body)(void *data, const char *bytes, size_t len);
  /* Required, exactly once: the buffered body (NULL when streamed) or an
   * error. A call is retried only while no body byte was delivered. */
  void (*on_done)(void *data, int status, const char *body, size_t len,
                  const pl_aws_error_t *error);
  void *data;
} pl_aws_rest_handlers_t;

PL_EXTERN int pl_aws_rest_call(pl_aws_client_t *client,
                               const pl_aws_rest_request_t *request,
                               const pl_aws_rest_handlers_t *handlers,
                               pl_aws_call_t **call);
PL_EXTERN void pl_aws_call_pause(pl_aws_call_t *call);
PL_EXTERN void pl_aws_call_resume(pl_aws_call_t *call);
PL_EXTERN void pl_aws_call_cancel(pl_aws_call_t *call);

#endif
