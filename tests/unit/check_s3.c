/* Check suite for src/aws/s3.c: ListObjectsV2 responses shaped like
 * the ones in the S3 API reference (namespace, KeyCount, StorageClass,
 * continuation tokens), the awkward keys (entities, unicode, spaces,
 * encoding-type=url), the exact reason of every refusal (malformed XML,
 * another document, DOCTYPE, bad fields, caps), and the request's query
 * with awkward prefixes and tokens. */
#include <pipelined/s3.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_suite.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_ROOT                                                                \
  "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

/* A body's page, which must parse. */
static pl_s3_list_page_t parse_ok(const char *xml) {
  pl_s3_list_page_t page;
  pl_buf_t error = {0};
  int rc = pl_s3_list_parse(xml, strlen(xml), &page, &error);
  ck_assert_msg(rc == 0, "rc %d: %s", rc, error.data ? error.data : "");
  ck_assert_uint_eq(error.len, 0);
  pl_buf_free(&error);
  return page;
}

/* Checks that a body is refused with exactly `reason`, appended after
 * what the buffer held, and that the page is left empty. */
static void parse_fails(const char *xml, size_t len, const char *reason) {
  pl_s3_list_page_t page = {.count = 7}; /* garbage that must be reset */
  pl_buf_t error = {0};
  ck_assert_int_eq(pl_buf_append_str(&error, "s3 list: "), 0);
  ck_assert_int_eq(pl_s3_list_parse(xml, len, &page, &error), PL_EPARSE);
  ck_assert_str_eq(error.data + strlen("s3 list: "), reason);
  ck_assert_mem_eq(error.data, "s3 list: ", strlen("s3 list: "));
  ck_assert_ptr_null(page.objects);
  ck_assert_uint_eq(page.count, 0);
  ck_assert(!page.truncated);
  ck_assert_ptr_null(page.next_token);
  ck_assert_ptr_null(page.prefix);
  pl_s3_list_page_close(&page);
  pl_buf_free(&error);
}

#define ck_parse_fails(xml, reason) parse_fails((xml), strlen(xml), (reason))

/* A body of one object with `key` as the <Key> text. */
static char *one_key(const char *encoding, const char *key) {
  pl_buf_t buf = {0};
  ck_assert_int_eq(pl_buf_printf(&buf,
                                 XML_DECL S3_ROOT
                                 "<Name>amzn-s3-demo-bucket</Name>"
                                 "<Prefix></Prefix><KeyCount>1</KeyCount>"
                                 "<MaxKeys>1000</MaxKeys>%s"
                                 "<IsTruncated>false</IsTruncated>"
                                 "<Contents><Key>%s</Key>"
                                 "<Size>1</Size></Contents>"
                                 "</ListBucketResult>",
                                 encoding, key),
                   0);
  return buf.data;
}

/* The single key of a body built by one_key(), as a new string. */
static char *parsed_key(const char *encoding, const char *key_text) {
  char *xml = one_key(encoding, key_text);
  pl_s3_list_page_t page = parse_ok(xml);
  ck_assert_uint_eq(page.count, 1);
  char *key = strdup(page.objects[0].key);
  pl_s3_list_page_close(&page);
  free(xml);
  return key;
}

#define ck_key(encoding, text, expected)                                       \
  do {                                                                         \
    char *key_ = parsed_key((encoding), (text));                               \
    ck_assert_str_eq(key_, (expected));                                        \
    free(key_);                                                                \
  } while (0)

#define URL "<EncodingType>url</EncodingType>"

/* ---- Responses as S3 sends them ---- */

