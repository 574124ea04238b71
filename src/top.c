/* `pipelined top`: scrapes /metrics once per interval over loopback HTTP,
 * turns the stage families into rows and redraws one 80-column screen.
 * q (or Ctrl-C) quits; the terminal is put back as it was. */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "config_load.h"
#include "metrics_server.h"
#include "top.h"

#define PL_TOP_MAX_SCRAPE ((size_t)16 << 20)

/* ---- The view ---- */

static pl_top_row_t *find_row(pl_top_view_t *view, const char *pipeline,
                              const char *stage, const char *plugin) {
  for (size_t i = 0; i < view->count; i++) {
    pl_top_row_t *r = &view->rows[i];
    if (strcmp(r->pipeline, pipeline) == 0 && strcmp(r->stage, stage) == 0 &&
        strcmp(r->plugin, plugin) == 0)
      return r;
  }
  return NULL;
}

static pl_top_row_t *add_row(pl_top_view_t *view, const char *pipeline,
                             const char *stage, const char *plugin) {
  pl_top_row_t *grown =
      realloc(view->rows, (view->count + 1) * sizeof(*grown));
  if (!grown)
    return NULL;
  view->rows = grown;
  pl_top_row_t *r = &grown[view->count];
  *r = (pl_top_row_t){.pipeline = strdup(pipeline),
                      .stage = strdup(stage),
                      .plugin = strdup(plugin),
                      .in_flight_limit = -1};
  if (!r->pipeline || !r->stage || !r->plugin) {
    free(r->pipeline);
    free(r->stage);
    free(r->plugin);
    return NULL;
  }
  view->count++;
  return r;
}

int pl__top_view(const pl_exposition_t *scrape, pl_top_view_t *view) {
  static const struct {
    const char *name;
    size_t offset;
  } fields[] = {
      {"pipelined_records_in_total", offsetof(pl_top_row_t, records_in)},
      {"pipelined_records_out_total", offsetof(pl_top_row_t, records_out)},
      {"pipelined_rejected_total", offsetof(pl_top_row_t, rejected)},
      {"pipelined_failed_total", offsetof(pl_top_row_t, failed)},
      {"pipelined_queue_depth", offsetof(pl_top_row_t, queue_depth)},
      {"pipelined_in_flight", offsetof(pl_top_row_t, in_flight)},
      {"pipelined_in_flight_limit", offsetof(pl_top_row_t, in_flight_limit)},
  };
  for (size_t i = 0; i < scrape->count; i++) {
    const pl_sample_t *s = &scrape->samples[i];
    size_t f = 0;
    while (f < sizeof(fields) / sizeof(fields[0]) &&
           strcmp(fields[f].name, s->name) != 0)
      f++;
    const char *pipeline = pl__sample_label(s, "pipeline");
    const char *stage = pl__sample_label(s, "stage");
    const char *plugin = pl__sample_label(s, "plugin");
    if (f == sizeof(fields) / sizeof(fields[0]) || !pipeline || !stage ||
        !plugin)
      continue;
    pl_top_row_t *r = find_row(view, pipeline, stage, plugin);
    if (!r && !(r = add_row(view, pipeline, stage, plugin)))
      return PL_ENOMEM;
    /* A rejected_total split by a label (reason) adds up. */
    double *field = (double *)((char *)r + fields[f].offset);
    if (fields[f].offset == offsetof(pl_top_row_t, in_flight_limit))
      *field = s->value;
    else
      *field += s->value;
  }
  return 0;
}

void pl__top_view_free(pl_top_view_t *view) {
  for (size_t i = 0; i < view->count; i++) {
    free(view->rows[i].pipeline);
    free(view->rows[i].stage);
    free(view->rows[i].plugin);
  }
  free(view->rows);
  *view = (pl_top_view_t){0};
}

/* ---- The screen ---- */

