/* source-sqs: receives messages from an SQS queue with long polling, one
 * ack group per message (the plugin descriptor and the glue of its parts).
 *
 * The receive loop, the visibility heartbeat and the batched deletes are
 * the SQS poller's (<pipelined/sqs.h>). Here each message becomes a record
 * (sqs_record.c; the usual body, a flat object, is read by sqs_body.c
 * without jansson's parser) in its own group, receiving pauses while the
 * next stage is full, and a resolved group finishes its message: deleted
 * when committed (delivered or dead-lettered), otherwise left in the
 * queue. */
#include <pipelined/aws.h>
#include <pipelined/aws_preflight.h>
#include <pipelined/pipelined.h>
#include <pipelined/sqs.h>

#include <stdlib.h>
#include <string.h>

#include "sqs_record.h"

#define MAX_POLLERS 64

/* ---- Options ---- */

typedef enum { POISON_DEAD_LETTER, POISON_LEAVE } sqs_poison_t;

typedef struct sqs_options {
  char *queue_url;
  char *endpoint;
  char *region;
  int64_t pollers;
  int format; /* sqs_format_t */
  int poison; /* sqs_poison_t */
  pl_sqs_poller_options_t poller;
} sqs_options_t;

static const char *const format_choices[] = {"json", "raw", NULL};
static const char *const poison_choices[] = {"dead_letter", "leave", NULL};

static const pl_option_t sqs_option_table[] = {
    PL_OPTION_STRING(sqs_options_t, queue_url, "queue_url", NULL,
                     PL_OPT_REQUIRED,
                     "URL of the queue to receive from "
                     "(https://sqs.<region>.amazonaws.com/<account>/<name>)."),
    PL_AWS_CLIENT_OPTIONS(sqs_options_t, "SQS", "SQS"),
    PL_SQS_POLLER_OPTIONS(sqs_options_t, poller, ""),
    PL_OPTION_INT_RANGE(sqs_options_t, pollers, "pollers", "4", 1, MAX_POLLERS,
                        0, "Receives in flight at once."),
    PL_OPTION_ENUM(sqs_options_t, format, "format", "json", format_choices, 0,
                   "json: each body is a JSON text, parsed into the record "
                   "(a body that is not valid JSON, or holds a number the "
                   "daemon cannot keep as written: beyond 64-bit integers, "
                   "or more digits than a double holds, is poison); raw: "
                   "the record is {\"body\": \"<body>\"}."),
    PL_OPTION_ENUM(sqs_options_t, poison, "poison", "dead_letter",
                   poison_choices, 0,
                   "What to do with a poison body (see format): "
                   "dead_letter sends it to the pipeline's dead letter (then "
                   "deletes it); leave keeps it in the queue, for the "
                   "queue's redrive policy."),
};

/* The poller's options (pl_sqs_poller_options_check()) and its number of
 * receives at once (the table's range has checked it). */
static int check_options(pl_instance_t *inst, const sqs_options_t *o,
                         pl_sqs_poller_params_t *params) {
  int rc = pl_sqs_poller_options_check(inst, "queue_url", o->queue_url,
                                       &o->poller, params);
  if (rc < 0)
    return rc;
  params->pollers = o->pollers;
  return 0;
}

/* ---- State ---- */

typedef struct source_sqs {
  pl_instance_t *inst;
  const sqs_options_t *opts;
  pl_aws_client_t *client;
  pl_sqs_poller_t *poller;
  bool paused; /* pl_emit() said the next queue is full */
} source_sqs_t;

/* ---- Messages ---- */

static bool has_room(void *data) {
  source_sqs_t *s = data;
  return !s->paused;
}

