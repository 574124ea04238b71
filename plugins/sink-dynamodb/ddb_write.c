/* sink-dynamodb: writing a batch (see sink_dynamodb.h).
 *
 * Records of one batch that share a key are written in order: the later
 * one goes in a following round of requests, once the earlier one was
 * answered, and fails (to be retried after it) when the earlier one
 * failed. Each record is really written (none is dropped as
 * "overwritten"), so a later rejected record never hides an earlier good
 * one.
 *
 * Results: an item BatchWriteItem leaves in UnprocessedItems fails, so
 * that the engine retries only those records with its backoff and retry
 * limit. A ValidationException rejects the record to the dead letter with
 * DynamoDB's message (a BatchWriteItem refused as a whole is sent again
 * one item per request first, to find the invalid one). An error the AWS
 * layer gave up retrying (throttling, 5xx) fails the records; so do a
 * missing table, a denied permission or a table whose key is not the
 * config's (a ValidationException about the key, ddb_key_mismatch),
 * logged as errors: rejecting them would dead-letter whole inputs for a
 * configuration mistake. */
#include <stdlib.h>
#include <string.h>

#include <pipelined/json.h>

#include "ddb_item.h"
#include "ddb_response.h"
#include "ddb_statement.h"
#include "ddb_update.h"
#include "sink_dynamodb.h"

_Static_assert(DDB_MAX_STATEMENTS <= DDB_MAX_BATCH_ITEMS,
               "a request's texts fit in DDB_MAX_BATCH_ITEMS");

/* One record of a batch being written (its texts owned). */
typedef struct ddb_entry {
  size_t record; /* in the batch */
  char *body;     /* JSON text; put: the item; update: the UpdateItem */
  size_t body_len; /* request, or with `statement` the record's statement */
  bool statement;  /* (batch_updates) */
  /* A statement's version text (with version_attribute), to know its own
   * write when a retry meets it; or NULL. */
  char *version;
  char *key_text; /* ddb_key_text's: equal keys, equal texts */
  size_t prev;    /* the earlier entry of the same key, or NO_ENTRY */
  unsigned round;
  pl_result_t result;
} ddb_entry_t;

#define NO_ENTRY ((size_t)-1)

/* A batch being written: its entries (owned); the sink and the batch
 * borrowed until pl_batch_done(). */
typedef struct ddb_write {
  sink_ddb_t *sink;
  pl_batch_t *batch;
  ddb_entry_t *entries;
  size_t count;
  unsigned round;  /* being sent */
  unsigned rounds; /* in all */
  size_t pending;  /* calls not answered */
} ddb_write_t;

/* One request: its entries. */
typedef struct ddb_call {
  ddb_write_t *write;
  bool statements; /* a BatchExecuteStatement */
  size_t count;
  size_t entries[];
} ddb_call_t;

static void free_write(ddb_write_t *w) {
  for (size_t i = 0; i < w->count; i++) {
    free(w->entries[i].body);
    free(w->entries[i].key_text);
    free(w->entries[i].version);
  }
  free(w->entries);
  free(w);
}

static void resolve(ddb_write_t *w, size_t e, pl_result_t result,
                    const char *reason) {
  w->entries[e].result = result;
  if (result == PL_RESULT_DELIVERED)
    pl_batch_resolve(w->batch, w->entries[e].record, result, NULL);
  else
    pl_batch_resolve_as(w->batch, w->entries[e].record, result,
                        result == PL_RESULT_REJECTED ? "refused" : NULL, "%s",
                        reason);
}

static bool send_call(ddb_write_t *w, const size_t *entries, size_t count);

static void on_response(void *data, const char *text, size_t len,
                        const pl_aws_error_t *error);

