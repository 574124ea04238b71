#!/usr/bin/env bash
# source-file on compressed files, file -> csv -> file with --once: a
# 1,000,000-row CSV (made here, not kept in the tree) gives the same output
# plain, gzip'd (.csv.gz), zstd'd (.csv.zst) and gzip'd under a name that
# says nothing (found from its magic number); `compression = "none"` reads
# a .gz as it is. A truncated file, a corrupt one and a decompression bomb
# (past max_decompressed_bytes) each give the rows before that point, one
# dead letter naming the file and why, and exit status 1, while a good file
# beside them is read whole.
. "$(dirname "$0")/lib.sh"
command -v gzip >/dev/null && command -v zstd >/dev/null ||
  fail "gzip and zstd are needed to make the test's files"

rows=1000000
awk -v n="$rows" -f "$test_data/inventory_rows.awk" > "$work/big.csv"
gzip -1 -c "$work/big.csv" > "$work/big.csv.gz"
zstd -q -1 -c "$work/big.csv" > "$work/big.csv.zst"
cp "$work/big.csv.gz" "$work/big.data"

# run NAME PATHS [SOURCE SETTINGS]: --once into $work/NAME.out and
# $work/NAME.bad; the exit status in $work/NAME.rc, the log in NAME.log.
run() {
  cat > "$work/$1.conf" <<CONF
pipeline "z" {
  source "file" {
    paths = [$2]
    ${3:-}
  }
  transform "csv" {
    columns = ["product_id:string:required", "location:string",
               "quantity:int", "update_date:date"]
  }
  sink "file" { path = "$work/$1.out" }
  dead_letter "file" { path = "$work/$1.bad" }
}
CONF
  local rc=0
  "$PIPELINED" --once -c "$work/$1.conf" 2> "$work/$1.log" || rc=$?
  echo "$rc" > "$work/$1.rc"
}
status() { cat "$work/$1.rc"; }

run plain "\"$work/big.csv\""
[ "$(status plain)" -eq 0 ] || { cat "$work/plain.log"; fail "the plain file"; }
[ "$(count_lines "$work/plain.out")" -eq "$rows" ] || fail "plain: not $rows rows"
for name in gz:big.csv.gz zst:big.csv.zst magic:big.data; do
  run "${name%%:*}" "\"$work/${name#*:}\""
  [ "$(status "${name%%:*}")" -eq 0 ] || { cat "$work/${name%%:*}.log"; fail "${name#*:}"; }
  cmp -s "$work/plain.out" "$work/${name%%:*}.out" ||
    fail "${name#*:} does not give the plain file's output"
  [ "$(count_lines "$work/${name%%:*}.bad")" -eq 0 ] || fail "${name#*:}: rejects"
done
pass "1,000,000 rows: .csv.gz, .csv.zst and a gzip file without a suffix give the plain file's output"

run none "\"$work/big.csv.gz\"" 'compression = "none"'
[ "$(count_lines "$work/none.out")" -eq 0 ] || fail "compression none decompressed"
[ "$(count_lines "$work/none.bad")" -gt 0 ] || fail "compression none: no rejected rows"
pass "compression = \"none\" reads a .gz as it is (its bytes are not CSV rows)"

# assert_rejected NAME FILE REASON: exit 1, one dead letter for FILE whose
# reason has REASON, and output rows that are the plain output's first.
assert_rejected() {
  [ "$(status "$1")" -eq 1 ] || { cat "$work/$1.log"; fail "$1: exit status $(status "$1"), want 1"; }
  python3 - "$work/$1.bad" "$2" "$3" "$work/$1.out" "$work/plain.out" <<'PY'
import json, sys
bad, path, reason, out, plain = sys.argv[1:]
letters = [json.loads(l) for l in open(bad)]
mine = [l for l in letters if "path" in l.get("record", {})]
assert len(mine) == 1, letters
assert path in json.dumps(mine[0]) and reason in json.dumps(mine[0]), mine[0]
got = open(out).read().splitlines()
want = open(plain).read().splitlines()
# The rows before the break, whole and in order (the partial row is dropped).
assert 0 < len(got) < len(want), len(got)
assert got == want[:len(got)], "not the plain output's first rows"
PY
}

size=$(stat -c %s "$work/big.csv.gz")
head -c $((size / 2)) "$work/big.csv.gz" > "$work/cut.csv.gz"
run cut_gz "\"$work/cut.csv.gz\""
assert_rejected cut_gz "$work/cut.csv.gz" "gzip stream is truncated: the input ends at byte $((size / 2))"
grep -q "cut.csv.gz: gzip stream is truncated" "$work/cut_gz.log" || fail "the log does not name the file"
size=$(stat -c %s "$work/big.csv.zst")
head -c $((size / 3)) "$work/big.csv.zst" > "$work/cut.csv.zst"
run cut_zst "\"$work/cut.csv.zst\""
assert_rejected cut_zst "$work/cut.csv.zst" "zstd stream is truncated"
pass "a truncated .gz or .zst: the rows before the cut, one dead letter naming the file and the byte, exit 1"

# A corrupt stream: the first half of the rows, bytes that are not a gzip
# member, then the second half (deflate data that is merely altered can
# decode to garbage up to the CRC at the end; a broken member header fails
# at once, at a byte the test knows).
half=$((rows / 2 + 1))
head -n "$half" "$work/big.csv" | gzip -1 > "$work/bad.csv.gz"
first=$(stat -c %s "$work/bad.csv.gz")
printf 'not a gzip member' >> "$work/bad.csv.gz"
tail -n +$((half + 1)) "$work/big.csv" | gzip -1 >> "$work/bad.csv.gz"
run corrupt "\"$work/bad.csv.gz\""
assert_rejected corrupt "$work/bad.csv.gz" "gzip stream is corrupt at byte $((first + 2)) of the input: incorrect header check"
[ "$(count_lines "$work/corrupt.out")" -eq $((half - 1)) ] || fail "corrupt: not the rows of the first member"
pass "a corrupt .gz: the rows before, one dead letter naming the byte, exit 1"

# A bomb (20 MB of rows from 60 KB) past a limit of 1 MiB, beside a good
# file that is read whole.
mkdir "$work/in"
awk 'BEGIN { print "product_id,location,quantity,update_date"
  for (i = 0; i < 1000000; i++) print "P1,Depot,1,2024-01-01" }' |
  gzip -9 > "$work/in/bomb.csv.gz"
printf 'product_id,location,quantity,update_date\nP2,Shop,2,2024-01-02\nP3,Shop,3,2024-01-03\n' |
  zstd -q -c > "$work/in/good.csv.zst"
run bomb "\"$work/in\"" 'max_decompressed_bytes = "1MiB"'
[ "$(status bomb)" -eq 1 ] || { cat "$work/bomb.log"; fail "bomb: exit status $(status bomb)"; }
python3 - "$work/bomb.bad" "$work/bomb.out" <<'PY'
import json, sys
letters = [json.loads(l) for l in open(sys.argv[1])]
assert len(letters) == 1, letters
text = json.dumps(letters[0])
assert "bomb.csv.gz" in text and "decompresses to more than 1048576 bytes" in text, text
rows = [json.loads(l) for l in open(sys.argv[2])]
shop = [r for r in rows if r["location"] == "Shop"]
assert [r["product_id"] for r in shop] == ["P2", "P3"], shop
# No more than the limit's worth of the bomb's rows (22 bytes each).
assert len(rows) - 2 <= 1048576 // 22, len(rows)
PY
pass "a decompression bomb is dead-lettered at max_decompressed_bytes; the file beside it is read; exit 1"
