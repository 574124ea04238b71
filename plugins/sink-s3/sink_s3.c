/* sink-s3: writes records to S3 objects, one JSON line per record
 * (<pipelined/jsonl.h>) or one CSV row (csv_encode.c), optionally compressed
 * with gzip as they are written, for archives and for a dead letter that
 * outlives the machine.
 *
 * Records go into the open object, encoded as they arrive; the object is
 * cut (closed and uploaded) when it holds max_object_records records or
 * max_object_bytes bytes, when it has been open max_object_age, or when
 * the sink holds as many batches as the stage lets be in flight (the
 * engine hands over no more until some are done, so waiting would only
 * wait for the age). Its key comes from the `key` template (s3_key.h) at
 * the time it opens. s3_object.c uploads it: one PutObject, or a multipart
 * upload above part_size.
 *
 * A record is acknowledged only once the object holding it is in the
 * bucket: the sink holds each batch (pl_batch_done() not called yet) until
 * every object that took some of its records is uploaded, or failed. A
 * failed object fails its records, which the engine retries (into a new
 * object) with backoff and, after retry_limit, leaves uncommitted: their
 * groups fail. Rejected records (no JSON form) are resolved at once. A
 * drain (SIGTERM, the end of --once) cuts the open object once nothing
 * more is coming (pl_plugin_t.drain) and waits for its upload; when the
 * sink closes before that (the drain's shutdown_timeout ran out), the
 * open object is not uploaded: its records fail, and their groups are
 * read again by the next run. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pipelined/aws.h>
#include <pipelined/aws_preflight.h>
#include <pipelined/pipelined.h>
#include <pipelined/s3.h>
#include <pipelined/s3_upload.h>

#include <pipelined/jsonl.h>
#include "csv_encode.h"
#include "s3_key.h"
#include "s3_object.h"

typedef struct sink_s3_options {
  char *bucket;
  char *key;
  int format;
  pl_list_t columns;
  bool header;
  char *endpoint;
  char *region;
  uint64_t max_object_bytes;
  int64_t max_object_records;
  uint64_t max_object_age_ms;
  uint64_t part_size;
  int compression;
  char *content_type;
} sink_s3_options_t;

enum { SINK_S3_NONE, SINK_S3_GZIP };
enum { SINK_S3_JSONL, SINK_S3_CSV };
static const char *const sink_s3_format_choices[] = {"jsonl", "csv", NULL};
static const char *const sink_s3_compression_choices[] = {"none", "gzip",
                                                          NULL};

static const pl_option_t sink_s3_option_table[] = {
    PL_OPTION_STRING(sink_s3_options_t, bucket, "bucket", NULL, PL_OPT_REQUIRED,
                     "Bucket the objects are written to."),
    PL_OPTION_STRING(
        sink_s3_options_t, key, "key",
        "${@pipeline}/%Y/%m/%d/%H%M%S-${@uuid}.jsonl", PL_OPT_NOT_EMPTY,
        "Key of each object, rendered when it opens: ${@pipeline}, ${@uuid} "
        "(required: a random UUID per object), ${@seq} (the object's number "
        "in this run), %Y %m %d %H %M %S (its open time, UTC), %% and $$."),
    PL_OPTION_ENUM(sink_s3_options_t, format, "format", "jsonl",
                   sink_s3_format_choices, 0,
                   "jsonl: one JSON document per record and line; csv: one "
                   "row per record, of the fields named in `columns`."),
    PL_OPTION_LIST(sink_s3_options_t, columns, "columns", NULL, 0,
                   "csv: the fields of each row, in order (required with "
                   "format = \"csv\"); a missing or null field is empty, "
                   "an object or array its JSON text."),
    PL_OPTION_BOOL(sink_s3_options_t, header, "header", "true", 0,
                   "csv: each object starts with a line of the column "
                   "names."),
    PL_AWS_CLIENT_OPTIONS(sink_s3_options_t, "S3", "S3"),
    PL_OPTION_SIZE_RANGE(sink_s3_options_t, max_object_bytes,
                         "max_object_bytes", "64MiB", 1, (uint64_t)1 << 32, 0,
                         "Cut the object once it holds this many bytes (the "
                         "record that crosses the line is its last). Objects "
                         "are held in memory until uploaded."),
    PL_OPTION_INT_RANGE(sink_s3_options_t, max_object_records,
                        "max_object_records", "0", 0, INT64_MAX, 0,
                        "Cut the object once it holds this many records; 0: "
                        "no limit."),
    PL_OPTION_DURATION_RANGE(sink_s3_options_t, max_object_age_ms,
                             "max_object_age", "20s", 1, UINT64_MAX, 0,
                             "Cut the object this long after it opened: its "
                             "records wait at most this long (plus the "
                             "upload) for their acknowledgement. A drain "
                             "(the end of --once, a stop) cuts it at once."),
    PL_OPTION_SIZE_RANGE(sink_s3_options_t, part_size, "part_size", "8MiB",
                         PL_S3_MIN_PART_BYTES, PL_S3_MAX_PART_BYTES, 0,
                         "An object larger than this goes as a multipart "
                         "upload of parts this size (the last one smaller); "
                         "S3's minimum is 5MiB."),
    PL_OPTION_ENUM(sink_s3_options_t, compression, "compression", "none",
                   sink_s3_compression_choices, 0,
                   "gzip: each object is one gzip stream (zlib, level 6; "
                   "end the key with .gz). The size limits count the text "
                   "before compression."),
    PL_OPTION_STRING(sink_s3_options_t, content_type, "content_type", NULL, 0,
                     "Content-Type of the objects (default: "
                     "application/x-ndjson, text/csv, or application/gzip "
                     "with gzip); \"\": none."),
};

typedef struct sink_s3 sink_s3_t;

/* A batch the sink holds until every object with records of it is done:
 * one reference per such object, and one while write() runs. */
