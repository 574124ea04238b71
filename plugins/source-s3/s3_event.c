/* S3 event notification bodies (jansson). */
#include "s3_event.h"

#include <jansson.h>
#include <pipelined/json.h>
#include <pipelined/s3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most bytes of remote text quoted in a reason. */
#define QUOTE_MAX 64

/* The event names of the records that announce a new object. */
#define CREATED_PREFIX "ObjectCreated:"
/* The detail-type of an object created, as EventBridge sends it. */
#define EVENTBRIDGE_CREATED "Object Created"

/* What one parse needs besides the event: where the reason goes, and the
 * words put before it ("SNS Message: " inside an SNS notification). */
typedef struct parse_ctx {
  s3_event_t *out;
  pl_buf_t *why;
  const char *context;
  s3_event_problem_t problem; /* of the first failure */
} parse_ctx_t;

/* Ends a reason appended to ctx->why from `before` with the code of the
 * last append: PL_EPARSE, or PL_ENOMEM with the reason taken back. */
static int failed(parse_ctx_t *ctx, size_t before, int rc) {
  if (rc < 0) {
    pl_buf_truncate(ctx->why, before);
    return PL_ENOMEM;
  }
  return PL_EPARSE;
}

static int fail(parse_ctx_t *ctx, s3_event_problem_t problem, const char *fmt,
                ...) PL_PRINTF(3, 4);

/* Notes `problem` and appends the reason as one line; returns PL_EPARSE,
 * or PL_ENOMEM when the reason does not fit in memory. */
static int fail(parse_ctx_t *ctx, s3_event_problem_t problem, const char *fmt,
                ...) {
  ctx->problem = problem;
  if (!ctx->why)
    return PL_EPARSE;
  size_t before = ctx->why->len;
  int rc = pl_buf_append_str(ctx->why, ctx->context);
  if (rc == 0) {
    va_list ap;
    va_start(ap, fmt);
    rc = pl_buf_vprintf(ctx->why, fmt, ap);
    va_end(ap);
  }
  return failed(ctx, before, rc);
}

/* Appends at most QUOTE_MAX bytes of `text`, each byte that is not
 * printable ASCII as '?', then "..." when the text was longer. */
static int append_quote(pl_buf_t *out, const char *text, size_t len) {
  size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
  int rc = pl_buf_reserve(out, n + 3);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    char safe = c >= 0x20 && c < 0x7f ? (char)c : '?';
    rc = pl_buf_append(out, &safe, 1);
  }
  if (rc == 0 && len > n)
    rc = pl_buf_append_str(out, "...");
  return rc;
}

/* The reason for text that jansson refused. Its message quotes the input
 * near the error ("... near 'text'"): that quote is capped and cleaned. */
static int fail_json(parse_ctx_t *ctx, const char *what,
                     const json_error_t *error) {
  ctx->problem = S3_EVENT_NOT_JSON;
  if (!ctx->why)
    return PL_EPARSE;
  static const char near[] = " near '";
  const char *text = error->text;
  const char *quote = strstr(text, near);
  size_t head = quote ? (size_t)(quote - text) : strlen(text);
  size_t before = ctx->why->len;
  int rc = pl_buf_printf(ctx->why, "%s%s: ", ctx->context, what);
  if (rc == 0)
    rc = append_quote(ctx->why, text, head);
  if (rc == 0 && quote) {
    const char *start = quote + strlen(near);
    size_t len = strlen(start);
    if (len > 0 && start[len - 1] == '\'')
      len--;
    rc = pl_buf_append_str(ctx->why, near);
    if (rc == 0)
      rc = append_quote(ctx->why, start, len);
    if (rc == 0)
      rc = pl_buf_append_str(ctx->why, "'");
  }
  if (rc == 0)
    rc = pl_buf_printf(ctx->why, " (line %d, column %d)", error->line,
                       error->column);
  return failed(ctx, before, rc);
}

static void object_clear(s3_event_object_t *obj) {
  free(obj->bucket);
  free(obj->key);
  free(obj->etag);
  free(obj->event_name);
  free(obj->time);
  *obj = (s3_event_object_t){0};
}

void s3_event_close(s3_event_t *ev) {
  if (!ev)
    return;
  for (size_t i = 0; i < ev->count; i++)
    object_clear(&ev->objects[i]);
  free(ev->objects);
  *ev = (s3_event_t){0};
}

/* A member of `parent` of JSON type `type`; NULL after a reason. */
static const json_t *get_typed(parse_ctx_t *ctx, size_t n,
                               const json_t *parent, const char *name,
                               const char *path, json_type type,
                               const char *phrase, int *rc) {
  const json_t *value = json_object_get(parent, name);
  if (!value)
    *rc = fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s is missing", n, path);
  else if (json_typeof(value) != type)
    *rc = fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s is not %s", n, path,
               phrase);
  return *rc == 0 ? value : NULL;
}

