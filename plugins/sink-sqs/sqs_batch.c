/* SendMessageBatch requests from records (see sqs_batch.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "sqs_batch.h"

/* The flags sink-file's JSON lines reproduce: the same text either way. */
#define SQS_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* The length of the UTF-8 sequence at `s` that SQS accepts, or 0: SQS
 * allows #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF,
 * so of the well-formed sequences it refuses only U+FFFE and U+FFFF. */
static size_t allowed_sequence(const unsigned char *s, size_t avail) {
  size_t len = pl_utf8_sequence(s, avail);
  bool nonchar = len == 3 && s[0] == 0xEF && s[1] == 0xBF &&
                 (s[2] == 0xBE || s[2] == 0xBF);
  return nonchar ? 0 : len;
}

bool sqs_text_allowed(const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c >= 0x20 && c < 0x80) {
      i++;
      continue;
    }
    if (c == '\t' || c == '\n' || c == '\r') {
      i++;
      continue;
    }
    size_t n = c >= 0x80 ? allowed_sequence(s + i, len - i) : 0;
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

bool sqs_attribute_name_valid(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > SQS_MAX_ATTRIBUTE_NAME)
    return false;
  if (strncasecmp(name, "AWS.", 4) == 0 || strncasecmp(name, "Amazon.", 7) == 0)
    return false;
  if (name[0] == '.' || name[len - 1] == '.' || strstr(name, ".."))
    return false;
  for (const char *p = name; *p; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

/* MessageGroupId and MessageDeduplicationId: 1 to 128 characters out of
 * printable ASCII without the space. */
static bool id_valid(const char *text, size_t len) {
  if (len == 0 || len > SQS_MAX_ID_LEN)
    return false;
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x21 || text[i] > 0x7E)
      return false;
  return true;
}

/* ---- The body ---- */

/* The body of `record` as a new string in *body. Returns 0, PL_ENOENT for
 * empty bytes, PL_EINVAL (with `why`) or PL_ENOMEM. */
static int encode_body(const pl_record_t *record, char **body, size_t *len,
                       pl_buf_t *why) {
  const json_t *value = pl_record_value(record);
  json_t *wrapper = NULL;
  if (!value) {
    size_t n = 0;
    const char *bytes = pl_record_bytes(record, &n);
    if (!bytes) {
      pl_buf_append_str(why, "the record has neither a value nor bytes");
      return PL_EINVAL;
    }
    if (n == 0)
      return PL_ENOENT;
    json_t *text = json_stringn(bytes, n);
    if (!text) {
      pl_buf_append_str(why, "the record's bytes are not UTF-8 text");
      return PL_EINVAL;
    }
    wrapper = json_object();
    if (!wrapper || json_object_set_new(wrapper, "raw", text) < 0) {
      json_decref(wrapper);
      return PL_ENOMEM;
    }
    value = wrapper;
  }
  /* jansson checks strings as it writes them: values built with its
   * *_nocheck constructors that are not UTF-8 give NULL here, as does a
   * reference cycle. */
  *body = json_dumps(value, SQS_JSON_FLAGS);
  json_decref(wrapper);
  if (!*body) {
    pl_buf_append_str(why, "the record's value cannot be written as JSON (a "
                           "string is not UTF-8, or it holds a cycle)");
    return PL_EINVAL;
  }
  *len = strlen(*body);
  if (!sqs_text_allowed(*body, *len)) {
    free(*body);
    *body = NULL;
    pl_buf_append_str(why, "the message holds U+FFFE or U+FFFF, which SQS "
                           "does not allow");
    return PL_EINVAL;
  }
  return 0;
}

/* ---- Attributes ---- */

/* Adds one attribute to `attrs` and its size to *size. `value` is not
 * NUL-terminated. */
static int add_attribute(json_t *attrs, const char *name, const char *type,
                         const char *value, size_t len, uint64_t *size) {
  json_t *attr = json_pack("{s:s, s:s%}", "DataType", type, "StringValue",
                           value, len);
  if (!attr || json_object_set_new(attrs, name, attr) < 0)
    return PL_ENOMEM;
  *size += strlen(name) + strlen(type) + len;
  return 0;
}

