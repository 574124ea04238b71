/* Check suite for src/aws/s3_upload.c: the multipart queries, the
 * CompleteMultipartUpload body, and the parsers of the answers (S3's
 * shapes, an <Error> sent with status 200, malformed and hostile XML). */
#include <pipelined/s3_upload.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static char *query(const char *id, unsigned part, int expect_rc) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_s3_upload_query(id, part, &out), expect_rc);
  return out.data;
}

START_TEST(test_queries) {
  char *q = query(NULL, 0, 0);
  ck_assert_str_eq(q, "uploads=");
  free(q);
  q = query("abc", 0, 0);
  ck_assert_str_eq(q, "uploadId=abc");
  free(q);
  /* Ids hold '.', '-', '_' and, in moto's, '+', '/' and '=': encoded. */
  q = query("VXBsb2Fk+a/b=", 7, 0);
  ck_assert_str_eq(q, "partNumber=7&uploadId=VXBsb2Fk%2Ba%2Fb%3D");
  free(q);
  q = query("x", PL_S3_MAX_PARTS, 0);
  ck_assert_str_eq(q, "partNumber=10000&uploadId=x");
  free(q);
  ck_assert_ptr_null(query("x", PL_S3_MAX_PARTS + 1, PL_ERANGE));
  ck_assert_ptr_null(query(NULL, 1, PL_EINVAL));
  ck_assert_ptr_null(query("", 0, PL_EINVAL));
  ck_assert_int_eq(pl_s3_upload_query("x", 1, NULL), PL_EINVAL);
  /* Appends to what the buffer holds; a failure leaves it as it was. */
  pl_buf_t out = {0};
  pl_buf_append_str(&out, "?");
  ck_assert_int_eq(pl_s3_upload_query("i", 2, &out), 0);
  ck_assert_int_eq(pl_s3_upload_query("i", 10001, &out), PL_ERANGE);
  ck_assert_str_eq(out.data, "?partNumber=2&uploadId=i");
  pl_buf_free(&out);
}
END_TEST

START_TEST(test_complete_body) {
  const char *etags[] = {"\"a1\"", "\"b&<2>\""};
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_s3_complete_body(etags, 2, &out), 0);
  ck_assert_str_eq(out.data,
                   "<CompleteMultipartUpload>"
                   "<Part><PartNumber>1</PartNumber><ETag>\"a1\"</ETag></Part>"
                   "<Part><PartNumber>2</PartNumber>"
                   "<ETag>\"b&amp;&lt;2&gt;\"</ETag></Part>"
                   "</CompleteMultipartUpload>");
  size_t len = out.len;
  ck_assert_int_eq(pl_s3_complete_body(etags, 0, &out), PL_EINVAL);
  const char *holes[] = {"\"a\"", NULL};
  ck_assert_int_eq(pl_s3_complete_body(holes, 2, &out), PL_EINVAL);
  ck_assert_int_eq(pl_s3_complete_body(etags, PL_S3_MAX_PARTS + 1, &out),
                   PL_ERANGE);
  ck_assert_uint_eq(out.len, len);
  pl_buf_free(&out);
}
END_TEST

static void initiate_fails(const char *xml, const char *reason) {
  char *id = (char *)"garbage";
  pl_buf_t error = {0};
  ck_assert_int_eq(pl_s3_initiate_parse(xml, strlen(xml), &id, &error),
                   PL_EPARSE);
  ck_assert_ptr_null(id);
  ck_assert_str_eq(error.data, reason);
  pl_buf_free(&error);
}

START_TEST(test_initiate_parse) {
  const char *xml =
      XML_DECL "<InitiateMultipartUploadResult "
               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<Bucket>b</Bucket><Key>k/x.jsonl</Key>"
               "<UploadId>\n  VXBsb2FkIElE&amp;x  \n</UploadId>"
               "</InitiateMultipartUploadResult>";
  char *id = NULL;
  ck_assert_int_eq(pl_s3_initiate_parse(xml, strlen(xml), &id, NULL), 0);
  ck_assert_str_eq(id, "VXBsb2FkIElE&x");
  free(id);
  initiate_fails("<Error><Code>AccessDenied</Code></Error>",
                 "line 1, column 1: the document element is <Error>, not "
                 "<InitiateMultipartUploadResult>");
  initiate_fails("<InitiateMultipartUploadResult><Key>k</Key>"
                 "</InitiateMultipartUploadResult>",
                 "<InitiateMultipartUploadResult> has no <UploadId>");
  initiate_fails("<InitiateMultipartUploadResult><UploadId>a</UploadId>"
                 "<UploadId>b</UploadId></InitiateMultipartUploadResult>",
                 "line 1, column 54: more than one <UploadId>");
  initiate_fails("<InitiateMultipartUploadResult><UploadId><x/></UploadId>"
                 "</InitiateMultipartUploadResult>",
                 "line 1, column 42: <x> inside <UploadId>");
  initiate_fails("<InitiateMultipartUploadResult><UploadId>",
                 "line 1, column 42: no element found");
  initiate_fails("<!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
                 "line 1, column 13: DOCTYPE is not allowed");
  pl_buf_t big = {0};
  pl_buf_append_str(&big, "<InitiateMultipartUploadResult><UploadId>");
  for (int i = 0; i < 1025; i++)
    pl_buf_append(&big, "a", 1);
  pl_buf_append_str(&big, "</UploadId></InitiateMultipartUploadResult>");
  initiate_fails(big.data, "<UploadId> is longer than 1024 bytes");
  pl_buf_free(&big);
  ck_assert_int_eq(pl_s3_initiate_parse("<x/>", 4, NULL, NULL), PL_EINVAL);
}
END_TEST

START_TEST(test_complete_parse) {
  const char *ok =
      XML_DECL "<CompleteMultipartUploadResult "
               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<Location>http://b.s3.amazonaws.com/k</Location>"
               "<Bucket>b</Bucket><Key>k</Key><ETag>\"x-2\"</ETag>"
               "</CompleteMultipartUploadResult>";
  ck_assert_int_eq(pl_s3_complete_parse(ok, strlen(ok), NULL), 0);
  /* moto's name for it. */
  const char *moto = "<CompleteMultipartUploadResponse><Key>k</Key>"
                     "</CompleteMultipartUploadResponse>";
  ck_assert_int_eq(pl_s3_complete_parse(moto, strlen(moto), NULL), 0);
  /* The failure S3 sends with status 200. */
  const char *error = XML_DECL "<Error><Code>InternalError</Code>"
                               "<Message>We encountered an internal "
                               "error.</Message></Error>";
  pl_buf_t reason = {0};
  ck_assert_int_eq(pl_s3_complete_parse(error, strlen(error), &reason),
                   PL_EPARSE);
  ck_assert_str_eq(reason.data, "line 2, column 1: the document element is "
                                "<Error>");
  pl_buf_free(&reason);
  ck_assert_int_eq(pl_s3_complete_parse("", 0, NULL), PL_EPARSE);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3_upload");
  TCase *tc = tcase_create("upload");
  tcase_add_test(tc, test_queries);
  tcase_add_test(tc, test_complete_body);
  tcase_add_test(tc, test_initiate_parse);
  tcase_add_test(tc, test_complete_parse);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
