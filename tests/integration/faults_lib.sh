# The common part of the fault tests (faults_errors.sh, faults_resume.sh,
# faults_down.sh, faults_kill.sh, faults_scale.sh, faults_stall.sh,
# bad_aws.sh), sourced after the caller set $name (the work directory's
# name). It starts fauxqs + dynalite and one tests/tools/aws_proxy.py in
# front of all three services, makes the bucket, the queues ($VISIBILITY s
# visibility timeouts, 20 unless the caller set another, so that what a
# fault left invisible comes back quickly: the daemon reads them, as
# etc/inventory.conf sets none) and the table. Then the caller calls:
#
#   faults_proxy ARGS...   the proxy (its mode and faults); $proxy_url
#   faults_proxy_mixed SEED RATE   the proxy failing RATE of the requests
#                          in every way (scenario 1)
#   proxy_all_faults STATS RATE    it did, in every way, at about RATE
#   proxy_said TEXT SECS WHAT   until the proxy logged TEXT
#   faults_upload          FILES files of ROWS rows (with bad rows) uploaded,
#                          their S3 events published (fauxqs sends none),
#                          the expected table computed
#   faults_publish         their S3 events published again
#   faults_start [CONF [LOG]]  a daemon (etc/inventory.conf, or CONF),
#                          every endpoint at the proxy, logging to LOG
#                          (daemon.log); $daemon, and in $daemons all
#                          of them
#   faults_kill LOG        SIGKILL to $daemon; its log kept as LOG
#   faults_half PIPELINE CONF OUT   OUT: the aws block and PIPELINE of CONF
#                          (one half of the system, for daemons that run
#                          only the producer or the consumer)
#   faults_settle TIMEOUT [EXPECTED]  until the table is the expected one
#                          (or EXPECTED's) and the queues are empty;
#                          $settled (seconds)
#   faults_stop [PID...]   SIGTERM (exit 0 wanted) to those daemons, or all
#   faults_finish          SIGTERM to every daemon (exit 0 wanted), the DLQ
#                          empty, the dead letter holds every bad row with
#                          a reason naming its column, and nothing else
#
# SOAK=1 (make soak) asks for the longer versions: the callers pick their
# figures with soak_or QUICK SOAK (needs.sh).
#
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # t_start, t_daemon, settled, items: the callers'

: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
conf=$top_srcdir/etc/inventory.conf
proxy_py=$top_srcdir/tests/tools/aws_proxy.py
helper=$top_srcdir/tests/integration/faults_helper.py

# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the fault tests" source-s3

t_start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-$name.XXXXXX")
daemon=
daemons=()
proxy=
step=setup
rejects=$work/rejected.jsonl
FILES=${FILES:-$(soak_or 4 8)}
ROWS=${ROWS:-$(soak_or 800 3000)}

fail() {
  echo "FAIL ($step): $*" >&2
  for f in "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f:" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}
ok() { echo "ok: $*"; }