/* Sends round w->round, or finishes the batch when none is left. */
static void send_round(ddb_write_t *w) {
  sink_ddb_t *s = w->sink;
  while (w->pending == 0 && w->round < w->rounds) {
    size_t *ready = calloc(w->count ? w->count : 1, sizeof(*ready));
    size_t n = 0;
    for (size_t e = 0; ready && e < w->count; e++) {
      ddb_entry_t *entry = &w->entries[e];
      if (entry->round != w->round || entry->result != PL_RESULT_PENDING)
        continue;
      if (!s->aws.client)
        resolve(w, e, PL_RESULT_FAILED,
                "the sink closed before the item was written");
      else if (entry->prev != NO_ENTRY &&
               w->entries[entry->prev].result == PL_RESULT_FAILED)
        resolve(w, e, PL_RESULT_FAILED,
                "not written: an earlier record of the batch with the same "
                "key failed, and records of one key are written in order");
      else
        ready[n++] = e;
    }
    /* Statements first, DDB_MAX_STATEMENTS a request; then the rest one
     * UpdateItem each, or BatchWriteItems. */
    size_t statements = 0;
    for (size_t i = 0; i < n; i++)
      if (w->entries[ready[i]].statement) {
        size_t e = ready[i];
        ready[i] = ready[statements];
        ready[statements++] = e;
      }
    for (size_t at = 0; at < statements; at += DDB_MAX_STATEMENTS)
      send_call(w, ready + at,
                statements - at < DDB_MAX_STATEMENTS ? statements - at
                                                     : DDB_MAX_STATEMENTS);
    size_t step = s->opts->mode == DDB_MODE_PUT ? DDB_MAX_BATCH_ITEMS : 1;
    for (size_t at = statements; at < n; at += step)
      send_call(w, ready + at, n - at < step ? n - at : step);
    free(ready);
    w->round++;
  }
  if (w->pending == 0 && w->round >= w->rounds) {
    pl_batch_t *batch = w->batch;
    free_write(w);
    pl_batch_done(batch, PL_RESULT_FAILED, "the item was not written");
  }
}

/* An X-Amz-Target is the API version, then the operation. */
#define DDB_API "DynamoDB_20120810."

/* Sends one request of `count` entries; false (and the entries failed)
 * when it could not be sent. */
static bool send_call(ddb_write_t *w, const size_t *entries, size_t count) {
  sink_ddb_t *s = w->sink;
  ddb_call_t *call = malloc(sizeof(*call) + count * sizeof(size_t));
  pl_buf_t batch = {0};
  const char *body;
  size_t body_len;
  const char *target;
  /* A second request of an answered one (a split, a fallback) finds no
   * client when the sink closed meanwhile (send_round() checks the
   * first). */
  int rc = !s->aws.client ? PL_ECANCELED : call ? 0 : PL_ENOMEM;
  bool statements = w->entries[entries[0]].statement;
  /* The texts of the request's statements or items (at most 25 either
   * way). */
  const char *texts[DDB_MAX_BATCH_ITEMS];
  size_t lens[DDB_MAX_BATCH_ITEMS];
  for (size_t i = 0; i < count; i++) {
    texts[i] = w->entries[entries[i]].body;
    lens[i] = w->entries[entries[i]].body_len;
  }
  if (statements) {
    target = DDB_API "BatchExecuteStatement";
    if (rc == 0)
      rc = ddb_statements_body(texts, lens, count, &batch);
    body = batch.data;
    body_len = batch.len;
  } else if (s->opts->mode == DDB_MODE_PUT) {
    target = DDB_API "BatchWriteItem";
    if (rc == 0)
      rc = ddb_batch_text(s->compiled.schema.table, texts, lens, count, &batch);
    body = batch.data;
    body_len = batch.len;
  } else {
    target = DDB_API "UpdateItem";
    body = w->entries[entries[0]].body;
    body_len = w->entries[entries[0]].body_len;
  }
  if (rc == 0) {
    call->write = w;
    call->statements = statements;
    call->count = count;
    memcpy(call->entries, entries, count * sizeof(size_t));
    rc = pl_aws_json_call_text(s->aws.client, target, body, body_len,
                               on_response, call);
  }
  pl_buf_free(&batch);
  if (rc < 0) {
    free(call);
    pl_buf_t reason = {0};
    pl_buf_printf(&reason, "cannot send %s: %s", target + strlen(DDB_API),
                  pl_strerror(rc));
    for (size_t i = 0; i < count; i++)
      resolve(w, entries[i], PL_RESULT_FAILED,
              reason.data ? reason.data : "cannot send");
    pl_buf_free(&reason);
    return false;
  }
  pl_instance_count(s->inst, "requests", 1);
  w->pending++;
  return true;
}

