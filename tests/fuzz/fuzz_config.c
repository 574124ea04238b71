/* libFuzzer harness for the config parser: any bytes must either parse
 * into a tree or fail with a one-line "file:line:col: message", without
 * crashing, leaking or recursing without bound. The fake environment
 * holds a few variables so that ${VAR} expansion and defaults are
 * exercised too. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_getenv(void *data, const char *name) {
  static const char *const vars[] = {"INPUT", "/data/in.csv", "EMPTY", "",
                                     "A",     "${A} $$ ${a}", NULL};
  for (size_t i = 0; vars[i]; i += 2)
    if (strcmp(vars[i], name) == 0)
      return vars[i + 1];
  return NULL;
}

/* Walks the tree so that every string and location is read (ASan then
 * checks that they are valid) and checks the invariants callers rely on. */
static void check_value(const pl_cfg_value_t *value) {
  if (value->kind == PL_CFG_LIST) {
    for (size_t i = 0; i < value->count; i++)
      check_value(&value->items[i]);
    return;
  }
  if (!value->text || value->text[value->text_len] != '\0' ||
      value->loc.line < 1 || value->loc.col < 1 || !value->loc.file)
    abort();
}

static void check_node(const pl_cfg_node_t *node) {
  if (!node->key || strlen(node->key) == 0 || !node->loc.file)
    abort();
  if (!node->is_block) {
    check_value(&node->value);
    return;
  }
  if (node->label)
    (void)strlen(node->label);
  for (size_t i = 0; i < node->count; i++)
    check_node(node->children[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const pl_env_t env = {.getenv = fuzz_getenv};
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  int rc =
      pl__cfg_parse("fuzz.conf", (const char *)data, size, &env, &root, &error);
  if (rc == 0) {
    if (!root || error)
      abort();
    for (size_t i = 0; i < root->count; i++)
      check_node(root->children[i]);
  } else {
    /* A parse error always has a message of one line that starts with the
     * file name and a position. */
    if (root || (rc == PL_EPARSE && !error))
      abort();
    if (error && (strchr(error, '\n') || strncmp(error, "fuzz.conf:", 10)))
      abort();
  }
  free(error);
  pl__cfg_destroy(root);
  return 0;
}
