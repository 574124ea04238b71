/* Structured AWS errors: parsing of JSON and XML error responses, transport
 * errors and the one-line formatter. */
#include "aws_error.h"

#include <pipelined/aws.h>

#include "retry.h"
#include "xml.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Copies optional text: NULL stays NULL and only a failed copy is an
 * error. */
static int dup_opt(const char *text, char **out) {
  *out = NULL;
  if (!text)
    return 0;
  *out = strdup(text);
  return *out ? 0 : PL_ENOMEM;
}

static const char *header(const pl_aws_response_view_t *response,
                          const char *name) {
  if (!response->header)
    return NULL;
  const char *value = response->header(response->header_data, name);
  return value && *value ? value : NULL;
}

void pl__aws_error_destroy(pl_aws_error_detail_t *error) {
  if (!error)
    return;
  free(error->service);
  free(error->operation);
  free(error->code);
  free(error->message);
  free(error->request_id);
  free(error->date);
  free(error);
}

int pl__aws_error_create(const pl_aws_error_fields_t *fields,
                         pl_aws_error_detail_t **out) {
  *out = NULL;
  if (!fields || !fields->service)
    return PL_EINVAL;
  if (fields->transport ? fields->transport > 0 || fields->status != 0
                        : !fields->code || fields->status < 0)
    return PL_EINVAL;
  pl_aws_error_detail_t *error = calloc(1, sizeof *error);
  if (!error)
    return PL_ENOMEM;
  error->status = fields->status;
  error->transport = fields->transport;
  if (dup_opt(fields->service, &error->service) < 0 ||
      dup_opt(fields->operation, &error->operation) < 0 ||
      dup_opt(fields->code, &error->code) < 0 ||
      dup_opt(fields->message, &error->message) < 0 ||
      dup_opt(fields->request_id, &error->request_id) < 0 ||
      dup_opt(fields->date, &error->date) < 0) {
    pl__aws_error_destroy(error);
    return PL_ENOMEM;
  }
  pl_aws_retry_class_t cls = pl__aws_retry_classify(error);
  error->retryable = cls != PL_AWS_RETRY_NEVER;
  error->throttling = cls == PL_AWS_RETRY_THROTTLING;
  *out = error;
  return 0;
}

const char *pl__aws_error_status_code(int status) {
  switch (status) {
  case 301:
    return "PermanentRedirect";
  case 304:
    return "NotModified";
  case 307:
    return "TemporaryRedirect";
  case 400:
    return "BadRequest";
  case 403:
    return "Forbidden";
  case 404:
    return "NotFound";
  case 405:
    return "MethodNotAllowed";
  case 409:
    return "Conflict";
  case 412:
    return "PreconditionFailed";
  case 416:
    return "InvalidRange";
  case 429:
    return "TooManyRequests";
  case 500:
    return "InternalError";
  case 501:
    return "NotImplemented";
  case 502:
    return "BadGateway";
  case 503:
    return "ServiceUnavailable";
  case 504:
    return "GatewayTimeout";
  }
  return "UnknownError";
}

/* Cleans an error type as the Smithy AWS protocols specify, so that
 * "aws.protocoltests#FooError:http://internal.amazon.com/..." and
 * "FooError" both give "FooError". Returns the length of the result,
 * which starts at *start. */
static size_t sanitize_code(const char *raw, size_t len, const char **start) {
  const char *colon = memchr(raw, ':', len);
  if (colon)
    len = (size_t)(colon - raw);
  const char *hash = memchr(raw, '#', len);
  if (hash) {
    len -= (size_t)(hash + 1 - raw);
    raw = hash + 1;
  }
  *start = raw;
  return len;
}

/* Builds the error from borrowed pieces: `code` of `code_len` bytes (NULL
 * for the status-derived code) plus a message and a request id. */
static int finish(const char *service, const char *operation,
                  const pl_aws_response_view_t *response, const char *code,
                  size_t code_len, const char *message, const char *request_id,
                  pl_aws_error_detail_t **out) {
  char *code_copy = NULL;
  if (code && code_len > 0) {
    code_copy = strndup(code, code_len);
    if (!code_copy)
      return PL_ENOMEM;
  }
  pl_aws_error_fields_t fields = {
      .service = service,
      .operation = operation,
      .status = response->status,
      .code =
          code_copy ? code_copy : pl__aws_error_status_code(response->status),
      .message = message,
      .request_id = request_id,
      .date = header(response, "date"),
  };
  int rc = pl__aws_error_create(&fields, out);
  free(code_copy);
  return rc;
}

static bool valid_response(const char *service,
                           const pl_aws_response_view_t *response) {
  return service && response && response->status >= 100 &&
         response->status <= 599 && (response->body || !response->body_len);
}

static const char *json_string_member(json_t *object, const char *name) {
  const char *text = json_string_value(json_object_get(object, name));
  return text && *text ? text : NULL;
}

