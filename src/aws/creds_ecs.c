/* Container credentials: one GET, after checking that a FULL_URI over
 * plain http cannot send the authorization token off the machine (the
 * AWS rule: https, or a host whose every address is loopback or an
 * ECS/EKS agent address; a name is resolved with uv_getaddrinfo so the
 * loop never blocks). */
#include "creds_ecs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ECS_HOST "http://169.254.170.2"
#define ECS_TOKEN_FILE_MAX ((size_t)64 << 10)
#define ECS_TIMEOUT_MS 5000
#define ECS_CONNECT_TIMEOUT_MS 2000

typedef struct ecs_op {
  pl__creds_op_t op;
  const pl_http_transport_t *http;
  pl_http_call_t *call;
  uv_getaddrinfo_t resolve;
  bool resolving;
  bool canceled;
  pl_secret_t *auth; /* the Authorization header value, or NULL */
  char *url;
  char *host; /* FULL_URI's host while it is resolved */
} ecs_op_t;

static void ecs_op_free(pl__creds_op_t *base) {
  ecs_op_t *op = (ecs_op_t *)base;
  pl__secret_free(op->auth);
  free(op->url);
  free(op->host);
  free(op);
}

static bool ipv4_allowed(const unsigned char a[4]) {
  return a[0] == 127 || (a[0] == 169 && a[1] == 254 && a[2] == 170 &&
                         (a[3] == 2 || a[3] == 23));
}

static bool ipv6_allowed(const unsigned char a[16]) {
  static const unsigned char loopback[16] = {[15] = 1};
  static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
  static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (memcmp(a, loopback, 16) == 0 || memcmp(a, eks, 16) == 0)
    return true;
  return memcmp(a, mapped, 12) == 0 && ipv4_allowed(a + 12);
}

bool pl__creds_ecs_host_allowed(const char *host, bool *is_literal) {
  unsigned char addr[16];
  *is_literal = true;
  if (inet_pton(AF_INET, host, addr) == 1)
    return ipv4_allowed(addr);
  if (inet_pton(AF_INET6, host, addr) == 1)
    return ipv6_allowed(addr);
  *is_literal = false;
  return false;
}

/* FULL_URI's scheme and host: *https set, *host a new string ("::1"
 * without brackets). Returns 0, PL_EINVAL or PL_ENOMEM. */
static int split_url(const char *url, bool *https, char **host) {
  const char *rest;
  if (strncasecmp(url, "https://", 8) == 0) {
    *https = true;
    rest = url + 8;
  } else if (strncasecmp(url, "http://", 7) == 0) {
    *https = false;
    rest = url + 7;
  } else {
    return PL_EINVAL;
  }
  size_t authority = strcspn(rest, "/?#");
  /* Userinfo ("user:pass@host") is skipped to reach the host. */
  const char *at = memchr(rest, '@', authority);
  if (at) {
    authority -= (size_t)(at + 1 - rest);
    rest = at + 1;
  }
  const char *start = rest;
  size_t len;
  if (*rest == '[') {
    const char *close = memchr(rest, ']', authority);
    if (!close)
      return PL_EINVAL;
    start = rest + 1;
    len = (size_t)(close - start);
  } else {
    const char *colon = memchr(rest, ':', authority);
    len = colon ? (size_t)(colon - rest) : authority;
  }
  if (len == 0)
    return PL_EINVAL;
  *host = strndup(start, len);
  return *host ? 0 : PL_ENOMEM;
}

