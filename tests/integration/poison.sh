#!/usr/bin/env bash
# Poison messages on the updates queue of etc/inventory.conf: the consumer
# half (its pipeline "sqs-to-dynamodb", as shipped; it reads the queue's
# 20 s visibility timeout) on fauxqs + dynalite. The queue gets, between healthy
# messages (each its own item, some with members the schema drops, one of
# them 256 KiB): a body that is not JSON; JSON that is not an object (an
# array, a string, a number, null); each of the four members missing;
# quantity a string, a fraction, an object, an array, a bool, null, or too
# big for an integer; update_date a number, not a date, or in another
# format; product_id a number, empty; location an array; a 256 KiB body
# whose product_id makes a key DynamoDB refuses (over 2048 bytes); an
# origin_time attribute that is not a UTC time. (Invalid UTF-8 cannot
# travel through SQS.)
#   - every poison message is in the dead letter, once, by its message id,
#     with a reason naming the problem (a word of it the test lists);
#   - none of them is in the table; every healthy message is, exactly;
#   - the queue drains (poison is deleted once dead-lettered), its DLQ
#     stays empty, and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon log, dead letter).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf

if [ "${PIPELINED_TEST_SCOPE:-full}" != full ]; then
  echo "SKIP: the poison test runs in the gcc build of scripts/test" \
    "(PIPELINED_TEST_SCOPE=${PIPELINED_TEST_SCOPE})"
  exit 77
fi
if ! "$PIPELINED" --describe transform-schema >/dev/null 2>&1; then
  echo "SKIP: the transform-schema plugin is not built (PIPELINED_PLUGIN_PATH=${PIPELINED_PLUGIN_PATH:-})"
  exit 77
fi

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-poison.XXXXXX")
daemon=
rejects=$work/rejected.jsonl
step=setup

