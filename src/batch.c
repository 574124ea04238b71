/* Sink batches: results per record, then delivery, dead-lettering or a
 * retry of only the failed records after a backoff. */
#include <stdlib.h>

#include "batch.h"
#include "engine.h"
#include "group.h"
#include "sink.h"

static void write_batch(pl_batch_t *batch) {
  pl_instance_t *sink = batch->sink;
  batch->done = false;
  sink->metrics.batches++;
  /* A batch after the drain (a retry) is held back too: the sink is told
   * again at the next pump (tell_drain in sink.c). */
  sink->sink->drain_told = false;
  sink->plugin->write(sink, sink->ctx, batch);
  pl__pipeline_kick(sink->pipeline);
}

int pl__batch_write_from_queue(pl_instance_t *sink, size_t max_count,
                               uint64_t max_bytes) {
  size_t count = sink->queue.count < max_count ? sink->queue.count : max_count;
  pl_batch_t *batch = calloc(1, sizeof(*batch));
  pl_record_t **records = calloc(count, sizeof(*records));
  if (!batch || !records) {
    free(batch);
    free(records);
    return PL_ENOMEM;
  }
  uint64_t bytes = 0;
  size_t n = 0;
  while (n < count) {
    /* A record larger than batch_bytes still goes, alone. */
    if (n > 0 && bytes + sink->queue.head->size > max_bytes)
      break;
    pl_record_t *record = pl__queue_pop(&sink->queue);
    record->result = PL_RESULT_PENDING;
    bytes += record->size;
    records[n++] = record;
  }
  batch->sink = sink;
  batch->records = records;
  batch->count = n;
  pl_sink_t *runner = sink->sink;
  batch->next_batch = runner->batches;
  if (runner->batches)
    runner->batches->prev_batch = batch;
  runner->batches = batch;
  runner->in_flight++;
  write_batch(batch);
  return 0;
}

size_t pl_batch_count(const pl_batch_t *batch) { return batch->count; }

pl_record_t *pl_batch_record(const pl_batch_t *batch, size_t i) {
  return i < batch->count ? batch->records[i] : NULL;
}

pl_result_t pl_batch_result(const pl_batch_t *batch, size_t i) {
  return i < batch->count ? batch->records[i]->result : PL_RESULT_PENDING;
}

unsigned pl_batch_attempt(const pl_batch_t *batch) { return batch->attempt; }

static void resolve_v(pl_batch_t *batch, size_t i, pl_result_t result,
                      const char *reason_class, const char *fmt, va_list ap) {
  if (i >= batch->count)
    return;
  pl_record_t *record = batch->records[i];
  record->result = result;
  record->reason_class = reason_class;
  if (fmt)
    pl__record_set_reason_v(record, fmt, ap);
}

void pl_batch_resolve(pl_batch_t *batch, size_t i, pl_result_t result,
                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resolve_v(batch, i, result, NULL, fmt, ap);
  va_end(ap);
}

void pl_batch_resolve_as(pl_batch_t *batch, size_t i, pl_result_t result,
                         const char *reason_class, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resolve_v(batch, i, result, reason_class, fmt, ap);
  va_end(ap);
}

static void free_batch(pl_batch_t *batch) {
  pl_sink_t *runner = batch->sink->sink;
  runner->in_flight--;
  if (batch->prev_batch)
    batch->prev_batch->next_batch = batch->next_batch;
  else
    runner->batches = batch->next_batch;
  if (batch->next_batch)
    batch->next_batch->prev_batch = batch->prev_batch;
  pl__pipeline_kick(batch->sink->pipeline);
  free(batch->records);
  free(batch);
}

static void on_retry_timer_closed(uv_handle_t *handle) {
  pl_batch_t *batch = handle->data;
  batch->timer = PL_BATCH_TIMER_CLOSED;
  if (batch->over)
    free_batch(batch);
}

static void close_retry_timer(pl_batch_t *batch) {
  if (batch->timer != PL_BATCH_TIMER_OPEN)
    return;
  batch->timer = PL_BATCH_TIMER_CLOSING;
  uv_close((uv_handle_t *)&batch->retry_timer, on_retry_timer_closed);
}