int pl__aws_error_from_json(const char *service, const char *operation,
                            const pl_aws_response_view_t *response,
                            pl_aws_error_detail_t **out) {
  *out = NULL;
  if (!valid_response(service, response))
    return PL_EINVAL;
  json_t *root = NULL;
  if (response->body_len > 0) {
    root = json_loadb(response->body, response->body_len, 0, NULL);
    /* A proxy's HTML page or a cut body is not the service's error: fall
     * back to the status rather than failing the error path itself. */
    if (root && !json_is_object(root)) {
      json_decref(root);
      root = NULL;
    }
  }
  const char *code = NULL;
  size_t code_len = 0;
  const char *query_error = header(response, "x-amzn-query-error");
  if (query_error) {
    /* "AWS.SimpleQueueService.NonExistentQueue;Sender": the code SQS had
     * under its query protocol, which is what its documentation lists and
     * what callers compare with. Taken verbatim: it has no namespace. */
    const char *semi = strchr(query_error, ';');
    code = query_error;
    code_len = semi ? (size_t)(semi - query_error) : strlen(query_error);
  }
  const char *candidates[] = {
      header(response, "x-amzn-errortype"),
      root ? json_string_member(root, "code") : NULL,
      root ? json_string_member(root, "__type") : NULL,
  };
  for (size_t i = 0; code_len == 0 && i < 3; i++)
    if (candidates[i])
      code_len = sanitize_code(candidates[i], strlen(candidates[i]), &code);
  const char *message = NULL;
  if (root) {
    message = json_string_member(root, "message");
    if (!message)
      message = json_string_member(root, "Message");
  }
  const char *request_id = header(response, "x-amzn-requestid");
  if (!request_id)
    request_id = header(response, "x-amz-request-id");
  int rc = finish(service, operation, response, code, code_len, message,
                  request_id, out);
  json_decref(root);
  return rc;
}

/* ---- XML ---- */

/* Elements deeper than this are never the ones we read. */
#define XML_MAX_DEPTH 8

enum xml_field { XML_NONE, XML_CODE, XML_MESSAGE, XML_REQUEST_ID };

typedef struct xml_state {
  int depth;                        /* of the element being read */
  bool in_error[XML_MAX_DEPTH + 1]; /* the element at that depth is <Error> */
  enum xml_field field;             /* the text being collected */
  pl_buf_t text[4];                 /* per field; [XML_NONE] unused */
  bool seen[4];
} xml_state_t;

/* Names are local (xml.h): <Error> in S3's or STS's namespace is "Error". */
static int xml_start(pl_aws_xml_t *xml, void *data, const char *name) {
  xml_state_t *st = data;
  st->depth++;
  st->field = XML_NONE;
  if (st->depth > XML_MAX_DEPTH)
    return 0;
  st->in_error[st->depth] = strcmp(name, "Error") == 0;
  bool parent_error = st->depth > 1 && st->in_error[st->depth - 1];
  /* <ErrorResponse>, <Response> (EC2) and <Error> carry the request id. */
  bool id_parent = parent_error || st->depth == 2;
  enum xml_field field = XML_NONE;
  if (parent_error && strcmp(name, "Code") == 0)
    field = XML_CODE;
  else if (parent_error && strcmp(name, "Message") == 0)
    field = XML_MESSAGE;
  else if (id_parent &&
           (strcmp(name, "RequestId") == 0 || strcmp(name, "RequestID") == 0))
    field = XML_REQUEST_ID;
  /* The first occurrence wins, as for JSON members. */
  if (field != XML_NONE && !st->seen[field]) {
    st->seen[field] = true;
    st->field = field;
  }
  return 0;
}

static int xml_end(pl_aws_xml_t *xml, void *data, const char *name) {
  xml_state_t *st = data;
  st->depth--;
  st->field = XML_NONE;
  return 0;
}

static int xml_text(pl_aws_xml_t *xml, void *data, const char *text,
                    size_t len) {
  xml_state_t *st = data;
  if (st->field == XML_NONE)
    return 0;
  return pl_buf_append(&st->text[st->field], text, len);
}

/* The collected text without surrounding whitespace, or NULL. */
static const char *trimmed(pl_buf_t *buf) {
  if (buf->len == 0)
    return NULL;
  char *s = buf->data;
  size_t len = buf->len;
  while (len > 0 && strchr(" \t\r\n", s[len - 1]))
    s[--len] = '\0';
  while (*s && strchr(" \t\r\n", *s))
    s++;
  return *s ? s : NULL;
}

