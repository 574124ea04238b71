/* Streaming CSV reader: row tracking around libcsv (see csv_stream.h). */
#include "csv_stream.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_scan.h"
#include "csv_copy.h"

/* Where the row tracker is inside the current row. The states mirror
 * libcsv's own (ROW_NOT_BEGUN/FIELD_NOT_BEGUN, FIELD_BEGUN unquoted or
 * quoted, FIELD_MIGHT_HAVE_ENDED) so that the tracker and libcsv agree on
 * which line feeds are inside a quoted field; only then is a row handed to
 * libcsv exactly one row. */
typedef enum {
  TRACK_FIELD_START, /* at a field's first byte (or before it, trimming) */
  TRACK_UNQUOTED,    /* in an unquoted field */
  TRACK_QUOTED,      /* in a quoted field: line feeds are data */
  TRACK_QUOTE_SEEN,  /* a quote in a quoted field: closing or doubled */
  TRACK_CR,          /* a CR outside quotes: the row ends, at the LF of a
                        CRLF if one follows */
} track_state_t;

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

struct csv_stream {
  struct csv_parser parser;
  unsigned char delim;
  unsigned char quote;
  bool trim;
  bool strict;
  size_t max_row_bytes;

  /* Row tracking. */
  track_state_t state;
  bool spaces_after_quote; /* trimmed blanks seen in TRACK_QUOTE_SEEN */
  bool in_row;             /* some bytes of the current row were seen */
  uint64_t line;           /* line of the next input byte */
  uint64_t row_line;       /* line where the current row started */
  uint64_t row_len;        /* bytes of the current row held from past feeds */
  /* The scan saw the whole row: no quote in it, and no CR but the one of
   * its CRLF, which is not part of the row. */
  bool row_quote_free;
  /* The row ended at the CR that ends the bytes held from past feeds; no
   * byte of the current feed is part of it. */
  bool row_ends_held;
  /* The first max_row_bytes + 1 bytes of a row that spans feeds (+1 so a
   * row of exactly max_row_bytes followed by CR is still whole). */
  pl_buf_t carry;
  unsigned bom_matched; /* BOM bytes seen so far at the start of input */
  bool bom_done;        /* past the place where a BOM could be */
  bool failed;          /* a call returned an error: only destroy is safe */

  /* Fields of the row being split: libcsv hands each field in its own
   * buffer, reused for the next field, so fields are copied into one block
   * reserved for the whole row (no allocation per field). */
  pl_buf_t field_bytes;
  size_t *field_lens;
  const char **field_ptrs; /* into field_bytes, which is not moved */
  size_t field_count;
  size_t field_cap;
  bool field_nomem;
  size_t libcsv_rows; /* rows libcsv ended during one run_libcsv() */
  /* What libcsv was last set to, so that a row costs no setter calls. */
  bool libcsv_builtin_tests; /* its own space and terminator tests */
  size_t libcsv_buffer;      /* its field buffer size, as last asked */

  char reason[160]; /* holds the longest with four 20-digit numbers */
};

/* libcsv's space test when trimming: its built-in one, written out for
 * rows where the built-in tests cannot be used (see split_row). */
static int space_blank(unsigned char c) { return c == ' ' || c == '\t'; }
static int space_never(unsigned char c) { return 0; }
/* Rows are cut by the tracker, never by libcsv: with no terminator, each
 * csv_parse() + csv_fini() pair yields exactly one row, and a CR (by then
 * only ever inside a quoted field) stays data as it does for the
 * tracker. */
static int term_never(unsigned char c) { return 0; }

static void reset_input(csv_stream_t *s) {
  s->state = TRACK_FIELD_START;
  s->spaces_after_quote = false;
  s->in_row = false;
  s->line = 1;
  s->row_line = 1;
  s->row_len = 0;
  pl_buf_reset(&s->carry);
  s->bom_matched = 0;
  s->bom_done = false;
}

static bool valid_char(char c) { return c != '\r' && c != '\n'; }

