#!/usr/bin/env bash
# The reference deployment (etc/inventory.conf) at volume, on fauxqs (S3 +
# SQS) and dynalite (DynamoDB), which cost the same per request however
# deep the queues get (docs/architecture.md, "Local AWS for development and tests").
# fauxqs sends no S3 notifications: after each upload the test publishes the
# documented S3 event JSON to the events queue itself.
#
#   1. A 100,000-row file streams through: every row becomes its item, the
#      daemon's peak RSS (VmHWM) is printed and must stay under 64 MiB;
#      throughput (rows/s from upload to the last item) and the daemon's CPU
#      seconds are printed; SIGTERM stops it with 0 and nothing is rejected.
#   2. Another 100,000-row file (other values), the daemon killed with
#      SIGKILL in the middle of it and started again: the table ends with
#      exactly the 100,000 items a run without the kill leaves (every
#      attribute compared), and both queues and the DLQ end empty.
#
# Needs PIPELINED (make check sets it) and a PIPELINED_PLUGIN_PATH holding
# source-s3, transform-csv, sink-sqs, source-sqs, transform-schema,
# sink-dynamodb and sink-file; skipped (77) without source-s3.
# KEEP_WORK=1 keeps the work directory (CSV files, daemon logs, dead letter).
# VOLUME_ROWS changes the row count (default 100000; for trying the test
# out only: the issue's figures are for 100,000).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf
rows=${VOLUME_ROWS:-100000}
rss_limit_kib=$((64 * 1024))
timeout_s=600 # per wait; the whole test takes a few minutes

if [ "${PIPELINED_TEST_SCOPE:-full}" != full ]; then
  echo "SKIP: the volume test runs once per scripts/test, in its gcc build" \
    "(PIPELINED_TEST_SCOPE=${PIPELINED_TEST_SCOPE})"
  exit 77
fi
if ! "$PIPELINED" --describe source-s3 >/dev/null 2>&1; then
  echo "SKIP: the source-s3 plugin is not built (PIPELINED_PLUGIN_PATH=${PIPELINED_PLUGIN_PATH:-})"
  exit 77
fi
[ -r "$conf" ] || { echo "FAIL: $conf is missing" >&2; exit 1; }

t_start=$(date +%s.%N)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-inventory-volume.XXXXXX")
daemon=
log=
rejects=$work/rejected.jsonl
step=setup

show_log() {
  if [ -n "$log" ] && [ -f "$log" ]; then
    echo "---- last lines of the daemon's log ($log):" >&2
    tail -n 40 "$log" >&2
  fi
  if [ -s "$rejects" ]; then
    echo "---- dead letter ($rejects, $(wc -l <"$rejects") lines):" >&2
    head -n 10 "$rejects" >&2
  fi
  echo "----" >&2
}
fail() { echo "FAIL ($step): $*" >&2; show_log; exit 1; }
ok() { echo "ok: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
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

# ---- Helpers (boto3, one process per call) ----
py=$work/volume.py
cat >"$py" <<'PY'
import csv, json, os, sys, time
from datetime import date, timedelta
import boto3
from botocore.config import Config

def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

def client(service):
    # aws-env.sh exported loopback endpoints only.
    ep = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ["AWS_ENDPOINT_URL"]
    return boto3.client(service, endpoint_url=ep, region_name=os.environ["AWS_REGION"],
                        config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                      read_timeout=120))

# gen OUT ROWS VARIANT: a deterministic inventory file; product_id#location
# is unique per row (10 locations per product), so ROWS rows are ROWS items.
# Variant 2 has other quantities and dates than variant 1.
def cmd_gen(out, rows, variant):
    rows, variant = int(rows), int(variant)
    base = date(2023, 1, 1) if variant == 1 else date(2024, 2, 1)
    days = [(base + timedelta(d)).isoformat() for d in range(366)]
    with open(out, "w", newline="") as f:
        f.write("product_id,location,quantity,update_date\n")
        for i in range(rows):
            q = (i * 7919 + variant * 104729) % 10000
            f.write(f"P{i // 10:06d},Warehouse {'ABCDEFGHIJ'[i % 10]},{q},{days[(i * 31 + variant) % 366]}\n")

def count_table(ddb, table):
    total, kw = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kw)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]

