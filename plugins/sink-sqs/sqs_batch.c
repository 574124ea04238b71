/* SendMessageBatch requests from records (see sqs_batch.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqs_batch.h"

/* ---- Writing ---- */

/* The last attribute written for one piece of metadata: the records of a
 * batch mostly come from one file or object, whose origin (and etag and
 * time) is then checked and escaped once, and copied for the others. */
typedef struct sqs_member_cache {
  pl_buf_t value;  /* the metadata's text */
  pl_buf_t member; /* its attribute, "name":{...}, without a comma */
  uint64_t size;   /* what it adds to the message's size */
  bool valid;
} sqs_member_cache_t;

/* The metadata attributes that are the same from record to record. */
enum { SQS_CACHED_ORIGIN, SQS_CACHED_ETAG, SQS_CACHED_TIME, SQS_CACHED_COUNT };

/* Scratch buffers of one encoder, reused from message to message. */
typedef struct sqs_scratch {
  pl_buf_t body;  /* the message body */
  pl_buf_t value; /* a rendered template */
  pl_buf_t what;  /* the name of a setting, for reasons */
  sqs_member_cache_t metadata[SQS_CACHED_COUNT];
} sqs_scratch_t;

static void scratch_free(sqs_scratch_t *sc) {
  pl_buf_free(&sc->body);
  pl_buf_free(&sc->value);
  pl_buf_free(&sc->what);
  for (size_t i = 0; i < SQS_CACHED_COUNT; i++) {
    pl_buf_free(&sc->metadata[i].value);
    pl_buf_free(&sc->metadata[i].member);
  }
}

/* Appends "text" as a JSON string literal. `text` is valid UTF-8 here
 * (checked before, or the encoder's own output): a failure is memory. */
static int put_string(pl_buf_t *out, const char *text, size_t len) {
  return pl_json_encode_string(text, len, out, NULL) < 0 ? PL_ENOMEM : 0;
}

/* ---- The body ---- */

/* Whether SQS takes a body that is the JSON writer's output: valid UTF-8
 * with every control character escaped, so of what SQS refuses only U+FFFE
 * and U+FFFF (EF BF BE and EF BF BF) can be in it, and text without a
 * 0xEF byte, which memchr rules out a vector at a time, has neither.
 * Returns 0, or PL_EINVAL with `why`. */
static int body_allowed(const char *text, size_t len, pl_buf_t *why) {
  if (memchr(text, 0xEF, len) && !sqs_text_allowed(text, len)) {
    pl_buf_append_str(why, "the message holds U+FFFE or U+FFFF, which SQS "
                           "does not allow");
    return PL_EINVAL;
  }
  return 0;
}

/* The body of `record` into sc->body (reset first): the value as compact
 * JSON, or {"raw":"<bytes>"}. Returns 0, PL_ENOENT for empty bytes,
 * PL_EINVAL (with `why`) or PL_ENOMEM. */
static int encode_body(const pl_record_t *record, sqs_scratch_t *sc,
                       pl_buf_t *why) {
  pl_buf_t *body = &sc->body;
  pl_buf_reset(body);
  const json_t *value = pl_record_value(record);
  const char *fail = NULL;
  int rc;
  if (!value) {
    size_t n = 0;
    const char *bytes = pl_record_bytes(record, &n);
    if (!bytes) {
      pl_buf_append_str(why, "the record has neither a value nor bytes");
      return PL_EINVAL;
    }
    if (n == 0)
      return PL_ENOENT;
    rc = pl_buf_append(body, "{\"raw\":", 7);
    if (rc == 0)
      rc = pl_json_encode_string(bytes, n, body, &fail);
    if (rc == PL_EINVAL) {
      pl_buf_append_str(why, "the record's bytes are not UTF-8 text");
      return PL_EINVAL;
    }
    if (rc == 0)
      rc = pl_buf_append(body, "}", 1);
    if (rc < 0)
      return PL_ENOMEM;
  } else {
    /* The same text as json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY),
     * which sink-file writes too. */
    rc = pl_json_encode(value, body, &fail);
    if (rc == PL_EINVAL) {
      pl_buf_printf(why, "the record's value cannot be written as JSON (%s)",
                    fail ? fail : "?");
      return PL_EINVAL;
    }
    if (rc < 0)
      return PL_ENOMEM;
  }
  return body_allowed(body->data, body->len, why);
}

