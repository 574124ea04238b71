/* The curl transport of http.h: one libcurl multi handle driven by the
 * libuv loop through curl's socket and timer callbacks (the pattern of
 * curl's multi-uv example), a FIFO queue per host:port in front of it, and
 * every on_done delivered from the loop by an idle handle.
 *
 * Re-entrancy is the crux. libcurl forbids calling multi functions from its
 * own callbacks, and our header and body callbacks run user code that may
 * submit, cancel, pause, resume or close. So while the transport is inside
 * libcurl (`in_curl`), those entry points only record what they want
 * (flags on the call or the transport); settle() applies it once libcurl
 * has returned. settle() is also the one place that reads finished
 * transfers, so every path converges there. */
#include "http.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Easy handles kept for reuse: a small number covers the steady state of a
 * sink without holding memory for a burst that has passed. */
enum { FREE_EASY_MAX = 8 };
static const uint64_t DEFAULT_CONNECT_TIMEOUT_MS = 10000;

typedef struct call_list {
  pl_http_call_t *head;
  pl_http_call_t *tail;
} call_list_t;

/* One host:port: how many of its calls are in the multi handle, and the
 * calls waiting for a slot, oldest first. Freed when both are empty. */
typedef struct http_host {
  struct http_host *next;
  size_t active;
  call_list_t waiting;
  char key[];
} http_host_t;

/* A socket libcurl asked us to watch. */
typedef struct http_socket {
  uv_poll_t poll;
  pl_http_curl_t *http;
  curl_socket_t fd;
  struct http_socket *prev;
  struct http_socket *next;
} http_socket_t;

typedef enum { CALL_WAITING, CALL_RUNNING, CALL_DONE } call_state_t;

struct pl_http_call {
  pl_http_curl_t *http;
  http_host_t *host;           /* NULL once done */
  pl_http_call_t *prev, *next; /* in waiting, running or done */
  call_state_t state;
  pl_http_handlers_t handlers;
  /* The request, copied at submit. */
  char *method;
  char *url;
  struct curl_slist *headers;
  char *body;
  size_t body_len;
  bool has_body;
  uint64_t timeout_ms;
  uint64_t connect_timeout_ms;
  CURL *easy; /* while running */
  /* The response. */
  int status;
  int error;
  const char *error_text; /* errbuf, a static curl text, or NULL */
  pl_http_header_t *resp_headers;
  size_t resp_header_count;
  size_t resp_header_cap;
  pl_buf_t resp_body;
  bool headers_done;
  bool out_of_memory;
  /* Requests made while inside libcurl, applied by settle(). */
  bool cancel_requested;
  bool want_paused;
  bool curl_paused;
  /* Bytes libcurl will hand again after a pause that on_body has seen. */
  size_t redeliver;
  char errbuf[CURL_ERROR_SIZE];
};

struct pl_http_curl {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;  /* libcurl's timeout */
  uv_idle_t deliver; /* runs on_done of finished calls */
  pl_http_transport_t vtable;
  bool tls_verify;
  size_t max_in_flight; /* 0: no limit */
  char *ca_file;
  http_host_t *hosts;
  call_list_t running;
  call_list_t done;
  http_socket_t *sockets;
  CURL *free_easy[FREE_EASY_MAX];
  size_t free_easy_count;
  unsigned in_curl;
  bool delivering;
  bool close_pending; /* close() was called inside libcurl */
  bool closing;       /* close_now() ran: no more requests */
  bool deliver_closing;
  unsigned handles_open;
  void (*closed)(void *data);
  void *closed_data;
};

/* ---- Small helpers ---- */

static void list_push(call_list_t *list, pl_http_call_t *call) {
  call->next = NULL;
  call->prev = list->tail;
  if (list->tail)
    list->tail->next = call;
  else
    list->head = call;
  list->tail = call;
}

static void list_remove(call_list_t *list, pl_http_call_t *call) {
  if (call->prev)
    call->prev->next = call->next;
  else
    list->head = call->next;
  if (call->next)
    call->next->prev = call->prev;
  else
    list->tail = call->prev;
  call->prev = call->next = NULL;
}

static char *dup_str(const char *text) {
  size_t len = strlen(text) + 1;
  char *copy = malloc(len);
  if (copy)
    memcpy(copy, text, len);
  return copy;
}

static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool ascii_case_equal(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
      return false;
  return *a == *b;
}

