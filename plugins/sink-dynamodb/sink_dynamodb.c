/* sink-dynamodb: writes each record as one DynamoDB item.
 *
 * mode = "put" sends BatchWriteItem requests of at most 25 PutRequests;
 * mode = "update" sends one UpdateItem per record ("SET" of every non-key
 * field), optionally conditional on `newer_than`: the write applies only
 * when the stored item is absent or older, and a failed condition counts
 * as `stale` and is delivered (the table already holds newer data). With
 * several newer_than entries (update_date, then the object's time, then
 * the line) the order is total, so that the table ends the same whatever
 * order the records arrive in; ddb_version.c encodes it as one string.
 * ddb_schema.c compiles the options, ddb_item.c turns records into items,
 * ddb_update.c into UpdateItem requests, and ddb_response.c reads the
 * answers.
 *
 * With batch_updates, update mode sends the records of a round as the
 * statements of PartiQL BatchExecuteStatement requests, 25 a request
 * (ddb_statement.c): a statement either writes its record or finds it
 * stale, and a record it does neither for (an absent item, a refused or
 * throttled statement) is sent again as UpdateItem, whose answer decides
 * it as without batches.
 *
 * ddb_write.c writes the batches. */
#include <stdlib.h>

#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

#include "ddb_preflight.h"
#include "sink_dynamodb.h"

static const char *const ddb_modes[] = {"put", "update", NULL};

static const pl_option_t sink_ddb_option_table[] = {
    PL_OPTION_STRING(sink_ddb_options_t, table, "table", NULL, PL_OPT_REQUIRED,
                     "Name of the table the items go to."),
    PL_AWS_CLIENT_OPTIONS(sink_ddb_options_t, "DynamoDB", "DYNAMODB"),
    PL_OPTION_ENUM(sink_ddb_options_t, mode, "mode", "put", ddb_modes, 0,
                   "put: BatchWriteItem replaces whole items; update: "
                   "UpdateItem sets the record's fields, keeping others."),
    PL_OPTION_MAP_LENGTH(sink_ddb_options_t, key, "key", 1, 2, PL_OPT_REQUIRED,
                         "Key attributes (S) from templates: the partition "
                         "key and at most a sort key, e.g. key { id = "
                         "\"${product_id}#${location}\" }."),
    PL_OPTION_MAP(sink_ddb_options_t, types, "types", 0,
                  "Attribute types of fields instead of their JSON types "
                  "(S, N, BOOL, NULL, M, L), e.g. types { quantity = \"N\" "
                  "}."),
    PL_OPTION_LIST(sink_ddb_options_t, newer_than, "newer_than", NULL,
                   PL_OPT_NOT_EMPTY,
                   "update mode: write only when the stored item is absent or "
                   "older; an older record counts as stale and is delivered. "
                   "One field: compared with <= as stored (an item without "
                   "it is older). Several entries, "
                   "fields or metadata (@origin_time, @line, @name), e.g. "
                   "[\"update_date\", \"@origin_time\", \"@line\"]: "
                   "compared in turn, through their encoding in "
                   "version_attribute (a row equal to the stored one is "
                   "stale); an item stored without it is compared by the "
                   "first entry when that is a field (<=; an item without "
                   "that field either is older), else overwritten."),
    PL_OPTION_STRING(sink_ddb_options_t, version_attribute, "version_attribute",
                     "version", PL_OPT_NOT_EMPTY,
                     "The attribute (S) holding the encoded order of "
                     "newer_than when it has several entries (or only "
                     "metadata): fixed-width text that compares as the "
                     "order does."),
    PL_OPTION_BOOL(sink_ddb_options_t, batch_updates, "batch_updates", "false",
                   0,
                   "update mode: send the updates 25 a request, as the "
                   "statements of a PartiQL BatchExecuteStatement (the role "
                   "needs dynamodb:PartiQLUpdate), with the same condition; a "
                   "record whose statement neither writes it nor finds it "
                   "stale (an absent item, a refused statement) is sent again "
                   "as UpdateItem. Not against moto, which acknowledges "
                   "conditional statements it does not apply."),
};

