/* libFuzzer harness for transform-csv's pieces, without the engine: the
 * streaming reader (csv_stream.c, csv_scan.c), then the core's typed
 * columns (src/schema.c, schema_value.c, timestamp.c) and the row objects,
 * recycled or not
 * (csv_row_object.c, csv_row_pool.c), as transform_csv.c chains them.
 *
 * Input: a header of 6 bytes, a line of column specs, then the CSV.
 *   [0] flags: 1 trim, 2 lenient quotes, 4 first row is a header,
 *       8 stop (a callback returns PL_ECANCELED) at row [5]
 *   [1] delimiter, [2] quote: 0..7 pick a usual one, other values are
 *       the character itself (impossible pairs must be PL_EINVAL)
 *   [3] max_row_bytes: 0 the default, else that many bytes
 *   [4] chunking: the seed of the feed sizes, 1..([4] % 32 + 1) bytes
 *   [5] the row to stop at when flag 8 is set
 *   then specs separated by spaces up to the first LF ("id:int:required
 *   name:string"); an invalid list must be PL_EPARSE with a reason.
 *
 * The CSV is read twice: in one feed and in the chunks above. Everything
 * the callbacks see is logged as text and the two logs must be equal (the
 * reader promises that chunking changes nothing). Each row and bad row is
 * checked: lines increase, raw text lies in the input and within
 * max_row_bytes, fields are NUL-terminated and no longer than the row.
 * In the chunked pass each row also becomes a JSON object through the row
 * pool; it must equal one built afresh and validate against its columns,
 * and a few objects are held for a while so that the pool both refills
 * and builds. */
#define _GNU_SOURCE /* memmem */
#include "csv_row_object.h"
#include "csv_row_pool.h"
#include "csv_stream.h"

#include <pipelined/schema.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER_BYTES 6
#define HELD 3 /* objects the harness keeps, so the pool is not always free */

typedef struct run {
  const char *input; /* the CSV, for the substring check */
  size_t input_len;
  size_t max_row_bytes;
  uint64_t lines; /* LFs and CRs in the input + 1: no row starts after */
  uint64_t last_line;
  size_t events;
  size_t stop_at; /* 0: never */
  pl_buf_t log;
  /* Typed rows (chunked pass only). */
  bool typed;
  bool header;
  bool header_seen;
  bool header_failed; /* then transform_csv.c rejects every row */
  const pl_schema_t *configured;
  pl_schema_t *from_header;
  csv_row_pool_t *pool;
  json_t *held[HELD];
  size_t held_next;
  pl_buf_t reason;
} run_t;

/* Stops the run at the first broken promise, naming the check's line. */
static void check_at(bool ok, int line) {
  if (!ok) {
    fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    abort();
  }
}
#define check(ok) check_at((ok), __LINE__)

static bool is_utf8_text(const char *text) {
  /* Reasons quote the data escaped: valid UTF-8, no control bytes. */
  const unsigned char *p = (const unsigned char *)text;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f)
      return false;
    size_t n = *p < 0x80             ? 1
               : (*p & 0xE0) == 0xC0 ? 2
               : (*p & 0xF0) == 0xE0 ? 3
               : (*p & 0xF8) == 0xF0 ? 4
                                     : 0;
    if (n == 0 || (n == 2 && *p < 0xC2))
      return false;
    for (size_t i = 1; i < n; i++)
      if ((p[i] & 0xC0) != 0x80)
        return false;
    p += n;
  }
  return true;
}

/* Checks common to rows and bad rows; returns the stop code. */
static int event(run_t *r, uint64_t line, const char *raw, size_t raw_len) {
  check(line >= 1 && line <= r->lines && line > r->last_line);
  r->last_line = line;
  check(raw_len <= r->max_row_bytes);
  check(raw_len == 0 || raw != NULL);
  check(raw_len == 0 || memmem(r->input, r->input_len, raw, raw_len) != NULL);
  r->events++;
  return r->stop_at && r->events == r->stop_at ? PL_ECANCELED : 0;
}

static void check_reason(const pl_buf_t *reason) {
  check(reason->data && reason->len > 0 && strlen(reason->data) == reason->len);
  check(is_utf8_text(reason->data));
}

