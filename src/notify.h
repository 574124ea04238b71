/* The service manager's notification protocol (sd_notify(3)): the daemon
 * tells systemd READY=1 once every pipeline has started, STOPPING=1 when
 * it drains, and WATCHDOG=1 every half watchdog period. A message is one
 * datagram to the unix socket $NOTIFY_SOCKET names (a path, or an abstract
 * name when it starts with '@'); the period is $WATCHDOG_USEC, meant for
 * the process $WATCHDOG_PID when that is set. Implemented here, about as
 * long as the glue to libsystemd would be, so the daemon does not depend
 * on it. */
#ifndef PL_CORE_NOTIFY_H
#define PL_CORE_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "config.h"

typedef struct pl_notify {
  int fd; /* -1: not run by a service manager (or not usable) */
  struct sockaddr_un addr;
  socklen_t addr_len;
  uint64_t watchdog_usec; /* 0: no watchdog */
} pl_notify_t;

/* The address `name` ($NOTIFY_SOCKET) stands for: an absolute path, or
 * "@name" for the abstract namespace (sun_path starts with a NUL byte and
 * the length counts only the name). PL_EINVAL for anything else (empty,
 * relative, too long for sun_path). */
int pl__notify_address(const char *name, struct sockaddr_un *addr,
                       socklen_t *len);
/* The watchdog period from $WATCHDOG_USEC and $WATCHDOG_PID: 0 (no
 * watchdog) when `usec` is NULL, not a positive decimal number, or `pid`
 * is set and is not `self`. */
uint64_t pl__notify_watchdog_usec(const char *usec, const char *pid,
                                  pid_t self);

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` and opens
 * a non-blocking datagram socket. Without NOTIFY_SOCKET the notifier is
 * off (fd -1) and returns 0; PL_EINVAL when NOTIFY_SOCKET is not a valid
 * address, PL_EIO when no socket can be made (the notifier is then off
 * too, and *error, when not NULL, is a borrowed text saying why). */
int pl__notify_init(pl_notify_t *notify, const pl_cfg_env_t *env, pid_t self,
                    const char **error);
/* Sends `state` ("READY=1", "STOPPING=1\nSTATUS=draining", ...) as one
 * datagram, never blocking. 0 when off; PL_EIO (errno kept) when the send
 * failed. */
int pl__notify_send(const pl_notify_t *notify, const char *state);
void pl__notify_close(pl_notify_t *notify);

#endif
