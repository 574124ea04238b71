/* The unit tests' older names for the scripted loopback HTTP server, which
 * lives in libpipelined-testing (<pipelined/testing_http.h>) so that
 * plugins outside this tree test with it too. Aliases only: new code uses
 * the pl_test_http_* names. */
#ifndef PL_TEST_FAKE_HTTP_H
#define PL_TEST_FAKE_HTTP_H

#include <pipelined/testing_http.h>

typedef pl_test_http_t fake_http_t;
typedef pl_test_http_response_t fake_http_response_t;
typedef pl_test_http_request_t fake_http_request_t;

#define fake_http_start pl_test_http_start
#define fake_http_port pl_test_http_port
#define fake_http_url pl_test_http_url
#define fake_http_push pl_test_http_push
#define fake_http_request_count pl_test_http_request_count
#define fake_http_request pl_test_http_request
#define fake_http_request_header pl_test_http_request_header
#define fake_http_close pl_test_http_close

#endif
