/* The receive loop of the SQS poller (see <pipelined/sqs.h> and
 * sqs_poller.h), the visibility timeout it uses, and the checks of its
 * options. */
#include "sqs_poller.h"

#include <stdlib.h>
#include <string.h>

#include <pipelined/backoff.h>
#include <pipelined/json.h>

/* How long a delete (or visibility change) waits for others to fill its
 * batch of 10, each entry from its own arrival (sqs_acks.h): at 100
 * messages a second or more every DeleteMessageBatch is full (10 ms left
 * one-row-at-a-time commits, as update mode makes them, in batches of
 * about 8), and a message is deleted at most 0.1 s later, far inside its
 * visibility timeout. */
#define ACK_FLUSH_DELAY_MS 100
#define RECEIVE_BACKOFF_BASE_MS 200
#define RECEIVE_BACKOFF_CAP_MS 20000
/* With --once, failed receives in a row before the run gives up. */
#define ONCE_MAX_FAILURES 5
/* After stop, how long past wait_time a receive still out is waited for. */
#define STOP_WAIT_MARGIN_MS 2000
/* The visibility timeout when the option is not set and the queue's own
 * cannot be read (the SQS default of a new queue). */
#define FALLBACK_VISIBILITY_MS 30000

static void maybe_poll(pl_sqs_poller_t *p);

/* The engine closes a stopped pipeline as soon as its groups are
 * resolved; deletes queued by the last commits would then be cancelled
 * with the AWS client, and their messages delivered again. So while
 * acknowledgements are pending the source says it is busy. So it is while
 * a stopped poller's long polls are out: SQS may already have handed them
 * messages, which a cancelled request would hide for their whole
 * visibility timeout; a poll ends within wait_time, and what it brings is
 * released at once. A poll that does not (a stalled connection, retries)
 * is waited for only until wait_time and a margin have passed. */
static void keep_alive(pl_sqs_poller_t *p) {
  if (!p->closed)
    pl_source_busy(p->inst,
                   !pl__sqs_acks_idle(&p->acks) ||
                       (p->stopped && p->receiving > 0 && !p->stop_wait_over));
}

/* The receives still out at stop have had their wait_time: stop waiting. */
static void on_stop_wait(uv_timer_t *timer) {
  pl_sqs_poller_t *p = timer->data;
  p->stop_wait_over = true;
  if (p->receiving > 0)
    pl_log(p->inst, PL_LOG_WARN,
           "stopping: %zu receive(s) still out after wait_time; not waiting "
           "for them",
           p->receiving);
  keep_alive(p);
}

/* With --once: exhausted once the queue looked empty idle_polls times in a
 * row (or receiving gave up) and nothing is left in flight. */
static void check_done(pl_sqs_poller_t *p) {
  keep_alive(p);
  if (!p->once || p->exhausted || p->stopped || p->closed)
    return;
  if ((p->empty_streak < p->params.idle_polls && !p->gave_up) ||
      p->receiving > 0 || pl__sqs_heartbeat_count(&p->heartbeat) > 0 ||
      !pl__sqs_acks_idle(&p->acks))
    return;
  p->exhausted = true;
  if (!p->gave_up)
    pl_log(p->inst, PL_LOG_INFO,
           "queue drained: %lld empty receive(s) in a row, nothing in flight",
           (long long)p->empty_streak);
  pl_source_exhausted(p->inst);
}

static void on_acks_idle(void *data) { check_done(data); }

static void on_extend(void *data, pl_sqs_message_t *msg) {
  pl_sqs_poller_t *p = data;
  unsigned seconds = (unsigned)(p->params.visibility_timeout_ms / 1000);
  if (pl__sqs_acks_set_visibility(&p->acks, msg->receipt_handle, msg->message_id,
                              seconds) < 0)
    pl_log(p->inst, PL_LOG_ERROR,
           "out of memory: visibility of message %s not extended",
           msg->message_id);
}

/* ---- Receiving ---- */

static void on_backoff(uv_timer_t *timer) { maybe_poll(timer->data); }

