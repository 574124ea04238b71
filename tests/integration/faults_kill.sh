#!/usr/bin/env bash
# SIGKILL at seeded points (scenario 4 of the fault tests):
# etc/inventory.conf (reading the queues' own visibility timeouts, 10 s)
# on fauxqs + dynalite, every endpoint of the daemon behind
# tests/tools/aws_proxy.py (which only counts), killed with SIGKILL at
# KILLS points drawn with a seeded generator across the run and started
# again at once each time (as systemd would). A point is a count of the
# requests that carry the work, SendMessageBatch and UpdateItem, at the
# proxy (read every 20 ms): between 2% and 90% of what a run without
# kills makes (one per 10 rows sent, one per row written), the first
# below the count of the sends alone (so while the files are being sent),
# so that the kills land at about the same places of the work whatever
# the machine's speed. Input: FILES files of
# ROWS rows over 400 items (4 x 800 here, 8 x 3,000 and 15 kills under
# SOAK=1), 5 bad rows in each (faults_helper.py).
#   - every kill hit a daemon at work (the proxy's counts at each are
#     printed), and some hit it while the files were still being sent;
#   - the table ends exactly as a fault-free run leaves it (every
#     attribute, the version too), both queues drain, the DLQ stays empty,
#     every bad row is in the dead letter with a reason naming its column,
#     and the last daemon stops on SIGTERM with exit 0.
# KEEP_WORK=1 keeps the work directory (the logs of every daemon, killed-N.log
# for the killed ones); FAULTS_SEED changes the points (default 4).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-kill
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
source "$here/needs.sh"
KILLS=${KILLS:-$(soak_or 5 15)}
# What a killed daemon held comes back after 10 s (not 20): five kills.
VISIBILITY=${VISIBILITY:-10}
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"
SEED=${FAULTS_SEED:-4}

faults_proxy --mode pass
faults_upload
sends=$((FILES * ROWS / 10))
work_requests=$((sends + FILES * ROWS))
# The first point falls before the files are all sent (its count is
# below theirs), the others anywhere.
points=$("${AWS_ENV_PYTHON:-python3}" -c '
import random, sys
r = random.Random(int(sys.argv[1]))
sends, total, kills = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
first = int(sends * r.uniform(0.02, 0.9))
print(*sorted([first] + [int(total * r.uniform(0.02, 0.9)) for _ in range(kills - 1)]))' \
  "$SEED" "$sends" "$work_requests" "$KILLS")
echo "   kill points (SendMessageBatch + UpdateItem requests, of about $work_requests): $points"
step=run
# kill_at I POINT: a watcher that kills the daemon it is given at POINT
# requests; the daemon starts once the watcher reads the proxy's counts.
kill_at() {
  rm -f "$work/pid" "$work/pid.ready"
  fx kill-at "$proxy_url" "$work/pid" "$2" 180 "sqs SendMessageBatch" "dynamodb UpdateItem" \
    >"$work/kill-$1.txt" &
  watcher=$!
  for _ in $(seq 1 300); do [ -e "$work/pid.ready" ] && break; sleep 0.1; done
  [ -e "$work/pid.ready" ] || fail "the kill watcher did not start"
}
i=0
mid_file=0
for point in $points; do
  i=$((i + 1))
  kill_at "$i" "$point"
  faults_start
  echo "$daemon" >"$work/pid"
  wait "$watcher" || fail "the work did not reach kill point $i ($point requests) within 180 s"
  read -r s u <"$work/kill-$i.txt"
  faults_kill "killed-$i.log"
  [ "$s" -lt "$sends" ] && mid_file=$((mid_file + 1))
  echo "   kill $i: after $s SendMessageBatch (of $sends) and $u UpdateItem requests"
done
faults_start
[ "$mid_file" -gt 0 ] || fail "no kill hit the producer while it was sending the files"
faults_settle "$(soak_or 240 900)"
stats=$(proxy_stats)
faults_finish
echo "   proxy: $(json_get "$stats" entries queued) rows queued for $((FILES * ROWS)) good rows" \
  "(a file read again after a kill sends its rows again), in" \
  "$(json_get "$stats" operations "sqs SendMessageBatch") SendMessageBatch requests;" \
  "$(json_get "$stats" operations "dynamodb UpdateItem") UpdateItem requests"
ok "$KILLS SIGKILLs ($mid_file while the files were being sent), each followed by a restart:" \
  "the fault-free table ($items items) $settled s after the last restart, queues and DLQ empty"
echo "   ($(($(date +%s) - t_start)) s in all)"
