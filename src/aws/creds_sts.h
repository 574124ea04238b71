/* Web identity credentials: STS AssumeRoleWithWebIdentity (unsigned query
 * API, form-encoded POST) with a token read from a file, for the
 * environment (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
 * AWS_ROLE_SESSION_NAME) and for profiles with role_arn and
 * web_identity_token_file. Start functions follow pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_STS_H
#define PL_AWS_CREDS_STS_H

#include "creds_providers.h"

/* The environment's web identity. */
int pl__creds_web_identity_start(const pl__creds_ctx_t *ctx,
                                 pl__creds_result_t *result,
                                 pl__creds_done_cb cb, void *data,
                                 pl__creds_op_t **op);

/* One AssumeRoleWithWebIdentity call at ctx->sts_url. Reads token_file
 * synchronously (a failure is a FAILED result, returned at once); copies
 * every argument. session_name NULL: "pipelined-<now>". `source` names the
 * credentials ("web identity", "profile ci (web identity)"). */
int pl__creds_sts_start(const pl__creds_ctx_t *ctx, const char *role_arn,
                        const char *token_file, const char *session_name,
                        const char *source, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op);

#endif