static void receive_failed(pl_sqs_poller_t *p, const char *why, bool retryable) {
  /* Receives in flight together fail together: one round. */
  if (p->stopped || p->gave_up ||
      uv_is_active((uv_handle_t *)&p->backoff_timer))
    return;
  p->failures++;
  pl_instance_count(p->inst, "receive_errors", 1);
  pl_complain(p->inst, &p->receive_failing,
              retryable ? PL_LOG_WARN : PL_LOG_ERROR,
              "cannot receive messages: %s; trying again with backoff", why);
  pl_buf_t text = {0};
  pl_buf_printf(&text, "cannot receive messages: %s", why);
  pl_source_failing(p->inst, "receive", text.data ? text.data : why);
  pl_buf_free(&text);
  if (p->once && p->failures >= ONCE_MAX_FAILURES) {
    pl_log(p->inst, PL_LOG_ERROR,
           "giving up after %u failed receives in a row (--once)", p->failures);
    p->gave_up = true;
    pl_instance_error(p->inst);
    return;
  }
  uint64_t delay = pl_backoff_full_jitter(&p->rng, RECEIVE_BACKOFF_BASE_MS,
                                          RECEIVE_BACKOFF_CAP_MS, p->failures);
  uv_timer_start(&p->backoff_timer, on_backoff, delay, 0);
}

static void take_all(pl_sqs_poller_t *p, pl__sqs_receive_result_t *got) {
  for (size_t i = 0; i < got->count; i++) {
    pl_sqs_message_t *msg = got->messages[i];
    got->messages[i] = NULL;
    pl__sqs_heartbeat_add(&p->heartbeat, msg);
    if (p->stopped) {
      pl_sqs_poller_release(p, msg);
      continue;
    }
    pl_instance_count(p->inst, "messages_received", 1);
    p->events.message(p->events.data, msg);
  }
}

static void receive_error(pl_sqs_poller_t *p, const pl_aws_error_t *error) {
  pl_buf_t why = {0};
  pl_aws_error_format(error, &why);
  receive_failed(p, why.data ? why.data : "error", error->retryable);
  pl_buf_free(&why);
}

/* The answer as text (pl__sqs_receive_read); text that is not JSON is the
 * error the AWS layer's own parse gave (InvalidResponse). */
static void on_receive(void *data, const char *text, size_t len,
                       const pl_aws_error_t *error) {
  pl_sqs_poller_t *p = data;
  p->receiving--;
  if (p->closed) /* cancelled by close */
    return;
  pl__sqs_receive_result_t got = {0};
  json_error_t jerr;
  int rc = 0;
  if (error) {
    receive_error(p, error);
  } else if ((rc = pl__sqs_receive_read(text, len, &got, &jerr)) ==
             PL_EINVAL) {
    pl_aws_error_t invalid =
        pl_aws_error_invalid_answer("sqs", "ReceiveMessage", 200, jerr.text);
    receive_error(p, &invalid);
  } else if (rc < 0) {
    receive_failed(p,
                   rc == PL_ENOMEM ? "out of memory"
                                   : "the response is not a ReceiveMessage "
                                     "result",
                   true);
  } else {
    pl_complain_release(p->inst, &p->receive_failing, "receiving again");
    pl_source_reading(p->inst, "receive");
    p->failures = 0;
    if (got.skipped > 0)
      pl_log(p->inst, PL_LOG_WARN,
             "%zu message(s) skipped: %s (they stay in the queue)",
             got.skipped, got.problem);
    if (!p->stopped)
      p->empty_streak = got.count == 0 ? p->empty_streak + 1 : 0;
    take_all(p, &got);
  }
  pl__sqs_receive_result_free(&got);
  maybe_poll(p);
  check_done(p);
}

static bool can_poll(pl_sqs_poller_t *p) {
  if (p->stopped || p->closed || p->exhausted || p->gave_up || !p->client ||
      p->asking ||
      uv_is_active((const uv_handle_t *)&p->backoff_timer))
    return false;
  if (p->once && p->empty_streak >= p->params.idle_polls)
    return false;
  /* After a failure, one receive probes until one works again. */
  size_t limit = p->failures > 0 ? 1 : (size_t)p->params.pollers;
  return p->receiving < limit && p->events.room(p->events.data);
}

static void maybe_poll(pl_sqs_poller_t *p) {
  while (can_poll(p)) {
    int rc = pl_aws_json_call_text_wait(
        p->client, "AmazonSQS.ReceiveMessage", p->receive_text.data,
        p->receive_text.len, p->params.wait_time_ms, on_receive, p);
    if (rc < 0) {
      receive_failed(p, pl_strerror(rc), true);
      if (p->gave_up)
        check_done(p);
      return;
    }
    p->receiving++;
  }
}

/* ---- The visibility timeout: the option's, or the queue's own ---- */

