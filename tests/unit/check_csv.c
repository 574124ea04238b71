/* Unit tests of the CSV reader (csv_stream), the row objects typed by the
 * core's columns (csv_row_object) and their recycling (csv_row_pool) of
 * the transform-csv plugin. The columns themselves are check_schema's. */
#include <pipelined/schema.h>
#include "csv_row_object.h"
#include "csv_row_pool.h"
#include "csv_scan.h"
#include "csv_stream.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

/* ---- Helpers ---- */

/* Everything the handlers saw, as text, so that two runs over the same
 * input can be compared whole (chunking must not change a byte of it). */
typedef struct collect {
  pl_buf_t log;
  size_t rows;
  size_t bad;
  int stop_code; /* returned by on_row when non-zero */
} collect_t;

static int collect_row(void *data, const csv_row_t *row) {
  collect_t *c = data;
  c->rows++;
  pl_buf_printf(&c->log, "R%llu", (unsigned long long)row->line);
  for (size_t i = 0; i < row->count; i++) {
    ck_assert_uint_eq(strlen(row->fields[i]), row->lens[i]);
    pl_buf_append_str(&c->log, "|");
    pl_buf_append(&c->log, row->fields[i], row->lens[i]);
  }
  pl_buf_append_str(&c->log, " raw=");
  pl_buf_append(&c->log, row->raw, row->raw_len);
  pl_buf_append_str(&c->log, "\n");
  return c->stop_code;
}

static int collect_bad(void *data, const csv_bad_row_t *bad) {
  collect_t *c = data;
  c->bad++;
  pl_buf_printf(&c->log, "E%llu %s raw=", (unsigned long long)bad->line,
                bad->reason);
  pl_buf_append(&c->log, bad->raw, bad->raw_len);
  pl_buf_append_str(&c->log, "\n");
  return 0;
}

/* Parses `input` fed in pieces: chunk 0 means one feed, otherwise pieces of
 * `chunk` bytes, or random sizes 1..-chunk when chunk is negative. Returns
 * the log (caller frees). */
static char *parse_with(const csv_stream_options_t *opts, const char *input,
                        size_t len, long chunk, unsigned seed, size_t *rows,
                        size_t *bad) {
  csv_stream_t *s;
  ck_assert_int_eq(csv_stream_create(opts, &s), 0);
  collect_t c = {0};
  csv_stream_handlers_t h = {
      .on_row = collect_row, .on_bad_row = collect_bad, .data = &c};
  size_t pos = 0;
  while (pos < len) {
    size_t n = len - pos;
    if (chunk > 0 && (size_t)chunk < n)
      n = (size_t)chunk;
    if (chunk < 0) {
      seed = seed * 1103515245u + 12345u;
      size_t r = 1 + (seed >> 8) % (size_t)(-chunk);
      if (r < n)
        n = r;
    }
    ck_assert_int_eq(csv_stream_feed(s, input + pos, n, &h), 0);
    pos += n;
  }
  ck_assert_int_eq(csv_stream_finish(s, &h), 0);
  csv_stream_destroy(s);
  if (rows)
    *rows = c.rows;
  if (bad)
    *bad = c.bad;
  pl_buf_append_str(&c.log, ""); /* a NUL-terminated string even if empty */
  return c.log.data;
}

static char *parse(const csv_stream_options_t *opts, const char *input) {
  return parse_with(opts, input, strlen(input), 0, 0, NULL, NULL);
}

#define ck_assert_parse(opts, input, expected)                                 \
  do {                                                                         \
    char *log_ = parse((opts), (input));                                       \
    ck_assert_str_eq(log_, (expected));                                        \
    free(log_);                                                                \
  } while (0)

static pl_schema_t *columns(const char *const *specs, size_t count) {
  pl_schema_t *cols = NULL;
  pl_buf_t reason = {0};
  int rc = pl_schema_create(specs, count, &cols, &reason);
  ck_assert_msg(rc == 0, "columns: %s", reason.data ? reason.data : "?");
  pl_buf_free(&reason);
  return cols;
}

static const char *const inventory_specs[] = {
    "product_id:string:required", "location:string", "quantity:int",
    "update_date:date"};
#define INVENTORY_COUNT 4

/* ---- The sample file ---- */

typedef struct sample {
  pl_schema_t *typed;
  pl_schema_t *cols; /* from the header */
  json_t *rows;
  uint64_t last_line;
  size_t bad;
} sample_t;

static int sample_row(void *data, const csv_row_t *row) {
  sample_t *st = data;
  pl_buf_t reason = {0};
  if (!st->cols) {
    ck_assert_uint_eq(row->line, 1);
    int rc = pl_schema_create_from_header(row->fields, row->lens, row->count,
                                     st->typed, &st->cols, &reason);
    ck_assert_msg(rc == 0, "header: %s", reason.data);
  } else {
    json_t *obj = NULL;
    int rc = csv_row_object_build(st->cols, row->fields, row->lens,
                                   row->count, &obj, &reason);
    ck_assert_msg(rc == 0, "line %llu: %s", (unsigned long long)row->line,
                  reason.data);
    json_array_append_new(st->rows, obj);
    st->last_line = row->line;
  }
  pl_buf_free(&reason);
  return 0;
}

static int sample_bad(void *data, const csv_bad_row_t *bad) {
  ((sample_t *)data)->bad++;
  return 0;
}

static char *read_sample(size_t *len) {
  /* The test data is in the repository, tests/data (make check sets
   * PIPELINED_TEST_DATA). */
  const char *data_dir = getenv("PIPELINED_TEST_DATA");
  pl_buf_t path = {0};
  pl_buf_printf(&path, "%s/sample_inventory.csv",
                data_dir && *data_dir ? data_dir : "tests/data");
  FILE *f = fopen(path.data, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path.data);
  pl_buf_free(&path);
  pl_buf_t data = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    pl_buf_append(&data, chunk, n);
  fclose(f);
  *len = data.len;
  return data.data;
}