int pl__aws_error_from_xml(const char *service, const char *operation,
                           const pl_aws_response_view_t *response,
                           pl_aws_error_detail_t **out) {
  *out = NULL;
  if (!valid_response(service, response))
    return PL_EINVAL;
  xml_state_t st = {0};
  bool parsed = false;
  int rc = 0;
  if (response->body_len > 0) {
    const pl_aws_xml_handlers_t handlers = {
        .start = xml_start,
        .end = xml_end,
        .text = xml_text,
    };
    rc = pl__aws_xml_parse(response->body, response->body_len, &handlers, &st,
                           NULL, NULL);
    parsed = rc == 0;
    /* A body that is not well-formed XML, or that has a DOCTYPE (refused
     * by xml.h so that entity expansion never runs), is ignored. */
    if (rc == PL_EPARSE)
      rc = 0;
  }
  if (rc == 0) {
    const char *code = parsed ? trimmed(&st.text[XML_CODE]) : NULL;
    const char *message = parsed ? trimmed(&st.text[XML_MESSAGE]) : NULL;
    const char *request_id = header(response, "x-amz-request-id");
    if (!request_id && parsed)
      request_id = trimmed(&st.text[XML_REQUEST_ID]);
    if (!request_id)
      request_id = header(response, "x-amzn-requestid");
    rc = finish(service, operation, response, code, code ? strlen(code) : 0,
                message, request_id, out);
  }
  for (int i = 0; i < 4; i++)
    pl_buf_free(&st.text[i]);
  return rc;
}

int pl__aws_error_from_transport(const char *service, const char *operation,
                                 int transport, const char *text,
                                 pl_aws_error_detail_t **out) {
  *out = NULL;
  if (transport >= 0)
    return PL_EINVAL;
  pl_aws_error_fields_t fields = {
      .service = service,
      .operation = operation,
      .transport = transport,
      .message = text && *text ? text : NULL,
  };
  return pl__aws_error_create(&fields, out);
}

/* ---- Formatting ---- */

/* Appends remote text with control characters (newlines, escapes) turned
 * into spaces: a log line stays one line whatever the server sent. */
static int append_clean(pl_buf_t *out, const char *text) {
  size_t start = out->len;
  int rc = pl_buf_append_str(out, text);
  if (rc < 0)
    return rc;
  for (size_t i = start; i < out->len; i++) {
    unsigned char c = (unsigned char)out->data[i];
    if (c < 0x20 || c == 0x7f)
      out->data[i] = ' ';
  }
  return 0;
}

/* The transport failures, each with the code the public pl_aws_error_t
 * carries and the words a log line says. */
static const struct {
  int transport;
  const char *code;
  const char *text;
} transports[] = {
    {PL_EAGAIN, "Timeout", "timed out"},
    {PL_ECANCELED, "Canceled", "cancelled"},
    {PL_ERANGE, "ResponseTooLarge", "response too large"},
    {PL_EIO, "ConnectionError", "connection failed"},
};
#define TRANSPORT_COUNT (sizeof(transports) / sizeof(transports[0]))

const char *pl__aws_transport_code(int transport) {
  for (size_t i = 0; i < TRANSPORT_COUNT; i++)
    if (transports[i].transport == transport)
      return transports[i].code;
  return "ConnectionError";
}

static const char *transport_text(int transport) {
  for (size_t i = 0; i < TRANSPORT_COUNT; i++)
    if (transports[i].transport == transport)
      return transports[i].text;
  return pl_strerror(transport);
}

/* The words of a transport failure known by its public code. */
static const char *transport_text_of_code(const char *code) {
  for (size_t i = 0; code && i < TRANSPORT_COUNT; i++)
    if (strcmp(transports[i].code, code) == 0)
      return transports[i].text;
  return code ? code : "failed";
}

/* The one line every AWS error is logged as:
 *   "<service> <operation>: HTTP <status> <code>: <message> (request id X)"
 * or, with no response, "<service> <operation>: <what failed>: <message>". */
static int format_line(pl_buf_t *out, const char *service,
                       const char *operation, int status, const char *lead,
                       const char *message, const char *request_id) {
  size_t start = out->len;
  int rc = append_clean(out, service ? service : "aws");
  if (rc == 0 && operation) {
    rc = pl_buf_append_str(out, " ");
    if (rc == 0)
      rc = append_clean(out, operation);
  }
  if (rc == 0 && status == 0) {
    rc = pl_buf_printf(out, ": %s", lead);
  } else if (rc == 0) {
    rc = pl_buf_printf(out, ": HTTP %d ", status);
    if (rc == 0)
      rc = append_clean(out, lead);
  }
  if (rc == 0 && message && *message) {
    rc = pl_buf_append_str(out, ": ");
    if (rc == 0)
      rc = append_clean(out, message);
  }
  if (rc == 0 && request_id) {
    rc = pl_buf_append_str(out, " (request id ");
    if (rc == 0)
      rc = append_clean(out, request_id);
    if (rc == 0)
      rc = pl_buf_append_str(out, ")");
  }
  /* Leave the caller's buffer as it was rather than half a line. */
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}

int pl__aws_error_format(const pl_aws_error_detail_t *error, pl_buf_t *out) {
  const char *lead = error->status == 0
                         ? transport_text(error->transport)
                         : (error->code ? error->code : "UnknownError");
  return format_line(out, error->service, error->operation, error->status,
                     lead, error->message, error->request_id);
}

void pl_aws_error_format(const pl_aws_error_t *e, pl_buf_t *out) {
  const char *lead = e->status == 0
                         ? transport_text_of_code(e->code)
                         : (e->code ? e->code : "UnknownError");
  format_line(out, e->service, e->operation, e->status, lead, e->message,
              e->request_id);
}
