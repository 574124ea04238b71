/* transform-csv: bytes in, one typed record per row out. The plugin glue:
 * options, one streaming parser per byte stream, and rows turned into
 * records or rejections. Parsing lives in csv_stream.c, the typed columns
 * in the core (<pipelined/schema.h>). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/pipelined.h>
#include <pipelined/schema.h>

#include "csv_row_pool.h"
#include "csv_stream.h"

typedef struct csv_options {
  bool header;
  pl_list_t columns;
  char *delimiter;
  char *quote;
  uint64_t max_row_bytes;
  bool trim;
  bool lenient_quotes;
} csv_options_t;

static const pl_option_t csv_option_table[] = {
    PL_OPTION_BOOL(csv_options_t, header, "header", "true", 0,
                   "The first row names the columns (and is not a record)."),
    PL_OPTION_LIST(csv_options_t, columns, "columns", NULL, 0,
                   "Typed columns \"name:type\" or \"name:type:required\"; "
                   "types: string, int, number, bool, date (YYYY-MM-DD), "
                   "timestamp (RFC 3339). A number is a 64-bit int or a "
                   "double: a value a double cannot keep as written (more "
                   "significant digits than its shortest form, at most 17, "
                   "or beyond its range) is rejected, never rounded. With a "
                   "header, columns are matched by name and other header "
                   "columns are strings; without, by position."),
    PL_OPTION_STRING_LENGTH(csv_options_t, delimiter, "delimiter", ",", 1, 1, 0,
                            "Field delimiter (one character, e.g. \";\" or "
                            "\"\\t\")."),
    PL_OPTION_STRING_LENGTH(csv_options_t, quote, "quote", "\"", 1, 1, 0,
                            "Quote character (one character)."),
    /* The reader holds up to this much of a row and reserves twice as much
     * for its fields: far beyond any real row, 1GiB keeps that within the
     * memory a machine has. */
    PL_OPTION_SIZE_RANGE(csv_options_t, max_row_bytes, "max_row_bytes", "1MiB",
                         1, 1024ull * 1024 * 1024, 0,
                         "A longer row is rejected (memory stays bounded)."),
    PL_OPTION_BOOL(csv_options_t, trim, "trim", "false", 0,
                   "Drop spaces and tabs around unquoted fields; a line of "
                   "only spaces and tabs is then blank and skipped. Off, they "
                   "are data and such a line is a row (only an empty line is "
                   "blank)."),
    PL_OPTION_BOOL(csv_options_t, lenient_quotes, "lenient_quotes", "false", 0,
                   "Accept stray quotes inside unquoted fields as data."),
};

/* The parser of one byte stream (one file or object of a group). */
typedef struct stream {
  struct stream *next;
  pl_group_t *group;
  char *origin;
  csv_stream_t *csv;
  pl_schema_t *columns; /* from the header; NULL until it is read */
  char *header_error;   /* why the header is unusable */
  bool header_seen;
} stream_t;

typedef struct csv_plugin {
  pl_instance_t *inst;
  const csv_options_t *opts;
  csv_stream_options_t stream_opts;
  pl_schema_t *configured; /* from `columns`, or NULL */
  csv_row_pool_t *rows;    /* the objects of rows, recycled */
  stream_t *streams;
  pl_buf_t reason;
  /* The chunk being parsed: rows derive their metadata from it. */
  pl_record_t *chunk;
  stream_t *current;
} csv_plugin_t;

static void csv_destroy(void *ctx);

static int csv_init(pl_instance_t *inst, const void *options, void **ctx) {
  const csv_options_t *opts = options;
  csv_plugin_t *p = calloc(1, sizeof(*p));
  if (!p)
    return PL_ENOMEM;
  p->inst = inst;
  p->opts = opts;
  p->stream_opts = (csv_stream_options_t){
      .max_row_bytes = (size_t)opts->max_row_bytes,
      .trim_spaces = opts->trim,
      .lenient_quotes = opts->lenient_quotes,
  };
  /* delimiter and quote are one byte long: the table's limits. */
  p->stream_opts.delimiter = opts->delimiter[0];
  p->stream_opts.quote = opts->quote[0];
  int rc = csv_row_pool_create(&p->rows);
  if (rc == 0 && !opts->header && opts->columns.count == 0) {
    pl_log(inst, PL_LOG_ERROR,
           "without a header row, 'columns' must name the columns");
    rc = PL_EINVAL;
  }
  if (rc == 0 && opts->columns.count > 0) {
    rc = pl_schema_create((const char *const *)opts->columns.items,
                          opts->columns.count, &p->configured, &p->reason);
    if (rc < 0)
      pl_log(inst, PL_LOG_ERROR, "option 'columns': %s", p->reason.data);
  }
  if (rc == 0) {
    /* Check the parser options once, so that a bad delimiter is a start-up
     * error and not a failure of every file. */
    const char *why = csv_stream_options_error(&p->stream_opts);
    if (why) {
      pl_log(inst, PL_LOG_ERROR, "%s (delimiter '%s', quote '%s')", why,
             opts->delimiter, opts->quote);
      rc = PL_EINVAL;
    }
  }
  if (rc < 0) {
    csv_destroy(p);
    return rc;
  }
  *ctx = p;
  return 0;
}

