/* --describe and --describe-json: an option table as text or JSON, with
 * each option's type, default, flags, limits and choices. */
#include "options_describe.h"

#include "option_limits.h"

void pl__options_describe(const pl_option_t *options, size_t count,
                          pl_buf_t *out) {
  for (size_t i = 0; i < count; i++) {
    const pl_option_t *o = &options[i];
    pl_buf_printf(out, "  %-20s %-9s", o->name, pl_opt_type_name(o->type));
    if (o->flags & PL_OPT_REQUIRED)
      pl_buf_append_str(out, " required");
    else if (o->default_value && !(o->flags & PL_OPT_SECRET))
      pl_buf_printf(out, " default: %s", o->default_value);
    if (o->flags & PL_OPT_SECRET)
      pl_buf_append_str(out, " (secret)");
    if (o->flags & PL_OPT_DEPRECATED)
      pl_buf_append_str(out, " (deprecated)");
    pl_buf_printf(out, "\n      %s\n", o->description ? o->description : "");
    pl_buf_t limits = {0};
    pl__option_limits_text(o, &limits);
    if (limits.data)
      pl_buf_printf(out, "      %s: %s\n",
                    o->type == PL_OPT_STRING || o->type == PL_OPT_LIST ||
                            o->type == PL_OPT_MAP
                        ? "length"
                        : "range",
                    limits.data);
    pl_buf_free(&limits);
    if (o->type == PL_OPT_ENUM && o->choices) {
      pl_buf_append_str(out, "      one of:");
      for (size_t c = 0; o->choices[c]; c++)
        pl_buf_printf(out, " %s", o->choices[c]);
      pl_buf_append_str(out, "\n");
    }
  }
}

json_t *pl__options_describe_json(const pl_option_t *options, size_t count) {
  json_t *list = json_array();
  for (size_t i = 0; list && i < count; i++) {
    const pl_option_t *o = &options[i];
    json_t *item = json_object();
    json_object_set_new(item, "name", json_string(o->name));
    json_object_set_new(item, "type", json_string(pl_opt_type_name(o->type)));
    json_object_set_new(item, "required",
                        json_boolean(o->flags & PL_OPT_REQUIRED));
    json_object_set_new(item, "secret", json_boolean(o->flags & PL_OPT_SECRET));
    if (o->flags & PL_OPT_DEPRECATED)
      json_object_set_new(item, "deprecated", json_true());
    if (o->default_value && !(o->flags & PL_OPT_SECRET))
      json_object_set_new(item, "default", json_string(o->default_value));
    json_object_set_new(item, "description",
                        json_string(o->description ? o->description : ""));
    if (o->type == PL_OPT_ENUM && o->choices) {
      json_t *choices = json_array();
      for (size_t c = 0; o->choices[c]; c++)
        json_array_append_new(choices, json_string(o->choices[c]));
      json_object_set_new(item, "choices", choices);
    }
    pl__option_limits_json(o, item);
    json_array_append_new(list, item);
  }
  return list;
}
