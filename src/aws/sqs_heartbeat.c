/* The in-flight list and its one timer. */
#include "sqs_heartbeat.h"

void pl__sqs_heartbeat_init(pl__sqs_heartbeat_t *hb, uv_loop_t *loop,
                        uint64_t visibility_ms, pl__sqs_heartbeat_cb extend,
                        void *data) {
  *hb = (pl__sqs_heartbeat_t){.loop = loop, .extend = extend, .data = data};
  pl__sqs_heartbeat_set_visibility(hb, visibility_ms);
}

void pl__sqs_heartbeat_set_visibility(pl__sqs_heartbeat_t *hb,
                                      uint64_t visibility_ms) {
  hb->interval_ms = visibility_ms / 2;
  if (hb->interval_ms == 0)
    hb->interval_ms = 1;
}

void pl__sqs_heartbeat_start(pl__sqs_heartbeat_t *hb) {
  uv_timer_init(hb->loop, &hb->timer);
  hb->timer.data = hb;
  hb->open = true;
}

static void append(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg) {
  msg->prev = hb->tail;
  msg->next = NULL;
  if (hb->tail)
    hb->tail->next = msg;
  else
    hb->head = msg;
  hb->tail = msg;
  hb->count++;
}

static void unlink_message(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg) {
  if (msg->prev)
    msg->prev->next = msg->next;
  else
    hb->head = msg->next;
  if (msg->next)
    msg->next->prev = msg->prev;
  else
    hb->tail = msg->prev;
  msg->prev = msg->next = NULL;
  hb->count--;
}

static void on_timer(uv_timer_t *timer);

static void arm(pl__sqs_heartbeat_t *hb) {
  if (!hb->open)
    return;
  if (!hb->head) {
    uv_timer_stop(&hb->timer);
    return;
  }
  uint64_t now = uv_now(hb->loop);
  uint64_t at = hb->head->extend_at;
  uv_timer_start(&hb->timer, on_timer, at > now ? at - now : 0, 0);
}

static void on_timer(uv_timer_t *timer) {
  pl__sqs_heartbeat_t *hb = timer->data;
  uint64_t now = uv_now(hb->loop);
  /* Messages due within an eighth of the interval go now too: a little
   * early is harmless and their changes share batches. */
  uint64_t horizon = now + hb->interval_ms / 8;
  /* Each one extended is appended again: stop at the first that was not
   * due when this pass began. */
  size_t n = hb->count;
  while (n-- > 0 && hb->head && hb->head->extend_at <= horizon) {
    pl_sqs_message_t *msg = hb->head;
    unlink_message(hb, msg);
    msg->extend_at = now + hb->interval_ms;
    append(hb, msg);
    hb->extend(hb->data, msg);
  }
  arm(hb);
}

void pl__sqs_heartbeat_add(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg) {
  bool was_empty = hb->head == NULL;
  msg->extend_at = uv_now(hb->loop) + hb->interval_ms;
  append(hb, msg);
  if (was_empty)
    arm(hb);
}

void pl__sqs_heartbeat_remove(pl__sqs_heartbeat_t *hb, pl_sqs_message_t *msg) {
  unlink_message(hb, msg);
  /* A removed head leaves the timer early: it finds nothing due and
   * re-arms for the new head. */
  if (!hb->head && hb->open)
    uv_timer_stop(&hb->timer);
}

size_t pl__sqs_heartbeat_count(const pl__sqs_heartbeat_t *hb) {
  return hb->count;
}

void pl__sqs_heartbeat_close(pl__sqs_heartbeat_t *hb) {
  if (hb->open)
    uv_close((uv_handle_t *)&hb->timer, NULL);
  hb->open = false;
}

void pl__sqs_heartbeat_free(pl__sqs_heartbeat_t *hb) {
  while (hb->head) {
    pl_sqs_message_t *msg = hb->head;
    unlink_message(hb, msg);
    pl__sqs_message_destroy(msg);
  }
}
