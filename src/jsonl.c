/* JSON lines: one compact JSON document per record and line. The JSON
 * writer itself is the core's (pl_json_encode). */
#include <string.h>

#include <pipelined/json.h>
#include <pipelined/jsonl.h>

static const char *const why_empty = "the record has neither a value nor bytes";

/* Appends the newline. The encoder reserves more than it writes, so the
 * room is almost always there: no call then, on a path taken per record. */
static inline int put_newline(pl_buf_t *out) {
  if (out->cap - out->len < 2)
    return pl_buf_append(out, "\n", 1);
  out->data[out->len++] = '\n';
  return 0;
}

/* Ends the line that started at `start`, or takes it back on error. */
static int end_line(pl_buf_t *out, size_t start, int rc) {
  if (rc == 0)
    rc = put_newline(out);
  pl_buf_truncate(out, rc < 0 ? start : out->len);
  return rc;
}

/* A record with nothing to write. */
static int refuse_empty(const char **why) {
  if (why)
    *why = why_empty;
  return PL_EINVAL;
}

/* pl_json_encode() takes back what it wrote on error, and end_line() the
 * same for the newline. */
int pl_jsonl_encode_value(const json_t *value, pl_buf_t *out, const char **why) {
  if (!value)
    return refuse_empty(why);
  size_t start = out->len;
  return end_line(out, start, pl_json_encode(value, out, why));
}

int pl_jsonl_encode_bytes(const char *bytes, size_t len, pl_buf_t *out,
                       const char **why) {
  if (len == 0)
    return 0;
  size_t start = out->len;
  int rc = pl_buf_append(out, "{\"raw\":", 7);
  if (rc == 0)
    rc = pl_json_encode_string(bytes, len, out, why);
  if (rc == 0)
    rc = pl_buf_append(out, "}", 1);
  return end_line(out, start, rc);
}

int pl_jsonl_encode_record(const pl_record_t *record, pl_buf_t *out,
                        const char **why) {
  const json_t *value = pl_record_value(record);
  if (value)
    return pl_jsonl_encode_value(value, out, why);
  size_t len = 0;
  const char *bytes = pl_record_bytes(record, &len);
  if (bytes)
    return pl_jsonl_encode_bytes(bytes, len, out, why);
  return refuse_empty(why);
}

size_t pl_jsonl_encode_batch(pl_batch_t *batch, pl_buf_t *out, size_t *ends) {
  size_t count = pl_batch_count(batch);
  size_t resolved = 0;
  for (size_t i = 0; i < count; i++) {
    const char *why = NULL;
    int rc = pl_jsonl_encode_record(pl_batch_record(batch, i), out, &why);
    if (rc == PL_ENOMEM) {
      pl_batch_resolve(batch, i, PL_RESULT_FAILED,
                       "out of memory while encoding the record");
      resolved++;
    } else if (rc < 0) {
      pl_batch_resolve_as(batch, i, PL_RESULT_REJECTED, "not_json",
                          "cannot write the record as JSON: %s", why);
      resolved++;
    }
    ends[i] = out->len;
  }
  return resolved;
}
