/* source-sqs: receives messages from an SQS queue with long polling, one
 * ack group per message (the plugin descriptor and the glue of its parts).
 *
 * `pollers` ReceiveMessage calls run at once while the next stage has
 * room. Each message becomes a record (sqs_record.c) in its own group and
 * is listed in flight (sqs_heartbeat.c), whose timer extends its
 * visibility every half visibility timeout until the group resolves. A
 * committed group (delivered or dead-lettered) deletes its message; a
 * failed one leaves it in the queue, to be received again after
 * retry_visibility or its visibility timeout, and to reach the queue's own
 * dead-letter queue after maxReceiveCount receives. Deletes and visibility
 * changes go out in batches (sqs_acks.c).
 *
 * Failed receives back off exponentially with full jitter, one probing
 * receive at a time, until a receive works again. With --once the source
 * is exhausted after idle_polls empty receives in a row, once nothing is in
 * flight and every delete is done. */
#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

#include <stdlib.h>
#include <string.h>

#include "sqs_acks.h"
#include "sqs_backoff.h"
#include "sqs_heartbeat.h"
#include "sqs_receive.h"
#include "sqs_record.h"

#define MAX_WAIT_MS 20000
#define MAX_VISIBILITY_MS (12ull * 3600 * 1000) /* the SQS maximum */
#define MAX_POLLERS 64
#define ACK_FLUSH_DELAY_MS 10
#define RECEIVE_BACKOFF_BASE_MS 200
#define RECEIVE_BACKOFF_CAP_MS 20000
/* With --once, failed receives in a row before the run gives up. */
#define ONCE_MAX_FAILURES 5

/* ---- Options ---- */

typedef enum { POISON_DEAD_LETTER, POISON_LEAVE } sqs_poison_t;

typedef struct sqs_options {
  char *queue_url;
  char *endpoint;
  char *region;
  uint64_t wait_time_ms;
  int64_t pollers;
  int64_t max_messages;
  int format; /* sqs_format_t */
  int poison; /* sqs_poison_t */
  uint64_t visibility_timeout_ms;
  uint64_t retry_visibility_ms;
  int64_t idle_polls;
} sqs_options_t;

static const char *const format_choices[] = {"json", "raw", NULL};
static const char *const poison_choices[] = {"dead_letter", "leave", NULL};

static const pl_option_t sqs_option_table[] = {
    PL_OPTION_STRING(sqs_options_t, queue_url, "queue_url", NULL,
                     PL_OPT_REQUIRED,
                     "URL of the queue to receive from "
                     "(https://sqs.<region>.amazonaws.com/<account>/<name>)."),
    PL_OPTION_STRING(sqs_options_t, endpoint, "endpoint", NULL, 0,
                     "SQS endpoint URL (default: from the region, "
                     "AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL or the aws "
                     "block)."),
    PL_OPTION_STRING(sqs_options_t, region, "region", NULL, 0,
                     "AWS region of the queue (default: the aws block's)."),
    PL_OPTION_DURATION(sqs_options_t, wait_time_ms, "wait_time", "20s", 0,
                       "Long polling: how long a receive waits for messages "
                       "(whole seconds, 0s to 20s)."),
    PL_OPTION_INT(sqs_options_t, pollers, "pollers", "4", 0,
                  "Receives in flight at once (1 to 64)."),
    PL_OPTION_INT(sqs_options_t, max_messages, "max_messages", "10", 0,
                  "Messages asked for per receive (1 to 10)."),
    PL_OPTION_ENUM(sqs_options_t, format, "format", "json", format_choices, 0,
                   "json: each body is a JSON text, parsed into the record "
                   "(a body that is not valid JSON is poison); raw: the "
                   "record is {\"body\": \"<body>\"}."),
    PL_OPTION_ENUM(sqs_options_t, poison, "poison", "dead_letter",
                   poison_choices, 0,
                   "What to do with a body that is not valid JSON: "
                   "dead_letter sends it to the pipeline's dead letter (then "
                   "deletes it); leave keeps it in the queue, for the "
                   "queue's redrive policy."),
    PL_OPTION_DURATION(sqs_options_t, visibility_timeout_ms,
                       "visibility_timeout", "30s", 0,
                       "Visibility timeout set on each receive (whole "
                       "seconds, 1s to 12h); a message still in flight is "
                       "extended by as much every half of it."),
    PL_OPTION_DURATION(sqs_options_t, retry_visibility_ms, "retry_visibility",
                       "0", 0,
                       "When a message's group fails, make it visible again "
                       "after this delay (whole seconds, up to 12h) instead "
                       "of at the end of its visibility timeout; 0: off."),
    PL_OPTION_INT(sqs_options_t, idle_polls, "idle_polls", "2", 0,
                  "With --once: empty receives in a row after which the "
                  "queue counts as drained."),
};

