#!/usr/bin/env bash
# etc/inventory.conf (reading the queues' own visibility timeouts, 20 s)
# on fauxqs + dynalite with 10% of the daemon's AWS requests failing: every
# endpoint of the daemon
# is tests/tools/aws_proxy.py in its faults mode (seeded), which answers
# 500, 503 (SlowDown for S3), the service's throttling error, resets the
# connection, or fails about half the entries of an SQS batch request,
# half of them before the request reaches the emulator and half after it
# was carried out (a SendMessageBatch that did send, an UpdateItem that did
# write, a GetObject cut in the middle of its body).
# (S3's few requests fail at 50%, see below.)
# Input: 4 files of 800 rows over 400 items (with ties on update_date that
# the upload time or the line decides) and 5 bad rows in each.
#   - the table ends exactly as a fault-free run leaves it (computed from
#     the input in faults_helper.py: every attribute, the version too);
#   - both queues drain, the DLQ stays empty;
#   - every bad row is in the dead letter with a reason naming its column;
#   - the proxy's counters show the faults of every kind (printed);
#   - it is all over within 150 s, and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon log, input, and the proxy's
# log of every fault it injected);
# FAULTS_SEED changes the seed (default 20) and FAULTS_RATE the rate (0.1),
# for trying other draws out.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-errors
# shellcheck source=faults_lib.sh
source "$(cd "$(dirname "$0")" && pwd)/faults_lib.sh"

faults_proxy_mixed "${FAULTS_SEED:-20}" "${FAULTS_RATE:-0.1}"
faults_upload
step=run
faults_start
faults_settle "${FAULTS_BOUND:-$(soak_or 150 900)}"
stats=$(proxy_stats)
echo "   proxy: $stats"
faults_finish
proxy_all_faults "$stats" "${FAULTS_RATE:-0.1}"
ok "under $(echo "$stats" | "${AWS_ENV_PYTHON:-python3}" -c 'import json,sys; s=json.load(sys.stdin); print(s["faults"], "faults in", s["requests"], "requests")'):" \
  "the fault-free table ($items items) after $settled s, queues and DLQ empty"
echo "   ($(($(date +%s) - t_start)) s in all)"
