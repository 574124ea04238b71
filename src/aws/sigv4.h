/* AWS Signature Version 4: header signing (Authorization), for every
 * request the AWS layer sends to SQS, DynamoDB and
 * S3. The signer is pure: it reads no clock, environment or file (the
 * caller passes the time and the credentials) and does no I/O, so the HTTP
 * client can call it on the loop thread and the tests can replay the AWS
 * test suite byte for byte.
 *
 * Services differ in three switches, all in pl_aws_sigv4_params_t:
 *
 *                     normalize_path  double_encode_path  add_content_sha256
 *   SQS, DynamoDB     true            true                false
 *   S3                false           false               true
 *
 * S3 object keys may legitimately contain "//", "." and ".." segments, so S3
 * signs the path exactly as sent (the SDKs and S3 itself do the same);
 * every other service signs the normalized path, encoded once more. The
 * zero value of the three switches is the S3 behaviour, which is also
 * harmless for the plain paths of SQS ("/<account>/<queue>") and DynamoDB
 * ("/").
 *
 * Secrets: the secret access key is read only to derive the signing key;
 * it is never copied into any output, and every temporary that holds key
 * material is cleansed before it is freed or goes out of scope. The session
 * token is a credential too but has to travel with the request: it appears
 * in the X-Amz-Security-Token header, so that value may not be logged; the
 * signer wipes its own copies when it frees them. */
#ifndef PL_AWS_SIGV4_H
#define PL_AWS_SIGV4_H

#include <pipelined/common.h>

#include "http.h"

/* The payload hash that tells S3 the body is not signed: streamed uploads
 * whose bytes are not known when the request is signed. */
#define PL_AWS_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization. */
#define PL_AWS_SIGV4_MAX_ADDED_HEADERS 4

/* The credentials type of the provider chain (defined in creds_providers.h,
 * which credentials.h includes): only
 * access_key_id, secret_access_key and session_token (NULL or "" for
 * long-term keys) are read, and only during the call. */
typedef struct pl_aws_credentials pl_aws_credentials_t;

/* The working texts of one signature. Kept in a cache, they keep their
 * room from one signature to the next: emptied after each, and wiped
 * first when a session token went into them (the only secret they can
 * hold) or a query did (the caller's text, taken as one). */
typedef struct pl_aws_sigv4_scratch {
  pl_buf_t scope, credential, lines, names, creq, sts, query, headers;
} pl_aws_sigv4_scratch_t;

/* The signing key of one day, region, service and secret: deriving it
 * takes four HMACs, and it is the same for every request of a day. A
 * caller that signs many requests keeps one (zero-initialised) and passes
 * it in params.key_cache; the signer reuses the key while the date,
 * region, service and secret match and derives it again otherwise. It
 * holds a copy of the secret (to compare with) and key material: close it
 * with pl__aws_sigv4_key_cache_close(), which cleanses both. It also keeps
 * libcrypto's SHA-256 and HMAC, and the working texts of a signature (the
 * canonical request and its parts), between signatures. */
typedef struct pl_aws_sigv4_key_cache {
  bool valid;
  char date8[9]; /* "20150830" */
  char *region;
  char *service;
  char *secret;
  unsigned char key[32];
  /* SHA-256 and HMAC fetched once for every signature (made at the first;
   * NULL when that failed, and the one-shot functions serve). */
  struct pl_aws_hasher *hasher;
  pl_aws_sigv4_scratch_t scratch;
} pl_aws_sigv4_key_cache_t;

/* Cleanses and frees what the cache holds, leaving it empty and usable. */
void pl__aws_sigv4_key_cache_close(pl_aws_sigv4_key_cache_t *cache);

/* How to sign. Borrowed for the call. */
typedef struct pl_aws_sigv4_params {
  const pl_aws_credentials_t *credentials; /* borrowed */
  const char *region;                      /* "eu-west-1" */
  const char *service; /* the signing name: "sqs", "dynamodb", "s3" */
  int64_t time;        /* seconds since the epoch (UTC), 1970..9999 */
  /* Remove "." and ".." segments and empty segments ("//") from the path
   * before signing. Never for S3. */
  bool normalize_path;
  /* Encode the path as sent once more for the canonical request (so "%20"
   * is signed as "%2520"), as every service but S3 expects. Without it the
   * path is signed exactly as sent (see request.path). */
  bool double_encode_path;
  /* Send and sign x-amz-content-sha256 with the payload hash: S3 requires
   * it on every request. */
  bool add_content_sha256;
  /* Add X-Amz-Security-Token to the request after signing instead of
   * signing it, for the few endpoints that want it that way (IoT). */
  bool omit_session_token;
  /* Also return the canonical request and the string to sign (tests,
   * debug logs of SignatureDoesNotMatch). They hold no secret. */
  bool keep_intermediates;
  /* Where the signing key is kept between calls, or NULL to derive it
   * every time. Borrowed, and updated by the call. */
  pl_aws_sigv4_key_cache_t *key_cache;
} pl_aws_sigv4_params_t;

