/* S3 uploads: multipart queries, the completion body and the parsers of
 * the two XML answers (see pipelined/s3_upload.h). The answers are read
 * with the layer's expat wrapper (xml.h), which refuses a DOCTYPE. */
#include <pipelined/s3_upload.h>

#include "sigv4.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

#define UPLOAD_ID_MAX 1024
#define NAME_SHOWN_MAX 64

int pl_s3_upload_query(const char *upload_id, unsigned part, pl_buf_t *out) {
  if (!out || (part > 0 && !upload_id) || (upload_id && !*upload_id))
    return PL_EINVAL;
  if (part > PL_S3_MAX_PARTS)
    return PL_ERANGE;
  size_t start = out->len;
  int rc = 0;
  if (!upload_id)
    return pl_buf_append_str(out, "uploads=");
  if (part > 0)
    rc = pl_buf_printf(out, "partNumber=%u&", part);
  if (rc == 0)
    rc = pl_buf_append_str(out, "uploadId=");
  if (rc == 0)
    rc = pl__aws_uri_encode(out, upload_id, strlen(upload_id), false);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

/* Appends `text` with the XML specials escaped. */
static int append_escaped(pl_buf_t *out, const char *text) {
  int rc = 0;
  for (const char *p = text; rc == 0 && *p; p++) {
    switch (*p) {
    case '&':
      rc = pl_buf_append_str(out, "&amp;");
      break;
    case '<':
      rc = pl_buf_append_str(out, "&lt;");
      break;
    case '>':
      rc = pl_buf_append_str(out, "&gt;");
      break;
    default:
      rc = pl_buf_append(out, p, 1);
    }
  }
  return rc;
}

int pl_s3_complete_body(const char *const *etags, size_t count,
                        pl_buf_t *out) {
  if (!out || !etags || count == 0)
    return PL_EINVAL;
  if (count > PL_S3_MAX_PARTS)
    return PL_ERANGE;
  for (size_t i = 0; i < count; i++)
    if (!etags[i])
      return PL_EINVAL;
  size_t start = out->len;
  int rc = pl_buf_append_str(out, "<CompleteMultipartUpload>");
  for (size_t i = 0; rc == 0 && i < count; i++) {
    rc = pl_buf_printf(out, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
    if (rc == 0)
      rc = append_escaped(out, etags[i]);
    if (rc == 0)
      rc = pl_buf_append_str(out, "</ETag></Part>");
  }
  if (rc == 0)
    rc = pl_buf_append_str(out, "</CompleteMultipartUpload>");
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

/* ---- Answers ---- */

/* One answer: its document element must be `root` (NULL: anything but
 * <Error>); the text of its child `leaf` (when not NULL) is collected. */
typedef struct answer_parse {
  const char *root;
  const char *leaf;
  size_t depth;
  bool in_leaf;
  bool leaf_seen;
  pl_buf_t text;
} answer_parse_t;

static int shown_len(const char *name) {
  size_t len = strlen(name);
  if (len > NAME_SHOWN_MAX) {
    len = NAME_SHOWN_MAX;
    while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
      len--;
  }
  return (int)len;
}

static int on_start(pl_aws_xml_t *xml, void *data, const char *name) {
  answer_parse_t *st = data;
  if (st->depth == 0 && !st->root && strcmp(name, "Error") == 0)
    return pl__aws_xml_fail(xml, "the document element is <Error>");
  if (st->depth == 0 && st->root && strcmp(name, st->root) != 0)
    return pl__aws_xml_fail(xml, "the document element is <%.*s>, not <%s>",
                            shown_len(name), name, st->root);
  if (st->depth == 1 && st->leaf && strcmp(name, st->leaf) == 0) {
    if (st->leaf_seen)
      return pl__aws_xml_fail(xml, "more than one <%s>", st->leaf);
    st->leaf_seen = true;
    st->in_leaf = true;
  } else if (st->in_leaf) {
    return pl__aws_xml_fail(xml, "<%.*s> inside <%s>", shown_len(name), name,
                            st->leaf);
  }
  st->depth++;
  return 0;
}

static int on_end(pl_aws_xml_t *xml, void *data, const char *name) {
  answer_parse_t *st = data;
  st->depth--;
  if (st->depth == 1)
    st->in_leaf = false;
  return 0;
}

static int on_text(pl_aws_xml_t *xml, void *data, const char *text,
                   size_t len) {
  answer_parse_t *st = data;
  if (!st->in_leaf)
    return 0;
  if (len > UPLOAD_ID_MAX * 2 - st->text.len)
    return pl__aws_xml_fail(xml, "<%s> is longer than %d bytes", st->leaf,
                            UPLOAD_ID_MAX);
  return pl_buf_append(&st->text, text, len);
}

static int parse_answer(const char *xml, size_t len, answer_parse_t *st,
                        pl_buf_t *error) {
  if (!xml && len > 0)
    return PL_EINVAL;
  const pl_aws_xml_handlers_t handlers = {on_start, on_end, on_text};
  return pl__aws_xml_parse(xml, len, &handlers, st, NULL, error);
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int pl_s3_initiate_parse(const char *xml, size_t len, char **upload_id,
                         pl_buf_t *error) {
  if (!upload_id)
    return PL_EINVAL;
  *upload_id = NULL;
  answer_parse_t st = {.root = "InitiateMultipartUploadResult",
                       .leaf = "UploadId"};
  int rc = parse_answer(xml, len, &st, error);
  const char *text = st.text.data ? st.text.data : "";
  size_t n = st.text.len;
  while (n > 0 && is_space(*text)) {
    text++;
    n--;
  }
  while (n > 0 && is_space(text[n - 1]))
    n--;
  if (rc == 0 && n == 0) {
    rc = PL_EPARSE;
    if (error)
      pl_buf_printf(error, "<%s> has no <%s>", st.root, st.leaf);
  } else if (rc == 0 && n > UPLOAD_ID_MAX) {
    rc = PL_EPARSE;
    if (error)
      pl_buf_printf(error, "<%s> is longer than %d bytes", st.leaf,
                    UPLOAD_ID_MAX);
  }
  if (rc == 0) {
    *upload_id = strndup(text, n);
    if (!*upload_id)
      rc = PL_ENOMEM;
  }
  pl_buf_free(&st.text);
  return rc;
}

int pl_s3_complete_parse(const char *xml, size_t len, pl_buf_t *error) {
  /* S3 answers <CompleteMultipartUploadResult>; moto
   * <CompleteMultipartUploadResponse>. */
  answer_parse_t st = {.root = NULL};
  int rc = parse_answer(xml, len, &st, error);
  pl_buf_free(&st.text);
  return rc;
}
