#!/usr/bin/env bash
# What the user sees when the AWS side is set up wrong (the bad-input
# table of docs/reliability.md): etc/inventory.conf on fauxqs + dynalite
# (through tests/tools/aws_proxy.py, which only forwards), one file of 200
# rows and 5 bad rows, and in turn:
#   1. an S3 event for an object of a bucket that does not exist: the
#      object is dead-lettered with the reason (NoSuchBucket), once;
#   2. no credentials anywhere: the daemon runs, says why (each reader
#      names every place it looked) once and then at growing intervals,
#      not once per receive; nothing is read or lost;
#   3. an updates queue that does not exist: the producer's sends fail
#      naming it (NonExistentQueue), the consumer's receives too, said
#      at growing intervals; the file's event stays in its queue;
#   4. a table that does not exist: the consumer's writes fail naming it
#      (ResourceNotFoundException), nothing is dead-lettered, the updates
#      stay in the queue;
#   5. all set up right: the daemon started again ends with the table a
#      fault-free run leaves (nothing was lost above), every bad row in
#      the dead letter with its reason, and exits 0 on SIGTERM; every
#      daemon above exited 0 on SIGTERM too.
# (A wrong region and access denied need a real IAM and regions: the
# emulators accept any; unit tests cover those answers.)
# KEEP_WORK=1 keeps the work directory (every daemon's log).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
name="bad-aws"
here=$(cd "$(dirname "$0")" && pwd)
FILES=1
ROWS=200
# shellcheck source=faults_lib.sh
source "$here/faults_lib.sh"

# bad_run NAME TEXT: a daemon (as set up by the caller) until its log
# (NAME.log) says TEXT, then 4 s more, then SIGTERM.
bad_run() {
  faults_start "$conf" "$1.log"
  for _ in $(seq 1 300); do grep -q "$2" "$work/$1.log" && break; sleep 0.1; done
  grep -q "$2" "$work/$1.log" || fail "$1: the daemon did not say \"$2\" within 30 s"
  sleep 4
  faults_stop
}
# at_most N NAME TEXT: NAME.log has at most N lines with TEXT per stage.
at_most() {
  local most
  most=$(grep "$3" "$work/$2.log" | grep -o '^[^ ]* [a-z]* *\[[^]]*\]' | awk '{ print $3 }' |
         sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
  [ "${most:-0}" -le "$1" ] || fail "$2: $most lines of one stage say \"$3\", want at most $1"
  echo "   $2: $(grep -m 1 "$3" "$work/$2.log" | cut -d' ' -f2- | cut -c1-220)..."
}

faults_proxy --mode pass

step="1 (no bucket)"
good_bucket=$bucket good_rejects=$rejects
bucket=inventory-gone rejects=$work/gone.jsonl
aws_publish_s3_event "$events" "$bucket" incoming/x.csv 10 '"0123"' || fail "cannot publish"
bad_run no-bucket NoSuchBucket
grep -q '"reason":"s3 GetObject: HTTP 404 NoSuchBucket' "$rejects" ||
  fail "the object of a missing bucket is not in the dead letter with its reason"
[ "$(aws_queue_count "$events")" = 0 ] || fail "the event of a missing bucket stayed in the queue"
ok "1: an object of a bucket that does not exist: dead-lettered with the reason, its event deleted"
bucket=$good_bucket rejects=$good_rejects

faults_upload
step="2 (no credentials)"
AWS_ACCESS_KEY_ID='' AWS_SECRET_ACCESS_KEY='' bad_run no-credentials "no AWS credentials"
at_most 4 no-credentials "cannot receive messages"
[ "$(aws_queue_count "$events")" = 1 ] || fail "the file's event left its queue"
ok "2: no credentials: said with every place looked at, at growing intervals; the event stays"

step="3 (no queue)"
good_updates=$updates
updates=${updates%/*}/inventory-no-such-queue
bad_run no-queue "NonExistentQueue.*trying again"
grep -q "sink-sqs.*NonExistentQueue" "$work/no-queue.log" ||
  fail "the producer did not say that its queue does not exist"
at_most 4 no-queue "cannot receive messages"
updates=$good_updates
[ "$(aws_queue_count "$events")" = 1 ] || fail "the file's event left its queue"
ok "3: an updates queue that does not exist: named by the producer and the consumer; the event stays"

step="4 (no table)"
good_table=$table
table=inventory-no-such-table
bad_run no-table ResourceNotFoundException
table=$good_table
[ "$(aws_queue_count "$updates")" -gt 0 ] || fail "the updates left the queue without their table"
[ "$(aws_table_count "$table")" = 0 ] || fail "items were written"
if grep -q '"pipeline":"sqs-to-dynamodb"' "$rejects" 2>/dev/null; then
  fail "updates were dead-lettered for a missing table"
fi
at_most 4 no-table "retrying will not help until the table"
ok "4: a table that does not exist: named, the updates stay in the queue, none dead-lettered"

step="5 (all set up)"
faults_start
faults_settle 120
faults_finish
ok "5: set up right, the daemon left the fault-free table ($items items) after $settled s"
echo "   ($(($(date +%s) - t_start)) s in all)"
