#!/usr/bin/env bash
# The container image's scripts (Dockerfile), outside a container:
# container/entrypoint.sh takes the config from a file on the command line
# or from PIPELINED_CONFIG, and a missing config exits 2 saying what to
# do; container/healthcheck.sh asks /healthz at the config's
# metrics_listen and fails on 503 or no answer. The image's build stage
# runs scripts/build-deb, which tests/e2e/debian_package.sh runs.
. "$(dirname "$0")/lib.sh"

entrypoint="$top_srcdir/container/entrypoint.sh"
healthcheck="$top_srcdir/container/healthcheck.sh"
# `pipelined` on PATH, as in the image.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$PIPELINED" > "$work/bin/pipelined"
chmod +x "$work/bin/pipelined"
export PATH="$work/bin:$PATH"
export PIPELINED_RUNTIME_DIR="$work/run"
unset PIPELINED_CONFIG PIPELINED_HEALTH_ADDR
export INPUT="$test_data/sample_inventory.csv" OUTPUT="$work/out.jsonl" REJECTS="$work/bad.jsonl"

# run_ep ARGS...: the entrypoint, its status in $rc, its stderr in $work/log.
run_ep() {
  rm -f "$OUTPUT" "$REJECTS"
  rc=0
  "$entrypoint" "$@" 2> "$work/log" || rc=$?
}
rows() { count_lines "$OUTPUT"; }

# A config file on the command line (a mounted file in the image).
cp "$top_srcdir/etc/local.conf" "$work/mounted.conf"
run_ep --once -c "$work/mounted.conf"
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "-c FILE: status $rc, $(rows) rows"; }
# No metrics_listen: the address the health check reads is empty.
[ -f "$work/run/metrics_listen" ] && [ -z "$(cat "$work/run/metrics_listen")" ] || fail "$work/run/metrics_listen is not there and empty"
run_ep --once "--config=$work/mounted.conf"
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "--config=FILE: status $rc"; }
pass "a config file on the command line runs"

# No config: exit 2, saying where to mount one and naming PIPELINED_CONFIG.
run_ep --once -c "$work/missing/pipelined.conf"
[ "$rc" -eq 2 ] || { cat "$work/log"; fail "a missing config exited $rc, not 2"; }
expect_contains "$work/log" "pipelined-entrypoint: no config: $work/missing/pipelined.conf is not a readable file; mount one there"
expect_contains "$work/log" "or set PIPELINED_CONFIG"
[ ! -e "$OUTPUT" ] || fail "pipelined ran without a config"
mkdir "$work/adir"
run_ep --once -c "$work/adir"
[ "$rc" -eq 2 ] || fail "a directory as the config exited $rc, not 2"
expect_contains "$work/log" "$work/adir is a directory (docker run -v makes one where the host file does not exist)"
pass "a missing config exits 2 with what to do"

# PIPELINED_CONFIG: the config's text, written to the runtime folder
# (0600) and run in place of the command line's file.
export PIPELINED_CONFIG
PIPELINED_CONFIG=$(cat "$top_srcdir/etc/local.conf")
run_ep --once -c "$work/missing/pipelined.conf"
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "PIPELINED_CONFIG: status $rc, $(rows) rows"; }
[ "$(stat -c %a "$work/run/pipelined.conf")" = 600 ] || fail "the written config is not mode 0600"
cmp -s "$top_srcdir/etc/local.conf" "$work/run/pipelined.conf" || fail "the written config is not PIPELINED_CONFIG"
# It wins over a file that is there, and says so.
echo 'this is not a config' > "$work/mounted-bad.conf"
run_ep --once -c "$work/mounted-bad.conf"
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "PIPELINED_CONFIG over a file: status $rc"; }
expect_contains "$work/log" "the config is PIPELINED_CONFIG (written to $work/run/pipelined.conf); $work/mounted-bad.conf is not read"
# No config on the command line: it is added.
run_ep --once
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "PIPELINED_CONFIG without -c: status $rc"; }
# An invalid one is pipelined's config error (2), with its message.
PIPELINED_CONFIG='pipeline "x" {' run_ep --once -c /etc/pipelined/pipelined.conf
[ "$rc" -eq 2 ] || { cat "$work/log"; fail "an invalid PIPELINED_CONFIG exited $rc, not 2"; }
grep -q "$work/run/pipelined.conf" "$work/log" || { cat "$work/log"; fail "the config error does not name the written file"; }
[ ! -e "$work/run/metrics_listen" ] || fail "an address was kept for a config pipelined cannot read"
# A runtime folder that cannot be made: 2, saying so.
PIPELINED_RUNTIME_DIR=/dev/null/run run_ep --once
[ "$rc" -eq 2 ] || fail "an unwritable runtime folder exited $rc, not 2"
expect_contains "$work/log" "cannot write PIPELINED_CONFIG to /dev/null/run/pipelined.conf"
pass "PIPELINED_CONFIG is run, in place of or beside the command line's config"

