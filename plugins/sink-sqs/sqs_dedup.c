/* The default MessageDeduplicationId of a FIFO message (see sqs_dedup.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sqs_dedup.h"

static void hex(const unsigned char *digest, char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0xF];
  }
  out[64] = '\0';
}

/* Each text is hashed with its NUL, so that ("ab", "c") and ("a", "bc")
 * differ; a missing text hashes as an empty one. */
static int digest_text(EVP_MD_CTX *md, const char *text) {
  if (!text)
    text = "";
  return EVP_DigestUpdate(md, text, strlen(text) + 1) == 1 ? 0 : PL_ENOMEM;
}

int sqs_default_dedup_id(const pl_record_t *record, const char *body,
                         size_t body_len, char out[65]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(md);
    return PL_ENOMEM;
  }
  const char *origin = pl_record_origin(record);
  const char *message_id = pl_record_message_id(record);
  int rc = 0;
  if ((origin && *origin) || (message_id && *message_id)) {
    char line[24];
    snprintf(line, sizeof(line), "%llu",
             (unsigned long long)pl_record_line(record));
    rc = digest_text(md, origin);
    if (rc == 0)
      rc = digest_text(md, pl_record_etag(record));
    /* An S3 object written back to an earlier content has that content's
     * etag again, and a later time. */
    if (rc == 0)
      rc = digest_text(md, pl_record_origin_time(record));
    if (rc == 0)
      rc = digest_text(md, message_id);
    if (rc == 0)
      rc = digest_text(md, line);
    /* And the body: the metadata alone does not tell apart the chunks of
     * an input read as bytes (no line), nor a file rewritten in place (no
     * etag), whose messages SQS would drop as duplicates of the first
     * while the sink counted them sent. The same input sent again has the
     * same body: still one id. */
    if (rc == 0 && EVP_DigestUpdate(md, body, body_len) != 1)
      rc = PL_ENOMEM;
  } else if (EVP_DigestUpdate(md, body, body_len) != 1) {
    rc = PL_ENOMEM;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (rc == 0 && (EVP_DigestFinal_ex(md, digest, &digest_len) != 1 ||
                  digest_len != 32))
    rc = PL_ENOMEM;
  EVP_MD_CTX_free(md);
  if (rc == 0)
    hex(digest, out);
  return rc;
}
