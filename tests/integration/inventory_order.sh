#!/usr/bin/env bash
# etc/inventory.conf ends with the same table whatever order SQS delivers
# in (fauxqs + dynalite). The daemons' SQS requests go through
# tests/tools/aws_proxy.py, which reverses every ReceiveMessage answer and
# holds some messages back for a later answer, as a standard queue may.
# Input: same.csv, 1,000 products with two adjacent rows of the same
# update_date (quantity 1, then 2), and two files of 100 other products
# with the same update_date, a.csv (quantity 10) then b.csv (quantity 20),
# b's event published first, both events in the same second.
#   1. In the emulator's order: 1,100 items, P* at 2, Q* at 20.
#   2. With newer_than = "update_date" alone (the rule before the
#      version), in order then reordered: items end wrong (Q* at 10, then
#      P* at 1), the figures are printed; this shows that the inputs and
#      the proxy test what they should.
#   3. Reordered, etc/inventory.conf as shipped: exactly the table of 1
#      (every attribute, the version too).
#   4. Reordered, three daemons competing for the queues: the same table.
#
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# the inventory plugins; skipped (77) without source-s3, and outside the
# full scope (the sanitizer build runs the same code in the unit suites).
# KEEP_WORK=1 keeps the work directory (daemon logs, scans, proxy log).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf
proxy_py=$top_srcdir/tests/tools/aws_proxy.py

# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the ordering test" source-s3

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-inventory-order.XXXXXX")
daemons=()
proxies=()
step=setup
rejects=$work/rejected.jsonl

fail() {
  echo "FAIL ($step): $*" >&2
  for f in "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f:" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}
ok() { echo "ok: $*"; }

cleanup() {
  for pid in "${daemons[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${proxies[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
# Set before aws-env.sh installs its own, which chains to it.
trap cleanup EXIT

# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_fauxqs
# etc/inventory.conf with 2 s long polls (aws_short_polls): a SIGTERM waits
# out the polls in flight, 20 s at the shipped wait_time.
aws_short_polls "$conf" >"$work/inventory.conf" || fail "cannot shorten the polls of $conf"
conf=$work/inventory.conf
direct_sqs=$AWS_ENDPOINT_URL_SQS

# ---- Helpers (boto3) ----
py=$work/order.py
cat >"$py" <<'PY'
import json, os, sys
import boto3

def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def gen(out):
    with open(f"{out}/same.csv", "w") as f:
        f.write("product_id,location,quantity,update_date\n")
        for i in range(1000):
            for q in (1, 2):  # a correction on the next line
                f.write(f"P{i:04d},Warehouse A,{q},2024-03-01\n")
    for name, q in (("a", 10), ("b", 20)):
        with open(f"{out}/{name}.csv", "w") as f:
            f.write("product_id,location,quantity,update_date\n")
            for i in range(100):
                f.write(f"Q{i:03d},Warehouse B,{q},2024-03-01\n")

def scan(table, out):
    ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
                       region_name=os.environ["AWS_REGION"])
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(key=lambda i: i["id"]["S"])
    with open(out, "w") as f:
        json.dump(items, f, sort_keys=True, indent=1)

# quantities SCAN: "<items> <P* at 1> <P* at 2> <Q* at 10> <Q* at 20>".
def quantities(scan_file):
    items = json.load(open(scan_file))
    count = lambda p, q: sum(1 for i in items if i["id"]["S"].startswith(p) and i["quantity"]["N"] == q)
    print(len(items), count("P", "1"), count("P", "2"), count("Q", "10"), count("Q", "20"))

# same A B: the two scans hold the same items, every attribute equal.
def same(a, b):
    x, y = json.load(open(a)), json.load(open(b))
    if x != y:
        kx = {i["id"]["S"]: i for i in x}
        ky = {i["id"]["S"]: i for i in y}
        diff = [k for k in sorted(set(kx) | set(ky)) if kx.get(k) != ky.get(k)]
        die(f"{len(diff)} items differ, e.g. {[(kx.get(k), ky.get(k)) for k in diff[:2]]}")

{"gen": gen, "scan": scan, "quantities": quantities, "same": same}[sys.argv[1]](*sys.argv[2:])
PY
ord() { "${AWS_ENV_PYTHON:-python3}" "$py" "$@"; }

bucket=inventory-order
aws_make_bucket "$bucket"
events=$(aws_make_queue order-events)
updates=$(aws_make_queue order-updates 300 order-updates-dlq 5)
dlq=$(aws_queue_url order-updates-dlq)
ord gen "$work"
for f in same a b; do
  aws s3 cp --quiet "$work/$f.csv" "s3://$bucket/incoming/$f.csv" || fail "upload of $f.csv"
done

# publish NAME TIME: the S3 event of incoming/NAME.csv, with eventTime TIME.
publish() {
  local size etag
  read -r size etag < <(aws s3api head-object --bucket "$bucket" --key "incoming/$1.csv" \
                          --query '[ContentLength, ETag]' --output text) || fail "head-object $1"
  aws_publish_s3_event "$events" "$bucket" "incoming/$1.csv" "$size" "$etag" "$2" ||
    fail "publishing the event of $1"
}

