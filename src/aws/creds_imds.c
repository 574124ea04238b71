/* IMDSv2 as a three-step state machine: session token, role name, role
 * credentials. The session token is a secret (it lets anyone on the
 * instance read the metadata): it lives in secret storage and only goes
 * into request headers. */
#include "creds_imds.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMDS_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_PATH "/latest/api/token"
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define IMDS_REGION_PATH "/latest/meta-data/placement/region"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_TIMEOUT_MS 1000
#define IMDS_TOKEN_MAX 4096

typedef enum imds_step {
  IMDS_TOKEN,
  IMDS_ROLE,
  IMDS_CREDENTIALS,
  IMDS_REGION,
} imds_step_t;

typedef struct imds_op {
  pl__creds_op_t op;
  const pl_http_transport_t *http;
  pl_http_call_t *call;
  imds_step_t step;
  imds_step_t after_token; /* IMDS_ROLE (credentials) or IMDS_REGION */
  bool canceled;
  char *endpoint; /* without a trailing '/' */
  char *url;      /* of the request in flight, for messages */
  pl_secret_t *token;
} imds_op_t;

static void imds_op_free(pl__creds_op_t *base) {
  imds_op_t *op = (imds_op_t *)base;
  pl__secret_free(op->token);
  free(op->endpoint);
  free(op->url);
  free(op);
}

static void imds_on_done(void *data, const pl_http_response_t *response);

/* Sends the request of the current step to endpoint + path. Returns
 * PL_EAGAIN, or 0 with *result FAILED, or PL_ENOMEM. */
static int imds_submit(imds_op_t *op, const char *path,
                       pl__creds_result_t *result) {
  free(op->url);
  pl_buf_t url = {0};
  int rc = pl_buf_printf(&url, "%s%s", op->endpoint, path);
  op->url = url.data;
  if (rc < 0)
    return rc;
  bool put = op->step == IMDS_TOKEN;
  const pl_http_header_t headers[] = {
      put ? (pl_http_header_t){"X-aws-ec2-metadata-token-ttl-seconds",
                               IMDS_TOKEN_TTL}
          : (pl_http_header_t){"X-aws-ec2-metadata-token",
                               pl__secret_str(op->token)},
  };
  const pl_http_request_t request = {
      .method = put ? "PUT" : "GET",
      .url = op->url,
      .headers = headers,
      .header_count = 1,
      .timeout_ms = IMDS_TIMEOUT_MS,
      .connect_timeout_ms = IMDS_TIMEOUT_MS,
  };
  const pl_http_handlers_t handlers = {.on_done = imds_on_done, .data = op};
  rc = pl__http_submit(op->http, &request, &handlers, &op->call);
  if (rc < 0)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "%s %s: cannot start the request (%s)",
                                request.method, op->url, pl_strerror(rc));
  return PL_EAGAIN;
}

/* The first line of the role listing, if it is a plausible role name
 * (IAM allows letters, digits and "+=,.@_-"): it becomes a URL path. */
static bool role_name(const pl_http_response_t *response, char **out) {
  const char *body = response->body ? response->body : "";
  size_t len = strcspn(body, "\r\n");
  while (len > 0 && (body[len - 1] == ' ' || body[len - 1] == '\t'))
    len--;
  if (len == 0 || len > 128)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = body[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || strchr("+=,.@_-", c) != NULL;
    if (!ok)
      return false;
  }
  *out = strndup(body, len);
  return true;
}

/* The region document: one region name, as a host name and the signing
 * scope need it. */
static int region_answer(imds_op_t *op, const pl_http_response_t *response,
                         pl__creds_result_t *result) {
  if (response->error < 0 || response->status != 200)
    return pl__creds_http_failure(result, PL__CREDS_FAILED, "GET", op->url,
                                  response);
  const char *body = response->body ? response->body : "";
  size_t len = response->body ? response->body_len : 0;
  while (len > 0 && strchr(" \t\r\n", body[len - 1]))
    len--;
  bool ok = len > 0 && len <= 63;
  for (size_t i = 0; ok && i < len; i++)
    ok = (body[i] >= 'a' && body[i] <= 'z') ||
         (body[i] >= '0' && body[i] <= '9') || body[i] == '-';
  if (!ok)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "GET %s: no region name in the answer",
                                op->url);
  result->value = strndup(body, len);
  if (!result->value)
    return PL_ENOMEM;
  result->outcome = PL__CREDS_FOUND;
  return 0;
}

