/* An intrusive doubly-linked list, the one the AWS layer's call, socket
 * and connection lists share: a structure that goes in a list embeds a
 * pl_dlist_node_t (one per list it can be in at the same time), and
 * pl_dlist_entry() gives the structure back from its node. Adding and
 * removing take constant time and allocate nothing; the list owns nothing.
 * Header only: each operation is a few instructions, inlined where it
 * runs. */
#ifndef PL_AWS_DLIST_H
#define PL_AWS_DLIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pl_dlist_node {
  struct pl_dlist_node *prev;
  struct pl_dlist_node *next;
} pl_dlist_node_t;

/* Zero-initialized: empty. */
typedef struct pl_dlist {
  pl_dlist_node_t *head;
  pl_dlist_node_t *tail;
} pl_dlist_t;

/* The structure of `type` whose member `member` is the node `node`. */
#define pl_dlist_entry(node, type, member)                                      \
  ((type *)(void *)((char *)(node)-offsetof(type, member)))

/* The first entry of `list`, or NULL when it is empty. */
#define pl_dlist_first(list, type, member)                                      \
  ((list)->head ? pl_dlist_entry((list)->head, type, member) : (type *)NULL)

/* The last entry of `list`, or NULL when it is empty. */
#define pl_dlist_last(list, type, member)                                       \
  ((list)->tail ? pl_dlist_entry((list)->tail, type, member) : (type *)NULL)

/* Appends `node`, which is in no list. */
static inline void pl__dlist_push(pl_dlist_t *list, pl_dlist_node_t *node) {
  node->next = NULL;
  node->prev = list->tail;
  if (list->tail)
    list->tail->next = node;
  else
    list->head = node;
  list->tail = node;
}

/* Takes `node` out of `list`, which holds it. */
static inline void pl__dlist_remove(pl_dlist_t *list, pl_dlist_node_t *node) {
  if (node->prev)
    node->prev->next = node->next;
  else
    list->head = node->next;
  if (node->next)
    node->next->prev = node->prev;
  else
    list->tail = node->prev;
  node->prev = node->next = NULL;
}

static inline bool pl__dlist_empty(const pl_dlist_t *list) {
  return list->head == NULL;
}

#endif
