/* fake_aws: a fast loopback fake of the AWS operations pipelined calls,
 * for benchmarks (bench/far-away) and their test
 * (tests/e2e/fake_aws.sh). Answers are those of fake_aws_answers.h; this file
 * is the server: HTTP/1.1 with keep-alive on one libuv loop, each answer
 * held `latency` ms by a timer (not a sleep: any number of requests wait
 * at once), so that it stands for a service far away. Each held answer is
 * due at its request's arrival plus the latency, to the nanosecond; the
 * answers wait in a heap by that time, and one timerfd is set to the
 * first: libuv's own timers count whole milliseconds of a clock read once
 * per turn of the loop, so they held answers 19 to 21 ms for 20 and let
 * out together every answer due in the same millisecond, bunches that a
 * real network does not make; a timerfd per connection cost four system
 * calls per answer, which made the answers of a bunch late by 0.65 ms on
 * average (docs/performance.md, "Far away").
 *
 *   fake_aws [--port N] [--latency MS] [--dynamodb-latency MS]
 *            [--throttle F] [--messages N] [--object-rows N]
 *            [--empty-wait MS] [--save-requests DIR]
 *
 * It listens on 127.0.0.1 only and prints the port it got (--port 0, the
 * default, picks one) on the first line of stdout. SIGTERM or SIGINT stop
 * it; it then prints its counts (GET /__stats's JSON) on stdout and exits
 * 0. POST /__control?throttle=F&latency=MS&dynamodb_latency=MS changes the
 * throttled fraction and the latencies while it runs (dynamodb_latency:
 * of DynamoDB's answers alone, e.g. to stall a sink while SQS goes on;
 * -1, the default: as latency). An answer is held the latency in force
 * when its request arrived. --save-requests writes the first request of
 * each operation, as it came (headers and body), to DIR/OPERATION.http,
 * for bench/tools/wire_floor to send again. */
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include "tool_number.h"

#include "fake_aws_answers.h"
#include "fake_aws_held.h"
#include "fake_aws_stats.h"

typedef struct conn conn_t;

typedef struct server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_signal_t sigterm, sigint;
  fake_state_t state;
  uint64_t start_ms;
  uint64_t in_flight;
  uint64_t answers; /* request ids */
  conn_t *conns;    /* open connections, to close at stop */
  int timer_fd;     /* a timerfd: when the first held answer is due */
  uv_poll_t timer;  /* watches timer_fd */
  fake_held_t held; /* the answers held, by due time (conn_t's `held`) */
  const char *save_dir;      /* --save-requests, or NULL */
  bool saved[FAKE_OP_COUNT]; /* an operation's first request saved */
} server_t;

struct conn {
  uv_tcp_t tcp;
  fake_held_entry_t held; /* its answer's due time (uv_hrtime), when held */
  uv_write_t write;
  server_t *srv;
  conn_t *prev, *next;
  fake_buf_t in;  /* bytes received and not yet answered */
  fake_buf_t out; /* the answer being written */
  fake_answer_t answer;
  bool busy;      /* a request is being answered */
  bool continued; /* "100 Continue" sent for the request being read */
  bool keep_alive;
  bool closing;
};

static uint64_t now_ms(server_t *srv) {
  return uv_now(srv->loop) - srv->start_ms;
}

/* The connection's one handle is closed: nothing points to it any more. */
static void on_conn_closed(uv_handle_t *handle) {
  conn_t *c = handle->data;
  fake_buf_free(&c->in);
  fake_buf_free(&c->out);
  fake_answer_free(&c->answer);
  free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  fake_held_remove(&c->srv->held, &c->held);
  if (c->busy) { /* the answer never went out */
    c->srv->in_flight--;
    fake_state_in_flight(&c->srv->state, c->srv->in_flight, now_ms(c->srv));
  }
  if (c->prev)
    c->prev->next = c->next;
  else
    c->srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 206:
    return "Partial Content";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  default:
    return "Service Unavailable";
  }
}

static void process(conn_t *c);

