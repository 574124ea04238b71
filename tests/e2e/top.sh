#!/usr/bin/env bash
# `pipelined top` in a real terminal (tmux, 80x24) against a daemon at
# work: it finds the daemon's metrics_listen in the config (an included
# file), shows the pipeline's stages with rates, fits 80 columns, and
# quits on q with status 0, putting the terminal back.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux is needed (scripts/install-deps installs it)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/in"
# metrics_listen in an included file: top reads the config as a run does.
echo "metrics_listen = \"127.0.0.1:$port\"" > "$work/metrics.conf"
cat > "$work/top.conf" <<CONF
include "metrics.conf"
pipeline "inventory" {
  source "file" { paths = ["$work/in"]; watch = true; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
"$PIPELINED" -c "$work/top.conf" 2> "$work/log" &
daemon=$!
cleanup_pids+=("$daemon")
wait_for curl -sf "http://127.0.0.1:$port/readyz" -o /dev/null || { cat "$work/log"; fail "the daemon did not start"; }

# Work keeps arriving: a CSV file of 2,000 rows every 0.2 s.
(
  i=0
  while :; do
    python3 -c 'import sys; print("product_id,location,quantity,update_date"); [print("P%d,L,%d,2024-01-01" % (r, r)) for r in range(2000)]' > "$work/f.tmp"
    mv "$work/f.tmp" "$work/in/f$i.csv"
    i=$((i + 1))
    sleep 0.2
  done
) &
cleanup_pids+=("$!")

sock="pipelined-top-$$"
tmuxc() { tmux -L "$sock" -f /dev/null "$@"; }
# cleanup (lib.sh) exits with the status it finds in $?: hand it the
# test's, not the kill-server's (with `|| true` this test could not fail).
trap 'status=$?; tmuxc kill-server 2>/dev/null || true; (exit "$status"); cleanup' EXIT
tmuxc new-session -d -s top -x 80 -y 24 \
  "PIPELINED_PLUGIN_PATH='$PIPELINED_PLUGIN_PATH' '$PIPELINED' top -c '$work/top.conf'; echo \$? > '$work/top.status'; sleep 30"

# A capture once rates are known: the sink's OUT/s is above 0.
capture() { tmuxc capture-pane -p -t top > "$work/screen"; }
working() {
  capture
  awk '$1 == "sink" && $2 == "sink-file" && $4 + 0 > 0 { found = 1 } END { exit !found }' "$work/screen"
}
wait_for working || { cat "$work/screen"; fail "top never showed the sink delivering"; }
cat "$work/screen"
expect_contains "$work/screen" "pipelined top  http://127.0.0.1:$port/metrics"
expect_contains "$work/screen" "pipeline inventory"
expect_contains "$work/screen" "transform-csv"
awk 'length($0) > 80 { print "line " NR " has " length($0) " columns"; bad = 1 } END { exit bad }' "$work/screen" \
  || fail "the screen is wider than 80 columns"
pass "top shows the stages of a daemon at work, with rates, in 80 columns"

tmuxc send-keys -t top q
wait_for test -s "$work/top.status" || { capture; cat "$work/screen"; fail "top did not quit on q"; }
[ "$(cat "$work/top.status")" = 0 ] || fail "top exited $(cat "$work/top.status") after q"
pass "q quits with status 0"
kill "$daemon"
wait "$daemon" 2>/dev/null || true