START_TEST(test_reference_shape) {
  /* The shape of the API reference's first example: bucket metadata,
   * then <Contents> with ETag quotes, StorageClass and a checksum. */
  const char *xml = XML_DECL S3_ROOT
      "\n"
      "  <Name>amzn-s3-demo-bucket</Name>\n"
      "  <Prefix/>\n"
      "  <KeyCount>3</KeyCount>\n"
      "  <MaxKeys>1000</MaxKeys>\n"
      "  <IsTruncated>false</IsTruncated>\n"
      "  <Contents>\n"
      "    <Key>ExampleObject.txt</Key>\n"
      "    <LastModified>2013-09-17T18:07:53.000Z</LastModified>\n"
      "    <ETag>\"599bab3ed2c697f1d26842727561fd94\"</ETag>\n"
      "    <ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>\n"
      "    <ChecksumType>FULL_OBJECT</ChecksumType>\n"
      "    <Size>857</Size>\n"
      "    <StorageClass>REDUCED_REDUNDANCY</StorageClass>\n"
      "  </Contents>\n"
      "  <Contents>\n"
      "    <Key>my-image.jpg</Key>\n"
      "    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
      "    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
      "    <Size>434234</Size>\n"
      "    <Owner>\n"
      "      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54b"
      "a06a</ID>\n"
      "      <DisplayName>mtd@amazon.com</DisplayName>\n"
      "    </Owner>\n"
      "    <StorageClass>STANDARD</StorageClass>\n"
      "  </Contents>\n"
      "  <Contents>\n"
      "    <Key>logs/2024/01/part-00000.csv.gz</Key>\n"
      "    <LastModified>2024-01-02T03:04:05.000Z</LastModified>\n"
      "    <ETag>\"d41d8cd98f00b204e9800998ecf8427e-12\"</ETag>\n"
      "    <Size>0</Size>\n"
      "    <StorageClass>GLACIER</StorageClass>\n"
      "    <RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress>"
      "</RestoreStatus>\n"
      "  </Contents>\n"
      "</ListBucketResult>\n";
  pl_s3_list_page_t page = parse_ok(xml);
  ck_assert_uint_eq(page.count, 3);
  ck_assert(!page.truncated);
  ck_assert_ptr_null(page.next_token);
  ck_assert_str_eq(page.prefix, "");
  const pl_s3_object_t *o = page.objects;
  ck_assert_str_eq(o[0].key, "ExampleObject.txt");
  ck_assert_str_eq(o[0].etag, "599bab3ed2c697f1d26842727561fd94");
  ck_assert_uint_eq(o[0].size, 857);
  ck_assert_str_eq(o[0].last_modified, "2013-09-17T18:07:53.000Z");
  ck_assert_str_eq(o[1].key, "my-image.jpg");
  ck_assert_str_eq(o[1].etag, "fba9dede5f27731c9771645a39863328");
  ck_assert_uint_eq(o[1].size, 434234);
  ck_assert_str_eq(o[1].last_modified, "2009-10-12T17:50:30.000Z");
  ck_assert_str_eq(o[2].key, "logs/2024/01/part-00000.csv.gz");
  ck_assert_str_eq(o[2].etag, "d41d8cd98f00b204e9800998ecf8427e-12");
  ck_assert_uint_eq(o[2].size, 0);
  pl_s3_list_page_close(&page);
  /* Closing twice is harmless: the page is empty. */
  pl_s3_list_page_close(&page);
  ck_assert_ptr_null(page.objects);
  pl_s3_list_page_close(NULL);
}
END_TEST