/* Nothing will use the batch any more: freed now, or once its timer is
 * closed. */
static void end_batch(pl_batch_t *batch) {
  batch->over = true;
  close_retry_timer(batch);
  if (batch->timer != PL_BATCH_TIMER_CLOSING)
    free_batch(batch);
}

static void unlink_waiting(pl_batch_t *batch) {
  pl_batch_t **link = &batch->sink->sink->waiting;
  while (*link && *link != batch)
    link = &(*link)->next_waiting;
  if (*link)
    *link = batch->next_waiting;
  batch->next_waiting = NULL;
}

/* The records the batch still holds fail. */
static void fail_rest(pl_batch_t *batch) {
  for (size_t i = 0; i < batch->count; i++) {
    batch->sink->metrics.failed++;
    pl__record_resolve(batch->records[i], false);
  }
  batch->count = 0;
}

static void on_retry_timer(uv_timer_t *timer) {
  pl_batch_t *batch = timer->data;
  unlink_waiting(batch);
  /* A sink broken since writes nothing more: its retries fail, as those
   * the pump abandons (pl__batch_abandon_waiting()). */
  if (batch->sink->sink->broken) {
    fail_rest(batch);
    end_batch(batch);
    return;
  }
  write_batch(batch);
}

void pl__batch_abandon_waiting(pl_sink_t *runner) {
  pl_batch_t *batch;
  while ((batch = runner->waiting)) {
    unlink_waiting(batch);
    uv_timer_stop(&batch->retry_timer);
    fail_rest(batch);
    end_batch(batch);
  }
}

void pl__batch_close_all(pl_sink_t *runner) {
  pl__batch_abandon_waiting(runner);
  /* What is left is being written. Its plugin still owns it and may yet
   * finish it (pl_batch_done then ends it); only its timer goes now. */
  for (pl_batch_t *batch = runner->batches; batch; batch = batch->next_batch)
    close_retry_timer(batch);
}

void pl__batch_free_all(pl_sink_t *runner) {
  pl_batch_t *batch = runner->batches;
  while (batch) {
    pl_batch_t *next = batch->next_batch;
    fail_rest(batch);
    /* A timer still in the loop (the sink was not closed, or the loop not
     * run to its end after it was) refers to the batch: it is left there
     * rather than freed under the loop's feet. */
    if (batch->timer == PL_BATCH_TIMER_NONE ||
        batch->timer == PL_BATCH_TIMER_CLOSED)
      free_batch(batch);
    batch = next;
  }
}

static uint64_t backoff_ms(const pl_instance_t *sink, unsigned attempt) {
  return pl_backoff_full_jitter(&sink->pipeline->engine->rng,
                                sink->stage.retry_backoff_ms,
                                sink->stage.retry_backoff_max_ms, attempt);
}

static void deliver(pl_instance_t *sink, pl_record_t *record) {
  sink->metrics.records_out++;
  sink->metrics.bytes += record->size;
  pl__record_resolve(record, true);
}

/* Records of one batch that failed, or that a dead letter rejected, are
 * logged as one line (HACKING.md#s9). */
typedef struct fail_note {
  size_t count;
  pl_buf_t first; /* "<reason> (first: <origin:line>)" */
} fail_note_t;

static void note_record(fail_note_t *note, const pl_record_t *record) {
  if (note->count++ == 0) {
    pl_buf_printf(&note->first, "%s (first: ",
                  record->reason ? record->reason : "no reason given");
    pl__record_location(record, &note->first);
    pl_buf_append_str(&note->first, ")");
  }
}

static void reject(pl_instance_t *sink, pl_record_t *record,
                   fail_note_t *refused) {
  pl__stage_count_rejection(sink, record->reason_class);
  if (sink->role == PL_ROLE_DEAD_LETTER) {
    /* Nothing is left to send it to: its group fails. */
    note_record(refused, record);
    pl__record_resolve(record, false);
    return;
  }
  pl__pipeline_dead_letter(sink->pipeline, sink, record);
}

static void fail(pl_instance_t *sink, pl_record_t *record, fail_note_t *note) {
  sink->metrics.failed++;
  note_record(note, record);
  pl__record_resolve(record, false);
}