const char *csv_stream_options_error(const csv_stream_options_t *opts) {
  const csv_stream_options_t defaults = {0};
  if (!opts)
    opts = &defaults;
  char delim = opts->delimiter ? opts->delimiter : ',';
  char quote = opts->quote ? opts->quote : '"';
  if (!valid_char(delim))
    return "the delimiter cannot be a CR or an LF (they end rows)";
  if (!valid_char(quote))
    return "the quote cannot be a CR or an LF (they end rows)";
  if (delim == quote)
    return "the delimiter and the quote are the same character";
  /* A blank quote would be swallowed by trimming before libcsv saw it. */
  if (opts->trim_spaces && (quote == ' ' || quote == '\t'))
    return "a blank quote cannot be trimmed: with trim, the quote cannot be "
           "a space or a tab";
  /* Keeps the size arithmetic on row lengths (2 * len + 2) from wrapping. */
  if (opts->max_row_bytes > SIZE_MAX / 4)
    return "max_row_bytes is more than this machine can address";
  return NULL;
}

int csv_stream_create(const csv_stream_options_t *opts, csv_stream_t **out) {
  const csv_stream_options_t defaults = {0};
  if (!out)
    return PL_EINVAL;
  if (!opts)
    opts = &defaults;
  if (csv_stream_options_error(opts))
    return PL_EINVAL;
  char delim = opts->delimiter ? opts->delimiter : ',';
  char quote = opts->quote ? opts->quote : '"';

  csv_stream_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->delim = (unsigned char)delim;
  s->quote = (unsigned char)quote;
  s->trim = opts->trim_spaces;
  s->strict = !opts->lenient_quotes;
  s->max_row_bytes = opts->max_row_bytes ? opts->max_row_bytes
                                         : CSV_STREAM_DEFAULT_MAX_ROW_BYTES;
  if (csv_init(&s->parser, s->strict ? CSV_STRICT : 0) != 0) {
    free(s);
    return PL_ENOMEM;
  }
  csv_set_delim(&s->parser, s->delim);
  csv_set_quote(&s->parser, s->quote);
  s->libcsv_builtin_tests = true; /* csv_init() sets none of ours */

  s->field_cap = 16;
  s->field_lens = malloc(s->field_cap * sizeof(*s->field_lens));
  s->field_ptrs = malloc(s->field_cap * sizeof(*s->field_ptrs));
  if (!s->field_lens || !s->field_ptrs) {
    csv_stream_destroy(s);
    return PL_ENOMEM;
  }
  reset_input(s);
  *out = s;
  return 0;
}

void csv_stream_destroy(csv_stream_t *s) {
  if (!s)
    return;
  csv_free(&s->parser);
  pl_buf_free(&s->carry);
  pl_buf_free(&s->field_bytes);
  free(s->field_lens);
  free(s->field_ptrs);
  free(s);
}

uint64_t csv_stream_line(const csv_stream_t *s) { return s->line; }

void csv_stream_position(const csv_stream_t *s, uint64_t *held,
                         uint64_t *line) {
  *held = (s->in_row ? s->row_len : 0) + (s->bom_done ? 0 : s->bom_matched);
  *line = s->in_row ? s->row_line : s->line;
}

int csv_stream_set_line(csv_stream_t *s, uint64_t line) {
  if (s->in_row || line == 0 || (!s->bom_done && s->bom_matched > 0))
    return PL_EINVAL;
  s->line = line;
  s->bom_done = true;
  return 0;
}

/* ---- Splitting one complete row with libcsv ---- */

static int grow_fields(csv_stream_t *s) {
  size_t cap = s->field_cap * 2;
  size_t *lens = realloc(s->field_lens, cap * sizeof(*lens));
  if (!lens)
    return PL_ENOMEM;
  s->field_lens = lens;
  const char **ptrs = realloc(s->field_ptrs, cap * sizeof(*ptrs));
  if (!ptrs)
    return PL_ENOMEM;
  s->field_ptrs = ptrs;
  s->field_cap = cap;
  return 0;
}

