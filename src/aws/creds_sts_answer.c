/* STS query API answers: the <ActionResponse><ActionResult><Credentials>
 * of a success, the <ErrorResponse><Error><Code> and <Message> of a
 * refusal, read with the layer's XML reader (xml.h). The parser's buffers
 * (which hold the secret key and session token while parsing) and the
 * collected text live in wiped memory. */
#include "creds_sts_answer.h"

#include <stdlib.h>
#include <string.h>

#include "xml.h"

#define STS_FIELD_MAX ((size_t)64 << 10)

/* Text of one element, in wiped memory. */
typedef struct sts_text {
  char *data;
  size_t len;
  size_t cap;
} sts_text_t;

typedef enum sts_node {
  STS_OTHER,
  STS_RESPONSE,
  STS_RESULT,
  STS_CREDENTIALS,
  STS_ERROR_RESPONSE,
  STS_ERROR,
  STS_ACCESS_KEY_ID, /* the leaves from here on collect text */
  STS_SECRET_ACCESS_KEY,
  STS_SESSION_TOKEN,
  STS_EXPIRATION,
  STS_CODE,
  STS_MESSAGE,
  STS_LEAVES_END,
} sts_node_t;

#define STS_DEPTH_MAX 16

typedef struct sts_parse {
  const char *action; /* "AssumeRole": <AssumeRoleResponse><AssumeRoleResult> */
  sts_node_t stack[STS_DEPTH_MAX];
  size_t depth; /* may exceed STS_DEPTH_MAX; deeper nodes are STS_OTHER */
  bool too_long;
  sts_text_t text[STS_LEAVES_END - STS_ACCESS_KEY_ID];
} sts_parse_t;

static const struct {
  sts_node_t parent;
  const char *name;
  sts_node_t node;
} sts_grammar[] = {
    {STS_OTHER, "Response", STS_RESPONSE}, /* after the action's name */
    {STS_RESPONSE, "Result", STS_RESULT},  /* likewise */
    {STS_RESULT, "Credentials", STS_CREDENTIALS},
    {STS_CREDENTIALS, "AccessKeyId", STS_ACCESS_KEY_ID},
    {STS_CREDENTIALS, "SecretAccessKey", STS_SECRET_ACCESS_KEY},
    {STS_CREDENTIALS, "SessionToken", STS_SESSION_TOKEN},
    {STS_CREDENTIALS, "Expiration", STS_EXPIRATION},
    {STS_OTHER, "ErrorResponse", STS_ERROR_RESPONSE},
    {STS_ERROR_RESPONSE, "Error", STS_ERROR},
    {STS_ERROR, "Code", STS_CODE},
    {STS_ERROR, "Message", STS_MESSAGE},
};

static sts_text_t *leaf_text(sts_parse_t *parse, sts_node_t node) {
  return node >= STS_ACCESS_KEY_ID && node < STS_LEAVES_END
             ? &parse->text[node - STS_ACCESS_KEY_ID]
             : NULL;
}

static void text_clear(sts_text_t *text) {
  pl__secret_wiping_free(text->data);
  *text = (sts_text_t){0};
}

/* Whether `local` is the grammar's `name`, which for the response and
 * result elements follows the action's name. */
static bool sts_name_is(const sts_parse_t *parse, sts_node_t node,
                        const char *local, const char *name) {
  if (node == STS_RESPONSE || node == STS_RESULT) {
    size_t len = strlen(parse->action);
    if (strncmp(local, parse->action, len) != 0)
      return false;
    local += len;
  }
  return strcmp(local, name) == 0;
}

static int on_start(pl_aws_xml_t *xml, void *data, const char *local) {
  sts_parse_t *parse = data;
  sts_node_t node = STS_OTHER;
  if (parse->depth < STS_DEPTH_MAX) {
    /* Only the document element may start a known path. */
    sts_node_t parent =
        parse->depth ? parse->stack[parse->depth - 1] : STS_OTHER;
    bool at_root = parse->depth == 0;
    for (size_t i = 0; i < sizeof sts_grammar / sizeof sts_grammar[0]; i++) {
      bool root_rule = sts_grammar[i].parent == STS_OTHER;
      if (root_rule != at_root || (!at_root && sts_grammar[i].parent != parent))
        continue;
      if (sts_name_is(parse, sts_grammar[i].node, local, sts_grammar[i].name)) {
        node = sts_grammar[i].node;
        break;
      }
    }
    parse->stack[parse->depth] = node;
    sts_text_t *text = leaf_text(parse, node);
    if (text)
      text_clear(text); /* a repeated element: the last one wins */
  }
  parse->depth++;
  return 0;
}

static int on_end(pl_aws_xml_t *xml, void *data, const char *name) {
  sts_parse_t *parse = data;
  parse->depth--;
  return 0;
}

