/* Pools of the builtin HTTP/1.1 client (http_h1_pool.h): one per
 * scheme://host:port of the URLs, found by the URL's prefix, and the
 * addresses of its host (an IP literal once, a name through
 * uv_getaddrinfo on libuv's thread pool, cached 60 s like libcurl's DNS
 * cache). */
#include "http_h1_pool.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcurl's default DNS cache lifetime (CURLOPT_DNS_CACHE_TIMEOUT). */
static const uint64_t DNS_CACHE_MS = 60000;

/* ---- Pools ---- */

static int numeric_address(h1_pool_t *pool) {
  int port = atoi(pool->port);
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
  if (uv_ip4_addr(pool->host, port, &v4) == 0) {
    memcpy(&pool->addrs[0], &v4, sizeof v4);
  } else if (uv_ip6_addr(pool->host, port, &v6) == 0) {
    memcpy(&pool->addrs[0], &v6, sizeof v6);
  } else {
    return PL_ENOENT;
  }
  pool->addr_count = 1;
  pool->numeric = true;
  return 0;
}

/* Splits "host[:port]" or "[v6][:port]" of an http(s):// URL. */
static int pool_new(const char *url, size_t scheme_len, size_t key_len,
                    h1_pool_t **out) {
  const char *authority = url + scheme_len, *end = url + key_len;
  const char *host = authority, *host_end, *port = NULL;
  if (*host == '[') {
    host_end = memchr(host, ']', (size_t)(end - host));
    if (!host_end)
      return PL_ENOENT;
    host++;
    if (host_end + 1 < end) {
      if (host_end[1] != ':')
        return PL_ENOENT;
      port = host_end + 2;
    }
  } else {
    const char *colon = memchr(host, ':', (size_t)(end - host));
    host_end = colon ? colon : end;
    port = colon ? colon + 1 : NULL;
  }
  if (host_end == host)
    return PL_ENOENT;
  size_t port_len = port ? (size_t)(end - port) : 0;
  bool tls = scheme_len == 8;
  unsigned long port_value = tls ? 443 : 80;
  if (port) {
    if (port_len == 0 || port_len > 5)
      return PL_ENOENT;
    port_value = 0;
    for (const char *c = port; c < end; c++) {
      if (*c < '0' || *c > '9')
        return PL_ENOENT;
      port_value = port_value * 10 + (unsigned long)(*c - '0');
    }
    if (port_value == 0 || port_value > 65535)
      return PL_ENOENT;
  }
  h1_pool_t *pool = calloc(1, sizeof *pool + key_len + 1);
  size_t host_len = (size_t)(host_end - host);
  char *host_copy = malloc(host_len + 1);
  if (!pool || !host_copy) {
    free(pool);
    free(host_copy);
    return PL_ENOMEM;
  }
  memcpy(host_copy, host, host_len);
  host_copy[host_len] = '\0';
  pool->host = host_copy;
  snprintf(pool->port, sizeof pool->port, "%lu", port_value);
  memcpy(pool->key, url, key_len);
  pool->key_len = key_len;
  pool->scheme_len = scheme_len;
  pool->tls = tls;
  (void)numeric_address(pool);
  *out = pool;
  return 0;
}

int pl__http_h1_pool_find(pl_http_h1_t *h1, const char *url, h1_pool_t **out) {
  for (h1_pool_t *pool = h1->pools; pool; pool = pool->next) {
    if (strncmp(url, pool->key, pool->key_len) != 0)
      continue;
    char next = url[pool->key_len];
    if (next == '/' || next == '?' || next == '\0') {
      *out = pool;
      return 0;
    }
  }
  size_t scheme_len = strncmp(url, "http://", 7) == 0    ? 7
                      : strncmp(url, "https://", 8) == 0 ? 8
                                                         : 0;
  if (!scheme_len)
    return PL_ENOENT;
  size_t key_len = scheme_len + strcspn(url + scheme_len, "/?#");
  if (memchr(url + scheme_len, '@', key_len - scheme_len) ||
      url[key_len] == '#')
    return PL_ENOENT;
  h1_pool_t *pool = NULL;
  int rc = pool_new(url, scheme_len, key_len, &pool);
  if (rc < 0)
    return rc;
  pool->next = h1->pools;
  h1->pools = pool;
  *out = pool;
  return 0;
}

void pl__http_h1_pool_free(h1_pool_t *pool) {
  if (pool->resolver) {
    pool->resolver->pool = NULL;
    uv_cancel((uv_req_t *)&pool->resolver->req);
  }
  free(pool->host);
  free(pool);
}

bool pl__http_h1_pool_resolved(const pl_http_h1_t *h1, const h1_pool_t *pool) {
  return pool->numeric || (pool->addr_count > 0 &&
                           uv_now(h1->loop) - pool->resolved_ms < DNS_CACHE_MS);
}

/* ---- Resolving ---- */

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  h1_resolver_t *resolver = (h1_resolver_t *)(void *)req;
  h1_pool_t *pool = resolver->pool;
  pl_http_h1_t *h1 = resolver->h1;
  free(resolver);
  h1->resolvers_open--;
  if (!pool) {
    uv_freeaddrinfo(res);
    pl__http_h1_maybe_free(h1);
    return;
  }
  pool->resolver = NULL;
  size_t count = 0;
  for (struct addrinfo *ai = res; ai && count < H1_MAX_ADDRS;
       ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    memcpy(&pool->addrs[count], ai->ai_addr, ai->ai_addrlen);
    count++;
  }
  uv_freeaddrinfo(res);
  if (status == 0 && count == 0)
    status = UV_EAI_NONAME;
  if (status == 0) {
    pool->addr_count = count;
    pool->resolved_ms = uv_now(h1->loop);
  }
  h1_call_t *call;
  while ((call = pl_dlist_first(&pool->resolving, h1_call_t, wait_node))) {
    pl__dlist_remove(&pool->resolving, &call->wait_node);
    call->state = H1_CALL_RUNNING;
    if (status == 0) {
      pl__http_h1_conn_connect(call, 0);
      continue;
    }
    snprintf(call->errbuf, sizeof call->errbuf, "resolve %s: %s", pool->host,
             uv_strerror(status));
    call->error_text = call->errbuf;
    pl__http_h1_call_finish(call, PL_EIO);
  }
}

int pl__http_h1_pool_resolve(pl_http_h1_t *h1, h1_pool_t *pool) {
  h1_resolver_t *resolver = calloc(1, sizeof *resolver);
  if (!resolver)
    return PL_ENOMEM;
  resolver->h1 = h1;
  resolver->pool = pool;
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_protocol = IPPROTO_TCP};
  int rc = uv_getaddrinfo(h1->loop, &resolver->req, on_resolved, pool->host,
                          pool->port, &hints);
  if (rc < 0) {
    free(resolver);
    return rc;
  }
  pool->resolver = resolver;
  h1->resolvers_open++;
  return 0;
}
