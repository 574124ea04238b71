#!/usr/bin/env bash
# A sink stalled for 60 s (scenario 8 of the fault tests): etc/inventory.conf
# (reading the queues' own visibility timeouts, 20 s) on fauxqs + dynalite,
# every endpoint of the daemon behind tests/tools/aws_proxy.py, which from
# the first DynamoDB request on holds every DynamoDB request for 60 s (no
# answer, no error) while S3 and SQS go on: the producer pipeline
# (csv-to-sqs) keeps reading the files and sending their rows to the
# updates queue while the consumer's sink (sink-dynamodb) is stalled.
# Input: 4 files of 3,000 rows over 400 items (8 x 4,000 under SOAK=1), 5 bad rows in each
# (faults_helper.py). The daemon's RSS is sampled every second.
#   - the producer sent rows while DynamoDB was stalled (the proxy's
#     counters), and the consumer did not take the backlog into memory:
#     5 s before the stall ends, most updates wait in the queue and the
#     daemon holds no more than its queues and batches can (2,288, from
#     the defaults); the peak RSS stays under 64 MiB;
#   - the work resumes after the stall: the table ends exactly as a
#     fault-free run leaves it, both queues drain, the DLQ stays empty,
#     every bad row is in the dead letter with a reason naming its column,
#     and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon and proxy logs, input, the
# RSS samples).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-stall
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
source "$here/needs.sh"
ROWS=${ROWS:-$(soak_or 3000 4000)}
STALL=${STALL:-60}
RSS_LIMIT_KIB=$((64 * 1024))
# What the consumer may hold with its sink stalled, from the defaults it
# runs with: the queues before transform-schema and sink-dynamodb (1024
# records each), sink-dynamodb's batches in flight (8 of 25) and
# source-sqs's receives (4 pollers of 10 messages).
MAX_IN_FLIGHT=$((2 * 1024 + 8 * 25 + 4 * 10))
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"

faults_proxy --mode pass --stall "dynamodb@1:$STALL"
faults_upload
step=run
faults_start
# VmRSS of the daemon every second, until it is gone.
rss_log=$work/rss.txt
(
  while kv=$(grep '^VmRSS:' "/proc/$daemon/status" 2>/dev/null); do
    echo "$(date +%s) $(echo "$kv" | awk '{ print $2 }')" >>"$rss_log"
    sleep 1
  done
) &
sampler=$!
proxy_said "dynamodb stalled for $STALL" 60 "DynamoDB was not stalled"
t_stall=$(date +%s)
# Shortly before the stall ends: what the daemon holds of the updates queue
# (in flight) and what waits there (visible), from the emulator.
sleep $((STALL - 5))
read -r visible inflight < <(fx split "$updates") || fail "cannot read the updates queue's counts"
proxy_said "dynamodb goes on" 30 "the stall did not end"
t_resume=$(date +%s)
stats=$(proxy_stats) || fail "no stats from the proxy"
sends_before=$(json_get "$stats" stall operations_before "sqs SendMessageBatch")
sends_after=$(json_get "$stats" stall operations_after "sqs SendMessageBatch")
held=$(json_get "$stats" stall held)
during=$((sends_after - sends_before))
echo "   DynamoDB stalled for $STALL s, $((t_stall - t_daemon)) s after the start: $held requests held;" \
  "the producer sent $during SendMessageBatch requests meanwhile ($sends_before before)"
[ "$during" -gt 0 ] || fail "the producer sent nothing while the sink was stalled"
[ "$held" -gt 0 ] || fail "the stall held no request"
echo "   5 s before the end of the stall: $visible updates waiting in the queue, $inflight in the daemon"
[ "$visible" -ge $((FILES * ROWS / 2)) ] || fail "only $visible updates waited in the queue: no backlog"
[ "$inflight" -le "$MAX_IN_FLIGHT" ] ||
  fail "the daemon held $inflight updates while its sink was stalled, more than $MAX_IN_FLIGHT"
faults_settle "$(soak_or 240 900)"
t_done=$(date +%s)
faults_finish
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
read -r peak peak_stall samples < <(awk -v a="$t_stall" -v b="$t_resume" '
  { if ($2 > peak) peak = $2; if ($1 >= a && $1 <= b && $2 > ps) ps = $2; n++ }
  END { print peak + 0, ps + 0, n + 0 }' "$rss_log")
echo "   RSS: peak $peak KiB in $samples samples (one a second), $peak_stall KiB during the stall"
[ "$samples" -ge "$STALL" ] || fail "only $samples RSS samples"
[ "$peak" -lt "$RSS_LIMIT_KIB" ] || fail "peak RSS $peak KiB, not under $RSS_LIMIT_KIB KiB"
ok "a sink stalled for $STALL s: the producer went on ($during batches sent meanwhile), peak RSS" \
  "$peak KiB (< 64 MiB); the work resumed, the fault-free table ($items items)" \
  "$((t_done - t_resume)) s after the stall, queues and DLQ empty"
echo "   ($(($(date +%s) - t_start)) s in all)"
