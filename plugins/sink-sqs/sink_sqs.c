/* sink-sqs: sends each record as one SQS message, with SendMessageBatch.
 *
 * The engine hands over batches (batch_size, batch_bytes, linger,
 * max_in_flight: by default 10 records, 256 KiB, 50 ms and 16 batches);
 * sqs_batch.c turns each into SendMessageBatch requests of at most 10
 * entries and max_batch_bytes, so that a larger batch_size still works,
 * and rejects the records no request could carry. Each request goes
 * through the instance's AWS client (SigV4, the standard retry mode);
 * sqs_response.c then resolves each record from its entry's result. The
 * requests are written as JSON text directly and the usual answer is read
 * without a jansson tree: this is the producer's hot path. Once
 * every request of a batch is answered the batch is done: the engine
 * retries only the failed records, with backoff, and sends the rejected
 * ones to the dead letter.
 *
 * A request that fails as a whole fails its records, even for errors that
 * retrying does not cure (a missing queue, a denied permission): rejecting
 * them would dead-letter whole inputs for a configuration mistake, while
 * failing leaves their groups uncommitted until it is fixed.
 *
 * FIFO queues (a queue_url ending in ".fifo") keep the order of each
 * message group: their requests go one at a time, in the order the engine
 * handed the batches over, and once a record of a batch fails, the rest of
 * that batch is not sent (it fails too, and goes again after it, in
 * order). The engine writes further batches while failed records wait for
 * their retry; `max_in_flight = 1` on the stage makes the order strict
 * across retries too. */
#include <stdlib.h>
#include <string.h>

#include <pipelined/aws.h>
#include <pipelined/aws_preflight.h>
#include <pipelined/pipelined.h>

#include "sqs_batch.h"
#include "sqs_response.h"

typedef struct sink_sqs_options {
  char *queue_url;
  char *endpoint;
  char *region;
  uint64_t max_batch_bytes;
  uint64_t max_message_bytes;
  pl_template_t *message_group_id;
  pl_template_t *deduplication_id;
  uint64_t delay_ms;
  pl_map_t attributes;
} sink_sqs_options_t;

static const pl_option_t sink_sqs_option_table[] = {
    PL_OPTION_STRING(sink_sqs_options_t, queue_url, "queue_url", NULL,
                     PL_OPT_REQUIRED,
                     "URL of the queue the messages go to; a name ending in "
                     ".fifo makes it a FIFO queue."),
    PL_AWS_CLIENT_OPTIONS(sink_sqs_options_t, "SQS", "SQS"),
    PL_OPTION_SIZE_RANGE(sink_sqs_options_t, max_batch_bytes,
                         "max_batch_bytes", "256KiB", 1, SQS_MAX_BYTES, 0,
                         "Most bytes of messages in one SendMessageBatch "
                         "request (SQS's limit is 1MiB); a larger message "
                         "goes alone."),
    PL_OPTION_SIZE_RANGE(sink_sqs_options_t, max_message_bytes,
                         "max_message_bytes", "256KiB", 1, SQS_MAX_BYTES, 0,
                         "Largest message (body and attributes, as SQS counts "
                         "them; within the queue's own limit): a larger "
                         "record is rejected, never truncated."),
    PL_OPTION_TEMPLATE(sink_sqs_options_t, message_group_id,
                       "message_group_id", NULL, 0,
                       "MessageGroupId of each message, e.g. "
                       "\"${product_id}\" (required for FIFO queues)."),
    PL_OPTION_TEMPLATE(sink_sqs_options_t, deduplication_id,
                       "deduplication_id", NULL, 0,
                       "FIFO queues: MessageDeduplicationId of each message "
                       "(default: SHA-256 of the record's origin, etag, "
                       "origin time, message id, line and body)."),
    PL_OPTION_DURATION_RANGE(sink_sqs_options_t, delay_ms, "delay", "0", 0,
                             SQS_MAX_DELAY_S * 1000ull, 0,
                             "Standard queues: delay before a message can be "
                             "received (SQS's DelaySeconds: whole seconds)."),
    PL_OPTION_MAP_LENGTH(sink_sqs_options_t, attributes, "attributes", 0,
                         SQS_MAX_ATTRIBUTES - SQS_ORIGIN_ATTRIBUTES, 0,
                         "More message attributes (String) from templates, "
                         "e.g. attributes { warehouse = \"${location}\" }; "
                         "SQS takes 10 per message and the sink sets origin, "
                         "origin_time, etag and line itself."),
};