START_TEST(test_sample_file) {
  size_t len;
  char *input = read_sample(&len);
  /* Same result whether the file comes in one piece or in odd pieces. */
  const long chunks[] = {0, 1, 7, -50};
  for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
    sample_t st = {.typed = columns(inventory_specs, INVENTORY_COUNT),
                   .rows = json_array()};
    csv_stream_t *s;
    ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
    csv_stream_handlers_t h = {
        .on_row = sample_row, .on_bad_row = sample_bad, .data = &st};
    size_t pos = 0;
    unsigned seed = 42;
    while (pos < len) {
      size_t n = len - pos;
      if (chunks[k] > 0 && (size_t)chunks[k] < n)
        n = (size_t)chunks[k];
      if (chunks[k] < 0) {
        seed = seed * 1103515245u + 12345u;
        size_t r = 1 + (seed >> 8) % 50;
        n = r < n ? r : n;
      }
      ck_assert_int_eq(csv_stream_feed(s, input + pos, n, &h), 0);
      pos += n;
    }
    ck_assert_int_eq(csv_stream_finish(s, &h), 0);
    csv_stream_destroy(s);

    ck_assert_uint_eq(json_array_size(st.rows), 21);
    ck_assert_uint_eq(st.bad, 0);
    ck_assert_uint_eq(st.last_line, 22);
    json_t *want = json_pack("{s:s, s:s, s:i, s:s}", "product_id", "P001",
                             "location", "Warehouse A", "quantity", 100,
                             "update_date", "2023-05-01");
    ck_assert(json_equal(json_array_get(st.rows, 0), want));
    json_decref(want);
    want = json_pack("{s:s, s:s, s:i, s:s}", "product_id", "P0021",
                     "location", "Warehouse C", "quantity", 50,
                     "update_date", "2023-05-03");
    ck_assert(json_equal(json_array_get(st.rows, 20), want));
    json_decref(want);
    /* Each row is valid against the same columns. */
    for (size_t i = 0; i < json_array_size(st.rows); i++)
      ck_assert_int_eq(
          pl_schema_validate(st.cols, json_array_get(st.rows, i), NULL), 0);

    ck_assert_uint_eq(pl_schema_count(st.cols), 4);
    ck_assert_int_eq(pl_schema_column(st.cols, 2)->type, PL_SCHEMA_INT);
    ck_assert(pl_schema_column(st.cols, 0)->required);
    ck_assert_ptr_null(pl_schema_column(st.cols, 4));
    json_decref(st.rows);
    pl_schema_destroy(st.cols);
    pl_schema_destroy(st.typed);
  }
  free(input);
}
END_TEST

/* ---- Stream syntax ---- */

/* Between feeds the stream says where a resumed read may take it up: the
 * first byte of the partial row it holds, and that row's line. */
START_TEST(test_position_and_resume) {
  csv_stream_t *s;
  ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
  collect_t c = {0};
  csv_stream_handlers_t h = {collect_row, collect_bad, &c};
  uint64_t held = 99, line = 0;
  csv_stream_position(s, &held, &line);
  ck_assert_uint_eq(held, 0);
  ck_assert_uint_eq(line, 1);
  /* "\xEF\xBB" may still be a BOM: held. */
  ck_assert_int_eq(csv_stream_feed(s, "\xEF\xBB", 2, &h), 0);
  csv_stream_position(s, &held, &line);
  ck_assert_uint_eq(held, 2);
  ck_assert_int_eq(csv_stream_set_line(s, 5), PL_EINVAL);
  const char *text = "\xBF" "a,b\n\"x\ny\",2\n\"p\nq";
  ck_assert_int_eq(csv_stream_feed(s, text, strlen(text), &h), 0);
  /* Rows of lines 1 and 2 (2-3) are out; the row from line 4 is held. */
  ck_assert_uint_eq(c.rows, 2);
  csv_stream_position(s, &held, &line);
  ck_assert_uint_eq(held, strlen("\"p\nq"));
  ck_assert_uint_eq(line, 4);
  ck_assert_int_eq(csv_stream_set_line(s, 40), PL_EINVAL);
  ck_assert_int_eq(csv_stream_feed(s, "\",3\n", 4, &h), 0);
  csv_stream_position(s, &held, &line);
  ck_assert_uint_eq(held, 0);
  ck_assert_uint_eq(line, 6);
  /* Taken up at line 40: rows count from there, and no BOM is looked for. */
  ck_assert_int_eq(csv_stream_set_line(s, 40), 0);
  ck_assert_int_eq(csv_stream_set_line(s, 0), PL_EINVAL);
  ck_assert_int_eq(csv_stream_feed(s, "\xEF\xBB\xBFz,9\n", 7, &h), 0);
  ck_assert_int_eq(csv_stream_finish(s, &h), 0);
  ck_assert_uint_eq(c.rows, 4);
  ck_assert_ptr_nonnull(strstr(c.log.data, "R4|p\nq|3"));
  ck_assert_ptr_nonnull(strstr(c.log.data, "R40|\xEF\xBB\xBFz|9"));
  pl_buf_free(&c.log);
  csv_stream_destroy(s);
}
END_TEST

START_TEST(test_bom_crlf) {
  ck_assert_parse(NULL, "\xEF\xBB\xBFid,name\r\n1,a\r\n2,b\r\n",
                  "R1|id|name raw=id,name\n"
                  "R2|1|a raw=1,a\n"
                  "R3|2|b raw=2,b\n");
  /* Only at the very start; a BOM-like prefix that is not one is data. */
  ck_assert_parse(NULL, "a\n\xEF\xBB\xBF" "b\n",
                  "R1|a raw=a\nR2|\xEF\xBB\xBF" "b raw=\xEF\xBB\xBF" "b\n");
  ck_assert_parse(NULL, "\xEF\xBBx\n", "R1|\xEF\xBBx raw=\xEF\xBBx\n");
  ck_assert_parse(NULL, "\xEF\xBB", "R1|\xEF\xBB raw=\xEF\xBB\n");
  ck_assert_parse(NULL, "\xEF\xBB\xBF", "");
  /* A lone CR ends a row too (test_lone_cr_rows): here a row, a row, and
   * an empty line. */
  ck_assert_parse(NULL, "a\rb,c\r\r\n", "R1|a raw=a\nR2|b|c raw=b,c\n");
  /* A CRLF after a closing quote. */
  ck_assert_parse(NULL, "\"x\",\"y\"\r\nz\r\n",
                  "R1|x|y raw=\"x\",\"y\"\nR2|z raw=z\n");
}
END_TEST

START_TEST(test_quoted_fields) {
  const char *input = "id,text\n"
                      "1,\"a,b\"\n"
                      "2,\"say \"\"hi\"\"\"\n"
                      "3,\"line1\nline2\r\nline3\"\n"
                      "4,\"\"\n"
                      "5,end\n";
  ck_assert_parse(NULL, input,
                  "R1|id|text raw=id,text\n"
                  "R2|1|a,b raw=1,\"a,b\"\n"
                  "R3|2|say \"hi\" raw=2,\"say \"\"hi\"\"\"\n"
                  "R4|3|line1\nline2\r\nline3 raw=3,\"line1\nline2\r\nline3\"\n"
                  "R7|4| raw=4,\"\"\n"
                  "R8|5|end raw=5,end\n");
  /* A quoted field that is only a line break, and a quoted delimiter. */
  ck_assert_parse(NULL, "\"\n\",\",\"\nx\n",
                  "R1|\n|, raw=\"\n\",\",\"\nR3|x raw=x\n");
}
END_TEST

