/* Batched deletes and visibility changes. */
#include "sqs_acks.h"

#include <stdlib.h>
#include <string.h>

#include <pipelined/backoff.h>
#include <pipelined/json.h>

/* Backoff of entries sent again (on top of the AWS client's own retries,
 * which already ran for the call). */
#define ACK_BACKOFF_BASE_MS 200
#define ACK_BACKOFF_CAP_MS 5000

typedef struct ack_call {
  pl__sqs_acks_t *acks;
  pl__sqs_ack_kind_t kind;
  size_t n;
  pl__sqs_ack_entry_t *entries[PL__SQS_ACK_BATCH_MAX];
} ack_call_t;

static const char *target_of(pl__sqs_ack_kind_t kind) {
  return kind == PL__SQS_ACK_DELETE ? "AmazonSQS.DeleteMessageBatch"
                                : "AmazonSQS.ChangeMessageVisibilityBatch";
}

static void entry_free(pl__sqs_ack_entry_t *e) {
  free(e->receipt_handle);
  free(e->message_id);
  free(e);
}

/* The entry's end: done (`ok`), or given up or dropped; its owner hears
 * which (pl__sqs_acks_delete_then). */
static void entry_end(pl__sqs_ack_entry_t *e, bool ok) {
  if (e->done)
    e->done(e->done_data, ok);
  entry_free(e);
}

static pl__sqs_ack_queue_t *queue_of(pl__sqs_acks_t *a, pl__sqs_ack_kind_t kind) {
  return kind == PL__SQS_ACK_DELETE ? &a->deletes : &a->changes;
}

static void queue_init(pl__sqs_acks_t *a, pl__sqs_ack_queue_t *q, pl__sqs_ack_kind_t kind) {
  *q = (pl__sqs_ack_queue_t){.acks = a, .kind = kind};
}

static void queue_append(pl__sqs_ack_queue_t *q, pl__sqs_ack_entry_t *e) {
  e->next = NULL;
  if (q->tail)
    q->tail->next = e;
  else
    q->head = e;
  q->tail = e;
  q->count++;
}

static pl__sqs_ack_entry_t *queue_pop(pl__sqs_ack_queue_t *q) {
  pl__sqs_ack_entry_t *e = q->head;
  if (e) {
    q->head = e->next;
    if (!q->head)
      q->tail = NULL;
    q->count--;
    e->next = NULL;
  }
  return e;
}

static void queue_clear(pl__sqs_ack_queue_t *q) {
  pl__sqs_ack_entry_t *e;
  while ((e = queue_pop(q)))
    entry_end(e, false);
}

void pl__sqs_acks_init(pl__sqs_acks_t *a, pl_instance_t *inst, const char *queue_url,
                   uint64_t flush_delay_ms, void (*idle)(void *data),
                   void *data) {
  *a = (pl__sqs_acks_t){.inst = inst,
                    .queue_url = queue_url,
                    .flush_delay_ms = flush_delay_ms,
                    .idle = idle,
                    .data = data};
  pl_rng_seed(&a->rng, (uint64_t)(uintptr_t)a);
  queue_init(a, &a->deletes, PL__SQS_ACK_DELETE);
  queue_init(a, &a->changes, PL__SQS_ACK_VISIBILITY);
}

static void on_flush_timer(uv_timer_t *timer);

void pl__sqs_acks_start(pl__sqs_acks_t *a, pl_aws_client_t *client) {
  uv_loop_t *loop = pl_instance_loop(a->inst);
  a->client = client;
  uv_timer_init(loop, &a->deletes.timer);
  uv_timer_init(loop, &a->changes.timer);
  a->deletes.timer.data = &a->deletes;
  a->changes.timer.data = &a->changes;
  a->open = true;
}

bool pl__sqs_acks_idle(const pl__sqs_acks_t *a) {
  return a->calls == 0 && a->deletes.count == 0 && a->changes.count == 0;
}