typedef struct sink_sqs sink_sqs_t;

/* One request on its way: what the response callback gets. */
typedef struct sqs_call {
  struct sqs_write *write;
  size_t index;
} sqs_call_t;

/* One engine batch being written. */
typedef struct sqs_write {
  sink_sqs_t *sink;
  pl_batch_t *batch;
  sqs_request_t *requests;
  sqs_call_t *calls;
  size_t count;   /* requests */
  size_t next;    /* the first request not sent yet */
  size_t pending; /* requests sent and not answered */
  bool failed;    /* a record failed (FIFO: send no more of the batch) */
  struct sqs_write *next_waiting;
} sqs_write_t;

struct sink_sqs {
  pl_instance_t *inst;
  const sink_sqs_options_t *opts;
  sqs_encoding_t enc;
  sqs_attribute_t *attributes;
  pl_template_t **attribute_templates;
  size_t attribute_count;
  /* The client; requests refused in a way retrying does not cure
   * (denied, no such queue) are logged at growing intervals while it
   * lasts, and its end. */
  pl_aws_sink_t aws;
  /* FIFO: the batch being sent and those waiting for it, in order. */
  sqs_write_t *current;
  sqs_write_t *waiting_head;
  sqs_write_t *waiting_tail;
};

/* ---- Options ---- */

static bool ends_with(const char *text, const char *suffix) {
  size_t len = strlen(text), n = strlen(suffix);
  return len >= n && strcmp(text + len - n, suffix) == 0;
}

static int check_options(pl_instance_t *inst, const sink_sqs_options_t *opts,
                         bool fifo) {
  /* An empty queue_url is refused by the core (PL_OPT_REQUIRED), as are
   * sizes, a delay and attributes outside the table's limits. What is left
   * here is not a range: whole seconds, and what depends on the queue. */
  if (opts->delay_ms % 1000 != 0) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'delay' must be whole seconds (SQS's DelaySeconds), not "
           "%llu ms",
           (unsigned long long)opts->delay_ms);
    return PL_ERANGE;
  }
  if (fifo && opts->delay_ms > 0) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'delay' is for standard queues: SQS refuses a per-message "
           "delay on FIFO queue %s (set DelaySeconds on the queue instead)",
           opts->queue_url);
    return PL_EINVAL;
  }
  if (fifo && !opts->message_group_id) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'message_group_id' is required for FIFO queue %s (e.g. "
           "message_group_id = \"${product_id}\"; one group keeps the order "
           "of all messages)",
           opts->queue_url);
    return PL_EINVAL;
  }
  if (!fifo && opts->deduplication_id) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'deduplication_id' is for FIFO queues (a URL ending in "
           ".fifo), and %s is a standard queue",
           opts->queue_url);
    return PL_EINVAL;
  }
  return 0;
}

/* Compiles the attributes map: names SQS accepts, not the sink's own, at
 * most SQS_MAX_ATTRIBUTES in all. */