/* libcsv's field callback. */
static void on_field(void *field, size_t len, void *data) {
  csv_stream_t *s = data;
  if (s->field_nomem)
    return;
  pl_buf_t *b = &s->field_bytes;
  if ((s->field_count == s->field_cap && grow_fields(s) < 0) ||
      len >= b->cap - b->len) {
    /* The second test cannot fire (split_row reserved room for the whole
     * row); it keeps a logic error from becoming an overflow. */
    s->field_nomem = true;
    return;
  }
  char *copy = b->data + b->len;
  csv_copy_text(copy, field, len);
  copy[len] = '\0';
  s->field_ptrs[s->field_count] = copy;
  s->field_lens[s->field_count] = len;
  s->field_count++;
  b->len += len + 1;
}

static int report_bad(csv_stream_t *s, const csv_stream_handlers_t *h,
                      const char *raw, size_t raw_len, const char *reason) {
  if (!h->on_bad_row)
    return 0;
  csv_bad_row_t bad = {
      .line = s->row_line, .raw = raw, .raw_len = raw_len, .reason = reason};
  return h->on_bad_row(h->data, &bad);
}

/* libcsv's row callback. No terminator is configured, so only csv_fini()
 * ends a row, unless the fast tests below took a byte for a line end. */
static void on_libcsv_row(int c, void *data) {
  ((csv_stream_t *)data)->libcsv_rows++;
}

/* Runs libcsv over one whole row. With `fast`, libcsv's space and
 * terminator tests stay at its built-in ones (space, tab; CR, LF), which it
 * inlines, instead of calling our functions twice per byte: that halves
 * the time of a typical row. The caller checks that they changed nothing.
 * With `fast` and `ended` (raw[len] is the row's LF, or the CR before it),
 * libcsv also reads that line end and ends the row itself, which saves the
 * csv_fini() call. Returns 0, PL_EPARSE (strict quoting; *used is where) or
 * PL_ENOMEM. */
static int run_libcsv(csv_stream_t *s, const char *raw, size_t len, bool fast,
                      bool ended, size_t *used) {
  s->field_bytes.len = 0;
  s->field_count = 0;
  s->field_nomem = false;
  s->libcsv_rows = 0;
  if (s->libcsv_builtin_tests != fast) {
    csv_set_space_func(&s->parser,
                       fast ? NULL : s->trim ? space_blank : space_never);
    csv_set_term_func(&s->parser, fast ? NULL : term_never);
    s->libcsv_builtin_tests = fast;
  }
  size_t n = fast && ended ? len + 1 : len;
  *used = csv_parse(&s->parser, raw, n, on_field, on_libcsv_row, s);
  if (*used < n) {
    int status = csv_error(&s->parser);
    /* csv_fini() without callbacks resets the parser for the next row. */
    csv_fini(&s->parser, NULL, NULL, NULL);
    return status == CSV_EPARSE ? PL_EPARSE : PL_ENOMEM;
  }
  if (n == len)
    csv_fini(&s->parser, on_field, on_libcsv_row, s);
  else if (s->libcsv_rows == 0)
    csv_fini(&s->parser, NULL, NULL, NULL); /* the caller parses again */
  return s->field_nomem ? PL_ENOMEM : 0;
}

/* Splits a row without quotes or CR when blanks are not trimmed: its
 * fields are then exactly the bytes between delimiters, which is what
 * libcsv gives for it once its own blank trimming is off (split_row's
 * second parse), and a delimiter search finds them without libcsv's
 * per-byte state machine. Returns 0 or PL_ENOMEM. */
static int split_plain(csv_stream_t *s, const char *raw, size_t len) {
  s->field_bytes.len = 0;
  s->field_count = 0;
  s->field_nomem = false;
  const char *p = raw, *end = raw + len;
  for (;;) {
    const char *delim = memchr(p, s->delim, (size_t)(end - p));
    const char *stop = delim ? delim : end;
    on_field((void *)(uintptr_t)p, (size_t)(stop - p), s);
    if (!delim)
      break;
    p = delim + 1;
  }
  return s->field_nomem ? PL_ENOMEM : 0;
}

/* Splits the row of `len` bytes at `raw`; `ended` says that raw[len] is
 * its line end (an LF, or the CR of a CRLF). */
