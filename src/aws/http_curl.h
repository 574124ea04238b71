/* What the curl transport's core (http_curl.c) gives its loop side
 * (http_curl_socket.c). Internal to the transport; its public face is the
 * "curl transport" part of http.h. */
#ifndef PL_AWS_HTTP_CURL_H
#define PL_AWS_HTTP_CURL_H

#include "http_curl_call.h"

/* Applies what was asked while inside libcurl (cancels, pauses, a close),
 * reads finished transfers, starts waiting calls and re-arms the stall
 * watchdog. Does nothing while inside libcurl (`in_curl`) or closing:
 * the outermost return from libcurl calls it again. */
void pl__http_curl_settle(pl_http_curl_t *http);

/* Frees the transport once it is closing and its last handle is closed,
 * then calls the `closed` callback given to pl__http_curl_close(). */
void pl__http_curl_maybe_free(pl_http_curl_t *http);

#endif
