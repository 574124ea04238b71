/* What the credential providers share: credential sets in secret storage,
 * results, timestamps, the JSON document of the container and instance
 * metadata endpoints and failure texts. The providers themselves are in
 * creds_{env,profile,sts,ecs,imds}.c. */
#include "creds_providers.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- Credential sets ---- */

int pl__creds_set_new(const char *access_key_id, const char *secret_access_key,
                      const char *session_token, int64_t expires_at,
                      const char *source, pl__creds_set_t **out) {
  *out = NULL;
  size_t id_len = strlen(access_key_id);
  size_t key_len = strlen(secret_access_key);
  size_t token_len = session_token ? strlen(session_token) : 0;
  pl__creds_set_t *set = calloc(1, sizeof *set);
  if (!set)
    return PL_ENOMEM;
  set->source = strdup(source);
  /* The three strings back to back, each with its NUL. */
  int rc = set->source ? pl__secret_alloc(id_len + key_len + token_len + 2,
                                          &set->secret)
                       : PL_ENOMEM;
  if (rc < 0) {
    pl__creds_set_free(set);
    return rc;
  }
  char *text = pl__secret_data(set->secret);
  memcpy(text, access_key_id, id_len + 1);
  memcpy(text + id_len + 1, secret_access_key, key_len + 1);
  if (token_len)
    memcpy(text + id_len + key_len + 2, session_token, token_len + 1);
  set->view = (pl_aws_credentials_t){
      .access_key_id = text,
      .secret_access_key = text + id_len + 1,
      .session_token = token_len ? text + id_len + key_len + 2 : NULL,
      .expires_at = expires_at,
      .source = set->source,
  };
  *out = set;
  return 0;
}

void pl__creds_set_free(pl__creds_set_t *set) {
  if (!set)
    return;
  pl__secret_free(set->secret);
  free(set->source);
  free(set);
}

/* ---- Results ---- */

int pl__creds_result_set(pl__creds_result_t *result,
                         pl__creds_outcome_t outcome, const char *fmt, ...) {
  pl_buf_t buf = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = pl_buf_vprintf(&buf, fmt, ap);
  va_end(ap);
  if (rc < 0) {
    pl_buf_free(&buf);
    return rc;
  }
  free(result->reason);
  result->outcome = outcome;
  result->reason = buf.data ? buf.data : strdup("");
  return result->reason ? 0 : PL_ENOMEM;
}

void pl__creds_result_clear(pl__creds_result_t *result) {
  pl__creds_set_free(result->set);
  free(result->reason);
  *result = (pl__creds_result_t){0};
}

/* ---- Helpers ---- */

const char *pl__creds_getenv(const pl_env_t *env, const char *name) {
  if (!env || !env->getenv)
    return NULL;
  const char *value = env->getenv(env->data, name);
  return value && *value ? value : NULL;
}

