/* A streaming CSV reader: bytes go in in chunks of any size, complete rows
 * come out through callbacks, each with its fields, the 1-based line where
 * it starts and its raw text (the dead letter keeps the raw text of a bad
 * row).
 *
 * Row boundaries, line numbers, blank lines, the BOM and the row size limit
 * are tracked here; each complete row is then split into fields by libcsv.
 * Doing the row tracking outside libcsv is what makes the raw text and the
 * start line of a row known: libcsv reports neither. The tracker follows
 * libcsv's quoting rules, so a newline inside a quoted field never ends a
 * row.
 *
 * Input rules:
 *   - A UTF-8 BOM at the very start of the input is dropped.
 *   - Rows end with LF, CRLF or a lone CR (classic Mac line ends), each a
 *     line break for line numbers; a CR right before the end of input is
 *     not data either. Inside a quoted field a CR is data and only LF
 *     counts as a line break.
 *   - A field that starts with the quote character is quoted: it may hold
 *     delimiters, line breaks and doubled quotes ("" for ").
 *   - Blank lines produce no row but count for line numbers: empty lines,
 *     and with trim_spaces lines of only spaces and tabs (without it,
 *     blanks are data and such a line is a row).
 *   - A row whose raw text (without its line ending) is longer than
 *     max_row_bytes is reported through the error callback and skipped;
 *     memory stays bounded by max_row_bytes however long the row is.
 *   - At the end of input a last row without a line ending is a row; a
 *     quoted field still open there is an error row.
 *
 * Memory: the stream keeps at most about max_row_bytes of a row that spans
 * two feeds, plus field storage of the same order. A row that lies wholly
 * inside one feed is not copied before it is split. */
#ifndef PL_TRANSFORM_CSV_STREAM_H
#define PL_TRANSFORM_CSV_STREAM_H

#include <pipelined/common.h>

typedef struct csv_stream csv_stream_t;

/* Zero-initialise and set what differs; a zero member means its default. */
typedef struct csv_stream_options {
  char delimiter;       /* 0: ','. Not CR, LF or the quote character. */
  char quote;           /* 0: '"'. Not CR, LF or the delimiter. */
  size_t max_row_bytes; /* 0: CSV_STREAM_DEFAULT_MAX_ROW_BYTES */
  /* Drop spaces and tabs around unquoted fields and between a closing quote
   * and the delimiter (libcsv's default). Off, they are data (RFC 4180). */
  bool trim_spaces;
  /* Off (the default), a quote inside an unquoted field or text after a
   * closing quote makes the row a bad row. Where that row ends is still
   * decided by its quotes, read on past the fault as a tolerant reader
   * does (the quote or the text is data of an unquoted field; a quote at a
   * field's start opens a quoted field): the line feeds of a quoted field
   * after the fault stay inside the one bad row. On, libcsv's non-strict
   * rules apply: a quote inside an
   * unquoted field is data, and text after a closing quote is data that
   * reopens the quoted field, so one stray byte there can join lines up to
   * the next quote. */
  bool lenient_quotes;
} csv_stream_options_t;

#define CSV_STREAM_DEFAULT_MAX_ROW_BYTES ((size_t)1 << 20)

/* One parsed row. Everything in it is borrowed and valid only during the
 * callback. */
typedef struct csv_row {
  const char *const *fields; /* count fields, each NUL-terminated */
  const size_t *lens;        /* their lengths (a field may contain NUL) */
  size_t count;              /* at least 1 */
  uint64_t line;             /* 1-based line where the row starts */
  const char *raw;           /* the row as in the input, without line end */
  size_t raw_len;
} csv_row_t;

/* A row that cannot be turned into fields. `raw` is the row's text without
 * its line ending, cut to max_row_bytes when longer; `reason` is a
 * sentence such as "row is longer than max_row_bytes (1048576)". Both are
 * borrowed for the call. */
typedef struct csv_bad_row {
  uint64_t line; /* 1-based line where the row starts */
  const char *raw;
  size_t raw_len;
  const char *reason;
} csv_bad_row_t;

/* Both callbacks return 0 to go on, or a negative PL_E* code to stop: the
 * feed or finish call then returns that code at once and the stream can
 * only be destroyed. */
typedef int (*csv_row_cb)(void *data, const csv_row_t *row);
typedef int (*csv_bad_row_cb)(void *data, const csv_bad_row_t *bad);

/* The receivers of one feed or finish call; borrowed for the call. Rows and
 * bad rows are delivered in input order. */
typedef struct csv_stream_handlers {
  csv_row_cb on_row;         /* required */
  csv_bad_row_cb on_bad_row; /* NULL: bad rows are dropped silently */
  void *data;                /* passed to both */
} csv_stream_handlers_t;

/* NULL when `opts` (borrowed; NULL: all defaults) can make a stream;
 * otherwise why not, a sentence naming the option (a static string):
 * delimiter equal to quote, CR or LF as either, a blank quote with
 * trim_spaces, max_row_bytes above SIZE_MAX / 4. */
const char *csv_stream_options_error(const csv_stream_options_t *opts);

/* Creates a stream; `opts` is borrowed (NULL: all defaults). Returns
 * PL_EINVAL for impossible options (csv_stream_options_error() says which)
 * or PL_ENOMEM. */
int csv_stream_create(const csv_stream_options_t *opts, csv_stream_t **out);

/* Feeds the next `len` bytes of input, which may cut rows, fields, a CRLF
 * or the BOM anywhere. Calls the handlers for every row this completes (a
 * visitor: zero or more times, before returning). Returns 0, a callback's
 * code, or PL_ENOMEM; after a non-zero return the stream is unusable
 * (further calls return PL_EINVAL). */
int csv_stream_feed(csv_stream_t *s, const char *bytes, size_t len,
                    const csv_stream_handlers_t *h);

/* Ends the input: delivers the last row when it has no line ending, or a bad
 * row for a quoted field left open. Then the stream is reset for a new input
 * (line numbers restart at 1 and a BOM is dropped again). Returns like
 * csv_stream_feed(). */
int csv_stream_finish(csv_stream_t *s, const csv_stream_handlers_t *h);

/* The line the next byte of input belongs to (1-based). */
uint64_t csv_stream_line(const csv_stream_t *s);

/* Where the input stands between two feeds: *held gets the bytes of a
 * partial row held from past feeds (or of a BOM not yet decided), *line
 * the line where that row, or the next one when none is held, starts.
 * The input can be taken up again at the row's first byte. */
void csv_stream_position(const csv_stream_t *s, uint64_t *held,
                         uint64_t *line);

/* The next input byte is at line `line` (>= 1) and past any BOM: the
 * input is taken up in the middle (a resumed read). Returns 0, or
 * PL_EINVAL while a partial row is held. */
int csv_stream_set_line(csv_stream_t *s, uint64_t line);

/* Frees the stream; a partial row is discarded. NULL is allowed. */
void csv_stream_destroy(csv_stream_t *s);

#endif
