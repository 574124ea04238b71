/* Records outside a run (part of libpipelined-testing,
 * <pipelined/testing.h>): for unit tests of a plugin's own functions that
 * take records (an encoder, a key builder), records of one open group on
 * an idle engine of their own, with no plugin under test.
 *
 *   pl_test_records_t *set = NULL;
 *   pl_test_records_create(&set);
 *   pl_record_t *rec = pl_test_records_add(set, "{\"id\": 1}");
 *   pl_record_set_line(rec, 7);
 *   ... my_encode(rec) ...
 *   assert(pl_test_records_destroy(set) == 0);
 *
 * This is test code: an allocation failure aborts the process. */
#ifndef PIPELINED_TESTING_RECORDS_H
#define PIPELINED_TESTING_RECORDS_H

#include <pipelined/record.h>

typedef struct pl_test_records pl_test_records_t;

/* Returns 0 and a new set in *out, or a negative PL_E* code and NULL. */
PL_EXTERN int pl_test_records_create(pl_test_records_t **out);
/* A new record whose value is the JSON text `json` (NULL: no value, for a
 * test that sets bytes itself). Borrowed: the set keeps it until it is
 * destroyed; the test may set its metadata and attributes but not end it
 * (no pl_record_done, pl_record_reject or pl_emit). NULL when `json` is
 * not JSON. */
PL_EXTERN pl_record_t *pl_test_records_add(pl_test_records_t *set,
                                           const char *json);
/* Ends the records, the group and the engine and frees everything.
 * Returns 0, or PL_EIO when a uv handle is still open. NULL is allowed. */
PL_EXTERN int pl_test_records_destroy(pl_test_records_t *set);

#endif