static int split_row(csv_stream_t *s, const char *raw, size_t len, bool ended,
                     const csv_stream_handlers_t *h) {
  /* Room for every byte of the row plus a NUL per field (at most len + 1
   * fields): the field callback then never reallocates. */
  s->field_bytes.len = 0;
  if (s->field_bytes.cap < 2 * len + 3) {
    int rc = pl_buf_reserve(&s->field_bytes, 2 * len + 2);
    if (rc < 0)
      return rc;
  }

  /* A row without quotes or CR, not trimmed, needs no libcsv at all
   * (split_plain). Otherwise libcsv's built-in tests differ from ours only
   * on a CR (data to us, a line end to libcsv) and, when not trimming, on
   * blanks at the edges of a field. Without CR they are safe when
   * trimming; without quotes a field is exactly the bytes between
   * delimiters, so the total length tells whether anything was trimmed.
   * Anything unexpected: parse again. */
  bool has_quote = !s->row_quote_free && memchr(raw, s->quote, len) != NULL;
  bool has_cr = !s->row_quote_free && memchr(raw, '\r', len) != NULL;
  bool fast = !has_cr && (s->trim || !has_quote);
  size_t used = 0;
  int rc;
  if (!has_cr && !has_quote && !s->trim && len > 0) {
    rc = split_plain(s, raw, len);
  } else {
    /* libcsv grows its field buffer by a fixed block; sizing the block to
     * the row makes that one realloc instead of len / 128 of them. The
     * buffer never shrinks, so a row that fits what it was needs no call. */
    if (s->libcsv_buffer < len + 2) {
      s->libcsv_buffer = csv_get_buffer_size(&s->parser);
      if (s->libcsv_buffer < len + 2)
        csv_set_blk_size(&s->parser, len + 2);
    }
    rc = run_libcsv(s, raw, len, fast, ended, &used);
    if (fast && (rc != 0 || s->libcsv_rows != 1 ||
                 (!s->trim && s->field_bytes.len - 1 != len)))
      rc = run_libcsv(s, raw, len, false, false, &used);
  }
  if (rc == PL_EPARSE) {
    /* s->line is the row's last line: the one of the LF ending it. */
    if (s->line > s->row_line)
      snprintf(s->reason, sizeof(s->reason),
               "malformed quoting in field %zu (byte %zu of the row, lines "
               "%llu-%llu)",
               s->field_count + 1, used + 1, (unsigned long long)s->row_line,
               (unsigned long long)s->line);
    else
      snprintf(s->reason, sizeof(s->reason),
               "malformed quoting in field %zu (byte %zu of the row)",
               s->field_count + 1, used + 1);
    return report_bad(s, h, raw, len, s->reason);
  }
  if (rc < 0)
    return rc;

  csv_row_t row = {
      .fields = s->field_ptrs,
      .lens = s->field_lens,
      .count = s->field_count,
      .line = s->row_line,
      .raw = raw,
      .raw_len = len,
  };
  return h->on_row(h->data, &row);
}

/* ---- Row tracking ---- */

/* An empty line; trimming, also one of only spaces and tabs (unless one
 * of them is the delimiter). Without trim, blanks are data: a line of them
 * is a row (in a one-column file, a value), never skipped uncounted. */
static bool is_blank_line(const csv_stream_t *s, const char *raw, size_t len) {
  if (!s->trim)
    return len == 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)raw[i];
    if ((c != ' ' && c != '\t') || c == s->delim)
      return false;
  }
  return true;
}

/* Handles the end of a row whose first `have` bytes are at `raw` and whose
 * full length (without the LF) is `total`; have < total only when the row
 * is already too long. `lf_follows`: raw[have] is the row's LF. */
static int end_row(csv_stream_t *s, const char *raw, size_t have,
                   uint64_t total, bool lf_follows,
                   const csv_stream_handlers_t *h) {
  uint64_t len = total;
  bool ended = lf_follows;
  if (have == total && have > 0 && raw[have - 1] == '\r') {
    len--;
    ended = true; /* raw[len] is the CR */
  }
  if (len > s->max_row_bytes) {
    snprintf(s->reason, sizeof(s->reason),
             "row is longer than max_row_bytes (%zu)", s->max_row_bytes);
    return report_bad(s, h, raw, have < s->max_row_bytes ? have
                                                         : s->max_row_bytes,
                      s->reason);
  }
  if (is_blank_line(s, raw, (size_t)len))
    return 0;
  return split_row(s, raw, (size_t)len, ended, h);
}

