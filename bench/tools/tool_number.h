/* The numbers the options of the bench tools (fake_aws, wire_floor)
 * give. */
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

/* tool_number() for a whole number: a count, a port. */
static inline bool tool_count(const char *text, double low, double high,
                              double *out) {
  return tool_number(text, low, high, out) && *out == (double)(long long)*out;
}

#endif
