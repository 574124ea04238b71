/* One request of the curl transport (http_curl.c): the copy made at
 * submit, the options of its easy handle, and libcurl's header and body
 * callbacks, which run inside libcurl and so only record what user code
 * asks for (the transport applies it in settle()). */
#include "http_curl_call.h"
#include "http_curl_socket.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t DEFAULT_CONNECT_TIMEOUT_MS = 10000;

/* ---- Small helpers ---- */

char *pl__http_curl_call_dup_str(const char *text) {
  size_t len = strlen(text) + 1;
  char *copy = malloc(len);
  if (copy)
    memcpy(copy, text, len);
  return copy;
}

static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
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
  for (size_t i = 0; i < call->resp_header_count; i++)
    free(call->resp_header_text[i]);
  call->resp_header_count = 0;
}

void pl__http_curl_call_free(pl_http_call_t *call) {
  free(call->block);
  call_reset_headers(call);
  free(call->resp_header_text);
  free(call->resp_headers);
  pl_buf_free(&call->resp_body);
  free(call);
}

uint64_t pl__http_curl_call_stall_deadline(const pl_http_call_t *call) {
  if (call->state != CALL_RUNNING || call->read_timeout_ms == 0 ||
      call->want_paused || call->curl_paused)
    return UINT64_MAX;
  if (call->read_timeout_ms > UINT64_MAX - call->last_progress_ms)
    return UINT64_MAX;
  return call->last_progress_ms + call->read_timeout_ms;
}

/* The response so far; `final` once the body is complete (on_done). */
pl_http_response_t pl__http_curl_call_response(const pl_http_call_t *call,
                                               bool final) {
  bool whole = final && call->error == 0 && call->headers_done;
  bool buffered = whole && (!call->handlers.on_body || call->status >= 300);
  return (pl_http_response_t){
      .status = call->error == 0 ? call->status : 0,
      .error = call->error,
      .error_text = call->error_text,
      .headers = call->resp_headers,
      .header_count = call->resp_header_count,
      .body =
          buffered ? (call->resp_body.data ? call->resp_body.data : "") : NULL,
      .body_len = buffered ? call->resp_body.len : 0,
      .body_truncated = buffered && call->body_truncated,
  };
}

/* ---- libcurl's header and body callbacks (inside libcurl) ---- */

static bool call_stopping(const pl_http_call_t *call) {
  return call->cancel_requested || call->http->close_pending;
}

/* Stores header i as one block "name\0value\0", the value made of
 * `value_len` bytes of `value` and, when `more` is not NULL, a blank and
 * `more_len` bytes of it; frees the block it replaces. */
static int call_set_header(pl_http_call_t *call, size_t i, const char *name,
                           size_t name_len, const char *value, size_t value_len,
                           const char *more, size_t more_len) {
  size_t total = value_len + (more ? 1 + more_len : 0);
  char *block = malloc(name_len + total + 2);
  if (!block)
    return PL_ENOMEM;
  for (size_t k = 0; k < name_len; k++)
    block[k] = (char)ascii_lower((unsigned char)name[k]);
  block[name_len] = '\0';
  char *v = block + name_len + 1;
  memcpy(v, value, value_len);
  if (more) {
    v[value_len] = ' ';
    memcpy(v + value_len + 1, more, more_len);
  }
  v[total] = '\0';
  if (i < call->resp_header_count)
    free(call->resp_header_text[i]);
  call->resp_header_text[i] = block;
  call->resp_headers[i] = (pl_http_header_t){.name = block, .value = v};
  return 0;
}

/* Narrows [*start, *end) to leave out blanks on both sides. */
static void trim_blanks(const char **start, const char **end) {
  while (*start < *end && (**start == ' ' || **start == '\t'))
    (*start)++;
  while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
    (*end)--;
}

static int call_add_header(pl_http_call_t *call, const char *line, size_t len) {
  /* An obsolete folded line continues the previous value, joined by one
   * blank (RFC 7230, 3.2.4). */
  if ((line[0] == ' ' || line[0] == '\t') && call->resp_header_count > 0) {
    size_t i = call->resp_header_count - 1;
    const pl_http_header_t *last = &call->resp_headers[i];
    const char *more = line, *more_end = line + len;
    trim_blanks(&more, &more_end);
    return call_set_header(call, i, last->name, strlen(last->name), last->value,
                           strlen(last->value), more,
                           (size_t)(more_end - more));
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
    char **text = realloc(call->resp_header_text, cap * sizeof *text);
    if (!text)
      return PL_ENOMEM;
    call->resp_header_text = text;
    call->resp_header_cap = cap;
  }
  size_t name_len = (size_t)(colon - line);
  const char *value = colon + 1;
  const char *end = line + len;
  trim_blanks(&value, &end);
  int rc = call_set_header(call, call->resp_header_count, line, name_len, value,
                           (size_t)(end - value), NULL, 0);
  if (rc == 0)
    call->resp_header_count++;
  return rc;
}

