/* Credentials from the selected profile of the shared credentials and
 * config files (aws_profile.h reads them): static keys, role_arn with
 * web_identity_token_file through STS (creds_sts.h), credential_process
 * (creds_process.h; which also serves IAM Identity Center through `aws
 * configure export-credentials --format process`), or a role chain:
 * role_arn with source_profile or credential_source (Environment,
 * Ec2InstanceMetadata, EcsContainer), with external_id,
 * role_session_name and duration_seconds, run by creds_role.h. As the
 * SDKs do, a role chain comes before the selected profile's own keys; a
 * source profile's keys come before its role (so a profile may name
 * itself as source_profile when it has keys). A chain that comes back to
 * a profile, goes through more than 8 profiles, names a missing profile
 * or asks for MFA (mfa_serial) fails with a reason naming it. SSO
 * (sso_*) fails with a reason. Follows pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_PROFILE_H
#define PL_AWS_CREDS_PROFILE_H

#include "creds_providers.h"

int pl__creds_profile_start(const pl__creds_ctx_t *ctx,
                            pl__creds_result_t *result, pl__creds_done_cb cb,
                            void *data, pl__creds_op_t **op);

#endif
