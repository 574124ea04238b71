/* transform-schema: JSON records in, the same records out when they match a
 * list of typed columns, the dead letter (with the reason) when they do not.
 *
 * The type rules are the core's typed columns (<pipelined/schema.h>), which
 * transform-csv uses too, so a column spec means the same thing in both
 * plugins. On top of pl_schema_validate() this plugin adds what a consumer
 * that trusts nothing it reads needs:
 *   - a record without a JSON value (raw bytes, e.g. an SQS body that did not
 *     parse) or with a value that is not an object is rejected by name;
 *   - `non_empty`: pl_schema_validate() accepts "" for a string column,
 *     because for JSON an empty string is a value, not a missing one (only
 *     an absent member or null is missing). With non_empty (the default) a
 *     required string column must also be non-empty, so
 *     {"product_id": ""} cannot become a table key;
 *   - `extra`: members without a column are kept, removed, or a reason to
 *     reject the record. */
#include <stdlib.h>
#include <string.h>

#include <pipelined/pipelined.h>
#include <pipelined/schema.h>

enum { EXTRA_ALLOW, EXTRA_DROP, EXTRA_REJECT };

static const char *const extra_choices[] = {"allow", "drop", "reject", NULL};

typedef struct schema_options {
  pl_list_t columns;
  int extra;
  bool non_empty;
} schema_options_t;

static const pl_option_t schema_option_table[] = {
    PL_OPTION_LIST(schema_options_t, columns, "columns", NULL, PL_OPT_REQUIRED,
                   "Typed columns \"name:type\" or \"name:type:required\", as "
                   "in transform-csv; types: string, int, number, bool, date "
                   "(YYYY-MM-DD), timestamp (RFC 3339). A required column "
                   "must be present and not null; a present member must have "
                   "the column's type."),
    PL_OPTION_ENUM(schema_options_t, extra, "extra", "allow", extra_choices, 0,
                   "Members that have no column: allow (keep them), drop "
                   "(remove them from the record) or reject (dead-letter "
                   "the record)."),
    PL_OPTION_BOOL(schema_options_t, non_empty, "non_empty", "true", 0,
                   "A required string column must not be the empty string "
                   "(otherwise \"\" is a valid string)."),
};

typedef struct schema_plugin {
  pl_instance_t *inst;
  const schema_options_t *opts;
  pl_schema_t *columns;
  pl_buf_t reason; /* reused by every record */
} schema_plugin_t;

static void schema_destroy(void *ctx) {
  schema_plugin_t *p = ctx;
  pl_schema_destroy(p->columns);
  pl_buf_free(&p->reason);
  free(p);
}

static int schema_init(pl_instance_t *inst, const void *options, void **ctx) {
  const schema_options_t *opts = options;
  schema_plugin_t *p = calloc(1, sizeof(*p));
  if (!p)
    return PL_ENOMEM;
  p->inst = inst;
  p->opts = opts;
  int rc = pl_schema_create((const char *const *)opts->columns.items,
                            opts->columns.count, &p->columns, &p->reason);
  if (rc < 0) {
    pl_log(inst, PL_LOG_ERROR, "option 'columns': %s",
           rc == PL_EPARSE && p->reason.data ? p->reason.data
                                             : pl_strerror(rc));
    schema_destroy(p);
    return rc == PL_EPARSE ? PL_EINVAL : rc;
  }
  *ctx = p;
  return 0;
}

/* True, with the reason, when a required string column of `value` holds
 * "" (the first such column in column order). */
static bool find_empty_required(const pl_schema_t *cols, const json_t *value,
                                pl_buf_t *reason) {
  for (size_t i = 0; i < pl_schema_count(cols); i++) {
    const pl_column_t *col = pl_schema_column(cols, i);
    if (!col->required || col->type != PL_SCHEMA_STRING)
      continue;
    json_t *v = json_object_getn(value, col->name, col->name_len);
    if (json_is_string(v) && json_string_length(v) == 0) {
      pl_buf_reset(reason);
      pl_buf_printf(reason, "field '%s' is required but empty", col->name);
      return true;
    }
  }
  return false;
}

