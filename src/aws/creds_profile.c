/* The shared profile provider: static keys from the selected profile, its
 * web identity role through STS, its credential_process, or its role chain
 * (role_arn with source_profile or credential_source), walked here and run
 * by creds_role.h. */
#include "creds_profile.h"

#include <stdlib.h>
#include <string.h>

#include "aws_profile.h"
#include "creds_ecs.h"
#include "creds_env.h"
#include "creds_imds.h"
#include "creds_process.h"
#include "creds_role.h"
#include "creds_sts.h"

/* Profiles a role chain may go through, the selected one included. */
#define ROLE_CHAIN_MAX 8

/* A profile with a role but no keys: web identity, or a form we lack. */
static int profile_role(const pl__creds_ctx_t *ctx, pl_aws_profile_t *profile,
                        const char *role_arn, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op) {
  const char *token_file =
      pl__aws_profile_get(profile, "web_identity_token_file");
  if (!token_file)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "role_arn without source_profile, "
                                "credential_source or "
                                "web_identity_token_file");
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

static bool has_keys(const pl_aws_profile_t *profile) {
  const char *id = pl__aws_profile_get(profile, "aws_access_key_id");
  const char *key = pl__aws_profile_get(profile, "aws_secret_access_key");
  return id && *id && key && *key;
}

/* role_arn with source_profile or credential_source (a web identity role
 * is not a chain). */
static bool is_chain(const pl_aws_profile_t *profile) {
  const char *role_arn = pl__aws_profile_get(profile, "role_arn");
  return role_arn && *role_arn &&
         !pl__aws_profile_get(profile, "web_identity_token_file") &&
         (pl__aws_profile_get(profile, "source_profile") ||
          pl__aws_profile_get(profile, "credential_source"));
}

/* Loads profile `name`; a failure is a FAILED result (rc 0, *out NULL). */
static int load(const pl__creds_ctx_t *ctx, const char *name,
                pl__creds_result_t *result, pl_aws_profile_t **out) {
  char *error = NULL;
  int rc = pl__aws_profile_load(ctx->env, name, out, &error);
  if (rc < 0) {
    *out = NULL;
    if (rc != PL_ENOMEM || error)
      rc = pl__creds_result_set(result, PL__CREDS_FAILED, "%s",
                                error ? error : pl_strerror(rc));
  }
  free(error);
  return rc;
}

/* A profile's own credentials: static keys, web identity,
 * credential_process (never its role chain). */
static int profile_own(const pl__creds_ctx_t *ctx, pl_aws_profile_t *profile,
                       pl__creds_result_t *result, pl__creds_done_cb cb,
                       void *data, pl__creds_op_t **op) {
  const char *credentials = pl__aws_profile_credentials_path(profile);
  const char *config = pl__aws_profile_config_path(profile);
  const char *id = pl__aws_profile_get(profile, "aws_access_key_id");
  const char *key = pl__aws_profile_get(profile, "aws_secret_access_key");
  const char *role_arn = pl__aws_profile_get(profile, "role_arn");
  int rc;
  if (has_keys(profile)) {
    pl_buf_t source = {0};
    rc = pl_buf_printf(&source, "profile %s", ctx->profile);
    static const char *const names[] = {
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token"};
    if (rc == 0)
      rc = pl__creds_found(result, source.data, names, id, key,
                           pl__aws_profile_get(profile, "aws_session_token"), 0,
                           source.data);
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
  return rc;
}

/* The base of a role chain that is a source profile (ctx->profile, known
 * to exist): its own credentials. Follows pl__creds_start_fn. */
static int source_profile_start(const pl__creds_ctx_t *ctx,
                                pl__creds_result_t *result,
                                pl__creds_done_cb cb, void *data,
                                pl__creds_op_t **op) {
  pl_aws_profile_t *profile = NULL;
  int rc = load(ctx, ctx->profile, result, &profile);
  if (rc == 0 && profile)
    rc = profile_own(ctx, profile, result, cb, data, op);
  pl__aws_profile_destroy(profile);
  return rc;
}

/* The walk's code for "stopped with a FAILED result", from the code of
 * setting it (0 or PL_ENOMEM). */
static int failed(int rc) {
  return rc < 0 ? rc : 1;
}

/* The provider a credential_source names, or NULL. */
static pl__creds_start_fn credential_source(const char *name) {
  if (strcmp(name, "Environment") == 0)
    return pl__creds_env_start;
  if (strcmp(name, "Ec2InstanceMetadata") == 0)
    return pl__creds_imds_start;
  if (strcmp(name, "EcsContainer") == 0)
    return pl__creds_ecs_start;
  return NULL;
}

/* What STS accepts: 900 to 43200 seconds, written in digits. */
static bool valid_duration(const char *text) {
  size_t len = strlen(text);
  if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
    return false;
  long value = strtol(text, NULL, 10);
  return value >= 900 && value <= 43200;
}

/* A chain's walk: what stops it, or the hop `profile` adds. Returns 0 (a
 * hop added), or 1 with a FAILED result. */
static int add_hop(const pl_aws_profile_t *profile, pl__creds_role_hop_t *hop,
                   pl__creds_result_t *result) {
  const char *name = pl__aws_profile_name(profile);
  const char *duration = pl__aws_profile_get(profile, "duration_seconds");
  int rc;
  if (pl__aws_profile_get(profile, "mfa_serial"))
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "profile %s: mfa_serial is not supported (an "
                              "MFA code cannot be typed into a daemon)",
                              name);
  else if (pl__aws_profile_get(profile, "source_profile") &&
           pl__aws_profile_get(profile, "credential_source"))
    rc = pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "profile %s has both source_profile and credential_source", name);
  else if (duration && !valid_duration(duration))
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "profile %s: duration_seconds is not a number "
                              "of seconds from 900 to 43200",
                              name);
  else {
    *hop = (pl__creds_role_hop_t){
        .profile = name,
        .role = {
            .role_arn = pl__aws_profile_get(profile, "role_arn"),
            .session_name = pl__aws_profile_get(profile, "role_session_name"),
            .external_id = pl__aws_profile_get(profile, "external_id"),
            .duration_seconds = duration,
        }};
    return 0;
  }
  return failed(rc);
}