static bool whole_seconds(uint64_t ms, uint64_t min, uint64_t max) {
  return ms % 1000 == 0 && ms >= min && ms <= max;
}

static int check_options(pl_instance_t *inst, const sqs_options_t *o) {
  const char *url = o->queue_url;
  if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
    pl_log(inst, PL_LOG_ERROR,
           "queue_url must be the URL of the queue "
           "(https://sqs.<region>.amazonaws.com/<account>/<name>), not '%s'",
           url);
    return PL_EINVAL;
  }
  if (!whole_seconds(o->wait_time_ms, 0, MAX_WAIT_MS)) {
    pl_log(inst, PL_LOG_ERROR,
           "wait_time must be a whole number of seconds from 0s to 20s");
    return PL_EINVAL;
  }
  if (o->pollers < 1 || o->pollers > MAX_POLLERS) {
    pl_log(inst, PL_LOG_ERROR, "pollers must be from 1 to %d, not %lld",
           MAX_POLLERS, (long long)o->pollers);
    return PL_EINVAL;
  }
  if (o->max_messages < 1 || o->max_messages > 10) {
    pl_log(inst, PL_LOG_ERROR, "max_messages must be from 1 to 10, not %lld",
           (long long)o->max_messages);
    return PL_EINVAL;
  }
  if (!whole_seconds(o->visibility_timeout_ms, 1000, MAX_VISIBILITY_MS)) {
    pl_log(inst, PL_LOG_ERROR,
           "visibility_timeout must be a whole number of seconds from 1s "
           "to 12h");
    return PL_EINVAL;
  }
  if (!whole_seconds(o->retry_visibility_ms, 0, MAX_VISIBILITY_MS)) {
    pl_log(inst, PL_LOG_ERROR,
           "retry_visibility must be a whole number of seconds up to 12h "
           "(0: off)");
    return PL_EINVAL;
  }
  if (o->idle_polls < 1) {
    pl_log(inst, PL_LOG_ERROR, "idle_polls must be at least 1");
    return PL_EINVAL;
  }
  return 0;
}

/* ---- State ---- */

typedef struct source_sqs {
  pl_instance_t *inst;
  const sqs_options_t *opts;
  uv_loop_t *loop;
  pl_aws_client_t *client;
  json_t *receive_body;
  sqs_acks_t acks;
  sqs_heartbeat_t heartbeat;
  uv_timer_t backoff_timer;
  bool timers_open;
  size_t receiving;     /* ReceiveMessage calls in flight */
  unsigned failures;    /* failed receive rounds in a row */
  int64_t empty_streak; /* empty receives in a row */
  uint64_t rng;
  bool once;
  bool paused;  /* pl_emit() said the next queue is full */
  bool gave_up; /* --once: too many failed receives */
  bool stopped;
  bool closed;
  bool exhausted;
} source_sqs_t;

static void maybe_poll(source_sqs_t *s);

/* The engine closes a stopped pipeline as soon as its groups are
 * resolved; deletes queued by the last commits would then be cancelled
 * with the AWS client, and their messages delivered again. So while
 * acknowledgements are pending the source says it is busy. */
static void keep_alive(source_sqs_t *s) {
  if (!s->closed)
    pl_source_busy(s->inst, !sqs_acks_idle(&s->acks));
}

/* With --once: exhausted once the queue looked empty idle_polls times in a
 * row (or receiving gave up) and nothing is left in flight. */
static void check_done(source_sqs_t *s) {
  keep_alive(s);
  if (!s->once || s->exhausted || s->stopped || s->closed)
    return;
  if ((s->empty_streak < s->opts->idle_polls && !s->gave_up) ||
      s->receiving > 0 || sqs_heartbeat_count(&s->heartbeat) > 0 ||
      !sqs_acks_idle(&s->acks))
    return;
  s->exhausted = true;
  if (!s->gave_up)
    pl_log(s->inst, PL_LOG_INFO,
           "queue drained: %lld empty receive(s) in a row, nothing in flight",
           (long long)s->empty_streak);
  pl_source_exhausted(s->inst);
}