static int on_text(pl_aws_xml_t *xml, void *data, const char *s, size_t n) {
  sts_parse_t *parse = data;
  if (parse->depth == 0 || parse->depth > STS_DEPTH_MAX)
    return 0;
  sts_text_t *text = leaf_text(parse, parse->stack[parse->depth - 1]);
  if (!text)
    return 0;
  if (text->len + n > STS_FIELD_MAX) {
    parse->too_long = true;
    return 0;
  }
  if (text->len + n + 1 > text->cap) {
    size_t cap = text->cap ? text->cap : 64;
    while (cap < text->len + n + 1)
      cap *= 2;
    char *grown = pl__secret_wiping_realloc(text->data, cap);
    if (!grown)
      return PL_ENOMEM;
    text->data = grown;
    text->cap = cap;
  }
  memcpy(text->data + text->len, s, n);
  text->len += n;
  text->data[text->len] = '\0';
  return 0;
}

static const char *text_of(sts_parse_t *parse, sts_node_t node) {
  sts_text_t *text = leaf_text(parse, node);
  return text->data && text->len ? text->data : NULL;
}

/* Parses a body: 0, PL_EPARSE (with the reason in *reason) or PL_ENOMEM.
 * expat's own buffers hold the secret key and session token while it
 * parses, so they come from the wiping allocator too. */
static int sts_parse_body(sts_parse_t *parse, const char *body, size_t len,
                          pl_buf_t *reason) {
  static const pl_aws_xml_alloc_t wiping = {
      .malloc_fn = pl__secret_wiping_malloc,
      .realloc_fn = pl__secret_wiping_realloc,
      .free_fn = pl__secret_wiping_free,
  };
  const pl_aws_xml_handlers_t handlers = {
      .start = on_start,
      .end = on_end,
      .text = on_text,
  };
  return pl__aws_xml_parse(body, body ? len : 0, &handlers, parse, &wiping,
                           reason);
}

static void sts_parse_clear(sts_parse_t *parse) {
  for (size_t i = 0; i < sizeof parse->text / sizeof parse->text[0]; i++)
    text_clear(&parse->text[i]);
}

/* A non-200 answer: "HTTP 400 InvalidIdentityToken: message". */
static int sts_error(const pl__creds_sts_answer_t *op,
                     const pl_http_response_t *response,
                     pl__creds_result_t *result) {
  sts_parse_t parse = {.action = op->action};
  int rc = sts_parse_body(&parse, response->body, response->body_len, NULL);
  if (rc == PL_ENOMEM) {
    sts_parse_clear(&parse);
    return rc;
  }
  bool parsed = rc == 0;
  const char *code = parsed ? text_of(&parse, STS_CODE) : NULL;
  const char *message = parsed ? text_of(&parse, STS_MESSAGE) : NULL;
  pl_buf_t detail = {0};
  rc = 0;
  if (code)
    rc = pl_buf_printf(&detail, " %.64s", code);
  if (rc == 0 && message)
    rc = pl_buf_printf(&detail, ": %s", message);
  if (rc == 0 && detail.data) {
    pl__secret_redact(detail.data, op->redact);
    pl__creds_clean_text(detail.data, 300);
  }
  if (rc == 0)
    rc = pl__creds_result_set(result, PL__CREDS_FAILED, "%s at %s: HTTP %d%s",
                              op->what, op->url, response->status,
                              detail.data ? detail.data : "");
  pl_buf_free(&detail);
  sts_parse_clear(&parse);
  return rc;
}

static int sts_success(const pl__creds_sts_answer_t *op,
                       const pl_http_response_t *response,
                       pl__creds_result_t *result) {
  sts_parse_t parse = {.action = op->action};
  pl_buf_t reason = {0};
  int64_t expires_at = 0;
  int rc = sts_parse_body(&parse, response->body, response->body_len, &reason);
  if (rc < 0) {
    /* A parse error becomes the reason; PL_ENOMEM is returned as it is. */
    if (rc == PL_EPARSE)
      rc = pl__creds_result_set(
          result, PL__CREDS_FAILED, "%s at %s: response is not valid XML (%s)",
          op->what, op->url, reason.data ? reason.data : "malformed XML");
  } else if (parse.too_long) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s at %s: a field of the response is too long",
                              op->what, op->url);
  } else if (!text_of(&parse, STS_ACCESS_KEY_ID) ||
             !text_of(&parse, STS_SECRET_ACCESS_KEY) ||
             !text_of(&parse, STS_SESSION_TOKEN) ||
             !text_of(&parse, STS_EXPIRATION)) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s at %s: response has no complete "
                              "Credentials element",
                              op->what, op->url);
  } else if (pl__creds_parse_time(text_of(&parse, STS_EXPIRATION),
                                  &expires_at) < 0) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s at %s: Expiration is not an ISO 8601 time",
                              op->what, op->url);
  } else {
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey",
                                        "SessionToken"};
    pl_buf_t what = {0};
    rc = pl_buf_printf(&what, "%s at %s", op->what, op->url);
    if (rc == 0)
      rc = pl__creds_found(
          result, what.data, names, text_of(&parse, STS_ACCESS_KEY_ID),
          text_of(&parse, STS_SECRET_ACCESS_KEY),
          text_of(&parse, STS_SESSION_TOKEN), expires_at, op->source);
    pl_buf_free(&what);
  }
  pl_buf_free(&reason);
  sts_parse_clear(&parse);
  return rc;
}

int pl__creds_sts_answer(const pl__creds_sts_answer_t *answer,
                         const pl_http_response_t *response,
                         pl__creds_result_t *result) {
  return response->status == 200 ? sts_success(answer, response, result)
                                 : sts_error(answer, response, result);
}
