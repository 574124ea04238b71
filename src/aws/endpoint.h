/* Where AWS requests go: the region, the endpoint of a service, and the
 * URL pieces the client and the signer need. Pure functions: the
 * environment comes through the injected pl_env_t (HACKING.md#s2), so
 * tests use a fake one.
 *
 * Region, first set (non-empty) wins: the plugin's `region` option, the
 * aws {} block's `region`, AWS_REGION, AWS_DEFAULT_REGION, the profile's
 * region, the instance's (instance metadata: the caller asks for it,
 * aws_context.h).
 *
 * Endpoint of a service, first set wins: the plugin's `endpoint` option,
 * the aws {} block's `endpoint`, AWS_ENDPOINT_URL_<SERVICE> (S3, SQS,
 * DYNAMODB, STS), AWS_ENDPOINT_URL, then the default
 * https://<service>.<region>.amazonaws.com (amazonaws.com.cn for regions
 * starting "cn-"). Any of the first four is "custom", which turns S3
 * path-style addressing on by default: local stand-ins (MinIO, LocalStack)
 * rarely resolve bucket subdomains. */
#ifndef PL_AWS_ENDPOINT_H
#define PL_AWS_ENDPOINT_H


#include <pipelined/common.h>

/* What the resolution reads. Every string is borrowed for the call and may
 * be NULL (unset); an empty string counts as unset, as in the SDKs. */
typedef struct pl_aws_endpoint_inputs {
  const char *plugin_region;   /* the plugin's `region` option */
  const char *block_region;    /* `region` of the aws {} block */
  const char *profile_region;  /* `region` of the shared-config profile */
  const char *plugin_endpoint; /* the plugin's `endpoint` option */
  const char *block_endpoint;  /* `endpoint` of the aws {} block */
  /* The profile's endpoint_url for the service (its services section) and
   * its own endpoint_url. */
  const char *profile_service_endpoint;
  const char *profile_endpoint;
  const pl_env_t *env;     /* NULL: an empty environment */
  /* The instance's region from instance metadata, the last source; and,
   * for the error when no source gives one, where the profile was read
   * ("profile prod in /root/.aws/config") and why instance metadata gave
   * none (NULL: it was not asked). */
  const char *imds_region;
  const char *profile_where;
  const char *imds_error;
} pl_aws_endpoint_inputs_t;

#define PL_AWS_REGION_SOURCE_MAP(XX)                                           \
  XX(PLUGIN, "plugin option")                                                  \
  XX(BLOCK, "aws {} block")                                                    \
  XX(ENV, "AWS_REGION")                                                        \
  XX(ENV_DEFAULT, "AWS_DEFAULT_REGION")                                        \
  XX(PROFILE, "profile")                                                       \
  XX(IMDS, "instance metadata")

typedef enum {
#define PL__AWS_REGION_SOURCE_ENUM(name, text) PL_AWS_REGION_FROM_##name,
  PL_AWS_REGION_SOURCE_MAP(PL__AWS_REGION_SOURCE_ENUM)
#undef PL__AWS_REGION_SOURCE_ENUM
} pl_aws_region_source_t;

#define PL_AWS_ENDPOINT_SOURCE_MAP(XX)                                         \
  XX(PLUGIN, "plugin option")                                                  \
  XX(BLOCK, "aws {} block")                                                    \
  XX(ENV_SERVICE, "AWS_ENDPOINT_URL_<SERVICE>")                                \
  XX(ENV, "AWS_ENDPOINT_URL")                                                  \
  XX(PROFILE_SERVICE, "profile services section")                              \
  XX(PROFILE, "profile endpoint_url")                                          \
  XX(DEFAULT, "default")

typedef enum {
#define PL__AWS_ENDPOINT_SOURCE_ENUM(name, text) PL_AWS_ENDPOINT_FROM_##name,
  PL_AWS_ENDPOINT_SOURCE_MAP(PL__AWS_ENDPOINT_SOURCE_ENUM)
#undef PL__AWS_ENDPOINT_SOURCE_ENUM
} pl_aws_endpoint_source_t;

/* Static names for logs: "AWS_REGION", "aws {} block". */
const char *pl__aws_region_source_name(pl_aws_region_source_t source);
const char *pl__aws_endpoint_source_name(pl_aws_endpoint_source_t source);

/* Resolves the region. On success *region is a new malloc()ed string and
 * *source (optional) says where it came from. A region must be lower-case
 * letters, digits and '-' (at most 63), since it becomes part of a host
 * name and of the signing scope. Failures set *error (optional) to a new
 * malloc()ed sentence:
 *   PL_ENOENT "no AWS region: not in the stage's region option, the aws
 *             {} block, AWS_REGION, AWS_DEFAULT_REGION or profile default
 *             in /root/.aws/config, nor from instance metadata (disabled
 *             by AWS_EC2_METADATA_DISABLED); set region in the aws {}
 *             block" ("the profile" without profile_where; no "nor ..."
 *             without imds_error)
 *   PL_EINVAL "invalid AWS region \"Us East\" (from AWS_REGION): expected
 *             lower-case letters, digits and '-'"
 * PL_ENOMEM leaves *error NULL. */
