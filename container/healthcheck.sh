#!/usr/bin/env bash
# The container image's health check (Dockerfile: HEALTHCHECK CMD
# pipelined-healthcheck): GET /healthz on the daemon's metrics_listen
# address, healthy on 200.
#
# The address is PIPELINED_HEALTH_ADDR (HOST:PORT) when set, else the
# metrics_listen of the config pipelined-entrypoint handed to pipelined
# ($PIPELINED_RUNTIME_DIR/config, /run/pipelined/config by default), with
# its ${NAME} and ${NAME:-default} taken from the environment. A wildcard
# host (0.0.0.0, ::, none) is asked on loopback. A config without
# metrics_listen has no endpoint to ask: the check passes, and the
# container is healthy while it runs.
#
# Exit status (Docker's): 0 healthy, 1 unhealthy (no answer, or not 200).
# What the daemon answered, or why there was no answer, is printed.
set -uo pipefail

rundir=${PIPELINED_RUNTIME_DIR:-/run/pipelined}
timeout=${PIPELINED_HEALTH_TIMEOUT:-5}

# expand TEXT: ${NAME} and ${NAME:-default} from the environment.
expand() {
  local text=$1 out='' name value
  while [[ $text =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}(.*)$ ]]; do
    out+=${BASH_REMATCH[1]}
    name=${BASH_REMATCH[2]}
    value=${!name:-}
    if [ -z "$value" ] && [ -n "${BASH_REMATCH[3]}" ]; then value=${BASH_REMATCH[4]}; fi
    out+=$value
    text=${BASH_REMATCH[5]}
  done
  printf '%s' "$out$text"
}

addr=${PIPELINED_HEALTH_ADDR:-}
if [ -z "$addr" ]; then
  config="$rundir/config"
  if [ ! -r "$config" ]; then
    echo "no config at $config (pipelined-entrypoint writes it) and no PIPELINED_HEALTH_ADDR: nothing to ask"
    exit 0
  fi
  listen=$(sed -n 's/^[^#]*metrics_listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" | head -n 1)
  if [ -z "$listen" ]; then
    echo "no metrics_listen in $config: nothing to ask"
    exit 0
  fi
  addr=$(expand "$listen")
fi

host=${addr%:*} port=${addr##*:}
host=${host#[} host=${host%]}
case $host in "" | 0.0.0.0 | "*") host=127.0.0.1 ;; :: ) host=::1 ;; esac
if [ -z "$port" ] || [ "$port" = "$addr" ]; then
  echo "unhealthy: $addr is not HOST:PORT"
  exit 1
fi

# HTTP/1.0 over bash's /dev/tcp: the slim image has no curl.
answer=$(timeout "$timeout" bash -c '
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  printf "GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
  cat <&3' healthcheck "$host" "$port" 2>&1)
status=$(printf '%s\n' "$answer" | head -n 1 | tr -d '\r')
body=$(printf '%s\n' "$answer" | sed '1,/^\r\{0,1\}$/d')
if [[ $status =~ ^HTTP/1\.[01]\ 200 ]]; then
  echo "healthy: http://$host:$port/healthz: $body"
  exit 0
fi
echo "unhealthy: http://$host:$port/healthz: ${status:-no answer} ${body}"
exit 1