typedef struct s3_held {
  sink_s3_t *sink;
  pl_batch_t *batch;
  size_t refs;
} s3_held_t;

struct sink_s3 {
  pl_instance_t *inst;
  const sink_s3_options_t *opts;
  pl_aws_sink_t aws;
  s3_upload_config_t upload;
  s3_object_t *open;      /* records go here; NULL: none open */
  s3_object_t *uploading; /* objects on their way */
  size_t held;            /* batches held */
  uint64_t seq;           /* objects opened */
  uv_timer_t timer;       /* the open object's age */
  bool timer_ready;
};

static int sink_s3_init(pl_instance_t *inst, const void *options,
                        void **ctx) {
  const sink_s3_options_t *opts = options;
  const char *why = s3_key_check(opts->key);
  if (why) {
    pl_log(inst, PL_LOG_ERROR, "option 'key' \"%s\" %s", opts->key, why);
    return PL_EINVAL;
  }
  /* Its shortest key (the first object's): over S3's limit, every object
   * would fail at its first record, and --check would not say so. */
  s3_key_vars_t first = {.pipeline = pl_instance_pipeline(inst),
                         .uuid = "00000000-0000-4000-8000-000000000000",
                         .seq = 1};
  pl_buf_t key = {0};
  int rc = s3_key_render(opts->key, &first, &key);
  pl_buf_free(&key);
  if (rc == PL_ERANGE) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'key' makes keys longer than %d bytes, S3's limit",
           PL_S3_KEY_MAX);
    return PL_EINVAL;
  }
  bool csv = opts->format == SINK_S3_CSV;
  if (csv != (opts->columns.count > 0)) {
    pl_log(inst, PL_LOG_ERROR,
           csv ? "option 'columns' is required with format = \"csv\" (the "
                 "fields of each row, e.g. columns = [\"product_id\", "
                 "\"quantity\"])"
               : "option 'columns' is for format = \"csv\"");
    return PL_EINVAL;
  }
  sink_s3_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = opts;
  s->upload = (s3_upload_config_t){
      .bucket = opts->bucket,
      .content_type = opts->content_type
                          ? (*opts->content_type ? opts->content_type : NULL)
                      : opts->compression == SINK_S3_GZIP ? "application/gzip"
                      : csv                               ? "text/csv"
                                                          : "application/x-ndjson",
      .part_size = opts->part_size,
  };
  *ctx = s;
  return 0;
}

static void cut(sink_s3_t *s);

static void on_age(uv_timer_t *timer) {
  sink_s3_t *s = timer->data;
  if (s->open) {
    pl_instance_count(s->inst, "objects_cut_by_age", 1);
    cut(s);
  }
}

/* Nothing more is coming (the end of --once, a stop): the open object is
 * uploaded now rather than at its age. */
static void sink_s3_drain(pl_instance_t *inst, void *ctx) {
  sink_s3_t *s = ctx;
  if (s->open) {
    pl_instance_count(inst, "objects_cut_by_drain", 1);
    cut(s);
  }
}

static int sink_s3_start(pl_instance_t *inst, void *ctx) {
  sink_s3_t *s = ctx;
  int rc = pl_aws_sink_start(&s->aws, inst, "s3", s->opts->endpoint,
                             s->opts->region);
  if (rc < 0)
    return rc;
  uv_timer_init(pl_instance_loop(inst), &s->timer);
  s->timer.data = s;
  s->timer_ready = true;
  pl_log(inst, PL_LOG_DEBUG, "writing objects to bucket %s", s->opts->bucket);
  return 0;
}