static const json_t *get_object(parse_ctx_t *ctx, size_t n,
                                const json_t *parent, const char *name,
                                const char *path, int *rc) {
  return get_typed(ctx, n, parent, name, path, JSON_OBJECT, "an object", rc);
}

static const json_t *get_string(parse_ctx_t *ctx, size_t n,
                                const json_t *parent, const char *name,
                                const char *path, int *rc) {
  return get_typed(ctx, n, parent, name, path, JSON_STRING, "a string", rc);
}

/* Where a shape of event keeps an object's fields. */
typedef struct object_shape {
  const char *container; /* "s3" (notification) or "detail" (EventBridge) */
  const char *etag;      /* "eTag" or "etag" */
  bool encoded_key;      /* notifications URL-encode keys; EventBridge not */
} object_shape_t;

static const object_shape_t notification_shape = {"s3", "eTag", true};
static const object_shape_t eventbridge_shape = {"detail", "etag", false};

/* The eTag without its quotes, or NULL (*rc stays 0) when there is none. */
static char *parse_etag(parse_ctx_t *ctx, size_t n, const json_t *object,
                        const object_shape_t *shape, int *rc) {
  const json_t *value = json_object_get(object, shape->etag);
  if (!value || json_is_null(value))
    return NULL;
  if (!json_is_string(value)) {
    *rc = fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s.object.%s is not a string", n,
               shape->container, shape->etag);
    return NULL;
  }
  const char *text = json_string_value(value);
  size_t len = json_string_length(value);
  if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
    text++;
    len -= 2;
  }
  if (len == 0)
    return NULL;
  char *etag = strndup(text, len);
  if (!etag)
    *rc = PL_ENOMEM;
  return etag;
}

static int parse_size(parse_ctx_t *ctx, size_t n, const json_t *object,
                      const object_shape_t *shape, s3_event_object_t *obj) {
  const json_t *value = json_object_get(object, "size");
  if (!value || json_is_null(value))
    return 0;
  if (!json_is_integer(value))
    return fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s.object.size is not a whole number",
                n, shape->container);
  json_int_t size = json_integer_value(value);
  if (size < 0)
    return fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s.object.size is negative", n,
                shape->container);
  obj->size = (uint64_t)size;
  obj->has_size = true;
  return 0;
}

/* Reads the object of an ObjectCreated record (number `n`, from 1) from
 * its `shape->container` part: bucket.name, object.key, the etag and the
 * size. */
static int parse_created(parse_ctx_t *ctx, size_t n, const json_t *record,
                         const object_shape_t *shape, s3_event_object_t *obj) {
  int rc = 0;
  char path[3][32];
  const char *c = shape->container;
  snprintf(path[0], sizeof(path[0]), "%s.bucket", c);
  snprintf(path[1], sizeof(path[1]), "%s.bucket.name", c);
  snprintf(path[2], sizeof(path[2]), "%s.object", c);
  const json_t *part = get_object(ctx, n, record, c, c, &rc);
  const json_t *bucket =
      part ? get_object(ctx, n, part, "bucket", path[0], &rc) : NULL;
  const json_t *name =
      bucket ? get_string(ctx, n, bucket, "name", path[1], &rc) : NULL;
  if (name && json_string_length(name) == 0)
    rc = fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: %s is empty", n, path[1]);
  const json_t *object =
      rc == 0 ? get_object(ctx, n, part, "object", path[2], &rc) : NULL;
  char key_path[32];
  snprintf(key_path, sizeof(key_path), "%s.object.key", c);
  const json_t *key =
      object ? get_string(ctx, n, object, "key", key_path, &rc) : NULL;
  if (rc < 0)
    return rc;
  /* jansson refuses \u0000 (no JSON_ALLOW_NUL): the texts hold no NUL. */
  if (!(obj->bucket = strdup(json_string_value(name))) ||
      !(obj->key = strdup(json_string_value(key))))
    return PL_ENOMEM;
  const char *problem = shape->encoded_key ? pl_s3_key_decode(obj->key) : NULL;
  if (!problem && !obj->key[0])
    problem = "is empty";
  else if (!problem && strlen(obj->key) > PL_S3_KEY_MAX)
    problem = "is longer than 1024 bytes";
  if (problem)
    return fail(ctx, S3_EVENT_BAD_RECORD, "record %zu: the key %s", n, problem);
  obj->etag = parse_etag(ctx, n, object, shape, &rc);
  if (rc < 0)
    return rc;
  return parse_size(ctx, n, object, shape, obj);
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

static int parse_records(parse_ctx_t *ctx, const json_t *records) {
  s3_event_t *out = ctx->out;
  size_t n = json_array_size(records);
  if (n > 0 && !(out->objects = calloc(n, sizeof(*out->objects))))
    return PL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *record = json_array_get(records, i);
    if (!json_is_object(record))
      return fail(ctx, S3_EVENT_BAD_RECORD, "record %zu is not an object", i + 1);
    int rc = 0;
    const json_t *name =
        get_string(ctx, i + 1, record, "eventName", "eventName", &rc);
    if (rc < 0)
      return rc;
    if (!starts_with(json_string_value(name), CREATED_PREFIX)) {
      out->skipped++;
      continue;
    }
    /* Counted first so that s3_event_close() frees a partial object. */
    s3_event_object_t *obj = &out->objects[out->count++];
    if (!(obj->event_name = strdup(json_string_value(name))))
      return PL_ENOMEM;
    if ((rc = parse_created(ctx, i + 1, record, &notification_shape, obj)) < 0)
      return rc;
    /* Only orders updates (sink-dynamodb's newer_than): an event without
     * it is still read. */
    const char *time = json_string_value(json_object_get(record, "eventTime"));
    if (time && *time && !(obj->time = strdup(time)))
      return PL_ENOMEM;
  }
  if (out->count == 0) {
    free(out->objects);
    out->objects = NULL;
  }
  return 0;
}

