/* The daemon's command line: option parsing and a run of a config with
 * signal handling (reload included); --list-plugins and --describe are in
 * cli_describe.c. main() only calls it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"
#include "cli.h"
#include "cli_describe.h"
#include "config_load.h"
#include "config.h"
#include "engine.h"
#include "metrics.h"
#include "progress.h"
#include "top.h"
#include "preflight.h"
#include "registry.h"

#ifndef PL_PLUGINDIR
#define PL_PLUGINDIR "/usr/local/lib/pipelined"
#endif

/* -c may be given this many times. */
#define PL_CLI_MAX_CONFIGS 32

typedef struct cli {
  const char *configs[PL_CLI_MAX_CONFIGS]; /* in order; "-": stdin */
  size_t config_count;
  const char *config; /* the first, which names the config in messages */
  bool once;
  bool check;
  bool live;   /* --check --live: each stage's checks against AWS */
  bool strict; /* --check --live --strict: warnings fail too */
  bool list;
  bool json;
  bool describe_all; /* --describe-json without a NAME */
  const char *describe;
  const char *print_setting; /* --print-setting NAME */
} cli_t;

static void usage(FILE *out) {
  fprintf(out,
          "Usage: pipelined -c FILE [--once] [--check [--live [--strict]]]\n"
          "       pipelined --list-plugins\n"
          "       pipelined --describe PLUGIN [--json]\n"
          "       pipelined --describe-json [PLUGIN]\n"
          "       pipelined --print-setting NAME -c FILE\n"
          "       pipelined top [--url URL | -c FILE]  (a live view; see "
          "top --help)\n"
          "\n"
          "  -c, --config FILE   run the pipelines of FILE; given more than\n"
          "                      once, the files make one config; - reads it\n"
          "                      from standard input\n"
          "      --once          stop when every source is exhausted and every\n"
          "                      record is acknowledged (exit 1 if a group failed)\n"
          "      --check         validate FILE and load its plugins, then exit\n"
          "      --live          with --check: also check what the stages use\n"
          "                      (credentials, queues, buckets, tables); exit 1\n"
          "                      when a check fails\n"
          "      --strict        with --live: warnings fail too\n"
          "      --list-plugins  list the plugins found\n"
          "      --describe NAME show a plugin's options (NAME: e.g. source-file);\n"
          "                      with -c, plugins are found on its plugin_path;\n"
          "                      NAME settings: the top-level settings;\n"
          "                      NAME aws: the aws { } block's settings\n"
          "      --json          with --describe: as JSON\n"
          "      --describe-json [NAME]  the same as --describe NAME --json;\n"
          "                      without NAME: every plugin and the stage\n"
          "                      options as one JSON document\n"
          "      --print-setting NAME  print the top-level setting NAME of\n"
          "                      the config (its default when unset), then exit\n"
          "  -V, --version       print the version\n"
          "  -h, --help          print this help\n"
          "\n"
          "Plugins are searched in the config's plugin_path, then\n"
          "PIPELINED_PLUGIN_PATH (colon-separated), then %s.\n",
          PL_PLUGINDIR);
}

