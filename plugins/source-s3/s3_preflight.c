/* source-s3's live checks: the bucket, and in notifications mode the
 * queue of the bucket's events (read with the SQS poller). */
#include <pipelined/aws_preflight.h>

#include "s3_preflight.h"
#include "source_s3.h"

int s3_preflight(pl_instance_t *inst, void *ctx, pl_preflight_t *check) {
  (void)inst;
  const source_s3_t *s = ctx;
  const s3_options_t *o = s->opts;
  pl_aws_preflight_t *p = NULL;
  int rc = pl_aws_preflight_create(check, &p);
  if (rc < 0)
    return rc;
  if (o->notifications) {
    pl_aws_client_t *sqs = pl_aws_preflight_client(
        p, &(pl_aws_client_options_t){.service = "sqs",
                                      .endpoint = o->sqs_endpoint,
                                      .region = o->region});
    pl_aws_preflight_queue(
        p, sqs,
        &(pl_aws_queue_check_t){
            .what = "notifications queue",
            .url = o->notifications,
            .reads = true,
            .visibility_timeout_ms = o->poller.visibility_timeout_ms});
  }
  if (o->bucket) {
    pl_aws_client_t *s3 = pl_aws_preflight_client(
        p, &(pl_aws_client_options_t){
               .service = "s3", .endpoint = o->endpoint, .region = o->region});
    pl_aws_preflight_bucket(p, s3, o->bucket);
  }
  pl_aws_preflight_finish(p);
  return 0;
}