/* --save-requests: the first request of its operation to the directory
 * (the request is c->in's first `size` bytes); not a request of no
 * operation the fake knows (/__stats, /__control, a 404). A file that cannot be
 * written is said once on stderr; the answer goes out all the same. */
static void save_request(server_t *srv, fake_op_t op, const char *request,
                         size_t size) {
  if (!srv->save_dir || op == FAKE_OP_OTHER || srv->saved[op])
    return;
  srv->saved[op] = true;
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/%s.http", srv->save_dir,
                   fake_op_name(op));
  if (n < 0 || (size_t)n >= sizeof path) {
    fprintf(stderr, "fake_aws: --save-requests: the directory's name is too "
                    "long\n");
    return;
  }
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(request, 1, size, f) == size;
  if (f && fclose(f) != 0)
    ok = false;
  if (!ok)
    fprintf(stderr, "fake_aws: cannot save the request to %s\n", path);
}

static void on_written(uv_write_t *req, int status) {
  conn_t *c = req->data;
  server_t *srv = c->srv;
  if (c->closing)
    return;
  c->busy = false;
  srv->in_flight--;
  fake_state_in_flight(&srv->state, srv->in_flight, now_ms(srv));
  fake_answer_sent(&srv->state, &c->answer, now_ms(srv));
  fake_answer_free(&c->answer);
  c->out.len = 0;
  if (status < 0 || !c->keep_alive) {
    conn_close(c);
    return;
  }
  process(c);
}

static void send_answer(conn_t *c) {
  const fake_answer_t *a = &c->answer;
  bool ok = fake_buf_printf(
      &c->out,
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
      "x-amzn-RequestId: fake-%llu\r\n%s%s\r\n",
      a->status, reason(a->status), a->content_type, a->body.len,
      (unsigned long long)++c->srv->answers, a->headers.data ? a->headers.data : "",
      c->keep_alive ? "" : "Connection: close\r\n");
  if (ok && !a->head)
    ok = fake_buf_add(&c->out, a->body.data, a->body.len);
  uv_buf_t buf = uv_buf_init(c->out.data, (unsigned)c->out.len);
  if (!ok || uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0)
    conn_close(c);
}

/* ---- Held answers ---- */

static conn_t *conn_of(fake_held_entry_t *e) {
  return (conn_t *)(void *)((char *)e - offsetof(conn_t, held));
}

/* Sets the timerfd to the first answer due; false when it cannot. */
static bool arm(server_t *srv) {
  const fake_held_entry_t *first = fake_held_first(&srv->held);
  if (!first)
    return uv_poll_stop(&srv->timer) == 0;
  uint64_t due = first->due_ns;
  struct itimerspec when = {.it_value = {.tv_sec = (time_t)(due / 1000000000u),
                                         .tv_nsec = (long)(due % 1000000000u)}};
  if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0)
    when.it_value.tv_nsec = 1; /* zero would disarm it */
  return timerfd_settime(srv->timer_fd, TFD_TIMER_ABSTIME, &when, NULL) == 0;
}

static void on_timer(uv_poll_t *timer, int status, int events) {
  (void)events;
  server_t *srv = timer->data;
  uint64_t expirations;
  if (status == 0 && read(srv->timer_fd, &expirations, sizeof(expirations)) !=
                         (ssize_t)sizeof(expirations))
    return; /* not due yet (a spurious wake-up) */
  /* The clock read again for each answer: one that waits behind the
   * others of its bunch is counted as late as it goes out. */
  fake_held_entry_t *first;
  uint64_t now;
  while ((first = fake_held_first(&srv->held)) &&
         first->due_ns <= (now = uv_hrtime())) {
    conn_t *c = conn_of(first);
    fake_state_late(&srv->state, now - first->due_ns);
    fake_held_remove(&srv->held, first);
    send_answer(c);
  }
  if (!arm(srv))
    fprintf(stderr, "fake_aws: cannot set the timer\n");
}

/* Holds c's answer until `delay_ms` after now; false when the timer
 * cannot be set or there is no memory for the heap. */
