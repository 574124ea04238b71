/* AWS Signature Version 4. The canonical request, string to sign and
 * signature follow the AWS documentation; where the documentation leaves
 * room (path normalization, folded header values, the order of the added
 * headers and presign parameters) the behaviour is the one the AWS test
 * suite of aws-c-auth expects, so the unit test can compare byte for byte. */
#include "sigv4.h"

#include "aws_crypto.h"
#include "credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
/* "20150830T123600Z" and its NUL. */
#define AMZ_DATE_LEN 17

/* ---- Character classes (ASCII only: the C locale must not matter) ---- */

static bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Folded (obs-fold) header lines keep their CR/LF in the value; they
 * canonicalize like any other run of whitespace. */
static bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 7230 token characters: what a header name or a method may hold. */
static bool is_tchar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s) {
  if (!s || !*s)
    return false;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s))
      return false;
  return true;
}

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

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Frees a buffer that may have held the session token, wiping it first:
 * the token is a credential too (secret.h keeps it in wiped memory). */
static void free_wiped(pl_buf_t *buf) {
  if (buf->data)
    pl__aws_cleanse(buf->data, buf->cap);
  pl_buf_free(buf);
}

static void free_wiped_string(char *s) {
  if (s)
    pl__aws_cleanse(s, strlen(s));
  free(s);
}

static char *copy_string(const char *s) {
  size_t len = strlen(s);
  char *copy = malloc(len + 1);
  if (copy)
    memcpy(copy, s, len + 1);
  return copy;
}

/* ---- URI encoding ---- */

int pl__aws_uri_encode(pl_buf_t *out, const void *data, size_t len,
                       bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  if (len > (SIZE_MAX - 1) / 3)
    return PL_ENOMEM;
  int rc = pl_buf_reserve(out, len * 3);
  if (rc < 0)
    return rc;
  const unsigned char *p = data;
  char *w = out->data + out->len;
  for (size_t i = 0; i < len; i++) {
    if (is_unreserved(p[i]) || (keep_slash && p[i] == '/')) {
      *w++ = (char)p[i];
    } else {
      *w++ = '%';
      *w++ = hex[p[i] >> 4];
      *w++ = hex[p[i] & 0x0f];
    }
  }
  out->len = (size_t)(w - out->data);
  out->data[out->len] = '\0';
  return 0;
}

/* Decodes the valid %XX escapes of s; a '%' without two hex digits stays a
 * literal '%' (it is then encoded as %25), and '+' stays a plus: AWS
 * query strings are RFC 3986, not HTML forms. */
static int uri_decode(pl_buf_t *out, const char *s, size_t len) {
  int rc = pl_buf_reserve(out, len);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < len; i++) {
    int hi = -1, lo = -1;
    if (s[i] == '%' && i + 2 < len) {
      hi = hex_value((unsigned char)s[i + 1]);
      lo = hex_value((unsigned char)s[i + 2]);
    }
    if (hi >= 0 && lo >= 0) {
      out->data[out->len++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out->data[out->len++] = s[i];
    }
  }
  out->data[out->len] = '\0';
  return 0;
}

/* Appends the canonical form of a query name or value: decoded, then
 * encoded once, so that any spelling of the same bytes signs the same (the
 * suite has both "%E1%88%B4" and the raw UTF-8 bytes). */
static int canonical_component(pl_buf_t *out, pl_buf_t *scratch, const char *s,
                               size_t len) {
  pl_buf_reset(scratch);
  int rc = uri_decode(scratch, s, len);
  if (rc < 0)
    return rc;
  return pl__aws_uri_encode(out, scratch->data, scratch->len, false);
}

/* ---- Canonical URI ---- */

/* Drops empty and "." segments and resolves ".." (never above the root).
 * A trailing slash survives only when the path had one, as in aws-c-auth
 * and botocore ("/example/.." signs as "/", "//example//" as "/example/"). */
static int normalize_path(pl_buf_t *out, const char *path) {
  size_t len = strlen(path);
  for (size_t i = 0; i < len;) {
    while (i < len && path[i] == '/')
      i++;
    size_t start = i;
    while (i < len && path[i] != '/')
      i++;
    size_t seg = i - start;
    if (seg == 0 || (seg == 1 && path[start] == '.'))
      continue;
    if (seg == 2 && path[start] == '.' && path[start + 1] == '.') {
      while (out->len > 0 && out->data[out->len - 1] != '/')
        out->len--;
      if (out->len > 0)
        out->len--;
      out->data[out->len] = '\0';
      continue;
    }
    int rc = pl_buf_append(out, "/", 1);
    if (rc == 0)
      rc = pl_buf_append(out, path + start, seg);
    if (rc < 0)
      return rc;
  }
  if (out->len == 0 || path[len - 1] == '/')
    return pl_buf_append(out, "/", 1);
  return 0;
}