# Two proxies in front of fauxqs's SQS: one forwards in order, one
# reorders. Both cap long polls at 1 s, so that a daemon stops at once
# (it waits for its poll to end).
# start_proxy NAME ARGS...: the proxy's URL in $proxy_url.
proxies=()
start_proxy() {
  local name=$1; shift
  "${AWS_ENV_PYTHON:-python3}" "$proxy_py" --upstream "$direct_sqs" --max-wait 1 \
    --port-file "$work/$name.port" "$@" 2>"$work/$name.log" &
  proxies+=($!)
  for _ in $(seq 1 100); do [ -s "$work/$name.port" ] && break; sleep 0.1; done
  [ -s "$work/$name.port" ] || fail "the proxy $name did not start"
  proxy_url=http://127.0.0.1:$(cat "$work/$name.port")
}
start_proxy in-order --mode pass
in_order_url=$proxy_url
start_proxy reorder --mode reorder --seed 7 --hold 0.3
reorder_url=$proxy_url
proxy_stats() { curl -sf "$reorder_url/__proxy/stats"; }

# run NAME CONF SQS_ENDPOINT CONSUMERS: a fresh table NAME, the three
# events (b's first), CONSUMERS daemons on CONF until all 1,100 items are
# written and both queues are empty, then SIGTERM; the table in
# $work/NAME.json.
run() {
  local name=$1 c=$2 endpoint=$3 n=$4 t0 i rc
  t0=$(date +%s)
  aws_make_table "$name"
  publish same 2024-03-01T08:00:00.000Z
  publish b 2024-03-01T09:00:00.500Z
  publish a 2024-03-01T09:00:00.250Z
  daemons=()
  for i in $(seq 1 "$n"); do
    INVENTORY_BUCKET=$bucket INVENTORY_EVENTS_QUEUE_URL=$events \
      INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$name \
      INVENTORY_REJECTS=$rejects AWS_ENDPOINT_URL_SQS=$endpoint \
      "$PIPELINED" -c "$c" 2>"$work/$name-$i.log" &
    daemons+=($!)
  done
  for _ in $(seq 1 240); do
    if [ "$(aws_table_count "$name")" = 1100 ] && [ "$(aws_queue_count "$events")" = 0 ] &&
       [ "$(aws_queue_count "$updates")" = 0 ]; then
      break
    fi
    sleep 0.5
  done
  [ "$(aws_queue_count "$updates")" = 0 ] || fail "the updates queue did not drain in time"
  for pid in "${daemons[@]}"; do kill -TERM "$pid"; done
  for pid in "${daemons[@]}"; do
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "a daemon exited $rc on SIGTERM"
  done
  daemons=()
  if grep -E '^[^ ]+ error ' "$work/$name"-*.log >&2; then fail "a daemon logged errors"; fi
  [ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the DLQ"
  [ ! -s "$rejects" ] || fail "rows were rejected: $(head -n 3 "$rejects")"
  ord scan "$name" "$work/$name.json"
  echo "   ($name: $n daemon(s), $(($(date +%s) - t0)) s)"
}

step="1 (in order)"
run in_order "$conf" "$in_order_url" 1
read -r items p1 p2 q10 q20 < <(ord quantities "$work/in_order.json")
[ "$items $p2 $q20" = "1100 1000 100" ] ||
  fail "want 1100 items, 1000 P* at 2 and 100 Q* at 20; have $items items, P* $p1 at 1, $p2 at 2, Q* $q10 at 10, $q20 at 20"
ok "1: in the emulator's order: $items items, all 1000 P* at quantity 2, all 100 Q* at 20 (the later file)"

step="2 (update_date alone)"
sed -e 's/newer_than = \[.*\]/newer_than = "update_date"/' "$conf" >"$work/date-only.conf"
grep -q 'newer_than = "update_date"' "$work/date-only.conf" || fail "cannot make the date-only config"
run date_only_in_order "$work/date-only.conf" "$in_order_url" 1
read -r items p1 p2 q10 q20 < <(ord quantities "$work/date_only_in_order.json")
[ "$q10" -gt 0 ] || fail "b's event first left no Q* at 10: the run does not test what it says"
ok "2: in order, newer_than = \"update_date\" alone: P* $p1 at 1, $p2 at 2; Q* $q10 at 10 (wrong), $q20 at 20"
run date_only "$work/date-only.conf" "$reorder_url" 1
read -r items p1 p2 q10 q20 < <(ord quantities "$work/date_only.json")
[ "$p1" -gt 0 ] || fail "the reordered run left no P* at 1: the proxy did not reorder enough"
ok "2: reordered, newer_than = \"update_date\" alone: P* $p1 at 1 (wrong), $p2 at 2; Q* $q10 at 10, $q20 at 20"

step="3 (reordered)"
before=$(proxy_stats)
run reordered "$conf" "$reorder_url" 1
ord same "$work/in_order.json" "$work/reordered.json" || fail "the reordered table differs from the in-order one"
ok "3: reordered (proxy: $(proxy_stats)): exactly the in-order table, versions included"

step="4 (three consumers)"
run three "$conf" "$reorder_url" 3
ord same "$work/in_order.json" "$work/three.json" || fail "three consumers left another table"
ok "4: three competing daemons, reordered: exactly the in-order table"

for f in "$work"/in-order.log "$work"/reorder.log; do
  [ ! -s "$f" ] || fail "a proxy logged errors: $(head -n 5 "$f")"
done
stats=$(proxy_stats)
"${AWS_ENV_PYTHON:-python3}" - "$before" "$stats" <<'PY' || fail "the proxy did not reorder: $stats"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert b["reversed"] > a["reversed"] and b["held"] > a["held"] and b["released"] > a["released"]
PY
echo "   ($(($(date +%s) - t_start)) s in all)"
