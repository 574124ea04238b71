/* source-sqs: receives messages from an SQS queue with long polling, one
 * ack group per message (the plugin descriptor and the glue of its parts).
 *
 * The receive loop, the visibility heartbeat and the batched deletes are
 * sqs_poller.c's, shared with source-s3. Here each message becomes a record
 * (sqs_record.c) in its own group, receiving pauses while the next stage is
 * full, and a resolved group finishes its message: deleted when committed
 * (delivered or dead-lettered), otherwise left in the queue. */
#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

#include <stdlib.h>
#include <string.h>

#include "sqs_poller.h"
#include "sqs_record.h"

#define MAX_WAIT_MS 20000
#define MAX_VISIBILITY_MS (12ull * 3600 * 1000) /* the SQS maximum */
#define MAX_POLLERS 64

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
  pl_aws_client_t *client;
  sqs_poller_t poller;
  bool paused; /* pl_emit() said the next queue is full */
} source_sqs_t;

/* ---- Messages ---- */

static bool has_room(void *data) {
  source_sqs_t *s = data;
  return !s->paused;
}

/* Makes `msg` (stolen) a group with its record, or a poison message. */
static void take(void *data, sqs_message_t *msg) {
  source_sqs_t *s = data;
  json_t *value = NULL;
  pl_buf_t reason = {0};
  int rc = sqs_record_value(msg, s->opts->format, &value, &reason);
  pl_group_t *group = pl_group_create(s->inst, msg);
  if (!group) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again",
           msg->message_id);
    sqs_poller_release(&s->poller, msg);
    json_decref(value);
    pl_buf_free(&reason);
    return;
  }
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

static void source_sqs_commit(pl_instance_t *inst, void *ctx, pl_group_t *group,
                              pl_outcome_t outcome) {
  (void)inst;
  source_sqs_t *s = ctx;
  sqs_poller_finish(&s->poller, pl_group_data(group),
                    outcome == PL_OUTCOME_COMMITTED);
}

/* ---- Life cycle ---- */

static void source_sqs_destroy(void *ctx) {
  source_sqs_t *s = ctx;
  sqs_poller_free(&s->poller);
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
  sqs_poller_params_t params = {
      .queue_url = o->queue_url,
      .pollers = o->pollers,
      .max_messages = o->max_messages,
      .wait_time_ms = o->wait_time_ms,
      .visibility_timeout_ms = o->visibility_timeout_ms,
      .retry_visibility_ms = o->retry_visibility_ms,
      .idle_polls = o->idle_polls,
  };
  sqs_poller_events_t events = {.data = s, .message = take, .room = has_room};
  if (sqs_poller_init(&s->poller, inst, &params, &events) < 0) {
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
  pl_log(inst, PL_LOG_DEBUG, "receiving from %s with %lld poller(s)",
         s->opts->queue_url, (long long)s->opts->pollers);
  sqs_poller_start(&s->poller, s->client);
  return 0;
}

static void source_sqs_resume(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  s->paused = false;
  sqs_poller_poll(&s->poller);
}

static void source_sqs_stop(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  sqs_poller_stop(&s->poller);
}

static void source_sqs_close(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  sqs_poller_close(&s->poller);
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
    .extensions = PL_AWS_EXTENSIONS,
};