/* Appends "MessageBody":"<the body>" to `entry`, the body's own length
 * to *body_len. A record's value goes straight in, its JSON text written
 * as a string in one pass (pl_json_encode_quoted); bytes, and the body of
 * a FIFO message, whose default deduplication id may hash it, are written
 * to sc->body first (encode_body) and then as a string. sc->body is left
 * empty in the first case. Returns as encode_body; on failure `entry` may
 * hold part of the member (the caller cuts it). */
static int put_body(const sqs_encoding_t *enc, const pl_record_t *record,
                    sqs_scratch_t *sc, pl_buf_t *entry, uint64_t *body_len,
                    pl_buf_t *why) {
  const json_t *value = pl_record_value(record);
  if (!value || enc->fifo) {
    int rc = encode_body(record, sc, why);
    if (rc == 0 && pl_buf_append_str(entry, "\"MessageBody\":") < 0)
      rc = PL_ENOMEM;
    /* The body is the encoder's own output: valid UTF-8. */
    if (rc == 0)
      rc = put_string(entry, sc->body.data, sc->body.len);
    *body_len = sc->body.len;
    return rc;
  }
  pl_buf_reset(&sc->body);
  if (pl_buf_append_str(entry, "\"MessageBody\":") < 0)
    return PL_ENOMEM;
  size_t start = entry->len, text_len = 0;
  const char *fail = NULL;
  int rc = pl_json_encode_quoted(value, entry, &text_len, &fail);
  if (rc == PL_EINVAL) {
    pl_buf_printf(why, "the record's value cannot be written as JSON (%s)",
                  fail ? fail : "?");
    return PL_EINVAL;
  }
  if (rc < 0)
    return PL_ENOMEM;
  *body_len = text_len;
  /* The string adds only backslashes and quotes to the text: what SQS
   * refuses is in the one when it is in the other. */
  return body_allowed(entry->data + start, entry->len - start, why);
}

/* ---- Attributes ---- */

/* Appends one attribute, "name":{"DataType":...,"StringValue":...}, after
 * a comma unless it is the first (*count), and adds its size to *size.
 * The name (sqs_attribute_name_valid, or one of the sink's own) and the
 * type ("String", "Number") are ASCII letters, digits and "_-.", which
 * JSON takes as they are: they are copied, and only the value is
 * escaped. */
static int add_attribute(pl_buf_t *out, size_t *count, const char *name,
                         const char *type, const char *value, size_t len,
                         uint64_t *size) {
  static const char data_type[] = "\":{\"DataType\":\"";
  static const char string_value[] = "\",\"StringValue\":";
  size_t name_len = strlen(name), type_len = strlen(type);
  size_t room = name_len + type_len + sizeof data_type + sizeof string_value;
  if (pl_buf_reserve(out, room) < 0)
    return PL_ENOMEM;
  char *p = out->data + out->len;
  if (*count)
    *p++ = ',';
  *p++ = '"';
  memcpy(p, name, name_len);
  p += name_len;
  memcpy(p, data_type, sizeof data_type - 1);
  p += sizeof data_type - 1;
  memcpy(p, type, type_len);
  p += type_len;
  memcpy(p, string_value, sizeof string_value - 1);
  p += sizeof string_value - 1;
  size_t start = out->len;
  out->len = (size_t)(p - out->data);
  int rc = put_string(out, value, len);
  if (rc == 0)
    rc = pl_buf_append(out, "}", 1);
  if (rc < 0) {
    out->len = start;
    out->data[start] = '\0';
    return PL_ENOMEM;
  }
  (*count)++;
  *size += name_len + type_len + len;
  return 0;
}

/* The origin, its time or etag of the record, when known, through
 * `cache`: the same text as the last time appends the member written
 * then. */
