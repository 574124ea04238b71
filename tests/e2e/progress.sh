#!/usr/bin/env bash
# pipelined --once draws a progress line on standard error when it is a
# terminal (rows, bytes read, the share of input of known size, rows/s),
# clears it before every log line and before the summary; without a
# terminal there is no such line.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || fail "script(1) is needed (bsdutils)"
cp "$test_data/sample_inventory.csv" "$work/in.csv"
cat > "$work/p.conf" <<CONF
pipeline "p" {
  source "file" { paths = ["$work/in.csv"]; on_commit = "keep" }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
# script(1) gives the run a terminal; its output is the terminal's.
script -qefc "'$PIPELINED' --once -c '$work/p.conf'" /dev/null > "$work/tty" \
  || { cat -v "$work/tty"; fail "the run on a terminal failed"; }
[ "$(count_lines "$work/out.jsonl")" = 21 ] || fail "not 21 rows"
python3 - "$work/tty" <<'PY' || { cat -v "$work/tty"; fail "no progress line on the terminal"; }
import re, sys
text = open(sys.argv[1], "rb").read().decode()
lines = re.findall(r"\r\x1b\[Kpipelined: (\d+) rows delivered, (\d+) rejected, [0-9.]+ [KMG]?i?B read", text)
assert lines, "no progress line"
# Cleared before the summary, which starts a line of its own.
summary = text.index('pipeline "p": 1 group(s) committed')
assert text.rfind("\r\x1b[K", 0, summary) > text.rfind("rows delivered", 0, summary), "not cleared"
PY
pass "a --once run on a terminal draws its progress line and clears it"

"$PIPELINED" --once -c "$work/p.conf" 2> "$work/log"
if grep -q "rows delivered" "$work/log"; then cat -v "$work/log"; fail "a progress line without a terminal"; fi
expect_contains "$work/log" 'pipeline "p": 1 group(s) committed, 0 failed; 21 record(s) delivered'
pass "no progress line when standard error is not a terminal"