/* A non-200 answer, with the {"code", "message"} ECS may send. */
static int ecs_error(ecs_op_t *op, const pl_http_response_t *response,
                     pl__creds_result_t *result) {
  json_error_t error;
  json_t *doc = response->body && response->body_len
                    ? json_loadb(response->body, response->body_len, 0, &error)
                    : NULL;
  json_t *code = json_object_get(doc, "code");
  json_t *message = json_object_get(doc, "message");
  pl_buf_t detail = {0};
  int rc = 0;
  if (json_is_string(code))
    rc = pl_buf_printf(&detail, " %.64s", json_string_value(code));
  if (rc == 0 && json_is_string(message))
    rc = pl_buf_printf(&detail, ": %s", json_string_value(message));
  json_decref(doc);
  if (rc == 0 && detail.data) {
    if (op->auth)
      pl__secret_redact(detail.data, pl__secret_str(op->auth));
    pl__creds_clean_text(detail.data, 300);
  }
  if (rc == 0)
    rc = pl__creds_result_set(result, PL__CREDS_FAILED, "GET %s: HTTP %d%s",
                              op->url, response->status,
                              detail.data ? detail.data : "");
  pl_buf_free(&detail);
  return rc;
}

static void ecs_finish(ecs_op_t *op, pl__creds_result_t *result, int rc) {
  pl__creds_op_finish(&op->op, ecs_op_free, result, rc);
}

static void ecs_on_done(void *data, const pl_http_response_t *response) {
  ecs_op_t *op = data;
  op->call = NULL;
  pl__creds_result_t result = {0};
  pl_buf_t what = {0};
  int rc;
  if (op->canceled || response->error == PL_ECANCELED)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED, "canceled");
  else if (response->error < 0)
    rc = pl__creds_http_failure(&result, PL__CREDS_FAILED, "GET", op->url,
                                response);
  else if (response->status != 200)
    rc = ecs_error(op, response, &result);
  else if ((rc = pl_buf_printf(&what, "GET %s", op->url)) == 0)
    rc = pl__creds_from_json(response->body, response->body_len, what.data,
                             "container", &result);
  pl_buf_free(&what);
  ecs_finish(op, &result, rc);
}

/* Sends the GET; on failure fills *result and returns 0 (or PL_ENOMEM). */
static int ecs_submit(ecs_op_t *op, pl__creds_result_t *result) {
  pl_http_header_t headers[2] = {{"Accept", "application/json"}};
  size_t count = 1;
  if (op->auth)
    headers[count++] =
        (pl_http_header_t){"Authorization", pl__secret_str(op->auth)};
  const pl_http_request_t request = {
      .method = "GET",
      .url = op->url,
      .headers = headers,
      .header_count = count,
      .timeout_ms = ECS_TIMEOUT_MS,
      .connect_timeout_ms = ECS_CONNECT_TIMEOUT_MS,
  };
  const pl_http_handlers_t handlers = {.on_done = ecs_on_done, .data = op};
  int rc = pl__http_submit(op->http, &request, &handlers, &op->call);
  if (rc < 0)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "GET %s: cannot start the request (%s)",
                                op->url, pl_strerror(rc));
  return PL_EAGAIN;
}

static void ecs_on_resolved(uv_getaddrinfo_t *req, int status,
                            struct addrinfo *addresses) {
  ecs_op_t *op = req->data;
  op->resolving = false;
  pl__creds_result_t result = {0};
  int rc = 0;
  bool allowed = addresses != NULL;
  for (struct addrinfo *ai = addresses; ai && allowed; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET)
      allowed = ipv4_allowed(
          (const unsigned char *)&((struct sockaddr_in *)ai->ai_addr)
              ->sin_addr);
    else if (ai->ai_family == AF_INET6)
      allowed =
          ipv6_allowed(((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr);
    else
      allowed = false;
  }
  uv_freeaddrinfo(addresses);
  if (op->canceled || status == UV_EAI_CANCELED || status == UV_ECANCELED)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED, "canceled");
  else if (status < 0)
    rc = pl__creds_result_set(
        &result, PL__CREDS_FAILED,
        "cannot resolve the host of AWS_CONTAINER_CREDENTIALS_FULL_URI %s: %s",
        op->host, uv_strerror(status));
  else if (!allowed)
    rc = pl__creds_result_set(
        &result, PL__CREDS_FAILED,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI host %s resolves to an address "
        "that is not loopback or an ECS/EKS agent (plain http needs one; "
        "or use https)",
        op->host);
  else if ((rc = ecs_submit(op, &result)) == PL_EAGAIN)
    return;
  ecs_finish(op, &result, rc);
}