def count_queue(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])
            + int(a.get("ApproximateNumberOfMessagesDelayed", 0)))

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X", "x")

# wait MODE PID TABLE GOAL TIMEOUT QUEUE_URL...: mode "settled": polls until
# every queue is empty and the table holds GOAL items; mode "atleast": until
# the table holds at least GOAL items. Prints progress every ~10 s to stderr
# and "SECONDS ITEMS QUEUE_MESSAGES..." at the end; fails when PID dies, or
# at once when a queue given as "dlq=URL" (a DLQ, not waited for) is not
# empty.
# Counting a table is a full scan, which costs dynalite about 3 s of CPU at
# 100,000 items (it would slow the daemon down), so "settled" counts it only
# when the queues are empty and every 30 s; queue counts are cheap.
def cmd_wait(mode, pid, table, goal, timeout, *queues):
    goal, timeout = int(goal), float(timeout)
    dlqs = [q[4:] for q in queues if q.startswith("dlq=")]
    queues = [q for q in queues if not q.startswith("dlq=")]
    ddb, sqs = client("dynamodb"), client("sqs")
    start = time.monotonic()
    next_report, next_count = start + 10, start
    n, qs = None, []
    while True:
        t = time.monotonic() - start
        if mode == "atleast":
            n = count_table(ddb, table)
            if n >= goal:
                qs = [count_queue(sqs, q) for q in queues]
                print(f"{t:.1f} {n} {' '.join(map(str, qs))}")
                return
        else:
            qs = [count_queue(sqs, q) for q in queues]
            if not any(qs) or time.monotonic() >= next_count:
                n = count_table(ddb, table)
                next_count = time.monotonic() + 30
                if n == goal and not any(qs):
                    print(f"{t:.1f} {n} {' '.join(map(str, qs))}")
                    return
        if n is not None and n > goal:
            die(f"the table holds {n} items, more than the {goal} rows")
        for q in dlqs:
            if count_queue(sqs, q):
                die(f"messages went to the DLQ {q}: {count_queue(sqs, q)}")
        if not alive(pid):
            die(f"the daemon (pid {pid}) died; table {n}, queue messages {qs}")
        if time.monotonic() >= next_report:
            if mode == "atleast":
                qs = [count_queue(sqs, q) for q in queues]
            print(f"   ... {t:.0f} s: {n} items in the table (counted every 30 s), "
                  f"messages in the queues {qs}", file=sys.stderr)
            next_report += 10
        if t > timeout:
            die(f"not done within {timeout:.0f} s: {n} items, messages in the queues {qs}")
        time.sleep(0.5 if mode == "atleast" else 2)

# verify TABLE CSV: the table holds exactly the typed rows of CSV, nothing
# else: id, product_id, location, update_date (S), quantity (N), a version
# (S) made of the update_date, the upload's time and the line, no other
# attribute, no other item.
def cmd_verify(table, path):
    with open(path, newline="") as f:
        want = {}
        for r in csv.DictReader(f):
            k = f"{r['product_id']}#{r['location']}"
            want[k] = {"id": {"S": k}, "product_id": {"S": r["product_id"]},
                       "location": {"S": r["location"]}, "quantity": {"N": str(int(r["quantity"]))},
                       "update_date": {"S": r["update_date"]}}
    ddb = client("dynamodb")
    got, kw = {}, {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kw)
        for item in page["Items"]:
            k = item["id"]["S"]
            if k in got:
                die(f"the scan returned {k!r} twice")
            v = item.pop("version", {}).get("S", "").split(" ")
            if len(v) != 3 or v[0] != item.get("update_date", {}).get("S", "") + "T00:00:00.000000Z":
                die(f"item {k!r}: version {' '.join(v)!r} is not update_date, upload time, line")
            got[k] = item
        if "LastEvaluatedKey" not in page:
            break
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    bad = [k for k in want if got.get(k) != want[k]]
    extra = sorted(set(got) - set(want))
    if bad or extra or len(got) != len(want):
        for k in bad[:5]:
            print(f"item {k!r}: have {got.get(k)}, want {want[k]}", file=sys.stderr)
        die(f"{len(got)} items, want {len(want)}: {len(bad)} missing or different, {len(extra)} unexpected "
            f"{extra[:5]}")
    print(len(got))