/* The origin, its time, etag or line of the record, when known. */
static int add_metadata(json_t *attrs, const char *name, const char *value,
                        uint64_t *size, pl_buf_t *why) {
  if (!value || !*value)
    return 0;
  size_t len = strlen(value);
  if (!sqs_text_allowed(value, len)) {
    pl_buf_printf(why,
                  "message attribute '%s': the record's %s holds a "
                  "character SQS does not allow",
                  name, name);
    return PL_EINVAL;
  }
  return add_attribute(attrs, name, "String", value, len, size);
}

/* Renders `tpl` for `record` into `out` (reset first). `what` names the
 * setting in reasons. Returns 0, PL_EINVAL (with `why`) or PL_ENOMEM. */
static int render(const pl_template_t *tpl, const pl_record_t *record,
                  pl_buf_t *out, const char *what, pl_buf_t *why) {
  pl_buf_reset(out);
  const char *missing = NULL;
  int rc = pl_template_render(tpl, record, out, &missing);
  if (rc == PL_ENOENT) {
    pl_buf_printf(why, "%s: field '%s' is missing or null", what,
                  missing ? missing : "?");
    return PL_EINVAL;
  }
  if (rc == PL_ENOMEM)
    return rc;
  if (rc < 0) {
    pl_buf_printf(why, "%s: the template cannot be rendered: %s", what,
                  pl_strerror(rc));
    return PL_EINVAL;
  }
  /* Leave a valid, empty string behind for an empty rendering. */
  return pl_buf_reserve(out, 0);
}

static int add_attributes(const sqs_encoding_t *enc, const pl_record_t *record,
                          json_t *attrs, uint64_t *size, pl_buf_t *why) {
  int rc = add_metadata(attrs, "origin", pl_record_origin(record), size, why);
  if (rc == 0)
    rc = add_metadata(attrs, "etag", pl_record_etag(record), size, why);
  if (rc == 0)
    rc = add_metadata(attrs, "origin_time", pl_record_origin_time(record), size,
                      why);
  uint64_t line = pl_record_line(record);
  if (rc == 0 && line > 0) {
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)line);
    rc = add_attribute(attrs, "line", "Number", digits, (size_t)n, size);
  }
  pl_buf_t value = {0};
  pl_buf_t what = {0};
  for (size_t i = 0; rc == 0 && i < enc->attribute_count; i++) {
    const sqs_attribute_t *a = &enc->attributes[i];
    pl_buf_reset(&what);
    if (pl_buf_printf(&what, "message attribute '%s'", a->name) < 0) {
      rc = PL_ENOMEM;
      break;
    }
    rc = render(a->value, record, &value, what.data, why);
    if (rc < 0)
      break;
    if (value.len == 0) {
      pl_buf_printf(why, "%s is empty (SQS refuses empty values)", what.data);
      rc = PL_EINVAL;
    } else if (!sqs_text_allowed(value.data, value.len)) {
      pl_buf_printf(why, "%s holds a character SQS does not allow",
                    what.data);
      rc = PL_EINVAL;
    } else {
      rc = add_attribute(attrs, a->name, "String", value.data, value.len,
                         size);
    }
  }
  pl_buf_free(&value);
  pl_buf_free(&what);
  return rc;
}

/* ---- FIFO ids ---- */

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
    if (rc == 0)
      rc = digest_text(md, message_id);
    if (rc == 0)
      rc = digest_text(md, line);
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