/* The request to sign. Borrowed for the call. */
typedef struct pl_aws_sigv4_request {
  const char *method; /* "GET", "POST", ... */
  /* The path as it will be sent, starting with '/' ("" and NULL mean "/").
   * With double_encode_path it is (normalized and) encoded once more, so a
   * raw space or UTF-8 byte is accepted, as the AWS test suite has them.
   * Without it (S3) it is signed verbatim and must be a valid RFC 3986
   * path: unreserved characters, sub-delims, ':', '@', '/' and %XX escapes
   * only, else PL_EINVAL. Build S3 paths with pl__aws_s3_url() or
   * pl__aws_uri_encode(..., true). */
  const char *path;
  /* The query after '?', as sent, or NULL. Names and values are decoded
   * ('+' is a literal plus, not a space), re-encoded and sorted. */
  const char *query;
  /* The headers that will be sent; must include Host. Names are compared
   * without regard to case; values are trimmed and runs of whitespace
   * (folded lines included) collapse to one space; repeated names are
   * joined with ',' in the given order. Connection, Expect,
   * Transfer-Encoding, Upgrade, User-Agent and X-Amzn-Trace-Id are sent
   * but not signed: proxies and libcurl may change or drop them. The
   * headers the signer adds (Authorization, X-Amz-Date,
   * X-Amz-Security-Token, and x-amz-content-sha256 when it adds that)
   * must not be among them: PL_EINVAL. */
  const pl_http_header_t *headers;
  size_t header_count;
  /* The payload: SHA-256 of body (NULL with body_len 0 for none) unless
   * payload_hash is set, which is used verbatim (64 lower-case hex digits,
   * PL_AWS_UNSIGNED_PAYLOAD, or an S3 STREAMING-* value); then body is not
   * read. */
  const void *body;
  size_t body_len;
  const char *payload_hash;
} pl_aws_sigv4_request_t;

/* The result of a signature. Caller-embedded: filled by
 * pl__aws_sigv4_sign(), released with pl__aws_sigv4_output_close(). */
typedef struct pl_aws_sigv4_output {
  /* Header signing: the headers to add to the request, in this order when
   * present: X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256,
   * Authorization. Names are static strings; values are owned by this
   * output (valid until close). */
  pl_http_header_t headers[PL_AWS_SIGV4_MAX_ADDED_HEADERS];
  size_t header_count;
  /* The signature, 64 lower-case hex digits. */
  char signature[65];
  /* With keep_intermediates: new strings; otherwise NULL. */
  char *canonical_request;
  char *string_to_sign;
  /* Private: the storage behind headers[].value. */
  char *values_[PL_AWS_SIGV4_MAX_ADDED_HEADERS];
} pl_aws_sigv4_output_t;

/* Signs a request with the Authorization header. On success *out holds
 * the headers to add; on failure *out is left empty (closing it is still
 * allowed). Returns 0, PL_EINVAL (a missing or malformed field, no Host
 * header, a header the signer adds already present), PL_ERANGE (time
 * before 1970 or after 9999), PL_ENOMEM or PL_EIO (libcrypto failed). */
int pl__aws_sigv4_sign(const pl_aws_sigv4_params_t *params,
                       const pl_aws_sigv4_request_t *request,
                       pl_aws_sigv4_output_t *out);

/* Frees what an output owns and empties it, wiping first what may hold the
 * session token (header values, canonical request). Safe on an
 * empty output. */
void pl__aws_sigv4_output_close(pl_aws_sigv4_output_t *out);

/* Appends len bytes of data to out, percent-encoding every byte outside the
 * RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~) as %XX with upper-case hex;
 * '/' is kept when keep_slash (S3 keys in paths) and encoded otherwise
 * (query names and values). Returns 0 or PL_ENOMEM. */
int pl__aws_uri_encode(pl_buf_t *out, const void *data, size_t len,
                       bool keep_slash);

#endif
