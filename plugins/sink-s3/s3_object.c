/* sink-s3's objects and their uploads (s3_object.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pipelined/s3_upload.h>
#include <zlib.h>

#include "s3_object.h"

/* The body is compressed in pieces of at least this many bytes. */
#define GZIP_CHUNK ((size_t)256 << 10)

s3_object_t *s3_object_new(const char *key, uint64_t opened_ms,
                           int gzip_level) {
  s3_object_t *obj = calloc(1, sizeof(*obj));
  if (!obj)
    return NULL;
  obj->opened_ms = opened_ms;
  obj->key = strdup(key);
  if (!obj->key) {
    s3_object_free(obj);
    return NULL;
  }
  if (gzip_level > 0) {
    z_stream *zs = calloc(1, sizeof(*zs));
    /* 15 + 16: the largest window, with a gzip header and trailer. */
    if (!zs || deflateInit2(zs, gzip_level, Z_DEFLATED, 15 + 16, 8,
                            Z_DEFAULT_STRATEGY) != Z_OK) {
      free(zs);
      s3_object_free(obj);
      return NULL;
    }
    obj->gzip = zs;
  }
  return obj;
}

/* Compresses the body into the payload and empties the body. */
static int compress_body(s3_object_t *obj, bool finish) {
  z_stream *zs = obj->gzip;
  zs->next_in = (Bytef *)(obj->body.data ? obj->body.data : "");
  zs->avail_in = (uInt)obj->body.len;
  int flush = finish ? Z_FINISH : Z_NO_FLUSH;
  for (;;) {
    size_t room = deflateBound(zs, zs->avail_in) + 64;
    if (pl_buf_reserve(&obj->payload, room) < 0)
      return PL_ENOMEM;
    zs->next_out = (Bytef *)obj->payload.data + obj->payload.len;
    zs->avail_out = (uInt)(obj->payload.cap - obj->payload.len - 1);
    uInt avail = zs->avail_out;
    int rc = deflate(zs, flush);
    obj->payload.len += avail - zs->avail_out;
    if (rc == Z_STREAM_END || (rc == Z_OK && !finish && zs->avail_in == 0))
      break;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return PL_ENOMEM;
  }
  pl_buf_reset(&obj->body);
  return 0;
}

int s3_object_wrote(s3_object_t *obj, size_t before, bool finish) {
  obj->raw_len += obj->body.len - before;
  if (!obj->gzip || (!finish && obj->body.len < GZIP_CHUNK))
    return 0;
  return compress_body(obj, finish);
}

void s3_object_free(s3_object_t *obj) {
  if (!obj)
    return;
  if (obj->gzip) {
    deflateEnd(obj->gzip);
    free(obj->gzip);
  }
  for (size_t i = 0; i < obj->parts; i++)
    free(obj->etags[i]);
  free(obj->etags);
  free(obj->etag);
  free(obj->upload_id);
  pl_buf_free(&obj->failure);
  free(obj->spans);
  pl_buf_free(&obj->body);
  pl_buf_free(&obj->payload);
  free(obj->key);
  free(obj);
}

int s3_object_add(s3_object_t *obj, void *held, size_t index) {
  if (obj->span_count > 0) {
    s3_span_t *last = &obj->spans[obj->span_count - 1];
    if (last->held == held && last->first + last->count == index) {
      last->count++;
      return 0;
    }
  }
  if (obj->span_count == obj->span_cap) {
    size_t cap = obj->span_cap ? obj->span_cap * 2 : 4;
    s3_span_t *spans = realloc(obj->spans, cap * sizeof(*spans));
    if (!spans)
      return PL_ENOMEM;
    obj->spans = spans;
    obj->span_cap = cap;
  }
  obj->spans[obj->span_count++] = (s3_span_t){held, index, 1};
  return 1;
}

/* ---- The upload ---- */

static const char *payload(const s3_object_t *obj, size_t *len) {
  const pl_buf_t *buf = obj->gzip ? &obj->payload : &obj->body;
  *len = buf->len;
  return buf->data ? buf->data : "";
}

static void finish(s3_object_t *obj, const char *error, bool lasting) {
  obj->done(obj->done_data, obj, error, lasting);
}

/* Ends the upload with "<what>: <error>". */
static void fail_with(s3_object_t *obj, const pl_aws_error_t *error,
                      const char *what) {
  pl_buf_t reason = {0};
  if (error)
    pl_aws_error_format(error, &reason);
  else
    pl_buf_append_str(&reason, what);
  finish(obj, reason.data ? reason.data : what,
         error && pl_aws_error_lasting(error));
  pl_buf_free(&reason);
}

