/* JSON lines: one compact JSON document per record and line, as sink-file
 * and sink-s3 write them (and any sink of a plugin author).
 *
 * Every record becomes at most one line, appended to a pl_buf_t:
 *   - a record with a value: the value as compact JSON (any JSON type, not
 *     only objects), object keys in the object's own (insertion) order,
 *     non-ASCII characters written as UTF-8, not as \u escapes; then "\n".
 *     The text is byte for byte what json_dumps(value, JSON_COMPACT |
 *     JSON_ENCODE_ANY) gives, at about twenty times its speed (jansson
 *     decodes every character and formats a loop-check key with snprintf
 *     for every object), but for reals, written the shortest way that
 *     reads back as the same double (pl_json_encode());
 *   - a record with bytes and no value: {"raw":"<the bytes>"}, the bytes as
 *     one JSON string (they must be UTF-8). Empty bytes (such as the empty
 *     last chunk of a byte stream) give no line;
 *   - a record with neither gives no line and an error, as does a value that
 *     cannot be written as JSON: a string or key that is not valid UTF-8
 *     (jansson's *_nocheck constructors allow them), or nesting deeper than
 *     PL_JSONL_MAX_DEPTH (also what a reference cycle looks like).
 * No function here allocates per record except to grow `out`. */
#ifndef PIPELINED_JSONL_H
#define PIPELINED_JSONL_H

#include <pipelined/json.h>
#include <pipelined/pipelined.h>

/* As deep as jansson's parser accepts. */
#define PL_JSONL_MAX_DEPTH PL_JSON_MAX_DEPTH

/* Appends the line of `value` (borrowed). Returns 0, PL_EINVAL when the
 * value cannot be written (*why, when not NULL, then points to a static
 * explanation) or PL_ENOMEM; on error `out` is left as it was. */
PL_EXTERN int pl_jsonl_encode_value(const json_t *value, pl_buf_t *out, const char **why);

/* Appends {"raw":"..."} and a newline for `len` bytes, or nothing when
 * `len` is 0. Errors as for pl_jsonl_encode_value. */
PL_EXTERN int pl_jsonl_encode_bytes(const char *bytes, size_t len, pl_buf_t *out,
                       const char **why);

/* Appends the line of `record`: its value, else its bytes. */
PL_EXTERN int pl_jsonl_encode_record(const pl_record_t *record, pl_buf_t *out,
                        const char **why);

/* Appends the lines of every record of `batch` to `out`. A record that
 * cannot be written is resolved now: rejected with the reason (it goes to
 * the dead letter), or failed when memory ran out (the engine retries it).
 * ends[i] (an array of pl_batch_count() entries) receives out->len after
 * record i: its line is [ends[i - 1], ends[i]) (empty when it has none).
 * Returns the number of records resolved here. */
PL_EXTERN size_t pl_jsonl_encode_batch(pl_batch_t *batch, pl_buf_t *out, size_t *ends);

#endif