/* A count or rate in at most 7 columns: 999.9, 12.3k, 4.5M. */
static void human(char *out, size_t size, double v) {
  if (v < 0)
    snprintf(out, size, "-");
  else if (v < 1000)
    snprintf(out, size, v == (double)(long long)v ? "%.0f" : "%.1f", v);
  else if (v < 1e6)
    snprintf(out, size, "%.1fk", v / 1e3);
  else if (v < 1e9)
    snprintf(out, size, "%.1fM", v / 1e6);
  else
    snprintf(out, size, "%.1fG", v / 1e9);
}

static double rate(const pl_top_view_t *prev, const pl_top_row_t *r,
                   size_t field_offset, double dt_s) {
  if (!prev || dt_s <= 0)
    return -1;
  const pl_top_row_t *before =
      find_row((pl_top_view_t *)prev, r->pipeline, r->stage, r->plugin);
  if (!before)
    return -1;
  double now = *(const double *)((const char *)r + field_offset);
  double then = *(const double *)((const char *)before + field_offset);
  /* A restarted daemon's counters start again from 0. */
  return now >= then ? (now - then) / dt_s : -1;
}

/* Appends `text` cut to `width` columns (ASCII; longer names end in ~),
 * padded to `width` when `pad`. */
static void cut(pl_buf_t *out, const char *text, int width, bool pad) {
  int len = (int)strlen(text);
  if (len <= width)
    pl_buf_printf(out, "%-*s", pad ? width : len, text);
  else
    pl_buf_printf(out, "%.*s~", width - 1, text);
}

void pl__top_render(const pl_top_view_t *prev, const pl_top_view_t *cur,
                    double dt_s, const char *url, const char *status,
                    pl_buf_t *out) {
  pl_buf_append_str(out, "pipelined top  ");
  cut(out, url, 50, true);
  pl_buf_append_str(out, "  q quits\n");
  if (status) {
    cut(out, status, 79, false);
    pl_buf_append_str(out, "\n");
  }
  pl_buf_append_str(out, "\n  STAGE       PLUGIN             IN/s   OUT/s  "
                         "QUEUE  FLIGHT  REJECTED  FAILED\n");
  const char *pipeline = NULL;
  for (size_t i = 0; cur && i < cur->count; i++) {
    const pl_top_row_t *r = &cur->rows[i];
    if (!pipeline || strcmp(pipeline, r->pipeline) != 0) {
      pipeline = r->pipeline;
      pl_buf_append_str(out, "pipeline ");
      cut(out, pipeline, 70, false);
      pl_buf_append_str(out, "\n");
    }
    char in[16], outs[16], queue[16], flight[24], rejected[16], failed[16];
    human(in, sizeof(in), rate(prev, r, offsetof(pl_top_row_t, records_in),
                               dt_s));
    human(outs, sizeof(outs),
          rate(prev, r, offsetof(pl_top_row_t, records_out), dt_s));
    human(queue, sizeof(queue), r->queue_depth);
    if (r->in_flight_limit >= 0) {
      char a[12], b[12];
      human(a, sizeof(a), r->in_flight);
      human(b, sizeof(b), r->in_flight_limit);
      snprintf(flight, sizeof(flight), "%s/%s", a, b);
    } else {
      snprintf(flight, sizeof(flight), "-");
    }
    human(rejected, sizeof(rejected), r->rejected);
    human(failed, sizeof(failed), r->failed);
    pl_buf_append_str(out, "  ");
    cut(out, r->stage, 11, true);
    pl_buf_append_str(out, " ");
    cut(out, r->plugin, 16, true);
    pl_buf_printf(out, " %7s %7s %6s %7s %9s %7s\n", in, outs, queue, flight,
                  rejected, failed);
  }
  if (cur && cur->count == 0)
    pl_buf_append_str(out, "(no stages reported)\n");
}

/* ---- Scraping ---- */

typedef struct top top_t;

/* One scrape's connection: freed when its handle has closed, so that the
 * next scrape never reuses a handle that is still closing. */
typedef struct scrape {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  top_t *top; /* NULL once given up */
  pl_buf_t response;
} scrape_t;