/* The text of receive_body, which every receive sends. */
static int encode_receive(pl_sqs_poller_t *p) {
  pl_buf_t text = {0};
  if (pl_json_encode(p->receive_body, &text, NULL) < 0) {
    pl_buf_free(&text);
    return PL_ENOMEM;
  }
  pl_buf_free(&p->receive_text);
  p->receive_text = text;
  return 0;
}

/* Before the first receive (the option is not set): what every receive
 * asks for, and the heartbeat's interval. */
static void use_visibility(pl_sqs_poller_t *p, uint64_t ms) {
  if (json_object_set_new(p->receive_body, "VisibilityTimeout",
                          json_integer((json_int_t)(ms / 1000))) < 0 ||
      encode_receive(p) < 0) {
    pl_log(p->inst, PL_LOG_ERROR,
           "out of memory: receives keep a visibility timeout of %u s",
           (unsigned)(FALLBACK_VISIBILITY_MS / 1000));
    ms = FALLBACK_VISIBILITY_MS; /* what the request body still holds */
  }
  p->params.visibility_timeout_ms = ms;
  pl__sqs_heartbeat_set_visibility(&p->heartbeat, ms);
}

/* The queue did not tell: one warning that says why and what is used. */
static void use_fallback(pl_sqs_poller_t *p, const char *why) {
  pl_log(p->inst, PL_LOG_WARN,
         "cannot use the queue's own visibility timeout (%s); using %u s: "
         "set visibility_timeout, or allow sqs:GetQueueAttributes on the "
         "queue",
         why, (unsigned)(FALLBACK_VISIBILITY_MS / 1000));
  use_visibility(p, FALLBACK_VISIBILITY_MS);
}

static void on_visibility(void *data, json_t *result,
                          const pl_aws_error_t *error) {
  pl_sqs_poller_t *p = data;
  p->asking = false;
  if (p->closed) /* cancelled by close */
    return;
  uint64_t ms = 0;
  if (error) {
    pl_buf_t why = {0};
    pl_aws_error_format(error, &why);
    use_fallback(p, why.data ? why.data : "GetQueueAttributes failed");
    pl_buf_free(&why);
  } else if (pl__sqs_visibility_parse(result, &ms) < 0) {
    use_fallback(p, "the GetQueueAttributes answer has no VisibilityTimeout "
                    "of whole seconds");
  } else if (ms == 0) {
    /* Messages would be visible again at once, to every consumer. */
    use_fallback(p, "it is 0 s, which leaves no time to process a message");
  } else {
    pl_log(p->inst, PL_LOG_INFO,
           "visibility timeout: %llu s, the queue's own (GetQueueAttributes)",
           (unsigned long long)(ms / 1000));
    use_visibility(p, ms);
  }
  maybe_poll(p);
  check_done(p);
}

/* Returns true when the answer is awaited (no receive until then). */
static bool ask_visibility(pl_sqs_poller_t *p) {
  json_t *body = pl__sqs_visibility_request(p->params.queue_url);
  int rc = body ? pl_aws_json_call(p->client, "AmazonSQS.GetQueueAttributes",
                                   body, on_visibility, p)
                : PL_ENOMEM;
  json_decref(body);
  if (rc < 0) {
    use_fallback(p, pl_strerror(rc));
    return false;
  }
  p->asking = true;
  return true;
}

/* ---- The owner's side ---- */

int pl_sqs_poller_create(pl_instance_t *inst,
                         const pl_sqs_poller_params_t *params,
                         const pl_sqs_poller_events_t *events,
                         pl_sqs_poller_t **out) {
  if (!out)
    return PL_EINVAL;
  *out = NULL;
  if (!inst || !params || !params->queue_url || !events || !events->message ||
      !events->room)
    return PL_EINVAL;
  pl_sqs_poller_t *p = malloc(sizeof(*p));
  if (!p)
    return PL_ENOMEM;
  *p = (pl_sqs_poller_t){.inst = inst, .params = *params, .events = *events};
  p->once = pl_instance_once(inst);
  pl_rng_seed(&p->rng, (uint64_t)(uintptr_t)p);
  pl__sqs_acks_init(&p->acks, inst, params->queue_url, ACK_FLUSH_DELAY_MS,
                    on_acks_idle, p);
  /* Not set: the fallback until the queue tells its own (start). */
  uint64_t visibility = params->visibility_timeout_ms > 0
                            ? params->visibility_timeout_ms
                            : FALLBACK_VISIBILITY_MS;
  pl__sqs_heartbeat_init(&p->heartbeat, pl_instance_loop(inst), visibility,
                         on_extend, p);
  pl__sqs_receive_params_t receive = {
      .queue_url = params->queue_url,
      .max_messages = params->max_messages,
      .wait_seconds = (unsigned)(params->wait_time_ms / 1000),
      .visibility_seconds = (unsigned)(visibility / 1000),
  };
  p->receive_body = pl__sqs_receive_request(&receive);
  if (!p->receive_body || encode_receive(p) < 0) {
    pl_sqs_poller_destroy(p);
    return PL_ENOMEM;
  }
  *out = p;
  return 0;
}

