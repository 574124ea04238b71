#!/usr/bin/env bash
# Self-test of the local AWS harness (aws-env.sh), with the aws CLI and boto3
# as the only clients: each setup runs in its own bash process, and after it
# exits this script checks that none of its processes is left.
#
#   harness-selftest.sh                    moto, fauxqs+dynalite, SIGKILL case
#   harness-selftest.sh --inject-failure   a bogus command in the middle of
#                                          each setup; passes when each fails
#                                          there and still cleans up
#
# Also prints a small measurement (not a timed test): start-up time of each
# emulator and the time of one SendMessageBatch of 10 at 0 and at 2,000
# queued messages (and one 25-item BatchWriteItem), through boto3. moto's
# send cost grows with queue depth, so filling its queue to 2,000 takes a
# few minutes; AWS_SELFTEST_QUEUED=N measures at N instead.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"

# ---------------------------------------------------------------- one setup
if [ "${1:-}" = --phase ]; then
  kind=$2 state=$3 inject=${4:-}
  # The caller's own EXIT trap, set before aws-env.sh: it must still run.
  tmp=
  trap 'echo "caller trap ran, status $?" >"$state/$kind.caller-trap"; rm -rf "$tmp"' EXIT
  # shellcheck source=aws-env.sh
  source "$here/aws-env.sh"

  pass=0 fail=0
  ok() { pass=$((pass + 1)); echo "ok: [$kind] $*"; }
  bad() { fail=$((fail + 1)); echo "FAIL: [$kind] $*" >&2; }
  # check DESCRIPTION EXPECTED ACTUAL
  check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
  record() { echo "$1=$2" >>"$state/$kind.results"; }

  "aws_env_$kind"
  record startup "$AWS_ENV_STARTUP_SECONDS"
  case $kind in
    moto) echo "moto $AWS_ENV_MOTO_PID $AWS_ENV_MOTO_PORT" >"$state/$kind.pids" ;;
    fauxqs) { echo "fauxqs $AWS_ENV_FAUXQS_PID $AWS_ENV_FAUXQS_PORT"
              echo "dynalite $AWS_ENV_DYNALITE_PID $AWS_ENV_DYNALITE_PORT"; } >"$state/$kind.pids" ;;
  esac
  # The process groups too (the monitors), read from /proc.
  while read -r _ pid _; do
    stat=$(cat "/proc/$pid/stat"); stat=${stat##*) }
    read -r -a f <<<"$stat"       # state ppid pgrp ...
    echo "${f[2]}" >>"$state/$kind.pgids"
  done <"$state/$kind.pids"

  tmp=$(mktemp -d)

  # ---- S3: put and get an object
  aws_make_bucket pipelined-selftest
  printf 'id,name\n1,caf\xc3\xa9\n' >"$tmp/in.csv"
  aws s3api put-object --bucket pipelined-selftest --key in/data.csv --body "$tmp/in.csv" >/dev/null
  aws s3api get-object --bucket pipelined-selftest --key in/data.csv "$tmp/out.csv" >/dev/null
  check "S3 put/get object round trip" "$(sha256sum <"$tmp/in.csv")" "$(sha256sum <"$tmp/out.csv")"

  # ---- SQS: queue with a DLQ (redrive after 1 receive), send/receive/delete
  q=$(aws_make_queue selftest-q 1 selftest-dlq 1)
  dlq=$(aws_queue_url selftest-dlq)
  check "queue URL points at the SQS endpoint" \
    "${AWS_ENDPOINT_URL_SQS:-$AWS_ENDPOINT_URL}" "${q%/*/*}"
  redrive=$(aws sqs get-queue-attributes --queue-url "$q" --attribute-names RedrivePolicy \
    --query Attributes.RedrivePolicy --output text)
  check "redrive policy names the DLQ" yes \
    "$(case $redrive in *selftest-dlq*maxReceiveCount*) echo yes ;; *) echo "$redrive" ;; esac)"
  if [ "$kind" = fauxqs ]; then
    raw=$(aws sqs get-queue-url --queue-name selftest-q --query QueueUrl --output text)
    check "fauxqs answers queue URLs on sqs.us-east-1.localhost (aws_queue_url rewrites)" \
      "http://sqs.us-east-1.localhost:$AWS_ENV_FAUXQS_PORT/000000000000/selftest-q" "$raw"
  fi
  aws sqs send-message --queue-url "$q" --message-body "hello" >/dev/null
  body=$(aws sqs receive-message --queue-url "$q" --wait-time-seconds 2 --query 'Messages[0].Body' --output text)
  check "send/receive" hello "$body"
  sleep 1.5   # visibility timeout 1 s; the next receive is the 2nd (> maxReceiveCount 1)
  aws sqs receive-message --queue-url "$q" --wait-time-seconds 1 >/dev/null
  body=$(aws sqs receive-message --queue-url "$dlq" --wait-time-seconds 2 \
    --query 'Messages[0].Body' --output text)
  check "message moved to the DLQ after maxReceiveCount" hello "$body"
  aws sqs send-message --queue-url "$q" --message-body "bye" >/dev/null
  rh=$(aws sqs receive-message --queue-url "$q" --wait-time-seconds 2 \
    --query 'Messages[0].ReceiptHandle' --output text)
  aws sqs delete-message --queue-url "$q" --receipt-handle "$rh"
  check "queue empty after delete (aws_queue_count)" 0 "$(aws_queue_count "$q")"
  fq=$(aws_make_queue selftest.fifo "" selftest-dlq.fifo 3)
  fifo=$(aws sqs get-queue-attributes --queue-url "$fq" --attribute-names FifoQueue \
    --query Attributes.FifoQueue --output text)
  check "FIFO queue (.fifo) with FIFO DLQ" true "$fifo"

  # ---- DynamoDB: table, put/get item
  aws_make_table selftest-table
  aws dynamodb put-item --table-name selftest-table \
    --item '{"id":{"S":"k1"},"v":{"S":"caf\u00e9"}}'
  v=$(aws dynamodb get-item --table-name selftest-table --key '{"id":{"S":"k1"}}' \
    --consistent-read --query Item.v.S --output text)
  check "DynamoDB put/get item" "café" "$v"
  check "aws_table_count" 1 "$(aws_table_count selftest-table)"

  if [ "$inject" = inject ]; then
    echo "---- injecting a failure: a bogus command in the middle of the test"
    bogus-command-injected-by-selftest
  fi

  # ---- S3 -> SQS event for a key with a space and non-ASCII characters
  events=$(aws_make_queue selftest-events)
  key="in/2024 batch/données €.csv"
  aws_bucket_notify pipelined-selftest "$events"
  aws s3api put-object --bucket pipelined-selftest --key "$key" --body "$tmp/in.csv" >/dev/null
  if [ "$AWS_ENV_S3_NOTIFICATIONS" = 0 ]; then
    aws_publish_s3_event "$events" pipelined-selftest "$key"
  fi
  aws sqs receive-message --queue-url "$events" --max-number-of-messages 10 --wait-time-seconds 2 \
    >"$tmp/events.json"
  python3 - "$tmp/events.json" "$key" "$kind" >"$tmp/event-check" <<'EOF'
import json, sys
from urllib.parse import quote_plus, unquote_plus
msgs = json.load(open(sys.argv[1])).get("Messages", [])
key, kind = sys.argv[2], sys.argv[3]
bodies = [json.loads(m["Body"]) for m in msgs]
test_events = [b for b in bodies if b.get("Event") == "s3:TestEvent"]
records = [r for b in bodies for r in b.get("Records", [])]
print("test_event", "yes" if test_events else "no")
r = records[0] if records else {}
obj = r.get("s3", {}).get("object", {})
print("event_name", r.get("eventName"))
print("bucket", r.get("s3", {}).get("bucket", {}).get("name"))
print("key_raw", obj.get("key"))
print("key_decoded_ok", "yes" if unquote_plus(obj.get("key", "")) == key else "no")
print("key_plus_for_space", "yes" if "+" in obj.get("key", "") and " " not in obj.get("key", "") else "no")
print("key_expected", quote_plus(key) if kind == "moto" else quote_plus(key, safe="/"))
print("size", obj.get("size"))
EOF
  ev() { awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print }' "$tmp/event-check"; }
  if [ "$kind" = moto ]; then
    check "moto sent the s3:TestEvent on notification setup" yes "$(ev test_event)"
  fi
  check "S3 event name" ObjectCreated:Put "$(ev event_name)"
  check "S3 event bucket" pipelined-selftest "$(ev bucket)"
  check "S3 event key URL-encoded ($(ev key_raw))" "$(ev key_expected)" "$(ev key_raw)"
  check "S3 event key: + for space, decodes to the key" "yes yes" \
    "$(ev key_plus_for_space) $(ev key_decoded_ok)"
  check "S3 event object size" "$(wc -c <"$tmp/in.csv" | tr -d ' ')" "$(ev size)"

  # ---- dynalite survives a client that disconnects mid-request
  if [ "$kind" = fauxqs ]; then
    python3 - "$AWS_ENV_DYNALITE_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
          b"X-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: 1000\r\n\r\n{\"TableName\":")
