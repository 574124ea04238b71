/* An option table rendered for --describe (text) and --describe-json. */
#ifndef PL_CORE_OPTIONS_DESCRIBE_H
#define PL_CORE_OPTIONS_DESCRIBE_H

#include <jansson.h>
#include <pipelined/plugin.h>

/* Appends one entry per option: name, type, default or "required",
 * (secret), (deprecated), the description, the range or length, the
 * choices. */
void pl__options_describe(const pl_option_t *options, size_t count,
                          pl_buf_t *out);
/* The same as a JSON array (new reference). */
json_t *pl__options_describe_json(const pl_option_t *options, size_t count);

#endif
