#!/usr/bin/env bash
# The reference deployment end to end on moto: one daemon runs
# etc/inventory.conf (the file users run) against a bucket whose S3 event
# notifications really go to an SQS queue, an updates queue with a DLQ
# (maxReceiveCount 5, visibility 300 s) and the inventory table; boto3 (an
# independent client) uploads files and reads the table and the queues.
#   a. the sample file becomes exactly 21 items with the typed values;
#   b. uploading it again (same key, then another key) changes nothing;
#   c. an older update_date leaves the newer quantity; a newer one updates;
#   d. a key that needs URL decoding ("Stock update+v2 é.csv") is processed;
#   e. a file with a BOM and CRLF line ends lands correctly;
#   f. bad rows go to the dead letter (origin s3://bucket/key, line, reason)
#      and the good rows of the same file to the table;
#   g. poison messages sent straight to the updates queue (not JSON, an
#      array, a member missing, mistyped or empty) are dead-lettered with
#      their reason, none reaches the table, and the queue drains;
#   h. then etc/inventory-history.conf (a second daemon, its own table):
#      one item per row, id origin#etag#line, a repeated upload overwrites
#      its own items.
# Both configs also pass --check; SIGTERM stops each daemon with status 0.
#
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# source-s3, transform-csv, sink-sqs, source-sqs, transform-schema,
# sink-dynamodb and sink-file; skipped (77) without source-s3.
# KEEP_WORK=1 keeps the work directory (daemon log, dead letter, scans).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
sample=${PIPELINED_TEST_DATA:-$top_srcdir/tests/data}/sample_inventory.csv
conf=$top_srcdir/etc/inventory.conf
history_conf=$top_srcdir/etc/inventory-history.conf

if ! "$PIPELINED" --describe source-s3 >/dev/null 2>&1; then
  echo "SKIP: the source-s3 plugin is not built (PIPELINED_PLUGIN_PATH=${PIPELINED_PLUGIN_PATH:-})"
  exit 77
fi
[ -r "$sample" ] || { echo "FAIL: $sample is missing" >&2; exit 1; }

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-inventory.XXXXXX")
daemon=
log=$work/daemon.log
rejects=$work/rejected.jsonl

show_log() {
  [ -f "$log" ] || return 0
  echo "---- last lines of the daemon's log ($log):" >&2
  tail -n 40 "$log" >&2
  if [ -s "$rejects" ]; then
    echo "---- dead letter ($rejects):" >&2
    tail -n 20 "$rejects" >&2
  fi
  echo "----" >&2
}
fail() { echo "FAIL: $*" >&2; show_log; exit 1; }
ok() { echo "ok: $*"; }

cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
# Set before aws-env.sh installs its own, which chains to it.
trap cleanup EXIT

# ---- Both configs are valid (and load every plugin they name) ----
check_env=(INVENTORY_BUCKET=inventory-bucket
           INVENTORY_EVENTS_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/inventory-events
           INVENTORY_UPDATES_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/inventory-updates
           INVENTORY_TABLE=inventory)
for c in "$conf" "$history_conf"; do
  out=$(env "${check_env[@]}" "$PIPELINED" --check -c "$c" 2>&1) ||
    fail "--check rejects $c: $out"
done
# Without INVENTORY_HISTORY_TABLE the history config falls back to
# INVENTORY_TABLE; without both it names the missing variable.
if out=$(env -u INVENTORY_TABLE -u INVENTORY_HISTORY_TABLE "${check_env[@]:0:3}" \
           "$PIPELINED" --check -c "$history_conf" 2>&1); then
  fail "--check accepts $history_conf without a table"
fi
case $out in *INVENTORY_TABLE*) ;; *) fail "--check without a table says: $out" ;; esac
ok "--check accepts etc/inventory.conf and etc/inventory-history.conf"

# ---- The emulator and the resources ----
# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_moto
# The daemons run etc/inventory.conf and etc/inventory-history.conf with
# 2 s long polls (aws_short_polls): a SIGTERM waits out the polls in
# flight, 20 s at the shipped wait_time.
aws_short_polls "$conf" >"$work/inventory.conf" || fail "cannot shorten the polls of $conf"
aws_short_polls "$history_conf" >"$work/inventory-history.conf" ||
  fail "cannot shorten the polls of $history_conf"
