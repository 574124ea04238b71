/* The canonical parts of a SigV4 request: the URI (path normalisation and
 * encoding), the query and the signed headers, in the forms the AWS test
 * suite of aws-c-auth expects (see sigv4.c for the signing itself). */
#include "sigv4_canon.h"

#include "aws_crypto.h"

#include <stdlib.h>
#include <string.h>

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

static char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Frees a buffer that may have held the session token, wiping it first:
 * the token is a credential too (secret.h keeps it in wiped memory). */
void pl__aws_sigv4_canon_free_wiped(pl_buf_t *buf) {
  if (buf->data)
    pl__aws_cleanse(buf->data, buf->cap);
  pl_buf_free(buf);
}

/* ---- Room ---- */

/* *sum += n, or false when that would wrap. */
static bool add_room(size_t *sum, size_t n) {
  if (n > SIZE_MAX - *sum)
    return false;
  *sum += n;
  return true;
}

/* *sum += times * text's length (0 for NULL), or false when that would
 * wrap. */
static bool add_text_room(size_t *sum, size_t times, const char *text) {
  size_t len = text ? strlen(text) : 0;
  return len <= SIZE_MAX / times && add_room(sum, times * len);
}

int pl__aws_sigv4_canon_room(const pl_aws_sigv4_request_t *request,
                             const char *session_token, size_t *room) {
  /* The canonical request is the method, the URI (at most the path and a
   * '/' each taken as %XX), the query (each byte at most as %XX, a '=' and
   * a '&' for each pair, and there are at most as many pairs as bytes),
   * the header lines and the signed names (each name and value and two
   * characters, at most: values are only trimmed), the session token, the
   * caller's payload hash (at the end, and in x-amz-content-sha256 for
   * S3) and the fixed rest: the added headers, separators and a computed
   * hash. */
  size_t sum = 512;
  bool fits = add_text_room(&sum, 1, request->method) &&
              add_text_room(&sum, 3, request->path) && add_room(&sum, 3) &&
              add_text_room(&sum, 5, request->query) &&
              add_text_room(&sum, 1, session_token) &&
              add_text_room(&sum, 2, request->payload_hash);
  for (size_t i = 0; fits && i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    fits = add_text_room(&sum, 2, h->name) &&
           add_text_room(&sum, 2, h->value) && add_room(&sum, 4);
  }
  if (!fits)
    return PL_ENOMEM;
  *room = sum;
  return 0;
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
      hi = pl_hex_value((unsigned char)s[i + 1]);
      lo = pl_hex_value((unsigned char)s[i + 2]);
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
      /* Never above the root: "/.." first leaves nothing. */
      pl_buf_truncate(out, out->len > 0 ? out->len - 1 : 0);
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
      if (pl_hex_value((unsigned char)p[1]) < 0 ||
          pl_hex_value((unsigned char)p[2]) < 0)
        return false;
      p += 2;
    } else if (!is_unreserved(c) && !strchr("!$&'()*+,;=:@/", c)) {
      return false;
    }
  }
  return true;
}

/* Whether normalize_path() would give `path` back as it is: no empty, "."
 * or ".." segment (a trailing slash is kept either way). */