# The health check. No metrics_listen: nothing to ask, healthy.
run_ep --once
"$healthcheck" > "$work/hc" || { cat "$work/hc"; fail "the check failed without metrics_listen"; }
expect_contains "$work/hc" "the config pipelined runs sets no metrics_listen ($work/run/metrics_listen is empty): nothing to ask"

port=$(free_port)
closed=$(free_port) # nothing listens there
# healthy: the check passed, having asked (before the entrypoint has
# written the address, there is nothing to ask and it passes too).
healthy() { "$healthcheck" > "$work/hc" && grep -q '^healthy: ' "$work/hc"; }
mkdir -p "$work/in"
cp "$test_data/sample_inventory.csv" "$work/in/a.csv"
# A daemon that writes to a file: healthy. metrics_listen comes from the
# environment, as the daemon reads it.
export HEALTH_PORT=$port INPUT="$work/in"
PIPELINED_CONFIG=$(printf 'metrics_listen = "127.0.0.1:${HEALTH_PORT}"\nshutdown_timeout = "1s"\n%s\n' \
  "$(cat "$top_srcdir/etc/local.conf")")
rm -f "$OUTPUT"
"$entrypoint" -c /etc/pipelined/pipelined.conf 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
wait_lines "$OUTPUT" -ge 21 || { cat "$work/daemon.log"; fail "the daemon started by the entrypoint wrote nothing"; }
wait_for healthy || { cat "$work/hc" "$work/daemon.log"; fail "the check failed on a healthy daemon"; }
expect_contains "$work/hc" "healthy: http://127.0.0.1:$port/healthz: ok"
# A wildcard address is asked on loopback.
PIPELINED_HEALTH_ADDR="0.0.0.0:$port" "$healthcheck" > "$work/hc" || fail "0.0.0.0:$port"
expect_contains "$work/hc" "healthy: http://127.0.0.1:$port/healthz"
kill -TERM "$pid"
wait "$pid" || { cat "$work/daemon.log"; fail "the daemon exited non-zero on SIGTERM"; }
# Gone: no answer, unhealthy.
if "$healthcheck" > "$work/hc"; then cat "$work/hc"; fail "the check passed with no daemon"; fi
expect_contains "$work/hc" "unhealthy: http://127.0.0.1:$port/healthz"
pass "the health check passes on a running daemon's /healthz and fails when none answers"

