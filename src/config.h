/* The config file: lexer and parser into a tree of nodes, with ${VAR} and
 * ${VAR:-default} expanded from an injected environment. The tree knows
 * nothing of plugins; src/options.c validates it against option tables.
 *
 * Grammar:
 *   file     := entry*
 *   entry    := KEY '=' value terminator | KEY [STRING] '{' entry* '}'
 *   terminator := newline | ';' | before '}' | end of file
 *   value    := STRING | WORD | '[' [value (',' value)* [',']] ']'
 *   WORD     := int | float | duration (500ms, 30s) | size (256KiB) |
 *               true | false
 *   KEY      := a letter or '_', then letters, digits, '_' or '-'
 * Comments run from '#' to the end of the line. Lists may span lines (and
 * may end with a ','); a setting may not. Blocks and lists nest at most 32
 * deep together; the input is at most 4 MiB (a leading UTF-8 byte order
 * mark is skipped). A bare word is tried as int,
 * float, duration, size, then bool, so "0" and "4096" are INT: options
 * that want a duration or size re-read value.text with src/units.h.
 *
 * Strings: the escapes are \" \\ \/ \n \t \r and \uXXXX (UTF-8 encoded;
 * a surrogate pair makes one character, an unpaired surrogate is an
 * error). Raw bytes must be valid UTF-8 without control characters other
 * than tab, and a string ends on the line where it starts.
 *
 * Environment: `${NAME}` is replaced by the variable's value only when NAME
 * looks like an environment variable: uppercase letters, digits and '_',
 * not starting with a digit (${INPUT}, ${AWS_REGION:-us-east-1}). It is an
 * error when the variable is unset. As in the shell, `${NAME-default}`
 * uses the default when the variable is unset, `${NAME:-default}` when it
 * is unset or empty, and `${NAME?message}` / `${NAME:?message}` fail with
 * "NAME: message" instead; the forms with a colon also take lowercase
 * names (${bucket:-x}). The default or message is string text (escapes,
 * templates and nested ${OTHER:-...} allowed, up to 8 deep) and is only
 * expanded when it is used. Values are inserted as
 * they are, never re-expanded. Every other `${...}` (lowercase,
 * "${product_id}", "${@origin}") is a template for the plugin and is kept
 * verbatim. `$$` is a literal `$`, so "$${SKU}" keeps an uppercase template
 * "${SKU}" unexpanded (a template's own "$$" is written "$$$$").
 *
 * Errors are one line, "file:line:col: expected X, found Y" or a sentence
 * naming the problem, with 1-based line and byte column (a tab counts as
 * one) of the offending token; unclosed strings, blocks and lists point at
 * their opening '"', '{' or '['. */
#ifndef PL_CORE_CONFIG_H
#define PL_CORE_CONFIG_H

#include <pipelined/common.h>
#include <stdio.h>

typedef struct pl_cfg_loc {
  const char *file; /* borrowed from the root node */
  int line;         /* 1-based */
  int col;          /* 1-based, in bytes */
} pl_cfg_loc_t;

typedef enum {
  PL_CFG_STRING,   /* "quoted": escapes and ${VAR} already applied */
  PL_CFG_INT,      /* 42 */
  PL_CFG_FLOAT,    /* 1.5 */
  PL_CFG_BOOL,     /* true */
  PL_CFG_DURATION, /* 500ms */
  PL_CFG_SIZE,     /* 256KiB */
  PL_CFG_LIST,     /* [ ... ] */
} pl_cfg_kind_t;

const char *pl__cfg_kind_name(pl_cfg_kind_t kind);

typedef struct pl_cfg_value pl_cfg_value_t;
struct pl_cfg_value {
  pl_cfg_kind_t kind;
  pl_cfg_loc_t loc;
  char *text; /* scalars: the literal's text (strings: after expansion) */
  /* STRING: the text begins with a variable's value ("${INPUT}/x"), so a
   * relative path in it is the environment's, not the file's. */
  bool from_env;
  size_t text_len; /* strings may hold "\0" escapes */
  union {
    int64_t i;      /* INT */
    double d;       /* FLOAT */
    bool b;         /* BOOL */
    uint64_t ms;    /* DURATION */
    uint64_t bytes; /* SIZE */
  } as;
  size_t count;          /* LIST */
  pl_cfg_value_t *items; /* LIST: count values */
};

typedef struct pl_cfg_node pl_cfg_node_t;
struct pl_cfg_node {
  char *key;         /* setting name, or block type ("pipeline", "source") */
  char *label;       /* block label ("csv-to-sqs"), or NULL */
  char *file;        /* the root only: the file name loc.file borrows */
  /* The root only: the names of the other files its nodes come from
   * (src/config_load.c), which their loc.file borrows. */
  char **files;
  size_t file_count;
  bool is_block;
  pl_cfg_loc_t loc;  /* of the key */
  pl_cfg_value_t value;      /* settings */
  size_t count;              /* blocks: children in file order */
  pl_cfg_node_t **children;
};

/* The environment ${NAME} references read (<pipelined/common.h>). */
typedef pl_env_t pl_cfg_env_t;

/* Parses `len` bytes of `text`, naming it `file` in locations. On success
 * *root is a new block node (key "", holding the top-level entries) that
 * owns a copy of `file`. On failure returns PL_EPARSE (or PL_ENOMEM) and
 * *error is a new malloc()ed "file:line:col: message" string naming what
 * was expected (NULL only when even that could not be allocated). `text`
 * need not be NUL-terminated; `env` may be NULL for an empty environment;
 * the callback is called only for uppercase names (see above). */
int pl__cfg_parse(const char *file, const char *text, size_t len,
                  const pl_cfg_env_t *env, pl_cfg_node_t **root,
                  char **error);
/* The largest config text, in bytes. */
#define PL_CFG_MAX_SIZE ((size_t)4 * 1024 * 1024)
/* The most entries (settings and blocks) one block holds, and the top
 * level of all the files together: no config needs more, and the checks
 * that compare an entry with those before it stay fast. */
#define PL_CFG_MAX_ENTRIES 10000

/* Reads `fp` to its end and parses it as `name` (fp NULL: errno says why
 * it could not be opened). Errors as pl__cfg_parse_file(). */
int pl__cfg_parse_stream(FILE *fp, const char *name, const pl_cfg_env_t *env,
                         pl_cfg_node_t **root, char **error);
/* Reads and parses a file ("cannot read FILE: reason" on I/O errors, with
 * PL_ENOENT for a missing file and PL_EIO for other failures). */
int pl__cfg_parse_file(const char *path, const pl_cfg_env_t *env,
                       pl_cfg_node_t **root, char **error);
void pl__cfg_destroy(pl_cfg_node_t *root);

/* The process environment through getenv(3); main() passes it. */
extern const pl_cfg_env_t pl__cfg_process_env;

#endif
