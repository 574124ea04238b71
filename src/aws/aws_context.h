/* What every AWS client of one engine shares: the HTTP transport (one
 * connection pool), the credentials chain, the signing clock correction
 * and the settings of the config's aws { } block. Created on first use by
 * pl_aws_client_create(), closed with the engine. */
#ifndef PL_AWS_CONTEXT_H
#define PL_AWS_CONTEXT_H

#include <pipelined/backoff.h>
#include <pipelined/common.h>
#include <pipelined/extension.h>
#include <uv.h>

#include "aws_stats.h"
#include "credentials.h"
#include "endpoint.h"
#include "http.h"
#include "http_h1.h"
#include "retry.h"

/* The aws { } block (pl_aws_extension's settings). */
typedef struct pl_aws_settings {
  char *region;
  char *profile;
  char *endpoint;
  int64_t max_attempts;
  int retry_mode; /* PL_AWS_RETRY_MODE_CHOICES: 0 unset, else mode + 1 */
  bool tls_verify;
  uint64_t request_timeout_ms;
  uint64_t read_timeout_ms;
  int http_client; /* PL_AWS_HTTP_CLIENT_CHOICES: 0 builtin, 1 curl */
  char *ca_file;
} pl_aws_settings_t;

/* The aws {} block's http_client: the builtin HTTP/1.1 client (http_h1.h)
 * for buffered requests, or libcurl for everything. */
#define PL_AWS_HTTP_CLIENT_CHOICES                                             \
  ((const char *const[]){"builtin", "curl", NULL})

typedef struct pl_aws_context_options {
  uv_loop_t *loop;
  const pl_env_t *env;
  /* The engine's handle, for its log; NULL (tests): nothing is logged. */
  const pl_extension_t *ext;
  /* The aws { } block (borrowed for the context's life). */
  const char *region;
  const char *profile;
  const char *endpoint;
  int64_t max_attempts;
  int retry_mode; /* 0: unset, else pl_aws_retry_mode_t + 1 */
  bool tls_verify;
  /* PEM file of the CAs that TLS certificates are checked against, for
   * both clients; NULL: the system's store. */
  const char *ca_file;
  uint64_t request_timeout_ms; /* each attempt of a buffered call; 0: none */
  uint64_t read_timeout_ms;    /* stall limit of a streamed call; 0: none */
  /* Every request through libcurl (http_client = "curl"); else the builtin
   * client takes the buffered ones unless a proxy variable is set. */
  bool curl_only;
  /* Tests: a transport to use instead of curl (borrowed), and a clock. */
  const pl_http_transport_t *transport;

  int64_t (*now_ms)(void *data);
  void *now_data;
} pl_aws_context_options_t;

typedef struct pl_aws_context {
  pl_aws_context_options_t opts;
  pl_http_curl_t *curl; /* owned, unless a transport was injected */
  pl_http_h1_t *h1;     /* owned, wraps curl; NULL with curl_only or a proxy */
  const pl_http_transport_t *http;
  pl_aws_creds_t *creds;
  pl_rng_t rng; /* retry jitter */
  int64_t clock_offset_ms; /* server time minus local time, from skew */
  pl_aws_stats_t stats;    /* every client's requests, for /metrics */
  /* The instance's region, asked of instance metadata once, by the first
   * client no other source gives a region: the answer, or why none. */
  bool imds_region_asked;
  char *imds_region;
  char *imds_region_error;
  bool closing;
} pl_aws_context_t;

int pl__aws_context_create(const pl_aws_context_options_t *opts,
                           pl_aws_context_t **out);
/* The context of the engine `inst` runs in (pl_aws_extension's state),
 * created on first use from the aws { } block. */
int pl__aws_context_of(pl_instance_t *inst, pl_aws_context_t **out);

/* The retry settings of a client whose plugin sets `plugin_attempts` (0:
 * not set): pl__aws_retry_resolve() over the aws {} block, AWS_MAX_ATTEMPTS,
 * AWS_RETRY_MODE and the profile. Returns 0, or PL_EINVAL with *error a new
 * sentence naming the setting and where it came from. */
int pl__aws_context_retry(const pl_aws_context_t *ctx, int64_t plugin_attempts,
                          pl_aws_retry_choice_t *out, char **error);

/* Resolves a client's region from `in` (its option and the block's; the
 * profile's and the environment are added here), as
 * pl__aws_region_resolve(), and when no configured source gives one, from
 * instance metadata (IMDSv2: creds_imds.h). That lookup runs once per
 * context, at the first client that needs it, and blocks the loop until it
 * answers: on a private loop with its own transport, each request limited
 * to 1 s, so at most about 2 s off EC2 (where the daemon cannot run
 * without a region anyway) and milliseconds on it; the lookup always
 * uses curl, even when the context's transport was injected. The error
 * names every source tried and why instance metadata gave nothing. */
int pl__aws_context_region(pl_aws_context_t *ctx, pl_aws_endpoint_inputs_t *in,
                           char **region, pl_aws_region_source_t *source,
                           char **error);

/* Milliseconds since the epoch on the local clock (uncorrected). */
int64_t pl__aws_context_now_ms(const pl_aws_context_t *ctx);
/* Closes the transport and the credentials chain; frees the context once
 * their handles are closed. */
void pl__aws_context_close(pl_aws_context_t *ctx);

#endif