fail() {
  echo "FAIL ($step): $*" >&2
  if [ -f "$work/daemon.log" ]; then
    echo "---- last lines of the daemon's log:" >&2
    tail -n 30 "$work/daemon.log" | cut -c1-400 >&2
  fi
  exit 1
}
ok() { echo "ok: $*"; }
cleanup() {
  if [ -n "$daemon" ]; then
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
# Set before aws-env.sh installs its own, which chains to it.
trap cleanup EXIT

# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_fauxqs

# The consumer half: the aws block and the pipeline "sqs-to-dynamodb".
consumer=$work/consumer.conf
awk '/^aws \{/ { keep = 1 } /^pipeline "csv-to-sqs"/ { keep = 0 }
     /^pipeline "sqs-to-dynamodb"/ { keep = 1 } keep' "$conf" >"$consumer"
# No visibility_timeout: the daemon uses the queue's own 20 s.
if grep -Eq '^[[:space:]]*visibility_timeout[[:space:]]*=' "$consumer" ||
   ! grep -q 'pipeline "sqs-to-dynamodb"' "$consumer" || grep -q 'csv-to-sqs' "$consumer"; then
  fail "could not cut the consumer half out of $conf (its text changed?)"
fi

updates=$(aws_make_queue poison-updates 20 poison-updates-dlq 5)
dlq=$(aws_queue_url poison-updates-dlq)
table=inventory_poison
aws_make_table "$table"
out=$(INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table \
      "$PIPELINED" --check -c "$consumer" 2>&1) || fail "$consumer does not pass --check: $out"

py=$work/poison.py
cat >"$py" <<'PY'
import json, os, sys, time
import boto3

def client(service):
    ep = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ["AWS_ENDPOINT_URL"]
    return boto3.client(service, endpoint_url=ep, region_name=os.environ["AWS_REGION"])

def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def row(**kw):
    r = {"product_id": "X", "location": "Warehouse P", "quantity": 1, "update_date": "2024-03-01"}
    r.update(kw)
    return r

def without(field):
    r = row()
    del r[field]
    return json.dumps(r)

BIG = 256 * 1024
def big_body(field):
    """A body of exactly 256 KiB, its field `field` padded."""
    r = row(product_id="H-big") if field == "note" else row()
    r[field] = ""
    pad = BIG - len(json.dumps(r).encode())
    r[field] = "x" * pad
    body = json.dumps(r)
    assert len(body.encode()) == BIG
    return body

# (name, body, words of which the reason must hold one, case-insensitive)
POISON = [
    ("not JSON", '{"product_id": "X", "location": ', ["json"]),
    ("an array", json.dumps([row()]), ["object"]),
    ("a string", json.dumps("P1,Warehouse A,3,2024-03-01"), ["object"]),
    ("a number", "42", ["object"]),
    ("null", "null", ["object"]),
    ("product_id missing", without("product_id"), ["product_id"]),
    ("location missing", without("location"), ["location"]),
    ("quantity missing", without("quantity"), ["quantity"]),
    ("update_date missing", without("update_date"), ["update_date"]),
    ("quantity a string", json.dumps(row(quantity="5")), ["quantity"]),
    ("quantity a fraction", json.dumps(row(quantity=1.5)), ["quantity"]),
    ("quantity an object", json.dumps(row(quantity={"n": 5})), ["quantity"]),
    ("quantity an array", json.dumps(row(quantity=[5])), ["quantity"]),
    ("quantity a bool", json.dumps(row(quantity=True)), ["quantity"]),
    ("quantity null", json.dumps(row(quantity=None)), ["quantity"]),
    ("quantity too big", '{"product_id": "X", "location": "Warehouse P", '
                         '"quantity": 123456789012345678901234567890, "update_date": "2024-03-01"}',
     ["quantity", "json", "integer", "range"]),
    ("update_date a number", json.dumps(row(update_date=20240301)), ["update_date"]),
    ("update_date not a date", json.dumps(row(update_date="2024-02-30")), ["update_date"]),
    ("update_date another format", json.dumps(row(update_date="03/01/2024")), ["update_date"]),
    ("product_id a number", json.dumps(row(product_id=17)), ["product_id"]),
    ("product_id empty", json.dumps(row(product_id="")), ["product_id"]),
    ("location an array", json.dumps(row(location=["Warehouse A"])), ["location"]),
    ("256 KiB, key too long", big_body("product_id"), ["key", "size", "2048"]),
    # Message attributes are read too: an origin time that is not a time
    # would otherwise go into the item's version as it is, above every
    # real upload time of its date, and pin the item (the healthy H-pin
    # below, a later update of the same date, must win).
    ("origin_time not a time", (json.dumps(row(product_id="H-pin", quantity=666)),
                                {"origin_time": "zzzz", "line": "3"}), ["origin time"]),
    ("origin_time another zone", (json.dumps(row(product_id="H-pin", quantity=667)),
                                  {"origin_time": "2099-03-01T10:00:00+05:00", "line": "3"}),
     ["origin time"]),
]

def healthy(i):
    r = row(product_id=f"H{i:03d}", location=f"Warehouse {'ABC'[i % 3]}", quantity=i * 3,
            update_date=f"2024-03-{1 + i % 28:02d}")
    if i % 5 == 0:
        r["comment"] = "dropped by the schema"
    return json.dumps(r)

def cmd_send(queue, out):
    sqs = client("sqs")
    sent = {"poison": {}, "healthy": {}}
    bodies = [("healthy", healthy(i), None) for i in range(40)]
    bodies.append(("healthy", big_body("note"), None))
    bodies.append(("healthy", (json.dumps(row(product_id="H-pin", quantity=7)),
                               {"origin_time": "2024-03-01T10:00:00.000Z", "line": "4"}), None))
    for n, (name, body, words) in enumerate(POISON):
        bodies.insert(2 * n + 1, (name, body, words))
    for name, body, words in bodies:
        attrs = {}
        if isinstance(body, tuple):
            body, given = body
            attrs = {k: {"DataType": "Number" if k == "line" else "String", "StringValue": v}
                     for k, v in given.items()}
        mid = sqs.send_message(QueueUrl=queue, MessageBody=body,
                               MessageAttributes=attrs)["MessageId"]
        if words is None:
            sent["healthy"][mid] = json.loads(body)
        else:
            sent["poison"][mid] = {"name": name, "words": words}
    json.dump(sent, open(out, "w"))
    print(len(sent["poison"]), len(sent["healthy"]))

def scan(table):
    ddb, items, kw = client("dynamodb"), {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for i in page["Items"]:
            items[i["id"]["S"]] = i
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

def cmd_check(sent_file, table, rejects):
    sent = json.load(open(sent_file))
    letters = {}
    for text in open(rejects) if os.path.exists(rejects) else []:
        doc = json.loads(text)
        letters.setdefault(doc.get("message_id"), []).append(doc)
    problems = []
    for mid, p in sent["poison"].items():
        docs = letters.pop(mid, [])
        if len(docs) != 1:
            problems.append(f"{p['name']}: {len(docs)} letters, want 1")
            continue
        reason = docs[0].get("reason", "")
        print(f"   {p['name']:28} -> {reason[:110]}")
        if not any(w.lower() in reason.lower() for w in p["words"]):
            problems.append(f"{p['name']}: the reason {reason!r} names none of {p['words']}")
    for mid, docs in letters.items():
        problems.append(f"a letter for a healthy message ({mid}): {docs[0].get('reason')}")
    items = scan(table)
    want = {f"{r['product_id']}#{r['location']}": r for r in sent["healthy"].values()}
    for k, r in want.items():
        have = items.pop(k, None)
        if (have is None or have["quantity"] != {"N": str(r["quantity"])}
                or have["update_date"] != {"S": r["update_date"]}
                or set(have) != {"id", "product_id", "location", "quantity", "update_date",
                                 "version"}):
            problems.append(f"healthy {k[:40]}: have {str(have)[:200]}")
    for k in items:
        problems.append(f"an item of no healthy message: {k[:80]}")
    if problems:
        die("\n".join(problems))

def cmd_wait(queue, table, n, timeout):
    sqs, ddb, t0 = client("sqs"), client("dynamodb"), time.monotonic()
    while time.monotonic() - t0 < float(timeout):
        a = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        left = int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])
        if left == 0 and ddb.scan(TableName=table, Select="COUNT")["Count"] >= int(n):
            print(f"{time.monotonic() - t0:.0f}")
            return
        time.sleep(0.5)
    die(f"the queue did not drain within {timeout} s ({left} messages left)")

{"send": cmd_send, "check": cmd_check, "wait": cmd_wait}[sys.argv[1]](*sys.argv[2:])
PY
pz() { "${AWS_ENV_PYTHON:-python3}" "$py" "$@"; }

read -r npoison nhealthy < <(pz send "$updates" "$work/sent.json") || fail "cannot send the messages"
echo "   $npoison poison and $nhealthy healthy messages on the queue"
step=run
INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table INVENTORY_REJECTS=$rejects \
  "$PIPELINED" -c "$consumer" 2>"$work/daemon.log" &
daemon=$!
secs=$(pz wait "$updates" "$table" "$nhealthy" 60) || fail "the consumer did not get through the queue"
rc=0
kill -TERM "$daemon"
wait "$daemon" || rc=$?
daemon=
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0"
[ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the queue's DLQ"
step=check
pz check "$work/sent.json" "$table" "$rejects" || fail "poison or healthy messages went astray"
ok "$npoison poison messages dead-lettered once each with their reason, none in the table;" \
  "$nhealthy healthy messages are their items; the queue drained in $secs s"
echo "   ($(($(date +%s) - t_start)) s in all)"
