/* The loop side of the curl transport: libcurl's socket and timer
 * callbacks (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION) on libuv
 * handles. Internal to the transport. */
#ifndef PL_AWS_HTTP_CURL_SOCKET_H
#define PL_AWS_HTTP_CURL_SOCKET_H

#include "http_curl_call.h"

/* CURLMOPT_SOCKETFUNCTION, with the transport as its data: watches `fd`
 * with a uv_poll_t (created on first use, counted in handles_open; taken
 * up again when it is parked) for what libcurl asks, or parks it on
 * CURL_POLL_REMOVE. Returns -1 when the handle cannot be made or
 * started. */
int pl__http_curl_on_socket(CURL *easy, curl_socket_t fd, int what, void *data,
                            void *socket_data);

/* CURLOPT_CLOSESOCKETFUNCTION, with the transport as its data: closes the
 * handle of `fd`, parked or not, then the descriptor. Returns close()'s
 * result. */
int pl__http_curl_on_close_socket(void *data, curl_socket_t fd);

/* CURLOPT_SOCKOPTFUNCTION, with the transport as its data: a new socket
 * `fd`; closes any handle left with its number. Always CURL_SOCKOPT_OK. */
int pl__http_curl_on_sockopt(void *data, curl_socket_t fd,
                             curlsocktype purpose);

/* CURLMOPT_TIMERFUNCTION, with the transport as its data: starts (at
 * least 1 ms) or stops the transport's timer; a timeout of 0 also starts
 * the prepare handle that runs libcurl before the loop next polls. Always
 * 0. */
int pl__http_curl_on_timer(CURLM *multi, long timeout_ms, void *data);

/* Unlinks `sock` and closes its handle at once (libcurl may reuse the
 * descriptor's number as soon as we return); the close callback frees it
 * and may free the transport (pl__http_curl_maybe_free). */
void pl__http_curl_socket_close(pl_http_curl_t *http, http_socket_t *sock);

#endif