START_TEST(test_blank_lines) {
  /* Lines of blanks are rows without trim (test_space_lines_are_rows). */
  csv_stream_options_t trim = {.trim_spaces = true};
  ck_assert_parse(&trim, "\na\n\n\r\n   \n\t\r\nb\n\n\n",
                  "R2|a raw=a\nR7|b raw=b\n");
  ck_assert_parse(NULL, "\na\n\n\r\n   \n\t\r\nb\n\n\n",
                  "R2|a raw=a\nR5|    raw=   \nR6|\t raw=\t\nR7|b raw=b\n");
  /* Blank only if nothing else: an empty quoted field is a row. */
  ck_assert_parse(NULL, "\"\"\n", "R1| raw=\"\"\n");
  /* With tab as delimiter a line of tabs is a row of empty fields, even
   * trimming. */
  csv_stream_options_t tsv = {.delimiter = '\t', .trim_spaces = true};
  ck_assert_parse(&tsv, "\t\n \n", "R1|| raw=\t\n");
  ck_assert_parse(NULL, "", "");
  ck_assert_parse(NULL, "\n\n", "");
}
END_TEST

START_TEST(test_missing_final_newline) {
  ck_assert_parse(NULL, "a,b\n1,2", "R1|a|b raw=a,b\nR2|1|2 raw=1,2\n");
  ck_assert_parse(NULL, "a,b\r\n1,2\r", "R1|a|b raw=a,b\nR2|1|2 raw=1,2\n");
  ck_assert_parse(NULL, "\"q\"", "R1|q raw=\"q\"\n");
  ck_assert_parse(NULL, "x,", "R1|x| raw=x,\n");
}
END_TEST

START_TEST(test_unterminated_quote) {
  ck_assert_parse(NULL, "a,b\n1,\"open\nmore\n",
                  "R1|a|b raw=a,b\n"
                  "E2 unterminated quoted field: 13 bytes to the end of "
                  "input raw=1,\"open\nmore\n\n");
  /* The stream is reset by finish and usable again. */
  csv_stream_t *s;
  ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
  collect_t c = {0};
  csv_stream_handlers_t h = {
      .on_row = collect_row, .on_bad_row = collect_bad, .data = &c};
  ck_assert_int_eq(csv_stream_feed(s, "x\n\"y", 4, &h), 0);
  ck_assert_uint_eq(csv_stream_line(s), 2);
  ck_assert_int_eq(csv_stream_finish(s, &h), 0);
  ck_assert_uint_eq(csv_stream_line(s), 1);
  ck_assert_int_eq(csv_stream_feed(s, "\xEF\xBB\xBFz\n", 5, &h), 0);
  ck_assert_int_eq(csv_stream_finish(s, &h), 0);
  ck_assert_str_eq(c.log.data, "R1|x raw=x\n"
                               "E2 unterminated quoted field: 2 bytes to the "
                               "end of input raw=\"y\n"
                               "R1|z raw=z\n");
  csv_stream_destroy(s);
  pl_buf_free(&c.log);
}
END_TEST

START_TEST(test_other_delimiters) {
  csv_stream_options_t semi = {.delimiter = ';'};
  ck_assert_parse(&semi, "a;\"b;c\";d,e\n", "R1|a|b;c|d,e raw=a;\"b;c\";d,e\n");
  csv_stream_options_t tsv = {.delimiter = '\t'};
  ck_assert_parse(&tsv, "a\tb\t\tc d\n", "R1|a|b||c d raw=a\tb\t\tc d\n");
  csv_stream_options_t single = {.delimiter = '|', .quote = '\''};
  ck_assert_parse(&single, "'x|y'|'it''s'|\"z\"\n'a\nb'\n",
                  "R1|x|y|it's|\"z\" raw='x|y'|'it''s'|\"z\"\n"
                  "R2|a\nb raw='a\nb'\n");
  /* A blank as delimiter: the other blank and edge blanks are data. */
  csv_stream_options_t space = {.delimiter = ' '};
  ck_assert_parse(&space, "a  b\t\n\tc d\n",
                  "R1|a||b\t raw=a  b\t\nR2|\tc|d raw=\tc d\n");
}
END_TEST

START_TEST(test_trim_and_strict) {
  csv_stream_options_t trim = {.trim_spaces = true};
  ck_assert_parse(&trim, " a , \"b, c\" ,c d \n",
                  "R1|a|b, c|c d raw= a , \"b, c\" ,c d \n");
  /* Without trimming spaces are data. */
  ck_assert_parse(NULL, " a ,b \n", "R1| a |b  raw= a ,b \n");
  /* A row without quotes is split at its delimiters (without libcsv):
   * empty fields at both ends and between, and more fields than the
   * reader first has room for. */
  ck_assert_parse(NULL, ",a,,\tb ,\n,\n",
                  "R1||a||\tb | raw=,a,,\tb ,\nR2|| raw=,\n");
  ck_assert_parse(NULL, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19\n",
                  "R1|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19 "
                  "raw=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19\n");

  /* Strict (default): bad quoting makes a bad row, which still ends where
   * its quotes say: the quoted field opened after the fault holds its line
   * feed (test_stray_quote_keeps_quoted_lines). */
  ck_assert_parse(NULL, "a,b\"c,d\n\"x\"y,\"2\n3\"\nok\n \"q\"\n",
                  "E1 malformed quoting in field 2 (byte 4 of the row) "
                  "raw=a,b\"c,d\n"
                  "E2 malformed quoting in field 1 (byte 4 of the row, lines "
                  "2-3) raw=\"x\"y,\"2\n3\"\n"
                  "R4|ok raw=ok\n"
                  "E5 malformed quoting in field 1 (byte 2 of the row) "
                  "raw= \"q\"\n");
  /* Lenient: libcsv's non-strict rules. */
  csv_stream_options_t lenient = {.lenient_quotes = true};
  ck_assert_parse(&lenient, "a,b\"c,d\n\"a\"b\",c\nnext\n \"q\"\n",
                  "R1|a|b\"c|d raw=a,b\"c,d\n"
                  "R2|a\"b|c raw=\"a\"b\",c\n"
                  "R3|next raw=next\n"
                  "R4| \"q\" raw= \"q\"\n");
  /* ...where text after a closing quote reopens the field. */
  ck_assert_parse(&lenient, "\"x\"y,1\n2\n",
                  "E1 unterminated quoted field: 9 bytes to the end of "
                  "input raw=\"x\"y,1\n2\n\n");
  /* Trimmed blanks after a closing quote are fine even when strict. */
  ck_assert_parse(&trim, "\"x\"  ,\"y\" \r\n",
                  "R1|x|y raw=\"x\"  ,\"y\" \n");
}
END_TEST

