#!/usr/bin/env bash
# SIGHUP reloads an unchanged config; SIGTERM drains and exits 0; a stuck sink
# makes shutdown time out (exit 1); a second signal exits at once.
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/in"
cat > "$work/watch.conf" <<CONF
shutdown_timeout = 5s
pipeline "watch" {
  source "file" { paths = ["$work/in"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
"$PIPELINED" -c "$work/watch.conf" 2> "$work/log" &
pid=$!
cleanup_pids+=("$pid")
sleep 0.3
cp "$test_data/sample_inventory.csv" "$work/in/a.csv"
wait_lines "$work/out.jsonl" -eq 21 || { cat "$work/log"; fail "watched file not processed"; }

# SIGHUP reloads the config (tests/e2e/reload.sh tests what changes); an
# unchanged one changes nothing, once per signal, and the daemon keeps
# reading new files.
hups_logged() { [ "$(grep -c "reload: no pipeline changed" "$work/log")" -eq "$1" ]; }
kill -HUP "$pid"
wait_for hups_logged 1 || { cat "$work/log"; fail "SIGHUP not logged"; }
kill -HUP "$pid"
wait_for hups_logged 2 || { cat "$work/log"; fail "the second SIGHUP not logged"; }
kill -0 "$pid" 2>/dev/null || { cat "$work/log"; fail "SIGHUP ended the daemon"; }
cp "$test_data/sample_inventory.csv" "$work/in/a2.csv"
wait_lines "$work/out.jsonl" -eq 42 || { cat "$work/log"; fail "no file read after SIGHUP"; }
expect_contains "$work/log" "SIGHUP received: reloading $work/watch.conf"
pass "SIGHUP with an unchanged config changes nothing"

start=$(date +%s%N)
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 0 ] || { cat "$work/log"; fail "SIGTERM exit status $rc"; }
[ "$elapsed" -lt 5000 ] || fail "SIGTERM took ${elapsed} ms"
expect_contains "$work/log" "shutting down"
pass "SIGTERM drains and exits 0 (${elapsed} ms)"

# A sink stuck on a full pipe: the shutdown timeout gives up with status 1.
mkfifo "$work/fifo"
exec 3<>"$work/fifo"   # a reader that never reads: writes block once the pipe is full
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("product_id,location,quantity,update_date\n")
    for i in range(100000): f.write(f"P{i},W,1,2024-01-01\n")
' "$work/in/b.csv"
rm -f "$work/in/a.csv" "$work/in/a2.csv"
sed -e "s|$work/out.jsonl|$work/fifo|" -e 's|shutdown_timeout = 5s|shutdown_timeout = 1s|' \
  "$work/watch.conf" > "$work/stuck.conf"
"$PIPELINED" -c "$work/stuck.conf" 2> "$work/log2" &
pid=$!
cleanup_pids+=("$pid")
sleep 1
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 1 ] || { cat "$work/log2"; fail "a timed-out shutdown exits 1, got $rc"; }
expect_contains "$work/log2" "shutdown timed out"
pass "shutdown_timeout bounds a stuck shutdown (exit 1)"

# A second signal exits at once. A SIGHUP during the drain reloads nothing
# (and does not tell a service manager READY=1). With log_format = "json"
# every line, the second signal's too, is JSON.
{ echo 'log_format = "json"'; sed -e 's|shutdown_timeout = 1s|shutdown_timeout = 60s|' "$work/stuck.conf"; } > "$work/stuck2.conf"
"$PIPELINED" -c "$work/stuck2.conf" 2> "$work/log3" &
pid=$!
cleanup_pids+=("$pid")
sleep 1
kill -TERM "$pid"; sleep 0.3; kill -HUP "$pid"; sleep 0.3; kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -ne 0 ] || fail "a second signal should not exit 0"
expect_contains "$work/log3" "second signal"
expect_contains "$work/log3" "SIGHUP received while shutting down: $work/stuck2.conf is not reloaded"
! grep -q "reload refused" "$work/log3" || { cat "$work/log3"; fail "a SIGHUP during the drain tried a reload"; }
python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    json.loads(line)
' "$work/log3" || { cat "$work/log3"; fail "a line of the JSON log is not JSON"; }
pass "a second signal exits at once; a SIGHUP during the drain is not a reload; the JSON log stays JSON"
exec 3>&-
