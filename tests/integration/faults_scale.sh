#!/usr/bin/env bash
# Scale-out under faults (scenario 7 of the fault tests): two producer
# daemons (the csv-to-sqs half of etc/inventory.conf) and three consumer
# daemons (its sqs-to-dynamodb half) on the same queues (10 s visibility
# timeouts, read from the queues), on fauxqs + dynalite, every endpoint
# behind tests/tools/aws_proxy.py failing 10% of the requests as in
# faults_errors.sh (500, 503, throttling, resets, partial batch failures,
# half before and half after the emulator carried them out). Input: FILES
# files of ROWS rows over 400 items (4 x 500 here, 8 x 3,000 under
# SOAK=1), 5 bad rows in each (faults_helper.py).
#   1. etc/inventory.conf: the table ends exactly as a fault-free run of
#      one daemon leaves it (every attribute, the version too);
#   2. the history variant (etc/inventory-history.conf, its consumer half
#      sqs-to-dynamodb-history, a table of its own), the same events
#      published again, two producers and three consumers again: the
#      table holds exactly one item per good row, each the row (its id
#      the object, its etag and the line);
#   and each time both queues drain, the DLQ stays empty, every bad row
#   is in the dead letter with a reason naming its column, every daemon
#   stops on SIGTERM with exit 0, and the proxy injected every kind of
#   fault (its counts are printed).
# KEEP_WORK=1 keeps the work directory (the logs of all ten daemons, the
# proxy's log of every fault); FAULTS_SEED changes the seed (default 7).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-scale
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
source "$here/needs.sh"
ROWS=${ROWS:-$(soak_or 500 3000)}
# Redeliveries come after 10 s (not 20): five daemons lose more answers.
VISIBILITY=${VISIBILITY:-10}
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"
RATE=0.1

producer=$work/producer.conf
faults_half csv-to-sqs "$conf" "$producer"
# scale_run CONSUMER_CONF LOG_PREFIX: two producers and three consumers.
scale_run() {
  local i
  for i in 1 2; do faults_start "$producer" "daemon-$2-producer-$i.log"; done
  for i in 1 2 3; do faults_start "$1" "daemon-$2-consumer-$i.log"; done
}

faults_proxy_mixed "${FAULTS_SEED:-7}" "$RATE"
faults_upload

step="1 (inventory)"
faults_half sqs-to-dynamodb "$conf" "$work/consumer.conf"
scale_run "$work/consumer.conf" inventory
faults_settle "$(soak_or 180 900)"
faults_finish
ok "1: two producers and three consumers under 10% faults: the fault-free table ($items items)" \
  "after $settled s, queues and DLQ empty"

step="2 (history)"
table=inventory_faults_history
aws_make_table "$table"
rows=$(fx expect-history "$work" "$bucket") || fail "cannot compute the history table"
aws_short_polls "$top_srcdir/etc/inventory-history.conf" >"$work/history-both.conf" ||
  fail "cannot shorten the polls of etc/inventory-history.conf"
faults_half sqs-to-dynamodb-history "$work/history-both.conf" "$work/history.conf"
faults_publish
scale_run "$work/history.conf" history
faults_settle "$(soak_or 180 900)" "$work/expected-history.json"
faults_finish
ok "2: the history variant, the same: exactly one item per good row ($rows), after $settled s," \
  "queues and DLQ empty"

stats=$(proxy_stats)
echo "   proxy: $stats"
proxy_all_faults "$stats" "$RATE"
echo "   ($(($(date +%s) - t_start)) s in all)"