/* The abort is answered (or failed: a multipart upload left behind costs
 * storage until a bucket lifecycle rule removes it, and holds no records):
 * the object ends with the error that made it abort, and says which upload
 * it left when the abort did not go through (a shutdown cancels it too). */
static void on_abort_done(void *data, int status, const char *body, size_t len,
                          const pl_aws_error_t *error) {
  s3_object_t *obj = data;
  /* 404 (NoSuchUpload): there is no upload left to abort. */
  bool gone = error && error->status == 404;
  if (!gone && (error || status < 200 || status >= 300)) {
    pl_buf_printf(&obj->failure,
                  "; multipart upload %s of s3://%s/%s is left incomplete "
                  "(AbortMultipartUpload: ",
                  obj->upload_id, obj->config->bucket, obj->key);
    if (error)
      pl_aws_error_format(error, &obj->failure);
    else
      pl_buf_append_str(&obj->failure, "not sent");
    pl_buf_append_str(&obj->failure,
                      "): its parts stay until a bucket lifecycle rule "
                      "(AbortIncompleteMultipartUpload) removes them");
  }
  finish(obj, obj->failure.data ? obj->failure.data : "the upload failed",
         obj->failure_lasting);
}

/* A multipart step failed: drops the upload on S3's side, then ends the
 * object with the step's error (at once when the abort cannot be sent). */
static void fail_multipart(s3_object_t *obj, const pl_aws_error_t *error,
                           const char *what) {
  pl_buf_reset(&obj->failure);
  if (error)
    pl_aws_error_format(error, &obj->failure);
  else
    pl_buf_append_str(&obj->failure, what);
  obj->failure_lasting = error && pl_aws_error_lasting(error);
  pl_buf_t query = {0};
  int rc = pl_s3_upload_query(obj->upload_id, 0, &query);
  if (rc == 0) {
    pl_aws_rest_request_t req = {.operation = "AbortMultipartUpload",
                                 .method = "DELETE",
                                 .bucket = obj->config->bucket,
                                 .key = obj->key,
                                 .query = query.data};
    pl_aws_rest_handlers_t handlers = {.on_done = on_abort_done,
                                       .data = obj};
    rc = pl_aws_rest_call(obj->client, &req, &handlers, NULL);
  }
  pl_buf_free(&query);
  if (rc < 0)
    on_abort_done(obj, 0, NULL, 0, NULL);
}

/* Sends one request whose answer goes to `on_done`; a request that cannot
 * be sent ends the object. */
static void send_request(s3_object_t *obj, const char *operation, const char *method,
                         const char *query, const char *body, size_t len,
                 void (*on_headers)(void *, int, const pl_aws_header_t *,
                                    size_t),
                 void (*on_done)(void *, int, const char *, size_t,
                                 const pl_aws_error_t *)) {
  pl_aws_header_t headers[1];
  size_t count = 0;
  bool creates = strcmp(operation, "PutObject") == 0 ||
                 strcmp(operation, "CreateMultipartUpload") == 0;
  if (creates && obj->config->content_type)
    headers[count++] =
        (pl_aws_header_t){"Content-Type", obj->config->content_type};
  pl_aws_rest_request_t req = {.operation = operation,
                               .method = method,
                               .bucket = obj->config->bucket,
                               .key = obj->key,
                               .query = query,
                               .headers = headers,
                               .header_count = count,
                               .body = body,
                               .body_len = len};
  pl_aws_rest_handlers_t handlers = {
      .on_headers = on_headers, .on_done = on_done, .data = obj};
  int rc = pl_aws_rest_call(obj->client, &req, &handlers, NULL);
  if (rc < 0) {
    pl_buf_t reason = {0};
    pl_buf_printf(&reason, "cannot send %s: %s", operation, pl_strerror(rc));
    if (obj->upload_id)
      fail_multipart(obj, NULL, reason.data ? reason.data : operation);
    else
      finish(obj, reason.data ? reason.data : operation, false);
    pl_buf_free(&reason);
  }
}

/* ---- PutObject ---- */

static void on_put_done(void *data, int status, const char *body, size_t len,
                        const pl_aws_error_t *error) {
  s3_object_t *obj = data;
  if (error)
    fail_with(obj, error, "PutObject failed");
  else
    finish(obj, NULL, false);
}

/* ---- Multipart ---- */

static void send_part(s3_object_t *obj);