static bool is_token_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *text) {
  if (!*text)
    return false;
  for (; *text; text++)
    if (!is_token_char((unsigned char)*text))
      return false;
  return true;
}

static long clamp_ms(uint64_t ms) {
  return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms;
}

/* Keeps the first failure of a run of setopt calls, so that the options
 * read as one list and a failure is still reported. */
static void keep_first(CURLcode *first, CURLcode rc) {
  if (*first == CURLE_OK)
    *first = rc;
}

/* ---- Calls ---- */

static void call_reset_headers(pl_http_call_t *call) {
  for (size_t i = 0; i < call->resp_header_count; i++) {
    free((char *)call->resp_headers[i].name);
    free((char *)call->resp_headers[i].value);
  }
  call->resp_header_count = 0;
}

static void call_free(pl_http_call_t *call) {
  free(call->method);
  free(call->url);
  curl_slist_free_all(call->headers);
  free(call->body);
  call_reset_headers(call);
  free(call->resp_headers);
  pl_buf_free(&call->resp_body);
  free(call);
}

/* The response so far; `final` once the body is complete (on_done). */
static pl_http_response_t call_response(const pl_http_call_t *call,
                                        bool final) {
  bool whole = final && call->error == 0 && call->headers_done;
  bool buffered = whole && !call->handlers.on_body;
  return (pl_http_response_t){
      .status = call->error == 0 ? call->status : 0,
      .error = call->error,
      .error_text = call->error_text,
      .headers = call->resp_headers,
      .header_count = call->resp_header_count,
      .body =
          buffered ? (call->resp_body.data ? call->resp_body.data : "") : NULL,
      .body_len = buffered ? call->resp_body.len : 0,
  };
}

static void on_deliver(uv_idle_t *idle);

/* Ends a call with `error` (0: success) and queues its on_done, which runs
 * from the loop so that no caller of ours is ever re-entered by it. Never
 * called inside libcurl for a running call (remove_handle would fail). */
static void call_finish(pl_http_curl_t *http, pl_http_call_t *call, int error) {
  if (call->state == CALL_WAITING) {
    list_remove(&call->host->waiting, call);
  } else if (call->state == CALL_RUNNING) {
    list_remove(&http->running, call);
    curl_multi_remove_handle(http->multi, call->easy);
    /* Reset now: the handle points into this call (error buffer, body). */
    curl_easy_reset(call->easy);
    if (http->free_easy_count < FREE_EASY_MAX && !http->closing)
      http->free_easy[http->free_easy_count++] = call->easy;
    else
      curl_easy_cleanup(call->easy);
    call->easy = NULL;
    call->host->active--;
  } else {
    return;
  }
  call->host = NULL;
  call->error = error;
  call->state = CALL_DONE;
  list_push(&http->done, call);
  uv_idle_start(&http->deliver, on_deliver);
}

static int error_of(const pl_http_curl_t *http, const pl_http_call_t *call,
                    CURLcode result) {
  if (call->cancel_requested || http->closing || http->close_pending)
    return PL_ECANCELED;
  if (call->out_of_memory || result == CURLE_OUT_OF_MEMORY)
    return PL_ENOMEM;
  if (result == CURLE_OK)
    return 0;
  if (result == CURLE_OPERATION_TIMEDOUT)
    return PL_EAGAIN;
  return PL_EIO;
}

/* A transfer libcurl has finished (or could not continue). */
static void call_finish_curl(pl_http_curl_t *http, pl_http_call_t *call,
                             CURLcode result) {
  int error = error_of(http, call, result);
  if (error == 0) {
    long code = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    call->status = (int)code;
  } else if (error != PL_ECANCELED) {
    call->error_text =
        call->errbuf[0] ? call->errbuf : curl_easy_strerror(result);
  }
  call_finish(http, call, error);
}

/* ---- libcurl's header and body callbacks (inside libcurl) ---- */

static bool call_stopping(const pl_http_call_t *call) {
  return call->cancel_requested || call->http->close_pending;
}

