/* STS calls for role credentials (query API, POST form body): the token
 * file's JWT exchanged with an unsigned AssumeRoleWithWebIdentity, and
 * AssumeRole signed with the source credentials; creds_sts_answer.h reads
 * the answer. The token and the request body live in wiped memory. */
#include "creds_sts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "creds_sts_answer.h"
#include "endpoint.h"
#include "sigv4.h"

#define STS_TOKEN_FILE_MAX ((size_t)64 << 10)
#define STS_TIMEOUT_MS 10000
#define STS_CONNECT_TIMEOUT_MS 3000

/* ---- The request ---- */

typedef struct sts_op {
  pl__creds_op_t op;
  const pl_http_transport_t *http;
  pl_http_call_t *call;
  pl_secret_t *token; /* kept to redact it from STS error messages */
  const char *action; /* "AssumeRole", static */
  char *what;         /* "AssumeRole of arn:...", for messages */
  char *url;
  char *source;
  bool canceled;
} sts_op_t;

static void sts_op_free(pl__creds_op_t *base) {
  sts_op_t *op = (sts_op_t *)base;
  pl__secret_free(op->token);
  free(op->what);
  free(op->url);
  free(op->source);
  free(op);
}

/* application/x-www-form-urlencoded with RFC 3986 unreserved characters
 * kept; counts when out is NULL. */
static size_t form_encode(char *out, const char *in, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                c == '~';
    if (keep) {
      if (out)
        out[n] = (char)c;
      n++;
    } else {
      if (out) {
        out[n] = '%';
        out[n + 1] = hex[c >> 4];
        out[n + 2] = hex[c & 15];
      }
      n += 3;
    }
  }
  return n;
}

/* One parameter of the form; a NULL value leaves it out. */
typedef struct sts_param {
  const char *name;
  const char *value;
} sts_param_t;

/* Writes (or, when out is NULL, counts) "Action=A&Version=...&N=V...". */
static size_t sts_form_write(char *out, const char *action,
                             const sts_param_t *params, size_t count) {
  static const char version[] = "&Version=2011-06-15";
  size_t n = 0;
  for (size_t i = 0; i <= count; i++) {
    const char *name = i ? params[i - 1].name : "Action";
    const char *value = i ? params[i - 1].value : action;
    if (!value)
      continue;
    size_t name_len = strlen(name) + (i ? 2 : 1); /* "&N=" or "N=" */
    if (out) {
      char *p = out + n;
      if (i)
        *p++ = '&';
      memcpy(p, name, strlen(name));
      p[strlen(name)] = '=';
    }
    n += name_len;
    n += form_encode(out ? out + n : NULL, value, strlen(value));
    if (!i) {
      if (out)
        memcpy(out + n, version, sizeof version - 1);
      n += sizeof version - 1;
    }
  }
  return n;
}

/* The form body, in a secret since it may carry a token. */
static int sts_form(const char *action, const sts_param_t *params, size_t count,
                    pl_secret_t **out) {
  int rc = pl__secret_alloc(sts_form_write(NULL, action, params, count), out);
  if (rc == 0)
    sts_form_write(pl__secret_data(*out), action, params, count);
  return rc;
}

static void sts_on_done(void *data, const pl_http_response_t *response) {
  sts_op_t *op = data;
  op->call = NULL;
  pl__creds_result_t result = {0};
  int rc;
  if (op->canceled || response->error == PL_ECANCELED)
    rc = pl__creds_result_set(&result, PL__CREDS_FAILED, "canceled");
  else if (response->error < 0)
    rc = pl__creds_http_failure(&result, PL__CREDS_FAILED, "POST", op->url,
                                response);
  else
    rc = pl__creds_sts_answer(
        &(const pl__creds_sts_answer_t){
            .action = op->action,
            .what = op->what,
            .url = op->url,
            .source = op->source,
            .redact = op->token ? pl__secret_str(op->token) : NULL,
        },
        response, &result);
  pl__creds_op_finish(&op->op, sts_op_free, &result, rc);
}

static void sts_cancel(pl__creds_op_t *base) {
  sts_op_t *op = (sts_op_t *)base;
  op->canceled = true;
  /* Last statement: the transport may run on_done, which frees op, from
   * inside cancel(). */
  if (op->call && op->http->cancel)
    op->http->cancel(op->http->self, op->call);
}

/* The SigV4 headers of an AssumeRole request signed by `signer` for
 * service "sts" in ctx->sts_region, into *out. */
