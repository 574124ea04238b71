#!/usr/bin/env bash
# metrics_listen serves Prometheus counters and /healthz.
. "$(dirname "$0")/lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/in" "$work/in2"
cp "$test_data/sample_inventory.csv" "$work/in/a.csv"
cp "$test_data/sample_inventory.csv" "$work/in2/b.csv"
# Two pipelines whose plugins count the same counters (files_read,
# bytes_written...): each is still one family in the exposition.
cat > "$work/m.conf" <<CONF
metrics_listen = "127.0.0.1:$port"
pipeline "m" {
  source "file" { paths = ["$work/in"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
pipeline "m2" {
  source "file" { paths = ["$work/in2"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out2.jsonl" }
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
wait_lines "$work/out2.jsonl" -eq 21 || fail "no output from m2"
curl -sf "http://127.0.0.1:$port/metrics" -o "$work/metrics" || fail "/metrics"
python3 "$top_srcdir/tests/tools/prom_check.py" "$work/metrics" || { cat "$work/metrics"; fail "/metrics is not well formed"; }
expect_contains "$work/metrics" '# TYPE pipelined_plugin_files_read_total counter'
expect_contains "$work/metrics" 'pipelined_plugin_files_read_total{pipeline="m2",stage="source",plugin="source-file"} 1'
expect_contains "$work/metrics" "pipelined_build_info{version=\"$("$PIPELINED" --version | awk '{print $2}')\"} 1"
expect_contains "$work/metrics" 'pipelined_in_flight_limit{pipeline="m",stage="sink",plugin="sink-file"} '
grep -q '^process_resident_memory_bytes [1-9]' "$work/metrics" || fail "no process RSS"
grep -q '^process_open_fds [1-9]' "$work/metrics" || fail "no open fds"
grep -q '^process_cpu_seconds_total [0-9.]*$' "$work/metrics" || fail "no process CPU"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
[ "$code" = 404 ] || fail "unknown path gives $code"
kill -TERM "$pid"
wait "$pid"
pass "/metrics and /healthz"

# A port that is taken: the daemon says so and exits non-zero.
python3 -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); open(sys.argv[2],"w").close(); time.sleep(30)' "$port" "$work/held" &
holder=$!
cleanup_pids+=("$holder")
wait_for test -e "$work/held" || fail "cannot hold the port"

set +e
"$PIPELINED" --once -c "$work/m.conf" 2> "$work/log2"; rc=$?
set -e
kill "$holder" 2>/dev/null || true
[ "$rc" -ne 0 ] || fail "a taken metrics port is accepted"
expect_contains "$work/log2" "metrics_listen 127.0.0.1:$port: address already in use"
pass "a taken metrics port is an error naming it"

# JSON logs: every line is an object with time, level and message.
cat > "$work/json.conf" <<CONF
log_format = "json"
log_level = "debug"
pipeline "j" {
  source "file" { paths = ["$work/in/a.csv", "$work/in/missing.csv"] }
  transform "csv" { header = true }
  sink "file" { path = "$work/j.jsonl" }
}
CONF
"$PIPELINED" --once -c "$work/json.conf" 2> "$work/jlog" || true
python3 - "$work/jlog" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines, "no log lines"
for l in lines:
    assert {"time", "level", "message"} <= set(l), l
assert any(l.get("plugin") == "source-file" and "missing.csv" in l["message"]
           and l["level"] == "error" for l in lines), lines
PY
pass "log_format = json writes one JSON object per line"
