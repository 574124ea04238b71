/* S3 helpers for plugins, all pure (no I/O): the keys S3 sends URL-encoded
 * (event notifications, encoding-type=url listings), and ListObjectsV2
 * (GET /?list-type=2): the query string of one page request and the parser
 * of its <ListBucketResult> response, so that a source can page through a
 * bucket with one request at a time and tests can replay responses.
 *
 * Paging: send pl_s3_list_query(prefix, NULL, n), then, while the parsed
 * page is truncated, pl_s3_list_query(prefix, page.next_token, n).
 *
 * Keys: the query always asks for encoding-type=url, as the AWS SDKs do,
 * because XML 1.0 cannot carry some characters S3 allows in keys (most
 * control characters); the parser decodes the keys of such a response and
 * reads a response without <EncodingType> as plain text, so both shapes
 * are accepted whatever was asked. */
#ifndef PIPELINED_S3_H
#define PIPELINED_S3_H

#include <pipelined/common.h>
#include <stdint.h>

/* The longest object key S3 allows, in bytes of UTF-8. */
#define PL_S3_KEY_MAX 1024

/* Decodes, in place, a key as S3 URL-encodes it in event notifications
 * and encoding-type=url listings: '+' is a space and %XX a byte. Returns
 * NULL, or what is wrong with the text ("has a malformed percent escape",
 * "has an encoded NUL byte"), in which case `text` is left partly decoded.
 * The result is not checked to be UTF-8. */
PL_EXTERN const char *pl_s3_key_decode(char *text);

/* The most keys S3 returns in one page (and the largest max-keys). */
#define PL_S3_LIST_MAX_KEYS 1000

/* One <Contents> entry. The strings are owned by the page. */
typedef struct pl_s3_object {
  /* Decoded: 1..PL_S3_KEY_MAX bytes (UTF-8 from S3), no NUL byte. */
  char *key;
  /* Without the quotes ("9b2cf535f27731c974343645a3985328", or "…-12" for
   * a multipart upload), or NULL when absent. */
  char *etag;
  uint64_t size; /* bytes (5 TiB at most on S3 today) */
  /* As sent ("2009-10-12T17:50:30.000Z"), or NULL when absent. */
  char *last_modified;
} pl_s3_object_t;

/* One parsed response. Caller-embedded: filled by pl_s3_list_parse(),
 * released with pl_s3_list_page_close(). */
typedef struct pl_s3_list_page {
  pl_s3_object_t *objects; /* in the order S3 sent them; NULL when count 0 */
  size_t count;
  bool truncated; /* more keys follow: ask again with next_token */
  /* Set exactly when truncated: the non-empty opaque token for the next
   * request's continuation-token. */
  char *next_token;
  /* The request's prefix as S3 echoed it (decoded), "" for none, or NULL
   * when the response has no <Prefix>. */
  char *prefix;
} pl_s3_list_page_t;

/* Appends to `out` the query string (without '?') of one ListObjectsV2
 * request, parameters sorted by name as SigV4 signs them:
 *   continuation-token=<token>&encoding-type=url&list-type=2&
 *   max-keys=<n>&prefix=<prefix>
 * continuation-token is left out when the token is NULL or "", max-keys
 * when max_keys is 0 (S3's default, 1000), prefix when it is NULL or "".
 * Values are encoded with RFC 3986 encoding (RFC 3986: everything but
 * A-Z a-z 0-9 - . _ ~ as %XX, '/' included), so "a b+c/=é" is sent as
 * "a%20b%2Bc%2F%3D%C3%A9". Strings are borrowed for the call. Returns 0,
 * PL_EINVAL (`out` NULL), PL_ERANGE (max_keys outside
 * 0..PL_S3_LIST_MAX_KEYS, or a prefix longer than PL_S3_KEY_MAX bytes,
 * which no key can start with) or PL_ENOMEM; on failure `out` is left as
 * it was. */
PL_EXTERN int pl_s3_list_query(const char *prefix, const char *continuation_token,
                      int max_keys, pl_buf_t *out);

/* Parses a ListObjectsV2 response body of `len` bytes (no NUL terminator
 * needed; borrowed for the call) into *out, which is overwritten, not
 * closed first. The document element must be <ListBucketResult> (with or
 * without S3's namespace). Read: IsTruncated (required), NextContinuation-
 * Token, Prefix, EncodingType, and per <Contents> Key and Size (both
 * required), ETag and LastModified; every other element (CommonPrefixes,
 * Owner, StorageClass, ...) is skipped. Entities and character references
 * are decoded by the XML parser; with <EncodingType>url</EncodingType>
 * Key and Prefix are then percent-decoded ('+' is a space, as S3 encodes
 * them). ETag quotes (sent as " or &quot;) are removed.
 *
 * Memory is bounded by the body: each text is capped (Key and Prefix at
 * PL_S3_KEY_MAX bytes decoded, NextContinuationToken at 4096 bytes, ETag
 * at 1024, Size, IsTruncated, EncodingType and LastModified at 64) and
 * a DOCTYPE is refused before any entity could be declared.
 *
 * Returns 0 with *out filled (the caller closes it), or an error with *out
 * empty (closing it is allowed): PL_EINVAL (`out` NULL, or `xml` NULL with
 * len > 0), PL_ENOMEM, or PL_EPARSE with one line appended to `error`
 * (unless NULL) saying why, with the position when the parser knows it:
 *   "line 1, column 23: mismatched tag"
 *   "line 2, column 13: DOCTYPE is not allowed"
 *   "line 1, column 1: the document element is <Error>, not
 *    <ListBucketResult>"
 *   "line 3, column 5: <Size> is not a number"
 *   "<ListBucketResult> has no <IsTruncated>"
 *   "<IsTruncated> is true but there is no <NextContinuationToken>"
 *   "<Contents> 3: <Key> is longer than 1024 bytes"
 * No remote text but element names (at most 64 bytes of one, and XML
 * names hold no control characters or spaces) appears in the reason: it
 * is safe to log as one line. */
PL_EXTERN int pl_s3_list_parse(const char *xml, size_t len, pl_s3_list_page_t *out,
                      pl_buf_t *error);

/* Frees what a page owns and empties it. Safe on an empty page. */
PL_EXTERN void pl_s3_list_page_close(pl_s3_list_page_t *page);

#endif
