/* The curl transport of http.h: one libcurl multi handle driven by the
 * libuv loop through curl's socket and timer callbacks (the pattern of
 * curl's multi-uv example; they are in http_curl_socket.c), a FIFO queue per host:port in front of it, and
 * every on_done delivered from the loop by an idle handle.
 *
 * Re-entrancy is the crux. libcurl forbids calling multi functions from its
 * own callbacks, and our header and body callbacks run user code that may
 * submit, cancel, pause, resume or close. So while the transport is inside
 * libcurl (`in_curl`), those entry points only record what they want
 * (flags on the call or the transport); pl__http_curl_settle() applies it
 * once libcurl has returned. It is also the one place that reads finished
 * transfers, so every path converges there. */
#include "http_curl.h"
#include "http.h"
#include "http_curl_call.h"
#include "http_curl_socket.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_deliver(uv_idle_t *idle);

/* Ends a call with `error` (0: success) and queues its on_done, which runs
 * from the loop so that no caller of ours is ever re-entered by it. Never
 * called inside libcurl for a running call (remove_handle would fail). */
static void call_finish(pl_http_curl_t *http, pl_http_call_t *call, int error) {
  if (call->state == CALL_WAITING) {
    pl__dlist_remove(&call->host->waiting, &call->node);
  } else if (call->state == CALL_RUNNING) {
    pl__dlist_remove(&http->running, &call->node);
    http->running_count--;
    http->curl.multi_remove_handle(http->multi, call->easy);
    /* Reset now: the handle points into this call (error buffer, body). */
    http->curl.easy_reset(call->easy);
    if (http->free_easy_count < FREE_EASY_MAX && !http->closing)
      http->free_easy[http->free_easy_count++] = call->easy;
    else
      http->curl.easy_cleanup(call->easy);
    call->easy = NULL;
    call->host->active--;
  } else {
    return;
  }
  call->host = NULL;
  call->error = error;
  call->state = CALL_DONE;
  pl__dlist_push(&http->done, &call->node);
  uv_idle_start(&http->deliver, on_deliver);
}

static int error_of(const pl_http_curl_t *http, const pl_http_call_t *call,
                    CURLcode result) {
  if (call->cancel_requested || http->closing || http->close_pending)
    return PL_ECANCELED;
  if (call->out_of_memory || result == CURLE_OUT_OF_MEMORY)
    return PL_ENOMEM;
  if (call->too_large)
    return PL_ERANGE;
  /* The error body was cut on purpose (buffer_body): the response is
   * complete as far as the caller is concerned. */
  if (result == CURLE_OK || (call->body_truncated && call->headers_done))
    return 0;
  if (result == CURLE_OPERATION_TIMEDOUT)
    return PL_EAGAIN;
  return PL_EIO;
}

/* The call's error text: `words` (copied first: they may be errbuf's)
 * and the host and port of its URL, which libcurl's own words leave out
 * ("Empty reply from server"), as the built-in client names them. Only
 * once libcurl no longer has the buffer (call_finish). */
static void say_where(pl_http_call_t *call, const char *words) {
  char copy[CURL_ERROR_SIZE];
  snprintf(copy, sizeof copy, "%s", words);
  const char *host = strstr(call->url, "://");
  host = host ? host + 3 : call->url;
  int n = (int)strcspn(host, "/?#");
  /* Cut to the buffer when long: the words come first. */
  if (snprintf(call->errbuf, sizeof call->errbuf, "%s (%.*s)", copy, n, host) <
      0)
    call->errbuf[0] = '\0';
  call->error_text = call->errbuf;
}

/* A transfer libcurl has finished (or could not continue). */
static void call_finish_curl(pl_http_curl_t *http, pl_http_call_t *call,
                             CURLcode result) {
  int error = error_of(http, call, result);
  const char *words = NULL;
  if (error == 0) {
    long code = 0;
    http->curl.easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    call->status = (int)code;
  } else if (error != PL_ECANCELED && error != PL_ERANGE) {
    words = call->errbuf[0] ? call->errbuf : http->curl.easy_strerror(result);
  }
  call_finish(http, call, error);
  if (error == PL_ERANGE)
    pl__http_too_large_text(call->max_body, call->errbuf, sizeof call->errbuf);
  if (error == PL_ERANGE || words)
    say_where(call, words ? words : call->errbuf);
}