cleanup() {
  local pid
  for pid in ${daemons[@]+"${daemons[@]}"}; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$proxy" ]; then
    kill "$proxy" 2>/dev/null || true
    wait "$proxy" 2>/dev/null || true
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
fx() { "${AWS_ENV_PYTHON:-python3}" "$helper" "$@"; }

bucket=inventory-faults
aws_make_bucket "$bucket"
VISIBILITY=${VISIBILITY:-20}
events=$(aws_make_queue faults-events "$VISIBILITY")
# More receives than etc/inventory.conf's 5 before the DLQ: an answer to
# ReceiveMessage lost on the way back counts as a receive.
updates=$(aws_make_queue faults-updates "$VISIBILITY" faults-updates-dlq 10)
dlq=$(aws_queue_url faults-updates-dlq)
table=inventory_faults
aws_make_table "$table"

# The config as shipped: it sets no visibility_timeout, so the daemon uses
# the queues' own timeouts (faults_finish checks that it said so).
if grep -Eq '^[[:space:]]*visibility_timeout[[:space:]]*=' "$conf"; then
  fail "$conf sets a visibility_timeout: the queues' own would not apply"
fi

faults_proxy() {
  "${AWS_ENV_PYTHON:-python3}" "$proxy_py" --upstream "$AWS_ENDPOINT_URL" \
    --upstream-s3 "$AWS_ENDPOINT_URL_S3" --upstream-sqs "$AWS_ENDPOINT_URL_SQS" \
    --upstream-dynamodb "$AWS_ENDPOINT_URL_DYNAMODB" --max-wait 2 \
    --port-file "$work/proxy.port" "$@" 2>"$work/proxy.log" &
  proxy=$!
  for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
  [ -s "$work/proxy.port" ] || fail "the proxy did not start"
  proxy_url=http://127.0.0.1:$(cat "$work/proxy.port")
}
# faults_proxy_mixed SEED RATE: the proxy failing RATE of the requests
# (scenario 1): 500, 503, throttling, resets and partial batch failures,
# half before and half after the emulator carried the request out. S3 sees
# a handful of requests (one GetObject per file, and a Range request per
# download cut short): half of them fail, so that some do.
faults_proxy_mixed() {
  faults_proxy --mode faults --seed "$1" --fault-rate "$2" --service-rate s3=0.5 --after 0.5 \
    --faults 500,503,throttle,reset,partial --verbose
}
# proxy_all_faults STATS RATE: the proxy injected every kind of fault,
# before and after, in every service, at about RATE.
proxy_all_faults() {
  "${AWS_ENV_PYTHON:-python3}" - "$1" "$2" <<'PY' || fail "the proxy did not inject every kind of fault: $1"
import json, sys
s = json.loads(sys.argv[1])
for kind in ("500", "503", "throttle", "reset", "partial"):
    for when in ("before", "after"):
        assert s["injected"].get(f"{kind} {when}", 0) > 0, (kind, when)
for service in ("s3", "sqs", "dynamodb"):
    assert sum(s["by_service"].get(service, {}).values()) > 0, service
rate = float(sys.argv[2])
assert rate / 2 < s["faults"] / s["requests"] < rate * 1.5
PY
}
proxy_stats() { curl -sf "$proxy_url/__proxy/stats"; }
# proxy_said TEXT SECONDS WHAT: waits until the proxy's log holds TEXT, or
# fails with "WHAT within SECONDS s".
proxy_said() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    grep -q "$1" "$work/proxy.log" && return 0
    sleep 0.1
  done
  grep -q "$1" "$work/proxy.log" || fail "$3 within $2 s"
}
# json_get JSON KEY...: the member at that path (0 when missing).
json_get() {
  "${AWS_ENV_PYTHON:-python3}" -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else 0)' "$@"
}

faults_upload() {
  local times nbad
  nbad=$(fx gen "$work" "$FILES" "$ROWS") || fail "cannot generate the input"
  fx upload "$work" "$bucket" "$FILES" >"$work/objects" || fail "cannot upload the input"
  cut -d' ' -f3 "$work/objects" >"$work/etags"
  mapfile -t times < <(cut -d' ' -f4 "$work/objects")
  faults_publish
  items=$(fx expect "$work" "$bucket" "${times[@]}") || fail "cannot compute the expected table"
  echo "   input: $FILES files of $ROWS good rows and $nbad bad rows in all; $items items expected"
}

# faults_publish: the S3 events of the uploaded files (again).
faults_publish() {
  local key size etag t
  while read -r key size etag t; do
    aws_publish_s3_event "$events" "$bucket" "$key" "$size" "$etag" "$t" ||
      fail "publishing the event of $key"
  done <"$work/objects"
}