static int compile_attributes(sink_sqs_t *s, const pl_map_t *map) {
  pl_instance_t *inst = s->inst;
  /* At most SQS_MAX_ATTRIBUTES - SQS_ORIGIN_ATTRIBUTES: the table's
   * limit. */
  if (map->count == 0)
    return 0;
  s->attributes = calloc(map->count, sizeof(*s->attributes));
  s->attribute_templates = calloc(map->count, sizeof(*s->attribute_templates));
  if (!s->attributes || !s->attribute_templates)
    return PL_ENOMEM;
  for (size_t i = 0; i < map->count; i++) {
    const char *name = map->keys[i];
    if (!sqs_attribute_name_valid(name)) {
      pl_log(inst, PL_LOG_ERROR,
             "attributes: '%s' is not a valid SQS attribute name (1 to 256 "
             "of A-Z a-z 0-9 _ - ., no leading, trailing or double '.', not "
             "starting with AWS. or Amazon.)",
             name);
      return PL_EINVAL;
    }
    if (pl_record_is_meta_attribute(name)) {
      pl_log(inst, PL_LOG_ERROR,
             "attributes: '%s' is set by the sink itself from the record's "
             "metadata; choose another name",
             name);
      return PL_EINVAL;
    }
    char *error = NULL;
    int rc = pl_template_create(map->values[i], &s->attribute_templates[i],
                                &error);
    if (rc < 0) {
      pl_log(inst, PL_LOG_ERROR, "attributes: '%s': %s", name,
             error ? error : pl_strerror(rc));
      free(error);
      return rc;
    }
    s->attributes[i] = (sqs_attribute_t){name, s->attribute_templates[i]};
    s->attribute_count = i + 1;
  }
  return 0;
}

static void sink_sqs_destroy(void *ctx);

static int sink_sqs_init(pl_instance_t *inst, const void *options,
                         void **ctx) {
  const sink_sqs_options_t *opts = options;
  bool fifo = ends_with(opts->queue_url, ".fifo");
  int rc = check_options(inst, opts, fifo);
  if (rc < 0)
    return rc;
  sink_sqs_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = opts;
  rc = compile_attributes(s, &opts->attributes);
  if (rc < 0) {
    sink_sqs_destroy(s);
    return rc;
  }
  s->enc = (sqs_encoding_t){
      .queue_url = opts->queue_url,
      .fifo = fifo,
      .max_batch_bytes = opts->max_batch_bytes,
      .max_message_bytes = opts->max_message_bytes,
      .delay_s = (unsigned)(opts->delay_ms / 1000),
      .group_id = opts->message_group_id,
      .dedup_id = opts->deduplication_id,
      .attributes = s->attributes,
      .attribute_count = s->attribute_count,
  };
  *ctx = s;
  return 0;
}

static int sink_sqs_start(pl_instance_t *inst, void *ctx) {
  sink_sqs_t *s = ctx;
  /* One request per batch at most in flight: the stage's own limit. */
  int rc = pl_aws_sink_start(&s->aws, inst, "sqs", s->opts->endpoint,
                             s->opts->region);
  if (rc < 0)
    return rc;
  pl_log(inst, PL_LOG_DEBUG, "sending to %s queue %s",
         s->enc.fifo ? "FIFO" : "standard", s->opts->queue_url);
  return 0;
}

/* ---- Writing ---- */

static void start_write(sink_sqs_t *s, pl_batch_t *batch);

static void free_write(sqs_write_t *w) {
  sqs_requests_free(w->requests, w->count);
  free(w->calls);
  free(w);
}

/* FIFO: starts the waiting batches, in order, while none is being sent
 * (one that is resolved at once lets the next one start). */
static void start_waiting(sink_sqs_t *s) {
  while (!s->current && s->waiting_head) {
    sqs_write_t *next = s->waiting_head;
    s->waiting_head = next->next_waiting;
    if (!s->waiting_head)
      s->waiting_tail = NULL;
    pl_batch_t *batch = next->batch;
    free(next);
    start_write(s, batch);
  }
}

/* Every request is answered: hand the batch back, then start the next
 * FIFO batch. */
static void finish_write(sqs_write_t *w) {
  sink_sqs_t *s = w->sink;
  pl_batch_t *batch = w->batch;
  bool current = s->current == w;
  free_write(w);
  /* Each record was resolved by its request's result. */
  pl_batch_done(batch, PL_RESULT_FAILED, "the message was not sent");
  if (current) {
    s->current = NULL;
    start_waiting(s);
  }
}

