/* Live checks of AWS stages (`pipelined --check --live`,
 * <pipelined/preflight.h>), shared by every AWS plugin: a session per
 * stage owns the clients of its checks, reports what each check finds on
 * the stage's pl_preflight_t, and says the stage is done once every
 * answer is in. Nothing is written: the checks read (GetQueueAttributes,
 * HeadBucket, DescribeTable, STS GetCallerIdentity).
 *
 * Use, from a plugin's preflight callback:
 *   pl_aws_preflight_create(check, &p);
 *   client = pl_aws_preflight_client(p, &client_options);  (region line)
 *   pl_aws_preflight_queue(p, client, &queue) / _bucket / _json ...;
 *   pl_aws_preflight_finish(p);   (then return 0)
 * The first client of the whole run also checks the credentials (which
 * provider of the chain supplied them; never the secrets) and the
 * caller's identity (STS GetCallerIdentity), reported once under "aws". */
#ifndef PIPELINED_AWS_PREFLIGHT_H
#define PIPELINED_AWS_PREFLIGHT_H

#include <pipelined/aws.h>
#include <pipelined/preflight.h>

typedef struct pl_aws_preflight pl_aws_preflight_t;

/* Starts a session for the stage of `check` (borrowed until the session
 * calls pl_preflight_done()). Returns 0 or PL_ENOMEM. */
PL_EXTERN int pl_aws_preflight_create(pl_preflight_t *check,
                                      pl_aws_preflight_t **out);

/* Creates a client as pl_aws_client_create() does, owned by the session
 * (borrowed by the caller until pl_aws_preflight_finish()), and reports
 * its region and endpoint: OK when the region is set in the config (the
 * stage's option or the aws {} block), WARN when it defaulted to the
 * environment or a profile. NULL (reported as FAIL) when the client
 * cannot be created, e.g. without any region. */
PL_EXTERN pl_aws_client_t *
pl_aws_preflight_client(pl_aws_preflight_t *p,
                        const pl_aws_client_options_t *options);

/* A queue a stage uses; strings borrowed for the call. */
typedef struct pl_aws_queue_check {
  const char *what; /* "queue", "notifications queue" */
  const char *url;
  /* The stage receives from it (the SQS poller): the redrive policy and
   * the visibility timeout are checked too. */
  bool reads;
  uint64_t visibility_timeout_ms; /* the stage's option; 0: the queue's */
} pl_aws_queue_check_t;

/* GetQueueAttributes on the queue. FAIL when it cannot be read (missing,
 * denied). For a queue the stage reads: WARN without a redrive policy (a
 * message that always fails is received forever), and WARN when half its
 * visibility timeout, the time the heartbeat leaves an extension to land,
 * is shorter than the aws {} block's request_timeout (one slow extension
 * then lets the message be received again while it is being processed). */
PL_EXTERN void pl_aws_preflight_queue(pl_aws_preflight_t *p,
                                      pl_aws_client_t *client,
                                      const pl_aws_queue_check_t *queue);

/* The whole preflight of a stage whose one resource is a queue
 * (source-sqs, sink-sqs): a session, its client, the queue's check, and
 * the end. Returns 0 (pl_preflight_done() follows) or PL_ENOMEM. */
PL_EXTERN int pl_aws_preflight_queue_stage(pl_preflight_t *check,
                                           const pl_aws_client_options_t *client,
                                           const pl_aws_queue_check_t *queue);

/* HeadBucket (needs s3:ListBucket): FAIL when it is missing or denied. */
PL_EXTERN void pl_aws_preflight_bucket(pl_aws_preflight_t *p,
                                       pl_aws_client_t *client,
                                       const char *bucket);

/* A check of the plugin's own over the JSON protocol, through `client`
 * (not NULL): `cb` is called exactly once with the answer (borrowed) or
 * the error, also when the call cannot be sent (code "NotSent"), reports
 * with `check`, and returns; exactly one of result and error is set. */
typedef void (*pl_aws_preflight_json_cb)(void *data, pl_preflight_t *check,
                                         json_t *result,
                                         const pl_aws_error_t *error);
PL_EXTERN void pl_aws_preflight_json(pl_aws_preflight_t *p,
                                     pl_aws_client_t *client,
                                     const char *target, const json_t *body,
                                     pl_aws_preflight_json_cb cb, void *data);

/* Reports `error` as FAIL: "<what>: <Code>: <message>", with what the
 * code usually means for an access denied or a missing resource. */
PL_EXTERN void pl_aws_preflight_fail(pl_preflight_t *check, const char *what,
                                     const pl_aws_error_t *error);

/* No more checks: once every answer is in, the session destroys its
 * clients, frees itself and calls pl_preflight_done() (possibly now). */
PL_EXTERN void pl_aws_preflight_finish(pl_aws_preflight_t *p);

#endif
