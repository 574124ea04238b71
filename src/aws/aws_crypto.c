/* SHA-256 and HMAC-SHA256 through libcrypto's EVP interfaces. HMAC goes
 * through EVP_MAC (OpenSSL 3): the older HMAC_CTX API is deprecated there
 * and would need warnings silenced under -Werror. */
#include "aws_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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
  static const unsigned char empty[1] = {0};
  /* Fetched per call rather than cached in a static: no ambient state
   * (HACKING.md#s2), and a fetch is cheap next to the TLS request that
   * follows every signature. */
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac)
    return PL_EIO;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (!ctx)
    return PL_ENOMEM;
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  size_t out_len = 0;
  int ok = EVP_MAC_init(ctx, key_len ? key : empty, key_len, params) == 1 &&
           EVP_MAC_update(ctx, len ? data : empty, len) == 1 &&
           EVP_MAC_final(ctx, out, &out_len, PL_AWS_SHA256_LEN) == 1 &&
           out_len == PL_AWS_SHA256_LEN;
  /* EVP_MAC_CTX_free cleanses the key schedule it holds. */
  EVP_MAC_CTX_free(ctx);
  return ok ? 0 : PL_EIO;
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