START_TEST(test_overlong_row) {
  csv_stream_options_t opts = {.max_row_bytes = 16};
  char input[512];
  char big[101];
  memset(big, 'x', 100);
  big[100] = '\0';
  snprintf(input, sizeof(input),
           "short,1\n%s\nok,2\n\"quoted\n%s\nfield\",3\nlast,4\n"
           "exactly16bytes!!\r\n",
           big, big);
  size_t rows = 0, bad = 0;
  char *whole = parse_with(&opts, input, strlen(input), 0, 0, &rows, &bad);
  ck_assert_str_eq(whole,
                   "R1|short|1 raw=short,1\n"
                   "E2 row is longer than max_row_bytes (16) "
                   "raw=xxxxxxxxxxxxxxxx\n"
                   "R3|ok|2 raw=ok,2\n"
                   "E4 row is longer than max_row_bytes (16) "
                   "raw=\"quoted\nxxxxxxxx\n"
                   "R7|last|4 raw=last,4\n"
                   "R8|exactly16bytes!! raw=exactly16bytes!!\n");
  ck_assert_uint_eq(rows, 4);
  ck_assert_uint_eq(bad, 2);
  /* The same across feeds: the row is never held whole. */
  char *bytewise = parse_with(&opts, input, strlen(input), 1, 0, NULL, NULL);
  ck_assert_str_eq(whole, bytewise);
  free(whole);
  free(bytewise);
  /* An overlong last row without newline, and an overlong open quote. */
  ck_assert_parse(&opts, "ok\n01234567890123456789",
                  "R1|ok raw=ok\nE2 row is longer than max_row_bytes (16) "
                  "raw=0123456789012345\n");
  ck_assert_parse(&opts, "\"01234567890123456789",
                  "E1 unterminated quoted field: 21 bytes to the end of "
                  "input (max_row_bytes kept) raw=\"012345678901234\n");
}
END_TEST

/* Every input here is parsed whole, a byte at a time and in random pieces;
 * the logs must be identical. */
START_TEST(test_chunk_equivalence) {
  static const char input[] =
      "\xEF\xBB\xBFid,text,n\r\n"
      "1,\"a,b\",2\r\n"
      "\r\n"
      "2,\"multi\nline \"\"quoted\"\"\r\ntext\",3\n"
      "   \n"
      "3,\"x\"\r\n"
      "4,plain \"quote,5\n"
      "5,\"end\" ,6\n"
      "6,\"\"\"\",7\n"
      "7,0123456789012345678901234567890123456789,8\n"
      "8,\"trailing cr\"\r\r\n"
      "9,\"a\"\"\r\n\"\"b\",10\n"
      "10,last,\"no newline";
  const csv_stream_options_t variants[] = {
      {0},
      {.max_row_bytes = 24},
      {.lenient_quotes = true},
      {.trim_spaces = true},
      {.trim_spaces = true, .lenient_quotes = true, .max_row_bytes = 30},
  };
  size_t len = sizeof(input) - 1;
  for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
    /* Once with the unterminated last field and once with it closed. */
    for (int closed = 0; closed < 2; closed++) {
      char buf[sizeof(input) + 2];
      memcpy(buf, input, len);
      size_t n = len;
      if (closed)
        buf[n++] = '"';
      char *whole = parse_with(&variants[v], buf, n, 0, 0, NULL, NULL);
      ck_assert_ptr_nonnull(strstr(whole, "R1|id|text|n"));
      char *one = parse_with(&variants[v], buf, n, 1, 0, NULL, NULL);
      ck_assert_str_eq(whole, one);
      free(one);
      for (unsigned seed = 1; seed <= 40; seed++) {
        char *random = parse_with(&variants[v], buf, n, -(long)(seed % 13 + 2),
                                  seed, NULL, NULL);
        ck_assert_str_eq(whole, random);
        free(random);
      }
      free(whole);
    }
  }
  /* Spot-check the meaning, not just its stability. */
  char *log = parse_with(NULL, input, len, 0, 0, NULL, NULL);
  static const char *const expected[] = {
      "R1|id|text|n raw=id,text,n\n",
      "R2|1|a,b|2 raw=1,\"a,b\",2\n",
      "R4|2|multi\nline \"quoted\"\r\ntext|3 raw=",
      "R8|3|x raw=3,\"x\"\n",
      "E9 malformed quoting in field 2 (byte 9 of the row) raw=4,plain",
      "E10 malformed quoting in field 2 (byte 8 of the row) raw=5,\"end\" ,6\n",
      "R11|6|\"|7 raw=",
      "R12|7|0123456789012345678901234567890123456789|8 raw=",
      /* A CR after a closing quote ends the row, then an empty line. */
      "R13|8|trailing cr raw=8,\"trailing cr\"\n",
      "R15|9|a\"\r\n\"b|10 raw=",
      "E17 unterminated quoted field: ",
  };
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
    ck_assert_msg(strstr(log, expected[i]) != NULL, "no '%s' in:\n%s",
                  expected[i], log);
  free(log);
  csv_stream_options_t lenient = {.lenient_quotes = true};
  log = parse_with(&lenient, input, len, 0, 0, NULL, NULL);
  ck_assert_ptr_nonnull(strstr(log, "R9|4|plain \"quote|5 raw="));
  free(log);
}
END_TEST

/* Random tables written the RFC 4180 way must read back exactly, with the
 * right start lines, however the bytes are cut. */
START_TEST(test_roundtrip_random) {
  static const char *const alphabet[] = {"a", "b", " ", ",", "\"", "\r",
                                         "\n", "\t", ";", "\xC3\xA9"};
  unsigned seed = 12345;
#define NEXT(n) ((seed = seed * 1103515245u + 12345u), (seed >> 8) % (n))
  for (int table = 0; table < 300; table++) {
    pl_buf_t text = {0}, want = {0}, field = {0}, row = {0};
    uint64_t line = 1;
    size_t rows = 1 + NEXT(12);
    for (size_t r = 0; r < rows; r++) {
      size_t cols = 1 + NEXT(5);
      pl_buf_reset(&row);
      pl_buf_printf(&want, "R%llu", (unsigned long long)line);
      for (size_t c = 0; c < cols; c++) {
        pl_buf_reset(&field);
        size_t len = NEXT(7);
        for (size_t i = 0; i < len; i++)
          pl_buf_append_str(&field, alphabet[NEXT(10)]);
        pl_buf_append_str(&want, "|");
        pl_buf_append(&want, field.data, field.len);
        bool blank = strspn(field.data ? field.data : "", " \t") == field.len;
        bool quote = NEXT(4) == 0 || (cols == 1 && blank) ||
                     (field.len > 0 && strpbrk(field.data, ",\"\r\n"));
        if (c > 0)
          pl_buf_append_str(&row, ",");
        if (quote)
          pl_buf_append_str(&row, "\"");
        for (size_t i = 0; i < field.len; i++) {
          if (field.data[i] == '"')
            pl_buf_append_str(&row, "\"");
          if (field.data[i] == '\n')
            line++;
          pl_buf_append(&row, &field.data[i], 1);
        }
        if (quote)
          pl_buf_append_str(&row, "\"");
      }
      pl_buf_append_str(&want, " raw=");
      pl_buf_append(&want, row.data, row.len);
      pl_buf_append_str(&want, "\n");
      pl_buf_append(&text, row.data, row.len);
      if (r + 1 < rows || NEXT(2)) {
        pl_buf_append_str(&text, NEXT(2) ? "\r\n" : "\n");
        line++;
        /* Empty lines between rows now and then. */
        while (NEXT(6) == 0) {
          pl_buf_append_str(&text, NEXT(2) ? "\r\n" : "\n");
          line++;
        }
      }
    }
    for (long chunk = 0; chunk <= 3; chunk++) {
      size_t bad = 1;
      char *log = parse_with(NULL, text.data, text.len, chunk == 3 ? -9 : chunk,
                             seed, NULL, &bad);
      ck_assert_msg(strcmp(log, want.data) == 0,
                    "table %d chunk %ld\ninput:\n%s\ngot:\n%s\nwant:\n%s",
                    table, chunk, text.data, log, want.data);
      ck_assert_uint_eq(bad, 0);
      free(log);
    }
    pl_buf_free(&text);
    pl_buf_free(&want);
    pl_buf_free(&field);
    pl_buf_free(&row);
  }
#undef NEXT
}
END_TEST