/* ---- Starting calls ---- */

static CURL *easy_take(pl_http_curl_t *http) {
  if (http->free_easy_count > 0)
    return http->free_easy[--http->free_easy_count];
  return http->curl.easy_init();
}

/* libcurl keeps at most 4 connections per transfer in its multi handle
 * by default, counted when a transfer ends: when the transfers in flight
 * dip (a batch's last requests), it closes connections the busiest moment
 * opened, and the next burst connects again. The limit follows the most
 * transfers that ran at once instead, never shrinking. */
static void keep_connections(pl_http_curl_t *http) {
  long want = (long)http->running_count * 4;
  if (want <= http->max_connects)
    return;
  if (http->curl.multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, want) ==
      CURLM_OK)
    http->max_connects = want;
}

static int call_start(pl_http_curl_t *http, pl_http_call_t *call) {
  call->easy = easy_take(http);
  if (!call->easy)
    return PL_ENOMEM;
  CURLcode rc = pl__http_curl_call_configure(http, call);
  CURLMcode mc = rc == CURLE_OK
                     ? http->curl.multi_add_handle(http->multi, call->easy)
                     : CURLM_OK;
  if (rc != CURLE_OK || mc != CURLM_OK) {
    http->curl.easy_cleanup(call->easy);
    call->easy = NULL;
    if (rc == CURLE_OUT_OF_MEMORY || mc == CURLM_OUT_OF_MEMORY)
      return PL_ENOMEM;
    return rc != CURLE_OK ? PL_EINVAL : PL_EIO;
  }
  pl__dlist_remove(&call->host->waiting, &call->node);
  call->last_progress_ms = uv_now(http->loop);
  call->state = CALL_RUNNING;
  pl__dlist_push(&http->running, &call->node);
  http->running_count++;
  keep_connections(http);
  call->host->active++;
  return 0;
}

/* Starts waiting calls while their host has free slots, oldest first, and
 * forgets hosts with nothing left. */
static void pump(pl_http_curl_t *http) {
  for (http_host_t **link = &http->hosts; *link;) {
    http_host_t *host = *link;
    while (!pl__dlist_empty(&host->waiting) &&
           (http->max_in_flight == 0 || host->active < http->max_in_flight)) {
      pl_http_call_t *call =
          pl_dlist_first(&host->waiting, pl_http_call_t, node);
      int rc = call_start(http, call);
      if (rc < 0) {
        call_finish(http, call, rc);
        say_where(call, "could not start the transfer");
      }
    }
    if (host->active == 0 && pl__dlist_empty(&host->waiting)) {
      *link = host->next;
      if (http->last_host == host) {
        free(http->last_url);
        http->last_url = NULL;
        http->last_host = NULL;
      }
      free(host);
    } else {
      link = &host->next;
    }
  }
}

/* ---- Applying what happened, outside libcurl ---- */

static void close_now(pl_http_curl_t *http);

static pl_http_call_t *needs_attention(const pl_http_curl_t *http) {
  for (pl_dlist_node_t *n = http->running.head; n; n = n->next) {
    pl_http_call_t *call = pl_dlist_entry(n, pl_http_call_t, node);
    if (call->cancel_requested || call->want_paused != call->curl_paused)
      return call;
  }
  return NULL;
}

/* ---- The stall watchdog ---- */

/* Ends the running calls that received nothing for their read timeout
 * while not paused. libcurl's own low-speed limit is not used: it cannot
 * tell a stalled server from a transfer we paused for backpressure. */
static void on_watchdog(uv_timer_t *timer) {
  pl_http_curl_t *http = timer->data;
  uint64_t now = uv_now(http->loop);
  for (pl_dlist_node_t *n = http->running.head; n;) {
    pl_dlist_node_t *next = n->next;
    pl_http_call_t *call = pl_dlist_entry(n, pl_http_call_t, node);
    if (pl__http_curl_call_stall_deadline(call) <= now) {
      unsigned long long quiet = now - call->last_progress_ms;
      call_finish(http, call, PL_EAGAIN);
      snprintf(call->errbuf, sizeof call->errbuf,
               "no data received for %llu ms", quiet);
      say_where(call, call->errbuf);
    }
    n = next;
  }
  pl__http_curl_settle(http); /* starts waiting calls and re-arms */
}