static void apply_error(ddb_call_t *call, const pl_aws_error_t *error) {
  ddb_write_t *w = call->write;
  sink_ddb_t *s = w->sink;
  bool conditional =
      s->opts->mode == DDB_MODE_UPDATE && s->opts->newer_than.count > 0;
  pl_buf_t reason = {0};
  pl_aws_error_format(error, &reason);
  const char *text = reason.data ? reason.data : "the request failed";
  switch (ddb_error_outcome(error, call->count, conditional)) {
  case DDB_OUTCOME_STALE: {
    /* A retry that met the record's own write (its first answer lost)
     * wrote it: counted so, not as stale. */
    const ddb_entry_t *entry = &w->entries[call->entries[0]];
    bool own = !entry->statement &&
               ddb_condition_met_own_write(entry->body, entry->body_len, error);
    pl_instance_count(s->inst, own ? "items_written" : "stale", 1);
    resolve(w, call->entries[0], PL_RESULT_DELIVERED, NULL);
    break;
  }
  case DDB_OUTCOME_SPLIT:
    /* DynamoDB refused the whole BatchWriteItem for one bad item: each
     * goes again on its own, so that only that one is rejected. */
    for (size_t i = 0; i < call->count; i++)
      send_call(w, &call->entries[i], 1);
    break;
  case DDB_OUTCOME_REJECT:
    for (size_t i = 0; i < call->count; i++)
      resolve(w, call->entries[i], PL_RESULT_REJECTED, text);
    break;
  case DDB_OUTCOME_WRONG_KEY:
    /* Dead-lettering would empty the queue into the dead letter for a
     * mistake of the config: the records fail and stay in the source. */
    pl_complain(s->inst, &s->aws.refused, PL_LOG_ERROR,
                "the table's key is not the key the config gives: %s (fix "
                "the key option or the table; the records fail rather than "
                "go to the dead letter)",
                text);
    for (size_t i = 0; i < call->count; i++)
      resolve(w, call->entries[i], PL_RESULT_FAILED, text);
    break;
  case DDB_OUTCOME_FAIL:
    /* The engine logs retries; an error that retrying does not cure (a
     * missing table, a denied permission) is an error of its own. */
    if (pl_aws_error_lasting(error))
      pl_complain(s->inst, &s->aws.refused, PL_LOG_ERROR,
                  "%s (retrying will not help until the table or the "
                  "permissions are fixed; the records fail rather than go to "
                  "the dead letter)",
                  text);
    for (size_t i = 0; i < call->count; i++)
      resolve(w, call->entries[i], PL_RESULT_FAILED, text);
    break;
  }
  pl_buf_free(&reason);
}

static void apply_result(ddb_call_t *call, const json_t *result) {
  ddb_write_t *w = call->write;
  sink_ddb_t *s = w->sink;
  size_t count = call->count;
  bool unprocessed[DDB_MAX_BATCH_ITEMS] = {false};
  size_t left = 0;
  if (s->opts->mode == DDB_MODE_PUT) {
    const char *keys[DDB_MAX_BATCH_ITEMS] = {NULL};
    for (size_t i = 0; i < count; i++)
      keys[i] = w->entries[call->entries[i]].key_text;
    left = ddb_unprocessed(result, s->compiled.schema.table, keys, count,
                           unprocessed);
  }
  for (size_t i = 0; i < count; i++)
    if (unprocessed[i])
      resolve(w, call->entries[i], PL_RESULT_FAILED,
              "DynamoDB left the item unprocessed (UnprocessedItems)");
    else
      resolve(w, call->entries[i], PL_RESULT_DELIVERED, NULL);
  pl_instance_count(s->inst, "items_written", count - left);
  if (left > 0) {
    pl_instance_count(s->inst, "unprocessed", left);
    pl_log(s->inst, PL_LOG_DEBUG,
           "BatchWriteItem left %zu of %zu items unprocessed; they are "
           "retried",
           left, count);
  }
}

/* Sends entry `e` again, alone, as UpdateItem. */
static void send_as_update_item(ddb_write_t *w, size_t e) {
  sink_ddb_t *s = w->sink;
  ddb_entry_t *entry = &w->entries[e];
  pl_buf_t body = {0}, why = {0};
  int rc = ddb_update_text_shaped(&s->compiled.schema, &s->update_shape,
                                  pl_batch_record(w->batch, entry->record),
                                  entry->key_text, &body, &why);
  const char *reason = why.data ? why.data : "cannot encode the update";
  if (rc == PL_ENOMEM) {
    resolve(w, e, PL_RESULT_FAILED, reason);
  } else if (rc < 0) {
    /* Not expected: the statement passed the same checks. */
    entry->result = PL_RESULT_REJECTED;
    pl_batch_resolve_as(w->batch, entry->record, PL_RESULT_REJECTED,
                        "unencodable", "%s", reason);
  } else {
    free(entry->body);
    entry->body = body.data;
    entry->body_len = body.len;
    entry->statement = false;
    send_call(w, &e, 1);
  }
  pl_buf_free(&why);
}