/* What S3 can take verbatim: an RFC 3986 path (pchar and '/'), with
 * well-formed escapes. */
static bool is_wire_path(const char *path) {
  for (const char *p = path; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '%') {
      if (hex_value((unsigned char)p[1]) < 0 ||
          hex_value((unsigned char)p[2]) < 0)
        return false;
      p += 2;
    } else if (!is_unreserved(c) && !strchr("!$&'()*+,;=:@/", c)) {
      return false;
    }
  }
  return true;
}

static int append_canonical_uri(pl_buf_t *out,
                                const pl_aws_sigv4_params_t *params,
                                const char *path) {
  if (!path || !*path)
    path = "/";
  pl_buf_t normalized = {0};
  int rc = 0;
  if (params->normalize_path) {
    rc = normalize_path(&normalized, path);
    if (rc < 0)
      goto done;
    path = normalized.data;
  }
  if (params->double_encode_path) {
    /* The rule for every service but S3: the path as sent (encoded, or raw
     * as in the test suite) is encoded once more, '%' included. */
    rc = pl__aws_uri_encode(out, path, strlen(path), true);
  } else if (is_wire_path(path)) {
    /* S3 signs what it receives, and a key's "%2E%2E" segment must not
     * turn into "..": the path goes in exactly as sent. */
    rc = pl_buf_append_str(out, path);
  } else {
    rc = PL_EINVAL;
  }
done:
  pl_buf_free(&normalized);
  return rc;
}

/* ---- Canonical query ---- */

typedef struct query_pair {
  size_t key_off, key_len, value_off, value_len;
  const char *key, *value; /* set once the text stops moving */
} query_pair_t;

/* A parameter the presigner adds, its value already encoded. */
typedef struct query_extra {
  const char *key;
  const char *value;
} query_extra_t;

static int compare_bytes(const char *a, size_t alen, const char *b,
                         size_t blen) {
  int c = memcmp(a, b, alen < blen ? alen : blen);
  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen;
}

static int compare_pairs(const void *pa, const void *pb) {
  const query_pair_t *a = pa, *b = pb;
  int c = compare_bytes(a->key, a->key_len, b->key, b->key_len);
  return c ? c : compare_bytes(a->value, a->value_len, b->value, b->value_len);
}

static bool is_signing_param(const char *key, size_t len) {
  static const char *const names[] = {
      "X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
      "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Security-Token",
      "X-Amz-Signature",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0)
      return true;
  return false;
}

static int append_canonical_query(pl_buf_t *out, pl_buf_t *scratch,
                                  const char *query,
                                  const query_extra_t *extras,
                                  size_t extra_count) {
  size_t count = extra_count + 1;
  for (const char *p = query; p && *p; p++)
    count += *p == '&';
  query_pair_t *pairs = calloc(count, sizeof *pairs);
  if (!pairs)
    return PL_ENOMEM;
  pl_buf_t text = {0};
  size_t n = 0;
  int rc = 0;
  for (const char *p = query; p && *p;) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t key_len = eq ? (size_t)(eq - p) : len;
      query_pair_t *pair = &pairs[n++];
      pair->key_off = text.len;
      rc = canonical_component(&text, scratch, p, key_len);
      if (rc < 0)
        goto done;
      pair->key_len = text.len - pair->key_off;
      /* A query that already carries signing parameters would be signed
       * twice over, and the service would reject the duplicates. */
      if (extras &&
          is_signing_param(text.data + pair->key_off, pair->key_len)) {
        rc = PL_EINVAL;
        goto done;
      }
      pair->value_off = text.len;
      if (eq) {
        rc = canonical_component(&text, scratch, eq + 1, len - key_len - 1);
        if (rc < 0)
          goto done;
      }
      pair->value_len = text.len - pair->value_off;
    }
    p += len + (end != NULL);
  }
  for (size_t i = 0; i < extra_count; i++) {
    query_pair_t *pair = &pairs[n++];
    pair->key_off = text.len;
    pair->key_len = strlen(extras[i].key);
    pair->value_off = text.len + pair->key_len;
    pair->value_len = strlen(extras[i].value);
    rc = pl_buf_append_str(&text, extras[i].key);
    if (rc == 0)
      rc = pl_buf_append_str(&text, extras[i].value);
    if (rc < 0)
      goto done;
  }
  for (size_t i = 0; i < n; i++) {
    pairs[i].key = text.data + pairs[i].key_off;
    pairs[i].value = text.data + pairs[i].value_off;
  }
  qsort(pairs, n, sizeof *pairs, compare_pairs);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (i > 0)
      rc = pl_buf_append(out, "&", 1);
    if (rc == 0)
      rc = pl_buf_append(out, pairs[i].key, pairs[i].key_len);
    if (rc == 0)
      rc = pl_buf_append(out, "=", 1);
    if (rc == 0)
      rc = pl_buf_append(out, pairs[i].value, pairs[i].value_len);
  }