faults_start() {
  INVENTORY_BUCKET=$bucket INVENTORY_EVENTS_QUEUE_URL=$events \
    INVENTORY_UPDATES_QUEUE_URL=$updates INVENTORY_TABLE=$table \
    INVENTORY_REJECTS=$rejects AWS_ENDPOINT_URL=$proxy_url AWS_ENDPOINT_URL_S3=$proxy_url \
    AWS_ENDPOINT_URL_SQS=$proxy_url AWS_ENDPOINT_URL_DYNAMODB=$proxy_url \
    "$PIPELINED" -c "${1:-$conf}" 2>"$work/${2:-daemon.log}" &
  daemon=$!
  daemons+=("$daemon")
  t_daemon=$(date +%s)
}

# faults_kill LOG: SIGKILL to $daemon (unless it is gone already), reaped;
# its log kept as LOG (out of faults_finish's daemon*.log).
faults_kill() {
  local pid keep=()
  kill -KILL "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  for pid in "${daemons[@]}"; do [ "$pid" = "$daemon" ] || keep+=("$pid"); done
  daemons=(${keep[@]+"${keep[@]}"})
  daemon=
  mv "$work/daemon.log" "$work/$1"
}

faults_half() {
  awk -v want="pipeline \"$1\"" '/^aws \{/ { keep = 1 } /^pipeline "/ { keep = index($0, want) == 1 }
       keep' "$2" >"$3"
  grep -q "^pipeline \"$1\"" "$3" || fail "no pipeline \"$1\" in $2"
  [ "$(grep -c '^pipeline "' "$3")" = 1 ] || fail "could not cut pipeline \"$1\" out of $2"
}

faults_settle() {
  settled=$(fx wait "$table" "${2:-$work/expected.json}" "$1" "$events" "$updates") ||
    fail "the table did not become the fault-free one"
}

# faults_stop [PID...]: SIGTERM to those daemons (all by default), each
# wanted gone within 30 s with exit 0.
faults_stop() {
  local pid rc keep=() stop=("$@")
  [ $# -gt 0 ] || stop=(${daemons[@]+"${daemons[@]}"})
  for pid in "${stop[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${stop[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "a daemon did not stop within 30 s of SIGTERM"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "a daemon exited $rc on SIGTERM, want 0"
  done
  for pid in ${daemons[@]+"${daemons[@]}"}; do
    [[ " ${stop[*]} " == *" $pid "* ]] || keep+=("$pid")
  done
  daemons=(${keep[@]+"${keep[@]}"})
  daemon=
}

faults_finish() {
  local out log queue_own=0 n
  faults_stop
  # Each queue poller (source-s3's and source-sqs's) says so once: two in
  # a whole daemon, one in a half. A poller whose GetQueueAttributes met an
  # injected fault on every attempt (about one in a thousand at 10%) uses
  # the fallback and says why, as documented: that is its right answer.
  for log in "$work"/daemon*.log; do
    n=$(grep -c "visibility timeout: $VISIBILITY s, the queue's own" "$log" || true)
    [ "$n" -ge 1 ] ||
      grep -q "cannot use the queue's own visibility timeout (sqs GetQueueAttributes: .*injected by aws_proxy" "$log" ||
      fail "${log##*/}: the daemon did not use the queue's own visibility timeout ($VISIBILITY s), nor said that an injected fault kept it from it"
    queue_own=$((queue_own + n))
  done
  [ "$queue_own" -ge 2 ] ||
    fail "the daemons did not use the queues' own visibility timeout ($VISIBILITY s)"
  [ "$(aws_queue_count "$dlq")" = 0 ] || fail "messages went to the updates queue's DLQ"
  [ -s "$rejects" ] || fail "the dead letter is empty"
  out=$(fx rejects "$work/bad.json" "$rejects") || fail "the dead letter is not the bad rows"
  read -r bad letters <<<"$out"
  echo "   dead letter: all $bad bad rows, in $letters letters (a file read again rejects again)," \
    "each reason naming the column"
  echo "   daemon logs: $(cat "$work"/daemon*.log | grep -c ' warn ' || true) warnings," \
    "$(cat "$work"/daemon*.log | grep -c ' error ' || true) errors"
}
