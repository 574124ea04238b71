/* One look at the bytes of a row (see csv_scan.h). */
#include "csv_scan.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>

/* Sixteen bytes at a time (SSE2: every x86-64): one pass instead of three
 * memchr() calls (LF, quote, CR), which cost more than the search on rows
 * of a few dozen bytes. Loads stay inside [p, end). */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote) {
  const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                q = _mm_set1_epi8((char)quote);
  unsigned cr_before = 0; /* 1: the block before ended in a CR */
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i is_q = _mm_cmpeq_epi8(v, q), is_cr = _mm_cmpeq_epi8(v, cr);
    unsigned lf_bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf));
    /* A CR that ended the block before is fine only as half of a CRLF. */
    if (cr_before && !(lf_bits & 1u))
      return NULL;
    cr_before = 0;
    /* The bytes before the LF, or all of them. */
    unsigned row = lf_bits ? (lf_bits & (0u - lf_bits)) - 1 : 0xFFFFu;
    /* Quotes and CRs are rare: one test for both, the details after. */
    if ((unsigned)_mm_movemask_epi8(_mm_or_si128(is_q, is_cr)) & row) {
      if ((unsigned)_mm_movemask_epi8(is_q) & row)
        return NULL;
      /* The one CR allowed: right before the LF, or last in the block
       * (the LF may begin the next one). */
      unsigned cr_bits = (unsigned)_mm_movemask_epi8(is_cr) & row;
      unsigned allowed = lf_bits ? (row + 1) >> 1 : 0x8000u;
      if (cr_bits & ~allowed)
        return NULL;
      cr_before = cr_bits >> 15;
    }
    if (lf_bits)
      return p + __builtin_ctz(lf_bits);
  }
  for (; p < end; p++) { /* the last bytes of the input */
    if (*p == '\n')
      return p;
    if (cr_before || (unsigned char)*p == quote)
      return NULL;
    cr_before = *p == '\r';
  }
  return NULL;
}
#else
/* memchr() for each of the three. */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote) {
  const char *lf = memchr(p, '\n', (size_t)(end - p));
  if (!lf || memchr(p, quote, (size_t)(lf - p)))
    return NULL;
  const char *cr = memchr(p, '\r', (size_t)(lf - p));
  return cr && cr + 1 != lf ? NULL : lf;
}
#endif