static void hold(run_t *r, json_t *value) {
  json_decref(r->held[r->held_next]);
  r->held[r->held_next] = value;
  r->held_next = (r->held_next + 1) % HELD;
}

static void typed_row(run_t *r, const csv_row_t *row) {
  if (r->header && !r->header_seen) {
    r->header_seen = true;
    int rc = pl_schema_create_from_header(row->fields, row->lens, row->count,
                                          r->configured, &r->from_header,
                                          &r->reason);
    check(rc == 0 || rc == PL_EPARSE);
    if (rc == 0) {
      check(pl_schema_count(r->from_header) == row->count);
    } else {
      check_reason(&r->reason);
      r->header_failed = true;
    }
    return;
  }
  if (r->header_failed)
    return;
  const pl_schema_t *cols = r->from_header ? r->from_header : r->configured;
  if (!cols || memchr(row->raw, '\0', row->raw_len))
    return; /* transform_csv.c rejects a row with a NUL before this */
  json_t *value = NULL;
  int rc = csv_row_pool_build(r->pool, cols, row->fields, row->lens, row->count,
                              &value, &r->reason);
  json_t *fresh = NULL;
  pl_buf_t fresh_reason = {0};
  int fresh_rc = csv_row_object_build(cols, row->fields, row->lens, row->count,
                                      &fresh, &fresh_reason);
  check(rc == fresh_rc);
  if (rc == 0) {
    check(json_is_object(value) &&
          json_object_size(value) == pl_schema_count(cols));
    check(json_equal(value, fresh));
    check(pl_schema_validate(cols, value, &r->reason) == 0);
    hold(r, value);
  } else {
    check(rc == PL_EPARSE || rc == PL_ERANGE);
    check(!value);
    if (rc == PL_EPARSE) {
      check_reason(&r->reason);
      check(strcmp(r->reason.data, fresh_reason.data) == 0);
    }
  }
  json_decref(fresh);
  pl_buf_free(&fresh_reason);
}

static int on_row(void *data, const csv_row_t *row) {
  run_t *r = data;
  int rc = event(r, row->line, row->raw, row->raw_len);
  check(row->count >= 1 && row->count <= row->raw_len + 1);
  size_t total = 0;
  pl_buf_printf(&r->log, "R%llu", (unsigned long long)row->line);
  for (size_t i = 0; i < row->count; i++) {
    check(row->fields[i] && row->fields[i][row->lens[i]] == '\0');
    total += row->lens[i];
    pl_buf_append_str(&r->log, "|");
    pl_buf_append(&r->log, row->fields[i], row->lens[i]);
  }
  check(total <= row->raw_len);
  pl_buf_append_str(&r->log, " raw=");
  pl_buf_append(&r->log, row->raw, row->raw_len);
  pl_buf_append_str(&r->log, "\n");
  if (r->typed)
    typed_row(r, row);
  return rc;
}

static int on_bad_row(void *data, const csv_bad_row_t *bad) {
  run_t *r = data;
  int rc = event(r, bad->line, bad->raw, bad->raw_len);
  check(bad->reason && bad->reason[0] && strlen(bad->reason) < 96);
  if (r->typed && r->header && !r->header_seen) {
    r->header_seen = true; /* a bad header: every row is then rejected */
    r->header_failed = true;
  }
  pl_buf_printf(&r->log, "E%llu %s raw=", (unsigned long long)bad->line,
                bad->reason);
  pl_buf_append(&r->log, bad->raw, bad->raw_len);
  pl_buf_append_str(&r->log, "\n");
  return rc;
}

/* Feeds the input in pieces of 1..max_piece bytes (all at once when 0),
 * then finishes, stopping at the first non-zero code. */
static int feed_all(csv_stream_t *s, run_t *r, unsigned seed,
                    size_t max_piece) {
  const csv_stream_handlers_t h = {on_row, on_bad_row, r};
  size_t pos = 0;
  while (pos < r->input_len) {
    size_t n = r->input_len - pos;
    if (max_piece) {
      seed = seed * 1103515245u + 12345u;
      size_t piece = 1 + (seed >> 8) % max_piece;
      if (piece < n)
        n = piece;
    }
    int rc = csv_stream_feed(s, r->input + pos, n, &h);
    if (rc != 0) {
      check(rc == PL_ECANCELED);
      check(csv_stream_feed(s, "x", 1, &h) == PL_EINVAL);
      check(csv_stream_finish(s, &h) == PL_EINVAL);
      return rc;
    }
    pos += n;
  }
  int rc = csv_stream_finish(s, &h);
  check(rc == 0 || rc == PL_ECANCELED);
  return rc;
}

