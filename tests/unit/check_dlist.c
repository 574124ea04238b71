/* Check suite for the AWS layer's intrusive doubly-linked list
 * (src/aws/dlist.h): order kept, removal from the head, the middle and the
 * tail in any order, an entry in two lists at once, and an emptied list
 * that takes entries again. */
#include <check.h>

#include "dlist.h"
#include "test_suite.h"

typedef struct item {
  int value;
  pl_dlist_node_t node;
  pl_dlist_node_t other;
} item_t;

/* The values of `list` in order, as digits ("" when empty). */
static const char *values(const pl_dlist_t *list, char *out) {
  size_t n = 0;
  for (pl_dlist_node_t *node = list->head; node; node = node->next)
    out[n++] = (char)('0' + pl_dlist_entry(node, item_t, node)->value);
  out[n] = '\0';
  return out;
}

/* The values backwards, from the tail: the prev links agree. */
static const char *backwards(const pl_dlist_t *list, char *out) {
  size_t n = 0;
  for (pl_dlist_node_t *node = list->tail; node; node = node->prev)
    out[n++] = (char)('0' + pl_dlist_entry(node, item_t, node)->value);
  out[n] = '\0';
  return out;
}

START_TEST(keeps_order_and_removes_anywhere) {
  item_t items[5];
  pl_dlist_t list = {0};
  char buf[8];
  ck_assert(pl__dlist_empty(&list));
  ck_assert_ptr_null(pl_dlist_first(&list, item_t, node));
  ck_assert_ptr_null(pl_dlist_last(&list, item_t, node));
  for (int i = 0; i < 5; i++) {
    items[i].value = i;
    pl__dlist_push(&list, &items[i].node);
  }
  ck_assert_str_eq(values(&list, buf), "01234");
  ck_assert_str_eq(backwards(&list, buf), "43210");
  ck_assert_ptr_eq(pl_dlist_first(&list, item_t, node), &items[0]);
  ck_assert_ptr_eq(pl_dlist_last(&list, item_t, node), &items[4]);
  pl__dlist_remove(&list, &items[2].node); /* the middle */
  ck_assert_str_eq(values(&list, buf), "0134");
  ck_assert_str_eq(backwards(&list, buf), "4310");
  pl__dlist_remove(&list, &items[0].node); /* the head */
  pl__dlist_remove(&list, &items[4].node); /* the tail */
  ck_assert_str_eq(values(&list, buf), "13");
  ck_assert_str_eq(backwards(&list, buf), "31");
  ck_assert_ptr_null(items[4].node.next);
  ck_assert_ptr_null(items[4].node.prev);
  pl__dlist_remove(&list, &items[1].node);
  pl__dlist_remove(&list, &items[3].node);
  ck_assert(pl__dlist_empty(&list));
  ck_assert_ptr_null(list.tail);
  /* Emptied, it takes entries again, removed ones included. */
  pl__dlist_push(&list, &items[4].node);
  pl__dlist_push(&list, &items[2].node);
  ck_assert_str_eq(values(&list, buf), "42");
  ck_assert_str_eq(backwards(&list, buf), "24");
}
END_TEST

START_TEST(an_entry_in_two_lists_at_once) {
  item_t a = {.value = 1}, b = {.value = 2};
  pl_dlist_t first = {0}, second = {0};
  pl__dlist_push(&first, &a.node);
  pl__dlist_push(&first, &b.node);
  pl__dlist_push(&second, &b.other);
  pl__dlist_push(&second, &a.other);
  pl__dlist_remove(&first, &a.node);
  ck_assert_ptr_eq(pl_dlist_first(&first, item_t, node), &b);
  ck_assert_ptr_eq(pl_dlist_first(&second, item_t, other), &b);
  ck_assert_ptr_eq(pl_dlist_last(&second, item_t, other), &a);
  pl__dlist_remove(&second, &b.other);
  ck_assert_ptr_eq(pl_dlist_first(&second, item_t, other), &a);
  ck_assert_ptr_eq(pl_dlist_first(&first, item_t, node), &b);
}
END_TEST

static Suite *dlist_suite(void) {
  Suite *s = suite_create("dlist");
  TCase *tc = tcase_create("dlist");
  tcase_add_test(tc, keeps_order_and_removes_anywhere);
  tcase_add_test(tc, an_entry_in_two_lists_at_once);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return test_suite_run(dlist_suite());
}
