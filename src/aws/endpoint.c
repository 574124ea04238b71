/* Region and endpoint resolution, endpoint URL parsing and S3 URLs. */
#include "endpoint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *pl__aws_region_source_name(pl_aws_region_source_t source) {
  switch (source) {
#define PL__AWS_REGION_SOURCE_CASE(name, text)                                 \
  case PL_AWS_REGION_FROM_##name:                                              \
    return text;
    PL_AWS_REGION_SOURCE_MAP(PL__AWS_REGION_SOURCE_CASE)
#undef PL__AWS_REGION_SOURCE_CASE
  }
  return "unknown";
}

const char *pl__aws_endpoint_source_name(pl_aws_endpoint_source_t source) {
  switch (source) {
#define PL__AWS_ENDPOINT_SOURCE_CASE(name, text)                               \
  case PL_AWS_ENDPOINT_FROM_##name:                                            \
    return text;
    PL_AWS_ENDPOINT_SOURCE_MAP(PL__AWS_ENDPOINT_SOURCE_CASE)
#undef PL__AWS_ENDPOINT_SOURCE_CASE
  }
  return "unknown";
}

/* ASCII classes written out, so the daemon's locale cannot change them. */
static bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
static char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static const char *set_or_null(const char *text) {
  return text && *text ? text : NULL;
}

static const char *env_get(const pl_aws_endpoint_inputs_t *in,
                           const char *name) {
  if (!in->env || !in->env->getenv)
    return NULL;
  return set_or_null(in->env->getenv(in->env->data, name));
}

/* ---- Region ---- */

static bool region_ok(const char *region) {
  size_t len = strlen(region);
  if (len == 0 || len > 63)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!is_lower(region[i]) && !is_digit(region[i]) && region[i] != '-')
      return false;
  return true;
}

int pl__aws_region_resolve(const pl_aws_endpoint_inputs_t *in, char **region,
                           pl_aws_region_source_t *source, char **error) {
  *region = NULL;
  if (error)
    *error = NULL;
  if (!in)
    return PL_EINVAL;
  struct {
    const char *value;
    pl_aws_region_source_t source;
  } order[] = {
      {set_or_null(in->plugin_region), PL_AWS_REGION_FROM_PLUGIN},
      {set_or_null(in->block_region), PL_AWS_REGION_FROM_BLOCK},
      {env_get(in, "AWS_REGION"), PL_AWS_REGION_FROM_ENV},
      {env_get(in, "AWS_DEFAULT_REGION"), PL_AWS_REGION_FROM_ENV_DEFAULT},
      {set_or_null(in->profile_region), PL_AWS_REGION_FROM_PROFILE},
      {set_or_null(in->imds_region), PL_AWS_REGION_FROM_IMDS},
  };
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    if (!order[i].value)
      continue;
    if (!region_ok(order[i].value)) {
      pl_error_set(error,
                "invalid AWS region \"%s\" (from %s): expected lower-case "
                "letters, digits and '-'",
                order[i].value, pl__aws_region_source_name(order[i].source));
      return PL_EINVAL;
    }
    *region = strdup(order[i].value);
    if (!*region)
      return PL_ENOMEM;
    if (source)
      *source = order[i].source;
    return 0;
  }
  pl_error_set(error,
               "no AWS region: not in the stage's region option, the aws {} "
               "block, AWS_REGION, AWS_DEFAULT_REGION or %s%s%s%s; set region "
               "in the aws {} block",
               in->profile_where ? in->profile_where : "the profile",
               in->imds_error ? ", nor from instance metadata (" : "",
               in->imds_error ? in->imds_error : "", in->imds_error ? ")" : "");
  return PL_ENOENT;
}

/* ---- URLs ---- */

void pl__aws_url_close(pl_aws_url_t *url) {
  free(url->scheme);
  free(url->host);
  free(url->path);
  *url = (pl_aws_url_t){0};
}