done:
  free_wiped(&text);
  free(pairs);
  return rc;
}

/* ---- Canonical headers ---- */

typedef struct header_entry {
  size_t name_off, name_len, value_off, value_len;
  size_t order; /* repeated names keep the caller's order */
  const char *name, *value;
} header_entry_t;

static int compare_headers(const void *pa, const void *pb) {
  const header_entry_t *a = pa, *b = pb;
  int c = compare_bytes(a->name, a->name_len, b->name, b->name_len);
  if (c)
    return c;
  return a->order < b->order ? -1 : a->order > b->order;
}

static bool name_in(const char *name, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(name, list[i]) == 0)
      return true;
  return false;
}

/* Hop-by-hop headers and ones that proxies or libcurl rewrite: signing
 * them would break the request in transit. */
static bool is_unsigned_header(const char *lower) {
  static const char *const names[] = {
      "connection", "expect",     "transfer-encoding",
      "upgrade",    "user-agent", "x-amzn-trace-id",
  };
  return name_in(lower, names, sizeof names / sizeof names[0]);
}

/* Trims the value and collapses each run of whitespace to one space. */
static int append_trimmed(pl_buf_t *out, const char *value) {
  int rc = pl_buf_reserve(out, strlen(value));
  if (rc < 0)
    return rc;
  bool pending_space = false, started = false;
  for (const char *p = value; *p; p++) {
    if (is_space((unsigned char)*p)) {
      pending_space = started;
      continue;
    }
    if (pending_space)
      out->data[out->len++] = ' ';
    out->data[out->len++] = *p;
    pending_space = false;
    started = true;
  }
  out->data[out->len] = '\0';
  return 0;
}

static int add_header(pl_buf_t *text, header_entry_t *entry, const char *name,
                      const char *value, size_t order) {
  entry->order = order;
  entry->name_off = text->len;
  entry->name_len = strlen(name);
  int rc = pl_buf_append(text, name, entry->name_len);
  if (rc < 0)
    return rc;
  entry->value_off = text->len;
  rc = append_trimmed(text, value);
  entry->value_len = text->len - entry->value_off;
  return rc;
}

/* The headers the signer adds, already canonical (lower-case names). */
typedef struct added_headers {
  const char *amz_date;       /* header signing only */
  const char *session_token;  /* when signed */
  const char *content_sha256; /* S3 header signing */
} added_headers_t;

/* Appends "name:value\n" for each signed header to lines and the
 * ';'-separated names to names. */