/* The requests from w->next on are not sent: their records fail. */
static void fail_unsent(sqs_write_t *w, const char *reason) {
  sqs_outcome_t outcome = {0};
  for (; w->next < w->count; w->next++)
    sqs_response_fail(w->batch, &w->requests[w->next], reason, &outcome);
}

static void on_response(void *data, const char *body, size_t len,
                        const pl_aws_error_t *error);

/* Sends the next request(s): all of them for a standard queue, one at a
 * time for a FIFO queue. */
static void send_more(sqs_write_t *w) {
  sink_sqs_t *s = w->sink;
  while (w->next < w->count && (!s->enc.fifo || w->pending == 0)) {
    if (!s->aws.client) {
      fail_unsent(w, "the sink closed before the message was sent");
      break;
    }
    if (s->enc.fifo && w->failed) {
      fail_unsent(w, "not sent: an earlier message of its batch failed, and "
                     "a FIFO queue keeps their order");
      break;
    }
    size_t i = w->next++;
    sqs_request_t *req = &w->requests[i];
    w->calls[i] = (sqs_call_t){w, i};
    int rc = pl_aws_json_call_text(s->aws.client, "AmazonSQS.SendMessageBatch",
                                   req->body.data, req->body.len, on_response,
                                   &w->calls[i]);
    /* The call copied the body: free it now, not after the answer, so that
     * batches in flight hold one copy of their text. */
    pl_buf_free(&req->body);
    if (rc < 0) {
      pl_buf_t reason = {0};
      pl_buf_printf(&reason, "cannot send SendMessageBatch: %s",
                    pl_strerror(rc));
      sqs_outcome_t outcome = {0};
      sqs_response_fail(w->batch, req, reason.data ? reason.data : "",
                        &outcome);
      pl_buf_free(&reason);
      w->failed = true;
      continue;
    }
    pl_instance_count(s->inst, "requests", 1);
    w->pending++;
  }
  if (w->pending == 0 && w->next == w->count)
    finish_write(w);
}

/* The entries' results from the answer's text: the usual one read
 * directly, anything else (a failed entry) through jansson, whose tree
 * (*tree, to free after the results) they then borrow strings from.
 * Returns 0, or PL_EINVAL with *jerr when the text is not JSON. */
static int read_results(const char *body, size_t len, size_t count,
                        sqs_entry_result_t *entries, json_t **tree,
                        json_error_t *jerr) {
  *tree = NULL;
  if (sqs_response_scan(body, len, count, entries) == 0)
    return 0;
  /* An empty answer says nothing of any entry. */
  *tree = len ? json_loadb(body, len, JSON_DECODE_ANY, jerr) : json_object();
  if (!*tree)
    return PL_EINVAL;
  sqs_response_parse(*tree, count, entries);
  return 0;
}

static void on_response(void *data, const char *body, size_t len,
                        const pl_aws_error_t *error) {
  sqs_call_t *call = data;
  sqs_write_t *w = call->write;
  sink_sqs_t *s = w->sink;
  const sqs_request_t *req = &w->requests[call->index];
  sqs_outcome_t outcome = {0};
  sqs_entry_result_t entries[SQS_MAX_ENTRIES];
  json_t *tree = NULL;
  json_error_t jerr;
  pl_aws_error_t invalid;
  if (!error &&
      read_results(body, len, req->count, entries, &tree, &jerr) < 0) {
    /* What the AWS layer says of an answer that is not JSON. */
    invalid =
        pl_aws_error_invalid_answer("sqs", "SendMessageBatch", 200, jerr.text);
    error = &invalid;
  }
  if (error) {
    pl_buf_t reason = {0};
    sqs_response_reason(error, &reason);
    const char *text = reason.data ? reason.data : "SendMessageBatch failed";
    /* The engine logs retries; an error that retrying does not cure is
     * worth an error of its own, with the hint. */
    if (pl_aws_error_lasting(error))
      pl_complain(s->inst, &s->aws.refused, PL_LOG_ERROR, "%s", text);
    sqs_response_fail(w->batch, req, text, &outcome);
    pl_buf_free(&reason);
  } else {
    pl_aws_sink_accepted(&s->aws, "SendMessageBatch is accepted again");
    sqs_response_resolve(w->batch, req, entries, &outcome);
  }
  json_decref(tree);
  pl_instance_count(s->inst, "messages_sent", outcome.delivered);
  if (outcome.failed > 0)
    w->failed = true;
  w->pending--;
  send_more(w);
}

