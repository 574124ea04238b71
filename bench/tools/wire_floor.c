/* wire_floor: what the wire alone costs a client on this machine. It
 * sends one request, byte for byte as a file holds it (one that pipelined
 * sent, saved by fake_aws --save-requests), again and again over
 * keep-alive connections to bench/tools/fake_aws on loopback, each
 * connection sending its next request when the answer to the last one has
 * been read whole, and prints the CPU that took: the system calls, the
 * kernel's TCP work and the loop, with no signing, no JSON and no record
 * behind the requests. bench/floor sets that beside pipelined's own
 * figure: what pipelined spends beyond it is its own work.
 *
 *   wire_floor --port N [--connections C] [--requests N] [--timeout S] FILE
 *
 * It connects to 127.0.0.1 only, with C connections (default 16: the
 * sinks' default max_in_flight), and sends N requests in all (default
 * 10,000). An answer is read up to the end of its headers and its
 * Content-Length (an interim 1xx answer, such as "100 Continue", is
 * passed over); one that is not "HTTP/1.1 2xx" with a Content-Length, a
 * closed connection, a short count or a run longer than S seconds
 * (default 120) fails it (exit 1, why on stderr). On success it prints one line
 * of JSON: requests, connections, request bytes, answer bytes, wall_s, user_s,
 * sys_s (getrusage of this process, start-up included: a millisecond) and
 * max_rss_kib. */
#define _GNU_SOURCE /* memmem */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "tool_number.h"

/* The most an answer may hold: fake_aws's largest is a ReceiveMessage of
 * ten messages, a few KiB. */
#define MAX_ANSWER (1u << 20)

typedef struct floor_run floor_run_t;

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  bool writing; /* `write` is in use (the rest of a request) */
  floor_run_t *run;
  char *in; /* what was read and not yet taken as an answer */
  size_t in_len;
} conn_t;

struct floor_run {
  uv_loop_t *loop;
  uv_timer_t deadline; /* --timeout */
  const char *request; /* the file's bytes, borrowed by every write */
  size_t request_len;
  uint64_t total, sent, answered, answer_bytes;
  conn_t *conns;
  size_t conn_count;
  size_t opened;       /* conns[0 .. opened) have their handle */
  const char *failure; /* the first failure, or NULL */
};

/* Closes the connections and the deadline, which ends the loop. */
static void stop(floor_run_t *run) {
  for (size_t i = 0; i < run->opened; i++)
    if (!uv_is_closing((uv_handle_t *)&run->conns[i].tcp))
      uv_close((uv_handle_t *)&run->conns[i].tcp, NULL);
  if (!uv_is_closing((uv_handle_t *)&run->deadline))
    uv_close((uv_handle_t *)&run->deadline, NULL);
}

static void fail(floor_run_t *run, const char *why) {
  if (!run->failure)
    run->failure = why;
  stop(run);
}

static void on_deadline(uv_timer_t *timer) {
  fail(timer->data, "the run took longer than --timeout");
}

static void on_written(uv_write_t *req, int status) {
  conn_t *c = req->data;
  c->writing = false;
  if (status < 0)
    fail(c->run, "a request could not be written");
}

/* Sends the next request on `c`, or closes it when all were sent. */
static void send_next(conn_t *c) {
  floor_run_t *run = c->run;
  if (run->sent == run->total) {
    uv_close((uv_handle_t *)&c->tcp, NULL);
    if (run->answered == run->total)
      stop(run); /* the last answer: the deadline goes too */
    return;
  }
  if (c->writing) {
    /* An answer before its request was all written. */
    fail(run, "an answer came before its request was written");
    return;
  }
  run->sent++;
  uv_buf_t buf = uv_buf_init((char *)run->request, (unsigned)run->request_len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  if (n == (int)run->request_len)
    return;
  /* The socket took part of it (or none): the loop writes the rest. */
  size_t done = n > 0 ? (size_t)n : 0;
  buf = uv_buf_init((char *)run->request + done,
                    (unsigned)(run->request_len - done));
  if ((n < 0 && n != UV_EAGAIN) ||
      uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0) {
    fail(run, "a request could not be written");
    return;
  }
  c->writing = true;
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn_t *c = handle->data;
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(MAX_ANSWER - c->in_len));
}

/* The length of the whole answer at the start of c->in: 0 while it has
 * not all arrived, SIZE_MAX when it is not one this client takes. An
 * interim answer (1xx) sets *interim: its head is all of it. */
