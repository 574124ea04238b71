/* source-s3's list mode: every `interval` a pass lists the bucket with
 * ListObjectsV2 (one page of up to 1000 keys at a time, the next page once
 * the jobs of the last one are read) and queues a job for each object whose
 * key and etag are not committed yet. Committed objects are kept in a state
 * file under state_dir (saved whenever no object is pending), so that a
 * restart does not read them again; keys no longer listed are forgotten at
 * the end of a full pass. With --once, one pass and then exhausted.
 *
 * The state is saved when nothing is pending, not after every object: a
 * crash in the middle of a pass reads the objects committed since the last
 * save again (at least once, never lost). */
#include "source_s3.h"

#include <pipelined/s3.h>
#include <stdlib.h>
#include <string.h>

/* 64-bit FNV-1a of `text` and its NUL, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  do
    h = (h ^ *p) * 0x100000001b3ull;
  while (*p++);
  return h;
}

/* What the state file belongs to: the pipeline, the prefix and the
 * suffix (two sources that differ in any of them commit different sets). */
static uint64_t state_id(const source_s3_t *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, pl_instance_pipeline(s->inst));
  h = fnv1a(h, s->opts->prefix);
  return fnv1a(h, s->opts->suffix);
}

/* The source is busy while a write of its state is in flight, so that a
 * --once run or a shutdown waits for it. */
static void update_busy(source_s3_t *s) {
  pl_state_file_t *file = s3_state_owner(s->listing.committed);
  if (!s->closed && file)
    pl_source_busy(s->inst, pl_state_file_saving(file));
}

static void save_failed(source_s3_t *s, const char *error) {
  pl_log(s->inst, PL_LOG_ERROR,
         "%s; committed objects may be read again after a restart", error);
  /* A --once run that did its work but lost its state must not look
   * like a success to a scheduler: it would read everything again. */
  if (pl_instance_once(s->inst))
    pl_instance_error(s->inst);
}

/* After each write of the state file, on the loop. */
static void on_saved(void *arg, int status, const char *error) {
  source_s3_t *s = arg;
  /* A failed save is tried again at the next save (after a pass, and at
   * close), so that the state on disk does not stay behind. */
  if (status < 0) {
    s->listing.save_lost = true;
    save_failed(s, error);
  } else {
    s->listing.save_lost = false;
  }
  update_busy(s);
}

/* Starts a write of the state on the thread pool (never on the loop: two
 * fsyncs and a rename); a write in flight is followed by the latest one. */
static void save(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (!l->dirty && !l->save_lost)
    return;
  if (s3_state_save_async(l->committed, pl_instance_loop(s->inst)) < 0) {
    l->save_lost = true;
    save_failed(s, "out of memory: cannot save the state file");
  }
  l->dirty = false;
  update_busy(s);
}

static void maybe_exhausted(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (!pl_instance_once(s->inst) || s->exhausted || l->in_pass || l->calling ||
      s3_state_count(l->pending) > 0 || s->head)
    return;
  s->exhausted = true;
  pl_log(s->inst, PL_LOG_INFO, "s3://%s/%s listed and read (--once)",
         s->opts->bucket, s->opts->prefix);
  pl_source_exhausted(s->inst);
}

static void begin_pass(source_s3_t *s);

static void on_timer(uv_timer_t *timer) { begin_pass(timer->data); }

/* The pass is over (listed, or a call failed): the next one later. */
static void end_pass(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  l->in_pass = false;
  free(l->token);
  l->token = NULL;
  if (s3_state_count(l->pending) == 0)
    save(s);
  if (pl_instance_once(s->inst)) {
    maybe_exhausted(s);
    return;
  }
  if (!s->stopped && l->timer_open)
    uv_timer_start(&l->timer, on_timer, s->opts->interval_ms, 0);
}

/* Queues a job for one listed object unless it is committed or pending. */
static void consider(source_s3_t *s, const pl_s3_object_t *object) {
  s3_listing_t *l = &s->listing;
  s3_state_mark(l->committed, object->key);
  if (!s3_source_wants(s, object->key) ||
      s3_state_has(l->committed, object->key, object->etag) ||
      s3_state_find(l->pending, object->key, NULL))
    return;
  s3_event_t one = {0};
  one.objects = calloc(1, sizeof(*one.objects));
  if (one.objects) {
    one.count = 1;
    one.objects[0] = (s3_event_object_t){
        .bucket = strdup(s->opts->bucket),
        .key = strdup(object->key),
        .etag = object->etag ? strdup(object->etag) : NULL,
        .time = object->last_modified ? strdup(object->last_modified) : NULL,
        .size = object->size,
        .has_size = true,
    };
  }
  s3_job_t *job = NULL;
  if (!one.objects || !one.objects[0].bucket || !one.objects[0].key ||
      (object->last_modified && !one.objects[0].time) ||
      s3_state_put(l->pending, object->key, object->etag) < 0 ||
      !(job = s3_job_create(s, &one, NULL))) {
    s3_event_close(&one);
    s3_state_remove(l->pending, object->key);
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: s3://%s/%s is left for the next pass",
           s->opts->bucket, object->key);
    return;
  }
  s3_job_queue(s, job);
}