static int append_canonical_headers(pl_buf_t *lines, pl_buf_t *names,
                                    const pl_aws_sigv4_request_t *request,
                                    const added_headers_t *added) {
  header_entry_t *entries = calloc(request->header_count + 3, sizeof *entries);
  if (!entries)
    return PL_ENOMEM;
  pl_buf_t text = {0}, lower = {0};
  size_t n = 0;
  bool have_host = false;
  int rc = 0;
  for (size_t i = 0; i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    if (!is_token(h->name) || !h->value) {
      rc = PL_EINVAL;
      goto done;
    }
    pl_buf_reset(&lower);
    for (const char *p = h->name; *p && rc == 0; p++) {
      char c = ascii_lower(*p);
      rc = pl_buf_append(&lower, &c, 1);
    }
    if (rc < 0)
      goto done;
    static const char *const reserved[] = {"authorization", "x-amz-date",
                                           "x-amz-security-token"};
    if (name_in(lower.data, reserved, sizeof reserved / sizeof reserved[0]) ||
        (added->content_sha256 &&
         strcmp(lower.data, "x-amz-content-sha256") == 0)) {
      rc = PL_EINVAL;
      goto done;
    }
    have_host = have_host || strcmp(lower.data, "host") == 0;
    if (is_unsigned_header(lower.data))
      continue;
    rc = add_header(&text, &entries[n++], lower.data, h->value, i);
    if (rc < 0)
      goto done;
  }
  /* Without Host the service cannot check which endpoint was meant, and
   * rejects the signature with a far less helpful message. */
  if (!have_host) {
    rc = PL_EINVAL;
    goto done;
  }
  size_t order = request->header_count;
  if (added->amz_date)
    rc = add_header(&text, &entries[n++], "x-amz-date", added->amz_date,
                    order++);
  if (rc == 0 && added->session_token)
    rc = add_header(&text, &entries[n++], "x-amz-security-token",
                    added->session_token, order++);
  if (rc == 0 && added->content_sha256)
    rc = add_header(&text, &entries[n++], "x-amz-content-sha256",
                    added->content_sha256, order++);
  if (rc < 0)
    goto done;
  for (size_t i = 0; i < n; i++) {
    entries[i].name = text.data + entries[i].name_off;
    entries[i].value = text.data + entries[i].value_off;
  }
  qsort(entries, n, sizeof *entries, compare_headers);
  for (size_t i = 0; i < n && rc == 0; i++) {
    const header_entry_t *e = &entries[i];
    bool repeat =
        i > 0 && compare_bytes(e->name, e->name_len, entries[i - 1].name,
                               entries[i - 1].name_len) == 0;
    if (repeat) {
      /* The line of the previous value is still open: join with ','. */
      lines->len--;
      rc = pl_buf_append(lines, ",", 1);
    } else {
      if (names->len > 0)
        rc = pl_buf_append(names, ";", 1);
      if (rc == 0)
        rc = pl_buf_append(names, e->name, e->name_len);
      if (rc == 0)
        rc = pl_buf_append(lines, e->name, e->name_len);
      if (rc == 0)
        rc = pl_buf_append(lines, ":", 1);
    }
    if (rc == 0)
      rc = pl_buf_append(lines, e->value, e->value_len);
    if (rc == 0)
      rc = pl_buf_append(lines, "\n", 1);
  }
done:
  pl_buf_free(&lower);
  free_wiped(&text);
  free(entries);
  return rc;
}

/* ---- Time, key and validation ---- */