static void on_acks_idle(void *data) {
  check_done(data);
}

/* ---- Messages ---- */

static void on_extend(void *data, sqs_message_t *msg) {
  source_sqs_t *s = data;
  unsigned seconds = (unsigned)(s->opts->visibility_timeout_ms / 1000);
  if (sqs_acks_set_visibility(&s->acks, msg->receipt_handle, msg->message_id,
                              seconds) < 0)
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: visibility of message %s not extended",
           msg->message_id);
}

/* A message received after stop: visible again at once, for another
 * consumer. */
static void release(source_sqs_t *s, sqs_message_t *msg) {
  sqs_acks_set_visibility(&s->acks, msg->receipt_handle, msg->message_id, 0);
  pl_instance_count(s->inst, "messages_released", 1);
  sqs_message_destroy(msg);
}

/* Makes `msg` (stolen) a group with its record, or a poison message. */
static void take(source_sqs_t *s, sqs_message_t *msg) {
  json_t *value = NULL;
  pl_buf_t reason = {0};
  int rc = sqs_record_value(msg, s->opts->format, &value, &reason);
  pl_group_t *group = pl_group_create(s->inst, msg);
  if (!group) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again",
           msg->message_id);
    release(s, msg);
    json_decref(value);
    pl_buf_free(&reason);
    return;
  }
  pl_instance_count(s->inst, "messages_received", 1);
  sqs_heartbeat_add(&s->heartbeat, msg);
  if (rc == PL_EPARSE && s->opts->poison == POISON_LEAVE) {
    pl_instance_count(s->inst, "poison_messages", 1);
    pl_log(s->inst, PL_LOG_WARN,
           "message %s (received %lld time(s)): %s; left in the queue "
           "(poison = leave) for its redrive policy",
           msg->message_id, (long long)msg->receive_count, reason.data);
    pl_group_seal(group, false);
    pl_buf_free(&reason);
    return;
  }
  pl_record_t *rec = rc == PL_ENOMEM ? NULL : pl_record_create(group);
  if (!rec || sqs_record_metadata(rec, msg, s->opts->queue_url) < 0 ||
      (rc == PL_EPARSE &&
       pl_record_set_bytes(rec, msg->body, msg->body_len) < 0)) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s not processed; it will be received "
           "again",
           msg->message_id);
    if (rec)
      pl_record_done(rec);
    pl_group_seal(group, false);
    json_decref(value);
    pl_buf_free(&reason);
    return;
  }
  pl_record_set_size(rec, msg->body_len > 0 ? msg->body_len : 1);
  pl_group_seal(group, true);
  if (rc == PL_EPARSE) {
    pl_instance_count(s->inst, "poison_messages", 1);
    pl_record_reject(rec, "%s", reason.data);
  } else {
    pl_record_set_value_new(rec, value);
    if (!pl_emit(s->inst, rec))
      s->paused = true;
  }
  pl_buf_free(&reason);
}

/* ---- Receiving ---- */

/* Without the request id, so that pl_log's rate limit sees repeats. */
static void format_error(const pl_aws_error_t *e, pl_buf_t *out) {
  pl_buf_printf(out, "%s %s: ", e->service ? e->service : "sqs",
                e->operation ? e->operation : "ReceiveMessage");
  if (e->status)
    pl_buf_printf(out, "HTTP %d ", e->status);
  pl_buf_append_str(out, e->code ? e->code : "Error");
  if (e->message && *e->message)
    pl_buf_printf(out, ": %s", e->message);
}

static void on_backoff(uv_timer_t *timer) {
  maybe_poll(timer->data);
}

static void receive_failed(source_sqs_t *s, const char *why, bool retryable) {
  /* Receives in flight together fail together: one round. */
  if (s->stopped || s->gave_up ||
      uv_is_active((uv_handle_t *)&s->backoff_timer))
    return;
  s->failures++;
  pl_instance_count(s->inst, "receive_errors", 1);
  pl_log(s->inst, retryable ? PL_LOG_WARN : PL_LOG_ERROR,
         "cannot receive messages: %s; trying again with backoff", why);
  if (s->once && s->failures >= ONCE_MAX_FAILURES) {
    pl_log(s->inst, PL_LOG_ERROR,
           "giving up after %u failed receives in a row (--once)", s->failures);
    s->gave_up = true;
    pl_instance_error(s->inst);
    return;
  }
  uint64_t delay = sqs_backoff_ms(&s->rng, s->failures, RECEIVE_BACKOFF_BASE_MS,
                                  RECEIVE_BACKOFF_CAP_MS);
  uv_timer_start(&s->backoff_timer, on_backoff, delay, 0);
}