# PIPELINED_METRICS_LISTEN (the ECS task of deploy/inventory.yaml): a
# second -c file holds metrics_listen, the config is run as it is, and the
# health check asks there.
PIPELINED_CONFIG= # (still exported: the next section sets it again)
rm -f "$work/run/pipelined.conf" # (from PIPELINED_CONFIG, above)
port=$(free_port)
PIPELINED_METRICS_LISTEN="127.0.0.1:$port" "$entrypoint" -c "$work/mounted.conf" 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
wait_for healthy || { cat "$work/hc" "$work/daemon.log"; fail "the check failed with PIPELINED_METRICS_LISTEN"; }
expect_contains "$work/hc" "healthy: http://127.0.0.1:$port/healthz: ok"
expect_contains "$work/daemon.log" "running $work/mounted.conf with metrics_listen = \"127.0.0.1:$port\" (PIPELINED_METRICS_LISTEN) from $work/run/metrics.conf, a second -c"
echo "metrics_listen = \"127.0.0.1:$port\"" > "$work/expected.conf"
cmp -s "$work/expected.conf" "$work/run/metrics.conf" || fail "metrics.conf is not metrics_listen alone"
[ "$(stat -c %a "$work/run/metrics.conf")" = 600 ] || fail "metrics.conf is not mode 0600"
[ ! -e "$work/run/pipelined.conf" ] || fail "a copy of the config was written"
kill -TERM "$pid"
wait "$pid" || { cat "$work/daemon.log"; fail "the daemon exited non-zero on SIGTERM"; }
# With PIPELINED_CONFIG too: that text is run as it is, beside metrics.conf.
PIPELINED_CONFIG=$(cat "$work/mounted.conf") PIPELINED_METRICS_LISTEN="127.0.0.1:$port" run_ep --once
[ "$rc" -eq 0 ] && [ "$(rows)" -eq 21 ] || { cat "$work/log"; fail "PIPELINED_CONFIG with PIPELINED_METRICS_LISTEN: status $rc"; }
cmp -s "$work/mounted.conf" "$work/run/pipelined.conf" || fail "PIPELINED_CONFIG is not what was run"
cmp -s "$work/expected.conf" "$work/run/metrics.conf" || fail "metrics.conf is not beside PIPELINED_CONFIG"
# Not HOST:PORT, or a config that sets metrics_listen itself (in an
# included file too): 2, saying why.
PIPELINED_METRICS_LISTEN='9100' run_ep --once -c "$work/mounted.conf"
[ "$rc" -eq 2 ] || fail "PIPELINED_METRICS_LISTEN=9100 exited $rc, not 2"
expect_contains "$work/log" "PIPELINED_METRICS_LISTEN='9100' is not HOST:PORT"
mkdir -p "$work/both/conf.d"
echo 'include "conf.d/*.conf"' > "$work/both/pipelined.conf"
{ echo 'metrics_listen = "127.0.0.1:${BOTH_PORT:-9}"'; cat "$work/mounted.conf"; } > "$work/both/conf.d/m.conf"
BOTH_PORT=$closed PIPELINED_METRICS_LISTEN="127.0.0.1:$port" run_ep --once -c "$work/both/pipelined.conf"
[ "$rc" -eq 2 ] || fail "a config with metrics_listen and PIPELINED_METRICS_LISTEN exited $rc, not 2"
expect_contains "$work/log" "$work/both/pipelined.conf sets metrics_listen = \"127.0.0.1:$closed\" already (in itself or a file it includes), and PIPELINED_METRICS_LISTEN='127.0.0.1:$port'"
[ ! -e "$OUTPUT" ] || fail "pipelined ran with two metrics_listen"
pass "PIPELINED_METRICS_LISTEN adds metrics_listen beside the config, and the health check asks there"

# A sink that cannot write (SQS on a closed loopback port): /healthz 503
# once unhealthy_after has passed, and the check fails with its JSON.
PIPELINED_CONFIG=$(sqs_unreachable_config "$port" "$closed" "$work/in")
AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_EC2_METADATA_DISABLED=true \
  "$entrypoint" 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
unhealthy() { ! "$healthcheck" > "$work/hc" && grep -q '"status":"unhealthy"' "$work/hc"; }
wait_for unhealthy || { cat "$work/hc" "$work/daemon.log"; fail "the check never failed on a 503"; }
expect_contains "$work/hc" "unhealthy: http://127.0.0.1:$port/healthz: HTTP/1.1 503"
expect_contains "$work/hc" '"stage":"sink","plugin":"sink-sqs"'
kill -TERM "$pid"
wait "$pid" || true
pass "the health check fails on 503 and prints the daemon's reason"

# metrics_listen in a file the config includes (and ${VAR}s in it): the
# address the check asks is the daemon's own reading of the whole config,
# not the top file's text, so a 503 there still fails the check.
unset PIPELINED_CONFIG
port=$(free_port)
mkdir -p "$work/inc/conf.d"
echo 'include "conf.d/*.conf"' > "$work/inc/pipelined.conf"
sqs_unreachable_config '${HEALTH_PORT}' "$closed" "$work/in" > "$work/inc/conf.d/h.conf"
HEALTH_PORT=$port AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_EC2_METADATA_DISABLED=true \
  "$entrypoint" -c "$work/inc/pipelined.conf" 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
