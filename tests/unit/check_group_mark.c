/* Check suite for src/group_mark.c: the committed prefix of a group's byte
 * stream, through the public API (pl_record_set_mark(),
 * pl_record_set_held(), pl_group_on_progress()). */
#include <check.h>
#include <stdlib.h>

#include "test_stages.h"
#include "test_suite.h"

/* What the progress callback heard. */
typedef struct heard {
  size_t calls;
  uint64_t offset;
  uint64_t line;
} heard_t;

static void on_progress(void *data, pl_group_t *group, uint64_t offset,
                        uint64_t line) {
  (void)group;
  heard_t *h = data;
  h->calls++;
  h->offset = offset;
  h->line = line;
}

/* A chunk of the group's stream ending at `end`. */
static pl_record_t *chunk(pl_group_t *group, uint64_t end) {
  pl_record_t *rec = pl_record_create(group);
  ck_assert_ptr_nonnull(rec);
  ck_assert_int_eq(pl_record_set_mark(rec, end), 0);
  return rec;
}

/* A new group of the idle run's source whose progress goes to `h`. */
static pl_group_t *heard_group(test_run_t *run, heard_t *h) {
  pl_group_t *group =
      pl_group_create(test_stage(run, "p", PL_ROLE_SOURCE), NULL);
  ck_assert_ptr_nonnull(group);
  pl_group_on_progress(group, on_progress, h);
  return group;
}

START_TEST(the_prefix_grows_in_stream_order) {
  test_run_t *run = test_run_idle(NULL);
  heard_t h = {0};
  pl_group_t *group = heard_group(run, &h);
  pl_record_t *a = chunk(group, 100), *b = chunk(group, 200),
              *c = chunk(group, 300);
  ck_assert_int_eq(pl_record_set_mark(a, 50), PL_EINVAL); /* once */
  /* Rows of a, b and c; b's last row is held (30 bytes from line 9). */
  pl_record_t *a1 = pl_record_derive(a), *b1 = pl_record_derive(b),
              *c1 = pl_record_derive(c);
  pl_record_set_held(a, 0, 5);
  pl_record_set_held(b, 30, 9);
  pl_record_set_held(c, 0, 12);
  pl_record_done(a);
  pl_record_done(b);
  pl_record_done(c);
  /* b's and c's rows are resolved first: nothing moves past a. */
  pl_record_done(c1);
  pl_record_done(b1);
  ck_assert_uint_eq(h.calls, 0);
  pl_record_done(a1);
  ck_assert_uint_eq(h.calls, 1);
  ck_assert_uint_eq(h.offset, 300);
  ck_assert_uint_eq(h.line, 12);
  /* A record derived from a derived one counts for the same mark. */
  pl_record_t *d = chunk(group, 400), *e = chunk(group, 500);
  pl_record_t *d1 = pl_record_derive(d);
  pl_record_t *d2 = pl_record_derive(d1);
  pl_record_set_held(d, 30, 9);
  pl_record_done(d);
  pl_record_done(d1);
  ck_assert_uint_eq(h.calls, 1);
  pl_record_done(d2);
  ck_assert_uint_eq(h.calls, 2);
  ck_assert_uint_eq(h.offset, 370); /* 400 less the 30 bytes held */
  ck_assert_uint_eq(h.line, 9);
  pl_record_done(e);
  ck_assert_uint_eq(h.offset, 500);
  ck_assert_uint_eq(h.line, 0); /* no transform said */
  pl_group_seal(group, true);
  ck_assert_int_eq(test_run_stop(run), 0);
}
END_TEST

START_TEST(a_failed_record_stops_the_prefix) {
  test_run_t *run = test_run_idle(NULL);
  heard_t h = {0};
  pl_group_t *group = heard_group(run, &h);
  pl_record_t *a = chunk(group, 10), *b = chunk(group, 20);
  pl_record_t *b1 = pl_record_derive(b);
  pl_record_done(a);
  ck_assert_uint_eq(h.calls, 1);
  ck_assert_uint_eq(h.offset, 10);
  pl_record_t *c = chunk(group, 30);
  pl_record_done(b);
  pl_record_reject(b1, "no dead letter: the row is lost, not committed");
  pl_record_done(c);
  ck_assert_uint_eq(h.calls, 1); /* b failed: never past 10 */
  /* b and c stay in the group's FIFO; they are freed with the group. */
  /* An unmarked record counts for no mark. */
  pl_record_t *plain = pl_record_create(group);
  pl_record_done(plain);
  ck_assert_uint_eq(h.calls, 1);
  pl_group_seal(group, true);
  ck_assert_int_eq(test_run_stop(run), 0);
}
END_TEST

START_TEST(held_bytes_never_pass_the_start) {
  test_run_t *run = test_run_idle(NULL);
  heard_t h = {0};
  pl_group_t *group = heard_group(run, &h);
  pl_record_t *a = chunk(group, 10);
  pl_record_set_held(a, 99, 1); /* more than the stream had */
  pl_record_done(a);
  ck_assert_uint_eq(h.calls, 1);
  ck_assert_uint_eq(h.offset, 0);
  /* A replayed chunk says so; its line is the line of its first byte. */
  pl_record_t *r = pl_record_create(group);
  ck_assert(!pl_record_is_replay(r));
  pl_record_set_replay(r);
  ck_assert(pl_record_is_replay(r));
  pl_record_done(r);
  pl_group_seal(group, true);
  ck_assert_int_eq(test_run_stop(run), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("group_mark");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, the_prefix_grows_in_stream_order);
  tcase_add_test(tc, a_failed_record_stops_the_prefix);
  tcase_add_test(tc, held_bytes_never_pass_the_start);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