static void on_receive(void *data, json_t *result,
                       const pl_aws_error_t *error) {
  source_sqs_t *s = data;
  s->receiving--;
  if (s->closed) /* cancelled by close */
    return;
  if (error) {
    pl_buf_t why = {0};
    format_error(error, &why);
    receive_failed(s, why.data ? why.data : "error", error->retryable);
    pl_buf_free(&why);
    maybe_poll(s);
    check_done(s);
    return;
  }
  sqs_receive_result_t got;
  int rc = sqs_receive_parse(result, &got);
  if (rc < 0) {
    receive_failed(s,
                   rc == PL_ENOMEM ? "out of memory"
                                   : "the response is not a ReceiveMessage "
                                     "result",
                   true);
    sqs_receive_result_free(&got);
    maybe_poll(s);
    check_done(s);
    return;
  }
  if (s->failures > 0)
    pl_log(s->inst, PL_LOG_INFO, "receiving again after %u failed attempt(s)",
           s->failures);
  s->failures = 0;
  if (got.skipped > 0)
    pl_log(s->inst, PL_LOG_WARN,
           "%zu message(s) skipped: %s (they stay in the queue)", got.skipped,
           got.problem);
  for (size_t i = 0; i < got.count; i++) {
    sqs_message_t *msg = got.messages[i];
    got.messages[i] = NULL;
    if (s->stopped)
      release(s, msg);
    else
      take(s, msg);
  }
  if (!s->stopped)
    s->empty_streak = got.count == 0 ? s->empty_streak + 1 : 0;
  sqs_receive_result_free(&got);
  maybe_poll(s);
  check_done(s);
}

static bool can_poll(const source_sqs_t *s) {
  if (s->stopped || s->closed || s->exhausted || s->paused || s->gave_up ||
      !s->client || uv_is_active((const uv_handle_t *)&s->backoff_timer))
    return false;
  if (s->once && s->empty_streak >= s->opts->idle_polls)
    return false;
  /* After a failure, one receive probes until one works again. */
  size_t limit = s->failures > 0 ? 1 : (size_t)s->opts->pollers;
  return s->receiving < limit;
}

static void maybe_poll(source_sqs_t *s) {
  while (can_poll(s)) {
    int rc = pl_aws_json_call(s->client, "AmazonSQS.ReceiveMessage",
                              s->receive_body, on_receive, s);
    if (rc < 0) {
      receive_failed(s, pl_strerror(rc), true);
      if (s->gave_up)
        check_done(s);
      return;
    }
    s->receiving++;
  }
}

/* ---- Commit ---- */

static void source_sqs_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                              pl_outcome_t outcome) {
  source_sqs_t *s = ctx;
  sqs_message_t *msg = pl_group_data(group);
  sqs_heartbeat_remove(&s->heartbeat, msg);
  sqs_acks_forget_visibility(&s->acks, msg->receipt_handle);
  if (outcome == PL_GROUP_COMMITTED) {
    pl_instance_count(inst, "messages_committed", 1);
    if (sqs_acks_delete(&s->acks, msg->receipt_handle, msg->message_id) < 0)
      pl_log(inst, PL_LOG_ERROR,
             "message %s delivered but not deleted (out of memory); it will "
             "be received again",
             msg->message_id);
  } else {
    pl_instance_count(inst, "messages_failed", 1);
    unsigned retry = (unsigned)(s->opts->retry_visibility_ms / 1000);
    if (retry > 0) {
      sqs_acks_set_visibility(&s->acks, msg->receipt_handle, msg->message_id,
                              retry);
      pl_log(inst, PL_LOG_WARN,
             "a message was not delivered; it stays in the queue and is "
             "received again in %u s",
             retry);
    } else {
      pl_log(inst, PL_LOG_WARN,
             "a message was not delivered; it stays in the queue and is "
             "received again once its visibility timeout ends");
    }
  }
  sqs_message_destroy(msg);
  check_done(s);
}