conf=$work/inventory.conf
history_conf=$work/inventory-history.conf

bucket=inventory-bucket
table=inventory
aws_make_bucket "$bucket"
events=$(aws_make_queue inventory-events)
aws_bucket_notify "$bucket" "$events"
updates=$(aws_make_queue inventory-updates 300 inventory-updates-dlq 5)
dlq=$(aws_queue_url inventory-updates-dlq)
aws_make_table "$table"

# One Python helper (boto3) for uploads, waits, scans and checks.
py=$work/inventory.py
cat >"$py" <<'PY'
import csv, json, os, sys, time
import boto3

def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                        region_name=os.environ["AWS_REGION"])

def die(msg):
    sys.exit(msg)

def queue_count(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(v) for v in a.values())

def scan(table):
    ddb = client("dynamodb")
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: i["id"]["S"])
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

def cmd_put(bucket, key, path):
    with open(path, "rb") as f:
        client("s3").put_object(Bucket=bucket, Key=key, Body=f.read())

# settle PID TIMEOUT EVENTS UPDATES: waits until the events queue, then the
# updates queue, hold nothing (visible, in flight or delayed). An event
# message is deleted only once its rows are in the updates queue (or the
# dead letter), and an update only once its item is written (or
# dead-lettered): both empty, in this order, means everything is done.
def cmd_settle(pid, timeout, events, updates):
    sqs = client("sqs")
    start = time.monotonic()
    deadline = start + float(timeout)
    while True:
        try:
            os.kill(int(pid), 0)
        except OSError:
            die("the daemon is gone")
        e = queue_count(sqs, events)
        u = queue_count(sqs, updates) if e == 0 else None
        if e == 0 and u == 0:
            print(f"{time.monotonic() - start:.1f}")
            return
        if time.monotonic() > deadline:
            die(f"not settled within {timeout} s: {e} event message(s), "
                f"{'?' if u is None else u} update message(s) left")
        time.sleep(0.25)

# scan TABLE OUT [versioned]: the items of TABLE in OUT. With "versioned"
# (etc/inventory.conf's table) every item must have a version that starts
# with its update_date, and the version is left out of OUT: uploading the
# same rows again moves it to the later upload, and changes nothing else.
def cmd_scan(table, out, versioned=None):
    items = scan(table)
    if versioned:
        for i in items:
            v = i.pop("version", {}).get("S", "")
            parts = v.split(" ")
            if len(parts) != 3 or parts[0] != i["update_date"]["S"] + "T00:00:00.000000Z":
                die(f"item {i['id']['S']!r}: version {v!r} is not update_date, upload time, line")
    with open(out, "w") as f:
        json.dump(items, f, sort_keys=True, indent=1)