static int add_metadata(pl_buf_t *out, size_t *count, const char *name,
                        const char *value, uint64_t *size, pl_buf_t *why,
                        sqs_member_cache_t *cache) {
  if (!value || !*value)
    return 0;
  size_t len = strlen(value);
  if (!cache->valid || cache->value.len != len ||
      memcmp(cache->value.data, value, len) != 0) {
    cache->valid = false;
    if (!sqs_text_allowed(value, len)) {
      pl_buf_printf(why,
                    "message attribute '%s': the record's %s holds a "
                    "character SQS does not allow",
                    name, name);
      return PL_EINVAL;
    }
    size_t none = 0;
    cache->size = 0;
    pl_buf_reset(&cache->value);
    pl_buf_reset(&cache->member);
    if (pl_buf_append(&cache->value, value, len) < 0 ||
        add_attribute(&cache->member, &none, name, "String", value, len,
                      &cache->size) < 0)
      return PL_ENOMEM;
    cache->valid = true;
  }
  if ((*count && pl_buf_append(out, ",", 1) < 0) ||
      pl_buf_append(out, cache->member.data, cache->member.len) < 0)
    return PL_ENOMEM;
  (*count)++;
  *size += cache->size;
  return 0;
}

/* Appends the line attribute, "line":{"DataType":"Number",...}, as
 * add_attribute() would: its value is digits, which JSON takes as they
 * are, written in place. */
