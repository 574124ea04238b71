# The common part of the fault tests (faults_errors.sh, faults_down.sh,
# faults_stall.sh),
# sourced after the caller set $name (the work directory's name). It
# starts fauxqs + dynalite and one tests/tools/aws_proxy.py in front of all
# three services, makes the bucket, the queues (20 s visibility timeouts,
# so that what a fault left invisible comes back quickly: the daemon reads
# them, as etc/inventory.conf sets none) and the table. Then the caller
# calls:
#
#   faults_proxy ARGS...   the proxy (its mode and faults); $proxy_url
#   proxy_said TEXT SECS WHAT   until the proxy logged TEXT
#   faults_upload          FILES files of ROWS rows (with bad rows) uploaded,
#                          their S3 events published (fauxqs sends none),
#                          the expected table computed
#   faults_start           the daemon, every endpoint at the proxy
#   faults_settle TIMEOUT  until the table is the expected one and the
#                          queues are empty; $settled (seconds)
#   faults_finish          SIGTERM (exit 0 wanted), the DLQ empty, the
#                          dead letter holds every bad row with a reason
#                          naming its column, and nothing else
#
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # t_start, t_daemon, settled, items: the callers'

: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf
proxy_py=$top_srcdir/tests/tools/aws_proxy.py
helper=$top_srcdir/tests/integration/faults_helper.py

# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the fault tests" source-s3

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-$name.XXXXXX")
daemon=
proxy=
step=setup
rejects=$work/rejected.jsonl
FILES=${FILES:-4}
ROWS=${ROWS:-800}

fail() {
  echo "FAIL ($step): $*" >&2
  for f in "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f:" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}
ok() { echo "ok: $*"; }

cleanup() {
  if [ -n "$daemon" ]; then
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  if [ -n "$proxy" ]; then
    kill "$proxy" 2>/dev/null || true
    wait "$proxy" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
# Set before aws-env.sh installs its own, which chains to it.
trap cleanup EXIT

# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_fauxqs
fx() { "${AWS_ENV_PYTHON:-python3}" "$helper" "$@"; }

bucket=inventory-faults
aws_make_bucket "$bucket"
events=$(aws_make_queue faults-events 20)
# More receives than etc/inventory.conf's 5 before the DLQ: an answer to
# ReceiveMessage lost on the way back counts as a receive.
updates=$(aws_make_queue faults-updates 20 faults-updates-dlq 10)
dlq=$(aws_queue_url faults-updates-dlq)
table=inventory_faults
aws_make_table "$table"

# The config as shipped: it sets no visibility_timeout, so the daemon uses
# the queues' own 20 s (faults_finish checks that it said so).
if grep -Eq '^[[:space:]]*visibility_timeout[[:space:]]*=' "$conf"; then
  fail "$conf sets a visibility_timeout: the queues' 20 s would not apply"
fi

faults_proxy() {
  "${AWS_ENV_PYTHON:-python3}" "$proxy_py" --upstream "$AWS_ENDPOINT_URL" \
    --upstream-s3 "$AWS_ENDPOINT_URL_S3" --upstream-sqs "$AWS_ENDPOINT_URL_SQS" \
    --upstream-dynamodb "$AWS_ENDPOINT_URL_DYNAMODB" --max-wait 2 \
    --port-file "$work/proxy.port" "$@" 2>"$work/proxy.log" &
  proxy=$!
  for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
  [ -s "$work/proxy.port" ] || fail "the proxy did not start"
  proxy_url=http://127.0.0.1:$(cat "$work/proxy.port")
}
proxy_stats() { curl -sf "$proxy_url/__proxy/stats"; }
# proxy_said TEXT SECONDS WHAT: waits until the proxy's log holds TEXT, or
# fails with "WHAT within SECONDS s".
proxy_said() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    grep -q "$1" "$work/proxy.log" && return 0
    sleep 0.1
  done
  grep -q "$1" "$work/proxy.log" || fail "$3 within $2 s"
}
# json_get JSON KEY...: the member at that path (0 when missing).
json_get() {
  "${AWS_ENV_PYTHON:-python3}" -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else 0)' "$@"
}

faults_upload() {
  local f size etag times=() nbad
  nbad=$(fx gen "$work" "$FILES" "$ROWS") || fail "cannot generate the input"
  for f in $(seq 0 $((FILES - 1))); do
    aws s3 cp --quiet "$work/f$f.csv" "s3://$bucket/incoming/f$f.csv" || fail "upload of f$f.csv"
    read -r size etag < <(aws s3api head-object --bucket "$bucket" --key "incoming/f$f.csv" \
                            --query '[ContentLength, ETag]' --output text) || fail "head-object f$f"
    # Distinct upload times, a quarter of a second apart.
    times+=("$(printf '2024-03-05T09:00:%02d.%03dZ' $((f / 4)) $((f % 4 * 250)))")
    aws_publish_s3_event "$events" "$bucket" "incoming/f$f.csv" "$size" "$etag" "${times[$f]}" ||
      fail "publishing the event of f$f"
  done
  items=$(fx expect "$work" "$bucket" "${times[@]}") || fail "cannot compute the expected table"
  echo "   input: $FILES files of $ROWS good rows and $nbad bad rows in all; $items items expected"
}

faults_start() {
  INVENTORY_BUCKET=$bucket INVENTORY_EVENTS_QUEUE_URL=$events \
    INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table \
    INVENTORY_REJECTS=$rejects AWS_ENDPOINT_URL=$proxy_url AWS_ENDPOINT_URL_S3=$proxy_url \
    AWS_ENDPOINT_URL_SQS=$proxy_url AWS_ENDPOINT_URL_DYNAMODB=$proxy_url \
    "$PIPELINED" -c "$conf" 2>"$work/daemon.log" &
  daemon=$!
  t_daemon=$(date +%s)
}

faults_settle() {
  settled=$(fx wait "$table" "$work/expected.json" "$1" "$events" "$updates") ||
    fail "the table did not become the fault-free one"
}

faults_finish() {
  local rc=0 out
  kill -TERM "$daemon"
  for _ in $(seq 1 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$daemon" 2>/dev/null && fail "the daemon did not stop within 30 s of SIGTERM"
  wait "$daemon" || rc=$?
  daemon=
  [ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0"
  [ "$(grep -c "visibility timeout: 20 s, the queue's own" "$work/daemon.log")" -ge 2 ] ||
    fail "the daemon did not use the queues' own visibility timeout (20 s)"
  [ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the updates queue's DLQ"
  [ -s "$rejects" ] || fail "the dead letter is empty"
  out=$(fx rejects "$work/bad.json" "$rejects") || fail "the dead letter is not the bad rows"
  read -r bad letters <<<"$out"
  echo "   dead letter: all $bad bad rows, in $letters letters (a file read again rejects again)," \
    "each reason naming the column"
  echo "   daemon log: $(grep -c ' warn ' "$work/daemon.log" || true) warnings," \
    "$(grep -c ' error ' "$work/daemon.log" || true) errors"
}