struct top {
  uv_loop_t *loop;
  struct sockaddr_storage addr;
  char *url;  /* owned: shown in the title */
  char *path; /* owned: the request path */
  pl_buf_t request;
  uint64_t interval_ms;
  long iterations; /* 0: until q */
  long done;
  bool tty;
  uv_timer_t timer;
  uv_tty_t keys;
  bool keys_open;
  uv_signal_t sigint;
  scrape_t *scrape; /* the one in progress, or NULL */
  /* The last good view and when it was taken. */
  pl_top_view_t prev;
  uint64_t prev_ms;
  bool have_prev;
  bool last_failed; /* the last scrape failed: exit status 1 */
  bool quitting;
};

static void draw(top_t *t, const pl_top_view_t *view, double dt_s,
                 const char *status) {
  pl_buf_t screen = {0};
  if (t->tty)
    pl_buf_append_str(&screen, "\x1b[H\x1b[2J");
  pl__top_render(t->have_prev ? &t->prev : NULL, view, dt_s, t->url, status,
                 &screen);
  if (!t->tty)
    pl_buf_append_str(&screen, "\n");
  if (screen.data)
    fwrite(screen.data, 1, screen.len, stdout);
  fflush(stdout);
  pl_buf_free(&screen);
}

static void on_scrape_closed(uv_handle_t *handle) {
  scrape_t *sc = handle->data;
  pl_buf_free(&sc->response);
  free(sc);
}

static void end_scrape(top_t *t) {
  scrape_t *sc = t->scrape;
  if (!sc)
    return;
  t->scrape = NULL;
  sc->top = NULL;
  uv_close((uv_handle_t *)&sc->tcp, on_scrape_closed);
}

static void quit(top_t *t) {
  if (t->quitting)
    return;
  t->quitting = true;
  end_scrape(t);
  uv_close((uv_handle_t *)&t->timer, NULL);
  uv_close((uv_handle_t *)&t->sigint, NULL);
  if (t->keys_open) {
    uv_tty_set_mode(&t->keys, UV_TTY_MODE_NORMAL);
    uv_close((uv_handle_t *)&t->keys, NULL);
  }
}

/* The view of a whole answer, or why there is none (new text). */
static char *read_answer(const pl_buf_t *response, pl_top_view_t *view) {
  const char *text = response->data;
  const char *body = text ? strstr(text, "\r\n\r\n") : NULL;
  if (!body || strncmp(text, "HTTP/1.", 7) != 0 ||
      strncmp(text + 8, " 200", 4) != 0)
    return strdup("the endpoint did not answer 200 with metrics");
  body += 4;
  pl_exposition_t scrape = {0};
  char *why = NULL;
  if (pl__exposition_parse(body, response->len - (size_t)(body - text),
                           &scrape, &why) < 0 ||
      pl__top_view(&scrape, view) < 0) {
    if (!why)
      why = strdup("out of memory");
    pl__top_view_free(view);
  }
  pl__exposition_free(&scrape);
  return why;
}

/* The scrape is over: show it, or why it failed. */
static void scrape_done(top_t *t, const char *error) {
  scrape_t *sc = t->scrape;
  if (!sc)
    return;
  pl_top_view_t view = {0};
  char *why = error ? strdup(error) : read_answer(&sc->response, &view);
  end_scrape(t);
  uint64_t now = uv_now(t->loop);
  t->last_failed = why != NULL;
  if (why) {
    draw(t, &t->prev, 0, why);
  } else {
    double dt = t->have_prev ? (double)(now - t->prev_ms) / 1000.0 : 0;
    draw(t, &view, dt, NULL);
    pl__top_view_free(&t->prev);
    t->prev = view;
    t->prev_ms = now;
    t->have_prev = true;
  }
  free(why);
  if (t->iterations && ++t->done >= t->iterations)
    quit(t);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  scrape_t *sc = handle->data;
  /* One byte more for the NUL that ends the text. */
  if (pl_buf_reserve(&sc->response, suggested + 1) < 0) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init(sc->response.data + sc->response.len, (unsigned)suggested);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  scrape_t *sc = stream->data;
  (void)buf;
  if (!sc->top)
    return;
  if (nread > 0) {
    sc->response.len += (size_t)nread;
    sc->response.data[sc->response.len] = '\0';
    if (sc->response.len > PL_TOP_MAX_SCRAPE)
      scrape_done(sc->top, "the answer is too large");
  } else if (nread == UV_EOF) {
    scrape_done(sc->top, NULL);
  } else if (nread < 0) {
    scrape_done(sc->top, uv_strerror((int)nread));
  }
}