START_TEST(test_truncated_with_token) {
  /* The API reference's second example: max-keys=3 with a token. */
  const char *xml = XML_DECL S3_ROOT
      "\n"
      "  <Name>amzn-s3-demo-bucket</Name>\n"
      "  <Prefix>photos/</Prefix>\n"
      "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
      "</NextContinuationToken>\n"
      "  <KeyCount>2</KeyCount>\n"
      "  <MaxKeys>2</MaxKeys>\n"
      "  <IsTruncated>true</IsTruncated>\n"
      "  <ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
      "</ContinuationToken>\n"
      "  <StartAfter>photos/2005</StartAfter>\n"
      "  <Contents><Key>photos/2006/a.jpg</Key>"
      "<LastModified>2014-11-21T19:40:05.000Z</LastModified>"
      "<ETag>\"70ee1738b6b21e2c8a43f3a5ab0eee71\"</ETag><Size>11</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>\n"
      "  <Contents><Key>photos/2006/b.jpg</Key>"
      "<LastModified>2014-11-21T19:40:06.000Z</LastModified>"
      "<ETag>\"9c8af9a76df052144598c115ef33e511\"</ETag><Size>22</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>\n"
      "</ListBucketResult>";
  pl_s3_list_page_t page = parse_ok(xml);
  ck_assert(page.truncated);
  ck_assert_str_eq(page.next_token,
                   "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ck_assert_str_eq(page.prefix, "photos/");
  ck_assert_uint_eq(page.count, 2);
  ck_assert_str_eq(page.objects[1].key, "photos/2006/b.jpg");
  ck_assert_uint_eq(page.objects[1].size, 22);
  /* The next request carries the token, encoded. */
  pl_buf_t query = {0};
  ck_assert_int_eq(pl_s3_list_query(page.prefix, page.next_token, 2, &query),
                   0);
  ck_assert_str_eq(query.data,
                   "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2F"
                   "wm36Hy4vbOwM%3D&encoding-type=url&list-type=2&"
                   "max-keys=2&prefix=photos%2F");
  pl_buf_free(&query);
  pl_s3_list_page_close(&page);

  /* The last page: a stray token on an untruncated page is dropped, so
   * next_token is set exactly when there is a next page. */
  page = parse_ok(S3_ROOT "<IsTruncated>false</IsTruncated>"
                          "<NextContinuationToken>x</NextContinuationToken>"
                          "</ListBucketResult>");
  ck_assert(!page.truncated);
  ck_assert_ptr_null(page.next_token);
  ck_assert_ptr_null(page.prefix); /* no <Prefix> at all */
  pl_s3_list_page_close(&page);
}
END_TEST

START_TEST(test_empty_results) {
  pl_s3_list_page_t page = parse_ok(
      XML_DECL S3_ROOT "<Name>amzn-s3-demo-bucket</Name><Prefix>none/</Prefix>"
                       "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
                       "<IsTruncated>false</IsTruncated></ListBucketResult>");
  ck_assert_uint_eq(page.count, 0);
  ck_assert_ptr_null(page.objects);
  ck_assert(!page.truncated);
  ck_assert_str_eq(page.prefix, "none/");
  pl_s3_list_page_close(&page);

  /* Only common prefixes (a delimiter listing): they are not objects, and
   * their <Prefix> is not the listing's. */
  page = parse_ok(S3_ROOT "<Name>b</Name><Prefix>logs/</Prefix>"
                          "<Delimiter>/</Delimiter><IsTruncated>false"
                          "</IsTruncated><CommonPrefixes><Prefix>logs/2023/"
                          "</Prefix></CommonPrefixes><CommonPrefixes>"
                          "<Prefix>logs/2024/</Prefix></CommonPrefixes>"
                          "<KeyCount>2</KeyCount></ListBucketResult>");
  ck_assert_uint_eq(page.count, 0);
  ck_assert_str_eq(page.prefix, "logs/");
  pl_s3_list_page_close(&page);

  /* The smallest document S3 could send. */
  page = parse_ok("<ListBucketResult><IsTruncated>false</IsTruncated>"
                  "</ListBucketResult>");
  ck_assert_uint_eq(page.count, 0);
  pl_s3_list_page_close(&page);
}
END_TEST

START_TEST(test_entities_and_unicode) {
  ck_key("", "a&amp;b", "a&b");
  ck_key("", "&lt;tag&gt; &quot;q&quot; &apos;s&apos;", "<tag> \"q\" 's'");
  ck_key("", "caf&#xE9;/&#233;t&#xe9;", "caf\xc3\xa9/\xc3\xa9t\xc3\xa9");
  ck_key("", "smile &#x1F600;.txt", "smile \xf0\x9f\x98\x80.txt");
  ck_key("", "<![CDATA[a<b>&c]]>", "a<b>&c");
  /* Raw UTF-8, and the spaces S3 allows anywhere in a key. */
  ck_key("",
         "donn\xc3\xa9"
         "es/\xe6\x97\xa5\xe6\x9c\xac.csv",
         "donn\xc3\xa9"
         "es/\xe6\x97\xa5\xe6\x9c\xac.csv");
  ck_key("", "  two  spaces  ", "  two  spaces  ");
  ck_key("", "tab&#9;and&#xA;newline", "tab\tand\nnewline");
  /* Without EncodingType, '+' and '%' are themselves. */
  ck_key("", "a+b%20c%", "a+b%20c%");
  /* A namespace prefix instead of the default namespace. */
  pl_s3_list_page_t page =
      parse_ok("<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/"
               "2006-03-01/\"><s3:IsTruncated>false</s3:IsTruncated>"
               "<s3:Contents><s3:Key>k</s3:Key><s3:Size>3</s3:Size>"
               "</s3:Contents></s3:ListBucketResult>");
  ck_assert_uint_eq(page.count, 1);
  ck_assert_str_eq(page.objects[0].key, "k");
  ck_assert_ptr_null(page.objects[0].etag);
  ck_assert_ptr_null(page.objects[0].last_modified);
  pl_s3_list_page_close(&page);
  /* A declared Latin-1 body comes out as UTF-8. */
  page = parse_ok("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                  "<ListBucketResult><IsTruncated>false</IsTruncated>"
                  "<Contents><Key>caf\xe9</Key><Size>1</Size></Contents>"
                  "</ListBucketResult>");
  ck_assert_str_eq(page.objects[0].key, "caf\xc3\xa9");
  pl_s3_list_page_close(&page);
}
END_TEST

START_TEST(test_url_encoding_type) {
  ck_key(URL, "a+b", "a b");
  ck_key(URL, "a%2Bb", "a+b");
  ck_key(URL, "logs%2F2024/x%3Dy%26z", "logs/2024/x=y&z");
  ck_key(URL, "%E2%82%AC%e2%82%ac", "\xe2\x82\xac\xe2\x82\xac");
  /* What encoding-type=url is for: characters XML 1.0 cannot carry. */
  ck_key(URL, "ctl%01%1Fdel%7F",
         "ctl\x01\x1f"
         "del\x7f");
  ck_key(URL, "%20lead+and+trail%20", " lead and trail ");

  /* EncodingType may come after the keys, and the prefix is decoded too;
   * common prefixes stay ignored. */
  pl_s3_list_page_t page = parse_ok(
      XML_DECL S3_ROOT "<Name>b</Name><Prefix>my+docs%2F</Prefix>"
                       "<IsTruncated>true</IsTruncated>"
                       "<NextContinuationToken>t%2B+</NextContinuationToken>"
                       "<Contents><Key>my+docs%2Fa%2Bb.txt</Key>"
                       "<Size>5</Size></Contents>"
                       "<CommonPrefixes><Prefix>my+docs%2Fsub%2F</Prefix>"
                       "</CommonPrefixes>"
                       "<EncodingType>url</EncodingType></ListBucketResult>");
  ck_assert_str_eq(page.prefix, "my docs/");
  ck_assert_str_eq(page.objects[0].key, "my docs/a+b.txt");
  /* The token is opaque: never decoded. */
  ck_assert_str_eq(page.next_token, "t%2B+");
  pl_s3_list_page_close(&page);

  char *xml = one_key(URL, "bad%zz");
  ck_parse_fails(xml, "<Contents> 1: <Key> has a malformed percent escape");
  free(xml);
  xml = one_key(URL, "cut%4");
  ck_parse_fails(xml, "<Contents> 1: <Key> has a malformed percent escape");
  free(xml);
  xml = one_key(URL, "nul%00byte");
  ck_parse_fails(xml, "<Contents> 1: <Key> has an encoded NUL byte");
  free(xml);
  ck_parse_fails("<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "<Prefix>%G0</Prefix>" URL "</ListBucketResult>",
                 "<Prefix> has a malformed percent escape");
  ck_parse_fails("<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "<EncodingType>base64</EncodingType></ListBucketResult>",
                 "line 1, column 71: <EncodingType> is not url");
}
END_TEST

START_TEST(test_huge_sizes) {
  const struct {
    const char *text;
    uint64_t size;
  } cases[] = {
      {"5497558138880", UINT64_C(5497558138880)}, /* 5 TiB, S3's maximum */
      {"4294967296", UINT64_C(4294967296)},       /* past 32 bits */
      {"18446744073709551615", UINT64_MAX},       {" 42\n", 42},
      {"0000000000000000000000007", 7},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_buf_t xml = {0};
    ck_assert_int_eq(pl_buf_printf(&xml,
                                   "<ListBucketResult><IsTruncated>false"
                                   "</IsTruncated><Contents><Key>big</Key>"
                                   "<Size>%s</Size></Contents>"
                                   "</ListBucketResult>",
                                   cases[i].text),
                     0);
    pl_s3_list_page_t page = parse_ok(xml.data);
    ck_assert_uint_eq(page.objects[0].size, cases[i].size);
    pl_s3_list_page_close(&page);
    pl_buf_free(&xml);
  }
}
END_TEST

/* ---- Refusals ---- */

START_TEST(test_malformed_xml) {
  ck_parse_fails("", "line 1, column 1: no element found");
  ck_parse_fails("not xml at all", "line 1, column 1: syntax error");
  ck_parse_fails("<ListBucketResult><IsTruncated>false</IsTruncated>",
                 "line 1, column 51: no element found");
  ck_parse_fails("<ListBucketResult><Name>b</ListBucketResult>",
                 "line 1, column 28: mismatched tag");
  ck_parse_fails("<ListBucketResult>\n<IsTruncated>false</IsTruncated>\n"
                 "<Contents><Key>a & b</Key></Contents></ListBucketResult>",
                 "line 3, column 19: not well-formed (invalid token)");
  ck_parse_fails("<ListBucketResult><Key>&nbsp;</Key></ListBucketResult>",
                 "line 1, column 24: undefined entity");
  ck_parse_fails("<ListBucketResult><Key>&#0;</Key></ListBucketResult>",
                 "line 1, column 24: reference to invalid character number");
  ck_parse_fails("<ListBucketResult></ListBucketResult><Extra/>",
                 "line 1, column 38: junk after document element");
  ck_parse_fails("<x:ListBucketResult/>", "line 1, column 1: unbound prefix");
  /* The length is what counts, not a NUL terminator. */
  const char *body = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                     "</ListBucketResult>";
  parse_fails(body, strlen(body) - 1, "line 1, column 51: unclosed token");
  pl_s3_list_page_t page;
  ck_assert_int_eq(pl_s3_list_parse(body, strlen(body), &page, NULL), 0);
  pl_s3_list_page_close(&page);
  /* Bad arguments. */
  ck_assert_int_eq(pl_s3_list_parse(NULL, 1, &page, NULL), PL_EINVAL);
  ck_assert_int_eq(pl_s3_list_parse(body, strlen(body), NULL, NULL),
                   PL_EINVAL);
  /* Without an error buffer the code is the same. */
  ck_assert_int_eq(pl_s3_list_parse("<a>", 3, &page, NULL), PL_EPARSE);
  ck_assert_int_eq(pl_s3_list_parse(NULL, 0, &page, NULL), PL_EPARSE);
}
END_TEST

START_TEST(test_not_a_listing) {
  /* An S3 error document that came with a 200, and other documents. */
  ck_parse_fails(XML_DECL "<Error><Code>AccessDenied</Code><Message>Access "
                          "Denied</Message></Error>",
                 "line 2, column 1: the document element is <Error>, not "
                 "<ListBucketResult>");
  ck_parse_fails("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/"
                 "2006-03-01/\"/>",
                 "line 1, column 1: the document element is "
                 "<ListAllMyBucketsResult>, not <ListBucketResult>");
  /* A long name is cut in the reason. */
  char name[200];
  memset(name, 'N', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  char xml[512];
  snprintf(xml, sizeof xml, "<%s/>", name);
  ck_parse_fails(xml, "line 1, column 1: the document element is "
                      "<NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN"
                      "NNNNNNNNNN>, not <ListBucketResult>");
}
END_TEST

START_TEST(test_bad_fields) {
#define DOC(inner) "<ListBucketResult>" inner "</ListBucketResult>"
#define NOT_TRUNCATED "<IsTruncated>false</IsTruncated>"
  ck_parse_fails(DOC(""), "<ListBucketResult> has no <IsTruncated>");
  ck_parse_fails(DOC("<Contents><Key>k</Key><Size>1</Size></Contents>"),
                 "<ListBucketResult> has no <IsTruncated>");
  ck_parse_fails(DOC("<IsTruncated>yes</IsTruncated>"),
                 "line 1, column 35: <IsTruncated> is neither true nor false");
  ck_parse_fails(DOC("<IsTruncated>True</IsTruncated>"),
                 "line 1, column 36: <IsTruncated> is neither true nor false");
  ck_parse_fails(DOC("<IsTruncated>true</IsTruncated>"),
                 "<IsTruncated> is true but there is no "
                 "<NextContinuationToken>");
  ck_parse_fails(DOC("<IsTruncated>true</IsTruncated>"
                     "<NextContinuationToken> </NextContinuationToken>"),
                 "<IsTruncated> is true but there is no "
                 "<NextContinuationToken>");
  ck_parse_fails(DOC(NOT_TRUNCATED "<IsTruncated>false</IsTruncated>"),
                 "line 1, column 51: more than one <IsTruncated> in "
                 "<ListBucketResult>");
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Size>1</Size></Contents>"),
                 "line 1, column 75: <Contents> without a <Key>");
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key>k</Key></Contents>"),
                 "line 1, column 73: <Contents> without a <Size>");
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key></Key><Size>1</Size>"
                                   "</Contents>"),
                 "<Contents> 1: <Key> is empty");
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key>a</Key><Key>b</Key>"
                                   "<Size>1</Size></Contents>"),
                 "line 1, column 73: more than one <Key> in <Contents>");
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key>a<b/></Key><Size>1</Size>"
                                   "</Contents>"),
                 "line 1, column 67: <b> inside <Key>");
  const char *sizes[] = {"", "12a", "-1", "+1", "1 2", "0x10", "1e3", "1.0"};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char xml[256];
    snprintf(xml, sizeof xml,
             DOC(NOT_TRUNCATED "<Contents><Key>k</Key><Size>%s</Size>"
                               "</Contents>"),
             sizes[i]);
    char reason[128];
    snprintf(reason, sizeof reason,
             "line 1, column %zu: <Size> is not a number",
             strlen(DOC(NOT_TRUNCATED "<Contents><Key>k</Key><Size>")) -
                 strlen("</ListBucketResult>") + strlen(sizes[i]) + 1);
    ck_parse_fails(xml, reason);
  }
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key>k</Key>"
                                   "<Size>18446744073709551616</Size>"
                                   "</Contents>"),
                 "line 1, column 99: <Size> is out of range");
  /* The second object is the bad one: the first is freed too. */
  ck_parse_fails(DOC(NOT_TRUNCATED "<Contents><Key>a</Key><Size>1</Size>"
                                   "<ETag>\"e\"</ETag></Contents>"
                                   "<Contents><Key>b</Key><Size>x</Size>"
                                   "</Contents>"),
                 "line 1, column 143: <Size> is not a number");
