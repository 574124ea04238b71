/* The number an option of a bench tool (fake_aws, wire_floor) gives. */
#ifndef TOOL_NUMBER_H
#define TOOL_NUMBER_H

#include <stdbool.h>
#include <stdlib.h>

/* True with the value of `text` in *out when all of it is a number from
 * `low` to `high`. */
static inline bool tool_number(const char *text, double low, double high,
                               double *out) {
  char *end = NULL;
  *out = strtod(text, &end);
  return end != text && *end == '\0' && *out >= low && *out <= high;
}

#endif
