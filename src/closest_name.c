/* "Did you mean": the closest of some names to a misspelt one. */
#include <stdint.h>
#include <string.h>

#include "closest_name.h"

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two neighbours ("prot" -> "port") each cost 1. */
size_t pl__name_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return SIZE_MAX;
  size_t rows[3][65];
  size_t *before = rows[0], *prev = rows[1], *row = rows[2];
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = prev[j - 1] + cost;
      if (prev[j] + 1 < best)
        best = prev[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          before[j - 2] + 1 < best)
        best = before[j - 2] + 1;
      row[j] = best;
    }
    size_t *oldest = before;
    before = prev;
    prev = row;
    row = oldest;
  }
  return prev[lb];
}

size_t pl__name_max_distance(const char *name) {
  size_t len = strlen(name);
  return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

const char *pl__closest_name(const char *const *names, const char *name) {
  const char *best = NULL;
  size_t best_distance = pl__name_max_distance(name) + 1;
  for (size_t i = 0; names[i]; i++) {
    size_t d = pl__name_distance(names[i], name);
    if (d < best_distance) {
      best = names[i];
      best_distance = d;
    }
  }
  return best;
}
