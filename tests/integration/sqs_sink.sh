#!/usr/bin/env bash
# sink-sqs end to end on both local emulator setups: the real daemon runs
# etc/file-to-sqs.conf (file -> csv -> sqs), and an independent client
# (boto3) reads back what it sent.
#   both:    the 21 rows of the sample file become 21 messages whose bodies
#            are the typed rows, with origin and line attributes; a FIFO
#            queue keeps the order of each message group, and sending the
#            same file again (within the deduplication window) adds nothing;
#   fauxqs:  10,000 rows become exactly 10,000 messages in 1,000
#            SendMessageBatch requests, counted on the metrics endpoint
#            (moto's send cost grows with queue depth: fauxqs takes the bulk).
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# sink-sqs, source-file and transform-csv.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/file-to-sqs.conf
sample=${PIPELINED_TEST_DATA:-$top_srcdir/tests/data}/sample_inventory.csv

if ! "$PIPELINED" --describe sink-sqs >/dev/null 2>&1; then
  echo "SKIP: the sink-sqs plugin is not built"
  exit 77
fi
[ -r "$sample" ] || { echo "FAIL: $sample is missing" >&2; exit 1; }

fail() { echo "FAIL (${AWS_ENV_KIND:-setup}): $*" >&2; exit 1; }

# sqs_read QUEUE_URL COUNT OUT: receives and deletes COUNT messages, then
# checks that no more arrive; writes one JSON line per message (body,
# attributes, group) to OUT in the order received.
sqs_read() {
  python3 - "$@" <<'PY'
import ipaddress, json, os, sys, time
from urllib.parse import urlsplit
import boto3
url, want, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ["AWS_ENDPOINT_URL"]
assert ipaddress.ip_address(urlsplit(endpoint).hostname).is_loopback, endpoint
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
got, deadline, extra_wait = [], time.monotonic() + 300, 0
while time.monotonic() < deadline:
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                            VisibilityTimeout=300, MessageAttributeNames=["All"],
                            AttributeNames=["All"])
    msgs = r.get("Messages", [])
    for m in msgs:
        got.append({
            "body": json.loads(m["Body"]),
            "attrs": {k: [v["DataType"], v.get("StringValue")]
                      for k, v in m.get("MessageAttributes", {}).items()},
            "group": m.get("Attributes", {}).get("MessageGroupId"),
        })
    if msgs:
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
    if len(got) >= want:
        extra_wait += 1
        if extra_wait > 2:  # two empty long polls after the last one: done
            break
with open(out, "w") as f:
    for g in got:
        f.write(json.dumps(g) + "\n")
if len(got) != want:
    sys.exit(f"received {len(got)} messages, expected {want}")
PY
}

