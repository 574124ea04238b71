#!/usr/bin/env bash
# The container image's entrypoint (Dockerfile: /usr/local/bin/
# pipelined-entrypoint): finds the config, then runs `pipelined ARGS...`
# in its place (exec: pipelined is PID 1's program and gets the signals).
#
# The config comes from one of:
#   - a file mounted where the command line says (the image's CMD is
#     `-c /etc/pipelined/pipelined.conf`):
#       docker run -v $PWD/my.conf:/etc/pipelined/pipelined.conf:ro IMAGE
#   - the environment: PIPELINED_CONFIG holds the config's text. It is
#     written to $PIPELINED_RUNTIME_DIR/pipelined.conf (/run/pipelined by
#     default; mode 0600) and that file replaces the command line's
#     -c/--config FILE (or is added as `-c FILE` when there is none):
#       docker run -e PIPELINED_CONFIG="$(cat my.conf)" IMAGE
#     It wins over a mounted file, and says so on standard error.
#
# PIPELINED_METRICS_LISTEN=ADDRESS:PORT (an IP address) gives pipelined a
# second config file, $PIPELINED_RUNTIME_DIR/metrics.conf (mode 0600),
# that holds only `metrics_listen = "ADDRESS:PORT"`, as `-c FILE` after the config's (-c
# given twice makes one config): the config is left where it is, so that
# its relative paths and includes stay relative to its own folder and a
# reload (SIGHUP) reads it as edited. /healthz, which
# pipelined-healthcheck asks, is then served without editing the config
# (deploy/inventory.yaml's ECS task sets it to 127.0.0.1:9100 for the
# packaged /etc/pipelined/inventory.conf). A config that sets
# metrics_listen itself (or in a file it includes) is refused (exit 2),
# naming both, rather than one of them being dropped.
#
# The metrics_listen of the config pipelined is given, as pipelined reads
# it (pipelined --print-setting metrics_listen), is written to
# $PIPELINED_RUNTIME_DIR/metrics_listen, where pipelined-healthcheck reads
# the address it asks.
#
# Exit status: pipelined's; 2 (as pipelined's for a usage or config
# error) when the command line names a config that is not a readable file
# and PIPELINED_CONFIG is not set, when PIPELINED_CONFIG cannot be
# written, or when PIPELINED_METRICS_LISTEN is not HOST:PORT, the config
# sets metrics_listen already, or metrics.conf cannot be written.
set -euo pipefail

me=pipelined-entrypoint
rundir=${PIPELINED_RUNTIME_DIR:-/run/pipelined}
args=("$@")