#undef DOC
#undef NOT_TRUNCATED
}
END_TEST

START_TEST(test_doctype_refused) {
  /* Internal entities ("billion laughs"), an external entity (XXE), and a
   * bare DOCTYPE: all refused before any entity is declared. */
  ck_parse_fails(XML_DECL "<!DOCTYPE ListBucketResult [\n"
                          "  <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaa\">\n"
                          "  <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
                          "  <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
                          "]>\n" S3_ROOT
                          "<IsTruncated>false</IsTruncated><Contents>"
                          "<Key>&c;</Key><Size>1</Size></Contents>"
                          "</ListBucketResult>",
                 "line 2, column 28: DOCTYPE is not allowed");
  ck_parse_fails("<?xml version=\"1.0\"?>\n"
                 "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                 "<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "<Contents><Key>&xxe;</Key><Size>1</Size></Contents>"
                 "</ListBucketResult>",
                 "line 2, column 13: DOCTYPE is not allowed");
  ck_parse_fails("<!DOCTYPE ListBucketResult SYSTEM "
                 "\"http://169.254.169.254/latest/meta-data/\">"
                 "<ListBucketResult><IsTruncated>false</IsTruncated>"
                 "</ListBucketResult>",
                 "line 1, column 77: DOCTYPE is not allowed");
  /* Parameter entities and the external subset are never fetched either:
   * expat is not given a handler to load them, and the DOCTYPE stops all. */
  ck_parse_fails("<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://x/\"> %p;]>"
                 "<ListBucketResult/>",
                 "line 1, column 13: DOCTYPE is not allowed");
}
END_TEST

