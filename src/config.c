/* Recursive-descent parser of the config file into a tree of nodes. The
 * tokens come from src/config_lexer.c; this file builds the tree, checks
 * duplicates and nesting, classifies bare words with src/units.c and
 * reads files. Every node is attached to its parent before its contents
 * are parsed, so that destroying the root frees everything on any error
 * path. */
#include "config.h"

#include "config_lexer.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* How deeply blocks and lists may nest: deep enough for any real config,
 * shallow enough that the recursion can never exhaust the stack. */
#define PL_CFG_MAX_DEPTH 32
/* Config files are small; the bound keeps hostile input from turning into
 * gigabytes of nodes. */

static const char *process_getenv(void *data, const char *name) {
  return getenv(name);
}

const pl_cfg_env_t pl__cfg_process_env = {.getenv = process_getenv};

const char *pl__cfg_kind_name(pl_cfg_kind_t kind) {
  switch (kind) {
  case PL_CFG_STRING:
    return "string";
  case PL_CFG_INT:
    return "int";
  case PL_CFG_FLOAT:
    return "float";
  case PL_CFG_BOOL:
    return "bool";
  case PL_CFG_DURATION:
    return "duration";
  case PL_CFG_SIZE:
    return "size";
  case PL_CFG_LIST:
    return "list";
  }
  return "unknown";
}

/* The recursion follows the nesting, which the parser bounds. */
static void value_free(pl_cfg_value_t *value) {
  for (size_t i = 0; i < value->count; i++)
    value_free(&value->items[i]);
  free(value->items);
  free(value->text);
}

static void node_free(pl_cfg_node_t *node) {
  for (size_t i = 0; i < node->count; i++)
    node_free(node->children[i]);
  free(node->children);
  value_free(&node->value);
  free(node->key);
  free(node->label);
  free(node);
}

void pl__cfg_destroy(pl_cfg_node_t *root) {
  if (!root)
    return;
  char *file = root->file;
  char **files = root->files;
  size_t file_count = root->file_count;
  node_free(root);
  free(file);
  for (size_t i = 0; i < file_count; i++)
    free(files[i]);
  free(files);
}

/* Arrays grow to the next power of two when their count reaches one, which
 * needs no capacity field in the public structs. */
static int grow(void **array, size_t count, size_t item_size) {
  if ((count > 0 && count < 4) || (count & (count - 1)) != 0)
    return 0;
  size_t cap = count ? count * 2 : 4;
  if (cap > SIZE_MAX / item_size)
    return PL_ENOMEM;
  void *bigger = realloc(*array, cap * item_size);
  if (!bigger)
    return PL_ENOMEM;
  *array = bigger;
  return 0;
}

/* Remembers the first node of each key in each block, so that duplicate
 * settings are found in linear time even in huge (fuzzed) blocks. */
typedef struct seen_slot {
  const pl_cfg_node_t *parent;
  const pl_cfg_node_t *node;
} seen_slot_t;

typedef struct seen_set {
  seen_slot_t *slots;
  size_t cap; /* a power of two */
  size_t count;
} seen_set_t;

static size_t seen_hash(const pl_cfg_node_t *parent, const char *key) {
  uint64_t h = 1469598103934665603u ^ (uint64_t)(uintptr_t)parent;
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211u;
  return (size_t)(h ^ (h >> 29));
}

static seen_slot_t *seen_slot(seen_slot_t *slots, size_t cap,
                              const pl_cfg_node_t *parent, const char *key) {
  size_t i = seen_hash(parent, key) & (cap - 1);
  while (slots[i].node &&
         (slots[i].parent != parent || strcmp(slots[i].node->key, key) != 0))
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

/* Returns the first node with node's key in parent, or NULL after adding
 * node as that first one; PL_ENOMEM is reported through *rc. */
static const pl_cfg_node_t *seen_add(seen_set_t *set,
                                     const pl_cfg_node_t *parent,
                                     const pl_cfg_node_t *node, int *rc) {
  *rc = 0;
  if (set->count + 1 > set->cap / 2) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    seen_slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots) {
      *rc = PL_ENOMEM;
      return NULL;
    }
    for (size_t i = 0; i < set->cap; i++)
      if (set->slots[i].node)
        *seen_slot(slots, cap, set->slots[i].parent, set->slots[i].node->key) =
            set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
  }
  seen_slot_t *slot = seen_slot(set->slots, set->cap, parent, node->key);
  if (slot->node)
    return slot->node;
  *slot = (seen_slot_t){.parent = parent, .node = node};
  set->count++;
  return NULL;
}