static int call_add_header(pl_http_call_t *call, const char *line, size_t len) {
  /* An obsolete folded line continues the previous value. */
  if ((line[0] == ' ' || line[0] == '\t') && call->resp_header_count > 0) {
    pl_http_header_t *last = &call->resp_headers[call->resp_header_count - 1];
    pl_buf_t value = {0};
    if (pl_buf_append_str(&value, last->value) < 0 ||
        pl_buf_append(&value, " ", 1) < 0 ||
        pl_buf_append(&value, line, len) < 0) {
      pl_buf_free(&value);
      return PL_ENOMEM;
    }
    free((char *)last->value);
    last->value = value.data;
    return 0;
  }
  const char *colon = memchr(line, ':', len);
  if (!colon || colon == line)
    return 0; /* not a header: nothing a caller could look up */
  if (call->resp_header_count == call->resp_header_cap) {
    size_t cap = call->resp_header_cap ? call->resp_header_cap * 2 : 16;
    pl_http_header_t *grown = realloc(call->resp_headers, cap * sizeof *grown);
    if (!grown)
      return PL_ENOMEM;
    call->resp_headers = grown;
    call->resp_header_cap = cap;
  }
  size_t name_len = (size_t)(colon - line);
  const char *value = colon + 1;
  const char *end = line + len;
  while (value < end && (*value == ' ' || *value == '\t'))
    value++;
  while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  char *name_copy = malloc(name_len + 1);
  char *value_copy = malloc((size_t)(end - value) + 1);
  if (!name_copy || !value_copy) {
    free(name_copy);
    free(value_copy);
    return PL_ENOMEM;
  }
  for (size_t i = 0; i < name_len; i++)
    name_copy[i] = (char)ascii_lower((unsigned char)line[i]);
  name_copy[name_len] = '\0';
  memcpy(value_copy, value, (size_t)(end - value));
  value_copy[end - value] = '\0';
  call->resp_headers[call->resp_header_count++] =
      (pl_http_header_t){.name = name_copy, .value = value_copy};
  return 0;
}

static size_t on_curl_header(char *line, size_t size, size_t count,
                             void *data) {
  pl_http_call_t *call = data;
  size_t len = size * count;
  if (call_stopping(call))
    return 0; /* aborts the transfer; reported as PL_ECANCELED */
  if (call->headers_done)
    return len; /* trailers: not part of the contract */
  size_t text = len;
  while (text > 0 && (line[text - 1] == '\n' || line[text - 1] == '\r'))
    text--;
  if (text == 0) {
    long code = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code < 200)
      return len; /* an interim response: the real one follows */
    call->headers_done = true;
    call->status = (int)code;
    if (call->handlers.on_headers) {
      pl_http_response_t response = call_response(call, false);
      call->handlers.on_headers(call->handlers.data, &response);
    }
    return call_stopping(call) ? 0 : len;
  }
  if (text >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    /* A status line starts a new header block (after a 1xx). */
    call_reset_headers(call);
    return len;
  }
  if (call_add_header(call, line, text) < 0) {
    call->out_of_memory = true;
    return 0;
  }
  return len;
}

static size_t on_curl_body(char *bytes, size_t size, size_t count, void *data) {
  pl_http_call_t *call = data;
  size_t len = size * count;
  if (call_stopping(call))
    return 0;
  if (call->want_paused) {
    /* pause() came from user code inside libcurl (on_headers, or another
     * call's on_body): hold this piece unread; it comes again on resume. */
    call->curl_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (!call->handlers.on_body) {
    if (pl_buf_append(&call->resp_body, bytes, len) < 0) {
      call->out_of_memory = true;
      return 0;
    }
    return len;
  }
  /* After CURL_WRITEFUNC_PAUSE libcurl keeps the piece and hands it again
   * on unpause (possibly with more bytes behind it); on_body consumed it
   * already, so those bytes are skipped. */
  size_t skip = call->redeliver < len ? call->redeliver : len;
  call->redeliver -= skip;
  if (skip == len)
    return len;
  bool more =
      call->handlers.on_body(call->handlers.data, bytes + skip, len - skip);
  if (call_stopping(call))
    return 0;
  if (more && !call->want_paused)
    return len;
  /* The piece is consumed either way; libcurl will hand it again. */
  call->want_paused = true;
  call->curl_paused = true;
  call->redeliver = len;
  return CURL_WRITEFUNC_PAUSE;
}

/* ---- Starting calls ---- */

static CURL *easy_take(pl_http_curl_t *http) {
  if (http->free_easy_count > 0)
    return http->free_easy[--http->free_easy_count];
  return curl_easy_init();
}

static CURLcode call_configure(pl_http_curl_t *http, pl_http_call_t *call) {
  CURL *e = call->easy;
  CURLcode rc = CURLE_OK;
  call->errbuf[0] = '\0';
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_URL, call->url));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)call));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf));
  /* Signals belong to the daemon; the resolver is asynchronous anyway. */
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
#if LIBCURL_VERSION_NUM >= 0x075500
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
#else
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_curl_header));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)call));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_body));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)call));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
                                   http->tls_verify ? 1L : 0L));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
                                   http->tls_verify ? 2L : 0L));
  if (http->ca_file)
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_CAINFO, http->ca_file));
  /* Timed from the start of the transfer, not from submit: waiting in the
   * host's queue is back-pressure, not a slow server. */
  keep_first(
      &rc, curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, clamp_ms(call->timeout_ms)));
  keep_first(&rc, curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                   clamp_ms(call->connect_timeout_ms)));
  if (call->has_body) {
    /* Our copy outlives the transfer, so libcurl need not copy it again. */
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                                     (curl_off_t)call->body_len));
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                                     call->body ? call->body : ""));
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method));
  } else if (strcmp(call->method, "HEAD") == 0) {
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else {
    keep_first(&rc, curl_easy_setopt(e, CURLOPT_HTTPGET, 1L));
    if (strcmp(call->method, "GET") != 0)
      keep_first(&rc, curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method));
  }
  return rc;
}