/* Sets MessageGroupId and MessageDeduplicationId. */
static int add_fifo_ids(const sqs_encoding_t *enc, const pl_record_t *record,
                        const char *body, size_t body_len, json_t *entry,
                        pl_buf_t *why) {
  pl_buf_t text = {0};
  int rc = 0;
  if (enc->group_id) {
    rc = render(enc->group_id, record, &text, "message_group_id", why);
    if (rc == 0 && !id_valid(text.data, text.len)) {
      pl_buf_printf(why,
                    "message_group_id \"%.*s\"%s is not a valid SQS group id "
                    "(1 to 128 printable ASCII characters, no spaces)",
                    text.len > 64 ? 64 : (int)text.len, text.data,
                    text.len > 64 ? "..." : "");
      rc = PL_EINVAL;
    }
    if (rc == 0 && json_object_set_new(entry, "MessageGroupId",
                                       json_stringn(text.data, text.len)) < 0)
      rc = PL_ENOMEM;
  }
  if (rc == 0 && enc->fifo) {
    if (enc->dedup_id) {
      rc = render(enc->dedup_id, record, &text, "deduplication_id", why);
      if (rc == 0 && !id_valid(text.data, text.len)) {
        pl_buf_printf(why,
                      "deduplication_id \"%.*s\"%s is not a valid SQS "
                      "deduplication id (1 to 128 printable ASCII "
                      "characters, no spaces)",
                      text.len > 64 ? 64 : (int)text.len, text.data,
                      text.len > 64 ? "..." : "");
        rc = PL_EINVAL;
      }
    } else {
      char id[65];
      pl_buf_reset(&text);
      rc = sqs_default_dedup_id(record, body, body_len, id);
      if (rc == 0)
        rc = pl_buf_append(&text, id, 64);
    }
    if (rc == 0 &&
        json_object_set_new(entry, "MessageDeduplicationId",
                            json_stringn(text.data, text.len)) < 0)
      rc = PL_ENOMEM;
  }
  pl_buf_free(&text);
  return rc;
}

/* ---- Messages ---- */

int sqs_encode_message(const sqs_encoding_t *enc, const pl_record_t *record,
                       json_t **entry, uint64_t *size, pl_buf_t *why) {
  *entry = NULL;
  *size = 0;
  char *body = NULL;
  size_t body_len = 0;
  int rc = encode_body(record, &body, &body_len, why);
  if (rc < 0)
    return rc;
  json_t *e = json_object();
  json_t *attrs = json_object();
  /* The body is jansson's own output: valid UTF-8, no need to check it
   * again. */
  if (!e || !attrs ||
      json_object_set_new(e, "MessageBody",
                          json_stringn_nocheck(body, body_len)) < 0)
    rc = PL_ENOMEM;
  uint64_t total = body_len;
  if (rc == 0)
    rc = add_attributes(enc, record, attrs, &total, why);
  if (rc == 0 && total > enc->max_message_bytes) {
    pl_buf_printf(why, "message of %llu bytes exceeds the %llu-byte SQS limit",
                  (unsigned long long)total,
                  (unsigned long long)enc->max_message_bytes);
    rc = PL_EINVAL;
  }
  if (rc == 0 && json_object_size(attrs) > 0) {
    rc = json_object_set(e, "MessageAttributes", attrs) < 0 ? PL_ENOMEM : 0;
  }
  if (rc == 0)
    rc = add_fifo_ids(enc, record, body, body_len, e, why);
  if (rc == 0 && !enc->fifo && enc->delay_s > 0 &&
      json_object_set_new(e, "DelaySeconds",
                          json_integer((json_int_t)enc->delay_s)) < 0)
    rc = PL_ENOMEM;
  json_decref(attrs);
  free(body);
  if (rc < 0) {
    json_decref(e);
    return rc;
  }
  *entry = e;
  *size = total;
  return 0;
}

/* ---- Requests ---- */

size_t sqs_split(const uint64_t *sizes, size_t count, uint64_t max_bytes,
                 size_t *ends) {
  size_t requests = 0;
  size_t in = 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < count; i++) {
    if (in > 0 && (in == SQS_MAX_ENTRIES || bytes + sizes[i] > max_bytes)) {
      ends[requests++] = i;
      in = 0;
      bytes = 0;
    }
    in++;
    bytes += sizes[i];
  }
  if (in > 0)
    ends[requests++] = count;
  return requests;
}

/* The request body of entries [from, to): steals nothing, the entries stay
 * in `entries`. */
