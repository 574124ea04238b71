/* Helpers over a parsed config tree: error lines, views, fingerprints. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_tree.h"

void pl__cfg_error(pl_buf_t *errors, const pl_cfg_loc_t *loc,
                   const char *fmt, ...) {
  pl_buf_printf(errors, "%s:%d:%d: ", loc->file, loc->line, loc->col);
  va_list ap;
  va_start(ap, fmt);
  pl_buf_vprintf(errors, fmt, ap);
  va_end(ap);
  pl_buf_append_str(errors, "\n");
}

int pl__cfg_settings_view(const pl_cfg_node_t *block, pl_cfg_node_t *view) {
  *view = (pl_cfg_node_t){.is_block = true, .loc = block->loc};
  view->children =
      calloc(block->count ? block->count : 1, sizeof(*view->children));
  if (!view->children)
    return PL_ENOMEM;
  for (size_t i = 0; i < block->count; i++)
    if (!block->children[i]->is_block)
      view->children[view->count++] = block->children[i];
  return 0;
}

static void fingerprint_text(pl_buf_t *out, char tag, const char *text,
                             size_t len) {
  pl_buf_printf(out, "%c%zu:", tag, text ? len : 0);
  if (text && len)
    pl_buf_append(out, text, len);
}

/* The recursion follows the nesting, which the parser bounds. */
static void fingerprint_value(const pl_cfg_value_t *value, pl_buf_t *out) {
  if (value->kind == PL_CFG_LIST) {
    pl_buf_printf(out, "[%zu", value->count);
    for (size_t i = 0; i < value->count; i++)
      fingerprint_value(&value->items[i], out);
    pl_buf_append_str(out, "]");
    return;
  }
  fingerprint_text(out, (char)('0' + (int)value->kind), value->text,
                   value->text_len);
}

void pl__cfg_fingerprint(const pl_cfg_node_t *node, pl_buf_t *out) {
  fingerprint_text(out, 'k', node->key, node->key ? strlen(node->key) : 0);
  fingerprint_text(out, 'l', node->label,
                   node->label ? strlen(node->label) : 0);
  if (!node->is_block) {
    fingerprint_value(&node->value, out);
    return;
  }
  pl_buf_printf(out, "{%zu", node->count);
  for (size_t i = 0; i < node->count; i++)
    pl__cfg_fingerprint(node->children[i], out);
  pl_buf_append_str(out, "}");
}

