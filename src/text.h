/* Bytes made into text that a JSON string can hold: what the log and the
 * dead letter write of input that is not UTF-8. */
#ifndef PL_TEXT_H
#define PL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <pipelined/common.h>

/* Appends the `len` bytes at `bytes` to `out`, each well-formed UTF-8
 * sequence as it is and each other byte as "\xNN" (`hex`: a log line, where
 * a reader wants to see the byte) or as U+FFFD. The result is valid UTF-8.
 * Returns 0 or PL_ENOMEM (`out` then holds part of it). */
int pl__text_repair(const char *bytes, size_t len, bool hex, pl_buf_t *out);

/* Appends the standard base64 (RFC 4648, with padding) of the `len` bytes
 * at `bytes` to `out`. Returns 0 or PL_ENOMEM. */
int pl__text_base64(const char *bytes, size_t len, pl_buf_t *out);

#endif
