#!/usr/bin/env bash
# file -> csv -> file on local files with etc/local.conf: the sample file,
# a BOM+CRLF file, quoted fields, and bad rows in the dead letter.
. "$(dirname "$0")/lib.sh"

run_local() { # INPUT: runs etc/local.conf --once into $work/out.jsonl
  rm -f "$work/out.jsonl" "$work/bad.jsonl"
  local rc=0
  INPUT="$1" OUTPUT="$work/out.jsonl" REJECTS="$work/bad.jsonl" \
    "$PIPELINED" --once -c "$top_srcdir/etc/local.conf" 2> "$work/log" || rc=$?
  # Say why a run that was expected to work did not (set -e ends the test).
  [ "$rc" -eq 0 ] || { echo "pipelined --once on $1 exited $rc:"; cat "$work/log"; }
  return "$rc"
}

# The seed sample: 21 typed records.
run_local "$test_data/sample_inventory.csv" || { cat "$work/log"; fail "sample run"; }
[ "$(count_lines "$work/out.jsonl")" -eq 21 ] || fail "sample: expected 21 records"
[ "$(count_lines "$work/bad.jsonl")" -eq 0 ] || fail "sample: unexpected rejects"
python3 - "$work/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[0] == {"product_id": "P001", "location": "Warehouse A",
                   "quantity": 100, "update_date": "2023-05-01"}, rows[0]
assert list(rows[0].keys()) == ["product_id", "location", "quantity", "update_date"]
assert rows[20]["product_id"] == "P0021" and rows[20]["quantity"] == 50
assert all(isinstance(r["quantity"], int) for r in rows)
PY
pass "sample_file.csv gives 21 typed records"

# Running again gives the same output (input left in place, nothing remembered).
run_local "$test_data/sample_inventory.csv"
[ "$(count_lines "$work/out.jsonl")" -eq 21 ] || fail "second run"
pass "the same command can be run again"

# BOM + CRLF.
printf '\xef\xbb\xbfproduct_id,location,quantity,update_date\r\nP1,Depot,5,2024-01-02\r\nP2,Depot,6,2024-01-03\r\n' > "$work/bom.csv"
run_local "$work/bom.csv"
[ "$(count_lines "$work/out.jsonl")" -eq 2 ] || fail "bom: expected 2 records"
[ "$(json_field "$work/out.jsonl" 1 product_id)" = "P1" ] || fail "bom: BOM not stripped"
[ "$(json_field "$work/out.jsonl" 2 update_date)" = "2024-01-03" ] || fail "bom: CR kept"
pass "BOM and CRLF"

# Quoted fields with commas, quotes and newlines.
printf 'product_id,location,quantity,update_date\n"P,1","Ware ""A""",1,2024-01-01\n"P2","multi\nline",2,2024-01-02\nP3,x,3,2024-01-03\n' > "$work/quoted.csv"
run_local "$work/quoted.csv"
[ "$(count_lines "$work/out.jsonl")" -eq 3 ] || fail "quoted: expected 3 records"
[ "$(json_field "$work/out.jsonl" 1 product_id)" = "P,1" ] || fail "quoted comma"
[ "$(json_field "$work/out.jsonl" 1 location)" = 'Ware "A"' ] || fail "quoted quote"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert r[1]["location"]=="multi\nline", r[1]' "$work/out.jsonl"
pass "quoted fields"

# Bad rows: dead-lettered with line numbers and reasons; good rows delivered.
cat > "$work/bad.csv" <<'CSV'
product_id,location,quantity,update_date
P1,A,1,2024-01-01
P2,B,many,2024-01-02
P3,C,3
P4,D,4,2024-02-30
,E,5,2024-01-05
P6,F,6,2024-01-06
CSV
run_local "$work/bad.csv" || true
[ "$(count_lines "$work/out.jsonl")" -eq 2 ] || fail "bad: expected 2 good records"
[ "$(count_lines "$work/bad.jsonl")" -eq 4 ] || { cat "$work/bad.jsonl"; fail "bad: expected 4 rejects"; }
python3 - "$work/bad.jsonl" "$work/bad.csv" <<'PY'
import json, sys
letters = [json.loads(l) for l in open(sys.argv[1])]
assert [l["line"] for l in letters] == [3, 4, 5, 6], letters
for l in letters:
    assert l["origin"].startswith("file:") and l["origin"].endswith("bad.csv"), l
    assert l["reason"], l
    assert l["pipeline"] == "local-inventory", l