# Where the command line names the config: index of the word that holds
# it, and how (-c FILE / --config FILE: the next word; -cFILE; --config=FILE).
at=-1 form='' config=''
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --) break ;;
    -c | --config) at=$((i + 1)) form=next config=${args[i + 1]:-}; i=$((i + 1)) ;;
    --config=*) at=$i form=long config=${args[i]#--config=} ;;
    -c?*) at=$i form=short config=${args[i]#-c} ;;
  esac
done

# run_file FILE: pipelined is given FILE in place of the command line's
# config (or `-c FILE` is added when there is none).
run_file() {
  case $form in
    next) args[at]=$1 ;;
    long) args[at]=--config=$1 ;;
    short) args[at]=-c$1 ;;
    *) # No config on the command line: add one, unless the command takes none.
      case ${args[0]:-} in
        -h | --help | -V | --version | --list-plugins | --describe | --describe-json) ;;
        *) args+=(-c "$1"); at=$((${#args[@]} - 1)) form=next ;;
      esac ;;
  esac
}

# write FILE TEXT: FILE (mode 0600) holds TEXT and a newline.
write() {
  { mkdir -p "$rundir" && (umask 077 && printf '%s\n' "$2" > "$1.tmp") && mv -f "$1.tmp" "$1"; } 2>/dev/null
}

file="$rundir/pipelined.conf"
if [ -n "${PIPELINED_CONFIG:-}" ]; then
  if ! write "$file" "$PIPELINED_CONFIG"; then
    echo "$me: cannot write PIPELINED_CONFIG to $file: make $rundir writable by $(id -un 2>/dev/null || id -u) (PIPELINED_RUNTIME_DIR names another folder)" >&2
    exit 2
  fi
  if [ "$at" -ge 0 ] && [ -e "$config" ] && [ "$config" != "$file" ]; then
    echo "$me: the config is PIPELINED_CONFIG (written to $file); $config is not read" >&2
  fi
  run_file "$file"
  config=$file
elif [ "$at" -ge 0 ]; then
  if [ -z "$config" ]; then
    echo "$me: -c/--config names no file" >&2
    exit 2
  elif [ -d "$config" ]; then
    echo "$me: no config: $config is a directory (docker run -v makes one where the host file does not exist); mount a config file there or set PIPELINED_CONFIG to the config's text" >&2
    exit 2
  elif [ ! -f "$config" ] || [ ! -r "$config" ]; then
    echo "$me: no config: $config is not a readable file; mount one there (docker run -v \$PWD/pipelined.conf:$config:ro ...) or set PIPELINED_CONFIG to the config's text" >&2
    exit 2
  fi
fi

# What the config pipelined is given sets as metrics_listen, as pipelined
# itself reads it (every -c file, their includes, their ${VAR}s from this
# environment): empty when it sets none. It is not known when the config
# is read from standard input (-c -), which cannot be read twice, or
# cannot be read (pipelined then says why).
configs=()
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --) break ;;
    -c | --config) configs+=(-c "${args[i + 1]:-}"); i=$((i + 1)) ;;
    --config=*) configs+=(-c "${args[i]#--config=}") ;;
    -c?*) configs+=(-c "${args[i]#-c}") ;;
  esac
done
rm -f "$rundir/metrics_listen" "$rundir/metrics.conf" 2>/dev/null || true
known=false setting=''
if [ "${#configs[@]}" -gt 0 ] && ! [[ " ${configs[*]} " == *" -c - "* ]] &&
  setting=$(pipelined --print-setting metrics_listen "${configs[@]}" 2>/dev/null); then
  known=true
fi

# PIPELINED_METRICS_LISTEN: a second config file holding only the setting
# follows the config on the command line. The config itself stays where
# it is, so that its relative paths and includes are still relative to
# its folder and a reload (SIGHUP) reads the file as it is now.
listen=${PIPELINED_METRICS_LISTEN:-}
if [ -n "$listen" ] && [ "$at" -ge 0 ]; then
  if ! [[ $listen =~ ^[^\"\\[:space:]]+:[0-9]+$ ]]; then
    echo "$me: PIPELINED_METRICS_LISTEN='$listen' is not HOST:PORT (e.g. 127.0.0.1:9100)" >&2
    exit 2
  fi
  if [ -n "$setting" ]; then
    echo "$me: $config sets metrics_listen = \"$setting\" already (in itself or a file it includes), and PIPELINED_METRICS_LISTEN='$listen': unset PIPELINED_METRICS_LISTEN or remove metrics_listen from the config" >&2
    exit 2
  fi
  extra="$rundir/metrics.conf"
  # $$ is a literal $ in a config string: the address is taken as it is.
  if ! write "$extra" "metrics_listen = \"${listen//\$/\$\$}\""; then
    echo "$me: cannot write PIPELINED_METRICS_LISTEN to $extra: make $rundir writable by $(id -un 2>/dev/null || id -u) (PIPELINED_RUNTIME_DIR names another folder)" >&2
    exit 2
  fi
  echo "$me: running $config with metrics_listen = \"$listen\" (PIPELINED_METRICS_LISTEN) from $extra, a second -c" >&2
  args=("${args[@]:0:at+1}" -c "$extra" "${args[@]:at+1}")
  setting=$listen
fi

# The address pipelined-healthcheck asks, written to $rundir/metrics_listen
# (empty when there is no metrics_listen). A reload cannot change
# metrics_listen, so the address read at the start is the daemon's for its
# whole run.
if $known; then
  write "$rundir/metrics_listen" "$setting" || true
fi
exec pipelined "${args[@]}"
