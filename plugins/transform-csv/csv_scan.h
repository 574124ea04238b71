/* The first look at a row of CSV: where it ends and whether it holds a
 * quote or a CR that is not half of its CRLF, the things that decide how
 * it is read. Most rows hold neither, and then need no byte-by-byte
 * tracking (csv_stream.c). */
#ifndef PL_TRANSFORM_CSV_SCAN_H
#define PL_TRANSFORM_CSV_SCAN_H

/* Scans [p, end) for the LF that ends the row. Returns it when the bytes
 * before it hold no quote and no CR but one right before the LF (a CRLF);
 * otherwise NULL: the row holds a quote or a lone CR (which ends a row of
 * its own) before any LF, and the caller tracks it byte by byte, or it has
 * no LF before `end`. Reads nothing outside [p, end). */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote);

#endif