static int parse_args(int argc, char **argv, cli_t *cli) {
  enum {
    OPT_ONCE = 256,
    OPT_CHECK,
    OPT_LIVE,
    OPT_STRICT,
    OPT_LIST,
    OPT_DESCRIBE,
    OPT_DESCRIBE_JSON,
    OPT_JSON,
    OPT_PRINT_SETTING
  };
  static const struct option longs[] = {
      {"config", required_argument, NULL, 'c'},
      {"once", no_argument, NULL, OPT_ONCE},
      {"check", no_argument, NULL, OPT_CHECK},
      {"live", no_argument, NULL, OPT_LIVE},
      {"strict", no_argument, NULL, OPT_STRICT},
      {"list-plugins", no_argument, NULL, OPT_LIST},
      {"describe", required_argument, NULL, OPT_DESCRIBE},
      {"describe-json", optional_argument, NULL, OPT_DESCRIBE_JSON},
      {"json", no_argument, NULL, OPT_JSON},
      {"print-setting", required_argument, NULL, OPT_PRINT_SETTING},
      {"version", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int opt;
  while ((opt = getopt_long(argc, argv, "c:Vh", longs, NULL)) != -1) {
    switch (opt) {
    case 'c':
      if (cli->config_count == PL_CLI_MAX_CONFIGS) {
        fprintf(stderr, "pipelined: -c may be given at most %d times\n",
                PL_CLI_MAX_CONFIGS);
        return EXIT_USAGE;
      }
      cli->configs[cli->config_count++] = optarg;
      cli->config = cli->configs[0];
      break;
    case OPT_ONCE:
      cli->once = true;
      break;
    case OPT_CHECK:
      cli->check = true;
      break;
    case OPT_LIVE:
      cli->live = true;
      break;
    case OPT_STRICT:
      cli->strict = true;
      break;
    case OPT_LIST:
      cli->list = true;
      break;
    case OPT_DESCRIBE:
      cli->describe = optarg;
      break;
    case OPT_DESCRIBE_JSON:
      /* The NAME is optional, and may still be the next word
       * ("--describe-json source-file"), as it always could. */
      if (!optarg && optind < argc && argv[optind][0] != '-')
        optarg = argv[optind++];
      cli->describe = optarg;
      cli->describe_all = !optarg;
      cli->json = true;
      break;
    case OPT_JSON:
      cli->json = true;
      break;
    case OPT_PRINT_SETTING:
      cli->print_setting = optarg;
      break;
    case 'V':
      printf("pipelined %s (plugin ABI %d)\n", PACKAGE_VERSION, PL_ABI_VERSION);
      exit(0);
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "pipelined: unexpected argument '%s'\n", argv[optind]);
    return EXIT_USAGE;
  }
  if ((cli->live && !cli->check) || (cli->strict && !cli->live)) {
    fprintf(stderr, "pipelined: %s\n",
            cli->strict && !cli->live ? "--strict goes with --check --live"
                                      : "--live goes with --check");
    return EXIT_USAGE;
  }
  if (cli->print_setting && !cli->config) {
    fprintf(stderr, "pipelined: --print-setting needs -c FILE\n");
    return EXIT_USAGE;
  }
  if (!cli->config && !cli->list && !cli->describe && !cli->describe_all) {
    usage(stderr);
    return EXIT_USAGE;
  }
  return 0;
}

typedef struct run {
  pl_engine_t *engine;
  const cli_t *cli; /* the files SIGHUP reads again, borrowed */
  /* --once on a terminal: the progress line on standard error. */
  uv_timer_t progress_timer;
  bool progress_open;
  bool progress_shown; /* the line is on the terminal now */
  pl_progress_t progress;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
  int signals;
  pl_notify_t notify; /* the service manager (systemd), if any */
  uv_timer_t watchdog;
  bool watchdog_open;
} run_t;

static void on_signal(uv_signal_t *handle, int signum) {
  run_t *run = handle->data;
  if (++run->signals > 1) {
    /* Through the log, in its format: a JSON log stays JSON. */
    pl__log(&run->engine->log, PL_LOG_ERROR,
            "second signal: exiting now; records in flight are not "
            "committed and will be processed again");
    fflush(NULL);
    _exit(1);
  }
  pl__engine_shutdown(run->engine);
}

/* Logs each line of `lines` as its own entry. */
static void log_lines(pl_logger_t *log, pl_log_level_t level,
                      const char *lines) {
  while (lines && *lines) {
    const char *end = strchr(lines, '\n');
    int len = end ? (int)(end - lines) : (int)strlen(lines);
    pl__log(log, level, "  %.*s", len, lines);
    lines = end ? end + 1 : NULL;
  }
}

/* SIGHUP: the config file is read again and applied (src/reload.h). A
 * config that cannot be applied is refused with its errors and the
 * running pipelines go on as they were. */
static void on_sighup(uv_signal_t *handle, int signum) {
  run_t *run = handle->data;
  pl_logger_t *log = &run->engine->log;
  /* A drain has begun (STOPPING=1): a reload could only be refused, and
   * READY=1 would tell the service manager the daemon runs again. */
  if (run->engine->stopping || run->engine->closing) {
    pl__log(log, PL_LOG_WARN,
            "SIGHUP received while shutting down: %s is not reloaded",
            run->cli->config);
    return;
  }
  pl__log(log, PL_LOG_INFO, "SIGHUP received: reloading %s",
          run->cli->config);
  (void)pl__notify_send(&run->notify, "RELOADING=1");
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  pl_buf_t errors = {0};
  int rc = 0;
  for (size_t i = 0; i < run->cli->config_count; i++)
    if (strcmp(run->cli->configs[i], "-") == 0) {
      error = strdup("the config was read from standard input (-c -), "
                     "which cannot be read again: restart the daemon");
      rc = PL_EINVAL;
    }
  if (rc == 0)
    rc = pl__cfg_load(run->cli->configs, run->cli->config_count,
                      &pl__cfg_process_env, &root, &error);
  if (rc < 0)
    pl_buf_printf(&errors, "%s\n", error ? error : "cannot parse config");
  else
    rc = pl__engine_reload(run->engine, root, &errors);
  if (rc < 0) {
    pl__log(log, PL_LOG_ERROR,
            "reload refused: %s is not applied; the running pipelines go on "
            "unchanged:",
            run->cli->config);
    log_lines(log, PL_LOG_ERROR, errors.data);
  }
  (void)pl__notify_send(&run->notify, "READY=1\nSTATUS=running");
  pl_buf_free(&errors);
  free(error);
  pl__cfg_destroy(root);
}

/* Runs on the loop: a loop that is stuck stops petting, and the service
 * manager restarts the daemon (WatchdogSec=). */
static void on_watchdog(uv_timer_t *timer) {
  run_t *run = timer->data;
  (void)pl__notify_send(&run->notify, "WATCHDOG=1");
}

/* The service manager named by NOTIFY_SOCKET; without it, or when it is
 * not usable (which is said, in the log's format), the daemon runs as it
 * would without. */
static void open_notify(run_t *run, pl_logger_t *log) {
  const char *error = NULL;
  if (pl__notify_init(&run->notify, &pl__cfg_process_env, getpid(), &error) < 0)
    pl__log(log, PL_LOG_WARN,
            "NOTIFY_SOCKET: %s; the service manager is not notified",
            error ? error : "cannot be used");
}

static void start_watchdog(uv_loop_t *loop, run_t *run) {
  if (run->notify.watchdog_usec == 0)
    return;
  /* Twice per period, as sd_watchdog_enabled(3) advises. */
  uint64_t every_ms = run->notify.watchdog_usec / 2000;
  if (every_ms == 0)
    every_ms = 1;
  uv_timer_init(loop, &run->watchdog);
  run->watchdog.data = run;
  run->watchdog_open = true;
  uv_timer_start(&run->watchdog, on_watchdog, every_ms, every_ms);
  /* It does not keep the loop running by itself. */
  uv_unref((uv_handle_t *)&run->watchdog);
}

static void name_handle(uv_handle_t *handle, void *arg) {
  fprintf(stderr, " %s", uv_handle_type_name(uv_handle_get_type(handle)));
}

/* Closes `loop`. A handle still open there is a bug (HACKING.md#s6) that
 * would otherwise go unnoticed: it is named, and the run fails. */
static int close_loop(uv_loop_t *loop, int status) {
  if (uv_loop_close(loop) == 0)
    return status;
  fprintf(stderr, "pipelined: a handle was left open at exit:");
  uv_walk(loop, name_handle, NULL);
  fprintf(stderr, "\n");
  return status ? status : 1;
}

/* Redraws the progress line in place (the log clears it before a line of
 * its own: engine->log.line_shown). */
static void on_progress(uv_timer_t *timer) {
  run_t *run = timer->data;
  pl_buf_t line = {0};
  pl_buf_append_str(&line, "\r\x1b[Kpipelined: ");
  pl__progress_line(run->engine, &run->progress, uv_now(timer->loop), &line);
  if (line.data) {
    fputs(line.data, stderr);
    fflush(stderr);
    run->progress_shown = true;
  }
  pl_buf_free(&line);
}

static void start_progress(uv_loop_t *loop, run_t *run) {
  if (!isatty(STDERR_FILENO) || uv_timer_init(loop, &run->progress_timer) != 0)
    return;
  run->progress_open = true;
  run->progress_timer.data = run;
  run->engine->log.line_shown = &run->progress_shown;
  uv_timer_start(&run->progress_timer, on_progress, 0, 1000);
  /* It does not keep the loop running. */
  uv_unref((uv_handle_t *)&run->progress_timer);
}

static void stop_progress(run_t *run) {
  if (!run->progress_open)
    return;
  uv_close((uv_handle_t *)&run->progress_timer, NULL);
  run->progress_open = false;
  if (run->progress_shown)
    fputs("\r\x1b[K", stderr);
  run->progress_shown = false;
  run->engine->log.line_shown = NULL;
}

/* A --once run always says what it did, one line per pipeline: in the
 * log's format (text or JSON), whatever its level. */
static void print_summary(const pl_engine_t *engine, uint64_t elapsed_ms) {
  pl_logger_t log = engine->log;
  log.level = PL_LOG_DEBUG;
  for (size_t i = 0; i < engine->pipeline_count; i++) {
    pl_buf_t line = {0};
    pl__metrics_summary(engine->pipelines[i], elapsed_ms, &line);
    if (line.data)
      pl__log(&log, PL_LOG_INFO, "%s", line.data);
    pl_buf_free(&line);
  }
}

static int run_config(pl_registry_t *reg, const cli_t *cli) {
  /* Ignored, not fatal, also before its handle starts and after it is
   * closed (libuv then restores the default action). */
  signal(SIGHUP, SIG_IGN);
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  if (pl__cfg_load(cli->configs, cli->config_count, &pl__cfg_process_env,
                   &root, &error) < 0) {
    fprintf(stderr, "pipelined: %s\n", error ? error : "cannot parse config");
    free(error);
    return EXIT_USAGE;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  run_t run = {.notify = {.fd = -1}};
  pl_buf_t errors = {0};
  pl_engine_params_t params = {.loop = &loop,
                               .registry = reg,
                               .once = cli->once,
                               .env = &pl__cfg_process_env,
                               .notify = &run.notify};
  pl_engine_t *engine = NULL;
  int rc = pl__engine_create(&params, root, &engine, &errors);
  pl__cfg_destroy(root);
  if (rc < 0) {
    fprintf(stderr, "pipelined: %s is not valid:\n%s", cli->config,
            errors.data ? errors.data : "(no details)\n");
    pl_buf_free(&errors);
    pl__notify_close(&run.notify);
    return close_loop(&loop, EXIT_USAGE);
  }
  pl_buf_free(&errors);
  /* Once the engine is there: its log says what is wrong with the socket.
   * The engine holds &run.notify, and sends nothing before it starts. */
  if (!cli->check)
    open_notify(&run, &engine->log);
  if (cli->check) {
    rc = 0;
    if (cli->live)
      rc = pl__preflight_run(engine, stdout, cli->strict);
    else
      printf("ok\n");
    pl__engine_destroy(engine);
    return close_loop(&loop, rc);
  }
  run.engine = engine;
  run.cli = cli;
  start_watchdog(&loop, &run);
  uv_signal_init(&loop, &run.sigint);
  uv_signal_init(&loop, &run.sigterm);
  uv_signal_init(&loop, &run.sighup);
  run.sigint.data = run.sigterm.data = run.sighup.data = &run;
  uv_signal_start(&run.sigint, on_signal, SIGINT);
  uv_signal_start(&run.sigterm, on_signal, SIGTERM);
  uv_signal_start(&run.sighup, on_sighup, SIGHUP);
  /* Signals alone do not keep the loop running. */
  uv_unref((uv_handle_t *)&run.sigint);
  uv_unref((uv_handle_t *)&run.sigterm);
  uv_unref((uv_handle_t *)&run.sighup);
  uint64_t started = uv_hrtime();
  rc = pl__engine_start(engine);
  if (cli->once && rc == 0)
    start_progress(&loop, &run);
  uv_run(&loop, UV_RUN_DEFAULT);
  stop_progress(&run);
  int status = rc < 0 ? 1 : pl__engine_status(engine);
  if (cli->once && rc == 0)
    print_summary(engine, (uv_hrtime() - started) / 1000000);
  if (pl__engine_timed_out(engine)) {
    fflush(NULL);
    _exit(status);
  }
  uv_close((uv_handle_t *)&run.sigint, NULL);
  uv_close((uv_handle_t *)&run.sigterm, NULL);
  uv_close((uv_handle_t *)&run.sighup, NULL);
  if (run.watchdog_open)
    uv_close((uv_handle_t *)&run.watchdog, NULL);
  signal(SIGHUP, SIG_IGN);
  uv_run(&loop, UV_RUN_DEFAULT);
  pl__engine_destroy(engine);
  pl__notify_close(&run.notify);
  return close_loop(&loop, status);
}

/* A standard descriptor the parent closed (`pipelined <&-`) would be
 * reused by the first file or socket the daemon opens: its output would go
 * there, and libuv aborts when it is asked to close a descriptor below 3.
 * Each closed one becomes /dev/null. Returns false when that fails. */
static bool open_standard_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (null < 0)
      return false;
    /* open() returns the lowest free descriptor: `fd` itself, since the
     * ones below it are open by now. */
    if (null != fd) {
      int rc = dup2(null, fd);
      close(null);
      if (rc < 0)
        return false;
    }
  }
  return true;
}

/* The plugin_path of the config named with -c, searched first, as a run
 * of that config would. */
static int use_plugin_path(pl_registry_t *reg, const cli_t *cli) {
  pl_cfg_node_t *root = NULL;
  char *error = NULL;
  if (pl__cfg_load(cli->configs, cli->config_count, &pl__cfg_process_env,
                   &root, &error) < 0) {
    fprintf(stderr, "pipelined: %s\n", error ? error : "cannot read config");
    free(error);
    return EXIT_USAGE;
  }
  pl_buf_t errors = {0};
  pl_engine_settings_t settings = {0};
  int rc = pl__engine_read_settings(root, &settings, &errors);
  if (rc < 0) {
    fprintf(stderr, "pipelined: %s is not valid:\n%s", cli->config,
            errors.data ? errors.data : "(no details)\n");
    rc = EXIT_USAGE;
  } else if (settings.plugin_path.count > 0) {
    rc = pl__registry_prepend_config_dirs(
             reg, (const char *const *)settings.plugin_path.items,
             settings.plugin_path.count) < 0
             ? 1
             : 0;
  }
  pl__engine_free_settings(&settings);
  pl_buf_free(&errors);
  pl__cfg_destroy(root);
  return rc;
}

int pl_cli_main(int argc, char **argv) {
  if (!open_standard_fds())
    return 1;
  if (argc > 1 && strcmp(argv[1], "top") == 0)
    return pl__top_main(argc - 1, argv + 1);
  cli_t cli = {0};
  int rc = parse_args(argc, argv, &cli);
  if (rc != 0)
    return rc;
  /* It reads the config and loads no plugin. */
  if (cli.print_setting)
    return pl__cli_print_setting(cli.configs, cli.config_count,
                                 cli.print_setting);
  signal(SIGPIPE, SIG_IGN);
  pl_registry_t *reg = NULL;
  if (pl__registry_create(NULL, 0, &reg) < 0) {
    fprintf(stderr, "pipelined: cannot initialise the plugin loader\n");
    return 1;
  }
  pl__registry_append_path(reg, getenv("PIPELINED_PLUGIN_PATH"));
  pl__registry_append_path(reg, PL_PLUGINDIR);
  bool inspect = cli.list || cli.describe_all || cli.describe;
  /* --list-plugins and --describe with -c: that config's plugin_path is
   * searched first, as a run of it would. */
  if (inspect && cli.config_count > 0)
    rc = use_plugin_path(reg, &cli);
  if (rc == 0 && cli.list)
    rc = pl__cli_list_plugins(reg);
  else if (rc == 0 && cli.describe_all)
    rc = pl__cli_describe_all(reg);
  else if (rc == 0 && cli.describe)
    rc = pl__cli_describe(reg, cli.describe, cli.json);
  else if (rc == 0)
    rc = run_config(reg, &cli);
  pl__registry_destroy(reg);
  return rc;
}
