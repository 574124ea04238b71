#!/usr/bin/env bash
# metrics_listen serves Prometheus counters and /healthz.
. "$(dirname "$0")/lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/in"
cp "$shared/testdata/seed/sample_file.csv" "$work/in/a.csv"
cat > "$work/m.conf" <<CONF
metrics_listen = "127.0.0.1:$port"
pipeline "m" {
  source "file" { paths = ["$work/in"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
"$PIPELINED" -c "$work/m.conf" 2> "$work/log" &
pid=$!
cleanup_pids+=("$pid")
wait_lines "$work/out.jsonl" -eq 21 || { cat "$work/log"; fail "no output"; }
wait_for curl -sf "http://127.0.0.1:$port/healthz" -o "$work/health" || fail "/healthz"
expect_contains "$work/health" "ok"
curl -sf "http://127.0.0.1:$port/metrics" -o "$work/metrics" || fail "/metrics"
expect_contains "$work/metrics" 'pipelined_records_out_total{pipeline="m",stage="sink",plugin="sink-file"} 21'
expect_contains "$work/metrics" 'pipelined_records_out_total{pipeline="m",stage="transform",plugin="transform-csv"} 21'
expect_contains "$work/metrics" 'pipelined_groups_committed_total{pipeline="m"} 1'
expect_contains "$work/metrics" '# TYPE pipelined_queue_depth gauge'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
[ "$code" = 404 ] || fail "unknown path gives $code"
kill -TERM "$pid"
wait "$pid"
pass "/metrics and /healthz"