static size_t on_curl_header(char *line, size_t size, size_t count,
                             void *data) {
  pl_http_call_t *call = data;
  size_t len = size * count;
  if (call_stopping(call))
    return 0; /* aborts the transfer; reported as PL_ECANCELED */
  call->last_progress_ms = uv_now(call->http->loop);
  if (call->headers_done)
    return len; /* trailers: not part of the contract */
  size_t text = len;
  while (text > 0 && (line[text - 1] == '\n' || line[text - 1] == '\r'))
    text--;
  if (text == 0) {
    long code = 0;
    call->http->curl.easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code < 200)
      return len; /* an interim response: the real one follows */
    call->headers_done = true;
    call->status = (int)code;
    if (call->handlers.on_headers) {
      pl_http_response_t response = pl__http_curl_call_response(call, false);
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

/* Buffers a piece of a body that is handed over whole, within the limits
 * of http.h. Returning less than `len` ends the transfer: past the limit
 * of a 2xx body the call fails; of an error body the head is all the
 * error parser needs, so the rest is not worth reading. */
static size_t buffer_body(pl_http_call_t *call, const char *bytes, size_t len) {
  bool error_body = call->status >= 300;
  size_t cap = error_body ? PL_HTTP_MAX_ERROR_BODY : call->max_body;
  size_t room = cap - call->resp_body.len;
  size_t keep = len < room ? len : room;
  if (keep > 0 && pl_buf_append(&call->resp_body, bytes, keep) < 0) {
    call->out_of_memory = true;
    return 0;
  }
  if (keep == len)
    return len;
  if (error_body)
    call->body_truncated = true;
  else
    call->too_large = true;
  return 0;
}

static size_t on_curl_body(char *bytes, size_t size, size_t count, void *data) {
  pl_http_call_t *call = data;
  size_t len = size * count;
  if (call_stopping(call))
    return 0;
  call->last_progress_ms = uv_now(call->http->loop);
  if (call->want_paused) {
    /* pause() came from user code inside libcurl (on_headers, or another
     * call's on_body): hold this piece unread; it comes again on resume. */
    call->curl_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  /* An error response's body is for the caller's error parser, never
   * streamed as if it were the content. */
  if (!call->handlers.on_body || call->status >= 300)
    return buffer_body(call, bytes, len);
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

/* ---- Configuring the easy handle ---- */

CURLcode pl__http_curl_call_configure(pl_http_curl_t *http,
                                      pl_http_call_t *call) {
  CURL *e = call->easy;
  CURLcode rc = CURLE_OK;
  call->errbuf[0] = '\0';
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_URL, call->url));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_PRIVATE, (void *)call));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf));
  /* Signals belong to the daemon; the resolver is asynchronous anyway. */
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
#if LIBCURL_VERSION_NUM >= 0x075500
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
#else
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_PROTOCOLS,
                                    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_HTTPHEADER, call->headers));
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_curl_header));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_HEADERDATA, (void *)call));
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_body));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_WRITEDATA, (void *)call));
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
  /* A connection's socket keeps its poll handle between transfers; these
   * tell the loop side when libcurl makes and closes one (a connection
   * keeps the callbacks of the transfer that opened it). */
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION,
                                         pl__http_curl_on_close_socket));
  keep_first(&rc,
             http->curl.easy_setopt(e, CURLOPT_CLOSESOCKETDATA, (void *)http));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_SOCKOPTFUNCTION,
                                         pl__http_curl_on_sockopt));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_SOCKOPTDATA, (void *)http));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
                                         http->tls_verify ? 1L : 0L));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
                                         http->tls_verify ? 2L : 0L));
  if (http->ca_file)
    keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_CAINFO, http->ca_file));
  /* Timed from the start of the transfer, not from submit: waiting in the
   * host's queue is back-pressure, not a slow server. */
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_TIMEOUT_MS,
                                         clamp_ms(call->timeout_ms)));
  keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                         clamp_ms(call->connect_timeout_ms)));
  if (call->has_body) {
    /* Our copy outlives the transfer, so libcurl need not copy it again. */
    keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                                           (curl_off_t)call->body_len));
    keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_POSTFIELDS,
                                           call->body ? call->body : ""));
    keep_first(&rc,
               http->curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method));
  } else if (strcmp(call->method, "HEAD") == 0) {
    keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else {
    keep_first(&rc, http->curl.easy_setopt(e, CURLOPT_HTTPGET, 1L));
    if (strcmp(call->method, "GET") != 0)
      keep_first(
          &rc, http->curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method));
  }
  return rc;
}