time.sleep(0.2)
s.close()
time.sleep(0.3)
EOF
    check "dynalite still answers after a mid-request disconnect" 1 \
      "$(aws_table_count selftest-table)"
  fi

  # ---- Measurement: SendMessageBatch of 10 at 0 and 2,000 queued messages
  python3 - "$state/$kind.results" "${AWS_SELFTEST_QUEUED:-2000}" <<'EOF'
import os, statistics, sys, time
import boto3
sqs = boto3.client("sqs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ["AWS_ENDPOINT_URL"])
ddb = boto3.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ["AWS_ENDPOINT_URL"])
url = sqs.create_queue(QueueName="selftest-bench")["QueueUrl"]
url = os.environ.get("AWS_ENDPOINT_URL_SQS", os.environ["AWS_ENDPOINT_URL"]) + "/" + url.split("/", 3)[3]
body = '{"id":"%06d","name":"' + "x" * 180 + '"}'
n = 0
def batch():
    global n
    entries = [{"Id": str(i), "MessageBody": body % (n + i)} for i in range(10)]
    t = time.perf_counter()
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    dt = time.perf_counter() - t
    assert not r.get("Failed"), r
    n += 10
    return dt
batch()  # warm the connection
n = 0
sqs.purge_queue(QueueUrl=url)
depth = int(sys.argv[2])
at0 = [batch() for _ in range(10)]            # 0 -> 100 queued
fill_t = time.perf_counter()
while n < depth:
    batch()