static void on_complete_done(void *data, int status, const char *body,
                             size_t len, const pl_aws_error_t *error) {
  s3_object_t *obj = data;
  if (error) {
    fail_multipart(obj, error, "CompleteMultipartUpload failed");
    return;
  }
  pl_buf_t reason = {0};
  pl_buf_append_str(&reason, "s3 CompleteMultipartUpload: ");
  if (pl_s3_complete_parse(body, len, &reason) < 0) {
    fail_multipart(obj, NULL, reason.data);
    pl_buf_free(&reason);
    return;
  }
  pl_buf_free(&reason);
  finish(obj, NULL, false);
}

static void send_complete(s3_object_t *obj) {
  pl_buf_t query = {0}, body = {0};
  if (pl_s3_upload_query(obj->upload_id, 0, &query) < 0 ||
      pl_s3_complete_body((const char *const *)obj->etags, obj->parts,
                          &body) < 0) {
    fail_multipart(obj, NULL, "out of memory for CompleteMultipartUpload");
  } else {
    send_request(obj, "CompleteMultipartUpload", "POST", query.data, body.data,
         body.len, NULL, on_complete_done);
  }
  pl_buf_free(&query);
  pl_buf_free(&body);
}

static void on_part_headers(void *data, int status,
                            const pl_aws_header_t *headers, size_t count) {
  s3_object_t *obj = data;
  for (size_t i = 0; i < count; i++) {
    if (strcasecmp(headers[i].name, "ETag") == 0) {
      free(obj->etag);
      obj->etag = strdup(headers[i].value);
    }
  }
}

static void on_part_done(void *data, int status, const char *body, size_t len,
                         const pl_aws_error_t *error) {
  s3_object_t *obj = data;
  if (error) {
    fail_multipart(obj, error, "UploadPart failed");
    return;
  }
  if (!obj->etag || !*obj->etag) {
    fail_multipart(obj, NULL, "s3 UploadPart: the answer has no ETag");
    return;
  }
  obj->etags[obj->parts++] = obj->etag;
  obj->etag = NULL;
  size_t total = 0;
  payload(obj, &total);
  if (obj->sent < total)
    send_part(obj);
  else
    send_complete(obj);
}

static void send_part(s3_object_t *obj) {
  size_t total = 0;
  const char *data = payload(obj, &total);
  size_t len = total - obj->sent;
  /* Every part but the last is part_size bytes; a last part is never
   * empty. */
  if (len > obj->config->part_size)
    len = (size_t)obj->config->part_size;
  pl_buf_t query = {0};
  if (pl_s3_upload_query(obj->upload_id, (unsigned)obj->parts + 1, &query) <
      0) {
    fail_multipart(obj, NULL, "cannot number the part");
    return;
  }
  free(obj->etag);
  obj->etag = NULL;
  size_t offset = obj->sent;
  obj->sent += len;
  send_request(obj, "UploadPart", "PUT", query.data, data + offset, len,
       on_part_headers, on_part_done);
  pl_buf_free(&query);
}

static void on_create_done(void *data, int status, const char *body,
                           size_t len, const pl_aws_error_t *error) {
  s3_object_t *obj = data;
  if (error) {
    fail_with(obj, error, "CreateMultipartUpload failed");
    return;
  }
  pl_buf_t reason = {0};
  pl_buf_append_str(&reason, "s3 CreateMultipartUpload: ");
  if (pl_s3_initiate_parse(body, len, &obj->upload_id, &reason) < 0) {
    fail_with(obj, NULL, reason.data);
    pl_buf_free(&reason);
    return;
  }
  pl_buf_free(&reason);
  send_part(obj);
}

void s3_object_upload(s3_object_t *obj, pl_aws_client_t *client,
                      const s3_upload_config_t *config, s3_object_done_cb done,
                      void *data) {
  obj->client = client;
  obj->config = config;
  obj->done = done;
  obj->done_data = data;
  size_t len = 0;
  const char *body = payload(obj, &len);
  if (len <= config->part_size) {
    send_request(obj, "PutObject", "PUT", NULL, body, len, NULL, on_put_done);
    return;
  }
  size_t parts = (size_t)((len + config->part_size - 1) / config->part_size);
  if (parts > PL_S3_MAX_PARTS) {
    finish(obj, "the object needs more than 10000 parts: raise part_size",
           true);
    return;
  }
  obj->etags = calloc(parts, sizeof(*obj->etags));
  if (!obj->etags) {
    finish(obj, "out of memory", false);
    return;
  }
  send_request(obj, "CreateMultipartUpload", "POST", "uploads=", NULL, 0, NULL,
       on_create_done);
}