static char *dup_lower(const char *text, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy)
    return NULL;
  for (size_t i = 0; i < len; i++)
    copy[i] = to_lower(text[i]);
  copy[len] = '\0';
  return copy;
}

static bool prefix_nocase(const char *text, const char *prefix) {
  for (; *prefix; text++, prefix++)
    if (to_lower(*text) != *prefix)
      return false;
  return true;
}

static bool host_char(char c) {
  return is_lower(to_lower(c)) || is_digit(c) || c == '-' || c == '.' ||
         c == '_';
}

static bool ipv6_char(char c) {
  c = to_lower(c);
  return is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

int pl__aws_url_parse(const char *url, pl_aws_url_t *out) {
  *out = (pl_aws_url_t){0};
  if (!url)
    return PL_EINVAL;
  /* Anything that could smuggle a second request line, user info or a
   * query into what we later concatenate into URLs and Host headers. */
  for (const char *p = url; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f || c == '@' || c == '?' || c == '#' || c == '\\')
      return PL_EINVAL;
  }
  size_t scheme_len;
  if (prefix_nocase(url, "https://"))
    scheme_len = 5;
  else if (prefix_nocase(url, "http://"))
    scheme_len = 4;
  else
    return PL_EINVAL;
  const char *host = url + scheme_len + 3;
  const char *end = host;
  if (*host == '[') {
    end = strchr(host, ']');
    if (!end || end == host + 1)
      return PL_EINVAL;
    for (const char *p = host + 1; p < end; p++)
      if (!ipv6_char(*p))
        return PL_EINVAL;
    end++;
  } else {
    while (*end && host_char(*end))
      end++;
    if (end == host)
      return PL_EINVAL;
  }
  int port = scheme_len == 5 ? 443 : 80;
  bool port_explicit = false;
  const char *rest = end;
  if (*rest == ':') {
    rest++;
    long value = 0;
    const char *digits = rest;
    while (is_digit(*rest) && value <= 65535)
      value = value * 10 + (*rest++ - '0');
    if (rest == digits || value < 1 || value > 65535)
      return PL_EINVAL;
    port = (int)value;
    port_explicit = true;
  }
  if (*rest && *rest != '/')
    return PL_EINVAL;
  size_t path_len = strlen(rest);
  while (path_len > 0 && rest[path_len - 1] == '/')
    path_len--;
  out->scheme = dup_lower(url, scheme_len);
  out->host = dup_lower(host, (size_t)(end - host));
  /* The path keeps its case: it is not a name the DNS compares. */
  out->path = malloc(path_len + 1);
  if (out->path) {
    memcpy(out->path, rest, path_len);
    out->path[path_len] = '\0';
  }
  if (!out->scheme || !out->host || !out->path) {
    pl__aws_url_close(out);
    return PL_ENOMEM;
  }
  out->port = port;
  out->port_explicit = port_explicit;
  return 0;
}

static bool default_port(const pl_aws_url_t *url) {
  return url->port == (strcmp(url->scheme, "https") == 0 ? 443 : 80);
}

int pl__aws_url_authority(const pl_aws_url_t *url, pl_buf_t *out) {
  if (url->port_explicit && !default_port(url))
    return pl_buf_printf(out, "%s:%d", url->host, url->port);
  return pl_buf_append_str(out, url->host);
}

/* ---- Endpoints ---- */

static const struct {
  const char *id;       /* as the client names it */
  const char *env_name; /* AWS_ENDPOINT_URL_<SERVICE> */
} services[] = {
    {"s3", "AWS_ENDPOINT_URL_S3"},
    {"sqs", "AWS_ENDPOINT_URL_SQS"},
    {"dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"},
    {"sts", "AWS_ENDPOINT_URL_STS"},
};

void pl__aws_endpoint_close(pl_aws_endpoint_t *endpoint) {
  free(endpoint->url);
  *endpoint = (pl_aws_endpoint_t){0};
}