void pl_sqs_poller_start(pl_sqs_poller_t *p, pl_aws_client_t *client) {
  p->client = client;
  uv_timer_init(pl_instance_loop(p->inst), &p->backoff_timer);
  p->backoff_timer.data = p;
  p->timer_open = true;
  pl__sqs_acks_start(&p->acks, client);
  pl__sqs_heartbeat_start(&p->heartbeat);
  if (p->params.visibility_timeout_ms > 0)
    pl_log(p->inst, PL_LOG_INFO,
           "visibility timeout: %llu s, from the visibility_timeout option",
           (unsigned long long)(p->params.visibility_timeout_ms / 1000));
  else if (ask_visibility(p))
    return;
  maybe_poll(p);
}

void pl_sqs_poller_poll(pl_sqs_poller_t *p) { maybe_poll(p); }

size_t pl_sqs_poller_in_flight(const pl_sqs_poller_t *p) {
  return pl__sqs_heartbeat_count(&p->heartbeat);
}

void pl_sqs_poller_release(pl_sqs_poller_t *p, pl_sqs_message_t *msg) {
  pl__sqs_heartbeat_remove(&p->heartbeat, msg);
  pl__sqs_acks_forget_visibility(&p->acks, msg->receipt_handle);
  pl__sqs_acks_set_visibility(&p->acks, msg->receipt_handle, msg->message_id, 0);
  pl_instance_count(p->inst, "messages_released", 1);
  pl__sqs_message_destroy(msg);
  check_done(p);
}

/* Resolves `msg` (steals it): deleted when `committed`, `deleted` (when
 * not NULL) told how that went. */
static void finish(pl_sqs_poller_t *p, pl_sqs_message_t *msg, bool committed,
                   void (*deleted)(void *data, bool ok), void *data) {
  pl__sqs_heartbeat_remove(&p->heartbeat, msg);
  pl__sqs_acks_forget_visibility(&p->acks, msg->receipt_handle);
  if (committed) {
    pl_instance_count(p->inst, "messages_committed", 1);
    pl_complain_release(p->inst, &p->not_delivered,
                        "messages are delivered again");
    if (pl__sqs_acks_delete_then(&p->acks, msg->receipt_handle, msg->message_id,
                                 deleted, data) < 0) {
      pl_log(p->inst, PL_LOG_ERROR,
             "message %s delivered but not deleted (out of memory); it will "
             "be received again",
             msg->message_id);
      if (deleted)
        deleted(data, false);
    }
  } else {
    pl_instance_count(p->inst, "messages_failed", 1);
    unsigned retry = (unsigned)(p->params.retry_visibility_ms / 1000);
    /* Why is said where it failed (the sink, the dead letter); a run of
     * failed messages is one line here, not one per message. */
    if (retry > 0) {
      pl__sqs_acks_set_visibility(&p->acks, msg->receipt_handle, msg->message_id,
                              retry);
      pl_complain(p->inst, &p->not_delivered, PL_LOG_WARN,
                  "a message was not delivered; it stays in the queue and is "
                  "received again in %u s",
                  retry);
    } else {
      pl_complain(p->inst, &p->not_delivered, PL_LOG_WARN,
                  "a message was not delivered; it stays in the queue and is "
                  "received again once its visibility timeout ends");
    }
  }
  pl__sqs_message_destroy(msg);
  check_done(p);
}

void pl_sqs_poller_finish(pl_sqs_poller_t *p, pl_sqs_message_t *msg,
                          bool committed) {
  finish(p, msg, committed, NULL, NULL);
}

void pl_sqs_poller_commit(pl_sqs_poller_t *p, pl_sqs_message_t *msg,
                          void (*deleted)(void *data, bool ok), void *data) {
  finish(p, msg, true, deleted, data);
}

