/* One object of sink-s3: the encoded records it holds, which records of
 * which held batches they are (spans), and its upload: one PutObject, or,
 * above the part size, a multipart upload whose parts go one at a time
 * (CreateMultipartUpload, UploadPart..., CompleteMultipartUpload; when a
 * step fails after the upload was created, an AbortMultipartUpload, so
 * that S3 keeps no parts of it, and the object ends once it is answered). The AWS layer retries each request
 * (standard mode); a request that still fails fails the whole object. */
#ifndef SINK_S3_OBJECT_H
#define SINK_S3_OBJECT_H

#include <pipelined/aws.h>
#include <pipelined/common.h>
#include <stdint.h>

/* Records [first, first + count) of a batch the sink holds (`held` is the
 * sink's, borrowed). */
typedef struct s3_span {
  void *held;
  size_t first;
  size_t count;
} s3_span_t;

typedef struct s3_object s3_object_t;

/* The upload is over: `error` is NULL when the object is in the bucket,
 * else why not (borrowed for the call) and `lasting` tells whether
 * retrying does not cure it (pl_aws_error_lasting()). The object is still
 * the caller's to free. */
typedef void (*s3_object_done_cb)(void *data, s3_object_t *obj,
                                  const char *error, bool lasting);

/* Where and how objects go (borrowed; outlives the uploads). */
typedef struct s3_upload_config {
  const char *bucket;
  const char *content_type; /* or NULL */
  uint64_t part_size;       /* larger objects go multipart */
} s3_upload_config_t;

struct s3_object {
  char *key;          /* owned */
  pl_buf_t body;      /* the records' encoded text (gzip: not yet
                         compressed) */
  pl_buf_t payload;   /* gzip: the compressed text */
  void *gzip;         /* gzip: the zlib stream; NULL: not compressed */
  size_t raw_len;     /* bytes of encoded text written, compressed or not */
  size_t records;     /* records written into the body */
  uint64_t opened_ms; /* the loop's clock when it opened */
  s3_span_t *spans;
  size_t span_count;
  size_t span_cap;
  struct s3_object *next; /* the sink's list of objects being uploaded */

  /* The upload. */
  pl_aws_client_t *client;
  const s3_upload_config_t *config;
  s3_object_done_cb done;
  void *done_data;
  char *upload_id;
  char **etags;
  char *etag; /* the ETag header of the part being uploaded */
  size_t parts;
  size_t sent; /* bytes of the payload in parts uploaded */
  pl_buf_t failure;     /* why a multipart upload is being aborted */
  bool failure_lasting; /* ... and whether retrying does not cure it */
};

/* A new empty object with `key` (copied), compressed with gzip at zlib
 * level `gzip_level` (1 to 9; 0: not compressed); NULL when out of
 * memory. */
s3_object_t *s3_object_new(const char *key, uint64_t opened_ms,
                           int gzip_level);
/* Frees the object (not the batches its spans name). */
void s3_object_free(s3_object_t *obj);

/* Adds record `index` of `held` to the spans (extending the last span
 * when it is the next record of the same batch). Returns 1 when a span
 * was started (the held batch is named by one more object), 0 when one
 * was extended, or PL_ENOMEM. */
int s3_object_add(s3_object_t *obj, void *held, size_t index);

/* The body grew from `before` bytes (a record was encoded into it): counts
 * the bytes in raw_len and, with gzip, compresses the body into the
 * payload once it holds 256 KiB or more (with `finish`: all of it, and
 * ends the gzip stream; call it so once, before the upload). Returns 0 or
 * PL_ENOMEM (the object is then unusable: fail its records). */
int s3_object_wrote(s3_object_t *obj, size_t before, bool finish);

/* Uploads the payload (the body, unless a payload was set) to
 * config->bucket under obj->key through `client` (borrowed; every
 * pointer must outlive the upload). `done` is called exactly once: later,
 * or before this returns when the first request cannot even be sent. */
void s3_object_upload(s3_object_t *obj, pl_aws_client_t *client,
                      const s3_upload_config_t *config, s3_object_done_cb done,
                      void *data);

#endif
