/* One S3 object at a time, streamed into chunks (see s3_reader.h). */
#include "s3_reader.h"
#include "s3_recover.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void s3_reader_init(s3_reader_t *r, pl_instance_t *inst, s3_reader_done_cb done,
                    void *data) {
  *r = (s3_reader_t){.inst = inst, .done = done, .data = data};
}

void s3_reader_set_decompress(s3_reader_t *r,
                              const pl_decompress_options_t *opts) {
  r->decompress = opts;
}

void s3_reader_set_client(s3_reader_t *r, pl_aws_client_t *client) {
  r->client = client;
}

bool s3_reader_busy(const s3_reader_t *r) { return r->reading; }

void s3_reader_track(s3_reader_t *r, s3_track_t *track) { r->track = track; }

int s3_reader_resume_at(s3_reader_t *r, uint64_t offset, uint64_t line,
                        const char *etag) {
  pl_buf_t quoted = {0};
  char *raw = strdup(etag);
  if (!raw || pl_buf_printf(&quoted, "\"%s\"", etag) < 0) {
    free(raw);
    return PL_ENOMEM;
  }
  free(r->etag);
  free(r->etag_raw);
  r->etag = quoted.data;
  r->etag_raw = raw;
  r->resume_at = offset;
  r->resume_line = line;
  return 0;
}

int s3_reader_expect(s3_reader_t *r, const char *etag) {
  size_t n = etag ? strlen(etag) : 0;
  if (r->etag || n == 0)
    return 0;
  bool quoted = n >= 2 && etag[0] == '"' && etag[n - 1] == '"';
  char *raw = quoted ? strndup(etag + 1, n - 2) : strdup(etag);
  if (!raw)
    return PL_ENOMEM;
  int rc = *raw ? s3_reader_resume_at(r, 0, 0, raw) : 0;
  free(raw);
  return rc;
}

bool s3_reader_paused(const s3_reader_t *r) { return r->paused; }

int s3_reader_origin(const char *bucket, const char *key, char **out) {
  *out = NULL;
  pl_buf_t buf = {0};
  if (pl_buf_printf(&buf, "s3://%s/%s", bucket, key) < 0)
    return PL_ENOMEM;
  if (!pl_utf8_valid(buf.data, buf.len)) {
    pl_buf_free(&buf);
    return PL_EPARSE;
  }
  *out = buf.data;
  return 0;
}

void s3_reader_forget_decoder(s3_reader_t *r) {
  pl_decompress_destroy(r->dec);
  r->dec = NULL;
  free(r->content_encoding);
  r->content_encoding = NULL;
  r->sniffed = false;
  r->decode_error = 0;
  r->tail_len = 0;
}

static void forget_object(s3_reader_t *r) {
  s3_reader_forget_decoder(r);
  free(r->bucket);
  free(r->key);
  free(r->origin);
  free(r->time);
  free(r->etag);
  free(r->etag_raw);
  r->bucket = r->key = r->origin = r->time = r->etag = r->etag_raw = NULL;
  r->group = NULL;
  r->reading = false;
  r->mismatch = false;
  r->sized = false;
  r->track = NULL;
  r->resume_at = r->resume_line = r->next_line = 0;
  r->heading = false;
  pl_buf_free(&r->head);
}

