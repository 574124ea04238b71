/* What the builtin HTTP/1.1 client's transport (http_h1.c), its
 * connection side (http_h1_conn.c) and its pools (http_h1_pool.c) share:
 * the transport, call, pool and connection structures, and the connection
 * functions the others drive. Internal to the client; its face is
 * http_h1.h. */
#ifndef PL_AWS_HTTP_H1_CONN_H
#define PL_AWS_HTTP_H1_CONN_H

#include <pipelined/common.h>

#include "dlist.h"
#include "http.h"
#include "http_h1.h"
#include "http_h1_parse.h"
#include "tls.h"

#include <uv.h>

typedef struct h1_pool h1_pool_t;
typedef struct h1_conn h1_conn_t;
typedef struct pl_http_h1_call h1_call_t;

typedef enum {
  H1_CALL_RESOLVING, /* waiting for its pool's addresses */
  H1_CALL_RUNNING,   /* on a connection (connecting, writing or reading) */
  H1_CALL_DONE,      /* in the done list, its on_done not yet run */
  H1_CALL_RELAYED,   /* handed to the fallback transport */
} h1_call_state_t;

/* One request. The vtable hands it out as a pl_http_call_t. */
struct pl_http_h1_call {
  pl_http_h1_t *h1;
  pl_dlist_node_t node;      /* in h1->calls, or h1->done */
  pl_dlist_node_t wait_node; /* in pool->resolving */
  h1_call_state_t state;
  pl_http_handlers_t handlers;
  h1_pool_t *pool;
  h1_conn_t *conn;  /* while running */
  pl_buf_t request; /* the request line, headers and body: one write */
  bool head;
  bool retried;      /* sent again after a reused connection closed */
  bool fresh_conn;   /* the retry must not take an idle connection */
  bool headers_told; /* on_headers ran */
  /* A streamed download (handlers.on_body): its 2xx body goes to on_body
   * as it is read. While `paused` the connection is not read; what was
   * read already waits: body bytes not yet given to on_body
   * (`undelivered`), bytes of the answer not yet parsed (`unread`), or the
   * answer's end (`done_held`, the connection then reusable or not as
   * `keep_held`). pl__http_h1_conn_resume() goes on from there, from the
   * loop (h1->resuming). */
  bool streamed;
  bool paused;
  bool resuming;
  bool done_held;
  bool keep_held;
  pl_buf_t undelivered;
  pl_buf_t unread;
  pl_dlist_node_t resume_node; /* in h1->resuming, while `resuming` */
  uint64_t started_ms;
  uint64_t last_progress_ms; /* the write or the last byte read */
  uint64_t timeout_ms;
  uint64_t connect_timeout_ms;
  uint64_t read_timeout_ms;
  size_t max_body;
  pl_http_h1_parser_t parser;
  pl_buf_t body;
  bool too_large;
  bool body_truncated;
  int error;
  const char *error_text;
  char errbuf[256];
  /* H1_CALL_RELAYED: the fallback's call and the caller's handlers. */
  const pl_http_transport_t *fallback;
  pl_http_call_t *relayed;
};

/* A resolution in flight; it outlives its pool when the transport closes
 * (the pointer is cleared and the callback only frees it). */
typedef struct h1_resolver {
  uv_getaddrinfo_t req;
  pl_http_h1_t *h1;
  h1_pool_t *pool;
} h1_resolver_t;

enum { H1_MAX_ADDRS = 8 };

/* One scheme://host:port: its idle connections (most recently used last),
 * its resolved addresses and the calls waiting for them. */
struct h1_pool {
  h1_pool_t *next;
  pl_dlist_t idle;      /* h1_conn_t.idle_node */
  pl_dlist_t resolving; /* h1_call_t.wait_node */
  h1_resolver_t *resolver;
  struct sockaddr_storage addrs[H1_MAX_ADDRS];
  size_t addr_count;
  uint64_t resolved_ms;
  bool numeric;      /* an IP literal: resolved once, for good */
  bool tls;          /* https:// */
  size_t scheme_len; /* of "http://" or "https://" in the key */
  char *host;        /* without IPv6 brackets (owned) */
  char port[8];
  size_t key_len;
  char key[]; /* "http://host:port" as the URLs spell it (or https) */
};

