/* What the providers of the AWS credentials chain share: the credentials
 * type they yield, credential sets in secret storage, results, the
 * context and start function every provider follows, and helpers
 * (timestamps, the JSON document of the container and instance metadata
 * endpoints, failure texts). credentials.c runs the providers in order; a
 * provider
 *  - yields credentials (PL__CREDS_FOUND),
 *  - says it is not configured here (PL__CREDS_ABSENT: the chain moves on),
 *  - or was configured and failed (PL__CREDS_FAILED: the chain stops, so a
 *    broken web identity setup never silently falls back to the instance
 *    role).
 * Reasons are short phrases without the provider's name ("AWS_ROLE_ARN not
 * set"); the chain prefixes the name. They never contain a secret: remote
 * error text is redacted against the secrets of the request.
 *
 * Each provider has its own module that depends on this one and never the
 * other way: creds_env.h and creds_profile.h (synchronous), creds_sts.h,
 * creds_ecs.h and creds_imds.h (through the HTTP transport). */
#ifndef PL_AWS_CREDS_PROVIDERS_H
#define PL_AWS_CREDS_PROVIDERS_H

#include <pipelined/common.h>
#include <uv.h>

#include "http.h"
#include "secret.h"

/* One set of credentials as the chain hands it out (credentials.h). Defined
 * here, with what yields it, so that the providers need nothing from the
 * chain. */
typedef struct pl_aws_credentials {
  const char *access_key_id;
  const char *secret_access_key; /* secret */
  const char *session_token;     /* secret; NULL when none */
  int64_t expires_at;            /* seconds since the epoch; 0: never */
  const char *source;            /* "environment", "profile prod", ... */
  /* Which of the sets the chain handed out this is (1, 2, ...; 0 from a
   * provider, before the chain keeps it): for pl__aws_creds_invalidate. */
  uint64_t generation;
} pl_aws_credentials_t;

/* One set of credentials: the strings in one secret mapping, and the view
 * handed to callers (pointing into it). */
typedef struct pl__creds_set {
  pl_aws_credentials_t view;
  pl_secret_t *secret;
  char *source;
} pl__creds_set_t;

/* A new set holding copies (session_token may be NULL or empty: none). */
int pl__creds_set_new(const char *access_key_id, const char *secret_access_key,
                      const char *session_token, int64_t expires_at,
                      const char *source, pl__creds_set_t **out);
/* Wipes and frees; NULL is accepted. */
void pl__creds_set_free(pl__creds_set_t *set);

typedef enum pl__creds_outcome {
  PL__CREDS_FOUND,
  PL__CREDS_ABSENT,
  PL__CREDS_FAILED,
} pl__creds_outcome_t;

typedef struct pl__creds_result {
  pl__creds_outcome_t outcome;
  pl__creds_set_t *set; /* FOUND: new reference */
  char *reason;         /* ABSENT, FAILED: new string, free of secrets */
  /* FOUND by a lookup that yields a setting rather than credentials (the
   * instance's region, creds_imds.h): new string. */
  char *value;
} pl__creds_result_t;

/* Sets outcome and a formatted reason. Returns 0 or PL_ENOMEM. */
int pl__creds_result_set(pl__creds_result_t *result,
                         pl__creds_outcome_t outcome, const char *fmt, ...)
    PL_PRINTF(3, 4);
/* What a provider found, checked before it is kept: an access key id and
 * a session token of visible ASCII (no control character, space or other
 * byte, and no '/' in the key id), a secret key without a control
 * character or a space, which is what a signature can carry. Sets FOUND
 * with a new set, or FAILED naming the part as the source calls it
 * (`names`: the key id's, the secret's and the token's), after `what`
 * when not NULL, never its value. Returns 0 or PL_ENOMEM. */
int pl__creds_found(pl__creds_result_t *result, const char *what,
                    const char *const names[3], const char *access_key_id,
                    const char *secret_access_key, const char *session_token,
                    int64_t expires_at, const char *source);
/* Frees what a result holds and zeroes it. */
void pl__creds_result_clear(pl__creds_result_t *result);

/* What the chain gives every provider: borrowed for the start call only;
 * asynchronous providers copy what they keep. */
