/* Tokenizer of the config file: tokens, string escapes, ${VAR} expansion
 * and the formatting of every error message. It never reads past `len`
 * (the input need not be NUL-terminated and may hold NUL bytes) and its
 * only recursion, into ${VAR:-default} defaults, is bounded. */
#include "config_lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How deeply ${A:-${B:-...}} defaults may nest. */
#define PL_CFG_MAX_ENV_DEPTH 8

void pl__cfg_lexer_init(pl_cfg_lexer_t *lx, const char *file, const char *text,
                        size_t len, const pl_cfg_env_t *env) {
  *lx = (pl_cfg_lexer_t){
      .file = file, .text = text, .len = len, .line = 1, .env = env};
  /* Some editors start UTF-8 files with a byte order mark; columns are
   * then counted after it, as the editor shows them. */
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    lx->pos = lx->line_start = 3;
}

void pl__cfg_lexer_close(pl_cfg_lexer_t *lx) {
  free(lx->error);
  lx->error = NULL;
  pl_buf_free(&lx->name);
}

static int col_at(const pl_cfg_lexer_t *lx, size_t pos) {
  return (int)(pos - lx->line_start) + 1;
}

int pl__cfg_lexer_fail(pl_cfg_lexer_t *lx, int line, int col, const char *fmt,
                       ...) {
  if (lx->error)
    return PL_EPARSE;
  pl_buf_t msg = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_printf(&msg, "%s:%d:%d: ", lx->file, line, col);
  if (rc == 0)
    rc = pl_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  if (rc < 0) {
    pl_buf_free(&msg);
    return PL_ENOMEM; /* a parse error without its message is useless */
  }
  lx->error = msg.data;
  return PL_EPARSE;
}

int pl__cfg_lexer_nomem(pl_cfg_lexer_t *lx) {
  pl__cfg_lexer_fail(lx, lx->line, col_at(lx, lx->pos), "out of memory");
  return PL_ENOMEM;
}

void pl__cfg_quote(const char *text, size_t len, char *out, size_t size) {
  /* Long texts are cut so that a message stays readable; the "..." shows
   * that something was left out. */
  size_t room = size - 1;
  bool cut = len > room;
  size_t keep = cut ? (room > 3 ? room - 3 : 0) : len;
  size_t i = 0;
  for (; i < keep; i++) {
    unsigned char c = (unsigned char)text[i];
    out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  if (cut)
    for (size_t j = 0; j < 3 && i < room; j++)
      out[i++] = '.';
  out[i] = '\0';
}

void pl__cfg_token_describe(const pl_cfg_token_t *tok, char *out, size_t size) {
  char text[48];
  switch (tok->kind) {
  case PL_CFG_TOK_EOF:
    snprintf(out, size, "end of file");
    return;
  case PL_CFG_TOK_NEWLINE:
    snprintf(out, size, "end of line");
    return;
  case PL_CFG_TOK_STRING:
    /* The source text already holds the quotes. */
    pl__cfg_quote(tok->start, tok->len, text, sizeof text);
    snprintf(out, size, "%s", text);
    return;
  default:
    pl__cfg_quote(tok->start, tok->len, text, sizeof text);
    snprintf(out, size, "'%s'", text);
    return;
  }
}

static bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' || c == '-';
}

static bool is_env_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A variable's name in the forms with an operator after a colon
 * (${name:-default}, ${name:?message}) may have lowercase letters too. */
static bool is_name_char(char c) {
  return is_env_char(c) || (c >= 'a' && c <= 'z');
}

/* What follows a variable's name: '}' or one of the shell's operators. */
typedef enum {
  VAR_PLAIN,         /* ${NAME} */
  VAR_DEFAULT_UNSET, /* ${NAME-default} */
  VAR_DEFAULT_EMPTY, /* ${NAME:-default} */
  VAR_ERROR_UNSET,   /* ${NAME?message} */
  VAR_ERROR_EMPTY,   /* ${NAME:?message} */
} var_op_t;

/* The length of the operator text after a name (0 for '}'). */
static size_t var_op_len(var_op_t op) {
  return op == VAR_DEFAULT_EMPTY || op == VAR_ERROR_EMPTY ? 2 : 1;
}