static int stop_row(void *data, const csv_row_t *row) {
  (*(int *)data)++;
  return PL_ECANCELED;
}

START_TEST(test_callback_stop_and_bad_options) {
  csv_stream_t *s;
  ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
  int calls = 0;
  csv_stream_handlers_t h = {.on_row = stop_row, .data = &calls};
  ck_assert_int_eq(csv_stream_feed(s, "a\nb\nc\n", 6, &h), PL_ECANCELED);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(csv_stream_feed(s, "d\n", 2, &h), PL_EINVAL);
  ck_assert_int_eq(csv_stream_finish(s, &h), PL_EINVAL);
  csv_stream_destroy(s);
  csv_stream_destroy(NULL);

  /* Without on_bad_row, bad rows vanish and good ones still come. */
  ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
  collect_t c = {0};
  csv_stream_handlers_t rows_only = {.on_row = collect_row, .data = &c};
  ck_assert_int_eq(csv_stream_feed(s, "\"x", 2, &rows_only), 0);
  ck_assert_int_eq(csv_stream_finish(s, &rows_only), 0);
  ck_assert_int_eq(csv_stream_feed(s, "y", 1, &rows_only), 0);
  ck_assert_int_eq(csv_stream_finish(s, &rows_only), 0);
  ck_assert_str_eq(c.log.data, "R1|y raw=y\n");
  pl_buf_free(&c.log);
  csv_stream_handlers_t none = {0};
  ck_assert_int_eq(csv_stream_feed(s, "y", 1, &none), PL_EINVAL);
  csv_stream_destroy(s);

  const csv_stream_options_t bad[] = {
      {.delimiter = '"'},
      {.delimiter = '\n'},
      {.quote = '\r'},
      {.delimiter = ';', .quote = ';'},
      {.quote = ' ', .trim_spaces = true},
      {.max_row_bytes = SIZE_MAX},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    s = NULL;
    ck_assert_int_eq(csv_stream_create(&bad[i], &s), PL_EINVAL);
    ck_assert_ptr_null(s);
  }
}
END_TEST

/* A field larger than libcsv's block size, and many fields in one row:
 * both buffers must grow. */
START_TEST(test_large_fields) {
  pl_buf_t in = {0};
  pl_buf_append_str(&in, "\"");
  for (int i = 0; i < 5000; i++)
    pl_buf_append_str(&in, i % 100 == 0 ? "\"\"" : "y");
  pl_buf_append_str(&in, "\"");
  for (int i = 0; i < 300; i++)
    pl_buf_printf(&in, ",%d", i);
  pl_buf_append_str(&in, "\n");
  size_t rows = 0;
  char *whole = parse_with(NULL, in.data, in.len, 0, 0, &rows, NULL);
  char *pieces = parse_with(NULL, in.data, in.len, -700, 9, NULL, NULL);
  ck_assert_uint_eq(rows, 1);
  ck_assert_str_eq(whole, pieces);
  ck_assert_ptr_nonnull(strstr(whole, "|298|299 raw="));
  free(whole);
  free(pieces);
  pl_buf_free(&in);
}
END_TEST

/* ---- Rows ---- */