typedef struct parser {
  pl_cfg_lexer_t lx;
  pl_cfg_token_t tok; /* the next token, not yet consumed */
  const char *file;   /* the root's copy */
  seen_set_t seen;
} parser_t;

static int advance(parser_t *p) {
  return pl__cfg_lexer_next(&p->lx, &p->tok);
}

static int fail_nomem(parser_t *p) {
  return pl__cfg_lexer_nomem(&p->lx);
}

/* Fails with "expected <what>, found <the current token>". */
static int fail_found(parser_t *p, const char *what) {
  char found[64];
  pl__cfg_token_describe(&p->tok, found, sizeof found);
  return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                            "expected %s, found %s", what, found);
}

/* Classifies the bare word of the current token into value. */
static int parse_word(parser_t *p, pl_cfg_value_t *value) {
  value->text = strndup(p->tok.start, p->tok.len);
  if (!value->text)
    return fail_nomem(p);
  value->text_len = p->tok.len;
  const char *text = value->text;
  /* The order matters: "0" is an int (and options accept it as a duration
   * or size by re-reading the text), "4096" is an int rather than a size. */
  const char *kind_name = "number";
  int rc = pl__parse_int(text, &value->as.i);
  value->kind = PL_CFG_INT;
  if (rc == PL_EPARSE) {
    rc = pl__parse_double(text, &value->as.d);
    value->kind = PL_CFG_FLOAT;
  }
  if (rc == PL_EPARSE) {
    rc = pl__parse_duration(text, &value->as.ms);
    value->kind = PL_CFG_DURATION;
    kind_name = "duration";
  }
  if (rc == PL_EPARSE) {
    rc = pl__parse_size(text, &value->as.bytes);
    value->kind = PL_CFG_SIZE;
    kind_name = "size";
  }
  if (rc == PL_EPARSE) {
    rc = pl__parse_bool(text, &value->as.b);
    value->kind = PL_CFG_BOOL;
  }
  if (rc == PL_ENOMEM)
    return fail_nomem(p);
  char quoted[48];
  pl__cfg_quote(p->tok.start, p->tok.len, quoted, sizeof quoted);
  if (rc == PL_ERANGE && value->kind == PL_CFG_DURATION)
    return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                              "duration '%s' is out of range (it must be a "
                              "whole number of milliseconds below 2^64)",
                              quoted);
  if (rc == PL_ERANGE)
    return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                              "%s '%s' is out of range", kind_name, quoted);
  if (rc < 0)
    return fail_found(p, "a value (a \"string\", number, duration, size, "
                         "true/false or [list])");
  return advance(p);
}

static int parse_value(parser_t *p, pl_cfg_value_t *value, int depth);

/* Parses the list whose '[' is the current token. */
static int parse_list(parser_t *p, pl_cfg_value_t *value, int depth) {
  int line = p->tok.line, col = p->tok.col;
  value->kind = PL_CFG_LIST;
  if (depth >= PL_CFG_MAX_DEPTH)
    return pl__cfg_lexer_fail(&p->lx, line, col,
                              "blocks and lists are nested too deeply (the "
                              "limit is %d levels)",
                              PL_CFG_MAX_DEPTH);
  int rc = advance(p);
  bool need_comma = false;
  while (rc == 0) {
    switch (p->tok.kind) {
    case PL_CFG_TOK_NEWLINE:
      rc = advance(p); /* lists may span lines */
      continue;
    case PL_CFG_TOK_RBRACKET:
      return advance(p);
    case PL_CFG_TOK_EOF:
      return pl__cfg_lexer_fail(&p->lx, line, col,
                                "list opened here is not closed (expected "
                                "']' before end of file)");
    case PL_CFG_TOK_COMMA:
      if (need_comma) {
        need_comma = false;
        rc = advance(p);
        continue;
      }
      return fail_found(p, "a value or ']' in list");
    default:
      break;
    }
    if (need_comma)
      return fail_found(p, "',' or ']' in list");
    if (grow((void **)&value->items, value->count, sizeof *value->items) < 0)
      return fail_nomem(p);
    /* Counted before it is parsed, so that a half-parsed item is freed
     * with the list. */
    pl_cfg_value_t *item = &value->items[value->count++];
    *item = (pl_cfg_value_t){0};
    rc = parse_value(p, item, depth + 1);
    need_comma = true;
  }
  return rc;
}

