/* The usual message body read without jansson's parser: a flat JSON
 * object of strings, short integers, true, false and null (what sink-sqs
 * sends for a CSV row) is walked with the core's strict scanner
 * (<pipelined/json_scan.h>) and built straight into a jansson object,
 * where json_loadb costs several times more for the same tree (its
 * lexer's buffers and per-byte stream).
 *
 * The scanner takes only what jansson takes, and the object is built with
 * the same calls jansson's parser makes (a repeated key keeps its place
 * and the later value), so that a body read here gives the tree
 * json_loadb gives; anything else (a nested value, a fraction, a \u
 * escape, a key with escapes, text that is not JSON) is left to
 * json_loadb. tests/fuzz/fuzz_sqs_body.c checks that promise. */
#ifndef PL_SOURCE_SQS_BODY_H
#define PL_SOURCE_SQS_BODY_H

#include <jansson.h>
#include <stddef.h>

/* The object of the `len` bytes at `text` as a new reference, or NULL
 * when the text is not such a flat object (or memory ran out): the caller
 * then parses it with json_loadb. */
json_t *sqs_body_scan(const char *text, size_t len);

#endif