static void list_failed(source_s3_t *s, const char *why) {
  pl_buf_t text = {0};
  pl_buf_printf(&text, "cannot list s3://%s/%s: %s", s->opts->bucket,
                s->opts->prefix, why);
  const char *said = text.data ? text.data : "cannot list: out of memory";
  pl_log(s->inst, PL_LOG_ERROR, "%s", said);
  pl_source_failing(s->inst, "list", said);
  pl_buf_free(&text);
  pl_instance_count(s->inst, "list_errors", 1);
  if (pl_instance_once(s->inst))
    pl_instance_error(s->inst);
  end_pass(s);
}

static void on_page(void *data, int status, const char *body, size_t len,
                    const pl_aws_error_t *error) {
  (void)status;
  source_s3_t *s = data;
  s3_listing_t *l = &s->listing;
  l->calling = false;
  if (s->closed)
    return;
  pl_buf_t why = {0};
  if (error) {
    pl_aws_error_format(error, &why);
    list_failed(s, why.data ? why.data : "error");
    pl_buf_free(&why);
    return;
  }
  pl_s3_list_page_t page;
  if (pl_s3_list_parse(body, len, &page, &why) < 0) {
    pl_buf_printf(&why, " (the ListObjectsV2 response)");
    list_failed(s, why.data ? why.data : "out of memory");
    pl_s3_list_page_close(&page);
    pl_buf_free(&why);
    return;
  }
  pl_source_reading(s->inst, "list");
  free(l->token);
  l->token = page.truncated ? page.next_token : NULL;
  page.next_token = NULL;
  for (size_t i = 0; i < page.count && !s->stopped; i++)
    consider(s, &page.objects[i]);
  if (!page.truncated && !s->stopped) {
    size_t gone = s3_state_sweep(l->committed);
    if (gone > 0) {
      l->dirty = true;
      pl_log(s->inst, PL_LOG_DEBUG, "%zu committed key(s) no longer listed",
             gone);
    }
  }
  pl_s3_list_page_close(&page);
  if (!s->head)
    s3_listing_idle(s);
}

static void list_page(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  pl_buf_t query = {0};
  int rc = pl_s3_list_query(s->opts->prefix, l->token, 0, &query);
  pl_aws_rest_request_t req = {
      .operation = "ListObjectsV2",
      .method = "GET",
      .bucket = s->opts->bucket,
      .query = query.data,
  };
  pl_aws_rest_handlers_t handlers = {.on_done = on_page, .data = s};
  if (rc == 0)
    rc = pl_aws_rest_call(s->s3, &req, &handlers, NULL);
  pl_buf_free(&query);
  if (rc < 0) {
    list_failed(s, pl_strerror(rc));
    return;
  }
  l->calling = true;
}

static void begin_pass(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (s->stopped || l->in_pass)
    return;
  l->in_pass = true;
  s3_state_unmark_all(l->committed);
  list_page(s);
}

void s3_listing_idle(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (!l->in_pass || l->calling || s->stopped)
    return;
  if (l->token)
    list_page(s);
  else
    end_pass(s);
}

int s3_listing_init(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  pl_buf_t path = {0};
  if (s->opts->state_dir &&
      pl_buf_printf(&path, "%s/s3-%s-%016llx.state", s->opts->state_dir,
                    s->opts->bucket, (unsigned long long)state_id(s)) < 0)
    return PL_ENOMEM;
  char *error = NULL;
  int rc = s3_state_create(path.data, &l->committed, &error);
  if (rc == 0)
    rc = s3_state_create(NULL, &l->pending, NULL);
  if (rc == 0 && s3_state_owner(l->committed))
    pl_state_file_on_saved(s3_state_owner(l->committed), on_saved, s);
  if (rc < 0 && error)
    pl_log(s->inst, PL_LOG_ERROR, "%s", error);
  else if (rc == 0 && path.data)
    pl_log(s->inst, PL_LOG_DEBUG, "state file %s: %zu committed object(s)",
           path.data, s3_state_count(l->committed));
  free(error);
  pl_buf_free(&path);
  return rc;
}

int s3_listing_start(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  /* Locked at the start, not at init, so that --check (which does not
   * start sources) can run beside the daemon that owns the state. */
  char *error = NULL;
  int rc = pl_state_file_lock(s3_state_owner(l->committed), &error);
  if (rc < 0) {
    pl_log(s->inst, PL_LOG_ERROR, "%s", error ? error : pl_strerror(rc));
    free(error);
    return rc;
  }
  uv_timer_init(pl_instance_loop(s->inst), &l->timer);
  l->timer.data = s;
  l->timer_open = true;
  begin_pass(s);
  return 0;
}

void s3_listing_commit(source_s3_t *s, s3_job_t *job, bool committed) {
  s3_listing_t *l = &s->listing;
  const s3_event_object_t *o = &job->objects.objects[0];
  s3_state_remove(l->pending, o->key);
  if (committed) {
    if (s3_state_put(l->committed, o->key, o->etag) < 0)
      pl_log(s->inst, PL_LOG_ERROR,
             "out of memory: s3://%s/%s may be read again", o->bucket, o->key);
    else
      l->dirty = true;
  }
  if (s3_state_count(l->pending) == 0)
    save(s);
  maybe_exhausted(s);
}

void s3_listing_stop(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (l->timer_open)
    uv_timer_stop(&l->timer);
}

void s3_listing_close(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  if (l->timer_open)
    uv_close((uv_handle_t *)&l->timer, NULL);
  l->timer_open = false;
  save(s);
}

void s3_listing_free(source_s3_t *s) {
  s3_listing_t *l = &s->listing;
  s3_state_destroy(l->committed);
  s3_state_destroy(l->pending);
  free(l->token);
}
