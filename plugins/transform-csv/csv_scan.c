/* One look at the bytes of a row (see csv_scan.h). */
#include "csv_scan.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>

/* Sixteen bytes at a time (SSE2: every x86-64): one pass instead of three
 * memchr() calls (LF, quote, CR), which cost more than the search on rows
 * of a few dozen bytes. Loads stay inside [p, end). */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote,
                         const char **first_cr) {
  *first_cr = NULL;
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                q = _mm_set1_epi8((char)quote);
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i is_q = _mm_cmpeq_epi8(v, q), is_cr = _mm_cmpeq_epi8(v, cr);
    unsigned lf_bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
    /* The bytes before the LF, or all of them. */
    unsigned row = lf_bits ? (lf_bits & (0u - lf_bits)) - 1 : 0xFFFFu;
    /* Quotes and CRs are rare: one test for both, the details after. */
    if ((unsigned)_mm_movemask_epi8(_mm_or_si128(is_q, is_cr)) & row) {
      if ((unsigned)_mm_movemask_epi8(is_q) & row)
        return NULL;
      unsigned cr_bits = (unsigned)_mm_movemask_epi8(is_cr) & row;
      if (!*first_cr)
        *first_cr = p + __builtin_ctz(cr_bits);
    }
    if (lf_bits)
      return p + __builtin_ctz(lf_bits);
  }
  for (; p < end; p++) { /* the last bytes of the input */
    if (*p == '\n')
      return p;
    if ((unsigned char)*p == quote)
      return NULL;
    if (*p == '\r' && !*first_cr)
      *first_cr = p;
  }
  return NULL;
}
#else
/* memchr() for each of the three. */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote,
                         const char **first_cr) {
  const char *lf = memchr(p, '\n', (size_t)(end - p));
  *first_cr = NULL;
  if (!lf || memchr(p, quote, (size_t)(lf - p)))
    return NULL;
  *first_cr = memchr(p, '\r', (size_t)(lf - p));
  return lf;
}
#endif