START_TEST(test_build_row) {
  pl_schema_t *cols = columns(inventory_specs, INVENTORY_COUNT);
  pl_buf_t reason = {0};
  json_t *obj = NULL;

  const char *ok[] = {"P1", "", "5", "2023-05-01"};
  const size_t ok_lens[] = {2, 0, 1, 10};
  ck_assert_int_eq(
      csv_row_object_build(cols, ok, ok_lens, 4, &obj, &reason), 0);
  json_t *want = json_pack("{s:s, s:n, s:i, s:s}", "product_id", "P1",
                           "location", "quantity", 5, "update_date",
                           "2023-05-01");
  ck_assert(json_equal(obj, want));
  json_decref(want);
  json_decref(obj);
  obj = NULL;

  ck_assert_int_eq(csv_row_object_build(cols, ok, ok_lens, 3, &obj, &reason),
                   PL_EPARSE);
  ck_assert_str_eq(reason.data, "expected 4 fields, found 3");
  ck_assert_ptr_null(obj);

  const char *bad_int[] = {"P1", "A", "abc", "2023-05-01"};
  const size_t bad_int_lens[] = {2, 1, 3, 10};
  ck_assert_int_eq(
      csv_row_object_build(cols, bad_int, bad_int_lens, 4, &obj, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'quantity': 'abc' is not an int");

  const char *bad_date[] = {"P1", "A", "1", "2023-02-30"};
  ck_assert_int_eq(
      csv_row_object_build(cols, bad_date, ok_lens, 4, &obj, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'update_date': '2023-02-30' is not a "
                                "valid date (YYYY-MM-DD)");

  const char *no_id[] = {"", "A", "1", "2023-05-01"};
  const size_t no_id_lens[] = {0, 1, 1, 10};
  ck_assert_int_eq(
      csv_row_object_build(cols, no_id, no_id_lens, 4, &obj, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'product_id' is required but empty");
  ck_assert_ptr_null(obj);
  pl_schema_destroy(cols);

  /* One column: "field", singular. */
  const char *one_spec[] = {"x:int"};
  cols = columns(one_spec, 1);
  ck_assert_int_eq(csv_row_object_build(cols, ok, ok_lens, 2, &obj, &reason),
                   PL_EPARSE);
  ck_assert_str_eq(reason.data, "expected 1 field, found 2");
  pl_schema_destroy(cols);
  pl_buf_free(&reason);
}
END_TEST

/* Refilling reuses the members and the values nobody else holds, and
 * gives the same values and reasons as building. */
START_TEST(test_refill_row) {
  pl_schema_t *cols = columns(inventory_specs, INVENTORY_COUNT);
  pl_buf_t reason = {0};
  const char *first[] = {"P1", "", "5", "2023-05-01"};
  const size_t first_lens[] = {2, 0, 1, 10};
  json_t *row = NULL;
  ck_assert_int_eq(
      csv_row_object_build(cols, first, first_lens, 4, &row, &reason), 0);
  json_t *id = json_object_get(row, "product_id");
  json_t *quantity = json_object_get(row, "quantity");

  const char *second[] = {"P22", "Warehouse B", "-7", "2024-02-29"};
  const size_t second_lens[] = {3, 11, 2, 10};
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason), 0);
  json_t *want = json_pack("{s:s, s:s, s:i, s:s}", "product_id", "P22",
                           "location", "Warehouse B", "quantity", -7,
                           "update_date", "2024-02-29");
  ck_assert(json_equal(row, want));
  json_decref(want);
  ck_assert_ptr_eq(json_object_get(row, "product_id"), id);
  ck_assert_ptr_eq(json_object_get(row, "quantity"), quantity);

  /* Text of the same length is written into the string in place. */
  json_t *date = json_object_get(row, "update_date");
  const char *same_len[] = {"P23", "Warehouse C", "-8", "2024-03-01"};
  ck_assert_int_eq(
      csv_row_object_refill(cols, same_len, second_lens, 4, row, &reason), 0);
  ck_assert_ptr_eq(json_object_get(row, "update_date"), date);
  ck_assert_str_eq(json_string_value(date), "2024-03-01");
  ck_assert_int_eq(json_string_length(date), 10);
  ck_assert_str_eq(json_string_value(json_object_get(row, "product_id")),
                   "P23");
  /* ... but never into a string someone else holds. */
  json_t *held_date = json_incref(date);
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason), 0);
  ck_assert_str_eq(json_string_value(held_date), "2024-03-01");
  ck_assert_str_eq(json_string_value(json_object_get(row, "update_date")),
                   "2024-02-29");
  json_decref(held_date);

  /* A value someone else holds is replaced, never changed under them; an
   * empty optional field becomes null. */
  json_t *held = json_incref(json_object_get(row, "location"));
  const char *third[] = {"P3", "", "8", "2023-01-31"};
  const size_t third_lens[] = {2, 0, 1, 10};
  ck_assert_int_eq(
      csv_row_object_refill(cols, third, third_lens, 4, row, &reason), 0);
  ck_assert_str_eq(json_string_value(held), "Warehouse B");
  ck_assert(json_is_null(json_object_get(row, "location")));
  json_decref(held);
  held = json_incref(json_object_get(row, "quantity"));
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason), 0);
  ck_assert_int_eq(json_integer_value(held), 8);
  ck_assert_int_eq(json_integer_value(json_object_get(row, "quantity")), -7);
  ck_assert_str_eq(json_string_value(json_object_get(row, "location")),
                   "Warehouse B");
  json_decref(held);

  /* The reasons of csv_row_object_build. */
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 3, row, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "expected 4 fields, found 3");
  const char *bad_int[] = {"P1", "A", "abc", "2023-05-01"};
  const size_t bad_int_lens[] = {2, 1, 3, 10};
  ck_assert_int_eq(
      csv_row_object_refill(cols, bad_int, bad_int_lens, 4, row, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'quantity': 'abc' is not an int");
  const char *bad_date[] = {"P1", "A", "1", "2023-02-30"};
  const size_t bad_date_lens[] = {2, 1, 1, 10};
  ck_assert_int_eq(
      csv_row_object_refill(cols, bad_date, bad_date_lens, 4, row, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'update_date': '2023-02-30' is not a "
                                "valid date (YYYY-MM-DD)");
  const char *bad_utf8[] = {"P1", "\xC3(", "1", "2023-05-01"};
  const size_t bad_utf8_lens[] = {2, 2, 1, 10};
  ck_assert_int_eq(
      csv_row_object_refill(cols, bad_utf8, bad_utf8_lens, 4, row, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data,
                   "column 'location': '\\xc3(' is not valid UTF-8");

  /* Members that are not the columns in order: PL_ENOENT. */
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason), 0);
  json_object_set_new(row, "extra", json_true());
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason),
      PL_ENOENT);
  json_object_del(row, "extra");
  json_object_del(row, "product_id");
  json_object_set_new(row, "product_id", json_string("P1"));
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, row, &reason),
      PL_ENOENT);
  json_t *array = json_array();
  ck_assert_int_eq(
      csv_row_object_refill(cols, second, second_lens, 4, array, &reason),
      PL_ENOENT);
  json_decref(array);
  json_decref(row);
  pl_schema_destroy(cols);
  pl_buf_free(&reason);
}
END_TEST

START_TEST(test_row_pool) {
  pl_schema_t *cols = columns(inventory_specs, INVENTORY_COUNT);
  pl_buf_t reason = {0};
  csv_row_pool_t *pool = NULL;
  ck_assert_int_eq(csv_row_pool_create(&pool), 0);
  const char *a[] = {"P1", "A", "1", "2023-05-01"};
  const char *b[] = {"P2", "B", "2", "2023-05-02"};
  const size_t lens[] = {2, 1, 1, 10};

  /* While the first row is held, the second is another object; once it is
   * released, the oldest object is refilled. */
  json_t *first = NULL, *second = NULL, *third = NULL;
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, a, lens, 4, &first, &reason), 0);
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, b, lens, 4, &second, &reason), 0);
  ck_assert_ptr_ne(first, second);
  ck_assert_str_eq(json_string_value(json_object_get(first, "product_id")),
                   "P1");
  json_t *was_first = first;
  json_decref(first);
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, b, lens, 4, &third, &reason), 0);
  ck_assert_ptr_eq(third, was_first);
  ck_assert(json_equal(third, second));

  /* A bad row gives the reason and leaves the object free for the next. */
  json_decref(third);
  const char *bad[] = {"", "B", "2", "2023-05-02"};
  const size_t bad_lens[] = {0, 1, 1, 10};
  json_t *none = NULL;
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, bad, bad_lens, 4, &none, &reason),
      PL_EPARSE);
  ck_assert_str_eq(reason.data, "column 'product_id' is required but empty");
  ck_assert_ptr_null(none);

  /* An object its holder changed is not reused. */
  json_decref(second);
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, a, lens, 4, &first, &reason), 0);
  json_object_set_new(first, "note", json_string("changed"));
  json_decref(first);
  json_t *again = NULL;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(
        csv_row_pool_build(pool, cols, a, lens, 4, &again, &reason), 0);
    ck_assert_int_eq(json_object_size(again), 4);
    json_decref(again);
  }

  /* Other columns: the members are checked, not assumed. */
  const char *other_specs[] = {"x:int", "y:string", "z:string", "w:string"};
  pl_schema_t *other = columns(other_specs, 4);
  json_t *row = NULL;
  ck_assert_int_eq(
      csv_row_pool_build(pool, other, a + 2, lens + 2, 1, &row, &reason),
      PL_EPARSE);
  const char *w[] = {"7", "y", "z", "w"};
  const size_t w_lens[] = {1, 1, 1, 1};
  ck_assert_int_eq(
      csv_row_pool_build(pool, other, w, w_lens, 4, &row, &reason), 0);
  json_t *want = json_pack("{s:i, s:s, s:s, s:s}", "x", 7, "y", "y", "z", "z",
                           "w", "w");
  ck_assert(json_equal(row, want));
  json_decref(want);

  /* A row too big to keep is handed out but not recycled. */
  char big[CSV_ROW_POOL_MAX_ROW_BYTES];
  memset(big, 'x', sizeof(big));
  const char *huge[] = {"7", big, "z", "w"};
  const size_t huge_lens[] = {1, sizeof(big), 1, 1};
  json_t *large = NULL;
  ck_assert_int_eq(
      csv_row_pool_build(pool, other, huge, huge_lens, 4, &large, &reason), 0);
  ck_assert_int_eq(large->refcount, 1);
  json_decref(large);

  /* Objects still held outlive the pool. */
  csv_row_pool_destroy(pool);
  ck_assert_str_eq(json_string_value(json_object_get(row, "w")), "w");
  json_decref(row);
  pl_schema_destroy(other);
  pl_schema_destroy(cols);
  pl_buf_free(&reason);
}
END_TEST

