#!/usr/bin/env bash
# source-s3 resuming an object in the middle, on moto, in list mode (s3 ->
# csv -> file): the daemon is killed (SIGKILL) about half-way through an
# object of ROWS rows (200,000; set ROWS=1000000 for the figure of
# docs/reliability.md), then started again with --once. The object is not
# committed, so it is listed again; the ledger under state_dir says how far
# its rows were committed, and the restart asks for its first line (Range
# bytes=0-65535, for the header) and the rest from there (Range, If-Match):
#   - every row is written, and few twice (the figure is printed: "rows
#     written twice"): at most the rows of 128 KiB of the object (the
#     ledger is saved every 64 KiB, and a chunk may be under way) and one
#     batch, about 1.9% of 200,000 rows; and at most 1% of an object of
#     1,000,000 rows or more;
#   - the log says where it resumed, the rows after it follow on in order,
#     and they carry their true line numbers: a bad row near the end goes
#     to the dead letter with its line in the file, not one counted from
#     where the read was taken up.
# Needs $PIPELINED (make check sets it); skipped (77) outside the gcc build
# of scripts/test or without source-s3. KEEP_WORK=1 keeps the work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PIPELINED:=${top_builddir:?run through make check, or set PIPELINED}/pipelined}"
. "$here/needs.sh"
needs_full_build_and "the object resume test" source-s3

work=$(mktemp -d "${TMPDIR:-/tmp}/resume-object.XXXXXX")
daemon=
cleanup() {
  [ -z "$daemon" ] || kill -9 "$daemon" 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

rows=${ROWS:-200000}
awk -v n="$rows" -f "${PIPELINED_TEST_DATA:-$here/../data}/inventory_rows.awk" \
  > "$work/big.csv"
bad_line=$((rows - 3))
sed -i "${bad_line}s/,[0-9]*,2024-/,many,2024-/" "$work/big.csv"

source "$here/aws-env.sh"
aws_env_moto
aws_make_bucket rbucket
aws s3api put-object --bucket rbucket --key in/big.csv --body "$work/big.csv" >/dev/null

# Each row says its line through its product id (P0000001 is line 2). The
# sink syncs every batch of 100 rows, as slow as a remote sink, so that
# the kill lands in the middle whatever the machine's speed.
cat > "$work/r.conf" <<CONF
pipeline "r" {
  source "s3" {
    bucket = "rbucket"
    prefix = "in/"
    interval = "1h"
    state_dir = "$work/state"
  }
  transform "csv" {
    columns = ["product_id:string:required", "location:string",
               "quantity:int", "update_date:date"]
  }
  sink "file" {
    path = "$work/out.jsonl"
    fsync = "true"
    batch_size = 100
  }
  dead_letter "file" { path = "$work/bad.jsonl" }
}
CONF

"$PIPELINED" -c "$work/r.conf" 2> "$work/run1.log" &
daemon=$!
for _ in $(seq 1 1200); do
  [ -s "$work/out.jsonl" ] && [ "$(wc -l < "$work/out.jsonl")" -gt $((rows / 2)) ] && break
  kill -0 "$daemon" 2>/dev/null || { cat "$work/run1.log"; fail "the daemon ended early"; }
  sleep 0.05
done
kill -9 "$daemon"
wait "$daemon" 2>/dev/null || true
daemon=
first=$(wc -l < "$work/out.jsonl")
[ "$first" -lt "$rows" ] || fail "the object was done before the kill: nothing was tested"
echo "   killed after $first of $rows rows; ledger: $(tail -n 1 "$work"/state/*.ledger)"

"$PIPELINED" --once -c "$work/r.conf" 2> "$work/run2.log" || { cat "$work/run2.log"; fail "the restart failed"; }
grep -q "s3://rbucket/in/big.csv: resuming at byte" "$work/run2.log" ||
  { cat "$work/run2.log"; fail "the restart did not resume the object"; }
"${AWS_ENV_PYTHON:-python3}" - "$work/out.jsonl" "$rows" "$first" "$work/bad.jsonl" "$bad_line" "$work/big.csv" <<'PY'
import json, os, sys
path, rows, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
letters = [json.loads(l) for l in open(sys.argv[4])]
assert [d["line"] for d in letters] == [int(sys.argv[5])], letters
seen, twice, torn = set(), 0, 0
order = []
with open(path) as f:
    for line in f:
        try:
            pid = json.loads(line)["product_id"]
        except ValueError:
            torn += 1
            continue
        twice += pid in seen
        seen.add(pid)
        order.append(pid)
assert torn <= 1, f"{torn} torn lines"
assert len(seen) == rows - 1, f"{rows - 1 - len(seen)} rows lost"
print(f"   rows written twice: {twice} of {rows} ({100 * twice / rows:.3f}%)")
row_bytes = os.path.getsize(sys.argv[6]) / rows
bound = int(128 * 1024 / row_bytes) + 100
if rows >= 1000000:
    bound = min(bound, rows // 100)
assert twice <= bound, f"{twice} rows written twice: more than {bound}"
# The restart's rows follow on in order from where it took the object up.
second = order[first - torn:]
nums = [int(p[1:]) for p in second]
bad = int(sys.argv[5]) - 1
want = [n for n in range(nums[0], rows + 1) if n != bad]
assert nums == want, "the resumed rows are not in order"
PY
echo "ok: moto: SIGKILL half-way through an object of $rows rows, restart: every row, few twice"
