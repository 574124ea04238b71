/* transform-upper: an example plugin built out of tree. It upper-cases one
 * string field of every record, and rejects records where the field is
 * missing or not a string.
 *
 *   cc -shared -fPIC -o transform-upper.so transform_upper.c \
 *      $(pkg-config --cflags --libs pipelined)
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <pipelined/pipelined.h>

typedef struct upper_options {
  char *field;
} upper_options_t;

static const pl_option_t upper_options[] = {
    PL_OPTION_STRING(upper_options_t, field, "field", NULL, PL_OPT_REQUIRED,
                     "The string field to upper-case."),
};

static int upper_init(pl_instance_t *inst, const void *options, void **ctx) {
  *ctx = (void *)options; /* the options are all the state this plugin needs */
  return 0;
}

static void upper_process(pl_instance_t *inst, void *ctx, pl_record_t *rec) {
  const upper_options_t *opts = ctx;
  json_t *value = json_object_get(pl_record_value(rec), opts->field);
  if (!json_is_string(value)) {
    pl_record_reject(rec, "field '%s' is missing or not a string", opts->field);
    return;
  }
  char *text = strdup(json_string_value(value));
  if (!text) {
    pl_record_reject(rec, "out of memory");
    return;
  }
  for (char *p = text; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  json_object_set_new(pl_record_value(rec), opts->field, json_string(text));
  free(text);
  pl_emit(inst, rec);
}

static void upper_destroy(void *ctx) {}

PL_EXTERN const pl_plugin_t pipelined_plugin = {
    .abi_version = PL_ABI_VERSION,
    .struct_size = sizeof(pl_plugin_t),
    .name = "upper",
    .kind = PL_KIND_TRANSFORM,
    .description = "Upper-cases one string field (an example plugin).",
    .options = upper_options,
    .options_count = sizeof(upper_options) / sizeof(upper_options[0]),
    .options_size = sizeof(upper_options_t),
    .init = upper_init,
    .process = upper_process,
    .destroy = upper_destroy,
};
