#!/usr/bin/env bash
# source-s3 on compressed objects, on moto, in list mode with --once (s3 ->
# csv -> file): a 200,000-row CSV made here (not kept in the tree) gives the
# same output plain, as a .csv.gz and in zstd under a key without a suffix
# but with Content-Encoding: zstd; a truncated .csv.gz gives the rows before
# the cut, one dead letter naming the object, and exit 1. (The runs of
# 1,000,000 rows are tests/e2e/compressed_files.sh and check_source_s3,
# where they cost less than through moto.)
#
# Needs $PIPELINED (make check sets it), gzip and zstd; skipped (77)
# outside the gcc build of scripts/test or without source-s3. KEEP_WORK=1
# keeps the configs, outputs and daemon logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PIPELINED:=${top_builddir:?run through make check, or set PIPELINED}/pipelined}"
. "$here/needs.sh"
needs_full_build_and "the compressed objects test" source-s3

work=$(mktemp -d "${TMPDIR:-/tmp}/compressed-objects.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

rows=200000
awk -v n="$rows" -f "${PIPELINED_TEST_DATA:-$here/../data}/inventory_rows.awk" \
  > "$work/big.csv"
gzip -1 -c "$work/big.csv" > "$work/big.csv.gz"
zstd -q -1 -c "$work/big.csv" > "$work/big.zst"
size=$(stat -c %s "$work/big.csv.gz")
head -c $((size / 2)) "$work/big.csv.gz" > "$work/cut.csv.gz"

source "$here/aws-env.sh"
aws_env_moto
aws_make_bucket zbucket
aws s3api put-object --bucket zbucket --key plain/big.csv --body "$work/big.csv" >/dev/null
aws s3api put-object --bucket zbucket --key gz/big.csv.gz --body "$work/big.csv.gz" >/dev/null
aws s3api put-object --bucket zbucket --key zst/big --content-encoding zstd \
  --body "$work/big.zst" >/dev/null
aws s3api put-object --bucket zbucket --key cut/big.csv.gz --body "$work/cut.csv.gz" >/dev/null

# run PREFIX: --once over the objects under PREFIX into $work/PREFIX.out
# and .bad; prints the exit status.
run() {
  cat > "$work/$1.conf" <<CONF
pipeline "z" {
  source "s3" { bucket = "zbucket"; prefix = "$1/" }
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
  echo "$rc"
}

[ "$(run plain)" = 0 ] || { cat "$work/plain.log"; fail "the plain object"; }
[ "$(wc -l < "$work/plain.out")" -eq "$rows" ] || fail "plain: not $rows rows"
for prefix in gz zst; do
  [ "$(run "$prefix")" = 0 ] || { cat "$work/$prefix.log"; fail "$prefix"; }
  cmp -s "$work/plain.out" "$work/$prefix.out" || fail "$prefix: not the plain object's rows"
  [ ! -s "$work/$prefix.bad" ] || fail "$prefix: rejects"
done
echo "ok: moto: 200,000 rows as .csv.gz and as zstd (Content-Encoding) give the plain object's rows"

rc=$(run cut)
[ "$rc" = 1 ] || { cat "$work/cut.log"; fail "cut: exit status $rc, want 1"; }
"${AWS_ENV_PYTHON:-python3}" - "$work/cut.bad" "$work/cut.out" "$work/plain.out" "$((size / 2))" <<'PY'
import json, sys
bad, out, plain, at = sys.argv[1:]
letters = [json.loads(l) for l in open(bad)]
assert len(letters) == 1, letters
doc = letters[0]
assert doc["record"] == {"bucket": "zbucket", "key": "cut/big.csv.gz"}, doc
assert doc["reason"] == ("gzip stream is truncated: the input ends at byte %s, "
                         "inside a member" % at), doc
got = open(out).read().splitlines()
want = open(plain).read().splitlines()
assert 0 < len(got) < len(want) and got == want[:len(got)], len(got)
PY
grep -q "s3://zbucket/cut/big.csv.gz: gzip stream is truncated" "$work/cut.log" ||
  fail "the log does not name the object"
echo "ok: moto: a truncated .csv.gz gives the rows before the cut, one dead letter naming it, exit 1"
