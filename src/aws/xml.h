/* The one way the AWS layer reads XML responses (S3 and query-protocol
 * error bodies, S3 listings, STS credentials): expat, driven through three
 * callbacks, with the rules every such reader needs written once:
 *
 *  - a document type declaration stops the parse, so no entity is ever
 *    declared, let alone expanded (no XXE, no "billion laughs"), whatever
 *    expat's own limits are; AWS responses never carry one;
 *  - namespaces are processed and callbacks get local names only, so
 *    <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> is
 *    "ListBucketResult" (and so is the same element with a prefix);
 *  - a callback stops the parse by returning an error, and nothing is
 *    called after that;
 *  - a failure is reported with its position as one line of text.
 *
 * Element and character data are UTF-8 (expat converts other declared
 * encodings) with the five predefined entities and character references
 * already decoded. */
#ifndef PL_AWS_XML_H
#define PL_AWS_XML_H

#include <pipelined/common.h>

/* One parse in progress; only valid during the callbacks. */
typedef struct pl_aws_xml pl_aws_xml_t;

/* Callbacks: `data` is the pointer given to pl__aws_xml_parse(); names
 * and text are borrowed for the call (text is not NUL-terminated and may
 * come in several pieces). Each returns 0 to go on or a negative PL_E*
 * code to stop the parse, which then returns that code; return
 * pl__aws_xml_fail() to report a PL_EPARSE with its position. */
typedef int (*pl_aws_xml_start_cb)(pl_aws_xml_t *xml, void *data,
                                   const char *name);
typedef int (*pl_aws_xml_end_cb)(pl_aws_xml_t *xml, void *data,
                                 const char *name);
typedef int (*pl_aws_xml_text_cb)(pl_aws_xml_t *xml, void *data,
                                  const char *text, size_t len);

/* Any callback may be NULL. */
typedef struct pl_aws_xml_handlers {
  pl_aws_xml_start_cb start; /* an element opens; attributes are not read */
  pl_aws_xml_end_cb end;     /* it closes (also for <Empty/>) */
  pl_aws_xml_text_cb text;   /* character data, CDATA included */
} pl_aws_xml_handlers_t;

/* Where the parser keeps its own copies (expat's input buffer, names, text
 * runs): functions with the contracts of malloc, realloc and free. A
 * response that carries secrets (STS credentials) is parsed with the
 * wiping functions of secret.h, so nothing of it stays in freed memory. */
typedef struct pl_aws_xml_alloc {
  void *(*malloc_fn)(size_t size);
  void *(*realloc_fn)(void *ptr, size_t size);
  void (*free_fn)(void *ptr);
} pl_aws_xml_alloc_t;

/* Parses the whole document of `len` bytes at `body` (NULL only with len
 * 0; no NUL terminator needed; any size: it is fed to expat in pieces).
 * The parser allocates through `alloc` (all three functions set), or
 * through malloc, realloc and free when it is NULL; the caller's own
 * buffers (`reason`, what the callbacks keep) are its business.
 * Everything is borrowed for the call. Returns 0; PL_EPARSE when the body
 * is not well-formed XML, has a DOCTYPE, or a callback reported it; a
 * callback's own code; PL_ENOMEM; PL_EINVAL (no handlers, NULL body
 * with len > 0, or an alloc with a NULL function). On PL_EPARSE one line is
 * appended to `reason` unless it is NULL, as "line 1, column 28: mismatched
 * tag" (1-based, in characters; a DOCTYPE gives "DOCTYPE is not allowed" at the
 * '[' of its internal subset or the '>' that ends it, before anything in it is
 * read). */
int pl__aws_xml_parse(const char *body, size_t len,
                      const pl_aws_xml_handlers_t *handlers, void *data,
                      const pl_aws_xml_alloc_t *alloc, pl_buf_t *reason);

/* For a callback: appends "line L, column C: " and the formatted text to
 * the parse's reason and returns PL_EPARSE (PL_ENOMEM when the text
 * cannot be appended), for the callback to return. The position is that
 * of the event being handled. */
int pl__aws_xml_fail(pl_aws_xml_t *xml, const char *fmt, ...) PL_PRINTF(2, 3);

#endif
