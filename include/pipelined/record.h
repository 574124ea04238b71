/* Records, acknowledgement groups and sink batches.
 *
 * A record is a JSON value (usually an object) or a chunk of raw bytes, plus
 * metadata: origin ("file:/path", "s3://bucket/key"), the origin's time,
 * etag, line number, message id and free-form attributes. Every record belongs to an ack group
 * created by its source; the group is resolved when its source has sealed it
 * and every record in it is delivered, dead-lettered or failed. */
#ifndef PIPELINED_RECORD_H
#define PIPELINED_RECORD_H

#include <jansson.h>
#include <pipelined/common.h>

/* ---- Ack groups (sources) ---- */

/* Creates a group owned by source instance `inst`. `data` is the source's
 * own (e.g. a file path); it is handed back to the commit callback. The
 * group stays open until pl_group_seal(). */
PL_EXTERN pl_group_t *pl_group_create(pl_instance_t *inst, void *data);
PL_EXTERN void *pl_group_data(const pl_group_t *group);
/* The source adds no more records. With complete = false the group is
 * abandoned (e.g. shutdown in the middle of a file): it resolves as failed
 * once its records in flight are resolved, and is not committed. */
PL_EXTERN void pl_group_seal(pl_group_t *group, bool complete);

/* ---- Progress inside a byte stream (resuming a file or an object) ----
 *
 * A source that can read its input again from an offset marks each chunk
 * of its group's byte stream with pl_record_set_mark() and listens with
 * pl_group_on_progress(): it then hears, in order, how far the committed
 * prefix of the stream reached, and may keep that in a ledger
 * (<pipelined/ledger.h>) to resume there after a crash. */

/* The committed prefix of `group`'s stream grew: every record made from
 * its bytes before `offset` is resolved (delivered or dead-lettered) and
 * none failed, and the row that starts at `offset` starts at line `line`
 * (0: unknown, no transform said). Runs from inside whatever resolved the
 * last of those records, often a sink's callback: note the position and
 * return (save it later, off the loop). */
typedef void (*pl_group_progress_cb)(void *data, pl_group_t *group,
                                     uint64_t offset, uint64_t line);
/* Sets the progress callback of `group` (NULL for none) and its `data`. */
PL_EXTERN void pl_group_on_progress(pl_group_t *group, pl_group_progress_cb cb,
                                    void *data);

/* ---- Records ---- */

/* New record in `group`, with no value and no metadata. */
PL_EXTERN pl_record_t *pl_record_create(pl_group_t *group);
/* New record in the same group as `parent`, sharing its origin, origin
 * time, etag, message id and attributes (not its value, bytes or line). */
PL_EXTERN pl_record_t *pl_record_derive(const pl_record_t *parent);
/* Resolves a record that a transform consumed (its data lives on in the
 * records it emitted) or filtered out. */
PL_EXTERN void pl_record_done(pl_record_t *record);
/* Resolves a record as rejected: it goes to the pipeline's dead letter with
 * `reason`. Steals the record. Counted in pipelined_rejected_total with
 * reason="other". */
PL_EXTERN void pl_record_reject(pl_record_t *record, const char *fmt, ...)
    PL_PRINTF(2, 3);
/* The same, counted with reason=`reason_class`: a short name from a small
 * fixed set the plugin documents ("malformed", "type", "too_large"), never
 * text that varies with the data (the label must keep few values). It is
 * borrowed for the engine's life: pass a string constant. NULL: "other". */
PL_EXTERN void pl_record_reject_as(pl_record_t *record,
                                   const char *reason_class, const char *fmt,
                                   ...) PL_PRINTF(3, 4);

PL_EXTERN pl_group_t *pl_record_group(const pl_record_t *record);

/* The record's value: borrowed; NULL when the record holds bytes. */
PL_EXTERN json_t *pl_record_value(const pl_record_t *record);
/* Sets the value, stealing the reference. */
PL_EXTERN void pl_record_set_value_new(pl_record_t *record, json_t *value);

/* Raw bytes (a chunk of a file or an object); NULL when none. */
PL_EXTERN const char *pl_record_bytes(const pl_record_t *record, size_t *len);
/* Copies `len` bytes into the record. */
PL_EXTERN int pl_record_set_bytes(pl_record_t *record, const void *data,
                                  size_t len);
/* Steals a malloc()ed buffer. */
PL_EXTERN void pl_record_set_bytes_new(pl_record_t *record, char *data,
                                       size_t len);
/* The last chunk of its group's byte stream (possibly empty). */
PL_EXTERN bool pl_record_is_last(const pl_record_t *record);
PL_EXTERN void pl_record_set_last(pl_record_t *record, bool last);
/* The byte stream ends here cut short (its object changed or went away in
 * the middle, or the source stopped): a transform drops what it holds of
 * the stream, such as a partial row, instead of finishing it. Sets last. */
PL_EXTERN bool pl_record_is_cut(const pl_record_t *record);
PL_EXTERN void pl_record_set_cut(pl_record_t *record);

/* Source: `chunk` ends at byte `end` of its group's stream. The chunk and
 * every record derived from it count towards that mark; marks are taken
 * in stream order. Returns 0, PL_EINVAL (marked already) or PL_ENOMEM. */
PL_EXTERN int pl_record_set_mark(pl_record_t *chunk, uint64_t end);
/* Transform: having parsed `chunk`, it holds the last `held` bytes of the
 * stream up to the chunk's end unfinished (a partial row, completed by a
 * later chunk and derived from that one), and that row, or the next one
 * when none is held, starts at line `line`. Call before resolving the
 * chunk; nothing happens for an unmarked chunk. */
