#!/usr/bin/env bash
# No secret leaves the daemon: the inventory system runs on moto at the
# most verbose level (log_level = "debug", /metrics served) with credentials
# whose secret key and session token are distinctive strings, a second
# time with credentials printed by a profile's credential_process, and a
# third through a role chain (a source profile's keys sign an STS
# AssumeRole at moto). Good rows, bad rows (to the dead letter) and poison
# messages go through; then everything it wrote (its log, a scrape of
# /metrics, the dead letter) is searched for the secret key, the session
# token, the credential_process output's secrets, the source profile's
# secret key and a SigV4 signature: none may appear.
#
# Needs PIPELINED and a PIPELINED_PLUGIN_PATH with the AWS plugins; skipped
# (77) without source-s3.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
sample=${PIPELINED_TEST_DATA:-$top_srcdir/tests/data}/sample_inventory.csv
conf=$top_srcdir/etc/inventory.conf

if [ "${PIPELINED_TEST_SCOPE:-full}" != full ]; then
  echo "SKIP: run once per scripts/test, in its gcc build"
  exit 77
fi
if ! "$PIPELINED" --describe source-s3 >/dev/null 2>&1; then
  echo "SKIP: the source-s3 plugin is not built"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-secrets.XXXXXX")
daemon=
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill -KILL "$daemon" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_moto

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret_key="SECRETKEYsecretkey0123456789SECRETKEYxy"
session_token="SESSIONTOKENsessiontoken0123456789SESSIONTOKEN"
process_key="PROCESSSECRETprocesssecret0123456789PROCESS"
process_token="PROCESSTOKENprocesstoken0123456789PROCESSTOKEN"

# run_once NAME [env ARGS...]: the inventory daemon (its environment
# changed by the env(1) ARGS) on fresh resources named NAME, at debug
# level, until the sample, a file of bad rows and two poison messages are
# through; leaves NAME.log, NAME.metrics and NAME.rejects.
run_once() {
  local name=$1 bucket=$1-bucket table=$1-table
  shift
  aws_make_bucket "$bucket"
  local events updates
  events=$(aws_make_queue "$name-events")
  aws_bucket_notify "$bucket" "$events"
  updates=$(aws_make_queue "$name-updates" 30)
  aws_make_table "$table"
  { printf 'log_level = "debug"\nmetrics_listen = "127.0.0.1:%s"\n' "$port"
    aws_short_polls "$conf"; } > "$work/$name.conf"
  env "$@" INVENTORY_BUCKET="$bucket" INVENTORY_EVENTS_QUEUE_URL="$events" \
    INVENTORY_UPDATES_QUEUE_URL="$updates" INVENTORY_TABLE="$table" \
    INVENTORY_REJECTS="$work/$name.rejects" \
    "$PIPELINED" -c "$work/$name.conf" 2> "$work/$name.log" &
  daemon=$!
  printf 'product_id,location,quantity,update_date\nP1,A,lots,2023-01-01\n' > "$work/bad.csv"
  python3 - "$bucket" "$updates" "$sample" "$work/bad.csv" <<'PY'
import os, sys, boto3
kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"],
          aws_access_key_id="test", aws_secret_access_key="test")
s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
bucket, updates, sample, bad = sys.argv[1:]
s3.put_object(Bucket=bucket, Key="sample.csv", Body=open(sample, "rb").read())
s3.put_object(Bucket=bucket, Key="bad.csv", Body=open(bad, "rb").read())
sqs.send_message(QueueUrl=updates, MessageBody="not json")
sqs.send_message(QueueUrl=updates, MessageBody='{"product_id": 5}')
PY
  # 21 rows in the table, and 3 records in the dead letter.
  local i
  for i in $(seq 1 240); do
    kill -0 "$daemon" 2>/dev/null || { tail -20 "$work/$name.log"; fail "$name: the daemon exited"; }
    if [ "$(aws_table_count "$table")" = 21 ] &&
       [ "$(wc -l < "$work/$name.rejects" 2>/dev/null || echo 0)" -ge 3 ]; then
      break
    fi
    sleep 0.25
  done
  [ "$(aws_table_count "$table")" = 21 ] || { tail -20 "$work/$name.log"; fail "$name: not 21 items"; }
  curl -sf "http://127.0.0.1:$port/metrics" -o "$work/$name.metrics" || fail "$name: /metrics"
  kill -TERM "$daemon"
  wait "$daemon" || fail "$name: the daemon exited non-zero after SIGTERM"
  daemon=
}

# leaks NAME SECRET...: no file NAME.* holds any of the secrets, nor a
# SigV4 signature.
leaks() {
  local name=$1 f s
  shift
  for f in "$work/$name".*; do
    for s in "$@"; do
      if grep -qF -- "$s" "$f"; then fail "$f holds a secret (${s:0:6}...)"; fi
    done
    if grep -qE 'Signature=[0-9a-f]{16}' "$f"; then fail "$f holds a SigV4 signature"; fi
  done
  grep -q "debug" "$work/$name.log" || fail "$name: the log is not at debug level"
}

run_once env1 AWS_SECRET_ACCESS_KEY="$secret_key" AWS_SESSION_TOKEN="$session_token"
leaks env1 "$secret_key" "$session_token"
ok "environment credentials: $(wc -l < "$work/env1.log") debug log lines, /metrics and $(wc -l < "$work/env1.rejects") dead letters hold no secret"

# A profile whose credentials come from credential_process.
mkdir -p "$work/home/.aws"
cat > "$work/home/creds.sh" <<SH
printf '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "$process_key", "SessionToken": "$process_token"}'
SH
printf '[profile proc]\ncredential_process = sh %s/creds.sh\n' "$work/home" > "$work/home/.aws/config"
: > "$work/home/.aws/credentials"
run_once proc -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  HOME="$work/home" AWS_CONFIG_FILE="$work/home/.aws/config" \
  AWS_SHARED_CREDENTIALS_FILE="$work/home/.aws/credentials" AWS_PROFILE=proc
grep -q "profile proc (credential_process)" "$work/proc.log" || fail "the proc run did not use credential_process"
leaks proc "$process_key" "$process_token"
ok "credential_process credentials: its output's secrets are in no log line, metric or dead letter"

# A role chain: profile base's keys sign an STS AssumeRole at moto
# (AWS_ENDPOINT_URL), whose answer then signs everything else.
base_key="BASESECRETbasesecret0123456789BASESECRETxyz"
printf '[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = %s\n' "$base_key" > "$work/home/.aws/config"
printf '[profile chain]\nrole_arn = arn:aws:iam::123456789012:role/pipelined\nsource_profile = base\nexternal_id = ext-1\n' >> "$work/home/.aws/config"
run_once chain -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  HOME="$work/home" AWS_CONFIG_FILE="$work/home/.aws/config" \
  AWS_SHARED_CREDENTIALS_FILE="$work/home/.aws/credentials" AWS_PROFILE=chain
grep -q "credentials from profile chain (assume role arn:aws:iam::123456789012:role/pipelined via profile base), until " "$work/chain.log" ||
  { grep credentials "$work/chain.log" >&2; fail "the chain run did not assume the role"; }
leaks chain "$base_key"
ok "role chain: AssumeRole signed with the source profile's keys, which are in no log line, metric or dead letter"