bool s3_reader_emit(s3_reader_t *r, const char *bytes, size_t len, bool last,
                    bool cut) {
  pl_record_t *rec = pl_record_create(r->group);
  if (!rec || pl_record_set_origin(rec, r->origin) < 0 ||
      (r->etag_raw && pl_record_set_etag(rec, r->etag_raw) < 0) ||
      (r->time && pl_record_set_origin_time(rec, r->time) < 0) ||
      pl_record_set_bytes(rec, len ? bytes : "", len) < 0) {
    if (rec)
      pl_record_done(rec);
    return false;
  }
  /* The header of an object taken up in the middle is a replay; a chunk
   * of the object as it is begins with the bytes held back before
   * `offset` and ends where its mark says. */
  if (r->heading)
    pl_record_set_replay(rec);
  else if (len > 0 && !last && !cut && !r->dec && r->track && !r->track->off &&
           pl_record_set_mark(rec, r->offset - r->tail_len + len) < 0) {
    pl_record_done(rec);
    return false;
  }
  if (len > 0 && r->next_line) {
    pl_record_set_line(rec, r->next_line);
    r->next_line = 0;
  }
  pl_record_set_size(rec, len > 0 ? len : 1);
  if (cut)
    pl_record_set_cut(rec);
  else
    pl_record_set_last(rec, last);
  if (!pl_emit(r->inst, rec))
    r->paused = true;
  return true;
}

/* Emits `n` bytes at `text`, which begin with the bytes the last piece
 * held back, but the first bytes of a UTF-8 character they cut: those
 * wait for the next piece (with `whole`, the object's end, nothing
 * waits). False: out of memory (nothing was emitted). */
static bool emit_text(s3_reader_t *r, const char *text, size_t n, bool whole) {
  size_t cut = whole ? 0 : pl_utf8_partial_tail(text, n);
  if (cut < n && !s3_reader_emit(r, text, n - cut, false, false))
    return false;
  memmove(r->tail, text + n - cut, cut);
  r->tail_len = cut;
  return true;
}

/* emit_text() of the bytes held back and the `len` at `bytes`, a piece of
 * the object as it is. */
static bool emit_piece(s3_reader_t *r, const char *bytes, size_t len) {
  if (r->tail_len == 0)
    return emit_text(r, bytes, len, false);
  char *joined = malloc(r->tail_len + len);
  if (!joined)
    return false;
  memcpy(joined, r->tail, r->tail_len);
  memcpy(joined + r->tail_len, bytes, len);
  bool ok = emit_text(r, joined, r->tail_len + len, false);
  free(joined);
  return ok;
}

/* The decoder's next output into r->chunk, after the bytes the last chunk
 * held back (so a chunk stays within S3_READER_CHUNK): `got` new bytes. */
static int read_decoded(s3_reader_t *r, size_t *got) {
  memcpy(r->chunk, r->tail, r->tail_len);
  return pl_decompress_read(r->dec, r->chunk + r->tail_len,
                            S3_READER_CHUNK - r->tail_len, got);
}

/* The end of a compressed object's body: what the decoder still holds,
 * then whether the stream was whole. Every piece was used up before the
 * download went on, so what is left is at most the few bytes of an
 * undecided sniff: this ignores a full queue, as the last chunk does. */
static void end_decoder(s3_reader_t *r, s3_read_result_t *result,
                        const char **why) {
  pl_decompress_end(r->dec);
  for (;;) {
    size_t n = 0;
    int rc = read_decoded(r, &n);
    if (rc == PL_ENOMEM ||
        (n > 0 && !emit_text(r, r->chunk, r->tail_len + n, false))) {
      *result = S3_READ_FAILED;
      *why = "out of memory";
      return;
    }
    if (rc < 0) {
      *result = rc == PL_ERANGE ? S3_READ_TOO_LARGE : S3_READ_CORRUPT;
      *why = pl_decompress_error(r->dec);
      return;
    }
    if (n == 0)
      break;
  }
}

