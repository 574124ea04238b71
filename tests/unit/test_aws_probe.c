/* The probe sink of the AWS preflight suites (test_aws_probe.h). */
#include <pipelined/aws_preflight.h>

#include "test_aws_probe.h"

typedef struct probe_options {
  char *queue_url;
  bool reads;
  uint64_t visibility_ms;
  char *bucket;
  char *endpoint;
  char *client;
  int64_t max_attempts;
} probe_options_t;

static const pl_option_t probe_table[] = {
    PL_OPTION_STRING(probe_options_t, queue_url, "queue_url", NULL, 0,
                     "A queue to check."),
    PL_OPTION_BOOL(probe_options_t, reads, "reads", "false", 0,
                   "The stage reads the queue."),
    PL_OPTION_DURATION(probe_options_t, visibility_ms, "visibility_timeout",
                       "0", 0, "The stage's visibility timeout."),
    PL_OPTION_STRING(probe_options_t, bucket, "bucket", NULL, 0,
                     "A bucket to check."),
    PL_OPTION_STRING(probe_options_t, endpoint, "endpoint", NULL, 0,
                     "The endpoint of the stage's clients."),
    PL_OPTION_STRING(probe_options_t, client, "client", NULL, 0,
                     "A service to make a client of, and nothing more."),
    PL_OPTION_INT(probe_options_t, max_attempts, "max_attempts", "0", 0,
                  "That client's own max_attempts (0: not set)."),
};

static int probe_init(pl_instance_t *inst, const void *options, void **ctx) {
  (void)inst;
  *ctx = (void *)options;
  return 0;
}

static void probe_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  pl_batch_done(batch, PL_RESULT_DELIVERED, NULL);
}

static void probe_destroy(void *ctx) {
  (void)ctx;
}

static int probe_preflight(pl_instance_t *inst, void *ctx,
                           pl_preflight_t *check) {
  const probe_options_t *o = ctx;
  pl_aws_preflight_t *p = NULL;
  int rc = pl_aws_preflight_create(check, &p);
  if (rc < 0)
    return rc;
  if (o->queue_url) {
    pl_aws_client_t *sqs = pl_aws_preflight_client(
        p,
        &(pl_aws_client_options_t){.service = "sqs", .endpoint = o->endpoint});
    pl_aws_preflight_queue(
        p, sqs,
        &(pl_aws_queue_check_t){.what = "queue",
                                .url = o->queue_url,
                                .reads = o->reads,
                                .visibility_timeout_ms = o->visibility_ms});
  }
  if (o->bucket) {
    pl_aws_client_t *s3 = pl_aws_preflight_client(
        p,
        &(pl_aws_client_options_t){.service = "s3", .endpoint = o->endpoint});
    pl_aws_preflight_bucket(p, s3, o->bucket);
  }
  if (o->client)
    pl_aws_preflight_client(
        p, &(pl_aws_client_options_t){.service = o->client,
                                      .max_attempts = o->max_attempts});
  pl_aws_preflight_finish(p);
  return 0;
}

const pl_plugin_t test_aws_probe = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "probe",
    .kind = PL_KIND_SINK,
    .description = "Checks a queue and a bucket live.",
    .options = probe_table,
    .options_count = sizeof probe_table / sizeof probe_table[0],
    .options_size = sizeof(probe_options_t),
    .init = probe_init,
    .write = probe_write,
    .destroy = probe_destroy,
    .extensions = PL_AWS_EXTENSIONS,
    .preflight = probe_preflight,
};
