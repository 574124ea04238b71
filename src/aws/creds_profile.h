/* Credentials from the selected profile of the shared credentials and
 * config files (aws_profile.h reads them): static keys, role_arn with
 * web_identity_token_file through STS (creds_sts.h), or credential_process
 * (creds_process.h; which also serves IAM Identity Center through `aws
 * configure export-credentials --format process`). Other role forms
 * (source_profile, credential_source, sso_*) fail with a reason. Follows
 * pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_PROFILE_H
#define PL_AWS_CREDS_PROFILE_H

#include "creds_providers.h"

int pl__creds_profile_start(const pl__creds_ctx_t *ctx,
                            pl__creds_result_t *result, pl__creds_done_cb cb,
                            void *data, pl__creds_op_t **op);

#endif