static void stream_free(stream_t *s) {
  csv_stream_destroy(s->csv);
  pl_schema_destroy(s->columns);
  free(s->header_error);
  free(s->origin);
  free(s);
}

/* The stream `chunk` belongs to (its group and origin), or NULL. */
static stream_t *stream_find(csv_plugin_t *p, const pl_record_t *chunk) {
  pl_group_t *group = pl_record_group(chunk);
  const char *origin = pl_record_origin(chunk);
  for (stream_t *s = p->streams; s; s = s->next)
    if (s->group == group &&
        ((!s->origin && !origin) ||
         (s->origin && origin && strcmp(s->origin, origin) == 0)))
      return s;
  return NULL;
}

/* The stream of `chunk`, created at its first chunk; NULL: out of memory. */
static stream_t *stream_for(csv_plugin_t *p, const pl_record_t *chunk) {
  stream_t *s = stream_find(p, chunk);
  if (s)
    return s;
  const char *origin = pl_record_origin(chunk);
  pl_group_t *group = pl_record_group(chunk);
  s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->group = group;
  if ((origin && !(s->origin = strdup(origin))) ||
      csv_stream_create(&p->stream_opts, &s->csv) < 0) {
    stream_free(s);
    return NULL;
  }
  s->header_seen = !p->opts->header;
  s->next = p->streams;
  p->streams = s;
  return s;
}

static void stream_remove(csv_plugin_t *p, stream_t *s) {
  stream_t **link = &p->streams;
  while (*link && *link != s)
    link = &(*link)->next;
  if (*link)
    *link = s->next;
  stream_free(s);
}

/* A stream cut short: what it holds (a partial row) is dropped, not parsed
 * as the stream's end. */
static void drop_stream(csv_plugin_t *p, pl_record_t *chunk) {
  stream_t *s = stream_find(p, chunk);
  if (s) {
    pl_log(p->inst, PL_LOG_INFO, "%s: cut short; its partial row is dropped",
           s->origin ? s->origin : "input");
    stream_remove(p, s);
  }
  pl_record_done(chunk);
}

/* A row that is not a record: to the dead letter with its raw text. */
static int reject_row(csv_plugin_t *p, uint64_t line, const char *raw,
                      size_t raw_len, const char *reason) {
  pl_record_t *rec = pl_record_derive(p->chunk);
  if (!rec)
    return PL_ENOMEM;
  pl_record_set_line(rec, line);
  pl_record_set_bytes(rec, raw, raw_len);
  pl_record_set_size(rec, raw_len + 1);
  pl_record_reject_as(rec, "invalid_row", "%s", reason);
  return 0;
}

/* The header of `s` is unusable for `reason`: every row of the stream,
 * the header's own included, goes to the dead letter with that reason, so
 * that no data row is ever read as a header and nothing is lost. */
static int refuse_header(csv_plugin_t *p, stream_t *s, uint64_t line,
                         const char *raw, size_t raw_len, const char *reason) {
  s->header_seen = true;
  pl_buf_t why = {0};
  pl_buf_printf(&why, "bad header row (line %" PRIu64 "): %s", line, reason);
  s->header_error = why.data;
  pl_log(p->inst, PL_LOG_ERROR, "%s: %s; every row of it is rejected",
         s->origin ? s->origin : "input", why.data);
  return reject_row(p, line, raw, raw_len, why.data);
}

/* A NUL byte is not text: JSON consumers, SQS message bodies and every C
 * string would drop or refuse it, so a row holding one is rejected here,
 * where the reason can name the field and the dead letter keeps the row.
 * Returns false, with the reason in p->reason, for such a row. */
static bool row_is_text(csv_plugin_t *p, const csv_row_t *row) {
  if (!memchr(row->raw, '\0', row->raw_len))
    return true;
  size_t field = 0;
  while (field + 1 < row->count &&
         !memchr(row->fields[field], '\0', row->lens[field]))
    field++;
  pl_buf_reset(&p->reason);
  pl_buf_printf(&p->reason,
                "field %zu contains a NUL byte (\\0), which is not text",
                field + 1);
  return false;
}

static int read_header(csv_plugin_t *p, stream_t *s, const csv_row_t *row) {
  if (!row_is_text(p, row))
    return refuse_header(p, s, row->line, row->raw, row->raw_len,
                         p->reason.data);
  pl_buf_reset(&p->reason);
  if (pl_schema_create_from_header(row->fields, row->lens, row->count,
                                   p->configured, &s->columns,
                                   &p->reason) == 0) {
    s->header_seen = true;
    return 0;
  }
  return refuse_header(p, s, row->line, row->raw, row->raw_len, p->reason.data);
}

