/* libcurl opened on first use (see curl_api.h). */
#include "curl_api.h"
#include "build_config.h"

#include <pipelined/common.h>

#include <dlfcn.h>
#include <stdio.h>

int pl__curl_api_open(pl_curl_api_t *api, const char *name, char *error,
                      size_t cap) {
  if (api->library)
    return 0;
  if (!name)
    name = PL_CURL_SONAME;
  /* RTLD_NODELETE: the last close does not unmap libcurl, whose threaded
   * resolver may leave a thread finishing a lookup after its handle is
   * cleaned up; a second open is then a reference count. */
  void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!library) {
    const char *why = dlerror();
    snprintf(error, cap, "cannot load libcurl, which this request needs: %s",
             why ? why : name);
    return PL_EIO;
  }
  pl_curl_api_t opened = {.library = library};
  const char *missing = NULL;
#define PL_CURL_API_LOAD(name)                                                 \
  if (!missing &&                                                              \
      !(opened.name = (__typeof__(opened.name))dlsym(library, "curl_" #name))) \
    missing = "curl_" #name;
  PL_CURL_API(PL_CURL_API_LOAD)
#undef PL_CURL_API_LOAD
  if (missing) {
    snprintf(error, cap, "cannot load libcurl: %s has no %s", name, missing);
    dlclose(library);
    return PL_EIO;
  }
  *api = opened;
  return 0;
}

void pl__curl_api_close(pl_curl_api_t *api) {
  if (api->library)
    dlclose(api->library);
  *api = (pl_curl_api_t){0};
}
