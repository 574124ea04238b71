/* sink-dynamodb's options and sink, shared by the plugin's entry points
 * (sink_dynamodb.c) and the writing of batches (ddb_write.c). */
#ifndef PL_SINK_DYNAMODB_H
#define PL_SINK_DYNAMODB_H

#include <pipelined/aws.h>
#include <pipelined/pipelined.h>

#include "ddb_schema.h"
#include "ddb_update.h"

enum { DDB_MODE_PUT, DDB_MODE_UPDATE };

typedef struct sink_ddb_options {
  char *table;
  char *endpoint;
  char *region;
  int mode;
  pl_map_t key;
  pl_map_t types;
  pl_list_t newer_than;
  char *version_attribute;
  bool batch_updates;
} sink_ddb_options_t;

typedef struct sink_ddb {
  pl_instance_t *inst;
  const sink_ddb_options_t *opts;
  ddb_compiled_t compiled; /* the options as a schema (ddb_schema.h) */
  /* What the updates of its records share (ddb_update.h), owned. */
  ddb_update_shape_t update_shape;
  /* The client; requests refused in a way retrying does not cure (a
   * missing table, a denied permission) are logged at growing intervals,
   * and its end. */
  pl_aws_sink_t aws;
  /* The endpoint does not know BatchExecuteStatement: updates go as
   * UpdateItem from then on. */
  bool statements_unknown;
  /* BatchExecuteStatements refused as a whole (their records went as
   * UpdateItem), logged at growing intervals until one is answered. */
  pl_complain_t statements_refused;
} sink_ddb_t;

/* Writes `batch` (borrowed until it is done) to the sink's table: encodes
 * each record, sends the requests round by round, and ends the batch with
 * pl_batch_done() once every record has its result. The sink is open. */
void ddb_write_batch(sink_ddb_t *s, pl_batch_t *batch);

#endif