/* ---- Life cycle ---- */

static void source_sqs_destroy(void *ctx) {
  source_sqs_t *s = ctx;
  sqs_heartbeat_free(&s->heartbeat);
  sqs_acks_free(&s->acks);
  json_decref(s->receive_body);
  free(s);
}

static int source_sqs_init(pl_instance_t *inst, const void *options,
                           void **ctx) {
  const sqs_options_t *o = options;
  int rc = check_options(inst, o);
  if (rc < 0)
    return rc;
  source_sqs_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = o;
  s->loop = pl_instance_loop(inst);
  s->once = pl_instance_once(inst);
  s->rng = sqs_rng_seed(uv_hrtime() ^ (uintptr_t)s);
  sqs_acks_init(&s->acks, inst, o->queue_url, ACK_FLUSH_DELAY_MS, on_acks_idle,
                s);
  sqs_heartbeat_init(&s->heartbeat, s->loop, o->visibility_timeout_ms,
                     on_extend, s);
  sqs_receive_params_t params = {
      .queue_url = o->queue_url,
      .max_messages = o->max_messages,
      .wait_seconds = (unsigned)(o->wait_time_ms / 1000),
      .visibility_seconds = (unsigned)(o->visibility_timeout_ms / 1000),
  };
  if (!(s->receive_body = sqs_receive_request(&params))) {
    source_sqs_destroy(s);
    return PL_ENOMEM;
  }
  *ctx = s;
  return 0;
}

static int source_sqs_start(pl_instance_t *inst, void *ctx) {
  source_sqs_t *s = ctx;
  /* Long polls hold their connections: room for the deletes and
   * visibility changes beside them. */
  pl_aws_client_options_t copts = {.service = "sqs",
                                   .endpoint = s->opts->endpoint,
                                   .region = s->opts->region,
                                   .max_in_flight = s->opts->pollers + 8};
  int rc = pl_aws_client_create(inst, &copts, &s->client);
  if (rc < 0)
    return rc;
  uv_timer_init(s->loop, &s->backoff_timer);
  s->backoff_timer.data = s;
  s->timers_open = true;
  sqs_acks_start(&s->acks, s->client);
  sqs_heartbeat_start(&s->heartbeat);
  pl_log(inst, PL_LOG_DEBUG, "receiving from %s with %lld poller(s)",
         s->opts->queue_url, (long long)s->opts->pollers);
  maybe_poll(s);
  return 0;
}

static void source_sqs_resume(pl_instance_t *inst, void *ctx) {
  source_sqs_t *s = ctx;
  s->paused = false;
  maybe_poll(s);
}

static void source_sqs_stop(pl_instance_t *inst, void *ctx) {
  source_sqs_t *s = ctx;
  if (s->stopped)
    return;
  s->stopped = true;
  if (s->timers_open)
    uv_timer_stop(&s->backoff_timer);
  size_t in_flight = sqs_heartbeat_count(&s->heartbeat);
  if (in_flight > 0)
    pl_log(inst, PL_LOG_INFO,
           "stopping: no new receives; %zu message(s) in flight finish first",
           in_flight);
  keep_alive(s);
}

static void source_sqs_close(pl_instance_t *inst, void *ctx) {
  source_sqs_t *s = ctx;
  s->stopped = true;
  s->closed = true;
  sqs_acks_close(&s->acks);
  sqs_heartbeat_close(&s->heartbeat);
  if (s->timers_open)
    uv_close((uv_handle_t *)&s->backoff_timer, NULL);
  s->timers_open = false;
  /* Cancels the receives in flight: messages a cancelled receive was
   * given come back after their visibility timeout. */
  pl_aws_client_t *client = s->client;
  s->client = NULL;
  pl_aws_client_destroy(client);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "sqs",
    .kind = PL_KIND_SOURCE,
    .description = "Receives messages from an SQS queue (long polling), one "
                   "ack group per message, deleted once delivered.",
    .options = sqs_option_table,
    .options_count = sizeof(sqs_option_table) / sizeof(sqs_option_table[0]),
    .options_size = sizeof(sqs_options_t),
    .init = source_sqs_init,
    .start = source_sqs_start,
    .resume = source_sqs_resume,
    .stop = source_sqs_stop,
    .commit = source_sqs_commit,
    .close = source_sqs_close,
    .destroy = source_sqs_destroy,
};