/* Appends `"<n>"`, an entry's Id. */
static int put_id(pl_buf_t *out, size_t n) {
  int rc = pl_buf_append(out, "\"", 1);
  if (rc == 0)
    rc = pl_buf_append_int(out, (long long)n);
  return rc < 0 ? rc : pl_buf_append(out, "\"", 1);
}

int pl__sqs_acks_request(pl__sqs_ack_kind_t kind, const char *queue_url,
                         pl__sqs_ack_entry_t *const *entries, size_t n,
                         pl_buf_t *out) {
  size_t start = out->len;
  int rc = pl_buf_append_str(out, "{\"QueueUrl\":");
  if (rc == 0)
    rc = pl_json_encode_string(queue_url, strlen(queue_url), out, NULL);
  if (rc == 0)
    rc = pl_buf_append_str(out, ",\"Entries\":[");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = pl_buf_append_str(out, i ? ",{\"Id\":" : "{\"Id\":");
    if (rc == 0)
      rc = put_id(out, i);
    if (rc == 0)
      rc = pl_buf_append_str(out, ",\"ReceiptHandle\":");
    if (rc == 0)
      rc = pl_json_encode_string(entries[i]->receipt_handle,
                                 strlen(entries[i]->receipt_handle), out,
                                 NULL);
    if (rc == 0 && kind == PL__SQS_ACK_VISIBILITY) {
      rc = pl_buf_append_str(out, ",\"VisibilityTimeout\":");
      if (rc == 0)
        rc = pl_buf_append_int(out, entries[i]->visibility);
    }
    if (rc == 0)
      rc = pl_buf_append_str(out, "}");
  }
  if (rc == 0)
    rc = pl_buf_append_str(out, "]}");
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

bool pl__sqs_acks_all_done(const char *text, size_t len, size_t n) {
  pl_buf_t want = {0};
  int rc = pl_buf_append_str(&want, "{\"Successful\":[");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = pl_buf_append_str(&want, i ? ",{\"Id\":" : "{\"Id\":");
    if (rc == 0)
      rc = put_id(&want, i);
    if (rc == 0)
      rc = pl_buf_append_str(&want, "}");
  }
  if (rc == 0)
    rc = pl_buf_append_str(&want, "]");
  /* With or without the empty "Failed" list. */
  static const char tail[] = ",\"Failed\":[]}";
  bool same = rc == 0 &&
              ((len == want.len + 1 && text[want.len] == '}') ||
               (len == want.len + sizeof(tail) - 1 &&
                memcmp(text + want.len, tail, sizeof(tail) - 1) == 0)) &&
              memcmp(text, want.data, want.len) == 0;
  pl_buf_free(&want);
  return same;
}

/* ---- Failures ---- */

/* One entry given up on: what it means for its message. */
static void log_dropped(pl__sqs_acks_t *a, pl__sqs_ack_kind_t kind,
                        const pl__sqs_ack_entry_t *e, const char *code,
                        const char *message) {
  const char *sep = message && *message ? ": " : "";
  if (kind == PL__SQS_ACK_DELETE)
    pl_log(a->inst, PL_LOG_WARN,
           "message %s not deleted (%s%s%s); it will be delivered again",
           e->message_id, code, sep, message ? message : "");
  else
    pl_log(a->inst, PL_LOG_WARN,
           "visibility of message %s not set to %u s (%s%s%s)", e->message_id,
           e->visibility, code, sep, message ? message : "");
}

/* Sends `e` again after a backoff, unless it has had its rounds. Returns
 * false when it was dropped (the caller logs it). */
static bool retry_later(pl__sqs_acks_t *a, pl__sqs_ack_queue_t *q, pl__sqs_ack_entry_t *e) {
  if (a->closed || ++e->rounds >= PL__SQS_ACK_MAX_ROUNDS)
    return false;
  queue_append(q, e);
  return true;
}

