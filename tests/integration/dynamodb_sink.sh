#!/usr/bin/env bash
# sink-dynamodb end to end on moto: the real daemon runs file -> csv ->
# dynamodb (update mode, key id = "${product_id}#${location}", newer_than
# update_date), and the aws CLI (an independent client) reads the table.
#   - the 21 rows of the sample file become 21 items with the right types
#     (id, product_id, location, update_date S; quantity N);
#   - running the same file again changes nothing;
#   - a row with an older update_date leaves the newer quantity (and counts
#     as stale); a row with a newer one updates it;
#   - an item stored without update_date (by another writer) takes the row.
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# sink-dynamodb, source-file and transform-csv.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
sample=${PIPELINED_TEST_DATA:-$top_srcdir/tests/data}/sample_inventory.csv

if ! "$PIPELINED" --describe sink-dynamodb >/dev/null 2>&1; then
  echo "SKIP: the sink-dynamodb plugin is not built"
  exit 77
fi
[ -r "$sample" ] || { echo "FAIL: $sample is missing" >&2; exit 1; }

fail() { echo "FAIL (${AWS_ENV_KIND:-setup}): $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-ddb-sink.XXXXXX")
# Set before aws-env.sh installs its own, which chains to it.
trap 'rm -rf "$work"' EXIT
# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_moto

table=inventory
aws_make_table "$table"

cat >"$work/ddb.conf" <<'CONF'
pipeline "file-to-dynamodb" {
  source "file" {
    paths     = ["${INPUT}"]
    on_commit = "keep"
  }
  transform "csv" {
    header  = true
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "dynamodb" {
    table      = "${TABLE}"
    mode       = "update"
    key        { id = "${product_id}#${location}" }
    newer_than = "update_date"
  }
  dead_letter "file" {
    path = "${REJECTS}"
  }
}
CONF

# run NAME INPUT: pipelined --once on INPUT; its log is $work/NAME.log.
run() {
  rm -f "$work/rejects.jsonl"
  INPUT=$2 TABLE=$table REJECTS=$work/rejects.jsonl \
    "$PIPELINED" --once -c "$work/ddb.conf" 2>"$work/$1.log" \
    || { cat "$work/$1.log" >&2; fail "$1: pipelined --once exited non-zero"; }
  [ ! -s "$work/rejects.jsonl" ] || { cat "$work/rejects.jsonl" >&2; fail "$1: rows were rejected"; }
}

# scan OUT: every item of the table, sorted by id, as JSON.
scan() {
  aws dynamodb scan --table-name "$table" --consistent-read --output json \
    | python3 -c 'import json,sys; items=json.load(sys.stdin)["Items"]; print(json.dumps(sorted(items, key=lambda i: i["id"]["S"]), sort_keys=True, indent=1))' >"$1"
}

# quantity_of ID: the stored quantity (N) and update_date of one item.
item_of() {
  aws dynamodb get-item --table-name "$table" --consistent-read \
    --key "{\"id\":{\"S\":\"$1\"}}" \
    --query '[Item.quantity.N, Item.update_date.S]' --output text
}

run first "$sample"
scan "$work/scan1.json"
python3 - "$sample" "$work/scan1.json" <<'PY' || fail "the items are not the typed rows"
import csv, json, sys
rows = {}
with open(sys.argv[1], newline="") as f:
    for line, row in enumerate(csv.reader(f), start=1):
        if line == 1 or not row:
            continue
        rows[row[0] + "#" + row[1]] = row
items = json.load(open(sys.argv[2]))
assert len(items) == 21 == len(rows), (len(items), len(rows))
for item in items:
    row = rows[item["id"]["S"]]
    want = {"id": {"S": row[0] + "#" + row[1]}, "product_id": {"S": row[0]},
            "location": {"S": row[1]}, "quantity": {"N": str(int(row[2]))},
            "update_date": {"S": row[3]}}
    assert item == want, (item, want)
PY
echo "ok: the sample file gave 21 items: id, product_id, location, update_date S and quantity N"

run again "$sample"
scan "$work/scan2.json"
cmp -s "$work/scan1.json" "$work/scan2.json" \
  || { diff "$work/scan1.json" "$work/scan2.json" >&2; fail "running the file again changed the table"; }
echo "ok: running the same file again changed nothing"

before=$(item_of "P001#Warehouse A")
printf 'product_id,location,quantity,update_date\nP001,Warehouse A,999,2020-01-01\n' >"$work/older.csv"
run older "$work/older.csv"
after=$(item_of "P001#Warehouse A")
[ "$after" = "$before" ] || fail "an older row changed the item: '$before' became '$after'"
echo "ok: an older update_date left the newer item ($after)"

printf 'product_id,location,quantity,update_date\nP001,Warehouse A,555,2030-01-01\n' >"$work/newer.csv"
run newer "$work/newer.csv"
after=$(item_of "P001#Warehouse A")
[ "$after" = "$(printf '555\t2030-01-01')" ] || fail "a newer row did not update the item: '$after'"
[ "$(aws_table_count "$table")" = 21 ] || fail "the table no longer holds 21 items"
echo "ok: a newer update_date updated the item ($after)"

# An item another writer stored without update_date (a seed, a migration)
# is older than any dated row: a condition on a missing attribute is
# false, and the row used to count as stale for ever.
aws dynamodb put-item --table-name "$table" \
  --item '{"id":{"S":"P999#Seeded"},"quantity":{"N":"5"}}'
printf 'product_id,location,quantity,update_date\nP999,Seeded,42,2024-03-01\n' >"$work/seeded.csv"
run seeded "$work/seeded.csv"
after=$(item_of "P999#Seeded")
[ "$after" = "$(printf '42\t2024-03-01')" ] || { cat "$work/seeded.log" >&2; fail "an item without update_date was not updated: '$after'"; }
echo "ok: an item stored without update_date took the row ($after)"

# Put mode (BatchWriteItem) into a second table: the same 21 items.
table=inventory_put
aws_make_table "$table"
sed -e 's/mode       = "update"/mode       = "put"/' -e '/newer_than/d' \
  "$work/ddb.conf" >"$work/put.conf"
INPUT=$sample TABLE=$table REJECTS=$work/rejects.jsonl \
  "$PIPELINED" --once -c "$work/put.conf" 2>"$work/put.log" \
  || { cat "$work/put.log" >&2; fail "put: pipelined --once exited non-zero"; }
scan "$work/scan-put.json"
cmp -s "$work/scan1.json" "$work/scan-put.json" \
  || { diff "$work/scan1.json" "$work/scan-put.json" >&2; fail "put mode wrote other items than update mode"; }
echo "ok: put mode (BatchWriteItem) wrote the same 21 items"
