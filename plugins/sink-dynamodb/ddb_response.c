/* DynamoDB answers (see ddb_response.h). */
#include <string.h>

#include "ddb_response.h"

#include "ddb_item.h"

/* DynamoDB's messages when a request's key is not the table's: an
 * attribute of another type ("Type mismatch for key id expected: N
 * actual: S"; an index's is "for Index Key", a record's own data), other
 * names (UpdateItem: "The provided key element does not match the
 * schema"; PutRequest: "Missing the key pk in the item"). The sink always
 * writes every attribute of its `key` option as S, so no record can cure
 * these. */
static const char *const key_mismatches[] = {
    "Type mismatch for key ",
    "The provided key element does not match the schema",
    "Missing the key ",
};

bool ddb_key_mismatch(const pl_aws_error_t *error) {
  if (!error->code || strcmp(error->code, "ValidationException") != 0 ||
      !error->message)
    return false;
  for (size_t i = 0; i < sizeof(key_mismatches) / sizeof(*key_mismatches); i++)
    if (strstr(error->message, key_mismatches[i]))
      return true;
  return false;
}

ddb_outcome_t ddb_error_outcome(const pl_aws_error_t *error, size_t count,
                                bool conditional) {
  const char *code = error->code ? error->code : "";
  if (conditional && strcmp(code, "ConditionalCheckFailedException") == 0)
    return DDB_OUTCOME_STALE;
  /* The AWS layer gave up on a throttling or server error: the engine
   * tries again later. */
  if (!pl_aws_error_lasting(error))
    return DDB_OUTCOME_FAIL;
  if (ddb_key_mismatch(error))
    return DDB_OUTCOME_WRONG_KEY;
  if (strcmp(code, "ValidationException") == 0 ||
      strcmp(code, "SerializationException") == 0 ||
      strcmp(code, "ItemCollectionSizeLimitExceededException") == 0)
    return count > 1 ? DDB_OUTCOME_SPLIT : DDB_OUTCOME_REJECT;
  /* A missing table, a denied permission, an unknown error: retrying does
   * not cure it, but dead-lettering every record would lose whole inputs
   * to a configuration mistake. */
  return DDB_OUTCOME_FAIL;
}

bool ddb_condition_met_own_write(const char *request, size_t request_len,
                                 const pl_aws_error_t *error) {
  if (!error->body || error->body_len == 0)
    return false;
  json_t *answer =
      json_loadb(error->body, error->body_len, JSON_ALLOW_NUL, NULL);
  const json_t *stored = json_object_get(answer, "Item");
  json_t *sent =
      stored ? json_loadb(request, request_len, JSON_ALLOW_NUL, NULL) : NULL;
  const json_t *names = json_object_get(sent, "ExpressionAttributeNames");
  const json_t *values = json_object_get(sent, "ExpressionAttributeValues");
  /* The version decides when the request has one (its newer_than
   * condition is only for items without it); else the newer_than
   * field. */
  bool versioned = json_object_get(values, ":ver") != NULL;
  const char *name =
      json_string_value(json_object_get(names, versioned ? "#ver" : "#nt"));
  const json_t *own = json_object_get(values, versioned ? ":ver" : ":nt");
  bool same = name && own && json_equal(json_object_get(stored, name), own);
  json_decref(sent);
  json_decref(answer);
  return same;
}

/* True when `item` holds every attribute of `key` with the same value. */
static bool has_key(const json_t *item, const json_t *key) {
  const char *name;
  json_t *value;
  /* jansson iterates only non-const objects; this one is only read. */
  json_object_foreach((json_t *)key, name, value) {
    if (!json_equal(json_object_get(item, name), value))
      return false;
  }
  return true;
}

size_t ddb_unprocessed(const json_t *result, const char *table,
                       const char *const *key_texts, size_t count,
                       bool *unprocessed) {
  size_t n = 0;
  for (size_t i = 0; i < count; i++)
    unprocessed[i] = false;
  const json_t *writes =
      json_object_get(json_object_get(result, "UnprocessedItems"), table);
  if (json_array_size(writes) == 0)
    return 0;
  /* Rare: the keys are read back from their texts only now. */
  json_t *keys[DDB_MAX_BATCH_ITEMS] = {NULL};
  if (count > DDB_MAX_BATCH_ITEMS)
    count = DDB_MAX_BATCH_ITEMS;
  for (size_t i = 0; i < count; i++)
    keys[i] = json_loads(key_texts[i], JSON_ALLOW_NUL, NULL);
  size_t w;
  json_t *write;
  json_array_foreach(writes, w, write) {
    const json_t *item =
        json_object_get(json_object_get(write, "PutRequest"), "Item");
    if (!json_is_object(item))
      continue;
    /* A request never holds two items of one key (the sink sends those
     * in successive requests), so the key names one entry. */
    for (size_t i = 0; i < count; i++)
      if (!unprocessed[i] && keys[i] && has_key(item, keys[i])) {
        unprocessed[i] = true;
        n++;
        break;
      }
  }
  for (size_t i = 0; i < count; i++) {
    /* A key that could not be read back (out of memory): its item is sent
     * again, which a put makes no worse, rather than counted as written. */
    if (!keys[i] && !unprocessed[i]) {
      unprocessed[i] = true;
      n++;
    }
    json_decref(keys[i]);
  }
  return n;
}

/* The answers of almost every write, byte for byte as DynamoDB (and
 * dynalite) write them. */
static const char *const usual_answers[] = {"{}", "{\"UnprocessedItems\":{}}"};

int ddb_answer_read(const char *text, size_t len, json_t **result,
                    json_error_t *error) {
  *result = NULL;
  if (len == 0)
    return 0;
  for (size_t i = 0; i < sizeof(usual_answers) / sizeof(*usual_answers); i++)
    if (len == strlen(usual_answers[i]) &&
        memcmp(text, usual_answers[i], len) == 0)
      return 0;
  *result = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, error);
  return *result ? 0 : PL_EPARSE;
}
