/* Credentials from the environment: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Synchronous; follows
 * pl__creds_start_fn (it always returns 0 or PL_ENOMEM and never calls
 * cb). */
#ifndef PL_AWS_CREDS_ENV_H
#define PL_AWS_CREDS_ENV_H

#include "creds_providers.h"

int pl__creds_env_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op);

#endif
