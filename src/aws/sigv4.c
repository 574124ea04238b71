/* AWS Signature Version 4. The canonical request, string to sign and
 * signature follow the AWS documentation; where the documentation leaves
 * room (path normalization, folded header values, the order of the added
 * headers) the behaviour is the one the AWS test
 * suite of aws-c-auth expects, so the unit test can compare byte for byte. */
#include "sigv4.h"

#include "aws_crypto.h"
#include "credentials.h"
#include "sigv4_canon.h"

#include <pipelined/timestamp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
/* "20150830T123600Z" and its NUL. */
#define AMZ_DATE_LEN 17

/* ---- Validation helpers (ASCII only: the C locale must not matter) ---- */

/* Visible ASCII without spaces: safe inside a header value and the
 * credential scope. */
static bool is_visible(const char *s, bool allow_slash) {
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
        (!allow_slash && *s == '/'))
      return false;
  return true;
}

static void free_wiped_string(char *s) {
  if (s)
    pl__aws_cleanse(s, strlen(s));
  free(s);
}

/* ---- Time, key and validation ---- */

static void put_digits(char *out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* Formats "YYYYMMDDTHHMMSSZ" without gmtime (which depends on the C
 * library's time_t range). SigV4 has no dates before the epoch. */
static int format_amz_date(int64_t t, char out[AMZ_DATE_LEN]) {
  pl_timestamp_t ts;
  if (t < 0 || pl_timestamp_from_epoch(t, &ts) < 0)
    return PL_ERANGE;
  put_digits(out, (unsigned)ts.year, 4);
  put_digits(out + 4, (unsigned)ts.month, 2);
  put_digits(out + 6, (unsigned)ts.day, 2);
  out[8] = 'T';
  put_digits(out + 9, (unsigned)ts.hour, 2);
  put_digits(out + 11, (unsigned)ts.minute, 2);
  put_digits(out + 13, (unsigned)ts.second, 2);
  out[15] = 'Z';
  out[16] = '\0';
  return 0;
}

/* The HMAC chain of the signing key into k_signing. The secret only ever
 * lives in the caller's string and in "AWS4"+secret, which is cleansed
 * like every intermediate key. */
static int derive_key(const char *secret, const char *date8, const char *region,
                      const char *service,
                      unsigned char k_signing[PL_AWS_SHA256_LEN]) {
  size_t secret_len = strlen(secret);
  unsigned char *k_secret = malloc(secret_len + 4);
  if (!k_secret)
    return PL_ENOMEM;
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, secret, secret_len);
  unsigned char k_date[PL_AWS_SHA256_LEN], k_region[PL_AWS_SHA256_LEN],
      k_service[PL_AWS_SHA256_LEN];
  int rc = pl__aws_hmac_sha256(k_secret, secret_len + 4, date8, 8, k_date);
  if (rc == 0)
    rc = pl__aws_hmac_sha256(k_date, sizeof k_date, region, strlen(region),
                             k_region);
  if (rc == 0)
    rc = pl__aws_hmac_sha256(k_region, sizeof k_region, service,
                             strlen(service), k_service);
  if (rc == 0)
    rc = pl__aws_hmac_sha256(k_service, sizeof k_service, "aws4_request", 12,
                             k_signing);
  pl__aws_cleanse(k_secret, secret_len + 4);
  free(k_secret);
  pl__aws_cleanse(k_date, sizeof k_date);
  pl__aws_cleanse(k_region, sizeof k_region);
  pl__aws_cleanse(k_service, sizeof k_service);
  return rc;
}

/* Forgets the key and what it was derived from; keeps the hasher. */
static void cache_forget(pl_aws_sigv4_key_cache_t *cache) {
  free_wiped_string(cache->secret);
  free(cache->region);
  free(cache->service);
  pl__aws_cleanse(cache->key, sizeof cache->key);
  *cache = (pl_aws_sigv4_key_cache_t){.hasher = cache->hasher,
                                      .scratch = cache->scratch};
}

/* The working texts: every buffer of `b`, for loops over them. */
#define SCRATCH_COUNT 8
static void scratch_list(pl_aws_sigv4_scratch_t *b,
                         pl_buf_t *all[SCRATCH_COUNT]) {
  pl_buf_t *list[SCRATCH_COUNT] = {&b->scope, &b->credential, &b->lines,
                                   &b->names, &b->creq,       &b->sts,
                                   &b->query, &b->headers};
  memcpy(all, list, sizeof list);
}

/* Frees the working texts, wiped (they may have held a session token). */
static void scratch_free(pl_aws_sigv4_scratch_t *b) {
  pl_buf_t *all[SCRATCH_COUNT];
  scratch_list(b, all);
  for (size_t i = 0; i < SCRATCH_COUNT; i++)
    pl__aws_sigv4_canon_free_wiped(all[i]);
}

/* Ends a signature's use of the working texts: freed when they were the
 * call's own, else emptied for the next one, wiped first when they may
 * hold a secret (a session token, or a query: the caller's text). */
static void scratch_release(pl_aws_sigv4_scratch_t *b, bool owned,
                            bool held_secret) {
  if (owned) {
    scratch_free(b);
    return;
  }
  pl_buf_t *all[SCRATCH_COUNT];
  scratch_list(b, all);
  for (size_t i = 0; i < SCRATCH_COUNT; i++) {
    if (held_secret && all[i]->data)
      pl__aws_cleanse(all[i]->data, all[i]->cap);
    pl_buf_reset(all[i]);
  }
}

void pl__aws_sigv4_key_cache_close(pl_aws_sigv4_key_cache_t *cache) {
  if (!cache)
    return;
  scratch_free(&cache->scratch);
  cache_forget(cache);
  pl__aws_hasher_free(cache->hasher);
  cache->hasher = NULL;
}

/* The cache's hasher, made at its first use; NULL without a cache or when
 * it cannot be made (the one-shot functions then serve). */
static pl_aws_hasher_t *cache_hasher(pl_aws_sigv4_key_cache_t *cache) {
  if (cache && !cache->hasher)
    (void)pl__aws_hasher_new(&cache->hasher);
  return cache ? cache->hasher : NULL;
}

static int sha256_hex(pl_aws_hasher_t *hasher, const void *data, size_t len,
                      char out[PL_AWS_SHA256_HEX_LEN]) {
  return hasher ? pl__aws_hasher_sha256_hex(hasher, data, len, out)
                : pl__aws_sha256_hex(data, len, out);
}

static bool cache_matches(const pl_aws_sigv4_key_cache_t *cache,
                          const char *secret, const char *date8,
                          const char *region, const char *service) {
  return cache->valid && memcmp(cache->date8, date8, 8) == 0 &&
         strcmp(cache->region, region) == 0 &&
         strcmp(cache->service, service) == 0 &&
         strcmp(cache->secret, secret) == 0;
}

/* Keeps `key` in the cache for these inputs; a cache that cannot take
 * them (out of memory) is left empty, and the signature goes on. */
static void cache_store(pl_aws_sigv4_key_cache_t *cache, const char *secret,
                        const char *date8, const char *region,
                        const char *service,
                        const unsigned char key[PL_AWS_SHA256_LEN]) {
  cache_forget(cache);
  cache->secret = strdup(secret);
  cache->region = strdup(region);
  cache->service = strdup(service);
  if (!cache->secret || !cache->region || !cache->service) {
    cache_forget(cache);
    return;
  }
  memcpy(cache->date8, date8, 8);
  cache->date8[8] = '\0';
  memcpy(cache->key, key, sizeof cache->key);
  cache->valid = true;
}

/* The signature of string_to_sign with the signing key of the day, from
 * `cache` when it holds that key (and then kept there). */
static int compute_signature(const char *secret, const char *date8,
                             const char *region, const char *service,
                             pl_aws_sigv4_key_cache_t *cache,
                             const pl_buf_t *string_to_sign, char hex[65]) {
  unsigned char k_signing[PL_AWS_SHA256_LEN], signature[PL_AWS_SHA256_LEN];
  int rc = 0;
  if (cache && cache_matches(cache, secret, date8, region, service)) {
    memcpy(k_signing, cache->key, sizeof k_signing);
  } else {
    rc = derive_key(secret, date8, region, service, k_signing);
    if (rc == 0 && cache)
      cache_store(cache, secret, date8, region, service, k_signing);
  }
  pl_aws_hasher_t *hasher = cache_hasher(cache);
  if (rc == 0 && hasher)
    rc = pl__aws_hasher_hmac(hasher, k_signing, sizeof k_signing,
                             string_to_sign->data, string_to_sign->len,
                             signature);
  else if (rc == 0)
    rc = pl__aws_hmac_sha256(k_signing, sizeof k_signing, string_to_sign->data,
                             string_to_sign->len, signature);
  if (rc == 0)
    pl__aws_hex(signature, sizeof signature, hex);
  pl__aws_cleanse(k_signing, sizeof k_signing);
  return rc;
}

static int validate(const pl_aws_sigv4_params_t *params,
                    const pl_aws_sigv4_request_t *request) {
  if (!params || !request || !params->credentials)
    return PL_EINVAL;
  const pl_aws_credentials_t *cred = params->credentials;
  /* Scope parts are joined with '/' and sent in a header. */
  if (!is_visible(cred->access_key_id, false) ||
      !is_visible(params->region, false) || !is_visible(params->service, false))
    return PL_EINVAL;
  if (!cred->secret_access_key || !*cred->secret_access_key)
    return PL_EINVAL;
  if (cred->session_token && *cred->session_token &&
      !is_visible(cred->session_token, true))
    return PL_EINVAL;
  if (!pl__http_is_token(request->method))
    return PL_EINVAL;
  if (request->path && *request->path && request->path[0] != '/')
    return PL_EINVAL;
  if (request->header_count > 0 && !request->headers)
    return PL_EINVAL;
  if (request->payload_hash) {
    if (!is_visible(request->payload_hash, false))
      return PL_EINVAL;
  } else if (request->body_len > 0 && !request->body) {
    return PL_EINVAL;
  }
  return 0;
}

/* ---- Signing ---- */

static int set_header(pl_aws_sigv4_output_t *out, const char *name,
                      char *value) {
  if (!value)
    return PL_ENOMEM;
  size_t i = out->header_count++;
  out->values_[i] = value;
  out->headers[i] = (pl_http_header_t){.name = name, .value = value};
  return 0;
}

/* Appends the NULL-terminated list of texts to `buf`, growing it once:
 * the texts of a signature are joined, not formatted. */
static int join(pl_buf_t *buf, const char *const *parts) {
  size_t lens[16], n = 0, total = 0;
  for (const char *const *p = parts; *p; p++, n++) {
    if (n == sizeof lens / sizeof lens[0])
      return PL_EINVAL; /* the signer's own lists have at most 8 */
    lens[n] = strlen(*p);
    total += lens[n];
  }
  int rc = pl_buf_reserve(buf, total);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < n; i++) {
    memcpy(buf->data + buf->len, parts[i], lens[i]);
    buf->len += lens[i];
  }
  buf->data[buf->len] = '\0';
  return 0;
}

