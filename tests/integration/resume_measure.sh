#!/usr/bin/env bash
# The figure of docs/reliability.md for the issue's case: source-s3 in
# notifications mode, s3 -> csv -> sqs on fauxqs, every request through
# tests/tools/aws_proxy.py (which counts the SendMessageBatch entries the
# emulator queued). An object of ROWS rows (1,000,000 by default) is
# announced; the daemon is killed (SIGKILL) once about half of the rows are
# queued, and started again: the event comes back after the queue's
# visibility timeout (5 s), the ledger under state_dir says how far the
# object's rows were committed, and the object is taken up there. Prints
# the rows queued twice (entries queued less ROWS). Not part of make check
# (a few minutes); fails only when rows are missing.
# Run from a build directory:
#   PIPELINED=./pipelined PIPELINED_PLUGIN_PATH=$PWD/plugins \
#     ../../tests/integration/resume_measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PIPELINED:?set PIPELINED}"
rows=${ROWS:-1000000}
work=$(mktemp -d "${TMPDIR:-/tmp}/resume-measure.XXXXXX")
daemon=
proxy=
cleanup() {
  [ -z "$daemon" ] || kill -9 "$daemon" 2>/dev/null || true
  [ -z "$proxy" ] || kill "$proxy" 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

awk -v n="$rows" -f "$here/../data/inventory_rows.awk" > "$work/big.csv"
source "$here/aws-env.sh"
aws_env_fauxqs
aws_make_bucket mbucket
events=$(aws_make_queue m-events 5)
out=$(aws_make_queue m-out 60)
# Multipart (aws s3 cp): fauxqs refuses one PutObject of 36 MB.
aws s3 cp --quiet "$work/big.csv" s3://mbucket/in/big.csv
etag=$(aws s3api head-object --bucket mbucket --key in/big.csv --query ETag --output text | tr -d '"')
"${AWS_ENV_PYTHON:-python3}" "$here/../tools/aws_proxy.py" --upstream "$AWS_ENDPOINT_URL" \
  --upstream-s3 "$AWS_ENDPOINT_URL_S3" --upstream-sqs "$AWS_ENDPOINT_URL_SQS" \
  --upstream-dynamodb "$AWS_ENDPOINT_URL_DYNAMODB" --max-wait 2 \
  --port-file "$work/proxy.port" 2>"$work/proxy.log" &
proxy=$!
for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
proxy_url=http://127.0.0.1:$(cat "$work/proxy.port")
queued() {
  curl -sf "$proxy_url/__proxy/stats" |
    "${AWS_ENV_PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["entries"].get("queued", 0))'
}
aws_publish_s3_event "$events" mbucket in/big.csv "$(stat -c %s "$work/big.csv")" "$etag"

cat > "$work/m.conf" <<CONF
pipeline "m" {
  source "s3" {
    notifications = "$events"
    bucket = "mbucket"
    state_dir = "$work/state"
    wait_time = "1s"
  }
  transform "csv" {
    columns = ["product_id:string:required", "location:string",
               "quantity:int", "update_date:date"]
  }
  sink "sqs" { queue_url = "$out" }
}
CONF
start() {
  AWS_ENDPOINT_URL=$proxy_url AWS_ENDPOINT_URL_S3=$proxy_url AWS_ENDPOINT_URL_SQS=$proxy_url \
    "$PIPELINED" -c "$work/m.conf" 2>"$work/$1.log" &
  daemon=$!
}
t0=$(date +%s)
start run1
while [ "$(queued)" -lt $((rows / 2)) ]; do
  kill -0 "$daemon" 2>/dev/null || { cat "$work/run1.log"; fail "the daemon ended"; }
  sleep 0.02
done
kill -9 "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
at_kill=$(queued)
echo "killed after $at_kill of $rows rows queued ($(($(date +%s) - t0)) s); ledger: $(tail -n 1 "$work"/state/*.ledger)"
start run2
for _ in $(seq 1 3000); do
  [ "$(queued)" -ge "$rows" ] && [ "$(aws_queue_count "$events")" = 0 ] && break
  sleep 0.2
done
sleep 2
kill -TERM "$daemon"; wait "$daemon" || true; daemon=
total=$(queued)
grep -o "resuming at byte [0-9]* (line [0-9]*)" "$work/run2.log" || fail "no resume: $(tail -5 "$work/run2.log")"
[ "$total" -ge "$rows" ] || fail "$total rows queued for $rows"
twice=$((total - rows))
echo "rows queued twice: $twice of $rows ($(awk -v t="$twice" -v n="$rows" 'BEGIN { printf "%.3f", 100 * t / n }')%); $total SendMessageBatch entries queued in all; $(($(date +%s) - t0)) s"