static int parse_value(parser_t *p, pl_cfg_value_t *value, int depth) {
  value->loc =
      (pl_cfg_loc_t){.file = p->file, .line = p->tok.line, .col = p->tok.col};
  switch (p->tok.kind) {
  case PL_CFG_TOK_STRING:
    value->kind = PL_CFG_STRING;
    value->text = p->tok.string.data; /* stolen */
    value->text_len = p->tok.string.len;
    value->from_env = p->tok.starts_with_var;
    p->tok.string = (pl_buf_t){0};
    return advance(p);
  case PL_CFG_TOK_WORD:
    return parse_word(p, value);
  case PL_CFG_TOK_LBRACKET:
    return parse_list(p, value, depth);
  default:
    return fail_found(p, "a value (a \"string\", number, duration, size, "
                         "true/false or [list])");
  }
}

static bool is_name(const char *text, size_t len) {
  if (len == 0 || !((text[0] >= 'a' && text[0] <= 'z') ||
                    (text[0] >= 'A' && text[0] <= 'Z') || text[0] == '_'))
    return false;
  for (size_t i = 1; i < len; i++)
    if (text[i] == '.' || text[i] == '+')
      return false;
  return true; /* the lexer allows only [A-Za-z0-9_.+-] in words */
}

static pl_cfg_node_t *add_child(parser_t *p, pl_cfg_node_t *parent,
                                const pl_cfg_token_t *key) {
  if (grow((void **)&parent->children, parent->count,
           sizeof *parent->children) < 0)
    return NULL;
  pl_cfg_node_t *node = calloc(1, sizeof *node);
  if (!node)
    return NULL;
  node->key = strndup(key->start, key->len);
  if (!node->key) {
    free(node);
    return NULL;
  }
  node->loc =
      (pl_cfg_loc_t){.file = p->file, .line = key->line, .col = key->col};
  parent->children[parent->count++] = node;
  return node;
}

/* Settings may not repeat in a block, and a name may not be both a setting
 * and a block; blocks may repeat (several "pipeline" or "transform"). */
static int check_duplicate(parser_t *p, pl_cfg_node_t *parent,
                           pl_cfg_node_t *node) {
  int rc = 0;
  const pl_cfg_node_t *first = seen_add(&p->seen, parent, node, &rc);
  if (rc < 0)
    return fail_nomem(p);
  if (!first || (first->is_block && node->is_block))
    return 0;
  if (!first->is_block && !node->is_block)
    return pl__cfg_lexer_fail(&p->lx, node->loc.line, node->loc.col,
                              "duplicate setting '%s' (first set at "
                              "%s:%d:%d)",
                              node->key, p->file, first->loc.line,
                              first->loc.col);
  return pl__cfg_lexer_fail(&p->lx, node->loc.line, node->loc.col,
                            "'%s' is used both as a setting and as a block "
                            "(first used at %s:%d:%d)",
                            node->key, p->file, first->loc.line,
                            first->loc.col);
}

static int parse_body(parser_t *p, pl_cfg_node_t *block, int depth,
                      int open_line, int open_col);

/* Parses one `key = value` or `key ["label"] { ... }` whose key is the
 * current token. */
