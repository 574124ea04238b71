/* Check suite for src/aws/xml.c: the callbacks, local names, DOCTYPE
 * refusal, and the allocator argument: every block the parser takes comes
 * from the allocator it is given and goes back to it, the text of the
 * document passes through those blocks (so a wiping allocator is what keeps
 * secrets out of freed memory), and a failing allocator gives PL_ENOMEM
 * without a leak. */
#include "xml.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "test_suite.h"

/* What the handlers saw, as "<name>", "</name>" and text, in order. */
typedef struct events {
  pl_buf_t log;
} events_t;

static int on_start(pl_aws_xml_t *xml, void *data, const char *name) {
  events_t *ev = data;
  return pl_buf_printf(&ev->log, "<%s>", name);
}

static int on_end(pl_aws_xml_t *xml, void *data, const char *name) {
  events_t *ev = data;
  return pl_buf_printf(&ev->log, "</%s>", name);
}

static int on_text(pl_aws_xml_t *xml, void *data, const char *text,
                   size_t len) {
  events_t *ev = data;
  return pl_buf_printf(&ev->log, "%.*s", (int)len, text);
}

static const pl_aws_xml_handlers_t handlers = {
    .start = on_start,
    .end = on_end,
    .text = on_text,
};

/* An STS-like answer with a recognisable secret in it. */
#define SECRET "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"
static const char doc[] =
    "<?xml version=\"1.0\"?>\n"
    "<R xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    "<a:Credentials xmlns:a=\"urn:x\"><SecretAccessKey>" SECRET
    "</SecretAccessKey></a:Credentials></R>";
static const char doc_events[] = "<R><Credentials><SecretAccessKey>" SECRET
                                 "</SecretAccessKey></Credentials></R>";

/* ---- A test allocator ----
 * expat's allocation functions take no context pointer, so what they
 * record lives in file statics, reset by alloc_reset() at the start of each
 * test. Each block is preceded by its size, as in secret.c. */
typedef union block_header {
  size_t size;
  max_align_t align;
} block_header_t;

static struct {
  size_t mallocs, reallocs, frees; /* calls */
  size_t live;                     /* blocks not yet freed */
  size_t fail_after;               /* 0: never; n: the nth request fails */
  size_t requests;
  size_t freed_with_secret; /* blocks that held SECRET when freed */
} rec;

static void alloc_reset(void) {
  memset(&rec, 0, sizeof rec);
}

static bool should_fail(void) {
  rec.requests++;
  return rec.fail_after && rec.requests >= rec.fail_after;
}

static void *test_malloc(size_t size) {
  rec.mallocs++;
  if (should_fail())
    return NULL;
  block_header_t *block = malloc(sizeof *block + size);
  if (!block)
    return NULL;
  block->size = size;
  rec.live++;
  return block + 1;
}

static bool holds_secret(const char *block, size_t size) {
  size_t n = sizeof SECRET - 1;
  for (size_t i = 0; i + n <= size; i++)
    if (memcmp(block + i, SECRET, n) == 0)
      return true;
  return false;
}

/* Records whether the block held the secret, then wipes it the way the
 * wiping allocator does, and frees it. */
static void test_free(void *ptr) {
  rec.frees++;
  if (!ptr)
    return;
  block_header_t *block = (block_header_t *)ptr - 1;
  if (holds_secret(ptr, block->size))
    rec.freed_with_secret++;
  pl__secret_wipe(ptr, block->size);
  rec.live--;
  free(block);
}

static void *test_realloc(void *ptr, size_t size) {
  rec.reallocs++;
  if (!ptr)
    return test_malloc(size);
  if (should_fail())
    return NULL;
  block_header_t *old = (block_header_t *)ptr - 1;
  block_header_t *block = malloc(sizeof *block + size);
  if (!block)
    return NULL;
  block->size = size;
  memcpy(block + 1, ptr, old->size < size ? old->size : size);
  rec.live++;
  test_free(ptr);
  rec.frees--; /* a move, not a call of free_fn */
  return block + 1;
}

static const pl_aws_xml_alloc_t test_alloc = {
    .malloc_fn = test_malloc,
    .realloc_fn = test_realloc,
    .free_fn = test_free,
};

static int parse(const char *body, const pl_aws_xml_alloc_t *alloc,
                 events_t *ev, pl_buf_t *reason) {
  return pl__aws_xml_parse(body, strlen(body), &handlers, ev, alloc, reason);
}

