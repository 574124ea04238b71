/* What SQS accepts in a message, checked before a record is sent so that
 * a row SQS would refuse is rejected alone, naming why, instead of
 * failing its batch: text (bodies and attribute values), attribute names,
 * and the ids of FIFO messages. Pure functions, no state. */
#ifndef PL_SINK_SQS_TEXT_H
#define PL_SINK_SQS_TEXT_H

#include <pipelined/common.h>
#include <stdbool.h>
#include <stddef.h>

#define SQS_MAX_ID_LEN 128         /* MessageGroupId, MessageDeduplicationId */
#define SQS_MAX_ATTRIBUTE_NAME 256 /* bytes of an attribute name */

/* True when `text` holds only what SQS accepts in a message: valid UTF-8
 * without U+FFFE, U+FFFF and control characters other than tab, newline
 * and carriage return. */
bool sqs_text_allowed(const char *text, size_t len);

/* True when `name` may name a message attribute: 1 to 256 characters out
 * of A-Z a-z 0-9 _ - ., not starting with "AWS." or "Amazon." (in any
 * case), not starting or ending with '.', without "..". */
bool sqs_attribute_name_valid(const char *name);

/* True when `text` may be a MessageGroupId or MessageDeduplicationId: 1 to
 * 128 characters out of printable ASCII without the space. */
bool sqs_id_valid(const char *text, size_t len);

#endif