/* ---- Held batches ---- */

static void release(s3_held_t *held) {
  if (--held->refs > 0)
    return;
  sink_s3_t *s = held->sink;
  pl_batch_t *batch = held->batch;
  s->held--;
  free(held);
  /* Each record was resolved by its object, or when it was refused. */
  pl_batch_done(batch, PL_RESULT_FAILED, "the object was not written");
}

/* Resolves the object's records (those still pending) and lets go of their
 * batches. */
static void resolve_object(s3_object_t *obj, const char *error) {
  for (size_t i = 0; i < obj->span_count; i++) {
    const s3_span_t *span = &obj->spans[i];
    s3_held_t *held = span->held;
    for (size_t j = span->first; j < span->first + span->count; j++) {
      if (pl_batch_result(held->batch, j) != PL_RESULT_PENDING)
        continue;
      if (error)
        pl_batch_resolve(held->batch, j, PL_RESULT_FAILED, "%s", error);
      else
        pl_batch_resolve(held->batch, j, PL_RESULT_DELIVERED, NULL);
    }
  }
  for (size_t i = 0; i < obj->span_count; i++)
    release(obj->spans[i].held);
}

/* ---- Objects ---- */

static void on_object_done(void *data, s3_object_t *obj, const char *error,
                           bool lasting) {
  sink_s3_t *s = data;
  s3_object_t **link = &s->uploading;
  while (*link && *link != obj)
    link = &(*link)->next;
  if (*link)
    *link = obj->next;
  if (error) {
    /* The engine logs the retries; a refusal that retrying does not cure
     * (no such bucket, access denied) gets an error of its own. */
    if (lasting)
      pl_complain(s->inst, &s->aws.refused, PL_LOG_ERROR, "%s", error);
    pl_instance_count(s->inst, "objects_failed", 1);
  } else {
    size_t len = obj->gzip ? obj->payload.len : obj->body.len;
    pl_aws_sink_accepted(&s->aws, "objects are written again");
    pl_instance_count(s->inst, "objects_written", 1);
    pl_instance_count(s->inst, "bytes_written", (int64_t)len);
    pl_log(s->inst, PL_LOG_DEBUG, "wrote s3://%s/%s (%zu records, %zu bytes)",
           s->opts->bucket, obj->key, obj->records, len);
  }
  resolve_object(obj, error);
  s3_object_free(obj);
}

static int open_object(sink_s3_t *s) {
  char uuid[37];
  int rc = s3_key_uuid(uuid);
  if (rc < 0)
    return rc;
  s3_key_vars_t vars = {.pipeline = pl_instance_pipeline(s->inst),
                        .uuid = uuid,
                        .seq = s->seq + 1,
                        .opened = time(NULL)};
  pl_buf_t key = {0};
  rc = s3_key_render(s->opts->key, &vars, &key);
  if (rc == 0) {
    uv_loop_t *loop = pl_instance_loop(s->inst);
    s->open = s3_object_new(key.data, uv_now(loop),
                            s->opts->compression == SINK_S3_GZIP ? 6 : 0);
    if (!s->open)
      rc = PL_ENOMEM;
  }
  pl_buf_free(&key);
  if (rc == 0 && s->opts->format == SINK_S3_CSV && s->opts->header) {
    rc = csv_encode_header(&s->opts->columns, &s->open->body);
    if (rc == 0)
      rc = s3_object_wrote(s->open, 0, false);
  }
  if (rc < 0) {
    s3_object_free(s->open);
    s->open = NULL;
    return rc;
  }
  s->seq++;
  uv_timer_start(&s->timer, on_age, s->opts->max_object_age_ms, 0);
  return 0;
}

/* Closes the open object and uploads it. */
static void cut(sink_s3_t *s) {
  s3_object_t *obj = s->open;
  s->open = NULL;
  uv_timer_stop(&s->timer);
  if (obj->records == 0) {
    s3_object_free(obj);
    return;
  }
  obj->next = s->uploading;
  s->uploading = obj;
  if (s3_object_wrote(obj, obj->body.len, true) < 0) {
    on_object_done(s, obj, "out of memory while compressing the object",
                   false);
    return;
  }
  s3_object_upload(obj, s->aws.client, &s->upload, on_object_done, s);
}

static bool full(const sink_s3_t *s) {
  const s3_object_t *obj = s->open;
  return obj->raw_len >= s->opts->max_object_bytes ||
         (s->opts->max_object_records > 0 &&
          obj->records >= (uint64_t)s->opts->max_object_records);
}

