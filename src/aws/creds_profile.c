/* The shared profile provider: static keys from the selected profile, or
 * its web identity role through STS. */
#include "creds_profile.h"

#include <stdlib.h>

#include "aws_profile.h"
#include "creds_process.h"
#include "creds_sts.h"

/* A profile with a role but no keys: web identity, or a form we lack. */
static int profile_role(const pl__creds_ctx_t *ctx, pl_aws_profile_t *profile,
                        const char *role_arn, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op) {
  const char *token_file =
      pl__aws_profile_get(profile, "web_identity_token_file");
  if (!token_file) {
    const char *other = pl__aws_profile_get(profile, "source_profile")
                            ? "source_profile"
                        : pl__aws_profile_get(profile, "credential_source")
                            ? "credential_source"
                            : NULL;
    if (other)
      return pl__creds_result_set(
          result, PL__CREDS_FAILED,
          "role_arn with %s is not supported (only web_identity_token_file)",
          other);
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "role_arn without web_identity_token_file");
  }
  char *path = NULL;
  int rc = pl__aws_profile_expand_home(ctx->env, token_file, &path);
  if (rc == PL_ENOENT)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "web_identity_token_file %s needs HOME",
                                token_file);
  if (rc < 0)
    return rc;
  pl_buf_t source = {0};
  rc = pl_buf_printf(&source, "profile %s (web identity)", ctx->profile);
  if (rc == 0)
    rc = pl__creds_sts_start(ctx, role_arn, path,
                             pl__aws_profile_get(profile, "role_session_name"),
                             source.data, result, cb, data, op);
  pl_buf_free(&source);
  free(path);
  return rc;
}

int pl__creds_profile_start(const pl__creds_ctx_t *ctx,
                            pl__creds_result_t *result, pl__creds_done_cb cb,
                            void *data, pl__creds_op_t **op) {
  pl_aws_profile_t *profile = NULL;
  char *error = NULL;
  int rc = pl__aws_profile_load(ctx->env, ctx->profile, &profile, &error);
  if (rc < 0) {
    if (rc != PL_ENOMEM || error)
      rc = pl__creds_result_set(result, PL__CREDS_FAILED, "%s",
                                error ? error : pl_strerror(rc));
    free(error);
    return rc;
  }
  const char *credentials = pl__aws_profile_credentials_path(profile);
  const char *config = pl__aws_profile_config_path(profile);
  const char *id = pl__aws_profile_get(profile, "aws_access_key_id");
  const char *key = pl__aws_profile_get(profile, "aws_secret_access_key");
  const char *role_arn = pl__aws_profile_get(profile, "role_arn");
  if (!pl__aws_profile_found(profile)) {
    /* A profile someone named must exist; the default one may not. */
    rc = pl__creds_result_set(
        result, ctx->profile_chosen ? PL__CREDS_FAILED : PL__CREDS_ABSENT,
        "no such profile in %s or %s", credentials, config);
  } else if (id && *id && key && *key) {
    pl_buf_t source = {0};
    rc = pl_buf_printf(&source, "profile %s", ctx->profile);
    if (rc == 0)
      rc = pl__creds_set_new(id, key,
                             pl__aws_profile_get(profile, "aws_session_token"),
                             0, source.data, &result->set);
    if (rc == 0)
      result->outcome = PL__CREDS_FOUND;
    pl_buf_free(&source);
  } else if ((id && *id) || (key && *key)) {
    rc = pl__creds_result_set(
        result, PL__CREDS_FAILED, "%s without %s in %s or %s",
        id && *id ? "aws_access_key_id" : "aws_secret_access_key",
        id && *id ? "aws_secret_access_key" : "aws_access_key_id", credentials,
        config);
  } else if (role_arn && *role_arn) {
    rc = profile_role(ctx, profile, role_arn, result, cb, data, op);
  } else if (pl__aws_profile_get(profile, "credential_process")) {
    pl_buf_t source = {0};
    rc = pl_buf_printf(&source, "profile %s (credential_process)",
                       ctx->profile);
    if (rc == 0)
      rc = pl__creds_process_start(
          ctx, pl__aws_profile_get(profile, "credential_process"), source.data,
          result, cb, data, op);
    pl_buf_free(&source);
  } else if (pl__aws_profile_get(profile, "sso_session") ||
             pl__aws_profile_get(profile, "sso_start_url")) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "AWS SSO (sso_*) is not supported");
  } else {
    rc = pl__creds_result_set(result, PL__CREDS_ABSENT,
                              "no aws_access_key_id or role_arn in it");
  }
  pl__aws_profile_destroy(profile);
  return rc;
}
