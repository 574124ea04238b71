/* The answer of an STS call for role credentials (AssumeRole,
 * AssumeRoleWithWebIdentity), read into a credentials result. */
#ifndef PL_AWS_CREDS_STS_ANSWER_H
#define PL_AWS_CREDS_STS_ANSWER_H

#include "creds_providers.h"
#include "http.h"

/* What names the call in results; borrowed for the call. */
typedef struct pl__creds_sts_answer {
  const char *action; /* "AssumeRole": <AssumeRoleResponse><AssumeRoleResult> */
  const char *what;   /* "AssumeRole of arn:...", starts each failure */
  const char *url;
  const char *source; /* names the credentials */
  const char *redact; /* a secret of the request (the web identity token)
                         replaced by "***" in STS's message; NULL: none */
} pl__creds_sts_answer_t;

/* A 200 answer's <Credentials> (AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration, all required) into *result as FOUND; anything
 * else FAILED: "WHAT at URL: HTTP 403 AccessDenied: message" (the code cut
 * to 64 bytes, the whole cleaned of control characters and cut to 300),
 * or what is wrong with the document ("response is not valid XML (line
 * 1, ...)", "response has no complete Credentials element", "a field of
 * the response is too long", "Expiration is not an ISO 8601 time").
 * Returns 0 or PL_ENOMEM. */
int pl__creds_sts_answer(const pl__creds_sts_answer_t *answer,
                         const pl_http_response_t *response,
                         pl__creds_result_t *result);

#endif
