/* The credentials chain's STS endpoint (creds_sts_url.h). */
#include "creds_sts_url.h"

#include <stdlib.h>
#include <string.h>

#include "creds_providers.h"
#include "endpoint.h"

/* A region fit for a host name ("eu-west-1"): nothing else reaches the
 * STS URL. */
static bool plausible_region(const char *region) {
  if (!region || !*region || strlen(region) > 32)
    return false;
  for (const char *p = region; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
      return false;
  return true;
}

/* A configured STS endpoint (a new string in *url), or none (*url NULL).
 * Returns 0, PL_EINVAL with *error (an endpoint that is not a URL) or
 * PL_ENOMEM. */
static int sts_configured(const pl__creds_sts_inputs_t *sts, char **url,
                          char **error) {
  *url = NULL;
  const pl_aws_endpoint_inputs_t in = {
      .env = sts->env,
      .profile_service_endpoint = sts->profile_service_endpoint,
      .profile_endpoint = sts->profile_endpoint,
  };
  pl_aws_endpoint_t endpoint = {0};
  /* Any region: only a configured endpoint is kept. */
  int rc = pl__aws_endpoint_resolve(&in, "sts", "us-east-1", &endpoint, error);
  if (rc == 0 && endpoint.custom) {
    *url = endpoint.url;
    endpoint.url = NULL;
  }
  pl__aws_endpoint_close(&endpoint);
  return rc;
}

int pl__creds_sts_url(const pl__creds_sts_inputs_t *in, char **url,
                      char **region_out) {
  *url = NULL;
  const char *region = in->region;
  if (!region)
    region = pl__creds_getenv(in->env, "AWS_REGION");
  if (!region)
    region = pl__creds_getenv(in->env, "AWS_DEFAULT_REGION");
  if (!region)
    region = in->profile_region;
  bool known = plausible_region(region);
  *region_out = strdup(known ? region : "us-east-1");
  if (!*region_out)
    return PL_ENOMEM;
  if (in->endpoint) {
    *url = strdup(in->endpoint);
    return *url ? 0 : PL_ENOMEM;
  }
  char *error = NULL;
  int rc = sts_configured(in, url, &error);
  free(error); /* the clients report a broken endpoint (aws.c) */
  if (rc == PL_ENOMEM || *url)
    return rc;
  pl_buf_t text = {0};
  rc = known ? pl_buf_printf(&text, "https://sts.%s.amazonaws.com%s", region,
                             strncmp(region, "cn-", 3) == 0 ? ".cn" : "")
             : pl_buf_append_str(&text, "https://sts.amazonaws.com");
  *url = text.data;
  return rc;
}