static int sts_sign(const pl__creds_ctx_t *ctx, const char *path,
                    const pl_aws_credentials_t *signer,
                    const pl_http_header_t *headers, size_t count,
                    const pl_secret_t *body, pl_aws_sigv4_output_t *out) {
  const pl_aws_sigv4_params_t params = {
      .credentials = signer,
      .region = ctx->sts_region ? ctx->sts_region : "us-east-1",
      .service = "sts",
      .time = ctx->now,
      .normalize_path = true,
      .double_encode_path = true,
  };
  const pl_aws_sigv4_request_t request = {
      .method = "POST",
      .path = path,
      .headers = headers,
      .header_count = count,
      .body = pl__secret_str(body),
      .body_len = pl__secret_len(body),
  };
  return pl__aws_sigv4_sign(&params, &request, out);
}

/* The headers of a request to `url`: Host, the form's type, Accept, then
 * (with a signer) the signature's. Returns 0, PL_EINVAL (a URL that does
 * not parse), PL_ENOMEM or the signer's error; *all is new. */
static int sts_headers(const pl__creds_ctx_t *ctx, const char *url,
                       const pl_aws_credentials_t *signer,
                       const pl_secret_t *body, pl_buf_t *host,
                       pl_aws_sigv4_output_t *sig, pl_http_header_t **all,
                       size_t *count) {
  pl_aws_url_t parsed = {0};
  int rc = pl__aws_url_parse(url, &parsed);
  pl_buf_t path = {0};
  if (rc == 0)
    rc = pl__aws_url_authority(&parsed, host);
  if (rc == 0)
    rc = pl_buf_printf(&path, "%s/", parsed.path);
  pl__aws_url_close(&parsed);
  const pl_http_header_t base[] = {
      {"Host", host->data},
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
      {"Accept", "application/xml"},
  };
  size_t n = sizeof base / sizeof base[0];
  if (rc == 0 && signer)
    rc = sts_sign(ctx, path.data, signer, base, n, body, sig);
  pl_buf_free(&path);
  if (rc < 0)
    return rc;
  *all = calloc(n + sig->header_count, sizeof **all);
  if (!*all)
    return PL_ENOMEM;
  memcpy(*all, base, sizeof base);
  memcpy(*all + n, sig->headers, sig->header_count * sizeof **all);
  *count = n + sig->header_count;
  return 0;
}

/* Sends one STS query API call at ctx->sts_url: `token` (stolen, may be
 * NULL) is redacted from error texts; `signer` NULL sends it unsigned. */
static int sts_send(const pl__creds_ctx_t *ctx, const char *action,
                    const char *what, const sts_param_t *params, size_t count,
                    pl_secret_t *token, const pl_aws_credentials_t *signer,
                    const char *source, pl__creds_result_t *result,
                    pl__creds_done_cb cb, void *data, pl__creds_op_t **out) {
  sts_op_t *op = calloc(1, sizeof *op);
  if (!op) {
    pl__secret_free(token);
    return PL_ENOMEM;
  }
  op->op = (pl__creds_op_t){.cancel = sts_cancel, .cb = cb, .data = data};
  op->http = ctx->http;
  op->token = token;
  op->action = action;
  op->what = strdup(what);
  op->source = strdup(source);
  pl_buf_t url = {0};
  size_t base_len = strlen(ctx->sts_url);
  int rc =
      pl_buf_printf(&url, "%s%s", ctx->sts_url,
                    base_len && ctx->sts_url[base_len - 1] == '/' ? "" : "/");
  op->url = url.data;
  pl_secret_t *body = NULL;
  if (rc == 0)
    rc = op->url && op->source && op->what
             ? sts_form(action, params, count, &body)
             : PL_ENOMEM;
  pl_buf_t host = {0};
  pl_aws_sigv4_output_t sig = {0};
  pl_http_header_t *headers = NULL;
  size_t header_count = 0;
  if (rc == 0)
    rc = sts_headers(ctx, ctx->sts_url, signer, body, &host, &sig, &headers,
                     &header_count);
  if (rc < 0 && rc != PL_ENOMEM)
    rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                              "%s at %s: cannot build the request (%s)", what,
                              op->url, pl_strerror(rc));
  else if (rc == 0) {
    const pl_http_request_t request = {
        .method = "POST",
        .url = op->url,
        .headers = headers,
        .header_count = header_count,
        .body = pl__secret_str(body),
        .body_len = pl__secret_len(body),
        .timeout_ms = STS_TIMEOUT_MS,
        .connect_timeout_ms = STS_CONNECT_TIMEOUT_MS,
    };
    const pl_http_handlers_t handlers = {.on_done = sts_on_done, .data = op};
    rc = pl__http_submit(ctx->http, &request, &handlers, &op->call);
    if (rc < 0)
      rc = pl__creds_result_set(result, PL__CREDS_FAILED,
                                "POST %s: cannot start the request (%s)",
                                op->url, pl_strerror(rc));
    else
      rc = PL_EAGAIN;
  }
  /* The transport copied the request. */
  free(headers);
  pl__aws_sigv4_output_close(&sig);
  pl_buf_free(&host);
  pl__secret_free(body);
  if (rc != PL_EAGAIN) {
    sts_op_free(&op->op);
    return rc;
  }
  *out = &op->op;
  return PL_EAGAIN;
}

