#!/usr/bin/env bash
# Idle connections to metrics_listen cannot starve the daemon of file
# descriptors: under a low ulimit, 200 clients that connect and say nothing
# do not stop a file source, and /healthz answers again once they time out.
. "$(dirname "$0")/lib.sh"

port=$(python3 -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/in"
cat > "$work/m.conf" <<CONF
metrics_listen = "127.0.0.1:$port"
metrics_timeout = 5s
pipeline "m" {
  source "file" { paths = ["$work/in"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
(ulimit -n 128 && exec "$PIPELINED" -c "$work/m.conf") 2> "$work/log" &
pid=$!
cleanup_pids+=("$pid")
wait_for curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null || { cat "$work/log"; fail "/healthz"; }

# 200 connections that never send a request, held open for 30 s. They
# are made 2 ms apart so that the short listen backlog does not overflow: a
# connection it drops is only made a second or more later (hence also the
# 5 s metrics_timeout, so that the cap is reached on a loaded machine).
python3 - "$port" "$work/flooded" <<'PY' &
import socket, sys, time
held = []
for _ in range(200):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
    except OSError:
        pass
    time.sleep(0.002)
open(sys.argv[2], "w").write("%d\n" % len(held))
time.sleep(30)
PY
flood=$!
cleanup_pids+=("$flood")
wait_for test -s "$work/flooded" || fail "cannot open the connections"
echo "connections made: $(cat "$work/flooded")"
sleep 0.5

cp "$test_data/sample_inventory.csv" "$work/in/a.csv"
wait_lines "$work/out.jsonl" -eq 21 || { cat "$work/log"; fail "the file source was starved"; }
wait_for curl -sf "http://127.0.0.1:$port/healthz" -o "$work/health" || { cat "$work/log"; fail "/healthz after the idle ones timed out"; }
expect_contains "$work/health" "ok"
kill -TERM "$pid"
wait "$pid"
kill "$flood" 2>/dev/null || true
wait "$flood" 2>/dev/null || true
expect_contains "$work/log" "metrics: 64 connections open, the most allowed (metrics_max_connections)"
if grep -qi "too many open files" "$work/log"; then cat "$work/log"; fail "descriptors ran out"; fi
pass "idle metrics connections are capped and time out"
