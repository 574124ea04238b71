/* What `pipelined --check --live` says about where each AWS setting came
 * from, as shared "aws:" lines of level PL_CHECK_INFO (not counted as
 * checks), each said once per run:
 *
 *   info aws: profile prod (from AWS_PROFILE)
 *   info aws: region eu-west-1 (from AWS_REGION)
 *   info aws: sqs endpoint http://localhost:4566 (from AWS_ENDPOINT_URL)
 *   info aws: max_attempts 5 (from profile prod in /root/.aws/config line 4)
 *   info aws: retry_mode standard (default)
 *
 * (the credentials' provider is said by the identity check:
 * "credentials from environment"). Values only, never a secret: a region,
 * a profile's name, an endpoint URL (which cannot hold user info:
 * endpoint.h), numbers and mode names. */
#ifndef PL_AWS_SOURCES_H
#define PL_AWS_SOURCES_H

#include <pipelined/aws.h>
#include <pipelined/preflight.h>

/* Reports the settings of `client` (created from `options`, both
 * borrowed) that no stage of the run reported yet. */
void pl__aws_sources_report(pl_preflight_t *check,
                            const pl_aws_client_t *client,
                            const pl_aws_client_options_t *options);

#endif
