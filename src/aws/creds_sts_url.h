/* Where the credentials chain's STS calls go (AssumeRole, web identity):
 * the endpoint, and the region that signs for it. */
#ifndef PL_AWS_CREDS_STS_URL_H
#define PL_AWS_CREDS_STS_URL_H

#include <pipelined/common.h>

/* What the endpoint and region come from, each borrowed, NULL when unset. */
typedef struct pl__creds_sts_inputs {
  const pl_env_t *env;  /* AWS_REGION, AWS_ENDPOINT_URL_STS, ... */
  const char *region;   /* the aws { } block's */
  const char *endpoint; /* the aws { } block's sts_endpoint */
  const char *profile_region;
  const char *profile_service_endpoint; /* its services section's, for sts */
  const char *profile_endpoint;         /* its endpoint_url */
} pl__creds_sts_inputs_t;

/* The STS endpoint and its signing region (new strings in *url and
 * *region): the option, a configured endpoint (as the SDKs' STS clients
 * take it: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's services
 * section, its endpoint_url), else the region's regional endpoint, else
 * the global one (signed for us-east-1). A configured endpoint that is not
 * a URL is left to the clients to report. Returns 0 or PL_ENOMEM. */
int pl__creds_sts_url(const pl__creds_sts_inputs_t *in, char **url,
                      char **region);

#endif