void s3_reader_finish(s3_reader_t *r, s3_read_result_t result,
                      const char *why) {
  if (result == S3_READ_DONE && r->dec)
    end_decoder(r, &result, &why);
  if (result == S3_READ_DONE) {
    /* A character the object's last bytes began never ends: they go as
     * they are. */
    if ((r->tail_len > 0 && !emit_text(r, r->tail, r->tail_len, true)) ||
        !s3_reader_emit(r, NULL, 0, true, false)) {
      result = S3_READ_FAILED;
      why = "out of memory";
    }
  }
  if (result != S3_READ_DONE && r->offset > 0)
    /* Best effort: the group fails anyway. */
    s3_reader_emit(r, NULL, 0, true, true);
  /* `why` may be the decoder's: the owner hears it before it is freed. */
  bool keep_why = why && r->dec && why == pl_decompress_error(r->dec);
  char *why_copy = keep_why ? strdup(why) : NULL;
  if (keep_why)
    why = why_copy ? why_copy : "out of memory";
  pl_instance_count(r->inst,
                    result == S3_READ_DONE       ? "objects_read"
                    : result == S3_READ_GONE     ? "objects_gone"
                    : result == S3_READ_FAILED   ? "objects_failed"
                    : result == S3_READ_REPLACED ? "objects_replaced"
                                                 : "objects_rejected",
                    1);
  forget_object(r);
  r->done(r->data, result, why);
  free(why_copy);
}

