/* sink-s3's key templates (s3_key.h). */
#include <string.h>

#include <openssl/rand.h>
#include <pipelined/s3.h>

#include "s3_key.h"

typedef enum { VAR_NONE, VAR_PIPELINE, VAR_UUID, VAR_SEQ } key_var_t;

/* The variable named by "${@name}" at `p` (which starts with "${"), and
 * its length in *len; VAR_NONE when unknown or unterminated. */
static key_var_t var_at(const char *p, size_t *len) {
  static const struct {
    const char *text;
    key_var_t var;
  } vars[] = {{"${@pipeline}", VAR_PIPELINE},
              {"${@uuid}", VAR_UUID},
              {"${@seq}", VAR_SEQ}};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    size_t n = strlen(vars[i].text);
    if (strncmp(p, vars[i].text, n) == 0) {
      *len = n;
      return vars[i].var;
    }
  }
  return VAR_NONE;
}

static bool is_time_conversion(char c) {
  return c && strchr("YmdHMS", c) != NULL;
}

const char *s3_key_check(const char *text) {
  if (!text || !*text)
    return "is empty";
  bool uuid = false;
  for (const char *p = text; *p; p++) {
    if (*p == '%') {
      if (p[1] != '%' && !is_time_conversion(p[1]))
        return "has an unknown %-conversion (%Y %m %d %H %M %S and %% are "
               "known)";
      p++;
    } else if (*p == '$') {
      if (p[1] == '$') {
        p++;
        continue;
      }
      if (p[1] != '{')
        return "has a '$' that starts no ${@name} (write $$ for a '$')";
      if (!strchr(p, '}'))
        return "has an unterminated ${";
      size_t len = 0;
      key_var_t var = var_at(p, &len);
      if (var == VAR_NONE)
        return "has an unknown ${...} name (${@pipeline}, ${@uuid} and "
               "${@seq} are known)";
      uuid = uuid || var == VAR_UUID;
      p += len - 1;
    }
  }
  if (!uuid)
    return "has no ${@uuid} (each object needs a key no other object has)";
  return NULL;
}

static int render_time(char c, const struct tm *tm, pl_buf_t *out) {
  switch (c) {
  case 'Y':
    return pl_buf_printf(out, "%04d", tm->tm_year + 1900);
  case 'm':
    return pl_buf_printf(out, "%02d", tm->tm_mon + 1);
  case 'd':
    return pl_buf_printf(out, "%02d", tm->tm_mday);
  case 'H':
    return pl_buf_printf(out, "%02d", tm->tm_hour);
  case 'M':
    return pl_buf_printf(out, "%02d", tm->tm_min);
  default:
    return pl_buf_printf(out, "%02d", tm->tm_sec);
  }
}

int s3_key_render(const char *text, const s3_key_vars_t *vars, pl_buf_t *out) {
  if (s3_key_check(text))
    return PL_EINVAL;
  struct tm tm;
  if (!gmtime_r(&vars->opened, &tm))
    return PL_EINVAL;
  size_t start = out->len;
  int rc = 0;
  for (const char *p = text; rc == 0 && *p; p++) {
    if (*p == '%') {
      p++;
      rc = *p == '%' ? pl_buf_append(out, "%", 1) : render_time(*p, &tm, out);
    } else if (*p == '$') {
      if (p[1] == '$') {
        rc = pl_buf_append(out, "$", 1);
        p++;
        continue;
      }
      size_t len = 0;
      switch (var_at(p, &len)) {
      case VAR_PIPELINE:
        rc = pl_buf_append_str(out, vars->pipeline);
        break;
      case VAR_UUID:
        rc = pl_buf_append_str(out, vars->uuid);
        break;
      default:
        rc = pl_buf_printf(out, "%llu", (unsigned long long)vars->seq);
        break;
      }
      p += len - 1;
    } else {
      rc = pl_buf_append(out, p, 1);
    }
  }
  if (rc == 0 && out->len - start > PL_S3_KEY_MAX)
    rc = PL_ERANGE;
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

int s3_key_uuid(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1)
    return PL_EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
  return 0;
}