static bool read_digits(const char **p, int count, int *out) {
  int value = 0;
  for (int i = 0; i < count; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  *p += count;
  *out = value;
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no time zone or timegm() is involved. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int pl__creds_parse_time(const char *text, int64_t *out) {
  const char *p = text;
  int year, month, day, hour, minute, second;
  if (!read_digits(&p, 4, &year) || *p++ != '-' ||
      !read_digits(&p, 2, &month) || *p++ != '-' || !read_digits(&p, 2, &day))
    return PL_EPARSE;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return PL_EPARSE;
  p++;
  if (!read_digits(&p, 2, &hour) || *p++ != ':' ||
      !read_digits(&p, 2, &minute) || *p++ != ':' ||
      !read_digits(&p, 2, &second))
    return PL_EPARSE;
  if (*p == '.' || *p == ',') {
    p++;
    if (*p < '0' || *p > '9')
      return PL_EPARSE;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  int offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1;
    int off_h, off_m;
    if (!read_digits(&p, 2, &off_h))
      return PL_EPARSE;
    if (*p == ':')
      p++;
    if (!read_digits(&p, 2, &off_m) || off_h > 23 || off_m > 59)
      return PL_EPARSE;
    offset = sign * (off_h * 3600 + off_m * 60);
  } else {
    return PL_EPARSE;
  }
  if (*p != '\0')
    return PL_EPARSE;
  static const int month_days[] = {31, 29, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 ||
      second > 60)
    return PL_EPARSE;
  *out = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
         second - offset;
  return 0;
}

/* Overwrites the text of every string member before the document goes:
 * jansson's copies are plain heap, and freeing does not clear them. */
static void wipe_json_strings(json_t *object) {
  const char *key;
  json_t *value;
  json_object_foreach(object, key, value) {
    if (json_is_string(value)) /* jansson hands out only const text */
      pl__secret_wipe((char *)json_string_value(value),
                      json_string_length(value));
  }
}

static const char *json_member(json_t *object, const char *name) {
  json_t *value = json_object_get(object, name);
  return json_is_string(value) ? json_string_value(value) : NULL;
}

int pl__creds_from_json(const char *body, size_t len, const char *what,
                        const char *source, pl__creds_result_t *result) {
  json_error_t error;
  /* error.text may quote the document: only the position is used. */
  json_t *doc = body ? json_loadb(body, len, 0, &error) : NULL;
  if (!doc)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "%s: response is not valid JSON%s", what,
                                body ? " (syntax error)" : " (empty)");
  int rc = 0;
  if (!json_is_object(doc)) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: response is not a JSON object", what);
    json_decref(doc);
    return rc;
  }
  const char *code = json_member(doc, "Code");
  const char *id = json_member(doc, "AccessKeyId");
  const char *key = json_member(doc, "SecretAccessKey");
  const char *token = json_member(doc, "Token");
  const char *expiration = json_member(doc, "Expiration");
  int64_t expires_at = 0;
  if (code && strcmp(code, "Success") != 0) {
    /* IMDS reports failures in Code ("AssumeRoleUnauthorizedAccess"):
     * an AWS error code, never a secret, but kept short. */
    rc = pl__creds_result_set(result, PL__CREDS_FAILED, "%s: Code is %.64s",
                              what, code);
  } else if (!id || !*id) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: response has no AccessKeyId", what);
  } else if (!key || !*key) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: response has no SecretAccessKey", what);
  } else if (expiration && pl__creds_parse_time(expiration, &expires_at) < 0) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: Expiration is not an ISO 8601 time", what);
  } else {
    rc = pl__creds_set_new(id, key, token, expires_at, source, &result->set);
    if (rc == 0)
      result->outcome = PL__CREDS_FOUND;
  }
  wipe_json_strings(doc);
  json_decref(doc);
  return rc;
}

int pl__creds_http_failure(pl__creds_result_t *result,
                           pl__creds_outcome_t outcome, const char *method,
                           const char *url,
                           const pl_http_response_t *response) {
  if (response->error == PL_EAGAIN)
    return pl__creds_result_set(result, outcome, "%s %s: timed out", method,
                                url);
  if (response->error == PL_ECANCELED)
    return pl__creds_result_set(result, outcome, "canceled");
  if (response->error < 0)
    return pl__creds_result_set(result, outcome, "%s %s: %s", method, url,
                                response->error_text
                                    ? response->error_text
                                    : pl_strerror(response->error));
  return pl__creds_result_set(result, outcome, "%s %s: HTTP %d", method, url,
                              response->status);
}

void pl__creds_clean_text(char *text, size_t max) {
  size_t len = 0;
  for (; text[len]; len++)
    if ((unsigned char)text[len] < 0x20 || text[len] == 0x7f)
      text[len] = ' ';
  if (len > max && max >= 3) {
    /* Cut on a UTF-8 character boundary. */
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
      cut--;
    memcpy(text + cut, "...", 4);
  }
}

void pl__creds_trim_secret(pl_secret_t *secret) {
  const char *text = pl__secret_str(secret);
  size_t len = pl__secret_len(secret);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
                     text[len - 1] == ' ' || text[len - 1] == '\t'))
    len--;
  pl__secret_truncate(secret, len);
}
