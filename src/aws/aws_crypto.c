/* SHA-256 and HMAC-SHA256 through libcrypto's EVP interfaces. HMAC goes
 * through EVP_MAC (OpenSSL 3): the older HMAC_CTX API is deprecated there
 * and would need warnings silenced under -Werror. The one-shot functions
 * fetch their algorithm on each call; a hasher fetches once. */
#include "aws_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdlib.h>
#include <string.h>

int pl__aws_sha256(const void *data, size_t len,
                   unsigned char out[PL_AWS_SHA256_LEN]) {
  /* EVP_Digest rejects a NULL pointer even for zero bytes. */
  static const unsigned char empty[1] = {0};
  unsigned int out_len = 0;
  if (EVP_Digest(len ? data : empty, len, out, &out_len, EVP_sha256(), NULL) !=
          1 ||
      out_len != PL_AWS_SHA256_LEN)
    return PL_EIO;
  return 0;
}

int pl__aws_sha256_hex(const void *data, size_t len,
                       char out[PL_AWS_SHA256_HEX_LEN]) {
  unsigned char digest[PL_AWS_SHA256_LEN];
  int rc = pl__aws_sha256(data, len, digest);
  if (rc < 0)
    return rc;
  pl__aws_hex(digest, sizeof digest, out);
  return 0;
}

int pl__aws_hmac_sha256(const void *key, size_t key_len, const void *data,
                        size_t len, unsigned char out[PL_AWS_SHA256_LEN]) {
  /* A hasher for one HMAC rather than one cached in a static: no ambient
   * state (HACKING.md#s2); signers keep theirs (sigv4.h's key cache). */
  pl_aws_hasher_t *hasher = NULL;
  int rc = pl__aws_hasher_new(&hasher);
  if (rc == 0)
    rc = pl__aws_hasher_hmac(hasher, key, key_len, data, len, out);
  pl__aws_hasher_free(hasher);
  return rc;
}

struct pl_aws_hasher {
  EVP_MD *md;
  EVP_MD_CTX *md_ctx;
  EVP_MAC_CTX *mac_ctx;
  bool mac_has_digest; /* the HMAC's digest is set (at its first key) */
  /* The key mac_ctx holds, when it is at most PL_AWS_SHA256_LEN bytes (a
   * SigV4 signing key): the next HMAC with the same key restarts from
   * the prepared context instead of hashing the key again. */
  unsigned char mac_key[PL_AWS_SHA256_LEN];
  size_t mac_key_len;
  bool mac_keyed;
};

int pl__aws_hasher_new(pl_aws_hasher_t **out) {
  *out = NULL;
  pl_aws_hasher_t *hasher = calloc(1, sizeof *hasher);
  if (!hasher)
    return PL_ENOMEM;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  hasher->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  bool fetched = mac && hasher->md;
  hasher->md_ctx = EVP_MD_CTX_new();
  hasher->mac_ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac);
  if (!fetched || !hasher->md_ctx || !hasher->mac_ctx) {
    int rc = fetched ? PL_ENOMEM : PL_EIO;
    pl__aws_hasher_free(hasher);
    return rc;
  }
  *out = hasher;
  return 0;
}

void pl__aws_hasher_free(pl_aws_hasher_t *hasher) {
  if (!hasher)
    return;
  EVP_MAC_CTX_free(hasher->mac_ctx);
  EVP_MD_CTX_free(hasher->md_ctx);
  EVP_MD_free(hasher->md);
  pl__aws_cleanse(hasher->mac_key, sizeof hasher->mac_key);
  free(hasher);
}

int pl__aws_hasher_sha256_hex(pl_aws_hasher_t *hasher, const void *data,
                              size_t len, char out[PL_AWS_SHA256_HEX_LEN]) {
  static const unsigned char empty[1] = {0};
  unsigned char digest[PL_AWS_SHA256_LEN];
  unsigned int out_len = 0;
  if (EVP_DigestInit_ex2(hasher->md_ctx, hasher->md, NULL) != 1 ||
      EVP_DigestUpdate(hasher->md_ctx, len ? data : empty, len) != 1 ||
      EVP_DigestFinal_ex(hasher->md_ctx, digest, &out_len) != 1 ||
      out_len != PL_AWS_SHA256_LEN)
    return PL_EIO;
  pl__aws_hex(digest, sizeof digest, out);
  return 0;
}

int pl__aws_hasher_hmac(pl_aws_hasher_t *hasher, const void *key,
                        size_t key_len, const void *data, size_t len,
                        unsigned char out[PL_AWS_SHA256_LEN]) {
  static const unsigned char empty[1] = {0};
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  /* The same key as the last HMAC: OpenSSL restarts from the context it
   * prepared for that key when given none (EVP_MAC_init(3)). */
  bool same_key = hasher->mac_keyed && key_len == hasher->mac_key_len &&
                  CRYPTO_memcmp(key, hasher->mac_key, key_len) == 0;
  /* The digest is set once: setting it again would fetch it again. */
  int ok = same_key
               ? EVP_MAC_init(hasher->mac_ctx, NULL, 0, NULL)
               : EVP_MAC_init(hasher->mac_ctx, key_len ? key : empty, key_len,
                              hasher->mac_has_digest ? NULL : params);
  hasher->mac_keyed = false;
  if (ok != 1)
    return PL_EIO;
  hasher->mac_has_digest = true;
  if (key_len <= sizeof hasher->mac_key) {
    if (!same_key && key_len > 0)
      memcpy(hasher->mac_key, key, key_len);
    hasher->mac_key_len = key_len;
    hasher->mac_keyed = true;
  }
  size_t out_len = 0;
  if (EVP_MAC_update(hasher->mac_ctx, len ? data : empty, len) != 1 ||
      EVP_MAC_final(hasher->mac_ctx, out, &out_len, PL_AWS_SHA256_LEN) != 1 ||
      out_len != PL_AWS_SHA256_LEN)
    return PL_EIO;
  return 0;
}

void pl__aws_hex(const unsigned char *data, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0f];
  }
  out[2 * len] = '\0';
}

void pl__aws_cleanse(void *data, size_t len) {
  OPENSSL_cleanse(data, len);
}