struct h1_conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  pl_http_h1_t *h1;
  h1_pool_t *pool;
  pl_dlist_node_t node;      /* in h1->conns */
  pl_dlist_node_t idle_node; /* in pool->idle, while `idle` */
  h1_call_t *call;        /* the one request it carries, or NULL */
  pl_tls_t *tls;          /* https: the session (owned) */
  /* Bytes the socket did not take at once: in flight (wbuf) and waiting
   * for that write to end (wnext). */
  pl_buf_t wbuf;
  pl_buf_t wnext;
  bool writing;
  size_t addr_index;
  uint64_t connect_started_ms;
  uint64_t idle_since_ms;
  unsigned served; /* requests completed on it */
  bool connected;
  bool idle;
  bool closing;
  bool read_stopped; /* its call is paused: the socket is not read */
  char addr[64]; /* "127.0.0.1:4566", for error texts */
};

struct pl_http_h1 {
  uv_loop_t *loop;
  const pl_http_transport_t *fallback; /* borrowed */
  bool tls_verify;
  char *ca_file;             /* owned, or NULL */
  pl_tls_context_t *tls_ctx; /* made at the first https request */
  bool tls_failed;           /* it could not be made: https relayed */
  pl_http_transport_t vtable;
  /* Both run on_done of finished calls: the check right after the poll
   * whose I/O ended them, in the same turn of the loop; the idle keeps
   * that poll from waiting when a call ended outside it. */
  uv_check_t deliver_now;
  uv_idle_t deliver;
  uv_timer_t watchdog; /* connect, whole and read timeouts */
  h1_pool_t *pools;
  pl_dlist_t conns; /* h1_conn_t.node */
  pl_dlist_t calls; /* resolving and running (h1_call_t.node) */
  pl_dlist_t done;  /* h1_call_t.node */
  pl_dlist_t resuming; /* h1_call_t.resume_node: paused calls resumed */
  unsigned handles_open;
  unsigned resolvers_open;
  bool delivering;
  bool closing;
  bool deliver_closing;
  void (*closed)(void *data);
  void *closed_data;
  char readbuf[64 << 10];  /* every read lands here, parsed at once */
  char plainbuf[16 << 10]; /* what TLS decrypts of it, parsed at once */
};

/* ---- Provided by http_h1.c to the connection side ---- */

/* Ends a resolving or running call with `error` (0: success), detached
 * from its connection, and queues its on_done. */
void pl__http_h1_call_finish(h1_call_t *call, int error);
/* The call's deadlines moved (a connection started, its request went
 * out): the watchdog fires no later than the earliest of them. */
void pl__http_h1_call_rearm(h1_call_t *call);
/* Frees the transport once it is closing and nothing is left open. */
void pl__http_h1_maybe_free(pl_http_h1_t *h1);

/* ---- Connections (http_h1_conn.c) ---- */

/* Puts a call whose pool is known on a connection: an idle one (unless
 * call->fresh_conn), else a new one, resolving the host first when its
 * addresses are unknown or older than 60 s. Failures end the call. */
void pl__http_h1_conn_start(h1_call_t *call);
/* Opens a new connection for a running call to its pool's address
 * `addr_index` (the next after a refused one); failures end the call. */
void pl__http_h1_conn_connect(h1_call_t *call, size_t addr_index);
/* Closes a connection; the call it carries, if any, is detached first
 * and left to the caller. */
void pl__http_h1_conn_close(h1_conn_t *conn);
/* Runs on_headers of a call whose headers are read, once. */
void pl__http_h1_tell_headers(h1_call_t *call);
/* A streamed call paused: its connection stops reading, once its TLS
 * handshake (if any) has ended: a handshake moves only as it is read. */
void pl__http_h1_conn_pause(h1_call_t *call);
/* A paused call resumed (called from the loop, never from inside the
 * caller's pl_http_resume): what was read goes on to on_body, the rest of
 * the answer is read again, and the answer ends if it had. */
void pl__http_h1_conn_resume(h1_call_t *call);

/* What take_body() returns to stop the parser when on_body paused the
 * call (not a PL_E* code: the parser passes it back to the reader). */
enum { H1_BODY_PAUSED = -1000 };
#endif
