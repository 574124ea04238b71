/* The sd_notify(3) datagram protocol, without libsystemd (see notify.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "units.h"

int pl__notify_address(const char *name, struct sockaddr_un *addr,
                       socklen_t *len) {
  if (!name || (name[0] != '/' && name[0] != '@') || name[1] == '\0')
    return PL_EINVAL;
  size_t n = strlen(name);
  /* A path needs its terminating NUL; an abstract name has none. */
  if (n + (name[0] == '/') > sizeof(addr->sun_path))
    return PL_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, name, n);
  if (name[0] == '@')
    addr->sun_path[0] = '\0';
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                     (name[0] == '/'));
  return 0;
}

uint64_t pl__notify_watchdog_usec(const char *usec, const char *pid,
                                  pid_t self) {
  int64_t value = 0;
  if (!usec || pl__parse_int(usec, &value) < 0 || value <= 0 ||
      usec[0] == '+' || usec[0] == '-')
    return 0;
  if (pid) {
    int64_t owner = 0;
    if (pl__parse_int(pid, &owner) < 0 || owner != (int64_t)self)
      return 0;
  }
  return (uint64_t)value;
}

static const char *env_get(const pl_cfg_env_t *env, const char *name) {
  return env && env->getenv ? env->getenv(env->data, name) : NULL;
}

int pl__notify_init(pl_notify_t *notify, const pl_cfg_env_t *env, pid_t self,
                    const char **error) {
  *notify = (pl_notify_t){.fd = -1};
  const char *name = env_get(env, "NOTIFY_SOCKET");
  if (!name)
    return 0;
  if (pl__notify_address(name, &notify->addr, &notify->addr_len) < 0) {
    if (error)
      *error = "not an absolute path or an @abstract name";
    return PL_EINVAL;
  }
  notify->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (notify->fd < 0) {
    if (error)
      *error = strerror(errno);
    return PL_EIO;
  }
  notify->watchdog_usec = pl__notify_watchdog_usec(
      env_get(env, "WATCHDOG_USEC"), env_get(env, "WATCHDOG_PID"), self);
  return 0;
}

int pl__notify_send(const pl_notify_t *notify, const char *state) {
  if (notify->fd < 0)
    return 0;
  ssize_t n;
  do
    n = sendto(notify->fd, state, strlen(state), MSG_NOSIGNAL,
               (const struct sockaddr *)&notify->addr, notify->addr_len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? PL_EIO : 0;
}

void pl__notify_close(pl_notify_t *notify) {
  if (notify->fd >= 0)
    close(notify->fd);
  *notify = (pl_notify_t){.fd = -1};
}