/* Arms the watchdog for the earliest deadline of the running calls, or
 * stops it. A deadline only moves later while its call runs (a byte, a
 * resume), so a timer that fires early finds nothing and re-arms. */
static void watchdog_arm(pl_http_curl_t *http) {
  uint64_t first = UINT64_MAX;
  for (pl_dlist_node_t *n = http->running.head; n; n = n->next) {
    uint64_t deadline = pl__http_curl_call_stall_deadline(
        pl_dlist_entry(n, pl_http_call_t, node));
    if (deadline < first)
      first = deadline;
  }
  if (first == UINT64_MAX) {
    uv_timer_stop(&http->watchdog);
    return;
  }
  uint64_t now = uv_now(http->loop);
  /* At least 1 ms, for the libuv 1.44 reason given in pl__http_curl_on_timer.
   */
  uint64_t in = first > now + 1 ? first - now : 1;
  if (uv_is_active((uv_handle_t *)&http->watchdog) &&
      uv_timer_get_due_in(&http->watchdog) <= in)
    return;
  uv_timer_start(&http->watchdog, on_watchdog, in, 0);
}

void pl__http_curl_settle(pl_http_curl_t *http) {
  if (http->in_curl > 0 || http->closing)
    return;
  for (;;) {
    if (http->close_pending) {
      close_now(http);
      return;
    }
    if (!http->multi)
      return; /* libcurl not started: no call has run */
    pump(http);
    CURLMsg *msg;
    int left = 0;
    while ((msg = http->curl.multi_info_read(http->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      /* msg is invalidated by remove_handle: read it first. */
      CURL *easy = msg->easy_handle;
      CURLcode result = msg->data.result;
      char *priv = NULL;
      http->curl.easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      call_finish_curl(http, (pl_http_call_t *)(void *)priv, result);
    }
    pl_http_call_t *call = needs_attention(http);
    if (!call) {
      watchdog_arm(http);
      return;
    }
    if (call->cancel_requested) {
      call_finish(http, call, PL_ECANCELED);
      continue;
    }
    /* Unpausing hands held bytes to on_body synchronously, so the user's
     * code runs here: mark the transport as inside libcurl. */
    call->curl_paused = call->want_paused;
    /* Time paused is not a stall: the read timeout counts from here. */
    if (!call->want_paused)
      call->last_progress_ms = uv_now(http->loop);
    http->in_curl++;
    CURLcode rc = http->curl.easy_pause(
        call->easy, call->want_paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    http->in_curl--;
    if (rc != CURLE_OK && call->state == CALL_RUNNING)
      call_finish_curl(http, call, rc);
  }
}

/* ---- Delivery and closing ---- */

void pl__http_curl_maybe_free(pl_http_curl_t *http) {
  if (!http->closing || http->handles_open > 0)
    return;
  void (*closed)(void *) = http->closed;
  void *data = http->closed_data;
  free(http->ca_file);
  free(http->library);
  free(http->start_error);
  free(http);
  if (closed)
    closed(data);
}

static void on_core_closed(uv_handle_t *handle) {
  pl_http_curl_t *http = handle->data;
  http->handles_open--;
  pl__http_curl_maybe_free(http);
}

static void maybe_close_deliver(pl_http_curl_t *http) {
  if (!http->closing || http->deliver_closing || http->delivering ||
      !pl__dlist_empty(&http->done))
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
  while ((call = pl_dlist_first(&http->done, pl_http_call_t, node))) {
    pl__dlist_remove(&http->done, &call->node);
    pl_http_response_t response = pl__http_curl_call_response(call, true);
    call->handlers.on_done(call->handlers.data, &response);
    pl__http_curl_call_free(call);
  }
  http->delivering = false;
  uv_idle_stop(idle);
  maybe_close_deliver(http);
}

static void close_now(pl_http_curl_t *http) {
  http->close_pending = false;
  http->closing = true;
  for (http_host_t *host = http->hosts; host; host = host->next)
    while (!pl__dlist_empty(&host->waiting))
      call_finish(http, pl_dlist_first(&host->waiting, pl_http_call_t, node),
                  PL_ECANCELED);
  while (!pl__dlist_empty(&http->running))
    call_finish(http, pl_dlist_first(&http->running, pl_http_call_t, node),
                PL_ECANCELED);
  while (http->hosts) {
    http_host_t *next = http->hosts->next;
    free(http->hosts);
    http->hosts = next;
  }
  free(http->last_url);
  http->last_url = NULL;
  http->last_host = NULL;
  while (http->free_easy_count > 0)
    http->curl.easy_cleanup(http->free_easy[--http->free_easy_count]);
  /* Closes the cached connections; libcurl may still call the socket and
   * timer callbacks from here, so their handles stay open until after. */
  if (http->multi) {
    http->curl.multi_cleanup(http->multi);
    http->multi = NULL;
    http->curl.global_cleanup();
  }
  pl__curl_api_close(&http->curl);
  while (!pl__dlist_empty(&http->sockets))
    pl__http_curl_socket_close(
        http, pl_dlist_first(&http->sockets, http_socket_t, node));
  uv_close((uv_handle_t *)&http->timer, on_core_closed);
  uv_close((uv_handle_t *)&http->kick, on_core_closed);
  uv_close((uv_handle_t *)&http->watchdog, on_core_closed);
  maybe_close_deliver(http);
}

void pl__http_curl_close(pl_http_curl_t *http, void (*closed)(void *data),
                         void *data) {
  if (!http || http->closing || http->close_pending)
    return;
  http->closed = closed;
  http->closed_data = data;
  if (http->in_curl > 0) {
    /* pl__http_curl_settle() closes once libcurl returned. */
    http->close_pending = true;
    return;
  }
  close_now(http);
}

/* ---- The vtable ---- */

/* Appends "host:port" of an http(s) URL to `key`; PL_EINVAL for anything
 * else. */
static int host_key(pl_http_curl_t *http, const char *url, pl_buf_t *key) {
  CURLU *parsed = http->curl.url();
  if (!parsed)
    return PL_ENOMEM;
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = PL_EINVAL;
  if (http->curl.url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
      http->curl.url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      http->curl.url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      http->curl.url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
          CURLUE_OK &&
      (pl__http_case_equal(scheme, "http") ||
       pl__http_case_equal(scheme, "https")))
    rc = pl_buf_printf(key, "%s:%s", host, port);
  http->curl.free(scheme);
  http->curl.free(host);
  http->curl.free(port);
  http->curl.url_cleanup(parsed);
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

/* Opens libcurl and makes the multi handle, on the first call. PL_EIO
 * (libcurl missing or broken, with the reason in http->start_error) is
 * final; PL_ENOMEM is tried again at the next call. */
static int start(pl_http_curl_t *http) {
  if (http->multi)
    return 0;
  if (http->start_error)
    return PL_EIO;
  char why[512];
  int rc = pl__curl_api_open(&http->curl, http->library, why, sizeof why);
  /* No process-wide flag of ours (HACKING.md#s2): curl_global_init is
   * reference counted, and thread-safe from libcurl 7.84 on, so each
   * transport holds one reference and close gives it back; two engines in
   * one process each hold their own, and the last close frees libcurl's
   * global state. */
  if (rc == 0 && http->curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(why, sizeof why,
             "libcurl failed to initialise (curl_global_init)");
    pl__curl_api_close(&http->curl);
    rc = PL_EIO;
  }
  if (rc == PL_EIO) {
    http->start_error = pl__http_curl_call_dup_str(why);
    return http->start_error ? PL_EIO : PL_ENOMEM;
  }
  CURLM *multi = http->curl.multi_init();
  if (!multi ||
      http->curl.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                              pl__http_curl_on_socket) != CURLM_OK ||
      http->curl.multi_setopt(multi, CURLMOPT_SOCKETDATA, (void *)http) !=
          CURLM_OK ||
      http->curl.multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                              pl__http_curl_on_timer) != CURLM_OK ||
      http->curl.multi_setopt(multi, CURLMOPT_TIMERDATA, (void *)http) !=
          CURLM_OK) {
    if (multi)
      http->curl.multi_cleanup(multi);
    http->curl.global_cleanup();
    pl__curl_api_close(&http->curl);
    return PL_ENOMEM;
  }
  http->multi = multi;
  return 0;
}

/* A call that cannot run because libcurl could not be started: it ends
 * with PL_EIO and the reason, through the deferred on_done as any other. */
static int submit_unstarted(pl_http_curl_t *http,
                            const pl_http_handlers_t *handlers,
                            pl_http_call_t **out) {
  pl_http_call_t *call = calloc(1, sizeof *call);
  if (!call)
    return PL_ENOMEM;
  call->http = http;
  call->handlers = *handlers;
  snprintf(call->errbuf, sizeof call->errbuf, "%s", http->start_error);
  call->error_text = call->errbuf;
  call->error = PL_EIO;
  call->state = CALL_DONE;
  pl__dlist_push(&http->done, &call->node);
  uv_idle_start(&http->deliver, on_deliver);
  if (out)
    *out = call;
  return 0;
}

static int curl_submit(void *self, const pl_http_request_t *request,
                       const pl_http_handlers_t *handlers,
                       pl_http_call_t **out) {
  pl_http_curl_t *http = self;
  if (!pl__http_submit_valid(request, handlers))
    return PL_EINVAL;
  if (http->closing || http->close_pending)
    return PL_ECANCELED;
  int rc = start(http);
  if (rc == PL_EIO)
    return submit_unstarted(http, handlers, out);
  if (rc < 0)
    return rc;
  pl_buf_t key = {0};
  http_host_t *host = NULL;
  if (http->last_url && strcmp(http->last_url, request->url) == 0)
    host = http->last_host;
  else
    rc = host_key(http, request->url, &key);
  pl_http_call_t *call = rc == 0 ? calloc(1, sizeof *call) : NULL;
  if (rc == 0 && !call)
    rc = PL_ENOMEM;
  if (rc == 0) {
    call->http = http;
    call->handlers = *handlers;
    rc = pl__http_curl_call_copy_request(call, request);
  }
  if (rc == 0 && !host) {
    host = host_get(http, &key);
    if (!host)
      rc = PL_ENOMEM;
    char *url = host ? pl__http_curl_call_dup_str(request->url) : NULL;
    if (url) {
      free(http->last_url);
      http->last_url = url;
      http->last_host = host;
    }
  }
  pl_buf_free(&key);
  if (rc < 0) {
    if (call)
      pl__http_curl_call_free(call);
    return rc;
  }
  call->host = host;
  call->state = CALL_WAITING;
  pl__dlist_push(&host->waiting, &call->node);
  if (out)
    *out = call;
  /* Inside libcurl the call waits for pl__http_curl_settle(); a start that
   * fails ends the call through the deferred on_done, never from here. */
  pl__http_curl_settle(http);
  return 0;
}

static void curl_pause(void *self, pl_http_call_t *call) {
  if (!call || call->state == CALL_DONE)
    return;
  call->want_paused = true;
  pl__http_curl_settle(self);
}

static void curl_resume(void *self, pl_http_call_t *call) {
  if (!call || call->state == CALL_DONE)
    return;
  call->want_paused = false;
  pl__http_curl_settle(self);
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
  pl__http_curl_settle(http);
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
  if ((opts->ca_file &&
       !(http->ca_file = pl__http_curl_call_dup_str(opts->ca_file))) ||
      (opts->library &&
       !(http->library = pl__http_curl_call_dup_str(opts->library)))) {
    free(http->ca_file);
    free(http);
    return PL_ENOMEM;
  }
  /* libcurl itself is opened by the first call (start). Initialised
   * last: once they exist, freeing takes a loop turn. */
  uv_timer_init(loop, &http->timer);
  http->timer.data = http;
  uv_idle_init(loop, &http->deliver);
  http->deliver.data = http;
  uv_timer_init(loop, &http->watchdog);
  http->watchdog.data = http;
  uv_prepare_init(loop, &http->kick);
  http->kick.data = http;
  http->handles_open = 4;
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
