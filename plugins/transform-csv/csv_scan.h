/* The first look at a row of CSV: where it ends and whether it holds a
 * quote or a CR, the three things that decide how it is split. Most rows
 * hold neither, and then need no byte-by-byte tracking (csv_stream.c). */
#ifndef PL_TRANSFORM_CSV_SCAN_H
#define PL_TRANSFORM_CSV_SCAN_H

/* Scans [p, end) for the LF that ends the row. Returns it, with
 * *first_cr set to the first CR before it (NULL: none); or NULL when the
 * row holds a quote before any LF (the caller then tracks the quoting
 * byte by byte) or has no LF before `end`. Reads nothing outside
 * [p, end). */
const char *csv_scan_row(const char *p, const char *end, unsigned char quote,
                         const char **first_cr);

#endif
