/* Templates build strings from a record: "${product_id}#${location}" takes
 * fields of the record's JSON object, "${@origin}", "${@origin_time}",
 * "${@etag}", "${@line}", "${@message_id}" and "${@name}" (any attribute)
 * take its metadata. "$$"
 * is a literal "$". A field that is a string is inserted as is; numbers and
 * booleans as their JSON text; a missing field or null is an error. */
#ifndef PIPELINED_TEMPLATE_H
#define PIPELINED_TEMPLATE_H

#include <pipelined/common.h>

/* Compiles `text`. On error returns PL_EPARSE and, when `error` is not
 * NULL, a new malloc()ed message in *error. */
PL_EXTERN int pl_template_create(const char *text, pl_template_t **out,
                                 char **error);
PL_EXTERN void pl_template_destroy(pl_template_t *tpl);
/* The source text (borrowed). */
PL_EXTERN const char *pl_template_text(const pl_template_t *tpl);
/* True when the template has no ${...} references. */
PL_EXTERN bool pl_template_is_constant(const pl_template_t *tpl);
/* Appends the rendering to `out`. Returns PL_ENOENT when a referenced field
 * is missing (or null, an object or an array); `missing` then points to its
 * name (borrowed from the template). */
PL_EXTERN int pl_template_render(const pl_template_t *tpl,
                                 const pl_record_t *record, pl_buf_t *out,
                                 const char **missing);

#endif
