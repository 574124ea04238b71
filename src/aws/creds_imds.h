/* EC2 instance metadata credentials (and region), IMDSv2 only: PUT
 * /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then GET
 * /latest/meta-data/iam/security-credentials/ for the role name and GET
 * .../<role> for the credentials, both with X-aws-ec2-metadata-token.
 * Endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254
 * (http://[fd00:ec2::254] with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6);
 * AWS_EC2_METADATA_DISABLED=true turns it off. Each request has a 1 s
 * timeout so that a machine outside EC2 gives up quickly; a token request
 * that fails means "not on EC2" (PL__CREDS_ABSENT). Follows
 * pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_IMDS_H
#define PL_AWS_CREDS_IMDS_H

#include "creds_providers.h"

int pl__creds_imds_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                         pl__creds_done_cb cb, void *data, pl__creds_op_t **op);

/* The instance's region, through the same endpoint, switches and
 * timeouts: PUT /latest/api/token, then GET
 * /latest/meta-data/placement/region. FOUND with result->value the region
 * (lower-case letters, digits and '-'); ABSENT when IMDS is disabled or
 * the token request fails (not on EC2); FAILED for an unusable answer.
 * Only ctx->http and ctx->env are read. Follows pl__creds_start_fn. */
int pl__creds_imds_region_start(const pl__creds_ctx_t *ctx,
                                pl__creds_result_t *result,
                                pl__creds_done_cb cb, void *data,
                                pl__creds_op_t **op);

#endif
