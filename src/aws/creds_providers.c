/* What the credential providers share: credential sets in secret storage,
 * results, timestamps, the JSON document of the container and instance
 * metadata endpoints and failure texts. The providers themselves are in
 * creds_{env,profile,sts,ecs,imds}.c. */
#include "creds_providers.h"

#include <jansson.h>
#include <pipelined/timestamp.h>
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
  va_list ap;
  va_start(ap, fmt);
  char *reason = pl_vformat(fmt, ap);
  va_end(ap);
  if (!reason)
    return PL_ENOMEM;
  free(result->reason);
  result->outcome = outcome;
  result->reason = reason;
  return 0;
}

/* Whether every byte of `text` is printable ASCII other than a space,
 * and other than '/' unless `slash`. */
static bool visible(const char *text, bool slash) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= ' ' || *p >= 0x7f || (!slash && *p == '/'))
      return false;
  return true;
}

/* Whether `text` holds a control character or a space. */
static bool has_blank(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return true;
  return false;
}

int pl__creds_found(pl__creds_result_t *result, const char *what,
                    const char *const names[3], const char *access_key_id,
                    const char *secret_access_key, const char *session_token,
                    int64_t expires_at, const char *source) {
  const char *bad = !visible(access_key_id, false)                   ? names[0]
                    : has_blank(secret_access_key)                   ? names[1]
                    : session_token && !visible(session_token, true) ? names[2]
                                                                     : NULL;
  if (bad)
    return pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "%s%s%s holds a character no signature can carry (a control "
        "character or a space; a file with CRLF line ends leaves a CR at "
        "the end of each line)",
        what ? what : "", what ? ": " : "", bad);
  int rc = pl__creds_set_new(access_key_id, secret_access_key, session_token,
                             expires_at, source, &result->set);
  if (rc == 0)
    result->outcome = PL__CREDS_FOUND;
  return rc;
}

void pl__creds_result_clear(pl__creds_result_t *result) {
  pl__creds_set_free(result->set);
  free(result->reason);
  free(result->value);
  *result = (pl__creds_result_t){0};
}

/* ---- Helpers ---- */

void pl__creds_op_finish(pl__creds_op_t *op,
                         void (*destroy)(pl__creds_op_t *op),
                         pl__creds_result_t *result, int rc) {
  if (rc < 0) {
    pl__creds_result_clear(result);
    result->outcome = PL__CREDS_FAILED; /* reason NULL: out of memory */
  }
  pl__creds_done_cb cb = op->cb;
  void *data = op->data;
  destroy(op);
  cb(data, result);
}

const char *pl__creds_getenv(const pl_env_t *env, const char *name) {
  if (!env || !env->getenv)
    return NULL;
  const char *value = env->getenv(env->data, name);
  return value && *value ? value : NULL;
}

int pl__creds_parse_time(const char *text, int64_t *out) {
  /* The providers' documents write ISO 8601 (STS, IMDS, ECS, and whatever a
   * credential_process prints), hence the lenient flag. */
  pl_timestamp_t ts;
  int rc = pl_timestamp_parse_rfc3339(text, strlen(text), PL_TIMESTAMP_ISO8601,
                                      &ts);
  return rc < 0 ? rc : pl_timestamp_to_epoch(&ts, out);
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
  static const pl__creds_json_shape_t metadata = {.token = "Token"};
  return pl__creds_from_json_shaped(body, len, what, source, &metadata,
                                    result);
}

int pl__creds_from_json_shaped(const char *body, size_t len, const char *what,
                               const char *source,
                               const pl__creds_json_shape_t *shape,
                               pl__creds_result_t *result) {
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
  const char *token = json_member(doc, shape->token);
  json_t *version = json_object_get(doc, "Version");
  /* An Expiration that is there but not a string (epoch seconds as a
   * number) is an error, not "never expires": taken as absent, the
   * credentials would be used past their real expiry. A null is absent,
   * as the AWS SDKs read it. */
  json_t *expiration_value = json_object_get(doc, "Expiration");
  const char *expiration = json_member(doc, "Expiration");
  bool bad_expiration =
      expiration_value && !json_is_null(expiration_value) && !expiration;
  int64_t expires_at = 0;
  if (shape->version_1 &&
      !(json_is_integer(version) && json_integer_value(version) == 1)) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: Version is not 1", what);
  } else if (code && strcmp(code, "Success") != 0) {
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
  } else if (bad_expiration ||
             (expiration &&
              pl__creds_parse_time(expiration, &expires_at) < 0)) {
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s: Expiration is not an ISO 8601 time", what);
  } else {
    const char *const names[] = {"AccessKeyId", "SecretAccessKey",
                                 shape->token};
    rc = pl__creds_found(result, what, names, id, key, token, expires_at,
                         source);
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