static size_t answer_length(const conn_t *c, bool *interim) {
  const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
  if (!end)
    return c->in_len == MAX_ANSWER ? SIZE_MAX : 0;
  size_t head = (size_t)(end - c->in) + 4;
  *interim = head >= 13 && memcmp(c->in, "HTTP/1.1 1", 10) == 0;
  if (*interim)
    return head;
  if (head < 13 || memcmp(c->in, "HTTP/1.1 2", 10) != 0)
    return SIZE_MAX;
  static const char name[] = "\r\nContent-Length:";
  const char *field = memmem(c->in, head, name, sizeof name - 1);
  if (!field)
    return SIZE_MAX;
  char *digits_end = NULL;
  unsigned long long body = strtoull(field + sizeof name - 1, &digits_end, 10);
  if (digits_end == field + sizeof name - 1 || body > MAX_ANSWER - head)
    return SIZE_MAX;
  return c->in_len >= head + body ? head + (size_t)body : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  conn_t *c = stream->data;
  floor_run_t *run = c->run;
  if (nread < 0) {
    fail(run, nread == UV_EOF ? "the fake closed a connection"
                              : "a connection failed");
    return;
  }
  c->in_len += (size_t)nread;
  for (;;) {
    bool interim = false;
    size_t len = answer_length(c, &interim);
    if (len == 0)
      return;
    if (len == SIZE_MAX) {
      fprintf(stderr, "wire_floor: the answer: %.*s\n",
              (int)(c->in_len < 300 ? c->in_len : 300), c->in);
      fail(run, "an answer is not a 2xx with a Content-Length");
      return;
    }
    memmove(c->in, c->in + len, c->in_len - len);
    c->in_len -= len;
    if (interim)
      continue;
    run->answered++;
    run->answer_bytes += len;
    send_next(c);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
      return;
  }
}

static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  if (status < 0) {
    fail(c->run, "cannot connect to the fake");
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  send_next(c);
}

static int usage(const char *why) {
  fprintf(stderr,
          "wire_floor: %s\nusage: wire_floor --port N [--connections C] "
          "[--requests N] [--timeout S] FILE\n",
          why);
  return 2;
}

/* The file's bytes (malloc()ed) into *data, or false with why on stderr. */
static bool read_file(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return false;
  }
  *data = malloc(MAX_ANSWER);
  *len = *data ? fread(*data, 1, MAX_ANSWER, f) : 0;
  bool ok = *data && !ferror(f) && *len > 0 && *len < MAX_ANSWER;
  fclose(f);
  if (!ok)
    fprintf(stderr, "wire_floor: %s: empty, unreadable or of 1 MiB or more\n",
            path);
  return ok;
}

int main(int argc, char **argv) {
  static const struct option longs[] = {
      {"port", required_argument, NULL, 'p'},
      {"connections", required_argument, NULL, 'c'},
      {"requests", required_argument, NULL, 'n'},
      {"timeout", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0},
  };
  double port = -1, connections = 16, requests = 10000, timeout = 120;
  int opt;
  while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    bool ok = false;
    switch (opt) {
    case 'p':
      ok = tool_count(optarg, 1, 65535, &port);
      break;
    case 'c':
      ok = tool_count(optarg, 1, 1024, &connections);
      break;
    case 'n':
      ok = tool_count(optarg, 1, 1e9, &requests);
      break;
    case 't':
      ok = tool_number(optarg, 0.001, 86400, &timeout);
      break;
    default:
      return usage("unknown option");
    }
    if (!ok)
      return usage("a value is out of range");
  }
  if (port < 0 || optind != argc - 1)
    return usage("--port and one request file are needed");
  char *request = NULL;
  size_t request_len = 0;
  if (!read_file(argv[optind], &request, &request_len)) {
    free(request);
    return 1;
  }

  uint64_t start_ns = uv_hrtime();
  floor_run_t run = {.loop = uv_default_loop(),
                     .request = request,
                     .request_len = request_len,
                     .total = (uint64_t)requests,
                     .conn_count = (size_t)connections};
  run.conns = calloc(run.conn_count, sizeof(*run.conns));
  run.deadline.data = &run;
  uv_timer_init(run.loop, &run.deadline);
  uv_timer_start(&run.deadline, on_deadline, (uint64_t)(timeout * 1000), 0);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", (int)port, &addr);
  for (size_t i = 0; run.conns && i < run.conn_count; i++) {
    conn_t *c = &run.conns[i];
    c->run = &run;
    c->tcp.data = c->connect.data = c->write.data = c;
    if (!(c->in = malloc(MAX_ANSWER))) {
      fail(&run, "out of memory");
      break;
    }
    uv_tcp_init(run.loop, &c->tcp);
    run.opened++;
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr,
                       on_connect) < 0) {
      fail(&run, "cannot connect to the fake");
      break;
    }
  }
  if (!run.conns)
    fail(&run, "out of memory");
  uv_run(run.loop, UV_RUN_DEFAULT);
  double wall_s = (double)(uv_hrtime() - start_ns) / 1e9;
  uv_loop_close(run.loop);
  for (size_t i = 0; run.conns && i < run.conn_count; i++)
    free(run.conns[i].in);
  free(run.conns);
  free(request);
  if (!run.failure && run.answered != run.total)
    run.failure = "fewer answers than requests";
  if (run.failure) {
    fprintf(stderr, "wire_floor: %s (%llu of %llu answered)\n", run.failure,
            (unsigned long long)run.answered, (unsigned long long)run.total);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"requests\":%llu,\"connections\":%zu,\"request_bytes\":%zu,"
         "\"answer_bytes\":%llu,\"wall_s\":%.6f,\"user_s\":%.6f,"
         "\"sys_s\":%.6f,\"max_rss_kib\":%ld}\n",
         (unsigned long long)run.answered, run.conn_count, request_len,
         (unsigned long long)run.answer_bytes, wall_s,
         (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
         ru.ru_maxrss);
  return 0;
}
