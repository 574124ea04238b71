#!/usr/bin/env bash
# Downloads cut short (scenario 2 of the fault tests): etc/inventory.conf
# (reading the queues' own visibility timeouts, 20 s) on fauxqs + dynalite,
# every endpoint of the daemon behind tests/tools/aws_proxy.py, which
# answers the first CUTS GetObject requests with their head and a seeded
# part of their body (5% to 95%, in the middle of a row), then resets the
# connection. Nothing else fails. Input: one object of ROWS rows over 400
# items (12,000 here, 200,000 under SOAK=1), 5 bad rows in it
# (faults_helper.py).
#   - source-s3 resumes each cut download with a Range request from where
#     it was cut: the proxy saw CUTS + 1 GetObject requests, CUTS of them
#     with a Range (CUTS - 1 when the first cut's bytes were all lost);
#   - no row is sent twice beyond the rows of one batch in flight: the
#     SendMessageBatch entries the emulator queued (the proxy counts them)
#     are the good rows, at most 10 more;
#   - the table ends exactly as a fault-free run leaves it (every
#     attribute, the version too), both queues drain, the DLQ stays empty,
#     every bad row is in the dead letter with a reason naming its column,
#     and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon and proxy logs, input);
# FAULTS_SEED changes where the cuts fall (default 2).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name=faults-resume
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=needs.sh
source "$here/needs.sh"
FILES=1
ROWS=${ROWS:-$(soak_or 12000 200000)}
CUTS=${CUTS:-$(soak_or 3 10)}
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"

faults_proxy --mode pass --seed "${FAULTS_SEED:-2}" --cut-gets "$CUTS"
faults_upload
step=run
faults_start
proxy_said "GetObject cut" 60 "no download was cut"
faults_settle "$(soak_or 300 1800)"
stats=$(proxy_stats)
faults_finish
cut=$(json_get "$stats" cut cut)
ranged=$(json_get "$stats" cut ranged_gets)
gets=$(json_get "$stats" operations "s3 GET object")
queued=$(json_get "$stats" entries queued)
asked=$(json_get "$stats" entries asked)
echo "   proxy: $cut of $gets GetObject answers cut, at byte/of bytes" \
  "$(grep -o 'cut at byte [0-9]* of [0-9]*' "$work/proxy.log" | awk '{ printf "%s%s/%s", s, $4, $6; s = ", " }');" \
  "$ranged with a Range; SendMessageBatch: $asked entries sent, $queued queued for $ROWS good rows"
[ "$cut" = "$CUTS" ] || fail "the proxy cut $cut downloads, want $CUTS"
[ "$gets" = $((CUTS + 1)) ] || fail "$gets GetObject requests for $CUTS cuts: a download started over?"
# A cut whose bytes never reached the daemon (the reset dropped them) is
# retried as it was: the first request without a Range again.
[ "$ranged" -ge $((CUTS - 1)) ] || fail "$ranged of $gets GetObject requests asked for a Range, want $CUTS"
[ "$queued" -ge "$ROWS" ] || fail "$queued rows queued, fewer than the $ROWS good rows"
[ "$queued" -le $((ROWS + 10)) ] || fail "$((queued - ROWS)) rows were sent twice"
ok "$CUTS downloads cut in the middle: each resumed with a Range request, $((queued - ROWS)) rows" \
  "sent twice; the fault-free table ($items items) after $settled s, queues and DLQ empty"
echo "   ($(($(date +%s) - t_start)) s in all)"