static char *take_buf(pl_buf_t *buf) {
  char *data = buf->data;
  *buf = (pl_buf_t){0};
  return data;
}

static int header_outputs(pl_aws_sigv4_output_t *out,
                          const pl_aws_sigv4_scratch_t *b, const char *amz_date,
                          const char *token, const char *content_sha256) {
  int rc = 0;
  if (token)
    rc = set_header(out, "X-Amz-Security-Token", strdup(token));
  if (rc == 0)
    rc = set_header(out, "X-Amz-Date", strdup(amz_date));
  if (rc == 0 && content_sha256)
    rc = set_header(out, "x-amz-content-sha256", strdup(content_sha256));
  if (rc < 0)
    return rc;
  pl_buf_t auth = {0};
  rc =
      join(&auth, (const char *[]){ALGORITHM " Credential=", b->credential.data,
                                   ", SignedHeaders=", b->names.data,
                                   ", Signature=", out->signature, NULL});
  if (rc < 0) {
    pl_buf_free(&auth);
    return rc;
  }
  return set_header(out, "Authorization", take_buf(&auth));
}

static int sign(const pl_aws_sigv4_params_t *params,
                const pl_aws_sigv4_request_t *request,
                pl_aws_sigv4_output_t *out) {
  int rc = validate(params, request);
  if (rc < 0)
    return rc;
  char amz_date[AMZ_DATE_LEN];
  rc = format_amz_date(params->time, amz_date);
  if (rc < 0)
    return rc;
  const pl_aws_credentials_t *cred = params->credentials;
  const char *token =
      cred->session_token && *cred->session_token ? cred->session_token : NULL;
  bool sign_token = token && !params->omit_session_token;
  char body_hash[PL_AWS_SHA256_HEX_LEN];
  const char *payload_hash = request->payload_hash;
  if (!payload_hash) {
    rc = sha256_hex(cache_hasher(params->key_cache), request->body,
                    request->body_len, body_hash);
    if (rc < 0)
      return rc;
    payload_hash = body_hash;
  }
  const char *content_sha256 = params->add_content_sha256 ? payload_hash : NULL;

  /* The cache's working texts, with the room earlier signatures left, or
   * the call's own. */
  pl_aws_sigv4_scratch_t own = {0};
  pl_aws_sigv4_scratch_t *b =
      params->key_cache ? &params->key_cache->scratch : &own;
  /* Wiped after use when a session token or a query went in (a query is
   * the caller's text: no assumption on what it holds). */
  bool held_secret = token || (request->query && *request->query);
  /* Room for what a request usually takes, so that each text is formatted
   * in one pass; with a secret, room for the most the request can take in
   * each text the secret goes into, so that none moves and leaves a copy
   * freed unwiped. */
  size_t room = 0;
  if (held_secret && pl__aws_sigv4_canon_room(request, token, &room) < 0)
    return PL_ENOMEM;
  if (pl_buf_reserve(&b->creq, room > 1024 ? room : 1024) < 0 ||
      pl_buf_reserve(&b->lines, room > 512 ? room : 512) < 0 ||
      (room > 0 && (pl_buf_reserve(&b->headers, room) < 0 ||
                    pl_buf_reserve(&b->query, room) < 0)) ||
      pl_buf_reserve(&b->sts, 256) < 0 || pl_buf_reserve(&b->scope, 64) < 0 ||
      pl_buf_reserve(&b->credential, 128) < 0 ||
      pl_buf_reserve(&b->names, 128) < 0) {
    scratch_release(b, b == &own, held_secret);
    return PL_ENOMEM;
  }
  char date8[9];
  memcpy(date8, amz_date, 8);
  date8[8] = '\0';
  rc =
      join(&b->scope, (const char *[]){date8, "/", params->region, "/",
                                       params->service, "/aws4_request", NULL});
  if (rc == 0)
    rc = join(&b->credential,
              (const char *[]){cred->access_key_id, "/", b->scope.data, NULL});
  if (rc < 0)
    goto done;
  pl__aws_sigv4_added_headers_t added = {
      .amz_date = amz_date,
      .session_token = sign_token ? token : NULL,
      .content_sha256 = content_sha256,
  };
  rc = pl__aws_sigv4_canon_headers(&b->lines, &b->names, &b->headers, request,
                                   &added);
  if (rc < 0)
    goto done;

  /* Canonical request: method, URI, query, headers, signed names, hash. */
  rc = join(&b->creq, (const char *[]){request->method, "\n", NULL});
  if (rc == 0)
    rc = pl__aws_sigv4_canon_uri(&b->creq, params, request->path);
  if (rc == 0)
    rc = pl_buf_append(&b->creq, "\n", 1);
  if (rc == 0)
    rc = pl__aws_sigv4_canon_query(&b->creq, &b->query, request->query);
  if (rc == 0)
    rc = join(&b->creq,
              (const char *[]){"\n", b->lines.data, "\n", b->names.data, "\n",
                               payload_hash, NULL});
  if (rc < 0)
    goto done;

  char creq_hash[PL_AWS_SHA256_HEX_LEN];
  rc = sha256_hex(cache_hasher(params->key_cache), b->creq.data, b->creq.len,
                  creq_hash);
  if (rc == 0)
    rc = join(&b->sts, (const char *[]){ALGORITHM "\n", amz_date, "\n",
                                        b->scope.data, "\n", creq_hash, NULL});
  if (rc == 0)
    rc = compute_signature(cred->secret_access_key, amz_date, params->region,
                           params->service, params->key_cache, &b->sts,
                           out->signature);
  if (rc < 0)
    goto done;

  rc = header_outputs(out, b, amz_date, token, content_sha256);
  if (rc == 0 && params->keep_intermediates) {
    out->canonical_request = strdup(b->creq.data);
    out->string_to_sign = strdup(b->sts.data);
    if (!out->canonical_request || !out->string_to_sign)
      rc = PL_ENOMEM;
  }
done:
  scratch_release(b, b == &own, held_secret);
  return rc;
}

int pl__aws_sigv4_sign(const pl_aws_sigv4_params_t *params,
                       const pl_aws_sigv4_request_t *request,
                       pl_aws_sigv4_output_t *out) {
  if (!out)
    return PL_EINVAL;
  *out = (pl_aws_sigv4_output_t){0};
  int rc = sign(params, request, out);
  if (rc < 0)
    pl__aws_sigv4_output_close(out);
  return rc;
}

void pl__aws_sigv4_output_close(pl_aws_sigv4_output_t *out) {
  if (!out)
    return;
  /* The token is in a header value and the canonical request. */
  for (size_t i = 0; i < PL_AWS_SIGV4_MAX_ADDED_HEADERS; i++)
    free_wiped_string(out->values_[i]);
  free_wiped_string(out->canonical_request);
  free(out->string_to_sign);
  *out = (pl_aws_sigv4_output_t){0};
}
