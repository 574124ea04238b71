/* The limits of an option-table row (pl_option_t.has_limits, min, max):
 * whether a stored value keeps them, and their text for messages,
 * --describe and --describe-json, so that every limit is checked and told
 * the same way (HACKING.md#s3). */
#ifndef PL_CORE_OPTION_LIMITS_H
#define PL_CORE_OPTION_LIMITS_H

#include <jansson.h>
#include <pipelined/plugin.h>

/* Checks the limits of the row itself: only INT, DOUBLE, DURATION, SIZE,
 * STRING, LIST and MAP rows may have them, and the minimum may not be above
 * the maximum. Returns 0, or PL_EINVAL with *error (new) saying why. */
int pl__option_limits_valid(const pl_option_t *option, char **error);

/* True when the value at `value` (borrowed: the option's field, holding a
 * value of the option's C type) keeps the option's limits, or when it has
 * none. An unset STRING (NULL) keeps them: presence is PL_OPT_REQUIRED's
 * business. */
bool pl__option_limits_hold(const pl_option_t *option, const void *value);

/* Appends what the option expects, its limits included, in the words of
 * the option errors: "an integer from 1 to 64", "a duration of at least
 * 1s", "a \"string\" of 1 byte", "a list with at least 1 item". Returns 0
 * or PL_ENOMEM. */
int pl__option_limits_expected(const pl_option_t *option, pl_buf_t *out);

/* Appends the limits alone: "1 to 64", "at least 1s", "1 byte", "at most 6
 * entries"; nothing when the option has none. Returns 0 or PL_ENOMEM. */
int pl__option_limits_text(const pl_option_t *option, pl_buf_t *out);

/* Appends how much of its limited quantity the stored value has, for the
 * "found" part of a message: "2 bytes", "0 items", "7 entries"; nothing for
 * numbers, whose text the user wrote says it. */
int pl__option_limits_found(const pl_option_t *option, const void *value,
                            pl_buf_t *out);

/* Adds the limits to an option's JSON description: "min" and "max"
 * (numbers in the field's unit: milliseconds, bytes) or "min_length" and
 * "max_length", each only when it limits, and "limits" (the text of
 * pl__option_limits_text). Nothing when the option has none. */
void pl__option_limits_json(const pl_option_t *option, json_t *item);

#endif