static void sink_ddb_destroy(void *ctx);

static int sink_ddb_init(pl_instance_t *inst, const void *options, void **ctx) {
  const sink_ddb_options_t *opts = options;
  /* Empty texts of table and newer_than are refused by the core. */
  if (opts->newer_than.count > 0 && opts->mode != DDB_MODE_UPDATE) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'newer_than' needs mode = \"update\" (BatchWriteItem has "
           "no conditions)");
    return PL_EINVAL;
  }
  if (opts->batch_updates && opts->mode != DDB_MODE_UPDATE) {
    pl_log(inst, PL_LOG_ERROR,
           "option 'batch_updates' needs mode = \"update\" (put mode always "
           "sends BatchWriteItem)");
    return PL_EINVAL;
  }
  sink_ddb_t *s = calloc(1, sizeof(*s));
  if (!s)
    return PL_ENOMEM;
  s->inst = inst;
  s->opts = opts;
  pl_buf_t why = {0};
  int rc = ddb_schema_compile(
      &(ddb_schema_options_t){.table = opts->table,
                              .key = &opts->key,
                              .types = &opts->types,
                              .newer_than = &opts->newer_than,
                              .version_attribute = opts->version_attribute},
      &s->compiled, &why);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "%s", why.data ? why.data : pl_strerror(rc));
    pl_buf_free(&why);
    sink_ddb_destroy(s);
    return rc;
  }
  *ctx = s;
  return 0;
}

static int sink_ddb_start(pl_instance_t *inst, void *ctx) {
  sink_ddb_t *s = ctx;
  /* Update mode sends one request per record: as many at once as the
   * stage lets batches be in flight. */
  int rc = pl_aws_sink_start(&s->aws, inst, "dynamodb", s->opts->endpoint,
                             s->opts->region);
  if (rc < 0)
    return rc;
  pl_log(inst, PL_LOG_DEBUG, "writing to table %s (%s)", s->opts->table,
         ddb_modes[s->opts->mode]);
  return 0;
}

static void sink_ddb_write(pl_instance_t *inst, void *ctx, pl_batch_t *batch) {
  sink_ddb_t *s = ctx;
  if (!pl_aws_sink_closed(&s->aws, batch))
    ddb_write_batch(s, batch);
}

static void sink_ddb_close(pl_instance_t *inst, void *ctx) {
  sink_ddb_t *s = ctx;
  /* Calls in flight end with "Canceled": their records fail, and the
   * batches are done from their callbacks. */
  pl_aws_sink_close(&s->aws);
}

static void sink_ddb_destroy(void *ctx) {
  sink_ddb_t *s = ctx;
  ddb_schema_close(&s->compiled);
  ddb_update_shape_free(&s->update_shape);
  free(s);
}

/* --check --live: the table, and its keys against the `key` option. */
static int sink_ddb_preflight(pl_instance_t *inst, void *ctx,
                              pl_preflight_t *check) {
  const sink_ddb_t *s = ctx;
  return ddb_preflight_start(
      check, &(ddb_preflight_params_t){.table = s->opts->table,
                                       .endpoint = s->opts->endpoint,
                                       .region = s->opts->region,
                                       .keys = s->opts->key.keys,
                                       .key_count = s->opts->key.count});
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "dynamodb",
    .kind = PL_KIND_SINK,
    .description = "Writes each record as one DynamoDB item (BatchWriteItem, "
                   "a conditional UpdateItem, or with batch_updates PartiQL "
                   "UPDATE statements 25 a request).",
    .options = sink_ddb_option_table,
    .options_count =
        sizeof(sink_ddb_option_table) / sizeof(sink_ddb_option_table[0]),
    .options_size = sizeof(sink_ddb_options_t),
    .defaults = {.batch_size = "25", .linger = "50ms", .max_in_flight = "8"},
    .init = sink_ddb_init,
    .start = sink_ddb_start,
    .write = sink_ddb_write,
    .close = sink_ddb_close,
    .destroy = sink_ddb_destroy,
    .extensions = PL_AWS_EXTENSIONS,
    .preflight = sink_ddb_preflight,
};
