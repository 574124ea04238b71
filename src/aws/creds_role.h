/* Role chains: source credentials from a base provider (a source
 * profile's own credentials, or the credential_source: environment,
 * instance metadata, container), then one STS AssumeRole per hop, each
 * signed with the credentials the step before yielded (creds_sts.h). The
 * profile provider (creds_profile.h) reads the profiles and builds the
 * hops; this module only runs them. The result expires with the last
 * role's credentials, so the chain re-runs the whole walk before then.
 * Follows pl__creds_start_fn. */
#ifndef PL_AWS_CREDS_ROLE_H
#define PL_AWS_CREDS_ROLE_H

#include "creds_providers.h"
#include "creds_sts.h"

/* One role to assume: what the named profile asks for. */
typedef struct pl__creds_role_hop {
  const char *profile; /* the profile that holds role_arn */
  pl__creds_assume_role_t role;
} pl__creds_role_hop_t;

/* Runs `base` with ctx, except that its profile is `base_profile` (named
 * and required, as a source profile is; NULL: ctx's), then the hops in
 * order (hops[0] is signed with the base's credentials, the last one
 * yields the result). `base_label` names the base in failures
 * ("source profile base", "credential_source Environment"); a base that
 * finds nothing is a failure. Every argument is copied. The result's
 * source reads "profile prod (assume role ARN via profile base)". */
int pl__creds_role_start(const pl__creds_ctx_t *ctx, pl__creds_start_fn base,
                         const char *base_profile, const char *base_label,
                         const pl__creds_role_hop_t *hops, size_t hop_count,
                         pl__creds_result_t *result, pl__creds_done_cb cb,
                         void *data, pl__creds_op_t **op);

#endif