/* Keeps bytes of an unfinished row, up to the limit; past it only the
 * length is counted, which is all an overlong row needs. */
static int hold(csv_stream_t *s, const char *bytes, size_t len) {
  size_t limit = s->max_row_bytes + 1;
  if (s->carry.len < limit) {
    size_t room = limit - s->carry.len;
    int rc = pl_buf_append(&s->carry, bytes, len < room ? len : room);
    if (rc < 0)
      return rc;
  }
  s->row_len += len;
  return 0;
}

/* The byte-by-byte tracker: returns the byte that ends the row (an LF, or
 * a lone CR outside quotes), or NULL when the row goes on past `end`.
 * Counts line feeds inside quoted fields. A CR outside quotes waits for
 * the next byte: the LF of a CRLF ends the row there, any other byte
 * begins the next row. At entry the state is never TRACK_CR
 * (find_row_end settles that), so the CR of that state is in [p, end).
 *
 * Strict mode rejects a row with bad quoting, but where that row ends is
 * still decided by its quotes: ending it at the next LF would turn the
 * lines of a later quoted field into rows of their own (one stray quote in
 * `5" screen` made records of a note's inner lines). Past the fault the
 * row is read as Python's csv module reads it: a quote inside an unquoted
 * field is data, text after a closing quote is data of an unquoted field,
 * and a quote at a field's start opens a quoted field. Unlike lenient
 * mode's reopening of the quoted field, that never joins lines for a
 * quote that was closed. */
static const char *track(csv_stream_t *s, const char *p, const char *end) {
  const unsigned char delim = s->delim, quote = s->quote;
  track_state_t state = s->state;
  while (p < end) {
    unsigned char c = (unsigned char)*p;
    switch (state) {
    case TRACK_FIELD_START:
      if (c == '\n')
        goto row_end;
      if (c == delim)
        break;
      if (c == '\r')
        state = TRACK_CR;
      else if (c == quote)
        state = TRACK_QUOTED;
      else if (!(s->trim && (c == ' ' || c == '\t')))
        state = TRACK_UNQUOTED;
      break;
    case TRACK_UNQUOTED:
      if (c == '\n')
        goto row_end;
      /* A quote here is data to lenient mode and a fault to strict mode,
       * which libcsv reports when it splits the row: either way the field
       * goes on. */
      if (c == '\r')
        state = TRACK_CR;
      else if (c == delim)
        state = TRACK_FIELD_START;
      break;
    case TRACK_QUOTED:
      if (c == quote) {
        state = TRACK_QUOTE_SEEN;
        s->spaces_after_quote = false;
      } else if (c == '\n') {
        s->line++;
      }
      break;
    case TRACK_QUOTE_SEEN:
      if (c == '\n')
        goto row_end;
      if (c == delim) {
        state = TRACK_FIELD_START;
      } else if (c == '\r') {
        state = TRACK_CR;
      } else if (s->trim && (c == ' ' || c == '\t')) {
        s->spaces_after_quote = true;
      } else if (c == quote && !s->spaces_after_quote) {
        state = TRACK_QUOTED; /* a doubled quote */
      } else if (s->strict) {
        state = TRACK_UNQUOTED; /* a fault, read on as said above */
      } else if (c == quote) {
        /* libcsv keeps `"a" "` as a literal quote and stays here. */
        s->spaces_after_quote = false;
      } else {
        state = TRACK_QUOTED; /* lenient: the quote was data */
      }
      break;
    case TRACK_CR:
      if (c != '\n')
        p--; /* a lone CR: it ends the row, and this byte is the next's */
      goto row_end;
    }
    p++;
  }
  s->state = state;
  return NULL;
row_end:
  s->state = state;
  return p;
}

/* Finds the byte ending the current row (see track). Most rows have no
 * quote and no lone CR: a scan settles them without the byte loop. */
