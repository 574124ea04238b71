/* AWS credentials: the standard provider chain, with background refresh of
 * temporary credentials before they expire.
 *
 * Chain, in order: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN; skipped when the options name a profile); shared
 * files (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, AWS_CONFIG_FILE
 * or ~/.aws/config; profile from the option, AWS_PROFILE or "default"; its
 * keys, web identity, credential_process or role chain: creds_profile.h);
 * web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, STS
 * AssumeRoleWithWebIdentity); ECS container credentials
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with
 * AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); EC2 instance metadata, IMDSv2
 * only (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 * Secrets never reach a log, an error text or a core dump.
 *
 * Each provider yields credentials, is not configured (the chain moves
 * on), or is configured and fails: then the chain stops there, so that a
 * broken setup (AWS_ACCESS_KEY_ID without a secret, a named profile that
 * does not exist, an STS refusal) never silently falls back to another
 * identity such as the instance role. The error lists every provider tried
 * and why, "no AWS credentials: environment: AWS_ACCESS_KEY_ID not set;
 * profile default: no such profile in /root/.aws/credentials or
 * /root/.aws/config; ...; instance metadata: disabled by
 * AWS_EC2_METADATA_DISABLED".
 *
 * The whole chain runs again for every fetch (at most one at a time), and
 * the shared files are re-read then (synchronously: they are small local
 * files). What the providers share: creds_providers.h; the providers:
 * creds_{env,profile,sts,ecs,imds}.h. */
#ifndef PL_AWS_CREDENTIALS_H
#define PL_AWS_CREDENTIALS_H

#include <pipelined/common.h>
#include <uv.h>

#include "creds_providers.h" /* pl_aws_credentials_t, what providers yield */
#include "http.h"

typedef struct pl_aws_creds pl_aws_creds_t;

/* Everything is borrowed for the create call only, except loop, http and
 * the env's data, which must outlive the provider. */
typedef struct pl_aws_creds_options {
  uv_loop_t *loop;                 /* required */
  const pl_http_transport_t *http; /* for STS, ECS and IMDS; required */
  const pl_env_t *env;         /* environment lookups; NULL: empty */
  /* NULL: AWS_PROFILE, else "default". Named here, the profile comes
   * before the environment's keys (the environment provider is skipped,
   * as `aws --profile` does); through AWS_PROFILE it does not. */
  const char *profile;
  /* NULL: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's services
   * section for sts or its endpoint_url (endpoint.h), else
   * https://sts.{region}.amazonaws.com (".com.cn" for cn-*), or
   * https://sts.amazonaws.com without a region. */
  const char *sts_endpoint;
  /* For STS; NULL: AWS_REGION, then AWS_DEFAULT_REGION, then the
   * profile's. */
  const char *region;
  int64_t (*now)(void *data); /* seconds since the epoch; NULL: time() */
  void *now_data;
  /* Told of each new set of credentials (borrowed for the call; the
   * secrets are never to be logged): where they came from and when they
   * expire. NULL: nobody. */
  void (*on_new)(void *data, const pl_aws_credentials_t *credentials);
  void *on_new_data;
  /* How long a credential_process may run before it is killed; 0:
   * PL_CREDS_PROCESS_TIMEOUT_MS (creds_process.h). */
  uint64_t process_timeout_ms;
} pl_aws_creds_options_t;

/* Creates the chain; reads nothing over the network yet (the shared files
 * are read once for the profile's region). Returns 0, PL_EINVAL (no loop
 * or transport) or PL_ENOMEM. */
int pl__aws_creds_create(const pl_aws_creds_options_t *opts,
                         pl_aws_creds_t **out);

/* Called once with credentials (borrowed until the next call into the
 * provider returns to the loop) or, on failure, NULL and one message that
 * lists every provider tried and why it gave nothing. */
typedef void (*pl_aws_creds_cb)(void *data, const pl_aws_credentials_t *creds,
                                const char *error);

/* Valid cached credentials: returns 0 and sets *now (no callback).
 * Otherwise returns PL_EAGAIN and calls `cb` later, once, from the loop
 * (never from inside this call); callers that arrive while a fetch runs
 * wait for it and all get the same result. Credentials that expire within
 * 5 minutes are refreshed in the background while the old ones are still
 * handed out; a failed refresh is retried with backoff (full jitter, at
 * most a minute apart) until they expire. Credentials are not handed out
 * in their last 10 seconds, and a provider that yields credentials
 * already that close to expiry (or past it) failed, with a reason naming
 * the time. Returns PL_EINVAL (creds or now NULL, or cb
 * NULL when a callback would be needed), PL_ENOMEM or, after close,
 * PL_ECANCELED, without calling cb. */
int pl__aws_creds_get(pl_aws_creds_t *creds, const pl_aws_credentials_t **now,
                      pl_aws_creds_cb cb, void *data);

/* Drops the cached set `generation` (pl_aws_credentials_t.generation) when
 * it is still the current one: a service refused it as expired (or
 * revoked) before its Expiration. The next get() fetches new ones; a
 * fetch already running stays the one callers wait for. Returns true when
 * the set was dropped, false when it was already gone (another call saw
 * it refused first, or new ones came meanwhile): so a set is dropped
 * once, however many calls it signed. */
bool pl__aws_creds_invalidate(pl_aws_creds_t *creds, uint64_t generation);

/* Forgets the callers waiting with `cb` and `data`: their callback will
 * not run. For a caller that ends before its credentials come (a call
 * cancelled, or freed with its client). */
void pl__aws_creds_forget(pl_aws_creds_t *creds, pl_aws_creds_cb cb,
                          void *data);

/* The region of the selected profile, or NULL (borrowed). */
const char *pl__aws_creds_profile_region(const pl_aws_creds_t *creds);
/* The selected profile's endpoint for `service`: the endpoint_url of its
 * services section for that service (*service_specific true), else its
 * endpoint_url, else NULL (borrowed). */
const char *pl__aws_creds_profile_endpoint(const pl_aws_creds_t *creds,
                                          const char *service,
                                          bool *service_specific);
/* The selected profile's max_attempts and retry_mode as written, or NULL
 * (borrowed). */
const char *pl__aws_creds_profile_max_attempts(const pl_aws_creds_t *creds);
const char *pl__aws_creds_profile_retry_mode(const pl_aws_creds_t *creds);
/* For messages: where the profile's setting `key` ("region",
 * "max_attempts", "retry_mode", "endpoint_url") was read, "profile prod in
 * /root/.aws/config line 3"; for another key, NULL, or one the profile
 * lacks, "profile prod in /root/.aws/config". NULL when the files could
 * not be read (borrowed). */
const char *pl__aws_creds_profile_where(const pl_aws_creds_t *creds,
                                        const char *key);
/* The selected profile's name (borrowed), and where the name came from:
 * "aws {} block" (the option), "AWS_PROFILE" or "default" (static). */
const char *pl__aws_creds_profile_name(const pl_aws_creds_t *creds);
const char *pl__aws_creds_profile_source(const pl_aws_creds_t *creds);

/* Cancels pending callbacks (they run with the error "AWS credentials
 * provider closed" before close returns), cancels a fetch in flight,
 * closes handles and wipes secrets; frees once the loop ran the close
 * callbacks (and the transport delivered the cancellation). NULL and a
 * second call are accepted. */
void pl__aws_creds_close(pl_aws_creds_t *creds);

#endif