/* The URL rebuilt from its parts: lower-case scheme and host, no trailing
 * '/', so every later concatenation starts from one form. */
static int normalize(const pl_aws_url_t *url, char **out) {
  pl_buf_t buf = {0};
  int rc = pl_buf_printf(&buf, "%s://", url->scheme);
  if (rc == 0)
    rc = url->port_explicit ? pl_buf_printf(&buf, "%s:%d", url->host, url->port)
                            : pl_buf_append_str(&buf, url->host);
  if (rc == 0)
    rc = pl_buf_append_str(&buf, url->path);
  if (rc < 0) {
    pl_buf_free(&buf);
    return rc;
  }
  *out = buf.data;
  return 0;
}

int pl__aws_endpoint_resolve(const pl_aws_endpoint_inputs_t *in,
                             const char *service, const char *region,
                             pl_aws_endpoint_t *out, char **error) {
  *out = (pl_aws_endpoint_t){0};
  if (error)
    *error = NULL;
  const char *env_name = NULL;
  for (size_t i = 0; service && i < sizeof services / sizeof services[0]; i++)
    if (strcmp(service, services[i].id) == 0)
      env_name = services[i].env_name;
  if (!in || !env_name) {
    pl_error_set(error, "unknown AWS service \"%s\"", service ? service : "");
    return PL_EINVAL;
  }
  struct {
    const char *value;
    pl_aws_endpoint_source_t source;
    const char *what; /* for the error message */
  } order[] = {
      {set_or_null(in->plugin_endpoint), PL_AWS_ENDPOINT_FROM_PLUGIN,
       "plugin option"},
      {set_or_null(in->block_endpoint), PL_AWS_ENDPOINT_FROM_BLOCK,
       "aws {} block"},
      {env_get(in, env_name), PL_AWS_ENDPOINT_FROM_ENV_SERVICE, env_name},
      {env_get(in, "AWS_ENDPOINT_URL"), PL_AWS_ENDPOINT_FROM_ENV,
       "AWS_ENDPOINT_URL"},
      {set_or_null(in->profile_service_endpoint),
       PL_AWS_ENDPOINT_FROM_PROFILE_SERVICE, "the profile's services section"},
      {set_or_null(in->profile_endpoint), PL_AWS_ENDPOINT_FROM_PROFILE,
       "the profile's endpoint_url"},
  };
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    if (!order[i].value)
      continue;
    pl_aws_url_t url;
    int rc = pl__aws_url_parse(order[i].value, &url);
    if (rc == PL_EINVAL) {
      pl_error_set(error,
                "invalid endpoint \"%s\" (from %s): expected http:// or "
                "https://, a host and an optional port and path",
                order[i].value, order[i].what);
      return rc;
    }
    if (rc < 0)
      return rc;
    rc = normalize(&url, &out->url);
    pl__aws_url_close(&url);
    if (rc < 0)
      return rc;
    out->custom = true;
    out->path_style = strcmp(service, "s3") == 0;
    out->source = order[i].source;
    return 0;
  }
  if (!region || !region_ok(region)) {
    pl_error_set(error, "invalid AWS region \"%s\" for the %s endpoint",
              region ? region : "", service);
    return PL_EINVAL;
  }
  /* The China partition has its own DNS suffix; every other region this
   * daemon supports is in the aws (or aws-us-gov) partition. */
  const char *suffix =
      strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  pl_buf_t buf = {0};
  if (pl_buf_printf(&buf, "https://%s.%s.%s", service, region, suffix) < 0) {
    pl_buf_free(&buf);
    return PL_ENOMEM;
  }
  out->url = buf.data;
  out->source = PL_AWS_ENDPOINT_FROM_DEFAULT;
  return 0;
}

/* ---- S3 URLs ---- */