# count TABLE: the items of TABLE.
def cmd_count(table):
    print(count_table(client("dynamodb"), table))

# queues URL...: the messages (visible, in flight, delayed) of each queue.
def cmd_queues(*urls):
    sqs = client("sqs")
    print(" ".join(str(count_queue(sqs, u)) for u in urls))

{"gen": cmd_gen, "wait": cmd_wait, "verify": cmd_verify, "count": cmd_count,
 "queues": cmd_queues}[sys.argv[1]](*sys.argv[2:])
PY
vol() { "${AWS_ENV_PYTHON:-python3}" "$py" "$@"; }

# upload FILE KEY: puts FILE as KEY and publishes its S3 event to $events
# (what S3 would send, which fauxqs does not).
upload() {
  local etag size
  aws s3 cp --quiet "$1" "s3://$bucket/$2" || fail "upload of $2"
  read -r size etag < <(aws s3api head-object --bucket "$bucket" --key "$2" \
                          --query '[ContentLength, ETag]' --output text) || fail "head-object $2"
  aws_publish_s3_event "$events" "$bucket" "$2" "$size" "$etag" || fail "publishing the event of $2"
}

# start CONF NAME: the daemon on CONF, its log $work/NAME.log.
start() {
  log=$work/$2.log
  INVENTORY_BUCKET=$bucket INVENTORY_EVENTS_QUEUE_URL=$events \
    INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table \
    INVENTORY_REJECTS=$rejects \
    "$PIPELINED" -c "$1" 2>"$log" &
  daemon=$!
}

