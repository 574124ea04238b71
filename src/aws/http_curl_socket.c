/* The loop side of the curl transport: the sockets libcurl asks us to
 * watch become uv_poll_t handles, its timeout a uv_timer_t, and each event
 * runs libcurl's curl_multi_socket_action() then settle() (http_curl.c).
 *
 * A pooled connection keeps its handle between transfers. libcurl says
 * CURL_POLL_REMOVE when a transfer ends and asks for the same socket again
 * when the next one reuses the connection; closing and re-creating the
 * handle each time cost five system calls per request (libuv's check of
 * the descriptor, FIONBIO, and an epoll_ctl to add and one to remove), and
 * restarting a uv_poll_t costs two (libuv removes the descriptor from
 * epoll and adds it back). So a removed socket is only "parked": its
 * handle stays as it was, and is taken up again without a system call
 * when libcurl asks for the same events. The handle goes when libcurl
 * closes the socket (CURLOPT_CLOSESOCKETFUNCTION); an event on a parked
 * socket (the server closed an idle connection) stops its polling, and
 * libcurl's own check finds the connection dead at its next reuse. */
#include "http_curl_socket.h"
#include "http_curl.h"

#include <stdlib.h>
#include <unistd.h>

static void drive(pl_http_curl_t *http, curl_socket_t fd, int flags) {
  int running = 0;
  http->in_curl++;
  /* A failure here is about the multi handle, not a transfer; transfers
   * report their own results through curl_multi_info_read. */
  (void)http->curl.multi_socket_action(http->multi, fd, flags, &running);
  http->in_curl--;
  pl__http_curl_settle(http);
}

/* Stops polling `sock` (libuv removes it from epoll). */
static void sock_stop(http_socket_t *sock) {
  if (sock->events)
    uv_poll_stop(&sock->poll);
  sock->events = 0;
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  http_socket_t *sock = poll->data;
  if (sock->parked) {
    /* No transfer owns the socket: nothing libcurl waits for. */
    if (status < 0)
      sock->events = 0; /* libuv stopped the handle itself */
    sock_stop(sock);
    return;
  }
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
    sock->events = 0; /* libuv stopped the handle itself */
  }
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  drive(sock->http, sock->fd, flags);
}

static void on_timer(uv_timer_t *timer) {
  drive(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

static void on_socket_closed(uv_handle_t *handle) {
  http_socket_t *sock = handle->data;
  pl_http_curl_t *http = sock->http;
  free(sock);
  http->handles_open--;
  pl__http_curl_maybe_free(http);
}

void pl__http_curl_socket_close(pl_http_curl_t *http, http_socket_t *sock) {
  pl__dlist_remove(&http->sockets, &sock->node);
  /* uv_close stops polling now: libcurl may close the descriptor (and
   * reuse its number) as soon as we return. */
  uv_close((uv_handle_t *)&sock->poll, on_socket_closed);
}

static http_socket_t *sock_find(const pl_http_curl_t *http, curl_socket_t fd) {
  for (pl_dlist_node_t *n = http->sockets.head; n; n = n->next) {
    http_socket_t *sock = pl_dlist_entry(n, http_socket_t, node);
    if (sock->fd == fd)
      return sock;
  }
  return NULL;
}

int pl__http_curl_on_socket(CURL *easy, curl_socket_t fd, int what, void *data,
                            void *socket_data) {
  pl_http_curl_t *http = data;
  http_socket_t *sock = socket_data;
  if (what == CURL_POLL_REMOVE) {
    if (sock) {
      sock->parked = true;
      /* Readable is what an idle connection may become (the server
       * closing it); anything else would only wake the loop for nothing. */
      if (sock->events != UV_READABLE)
        sock_stop(sock);
    }
    return 0;
  }
  if (!sock && (sock = sock_find(http, fd))) {
    sock->parked = false;
    http->curl.multi_assign(http->multi, fd, sock);
  }
  if (!sock) {
    sock = calloc(1, sizeof *sock);
    if (!sock)
      return -1;
    if (uv_poll_init_socket(http->loop, &sock->poll, fd) != 0) {
      free(sock);
      return -1;
    }
    sock->poll.data = sock;
    sock->http = http;
    sock->fd = fd;
    pl__dlist_push(&http->sockets, &sock->node);
    http->handles_open++;
    http->curl.multi_assign(http->multi, fd, sock);
  }
  int events = ((what & CURL_POLL_IN) ? UV_READABLE : 0) |
               ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
  if (events == sock->events)
    return 0; /* as it is: no system call */
  if (events && uv_poll_start(&sock->poll, events, on_poll) != 0)
    return -1;
  if (!events)
    uv_poll_stop(&sock->poll);
  sock->events = events;
  return 0;
}

int pl__http_curl_on_close_socket(void *data, curl_socket_t fd) {
  pl_http_curl_t *http = data;
  http_socket_t *sock = sock_find(http, fd);
  /* Before close(): the descriptor's number is free again after it. */
  if (sock)
    pl__http_curl_socket_close(http, sock);
  return close(fd);
}

int pl__http_curl_on_sockopt(void *data, curl_socket_t fd,
                             curlsocktype purpose) {
  (void)purpose;
  /* A new socket: a handle still holding its number belongs to a socket
   * closed behind our back (never expected, see on_close_socket); taking
   * it up would leave the new socket out of epoll. */
  http_socket_t *sock = sock_find(data, fd);
  if (sock)
    pl__http_curl_socket_close(data, sock);
  return CURL_SOCKOPT_OK;
}

static void on_kick(uv_prepare_t *kick) {
  uv_prepare_stop(kick);
  drive(kick->data, CURL_SOCKET_TIMEOUT, 0);
}

int pl__http_curl_on_timer(CURLM *multi, long timeout_ms, void *data) {
  pl_http_curl_t *http = data;
  if (timeout_ms < 0) {
    uv_timer_stop(&http->timer);
    uv_prepare_stop(&http->kick);
    return 0;
  }
  /* 0 means "now" (a transfer was added), but socket_action must not run
   * inside this callback: the prepare handle runs it before the loop next
   * polls, in the same turn when the request came from an idle or timer
   * callback (on_done), so the request goes out without waiting for a
   * timer. The timer stays as a backstop; 1 ms (not 0) keeps libuv 1.44
   * from rerunning it within one timer phase, which would starve I/O. */
  if (timeout_ms == 0)
    uv_prepare_start(&http->kick, on_kick);
  else
    uv_prepare_stop(&http->kick);
  uv_timer_start(&http->timer, on_timer,
                 timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
  return 0;
}