/* A BatchExecuteStatement that failed as a whole. */
static void apply_statements_error(ddb_call_t *call,
                                   const pl_aws_error_t *error) {
  ddb_write_t *w = call->write;
  sink_ddb_t *s = w->sink;
  /* A closed sink, or throttling and server errors the AWS layer gave up
   * retrying: the records fail, as any request's, and the engine tries
   * them again later. */
  if (!s->aws.client || !pl_aws_error_lasting(error)) {
    apply_error(call, error);
    return;
  }
  /* Refused (an unknown operation, a denied PartiQLUpdate, a request
   * DynamoDB finds invalid): each record goes as UpdateItem, whose
   * answer decides it. */
  pl_buf_t reason = {0};
  pl_aws_error_format(error, &reason);
  const char *text = reason.data ? reason.data : "the request failed";
  if (error->code && strcmp(error->code, "UnknownOperationException") == 0) {
    if (!s->statements_unknown)
      pl_log(s->inst, PL_LOG_WARN,
             "the endpoint does not know BatchExecuteStatement (%s): updates "
             "go one UpdateItem a record from now on",
             text);
    s->statements_unknown = true;
  } else {
    pl_complain(s->inst, &s->statements_refused, PL_LOG_WARN,
                "%s: the records are sent again as UpdateItem", text);
  }
  pl_buf_free(&reason);
  pl_instance_count(s->inst, "statements_again", call->count);
  for (size_t i = 0; i < call->count; i++)
    send_as_update_item(w, call->entries[i]);
}

/* The answer of a BatchExecuteStatement: a result per statement. */
static void apply_statements(ddb_call_t *call, const char *text, size_t len) {
  ddb_write_t *w = call->write;
  sink_ddb_t *s = w->sink;
  ddb_statement_result_t results[DDB_MAX_STATEMENTS];
  const char *own[DDB_MAX_STATEMENTS];
  for (size_t i = 0; i < call->count; i++)
    own[i] = w->entries[call->entries[i]].version;
  pl_buf_t why = {0};
  size_t again = ddb_statement_results(
      text, len, call->count, s->opts->newer_than.count > 0,
      s->compiled.schema.version, own, results, &why);
  size_t written = 0;
  for (size_t i = 0; i < call->count; i++) {
    if (results[i] == DDB_STATEMENT_AGAIN)
      continue;
    written += results[i] == DDB_STATEMENT_WRITTEN;
    resolve(w, call->entries[i], PL_RESULT_DELIVERED, NULL);
  }
  pl_instance_count(s->inst, "items_written", written);
  pl_instance_count(s->inst, "stale", call->count - again - written);
  if (again > 0) {
    pl_instance_count(s->inst, "statements_again", again);
    pl_log(s->inst, PL_LOG_DEBUG,
           "%zu of %zu statements are sent again as UpdateItem (%s)", again,
           call->count, why.data ? why.data : "");
    for (size_t i = 0; i < call->count; i++)
      if (results[i] == DDB_STATEMENT_AGAIN)
        send_as_update_item(w, call->entries[i]);
  }
  pl_buf_free(&why);
}

/* The answer as text: the usual ones are recognized without a parse
 * (ddb_answer_read); an answer that is not JSON fails the call as the AWS
 * layer's own parse did (InvalidResponse). */
static void on_response(void *data, const char *text, size_t len,
                        const pl_aws_error_t *error) {
  ddb_call_t *call = data;
  ddb_write_t *w = call->write;
  json_t *result = NULL;
  json_error_t jerr;
  if (call->statements && error) {
    apply_statements_error(call, error);
  } else if (call->statements) {
    pl_aws_sink_accepted(&w->sink->aws, "%s accepts writes again",
                         w->sink->opts->table);
    pl_complain_release(w->sink->inst, &w->sink->statements_refused,
                        "%s accepts BatchExecuteStatement again",
                        w->sink->opts->table);
    apply_statements(call, text, len);
  } else if (error) {
    apply_error(call, error);
  } else if (ddb_answer_read(text, len, &result, &jerr) < 0) {
    bool put = w->sink->opts->mode == DDB_MODE_PUT;
    pl_aws_error_t invalid = pl_aws_error_invalid_answer(
        "dynamodb", put ? "BatchWriteItem" : "UpdateItem", 200, jerr.text);
    apply_error(call, &invalid);
  } else {
    pl_aws_sink_accepted(&w->sink->aws, "%s accepts writes again",
                         w->sink->opts->table);
    apply_result(call, result);
    json_decref(result);
  }
  free(call);
  w->pending--;
  send_round(w);
}

