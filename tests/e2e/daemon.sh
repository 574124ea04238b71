#!/usr/bin/env bash
# Without --once pipelined is a daemon: etc/local.conf keeps watching its
# input directory after the files there are done, reads a file dropped
# later, and exits 0 on SIGTERM with every handle closed.
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/in"
cp "$test_data/sample_inventory.csv" "$work/in/a.csv"
INPUT="$work/in" OUTPUT="$work/out.jsonl" REJECTS="$work/bad.jsonl" \
  "$PIPELINED" -c "$top_srcdir/etc/local.conf" 2> "$work/log" &
pid=$!
cleanup_pids+=("$pid")
wait_lines "$work/out.jsonl" -eq 21 || { cat "$work/log"; fail "the first file was not processed"; }
# Two scans (poll_interval = 1s) after the first file was done.
sleep 2.5
kill -0 "$pid" 2>/dev/null || { cat "$work/log"; fail "the daemon exited after the first file"; }
[ "$(count_lines "$work/out.jsonl")" -eq 21 ] || fail "the first file was read again"
pass "still running after the files present are done"

cp "$test_data/sample_inventory.csv" "$work/in/.b.csv.tmp"
mv "$work/in/.b.csv.tmp" "$work/in/b.csv"
wait_lines "$work/out.jsonl" -eq 42 || { cat "$work/log"; fail "a file dropped later was not processed"; }
pass "a file dropped later is processed"

kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$work/log"; fail "SIGTERM exit status $rc"; }
expect_contains "$work/log" "shutting down"
if grep -qF "handle was left open" "$work/log"; then
  cat "$work/log"; fail "a handle was left open at exit"
fi
[ "$(count_lines "$work/out.jsonl")" -eq 42 ] || fail "a file was read twice"
pass "SIGTERM exits 0 with every handle closed"

# A plugin that leaves a handle open makes the run fail, naming the handle.
cat > "$work/leaky.conf" <<CONF
plugin_path = ["$PIPELINED_TEST_PLUGIN_DIR"]
pipeline "leaky" {
  source "leaky" { }
  sink "file" { path = "$work/leaky.jsonl" }
}
CONF
set +e
"$PIPELINED" --once -c "$work/leaky.conf" 2> "$work/leaky.log"; rc=$?
set -e
[ "$rc" -ne 0 ] || { cat "$work/leaky.log"; fail "a handle left open exits 0"; }
expect_contains "$work/leaky.log" "a handle was left open at exit: timer"
rm "$work/leaky.log" # what lib.sh checks for in every test
pass "a handle left open at exit is a failure (exit $rc)"
