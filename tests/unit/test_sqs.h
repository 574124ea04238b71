/* A scripted SQS on fake_http, for the unit tests of the plugins that read
 * a queue (source-sqs, and source-s3 for its notifications): receive
 * answers to queue, and the calls the server received. Every SQS call is
 * a POST to "/", so the calls are told apart by their X-Amz-Target. */
#ifndef PL_TEST_SQS_H
#define PL_TEST_SQS_H

#include <jansson.h>
#include <stddef.h>

#include "fake_http.h"

#define SQS_RECEIVE "AmazonSQS.ReceiveMessage"
#define SQS_DELETE "AmazonSQS.DeleteMessageBatch"
#define SQS_VISIBILITY "AmazonSQS.ChangeMessageVisibilityBatch"
#define SQS_ATTRIBUTES "AmazonSQS.GetQueueAttributes"

/* One message of a ReceiveMessage answer: a new reference. `attrs` (a
 * MessageAttributes object, stolen) may be NULL. */
json_t *test_sqs_message(const char *id, const char *handle, const char *body,
                         int receive_count, json_t *attrs);
/* Queues a ReceiveMessage answer with `messages` (a JSON array, stolen),
 * sent after `delay_ms`. */
void test_sqs_push_messages(fake_http_t *server, json_t *messages,
                            unsigned delay_ms);
/* Queues `n` answers that suit every call, each sent after `delay_ms`: "{}"
 * is an empty receive and a batch in which every entry worked, so it suits
 * any call whose order could vary. */
void test_sqs_push_empty(fake_http_t *server, size_t n, unsigned delay_ms);

/* The number of calls to `target` the server received. */
size_t test_sqs_count_calls(const fake_http_t *server, const char *target);
/* The body of the nth call to `target`, parsed: a new reference. Fails the
 * test when there is no such call. */
json_t *test_sqs_call_body(const fake_http_t *server, const char *target,
                           size_t nth);
/* The receipt handles of every entry of every call to `target`, in order,
 * as "handle" or "handle@visibility": a new string. Fails the test when a
 * call is not about `queue_url`. */
char *test_sqs_handles(const fake_http_t *server, const char *target,
                       const char *queue_url);
/* Fails the test unless test_sqs_handles gives `want`; the message has
 * both and `log` (the run's log). */
void test_sqs_assert_handles(const fake_http_t *server, const char *target,
                             const char *queue_url, const char *want,
                             const char *log);

#endif
