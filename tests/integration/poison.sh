#!/usr/bin/env bash
# Poison messages on the updates queue of etc/inventory.conf: the consumer
# half (its pipeline "sqs-to-dynamodb", as shipped; it reads the queue's
# 20 s visibility timeout) on fauxqs + dynalite. The queue gets, between healthy
# messages (each its own item, some with members the schema drops, one of
# them 256 KiB): a body that is not JSON; JSON that is not an object (an
# array, a string, a number, null); each of the four members missing;
# quantity a string, a fraction, an object, an array, a bool, null, or too
# big for an integer; update_date a number, not a date, or in another
# format; product_id a number, empty; location an array; a 256 KiB body
# whose product_id makes a key DynamoDB refuses (over 2048 bytes); an
# origin_time attribute that is not a UTC time. (Invalid UTF-8 cannot
# travel through SQS.)
#   - every poison message is in the dead letter, once, by its message id,
#     with a reason naming the problem (a word of it the test lists);
#   - none of them is in the table; every healthy message is, exactly;
#   - the queue drains (poison is deleted once dead-lettered), its DLQ
#     stays empty, and SIGTERM gives exit 0.
# KEEP_WORK=1 keeps the work directory (daemon log, dead letter).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf

# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the poison test" transform-schema
# SOAK=1 (make soak): 2,000 healthy messages instead of 40.
export POISON_HEALTHY=${POISON_HEALTHY:-$(soak_or 40 2000)}

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-poison.XXXXXX")
daemon=
rejects=$work/rejected.jsonl
step=setup

fail() {
  echo "FAIL ($step): $*" >&2
  if [ -f "$work/daemon.log" ]; then
    echo "---- last lines of the daemon's log:" >&2
    tail -n 30 "$work/daemon.log" | cut -c1-400 >&2
  fi
  exit 1
}
ok() { echo "ok: $*"; }
cleanup() {
  if [ -n "$daemon" ]; then
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
# Set before aws-env.sh installs its own, which chains to it.
trap cleanup EXIT

# shellcheck source=aws-env.sh
source "$here/aws-env.sh"
aws_env_fauxqs
# etc/inventory.conf with 2 s long polls (aws_short_polls): a SIGTERM waits
# out the polls in flight, 20 s at the shipped wait_time.
aws_short_polls "$conf" >"$work/inventory.conf" || fail "cannot shorten the polls of $conf"
conf=$work/inventory.conf

# The consumer half: the aws block and the pipeline "sqs-to-dynamodb".
consumer=$work/consumer.conf
awk '/^aws \{/ { keep = 1 } /^pipeline "csv-to-sqs"/ { keep = 0 }
     /^pipeline "sqs-to-dynamodb"/ { keep = 1 } keep' "$conf" >"$consumer"
# No visibility_timeout: the daemon uses the queue's own 20 s.
if grep -Eq '^[[:space:]]*visibility_timeout[[:space:]]*=' "$consumer" ||
   ! grep -q 'pipeline "sqs-to-dynamodb"' "$consumer" || grep -q 'csv-to-sqs' "$consumer"; then
  fail "could not cut the consumer half out of $conf (its text changed?)"
fi

updates=$(aws_make_queue poison-updates 20 poison-updates-dlq 5)
dlq=$(aws_queue_url poison-updates-dlq)
table=inventory_poison
aws_make_table "$table"
out=$(INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table \
      "$PIPELINED" --check -c "$consumer" 2>&1) || fail "$consumer does not pass --check: $out"

# The messages and the checks: poison_helper.py.
pz() { "${AWS_ENV_PYTHON:-python3}" "$here/poison_helper.py" "$@"; }

read -r npoison nhealthy < <(pz send "$updates" "$work/sent.json") || fail "cannot send the messages"
echo "   $npoison poison and $nhealthy healthy messages on the queue"
step=run
INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table INVENTORY_REJECTS=$rejects \
  "$PIPELINED" -c "$consumer" 2>"$work/daemon.log" &
daemon=$!
secs=$(pz wait "$updates" "$table" "$nhealthy" "$(soak_or 60 600)") || fail "the consumer did not get through the queue"
rc=0
kill -TERM "$daemon"
wait "$daemon" || rc=$?
daemon=
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0"
[ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the queue's DLQ"
step=check
pz check "$work/sent.json" "$table" "$rejects" || fail "poison or healthy messages went astray"
ok "$npoison poison messages dead-lettered once each with their reason, none in the table;" \
  "$nhealthy healthy messages are their items; the queue drained in $secs s"
echo "   ($(($(date +%s) - t_start)) s in all)"