static int parse_text(parse_ctx_t *ctx, const char *text, size_t len,
                      bool wrapped);

/* An S3 event routed by EventBridge: one object per event, in "detail",
 * its key not URL-encoded; "Object Created" is read, the other types
 * (Object Deleted, Object Restore Completed, ...) are skipped. */
static int parse_eventbridge(parse_ctx_t *ctx, const json_t *root,
                             const char *detail_type) {
  s3_event_t *out = ctx->out;
  if (strcmp(detail_type, EVENTBRIDGE_CREATED) != 0) {
    out->skipped++;
    return 0;
  }
  if (!(out->objects = calloc(1, sizeof(*out->objects))))
    return PL_ENOMEM;
  s3_event_object_t *obj = &out->objects[out->count++];
  if (!(obj->event_name = strdup(detail_type)))
    return PL_ENOMEM;
  int rc = parse_created(ctx, 1, root, &eventbridge_shape, obj);
  if (rc < 0)
    return rc;
  const char *time = json_string_value(json_object_get(root, "time"));
  if (time && *time && !(obj->time = strdup(time)))
    return PL_ENOMEM;
  return 0;
}

/* The body as a JSON value: an S3 event, a test event or, unless the body
 * was already unwrapped (`wrapped`), an SNS notification. */
static int parse_value(parse_ctx_t *ctx, const json_t *root, bool wrapped) {
  if (!json_is_object(root))
    return fail(ctx, S3_EVENT_NOT_NOTIFICATION,
                "not an S3 event notification: the body is %s, not an "
                "object",
                pl_json_type_phrase(root));
  const json_t *records = json_object_get(root, "Records");
  if (records) {
    if (!json_is_array(records))
      return fail(ctx, S3_EVENT_NOT_NOTIFICATION,
                  "not an S3 event notification: \"Records\" is not an array");
    return parse_records(ctx, records);
  }
  const char *source = json_string_value(json_object_get(root, "source"));
  const char *detail_type =
      json_string_value(json_object_get(root, "detail-type"));
  if (source && detail_type && strcmp(source, "aws.s3") == 0)
    return parse_eventbridge(ctx, root, detail_type);
  const char *event = json_string_value(json_object_get(root, "Event"));
  if (event && strcmp(event, "s3:TestEvent") == 0) {
    ctx->out->test_event = true;
    return 0;
  }
  const char *type = json_string_value(json_object_get(root, "Type"));
  if (!wrapped && type && strcmp(type, "Notification") == 0) {
    const json_t *message = json_object_get(root, "Message");
    if (!json_is_string(message))
      return fail(ctx, S3_EVENT_BAD_SNS, "SNS notification: \"Message\" is not a string");
    ctx->context = "SNS Message: ";
    return parse_text(ctx, json_string_value(message),
                      json_string_length(message), true);
  }
  return fail(ctx, S3_EVENT_NOT_NOTIFICATION,
              "not an S3 event notification: no \"Records\" array");
}

static int parse_text(parse_ctx_t *ctx, const char *text, size_t len,
                      bool wrapped) {
  json_error_t error;
  json_t *root = json_loadb(text, len, 0, &error);
  if (!root)
    return json_error_code(&error) == json_error_out_of_memory
               ? PL_ENOMEM
               : fail_json(ctx, "not JSON", &error);
  int rc = parse_value(ctx, root, wrapped);
  json_decref(root);
  return rc;
}

int s3_event_parse(const char *body, size_t len, s3_event_t *out,
                   pl_buf_t *why) {
  if (!out)
    return PL_EINVAL;
  *out = (s3_event_t){0};
  if (!body && len > 0)
    return PL_EINVAL;
  parse_ctx_t ctx = {.out = out, .why = why, .context = ""};
  int rc = parse_text(&ctx, body ? body : "", len, false);
  if (rc < 0)
    s3_event_close(out);
  if (rc == PL_EPARSE)
    out->problem = ctx.problem;
  return rc;
}