# metric FILE NAME{LABELS}: the value of one sample, or nothing.
metric() { grep -F "$2 " "$1" | awk '{print $2}'; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The sample file through etc/file-to-sqs.conf: 21 messages, the typed rows.
check_sample() {
  local queue
  queue=$(aws_make_queue inventory-updates)
  INPUT=$sample INVENTORY_UPDATES_QUEUE_URL=$queue \
    INVENTORY_REJECTS=$work/rejects.jsonl \
    "$PIPELINED" --once -c "$conf" 2>"$work/sample.log" \
    || { cat "$work/sample.log" >&2; fail "pipelined --once exited non-zero"; }
  [ ! -s "$work/rejects.jsonl" ] || { cat "$work/rejects.jsonl" >&2; fail "rows were rejected"; }
  local count
  count=$(aws_queue_count "$queue")
  [ "$count" = 21 ] || fail "$count messages in the queue, expected 21"
  sqs_read "$queue" 21 "$work/sample.jsonl" || fail "reading the queue"
  python3 - "$sample" "$work/sample.jsonl" <<'PY' || fail "the messages are not the typed rows"
import csv, json, sys
path, got = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
want = {}
with open(path, newline="") as f:
    for line, row in enumerate(csv.reader(f), start=1):
        if line == 1 or not row:
            continue
        want[line] = {"product_id": row[0], "location": row[1],
                      "quantity": int(row[2]), "update_date": row[3]}
assert len(want) == 21, len(want)
seen = {}
for m in got:
    attrs = m["attrs"]
    assert attrs["origin"] == ["String", "file:" + path], attrs
    kind, line = attrs["line"]
    assert kind == "Number", attrs
    line = int(line)
    assert line not in seen, f"line {line} twice"
    seen[line] = True
    assert m["body"] == want[line], (line, m["body"], want[line])
    # Compact JSON with the columns in file order.
    assert list(m["body"]) == ["product_id", "location", "quantity", "update_date"]
assert sorted(seen) == sorted(want), sorted(seen)
PY
  echo "ok: $AWS_ENV_KIND: the sample file gave 21 messages: the typed rows, with origin and line"
}

# Rows round-trip file -> sqs -> file: a row with a NUL byte (which an SQS
# consumer cannot take back as text) is rejected by the CSV side with the
# field named; every other row, control characters and non-ASCII text
# included, comes back from the queue as it went in, with no dead letter.
check_round_trip() {
  local queue
  queue=$(aws_make_queue round-trip)
  printf 'product_id,location,quantity,update_date\nP1,W\000X,1,2023-05-01\nP2,"tab\there, \001 and \342\202\254",2,2023-05-02\nP3,C,3,2023-05-03\n' \
    >"$work/nul.csv"
  INPUT=$work/nul.csv INVENTORY_UPDATES_QUEUE_URL=$queue \
    INVENTORY_REJECTS=$work/nul-rejects.jsonl \
    "$PIPELINED" --once -c "$conf" 2>"$work/nul.log" \
    || { cat "$work/nul.log" >&2; fail "round trip: file -> sqs exited non-zero"; }
  # etc/sqs-to-file.conf as shipped, but with 1 s long polls: --once ends
  # after two empty receives, which at the default 20 s cost 40 s of waiting.
  sed '/^ *queue_url = /a\    wait_time = "1s"' "$top_srcdir/etc/sqs-to-file.conf" \
    >"$work/sqs-to-file.conf"
  grep -q 'wait_time = "1s"' "$work/sqs-to-file.conf" ||
    fail "round trip: no queue_url line in etc/sqs-to-file.conf to add wait_time to"
  INVENTORY_UPDATES_QUEUE_URL=$queue OUTPUT=$work/nul-out.jsonl \
    INVENTORY_REJECTS=$work/nul-back-rejects.jsonl \
    "$PIPELINED" --once -c "$work/sqs-to-file.conf" 2>"$work/nul-back.log" \
    || { cat "$work/nul-back.log" >&2; fail "round trip: sqs -> file exited non-zero"; }
  [ ! -s "$work/nul-back-rejects.jsonl" ] ||
    { cat "$work/nul-back-rejects.jsonl" >&2; fail "round trip: the consumer dead-lettered a message"; }
  python3 - "$work/nul-rejects.jsonl" "$work/nul-out.jsonl" <<'PY' || fail "round trip: rows changed on the way"
import json, sys
rejects = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["line"], r["reason"]) for r in rejects] == [
    (2, "field 2 contains a NUL byte (\\0), which is not text")], rejects
back = sorted((json.loads(l) for l in open(sys.argv[2])), key=lambda r: r["product_id"])
assert back == [
    {"product_id": "P2", "location": "tab\there, \x01 and \u20ac", "quantity": 2, "update_date": "2023-05-02"},
    {"product_id": "P3", "location": "C", "quantity": 3, "update_date": "2023-05-03"},
], back
PY
  echo "ok: $AWS_ENV_KIND: file -> sqs -> file: a NUL row is rejected naming its field; the other rows come back unchanged"
}