/* Makes `msg` (stolen) a group with its record, or a poison message. */
static void take(void *data, pl_sqs_message_t *msg) {
  source_sqs_t *s = data;
  const char *id = pl_sqs_message_id(msg);
  size_t body_len = 0;
  const char *body = pl_sqs_message_body(msg, &body_len);
  json_t *value = NULL;
  pl_buf_t reason = {0};
  int rc = sqs_record_value(msg, s->opts->format, &value, &reason);
  pl_group_t *group = pl_group_create(s->inst, msg);
  if (!group) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s released, to be received again",
           id);
    pl_sqs_poller_release(s->poller, msg);
    json_decref(value);
    pl_buf_free(&reason);
    return;
  }
  if (rc == PL_EPARSE && s->opts->poison == POISON_LEAVE) {
    pl_instance_count(s->inst, "poison_messages", 1);
    pl_log(s->inst, PL_LOG_WARN,
           "message %s (received %lld time(s)): %s; left in the queue "
           "(poison = leave) for its redrive policy",
           id, (long long)pl_sqs_message_receive_count(msg), reason.data);
    pl_group_seal(group, false);
    pl_buf_free(&reason);
    return;
  }
  pl_record_t *rec = rc == PL_ENOMEM ? NULL : pl_record_create(group);
  if (!rec || sqs_record_metadata(rec, msg, s->opts->queue_url) < 0 ||
      (rc == PL_EPARSE &&
       pl_record_set_bytes(rec, body, body_len) < 0)) {
    pl_log(s->inst, PL_LOG_ERROR,
           "out of memory: message %s not processed; it will be received "
           "again",
           id);
    if (rec)
      pl_record_done(rec);
    pl_group_seal(group, false);
    json_decref(value);
    pl_buf_free(&reason);
    return;
  }
  pl_record_set_size(rec, body_len > 0 ? body_len : 1);
  /* The message stays in memory until the record is done: memory_limit
   * counts it with the record. */
  pl_record_set_source_cost(rec, pl_sqs_message_memory(msg));
  pl_group_seal(group, true);
  if (rc == PL_EPARSE) {
    pl_instance_count(s->inst, "poison_messages", 1);
    pl_record_reject_as(rec, "poison", "%s", reason.data);
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
  pl_sqs_poller_finish(s->poller, pl_group_data(group),
                    outcome == PL_OUTCOME_COMMITTED);
}

/* ---- Life cycle ---- */

static void source_sqs_destroy(void *ctx) {
  source_sqs_t *s = ctx;
  pl_sqs_poller_destroy(s->poller);
  free(s);
}

static int source_sqs_init(pl_instance_t *inst, const void *options,
                           void **ctx) {
  const sqs_options_t *o = options;
  pl_sqs_poller_params_t params;
  int rc = check_options(inst, o, &params);
  if (rc < 0)
    return rc;
  source_sqs_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = o;
  pl_sqs_poller_events_t events = {.data = s, .message = take,
                                   .room = has_room};
  rc = pl_sqs_poller_create(inst, &params, &events, &s->poller);
  if (rc < 0) {
    source_sqs_destroy(s);
    return rc;
  }
  *ctx = s;
  return 0;
}

static int source_sqs_start(pl_instance_t *inst, void *ctx) {
  source_sqs_t *s = ctx;
  /* Long polls hold their connections: room beside them for as many
   * deletes (each receive of up to 10 messages becomes a DeleteMessageBatch
   * of up to 10 once they are written, so at full speed there are about as
   * many deletes out as receives), and for visibility changes. With only
   * pollers + 8, receives and deletes shared the slots, and far away (20 ms
   * a request) put mode ran at that cap: 72 SQS requests at once for 64
   * pollers, fewer than 64 BatchWriteItems fed. */
  pl_aws_client_options_t copts = {.service = "sqs",
                                   .endpoint = s->opts->endpoint,
                                   .region = s->opts->region,
                                   .max_in_flight = 2 * s->opts->pollers + 8};
  int rc = pl_aws_client_create(inst, &copts, &s->client);
  if (rc < 0)
    return rc;
  pl_log(inst, PL_LOG_DEBUG, "receiving from %s with %lld poller(s)",
         s->opts->queue_url, (long long)s->opts->pollers);
  pl_sqs_poller_start(s->poller, s->client);
  return 0;
}

/* --check --live: the queue exists, and its redrive policy and visibility
 * timeout suit a reader. */
static int source_sqs_preflight(pl_instance_t *inst, void *ctx,
                                pl_preflight_t *check) {
  const source_sqs_t *s = ctx;
  return pl_aws_preflight_queue_stage(
      check,
      &(pl_aws_client_options_t){.service = "sqs",
                                 .endpoint = s->opts->endpoint,
                                 .region = s->opts->region},
      &(pl_aws_queue_check_t){
          .what = "queue",
          .url = s->opts->queue_url,
          .reads = true,
          .visibility_timeout_ms = s->opts->poller.visibility_timeout_ms});
}

static void source_sqs_resume(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  s->paused = false;
  pl_sqs_poller_poll(s->poller);
}

static void source_sqs_stop(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  pl_sqs_poller_stop(s->poller);
}

static void source_sqs_close(pl_instance_t *inst, void *ctx) {
  (void)inst;
  source_sqs_t *s = ctx;
  pl_sqs_poller_close(s->poller);
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
    .preflight = source_sqs_preflight,
    .extensions = PL_AWS_EXTENSIONS,
};