static bool var_op_is_error(var_op_t op) {
  return op == VAR_ERROR_UNSET || op == VAR_ERROR_EMPTY;
}

/* The four hex digits at pos, or -1. */
static long read_hex4(const pl_cfg_lexer_t *lx, size_t pos) {
  if (lx->len - pos < 4)
    return -1;
  long value = 0;
  for (size_t i = 0; i < 4; i++) {
    int digit = pl_hex_value(lx->text[pos + i]);
    if (digit < 0)
      return -1;
    value = value * 16 + digit;
  }
  return value;
}

static int append_utf8(pl_buf_t *out, unsigned long cp) {
  unsigned char bytes[4];
  size_t n = 0;
  if (cp < 0x80) {
    bytes[n++] = (unsigned char)cp;
  } else if (cp < 0x800) {
    bytes[n++] = (unsigned char)(0xc0 | (cp >> 6));
    bytes[n++] = (unsigned char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    bytes[n++] = (unsigned char)(0xe0 | (cp >> 12));
    bytes[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    bytes[n++] = (unsigned char)(0x80 | (cp & 0x3f));
  } else {
    bytes[n++] = (unsigned char)(0xf0 | (cp >> 18));
    bytes[n++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    bytes[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    bytes[n++] = (unsigned char)(0x80 | (cp & 0x3f));
  }
  return pl_buf_append(out, bytes, n);
}

/* Decodes the escape whose backslash is at lx->pos. */
static int read_escape(pl_cfg_lexer_t *lx, pl_buf_t *out, bool emit) {
  size_t at = lx->pos;
  int col = col_at(lx, at);
  char c = lx->text[at + 1]; /* the caller checked that it exists */
  char simple = 0;
  switch (c) {
  case '"':
    simple = '"';
    break;
  case '\\':
    simple = '\\';
    break;
  case '/':
    simple = '/';
    break;
  case 'n':
    simple = '\n';
    break;
  case 't':
    simple = '\t';
    break;
  case 'r':
    simple = '\r';
    break;
  case 'u':
    break;
  default:
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
      return pl__cfg_lexer_fail(
          lx, lx->line, col,
          "invalid escape in string (use \\\" \\\\ \\/ \\n \\t \\r or "
          "\\uXXXX)");
    return pl__cfg_lexer_fail(
        lx, lx->line, col,
        "invalid escape '\\%c' in string (use \\\" \\\\ \\/ \\n \\t \\r or "
        "\\uXXXX)",
        c);
  }
  if (simple) {
    lx->pos = at + 2;
    return emit && pl_buf_append(out, &simple, 1) < 0 ? PL_ENOMEM : 0;
  }
  long cp = read_hex4(lx, at + 2);
  if (cp < 0)
    return pl__cfg_lexer_fail(lx, lx->line, col,
                              "invalid escape: \\u needs four hex digits");
  size_t end = at + 6;
  if (cp >= 0xdc00 && cp <= 0xdfff)
    return pl__cfg_lexer_fail(lx, lx->line, col,
                              "invalid escape: \\u%04lX is an unpaired "
                              "UTF-16 surrogate",
                              (unsigned long)cp);
  if (cp >= 0xd800 && cp <= 0xdbff) {
    /* JSON-style escapes spell characters above U+FFFF as a surrogate
     * pair; a high half must be followed by a low half. */
    long low =
        lx->len - end >= 2 && lx->text[end] == '\\' && lx->text[end + 1] == 'u'
            ? read_hex4(lx, end + 2)
            : -1;
    if (low < 0xdc00 || low > 0xdfff)
      return pl__cfg_lexer_fail(lx, lx->line, col,
                                "invalid escape: \\u%04lX is an unpaired "
                                "UTF-16 surrogate",
                                (unsigned long)cp);
    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    end += 6;
  }
  lx->pos = end;
  return emit && append_utf8(out, (unsigned long)cp) < 0 ? PL_ENOMEM : 0;
}

static int read_chars(pl_cfg_lexer_t *lx, pl_buf_t *out, bool emit, int depth,
                      size_t quote, size_t dollar);

/* Expands the ${NAME}, ${NAME-default}, ${NAME:-default}, ${NAME?message}
 * or ${NAME:?message} whose '$' is at lx->pos; the name runs from name_at
 * for name_len bytes and `op` follows it. */
static int expand_env(pl_cfg_lexer_t *lx, pl_buf_t *out, bool emit, int depth,
                      size_t quote, size_t name_at, size_t name_len,
                      var_op_t op) {
  size_t dollar = lx->pos;
  int line = lx->line;
  int col = col_at(lx, dollar);
  pl_buf_reset(&lx->name);
  if (pl_buf_append(&lx->name, lx->text + name_at, name_len) < 0)
    return pl__cfg_lexer_nomem(lx);
  const char *name = lx->name.data;
  const char *value = NULL;
  if (emit && lx->env && lx->env->getenv)
    value = lx->env->getenv(lx->env->data, name);
  lx->pos = name_at + name_len + (op == VAR_PLAIN ? 1 : var_op_len(op));
  /* A path that begins with a variable is the environment's: relative to
   * the working directory, not to the config file (src/options.c). Only
   * when its value is used: a default written in the file is the file's,
   * whether the variable is unset or set but empty. */
  bool used = value && (*value || op == VAR_PLAIN ||
                        op == VAR_DEFAULT_UNSET || op == VAR_ERROR_UNSET);
  if (emit && used && out->len == 0)
    lx->starts_with_var = true;
  if (op == VAR_PLAIN) {
    if (emit && !value)
      return pl__cfg_lexer_fail(lx, line, col,
                                "environment variable %s is not set (use "
                                "${%s:-default} to give a default)",
                                name, name);
    return emit && pl_buf_append_str(out, value) < 0 ? PL_ENOMEM : 0;
  }
  /* As in the shell, the colon forms treat a variable that is set but
   * empty as unset. The word after the operator is always read, to find
   * its end, but only expanded (and so only able to fail on an unset
   * variable) when it is used; that also means no other lookup runs while
   * `value` is still to be copied. */
  if (depth >= PL_CFG_MAX_ENV_DEPTH)
    return pl__cfg_lexer_fail(lx, line, col,
                              "${...:-default} values are nested too deeply "
                              "(the limit is %d)",
                              PL_CFG_MAX_ENV_DEPTH);
  bool missing = !value || ((op == VAR_DEFAULT_EMPTY ||
                             op == VAR_ERROR_EMPTY) && !*value);
  bool use_word = emit && missing;
  if (!var_op_is_error(op)) {
    int rc = read_chars(lx, out, use_word, depth + 1, quote, dollar);
    if (rc < 0)
      return rc;
    if (emit && !use_word && pl_buf_append_str(out, value) < 0)
      return pl__cfg_lexer_nomem(lx);
    return 0;
  }
  /* The name is copied: reading the message may look up other names. */
  char *owned = strdup(name);
  pl_buf_t message = {0};
  int rc = owned ? read_chars(lx, &message, use_word, depth + 1, quote, dollar)
                 : pl__cfg_lexer_nomem(lx);
  /* An error is one line: the message's control characters ("\n" in it)
   * become spaces. */
  for (size_t i = 0; i < message.len; i++)
    if ((unsigned char)message.data[i] < 0x20 || message.data[i] == 0x7f)
      message.data[i] = ' ';
  const char *said =
      message.len ? message.data
                  : (value ? "is empty" : "environment variable is not set");
  if (rc == 0 && use_word)
    rc = pl__cfg_lexer_fail(lx, line, col, "%s: %.*s", owned,
                            (int)(message.len ? message.len : strlen(said)),
                            said);
  else if (rc == 0 && emit && pl_buf_append_str(out, value) < 0)
    rc = pl__cfg_lexer_nomem(lx);
  pl_buf_free(&message);
  free(owned);
  return rc;
}

/* The variable whose "${" is at `pos`, if it is one: its name's end and
 * operator. Anything else in "${...}" is a template for the plugin. */
static bool read_var(const pl_cfg_lexer_t *lx, size_t pos, size_t *name_end,
                     var_op_t *op, bool *unclosed) {
  size_t name_at = pos + 2;
  size_t end = name_at;
  bool upper = true;
  while (end < lx->len && is_name_char(lx->text[end])) {
    upper &= is_env_char(lx->text[end]);
    end++;
  }
  *name_end = end;
  *unclosed = false;
  if (end == name_at || (lx->text[name_at] >= '0' && lx->text[name_at] <= '9'))
    return false;
  char next = end < lx->len ? lx->text[end] : '\n';
  char after = end + 1 < lx->len ? lx->text[end + 1] : '\n';
  if (next == ':' && (after == '-' || after == '?')) {
    *op = after == '-' ? VAR_DEFAULT_EMPTY : VAR_ERROR_EMPTY;
    return true;
  }
  /* ${field}, ${field-x}: templates unless the name is all uppercase. */
  if (!upper)
    return false;
  if (next == '}' || next == '-' || next == '?') {
    *op = next == '}' ? VAR_PLAIN
                      : next == '-' ? VAR_DEFAULT_UNSET : VAR_ERROR_UNSET;
    return true;
  }
  *unclosed = next == '"' || next == '\n';
  return false;
}

/* Reads string text from lx->pos up to the closing '"' (depth 0) or up to
 * the '}' that ends a ${NAME:-default} (depth > 0, with the '$' at
 * `dollar`), appending it to out when `emit`. `quote` is the offset of
 * the string's opening quote. */
static int read_chars(pl_cfg_lexer_t *lx, pl_buf_t *out, bool emit, int depth,
                      size_t quote, size_t dollar) {
  /* Braces of templates kept verbatim ("${product_id}") are counted so
   * that their '}' does not end a default that contains them. */
  size_t open_templates = 0;
  for (;;) {
    size_t pos = lx->pos;
    char c = pos < lx->len ? lx->text[pos] : '\n';
    if (c == '\n' || (c == '"' && depth > 0)) {
      if (depth > 0) {
        size_t name_end;
        var_op_t op = VAR_PLAIN;
        bool unclosed;
        (void)read_var(lx, dollar, &name_end, &op, &unclosed);
        return pl__cfg_lexer_fail(
            lx, lx->line, col_at(lx, dollar),
            "'${%.*s' is not closed: expected '}' after the %s",
            (int)(name_end + var_op_len(op) - dollar - 2),
            lx->text + dollar + 2,
            var_op_is_error(op) ? "message" : "default value");
      }
      return pl__cfg_lexer_fail(lx, lx->line, col_at(lx, quote),
                                "unterminated string: expected '\"' before "
                                "the end of the line");
    }
    if (c == '"' || (c == '}' && depth > 0 && open_templates == 0)) {
      lx->pos = pos + 1;
      return 0;
    }
    if (c == '\\') {
      if (pos + 1 >= lx->len || lx->text[pos + 1] == '\n')
        return pl__cfg_lexer_fail(lx, lx->line, col_at(lx, quote),
                                  "unterminated string: expected '\"' "
                                  "before the end of the line");
      int rc = read_escape(lx, out, emit);
      if (rc == PL_ENOMEM)
        return pl__cfg_lexer_nomem(lx);
      if (rc < 0)
        return rc;
      continue;
    }
    size_t take = 1;
    if (c == '$' && pos + 1 < lx->len && lx->text[pos + 1] == '$') {
      /* "$$" is a literal '$'; "$${X}" is thus a template kept as "${X}",
       * and its braces are counted like those of any template. */
      bool brace = pos + 2 < lx->len && lx->text[pos + 2] == '{';
      lx->pos = pos + (brace ? 3 : 2);
      open_templates += brace;
      if (emit && pl_buf_append(out, "${", brace ? 2 : 1) < 0)
        return pl__cfg_lexer_nomem(lx);
      continue;
    }
    if (c == '$' && pos + 1 < lx->len && lx->text[pos + 1] == '{') {
      size_t name_at = pos + 2;
      size_t end;
      var_op_t op;
      bool unclosed;
      if (read_var(lx, pos, &end, &op, &unclosed)) {
        int rc = expand_env(lx, out, emit, depth, quote, name_at,
                            end - name_at, op);
        if (rc < 0)
          return rc;
        continue;
      }
      if (unclosed)
        return pl__cfg_lexer_fail(lx, lx->line, col_at(lx, pos),
                                  "'${%.*s' is not closed: expected '}'",
                                  (int)(end - name_at), lx->text + name_at);
      /* Anything else is a template for the plugin: kept as written. */
      open_templates++;
      take = 2;
    } else if (c == '}' && open_templates > 0) {
      open_templates--;
    } else if ((unsigned char)c < 0x20 && c != '\t') {
      return pl__cfg_lexer_fail(lx, lx->line, col_at(lx, pos),
                                "control character 0x%02x in string (use an "
                                "escape such as \\n or \\t)",
                                (unsigned)(unsigned char)c);
    } else if ((unsigned char)c >= 0x80) {
      take = pl_utf8_sequence((const unsigned char *)lx->text + pos,
                              lx->len - pos);
      if (take == 0)
        return pl__cfg_lexer_fail(lx, lx->line, col_at(lx, pos),
                                  "invalid UTF-8 byte 0x%02x in string",
                                  (unsigned)(unsigned char)c);
    }
    lx->pos = pos + take;
    if (emit && pl_buf_append(out, lx->text + pos, take) < 0)
      return pl__cfg_lexer_nomem(lx);
  }
}

int pl__cfg_lexer_next(pl_cfg_lexer_t *lx, pl_cfg_token_t *tok) {
  /* Spaces, tabs, carriage returns (CRLF files) and comments separate
   * tokens; a newline is a token because it ends a setting. */
  while (lx->pos < lx->len) {
    char c = lx->text[lx->pos];
    if (c == ' ' || c == '\t' || c == '\r') {
      lx->pos++;
    } else if (c == '#') {
      while (lx->pos < lx->len && lx->text[lx->pos] != '\n')
        lx->pos++;
    } else {
      break;
    }
  }
  size_t start = lx->pos;
  tok->line = lx->line;
  tok->col = col_at(lx, start);
  tok->start = lx->text + start;
  tok->len = 1;
  if (start >= lx->len) {
    tok->kind = PL_CFG_TOK_EOF;
    tok->len = 0;
    return 0;
  }
  char c = lx->text[start];
  lx->pos = start + 1;
  switch (c) {
  case '\n':
    tok->kind = PL_CFG_TOK_NEWLINE;
    lx->line++;
    lx->line_start = lx->pos;
    return 0;
  case '=':
    tok->kind = PL_CFG_TOK_EQUALS;
    return 0;
  case '{':
    tok->kind = PL_CFG_TOK_LBRACE;
    return 0;
  case '}':
    tok->kind = PL_CFG_TOK_RBRACE;
    return 0;
  case '[':
    tok->kind = PL_CFG_TOK_LBRACKET;
    return 0;
  case ']':
    tok->kind = PL_CFG_TOK_RBRACKET;
    return 0;
  case ',':
    tok->kind = PL_CFG_TOK_COMMA;
    return 0;
  case ';':
    tok->kind = PL_CFG_TOK_SEMICOLON;
    return 0;
  case '"': {
    tok->kind = PL_CFG_TOK_STRING;
    pl_buf_reset(&tok->string);
    /* An empty string still gets a buffer, so that its text is never
     * NULL. */
    if (pl_buf_reserve(&tok->string, 0) < 0)
      return pl__cfg_lexer_nomem(lx);
    lx->starts_with_var = false;
    int rc = read_chars(lx, &tok->string, true, 0, start, start);
    tok->starts_with_var = lx->starts_with_var;
    tok->len = lx->pos - start;
    return rc;
  }
  default:
    break;
  }
  if (is_word_char(c)) {
    while (lx->pos < lx->len && is_word_char(lx->text[lx->pos]))
      lx->pos++;
    tok->kind = PL_CFG_TOK_WORD;
    tok->len = lx->pos - start;
    return 0;
  }
  if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
    return pl__cfg_lexer_fail(lx, tok->line, tok->col,
                              "unexpected character '%c'", c);
  return pl__cfg_lexer_fail(lx, tok->line, tok->col, "unexpected byte 0x%02x",
                            (unsigned)(unsigned char)c);
}