static int call_start(pl_http_curl_t *http, pl_http_call_t *call) {
  call->easy = easy_take(http);
  if (!call->easy)
    return PL_ENOMEM;
  CURLcode rc = call_configure(http, call);
  CURLMcode mc = rc == CURLE_OK ? curl_multi_add_handle(http->multi, call->easy)
                                : CURLM_OK;
  if (rc != CURLE_OK || mc != CURLM_OK) {
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    if (rc == CURLE_OUT_OF_MEMORY || mc == CURLM_OUT_OF_MEMORY)
      return PL_ENOMEM;
    return rc != CURLE_OK ? PL_EINVAL : PL_EIO;
  }
  list_remove(&call->host->waiting, call);
  call->state = CALL_RUNNING;
  list_push(&http->running, call);
  call->host->active++;
  return 0;
}

/* Starts waiting calls while their host has free slots, oldest first, and
 * forgets hosts with nothing left. */
static void pump(pl_http_curl_t *http) {
  for (http_host_t **link = &http->hosts; *link;) {
    http_host_t *host = *link;
    while (host->waiting.head &&
           (http->max_in_flight == 0 || host->active < http->max_in_flight)) {
      pl_http_call_t *call = host->waiting.head;
      int rc = call_start(http, call);
      if (rc < 0) {
        call->error_text = "could not start the transfer";
        call_finish(http, call, rc);
      }
    }
    if (host->active == 0 && !host->waiting.head) {
      *link = host->next;
      free(host);
    } else {
      link = &host->next;
    }
  }
}

/* ---- Applying what happened, outside libcurl ---- */

static void close_now(pl_http_curl_t *http);

static pl_http_call_t *needs_attention(const pl_http_curl_t *http) {
  for (pl_http_call_t *call = http->running.head; call; call = call->next)
    if (call->cancel_requested || call->want_paused != call->curl_paused)
      return call;
  return NULL;
}