static void ecs_cancel(pl__creds_op_t *base) {
  ecs_op_t *op = (ecs_op_t *)base;
  op->canceled = true;
  if (op->resolving) {
    /* Fails when the lookup already runs; its callback comes anyway. */
    (void)uv_cancel((uv_req_t *)&op->resolve);
    return;
  }
  if (op->call && op->http->cancel)
    op->http->cancel(op->http->self, op->call);
}

/* The Authorization value: file first, then the variable. A failure
 * fills *result. */
static int ecs_auth(const pl__creds_ctx_t *ctx, pl_secret_t **auth,
                    pl__creds_result_t *result) {
  const char *file =
      pl__creds_getenv(ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *value =
      pl__creds_getenv(ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  int rc = 0;
  if (file) {
    int err = 0;
    rc = pl__secret_read_file(file, ECS_TOKEN_FILE_MAX, auth, &err);
    if (rc < 0)
      return pl__creds_result_set(
          result, PL__CREDS_FAILED,
          "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
          rc == PL_ERANGE ? "too large"
          : err           ? strerror(err)
                          : pl_strerror(rc));
    pl__creds_trim_secret(*auth);
  } else if (value) {
    rc = pl__secret_new(value, strlen(value), auth);
    if (rc < 0)
      return rc;
  } else {
    return 0;
  }
  const char *text = pl__secret_str(*auth);
  if (strlen(text) != pl__secret_len(*auth) || strpbrk(text, "\r\n")) {
    pl__secret_free(*auth);
    *auth = NULL;
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "the authorization token has a line break or "
                                "NUL byte");
  }
  return 0;
}

int pl__creds_ecs_start(const pl__creds_ctx_t *ctx, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data,
                        pl__creds_op_t **out) {
  *out = NULL;
  const char *relative =
      pl__creds_getenv(ctx->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full =
      pl__creds_getenv(ctx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative && !full)
    return pl__creds_result_set(
        result, PL__CREDS_ABSENT,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set");
  ecs_op_t *op = calloc(1, sizeof *op);
  if (!op)
    return PL_ENOMEM;
  op->op = (pl__creds_op_t){.cancel = ecs_cancel, .cb = cb, .data = data};
  op->http = ctx->http;
  op->resolve.data = op;
  bool https = false;
  int rc = 0;
  if (relative) {
    pl_buf_t url = {0};
    rc = pl_buf_printf(&url, "%s%s%s", ECS_HOST, relative[0] == '/' ? "" : "/",
                       relative);
    op->url = url.data;
  } else {
    op->url = strdup(full);
    rc = op->url ? split_url(full, &https, &op->host) : PL_ENOMEM;
    if (rc == PL_EINVAL)
      rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                                "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an "
                                "http or https URL with a host");
  }
  if (rc == 0 && result->reason == NULL)
    rc = ecs_auth(ctx, &op->auth, result);
  if (rc < 0 || result->reason) {
    ecs_op_free(&op->op);
    return rc;
  }
  bool literal = false;
  if (relative || https || pl__creds_ecs_host_allowed(op->host, &literal)) {
    rc = ecs_submit(op, result);
  } else if (literal) {
    rc = pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI host %s is not loopback or an "
        "ECS/EKS agent address (plain http needs one; or use https)",
        op->host);
  } else {
    const struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                   .ai_socktype = SOCK_STREAM};
    rc = uv_getaddrinfo(ctx->loop, &op->resolve, ecs_on_resolved, op->host,
                        NULL, &hints);
    if (rc == 0) {
      op->resolving = true;
      rc = PL_EAGAIN;
    } else {
      rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                                "cannot resolve %s: %s", op->host,
                                uv_strerror(rc));
    }
  }
  if (rc == PL_EAGAIN) {
    *out = &op->op;
    return PL_EAGAIN;
  }
  ecs_op_free(&op->op);
  return rc;
}