static bool is_ipv4(const char *text) {
  int parts = 0;
  while (*text) {
    if (!is_digit(*text))
      return false;
    while (is_digit(*text))
      text++;
    parts++;
    if (*text == '.')
      text++;
    else if (*text)
      return false;
  }
  return parts == 4;
}

bool pl__aws_s3_bucket_virtual_ok(const char *bucket, bool https) {
  size_t len = bucket ? strlen(bucket) : 0;
  if (len < 3 || len > 63 || is_ipv4(bucket))
    return false;
  /* Each dot-separated label must start and end with a letter or digit. */
  char prev = '.';
  for (size_t i = 0; i < len; i++) {
    char c = bucket[i];
    if (c == '.') {
      if (https || prev == '.' || prev == '-')
        return false;
    } else if (c == '-') {
      if (prev == '.')
        return false;
    } else if (!is_lower(c) && !is_digit(c)) {
      return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';
}

static bool unreserved(unsigned char c) {
  return is_lower(to_lower((char)c)) || is_digit((char)c) || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/* RFC 3986 percent-encoding of `len` bytes, keeping '/' when asked. The
 * sigv4 signer has its own; S3 signs the path exactly as sent, so the two
 * must agree on this form (upper-case hex, unreserved set only). */
static int uri_encode(pl_buf_t *out, const char *text, size_t len,
                      bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    int rc;
    if (unreserved(c) || (keep_slash && c == '/')) {
      rc = pl_buf_append(out, &text[i], 1);
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      rc = pl_buf_append(out, esc, 3);
    }
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* Encodes a key segment by segment: a segment of only "." or ".." would
 * be removed as a dot-segment by URL normalisation (RFC 3986 5.2.4) in
 * clients and proxies, addressing another key. */
static int encode_key(pl_buf_t *out, const char *key) {
  const char *seg = key;
  for (;;) {
    const char *slash = strchr(seg, '/');
    size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
    int rc;
    if ((len == 1 && seg[0] == '.') ||
        (len == 2 && seg[0] == '.' && seg[1] == '.'))
      rc = pl_buf_append_str(out, len == 1 ? "%2E" : "%2E%2E");
    else
      rc = uri_encode(out, seg, len, false);
    if (rc == 0 && slash)
      rc = pl_buf_append(out, "/", 1);
    if (rc < 0 || !slash)
      return rc;
    seg = slash + 1;
  }
}

int pl__aws_s3_url(const char *endpoint_url, const char *bucket,
                   const char *key, bool path_style, pl_buf_t *out) {
  if (!bucket || !*bucket || strchr(bucket, '/'))
    return PL_EINVAL;
  pl_aws_url_t url;
  int rc = pl__aws_url_parse(endpoint_url, &url);
  if (rc < 0)
    return rc;
  bool https = strcmp(url.scheme, "https") == 0;
  /* A bucket cannot be a subdomain of an IP address. */
  bool ip_host = url.host[0] == '[' || is_ipv4(url.host);
  bool virtual_host =
      !path_style && !ip_host && pl__aws_s3_bucket_virtual_ok(bucket, https);
  size_t start = out->len;
  rc = pl_buf_printf(out, "%s://", url.scheme);
  if (rc == 0 && virtual_host)
    rc = pl_buf_printf(out, "%s.", bucket);
  if (rc == 0)
    rc = pl__aws_url_authority(&url, out);
  if (rc == 0)
    rc = pl_buf_append_str(out, url.path);
  if (rc == 0 && !virtual_host) {
    rc = pl_buf_append(out, "/", 1);
    if (rc == 0)
      rc = uri_encode(out, bucket, strlen(bucket), false);
    if (rc == 0 && key && *key)
      rc = pl_buf_append(out, "/", 1);
  } else if (rc == 0) {
    rc = pl_buf_append(out, "/", 1);
  }
  if (rc == 0 && key && *key)
    rc = encode_key(out, key);
  pl__aws_url_close(&url);
  if (rc < 0)
    pl_buf_truncate(out, start);
  return rc;
}
