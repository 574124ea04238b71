#!/usr/bin/env bash
# etc/inventory.conf (reading the queues' own visibility timeouts, 20 s)
# on fauxqs + dynalite, every endpoint of the daemon behind
# tests/tools/aws_proxy.py, which goes down
# for 10 s (connections refused, the open ones reset: S3 downloads, SQS
# sends and receives, DynamoDB writes) in the middle of both pipelines'
# work: at the 20th DynamoDB request, while the files are still being
# read (the test checks from the proxy's counters). Input: 4 files of 1,500 rows
# over 400 items (8 x 4,000 under SOAK=1), 5 bad rows
# in each (faults_helper.py).
#   - the table ends exactly as a fault-free run leaves it (every
#     attribute, the version too); both queues drain, the DLQ stays empty;
#   - every bad row is in the dead letter with a reason naming its column;
#   - it is all over within 120 s of the outage, and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon and proxy logs, input).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-down
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
source "$here/needs.sh"
ROWS=${ROWS:-$(soak_or 1500 4000)}
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"

# Down at the 20th DynamoDB request: the consumer is writing, and the
# producer still reading (checked below from what the proxy had seen).
faults_proxy --mode pass --down dynamodb@20:10
faults_upload
step=run
faults_start
proxy_said 'down for 10' 60 "the proxy did not go down"
t_down=$(date +%s)
sleep 10
for _ in $(seq 1 50); do stats=$(proxy_stats) && break; sleep 0.1; done
[ -n "$stats" ] || fail "the proxy did not come back"
sends=$(json_get "$stats" down operations_before "sqs SendMessageBatch")
writes=$(json_get "$stats" down operations_before "dynamodb UpdateItem")
reset=$(json_get "$stats" down connections_reset)
echo "   down for 10 s $((t_down - t_daemon)) s after the start, after $writes UpdateItem and" \
  "$sends SendMessageBatch requests (of $((FILES * ROWS / 10)) or more); $reset connections reset"
[ "$sends" -lt $((FILES * ROWS / 10)) ] ||
  fail "the files were read before the outage: it does not test what it says"
[ "$reset" -gt 0 ] || fail "the outage reset no connection"
faults_settle "$(soak_or 120 600)"
faults_finish
ok "down for 10 s in the middle: the fault-free table ($items items) $settled s after the proxy came back," \
  "queues and DLQ empty"
echo "   ($(($(date +%s) - t_start)) s in all)"