/* ---- Caps ---- */

/* `unit` `times` over, as a new string. */
static char *repeat(const char *unit, size_t times) {
  size_t len = strlen(unit);
  char *text = malloc(len * times + 1);
  ck_assert_ptr_nonnull(text);
  for (size_t i = 0; i < times; i++)
    memcpy(text + i * len, unit, len);
  text[len * times] = '\0';
  return text;
}

START_TEST(test_key_caps) {
  /* 1024 bytes is S3's limit, plain or percent-encoded. */
  char *max = repeat("k", PL_S3_KEY_MAX);
  char *key = parsed_key("", max);
  ck_assert_uint_eq(strlen(key), PL_S3_KEY_MAX);
  free(key);
  char *encoded = repeat("%41", PL_S3_KEY_MAX);
  key = parsed_key(URL, encoded);
  ck_assert_uint_eq(strlen(key), PL_S3_KEY_MAX);
  ck_assert(key[0] == 'A' && key[PL_S3_KEY_MAX - 1] == 'A');
  free(key);
  /* Multi-byte characters count in bytes: 512 two-byte characters. */
  char *utf8 = repeat("\xc3\xa9", PL_S3_KEY_MAX / 2);
  key = parsed_key("", utf8);
  ck_assert_uint_eq(strlen(key), PL_S3_KEY_MAX);
  free(key);
  free(utf8);

  /* One more byte, found at the end as only then is the encoding known. */
  char *over = repeat("k", PL_S3_KEY_MAX + 1);
  char *xml = one_key("", over);
  ck_parse_fails(xml, "<Contents> 1: <Key> is longer than 1024 bytes");
  free(xml);
  /* Text that cannot be a key however it is encoded (more than three
   * bytes a byte) stops the parse at once, at the text: memory stays
   * bounded whatever the body holds. */
  char *over_encoded = repeat("%41", PL_S3_KEY_MAX + 1);
  xml = one_key(URL, over_encoded);
  ck_parse_fails(xml, "line 2, column 240: <Key> is longer than 1024 bytes");
  free(xml);
  char *huge = repeat("k", 1 << 20);
  xml = one_key("", huge);
  ck_parse_fails(xml, "line 2, column 208: <Key> is longer than 1024 bytes");
  free(xml);
  free(huge);
  free(max);
  free(encoded);
  free(over);
  free(over_encoded);

  /* The other texts have caps of their own. */
  char *token = repeat("t", 4097);
  pl_buf_t body = {0};
  ck_assert_int_eq(pl_buf_printf(&body,
                                 "<ListBucketResult><IsTruncated>true"
                                 "</IsTruncated><NextContinuationToken>%s"
                                 "</NextContinuationToken></ListBucketResult>",
                                 token),
                   0);
  ck_parse_fails(body.data, "line 1, column 73: <NextContinuationToken> is "
                            "longer than 4096 bytes");
  pl_buf_free(&body);
  token[4096] = '\0'; /* 4096 is fine */
  ck_assert_int_eq(pl_buf_printf(&body,
                                 "<ListBucketResult><IsTruncated>true"
                                 "</IsTruncated><NextContinuationToken>%s"
                                 "</NextContinuationToken></ListBucketResult>",
                                 token),
                   0);
  pl_s3_list_page_t page = parse_ok(body.data);
  ck_assert_uint_eq(strlen(page.next_token), 4096);
  pl_s3_list_page_close(&page);
  pl_buf_free(&body);
  free(token);
  char *digits = repeat("0", 65);
  ck_assert_int_eq(pl_buf_printf(&body,
                                 "<ListBucketResult><IsTruncated>false"
                                 "</IsTruncated><Contents><Key>k</Key>"
                                 "<Size>%s</Size></Contents>"
                                 "</ListBucketResult>",
                                 digits),
                   0);
  ck_parse_fails(body.data, "line 1, column 79: <Size> is longer than 64 "
                            "bytes");
  pl_buf_free(&body);
  free(digits);
}
END_TEST

