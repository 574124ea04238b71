#!/usr/bin/env bash
# Two daemons given the same state_dir would both process every file: the
# second one refuses to start, naming the state file and the PID that holds
# it. --check (which starts no source) still works beside the running one,
# and once the first has stopped the state_dir is free again.
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/in"
printf 'a\n' > "$work/in/a.txt"
cat > "$work/shared.conf" <<CONF
pipeline "shared" {
  source "file" {
    paths = ["$work/in"]
    state_dir = "$work/state/nested"
    watch = true
    poll_interval = 50ms
  }
  sink "file" { path = "$work/out.jsonl" }
}
CONF

"$PIPELINED" -c "$work/shared.conf" 2> "$work/log1" &
pid=$!
cleanup_pids+=("$pid")
# The file read and its state saved: the first daemon owns the state.
wait_for test -s "$work/state/nested/shared.state" || { cat "$work/log1"; fail "no state file"; }
pass "the state_dir is created"

"$PIPELINED" --check -c "$work/shared.conf" 2> "$work/check.log" ||
  { cat "$work/check.log"; fail "--check beside the running daemon"; }
pass "--check runs beside the daemon that owns the state"

rc=0
"$PIPELINED" --once -c "$work/shared.conf" 2> "$work/log2" || rc=$?
[ "$rc" -ne 0 ] || { cat "$work/log2"; fail "a second daemon shared the state_dir"; }
expect_contains "$work/log2" "state file $work/state/nested/shared.state is in use by another process: PID $pid holds $work/state/nested/shared.state.lock"
[ "$(count_lines "$work/out.jsonl")" -eq 1 ] || fail "the file was processed twice"
pass "a second daemon on the same state_dir is refused with the holder's PID"

kill -TERM "$pid"
wait "$pid" || fail "the first daemon did not stop cleanly"
"$PIPELINED" --once -c "$work/shared.conf" 2> "$work/log3" || { cat "$work/log3"; fail "after the stop"; }
[ "$(count_lines "$work/out.jsonl")" -eq 1 ] || fail "a committed file was processed again"
pass "once the owner has stopped, the state_dir can be used again"
