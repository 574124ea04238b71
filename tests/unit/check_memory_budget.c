/* Check suite for src/memory_budget.c: what records are charged, when a
 * source must pause and when it may resume, and a record larger than the
 * whole budget. The engine's side (sources feeding a stalled sink) is in
 * check_engine.c. */
#include <check.h>
#include <stdlib.h>

#include "memory_budget.h"
#include "record.h"
#include "test_suite.h"

static const uint64_t overhead = sizeof(struct pl_record);

START_TEST(a_record_costs_its_size_its_structure_and_its_members) {
  struct pl_record record = {0};
  ck_assert_uint_eq(pl__memory_budget_cost(&record), overhead);
  record.size = 65536;
  ck_assert_uint_eq(pl__memory_budget_cost(&record), 65536 + overhead);
  /* A parsed row: its line, and each member. */
  record.size = 20;
  record.value = json_pack("{s:s, s:i, s:[i,i]}", "a", "x", "b", 1, "c", 2, 3);
  ck_assert_uint_eq(pl__memory_budget_cost(&record),
                    20 + overhead + 3 * PL_MEMORY_VALUE_ENTRY);
  json_decref(record.value);
  record.value = json_pack("[i,i]", 1, 2);
  ck_assert_uint_eq(pl__memory_budget_cost(&record),
                    20 + overhead + 2 * PL_MEMORY_VALUE_ENTRY);
  json_decref(record.value);
  /* A scalar is its size. */
  record.value = json_string("a long string");
  ck_assert_uint_eq(pl__memory_budget_cost(&record), 20 + overhead);
  json_decref(record.value);
}
END_TEST

START_TEST(what_its_source_keeps_and_its_metadata_count_too) {
  struct pl_record record = {.size = 20};
  /* An SQS message awaiting deletion. */
  record.source_cost = 2000;
  ck_assert_uint_eq(pl__memory_budget_cost(&record), 20 + 2000 + overhead);
  /* Metadata with two attributes, its own... */
  pl_record_meta_t meta = {.refs = 1, .attributes = json_pack("{s:s, s:i}",
                                                              "origin", "x",
                                                              "line", 7)};
  record.meta = &meta;
  uint64_t meta_cost = PL_MEMORY_META + 2 * PL_MEMORY_VALUE_ENTRY;
  ck_assert_uint_eq(pl__memory_budget_cost(&record),
                    20 + 2000 + overhead + meta_cost);
  /* ...or shared by the four rows of a chunk. */
  meta.refs = 4;
  ck_assert_uint_eq(pl__memory_budget_cost(&record),
                    20 + 2000 + overhead + meta_cost / 4);
  json_decref(meta.attributes);
}
END_TEST

START_TEST(charges_move_and_release_without_counting_twice) {
  pl_memory_budget_t b;
  pl__memory_budget_init(&b, 0);
  uint64_t r1 = 0, r2 = 0;
  pl__memory_budget_charge(&b, &r1, 100);
  pl__memory_budget_charge(&b, &r2, 50);
  ck_assert_uint_eq(b.held, 150);
  ck_assert_uint_eq(r1, 100);
  /* The same record entering a second queue with the same size: no
   * change; with another size: the difference. */
  pl__memory_budget_charge(&b, &r1, 100);
  ck_assert_uint_eq(b.held, 150);
  pl__memory_budget_charge(&b, &r1, 130);
  ck_assert_uint_eq(b.held, 180);
  pl__memory_budget_charge(&b, &r1, 20);
  ck_assert_uint_eq(b.held, 70);
  ck_assert_uint_eq(b.peak, 180);
  /* Freed: released once, whatever happens to the record after. */
  pl__memory_budget_charge(&b, &r1, 0);
  pl__memory_budget_charge(&b, &r1, 0);
  ck_assert_uint_eq(r1, 0);
  ck_assert_uint_eq(b.held, 50);
  pl__memory_budget_charge(&b, &r2, 0);
  ck_assert_uint_eq(b.held, 0);
  ck_assert_uint_eq(b.peak, 180);
}
END_TEST

START_TEST(without_a_limit_there_is_always_room) {
  pl_memory_budget_t b;
  pl__memory_budget_init(&b, 0);
  uint64_t r = 0;
  pl__memory_budget_charge(&b, &r, UINT64_MAX / 2);
  ck_assert(pl__memory_budget_has_room(&b));
  ck_assert(pl__memory_budget_may_resume(&b));
  ck_assert_uint_eq(pl__memory_budget_low_water(&b), 0);
}
END_TEST

