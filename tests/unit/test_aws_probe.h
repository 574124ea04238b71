/* A sink for the `--check --live` suites of the AWS layer
 * (check_aws_preflight.c, check_aws_sources.c): its preflight checks the
 * queue and the bucket its options name through <pipelined/aws_preflight.h>,
 * and with `client` makes one client of that service (with its own
 * `max_attempts`) and checks nothing with it. Its batches are delivered. */
#ifndef PL_TEST_AWS_PROBE_H
#define PL_TEST_AWS_PROBE_H

#include <pipelined/plugin.h>

/* Options: queue_url, reads, visibility_timeout, bucket, endpoint (of the
 * queue's and bucket's clients), client, max_attempts. */
extern const pl_plugin_t test_aws_probe;

#endif
