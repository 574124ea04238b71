#!/usr/bin/env bash
# The container image's health check (Dockerfile: HEALTHCHECK CMD
# pipelined-healthcheck): GET /healthz on the daemon's metrics_listen
# address, healthy on 200.
#
# The address is PIPELINED_HEALTH_ADDR (HOST:PORT) when set, else the
# metrics_listen of the config pipelined-entrypoint handed to pipelined,
# as pipelined itself reads it (in an included file too, its ${NAME}s
# expanded), which pipelined-entrypoint writes to
# $PIPELINED_RUNTIME_DIR/metrics_listen (/run/pipelined/metrics_listen by
# default) before it starts pipelined. A wildcard host (0.0.0.0, ::, none) is asked on loopback. A
# config without metrics_listen has no endpoint to ask: the check passes,
# and the container is healthy while it runs.
#
# Exit status (Docker's): 0 healthy, 1 unhealthy (no answer, or not 200).
# What the daemon answered, or why there was no answer, is printed.
set -uo pipefail

rundir=${PIPELINED_RUNTIME_DIR:-/run/pipelined}
timeout=${PIPELINED_HEALTH_TIMEOUT:-5}

addr=${PIPELINED_HEALTH_ADDR:-}
if [ -z "$addr" ]; then
  file="$rundir/metrics_listen"
  if [ ! -r "$file" ]; then
    echo "no $file (pipelined-entrypoint writes it) and no PIPELINED_HEALTH_ADDR: nothing to ask"
    exit 0
  fi
  addr=$(head -n 1 "$file")
  if [ -z "$addr" ]; then
    echo "the config pipelined runs sets no metrics_listen ($file is empty): nothing to ask"
    exit 0
  fi
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