/* Many rows in flight: the pool stays bounded, drops the oldest objects
 * when they are held too long and recycles the others. */
START_TEST(test_row_pool_bounded) {
  pl_schema_t *cols = columns(inventory_specs, INVENTORY_COUNT);
  pl_buf_t reason = {0};
  csv_row_pool_t *pool = NULL;
  ck_assert_int_eq(csv_row_pool_create(&pool), 0);
  enum { HELD = CSV_ROW_POOL_SLOTS + 100 };
  json_t **held = calloc(HELD, sizeof(*held));
  ck_assert_ptr_nonnull(held);
  const size_t lens[] = {5, 1, 4, 10};
  for (size_t i = 0; i < HELD; i++) {
    char id[8], quantity[8];
    snprintf(id, sizeof(id), "P%04zu", i % 10000);
    snprintf(quantity, sizeof(quantity), "%04zu", i % 10000);
    const char *fields[] = {id, "A", quantity, "2023-05-01"};
    ck_assert_int_eq(
        csv_row_pool_build(pool, cols, fields, lens, 4, &held[i], &reason), 0);
  }
  /* The first 100 were let go by the pool: their holders own them alone. */
  ck_assert_int_eq(held[0]->refcount, 1);
  ck_assert_int_eq(held[HELD - 1]->refcount, 2);
  json_t *oldest_kept = held[HELD - CSV_ROW_POOL_SLOTS];
  for (size_t i = 0; i < HELD; i++)
    json_decref(held[i]);
  /* The oldest kept object comes back first. */
  const char *fields[] = {"P9999", "B", "9999", "2023-05-02"};
  json_t *row = NULL;
  ck_assert_int_eq(
      csv_row_pool_build(pool, cols, fields, lens, 4, &row, &reason), 0);
  ck_assert_ptr_eq(row, oldest_kept);
  ck_assert_str_eq(json_string_value(json_object_get(row, "product_id")),
                   "P9999");
  json_decref(row);
  free(held);
  csv_row_pool_destroy(pool);
  pl_schema_destroy(cols);
  pl_buf_free(&reason);
}
END_TEST

/* A wrong field count found through the stream, as the plugin will see it. */
typedef struct {
  pl_schema_t *cols;
  pl_buf_t log;
} rows_t;

static int typed_row(void *data, const csv_row_t *row) {
  rows_t *r = data;
  json_t *obj = NULL;
  pl_buf_t reason = {0};
  int rc = csv_row_object_build(r->cols, row->fields, row->lens, row->count,
                                 &obj, &reason);
  if (rc == 0) {
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    pl_buf_printf(&r->log, "%llu %s\n", (unsigned long long)row->line, text);
    free(text);
    json_decref(obj);
  } else {
    pl_buf_printf(&r->log, "%llu error: %s\n", (unsigned long long)row->line,
                  reason.data);
  }
  pl_buf_free(&reason);
  return 0;
}

START_TEST(test_stream_to_rows) {
  rows_t r = {.cols = columns(inventory_specs, INVENTORY_COUNT)};
  csv_stream_t *s;
  ck_assert_int_eq(csv_stream_create(NULL, &s), 0);
  csv_stream_handlers_t h = {.on_row = typed_row, .data = &r};
  const char *input = "P1,\"Warehouse, A\",100,2023-05-01\n"
                      "P2,B,25\n"
                      "P3,C,lots,2023-05-03\n"
                      "P4,D,4,2023-02-29\n"
                      ",E,5,2023-05-05\n"
                      "P6,,,\n";
  ck_assert_int_eq(csv_stream_feed(s, input, strlen(input), &h), 0);
  ck_assert_int_eq(csv_stream_finish(s, &h), 0);
  ck_assert_str_eq(
      r.log.data,
      "1 {\"location\":\"Warehouse, A\",\"product_id\":\"P1\",\"quantity\":"
      "100,\"update_date\":\"2023-05-01\"}\n"
      "2 error: expected 4 fields, found 3\n"
      "3 error: column 'quantity': 'lots' is not an int\n"
      "4 error: column 'update_date': '2023-02-29' is not a valid date "
      "(YYYY-MM-DD)\n"
      "5 error: column 'product_id' is required but empty\n"
      "6 {\"location\":null,\"product_id\":\"P6\",\"quantity\":null,"
      "\"update_date\":null}\n");
  csv_stream_destroy(s);
  pl_schema_destroy(r.cols);
  pl_buf_free(&r.log);
}
END_TEST

/* The scan that settles most rows: the same answers as a byte loop, for a
 * LF, quote and CR at every place of rows around the 16-byte blocks, read
 * from a buffer that ends where the row does. A CR is fine only right
 * before the LF. */
static const char *scan_by_bytes(const char *p, const char *end) {
  for (; p < end; p++) {
    if (*p == '\n')
      return p;
    if (*p == '"' || (*p == '\r' && (p + 1 == end || p[1] != '\n')))
      return NULL;
  }
  return NULL;
}

START_TEST(test_scan_row) {
  static const char marks[] = {'\n', '"', '\r'};
  for (size_t len = 0; len <= 40; len++) {
    for (size_t at = 0; at <= len; at++) {
      for (size_t m = 0; m < 3; m++) {
        for (size_t cr = 0; cr <= len; cr++) {
          char *row = malloc(len ? len : 1); /* exact: reads past it fail */
          memset(row, 'a', len);
          if (at < len)
            row[at] = marks[m];
          if (cr < len && cr != at)
            row[cr] = '\r';
          const char *got = csv_scan_row(row, row + len, '"');
          const char *want = scan_by_bytes(row, row + len);
          ck_assert_msg(got == want, "len %zu, mark %zu at %zu, CR at %zu", len,
                        m, at, cr);
          free(row);
        }
      }
    }
  }
}
END_TEST