static void on_written(uv_write_t *req, int status) {
  scrape_t *sc = req->data;
  if (status < 0 && sc->top)
    scrape_done(sc->top, uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status) {
  scrape_t *sc = req->data;
  top_t *t = sc->top;
  if (!t)
    return;
  if (status < 0) {
    scrape_done(t, uv_strerror(status));
    return;
  }
  uv_buf_t buf = uv_buf_init(t->request.data, (unsigned)t->request.len);
  sc->write.data = sc;
  if (uv_write(&sc->write, (uv_stream_t *)&sc->tcp, &buf, 1, on_written) < 0 ||
      uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read) < 0)
    scrape_done(t, "cannot send the request");
}

static void on_tick(uv_timer_t *timer) {
  top_t *t = timer->data;
  if (t->scrape) /* the last one is still going: give it up */
    scrape_done(t, "no answer within the interval");
  if (t->quitting)
    return;
  scrape_t *sc = calloc(1, sizeof(*sc));
  if (!sc || uv_tcp_init(t->loop, &sc->tcp) < 0) {
    free(sc);
    draw(t, &t->prev, 0, "out of memory");
    return;
  }
  sc->top = t;
  sc->tcp.data = sc;
  sc->connect.data = sc;
  t->scrape = sc;
  int rc = uv_tcp_connect(&sc->connect, &sc->tcp,
                          (const struct sockaddr *)&t->addr, on_connect);
  if (rc < 0)
    scrape_done(t, uv_strerror(rc));
}

static void on_key(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  top_t *t = stream->data;
  for (ssize_t i = 0; i < nread; i++)
    if (buf->base[i] == 'q' || buf->base[i] == 'Q' || buf->base[i] == 3)
      quit(t);
  if (nread < 0)
    quit(t);
  free(buf->base);
}

