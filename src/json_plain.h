/* The bytes that JSON text holds as they are inside a string, 16 at a
 * time: the JSON writer (json.c) copies them and the scanner
 * (json_scan.c) skips them without looking at each. Plain bytes are
 * printable ASCII and DEL, except the quote and the backslash; every other
 * byte (a control character, the quote, the backslash, a byte of a UTF-8
 * sequence) needs care, one by one. Header only: the test is a handful of
 * instructions, inlined where it runs. */
#ifndef PL_JSON_PLAIN_H
#define PL_JSON_PLAIN_H

#include <stdbool.h>

#ifdef __SSE2__
#include <emmintrin.h>

#define PL__JSON_PLAIN_VECTOR 1

/* Bit i set when byte i of the 16 at `p` needs care; 0 when all are
 * plain. As signed bytes, control characters and non-ASCII bytes are
 * both below 0x20, so one comparison finds them. */
static inline unsigned pl__json_care16(const void *p) {
  __m128i v = _mm_loadu_si128((const __m128i *)p);
  __m128i printable = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F));
  __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return ~(unsigned)_mm_movemask_epi8(_mm_andnot_si128(special, printable)) &
         0xFFFFu;
}
#endif

#endif