assert "quantity" in letters[0]["reason"], letters[0]
assert "P3,C,3" in letters[1]["raw"], letters[1]
assert "update_date" in letters[2]["reason"], letters[2]
assert "product_id" in letters[3]["reason"], letters[3]
PY
expect_contains "$work/log" ' info  pipeline "local-inventory": 1 group(s) committed, 0 failed; 2 record(s) delivered, 4 rejected, 0 retried, 0 failed;'
pass "bad rows dead-lettered with line numbers; good rows delivered; the summary counts them"

# A directory and a glob as INPUT.
mkdir -p "$work/dir"
cp "$test_data/sample_inventory.csv" "$work/dir/a.csv"
cp "$work/bom.csv" "$work/dir/b.csv"
run_local "$work/dir"
[ "$(count_lines "$work/out.jsonl")" -eq 23 ] || fail "directory input"
run_local "$work/dir/*.csv"
[ "$(count_lines "$work/out.jsonl")" -eq 23 ] || fail "glob input"
pass "directory and glob inputs"

# Output and dead letter in the input directory: never read back, however
# often the run is repeated (each run adds the 21 rows of a.csv once).
mkdir -p "$work/own"
cp "$test_data/sample_inventory.csv" "$work/own/a.csv"
for n in 21 42; do
  INPUT=$work/own OUTPUT=$work/own/out.jsonl REJECTS=$work/own/bad.jsonl \
    "$PIPELINED" --once -c "$top_srcdir/etc/local.conf" 2> "$work/log" ||
    { cat "$work/log"; fail "reading a directory that holds the output"; }
  [ "$(count_lines "$work/own/out.jsonl")" -eq "$n" ] ||
    fail "own output: $(count_lines "$work/own/out.jsonl") lines, want $n"
  [ "$(count_lines "$work/own/bad.jsonl")" -eq 0 ] || fail "own output: the output was read back as CSV"
done
expect_contains "$work/log" "$work/own/out.jsonl is not read: this daemon writes it"
pass "a source never reads the files a sink or dead letter of the daemon writes"

# A missing input: logged with its path, the run exits non-zero.
set +e
run_local "$work/no-such.csv"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a missing input exits 0"
expect_contains "$work/log" "cannot read $work/no-such.csv: no such file or directory"
pass "a missing input is an error naming it"

# A sink that empties its file at the start (append = false) on a file the
# daemon's source reads: refused at the start, the input left whole. The
# file itself, a file of an input directory (spelt through "..") and a
# glob's match (also a glob through ".." or a symbolic link); a file beside
# them that no source reads is emptied as asked.
mkdir -p "$work/trunc/sub"
cp "$test_data/sample_inventory.csv" "$work/trunc/in.csv"
cat > "$work/trunc.conf" <<'CONF'
pipeline "p" {
  source "file" {
    paths     = ["${INPUT}"]
    on_commit = "keep"
  }
  sink "file" {
    path   = "${OUTPUT}"
    append = false
  }
}
CONF
ln -s "$work/trunc" "$work/link"
for case in "$work/trunc/in.csv:$work/trunc/in.csv" \
            "$work/trunc:$work/trunc/sub/../in.csv" \
            "$work/trunc/*.csv:$work/trunc/in.csv" \
            "$work/trunc/sub/../*.csv:$work/trunc/in.csv" \
            "$work/link/*.csv:$work/trunc/in.csv"; do
  input=${case%%:*} output=${case#*:}
  set +e
  INPUT=$input OUTPUT=$output "$PIPELINED" --once -c "$work/trunc.conf" \
    2> "$work/log"
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "append = false on an input ($input) exits 0"
  expect_contains "$work/log" "is an input of pipeline \"p\" (source-file): append = false would empty it before it is read"
  cmp -s "$work/trunc/in.csv" "$test_data/sample_inventory.csv" ||
    fail "append = false on an input ($input) emptied it"
done
echo stale > "$work/trunc/sub/old.jsonl"
INPUT=$work/trunc/in.csv OUTPUT=$work/trunc/sub/old.jsonl \
  "$PIPELINED" --once -c "$work/trunc.conf" 2> "$work/log" ||
  { cat "$work/log"; fail "append = false on a file no source reads"; }
grep -q stale "$work/trunc/sub/old.jsonl" && fail "append = false kept the old lines"
pass "append = false never empties a file a source of the daemon reads"