static const char *find_row_end(csv_stream_t *s, const char *p,
                                const char *end) {
  s->row_ends_held = false;
  if (s->state == TRACK_CR) {
    /* The bytes held end in a CR: the LF of a CRLF ends the row here; any
     * other byte begins the next row, and the CR held ended this one. */
    s->row_ends_held = *p != '\n';
    return p;
  }
  if (s->state == TRACK_FIELD_START || s->state == TRACK_UNQUOTED) {
    const char *lf = csv_scan_row(p, end, s->quote);
    if (lf) {
      /* All of the row when none of it was held from an earlier feed. */
      s->row_quote_free = s->row_len == 0 && s->state == TRACK_FIELD_START;
      return lf;
    }
  }
  return track(s, p, end);
}

static int process(csv_stream_t *s, const char *bytes, size_t len,
                   const csv_stream_handlers_t *h) {
  const char *p = bytes, *end = bytes + len;
  while (p < end) {
    if (!s->in_row) {
      s->in_row = true;
      s->row_line = s->line;
      s->state = TRACK_FIELD_START;
      s->row_len = 0;
      s->row_quote_free = false;
    }
    const char *nl = find_row_end(s, p, end);
    if (!nl)
      return hold(s, p, (size_t)(end - p));

    size_t seg = (size_t)(nl - p);
    int rc;
    if (s->row_len == 0) {
      /* The whole row is in this feed: split it where it lies. */
      rc = end_row(s, p, seg, seg, true, h);
    } else {
      rc = hold(s, p, seg);
      if (rc == 0)
        rc = end_row(s, s->carry.data, s->carry.len, s->row_len, false, h);
      pl_buf_reset(&s->carry);
    }
    s->line++;
    s->in_row = false;
    p = s->row_ends_held ? nl : nl + 1;
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Drops a BOM at the start of input, which may arrive a byte at a time. */
static int feed_input(csv_stream_t *s, const char *bytes, size_t len,
                      const csv_stream_handlers_t *h) {
  if (!s->bom_done) {
    while (len > 0 && s->bom_matched < sizeof(utf8_bom) &&
           (unsigned char)*bytes == utf8_bom[s->bom_matched]) {
      s->bom_matched++;
      bytes++;
      len--;
    }
    if (s->bom_matched == sizeof(utf8_bom)) {
      s->bom_done = true;
    } else if (len > 0) {
      /* Not a BOM after all: the bytes held back are data. */
      s->bom_done = true;
      int rc = process(s, (const char *)utf8_bom, s->bom_matched, h);
      if (rc != 0)
        return rc;
    } else {
      return 0; /* still undecided */
    }
  }
  return process(s, bytes, len, h);
}

int csv_stream_feed(csv_stream_t *s, const char *bytes, size_t len,
                    const csv_stream_handlers_t *h) {
  if (!s || !h || !h->on_row || (len > 0 && !bytes) || s->failed)
    return PL_EINVAL;
  int rc = feed_input(s, bytes, len, h);
  if (rc != 0)
    s->failed = true;
  return rc;
}

int csv_stream_finish(csv_stream_t *s, const csv_stream_handlers_t *h) {
  if (!s || !h || !h->on_row || s->failed)
    return PL_EINVAL;
  int rc = 0;
  if (!s->bom_done && s->bom_matched < sizeof(utf8_bom)) {
    s->bom_done = true;
    rc = process(s, (const char *)utf8_bom, s->bom_matched, h);
  }
  if (rc == 0 && s->in_row) {
    size_t have = s->carry.len;
    if (s->state == TRACK_QUOTED) {
      /* A stray quote takes the rest of the input into one row: say how
       * much, since the letter holds max_row_bytes of it at most. */
      size_t kept = have < s->max_row_bytes ? have : s->max_row_bytes;
      snprintf(s->reason, sizeof(s->reason),
               "unterminated quoted field: %llu bytes to the end of input%s",
               (unsigned long long)s->row_len,
               kept < s->row_len ? " (max_row_bytes kept)" : "");
      rc = report_bad(s, h, s->carry.data, kept, s->reason);
    } else {
      rc = end_row(s, s->carry.data, have, s->row_len, false, h);
    }
  }
  reset_input(s);
  if (rc != 0)
    s->failed = true;
  return rc;
}