static char pick_char(uint8_t b) {
  static const char usual[8] = {0, ',', ';', '\t', '|', '"', '\'', ' '};
  return b < 8 ? usual[b] : (char)b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < HEADER_BYTES)
    return 0;
  const uint8_t flags = data[0];
  csv_stream_options_t opts = {
      .delimiter = pick_char(data[1]),
      .quote = pick_char(data[2]),
      .max_row_bytes = data[3],
      .trim_spaces = flags & 1,
      .lenient_quotes = flags & 2,
  };
  const char *text = (const char *)data + HEADER_BYTES;
  size_t text_len = size - HEADER_BYTES;
  const char *lf = memchr(text, '\n', text_len);
  size_t specs_len = lf ? (size_t)(lf - text) : text_len;
  const char *csv = lf ? lf + 1 : text + text_len;
  size_t csv_len = (size_t)(text + text_len - csv);

  /* The column specs, split at spaces. */
  char *spec_text = strndup(text, specs_len);
  char *specs[16];
  size_t nspecs = 0;
  for (char *save = NULL, *tok = strtok_r(spec_text, " ", &save);
       tok && nspecs < 16; tok = strtok_r(NULL, " ", &save))
    specs[nspecs++] = tok;
  pl_schema_t *configured = NULL;
  pl_buf_t reason = {0};
  if (nspecs > 0) {
    int rc = pl_schema_create((const char *const *)specs, nspecs, &configured,
                              &reason);
    check(rc == 0 || rc == PL_EPARSE);
    if (rc == 0) {
      check(pl_schema_count(configured) == nspecs);
    } else {
      check(!configured);
      check_reason(&reason);
    }
  }

  char delim = opts.delimiter ? opts.delimiter : ',';
  char quote = opts.quote ? opts.quote : '"';
  bool impossible = delim == '\r' || delim == '\n' || quote == '\r' ||
                    quote == '\n' || delim == quote ||
                    (opts.trim_spaces && (quote == ' ' || quote == '\t'));
  csv_stream_t *whole = NULL, *chunked = NULL;
  int rc = csv_stream_create(&opts, &whole);
  check(impossible ? rc == PL_EINVAL : rc == 0);
  if (rc == 0) {
    check(csv_stream_create(&opts, &chunked) == 0);
    uint64_t lines = 1;
    for (size_t i = 0; i < csv_len; i++)
      lines += csv[i] == '\n' || csv[i] == '\r';
    run_t a = {.input = csv,
               .input_len = csv_len,
               .max_row_bytes = opts.max_row_bytes
                                    ? opts.max_row_bytes
                                    : CSV_STREAM_DEFAULT_MAX_ROW_BYTES,
               .lines = lines,
               .stop_at = flags & 8 ? (size_t)data[5] + 1 : 0};
    run_t b = a;
    b.typed = true;
    b.header = flags & 4;
    b.configured = configured;
    check(csv_row_pool_create(&b.pool) == 0);
    int rc_a = feed_all(whole, &a, 0, 0);
    int rc_b = feed_all(chunked, &b, data[4], data[4] % 32 + 1);
    check(rc_a == rc_b && a.events == b.events);
    check(a.log.len == b.log.len &&
          (a.log.len == 0 || memcmp(a.log.data, b.log.data, a.log.len) == 0));
    if (rc_b == 0) {
      /* The stream is reset for a new input: lines restart at 1. */
      check(csv_stream_line(chunked) == 1);
    }
    pl_buf_free(&a.log);
    pl_buf_free(&b.log);
    pl_buf_free(&b.reason);
    for (size_t i = 0; i < HELD; i++)
      json_decref(b.held[i]);
    csv_row_pool_destroy(b.pool);
    pl_schema_destroy(b.from_header);
  }
  csv_stream_destroy(whole);
  csv_stream_destroy(chunked);
  pl_schema_destroy(configured);
  pl_buf_free(&reason);
  free(spec_text);
  return 0;
}
