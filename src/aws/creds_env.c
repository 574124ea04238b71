/* The environment provider: static keys from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. */
#include "creds_env.h"

int pl__creds_env_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data, pl__creds_op_t **op) {
  const char *id = pl__creds_getenv(ctx->env, "AWS_ACCESS_KEY_ID");
  const char *key = pl__creds_getenv(ctx->env, "AWS_SECRET_ACCESS_KEY");
  const char *token = pl__creds_getenv(ctx->env, "AWS_SESSION_TOKEN");
  if (!id)
    return pl__creds_result_set(result, PL__CREDS_ABSENT,
                                "AWS_ACCESS_KEY_ID not set");
  if (!key)
    return pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  static const char *const names[] = {
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  return pl__creds_found(result, NULL, names, id, key, token, 0, "environment");
}