static void schedule_retry(pl__sqs_ack_queue_t *q) {
  pl__sqs_acks_t *a = q->acks;
  if (a->closed)
    return;
  q->failures++;
  uint64_t delay = pl_backoff_full_jitter(&a->rng, ACK_BACKOFF_BASE_MS,
                                          ACK_BACKOFF_CAP_MS, q->failures);
  q->backing_off = true;
  uv_timer_start(&q->timer, on_flush_timer, delay, 0);
}

static void count_done(pl__sqs_acks_t *a, pl__sqs_ack_kind_t kind, size_t n) {
  if (n > 0)
    pl_instance_count(
        a->inst,
        kind == PL__SQS_ACK_DELETE ? "messages_deleted" : "visibility_changes", n);
}

static void count_dropped(pl__sqs_acks_t *a, pl__sqs_ack_kind_t kind, size_t n) {
  if (n > 0)
    pl_instance_count(
        a->inst,
        kind == PL__SQS_ACK_DELETE ? "delete_failures" : "visibility_failures", n);
}

/* The whole call failed. */
static void call_failed(ack_call_t *call, const pl_aws_error_t *error) {
  pl__sqs_acks_t *a = call->acks;
  pl__sqs_ack_queue_t *q = queue_of(a, call->kind);
  size_t dropped = 0, retried = 0;
  for (size_t i = 0; i < call->n; i++) {
    pl__sqs_ack_entry_t *e = call->entries[i];
    call->entries[i] = NULL;
    if (error->retryable && retry_later(a, q, e)) {
      retried++;
      continue;
    }
    dropped++;
    entry_end(e, false);
  }
  pl_buf_t text = {0};
  pl_aws_error_format(error, &text);
  const char *why = text.data ? text.data : "error";
  if (dropped > 0)
    pl_log(a->inst, PL_LOG_WARN, "%s: %zu %s given up%s", why, dropped,
           call->kind == PL__SQS_ACK_DELETE ? "delete(s)" : "visibility change(s)",
           call->kind == PL__SQS_ACK_DELETE
               ? "; those messages will be delivered again"
               : "");
  else
    pl_log(a->inst, PL_LOG_DEBUG, "%s: sending %zu entries again", why,
           retried);
  pl_buf_free(&text);
  count_dropped(a, call->kind, dropped);
  if (retried > 0)
    schedule_retry(q);
}

/* The call went through: entries listed in "Failed" failed, the others
 * are done (SQS lists every entry in Successful or Failed; one listed in
 * neither is taken as done, as a missing "Failed" means none failed). */
static void call_answered(ack_call_t *call, const json_t *result) {
  pl__sqs_acks_t *a = call->acks;
  pl__sqs_ack_queue_t *q = queue_of(a, call->kind);
  size_t dropped = 0, retried = 0;
  const json_t *failed = json_object_get(result, "Failed");
  size_t i;
  const json_t *f;
  json_array_foreach(failed, i, f) {
    const char *id = json_string_value(json_object_get(f, "Id"));
    char *end = NULL;
    unsigned long k = id ? strtoul(id, &end, 10) : 0;
    if (!id || !*id || *end || k >= call->n || !call->entries[k])
      continue;
    pl__sqs_ack_entry_t *e = call->entries[k];
    call->entries[k] = NULL;
    /* Without SenderFault, assume the request was at fault: resending it
     * would fail the same way. */
    const json_t *sender = json_object_get(f, "SenderFault");
    bool server_fault = json_is_false(sender);
    if (server_fault && retry_later(a, q, e)) {
      retried++;
      continue;
    }
    const char *code = json_string_value(json_object_get(f, "Code"));
    const char *message = json_string_value(json_object_get(f, "Message"));
    log_dropped(a, call->kind, e, code ? code : "error", message);
    dropped++;
    entry_end(e, false);
  }
  size_t done = 0;
  for (size_t k = 0; k < call->n; k++) {
    if (!call->entries[k])
      continue;
    done++;
    entry_end(call->entries[k], true);
    call->entries[k] = NULL;
  }
  count_done(a, call->kind, done);
  count_dropped(a, call->kind, dropped);
  if (retried > 0)
    schedule_retry(q);
  else
    q->failures = 0;
}

