/* S3 ListObjectsV2: the request's query and the response's parser (see
 * pipelined/s3.h). The response is read with the layer's expat wrapper (xml.h)
 * through a small grammar of the elements we use; text is collected only
 * inside those, each with a cap, so memory follows the body's size. */
#include <pipelined/s3.h>

#include "sigv4.h"
#include "xml.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LIST_TOKEN_MAX 4096
#define LIST_ETAG_MAX 1024
#define LIST_SMALL_MAX 64
/* Element names quoted in a reason are cut to this many bytes. */
#define LIST_NAME_SHOWN_MAX 64

/* ---- The query ---- */

/* Appends "&name=<encoded value>" (without the '&' for the first). */
static int add_param(pl_buf_t *out, size_t start, const char *name,
                     const char *value) {
  int rc = pl_buf_printf(out, "%s%s=", out->len > start ? "&" : "", name);
  if (rc == 0)
    rc = pl__aws_uri_encode(out, value, strlen(value), false);
  return rc;
}

int pl_s3_list_query(const char *prefix, const char *continuation_token,
                      int max_keys, pl_buf_t *out) {
  if (!out)
    return PL_EINVAL;
  if (max_keys < 0 || max_keys > PL_S3_LIST_MAX_KEYS ||
      (prefix && strlen(prefix) > PL_S3_KEY_MAX))
    return PL_ERANGE;
  size_t start = out->len;
  int rc = 0;
  /* In byte order of the names, which is how SigV4 sorts them. */
  if (continuation_token && *continuation_token)
    rc = add_param(out, start, "continuation-token", continuation_token);
  if (rc == 0)
    rc = add_param(out, start, "encoding-type", "url");
  if (rc == 0)
    rc = add_param(out, start, "list-type", "2");
  if (rc == 0 && max_keys > 0)
    rc = pl_buf_printf(out, "&max-keys=%d", max_keys);
  if (rc == 0 && prefix && *prefix)
    rc = add_param(out, start, "prefix", prefix);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

/* ---- The response ---- */

typedef enum list_node {
  NODE_OTHER, /* skipped, with everything inside */
  NODE_ROOT,
  NODE_CONTENTS,
  NODE_PREFIX, /* the leaves from here on collect text */
  NODE_NEXT_TOKEN,
  NODE_TRUNCATED,
  NODE_ENCODING,
  NODE_KEY,
  NODE_ETAG,
  NODE_SIZE,
  NODE_LAST_MODIFIED,
} list_node_t;

#define NODE_FIRST_LEAF NODE_PREFIX

static const struct {
  list_node_t parent;
  const char *name;
  list_node_t node;
  size_t max;       /* bytes of the (decoded) text */
  bool url_encoded; /* sent percent-encoded under EncodingType url */
} list_grammar[] = {
    {NODE_ROOT, "Contents", NODE_CONTENTS, 0, false},
    {NODE_ROOT, "Prefix", NODE_PREFIX, PL_S3_KEY_MAX, true},
    {NODE_ROOT, "NextContinuationToken", NODE_NEXT_TOKEN, LIST_TOKEN_MAX,
     false},
    {NODE_ROOT, "IsTruncated", NODE_TRUNCATED, LIST_SMALL_MAX, false},
    {NODE_ROOT, "EncodingType", NODE_ENCODING, LIST_SMALL_MAX, false},
    {NODE_CONTENTS, "Key", NODE_KEY, PL_S3_KEY_MAX, true},
    {NODE_CONTENTS, "ETag", NODE_ETAG, LIST_ETAG_MAX, false},
    {NODE_CONTENTS, "Size", NODE_SIZE, LIST_SMALL_MAX, false},
    {NODE_CONTENTS, "LastModified", NODE_LAST_MODIFIED, LIST_SMALL_MAX, false},
};

#define LIST_GRAMMAR_LEN (sizeof list_grammar / sizeof list_grammar[0])

/* The document element, <Contents> and a leaf: nothing deeper is read. */
#define LIST_DEPTH_MAX 3

typedef struct list_parse {
  pl_s3_list_page_t *page;
  size_t objects_cap;
  /* The open elements we read: stack[i] is at depth i + 1; `depth` counts
   * skipped ones too. */
  list_node_t stack[LIST_DEPTH_MAX];
  size_t depth;
  size_t rule;            /* list_grammar index of the open leaf */
  pl_buf_t text;          /* of the open leaf */
  unsigned root_seen;     /* 1 << node for the leaves read so far */
  unsigned contents_seen; /* the same in the open <Contents> */
  pl_s3_object_t object;  /* the open <Contents> */
  bool url_encoded;       /* <EncodingType>url</EncodingType> */
} list_parse_t;

static list_node_t top(const list_parse_t *st) {
  return st->depth >= 1 && st->depth <= LIST_DEPTH_MAX
             ? st->stack[st->depth - 1]
             : NODE_OTHER;
}

static bool is_leaf(list_node_t node) {
  return node >= NODE_FIRST_LEAF;
}

/* How much of an element name to quote: a bounded prefix that does not end
 * inside a UTF-8 sequence. */
static int shown_len(const char *name) {
  size_t len = strlen(name);
  if (len > LIST_NAME_SHOWN_MAX) {
    len = LIST_NAME_SHOWN_MAX;
    while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
      len--;
  }
  return (int)len;
}

static void object_clear(pl_s3_object_t *object) {
  free(object->key);
  free(object->etag);
  free(object->last_modified);
  *object = (pl_s3_object_t){0};
}

static int on_start(pl_aws_xml_t *xml, void *data, const char *name) {
  list_parse_t *st = data;
  if (st->depth == 0 && strcmp(name, "ListBucketResult") != 0)
    return pl__aws_xml_fail(
        xml, "the document element is <%.*s>, not <ListBucketResult>",
        shown_len(name), name);
  list_node_t parent = top(st);
  list_node_t node = NODE_OTHER;
  if (st->depth == 0) {
    node = NODE_ROOT;
  } else if (is_leaf(parent)) {
    /* Text elements have no children: this is not a listing we know. */
    return pl__aws_xml_fail(xml, "<%.*s> inside <%s>", shown_len(name), name,
                            list_grammar[st->rule].name);
  } else if (parent != NODE_OTHER) {
    for (size_t i = 0; i < LIST_GRAMMAR_LEN; i++) {
      if (list_grammar[i].parent == parent &&
          strcmp(list_grammar[i].name, name) == 0) {
        node = list_grammar[i].node;
        st->rule = i;
        break;
      }
    }
  }
  if (is_leaf(node)) {
    unsigned *seen =
        parent == NODE_CONTENTS ? &st->contents_seen : &st->root_seen;
    if (*seen & 1u << node)
      return pl__aws_xml_fail(xml, "more than one <%s> in <%s>", name,
                              parent == NODE_CONTENTS ? "Contents"
                                                      : "ListBucketResult");
    *seen |= 1u << node;
    pl_buf_reset(&st->text);
  } else if (node == NODE_CONTENTS) {
    st->contents_seen = 0;
  }
  if (st->depth < LIST_DEPTH_MAX)
    st->stack[st->depth] = node;
  st->depth++;
  return 0;
}

static int on_text(pl_aws_xml_t *xml, void *data, const char *text,
                   size_t len) {
  list_parse_t *st = data;
  if (!is_leaf(top(st)))
    return 0;
  size_t max = list_grammar[st->rule].max;
  /* A percent-encoded byte takes three. */
  size_t raw_max = list_grammar[st->rule].url_encoded ? 3 * max : max;
  if (len > raw_max - st->text.len)
    return pl__aws_xml_fail(xml, "<%s> is longer than %zu bytes",
                            list_grammar[st->rule].name, max);
  return pl_buf_append(&st->text, text, len);
}

/* The text without XML white space around it, for values that are not
 * keys (a key may begin or end with a space). */
static const char *trim(const pl_buf_t *buf, size_t *len) {
  const char *s = buf->len ? buf->data : "";
  size_t n = buf->len;
  while (n > 0 && strchr(" \t\r\n", s[n - 1]))
    n--;
  while (n > 0 && strchr(" \t\r\n", *s)) {
    s++;
    n--;
  }
  *len = n;
  return s;
}

/* Stores a new copy of `len` bytes of `text` in *dst. */
static int take(char **dst, const char *text, size_t len) {
  *dst = strndup(text, len);
  return *dst ? 0 : PL_ENOMEM;
}

static bool text_is(const char *text, size_t len, const char *word) {
  return len == strlen(word) && memcmp(text, word, len) == 0;
}

/* Decimal digits only, as S3 sends a size; no sign, no blanks inside. */
static bool parse_u64(const char *text, size_t len, uint64_t *out,
                      bool *overflow) {
  uint64_t value = 0;
  *overflow = false;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (text[i] < '0' || text[i] > '9')
      return false;
    unsigned digit = (unsigned)(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      *overflow = true;
      return false;
    }
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

static int add_object(list_parse_t *st) {
  pl_s3_list_page_t *page = st->page;
  if (page->count == st->objects_cap) {
    size_t cap = st->objects_cap ? st->objects_cap * 2 : 16;
    if (cap > SIZE_MAX / sizeof *page->objects)
      return PL_ENOMEM;
    pl_s3_object_t *grown = realloc(page->objects, cap * sizeof *grown);
    if (!grown)
      return PL_ENOMEM;
    page->objects = grown;
    st->objects_cap = cap;
  }
  page->objects[page->count++] = st->object;
  st->object = (pl_s3_object_t){0};
  return 0;
}

/* A leaf closes: its text becomes a field. */
static int end_leaf(pl_aws_xml_t *xml, list_parse_t *st, list_node_t node) {
  pl_s3_list_page_t *page = st->page;
  size_t len = 0;
  const char *text = trim(&st->text, &len);
  switch (node) {
  case NODE_PREFIX:
    return take(&page->prefix, st->text.len ? st->text.data : "", st->text.len);
  case NODE_KEY:
    return take(&st->object.key, st->text.len ? st->text.data : "",
                st->text.len);
  case NODE_NEXT_TOKEN:
    return take(&page->next_token, text, len);
  case NODE_LAST_MODIFIED:
    return take(&st->object.last_modified, text, len);
  case NODE_ETAG:
    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
      text++;
      len -= 2;
    }
    return take(&st->object.etag, text, len);
  case NODE_TRUNCATED:
    if (text_is(text, len, "true") || text_is(text, len, "false")) {
      page->truncated = text[0] == 't';
      return 0;
    }
    return pl__aws_xml_fail(xml, "<IsTruncated> is neither true nor false");
  case NODE_ENCODING:
    if (!text_is(text, len, "url"))
      return pl__aws_xml_fail(xml, "<EncodingType> is not url");
    st->url_encoded = true;
    return 0;
  case NODE_SIZE: {
    bool overflow = false;
    if (!parse_u64(text, len, &st->object.size, &overflow))
      return pl__aws_xml_fail(xml, overflow ? "<Size> is out of range"
                                            : "<Size> is not a number");
    return 0;
  }
  default:
    return 0;
  }
}

static int on_end(pl_aws_xml_t *xml, void *data, const char *name) {
  list_parse_t *st = data;
  list_node_t node = top(st);
  st->depth--;
  if (is_leaf(node))
    return end_leaf(xml, st, node);
  if (node != NODE_CONTENTS)
    return 0;
  if (!(st->contents_seen & 1u << NODE_KEY))
    return pl__aws_xml_fail(xml, "<Contents> without a <Key>");
  if (!(st->contents_seen & 1u << NODE_SIZE))
    return pl__aws_xml_fail(xml, "<Contents> without a <Size>");
  return add_object(st);
}

/* For the checks made once the whole document is read: no position. */
static int fail_plain(pl_buf_t *error, const char *fmt, ...) PL_PRINTF(2, 3);

static int fail_plain(pl_buf_t *error, const char *fmt, ...) {
  if (!error)
    return PL_EPARSE;
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(error, fmt, ap);
  va_end(ap);
  return rc < 0 ? rc : PL_EPARSE;
}

const char *pl_s3_key_decode(char *s) {
  char *w = s;
  for (const char *r = s; *r; r++) {
    if (*r == '+') {
      *w++ = ' ';
    } else if (*r == '%') {
      int hi = pl_hex_value(r[1]);
      int lo = hi < 0 ? -1 : pl_hex_value(r[2]);
      if (lo < 0)
        return "has a malformed percent escape";
      if (hi == 0 && lo == 0)
        return "has an encoded NUL byte";
      *w++ = (char)(hi << 4 | lo);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
  return NULL;
}

/* The checks that need the whole document: EncodingType may come after
 * the keys it applies to. */
static int finish(list_parse_t *st, pl_buf_t *error) {
  pl_s3_list_page_t *page = st->page;
  if (!(st->root_seen & 1u << NODE_TRUNCATED))
    return fail_plain(error, "<ListBucketResult> has no <IsTruncated>");
  if (page->truncated && (!page->next_token || !*page->next_token))
    return fail_plain(
        error, "<IsTruncated> is true but there is no <NextContinuationToken>");
  if (!page->truncated) {
    /* Only a truncated page has a next one. */
    free(page->next_token);
    page->next_token = NULL;
  }
  if (st->url_encoded && page->prefix) {
    const char *problem = pl_s3_key_decode(page->prefix);
    if (problem)
      return fail_plain(error, "<Prefix> %s", problem);
  }
  for (size_t i = 0; i < page->count; i++) {
    char *key = page->objects[i].key;
    const char *problem = st->url_encoded ? pl_s3_key_decode(key) : NULL;
    if (!problem && !*key)
      problem = "is empty";
    else if (!problem && strlen(key) > PL_S3_KEY_MAX)
      problem = "is longer than 1024 bytes";
    if (problem)
      return fail_plain(error, "<Contents> %zu: <Key> %s", i + 1, problem);
  }
  if (page->prefix && strlen(page->prefix) > PL_S3_KEY_MAX)
    return fail_plain(error, "<Prefix> is longer than 1024 bytes");
  return 0;
}

void pl_s3_list_page_close(pl_s3_list_page_t *page) {
  if (!page)
    return;
  for (size_t i = 0; i < page->count; i++)
    object_clear(&page->objects[i]);
  free(page->objects);
  free(page->next_token);
  free(page->prefix);
  *page = (pl_s3_list_page_t){0};
}

int pl_s3_list_parse(const char *xml, size_t len, pl_s3_list_page_t *out,
                      pl_buf_t *error) {
  if (!out)
    return PL_EINVAL;
  *out = (pl_s3_list_page_t){0};
  if (!xml && len > 0)
    return PL_EINVAL;
  const pl_aws_xml_handlers_t handlers = {
      .start = on_start,
      .end = on_end,
      .text = on_text,
  };
  list_parse_t st = {.page = out};
  int rc = pl__aws_xml_parse(xml, len, &handlers, &st, NULL, error);
  if (rc == 0)
    rc = finish(&st, error);
  object_clear(&st.object);
  pl_buf_free(&st.text);
  if (rc < 0)
    pl_s3_list_page_close(out);
  return rc;
}