static void settle(pl_http_curl_t *http) {
  if (http->in_curl > 0 || http->closing)
    return;
  for (;;) {
    if (http->close_pending) {
      close_now(http);
      return;
    }
    pump(http);
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(http->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      /* msg is invalidated by remove_handle: read it first. */
      CURL *easy = msg->easy_handle;
      CURLcode result = msg->data.result;
      char *priv = NULL;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      call_finish_curl(http, (pl_http_call_t *)(void *)priv, result);
    }
    pl_http_call_t *call = needs_attention(http);
    if (!call)
      return;
    if (call->cancel_requested) {
      call_finish(http, call, PL_ECANCELED);
      continue;
    }
    /* Unpausing hands held bytes to on_body synchronously, so the user's
     * code runs here: mark the transport as inside libcurl. */
    call->curl_paused = call->want_paused;
    http->in_curl++;
    CURLcode rc = curl_easy_pause(
        call->easy, call->want_paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    http->in_curl--;
    if (rc != CURLE_OK && call->state == CALL_RUNNING)
      call_finish_curl(http, call, rc);
  }
}

/* ---- The loop side: sockets and the timer ---- */

static void drive(pl_http_curl_t *http, curl_socket_t fd, int flags) {
  int running = 0;
  http->in_curl++;
  /* A failure here is about the multi handle, not a transfer; transfers
   * report their own results through curl_multi_info_read. */
  (void)curl_multi_socket_action(http->multi, fd, flags, &running);
  http->in_curl--;
  settle(http);
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  http_socket_t *sock = poll->data;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  drive(sock->http, sock->fd, flags);
}

static void on_timer(uv_timer_t *timer) {
  drive(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

static void maybe_free(pl_http_curl_t *http) {
  if (!http->closing || http->handles_open > 0)
    return;
  void (*closed)(void *) = http->closed;
  void *data = http->closed_data;
  free(http->ca_file);
  free(http);
  if (closed)
    closed(data);
}

static void on_socket_closed(uv_handle_t *handle) {
  http_socket_t *sock = handle->data;
  pl_http_curl_t *http = sock->http;
  free(sock);
  http->handles_open--;
  maybe_free(http);
}

static void socket_close(pl_http_curl_t *http, http_socket_t *sock) {
  if (sock->prev)
    sock->prev->next = sock->next;
  else
    http->sockets = sock->next;
  if (sock->next)
    sock->next->prev = sock->prev;
  /* uv_close stops polling now: libcurl may close the descriptor (and
   * reuse its number) as soon as we return. */
  uv_close((uv_handle_t *)&sock->poll, on_socket_closed);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *data,
                          void *socket_data) {
  pl_http_curl_t *http = data;
  http_socket_t *sock = socket_data;
  if (what == CURL_POLL_REMOVE) {
    if (sock)
      socket_close(http, sock);
    return 0;
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
    sock->next = http->sockets;
    if (http->sockets)
      http->sockets->prev = sock;
    http->sockets = sock;
    http->handles_open++;
    curl_multi_assign(http->multi, fd, sock);
  }
  int events = ((what & CURL_POLL_IN) ? UV_READABLE : 0) |
               ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
  if (events)
    uv_poll_start(&sock->poll, events, on_poll);
  else
    uv_poll_stop(&sock->poll);
  return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *data) {
  pl_http_curl_t *http = data;
  if (timeout_ms < 0) {
    uv_timer_stop(&http->timer);
    return 0;
  }
  /* 0 means "now", but socket_action must not run inside this callback;
   * 1 ms (not 0) also keeps libuv 1.44 from rerunning the timer within one
   * timer phase, which would starve I/O. */
  uv_timer_start(&http->timer, on_timer,
                 timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
  return 0;
}

/* ---- Delivery and closing ---- */

static void on_core_closed(uv_handle_t *handle) {
  pl_http_curl_t *http = handle->data;
  http->handles_open--;
  maybe_free(http);
}

static void maybe_close_deliver(pl_http_curl_t *http) {
  if (!http->closing || http->deliver_closing || http->delivering ||
      http->done.head)
    return;
  http->deliver_closing = true;
  uv_close((uv_handle_t *)&http->deliver, on_core_closed);
}

static void on_deliver(uv_idle_t *idle) {
  pl_http_curl_t *http = idle->data;
  http->delivering = true;
  pl_http_call_t *call;
  /* on_done may submit, cancel or close: calls it finishes join this list
   * and are delivered in the same pass. */
  while ((call = http->done.head)) {
    list_remove(&http->done, call);
    pl_http_response_t response = call_response(call, true);
    call->handlers.on_done(call->handlers.data, &response);
    call_free(call);
  }
  http->delivering = false;
  uv_idle_stop(idle);
  maybe_close_deliver(http);
}

static void close_now(pl_http_curl_t *http) {
  http->close_pending = false;
  http->closing = true;
  for (http_host_t *host = http->hosts; host; host = host->next)
    while (host->waiting.head)
      call_finish(http, host->waiting.head, PL_ECANCELED);
  while (http->running.head)
    call_finish(http, http->running.head, PL_ECANCELED);
  while (http->hosts) {
    http_host_t *next = http->hosts->next;
    free(http->hosts);
    http->hosts = next;
  }
  while (http->free_easy_count > 0)
    curl_easy_cleanup(http->free_easy[--http->free_easy_count]);
  /* Closes the cached connections; libcurl may still call the socket and
   * timer callbacks from here, so their handles stay open until after. */
  curl_multi_cleanup(http->multi);
  http->multi = NULL;
  curl_global_cleanup();
  while (http->sockets)
    socket_close(http, http->sockets);
  uv_close((uv_handle_t *)&http->timer, on_core_closed);
  maybe_close_deliver(http);
}

void pl__http_curl_close(pl_http_curl_t *http, void (*closed)(void *data),
                         void *data) {
  if (!http || http->closing || http->close_pending)
    return;
  http->closed = closed;
  http->closed_data = data;
  if (http->in_curl > 0) {
    http->close_pending = true; /* settle() closes once libcurl returned */
    return;
  }
  close_now(http);
}

/* ---- The vtable ---- */

/* Appends "host:port" of an http(s) URL to `key`; PL_EINVAL for anything
 * else. */
static int host_key(const char *url, pl_buf_t *key) {
  CURLU *parsed = curl_url();
  if (!parsed)
    return PL_ENOMEM;
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = PL_EINVAL;
  if (curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
          CURLUE_OK &&
      (ascii_case_equal(scheme, "http") || ascii_case_equal(scheme, "https")))
    rc = pl_buf_printf(key, "%s:%s", host, port);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parsed);
  return rc;
}

static http_host_t *host_get(pl_http_curl_t *http, const pl_buf_t *key) {
  for (http_host_t *host = http->hosts; host; host = host->next)
    if (strcmp(host->key, key->data) == 0)
      return host;
  http_host_t *host = calloc(1, sizeof *host + key->len + 1);
  if (!host)
    return NULL;
  memcpy(host->key, key->data, key->len + 1);
  host->next = http->hosts;
  http->hosts = host;
  return host;
}

/* The request's headers as libcurl wants them, plus the removal of
 * libcurl's defaults that would change what the caller signed: no
 * "Expect: 100-continue" round trip, no blanket Accept header, and no form
 * Content-Type on bodies. */
static int build_headers(const pl_http_request_t *request, bool has_body,
                         struct curl_slist **out) {
  struct curl_slist *list = NULL;
  bool expect = false, accept = false, content_type = false;
  pl_buf_t line = {0};
  int rc = 0;
  for (size_t i = 0; i < request->header_count && rc == 0; i++) {
    const pl_http_header_t *h = &request->headers[i];
    if (!h->name || !h->value || !is_token(h->name) ||
        strpbrk(h->value, "\r\n")) {
      rc = PL_EINVAL;
      break;
    }
    expect |= ascii_case_equal(h->name, "expect");
    accept |= ascii_case_equal(h->name, "accept");
    content_type |= ascii_case_equal(h->name, "content-type");
    pl_buf_reset(&line);
    /* "Name;" is libcurl's spelling of a header with an empty value. */
    rc = *h->value ? pl_buf_printf(&line, "%s: %s", h->name, h->value)
                   : pl_buf_printf(&line, "%s;", h->name);
    struct curl_slist *grown =
        rc == 0 ? curl_slist_append(list, line.data) : NULL;
    if (!grown && rc == 0)
      rc = PL_ENOMEM;
    if (grown)
      list = grown;
  }
  const char *removals[] = {
      expect ? NULL : "Expect:", accept ? NULL : "Accept:",
      content_type || !has_body ? NULL : "Content-Type:"};
  for (size_t i = 0; i < sizeof removals / sizeof *removals && rc == 0; i++) {
    if (!removals[i])
      continue;
    struct curl_slist *grown = curl_slist_append(list, removals[i]);
    if (!grown)
      rc = PL_ENOMEM;
    else
      list = grown;
  }
  pl_buf_free(&line);
  if (rc < 0) {
    curl_slist_free_all(list);
    return rc;
  }
  *out = list;
  return 0;
}

static int curl_submit(void *self, const pl_http_request_t *request,
                       const pl_http_handlers_t *handlers,
                       pl_http_call_t **out) {
  pl_http_curl_t *http = self;
  if (!request || !handlers || !handlers->on_done || !request->method ||
      !request->url || !is_token(request->method) ||
      (request->body_len > 0 && !request->body) ||
      (request->header_count > 0 && !request->headers))
    return PL_EINVAL;
  if (http->closing || http->close_pending)
    return PL_ECANCELED;
  pl_buf_t key = {0};
  int rc = host_key(request->url, &key);
  pl_http_call_t *call = rc == 0 ? calloc(1, sizeof *call) : NULL;
  if (rc == 0 && !call)
    rc = PL_ENOMEM;
  if (rc == 0) {
    call->http = http;
    call->handlers = *handlers;
    call->has_body = request->body_len > 0 ||
                     strcmp(request->method, "POST") == 0 ||
                     strcmp(request->method, "PUT") == 0 ||
                     strcmp(request->method, "PATCH") == 0;
    call->body_len = request->body_len;
    call->timeout_ms = request->timeout_ms;
    call->connect_timeout_ms = request->connect_timeout_ms
                                   ? request->connect_timeout_ms
                                   : DEFAULT_CONNECT_TIMEOUT_MS;
    call->method = dup_str(request->method);
    call->url = dup_str(request->url);
    call->body = request->body_len ? malloc(request->body_len) : NULL;
    if (!call->method || !call->url || (request->body_len && !call->body))
      rc = PL_ENOMEM;
    else if (request->body_len)
      memcpy(call->body, request->body, request->body_len);
  }
  if (rc == 0)
    rc = build_headers(request, call->has_body, &call->headers);
  http_host_t *host = rc == 0 ? host_get(http, &key) : NULL;
  if (rc == 0 && !host)
    rc = PL_ENOMEM;
  pl_buf_free(&key);
  if (rc < 0) {
    if (call)
      call_free(call);
    return rc;
  }
  call->host = host;
  call->state = CALL_WAITING;
  list_push(&host->waiting, call);
  if (out)
    *out = call;
  /* Inside libcurl the call waits for settle(); a start that fails ends the
   * call through the deferred on_done, never from here. */
  settle(http);
  return 0;
}

static void curl_pause(void *self, pl_http_call_t *call) {
  if (!call || call->state == CALL_DONE)
    return;
  call->want_paused = true;
  settle(self);
}

static void curl_resume(void *self, pl_http_call_t *call) {
  if (!call || call->state == CALL_DONE)
    return;
  call->want_paused = false;
  settle(self);
}

static void curl_cancel(void *self, pl_http_call_t *call) {
  pl_http_curl_t *http = self;
  if (!call || call->state == CALL_DONE)
    return;
  if (call->state == CALL_WAITING) {
    call_finish(http, call, PL_ECANCELED); /* no libcurl involved */
    return;
  }
  call->cancel_requested = true;
  settle(http);
}

int pl__http_curl_create(uv_loop_t *loop, const pl_http_curl_options_t *opts,
                         pl_http_curl_t **out) {
  if (!loop || !opts || !out)
    return PL_EINVAL;
  *out = NULL;
  pl_http_curl_t *http = calloc(1, sizeof *http);
  if (!http)
    return PL_ENOMEM;
  http->loop = loop;
  http->tls_verify = opts->tls_verify;
  http->max_in_flight = opts->max_in_flight;
  if (opts->ca_file && !(http->ca_file = dup_str(opts->ca_file))) {
    free(http);
    return PL_ENOMEM;
  }
  /* No process-wide flag of ours (STYLE.md#s2): curl_global_init is
   * reference counted, and thread-safe from libcurl 7.84 on, so each
   * transport holds one reference and close gives it back; two engines in
   * one process each hold their own, and the last close frees libcurl's
   * global state. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    free(http->ca_file);
    free(http);
    return PL_EIO;
  }
  http->multi = curl_multi_init();
  if (!http->multi ||
      curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) !=
          CURLM_OK ||
      curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, (void *)http) !=
          CURLM_OK ||
      curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) !=
          CURLM_OK ||
      curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, (void *)http) !=
          CURLM_OK) {
    curl_multi_cleanup(http->multi);
    curl_global_cleanup();
    free(http->ca_file);
    free(http);
    return PL_ENOMEM;
  }
  /* Initialised last: once they exist, freeing takes a loop turn. */
  uv_timer_init(loop, &http->timer);
  http->timer.data = http;
  uv_idle_init(loop, &http->deliver);
  http->deliver.data = http;
  http->handles_open = 2;
  http->vtable = (pl_http_transport_t){
      .self = http,
      .submit = curl_submit,
      .pause = curl_pause,
      .resume = curl_resume,
      .cancel = curl_cancel,
  };
  *out = http;
  return 0;
}

const pl_http_transport_t *pl__http_curl_transport(pl_http_curl_t *http) {
  return &http->vtable;
}