START_TEST(test_thousands_of_keys) {
  enum { KEYS = 5000 };
  pl_buf_t xml = {0};
  ck_assert_int_eq(pl_buf_append_str(&xml, XML_DECL S3_ROOT
                                     "<Name>b</Name><Prefix></Prefix>"
                                     "<IsTruncated>false</IsTruncated>"),
                   0);
  for (int i = 0; i < KEYS; i++)
    ck_assert_int_eq(
        pl_buf_printf(&xml,
                      "<Contents><Key>data/part-%05d.json</Key>"
                      "<LastModified>2024-05-01T00:00:00.000Z</LastModified>"
                      "<ETag>&quot;%032x&quot;</ETag><Size>%d</Size>"
                      "<StorageClass>STANDARD</StorageClass></Contents>",
                      i, (unsigned)i, i * 1000),
        0);
  ck_assert_int_eq(pl_buf_append_str(&xml, "</ListBucketResult>"), 0);
  pl_s3_list_page_t page = parse_ok(xml.data);
  ck_assert_uint_eq(page.count, KEYS);
  for (int i = 0; i < KEYS; i += 997) {
    char expected[64];
    snprintf(expected, sizeof expected, "data/part-%05d.json", i);
    ck_assert_str_eq(page.objects[i].key, expected);
    ck_assert_uint_eq(page.objects[i].size, (uint64_t)i * 1000);
    ck_assert_uint_eq(strlen(page.objects[i].etag), 32);
  }
  ck_assert_str_eq(page.objects[KEYS - 1].key, "data/part-04999.json");
  pl_s3_list_page_close(&page);
  pl_buf_free(&xml);
}
END_TEST

