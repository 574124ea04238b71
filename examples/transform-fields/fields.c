/* transform-fields: sets, renames and drops fields of JSON object records
 * (an example plugin, built outside pipelined's tree; see README.md).
 *
 *   transform "fields" {
 *     set    { source = "inventory"; key = "${sku}#${site}" }
 *     rename { qty = "quantity" }
 *     drop   = ["internal_note"]
 *   }
 *
 * In that order: `set` renders its templates against the record as it
 * arrived, then `rename` moves fields, then `drop` removes them. A record
 * that is not a JSON object, or whose template names a missing field, is
 * rejected to the dead letter with the reason. */
#include <stdlib.h>
#include <string.h>

#include <pipelined/pipelined.h>

typedef struct fields_options {
  pl_map_t set;
  pl_map_t rename;
  pl_list_t drop;
} fields_options_t;

static const pl_option_t fields_options[] = {
    PL_OPTION_MAP(fields_options_t, set, "set", 0,
                  "Fields to set: name = \"text with ${field} references\"."),
    PL_OPTION_MAP(fields_options_t, rename, "rename", 0,
                  "Fields to rename: old = \"new\" (a missing field is "
                  "skipped)."),
    PL_OPTION_LIST(fields_options_t, drop, "drop", NULL, 0,
                   "Fields to remove."),
};

typedef struct fields {
  const fields_options_t *opts; /* borrowed from the core */
  pl_template_t **templates;    /* one per `set` entry */
  pl_buf_t text;                /* reused for every rendering */
} fields_t;

static void fields_destroy(void *ctx) {
  fields_t *f = ctx;
  for (size_t i = 0; f->templates && i < f->opts->set.count; i++)
    pl_template_destroy(f->templates[i]);
  free(f->templates);
  pl_buf_free(&f->text);
  free(f);
}

static int fields_init(pl_instance_t *inst, const void *options, void **ctx) {
  fields_t *f = calloc(1, sizeof(*f));
  if (!f)
    return PL_ENOMEM;
  f->opts = options;
  f->templates = calloc(f->opts->set.count + 1, sizeof(*f->templates));
  if (!f->templates) {
    fields_destroy(f);
    return PL_ENOMEM;
  }
  for (size_t i = 0; i < f->opts->set.count; i++) {
    char *error = NULL;
    int rc =
        pl_template_create(f->opts->set.values[i], &f->templates[i], &error);
    if (rc < 0) {
      pl_log(inst, PL_LOG_ERROR, "set.%s: %s", f->opts->set.keys[i],
             error ? error : pl_strerror(rc));
      free(error);
      fields_destroy(f);
      return rc;
    }
  }
  *ctx = f;
  return 0;
}

/* Renders every `set` entry first, so that each template sees the record
 * as it arrived; then stores them. Returns false when the record was
 * rejected. */
static bool apply_set(fields_t *f, pl_record_t *record, json_t *value) {
  const pl_map_t *set = &f->opts->set;
  json_t *rendered = json_object();
  for (size_t i = 0; rendered && i < set->count; i++) {
    const char *missing = NULL;
    pl_buf_reset(&f->text);
    int rc = pl_template_render(f->templates[i], record, &f->text, &missing);
    if (rc < 0) {
      json_decref(rendered);
      pl_record_reject(record, "set.%s: field '%s' is missing", set->keys[i],
                       missing ? missing : "?");
      return false;
    }
    json_object_set_new(
        rendered, set->keys[i],
        json_stringn(f->text.data ? f->text.data : "", f->text.len));
  }
  if (!rendered || json_object_update(value, rendered) < 0) {
    json_decref(rendered);
    pl_record_reject(record, "out of memory");
    return false;
  }
  json_decref(rendered);
  return true;
}

static void fields_process(pl_instance_t *inst, void *ctx,
                           pl_record_t *record) {
  fields_t *f = ctx;
  json_t *value = pl_record_value(record);
  if (!json_is_object(value)) {
    pl_record_reject(record, "not a JSON object");
    return;
  }
  if (!apply_set(f, record, value))
    return;
  const pl_map_t *rename = &f->opts->rename;
  for (size_t i = 0; i < rename->count; i++) {
    json_t *field = json_object_get(value, rename->keys[i]);
    if (!field)
      continue;
    json_object_set(value, rename->values[i], field);
    json_object_del(value, rename->keys[i]);
  }
  for (size_t i = 0; i < f->opts->drop.count; i++)
    json_object_del(value, f->opts->drop.items[i]);
  pl_emit(inst, record);
}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "fields",
    .kind = PL_KIND_TRANSFORM,
    .description = "Sets, renames and drops fields (an example plugin).",
    .options = fields_options,
    .options_count = sizeof(fields_options) / sizeof(fields_options[0]),
    .options_size = sizeof(fields_options_t),
    .init = fields_init,
    .process = fields_process,
    .destroy = fields_destroy,
};
