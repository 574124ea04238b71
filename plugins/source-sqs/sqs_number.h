/* The numbers of a message body that the daemon cannot keep as written.
 *
 * jansson holds an integer as a 64-bit json_int_t and any other number as
 * a double, and every stage after the source sees only that: sink-dynamodb
 * writes a double as its shortest text (ddb_number_text), so a body's
 * 9007199254740993.0 would reach a table (which holds 38 digits) as
 * 9007199254740992, counted delivered. The source still has the body's
 * text: a number whose digits do not survive the double (more than 17
 * significant digits, or a shortest text with other digits) makes the
 * message poison, with a reason that names the field, rather than data
 * altered without a word. */
#ifndef PL_SOURCE_SQS_NUMBER_H
#define PL_SOURCE_SQS_NUMBER_H

#include <pipelined/common.h>
#include <stddef.h>

/* Looks at every number of the `len` bytes of JSON text at `text`
 * (borrowed; text json_loadb took, or refused for a number it cannot
 * hold: the walk needs no more than its strings to be closed and reads
 * nothing past `len` whatever the text). Returns 0 when each is kept
 * exactly: an integer (no fraction or exponent) that fits 64 bits, or a
 * number of at most 17 significant digits whose double's shortest text
 * has the same value. Otherwise PL_EPARSE, with the first such number
 * named in `reason` ("field a.b[1]: the number ... is beyond what the
 * daemon keeps ..."), or PL_ENOMEM when the reason could not be
 * written. */
int sqs_numbers_check(const char *text, size_t len, pl_buf_t *reason);

#endif