/* ---- The query ---- */

static char *query(const char *prefix, const char *token, int max_keys) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_s3_list_query(prefix, token, max_keys, &out), 0);
  return out.data;
}

#define ck_query(prefix, token, max_keys, expected)                            \
  do {                                                                         \
    char *q_ = query((prefix), (token), (max_keys));                           \
    ck_assert_str_eq(q_, (expected));                                          \
    free(q_);                                                                  \
  } while (0)

START_TEST(test_query_plain) {
  ck_query(NULL, NULL, 0, "encoding-type=url&list-type=2");
  ck_query("", "", 0, "encoding-type=url&list-type=2");
  ck_query(NULL, NULL, 1000, "encoding-type=url&list-type=2&max-keys=1000");
  ck_query("logs", NULL, 1,
           "encoding-type=url&list-type=2&max-keys=1&prefix=logs");
  ck_query(NULL, "tok", 0,
           "continuation-token=tok&encoding-type=url&list-type=2");
  ck_query("-._~AZaz09", "-._~", 7,
           "continuation-token=-._~&encoding-type=url&list-type=2&"
           "max-keys=7&prefix=-._~AZaz09");
}
END_TEST

START_TEST(test_query_awkward) {
  ck_query("my docs/2024 01/", NULL, 0,
           "encoding-type=url&list-type=2&prefix=my%20docs%2F2024%2001%2F");
  ck_query("a+b=c&d?e#f%g", NULL, 0,
           "encoding-type=url&list-type=2&prefix=a%2Bb%3Dc%26d%3Fe%23f%25g");
  ck_query("donn\xc3\xa9"
           "es/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80",
           NULL, 0,
           "encoding-type=url&list-type=2&prefix=donn%C3%A9es%2F%E6%97%A5"
           "%E6%9C%AC%2F%F0%9F%98%80");
  ck_query("ctl\x01\x7f", NULL, 0,
           "encoding-type=url&list-type=2&prefix=ctl%01%7F");
  /* Tokens are base64 with '+', '/' and '=' that must survive. */
  ck_query("p/", "1ueGcxLPRx1Tr/XYExHnhbYL+veDs2J/wm36Hy4vbOwM==", 250,
           "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYL%2BveDs2J%2F"
           "wm36Hy4vbOwM%3D%3D&encoding-type=url&list-type=2&max-keys=250&"
           "prefix=p%2F");
  ck_query(" ", "a b", 0,
           "continuation-token=a%20b&encoding-type=url&list-type=2&"
           "prefix=%20");

  /* Whatever the values, the names are sorted as SigV4 wants them. */
  char *q = query("zzz", "aaa", 5);
  const char *names[] = {"continuation-token=", "&encoding-type=",
                         "&list-type=", "&max-keys=", "&prefix="};
  const char *at = q;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *found = strstr(at, names[i]);
    ck_assert_msg(found, "%s after %s", names[i], at);
    at = found + 1;
  }
  free(q);
}
END_TEST

