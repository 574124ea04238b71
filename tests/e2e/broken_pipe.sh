#!/usr/bin/env bash
# A reader that goes away (`| head -1`) breaks the file sink's pipe: the run
# ends at once with one message naming the stage and the error, and exit
# status 1, instead of retrying every batch and logging every record.
. "$(dirname "$0")/lib.sh"

python3 - "$work/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("product_id,location,quantity,update_date\n")
    for i in range(200000):
        out.write(f"P{i},Warehouse A,{i % 1000},2024-01-01\n")
PY

start=$(date +%s)
set +e
INPUT="$work/big.csv" OUTPUT=- REJECTS="$work/bad.jsonl" \
  timeout -k 5 30 "$PIPELINED" --once -c "$top_srcdir/etc/local.conf" \
  2> "$work/log" | head -1 > "$work/first"
statuses=("${PIPESTATUS[@]}")
set -e
took=$(( $(date +%s) - start ))

[ "${statuses[0]}" -ne 124 ] || { head -20 "$work/log"; fail "still running after 30 s"; }
[ "${statuses[0]}" -eq 1 ] || { head -20 "$work/log"; fail "exit status ${statuses[0]}, want 1"; }
# Generous for a loaded machine; the run takes well under a second.
[ "$took" -le 10 ] || fail "the run took $took s after its reader went away"
lines=$(count_lines "$work/log")
[ "$lines" -lt 10 ] || { head -20 "$work/log"; fail "$lines log lines, want fewer than 10"; }
expect_contains "$work/log" "[sink-file:local-inventory] write to standard output failed after 1 attempt(s): broken pipe; the stage cannot write any more"
[ "$(grep -c "broken pipe" "$work/log")" -eq 1 ] || { cat "$work/log"; fail "the broken pipe is reported more than once"; }
expect_contains "$work/first" '"product_id":"P0"'
pass "a broken pipe ends the run in $took s with $lines log line(s) and exit status 1"