/* The first member of `value` without a column: its name in *key and
 * *len (borrowed from `value`), or false when every member has one. */
static bool first_extra(const pl_schema_t *cols, json_t *value,
                        const char **key, size_t *len) {
  const char *k;
  size_t n;
  json_t *member;
  json_object_keylen_foreach(value, k, n, member) {
    (void)member;
    if (!pl_schema_find(cols, k, n, NULL)) {
      *key = k;
      *len = n;
      return true;
    }
  }
  return false;
}

/* A new object with the members of `value` that have a column, in their
 * order; NULL when out of memory. */
static json_t *only_columns(const pl_schema_t *cols, json_t *value) {
  json_t *kept = json_object();
  if (!kept)
    return NULL;
  const char *key;
  size_t len;
  json_t *member;
  json_object_keylen_foreach(value, key, len, member) {
    if (pl_schema_find(cols, key, len, NULL) &&
        json_object_setn_nocheck(kept, key, len, member) < 0) {
      json_decref(kept);
      return NULL;
    }
  }
  return kept;
}

static void schema_process(pl_instance_t *inst, void *ctx,
                           pl_record_t *record) {
  schema_plugin_t *p = ctx;
  json_t *value = pl_record_value(record);
  if (!value) {
    pl_instance_count(inst, "invalid_records", 1);
    pl_record_reject_as(record, "not_object", "not a JSON record");
    return;
  }
  if (!json_is_object(value)) {
    pl_instance_count(inst, "invalid_records", 1);
    pl_record_reject_as(record, "not_object",
                        "expected a JSON object, found %s",
                        pl_schema_json_type_name(value));
    return;
  }
  int rc = pl_schema_validate(p->columns, value, &p->reason);
  bool bad = rc < 0;
  if (!bad && p->opts->non_empty)
    bad = find_empty_required(p->columns, value, &p->reason);
  const char *extra;
  size_t extra_len;
  if (!bad && p->opts->extra == EXTRA_REJECT &&
      first_extra(p->columns, value, &extra, &extra_len)) {
    bad = true;
    pl_buf_reset(&p->reason);
    char quoted[PL_SCHEMA_QUOTE_BUF_SIZE];
    pl_schema_quote(quoted, extra, extra_len);
    pl_buf_printf(&p->reason, "field '%s' is not in the schema", quoted);
  }
  if (bad) {
    pl_instance_count(inst, "invalid_records", 1);
    /* Only PL_EPARSE comes with a reason; anything else is a resource
     * failure that says nothing about the record. */
    if (rc < 0 && rc != PL_EPARSE)
      pl_record_reject_as(record, "resource", "schema check failed: %s",
                          pl_strerror(rc));
    else
      pl_record_reject_as(record, "schema", "%s",
                          p->reason.data ? p->reason.data : "");
    return;
  }
  if (p->opts->extra == EXTRA_DROP &&
      first_extra(p->columns, value, &extra, &extra_len)) {
    /* A new object rather than deleting in place: the value may be shared
     * with whoever else holds a reference to it. */
    json_t *kept = only_columns(p->columns, value);
    if (!kept) {
      pl_record_reject_as(record, "resource", "out of memory");
      return;
    }
    pl_instance_count(inst, "dropped_fields",
                      json_object_size(value) - json_object_size(kept));
    pl_record_set_value_new(record, kept);
  }
  pl_emit(inst, record);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "schema",
    .kind = PL_KIND_TRANSFORM,
    .description = "Passes JSON records that match typed columns and "
                   "dead-letters the others with the reason.",
    .options = schema_option_table,
    .options_count =
        sizeof(schema_option_table) / sizeof(schema_option_table[0]),
    .options_size = sizeof(schema_options_t),
    .init = schema_init,
    .process = schema_process,
    .destroy = schema_destroy,
};
