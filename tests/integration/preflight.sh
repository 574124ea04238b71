#!/usr/bin/env bash
# pipelined --check --live against moto_server (loopback, a free port):
#   good:     every queue, bucket and table there, the region in the aws {}
#             block, the reader's queue with a redrive policy: exit 0, the
#             credentials' provider and the caller's identity said, one ok
#             line per resource, no warning, no failure;
#   risky:    a read queue without a redrive policy and a visibility
#             timeout shorter than twice request_timeout, the region from
#             AWS_REGION: warnings, exit 0; with --strict exit 1;
#   wrong:    a table whose key schema differs from the sink's key: FAIL;
#   missing:  a missing bucket, table and queue: one FAIL each, exit 1.
# No line ever holds the secret key.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
. "$here/needs.sh"
needs_full_build_and "the preflight test" sink-dynamodb
for plugin in source-sqs source-s3 sink-sqs; do
  "$PIPELINED" --describe "$plugin" >/dev/null 2>&1 ||
    { echo "SKIP: the $plugin plugin is not built"; exit 77; }
done
# shellcheck source=aws-env.sh
. "$here/aws-env.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
aws_env_moto

aws_make_bucket uploads >/dev/null
good_queue=$(aws_make_queue updates 300 updates-dlq 5)
plain_queue=$(aws_make_queue plain 10)
out_queue=$(aws_make_queue out)
python3 - <<'PY'
import os, boto3
ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                   region_name=os.environ["AWS_REGION"])
def table(name, keys):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys])
table("Inventory", [("product_id", "HASH"), ("location", "RANGE")])
table("Legacy", [("id", "HASH")])
PY

# config NAME REGION_LINE READ_QUEUE TABLE BUCKET WRITE_QUEUE
config() {
  cat >"$work/$1.conf" <<CONF
aws {
  $2
  endpoint = "$AWS_ENDPOINT_URL"
  max_attempts = 1
}
pipeline "updates" {
  source "sqs" { queue_url = "$3" }
  sink "dynamodb" {
    table = "$4"
    mode = "update"
    key { product_id = "\${product_id}"; location = "\${location}" }
  }
}
pipeline "uploads" {
  source "s3" { bucket = "$5" }
  transform "csv" { }
  sink "sqs" { queue_url = "$6" }
}
CONF
}

# run NAME [FLAGS...]: the report in $work/NAME.out, the status in $status.
run() {
  local name=$1
  shift
  set +e
  "$PIPELINED" --check --live "$@" -c "$work/$name.conf" >"$work/$name.out" \
    2>"$work/$name.err"
  status=$?
  set -e
  echo "---- $name ($*): exit $status"
  cat "$work/$name.out"
  [ "$status" -ne 2 ] || { cat "$work/$name.err" >&2; fail "$name: not a valid config"; }
  if grep -q "$AWS_SECRET_ACCESS_KEY_CANARY" "$work/$name.out" "$work/$name.err"; then
    fail "$name: the secret key was printed"
  fi
}
has() { grep -qF -- "$2" "$work/$1.out" || fail "$1: no line with '$2'"; }
hasnt() { ! grep -qF -- "$2" "$work/$1.out" || fail "$1: a line with '$2'"; }

# A secret no output may show.
AWS_SECRET_ACCESS_KEY_CANARY=preflight-canary-secret-7f3a
export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY_CANARY

config good 'region = "us-east-1"' "$good_queue" Inventory uploads "$out_queue"
run good
[ "$status" -eq 0 ] || fail "good: exit $status"
has good "ok   aws: credentials from environment"
has good "ok   aws: identity arn:aws:"
has good "(account 123456789012)"
has good "ok   pipeline updates: source sqs: sqs in region us-east-1 (aws {} block)"
has good "ok   pipeline updates: source sqs: queue updates, visibility timeout 300s (the queue's), redrive to updates-dlq after 5 receives"
has good "ok   pipeline updates: sink dynamodb: table Inventory (keys product_id (HASH, S), location (RANGE, S))"
has good "ok   pipeline uploads: source s3: bucket uploads"
has good "-    pipeline uploads: transform csv: nothing to check live"
has good "ok   pipeline uploads: sink sqs: queue out"
has good "0 warning(s), 0 failed"
[ "$(grep -c 'aws: identity' "$work/good.out")" -eq 1 ] ||
  fail "good: the identity is said more than once"

config risky '' "$plain_queue" Inventory uploads "$out_queue"
sed -i 's/max_attempts = 1/max_attempts = 1\n  request_timeout = "10s"/' "$work/risky.conf"
run risky
[ "$status" -eq 0 ] || fail "risky: warnings alone exit $status (expected 0)"
has risky "warn aws: region us-east-1 defaulted to AWS_REGION"
[ "$(grep -c 'defaulted' "$work/risky.out")" -eq 1 ] ||
  fail "risky: the defaulted region is said more than once"
has risky "warn pipeline updates: source sqs: queue plain has no redrive policy"
has risky "warn pipeline updates: source sqs: queue plain: visibility timeout 10s: the heartbeat extends messages in flight every 5s, but one extension may take up to request_timeout (10s)"
has risky " 0 failed"
run risky --strict
[ "$status" -eq 1 ] || fail "risky --strict: exit $status (expected 1)"

config wrong 'region = "us-east-1"' "$good_queue" Legacy uploads "$out_queue"
run wrong
[ "$status" -eq 1 ] || fail "wrong: exit $status (expected 1)"
has wrong "FAIL pipeline updates: sink dynamodb: table Legacy: its key is id (HASH, S), but the sink's key is product_id, location: DynamoDB would refuse every write"

missing_queue=${good_queue%/updates}/no-such-queue
config missing 'region = "us-east-1"' "$missing_queue" NoSuchTable no-such-bucket "$out_queue"
run missing
[ "$status" -eq 1 ] || fail "missing: exit $status (expected 1)"
has missing "FAIL pipeline updates: source sqs: queue no-such-queue: "
has missing "FAIL pipeline updates: sink dynamodb: table NoSuchTable: ResourceNotFoundException"
has missing "FAIL pipeline uploads: source s3: bucket no-such-bucket: no such bucket (HTTP 404)"
has missing "3 failed"
hasnt missing "ok   pipeline updates: sink dynamodb: table"

echo "ok: --check --live on moto: good, risky (warnings; --strict fails), wrong keys, missing resources"
