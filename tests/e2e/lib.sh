# Shared helpers of the end-to-end tests (sourced). The test environment
# (Makefile.am) exports PIPELINED, PIPELINED_PLUGIN_PATH, top_srcdir and
# top_builddir.
set -euo pipefail

: "${PIPELINED:?run through make check}"
test_data="${PIPELINED_TEST_DATA:?run through make check}"
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-e2e.XXXXXX")
cleanup_pids=()
# A handle left open at exit is a bug (the daemon then exits 1): whatever
# else a test checks, no log it kept under $work may report one.
cleanup() {
  local rc=$?
  for pid in "${cleanup_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  local leaks
  leaks=$(grep -rlIF "handle was left open" "$work" 2>/dev/null || true)
  if [ -n "$leaks" ]; then
    for f in $leaks; do echo "---- $f:"; cat "$f"; done
    echo "FAIL: pipelined left a handle open at exit" >&2
    rc=1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# installed_tree: the DESTDIR of the one `make install` that `make check`
# makes before any test runs (Makefile.am, tests/installed.stamp). A test
# reads it and never writes into it: an install of its own would make
# libtool relink libraries in the build tree while other tests load them.
installed_tree() {
  local dest="$top_builddir/tests/installed"
  [ -f "$top_builddir/tests/installed.stamp" ] && [ -d "$dest" ] \
    || fail "no installed tree in $dest (run the tests with make check)"
  echo "$dest"
}
pass() { echo "ok: $*"; }

# expect_contains FILE TEXT
expect_contains() {
  grep -qF -- "$2" "$1" || { echo "---- $1:"; cat "$1"; fail "$1 does not contain: $2"; }
}

# count_lines FILE
count_lines() { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# wait_for CMD... : retries for up to 20 s.
wait_for() {
  for _ in $(seq 1 200); do "$@" && return 0; sleep 0.1; done
  return 1
}

# ---- bench/tools/fake_aws and tests/tools/tls_proxy.py ----

# start_fake_aws ARGS...: bench/tools/fake_aws on a free port; sets
# fake_pid and fake_port, and exports AWS_ENDPOINT_URL pointing at it.
start_fake_aws() {
  local fake="$top_builddir/bench/tools/fake_aws"
  [ -x "$fake" ] || fail "$fake is not built"
  # Gone before the job starts: its redirection may come after the check.
  rm -f "$work/fake.out"
  "$fake" "$@" > "$work/fake.out" &
  fake_pid=$!
  cleanup_pids+=("$fake_pid")
  wait_for test -s "$work/fake.out" || fail "fake_aws did not start"
  fake_port=$(head -n 1 "$work/fake.out")
  AWS_ENDPOINT_URL="http://127.0.0.1:$fake_port"
  export AWS_ENDPOINT_URL
}

# stop_fake_aws: SIGTERM; the fake prints its counts, which go to
# $work/stats.json, and must exit 0.
stop_fake_aws() {
  kill -TERM "$fake_pid"
  wait "$fake_pid" || fail "fake_aws exited non-zero"
  forget_pid "$fake_pid"
  tail -n 1 "$work/fake.out" > "$work/stats.json"
}

# start_tls_proxy CERT: tests/tools/tls_proxy.py with tests/data/tls/CERT.pem
# and its key in front of the fake (start_fake_aws); sets proxy_pid and
# port, and checks that the proxy printed the port it listens on.
start_tls_proxy() {
  rm -f "$work/proxy.port"
  python3 "$top_srcdir/tests/tools/tls_proxy.py" --listen 127.0.0.1:0 \
    --target "127.0.0.1:$fake_port" --cert "$test_data/tls/$1.pem" \
    --key "$test_data/tls/$1.key" --port-file "$work/proxy.port" \
    > "$work/proxy.out" 2> "$work/proxy.err" &
  proxy_pid=$!
  cleanup_pids+=("$proxy_pid")
  wait_for test -s "$work/proxy.port" || { cat "$work/proxy.err"; fail "tls_proxy.py did not start"; }
  port=$(cat "$work/proxy.port")
  [ "$(head -n 1 "$work/proxy.out")" = "$port" ] ||
    fail "tls_proxy.py printed $(cat "$work/proxy.out"), not its port $port"
}

# stop_tls_proxy: SIGTERM; the proxy must exit 0.
stop_tls_proxy() {
  kill -TERM "$proxy_pid"
  wait "$proxy_pid" || fail "tls_proxy.py exited non-zero on SIGTERM"
  forget_pid "$proxy_pid"
}

# forget_pid PID: a process the test reaped, out of cleanup_pids (its
# number may be another process's by the time the test exits).
forget_pid() {
  local pid kept=()
  for pid in "${cleanup_pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  cleanup_pids=(${kept[@]+"${kept[@]}"})
}

# json_field FILE N FIELD: FIELD of the Nth (1-based) JSON line.
json_field() {
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])-1])[sys.argv[3]])' "$@"
}

# wait_lines FILE OP N: waits until FILE's line count satisfies OP N
# (e.g. -ge 21), for up to 20 s.
wait_lines() {
  for _ in $(seq 1 200); do
    [ "$(count_lines "$1")" "$2" "$3" ] && return 0
    sleep 0.1
  done
  return 1
}

# free_port: a loopback TCP port that nothing listened on when asked.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sqs_unreachable_config METRICS_PORT CLOSED_PORT INPUT [DEAD_LETTER]: a
# config whose pipeline "h" reads the CSV files of INPUT and sends them to
# SQS on CLOSED_PORT, a loopback port where nothing listens: every batch
# fails and is retried, so /healthz (on METRICS_PORT) answers 503 once
# unhealthy_after (1 s) has passed. Nothing leaves loopback.
sqs_unreachable_config() {
  local dead_letter=''
  [ -z "${4:-}" ] || dead_letter="  dead_letter \"file\" { path = \"$4\" }"
  cat <<CONF
metrics_listen = "127.0.0.1:$1"
unhealthy_after = "1s"
shutdown_timeout = "1s"
aws { region = "us-east-1"; endpoint = "http://127.0.0.1:$2" }
pipeline "h" {
  source "file" { paths = ["$3"] }
  transform "csv" {
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "sqs" {
    queue_url = "http://127.0.0.1:$2/000000000000/updates"
    retry_backoff = 100ms
    retry_backoff_max = 200ms
    retry_limit = 1000
  }
$dead_letter
}
CONF
}

# producer_conf QUEUE_URL [SINK_OPTION...]: prints the pipeline "producer"
# of bench/far-away's producer path: $work/in.csv (kept, with a header
# line) through transform-csv (the inventory columns) into sink-sqs
# sending to QUEUE_URL, each SINK_OPTION (e.g. 'retry_limit = 0') one
# more line of the sink's block, its dead letters in $work/rejects.jsonl.
producer_conf() {
  local queue_url=$1 option
  shift
  cat <<CONF
pipeline "producer" {
  source "file" {
    paths     = ["$work/in.csv"]
    on_commit = "keep"
  }
  transform "csv" {
    header  = true
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "sqs" {
    queue_url = "$queue_url"
CONF
  for option in "$@"; do
    echo "    $option"
  done
  cat <<CONF
  }
  dead_letter "file" { path = "$work/rejects.jsonl" }
}
CONF
}