/* Strict mode: a stray quote makes its row bad, but the quoting of the rest
 * of the row is still followed, so the line feeds of a later quoted field
 * stay inside the row. The row of lines 2-4 is rejected once, whole, and
 * no line of it becomes a row of its own, however the bytes are cut. */
START_TEST(test_stray_quote_keeps_quoted_lines) {
  static const struct {
    csv_stream_options_t opts;
    const char *input, *want;
  } cases[] = {
      {{0},
       "id,size,note\n1,5\" screen,\"first\n7,8,9\nlast\"\n2,6,ok\n",
       "R1|id|size|note raw=id,size,note\n"
       "E2 malformed quoting in field 2 (byte 4 of the row, lines 2-4) "
       "raw=1,5\" screen,\"first\n7,8,9\nlast\"\n"
       "R5|2|6|ok raw=2,6,ok\n"},
      /* Text after a closing quote: the quote was closed, the text is data
       * of the field (as Python's csv reads it), and a later quoted field
       * still holds its line feeds. With CRLF line ends. */
      {{0},
       "\"x\"y,\"2\r\n3\"\r\nok\r\n",
       "E1 malformed quoting in field 1 (byte 4 of the row, lines 1-2) "
       "raw=\"x\"y,\"2\r\n3\"\n"
       "R3|ok raw=ok\n"},
      /* The same, trimming: blanks then text after a closing quote. */
      {{.trim_spaces = true},
       "\"x\"  y, \"2\n3\" \nok\n",
       "E1 malformed quoting in field 1 (byte 6 of the row, lines 1-2) "
       "raw=\"x\"  y, \"2\n3\" \n"
       "R3|ok raw=ok\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].input);
    char *whole =
        parse_with(&cases[i].opts, cases[i].input, len, 0, 0, NULL, NULL);
    ck_assert_str_eq(whole, cases[i].want);
    for (long chunk = 1; chunk <= 7; chunk++) {
      char *cut =
          parse_with(&cases[i].opts, cases[i].input, len, chunk, 0, NULL, NULL);
      ck_assert_msg(strcmp(cut, whole) == 0, "case %zu chunk %ld:\n%s", i,
                    chunk, cut);
      free(cut);
    }
    free(whole);
  }
}
END_TEST

/* A lone CR outside quotes ends a row as LF and CRLF do (classic Mac line
 * ends; each counts as a line): without it a file of such lines was one
 * header row and every data row was lost. Inside a quoted field a CR is
 * data. The same however the bytes are cut, a CR last in a feed
 * included. */
START_TEST(test_lone_cr_rows) {
  static const struct {
    const char *input, *want;
  } cases[] = {
      {"a,b\r1,2\r3,4\r", "R1|a|b raw=a,b\nR2|1|2 raw=1,2\nR3|3|4 raw=3,4\n"},
      /* Mixed: a lone CR, an empty line, CRLF, a CR in a quoted field, a
       * CR after a closing quote, a last row without a line end. */
      {"a\r\rb\r\n\"x\ry\",z\r\"q\"\rc",
       "R1|a raw=a\nR3|b raw=b\nR4|x\ry|z raw=\"x\ry\",z\n"
       "R5|q raw=\"q\"\nR6|c raw=c\n"},
      /* A longer file, so that the scan's 16-byte blocks see the CRs. */
      {"product_id,location,quantity\rP1,Warehouse A,5\rP2,Warehouse B,6\r"
       "P3,Warehouse C,7\r\n",
       "R1|product_id|location|quantity raw=product_id,location,quantity\n"
       "R2|P1|Warehouse A|5 raw=P1,Warehouse A,5\n"
       "R3|P2|Warehouse B|6 raw=P2,Warehouse B,6\n"
       "R4|P3|Warehouse C|7 raw=P3,Warehouse C,7\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].input);
    char *whole = parse_with(NULL, cases[i].input, len, 0, 0, NULL, NULL);
    ck_assert_str_eq(whole, cases[i].want);
    for (long chunk = 1; chunk <= 7; chunk++) {
      char *cut = parse_with(NULL, cases[i].input, len, chunk, 0, NULL, NULL);
      ck_assert_msg(strcmp(cut, whole) == 0, "case %zu chunk %ld:\n%s", i,
                    chunk, cut);
      free(cut);
    }
    free(whole);
  }
}
END_TEST

/* Only an empty line is blank: without trim, spaces and tabs are data, so
 * a line of them is a row (a value in a one-column file, a row with too
 * few fields elsewhere), never skipped uncounted. Trimming, such a line is
 * blank. */
START_TEST(test_space_lines_are_rows) {
  ck_assert_parse(NULL, "a\n \nx\n\t\r\n\n",
                  "R1|a raw=a\nR2|  raw= \nR3|x raw=x\nR4|\t raw=\t\n");
  csv_stream_options_t trim = {.trim_spaces = true};
  ck_assert_parse(&trim, "a\n \nx\n\t\r\n\n", "R1|a raw=a\nR3|x raw=x\n");
}
END_TEST

static Suite *csv_suite(void) {
  Suite *s = suite_create("csv");
  TCase *stream = tcase_create("stream");
  tcase_add_test(stream, test_sample_file);
  tcase_add_test(stream, test_bom_crlf);
  tcase_add_test(stream, test_position_and_resume);
  tcase_add_test(stream, test_quoted_fields);
  tcase_add_test(stream, test_blank_lines);
  tcase_add_test(stream, test_missing_final_newline);
  tcase_add_test(stream, test_unterminated_quote);
  tcase_add_test(stream, test_other_delimiters);
  tcase_add_test(stream, test_trim_and_strict);
  tcase_add_test(stream, test_overlong_row);
  tcase_add_test(stream, test_chunk_equivalence);
  tcase_add_test(stream, test_roundtrip_random);
  tcase_add_test(stream, test_callback_stop_and_bad_options);
  tcase_add_test(stream, test_large_fields);
  tcase_add_test(stream, test_scan_row);
  tcase_add_test(stream, test_stray_quote_keeps_quoted_lines);
  tcase_add_test(stream, test_lone_cr_rows);
  tcase_add_test(stream, test_space_lines_are_rows);
  suite_add_tcase(s, stream);

  TCase *cols = tcase_create("columns");
  tcase_add_test(cols, test_build_row);
  tcase_add_test(cols, test_refill_row);
  tcase_add_test(cols, test_row_pool);
  tcase_add_test(cols, test_row_pool_bounded);
  tcase_add_test(cols, test_stream_to_rows);
  suite_add_tcase(s, cols);
  return s;
}

int main(void) {
  return test_suite_run(csv_suite());
}