PL_EXTERN void pl_record_set_held(pl_record_t *chunk, uint64_t held,
                                  uint64_t line);
/* A chunk of bytes given again only for context: the header line of a
 * stream resumed in the middle. A transform reads from it what it needs
 * (the column names) and emits no record from it. A chunk's line
 * (pl_record_set_line) is the line of its first byte, set on the first
 * chunk after such a jump. */
PL_EXTERN bool pl_record_is_replay(const pl_record_t *record);
PL_EXTERN void pl_record_set_replay(pl_record_t *record);

/* Approximate encoded size, used for batch_bytes; set by whoever knows it. */
PL_EXTERN size_t pl_record_size(const pl_record_t *record);
PL_EXTERN void pl_record_set_size(pl_record_t *record, size_t size);
/* Memory the record's source keeps for it until the record is resolved,
 * besides the record itself: an SQS message awaiting deletion (its
 * receipt handle, attributes and body). Counted against the daemon's
 * memory_limit with the record (docs/config.md, "The memory budget");
 * never used for batching. 0 unless set. */
PL_EXTERN void pl_record_set_source_cost(pl_record_t *record, size_t bytes);

/* Metadata. Strings are borrowed and live as long as the record. */
PL_EXTERN const char *pl_record_origin(const pl_record_t *record);
PL_EXTERN const char *pl_record_etag(const pl_record_t *record);
PL_EXTERN const char *pl_record_message_id(const pl_record_t *record);
/* When the origin was created, as ISO 8601 UTC text
 * ("2026-05-01T10:00:00.123Z"): the S3 event's eventTime, or the object's
 * LastModified when it was listed. Sinks use it to order updates of one
 * item that share every other key (see sink-dynamodb's newer_than). */
PL_EXTERN const char *pl_record_origin_time(const pl_record_t *record);
PL_EXTERN uint64_t pl_record_line(const pl_record_t *record); /* 0: none */
/* The setters copy the text (NULL clears it) and return 0, PL_EINVAL when
 * it is not UTF-8 (the record keeps what it had), or PL_ENOMEM. */
PL_EXTERN int pl_record_set_origin(pl_record_t *record, const char *origin);
PL_EXTERN int pl_record_set_etag(pl_record_t *record, const char *etag);
PL_EXTERN int pl_record_set_origin_time(pl_record_t *record,
                                        const char *time);
PL_EXTERN int pl_record_set_message_id(pl_record_t *record, const char *id);
PL_EXTERN void pl_record_set_line(pl_record_t *record, uint64_t line);
/* Free-form metadata (e.g. SQS receive count), usable as ${@name} in
 * templates: borrowed object, NULL when none. */
PL_EXTERN json_t *pl_record_attributes(const pl_record_t *record);
/* Sets one attribute, stealing `value`: 0, PL_EINVAL when `name` or
 * `value` is NULL or `name` is not UTF-8 (nothing is set), or PL_ENOMEM;
 * `value` is released on failure. */
PL_EXTERN int pl_record_set_attribute_new(pl_record_t *record,
                                          const char *name, json_t *value);
/* Makes the members of `attributes` (a JSON object, stolen; NULL: none)
 * the record's attributes, replacing any it had: one allocation fewer per
 * member than setting them one by one. PL_EINVAL when it is not an
 * object, PL_ENOMEM; `attributes` is released either way. */
PL_EXTERN int pl_record_set_attributes_new(pl_record_t *record,
                                           json_t *attributes);
/* The metadata a record carries as attributes through a queue (sink-sqs
 * sends it so): sets the record's origin, origin_time and etag from its
 * attributes of those names that are non-empty strings, sharing their
 * values, and its line from "line" when that is a positive whole number
 * or a string of digits. Metadata without such an attribute is left as it
 * is. PL_ENOMEM. */
PL_EXTERN int pl_record_set_meta_from_attributes(pl_record_t *record);
/* Whether `name` is one of those attributes. */
PL_EXTERN bool pl_record_is_meta_attribute(const char *name);
/* Why the record was rejected or failed, or NULL. */
PL_EXTERN const char *pl_record_reason(const pl_record_t *record);

/* ---- Batches (sinks) ---- */

typedef enum {
  PL_RESULT_PENDING,
  PL_RESULT_DELIVERED, /* durably written */
  PL_RESULT_REJECTED,  /* permanent: to the dead letter */
  PL_RESULT_FAILED,    /* retryable: the engine retries with backoff */
} pl_result_t;

PL_EXTERN size_t pl_batch_count(const pl_batch_t *batch);
/* The i-th record, borrowed until pl_batch_done(). */
PL_EXTERN pl_record_t *pl_batch_record(const pl_batch_t *batch, size_t i);
PL_EXTERN pl_result_t pl_batch_result(const pl_batch_t *batch, size_t i);
/* Resolves the i-th record; a later call for the same record replaces the
 * earlier one. */
PL_EXTERN void pl_batch_resolve(pl_batch_t *batch, size_t i,
                                pl_result_t result, const char *fmt, ...)
    PL_PRINTF(4, 5);
/* The same with the class of a rejection (see pl_record_reject_as()). */
PL_EXTERN void pl_batch_resolve_as(pl_batch_t *batch, size_t i,
                                   pl_result_t result,
                                   const char *reason_class, const char *fmt,
                                   ...) PL_PRINTF(5, 6);
/* The sink is finished with the batch: records it left pending get `rest`
 * (with `reason` when not delivered). Call exactly once. */
PL_EXTERN void pl_batch_done(pl_batch_t *batch, pl_result_t rest,
                             const char *reason);
/* The attempt number, 0 for the first write of these records. */
PL_EXTERN unsigned pl_batch_attempt(const pl_batch_t *batch);

#endif
