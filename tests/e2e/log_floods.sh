#!/usr/bin/env bash
# 3,000 bad rows are one log line (with the count and the first reason),
# not 3,000, and every one of them is still in the dead letter; without a
# dead letter, still one line.
. "$(dirname "$0")/lib.sh"

python3 - "$work/bad.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("product_id,location,quantity,update_date\n")
    for i in range(3000):
        out.write(f"P{i},Depot,many,2024-01-01\n")
    for i in range(10):
        out.write(f"G{i},Depot,{i},2024-01-01\n")
PY

INPUT="$work/bad.csv" OUTPUT="$work/out.jsonl" REJECTS="$work/rejects.jsonl" \
  "$PIPELINED" --once -c "$top_srcdir/etc/local.conf" 2> "$work/log" ||
  { cat "$work/log"; fail "the run with a dead letter failed"; }
lines=$(count_lines "$work/log")
[ "$lines" -le 3 ] || { head -20 "$work/log"; fail "$lines log lines for 3000 bad rows, want at most 3"; }
expect_contains "$work/log" "3000 record(s) rejected in file:$work/bad.csv, first: line 2: column 'quantity': 'many' is not an int"
[ "$(count_lines "$work/rejects.jsonl")" -eq 3000 ] || fail "expected 3000 letters"
[ "$(count_lines "$work/out.jsonl")" -eq 10 ] || fail "expected 10 good records"
python3 - "$work/rejects.jsonl" <<'PY'
import json, sys
lines = [json.loads(l)["line"] for l in open(sys.argv[1])]
assert lines == list(range(2, 3002)), (lines[:3], len(lines))
PY
pass "3000 rejected rows: $lines log line(s), every row in the dead letter"

# The same config without its dead letter: the group fails, in one line.
sed '/^  dead_letter/,/^  }/d' "$top_srcdir/etc/local.conf" > "$work/no-dead-letter.conf"
grep -q dead_letter "$work/no-dead-letter.conf" && fail "the dead letter is still configured"
rc=0
INPUT="$work/bad.csv" OUTPUT="$work/out2.jsonl" \
  "$PIPELINED" --once -c "$work/no-dead-letter.conf" 2> "$work/log2" || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/log2"; fail "exit status $rc without a dead letter, want 1"; }
lines=$(count_lines "$work/log2")
[ "$lines" -le 3 ] || { head -20 "$work/log2"; fail "$lines log lines without a dead letter, want at most 3"; }
expect_contains "$work/log2" "3000 record(s) rejected in file:$work/bad.csv, first: line 2:"
expect_contains "$work/log2" "no dead_letter is configured"
pass "3000 rejected rows without a dead letter: $lines log line(s), exit status 1"