int pl__aws_region_resolve(const pl_aws_endpoint_inputs_t *in, char **region,
                           pl_aws_region_source_t *source, char **error);

/* An endpoint, embedded by the caller: pl__aws_endpoint_resolve() fills
 * it, pl__aws_endpoint_close() frees its strings. */
typedef struct pl_aws_endpoint {
  char *url;       /* "https://sqs.eu-west-1.amazonaws.com", no trailing '/' */
  bool custom;     /* from an option or the environment */
  bool path_style; /* S3 addressing default: true exactly when custom */
  pl_aws_endpoint_source_t source;
} pl_aws_endpoint_t;

/* Resolves the endpoint of `service` ("s3", "sqs", "dynamodb", "sts") in
 * `region` (already resolved; read only for the default, may be NULL when
 * a custom endpoint is set). A custom URL must pass pl__aws_url_parse()
 * and is normalised: lower-case scheme and host, no trailing '/'. On
 * success `out` holds new strings. Failures set *error (optional) to a new
 * malloc()ed sentence:
 *   PL_EINVAL "unknown AWS service \"sns\""
 *   PL_EINVAL "invalid AWS region \"\" for the sqs endpoint" (NULL or
 *             invalid region when the default is needed)
 *   PL_EINVAL "invalid endpoint \"localhost:4566\" (from AWS_ENDPOINT_URL):
 *             expected http:// or https://, a host and an optional port
 *             and path"
 * On failure `out` is zeroed. */
int pl__aws_endpoint_resolve(const pl_aws_endpoint_inputs_t *in,
                             const char *service, const char *region,
                             pl_aws_endpoint_t *out, char **error);

void pl__aws_endpoint_close(pl_aws_endpoint_t *endpoint);

/* An endpoint URL split up, embedded by the caller; strings are new. */
typedef struct pl_aws_url {
  char *scheme;       /* "http" or "https", lower-cased */
  char *host;         /* lower-cased; IPv6 literals keep their brackets */
  int port;           /* explicit, or 80/443 from the scheme */
  bool port_explicit; /* the URL named a port */
  char *path;         /* "" or a base path without trailing '/': "/aws" */
} pl_aws_url_t;

/* Splits "scheme://host[:port][/path]" (trailing '/' of the path
 * dropped). Host names may hold letters, digits, '-', '.' and '_'.
 * Refused (PL_EINVAL, `out`
 * zeroed): other schemes, no host, user info ('@'), a query or fragment,
 * a port outside 1..65535, spaces or control characters. Returns 0,
 * PL_EINVAL or PL_ENOMEM. */
int pl__aws_url_parse(const char *url, pl_aws_url_t *out);
void pl__aws_url_close(pl_aws_url_t *url);

/* Appends the Host header value: the host, plus ":port" when the port was
 * explicit and is not the scheme's default (as SigV4 signs it). Returns 0
 * or PL_ENOMEM. */
int pl__aws_url_authority(const pl_aws_url_t *url, pl_buf_t *out);

/* Whether a bucket can be a host label: 3 to 63 characters of lower-case
 * letters, digits, '-' and '.', starting and ending with a letter or digit,
 * no "..", not an IPv4 address; and no '.' at all over https, where it
 * would break the wildcard certificate. */
bool pl__aws_s3_bucket_virtual_ok(const char *bucket, bool https);

/* Appends the URL of `key` in `bucket` at `endpoint_url`:
 *   path style:     https://s3.eu-west-1.amazonaws.com/bucket/key
 *   virtual-hosted: https://bucket.s3.eu-west-1.amazonaws.com/key
 * Virtual-hosted is used when asked for (path_style false) and the bucket
 * allows it (pl__aws_s3_bucket_virtual_ok), else path style. A base path of
 * the endpoint is kept. The key is percent-encoded per RFC 3986 over its
 * UTF-8 bytes: unreserved characters and '/' stay, everything else
 * becomes %XX (upper-case hex), and a segment that is exactly "." or ".."
 * is encoded as %2E / %2E%2E so no client or proxy folds it away. A NULL
 * or empty key addresses the bucket itself (".../bucket" or
 * "https://bucket.host/"). Returns 0, PL_EINVAL (bad URL, empty bucket or
 * one with '/') or PL_ENOMEM; `out` is unchanged on failure. */
int pl__aws_s3_url(const char *endpoint_url, const char *bucket,
                   const char *key, bool path_style, pl_buf_t *out);

#endif