static void on_key_alloc(uv_handle_t *handle, size_t suggested,
                         uv_buf_t *buf) {
  (void)handle;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_sigint(uv_signal_t *handle, int signum) {
  (void)signum;
  quit(handle->data);
}

/* ---- The command ---- */

/* Sets t->addr, t->url and t->path from "http://host:port/path",
 * "host:port" or the config's metrics_listen. */
static int set_target(top_t *t, const char *url, const char *config) {
  char *owned = NULL;
  if (!url && config) {
    pl_cfg_node_t *root = NULL;
    char *error = NULL;
    /* Read as a run reads it: a metrics_listen in an included file. */
    if (pl__cfg_load(&config, 1, &pl__cfg_process_env, &root, &error) < 0) {
      fprintf(stderr, "pipelined top: %s\n", error ? error : config);
      free(error);
      return PL_EINVAL;
    }
    for (size_t i = 0; i < root->count && !owned; i++) {
      const pl_cfg_node_t *n = root->children[i];
      if (!n->is_block && strcmp(n->key, "metrics_listen") == 0 &&
          n->value.kind == PL_CFG_STRING)
        owned = strdup(n->value.text);
    }
    pl__cfg_destroy(root);
    if (!owned) {
      fprintf(stderr, "pipelined top: %s sets no metrics_listen; give "
                      "--url\n", config);
      return PL_EINVAL;
    }
    url = owned;
  }
  if (!url)
    url = "127.0.0.1:9100";
  const char *hostport = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
  const char *slash = strchr(hostport, '/');
  char host[128];
  size_t len = slash ? (size_t)(slash - hostport) : strlen(hostport);
  int rc = PL_EINVAL;
  if (len < sizeof(host)) {
    memcpy(host, hostport, len);
    host[len] = '\0';
    rc = pl__metrics_parse_listen(host, &t->addr);
  }
  if (rc < 0) {
    fprintf(stderr, "pipelined top: '%s' is not http://host:port[/path]\n",
            url);
    free(owned);
    return PL_EINVAL;
  }
  t->path = strdup(slash ? slash : "/metrics");
  pl_buf_t shown = {0};
  pl_buf_printf(&shown, "http://%s%s", host, t->path ? t->path : "");
  t->url = shown.data;
  pl_buf_printf(&t->request,
                "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: text/plain\r\n\r\n",
                t->path ? t->path : "/metrics", host);
  free(owned);
  return t->path && t->url && t->request.data ? 0 : PL_ENOMEM;
}

static void top_usage(FILE *out) {
  fprintf(out,
          "Usage: pipelined top [--url http://HOST:PORT/metrics | -c FILE]\n"
          "                     [--interval SECONDS] [--iterations N]\n"
          "\n"
          "A live view of a running daemon's pipelines, read from its\n"
          "metrics endpoint (the config's metrics_listen with -c; default\n"
          "127.0.0.1:9100). q quits.\n");
}

int pl__top_main(int argc, char **argv) {
  static const struct option longs[] = {
      {"url", required_argument, NULL, 'u'},
      {"config", required_argument, NULL, 'c'},
      {"interval", required_argument, NULL, 'i'},
      {"iterations", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *url = NULL, *config = NULL;
  double interval = 1.0;
  long iterations = 0;
  optind = 1;
  for (int opt; (opt = getopt_long(argc, argv, "u:c:i:n:h", longs, NULL)) != -1;) {
    char *end = NULL;
    switch (opt) {
    case 'u':
      url = optarg;
      break;
    case 'c':
      config = optarg;
      break;
    case 'i':
      interval = strtod(optarg, &end);
      if (*end || interval < 0.1 || interval > 3600) {
        fprintf(stderr, "pipelined top: --interval takes seconds from 0.1 "
                        "to 3600, not '%s'\n", optarg);
        return 2;
      }
      break;
    case 'n':
      iterations = strtol(optarg, &end, 10);
      if (*end || iterations < 1) {
        fprintf(stderr, "pipelined top: --iterations takes a count, not "
                        "'%s'\n", optarg);
        return 2;
      }
      break;
    case 'h':
      top_usage(stdout);
      return 0;
    default:
      top_usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    top_usage(stderr);
    return 2;
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return 1;
  top_t t = {.loop = &loop,
             .interval_ms = (uint64_t)(interval * 1000),
             .iterations = iterations,
             .tty = isatty(STDOUT_FILENO)};
  int status = 0;
  if (set_target(&t, url, config) < 0) {
    status = 2;
  } else {
    uv_timer_init(&loop, &t.timer);
    t.timer.data = &t;
    uv_signal_init(&loop, &t.sigint);
    t.sigint.data = &t;
    uv_signal_start(&t.sigint, on_sigint, SIGINT);
    if (isatty(STDIN_FILENO) && uv_tty_init(&loop, &t.keys, 0, 1) == 0) {
      t.keys.data = &t;
      t.keys_open = true;
      uv_tty_set_mode(&t.keys, UV_TTY_MODE_RAW);
      uv_read_start((uv_stream_t *)&t.keys, on_key_alloc, on_key);
    }
    if (t.tty)
      fputs("\x1b[?25l", stdout); /* hide the cursor */
    uv_timer_start(&t.timer, on_tick, 0, t.interval_ms);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (t.tty)
      fputs("\x1b[?25h\n", stdout);
    uv_tty_reset_mode();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0 || t.last_failed)
    status = 1;
  pl__top_view_free(&t.prev);
  pl_buf_free(&t.request);
  free(t.url);
  free(t.path);
  return status;
}