static int parse_entry(parser_t *p, pl_cfg_node_t *parent, int depth) {
  pl_cfg_token_t key = p->tok; /* its text stays in the input */
  key.string = (pl_buf_t){0};
  char name[48];
  pl__cfg_quote(key.start, key.len, name, sizeof name);
  if (!is_name(key.start, key.len))
    return fail_found(p, "a setting or block name (a letter or '_', then "
                         "letters, digits, '_' or '-')");
  if (parent->count >= PL_CFG_MAX_ENTRIES)
    return pl__cfg_lexer_fail(&p->lx, key.line, key.col,
                              "too many entries in one block (the limit is "
                              "%d)",
                              PL_CFG_MAX_ENTRIES);
  pl_cfg_node_t *node = add_child(p, parent, &key);
  if (!node)
    return fail_nomem(p);
  int rc = advance(p);
  if (rc < 0)
    return rc;
  if (p->tok.kind == PL_CFG_TOK_EQUALS) {
    rc = check_duplicate(p, parent, node);
    if (rc == 0)
      rc = advance(p);
    if (rc == 0)
      rc = parse_value(p, &node->value, depth);
    if (rc < 0)
      return rc;
    switch (p->tok.kind) {
    case PL_CFG_TOK_NEWLINE:
    case PL_CFG_TOK_SEMICOLON:
      return advance(p);
    case PL_CFG_TOK_RBRACE:
    case PL_CFG_TOK_EOF:
      return 0; /* the block or the file ends the setting */
    default: {
      char what[96];
      snprintf(what, sizeof what, "a newline or ';' after the value of '%s'",
               name);
      return fail_found(p, what);
    }
    }
  }
  node->is_block = true;
  char what[160];
  snprintf(what, sizeof what, "'=' or '{' after '%s'", name);
  if (p->tok.kind == PL_CFG_TOK_STRING) {
    node->label = p->tok.string.data; /* stolen */
    size_t label_len = p->tok.string.len;
    p->tok.string = (pl_buf_t){0};
    /* A label is a C string: a NUL would silently cut it short. */
    if (strlen(node->label) != label_len)
      return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                                "a block label may not contain \\u0000");
    char label[48];
    pl__cfg_quote(node->label, strlen(node->label), label, sizeof label);
    snprintf(what, sizeof what, "'{' after '%s \"%s\"'", name, label);
    rc = advance(p);
    if (rc < 0)
      return rc;
    /* include "conf.d/NAME.conf": a directive of the top level, which
     * src/config_load.c carries out. */
    if (depth == 0 && strcmp(node->key, "include") == 0 &&
        (p->tok.kind == PL_CFG_TOK_NEWLINE ||
         p->tok.kind == PL_CFG_TOK_SEMICOLON ||
         p->tok.kind == PL_CFG_TOK_EOF)) {
      node->is_block = false;
      node->value.kind = PL_CFG_STRING;
      node->value.loc = node->loc;
      node->value.text = node->label;
      node->value.text_len = label_len;
      node->label = NULL;
      return p->tok.kind == PL_CFG_TOK_EOF ? 0 : advance(p);
    }
  }
  if (p->tok.kind != PL_CFG_TOK_LBRACE)
    return fail_found(p, what);
  rc = check_duplicate(p, parent, node);
  if (rc < 0)
    return rc;
  if (depth >= PL_CFG_MAX_DEPTH)
    return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                              "blocks and lists are nested too deeply (the "
                              "limit is %d levels)",
                              PL_CFG_MAX_DEPTH);
  int open_line = p->tok.line, open_col = p->tok.col;
  rc = advance(p);
  if (rc < 0)
    return rc;
  return parse_body(p, node, depth + 1, open_line, open_col);
}

/* Parses entries up to the '}' of a block (consumed) or, for the root
 * (open_line 0), up to the end of the file. */
