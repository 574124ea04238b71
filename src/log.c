/* Log lines on a stream, as text or JSON, with per-instance levels. A
 * failure that repeats is limited where it is logged (complain.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "engine.h"
#include "log.h"
#include "text.h"

const char *pl_log_level_name(pl_log_level_t level) {
  switch (level) {
#define PL__LOG_CASE(name, text)                                               \
  case PL_LOG_##name:                                                          \
    return text;
    PL_LOG_LEVEL_MAP(PL__LOG_CASE)
#undef PL__LOG_CASE
  }
  return "unknown";
}

static void timestamp(char *out, size_t size) {
  uv_timeval64_t now;
  if (uv_gettimeofday(&now) != 0) {
    snprintf(out, size, "-");
    return;
  }
  time_t seconds = (time_t)now.tv_sec;
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char date[32];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%03dZ", date, (int)(now.tv_usec / 1000));
}

/* Writes `message` with its control bytes escaped (\n, \t, \xNN), so
 * that text from outside (an S3 key, a message body) can neither split a
 * log line nor forge one. */
static void write_escaped(FILE *stream, const char *message) {
  for (const unsigned char *p = (const unsigned char *)message; *p; p++) {
    if (*p >= 0x20 && *p != 0x7f)
      fputc(*p, stream);
    else if (*p == '\n')
      fputs("\\n", stream);
    else if (*p == '\t')
      fputs("\\t", stream);
    else
      fprintf(stream, "\\x%02x", *p);
  }
  fputc('\n', stream);
}

/* `text` as a JSON string. Jansson refuses a string that is not UTF-8,
 * and a path or a name from outside (a config file, an output path) may
 * be anything: each byte that is not part of a valid sequence becomes
 * \xNN, as in a text line, rather than losing the whole line. */
static json_t *json_text(const char *text) {
  size_t len = strlen(text);
  if (pl_utf8_valid(text, len))
    return json_stringn(text, len);
  pl_buf_t clean = {0};
  json_t *value = pl__text_repair(text, len, true, &clean) == 0
                      ? json_stringn(clean.data, clean.len)
                      : NULL;
  pl_buf_free(&clean);
  return value;
}

static void write_line(const pl_logger_t *log, pl_log_level_t level,
                       const char *plugin, const char *pipeline,
                       const char *message) {
  if (log->line_shown && *log->line_shown) {
    fputs("\r\x1b[K", log->stream);
    *log->line_shown = false;
  }
  char ts[48];
  timestamp(ts, sizeof(ts));
  if (log->format == PL_LOG_JSON) {
    json_t *line =
        json_pack("{s:s, s:s, s:o*}", "time", ts, "level",
                  pl_log_level_name(level), "message", json_text(message));
    if (!line)
      return;
    if (plugin)
      json_object_set_new(line, "plugin", json_text(plugin));
    if (pipeline)
      json_object_set_new(line, "pipeline", json_text(pipeline));
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text)
      fprintf(log->stream, "%s\n", text);
    free(text);
    json_decref(line);
  } else if (plugin) {
    fprintf(log->stream, "%s %-5s [%s:%s] ", ts, pl_log_level_name(level),
            plugin, pipeline ? pipeline : "-");
    write_escaped(log->stream, message);
  } else {
    fprintf(log->stream, "%s %-5s ", ts, pl_log_level_name(level));
    write_escaped(log->stream, message);
  }
  fflush(log->stream);
}

/* Formats one message, with `suffix` (NULL: none) after it, and writes
 * it when its level passes. */
static void write_message(const pl_logger_t *log, pl_log_level_t level,
                          const char *plugin, const char *pipeline,
                          const char *suffix, const char *fmt, va_list ap)
    PL_PRINTF(6, 0);

static void write_message(const pl_logger_t *log, pl_log_level_t level,
                          const char *plugin, const char *pipeline,
                          const char *suffix, const char *fmt, va_list ap) {
  if (level > log->level)
    return;
  pl_buf_t message = {0};
  if (pl_buf_vprintf(&message, fmt, ap) == 0 &&
      (!suffix || pl_buf_append_str(&message, suffix) == 0))
    write_line(log, level, plugin, pipeline, message.data);
  pl_buf_free(&message);
}

void pl__log_write(const pl_logger_t *log, pl_log_level_t level,
                   const char *plugin, const char *pipeline, const char *fmt,
                   va_list ap) {
  write_message(log, level, plugin, pipeline, NULL, fmt, ap);
}

void pl__log(const pl_logger_t *log, pl_log_level_t level, const char *fmt,
             ...) {
  va_list ap;
  va_start(ap, fmt);
  pl__log_write(log, level, NULL, NULL, fmt, ap);
  va_end(ap);
}

void pl__log_instance(const pl_instance_t *inst, pl_log_level_t level,
                      const char *suffix, const char *fmt, va_list ap) {
  pl_logger_t log = inst->pipeline->engine->log;
  if (inst->stage.log_level >= 0)
    log.level = (pl_log_level_t)inst->stage.log_level;
  write_message(&log, level, inst->name, inst->pipeline->name, suffix, fmt, ap);
}

void pl_log(const pl_instance_t *inst, pl_log_level_t level, const char *fmt,
            ...) {
  va_list ap;
  va_start(ap, fmt);
  pl__log_instance(inst, level, NULL, fmt, ap);
  va_end(ap);
}