# A FIFO queue: 100 rows in 5 groups (product_id), each group in order;
# the same file sent again adds no message (deduplication ids). 100 rows
# are 10 SendMessageBatch requests, more than the sink has in flight at
# first, so batches overlap; moto takes about a third of a second for each
# on a FIFO queue (twice that when it deduplicates).
check_fifo() {
  local queue count
  queue=$(AWS_ENV_FIFO_CONTENT_DEDUP=false aws_make_queue ordered-updates.fifo)
  python3 - "$work/fifo.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("product_id,location,quantity,update_date\n")
    for i in range(1, 101):
        f.write(f"P{i % 5},Warehouse {'ABC'[i % 3]},{i},2023-05-{1 + i % 28:02d}\n")
PY
  cat >"$work/fifo.conf" <<CONF
pipeline "file-to-fifo" {
  source "file" { paths = ["$work/fifo.csv"] }
  transform "csv" {
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "sqs" {
    queue_url = "$queue"
    message_group_id = "\${product_id}"
  }
  dead_letter "file" { path = "$work/fifo-rejects.jsonl" }
}
CONF
  for run in 1 2; do
    "$PIPELINED" --once -c "$work/fifo.conf" 2>"$work/fifo-$run.log" \
      || { cat "$work/fifo-$run.log" >&2; fail "FIFO run $run exited non-zero"; }
    count=$(aws_queue_count "$queue")
    [ "$count" = 100 ] || fail "FIFO run $run: $count messages in the queue, expected 100"
  done
  [ ! -s "$work/fifo-rejects.jsonl" ] || fail "FIFO rows were rejected"
  sqs_read "$queue" 100 "$work/fifo.jsonl" || fail "reading the FIFO queue"
  python3 - "$work/fifo.jsonl" <<'PY' || fail "a message group is out of order"
import json, sys
last, counts = {}, {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    group, q = m["group"], m["body"]["quantity"]
    assert group == m["body"]["product_id"], m
    assert q > last.get(group, 0), f"group {group}: {q} after {last[group]}"
    last[group] = q
    counts[group] = counts.get(group, 0) + 1
assert counts == {f"P{g}": 20 for g in range(5)}, counts
PY
  echo "ok: $AWS_ENV_KIND: a FIFO queue kept the order of 5 groups of 20, and a second run added no duplicates"
}

# 10,000 rows: 10,000 messages in 1,000 requests (the metrics endpoint
# counts them), read back whole.
check_bulk() {
  local queue port count requests batches out
  queue=$(aws_make_queue bulk-updates)
  python3 - "$work/bulk.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("product_id,location,quantity,update_date\n")
    for i in range(1, 10001):
        f.write(f"P{i:05d},Warehouse {'ABC'[i % 3]},{i},2023-05-{1 + i % 28:02d}\n")
PY
  port=$(free_port)
  local t0 seconds
  t0=$(date +%s.%N)
  { echo "metrics_listen = \"127.0.0.1:$port\""; cat "$conf"; } >"$work/bulk.conf"
  INPUT=$work/bulk.csv INVENTORY_UPDATES_QUEUE_URL=$queue \
    INVENTORY_REJECTS=$work/bulk-rejects.jsonl \
    "$PIPELINED" -c "$work/bulk.conf" 2>"$work/bulk.log" &
  daemon=$!  # killed by the EXIT trap if the test fails before it ends
  local committed='pipelined_groups_committed_total{pipeline="file-to-sqs"}'
  for _ in $(seq 1 1200); do
    if curl -sf "http://127.0.0.1:$port/metrics" -o "$work/metrics" 2>/dev/null &&
       [ "$(metric "$work/metrics" "$committed")" = 1 ]; then
      break
    fi
    kill -0 "$daemon" 2>/dev/null || { cat "$work/bulk.log" >&2; fail "pipelined exited"; }
    sleep 0.1
  done
  seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  kill -TERM "$daemon"
  wait "$daemon" || { daemon=; cat "$work/bulk.log" >&2; fail "pipelined exited non-zero after SIGTERM"; }
  daemon=
  [ "$(metric "$work/metrics" "$committed")" = 1 ] \
    || { cat "$work/bulk.log" >&2; fail "the file was not committed within 120 s"; }
  local labels='{pipeline="file-to-sqs",stage="sink",plugin="sink-sqs"}'
  requests=$(metric "$work/metrics" "pipelined_plugin_requests_total$labels")
  batches=$(metric "$work/metrics" "pipelined_batches_total$labels")
  out=$(metric "$work/metrics" "pipelined_records_out_total$labels")
  [ "$out" = 10000 ] || fail "$out records delivered, expected 10000"
  [ "$requests" = 1000 ] || fail "$requests SendMessageBatch requests, expected 1000"
  [ "$batches" = 1000 ] || fail "$batches batches written, expected 1000"
  [ ! -s "$work/bulk-rejects.jsonl" ] || fail "rows were rejected"
  count=$(aws_queue_count "$queue")
  [ "$count" = 10000 ] || fail "$count messages in the queue, expected 10000"
  sqs_read "$queue" 10000 "$work/bulk.jsonl" || fail "reading the queue"
  python3 - "$work/bulk.jsonl" <<'PY' || fail "the messages are not the 10,000 rows"
import json, sys
q = sorted(json.loads(l)["body"]["quantity"] for l in open(sys.argv[1]))
assert q == list(range(1, 10001)), (len(q), q[:3])
PY
  echo "ok: $AWS_ENV_KIND: 10000 rows gave $count messages in $requests SendMessageBatch requests ($batches batches) in ${seconds} s"
}

for setup in moto fauxqs; do
  (
    work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-sqs-sink.XXXXXX")
    daemon=
    # Set before aws-env.sh installs its own, which chains to it.
    trap '[ -z "$daemon" ] || kill -KILL "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
    # shellcheck source=aws-env.sh
    source "$here/aws-env.sh"
    "aws_env_$setup"
    check_sample
    check_round_trip
    check_fifo
    [ "$setup" = fauxqs ] && check_bulk
    true
  )
done