def rows_of(path):
    """Typed rows of a CSV file, as the table should hold them."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if any(r.values())]
    return {f"{r['product_id']}#{r['location']}": {
                "id": {"S": f"{r['product_id']}#{r['location']}"},
                "product_id": {"S": r["product_id"]},
                "location": {"S": r["location"]},
                "quantity": {"N": str(int(r["quantity"]))},
                "update_date": {"S": r["update_date"]}} for r in rows}

# expect SCAN CSV [exact]: every row of CSV is an item of SCAN, equal to it
# (these five attributes besides the version, these types, these values);
# with "exact", SCAN
# holds nothing else.
def cmd_expect(scan_file, path, exact=None):
    items = {i["id"]["S"]: i for i in json.load(open(scan_file))}
    want = rows_of(path)
    for k, w in want.items():
        if k not in items:
            die(f"no item {k!r}")
        if items[k] != w:
            die(f"item {k!r} is {items[k]}, want {w}")
    if exact and set(items) != set(want):
        die(f"{len(items)} items, want {len(want)}: extra {sorted(set(items) - set(want))}")
    print(len(want))

# expect-history SCAN CSV ORIGIN: SCAN holds exactly one item per row of
# CSV, with id ORIGIN#<md5 of CSV>#<line> (S3's etag of a single-part
# upload) and the row's typed values.
def cmd_expect_history(scan_file, path, origin):
    import hashlib
    etag = hashlib.md5(open(path, "rb").read()).hexdigest()
    rows = list(rows_of(path).values())  # in file order: lines 2, 3, ...
    want = {}
    for line, row in enumerate(rows, start=2):
        item = dict(row, id={"S": f"{origin}#{etag}#{line}"})
        want[item["id"]["S"]] = item
    items = {i["id"]["S"]: i for i in json.load(open(scan_file))}
    if items != want:
        missing, extra = sorted(set(want) - set(items)), sorted(set(items) - set(want))
        wrong = [k for k in set(want) & set(items) if want[k] != items[k]]
        die(f"history: {len(items)} items, want {len(want)}; missing {missing[:3]}, "
            f"unexpected {extra[:3]}, different {[(items[k], want[k]) for k in wrong[:2]]}")
    print(len(items))

# item SCAN ID: "quantity update_date" of one item, or "absent".
def cmd_item(scan_file, key):
    items = {i["id"]["S"]: i for i in json.load(open(scan_file))}
    i = items.get(key)
    print("absent" if i is None else f"{i['quantity']['N']} {i['update_date']['S']}")

# send QUEUE: the messages of case g, each with origin "test:poison" and its
# own line, so that its dead-letter document can be found.
POISON = {
    1: ('{"product_id": "P950", "location": "Warehouse Q", "quantity": 1,', "invalid JSON"),
    2: ('[{"product_id": "P951"}]', "array"),
    3: (json.dumps({"product_id": "P952", "location": "Warehouse Q", "update_date": "2023-06-01"}), "quantity"),
    4: (json.dumps({"product_id": "P953", "location": "Warehouse Q", "quantity": "5", "update_date": "2023-06-01"}), "quantity"),
    5: (json.dumps({"product_id": "P954", "location": "Warehouse Q", "quantity": 5, "update_date": 20230601}), "update_date"),
    6: (json.dumps({"product_id": "", "location": "Warehouse Q", "quantity": 5, "update_date": "2023-06-01"}), "product_id"),
    7: ('"P956"', "object"),
}
GOOD = {
    11: {"product_id": "P960", "location": "Warehouse Q", "quantity": 60, "update_date": "2023-06-01"},
    12: {"product_id": "P961", "location": "Warehouse Q", "quantity": 0, "update_date": "2023-06-02"},
    # A member without a column is dropped (extra = "drop").
    13: {"product_id": "P962", "location": "Warehouse Q", "quantity": 62, "update_date": "2023-06-03", "note": "x"},
}

def cmd_send(queue):
    bodies = [(n, b) for n, (b, _) in POISON.items()] + [(n, json.dumps(v)) for n, v in GOOD.items()]
    bodies.sort(key=lambda nb: (nb[0] % 10, nb[0]))  # interleave poison and good
    sqs = client("sqs")
    for i in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": b, "MessageAttributes": {
            "origin": {"DataType": "String", "StringValue": "test:poison"},
            "line": {"DataType": "Number", "StringValue": str(n)}}}
            for n, b in bodies[i:i + 10]]
        r = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        if r.get("Failed"):
            die(f"send failed: {r['Failed']}")

def cmd_check_poison(rejects, scan_file):
    docs = [json.loads(l) for l in open(rejects) if l.strip()]
    mine = {d.get("line"): d for d in docs if d.get("origin") == "test:poison"}
    for n, (body, word) in POISON.items():
        d = mine.get(n)
        if d is None:
            die(f"poison message {n} ({body}) is not in the dead letter")
        if d.get("pipeline") != "sqs-to-dynamodb":
            die(f"poison message {n}: dead-lettered by {d.get('pipeline')!r}")
        if word.lower() not in d.get("reason", "").lower():
            die(f"poison message {n} ({body}): reason {d.get('reason')!r} does not name {word!r}")
        if not d.get("message_id"):
            die(f"poison message {n}: no message_id in {d}")
    extra = sorted(set(mine) - set(POISON))
    if extra:
        die(f"good messages were dead-lettered: lines {extra}")
    items = {i["id"]["S"]: i for i in json.load(open(scan_file))}
    for key in items:
        if key.startswith("P95") or key.startswith("#"):
            die(f"poison reached the table: {items[key]}")
    for v in GOOD.values():
        key = f"{v['product_id']}#{v['location']}"
        want = {"id": {"S": key}, "product_id": {"S": v["product_id"]},
                "location": {"S": v["location"]}, "quantity": {"N": str(v["quantity"])},
                "update_date": {"S": v["update_date"]}}
        if items.get(key) != want:
            die(f"item {key!r} is {items.get(key)}, want {want}")
    print(len(POISON), len(GOOD))

# check-bad REJECTS ORIGIN: the dead-letter documents of case f.
def cmd_check_bad(rejects, origin):
    docs = [json.loads(l) for l in open(rejects) if l.strip()]
    mine = {d.get("line"): d for d in docs if d.get("origin") == origin}
    want = {3: "quantity", 4: "product_id", 5: "update_date", 6: "field"}
    for line, word in want.items():
        d = mine.get(line)
        if d is None:
            die(f"line {line} of {origin} is not in the dead letter (have lines {sorted(mine, key=str)}; "
                f"origins {sorted({str(x.get('origin')) for x in docs})})")
        if d.get("pipeline") != "csv-to-sqs":
            die(f"line {line}: dead-lettered by {d.get('pipeline')!r}")
        if word not in d.get("reason", ""):
            die(f"line {line}: reason {d.get('reason')!r} does not name {word!r}")
    if set(mine) != set(want):
        die(f"dead-lettered lines of {origin}: {sorted(mine)}, want {sorted(want)}")
    print(len(mine))

COMMANDS = {"put": cmd_put, "settle": cmd_settle, "scan": cmd_scan, "expect": cmd_expect,
            "item": cmd_item, "send": cmd_send, "check-poison": cmd_check_poison,
            "check-bad": cmd_check_bad, "expect-history": cmd_expect_history}
COMMANDS[sys.argv[1]](*sys.argv[2:])
PY
inv() { "${AWS_ENV_PYTHON:-python3}" "$py" "$@"; }

# ---- The daemon ----
# start_daemon CONF [VAR=VALUE...]: runs the daemon on CONF in the
# background, its log in $log.
start_daemon() {
  local c=$1; shift
  env INVENTORY_BUCKET="$bucket" INVENTORY_EVENTS_QUEUE_URL="$events" \
    INVENTORY_UPDATES_QUEUE_URL="$updates" INVENTORY_TABLE="$table" \
    INVENTORY_REJECTS="$rejects" "$@" \
    "$PIPELINED" -c "$c" 2>"$log" &
  daemon=$!
}
# stop_daemon WHAT: SIGTERM drains and exits 0, without logging errors.
stop_daemon() {
  local rc=0
  kill -TERM "$daemon"
  for _ in $(seq 1 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$daemon" 2>/dev/null; then fail "$1: the daemon did not stop within 30 s of SIGTERM"; fi
  wait "$daemon" || rc=$?
  daemon=
  [ "$rc" = 0 ] || fail "$1: the daemon exited $rc after SIGTERM"
  if grep -E '^[^ ]+ error ' "$log" >&2; then fail "$1: the daemon logged errors"; fi
}
start_daemon "$conf"

# upload KEY FILE: puts FILE as KEY; moto sends the event as it stores it.
upload() { inv put "$bucket" "$1" "$2"; }
# settle WHAT: waits for both queues to drain (90 s at most).
settle() {
  local took
  took=$(inv settle "$daemon" 90 "$events" "$updates") || fail "$1: the queues did not drain"
  echo "   ($1: settled in ${took} s)"
}
scan() { inv scan "$table" "$1" versioned; }
rejects_sum() { if [ -f "$rejects" ]; then sha256sum <"$rejects"; else echo none; fi; }

# a. The sample file: 21 items, the typed rows. The notification setup's
# s3:TestEvent message is in the events queue before it, and must be
# deleted too (settle waits for an empty events queue).
upload incoming/sample_file.csv "$sample"
settle a
scan "$work/scan-a.json"
n=$(inv expect "$work/scan-a.json" "$sample" exact) || fail "a: the table is not the sample's typed rows"
[ "$n" = 21 ] || fail "a: $n rows in the sample, want 21"
[ ! -s "$rejects" ] || fail "a: the sample file had rejected rows"
ok "a: the sample file gave exactly 21 items (id, product_id, location, update_date S; quantity N)"

# b. The same file again, under the same key and under another one.
before=$(rejects_sum)
upload incoming/sample_file.csv "$sample"
upload incoming/sample_file_copy.csv "$sample"
settle b
scan "$work/scan-b.json"
cmp -s "$work/scan-a.json" "$work/scan-b.json" ||
  { diff "$work/scan-a.json" "$work/scan-b.json" >&2; fail "b: uploading the file again changed the table"; }
[ "$(rejects_sum)" = "$before" ] || fail "b: uploading the file again added to the dead letter"
ok "b: the same file again (same key, another key) changed nothing"

# c. An older update_date for P001 leaves the newer item; a newer one
# updates it.
want_before=$(inv item "$work/scan-b.json" "P001#Warehouse A")
printf 'product_id,location,quantity,update_date\nP001,Warehouse A,999,2020-01-01\n' >"$work/older.csv"
upload incoming/older.csv "$work/older.csv"
settle c-older
scan "$work/scan-c1.json"
got=$(inv item "$work/scan-c1.json" "P001#Warehouse A")
[ "$got" = "$want_before" ] || fail "c: an older row changed P001#Warehouse A from '$want_before' to '$got'"
cmp -s "$work/scan-a.json" "$work/scan-c1.json" || fail "c: an older row changed the table"
printf 'product_id,location,quantity,update_date\nP001,Warehouse A,555,2030-01-01\n' >"$work/newer.csv"
upload incoming/newer.csv "$work/newer.csv"
settle c-newer
scan "$work/scan-c2.json"
got=$(inv item "$work/scan-c2.json" "P001#Warehouse A")
[ "$got" = "555 2030-01-01" ] || fail "c: a newer row did not update P001#Warehouse A: '$got'"
inv expect "$work/scan-c2.json" "$work/newer.csv" >/dev/null || fail "c: the updated item is wrong"
ok "c: an older update_date left '$want_before'; a newer one set '$got'"

# d. A key that S3 URL-encodes in the event: spaces, '+', non-ASCII.
printf 'product_id,location,quantity,update_date\nP900,Warehouse Z,7,2023-06-01\nP901,Warehouse Z,8,2023-06-01\n' >"$work/odd.csv"
before=$(rejects_sum)
upload "incoming/Stock update+v2 é.csv" "$work/odd.csv"
settle d
scan "$work/scan-d.json"
inv expect "$work/scan-d.json" "$work/odd.csv" >/dev/null || fail "d: the rows of 'incoming/Stock update+v2 é.csv' did not land"
[ "$(rejects_sum)" = "$before" ] || fail "d: the dead letter changed"
ok "d: 'incoming/Stock update+v2 é.csv' (URL-encoded in its event) was read"

# e. A UTF-8 BOM and CRLF line ends (a spreadsheet's export).
printf '\xef\xbb\xbfproduct_id,location,quantity,update_date\r\nP910,Warehouse Y,11,2023-06-02\r\nP911,Warehouse Y,12,2023-06-03\r\n' >"$work/bom.csv"
before=$(rejects_sum)
upload incoming/bom-crlf.csv "$work/bom.csv"
settle e
scan "$work/scan-e.json"
inv expect "$work/scan-e.json" "$work/bom.csv" >/dev/null || fail "e: the BOM+CRLF file did not land as typed rows"
[ "$(rejects_sum)" = "$before" ] || fail "e: the BOM+CRLF file had rejected rows"
ok "e: a file with a BOM and CRLF line ends landed"

# f. Bad rows among good ones: line 3 a mistyped quantity, 4 an empty
# product_id, 5 an impossible date, 6 a field short; 2 and 7 are good.
cat >"$work/bad.csv" <<'CSV'
product_id,location,quantity,update_date
P920,Warehouse X,20,2023-06-04
P921,Warehouse X,many,2023-06-04
,Warehouse X,22,2023-06-04
P923,Warehouse X,23,2023-13-45
P924,Warehouse X,24
P925,Warehouse X,25,2023-06-04
CSV
bad_key="incoming/bad rows+1.csv"
upload "$bad_key" "$work/bad.csv"
settle f
scan "$work/scan-f.json"
grep -v -e many -e '^,' -e 2023-13-45 -e ',24$' "$work/bad.csv" >"$work/bad-good.csv"
inv expect "$work/scan-f.json" "$work/bad-good.csv" >/dev/null || fail "f: the good rows did not land"
for id in "P921#Warehouse X" "P923#Warehouse X" "P924#Warehouse X" "#Warehouse X"; do
  [ "$(inv item "$work/scan-f.json" "$id")" = absent ] || fail "f: a bad row reached the table ($id)"
done
inv check-bad "$rejects" "s3://$bucket/$bad_key" >/dev/null || fail "f: the dead letter is not right"
ok "f: bad rows in the dead letter (lines 3-6, origin s3://$bucket/$bad_key), good rows in the table"

# g. Poison messages straight into the updates queue, among good ones.
inv send "$updates"
settle g
scan "$work/scan-g.json"
counts=$(inv check-poison "$rejects" "$work/scan-g.json") || fail "g: poison messages"
[ "$(aws_queue_count "$updates")" = 0 ] || fail "g: the updates queue did not drain"
[ "$(aws_queue_count "$dlq")" = 0 ] || fail "g: messages ended in the updates queue's DLQ"
ok "g: ${counts% *} poison messages dead-lettered with their reason, ${counts#* } good ones written, queue drained"

# The whole table: the 21 of the sample + 2 (d) + 2 (e) + 2 (f) + 3 (g).
n=$(aws_table_count "$table")
[ "$n" = 30 ] || fail "the table holds $n items, want 30"
[ "$(aws_queue_count "$events")" = 0 ] || fail "event messages are left"

stop_daemon inventory.conf
ok "SIGTERM: the daemon exited 0"

# h. etc/inventory-history.conf: one item per row ever uploaded, its id
# "<origin>#<etag>#<line>". The same content uploaded again under the same
# key (as a redelivery would) overwrites its own items.
# Its own bucket and queues: moto finishes the long polls the first daemon
# cancelled at SIGTERM (up to 20 s), and would hand new messages to them.
history=inventory-history
bucket=inventory-history-bucket
aws_make_bucket "$bucket"
events=$(aws_make_queue inventory-history-events)
aws_bucket_notify "$bucket" "$events"
updates=$(aws_make_queue inventory-history-updates 300 inventory-history-updates-dlq 5)
aws_make_table "$history"
log=$work/daemon-history.log
start_daemon "$history_conf" INVENTORY_HISTORY_TABLE="$history"
before=$(rejects_sum)
upload incoming/history.csv "$sample"
settle h-first
upload incoming/history.csv "$sample"
settle h-again
inv scan "$history" "$work/scan-h.json"
inv expect-history "$work/scan-h.json" "$sample" "s3://$bucket/incoming/history.csv" >/dev/null ||
  fail "h: the history table is not one item per row of the sample"
[ "$(rejects_sum)" = "$before" ] || fail "h: the dead letter changed"
[ "$(aws_table_count "$table")" = 30 ] || fail "h: the history config wrote to $table"
stop_daemon inventory-history.conf
ok "h: inventory-history.conf wrote 21 items with ids origin#etag#line, twice the same upload included; exit 0"
echo "   ($(($(date +%s) - t_start)) s in all)"