/* ---- Copying the request ---- */

/* Appends `len` bytes of `text` at *at and moves it past them. */
static void put(char **at, const char *text, size_t len) {
  memcpy(*at, text, len);
  *at += len;
}

/* Copies the request into the call, which then owns it, in one block
 * (call->block): the header list libcurl sends, as curl_slist nodes over
 * "Name: value" texts ("Name;" is libcurl's spelling of a header with an
 * empty value), then the method, the URL and the body. The list ends
 * with the removal of libcurl's defaults that would change what the
 * caller signed: no "Expect: 100-continue" round trip, no blanket Accept
 * header, and no form Content-Type on bodies. */
int pl__http_curl_call_copy_request(pl_http_call_t *call,
                                    const pl_http_request_t *request) {
  call->has_body = request->body_len > 0 ||
                   strcmp(request->method, "POST") == 0 ||
                   strcmp(request->method, "PUT") == 0 ||
                   strcmp(request->method, "PATCH") == 0;
  call->body_len = request->body_len;
  call->timeout_ms = request->timeout_ms;
  call->read_timeout_ms = request->read_timeout_ms;
  call->max_body = request->max_body ? request->max_body : PL_HTTP_MAX_BODY;
  call->connect_timeout_ms = request->connect_timeout_ms
                                 ? request->connect_timeout_ms
                                 : DEFAULT_CONNECT_TIMEOUT_MS;
  bool expect = false, accept = false, content_type = false;
  size_t text = 0;
  for (size_t i = 0; i < request->header_count; i++) {
    const pl_http_header_t *h = &request->headers[i];
    size_t name_len, value_len;
    if (!pl__http_header_sendable(h, &name_len, &value_len))
      return PL_EINVAL;
    expect |= pl__http_case_equal(h->name, "expect");
    accept |= pl__http_case_equal(h->name, "accept");
    content_type |= pl__http_case_equal(h->name, "content-type");
    text += name_len + (value_len ? 2 + value_len : 1) + 1;
  }
  const char *removals[] = {
      expect ? NULL : "Expect:", accept ? NULL : "Accept:",
      content_type || !call->has_body ? NULL : "Content-Type:"};
  size_t nodes = request->header_count;
  for (size_t i = 0; i < sizeof removals / sizeof *removals; i++)
    if (removals[i]) {
      nodes++;
      text += strlen(removals[i]) + 1;
    }
  size_t method_len = strlen(request->method) + 1;
  size_t url_len = strlen(request->url) + 1;
  char *block = malloc(nodes * sizeof(struct curl_slist) + text + method_len +
                       url_len + request->body_len);
  if (!block)
    return PL_ENOMEM;
  call->block = block;
  struct curl_slist *node = (struct curl_slist *)(void *)block;
  char *at = block + nodes * sizeof *node;
  size_t k = 0;
  for (size_t i = 0; i < request->header_count; i++, k++) {
    const pl_http_header_t *h = &request->headers[i];
    node[k].data = at;
    put(&at, h->name, strlen(h->name));
    if (*h->value) {
      put(&at, ": ", 2);
      put(&at, h->value, strlen(h->value));
    } else {
      put(&at, ";", 1);
    }
    *at++ = '\0';
  }
  for (size_t i = 0; i < sizeof removals / sizeof *removals; i++)
    if (removals[i]) {
      node[k++].data = at;
      put(&at, removals[i], strlen(removals[i]) + 1);
    }
  for (k = 0; k < nodes; k++)
    node[k].next = k + 1 < nodes ? &node[k + 1] : NULL;
  call->headers = nodes ? node : NULL;
  call->method = at;
  put(&at, request->method, method_len);
  call->url = at;
  put(&at, request->url, url_len);
  call->body = request->body_len ? at : NULL;
  if (request->body_len)
    memcpy(at, request->body, request->body_len);
  return 0;
}
