/* The copy and comparison of short texts that the per-row code of the CSV
 * transform uses instead of calls to memcpy() and memcmp(): most fields
 * and column names are short, and for them a call costs more than the
 * work. The typed values of the fields are <pipelined/schema.h>'s. */
#ifndef PL_TRANSFORM_CSV_COPY_H
#define PL_TRANSFORM_CSV_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcpy() for the texts of fields, which are mostly short: for them a
 * call costs more than the copy. Two overlapping loads cover 4 to 16
 * bytes without a loop. The ranges must not overlap. */
static inline void csv_copy_text(char *dst, const char *src, size_t len) {
  if (len >= 8 && len <= 16) {
    uint64_t head, tail;
    memcpy(&head, src, 8);
    memcpy(&tail, src + len - 8, 8);
    memcpy(dst, &head, 8);
    memcpy(dst + len - 8, &tail, 8);
  } else if (len >= 4 && len < 8) {
    uint32_t head, tail;
    memcpy(&head, src, 4);
    memcpy(&tail, src + len - 4, 4);
    memcpy(dst, &head, 4);
    memcpy(dst + len - 4, &tail, 4);
  } else if (len < 4) {
    for (size_t i = 0; i < len; i++)
      dst[i] = src[i];
  } else {
    memcpy(dst, src, len);
  }
}

/* memcmp(a, b, len) == 0, the same way: for names of columns. */
static inline bool csv_same_text(const char *a, const char *b, size_t len) {
  if (len >= 8 && len <= 16) {
    uint64_t a_head, a_tail, b_head, b_tail;
    memcpy(&a_head, a, 8);
    memcpy(&a_tail, a + len - 8, 8);
    memcpy(&b_head, b, 8);
    memcpy(&b_tail, b + len - 8, 8);
    return ((a_head ^ b_head) | (a_tail ^ b_tail)) == 0;
  }
  if (len >= 4 && len < 8) {
    uint32_t a_head, a_tail, b_head, b_tail;
    memcpy(&a_head, a, 4);
    memcpy(&a_tail, a + len - 4, 4);
    memcpy(&b_head, b, 4);
    memcpy(&b_tail, b + len - 4, 4);
    return ((a_head ^ b_head) | (a_tail ^ b_tail)) == 0;
  }
  return memcmp(a, b, len) == 0;
}

#endif
