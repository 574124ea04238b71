/* A fast compact JSON writer for jansson values, for sinks that send
 * records as JSON: the text is the same as json_dumps() with JSON_COMPACT
 * | JSON_ENCODE_ANY (keys in insertion order, UTF-8 as is), made several
 * times faster, but for reals, written the shortest way that reads back
 * as the same double (0.1, where jansson writes 0.10000000000000001). */
#ifndef PIPELINED_JSON_H
#define PIPELINED_JSON_H

#include <jansson.h>
#include <pipelined/common.h>

/* Values nested deeper than this are refused (so is a reference cycle). */
#define PL_JSON_MAX_DEPTH 2048

/* Appends `value` (borrowed) to `out`. On failure `out` is unchanged and
 * *why (when not NULL) names the reason: PL_EINVAL for a string that is
 * not valid UTF-8, nesting deeper than PL_JSON_MAX_DEPTH or a real that
 * cannot be written; PL_ENOMEM. */
PL_EXTERN int pl_json_encode(const json_t *value, pl_buf_t *out,
                             const char **why);
/* Appends the text pl_json_encode() writes for `value` (borrowed) as a
 * JSON string literal: the same as pl_json_encode_string() of that text,
 * in one pass and without the text itself (a record's JSON sent as a
 * string member, such as an SQS MessageBody). *text_len (when not NULL)
 * receives the length of the text. Failures as pl_json_encode(). */
PL_EXTERN int pl_json_encode_quoted(const json_t *value, pl_buf_t *out,
                                    size_t *text_len, const char **why);
/* The type of `value` as a phrase for messages: "an object", "an array",
 * "a string", "a number", "a boolean" or "null" (static text). */
PL_EXTERN const char *pl_json_type_phrase(const json_t *value);
/* Appends `len` bytes of UTF-8 text as a JSON string literal. */
PL_EXTERN int pl_json_encode_string(const char *text, size_t len,
                                    pl_buf_t *out, const char **why);

#endif