static void start_write(sink_sqs_t *s, pl_batch_t *batch) {
  sqs_write_t *w = calloc(1, sizeof(*w));
  if (!w) {
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  w->sink = s;
  w->batch = batch;
  if (sqs_encode_batch(&s->enc, batch, &w->requests, &w->count) < 0 ||
      (w->count > 0 && !(w->calls = calloc(w->count, sizeof(*w->calls))))) {
    free_write(w);
    pl_batch_done(batch, PL_RESULT_FAILED,
                  "out of memory while encoding the batch");
    return;
  }
  if (s->enc.fifo)
    s->current = w;
  send_more(w);
}

static void sink_sqs_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  sink_sqs_t *s = ctx;
  if (pl_aws_sink_closed(&s->aws, batch))
    return;
  if (!s->enc.fifo) {
    start_write(s, batch);
    return;
  }
  /* FIFO: behind the batches handed over before it. */
  sqs_write_t *w = calloc(1, sizeof(*w));
  if (!w) {
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  w->batch = batch;
  if (s->waiting_tail)
    s->waiting_tail->next_waiting = w;
  else
    s->waiting_head = w;
  s->waiting_tail = w;
  start_waiting(s);
}

static void sink_sqs_close(pl_instance_t *inst, void *ctx) {
  sink_sqs_t *s = ctx;
  sqs_write_t *w;
  while ((w = s->waiting_head)) {
    s->waiting_head = w->next_waiting;
    pl_batch_t *batch = w->batch;
    free(w);
    pl_batch_done(batch, PL_RESULT_FAILED,
                  "the sink closed before the batch was sent");
  }
  s->waiting_tail = NULL;
  /* Calls in flight end with "Canceled": their records fail, and the
   * batches are done from their callbacks. */
  pl_aws_sink_close(&s->aws);
}

static void sink_sqs_destroy(void *ctx) {
  sink_sqs_t *s = ctx;
  for (size_t i = 0; s->attribute_templates && i < s->opts->attributes.count;
       i++)
    pl_template_destroy(s->attribute_templates[i]);
  free(s->attribute_templates);
  free(s->attributes);
  free(s);
}

/* --check --live: the queue exists (GetQueueAttributes; nothing is sent). */
static int sink_sqs_preflight(pl_instance_t *inst, void *ctx,
                              pl_preflight_t *check) {
  const sink_sqs_t *s = ctx;
  return pl_aws_preflight_queue_stage(
      check,
      &(pl_aws_client_options_t){.service = "sqs",
                                 .endpoint = s->opts->endpoint,
                                 .region = s->opts->region},
      &(pl_aws_queue_check_t){.what = "queue", .url = s->opts->queue_url});
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "sqs",
    .kind = PL_KIND_SINK,
    .description = "Sends each record as one message to an SQS queue "
                   "(SendMessageBatch).",
    .options = sink_sqs_option_table,
    .options_count =
        sizeof(sink_sqs_option_table) / sizeof(sink_sqs_option_table[0]),
    .options_size = sizeof(sink_sqs_options_t),
    .defaults = {.batch_size = "10",
                 .batch_bytes = "256KiB",
                 .linger = "50ms",
                 .max_in_flight = "16"},
    .init = sink_sqs_init,
    .start = sink_sqs_start,
    .write = sink_sqs_write,
    .close = sink_sqs_close,
    .destroy = sink_sqs_destroy,
    .extensions = PL_AWS_EXTENSIONS,
    .preflight = sink_sqs_preflight,
};