static int on_row(void *data, const csv_row_t *row) {
  csv_plugin_t *p = data;
  stream_t *s = p->current;
  if (!s->header_seen)
    return read_header(p, s, row);
  if (s->header_error)
    return reject_row(p, row->line, row->raw, row->raw_len, s->header_error);
  if (!row_is_text(p, row))
    return reject_row(p, row->line, row->raw, row->raw_len, p->reason.data);
  const pl_schema_t *columns = s->columns ? s->columns : p->configured;
  json_t *value = NULL;
  /* Building a row resets the reason itself when it writes one. */
  int rc = csv_row_pool_build(p->rows, columns, row->fields, row->lens,
                              row->count, &value, &p->reason);
  if (rc == PL_EPARSE)
    return reject_row(p, row->line, row->raw, row->raw_len, p->reason.data);
  if (rc < 0)
    return rc;
  pl_record_t *rec = pl_record_derive(p->chunk);
  if (!rec) {
    json_decref(value);
    return PL_ENOMEM;
  }
  pl_record_set_value_new(rec, value);
  pl_record_set_line(rec, row->line);
  pl_record_set_size(rec, row->raw_len + 1);
  pl_emit(p->inst, rec);
  return 0;
}

static int on_bad_row(void *data, const csv_bad_row_t *bad) {
  csv_plugin_t *p = data;
  stream_t *s = p->current;
  if (!s->header_seen)
    return refuse_header(p, s, bad->line, bad->raw, bad->raw_len, bad->reason);
  return reject_row(p, bad->line, bad->raw, bad->raw_len,
                    s->header_error ? s->header_error : bad->reason);
}

static void csv_process(pl_instance_t *inst, void *ctx, pl_record_t *chunk) {
  csv_plugin_t *p = ctx;
  if (pl_record_is_cut(chunk)) {
    drop_stream(p, chunk);
    return;
  }
  size_t len = 0;
  const char *bytes = pl_record_bytes(chunk, &len);
  if (!bytes && pl_record_value(chunk)) {
    pl_record_reject_as(chunk, "not_bytes",
                        "transform-csv takes bytes (from a source such as "
                        "source-file), not a JSON record");
    return;
  }
  stream_t *s = stream_for(p, chunk);
  if (!s) {
    pl_record_reject_as(chunk, "resource", "out of memory");
    return;
  }
  /* A resumed read: the header again, only for the column names. */
  if (pl_record_is_replay(chunk) && s->header_seen) {
    pl_record_done(chunk);
    return;
  }
  /* Then the bytes from the middle, whose first line the source knows. */
  if (pl_record_line(chunk) > 0 &&
      csv_stream_set_line(s->csv, pl_record_line(chunk)) < 0)
    pl_log(inst, PL_LOG_WARN,
           "%s: a resumed read starts inside a row; its line numbers are "
           "counted on from the earlier bytes",
           s->origin ? s->origin : "input");
  p->chunk = chunk;
  p->current = s;
  csv_stream_handlers_t handlers = {on_row, on_bad_row, p};
  int rc = len > 0 ? csv_stream_feed(s->csv, bytes, len, &handlers) : 0;
  if (rc == 0 && !pl_record_is_last(chunk)) {
    /* How far the rows made so far reach: the source's resume point. */
    uint64_t held = 0, line = 0;
    csv_stream_position(s->csv, &held, &line);
    pl_record_set_held(chunk, held, line);
  }
  if (rc == 0 && pl_record_is_last(chunk))
    rc = csv_stream_finish(s->csv, &handlers);
  p->chunk = NULL;
  p->current = NULL;
  if (rc < 0) {
    /* Only resource errors stop a stream; the rest of it cannot be parsed,
     * so its group must not commit. */
    pl_log(inst, PL_LOG_ERROR, "%s: parsing stopped: %s",
           s->origin ? s->origin : "input", pl_strerror(rc));
    stream_remove(p, s);
    pl_record_reject_as(chunk, "resource", "CSV parsing stopped: %s",
                        pl_strerror(rc));
    return;
  }
  if (pl_record_is_last(chunk))
    stream_remove(p, s);
  pl_record_done(chunk);
}

static void csv_destroy(void *ctx) {
  csv_plugin_t *p = ctx;
  while (p->streams)
    stream_remove(p, p->streams);
  pl_schema_destroy(p->configured);
  csv_row_pool_destroy(p->rows);
  pl_buf_free(&p->reason);
  free(p);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "csv",
    .kind = PL_KIND_TRANSFORM,
    .description = "Parses CSV bytes into one typed record per row. A row "
                   "that holds a NUL byte is rejected: NUL is not text.",
    .options = csv_option_table,
    .options_count = sizeof(csv_option_table) / sizeof(csv_option_table[0]),
    .options_size = sizeof(csv_options_t),
    .init = csv_init,
    .process = csv_process,
    .destroy = csv_destroy,
};