fill = time.perf_counter() - fill_t
at_depth = [batch() for _ in range(10)]       # depth -> depth + 100 queued
ddb.create_table(TableName="selftest-bench",
                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
while ddb.describe_table(TableName="selftest-bench")["Table"]["TableStatus"] != "ACTIVE":
    time.sleep(0.05)
bw = []
for b in range(10):
    items = [{"PutRequest": {"Item": {"id": {"S": f"{b}-{i}"}, "v": {"S": "x" * 200}}}} for i in range(25)]
    t = time.perf_counter()
    r = ddb.batch_write_item(RequestItems={"selftest-bench": items})
    bw.append(time.perf_counter() - t)
    assert not r.get("UnprocessedItems"), r
ms = lambda xs: f"{statistics.median(xs) * 1000:.1f}"
with open(sys.argv[1], "a") as f:
    f.write(f"send_batch_at_0_ms={ms(at0)}\n")
    f.write(f"send_batch_at_depth_ms={ms(at_depth)}\n")
    f.write(f"fill_s={fill:.1f}\n")
    f.write(f"batch_write_25_ms={ms(bw)}\n")
EOF
  ok "measurement recorded"
  echo "phase $kind: $pass passed, $fail failed" >"$state/$kind.summary"
  rm -rf "$tmp"
  [ "$fail" -eq 0 ]
  exit
fi

# ------------------------------------------------------- a SIGKILLed shell
# The test shell dies without running its EXIT trap; the monitor must stop
# the emulator by itself.
if [ "${1:-}" = --sigkill-child ]; then
  state=$2
  source "$here/aws-env.sh"
  aws_env_moto 2>/dev/null
  stat=$(cat "/proc/$AWS_ENV_MOTO_PID/stat"); stat=${stat##*) }
  read -r -a f <<<"$stat"         # state ppid pgrp ...
  echo "moto $AWS_ENV_MOTO_PID $AWS_ENV_MOTO_PORT" >"$state/sigkill.pids"
  echo "${f[2]}" >"$state/sigkill.pgids"
  kill -KILL $$
fi

# ------------------------------------------------------------------ driver
inject=
[ "${1:-}" = --inject-failure ] && inject=inject
state=$(mktemp -d "${TMPDIR:-/tmp}/harness-selftest.XXXXXX")
trap 'rm -rf "$state"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# alive PID: running (a zombie has ended; only its exit status is left).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Every process of a process group, from /proc (zombies excluded).
group_members() {
  local pgid=$1 f stat
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    stat=${stat##*) }
    read -r -a fields <<<"$stat"  # state ppid pgrp ...
    [ "${fields[2]}" = "$pgid" ] && [ "${fields[0]}" != Z ] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  return 0
}

# check_gone NAME: no emulator PID, process group or listening port is left.
check_gone() {
  local name=$1 what pid port pgid left=
  while read -r what pid port; do
    alive "$pid" && left="$left $what pid $pid;"
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && left="$left port $port answers;"
  done <"$state/$name.pids"
  while read -r pgid; do
    members=$(group_members "$pgid" | tr '\n' ' ')
    [ -n "$members" ] && left="$left process group $pgid: $members;"
  done <"$state/$name.pgids"
  if [ -z "$left" ]; then
    ok "$name: every process is gone after the script exited ($(awk '{printf "%s %s ", $1, $2}' "$state/$name.pids"))"
  else
    bad "$name: left behind:$left"
  fi
}

for kind in moto fauxqs; do
  echo "==== $kind${inject:+ (injected failure)}"
  status=0
  # A failing phase keeps its emulator logs for diagnosis; the injected
  # failures' logs go with $state.
  if [ -n "$inject" ]; then
    TMPDIR="$state" bash "$self" --phase "$kind" "$state" "$inject" || status=$?
  else
    bash "$self" --phase "$kind" "$state" "$inject" || status=$?
  fi
  if [ ! -f "$state/$kind.pids" ]; then
    bad "$kind: the emulators did not start"; continue
  fi
  if [ -n "$inject" ]; then
    if [ "$status" = 127 ] && [ ! -f "$state/$kind.summary" ]; then
      ok "$kind: the phase stopped at the injected bogus command (status 127)"
    else
      bad "$kind: expected the injected command to fail the phase with 127, got status $status"
    fi
  elif [ "$status" = 0 ]; then
    ok "$kind: $(cat "$state/$kind.summary")"
  else
    bad "$kind: phase failed (status $status): $(cat "$state/$kind.summary" 2>/dev/null || echo 'stopped early')"
  fi
  check_gone "$kind"
  if [ -f "$state/$kind.caller-trap" ]; then
    ok "$kind: the caller's own EXIT trap still ran ($(cat "$state/$kind.caller-trap"))"
  else
    bad "$kind: the caller's own EXIT trap did not run"
  fi
done

if [ -z "$inject" ]; then
  echo "==== SIGKILLed test shell"
  # Its logs go into $state: its own trap, which would remove them, never
  # runs. (In the background, so bash prints no "Killed" notice for it.)
  TMPDIR="$state" bash "$self" --sigkill-child "$state" 2>/dev/null &
  wait "$!" 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -z "$(group_members "$(cat "$state/sigkill.pgids")")" ] && break
    sleep 0.1
  done
  check_gone sigkill

  r() { awk -F= -v k="$2" '$1 == k { print $2 }' "$state/$1.results" 2>/dev/null; }
  echo
  echo "==== measurement (boto3 client; median of 10 calls)"
  printf '%-44s %12s %18s\n' "" moto "fauxqs+dynalite"
  printf '%-44s %12s %18s\n' "start-up to first answer (s)" "$(r moto startup)" "$(r fauxqs startup)"
  printf '%-44s %12s %18s\n' "SendMessageBatch of 10, 0-100 queued (ms)" \
    "$(r moto send_batch_at_0_ms)" "$(r fauxqs send_batch_at_0_ms)"
  depth=${AWS_SELFTEST_QUEUED:-2000}
  printf '%-44s %12s %18s\n' "SendMessageBatch of 10, $depth queued (ms)" \
    "$(r moto send_batch_at_depth_ms)" "$(r fauxqs send_batch_at_depth_ms)"
  printf '%-44s %12s %18s\n' "filling 100 -> $depth messages (s)" "$(r moto fill_s)" "$(r fauxqs fill_s)"
  printf '%-44s %12s %18s\n' "BatchWriteItem of 25, empty table (ms)" \
    "$(r moto batch_write_25_ms)" "$(r fauxqs batch_write_25_ms)"
fi

echo
echo "harness-selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