static int add_line(pl_buf_t *out, size_t *count, uint64_t line,
                    uint64_t *size) {
  static const char head[] =
      "\"line\":{\"DataType\":\"Number\",\"StringValue\":\"";
  /* A comma, the head, at most 20 digits and the closing "}. */
  if (pl_buf_reserve(out, 1 + sizeof head + 20 + 2) < 0)
    return PL_ENOMEM;
  if (*count)
    out->data[out->len++] = ',';
  memcpy(out->data + out->len, head, sizeof head - 1);
  out->len += sizeof head - 1;
  size_t digits = out->len;
  /* Lines are counted from 1 and never reach 2^63. On failure the caller
   * cuts the entry back. */
  if (pl_buf_append_int(out, (long long)line) < 0)
    return PL_ENOMEM;
  digits = out->len - digits;
  memcpy(out->data + out->len, "\"}", 3); /* and the NUL */
  out->len += 2;
  (*count)++;
  *size += strlen("line") + strlen("Number") + digits;
  return 0;
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

/* Appends the members of the MessageAttributes object (without braces);
 * *count says how many. */
static int add_attributes(const sqs_encoding_t *enc, const pl_record_t *record,
                          sqs_scratch_t *sc, pl_buf_t *out, size_t *count,
                          uint64_t *size, pl_buf_t *why) {
  sqs_member_cache_t *cached = sc->metadata;
  int rc = add_metadata(out, count, "origin", pl_record_origin(record), size,
                        why, &cached[SQS_CACHED_ORIGIN]);
  if (rc == 0)
    rc = add_metadata(out, count, "etag", pl_record_etag(record), size, why,
                      &cached[SQS_CACHED_ETAG]);
  if (rc == 0)
    rc = add_metadata(out, count, "origin_time", pl_record_origin_time(record),
                      size, why, &cached[SQS_CACHED_TIME]);
  pl_buf_t *value = &sc->value;
  pl_buf_t *what = &sc->what;
  uint64_t line = pl_record_line(record);
  if (rc == 0 && line > 0)
    rc = add_line(out, count, line, size);
  for (size_t i = 0; rc == 0 && i < enc->attribute_count; i++) {
    const sqs_attribute_t *a = &enc->attributes[i];
    pl_buf_reset(what);
    if (pl_buf_printf(what, "message attribute '%s'", a->name) < 0) {
      rc = PL_ENOMEM;
      break;
    }
    rc = render(a->value, record, value, what->data, why);
    if (rc < 0)
      break;
    if (value->len == 0) {
      pl_buf_printf(why, "%s is empty (SQS refuses empty values)", what->data);
      rc = PL_EINVAL;
    } else if (!sqs_text_allowed(value->data, value->len)) {
      pl_buf_printf(why, "%s holds a character SQS does not allow",
                    what->data);
      rc = PL_EINVAL;
    } else {
      rc = add_attribute(out, count, a->name, "String", value->data,
                         value->len, size);
    }
  }
  return rc;
}

/* ---- FIFO ids ---- */

/* Appends ,"MessageGroupId":... and ,"MessageDeduplicationId":... */
static int add_fifo_ids(const sqs_encoding_t *enc, const pl_record_t *record,
                        sqs_scratch_t *sc, pl_buf_t *out, pl_buf_t *why) {
  pl_buf_t *text = &sc->value;
  const char *body = sc->body.data;
  size_t body_len = sc->body.len;
  int rc = 0;
  if (enc->group_id) {
    rc = render(enc->group_id, record, text, "message_group_id", why);
    if (rc == 0 && !sqs_id_valid(text->data, text->len)) {
      pl_buf_printf(why,
                    "message_group_id \"%.*s\"%s is not a valid SQS group id "
                    "(1 to 128 printable ASCII characters, no spaces)",
                    text->len > 64 ? 64 : (int)text->len, text->data,
                    text->len > 64 ? "..." : "");
      rc = PL_EINVAL;
    }
    if (rc == 0 && pl_buf_append_str(out, ",\"MessageGroupId\":") < 0)
      rc = PL_ENOMEM;
    if (rc == 0)
      rc = put_string(out, text->data, text->len);
  }
  if (rc == 0 && enc->fifo) {
    if (enc->dedup_id) {
      rc = render(enc->dedup_id, record, text, "deduplication_id", why);
      if (rc == 0 && !sqs_id_valid(text->data, text->len)) {
        pl_buf_printf(why,
                      "deduplication_id \"%.*s\"%s is not a valid SQS "
                      "deduplication id (1 to 128 printable ASCII "
                      "characters, no spaces)",
                      text->len > 64 ? 64 : (int)text->len, text->data,
                      text->len > 64 ? "..." : "");
        rc = PL_EINVAL;
      }
    } else {
      char id[65];
      pl_buf_reset(text);
      rc = sqs_default_dedup_id(record, body, body_len, id);
      if (rc == 0)
        rc = pl_buf_append(text, id, 64);
    }
    if (rc == 0 && pl_buf_append_str(out, ",\"MessageDeduplicationId\":") < 0)
      rc = PL_ENOMEM;
    if (rc == 0)
      rc = put_string(out, text->data, text->len);
  }
  return rc;
}

/* ---- Messages ---- */

/* sqs_encode_message with the encoder's scratch buffers. */
static int encode_message(const sqs_encoding_t *enc, const pl_record_t *record,
                          sqs_scratch_t *sc, pl_buf_t *entry, uint64_t *size,
                          pl_buf_t *why) {
  *size = 0;
  size_t start = entry->len;
  uint64_t total = 0;
  int rc = put_body(enc, record, sc, entry, &total, why);
  size_t mark = entry->len, attributes = 0;
  if (rc == 0 && pl_buf_append_str(entry, ",\"MessageAttributes\":{") < 0)
    rc = PL_ENOMEM;
  if (rc == 0)
    rc = add_attributes(enc, record, sc, entry, &attributes, &total, why);
  if (rc == 0 && total > enc->max_message_bytes) {
    pl_buf_printf(why, "message of %llu bytes exceeds the %llu-byte SQS limit",
                  (unsigned long long)total,
                  (unsigned long long)enc->max_message_bytes);
    rc = PL_EINVAL;
  }
  if (rc == 0) {
    if (attributes == 0)
      entry->len = mark; /* no attributes: no member */
    else if (pl_buf_append(entry, "}", 1) < 0)
      rc = PL_ENOMEM;
  }
  if (rc == 0)
    rc = add_fifo_ids(enc, record, sc, entry, why);
  if (rc == 0 && !enc->fifo && enc->delay_s > 0 &&
      pl_buf_printf(entry, ",\"DelaySeconds\":%u", enc->delay_s) < 0)
    rc = PL_ENOMEM;
  if (rc < 0) {
    entry->len = start;
    if (entry->data)
      entry->data[start] = '\0';
    return rc;
  }
  if (entry->data)
    entry->data[entry->len] = '\0';
  *size = total;
  return 0;
}

int sqs_encode_message(const sqs_encoding_t *enc, const pl_record_t *record,
                       pl_buf_t *entry, uint64_t *size, pl_buf_t *why) {
  sqs_scratch_t sc = {0};
  int rc = encode_message(enc, record, &sc, entry, size, why);
  scratch_free(&sc);
  return rc;
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

/* Entry Ids are one digit. */
_Static_assert(SQS_MAX_ENTRIES <= 10, "SendMessageBatch entry ids are 0-9");

/* The request of entries [from, to): entry i is the text
 * entries->data[offsets[i] .. offsets[i + 1]). */
static int build_request(const sqs_encoding_t *enc, const pl_buf_t *entries,
                         const size_t *offsets, const uint64_t *sizes,
                         const size_t *index, size_t from, size_t to,
                         sqs_request_t *req) {
  pl_buf_t *body = &req->body;
  size_t room = 64 + strlen(enc->queue_url) + offsets[to] - offsets[from] +
                (to - from) * 16;
  int rc = pl_buf_reserve(body, room);
  if (rc == 0)
    rc = pl_buf_append_str(body, "{\"QueueUrl\":");
  if (rc == 0)
    rc = put_string(body, enc->queue_url, strlen(enc->queue_url));
  if (rc == 0)
    rc = pl_buf_append_str(body, ",\"Entries\":[");
  /* The entries, each ,{"Id":"<i>",<text>} (at most 16 bytes more than
   * its text), copied into room made for all of them (there already
   * unless the queue URL took more than its length). */
  if (rc == 0)
    rc = pl_buf_reserve(body,
                        offsets[to] - offsets[from] + (to - from) * 16 + 2);
  for (size_t i = from; rc == 0 && i < to; i++) {
    /* The Id first, for whoever reads the request: "0" to "9". */
    char id[] = ",{\"Id\":\"0\",";
    id[8] = (char)('0' + (i - from));
    char *p = body->data + body->len;
    size_t id_len = i > from ? sizeof id - 1 : sizeof id - 2;
    memcpy(p, i > from ? id : id + 1, id_len);
    p += id_len;
    size_t len = offsets[i + 1] - offsets[i];
    memcpy(p, entries->data + offsets[i], len);
    p += len;
    *p++ = '}';
    body->len = (size_t)(p - body->data);
    req->records[i - from] = index[i];
    req->bytes += sizes[i];
  }
  if (rc == 0)
    rc = pl_buf_append(body, "]}", 2);
  if (rc < 0) {
    pl_buf_free(body);
    return PL_ENOMEM;
  }
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
  size_t *offsets = calloc(n + 1, sizeof(*offsets));
  uint64_t *sizes = calloc(n, sizeof(*sizes));
  size_t *index = calloc(n, sizeof(*index));
  size_t *ends = calloc(n, sizeof(*ends));
  if (!offsets || !sizes || !index || !ends) {
    free(offsets);
    free(sizes);
    free(index);
    free(ends);
    return PL_ENOMEM;
  }
  /* Every entry's text, one after the other. */
  pl_buf_t entries = {0};
  sqs_scratch_t sc = {0};
  size_t m = 0;
  pl_buf_t why = {0};
  for (size_t i = 0; i < n; i++) {
    if (pl_batch_result(batch, i) != PL_RESULT_PENDING)
      continue;
    pl_buf_reset(&why);
    int rc = encode_message(enc, pl_batch_record(batch, i), &sc, &entries,
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
      offsets[m] = entries.len;
      /* Room for the rest, guessed from the first entry (a quarter more):
       * the entries are then written without growing the buffer a
       * doubling at a time. A guess that cannot be had is no error. */
      if (m == 1 && entries.len < SQS_MAX_BYTES)
        (void)pl_buf_reserve(&entries, (n - i - 1) * (entries.len * 5 / 4));
    }
  }
  pl_buf_free(&why);
  scratch_free(&sc);
  int rc = 0;
  size_t built = 0;
  sqs_request_t *reqs = NULL;
  size_t nreq = sqs_split(sizes, m, enc->max_batch_bytes, ends);
  if (nreq > 0) {
    reqs = calloc(nreq, sizeof(*reqs));
    rc = reqs ? 0 : PL_ENOMEM;
  }
  for (size_t k = 0; rc == 0 && k < nreq; k++) {
    rc = build_request(enc, &entries, offsets, sizes, index,
                       k ? ends[k - 1] : 0, ends[k], &reqs[k]);
    built += rc == 0;
  }
  pl_buf_free(&entries);
  free(offsets);
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
    pl_buf_free(&requests[i].body);
  free(requests);
}