START_TEST(test_query_append_and_errors) {
  pl_buf_t out = {0};
  ck_assert_int_eq(pl_buf_append_str(&out, "/?"), 0);
  ck_assert_int_eq(pl_s3_list_query("a/", NULL, 2, &out), 0);
  ck_assert_str_eq(out.data,
                   "/?encoding-type=url&list-type=2&max-keys=2&prefix=a%2F");
  size_t len = out.len;
  ck_assert_int_eq(pl_s3_list_query(NULL, NULL, -1, &out), PL_ERANGE);
  ck_assert_int_eq(pl_s3_list_query(NULL, NULL, 1001, &out), PL_ERANGE);
  char *long_prefix = repeat("p", PL_S3_KEY_MAX + 1);
  ck_assert_int_eq(pl_s3_list_query(long_prefix, NULL, 0, &out), PL_ERANGE);
  long_prefix[PL_S3_KEY_MAX] = '\0';
  ck_assert_uint_eq(out.len, len); /* untouched by the failures */
  ck_assert_int_eq(pl_s3_list_query(long_prefix, NULL, 0, &out), 0);
  ck_assert_uint_eq(out.len, len +
                                 strlen("encoding-type=url&list-type=2&"
                                        "prefix=") +
                                 PL_S3_KEY_MAX);
  free(long_prefix);
  ck_assert_int_eq(pl_s3_list_query(NULL, NULL, 0, NULL), PL_EINVAL);
  pl_buf_free(&out);
}
END_TEST

static Suite *s3_list_suite(void) {
  Suite *s = suite_create("s3_list");
  TCase *parse = tcase_create("parse");
  tcase_add_test(parse, test_reference_shape);
  tcase_add_test(parse, test_truncated_with_token);
  tcase_add_test(parse, test_empty_results);
  tcase_add_test(parse, test_entities_and_unicode);
  tcase_add_test(parse, test_url_encoding_type);
  tcase_add_test(parse, test_huge_sizes);
  suite_add_tcase(s, parse);
  TCase *refuse = tcase_create("refuse");
  tcase_add_test(refuse, test_malformed_xml);
  tcase_add_test(refuse, test_not_a_listing);
  tcase_add_test(refuse, test_bad_fields);
  tcase_add_test(refuse, test_doctype_refused);
  suite_add_tcase(s, refuse);
  TCase *caps = tcase_create("caps");
  tcase_add_test(caps, test_key_caps);
  tcase_add_test(caps, test_thousands_of_keys);
  suite_add_tcase(s, caps);
  TCase *q = tcase_create("query");
  tcase_add_test(q, test_query_plain);
  tcase_add_test(q, test_query_awkward);
  tcase_add_test(q, test_query_append_and_errors);
  suite_add_tcase(s, q);
  return s;
}

int main(void) {
  return test_suite_run(s3_list_suite());
}
