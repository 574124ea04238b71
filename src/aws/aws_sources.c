/* The "aws:" lines of --check --live that name each setting's source. */
#include "aws_sources.h"

#include <stdlib.h>
#include <string.h>

#include "aws_call.h"

/* Says "<what> (<from>)" once per run (`what` is what makes it new, or
 * `key` when given) and frees both texts. */
static void say_once(pl_preflight_t *check, const char *key, pl_buf_t *what,
                     pl_buf_t *from) {
  pl_buf_t claim = {0};
  if (what->data && from->data &&
      pl_buf_printf(&claim, "aws source %s", key ? key : what->data) == 0 &&
      pl_preflight_claim(check, claim.data))
    pl_preflight_report_shared(check, "aws", PL_CHECK_INFO, "%s (%s)",
                               what->data, from->data);
  pl_buf_free(&claim);
  pl_buf_free(what);
  pl_buf_free(from);
}

/* Where a setting came from: "default", "from <name>", or for a profile
 * setting "from profile prod in /root/.aws/config". */
typedef struct origin {
  const char *name;
  bool is_default;
  bool is_profile;
} origin_t;

static void from_text(pl_buf_t *out, origin_t origin,
                      const char *profile_where) {
  if (origin.is_default)
    pl_buf_append_str(out, "default");
  else if (origin.is_profile && profile_where)
    pl_buf_printf(out, "from %s", profile_where);
  else
    pl_buf_printf(out, "from %s", origin.name);
}

static void say_setting(pl_preflight_t *check, pl_buf_t *what, origin_t origin,
                        const char *profile_where) {
  pl_buf_t from = {0};
  from_text(&from, origin, profile_where);
  say_once(check, NULL, what, &from);
}

static void report_retry(pl_preflight_t *check, const pl_aws_client_t *client,
                         const pl_aws_client_options_t *options) {
  const pl_aws_creds_t *creds = client->ctx->creds;
  pl_aws_retry_choice_t retry;
  char *error = NULL;
  /* The client was made from the same inputs: this cannot fail now. */
  if (pl__aws_context_retry(client->ctx, options->max_attempts, &retry,
                            &error) < 0) {
    free(error);
    return;
  }
  pl_buf_t what = {0};
  pl_buf_printf(&what, "max_attempts %u", retry.attempts);
  if (retry.attempts_from == PL_AWS_ATTEMPTS_FROM_PLUGIN) {
    pl_buf_t from = {0};
    pl_buf_printf(&from, "from the %s stage's max_attempts", client->service);
    say_once(check, NULL, &what, &from);
  } else {
    origin_t origin = {pl__aws_attempts_source_name(retry.attempts_from),
                       retry.attempts_from == PL_AWS_ATTEMPTS_FROM_DEFAULT,
                       retry.attempts_from == PL_AWS_ATTEMPTS_FROM_PROFILE};
    say_setting(check, &what, origin,
                pl__aws_creds_profile_where(creds, "max_attempts"));
  }
  pl_buf_printf(&what, "retry_mode %s", pl__aws_retry_mode_name(retry.mode));
  origin_t origin = {pl__aws_retry_mode_source_name(retry.mode_from),
                     retry.mode_from == PL_AWS_ATTEMPTS_FROM_DEFAULT,
                     retry.mode_from == PL_AWS_ATTEMPTS_FROM_PROFILE};
  say_setting(check, &what, origin,
              pl__aws_creds_profile_where(creds, "retry_mode"));
}

void pl__aws_sources_report(pl_preflight_t *check,
                            const pl_aws_client_t *client,
                            const pl_aws_client_options_t *options) {
  const pl_aws_creds_t *creds = client->ctx->creds;
  const char *profile_from = pl__aws_creds_profile_source(creds);
  pl_buf_t what = {0}, from = {0};
  pl_buf_printf(&what, "profile %s", pl__aws_creds_profile_name(creds));
  from_text(
      &from,
      (origin_t){profile_from, strcmp(profile_from, "default") == 0, false},
      NULL);
  say_once(check, "profile", &what, &from);

  pl_buf_printf(&what, "region %s", client->region);
  say_setting(check, &what,
              (origin_t){pl__aws_region_source_name(client->region_source),
                         false,
                         client->region_source == PL_AWS_REGION_FROM_PROFILE},
              pl__aws_creds_profile_where(creds, "region"));

  pl_aws_endpoint_source_t source = client->endpoint.source;
  pl_buf_printf(&what, "%s endpoint %s", client->service, client->endpoint.url);
  say_setting(check, &what,
              (origin_t){pl__aws_endpoint_source_name(source),
                         source == PL_AWS_ENDPOINT_FROM_DEFAULT,
                         source == PL_AWS_ENDPOINT_FROM_PROFILE ||
                             source == PL_AWS_ENDPOINT_FROM_PROFILE_SERVICE},
              pl__aws_creds_profile_where(
                  creds, source == PL_AWS_ENDPOINT_FROM_PROFILE ? "endpoint_url"
                                                                : NULL));

  report_retry(check, client, options);
}