# peak_rss: of the running daemon (the libtool wrapper execs the binary, so
# $daemon is the daemon itself). cpu_seconds PID: its user + system time.
peak_rss() { awk '/^VmHWM:/ { print $2 }' "/proc/$daemon/status"; }
cpu_seconds() {
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) }
  # utime and stime, fields 14 and 15 of stat: 12 and 13 after the name.
  echo "$stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($12 + $13) / hz }'
}
cpu_since() { awk -v a="$1" -v b="$(cpu_seconds "$2")" 'BEGIN { printf "%.1f", b - a }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# stop: SIGTERM drains and exits 0.
stop() {
  local rc=0
  kill -TERM "$daemon"
  for _ in $(seq 1 600); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$daemon" 2>/dev/null && fail "the daemon did not stop within 60 s of SIGTERM"
  wait "$daemon" || rc=$?
  daemon=
  [ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0"
}

bucket=inventory-volume
aws_make_bucket "$bucket"

# ---- 1. 100,000 rows through etc/inventory.conf as shipped ----
step="1 (volume)"
events=$(aws_make_queue volume-events)
updates=$(aws_make_queue volume-updates 300 volume-updates-dlq 5)
dlq=$(aws_queue_url volume-updates-dlq)
table=inventory_volume
aws_make_table "$table"
csv1=$work/stock-1.csv
vol gen "$csv1" "$rows" 1
start "$conf" daemon-1
echo "load average before: $(loadavg) (the run time depends on what else the machine runs)"
ddb_cpu0=$(cpu_seconds "$AWS_ENV_DYNALITE_PID")
sqs_cpu0=$(cpu_seconds "$AWS_ENV_FAUXQS_PID")
t0=$(now)
upload "$csv1" incoming/stock-1.csv
res=$(vol wait settled "$daemon" "$table" "$rows" "$timeout_s" "$events" "$updates" "dlq=$dlq") ||
  fail "the $rows rows did not all reach the table"
elapsed=$(since "$t0")
rss=$(peak_rss)
cpu=$(cpu_seconds "$daemon")
emu_cpu="dynalite $(cpu_since "$ddb_cpu0" "$AWS_ENV_DYNALITE_PID") s, fauxqs $(cpu_since "$sqs_cpu0" "$AWS_ENV_FAUXQS_PID") s"
stop
echo "peak RSS: $rss KiB"
echo "elapsed: $elapsed s from upload to $rows items in the table and empty queues"
echo "throughput: $(awk -v n="$rows" -v t="$elapsed" 'BEGIN { printf "%.0f", n / t }') rows/s end to end"
echo "daemon CPU: $cpu s (user + system); emulators: $emu_cpu; load average after: $(loadavg)"
[ "$rss" -lt "$rss_limit_kib" ] || fail "peak RSS $rss KiB, limit $rss_limit_kib KiB (64 MiB)"
[ ! -s "$rejects" ] || fail "rows were rejected"
[ "$(vol queues "$dlq")" = 0 ] || fail "messages ended in the updates queue's DLQ"
t1=$(now)
n=$(vol verify "$table" "$csv1") || fail "the table is not the file's typed rows"
echo "   (the whole table compared to the file in $(since "$t1") s)"
ok "1: $n rows -> $n items, exactly the typed rows; peak RSS $rss KiB < 64 MiB; exit 0 on SIGTERM"

# ---- 2. SIGKILL in the middle of a 100,000-row file, then a restart ----
step="2 (kill)"
# The visibility timeouts only decide how long the messages the killed
# daemon held stay invisible; 300 s would make this test wait 5 minutes for
# nothing. The shipped config sets none (the daemon reads each queue's own),
# so this part's queues are made with 20 s (the live daemon extends them
# every 10 s) and the config runs as shipped.
fast=$conf
if grep -Eq '^[[:space:]]*visibility_timeout[[:space:]]*=' "$conf"; then
  fail "$conf sets a visibility_timeout: the queues' 20 s would not apply"
fi
out=$(INVENTORY_BUCKET=$bucket INVENTORY_EVENTS_QUEUE_URL=$events INVENTORY_UPDATES_QUEUE_URL=$updates \
      INVENTORY_TABLE=$table "$PIPELINED" --check -c "$fast" 2>&1) || fail "$fast does not pass --check: $out"

events=$(aws_make_queue kill-events 20)
updates=$(aws_make_queue kill-updates 20 kill-updates-dlq 5)
dlq=$(aws_queue_url kill-updates-dlq)
table=inventory_kill
aws_make_table "$table"
csv2=$work/stock-2.csv
vol gen "$csv2" "$rows" 2
cmp -s "$csv1" "$csv2" && fail "the two files are the same"
kill_at=$((rows / 50))
start "$fast" daemon-2a
t0=$(now)
upload "$csv2" incoming/stock-2.csv
res=$(vol wait atleast "$daemon" "$table" "$kill_at" "$timeout_s" "$events" "$updates") ||
  fail "the table never reached $kill_at items"
# (stderr off: bash would report the job as "Killed")
{ kill -KILL "$daemon" && wait "$daemon"; } 2>/dev/null || true
daemon=
read -r _ at_kill ev_at_kill up_at_kill <<<"$res"
# Counted again now that it is dead: what it left.
after_kill=$(vol count "$table")
if [ "$ev_at_kill" = 0 ]; then
  reading="the file had been read whole (its event message deleted)"
else
  reading="the file was still being read (its event message not yet deleted)"
fi
echo "killed after $(since "$t0") s: $after_kill items in the table (the poll saw $at_kill);" \
  "$up_at_kill messages in the updates queue; $reading"
[ "$after_kill" -lt "$rows" ] || fail "the daemon finished the file before it was killed"
start "$fast" daemon-2b
res=$(vol wait settled "$daemon" "$table" "$rows" "$timeout_s" "$events" "$updates" "dlq=$dlq") ||
  fail "after the restart, the $rows rows did not all reach the table"
rss=$(peak_rss)
cpu=$(cpu_seconds "$daemon")
stop
echo "restart: $rows items and empty queues $(since "$t0") s after the upload;" \
  "restarted daemon peak RSS $rss KiB, CPU $cpu s"
[ "$rss" -lt "$rss_limit_kib" ] || fail "restarted daemon: peak RSS $rss KiB, limit $rss_limit_kib KiB (64 MiB)"
[ ! -s "$rejects" ] || fail "rows were rejected"
[ "$(vol queues "$dlq")" = 0 ] || fail "messages ended in the updates queue's DLQ"
n=$(vol verify "$table" "$csv2") || fail "the table is not what a run without the kill leaves"
ok "2: killed at $after_kill of $rows items, restarted: exactly the $n typed rows, queues and DLQ empty"

echo "run time: $(since "$t_start") s"