int pl__creds_sts_start(const pl__creds_ctx_t *ctx, const char *role_arn,
                        const char *token_file, const char *session_name,
                        const char *source, pl__creds_result_t *result,
                        pl__creds_done_cb cb, void *data,
                        pl__creds_op_t **out) {
  *out = NULL;
  pl_secret_t *token = NULL;
  int err = 0;
  int rc = pl__secret_read_file(token_file, STS_TOKEN_FILE_MAX, &token, &err);
  if (rc == PL_ERANGE)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "token file %s is larger than %zu bytes",
                                token_file, STS_TOKEN_FILE_MAX);
  if (rc < 0)
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "cannot read token file %s: %s", token_file,
                                err ? strerror(err) : pl_strerror(rc));
  pl__creds_trim_secret(token);
  if (pl__secret_len(token) == 0) {
    pl__secret_free(token);
    return pl__creds_result_set(result, PL__CREDS_FAILED,
                                "token file %s is empty", token_file);
  }
  pl_buf_t default_session = {0};
  if (!session_name && pl_buf_printf(&default_session, "pipelined-%lld",
                                     (long long)ctx->now) < 0) {
    pl__secret_free(token);
    return PL_ENOMEM;
  }
  const sts_param_t params[] = {
      {"RoleArn", role_arn},
      {"RoleSessionName", session_name ? session_name : default_session.data},
      {"WebIdentityToken", pl__secret_str(token)},
  };
  rc = sts_send(ctx, "AssumeRoleWithWebIdentity", "AssumeRoleWithWebIdentity",
                params, sizeof params / sizeof params[0], token, NULL, source,
                result, cb, data, out);
  pl_buf_free(&default_session);
  return rc;
}

int pl__creds_assume_role_start(const pl__creds_ctx_t *ctx,
                                const pl__creds_assume_role_t *role,
                                const pl_aws_credentials_t *signer,
                                const char *source, pl__creds_result_t *result,
                                pl__creds_done_cb cb, void *data,
                                pl__creds_op_t **out) {
  *out = NULL;
  pl_buf_t default_session = {0};
  pl_buf_t what = {0};
  int rc = role->session_name
               ? 0
               : pl_buf_printf(&default_session, "pipelined-%lld",
                               (long long)ctx->now);
  if (rc == 0)
    rc = pl_buf_printf(&what, "AssumeRole of %s", role->role_arn);
  const sts_param_t params[] = {
      {"RoleArn", role->role_arn},
      {"RoleSessionName",
       role->session_name ? role->session_name : default_session.data},
      {"ExternalId", role->external_id},
      {"DurationSeconds", role->duration_seconds},
  };
  if (rc == 0)
    rc = sts_send(ctx, "AssumeRole", what.data, params,
                  sizeof params / sizeof params[0], NULL, signer, source,
                  result, cb, data, out);
  pl_buf_free(&what);
  pl_buf_free(&default_session);
  return rc;
}

int pl__creds_web_identity_start(const pl__creds_ctx_t *ctx,
                                 pl__creds_result_t *result,
                                 pl__creds_done_cb cb, void *data,
                                 pl__creds_op_t **op) {
  const char *token_file =
      pl__creds_getenv(ctx->env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  const char *role_arn = pl__creds_getenv(ctx->env, "AWS_ROLE_ARN");
  if (!token_file)
    return pl__creds_result_set(result, PL__CREDS_ABSENT,
                                "AWS_WEB_IDENTITY_TOKEN_FILE not set");
  if (!role_arn)
    return pl__creds_result_set(
        result, PL__CREDS_FAILED,
        "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
  return pl__creds_sts_start(
      ctx, role_arn, token_file,
      pl__creds_getenv(ctx->env, "AWS_ROLE_SESSION_NAME"), "web identity",
      result, cb, data, op);
}
