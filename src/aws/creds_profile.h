/* Credentials from the selected profile of the shared credentials and
 * config files (aws_profile.h reads them): static keys, or role_arn with
 * web_identity_token_file through STS (creds_sts.h). Other role forms
 * (source_profile, credential_source, credential_process, SSO) fail with a
 * reason. Follows pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_PROFILE_H
#define PL_AWS_CREDS_PROFILE_H

#include "creds_providers.h"

int pl__creds_profile_start(const pl__creds_ctx_t *ctx,
                            pl__creds_result_t *result, pl__creds_done_cb cb,
                            void *data, pl__creds_op_t **op);

#endif