/* Encodes record i of the batch into the open object. */
static void add_record(sink_s3_t *s, s3_held_t *held, size_t i) {
  pl_batch_t *batch = held->batch;
  int rc = s->open ? 0 : open_object(s);
  if (rc < 0) {
    pl_batch_resolve(batch, i, PL_RESULT_FAILED, "cannot open an object: %s",
                     rc == PL_ERANGE ? "its key (option 'key') is longer than "
                                       "S3's limit of 1024 bytes"
                                     : pl_strerror(rc));
    return;
  }
  s3_object_t *obj = s->open;
  size_t before = obj->body.len;
  const char *why = NULL;
  const pl_record_t *record = pl_batch_record(batch, i);
  rc = s->opts->format == SINK_S3_CSV
           ? csv_encode_record(record, &s->opts->columns, &obj->body, &why)
           : pl_jsonl_encode_record(record, &obj->body, &why);
  if (rc == 0)
    rc = s3_object_add(obj, held, i);
  if (rc == PL_ENOMEM) {
    pl_buf_truncate(&obj->body, before);
    pl_batch_resolve(batch, i, PL_RESULT_FAILED,
                     "out of memory while encoding the record");
    return;
  }
  if (rc < 0) {
    if (s->opts->format == SINK_S3_CSV)
      pl_batch_resolve_as(batch, i, PL_RESULT_REJECTED, "not_csv",
                          "cannot write the record as a CSV row: %s", why);
    else
      pl_batch_resolve_as(batch, i, PL_RESULT_REJECTED, "not_json",
                          "cannot write the record as JSON: %s", why);
    return;
  }
  if (rc == 1)
    held->refs++;
  obj->records++;
  /* The record is in the object; a compression that fails (out of
   * memory) fails it too, and its line may then be written twice. */
  if (s3_object_wrote(obj, before, false) < 0)
    pl_batch_resolve(batch, i, PL_RESULT_FAILED,
                     "out of memory while compressing the object");
  if (full(s))
    cut(s);
}

static void sink_s3_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  sink_s3_t *s = ctx;
  if (pl_aws_sink_closed(&s->aws, batch))
    return;
  s3_held_t *held = calloc(1, sizeof(*held));
  if (!held) {
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  *held = (s3_held_t){s, batch, 1};
  s->held++;
  size_t count = pl_batch_count(batch);
  for (size_t i = 0; i < count; i++)
    add_record(s, held, i);
  release(held);
  /* The engine hands over no more batches until one is done. */
  if (s->open && (int64_t)s->held >= pl_instance_max_in_flight(inst)) {
    pl_instance_count(inst, "objects_cut_by_in_flight", 1);
    cut(s);
  }
}

static void sink_s3_close(pl_instance_t *inst, void *ctx) {
  sink_s3_t *s = ctx;
  if (s->open) {
    s3_object_t *obj = s->open;
    s->open = NULL;
    resolve_object(obj, "the sink closed before the object was written");
    s3_object_free(obj);
  }
  if (s->timer_ready) {
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
  }
  /* Uploads in flight end with "Canceled": their records fail, and their
   * batches are let go from the callbacks. */
  pl_aws_sink_close(&s->aws);
}

static void sink_s3_destroy(void *ctx) { free(ctx); }

/* --check --live: the bucket exists and may be listed (HeadBucket; nothing
 * is written, so s3:PutObject is not tried). */
static int sink_s3_preflight(pl_instance_t *inst, void *ctx,
                             pl_preflight_t *check) {
  const sink_s3_t *s = ctx;
  pl_aws_preflight_t *p = NULL;
  int rc = pl_aws_preflight_create(check, &p);
  if (rc < 0)
    return rc;
  pl_aws_client_t *client = pl_aws_preflight_client(
      p, &(pl_aws_client_options_t){.service = "s3",
                                    .endpoint = s->opts->endpoint,
                                    .region = s->opts->region});
  pl_aws_preflight_bucket(p, client, s->opts->bucket);
  pl_aws_preflight_finish(p);
  return 0;
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "s3",
    .kind = PL_KIND_SINK,
    .description = "Writes records to S3 objects as JSON lines or CSV, cut "
                   "by size, count or age (PutObject, multipart above "
                   "part_size).",
    .options = sink_s3_option_table,
    .options_count =
        sizeof(sink_s3_option_table) / sizeof(sink_s3_option_table[0]),
    .options_size = sizeof(sink_s3_options_t),
    .defaults = {.batch_size = "1000",
                 .batch_bytes = "1MiB",
                 .linger = "1s",
                 .max_in_flight = "64"},
    .init = sink_s3_init,
    .start = sink_s3_start,
    .write = sink_s3_write,
    .close = sink_s3_close,
    .destroy = sink_s3_destroy,
    .extensions = PL_AWS_EXTENSIONS,
    .preflight = sink_s3_preflight,
    .drain = sink_s3_drain,
};