START_TEST(the_low_water_mark_is_ninety_percent_without_overflow) {
  pl_memory_budget_t b;
  pl__memory_budget_init(&b, 1000);
  ck_assert_uint_eq(pl__memory_budget_low_water(&b), 900);
  pl__memory_budget_init(&b, 64 << 20);
  ck_assert_uint_eq(pl__memory_budget_low_water(&b),
                    (uint64_t)(64 << 20) * 9 / 10);
  pl__memory_budget_init(&b, 1234567);
  ck_assert_uint_eq(pl__memory_budget_low_water(&b), 1234567ull * 9 / 10);
  pl__memory_budget_init(&b, UINT64_MAX);
  ck_assert_uint_eq(pl__memory_budget_low_water(&b),
                    UINT64_MAX / 100 * 90 + UINT64_MAX % 100 * 90 / 100);
  ck_assert_uint_gt(pl__memory_budget_low_water(&b), UINT64_MAX / 10 * 8);
}
END_TEST

START_TEST(a_source_pauses_at_the_limit_and_resumes_at_the_low_water_mark) {
  pl_memory_budget_t b;
  pl__memory_budget_init(&b, 1000);
  uint64_t r[10] = {0};
  /* Nine records of 100 bytes: room is left. */
  for (int i = 0; i < 9; i++)
    ck_assert(!pl__memory_budget_charge(&b, &r[i], 100));
  ck_assert(pl__memory_budget_has_room(&b));
  ck_assert_uint_eq(b.held, 900);
  /* The tenth reaches the limit: the source pauses. */
  pl__memory_budget_charge(&b, &r[9], 100);
  ck_assert(!pl__memory_budget_has_room(&b));
  pl__memory_budget_note_pause(&b, true);
  ck_assert_uint_eq(b.pauses, 1);
  ck_assert(!pl__memory_budget_may_resume(&b));
  /* A second emit of the same paused source counts no new pause. */
  pl__memory_budget_note_pause(&b, false);
  ck_assert_uint_eq(b.pauses, 1);
  /* 950 is below the limit but above the low-water mark: still waiting,
   * and nobody is woken. */
  ck_assert(!pl__memory_budget_charge(&b, &r[9], 50));
  ck_assert(pl__memory_budget_has_room(&b));
  ck_assert(!pl__memory_budget_may_resume(&b));
  /* 900: at the mark, the one release that gets there wakes the sources. */
  ck_assert(pl__memory_budget_charge(&b, &r[9], 0));
  ck_assert_uint_eq(b.held, 900);
  ck_assert(pl__memory_budget_may_resume(&b));
  /* Later releases wake nobody: nothing waits any more. */
  ck_assert(!pl__memory_budget_charge(&b, &r[8], 0));
  ck_assert_uint_eq(b.held, 800);
}
END_TEST

START_TEST(a_record_larger_than_the_budget_is_taken_and_its_source_waits) {
  pl_memory_budget_t b;
  pl__memory_budget_init(&b, 1000);
  uint64_t small = 0, big = 0;
  pl__memory_budget_charge(&b, &small, 200);
  ck_assert(pl__memory_budget_has_room(&b));
  /* Taken while below the limit, though it is five times the limit. */
  pl__memory_budget_charge(&b, &big, 5000);
  ck_assert_uint_eq(b.held, 5200);
  ck_assert(!pl__memory_budget_has_room(&b));
  pl__memory_budget_note_pause(&b, true);
  /* The small one goes: still far above the limit. */
  ck_assert(!pl__memory_budget_charge(&b, &small, 0));
  ck_assert(!pl__memory_budget_may_resume(&b));
  /* The big one is delivered: the source resumes, nothing is stuck. */
  ck_assert(pl__memory_budget_charge(&b, &big, 0));
  ck_assert(pl__memory_budget_may_resume(&b));
  ck_assert(pl__memory_budget_has_room(&b));
  ck_assert_uint_eq(b.held, 0);
  ck_assert_uint_eq(b.peak, 5200);
}
END_TEST

int main(void) {
  Suite *s = suite_create("memory_budget");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, a_record_costs_its_size_its_structure_and_its_members);
  tcase_add_test(tc, what_its_source_keeps_and_its_metadata_count_too);
  tcase_add_test(tc, charges_move_and_release_without_counting_twice);
  tcase_add_test(tc, without_a_limit_there_is_always_room);
  tcase_add_test(tc, the_low_water_mark_is_ninety_percent_without_overflow);
  tcase_add_test(
      tc, a_source_pauses_at_the_limit_and_resumes_at_the_low_water_mark);
  tcase_add_test(tc,
                 a_record_larger_than_the_budget_is_taken_and_its_source_waits);
  suite_add_tcase(s, tc);
  return test_suite_run(s);
}