void pl_batch_done(pl_batch_t *batch, pl_result_t rest, const char *reason) {
  pl_instance_t *sink = batch->sink;
  if (batch->done) {
    pl_log(sink, PL_LOG_ERROR, "pl_batch_done() called twice; ignored");
    return;
  }
  batch->done = true;
  if (rest == PL_RESULT_PENDING)
    rest = PL_RESULT_FAILED;
  /* A broken stage (pl_sink_broken) would only fail again. */
  bool retry_allowed = (int64_t)batch->attempt < sink->stage.retry_limit &&
                       !sink->pipeline->engine->closing && !sink->sink->broken;
  fail_note_t failed = {0}, refused = {0};
  size_t kept = 0;
  for (size_t i = 0; i < batch->count; i++) {
    pl_record_t *record = batch->records[i];
    if (record->result == PL_RESULT_PENDING) {
      record->result = rest;
      /* This attempt's reason replaces an earlier attempt's. */
      if (reason && rest != PL_RESULT_DELIVERED)
        pl_batch_resolve(batch, i, rest, "%s", reason);
    }
    switch (record->result) {
    case PL_RESULT_DELIVERED:
      deliver(sink, record);
      break;
    case PL_RESULT_REJECTED:
      reject(sink, record, &refused);
      break;
    case PL_RESULT_FAILED:
    case PL_RESULT_PENDING:
      if (retry_allowed) {
        record->result = PL_RESULT_PENDING;
        batch->records[kept++] = record;
      } else {
        fail(sink, record, &failed);
      }
      break;
    }
  }
  pl_sink_t *runner = sink->sink;
  /* A broken stage said why once; its failures need no line each. */
  if (failed.count > 0 && !runner->broken)
    pl_complain(sink, &runner->failures, PL_LOG_ERROR,
                "%zu record(s) failed after %u attempt(s): %s", failed.count,
                batch->attempt + 1,
                failed.first.data ? failed.first.data : "out of memory");
  if (refused.count > 0)
    pl_complain(sink, &runner->letters, PL_LOG_ERROR,
                "the dead letter rejected %zu letter(s), so their groups are "
                "not committed: %s",
                refused.count,
                refused.first.data ? refused.first.data : "out of memory");
  /* Kept records are at the front of the batch now, with their reason. */
  if (failed.count > 0)
    pl__sink_note_failure(runner, failed.first.data ? failed.first.data
                                                    : "out of memory");
  else if (kept > 0)
    pl__sink_note_failure(runner, batch->records[0]->reason);
  if (failed.count == 0 && kept == 0) {
    pl__sink_note_success(runner);
    pl_complain_release(sink, &runner->retries, "batches are written again");
    pl_complain_release(sink, &runner->failures, "records are delivered again");
  }
  if (refused.count == 0)
    pl_complain_release(sink, &runner->letters,
                        "the dead letter takes letters again");
  pl_buf_free(&failed.first);
  pl_buf_free(&refused.first);
  batch->count = kept;
  if (kept == 0) {
    end_batch(batch);
    return;
  }
  /* Only the failed records go again (HACKING.md#s8). */
  sink->metrics.retried += kept;
  batch->attempt++;
  if (batch->timer == PL_BATCH_TIMER_NONE) {
    uv_timer_init(sink->pipeline->engine->loop, &batch->retry_timer);
    batch->retry_timer.data = batch;
    batch->timer = PL_BATCH_TIMER_OPEN;
  }
  uint64_t delay = backoff_ms(sink, batch->attempt);
  pl_complain(sink, &runner->retries, PL_LOG_WARN,
              "%zu record(s) failed (%s); retry %u of %lld in %llu ms", kept,
              batch->records[0]->reason ? batch->records[0]->reason
                                        : "no reason given",
              batch->attempt, (long long)sink->stage.retry_limit,
              (unsigned long long)delay);
  batch->next_waiting = sink->sink->waiting;
  sink->sink->waiting = batch;
  uv_timer_start(&batch->retry_timer, on_retry_timer, delay, 0);
}