void pl_sqs_poller_stop(pl_sqs_poller_t *p) {
  if (p->stopped)
    return;
  p->stopped = true;
  if (p->timer_open)
    uv_timer_stop(&p->backoff_timer);
  size_t in_flight = pl__sqs_heartbeat_count(&p->heartbeat);
  if (in_flight > 0)
    pl_log(p->inst, PL_LOG_INFO,
           "stopping: no new receives; %zu message(s) in flight finish first",
           in_flight);
  if (p->receiving > 0) {
    pl_log(p->inst, PL_LOG_INFO,
           "stopping: waiting for %zu receive(s) in flight (at most "
           "wait_time); their messages are released at once",
           p->receiving);
    if (p->timer_open)
      uv_timer_start(&p->backoff_timer, on_stop_wait,
                     p->params.wait_time_ms + STOP_WAIT_MARGIN_MS, 0);
  }
  keep_alive(p);
}

void pl_sqs_poller_close(pl_sqs_poller_t *p) {
  p->stopped = true;
  p->closed = true;
  p->client = NULL;
  pl__sqs_acks_close(&p->acks);
  pl__sqs_heartbeat_close(&p->heartbeat);
  if (p->timer_open)
    uv_close((uv_handle_t *)&p->backoff_timer, NULL);
  p->timer_open = false;
}

void pl_sqs_poller_destroy(pl_sqs_poller_t *p) {
  if (!p)
    return;
  pl__sqs_heartbeat_free(&p->heartbeat);
  pl__sqs_acks_free(&p->acks);
  json_decref(p->receive_body);
  pl_buf_free(&p->receive_text);
  free(p);
}

/* ---- Options ---- */

#define MAX_WAIT_MS 20000
#define MAX_VISIBILITY_MS (12ull * 3600 * 1000) /* the SQS maximum */

static bool whole_seconds(uint64_t ms, uint64_t min, uint64_t max) {
  return ms % 1000 == 0 && ms >= min && ms <= max;
}

static int invalid(pl_instance_t *inst, const char *why) {
  pl_log(inst, PL_LOG_ERROR, "%s", why);
  return PL_EINVAL;
}

int pl_sqs_poller_options_check(pl_instance_t *inst, const char *url_option,
                                const char *queue_url,
                                const pl_sqs_poller_options_t *o,
                                pl_sqs_poller_params_t *out) {
  if (!queue_url || (strncmp(queue_url, "https://", 8) != 0 &&
                     strncmp(queue_url, "http://", 7) != 0)) {
    pl_log(inst, PL_LOG_ERROR,
           "%s must be the URL of an SQS queue "
           "(https://sqs.<region>.amazonaws.com/<account>/<name>), not '%s'",
           url_option, queue_url ? queue_url : "");
    return PL_EINVAL;
  }
  /* The rows' limits checked the ranges (PL_SQS_POLLER_OPTIONS); a
   * table of the plugin's own may not have them, so they stand here too. */
  if (!whole_seconds(o->wait_time_ms, 0, MAX_WAIT_MS))
    return invalid(inst, "wait_time must be a whole number of seconds from "
                         "0s to 20s");
  if (o->max_messages < 1 || o->max_messages > 10) {
    pl_log(inst, PL_LOG_ERROR, "max_messages must be from 1 to 10, not %lld",
           (long long)o->max_messages);
    return PL_EINVAL;
  }
  /* 0: not set, the queue's own. */
  if (o->visibility_timeout_ms != 0 &&
      !whole_seconds(o->visibility_timeout_ms, 1000, MAX_VISIBILITY_MS))
    return invalid(inst, "visibility_timeout must be a whole number of "
                         "seconds from 1s to 12h");
  if (!whole_seconds(o->retry_visibility_ms, 0, MAX_VISIBILITY_MS))
    return invalid(inst, "retry_visibility must be a whole number of seconds "
                         "up to 12h (0: off)");
  if (o->idle_polls < 1)
    return invalid(inst, "idle_polls must be at least 1");
  *out = (pl_sqs_poller_params_t){
      .queue_url = queue_url,
      .pollers = 1,
      .max_messages = o->max_messages,
      .wait_time_ms = o->wait_time_ms,
      .visibility_timeout_ms = o->visibility_timeout_ms,
      .retry_visibility_ms = o->retry_visibility_ms,
      .idle_polls = o->idle_polls,
  };
  return 0;
}
