/* The calls of an AWS client (aws_call.c) and the client they belong to
 * (aws.c, the public API of <pipelined/aws.h>): the two structures both
 * files read, and what aws.c asks of a call. */
#ifndef PL_AWS_CALL_H
#define PL_AWS_CALL_H

#include <pipelined/aws.h>
#include <pipelined/plugin.h>

#include "aws_context.h"
#include "concurrency.h"
#include "endpoint.h"
#include "dlist.h"
#include "retry.h"
#include "sigv4.h"

#define PL_AWS_DEFAULT_IN_FLIGHT 16
/* See response_limit() in aws_call.c. */
#define PL_AWS_MAX_RECEIVE_BODY ((size_t)64 << 20)

typedef enum { CALL_JSON, CALL_REST } call_kind_t;

/* Texts a call owns besides its headers: a REST call's operation, method,
 * URL, path and query. */
#define PL_AWS_CALL_OWNED 5
/* Headers a call holds without allocating: a JSON call's three. */
#define PL_AWS_CALL_HEADER_ROOM 4

struct pl_aws_client {
  pl_instance_t *inst;
  pl_aws_context_t *ctx;
  char *service;
  char *region;
  pl_aws_region_source_t region_source; /* where region came from */
  pl_aws_endpoint_t endpoint;
  pl_aws_url_t url;
  /* The URL ("<endpoint>/"), its path and the Host header value of every
   * JSON call, made at the first one (NULL before): each call copies them
   * instead of formatting and parsing the endpoint again. */
  char *json_url;
  char *json_path;
  char *json_host;
  pl_aws_retry_config_t retry;
  pl_aws_retry_bucket_t bucket;
  /* Credentials refused as expired, said at growing intervals. */
  pl_complain_t stale_credentials;
  /* The signing key of the day, derived once for all calls. */
  pl_aws_sigv4_key_cache_t key_cache;
  /* How many calls may hold a slot at once: max_in_flight, or less while
   * it adapts (a sink's client, pl_aws_sink_start). */
  pl_aws_concurrency_t concurrency;
  bool reports_limit; /* tells the stage each change, for /metrics */
  size_t in_flight;
  pl_dlist_t calls;   /* every live call (pl_aws_call_t.node) */
  pl_dlist_t waiting; /* FIFO of calls over the limit (.wait_node) */
  bool destroying;
  bool cancelling; /* inside pl_aws_client_destroy(): do not free yet */
};

struct pl_aws_call {
  pl_aws_client_t *client;
  pl_dlist_node_t node;      /* in client->calls */
  pl_dlist_node_t wait_node; /* in client->waiting, while `waiting` */
  bool waiting;
  call_kind_t kind;
  /* The call's texts. Each is the call's own (in `owned`, or a header's
   * block in `header_text`), a literal, or its client's: a JSON call's
   * URL, path and Host, which outlive it (a client is freed after its
   * last call). A JSON call copies only its X-Amz-Target. */
  const char *operation;
  const char *method;
  const char *url;
  const char *path;               /* as sent, for signing */
  const char *query;              /* or NULL */
  char *owned[PL_AWS_CALL_OWNED]; /* freed with the call; NULL when unused */
  size_t header_count;
  size_t header_cap; /* room in headers and header_text */
  /* header_room and header_text_room, or malloc()ed arrays past them */
  pl_http_header_t *headers;
  char **header_text; /* a header's "name\0value\0" when the call's own,
                         else NULL (the name and value are not the call's) */
  pl_http_header_t header_room[PL_AWS_CALL_HEADER_ROOM];
  char *header_text_room[PL_AWS_CALL_HEADER_ROOM];
  char *body;
  size_t body_len;
  bool s3;
  uint64_t wait_ms; /* a long poll's wait (SQS WaitTimeSeconds) */
  pl_aws_retry_state_t retry;
  /* Which credentials signed the attempt in flight
   * (pl_aws_credentials_t.generation). */
  uint64_t creds_generation;
  pl_http_call_t *http;
  uint64_t sent_ns; /* uv_hrtime() when this attempt was sent */
  uint64_t epoch;   /* of client->concurrency when it was sent */
  uv_timer_t timer; /* backoff, or a failure to send; initialised on
                       first use */
  int send_error;   /* a failure to send, handed over from the loop */
  const char *send_error_text; /* a literal */
  bool timer_open;
  bool started;      /* counted in in_flight */
  /* Its credentials are being fetched: on_credentials is to run (a
   * cancel takes it off the provider's list first). */
  bool awaiting_credentials;
  bool body_started; /* a streamed body byte reached the caller */
  bool paused;
  bool finished;
  bool cancel_asked; /* by pl_aws_client_destroy(), once */
  pl_aws_json_cb json_cb;
  pl_aws_json_text_cb text_cb; /* instead of json_cb: the answer's text */
  pl_aws_rest_handlers_t rest;
  void *data;
};

/* Frees a call that was never submitted (or whose timer is closed). */
void pl__aws_call_free(pl_aws_call_t *call);
/* Puts a built call on its client: started now, or when a slot frees. */
void pl__aws_call_submit(pl_aws_client_t *client, pl_aws_call_t *call);
/* Cancels a call: its callback runs with code "Canceled", now or when the
 * transport gives it back. */
void pl__aws_call_cancel(pl_aws_call_t *call);
/* Makes the client of a sink's stage adapt its concurrency (or keep it
 * fixed, as the stage's `concurrency` option says) and report its limit
 * to the stage. */
void pl__aws_client_adapt(pl_aws_client_t *client);
/* Frees a client being destroyed once its last call is over. */
void pl__aws_client_maybe_free(pl_aws_client_t *client);

#endif
