/* Internal layout of records and the intrusive queue that joins stages. */
#ifndef PL_CORE_RECORD_H
#define PL_CORE_RECORD_H

#include <pipelined/record.h>
#include <stdarg.h>

/* What a record shares with the records derived from it. A chunk of a file
 * gives a thousand rows with its origin: counting one plain reference here
 * costs less than one atomic jansson reference per string and row (an
 * atomic operation also waits for every earlier store). The count needs no
 * atomics because records never leave the loop thread. Shared metadata is
 * never changed: a record that changes its own takes a copy first. */
typedef struct pl_record_meta {
  size_t refs;        /* records holding it */
  json_t *origin;     /* JSON strings, or NULL */
  json_t *etag;
  json_t *origin_time;
  json_t *message_id;
  json_t *attributes; /* object; copied before a write when shared */
} pl_record_meta_t;

struct pl_record {
  pl_record_t *next; /* queue link */
  pl_group_t *group; /* the record holds one pending count on it */
  json_t *value;
  char *bytes;
  size_t len;
  pl_record_meta_t *meta; /* one reference, or NULL: no metadata */
  struct pl__mark *mark;  /* holds one count on it, or NULL: unmarked */
  uint64_t line;
  size_t size;
  size_t source_cost; /* pl_record_set_source_cost() */
  /* Bytes charged to the engine's memory budget (0: none, not queued
   * yet); released when the record is freed. */
  uint64_t charged;
  char *reason;
  /* The class of `reason` (a plugin's string constant), the `reason`
   * label of pipelined_rejected_total; NULL: "other". */
  const char *reason_class;
  pl_result_t result;
  bool last;
  bool cut;
  bool replay;
};

/* A FIFO of records linked through record->next. */
typedef struct pl_queue {
  pl_record_t *head;
  pl_record_t *tail;
  size_t count;
  size_t bytes;
} pl_queue_t;

void pl__queue_push(pl_queue_t *queue, pl_record_t *record);
pl_record_t *pl__queue_pop(pl_queue_t *queue);

typedef struct pl_engine pl_engine_t;
/* Frees the records the engine keeps for reuse. */
void pl__record_free_spares(pl_engine_t *engine);

/* Frees the record without resolving its group (the caller accounts). */
void pl__record_free(pl_record_t *record);
/* Frees the record and resolves it in its group: ok = delivered or
 * dead-lettered, otherwise failed. */
void pl__record_resolve(pl_record_t *record, bool ok);
/* Sets record->reason from a format (replacing any earlier reason). */
void pl__record_set_reason_v(pl_record_t *record, const char *fmt,
                             va_list ap) PL_PRINTF(2, 0);

/* Appends "origin:line" (or what is known of it) to `out`. */
void pl__record_location(const pl_record_t *record, pl_buf_t *out);

#endif
