/* "Did you mean": names close to a misspelt one (config errors name the
 * closest valid block, option or plugin). */
#ifndef PL_CORE_CLOSEST_NAME_H
#define PL_CORE_CLOSEST_NAME_H

#include <stddef.h>

/* The optimal string alignment distance between `a` and `b`: insertions,
 * deletions, substitutions and swaps of neighbours cost 1; SIZE_MAX for
 * names over 64 bytes. */
size_t pl__name_distance(const char *a, const char *b);
/* The largest distance still offered for `name`: 1 up to 4 bytes, 2 up to
 * 8, else 3. */
size_t pl__name_max_distance(const char *name);
/* The closest of `names` (NULL-terminated) to `name` within that
 * distance, or NULL (borrowed from `names`). */
const char *pl__closest_name(const char *const *names, const char *name);

#endif
