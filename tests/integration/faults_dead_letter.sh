#!/usr/bin/env bash
# A dead letter that cannot write (scenario 5 of the fault tests): the
# consumer half of etc/inventory.conf (its pipeline "sqs-to-dynamodb", as
# shipped) on fauxqs + dynalite, its dead-letter file on a full file
# system: a 2 MiB tmpfs filled up when this runs as root and mount works,
# else /dev/full (every write: ENOSPC). The updates queue (visibility 10 s,
# redrive after 50 receives) holds the healthy and poison messages of
# poison.sh (poison_helper.py), in a seeded order: not JSON, not an object,
# each member missing or of a wrong type, bodies of 256 KiB, attributes
# that are not times.
#   1. The dead letter cannot write: no message with a rejected record is
#      deleted (the queue holds exactly what is not in the table, and the
#      table only healthy items), the dead letter holds nothing, and the
#      daemon says why once (its lines naming the dead-letter file are
#      counted), not once per record.
#      As sink-file fails a full disk for good once retry_limit retries
#      ran out, the pipeline stops and the daemon exits non-zero.
#   2. The dead letter writes again (the tmpfs has room again, or, with
#      /dev/full, the path is a writable file) and the daemon is started
#      again (as systemd would): the queue drains, every poison
#      message is in the dead letter exactly once with its reason, every
#      healthy update is its item, the DLQ stays empty, SIGTERM gives 0.
# KEEP_WORK=1 keeps the work directory (daemon logs, dead letter);
# FULL_FS=devfull uses /dev/full even where the tmpfs could be mounted.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf

# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the fault tests" transform-schema
# SOAK=1 (make soak): 2,000 healthy messages instead of 40.
export POISON_HEALTHY=${POISON_HEALTHY:-$(soak_or 40 2000)}

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-dead-letter.XXXXXX")
daemon=
mnt=
step=setup
SEED=${SEED:-5}

fail() {
  echo "FAIL ($step): $*" >&2
  for f in "$work"/daemon*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f:" >&2
    tail -n 20 "$f" | cut -c1-400 >&2
  done
  exit 1
}
ok() { echo "ok: $*"; }
since() { echo $(($(date +%s) - $1)); }

