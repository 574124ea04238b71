#!/usr/bin/env bash
# source-sqs end to end: the pipelined binary against local SQS emulators.
#
#   moto:   sqs -> file drains a queue with --once and deletes everything,
#           receiving with the queue's own visibility timeout (45 s, read
#           with GetQueueAttributes: visibility_timeout is not set);
#           a body that is not JSON goes to the dead letter (and is deleted);
#           messages the sink fails on (and poison = leave) come back and
#           end in the queue's DLQ after maxReceiveCount receives.
#   fauxqs: two daemons consume one queue of 2,000 messages at once and
#           together deliver each exactly once.
#
# Needs $PIPELINED (make check sets it) and PIPELINED_PLUGIN_PATH with a
# built source-sqs and sink-file; skipped (77) without source-sqs.
# KEEP_WORK=1 keeps the configs, outputs and daemon logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PIPELINED:=${top_builddir:?run through make check, or set PIPELINED}/pipelined}"
"$PIPELINED" --describe source-sqs >/dev/null 2>&1 || {
  echo "SKIP: source-sqs is not built (PIPELINED_PLUGIN_PATH=${PIPELINED_PLUGIN_PATH:-})"
  exit 77
}

work=$(mktemp -d "${TMPDIR:-/tmp}/sqs-source.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# send_messages QUEUE_URL FIRST COUNT [json|poison]: messages with ids
# m<FIRST>.. as {"id": "m<n>", "n": n}, or bodies that are not JSON, with
# the attributes sink-sqs sets (origin, line), 10 per SendMessageBatch.
send_messages() {
  "${AWS_ENV_PYTHON:-python3}" - "$@" <<'PY'
import os, sys, json
import boto3
url, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kind = sys.argv[4] if len(sys.argv) > 4 else "json"
# aws-env.sh exported loopback endpoints only.
endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ["AWS_ENDPOINT_URL"]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
for start in range(first, first + count, 10):
    entries = []
    for n in range(start, min(start + 10, first + count)):
        body = json.dumps({"id": f"m{n}", "n": n}) if kind == "json" else f"not json {n} {{"
        entries.append({
            "Id": str(n - start),
            "MessageBody": body,
            "MessageAttributes": {
                "origin": {"DataType": "String", "StringValue": "file:/in/updates.csv"},
                "line": {"DataType": "Number", "StringValue": str(n + 1)},
            },
        })
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    if r.get("Failed"):
        sys.exit(f"send failed: {r['Failed']}")
PY
}

# check_ids FIRST COUNT FILE...: the "id"s of the JSON lines of FILEs are
# exactly m<FIRST>..m<FIRST+COUNT-1>, each once. Prints lines per file.
check_ids() {
  "${AWS_ENV_PYTHON:-python3}" - "$@" <<'PY'
import json, sys
first, count, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
seen, per_file = [], []
for name in files:
    with open(name) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    per_file.append(len(lines))
    seen += [l["id"] for l in lines]
want = {f"m{n}" for n in range(first, first + count)}
dups = len(seen) - len(set(seen))
if dups or set(seen) != want:
    sys.exit(f"{len(seen)} lines, {dups} duplicate(s), {len(want - set(seen))} missing, "
             f"{len(set(seen) - want)} unexpected")
print(" ".join(str(n) for n in per_file))
PY
}

# ---- moto: drain with --once, dead letter, redrive to the DLQ ----
(
  trap - EXIT # aws-env.sh would chain the parent's cleanup to this subshell
  # shellcheck source=tests/integration/aws-env.sh
  source "$here/aws-env.sh"
  aws_env_moto

  # 25 JSON messages and one that is not JSON; the queue's visibility
  # timeout is 45 s.
  queue=$(aws_make_queue drain-queue 45)
  send_messages "$queue" 0 25
  send_messages "$queue" 100 1 poison
  cat >"$work/drain.conf" <<EOF
pipeline "drain" {
  # One receive at a time: moto's ReceiveMessage marks messages received
  # without a lock, so two receives at once can be handed the same message
  # (at-least-once, as SQS allows, but this test counts exactly once; the
  # fauxqs part below runs concurrent receivers).
  source "sqs" {
    queue_url = "$queue"
    wait_time = "1s"
    pollers = 1
  }
  sink "file" { path = "$work/drain.jsonl" }
  dead_letter "file" { path = "$work/drain-rejects.jsonl" }
}
EOF
  t0=$(now)
  timeout 120 "$PIPELINED" --once -c "$work/drain.conf" 2>"$work/drain.log" ||
    { cat "$work/drain.log" >&2; fail "drain: pipelined exited $?"; }
  took=$(since "$t0")
  grep -q "visibility timeout: 45 s, the queue's own (GetQueueAttributes)" "$work/drain.log" ||
    { cat "$work/drain.log" >&2; fail "drain: the queue's visibility timeout (45 s) was not used"; }
  check_ids 0 25 "$work/drain.jsonl" >/dev/null || fail "drain: wrong records"
  left=$(aws_queue_count "$queue")
  [ "$left" = 0 ] || fail "drain: $left message(s) left in the queue"
  "${AWS_ENV_PYTHON:-python3}" - "$work/drain-rejects.jsonl" <<'PY' || fail "drain: dead letter"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
assert len(docs) == 1, docs
d = docs[0]
assert d["reason"].startswith("invalid JSON"), d
assert d["raw"] == "not json 100 {", d
assert d["origin"] == "file:/in/updates.csv" and d["line"] == 101, d
assert d["message_id"], d
PY
  echo "ok: moto: 25 messages drained with --once in ${took} s (run time, 1 s long polls) with the queue's visibility timeout (45 s), a poison body dead-lettered, queue empty"

  # A sink that always fails and a poison body with poison = leave: nothing
  # is deleted; after 2 receives the queue moves them to its DLQ (visibility
  # 1 s, maxReceiveCount 2). The failure must be one a retry could mend (a
  # file beyond RLIMIT_FSIZE: EFBIG); /dev/full would break the stage once
  # its retries ran out, and end the run.
  queue=$(aws_make_queue retry-queue 1 retry-dlq 2)
  dlq=$(aws_queue_url retry-dlq)
  send_messages "$queue" 0 3
  send_messages "$queue" 200 1 poison
  cat >"$work/retry.conf" <<EOF
pipeline "retry" {
  source "sqs" {
    queue_url = "$queue"
    wait_time = "1s"
    visibility_timeout = "1s"
    poison = "leave"
    pollers = 1
    idle_polls = 4
  }
  sink "file" {
    path = "$work/full.jsonl"
    retry_limit = 0
  }
}
EOF
  t0=$(now)
  rc=0
  # 2 MiB of whole lines, above the 1 MiB the daemon may write to a file (the
  # log stays far below it); SIGXFSZ ignored so that the write fails.
  awk 'BEGIN { for (i = 0; i < 1048576; i++) print "y" }' > "$work/full.jsonl"
  ( trap '' XFSZ; ulimit -f 1024
    exec timeout 120 "$PIPELINED" --once -c "$work/retry.conf" ) 2>"$work/retry.log" || rc=$?
  took=$(since "$t0")
  [ "$rc" = 1 ] || { cat "$work/retry.log" >&2; fail "retry: exit status $rc, want 1 (groups failed)"; }
  left=$(aws_queue_count "$queue")
  in_dlq=$(aws_queue_count "$dlq")
  if [ "$left" != 0 ] || [ "$in_dlq" != 4 ]; then
    cat "$work/retry.log" >&2
    fail "retry: $left left in the queue, $in_dlq in the DLQ (want 0 and 4)"
  fi
  grep -q "left in the queue (poison = leave)" "$work/retry.log" || fail "retry: no poison warning"
  received=$(grep -c "invalid JSON" "$work/retry.log" || true)
  [ "$received" -ge 2 ] || fail "retry: the poison message was received $received time(s), want 2"
  # Failures are logged per batch with their count, and a failure that
  # repeats is not logged each time: the DLQ above shows the two receives.
  grep -q "record(s) failed after 1 attempt(s): write to $work/full.jsonl failed: file too large" "$work/retry.log" ||
    { cat "$work/retry.log" >&2; fail "retry: the failed writes are not logged"; }
  echo "ok: moto: 4 failing messages received twice each, then redriven to the DLQ; none deleted (${took} s)"
)

# ---- fauxqs: two competing consumers, exactly once ----
(
  trap - EXIT # aws-env.sh would chain the parent's cleanup to this subshell
  # shellcheck source=tests/integration/aws-env.sh
  source "$here/aws-env.sh"
  aws_env_fauxqs
  total=2000
  queue=$(aws_make_queue shared-queue)
  t0=$(now)
  send_messages "$queue" 0 "$total"
  sent_in=$(since "$t0")
  for i in 1 2; do
    cat >"$work/consumer$i.conf" <<EOF
pipeline "consumer$i" {
  source "sqs" {
    queue_url = "$queue"
    wait_time = "1s"
    idle_polls = 3
  }
  sink "file" { path = "$work/consumer$i.jsonl" }
}
EOF
  done
  t0=$(now)
  timeout 120 "$PIPELINED" --once -c "$work/consumer1.conf" 2>"$work/consumer1.log" &
  p1=$!
  timeout 120 "$PIPELINED" --once -c "$work/consumer2.conf" 2>"$work/consumer2.log" &
  p2=$!
  rc1=0 rc2=0
  wait "$p1" || rc1=$?
  wait "$p2" || rc2=$?
  took=$(since "$t0")
  if [ "$rc1" != 0 ] || [ "$rc2" != 0 ]; then
    cat "$work/consumer1.log" "$work/consumer2.log" >&2
    fail "consumers exited $rc1 and $rc2"
  fi
  split=$(check_ids 0 "$total" "$work/consumer1.jsonl" "$work/consumer2.jsonl") ||
    fail "competing consumers: not exactly once"
  read -r n1 n2 <<<"$split"
  if [ "$n1" = 0 ] || [ "$n2" = 0 ]; then fail "one consumer got nothing ($n1 / $n2)"; fi
  left=$(aws_queue_count "$queue")
  [ "$left" = 0 ] || fail "competing consumers: $left message(s) left"
  echo "ok: fauxqs: $total messages (sent in ${sent_in} s) delivered exactly once by two consumers ($n1 + $n2) in ${took} s, queue empty"
)

# ---- fauxqs: SIGTERM while long polls are out, then a restart ----
# The queue hides a received message for 300 s. Messages arrive while the
# daemon's long polls wait, and SIGTERM follows at once: the stopping
# daemon waits for its polls and gives back (visibility 0) what they
# bring, so a restart processes every message within seconds. A daemon
# that cancelled its polls would leave those messages hidden for 300 s.
(
  trap - EXIT
  # shellcheck source=tests/integration/aws-env.sh
  source "$here/aws-env.sh"
  aws_env_fauxqs
  total=50
  queue=$(aws_make_queue restart-queue 300)
  for phase in first:10s restart:1s; do
    cat >"$work/${phase%%:*}.conf" <<EOF
pipeline "${phase%%:*}" {
  source "sqs" {
    queue_url = "$queue"
    wait_time = "${phase#*:}"
    visibility_timeout = "300s"
    idle_polls = 2
  }
  sink "file" { path = "$work/${phase%%:*}.jsonl" }
}
EOF
  done
  "$PIPELINED" -c "$work/first.conf" 2>"$work/first.log" &
  daemon=$!
  sleep 2 # its long polls are out, on an empty queue
  kill -TERM "$daemon"
  sleep 0.5 # the daemon is stopping; its polls are still out
  send_messages "$queue" 0 "$total"
  rc=0
  wait "$daemon" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/first.log" >&2; fail "restart: the first daemon exited $rc"; }
  t0=$(now)
  timeout 60 "$PIPELINED" --once -c "$work/restart.conf" 2>"$work/restart.log" ||
    { cat "$work/restart.log" >&2; fail "restart: the second run failed"; }
  took=$(since "$t0")
  touch "$work/first.jsonl" "$work/restart.jsonl"
  split=$(check_ids 0 "$total" "$work/first.jsonl" "$work/restart.jsonl") ||
    { cat "$work/first.log" >&2; fail "restart: not every message processed exactly once after SIGTERM"; }
  read -r n1 n2 <<<"$split"
  echo "ok: fauxqs: SIGTERM with long polls out: $n1 message(s) done before it, the other $n2 after a restart in ${took} s (visibility 300 s)"
)
