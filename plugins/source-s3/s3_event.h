/* S3 event notifications as they arrive in SQS message bodies: the parsing
 * of one body into the objects it announces. Pure (no I/O; HACKING.md#s12:
 * tested directly).
 *
 * Three shapes of body are read:
 *   - an event message ({"Records": [{"eventName": "ObjectCreated:Put",
 *     "eventTime": ..., "s3": {"bucket": {"name": ...}, "object": {"key":
 *     ..., "size": ..., "eTag": ...}}}, ...]}), as AWS documents it under "Event message
 *     structure";
 *   - the test message S3 sends when notifications are configured
 *     ({"Service": "Amazon S3", "Event": "s3:TestEvent", ...});
 *   - either of them wrapped by SNS ({"Type": "Notification", "Message":
 *     "<the body above as a JSON string>", ...}), which is unwrapped once.
 */
#ifndef PL_SOURCE_S3_EVENT_H
#define PL_SOURCE_S3_EVENT_H

#include <pipelined/common.h>

/* One ObjectCreated record. The strings are owned by the event. */
typedef struct s3_event_object {
  char *bucket; /* non-empty */
  /* Decoded ('+' and %XX, as S3 encodes keys in notifications): 1 to
   * PL_S3_KEY_MAX bytes, no NUL byte; UTF-8 when S3 sent it. */
  char *key;
  /* Without the surrounding quotes, or NULL when absent, null or empty. */
  char *etag;
  uint64_t size;    /* bytes; 0 when !has_size */
  bool has_size;    /* the record had a "size" */
  /* As sent: "ObjectCreated:Put", "ObjectCreated:Copy", or EventBridge's
   * "Object Created". */
  char *event_name;
  /* When the object was created, as sent ("2026-05-01T10:00:00.123Z"): the
   * record's eventTime, or in list mode the object's LastModified; NULL
   * when absent or not a string (the rows then carry no origin time). */
  char *time;
} s3_event_object_t;

/* What was wrong with a body s3_event_parse() refused (PL_EPARSE), for
 * the caller to decide what to do without reading the reason's text
 * (HACKING.md#s5). */
typedef enum {
  S3_EVENT_PARSED = 0,       /* no problem: the body was read */
  S3_EVENT_NOT_JSON,         /* the body (or the SNS Message) is not JSON */
  S3_EVENT_NOT_NOTIFICATION, /* JSON, but not shaped as an S3 event
                                notification (no "Records" array, not an
                                object): the reason says so */
  S3_EVENT_BAD_RECORD,       /* an S3 event with a malformed record */
  S3_EVENT_BAD_SNS,          /* an SNS envelope without a string Message */
} s3_event_problem_t;

/* One parsed body. Caller-embedded: filled by s3_event_parse(), released
 * with s3_event_close(). */
typedef struct s3_event {
  /* The ObjectCreated records, in the order of the body; NULL when count
   * is 0. */
  s3_event_object_t *objects;
  size_t count;
  /* Records of other event types (ObjectRemoved:*, ObjectRestore:*,
   * ObjectTagging:*, ...): well-formed in eventName, otherwise not read. */
  size_t skipped;
  bool test_event; /* the body is an s3:TestEvent (then count is 0) */
  /* PL_EPARSE: what was wrong (the other fields are then empty);
   * S3_EVENT_PARSED otherwise. */
  s3_event_problem_t problem;
} s3_event_t;

/* Parses `len` bytes of `body` (borrowed for the call; no NUL terminator
 * needed) into *out, which is overwritten, not closed first.
 *
 * Returns 0 with *out filled (the caller closes it; it may hold no object:
 * a test event, an empty "Records" or only skipped records), or an error
 * with *out empty (closing it is allowed): PL_EINVAL (`out` NULL, or
 * `body` NULL with len > 0), PL_ENOMEM, or PL_EPARSE with out->problem
 * set and one line appended to `why` (unless NULL) naming the problem:
 *   "not JSON: '[' or '{' expected near 'x' (line 1, column 1)"
 *   "not an S3 event notification: the body is an array, not an object"
 *   "not an S3 event notification: no \"Records\" array"
 *   "not an S3 event notification: \"Records\" is not an array"
 *   "record 2 is not an object"
 *   "record 2: s3.object.key is missing"
 *   "record 1: eventName is not a string"
 *   "record 1: the key has a malformed percent escape"
 *   "record 1: the key is longer than 1024 bytes"
 *   "record 3: s3.object.size is not a whole number"
 * and, for a body wrapped by SNS, the same reasons after "SNS Message: ",
 * or "SNS notification: \"Message\" is not a string".
 * One malformed ObjectCreated record refuses the whole body. No remote
 * text appears in a reason but the parser's quote of the JSON near an
 * error, capped at 64 bytes with non-printable and non-ASCII bytes
 * written as '?': the reason is safe to log as one line. */
int s3_event_parse(const char *body, size_t len, s3_event_t *out,
                   pl_buf_t *why);

/* Frees what an event owns and empties it. Safe on an empty event. */
void s3_event_close(s3_event_t *ev);

#endif