wait_for unhealthy || { cat "$work/hc" "$work/daemon.log"; fail "the check never failed on a 503 at an included metrics_listen"; }
expect_contains "$work/hc" "unhealthy: http://127.0.0.1:$port/healthz: HTTP/1.1 503"
kill -TERM "$pid"
wait "$pid" || true
pass "the health check asks the metrics_listen of an included file"

# PIPELINED_METRICS_LISTEN leaves the config where it is: its relative
# paths stay relative to its own folder (a run with the variable after one
# without finds the first's state and delivers nothing again), an
# include-only main config finds its files, and a reload (SIGHUP) reads
# the edited file.
mkdir -p "$work/rel/in" "$work/rel/conf.d"
cp "$test_data/sample_inventory.csv" "$work/rel/in/a.csv"
cat > "$work/rel/p.conf" <<CONF
pipeline "p" {
  source "file" { paths = ["$work/rel/in"]; state_dir = "state"; watch = false }
  transform "csv" {}
  sink "file" { path = "out.jsonl" }
}
CONF
port=$(free_port)
for listen in '' "127.0.0.1:$port"; do
  PIPELINED_METRICS_LISTEN=$listen run_ep --once -c "$work/rel/p.conf"
  [ "$rc" -eq 0 ] || { cat "$work/log"; fail "a run with PIPELINED_METRICS_LISTEN='$listen': status $rc"; }
done
delivered=$({ cat "$work/rel/out.jsonl" "$work/run/out.jsonl" 2> /dev/null || true; } | wc -l)
[ "$delivered" -eq 21 ] \
  || { cat "$work/log"; fail "$delivered rows delivered by a run and a second run with PIPELINED_METRICS_LISTEN, not 21 (once)"; }
[ ! -e "$work/run/out.jsonl" ] && [ ! -e "$work/run/state" ] || fail "relative paths went to the runtime folder"
echo 'include "conf.d/*.conf"' > "$work/rel/main.conf"
sed 's/"p"/"q"/; s/out.jsonl/..\/q.jsonl/; s/"state"/"..\/q-state"/' "$work/rel/p.conf" > "$work/rel/conf.d/q.conf"
PIPELINED_METRICS_LISTEN="127.0.0.1:$port" run_ep --once -c "$work/rel/main.conf"
[ "$rc" -eq 0 ] && [ "$(count_lines "$work/rel/q.jsonl")" -eq 21 ] \
  || { cat "$work/log"; fail "an include-only config with PIPELINED_METRICS_LISTEN: status $rc, $(count_lines "$work/rel/q.jsonl") rows"; }
# A reload applies the edited config.
sed 's/watch = false/watch = true/; s/"state"/"hup-state"/; s/out.jsonl/hup.jsonl/' "$work/rel/p.conf" > "$work/rel/hup.conf"
PIPELINED_METRICS_LISTEN="127.0.0.1:$port" "$entrypoint" -c "$work/rel/hup.conf" 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
wait_for healthy || { cat "$work/hc" "$work/daemon.log"; fail "the daemon did not start"; }
sed 's/"p"/"r"/; s/hup.jsonl/r.jsonl/; s/"hup-state"/"r-state"/' "$work/rel/hup.conf" > "$work/rel/r.conf"
cat "$work/rel/r.conf" >> "$work/rel/hup.conf"
kill -HUP "$pid"
wait_for grep -qF 'reload: pipeline "r" added' "$work/daemon.log" \
  || { cat "$work/daemon.log"; fail "SIGHUP did not apply the edited config"; }
wait_lines "$work/rel/r.jsonl" -ge 21 || { cat "$work/daemon.log"; fail "the reloaded pipeline wrote nothing"; }
kill -TERM "$pid"
wait "$pid" || { cat "$work/daemon.log"; fail "the daemon exited non-zero on SIGTERM"; }
pass "with PIPELINED_METRICS_LISTEN the config is read where it is: relative paths, includes, reloads"