static bool is_normal_path(const char *path) {
  if (path[0] != '/')
    return false;
  for (const char *p = path + 1; *p;) {
    const char *slash = strchr(p, '/');
    size_t seg = slash ? (size_t)(slash - p) : strlen(p);
    if (seg == 0 || (seg == 1 && p[0] == '.') ||
        (seg == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    p += seg + (slash != NULL);
  }
  return true;
}

int pl__aws_sigv4_canon_uri(pl_buf_t *out, const pl_aws_sigv4_params_t *params,
                            const char *path) {
  if (!path || !*path)
    path = "/";
  pl_buf_t normalized = {0};
  int rc = 0;
  /* Most paths are already normal ("/" for every JSON call). */
  if (params->normalize_path && !is_normal_path(path)) {
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

int pl__aws_sigv4_canon_query(pl_buf_t *out, pl_buf_t *scratch,
                              const char *query) {
  if (!query || !*query)
    return 0;
  size_t count = 1;
  for (const char *p = query; *p; p++)
    count += *p == '&';
  query_pair_t *pairs = calloc(count, sizeof *pairs);
  if (!pairs)
    return PL_ENOMEM;
  /* Every component encoded, reserved at once: the text never moves, so
   * no copy of it is freed unwiped (the caller's query may hold a
   * secret). */
  pl_buf_t text = {0};
  size_t query_len = strlen(query);
  int rc = query_len > (SIZE_MAX - 1) / 3
               ? PL_ENOMEM
               : pl_buf_reserve(&text, 3 * query_len);
  size_t n = 0;
  for (const char *p = query; rc == 0 && *p;) {
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
  pl__aws_sigv4_canon_free_wiped(&text);
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

/* What a lower-cased header name is to the signer. */
typedef enum {
  HEADER_SIGNED,
  HEADER_HOST,     /* signed, and required */
  HEADER_UNSIGNED, /* hop-by-hop, or rewritten by proxies or libcurl */
  HEADER_RESERVED, /* the signer's own: refused from the caller */
} header_kind_t;

static bool name_is(const char *name, size_t len, const char *literal) {
  return len == strlen(literal) && memcmp(name, literal, len) == 0;
}

/* The kind of `name` (lower case, `len` bytes): a look at its first byte
 * rules out all but a few candidates. Hop-by-hop headers and ones that
 * proxies or libcurl rewrite are left unsigned: signing them would break
 * the request in transit. x-amz-content-sha256 is the signer's own when
 * it adds it (S3). */
static header_kind_t header_kind(const char *name, size_t len,
                                 bool adds_content_sha256) {
  switch (name[0]) {
  case 'a':
    return name_is(name, len, "authorization") ? HEADER_RESERVED
                                               : HEADER_SIGNED;
  case 'c':
    return name_is(name, len, "connection") ? HEADER_UNSIGNED : HEADER_SIGNED;
  case 'e':
    return name_is(name, len, "expect") ? HEADER_UNSIGNED : HEADER_SIGNED;
  case 'h':
    return name_is(name, len, "host") ? HEADER_HOST : HEADER_SIGNED;
  case 't':
    return name_is(name, len, "transfer-encoding") ? HEADER_UNSIGNED
                                                   : HEADER_SIGNED;
  case 'u':
    return name_is(name, len, "upgrade") || name_is(name, len, "user-agent")
               ? HEADER_UNSIGNED
               : HEADER_SIGNED;
  case 'x':
    if (name_is(name, len, "x-amz-date") ||
        name_is(name, len, "x-amz-security-token") ||
        (adds_content_sha256 && name_is(name, len, "x-amz-content-sha256")))
      return HEADER_RESERVED;
    return name_is(name, len, "x-amzn-trace-id") ? HEADER_UNSIGNED
                                                 : HEADER_SIGNED;
  default:
    return HEADER_SIGNED;
  }
}

/* Trims the value and collapses each run of whitespace to one space. */
static int append_trimmed(pl_buf_t *out, const char *value) {
  size_t len = strlen(value);
  /* The usual value has no tab, CR or LF, no space at either end and no
   * two spaces in a row: it is copied as it is (glibc's strpbrk and
   * strstr look at a vector at a time, the loop below at a byte). */
  if (len > 0 && value[0] != ' ' && value[len - 1] != ' ' &&
      !strpbrk(value, "\t\r\n") && !strstr(value, "  "))
    return pl_buf_append(out, value, len);
  int rc = pl_buf_reserve(out, len);
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

/* Starts the entry of a header in `text`: its name, lower-cased. */
static int add_name(pl_buf_t *text, header_entry_t *entry, const char *name,
                    size_t name_len, size_t order) {
  entry->order = order;
  entry->name_off = text->len;
  entry->name_len = name_len;
  int rc = pl_buf_reserve(text, name_len);
  if (rc < 0)
    return rc;
  for (size_t k = 0; k < name_len; k++)
    text->data[text->len + k] = ascii_lower(name[k]);
  text->len += name_len;
  text->data[text->len] = '\0';
  return 0;
}

/* Ends the entry begun by add_name(): its value, trimmed. */
static int add_value(pl_buf_t *text, header_entry_t *entry, const char *value) {
  entry->value_off = text->len;
  int rc = append_trimmed(text, value);
  entry->value_len = text->len - entry->value_off;
  return rc;
}

/* A whole entry: the name and the value. */
static int add_header(pl_buf_t *text, header_entry_t *entry, const char *name,
                      size_t name_len, const char *value, size_t order) {
  int rc = add_name(text, entry, name, name_len, order);
  return rc < 0 ? rc : add_value(text, entry, value);
}

/* Sorts the few entries of a request in place (insertion sort: stable,
 * and faster than qsort for a handful). */
static void sort_headers(header_entry_t *entries, size_t n) {
  for (size_t i = 1; i < n; i++) {
    header_entry_t e = entries[i];
    size_t j = i;
    while (j > 0 && compare_headers(&entries[j - 1], &e) > 0) {
      entries[j] = entries[j - 1];
      j--;
    }
    entries[j] = e;
  }
}

/* Entries kept on the stack: a request of the AWS layer has about five. */
#define STACK_HEADERS 16

int pl__aws_sigv4_canon_headers(pl_buf_t *lines, pl_buf_t *names,
                                pl_buf_t *scratch,
                                const pl_aws_sigv4_request_t *request,
                                const pl__aws_sigv4_added_headers_t *added) {
  /* A count no array holds, which the three entries added would wrap. */
  if (request->header_count > SIZE_MAX - 3)
    return PL_EINVAL;
  size_t most = request->header_count + 3;
  header_entry_t stack_entries[STACK_HEADERS];
  header_entry_t *entries =
      most <= STACK_HEADERS ? stack_entries : calloc(most, sizeof *entries);
  if (!entries)
    return PL_ENOMEM;
  /* The names and values, side by side: the caller's scratch (wiped by
   * the caller: it may hold the session token). */
  pl_buf_t *text = scratch;
  pl_buf_reset(text);
  size_t n = 0;
  bool have_host = false;
  int rc = pl_buf_reserve(text, 256);
  if (rc < 0)
    goto done;
  for (size_t i = 0; i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    size_t name_len = pl__http_token_len(h->name);
    if (name_len == 0 || !h->value) {
      rc = PL_EINVAL;
      goto done;
    }
    /* Classified by its name as it goes in, lower-cased; an unsigned
     * header's name is taken out again. */
    header_entry_t *e = &entries[n];
    rc = add_name(text, e, h->name, name_len, i);
    if (rc < 0)
      goto done;
    header_kind_t kind = header_kind(text->data + e->name_off, e->name_len,
                                     added->content_sha256 != NULL);
    if (kind == HEADER_RESERVED) {
      rc = PL_EINVAL;
      goto done;
    }
    have_host = have_host || kind == HEADER_HOST;
    if (kind == HEADER_UNSIGNED) {
      pl_buf_truncate(text, e->name_off);
      continue;
    }
    rc = add_value(text, e, h->value);
    if (rc < 0)
      goto done;
    n++;
  }
  /* Without Host the service cannot check which endpoint was meant, and
   * rejects the signature with a far less helpful message. */
  if (!have_host) {
    rc = PL_EINVAL;
    goto done;
  }
  size_t order = request->header_count;
  if (added->amz_date)
    rc = add_header(text, &entries[n++], "x-amz-date", 10, added->amz_date,
                    order++);
  if (rc == 0 && added->session_token)
    rc = add_header(text, &entries[n++], "x-amz-security-token", 20,
                    added->session_token, order++);
  if (rc == 0 && added->content_sha256)
    rc = add_header(text, &entries[n++], "x-amz-content-sha256", 20,
                    added->content_sha256, order++);
  if (rc < 0)
    goto done;
  for (size_t i = 0; i < n; i++) {
    entries[i].name = text->data + entries[i].name_off;
    entries[i].value = text->data + entries[i].value_off;
  }
  sort_headers(entries, n);
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
  if (entries != stack_entries)
    free(entries);
  return rc;
}