/* The answer as text: the usual one (every entry done) is recognized
 * whole (pl__sqs_acks_all_done); any other is jansson's, and text that is
 * not JSON fails the call as the AWS layer's own parse did
 * (InvalidResponse). */
static void on_call_done(void *data, const char *text, size_t len,
                         const pl_aws_error_t *error) {
  ack_call_t *call = data;
  pl__sqs_acks_t *a = call->acks;
  a->calls--;
  if (a->closed) {
    for (size_t i = 0; i < call->n; i++)
      if (call->entries[i])
        entry_end(call->entries[i], false);
    free(call);
    return;
  }
  json_t *result = NULL;
  json_error_t jerr;
  if (error) {
    call_failed(call, error);
  } else if (pl__sqs_acks_all_done(text, len, call->n)) {
    call_answered(call, NULL);
  } else if (len > 0 &&
             !(result = json_loadb(text, len, JSON_DECODE_ANY, &jerr))) {
    pl_aws_error_t invalid = pl_aws_error_invalid_answer(
        "sqs", target_of(call->kind) + strlen("AmazonSQS."), 200, jerr.text);
    call_failed(call, &invalid);
  } else {
    call_answered(call, result);
  }
  json_decref(result);
  free(call);
  if (pl__sqs_acks_idle(a) && a->idle)
    a->idle(a->data);
}

/* ---- Sending ---- */

/* Returns false when the batch could not be sent: its entries wait for a
 * retry. */
static bool send_batch(pl__sqs_ack_queue_t *q) {
  pl__sqs_acks_t *a = q->acks;
  ack_call_t *call = calloc(1, sizeof(*call));
  if (!call) {
    pl_log(a->inst, PL_LOG_ERROR, "out of memory: acknowledgements delayed");
    schedule_retry(q);
    return false;
  }
  call->acks = a;
  call->kind = q->kind;
  while (call->n < PL__SQS_ACK_BATCH_MAX && q->count > 0)
    call->entries[call->n++] = queue_pop(q);
  pl_buf_t body = {0};
  int rc = pl__sqs_acks_request(q->kind, a->queue_url, call->entries,
                                call->n, &body);
  if (rc == 0)
    rc = pl_aws_json_call_text(a->client, target_of(q->kind), body.data,
                               body.len, on_call_done, call);
  pl_buf_free(&body);
  if (rc == 0) {
    a->calls++;
    return true;
  }
  /* Not sent: as a call that failed with a retryable error. */
  pl_aws_error_t error = {.service = "sqs",
                          .operation =
                              target_of(q->kind) + strlen("AmazonSQS."),
                          .code = "ClientError",
                          .message = pl_strerror(rc),
                          .retryable = true};
  call_failed(call, &error);
  free(call);
  return false;
}

/* Sends full batches, or everything with `all`. */
static void flush(pl__sqs_ack_queue_t *q, bool all) {
  while (q->count >= PL__SQS_ACK_BATCH_MAX || (all && q->count > 0))
    if (!send_batch(q))
      return;
}

uint64_t pl__sqs_acks_wait_ms(const pl__sqs_ack_queue_t *q, uint64_t delay_ms,
                              uint64_t now_ms) {
  if (!q->head)
    return UINT64_MAX;
  uint64_t due = q->head->queued_ms + delay_ms;
  return due > now_ms ? due - now_ms : 0;
}

/* Sends a partial batch when its oldest entry has waited long enough,
 * else sets the timer for when it will have. */
static void flush_or_wait(pl__sqs_ack_queue_t *q) {
  pl__sqs_acks_t *a = q->acks;
  uint64_t wait = pl__sqs_acks_wait_ms(q, a->flush_delay_ms,
                                       uv_now(pl_instance_loop(a->inst)));
  if (wait == 0)
    flush(q, true);
  else if (wait != UINT64_MAX)
    uv_timer_start(&q->timer, on_flush_timer, wait, 0);
}