cleanup() {
  if [ -n "$daemon" ]; then
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  if [ -n "$mnt" ]; then
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
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
if ! grep -q 'pipeline "sqs-to-dynamodb"' "$consumer" || grep -q 'csv-to-sqs' "$consumer" ||
   ! grep -q 'dead_letter "file"' "$consumer"; then
  fail "could not cut the consumer half out of $conf (its text changed?)"
fi

# The full file system: a small tmpfs, filled, or else /dev/full.
# FULL_FS=devfull skips the tmpfs.
if [ "${FULL_FS:-tmpfs}" = tmpfs ] && [ "$(id -u)" = 0 ] && mkdir -p "$work/full" &&
   mount -t tmpfs -o size=2m,mode=0755 pipelined-test "$work/full" 2>/dev/null; then
  mnt=$work/full
  dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
  full_rejects=$mnt/rejected.jsonl
  # The file exists (an empty file takes no block), so that the daemon
  # opens it and its writes fail.
  : >"$full_rejects" || fail "cannot create $full_rejects"
  if printf 'x' >>"$full_rejects" 2>/dev/null; then
    fail "the tmpfs at $mnt is not full"
  fi
  how="a full 2 MiB tmpfs"
else
  full_rejects=/dev/full
  how="/dev/full"
fi

updates=$(aws_make_queue dead-letter-updates 10 dead-letter-updates-dlq 50)
dlq=$(aws_queue_url dead-letter-updates-dlq)
table=inventory_dead_letter
aws_make_table "$table"
out=$(INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table INVENTORY_REJECTS=$full_rejects \
      "$PIPELINED" --check -c "$consumer" 2>&1) || fail "$consumer does not pass --check: $out"

# The messages and the checks: poison_helper.py (as poison.sh).
dl() { "${AWS_ENV_PYTHON:-python3}" "$here/poison_helper.py" "$@"; }

read -r npoison nhealthy < <(dl send "$updates" "$work/sent.json" "$SEED") ||
  fail "cannot send the messages"
echo "   $npoison poison and $nhealthy healthy messages on the queue (seed $SEED); dead letter on $how"

start_daemon() { # REJECTS LOG
  INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table INVENTORY_REJECTS=$1 \
    "$PIPELINED" -c "$consumer" 2>"$2" &
  daemon=$!
}

# ---- 1. The dead letter cannot write ----
step="1 (full)"
start_daemon "$full_rejects" "$work/daemon-full.log"
# sink-file retries a full disk (retry_limit), then its stage is broken:
# the pipeline stops without committing what it did not write, and with
# its one pipeline stopped the daemon exits, non-zero.
for _ in $(seq 1 600); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
kill -0 "$daemon" 2>/dev/null && fail "the daemon did not stop within 60 s with a dead letter that cannot write"
rc=0
wait "$daemon" || rc=$?
daemon=
[ "$rc" != 0 ] || fail "the daemon exited 0 although its pipeline could not write its dead letter"
read -r items left < <(dl held "$work/sent.json" "$updates" "$table") ||
  fail "a message left the queue without its item"
[ "$left" -ge "$npoison" ] || fail "$left messages left in the queue, fewer than the $npoison poison ones"
if [ -n "$mnt" ]; then
  [ ! -s "$full_rejects" ] || fail "the full dead letter has bytes"
fi
# Why: one error naming the dead letter; before it, the sink's retries are
# limited per call site (the first at once, then one line a second with a
# count), so the lines naming it do not grow with the records.
log=$work/daemon-full.log
name=${full_rejects##*/}
errors=$(grep -c " error .*$name.*no space left" "$log" || true)
[ "$errors" = 1 ] || fail "$errors error lines name the dead letter that cannot write, want 1"
named=$(grep -c "$name.*no space left" "$log" || true)
[ "$named" -le 3 ] || {
  grep "$name" "$log" | cut -c1-300 >&2
  fail "$named lines name the failing dead letter ($npoison poison messages), want at most 3"
}
# Each poison message is rejected in its own group (one line each, by the
# schema, saying why it is poison); that the message stays in the queue is
# said once, not per message.
# Under SOAK=1 2,000 healthy messages come between the poison ones, and
# each delivered message ends a run of failures ("delivered again"): at
# most one line per poison message then, never one per record.
back=$(grep -c "a message was not delivered" "$log" || true)
most_back=$(soak_or 2 "$npoison")
[ "$back" -le "$most_back" ] ||
  fail "$back lines say that a message was not delivered, want at most $most_back"
lies=$(grep -c "went to the dead letter" "$log" || true)
[ "$lies" = 0 ] || fail "$lies lines say letters went to the dead letter that cannot write"
echo "   the daemon said why: $(grep " error .*$name" "$log" | cut -c1-260)"
ok "1: dead letter on $how: the daemon stopped (exit $rc) with $items healthy item(s) written and" \
  "$left message(s) kept in the queue (the $npoison poison ones among them), nothing deleted unwritten;" \
  "$named line(s) name the dead letter (1 error), $back say that messages stay in the queue"

# ---- 2. The dead letter writes again ----
step="2 (writable)"
if [ -n "$mnt" ]; then
  rm -f "$mnt/filler" # the same file, on a file system with room again
  rejects=$full_rejects
else
  rejects=$work/rejected.jsonl
fi
t2=$(date +%s)
start_daemon "$rejects" "$work/daemon.log"
dl wait "$updates" "$table" "$nhealthy" "$(soak_or 60 600)" >/dev/null || fail "the consumer did not get through the queue"
rc=0
kill -TERM "$daemon"
wait "$daemon" || rc=$?
daemon=
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0"
[ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the queue's DLQ"
dl check "$work/sent.json" "$table" "$rejects" || fail "poison or healthy messages went astray"
ok "2: with a writable dead letter, restarted, the daemon drained the queue and stopped within $(since "$t2") s:" \
  "all $npoison poison messages dead-lettered once each with their reason, all $nhealthy healthy ones" \
  "are their items, DLQ empty, exit 0 on SIGTERM (whole test $(since "$t_start") s)"
