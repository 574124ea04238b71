/* The "aws:" lines of --check --live that name each setting's source. */
#include "aws_sources.h"

#include <stdlib.h>
#include <string.h>

#include "aws_call.h"

/* Says "<what> (<from>)" once per run, `key` being what makes it new. */
static void say_once(pl_preflight_t *check, const char *key, const char *what,
                     const char *from) {
  pl_buf_t claim = {0};
  if (pl_buf_printf(&claim, "aws source %s", key) == 0 &&
      pl_preflight_claim(check, claim.data))
    pl_preflight_report_shared(check, "aws", PL_CHECK_INFO, "%s (%s)", what,
                               from);
  pl_buf_free(&claim);
}

/* "default", or "from X", with the profile's file for a profile setting. */
static void from_text(pl_buf_t *out, const char *name, bool is_default,
                      bool is_profile, const char *profile_where) {
  if (is_default)
    pl_buf_append_str(out, "default");
  else if (is_profile && profile_where)
    pl_buf_printf(out, "from %s", profile_where);
  else
    pl_buf_printf(out, "from %s", name);
}

static void report_region(pl_preflight_t *check, const pl_aws_client_t *client,
                          const char *where) {
  pl_buf_t what = {0}, from = {0};
  pl_buf_printf(&what, "region %s", client->region);
  from_text(&from, pl__aws_region_source_name(client->region_source), false,
            client->region_source == PL_AWS_REGION_FROM_PROFILE, where);
  if (what.data && from.data)
    say_once(check, what.data, what.data, from.data);
  pl_buf_free(&what);
  pl_buf_free(&from);
}

static void report_endpoint(pl_preflight_t *check,
                            const pl_aws_client_t *client, const char *where) {
  pl_aws_endpoint_source_t source = client->endpoint.source;
  pl_buf_t what = {0}, from = {0};
  pl_buf_printf(&what, "%s endpoint %s", client->service, client->endpoint.url);
  from_text(&from, pl__aws_endpoint_source_name(source),
            source == PL_AWS_ENDPOINT_FROM_DEFAULT,
            source == PL_AWS_ENDPOINT_FROM_PROFILE ||
                source == PL_AWS_ENDPOINT_FROM_PROFILE_SERVICE,
            where);
  if (what.data && from.data)
    say_once(check, what.data, what.data, from.data);
  pl_buf_free(&what);
  pl_buf_free(&from);
}

static void report_retry(pl_preflight_t *check, const pl_aws_client_t *client,
                         const pl_aws_client_options_t *options,
                         const char *where) {
  pl_aws_retry_choice_t retry;
  char *error = NULL;
  /* The client was made from the same inputs: this cannot fail now. */
  if (pl__aws_context_retry(client->ctx, options->max_attempts, &retry,
                            &error) < 0) {
    free(error);
    return;
  }
  pl_buf_t what = {0}, from = {0};
  pl_buf_printf(&what, "max_attempts %u", retry.attempts);
  if (retry.attempts_from == PL_AWS_ATTEMPTS_FROM_PLUGIN)
    pl_buf_printf(&from, "from the %s stage's max_attempts", client->service);
  else
    from_text(&from, pl__aws_attempts_source_name(retry.attempts_from),
              retry.attempts_from == PL_AWS_ATTEMPTS_FROM_DEFAULT,
              retry.attempts_from == PL_AWS_ATTEMPTS_FROM_PROFILE, where);
  if (what.data && from.data)
    say_once(check, what.data, what.data, from.data);
  pl_buf_free(&what);
  pl_buf_free(&from);
  pl_buf_printf(&what, "retry_mode %s", pl__aws_retry_mode_name(retry.mode));
  from_text(&from, pl__aws_retry_mode_source_name(retry.mode_from),
            retry.mode_from == PL_AWS_ATTEMPTS_FROM_DEFAULT,
            retry.mode_from == PL_AWS_ATTEMPTS_FROM_PROFILE, where);
  if (what.data && from.data)
    say_once(check, what.data, what.data, from.data);
  pl_buf_free(&what);
  pl_buf_free(&from);
}

void pl__aws_sources_report(pl_preflight_t *check,
                            const pl_aws_client_t *client,
                            const pl_aws_client_options_t *options) {
  const pl_aws_creds_t *creds = client->ctx->creds;
  const char *where = pl__aws_creds_profile_where(creds);
  const char *profile_from = pl__aws_creds_profile_source(creds);
  pl_buf_t what = {0}, from = {0};
  pl_buf_printf(&what, "profile %s", pl__aws_creds_profile_name(creds));
  from_text(&from, profile_from, strcmp(profile_from, "default") == 0, false,
            NULL);
  if (what.data && from.data)
    say_once(check, "profile", what.data, from.data);
  pl_buf_free(&what);
  pl_buf_free(&from);
  report_region(check, client, where);
  report_endpoint(check, client, where);
  report_retry(check, client, options, where);
}
