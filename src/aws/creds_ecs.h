/* Container credentials (ECS task roles, EKS Pod Identity): a GET of
 * http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or of
 * $AWS_CONTAINER_CREDENTIALS_FULL_URI, which must be https or resolve only
 * to loopback or the ECS/EKS agent addresses (127.0.0.0/8, ::1,
 * 169.254.170.2, 169.254.170.23, fd00:ec2::23). The Authorization header
 * comes from the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. Follows pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_ECS_H
#define PL_AWS_CREDS_ECS_H

#include "creds_providers.h"

int pl__creds_ecs_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op);

/* Whether FULL_URI's host may be used over plain http without resolving
 * it: an allowed IP literal. Sets *is_literal when host is an IP
 * address at all (otherwise the caller resolves it). For tests. */
bool pl__creds_ecs_host_allowed(const char *host, bool *is_literal);

#endif