static void on_flush_timer(uv_timer_t *timer) {
  pl__sqs_ack_queue_t *q = timer->data;
  if (q->acks->closed)
    return;
  if (q->backing_off) {
    /* Entries sent again are appended behind younger ones: all go. */
    q->backing_off = false;
    flush(q, true);
    return;
  }
  flush_or_wait(q);
}

static int add(pl__sqs_acks_t *a, pl__sqs_ack_kind_t kind,
               const char *receipt_handle, const char *message_id,
               unsigned seconds, void (*done)(void *data, bool ok),
               void *data) {
  if (a->closed || !a->open)
    return PL_ECANCELED;
  pl__sqs_ack_entry_t *e = calloc(1, sizeof(*e));
  if (!e || !(e->receipt_handle = strdup(receipt_handle)) ||
      !(e->message_id = strdup(message_id ? message_id : "?"))) {
    if (e)
      entry_free(e);
    return PL_ENOMEM;
  }
  e->visibility = seconds;
  e->done = done;
  e->done_data = data;
  e->queued_ms = uv_now(pl_instance_loop(a->inst));
  pl__sqs_ack_queue_t *q = queue_of(a, kind);
  queue_append(q, e);
  if (q->count >= PL__SQS_ACK_BATCH_MAX)
    flush(q, false);
  /* A running timer is due no later than the head's wait (the head only
   * gets younger), or is a retry's backoff: the new entry waits with it. */
  if (q->count > 0 && !uv_is_active((uv_handle_t *)&q->timer))
    flush_or_wait(q);
  return 0;
}

int pl__sqs_acks_delete(pl__sqs_acks_t *a, const char *receipt_handle,
                    const char *message_id) {
  return add(a, PL__SQS_ACK_DELETE, receipt_handle, message_id, 0, NULL, NULL);
}

int pl__sqs_acks_delete_then(pl__sqs_acks_t *a, const char *receipt_handle,
                             const char *message_id,
                             void (*done)(void *data, bool ok), void *data) {
  return add(a, PL__SQS_ACK_DELETE, receipt_handle, message_id, 0, done, data);
}

int pl__sqs_acks_set_visibility(pl__sqs_acks_t *a, const char *receipt_handle,
                            const char *message_id, unsigned seconds) {
  return add(a, PL__SQS_ACK_VISIBILITY, receipt_handle, message_id, seconds,
             NULL, NULL);
}

void pl__sqs_acks_forget_visibility(pl__sqs_acks_t *a, const char *receipt_handle) {
  pl__sqs_ack_queue_t *q = &a->changes;
  pl__sqs_ack_entry_t **link = &q->head;
  pl__sqs_ack_entry_t *prev = NULL;
  while (*link) {
    pl__sqs_ack_entry_t *e = *link;
    if (strcmp(e->receipt_handle, receipt_handle) != 0) {
      prev = e;
      link = &e->next;
      continue;
    }
    *link = e->next;
    if (q->tail == e)
      q->tail = prev;
    q->count--;
    entry_free(e);
  }
}

void pl__sqs_acks_close(pl__sqs_acks_t *a) {
  if (a->closed)
    return;
  a->closed = true;
  a->client = NULL;
  if (a->deletes.count > 0) {
    pl_log(a->inst, PL_LOG_WARN,
           "closing with %zu delete(s) not sent; those messages will be "
           "delivered again",
           a->deletes.count);
    count_dropped(a, PL__SQS_ACK_DELETE, a->deletes.count);
  }
  queue_clear(&a->deletes);
  queue_clear(&a->changes);
  if (a->open) {
    uv_close((uv_handle_t *)&a->deletes.timer, NULL);
    uv_close((uv_handle_t *)&a->changes.timer, NULL);
  }
  a->open = false;
}

void pl__sqs_acks_free(pl__sqs_acks_t *a) {
  queue_clear(&a->deletes);
  queue_clear(&a->changes);
}