static void on_headers(void *data, int status, const pl_aws_header_t *headers,
                       size_t count) {
  s3_reader_t *r = data;
  r->status = status;
  /* A server that ignores Range sends the whole object again. */
  r->skip = status == 200 ? r->offset : 0;
  for (size_t i = 0; status == 200 && !r->sized && i < count; i++) {
    /* The object's size, once per object, for the progress line. */
    if (strcasecmp(headers[i].name, "content-length") == 0) {
      pl_source_progress(r->inst, 0, strtoull(headers[i].value, NULL, 10));
      r->sized = true;
    }
  }
  for (size_t i = 0; (status == 200 || r->heading) && !r->sniffed && i < count;
       i++) {
    /* How the object is encoded, from the response of its first byte. */
    if (strcasecmp(headers[i].name, "content-encoding") == 0) {
      free(r->content_encoding);
      r->content_encoding = strdup(headers[i].value);
    }
  }
  for (size_t i = 0; i < count; i++) {
    if (strcasecmp(headers[i].name, "etag") != 0)
      continue;
    const char *v = headers[i].value;
    if (r->etag && (r->request_from > 0 || r->heading)) {
      /* A server that ignored If-Match: another version of the object. */
      r->mismatch = strcmp(v, r->etag) != 0;
      return;
    }
    /* From its first byte, the version read is the one served: the one
     * announced, or another from a server that ignores If-Match. */
    size_t n = strlen(v);
    free(r->etag);
    free(r->etag_raw);
    r->etag_raw = NULL;
    r->etag = strdup(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
      r->etag_raw = strndup(v + 1, n - 2);
    else
      r->etag_raw = strdup(v);
    if (r->track) {
      free(r->track->etag);
      r->track->etag = r->etag_raw ? strdup(r->etag_raw) : NULL;
    }
    break;
  }
}

/* Gives the object up from inside the download: out of memory
 * (`decode_error` 0), or its stream cannot be decompressed. */
static void give_up(s3_reader_t *r, int decode_error) {
  r->stopped = true;
  r->out_of_memory = decode_error == 0;
  r->decode_error = decode_error;
  if (r->call)
    pl_aws_call_cancel(r->call);
}

/* Decides from the first piece of the body whether the object is
 * compressed, and makes its decoder when it is. False: out of memory. */
static bool start_decoder(s3_reader_t *r, const char *bytes, size_t len) {
  r->sniffed = true;
  if (!r->decompress)
    return true;
  pl_compression_t kind =
      pl_compression_detect((pl_compression_t)r->decompress->compression,
                            r->content_encoding, r->key);
  if (kind == PL_COMPRESSION_AUTO)
    kind = pl_compression_sniff(bytes, len, true);
  if (kind == PL_COMPRESSION_NONE)
    return true; /* read as it is, piece by piece */
  if (r->track)
    r->track->off = true; /* decompressed offsets cannot be resumed */
  if (!r->chunk && !(r->chunk = malloc(S3_READER_CHUNK)))
    return false;
  return pl_decompress_create(kind, r->decompress->max_decompressed_bytes,
                              &r->dec) == 0;
}

/* Emits decompressed chunks while the next stage has room. True when the
 * input is used up (the download may go on); false while the next stage
 * is full (the download waits for s3_reader_resume()). */
static bool pump(s3_reader_t *r) {
  while (!r->paused && !r->stopped) {
    size_t n = 0;
    int rc = read_decoded(r, &n);
    if (rc < 0) {
      give_up(r, rc == PL_ENOMEM ? 0 : rc);
      return true;
    }
    if (n == 0)
      return true;
    pl_instance_count(r->inst, "bytes_decompressed", n);
    if (!emit_text(r, r->chunk, r->tail_len + n, false)) {
      give_up(r, 0);
      return true;
    }
  }
  return r->stopped;
}

static bool on_body(void *data, const char *bytes, size_t len) {
  s3_reader_t *r = data;
  if (r->stopped || r->mismatch) {
    if (r->mismatch && !r->canceled && r->call) {
      r->canceled = true;
      pl_aws_call_cancel(r->call); /* restarted from its done */
    }
    return true;
  }
  /* on_headers gives a success's status before its first byte (error
   * bodies go to the error parser, never here): bytes without it are not
   * the object's. */
  if (r->status < 200 || r->status >= 300)
    return true;
  size_t skip = r->skip < len ? (size_t)r->skip : len;
  r->skip -= skip;
  bytes += skip;
  len -= skip;
  if (len == 0)
    return true;
  if (r->heading) {
    /* The first piece, for the header line: held until it is whole. */
    size_t room = S3_READER_CHUNK - r->head.len;
    if (pl_buf_append(&r->head, bytes, len < room ? len : room) < 0)
      give_up(r, 0);
    return true;
  }
  if (!r->sniffed && !start_decoder(r, bytes, len)) {
    give_up(r, 0);
    return true;
  }
  if (r->dec) {
    if (pl_decompress_feed(r->dec, bytes, len) < 0) {
      give_up(r, 0);
      return true;
    }
  } else if (!emit_piece(r, bytes, len)) {
    give_up(r, 0);
    return true;
  }
  r->offset += len;
  pl_instance_count(r->inst, "bytes_read", len);
  pl_source_progress(r->inst, len, 0);
  return r->dec ? pump(r) : !r->paused;
}

static void on_done(void *data, int status, const char *body, size_t len,
                    const pl_aws_error_t *error) {
  (void)status;
  (void)body;
  (void)len;
  s3_reader_t *r = data;
  r->call = NULL;
  if (r->stopped && r->decode_error) {
    s3_reader_finish(
        r, r->decode_error == PL_ERANGE ? S3_READ_TOO_LARGE : S3_READ_CORRUPT,
        pl_decompress_error(r->dec));
    return;
  }
  if (r->stopped) {
    s3_reader_finish(r, S3_READ_FAILED,
                     r->out_of_memory ? "out of memory"
                                      : "stopped before the end of the object");
    return;
  }
  if (r->heading) {
    s3_recover_end_heading(r, error);
    return;
  }
  if (r->mismatch) {
    s3_recover_restart(r);
    return;
  }
  if (!error && r->status == 0) {
    /* A success whose headers never reached on_headers (out of memory in
     * the client): its bytes were dropped, so the object is not whole. */
    s3_reader_finish(r, S3_READ_FAILED, "out of memory");
    return;
  }
  if (!error) {
    s3_reader_finish(r, S3_READ_DONE, NULL);
    return;
  }
  pl_buf_t text = {0};
  pl_aws_error_format(error, &text);
  const char *why = text.data ? text.data : "error";
  if (r->request_from == 0 && error->status == 412 && r->etag) {
    s3_reader_finish(r, S3_READ_REPLACED, why);
  } else if (r->offset > 0 && error->status == 412) {
    s3_recover_restart(r);
  } else if (r->offset > 0 && error->status == 416 && r->etag) {
    s3_reader_finish(r, S3_READ_DONE, NULL); /* it broke exactly at the end */
  } else if (r->offset > 0 &&
             (error->retryable || error->status == 0 || error->status >= 500)) {
    s3_recover_range(r, why);
  } else if (!error->retryable && s3_recover_is_gone(error)) {
    s3_reader_finish(r, S3_READ_GONE, why);
  } else {
    s3_reader_finish(r, S3_READ_FAILED, why);
  }
  pl_buf_free(&text);
}

int s3_reader_request(s3_reader_t *r) {
  char range[48];
  pl_aws_header_t headers[2];
  size_t count = 0;
  if (r->heading) {
    snprintf(range, sizeof(range), "bytes=0-%d", S3_READER_CHUNK - 1);
    headers[count++] = (pl_aws_header_t){"Range", range};
    if (r->etag)
      headers[count++] = (pl_aws_header_t){"If-Match", r->etag};
  } else {
    if (r->offset > 0) {
      snprintf(range, sizeof(range), "bytes=%llu-",
               (unsigned long long)r->offset);
      headers[count++] = (pl_aws_header_t){"Range", range};
    }
    /* From the first byte too: the version announced (s3_reader_expect). */
    if (r->etag)
      headers[count++] = (pl_aws_header_t){"If-Match", r->etag};
  }
  pl_aws_rest_request_t req = {
      .operation = "GetObject",
      .method = "GET",
      .bucket = r->bucket,
      .key = r->key,
      .headers = headers,
      .header_count = count,
  };
  pl_aws_rest_handlers_t handlers = {
      .on_headers = on_headers,
      .on_body = on_body,
      .on_done = on_done,
      .data = r,
  };
  r->request_from = r->offset;
  r->skip = 0;
  r->status = 0;
  r->mismatch = false;
  r->canceled = false;
  int rc = pl_aws_rest_call(r->client, &req, &handlers, &r->call);
  if (rc == 0 && r->paused)
    pl_aws_call_pause(r->call);
  return rc;
}

int s3_reader_start(s3_reader_t *r, pl_group_t *group, const char *bucket,
                    const char *key, const char *time) {
  if (r->reading || !r->client)
    return PL_EINVAL;
  int rc = s3_reader_origin(bucket, key, &r->origin);
  r->bucket = strdup(bucket);
  r->key = strdup(key);
  r->time = time ? strdup(time) : NULL;
  if (rc < 0 || !r->bucket || !r->key || (time && !r->time)) {
    forget_object(r);
    return rc < 0 ? rc : PL_ENOMEM;
  }
  r->group = group;
  r->offset = 0;
  r->heading = r->resume_at > 0 && r->etag;
  if (r->heading && r->track && r->etag_raw) {
    free(r->track->etag);
    r->track->etag = strdup(r->etag_raw); /* the version resumed */
  }
  r->resumes = 0;
  r->restarts = 0;
  r->stopped = false;
  r->reading = true;
  r->out_of_memory = false;
  rc = s3_reader_request(r);
  if (rc < 0)
    forget_object(r);
  return rc;
}

void s3_reader_resume(s3_reader_t *r) {
  if (!r->paused)
    return;
  r->paused = false;
  /* A held piece of a compressed object is used up before more comes. */
  if (r->dec && r->call && !r->stopped && !pump(r))
    return;
  if (r->call)
    pl_aws_call_resume(r->call);
}

void s3_reader_stop(s3_reader_t *r) {
  if (!r->reading || r->stopped)
    return;
  r->stopped = true;
  if (r->call)
    pl_aws_call_cancel(r->call);
}

void s3_reader_free(s3_reader_t *r) {
  forget_object(r);
  free(r->chunk);
  r->chunk = NULL;
}
