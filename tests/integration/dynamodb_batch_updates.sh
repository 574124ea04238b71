#!/usr/bin/env bash
# sink-dynamodb's batch_updates end to end: the real daemon runs file -> csv
# -> dynamodb in update mode with the inventory's order (newer_than =
# update_date, @origin_time, @line) and batch_updates = true, against
# moto_partiql.py (moto, answering BatchExecuteStatement's UPDATE
# statements as DynamoDB documents them; see that file). The aws CLI reads
# the table; the wrapper counts what the statements did.
#   - on an empty table every statement fails (PartiQL's UPDATE creates no
#     item) and each record goes again as UpdateItem: the 21 items are the
#     same as update mode without batches writes;
#   - the same file again: every statement finds its item not older (the
#     stored item comes back), nothing changes;
#   - a newer row is written by its statement; an older one is stale;
#   - two rows of one key in one file, the older last: the newer wins.
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

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-ddb-batch.XXXXXX")
# Set before aws-env.sh installs its own, which chains to it.
trap 'rm -rf "$work"' EXIT
# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
AWS_ENV_MOTO_SERVER="${AWS_ENV_PYTHON:-python3} $here/moto_partiql.py" aws_env_moto

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
    table         = "${TABLE}"
    mode          = "update"
    key           { id = "${product_id}#${location}" }
    newer_than    = ["update_date", "@origin_time", "@line"]
    batch_updates = @BATCH@
  }
  dead_letter "file" {
    path = "${REJECTS}"
  }
}
CONF

# run NAME TABLE BATCH INPUT: pipelined --once; its log is $work/NAME.log.
run() {
  rm -f "$work/rejects.jsonl"
  sed "s/@BATCH@/$3/" "$work/ddb.conf" >"$work/$1.conf"
  INPUT=$4 TABLE=$2 REJECTS=$work/rejects.jsonl \
    "$PIPELINED" --once -c "$work/$1.conf" 2>"$work/$1.log" \
    || { cat "$work/$1.log" >&2; fail "$1: pipelined --once exited non-zero"; }
  [ ! -s "$work/rejects.jsonl" ] || { cat "$work/rejects.jsonl" >&2; fail "$1: rows were rejected"; }
}

# scan TABLE OUT: every item of TABLE but its version, sorted by id.
scan() {
  aws dynamodb scan --table-name "$1" --consistent-read --output json \
    | python3 -c 'import json,sys; items=json.load(sys.stdin)["Items"]; [i.pop("version", None) for i in items]; print(json.dumps(sorted(items, key=lambda i: i["id"]["S"]), sort_keys=True, indent=1))' >"$2"
}

# stats: what the statements did so far, as "statements written
# failed_with_item failed".
stats() {
  curl -sf "$AWS_ENDPOINT_URL/moto-partiql/stats" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["statements"], d["written"], d["failed_with_item"], d["failed"])'
}

item_of() {
  aws dynamodb get-item --table-name inventory --consistent-read \
    --key "{\"id\":{\"S\":\"$1\"}}" \
    --query '[Item.quantity.N, Item.update_date.S]' --output text
}

aws_make_table inventory
aws_make_table inventory_plain
run plain inventory_plain false "$sample"
[ "$(stats)" = "0 0 0 0" ] || fail "update mode without batches sent statements: $(stats)"

run first inventory true "$sample"
[ "$(stats)" = "21 0 0 21" ] || fail "on an empty table: want 21 statements failing without an item, got: $(stats)"
scan inventory "$work/batch.json"
scan inventory_plain "$work/plain.json"
cmp -s "$work/batch.json" "$work/plain.json" \
  || { diff "$work/plain.json" "$work/batch.json" >&2; fail "batch_updates wrote other items than UpdateItem alone"; }
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/batch.json")" = 21 ] || fail "the table does not hold 21 items"
echo "ok: on an empty table the 21 records went again as UpdateItem, and the items are update mode's"

run again inventory true "$sample"
[ "$(stats)" = "42 0 21 21" ] || fail "the same file again: want 21 statements failing with the stored item, got: $(stats)"
scan inventory "$work/again.json"
cmp -s "$work/batch.json" "$work/again.json" \
  || { diff "$work/batch.json" "$work/again.json" >&2; fail "running the file again changed the table"; }
echo "ok: the same file again: every statement found its item not older, nothing changed"

before=$(item_of "P001#Warehouse A")
printf 'product_id,location,quantity,update_date\nP001,Warehouse A,999,2020-01-01\nP002,Warehouse B,555,2030-01-01\n' >"$work/mixed.csv"
run mixed inventory true "$work/mixed.csv"
[ "$(stats)" = "44 1 22 21" ] || fail "an older and a newer row: want one written and one stale, got: $(stats)"
[ "$(item_of "P001#Warehouse A")" = "$before" ] || fail "an older row changed P001#Warehouse A"
[ "$(item_of "P002#Warehouse B")" = "$(printf '555\t2030-01-01')" ] \
  || fail "a newer row did not update P002#Warehouse B: $(item_of "P002#Warehouse B")"
echo "ok: a newer row was written by its statement; an older one was stale"

printf 'product_id,location,quantity,update_date\nP003,Warehouse C,31,2031-01-02\nP003,Warehouse C,30,2031-01-01\n' >"$work/same-key.csv"
run same-key inventory true "$work/same-key.csv"
[ "$(item_of "P003#Warehouse C")" = "$(printf '31\t2031-01-02')" ] \
  || fail "two rows of one key: the older one, last, won: $(item_of "P003#Warehouse C")"
[ "$(aws_table_count inventory)" = 21 ] || fail "the table no longer holds 21 items"
echo "ok: of two rows of one key the newer won, though the older came last"