static bool hold(conn_t *c, uint64_t delay_ms) {
  server_t *srv = c->srv;
  c->held.due_ns = uv_hrtime() + delay_ms * 1000000u; /* CLOCK_MONOTONIC */
  if (!fake_held_push(&srv->held, &c->held))
    return false;
  if (fake_held_first(&srv->held) != &c->held)
    return true; /* the timer is set for an earlier answer */
  return arm(srv) && uv_poll_start(&srv->timer, UV_READABLE, on_timer) == 0;
}

static void refuse(conn_t *c) {
  static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n";
  uv_buf_t buf = uv_buf_init((char *)bad, sizeof(bad) - 1);
  uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  conn_close(c);
}

/* Answers the next whole request in c->in, if there is one and none is
 * being answered. */
static void process(conn_t *c) {
  if (c->busy || c->closing)
    return;
  server_t *srv = c->srv;
  fake_aws_http_request_t req;
  switch (fake_aws_http_parse(c->in.data, c->in.len, &req)) {
  case FAKE_AWS_HTTP_BAD:
    refuse(c);
    return;
  case FAKE_AWS_HTTP_MORE:
    if (req.headers_done && req.expect_continue && !c->continued) {
      static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
      uv_buf_t buf = uv_buf_init((char *)go, sizeof(go) - 1);
      uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
      c->continued = true;
    }
    return;
  case FAKE_AWS_HTTP_DONE:
    break;
  }
  if (!fake_answer(&srv->state, &req, now_ms(srv), &c->answer)) {
    fprintf(stderr, "fake_aws: out of memory\n");
    conn_close(c);
    return;
  }
  save_request(srv, c->answer.op, c->in.data, req.size);
  c->keep_alive = req.keep_alive;
  c->continued = false;
  memmove(c->in.data, c->in.data + req.size, c->in.len - req.size);
  c->in.len -= req.size;
  c->busy = true;
  srv->in_flight++;
  fake_state_in_flight(&srv->state, srv->in_flight, now_ms(srv));
  if (c->answer.delay_ms == 0)
    send_answer(c);
  else if (!hold(c, c->answer.delay_ms)) {
    fprintf(stderr, "fake_aws: cannot set a timer\n");
    conn_close(c);
  }
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf) {
  conn_t *c = handle->data;
  size_t want = c->in.len + 65536 + 1;
  if (c->in.cap < want) {
    char *data = realloc(c->in.data, want);
    if (!data) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->in.data = data;
    c->in.cap = want;
  }
  *buf = uv_buf_init(c->in.data + c->in.len,
                     (unsigned)(c->in.cap - c->in.len - 1));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = stream->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  c->in.len += (size_t)nread;
  if (c->in.len > FAKE_AWS_HTTP_MAX_HEADERS + FAKE_AWS_HTTP_MAX_BODY) {
    refuse(c);
    return;
  }
  process(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  server_t *srv = listener->data;
  if (status < 0)
    return;
  conn_t *c = calloc(1, sizeof(*c));
  if (!c)
    return;
  c->srv = srv;
  c->held.at = FAKE_HELD_NONE;
  c->tcp.data = c->write.data = c;
  uv_tcp_init(srv->loop, &c->tcp);
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *signal, int signum) {
  server_t *srv = signal->data;
  fake_buf_t stats = {0};
  if (fake_stats_json(&srv->state, now_ms(srv), &stats))
    fputs(stats.data, stdout);
  fflush(stdout);
  fake_buf_free(&stats);
  uv_close((uv_handle_t *)&srv->sigterm, NULL);
  uv_close((uv_handle_t *)&srv->sigint, NULL);
  uv_close((uv_handle_t *)&srv->listener, NULL);
  uv_close((uv_handle_t *)&srv->timer, NULL);
  while (srv->conns)
    conn_close(srv->conns);
}

static int usage(const char *why) {
  fprintf(stderr,
          "fake_aws: %s\nusage: fake_aws [--port N] [--latency MS] "
          "[--dynamodb-latency MS] [--throttle F] [--messages N] "
          "[--object-rows N] [--empty-wait MS] [--save-requests DIR]\n",
          why);
  return 2;
}

int main(int argc, char **argv) {
  static const struct option longs[] = {
      {"port", required_argument, NULL, 'p'},
      {"latency", required_argument, NULL, 'l'},
      {"dynamodb-latency", required_argument, NULL, 'd'},
      {"throttle", required_argument, NULL, 't'},
      {"messages", required_argument, NULL, 'm'},
      {"object-rows", required_argument, NULL, 'o'},
      {"empty-wait", required_argument, NULL, 'e'},
      {"save-requests", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0},
  };
  double port = 0, latency = 0, dynamodb_latency = -1, throttle = 0,
         messages = 0, rows = 1000, empty_wait = 1000;
  const char *save_dir = NULL;
  int opt;
  while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    bool ok = false;
    switch (opt) {
    case 's':
      save_dir = optarg;
      ok = *optarg != '\0';
      break;
    case 'p':
      ok = tool_count(optarg, 0, 65535, &port);
      break;
    case 'l':
      ok = tool_number(optarg, 0, 60000, &latency);
      break;
    case 'd':
      ok = tool_number(optarg, -1, 60000, &dynamodb_latency);
      break;
    case 't':
      ok = tool_number(optarg, 0, 1, &throttle);
      break;
    case 'm':
      ok = tool_count(optarg, 0, 1e9, &messages);
      break;
    case 'o':
      ok = tool_count(optarg, 0, 1e8, &rows);
      break;
    case 'e':
      ok = tool_number(optarg, 0, 60000, &empty_wait);
      break;
    default:
      return usage("unknown option");
    }
    if (!ok)
      return usage("a value is out of range");
  }
  if (optind < argc)
    return usage("no arguments besides the options");

  server_t srv = {.loop = uv_default_loop(), .save_dir = save_dir};
  if (!fake_state_init(&srv.state, (uint64_t)messages)) {
    fprintf(stderr, "fake_aws: out of memory\n");
    return 1;
  }
  srv.state.latency_ms = (uint64_t)latency;
  srv.state.dynamodb_latency_ms =
      dynamodb_latency < 0 ? -1 : (int64_t)dynamodb_latency;
  srv.state.throttle = throttle;
  srv.state.object_rows = (uint64_t)rows;
  srv.state.empty_wait_ms = (uint64_t)empty_wait;
  srv.start_ms = uv_now(srv.loop);
  srv.listener.data = srv.sigterm.data = srv.sigint.data = srv.timer.data =
      &srv;
  srv.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (srv.timer_fd < 0 ||
      uv_poll_init(srv.loop, &srv.timer, srv.timer_fd) < 0) {
    fprintf(stderr, "fake_aws: cannot make a timer\n");
    return 1;
  }
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", (int)port, &addr);
  uv_tcp_init(srv.loop, &srv.listener);
  int rc = uv_tcp_bind(&srv.listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&srv.listener, 1024, on_connection);
  if (rc < 0) {
    fprintf(stderr, "fake_aws: cannot listen on 127.0.0.1:%d: %s\n", (int)port,
            uv_strerror(rc));
    uv_close((uv_handle_t *)&srv.listener, NULL);
    uv_close((uv_handle_t *)&srv.timer, NULL);
    uv_run(srv.loop, UV_RUN_DEFAULT);
    uv_loop_close(srv.loop);
    close(srv.timer_fd);
    fake_state_close(&srv.state);
    return 1;
  }
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&bound, &len);
  uv_signal_init(srv.loop, &srv.sigterm);
  uv_signal_init(srv.loop, &srv.sigint);
  uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
  uv_signal_start(&srv.sigint, on_signal, SIGINT);
  /* Last: once the port is out, SIGTERM prints the counts. */
  printf("%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  uv_run(srv.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(srv.loop);
  close(srv.timer_fd);
  fake_held_free(&srv.held);
  fake_state_close(&srv.state);
  if (rc < 0) {
    fprintf(stderr, "fake_aws: a handle was left open at exit\n");
    return 1;
  }
  return 0;
}