/* Encodes every record; those that cannot be are rejected now. Entries of
 * a key seen before go one round after it. */
static int encode_entries(sink_ddb_t *s, ddb_write_t *w) {
  size_t count = pl_batch_count(w->batch);
  w->entries = calloc(count ? count : 1, sizeof(*w->entries));
  if (!w->entries)
    return PL_ENOMEM;
  pl_buf_t why = {0};
  for (size_t i = 0; i < count; i++) {
    pl_record_t *record = pl_batch_record(w->batch, i);
    pl_buf_reset(&why);
    /* The key's text finds records of the same key: its members come in
     * the schema's order, so equal keys have equal texts. Room for the
     * usual key and body, so that neither grows while written: the JSON
     * writer reserves a string's worst case (six bytes a character)
     * before it writes it, and an update, with its condition, names and
     * values, is about twice an item. */
    pl_buf_t key_text = {0}, body_text = {0};
    size_t body_room = s->opts->mode == DDB_MODE_PUT ? 512 : 1024;
    /* A record that is not an object is refused for that first: its key
     * would only say that a field is missing. */
    int rc = !ddb_record_object(record, &why) ? PL_EINVAL
             : pl_buf_reserve(&key_text, 256) < 0 ||
                     pl_buf_reserve(&body_text, body_room) < 0
                 ? PL_ENOMEM
                 : ddb_key_text(&s->compiled.schema, record, &key_text, &why);
    bool statement = false;
    if (rc == 0 && s->opts->batch_updates && !s->statements_unknown) {
      rc = ddb_statement_text_shaped(&s->compiled.schema, &s->update_shape,
                                     record, &body_text, &why);
      statement = rc == 0;
      if (rc == PL_ENOENT)
        rc = ddb_update_text_shaped(&s->compiled.schema, &s->update_shape,
                                    record, key_text.data, &body_text, &why);
    } else if (rc == 0 && s->opts->mode == DDB_MODE_PUT) {
      rc = ddb_item_text(&s->compiled.schema, record, key_text.data, &body_text,
                         &why);
    } else if (rc == 0) {
      rc = ddb_update_text_shaped(&s->compiled.schema, &s->update_shape, record,
                                  key_text.data, &body_text, &why);
    }
    char *text = key_text.data;
    char *version = NULL;
    if (rc == 0 && statement && s->compiled.schema.version &&
        !(version = strdup(s->update_shape.version.data)))
      rc = PL_ENOMEM;
    if (rc < 0) {
      pl_buf_free(&key_text);
      pl_buf_free(&body_text);
      /* Out of memory is not the record's fault: written again later, as
       * sink-sqs does. */
      if (rc == PL_ENOMEM)
        pl_batch_resolve(w->batch, i, PL_RESULT_FAILED,
                         "out of memory while encoding the item");
      else
        pl_batch_resolve_as(w->batch, i, PL_RESULT_REJECTED, "unencodable",
                            "%s",
                            why.data ? why.data : "cannot encode the item");
      continue;
    }
    ddb_entry_t *entry = &w->entries[w->count];
    *entry = (ddb_entry_t){.record = i,
                           .body = body_text.data,
                           .body_len = body_text.len,
                           .statement = statement,
                           .version = version,
                           .key_text = text,
                           .prev = NO_ENTRY,
                           .result = PL_RESULT_PENDING};
    for (size_t e = w->count; e-- > 0;)
      if (strcmp(w->entries[e].key_text, text) == 0) {
        entry->prev = e;
        entry->round = w->entries[e].round + 1;
        break;
      }
    if (entry->round + 1 > w->rounds)
      w->rounds = entry->round + 1;
    w->count++;
  }
  pl_buf_free(&why);
  return 0;
}

void ddb_write_batch(sink_ddb_t *s, pl_batch_t *batch) {
  ddb_write_t *w = calloc(1, sizeof(*w));
  if (!w) {
    pl_batch_done(batch, PL_RESULT_FAILED, "out of memory");
    return;
  }
  w->sink = s;
  w->batch = batch;
  if (encode_entries(s, w) < 0) {
    free_write(w);
    pl_batch_done(batch, PL_RESULT_FAILED,
                  "out of memory while encoding the batch");
    return;
  }
  send_round(w);
}
