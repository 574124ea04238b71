/* The tokenizer of the config file (internal to src/config.c). It turns
 * bytes into tokens with their line and column, decodes string escapes and
 * expands ${VAR} references (the rule is in src/config.h), and formats the
 * one-line "file:line:col: message" errors for both itself and the parser,
 * so that every message has the same shape. */
#ifndef PL_CORE_CONFIG_LEXER_H
#define PL_CORE_CONFIG_LEXER_H

#include "config.h"

#include <pipelined/common.h>

typedef enum {
  PL_CFG_TOK_EOF,
  PL_CFG_TOK_NEWLINE,
  PL_CFG_TOK_WORD,   /* a run of letters, digits and _ . + - */
  PL_CFG_TOK_STRING, /* "quoted" */
  PL_CFG_TOK_EQUALS,
  PL_CFG_TOK_LBRACE,
  PL_CFG_TOK_RBRACE,
  PL_CFG_TOK_LBRACKET,
  PL_CFG_TOK_RBRACKET,
  PL_CFG_TOK_COMMA,
  PL_CFG_TOK_SEMICOLON,
} pl_cfg_tok_kind_t;

typedef struct pl_cfg_token {
  pl_cfg_tok_kind_t kind;
  int line;
  int col;
  const char *start; /* the token's source bytes (borrowed from the input) */
  size_t len;
  pl_buf_t string; /* STRING: the decoded text; the parser may steal it */
  /* STRING: its text begins with a variable's value (src/config.h). */
  bool starts_with_var;
} pl_cfg_token_t;

typedef struct pl_cfg_lexer {
  const char *file; /* borrowed: the name used in messages */
  bool starts_with_var; /* of the string being read */
  const char *text; /* borrowed: the input */
  size_t len;
  size_t pos;
  int line;
  size_t line_start;       /* offset of the first byte of the current line */
  const pl_cfg_env_t *env; /* borrowed; NULL is an empty environment */
  char *error;             /* the first error, owned until taken */
  pl_buf_t name;           /* scratch space for variable names */
} pl_cfg_lexer_t;

void pl__cfg_lexer_init(pl_cfg_lexer_t *lx, const char *file, const char *text,
                        size_t len, const pl_cfg_env_t *env);
/* Frees the lexer's scratch space and any error not taken. */
void pl__cfg_lexer_close(pl_cfg_lexer_t *lx);

/* Reads the next token into *tok (whose string buffer is reused). Returns
 * 0, PL_EPARSE or PL_ENOMEM; on failure the lexer holds the message. */
int pl__cfg_lexer_next(pl_cfg_lexer_t *lx, pl_cfg_token_t *tok);

/* Records "file:line:col: message" as the error unless one was already
 * recorded (the first error is the one worth reading) and returns
 * PL_EPARSE (PL_ENOMEM when the message cannot be allocated), so that
 * callers can write `return pl__cfg_lexer_fail(...)`. */
int pl__cfg_lexer_fail(pl_cfg_lexer_t *lx, int line, int col, const char *fmt,
                       ...) PL_PRINTF(4, 5);
/* Records "out of memory" at the current position, as far as memory
 * allows, and returns PL_ENOMEM. */
int pl__cfg_lexer_nomem(pl_cfg_lexer_t *lx);

/* Writes how a token reads in a message ("'foo'", "'='", "end of line",
 * "end of file", "\"text\"") into out, shortened and with control bytes
 * replaced so that the message stays on one line. */
void pl__cfg_token_describe(const pl_cfg_token_t *tok, char *out, size_t size);
/* Copies len bytes of text into out for a message, in the same way. */
void pl__cfg_quote(const char *text, size_t len, char *out, size_t size);

#endif