static int parse_body(parser_t *p, pl_cfg_node_t *block, int depth,
                      int open_line, int open_col) {
  for (;;) {
    int rc = 0;
    switch (p->tok.kind) {
    case PL_CFG_TOK_NEWLINE:
    case PL_CFG_TOK_SEMICOLON:
      rc = advance(p);
      break;
    case PL_CFG_TOK_RBRACE:
      if (open_line)
        return advance(p);
      return pl__cfg_lexer_fail(&p->lx, p->tok.line, p->tok.col,
                                "unexpected '}' (no block is open)");
    case PL_CFG_TOK_EOF: {
      if (!open_line)
        return 0;
      char name[48];
      pl__cfg_quote(block->key, strlen(block->key), name, sizeof name);
      return pl__cfg_lexer_fail(&p->lx, open_line, open_col,
                                "block '%s' opened here is not closed "
                                "(expected '}' before end of file)",
                                name);
    }
    case PL_CFG_TOK_WORD:
      rc = parse_entry(p, block, depth);
      break;
    default:
      return fail_found(p, "a setting or block name");
    }
    if (rc < 0)
      return rc;
  }
}

int pl__cfg_parse(const char *file, const char *text, size_t len,
                  const pl_cfg_env_t *env, pl_cfg_node_t **root, char **error) {
  *root = NULL;
  *error = NULL;
  if (!file)
    file = "<config>";
  parser_t p = {0};
  pl_cfg_node_t *top = calloc(1, sizeof *top);
  char *file_copy = strdup(file);
  char *key = strdup("");
  if (!top || !file_copy || !key) {
    free(top);
    free(file_copy);
    free(key);
    return PL_ENOMEM;
  }
  *top = (pl_cfg_node_t){.key = key,
                         .file = file_copy,
                         .is_block = true,
                         .loc = {.file = file_copy, .line = 1, .col = 1}};
  p.file = file_copy;
  pl__cfg_lexer_init(&p.lx, file_copy, text ? text : "", text ? len : 0, env);
  int rc = 0;
  if (len > PL_CFG_MAX_SIZE)
    rc = pl__cfg_lexer_fail(&p.lx, 1, 1,
                            "file is too large (the limit is %zu bytes)",
                            PL_CFG_MAX_SIZE);
  if (rc == 0)
    rc = advance(&p);
  if (rc == 0)
    rc = parse_body(&p, top, 0, 0, 0);
  if (rc == PL_ENOMEM)
    pl__cfg_lexer_nomem(&p.lx); /* names a position unless one was set */
  if (rc < 0) {
    *error = p.lx.error;
    p.lx.error = NULL;
    pl__cfg_destroy(top);
  } else {
    *root = top;
  }
  pl_buf_free(&p.tok.string);
  free(p.seen.slots);
  pl__cfg_lexer_close(&p.lx);
  return rc < 0 ? rc : 0;
}

/* Reads all of `fp` into `text`: 0, PL_ENOMEM, or an errno value. */
static int read_all(FILE *fp, pl_buf_t *text) {
  /* One byte past the limit is enough for the parser to refuse it. */
  char chunk[8192];
  size_t n;
  errno = 0;
  while (text->len <= PL_CFG_MAX_SIZE &&
         (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
    if (pl_buf_append(text, chunk, n) < 0)
      return PL_ENOMEM;
  if (ferror(fp))
    return errno ? errno : EIO;
  return 0;
}

int pl__cfg_parse_stream(FILE *fp, const char *name, const pl_cfg_env_t *env,
                         pl_cfg_node_t **root, char **error) {
  *root = NULL;
  *error = NULL;
  pl_buf_t text = {0};
  int err = fp ? read_all(fp, &text) : errno;
  if (err) {
    pl_buf_t msg = {0};
    if (pl_buf_printf(&msg, "cannot read %s: %s", name,
                      strerror(err == PL_ENOMEM ? ENOMEM : err)) == 0)
      *error = msg.data;
    else
      pl_buf_free(&msg);
    pl_buf_free(&text);
    if (err == PL_ENOMEM || err == ENOMEM)
      return PL_ENOMEM;
    return err == ENOENT ? PL_ENOENT : PL_EIO;
  }
  int rc = pl__cfg_parse(name, text.data, text.len, env, root, error);
  pl_buf_free(&text);
  return rc;
}

int pl__cfg_parse_file(const char *path, const pl_cfg_env_t *env,
                       pl_cfg_node_t **root, char **error) {
  FILE *fp = fopen(path, "rb");
  int rc = pl__cfg_parse_stream(fp, path, env, root, error);
  if (fp)
    fclose(fp);
  return rc;
}