static void put_digits(char *out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* Formats "YYYYMMDDTHHMMSSZ" without gmtime (which depends on the C
 * library's time_t range): days to civil date as in H. Hinnant's
 * chrono algorithms. */
static int format_amz_date(int64_t t, char out[AMZ_DATE_LEN]) {
  if (t < 0 || t > INT64_C(253402300799)) /* 9999-12-31T23:59:59Z */
    return PL_ERANGE;
  int64_t days = t / 86400 + 719468;
  unsigned secs = (unsigned)(t % 86400);
  unsigned era = (unsigned)(days / 146097);
  unsigned doe = (unsigned)(days - (int64_t)era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned day = doy - (153 * mp + 2) / 5 + 1;
  unsigned month = mp < 10 ? mp + 3 : mp - 9;
  unsigned year = yoe + era * 400 + (month <= 2);
  put_digits(out, year, 4);
  put_digits(out + 4, month, 2);
  put_digits(out + 6, day, 2);
  out[8] = 'T';
  put_digits(out + 9, secs / 3600, 2);
  put_digits(out + 11, secs / 60 % 60, 2);
  put_digits(out + 13, secs % 60, 2);
  out[15] = 'Z';
  out[16] = '\0';
  return 0;
}

/* HMAC chain of the signing key, then the signature of string_to_sign. The
 * secret only ever lives in the caller's string and in "AWS4"+secret, which
 * is cleansed like every intermediate key. */
static int compute_signature(const char *secret, const char *date8,
                             const char *region, const char *service,
                             const pl_buf_t *string_to_sign, char hex[65]) {
  size_t secret_len = strlen(secret);
  unsigned char *k_secret = malloc(secret_len + 4);
  if (!k_secret)
    return PL_ENOMEM;
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, secret, secret_len);
  unsigned char k_date[PL_AWS_SHA256_LEN], k_region[PL_AWS_SHA256_LEN],
      k_service[PL_AWS_SHA256_LEN], k_signing[PL_AWS_SHA256_LEN],
      signature[PL_AWS_SHA256_LEN];
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
  if (rc == 0)
    rc = pl__aws_hmac_sha256(k_signing, sizeof k_signing, string_to_sign->data,
                             string_to_sign->len, signature);
  if (rc == 0)
    pl__aws_hex(signature, sizeof signature, hex);
  pl__aws_cleanse(k_secret, secret_len + 4);
  free(k_secret);
  pl__aws_cleanse(k_date, sizeof k_date);
  pl__aws_cleanse(k_region, sizeof k_region);
  pl__aws_cleanse(k_service, sizeof k_service);
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
  if (!is_token(request->method))
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

static char *take_buf(pl_buf_t *buf) {
  char *data = buf->data;
  *buf = (pl_buf_t){0};
  return data;
}

/* Working buffers of one signature, freed together. */
typedef struct sign_bufs {
  pl_buf_t scope, credential, lines, names, creq, sts, scratch;
  pl_buf_t enc_credential, enc_names, enc_token, query;
} sign_bufs_t;

static void sign_bufs_free(sign_bufs_t *b) {
  pl_buf_t *all[] = {&b->scope,     &b->credential,     &b->lines,
                     &b->names,     &b->creq,           &b->sts,
                     &b->scratch,   &b->enc_credential, &b->enc_names,
                     &b->enc_token, &b->query};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free_wiped(all[i]);
}

/* The canonical query of a presigned request and, in b->query, the
 * parameters handed back (all but the signature). */
static int presign_query(sign_bufs_t *b, const pl_aws_sigv4_request_t *request,
                         const char *amz_date, uint32_t expires_s,
                         const char *token, bool sign_token) {
  char expires[16];
  snprintf(expires, sizeof expires, "%u", (unsigned)expires_s);
  int rc = pl__aws_uri_encode(&b->enc_credential, b->credential.data,
                              b->credential.len, false);
  if (rc == 0)
    rc = pl__aws_uri_encode(&b->enc_names, b->names.data, b->names.len, false);
  if (rc == 0)
    rc = pl__aws_uri_encode(&b->enc_token, token ? token : "",
                            token ? strlen(token) : 0, false);
  if (rc < 0)
    return rc;
  /* pl_buf data stays NULL until something is appended. */
  const char *enc_token = b->enc_token.data ? b->enc_token.data : "";
  query_extra_t extras[] = {
      {"X-Amz-Algorithm", ALGORITHM},
      {"X-Amz-Credential", b->enc_credential.data},
      {"X-Amz-Date", amz_date},
      {"X-Amz-Expires", expires},
      {"X-Amz-SignedHeaders", b->enc_names.data},
      {"X-Amz-Security-Token", enc_token},
  };
  size_t extra_count = sizeof extras / sizeof extras[0] - (sign_token ? 0 : 1);
  rc = append_canonical_query(&b->creq, &b->scratch, request->query, extras,
                              extra_count);
  if (rc < 0)
    return rc;
  /* The order aws-c-auth and the suite use; services sort the parameters
   * before verifying, so it only matters for byte-for-byte tests. */
  rc = pl_buf_printf(&b->query,
                     "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=%s"
                     "&X-Amz-Date=%s&X-Amz-SignedHeaders=%s&X-Amz-Expires=%s",
                     b->enc_credential.data, amz_date, b->enc_names.data,
                     expires);
  if (rc == 0 && token)
    rc = pl_buf_printf(&b->query, "&X-Amz-Security-Token=%s", enc_token);
  return rc;
}

static int header_outputs(pl_aws_sigv4_output_t *out, sign_bufs_t *b,
                          const char *amz_date, const char *token,
                          const char *content_sha256) {
  int rc = 0;
  if (token)
    rc = set_header(out, "X-Amz-Security-Token", copy_string(token));
  if (rc == 0)
    rc = set_header(out, "X-Amz-Date", copy_string(amz_date));
  if (rc == 0 && content_sha256)
    rc = set_header(out, "x-amz-content-sha256", copy_string(content_sha256));
  if (rc < 0)
    return rc;
  pl_buf_t auth = {0};
  rc = pl_buf_printf(&auth,
                     ALGORITHM " Credential=%s, SignedHeaders=%s, Signature=%s",
                     b->credential.data, b->names.data, out->signature);
  if (rc < 0) {
    pl_buf_free(&auth);
    return rc;
  }
  return set_header(out, "Authorization", take_buf(&auth));
}

static int sign(const pl_aws_sigv4_params_t *params,
                const pl_aws_sigv4_request_t *request, bool presign,
                uint32_t expires_s, pl_aws_sigv4_output_t *out) {
  int rc = validate(params, request);
  if (rc < 0)
    return rc;
  if (presign && (expires_s == 0 || expires_s > PL_AWS_SIGV4_MAX_EXPIRES))
    return PL_ERANGE;
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
    rc = pl__aws_sha256_hex(request->body, request->body_len, body_hash);
    if (rc < 0)
      return rc;
    payload_hash = body_hash;
  }
  const char *content_sha256 =
      !presign && params->add_content_sha256 ? payload_hash : NULL;

  sign_bufs_t b = {0};
  rc = pl_buf_printf(&b.scope, "%.8s/%s/%s/aws4_request", amz_date,
                     params->region, params->service);
  if (rc == 0)
    rc = pl_buf_printf(&b.credential, "%s/%s", cred->access_key_id,
                       b.scope.data);
  if (rc < 0)
    goto done;
  added_headers_t added = {
      .amz_date = presign ? NULL : amz_date,
      .session_token = presign || !sign_token ? NULL : token,
      .content_sha256 = content_sha256,
  };
  rc = append_canonical_headers(&b.lines, &b.names, request, &added);
  if (rc < 0)
    goto done;

  /* Canonical request: method, URI, query, headers, signed names, hash. */
  rc = pl_buf_printf(&b.creq, "%s\n", request->method);
  if (rc == 0)
    rc = append_canonical_uri(&b.creq, params, request->path);
  if (rc == 0)
    rc = pl_buf_append(&b.creq, "\n", 1);
  if (rc == 0 && presign)
    rc = presign_query(&b, request, amz_date, expires_s, token, sign_token);
  else if (rc == 0)
    rc = append_canonical_query(&b.creq, &b.scratch, request->query, NULL, 0);
  if (rc == 0)
    rc = pl_buf_printf(&b.creq, "\n%s\n%s\n%s", b.lines.data, b.names.data,
                       payload_hash);
  if (rc < 0)
    goto done;

  char creq_hash[PL_AWS_SHA256_HEX_LEN];
  rc = pl__aws_sha256_hex(b.creq.data, b.creq.len, creq_hash);
  if (rc == 0)
    rc = pl_buf_printf(&b.sts, ALGORITHM "\n%s\n%s\n%s", amz_date, b.scope.data,
                       creq_hash);
  if (rc == 0)
    rc = compute_signature(cred->secret_access_key, amz_date, params->region,
                           params->service, &b.sts, out->signature);
  if (rc < 0)
    goto done;

  if (presign) {
    rc = pl_buf_printf(&b.query, "&X-Amz-Signature=%s", out->signature);
    if (rc == 0)
      out->query = take_buf(&b.query);
  } else {
    rc = header_outputs(out, &b, amz_date, token, content_sha256);
  }
  if (rc == 0 && params->keep_intermediates) {
    out->canonical_request = take_buf(&b.creq);
    out->string_to_sign = take_buf(&b.sts);
  }
done:
  sign_bufs_free(&b);
  return rc;
}

int pl__aws_sigv4_sign(const pl_aws_sigv4_params_t *params,
                       const pl_aws_sigv4_request_t *request,
                       pl_aws_sigv4_output_t *out) {
  if (!out)
    return PL_EINVAL;
  *out = (pl_aws_sigv4_output_t){0};
  int rc = sign(params, request, false, 0, out);
  if (rc < 0)
    pl__aws_sigv4_output_close(out);
  return rc;
}

int pl__aws_sigv4_presign(const pl_aws_sigv4_params_t *params,
                          const pl_aws_sigv4_request_t *request,
                          uint32_t expires_s, pl_aws_sigv4_output_t *out) {
  if (!out)
    return PL_EINVAL;
  *out = (pl_aws_sigv4_output_t){0};
  int rc = sign(params, request, true, expires_s, out);
  if (rc < 0)
    pl__aws_sigv4_output_close(out);
  return rc;
}

void pl__aws_sigv4_output_close(pl_aws_sigv4_output_t *out) {
  if (!out)
    return;
  /* The token is in a header value, the presigned query and the canonical
   * request. */
  for (size_t i = 0; i < PL_AWS_SIGV4_MAX_ADDED_HEADERS; i++)
    free_wiped_string(out->values_[i]);
  free_wiped_string(out->query);
  free_wiped_string(out->canonical_request);
  free(out->string_to_sign);
  *out = (pl_aws_sigv4_output_t){0};
}