typedef struct pl__creds_ctx {
  uv_loop_t *loop;
  const pl_http_transport_t *http;
  const pl_env_t *env;
  int64_t now;            /* seconds since the epoch, injected clock */
  const char *sts_url;    /* "https://sts.eu-west-1.amazonaws.com" */
  const char *sts_region; /* signs AssumeRole: "eu-west-1", "us-east-1" */
  const char *profile;    /* the selected profile's name */
  bool profile_chosen;    /* named by the option or AWS_PROFILE */
  /* credential_process's time limit; 0: the default (creds_process.h). */
  uint64_t process_timeout_ms;
} pl__creds_ctx_t;

/* Called once when an asynchronous provider finishes; the callee takes
 * what the result holds. */
typedef void (*pl__creds_done_cb)(void *data, pl__creds_result_t *result);

/* An asynchronous provider run. cancel() makes it finish soon with
 * PL__CREDS_FAILED "canceled" (possibly from inside cancel(), possibly on
 * a later loop iteration: the callback still runs exactly once). */
typedef struct pl__creds_op pl__creds_op_t;
struct pl__creds_op {
  void (*cancel)(pl__creds_op_t *op);
  pl__creds_done_cb cb; /* with its data: given to the start function */
  void *data;
};

/* Every provider start function: returns 0 with *result filled (done, no
 * callback), PL_EAGAIN with *op set (cb runs later, once), or PL_ENOMEM
 * (no callback). */
typedef int (*pl__creds_start_fn)(const pl__creds_ctx_t *ctx,
                                  pl__creds_result_t *result,
                                  pl__creds_done_cb cb, void *data,
                                  pl__creds_op_t **op);

/* ---- Helpers shared by the providers ---- */

/* Ends a run with the `result` it made, `rc` the code of making it: when
 * rc < 0 (out of memory) the result becomes PL__CREDS_FAILED without a
 * reason. Then `destroy` frees the run (`op` is its base) and the run's
 * callback gets the result, last, so that it may start another run. */
void pl__creds_op_finish(pl__creds_op_t *op,
                         void (*destroy)(pl__creds_op_t *op),
                         pl__creds_result_t *result, int rc);

/* An environment variable when set and not empty, else NULL (borrowed). */
const char *pl__creds_getenv(const pl_env_t *env, const char *name);

/* "2016-02-25T06:03:31Z", with optional fractional seconds and a "Z" or
 * "+hh:mm" / "-hh:mm" offset (or ISO 8601's "," and "+hhmm":
 * pl_timestamp_parse_rfc3339() with PL_TIMESTAMP_ISO8601), to seconds since
 * the epoch. Returns 0 or PL_EPARSE. */
int pl__creds_parse_time(const char *text, int64_t *out);

/* The {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} document
 * that ECS and IMDS return, into *result (FOUND, or FAILED naming the
 * problem, prefixed by `what`, never quoting the document). The parsed
 * strings are wiped before the document is freed. */
int pl__creds_from_json(const char *body, size_t len, const char *what,
                        const char *source, pl__creds_result_t *result);

/* Where another document of the same kind keeps its fields: the session
 * token's member, and whether "Version": 1 is required (credential_process
 * output: {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
 * "Expiration"}). */
typedef struct pl__creds_json_shape {
  const char *token;
  bool version_1;
} pl__creds_json_shape_t;
int pl__creds_from_json_shaped(const char *body, size_t len, const char *what,
                               const char *source,
                               const pl__creds_json_shape_t *shape,
                               pl__creds_result_t *result);

/* Describes a failed exchange into *result as FAILED or ABSENT: "GET URL:
 * timed out" for transport errors, "GET URL: HTTP 403" otherwise. */
int pl__creds_http_failure(pl__creds_result_t *result,
                           pl__creds_outcome_t outcome, const char *method,
                           const char *url, const pl_http_response_t *response);

/* Makes remote text fit for a message, in place: control characters
 * become blanks and the text is cut to `max` bytes (with "..."). */
void pl__creds_clean_text(char *text, size_t max);

/* Removes a trailing "\n", "\r\n" and blanks from a secret read from a
 * token file. */
void pl__creds_trim_secret(pl_secret_t *secret);

#endif
