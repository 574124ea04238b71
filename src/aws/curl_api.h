/* libcurl, opened when the curl transport first needs it (http_curl.c),
 * not linked: the builtin client (http_h1.c) serves what most runs send,
 * and libcurl brings about 25 libraries with it (GnuTLS, Kerberos, LDAP,
 * RTMP...) that cost every start 5 to 8 ms of CPU binding them and 4.4
 * MiB of resident memory (docs/performance.md, "Start-up"). The table
 * holds the functions the transport calls, with libcurl's own types. */
#ifndef PL_AWS_CURL_API_H
#define PL_AWS_CURL_API_H

#include <curl/curl.h>
#include <stddef.h>

#define PL_CURL_API(X)                                                         \
  X(global_init)                                                               \
  X(global_cleanup)                                                            \
  X(multi_init)                                                                \
  X(multi_cleanup)                                                             \
  X(multi_setopt)                                                              \
  X(multi_add_handle)                                                          \
  X(multi_remove_handle)                                                       \
  X(multi_info_read)                                                           \
  X(multi_socket_action)                                                       \
  X(multi_assign)                                                              \
  X(easy_init)                                                                 \
  X(easy_cleanup)                                                              \
  X(easy_reset)                                                                \
  X(easy_setopt)                                                               \
  X(easy_getinfo)                                                              \
  X(easy_pause)                                                                \
  X(easy_strerror)                                                             \
  X(url)                                                                       \
  X(url_cleanup)                                                               \
  X(url_set)                                                                   \
  X(url_get)                                                                   \
  X(free)

typedef struct pl_curl_api {
  void *library; /* dlopen's handle; NULL: not open */
#define PL_CURL_API_MEMBER(name) __typeof__(&curl_##name) name;
  PL_CURL_API(PL_CURL_API_MEMBER)
#undef PL_CURL_API_MEMBER
} pl_curl_api_t;

/* Opens libcurl into *api: `library` (a file name dlopen searches for),
 * or NULL for the one pipelined was built with (PL_CURL_SONAME); a second
 * open of an open table does nothing. Returns 0, or PL_EIO with the
 * reason (the library and dlerror's text, or the function it lacks) in
 * error[0 .. cap - 1]. dlopen counts references: each transport opens and
 * closes its own; libcurl stays mapped after the last close (a resolver
 * thread of its own may outlive its handles). */
int pl__curl_api_open(pl_curl_api_t *api, const char *library, char *error,
                      size_t cap);
/* Closes what pl__curl_api_open opened; nothing when it is not open. */
void pl__curl_api_close(pl_curl_api_t *api);

#endif
