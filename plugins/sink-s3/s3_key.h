/* The object keys of sink-s3: a template of its own, rendered once per
 * object when the object opens (not per record, as <pipelined/template.h>
 * is):
 *
 *   ${@pipeline}  the pipeline's name
 *   ${@uuid}      a random UUID (version 4) of the object: required, so
 *                 that no two objects, of this run or another, share a key
 *   ${@seq}       the object's number in this run, from 1
 *   %Y %m %d      the object's open time (UTC): year, month, day,
 *   %H %M %S      hour, minute, second, each zero-padded
 *   %%  $$        a literal '%' or '$'
 *
 * e.g. "archive/${@pipeline}/%Y/%m/%d/${@uuid}.jsonl". */
#ifndef SINK_S3_KEY_H
#define SINK_S3_KEY_H

#include <pipelined/common.h>
#include <stdint.h>
#include <time.h>

/* What one object's key is made of (strings borrowed). */
typedef struct s3_key_vars {
  const char *pipeline;
  const char *uuid;
  uint64_t seq;
  time_t opened; /* seconds since the epoch */
} s3_key_vars_t;

/* NULL when `text` is a valid key template, else why not (a static
 * string: "unknown ${...} name", "unknown %-conversion", "has no
 * ${@uuid}", "is empty", "has an unterminated ${"). */
const char *s3_key_check(const char *text);

/* Appends the key of `vars` rendered from `text` (which s3_key_check()
 * accepted; borrowed). Returns 0, PL_EINVAL (a template it refuses),
 * PL_ERANGE (the key is longer than PL_S3_KEY_MAX bytes: `out` is left
 * as it was) or PL_ENOMEM. */
int s3_key_render(const char *text, const s3_key_vars_t *vars, pl_buf_t *out);

/* Writes a random version 4 UUID, 36 characters and a NUL, to `out`.
 * Returns 0, or PL_EIO when no random bytes could be had. */
int s3_key_uuid(char out[37]);

#endif