/* Walks the chain from `first` (the selected profile, borrowed) through
 * source_profile settings to its base, then runs it. */
static int role_chain(const pl__creds_ctx_t *ctx, pl_aws_profile_t *first,
                      pl__creds_result_t *result, pl__creds_done_cb cb,
                      void *data, pl__creds_op_t **op) {
  pl_aws_profile_t *chain[ROLE_CHAIN_MAX] = {first}; /* [1..] owned */
  pl__creds_role_hop_t hops[ROLE_CHAIN_MAX];
  size_t n = 0;
  pl_buf_t path = {0}; /* "prod -> mid -> base", for messages */
  pl_buf_t label = {0};
  pl__creds_start_fn base = source_profile_start;
  const char *base_profile = NULL;
  int rc = 0;
  for (;;) {
    pl_aws_profile_t *profile = chain[n];
    const char *name = pl__aws_profile_name(profile);
    rc = pl_buf_printf(&path, "%s%s", n ? " -> " : "", name);
    if (rc == 0)
      rc = add_hop(profile, &hops[n], result);
    if (rc != 0)
      break;
    n++;
    const char *source = pl__aws_profile_get(profile, "source_profile");
    const char *via = pl__aws_profile_get(profile, "credential_source");
    if (via) {
      base = credential_source(via);
      base_profile = NULL;
      rc = base ? pl_buf_printf(&label, "credential_source %s", via)
                : failed(pl__creds_result_set(
                      result, PL__CREDS_FAILED,
                      "profile %s: credential_source is not Environment, "
                      "Ec2InstanceMetadata or EcsContainer",
                      name));
      break;
    }
    /* A profile may be its own source when it has keys. */
    bool self = strcmp(source, name) == 0 && has_keys(profile);
    for (size_t i = 0; !self && rc == 0 && i < n; i++)
      if (strcmp(pl__aws_profile_name(chain[i]), source) == 0)
        rc = failed(pl__creds_result_set(result, PL__CREDS_FAILED,
                                         "source_profile loop: %s -> %s",
                                         path.data, source));
    if (rc == 0 && !self && n == ROLE_CHAIN_MAX)
      rc = failed(
          pl__creds_result_set(result, PL__CREDS_FAILED,
                               "role chain longer than %d profiles: %s -> %s",
                               ROLE_CHAIN_MAX, path.data, source));
    if (rc == 0 && !self)
      rc = load(ctx, source, result, &chain[n]);
    if (rc == 0 && !self && !chain[n]) {
      rc = 1; /* the reason names the file */
    } else if (rc == 0 && !self && !pl__aws_profile_found(chain[n])) {
      rc = failed(pl__creds_result_set(
          result, PL__CREDS_FAILED,
          "source_profile %s of profile %s: no such profile in %s or %s",
          source, name, pl__aws_profile_credentials_path(chain[n]),
          pl__aws_profile_config_path(chain[n])));
    }
    if (rc != 0 || self || has_keys(chain[n]) || !is_chain(chain[n])) {
      if (rc == 0) {
        base_profile = source;
        rc = pl_buf_printf(&label, "source profile %s", source);
      }
      break;
    }
  }
  if (rc == 0) {
    /* The innermost role is assumed first. */
    for (size_t i = 0; i < n / 2; i++) {
      pl__creds_role_hop_t hop = hops[i];
      hops[i] = hops[n - 1 - i];
      hops[n - 1 - i] = hop;
    }
    rc = pl__creds_role_start(ctx, base, base_profile, label.data, hops, n,
                              result, cb, data, op);
  } else if (rc == 1) {
    rc = 0; /* FAILED, with its reason */
  }
  pl_buf_free(&label);
  pl_buf_free(&path);
  for (size_t i = 1; i < ROLE_CHAIN_MAX; i++)
    pl__aws_profile_destroy(chain[i]);
  return rc;
}

int pl__creds_profile_start(const pl__creds_ctx_t *ctx,
                            pl__creds_result_t *result, pl__creds_done_cb cb,
                            void *data, pl__creds_op_t **op) {
  pl_aws_profile_t *profile = NULL;
  int rc = load(ctx, ctx->profile, result, &profile);
  if (rc < 0 || !profile)
    return rc;
  if (!pl__aws_profile_found(profile)) {
    /* A profile someone named must exist; the default one may not. */
    rc = pl__creds_result_set(
        result, ctx->profile_chosen ? PL__CREDS_FAILED : PL__CREDS_ABSENT,
        "no such profile in %s or %s",
        pl__aws_profile_credentials_path(profile),
        pl__aws_profile_config_path(profile));
  } else if (is_chain(profile)) {
    /* As the SDKs do: a role chain comes before the profile's keys. */
    rc = role_chain(ctx, profile, result, cb, data, op);
  } else {
    rc = profile_own(ctx, profile, result, cb, data, op);
  }
  pl__aws_profile_destroy(profile);
  return rc;
}
