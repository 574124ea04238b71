/* Role credentials from STS (query API, form-encoded POST to
 * ctx->sts_url):
 *  - AssumeRoleWithWebIdentity, unsigned, with a token read from a file,
 *    for the environment (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
 *    AWS_ROLE_SESSION_NAME) and for profiles with role_arn and
 *    web_identity_token_file;
 *  - AssumeRole, SigV4-signed (service "sts", region ctx->sts_region) with
 *    the source credentials, for role chains (creds_role.h).
 * Both read the same <Credentials> element. Start functions follow
 * pl__creds_start_fn. */
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

/* What one AssumeRole asks for; borrowed for the start call. */
typedef struct pl__creds_assume_role {
  const char *role_arn;
  const char *session_name;     /* NULL: "pipelined-<now>" */
  const char *external_id;      /* NULL: none */
  const char *duration_seconds; /* NULL: STS's default (an hour) */
} pl__creds_assume_role_t;

/* One AssumeRole call signed with `signer` (borrowed for the call: the
 * signature is made before it returns). `source` names the result. A
 * failure names the role: "AssumeRole of ARN at URL: HTTP 403
 * AccessDenied: ...". */
int pl__creds_assume_role_start(const pl__creds_ctx_t *ctx,
                                const pl__creds_assume_role_t *role,
                                const pl_aws_credentials_t *signer,
                                const char *source, pl__creds_result_t *result,
                                pl__creds_done_cb cb, void *data,
                                pl__creds_op_t **op);

#endif