START_TEST(test_events_and_local_names) {
  alloc_reset();
  events_t ev = {0};
  ck_assert_int_eq(parse(doc, NULL, &ev, NULL), 0);
  ck_assert_str_eq(ev.log.data, doc_events);
  /* NULL: malloc, realloc and free, never the test allocator. */
  ck_assert_uint_eq(rec.mallocs + rec.reallocs + rec.frees, 0);
  pl_buf_free(&ev.log);
}
END_TEST

START_TEST(test_errors_have_position) {
  events_t ev = {0};
  pl_buf_t reason = {0};
  ck_assert_int_eq(parse("<a>\n<b></a>", NULL, &ev, &reason), PL_EPARSE);
  ck_assert_str_eq(reason.data, "line 2, column 6: mismatched tag");
  pl_buf_free(&reason);
  pl_buf_free(&ev.log);
  ck_assert_int_eq(
      parse("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", NULL, &ev, &reason),
      PL_EPARSE);
  ck_assert_ptr_nonnull(strstr(reason.data, "DOCTYPE is not allowed"));
  ck_assert_ptr_null(ev.log.data); /* nothing was reported */
  pl_buf_free(&reason);
}
END_TEST

START_TEST(test_allocator_is_used) {
  alloc_reset();
  events_t ev = {0};
  ck_assert_int_eq(parse(doc, &test_alloc, &ev, NULL), 0);
  ck_assert_str_eq(ev.log.data, doc_events);
  pl_buf_free(&ev.log);
  ck_assert_uint_gt(rec.mallocs, 0);
  ck_assert_uint_gt(rec.frees, 0);
  /* Every block it took went back to the same allocator. */
  ck_assert_uint_eq(rec.live, 0);
  /* And the document's text passed through those blocks: the secret was in
   * at least one of them when it was freed, so the allocator's free is what
   * decides whether it stays in freed memory. */
  ck_assert_uint_gt(rec.freed_with_secret, 0);
}
END_TEST

START_TEST(test_wiping_allocator) {
  /* The allocator the STS provider passes: the parse works through it
   * (blocks keep their size across realloc, and free takes them back). */
  const pl_aws_xml_alloc_t wiping = {
      .malloc_fn = pl__secret_wiping_malloc,
      .realloc_fn = pl__secret_wiping_realloc,
      .free_fn = pl__secret_wiping_free,
  };
  events_t ev = {0};
  ck_assert_int_eq(parse(doc, &wiping, &ev, NULL), 0);
  ck_assert_str_eq(ev.log.data, doc_events);
  pl_buf_free(&ev.log);
}
END_TEST

START_TEST(test_allocator_failure) {
  /* Fail the first request, then each later one in turn, until the parse
   * no longer needs that many: every run ends with PL_ENOMEM or success,
   * and nothing stays allocated. */
  size_t total = 0;
  alloc_reset();
  events_t ev = {0};
  ck_assert_int_eq(parse(doc, &test_alloc, &ev, NULL), 0);
  pl_buf_free(&ev.log);
  total = rec.requests;
  ck_assert_uint_gt(total, 0);
  for (size_t n = 1; n <= total; n++) {
    alloc_reset();
    rec.fail_after = n;
    events_t run = {0};
    int rc = parse(doc, &test_alloc, &run, NULL);
    ck_assert_msg(rc == PL_ENOMEM, "request %zu of %zu: %d", n, total, rc);
    ck_assert_uint_eq(rec.live, 0);
    pl_buf_free(&run.log);
  }
}
END_TEST

START_TEST(test_incomplete_allocator) {
  alloc_reset();
  const pl_aws_xml_alloc_t partial = {.malloc_fn = test_malloc,
                                      .free_fn = test_free};
  events_t ev = {0};
  ck_assert_int_eq(parse(doc, &partial, &ev, NULL), PL_EINVAL);
  ck_assert_uint_eq(rec.mallocs + rec.frees, 0);
}
END_TEST

static Suite *xml_suite(void) {
  Suite *s = suite_create("xml");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, test_events_and_local_names);
  tcase_add_test(tc, test_errors_have_position);
  suite_add_tcase(s, tc);
  TCase *alloc = tcase_create("alloc");
  tcase_add_test(alloc, test_allocator_is_used);
  tcase_add_test(alloc, test_wiping_allocator);
  tcase_add_test(alloc, test_allocator_failure);
  tcase_add_test(alloc, test_incomplete_allocator);
  suite_add_tcase(s, alloc);
  return s;
}

int main(void) {
  return test_suite_run(xml_suite());
}