static int build_request(const sqs_encoding_t *enc, json_t **entries,
                         const uint64_t *sizes, const size_t *index,
                         size_t from, size_t to, sqs_request_t *req) {
  json_t *list = json_array();
  json_t *body = json_object();
  int rc = list && body ? 0 : PL_ENOMEM;
  if (rc == 0 && json_object_set_new(body, "QueueUrl",
                                     json_string(enc->queue_url)) < 0)
    rc = PL_ENOMEM;
  for (size_t i = from; rc == 0 && i < to; i++) {
    char id[24];
    snprintf(id, sizeof(id), "%zu", i - from);
    /* The Id first, for whoever reads the request. */
    json_t *entry = json_object();
    if (!entry || json_object_set_new(entry, "Id", json_string(id)) < 0 ||
        json_object_update(entry, entries[i]) < 0 ||
        json_array_append_new(list, entry) < 0) {
      json_decref(entry);
      rc = PL_ENOMEM;
      break;
    }
    req->records[i - from] = index[i];
    req->bytes += sizes[i];
  }
  if (rc == 0 && json_object_set(body, "Entries", list) < 0)
    rc = PL_ENOMEM;
  json_decref(list);
  if (rc < 0) {
    json_decref(body);
    return rc;
  }
  req->body = body;
  req->count = to - from;
  return 0;
}

int sqs_encode_batch(const sqs_encoding_t *enc, pl_batch_t *batch,
                     sqs_request_t **requests, size_t *count) {
  *requests = NULL;
  *count = 0;
  size_t n = pl_batch_count(batch);
  if (n == 0)
    return 0;
  json_t **entries = calloc(n, sizeof(*entries));
  uint64_t *sizes = calloc(n, sizeof(*sizes));
  size_t *index = calloc(n, sizeof(*index));
  size_t *ends = calloc(n, sizeof(*ends));
  if (!entries || !sizes || !index || !ends) {
    free(entries);
    free(sizes);
    free(index);
    free(ends);
    return PL_ENOMEM;
  }
  size_t m = 0;
  pl_buf_t why = {0};
  for (size_t i = 0; i < n; i++) {
    if (pl_batch_result(batch, i) != PL_RESULT_PENDING)
      continue;
    pl_buf_reset(&why);
    int rc = sqs_encode_message(enc, pl_batch_record(batch, i), &entries[m],
                                &sizes[m], &why);
    if (rc == PL_ENOENT) {
      pl_batch_resolve(batch, i, PL_RESULT_DELIVERED, NULL);
    } else if (rc == PL_EINVAL) {
      pl_batch_resolve_as(batch, i, PL_RESULT_REJECTED, "unsendable", "%s",
                          why.data ? why.data : "cannot be sent to SQS");
    } else if (rc < 0) {
      pl_batch_resolve(batch, i, PL_RESULT_FAILED,
                       "out of memory while encoding the message");
    } else {
      index[m++] = i;
    }
  }
  pl_buf_free(&why);
  int rc = 0;
  size_t built = 0;
  sqs_request_t *reqs = NULL;
  size_t nreq = sqs_split(sizes, m, enc->max_batch_bytes, ends);
  if (nreq > 0) {
    reqs = calloc(nreq, sizeof(*reqs));
    rc = reqs ? 0 : PL_ENOMEM;
  }
  for (size_t k = 0; rc == 0 && k < nreq; k++) {
    rc = build_request(enc, entries, sizes, index, k ? ends[k - 1] : 0,
                       ends[k], &reqs[k]);
    built += rc == 0;
  }
  for (size_t i = 0; i < m; i++)
    json_decref(entries[i]);
  free(entries);
  free(sizes);
  free(index);
  free(ends);
  if (rc < 0) {
    sqs_requests_free(reqs, built);
    return rc;
  }
  *requests = reqs;
  *count = nreq;
  return 0;
}

void sqs_requests_free(sqs_request_t *requests, size_t count) {
  for (size_t i = 0; requests && i < count; i++)
    json_decref(requests[i].body);
  free(requests);
}