/* Handles one answer; returns PL_EAGAIN when the next step was sent. */
static int imds_step(imds_op_t *op, const pl_http_response_t *response,
                     pl__creds_result_t *result) {
  const char *method = op->step == IMDS_TOKEN ? "PUT" : "GET";
  if (op->canceled || response->error == PL_ECANCELED)
    return pl__creds_result_set(result, PL__CREDS_FAILED, "canceled");
  switch (op->step) {
  case IMDS_TOKEN: {
    /* No answer, or a refusal (403: IMDS off, 404/405: no IMDSv2): this
     * is not an EC2 instance we can use. */
    if (response->error < 0 || response->status != 200)
      return pl__creds_http_failure(result, PL__CREDS_ABSENT, method, op->url,
                                    response);
    size_t len = response->body ? response->body_len : 0;
    if (len == 0 || len > IMDS_TOKEN_MAX)
      return pl__creds_result_set(result, PL__CREDS_FAILED,
                                  "PUT %s: unusable token (%zu bytes)", op->url,
                                  len);
    int rc = pl__secret_new(response->body, len, &op->token);
    if (rc < 0)
      return rc;
    pl__creds_trim_secret(op->token);
    if (strpbrk(pl__secret_str(op->token), "\r\n") ||
        strlen(pl__secret_str(op->token)) != pl__secret_len(op->token))
      return pl__creds_result_set(result, PL__CREDS_FAILED,
                                  "PUT %s: token has a line break", op->url);
    op->step = op->after_token;
    return imds_submit(
        op, op->step == IMDS_REGION ? IMDS_REGION_PATH : IMDS_ROLE_PATH,
        result);
  }
  case IMDS_REGION:
    return region_answer(op, response, result);
  case IMDS_ROLE: {
    if (response->error == 0 && response->status == 404)
      return pl__creds_result_set(result, PL__CREDS_ABSENT,
                                  "no IAM role attached to the instance "
                                  "(GET %s: HTTP 404)",
                                  op->url);
    if (response->error < 0 || response->status != 200)
      return pl__creds_http_failure(result, PL__CREDS_FAILED, method, op->url,
                                    response);
    char *role = NULL;
    if (!role_name(response, &role))
      return pl__creds_result_set(result, PL__CREDS_FAILED,
                                  "GET %s: no usable role name in the answer",
                                  op->url);
    if (!role)
      return PL_ENOMEM;
    pl_buf_t path = {0};
    int rc = pl_buf_printf(&path, "%s%s", IMDS_ROLE_PATH, role);
    free(role);
    op->step = IMDS_CREDENTIALS;
    if (rc == 0)
      rc = imds_submit(op, path.data, result);
    pl_buf_free(&path);
    return rc;
  }
  case IMDS_CREDENTIALS:
    break;
  }
  if (response->error < 0 || response->status != 200)
    return pl__creds_http_failure(result, PL__CREDS_FAILED, method, op->url,
                                  response);
  pl_buf_t what = {0};
  int rc = pl_buf_printf(&what, "GET %s", op->url);
  if (rc == 0)
    rc = pl__creds_from_json(response->body, response->body_len, what.data,
                             "instance metadata", result);
  pl_buf_free(&what);
  return rc;
}

static void imds_on_done(void *data, const pl_http_response_t *response) {
  imds_op_t *op = data;
  op->call = NULL;
  pl__creds_result_t result = {0};
  int rc = imds_step(op, response, &result);
  if (rc == PL_EAGAIN)
    return;
  pl__creds_op_finish(&op->op, imds_op_free, &result, rc);
}

static void imds_cancel(pl__creds_op_t *base) {
  imds_op_t *op = (imds_op_t *)base;
  op->canceled = true;
  /* Last statement: on_done may run, and free op, inside cancel(). */
  if (op->call && op->http->cancel)
    op->http->cancel(op->http->self, op->call);
}

/* Starts at the token step; the step after it is `after_token`. */
static int imds_start(const pl__creds_ctx_t *ctx, imds_step_t after_token,
                      pl__creds_result_t *result, pl__creds_done_cb cb,
                      void *data, pl__creds_op_t **out) {
  *out = NULL;
  const char *disabled =
      pl__creds_getenv(ctx->env, "AWS_EC2_METADATA_DISABLED");
  if (disabled && strcasecmp(disabled, "true") == 0)
    return pl__creds_result_set(result, PL__CREDS_ABSENT,
                                "disabled by AWS_EC2_METADATA_DISABLED");
  const char *endpoint =
      pl__creds_getenv(ctx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  const char *mode =
      pl__creds_getenv(ctx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  if (!endpoint)
    endpoint = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_ENDPOINT_IPV6
                                                     : IMDS_ENDPOINT;
  if (strncasecmp(endpoint, "http://", 7) != 0 &&
      strncasecmp(endpoint, "https://", 8) != 0)
    return pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http or https URL");
  imds_op_t *op = calloc(1, sizeof *op);
  if (!op)
    return PL_ENOMEM;
  op->op = (pl__creds_op_t){.cancel = imds_cancel, .cb = cb, .data = data};
  op->http = ctx->http;
  op->step = IMDS_TOKEN;
  op->after_token = after_token;
  size_t len = strlen(endpoint);
  while (len > 0 && endpoint[len - 1] == '/')
    len--;
  op->endpoint = strndup(endpoint, len);
  int rc = op->endpoint ? imds_submit(op, IMDS_TOKEN_PATH, result) : PL_ENOMEM;
  if (rc == PL_EAGAIN) {
    *out = &op->op;
    return PL_EAGAIN;
  }
  imds_op_free(&op->op);
  return rc;
}

int pl__creds_imds_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                         pl__creds_done_cb cb, void *data,
                         pl__creds_op_t **out) {
  return imds_start(ctx, IMDS_ROLE, result, cb, data, out);
}

int pl__creds_imds_region_start(const pl__creds_ctx_t *ctx,
                                pl__creds_result_t *result,
                                pl__creds_done_cb cb, void *data,
                                pl__creds_op_t **out) {
  return imds_start(ctx, IMDS_REGION, result, cb, data, out);
}
