#!/usr/bin/env bash
# A config of several files: -c given more than once, -c - (standard
# input), include "conf.d/*.conf"; relative paths written in a file are
# that file's neighbours; --describe -c finds plugins on the config's
# plugin_path.
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/etc/conf.d" "$work/elsewhere"
cp "$test_data/sample_inventory.csv" "$work/etc/in.csv"
cat > "$work/etc/main.conf" <<'CONF'
log_level = "info"
include "conf.d/*.conf"
CONF
# Relative paths: in.csv and out.jsonl are main.conf's neighbours, not the
# working directory's.
cat > "$work/etc/conf.d/10-local.conf" <<'CONF'
pipeline "local" {
  source "file" { paths = ["../in.csv"]; watch = false }
  transform "csv" { header = true }
  sink "file" { path = "../out.jsonl" }
}
CONF
cd "$work/elsewhere"
"$PIPELINED" --once -c ../etc/main.conf 2> "$work/log" || { cat "$work/log"; fail "include run failed"; }
[ "$(count_lines "$work/etc/out.jsonl")" -eq 21 ] || { cat "$work/log"; fail "included pipeline wrote $(count_lines "$work/etc/out.jsonl") lines next to its file"; }
[ ! -e "$work/elsewhere/out.jsonl" ] || fail "a relative path followed the working directory"
pass "include runs conf.d/*.conf; relative paths are the config file's neighbours"

# A path from a variable stays the working directory's.
cat > "$work/etc/env.conf" <<'CONF'
pipeline "env" {
  source "file" { paths = ["${INPUT}"]; watch = false }
  transform "csv" { header = true }
  sink "file" { path = "${OUTPUT}" }
}
CONF
cp "$test_data/sample_inventory.csv" "$work/elsewhere/x.csv"
INPUT=x.csv OUTPUT=env.jsonl "$PIPELINED" --once -c ../etc/env.conf 2> "$work/log" \
  || { cat "$work/log"; fail "env run failed"; }
[ "$(count_lines "$work/elsewhere/env.jsonl")" -eq 21 ] || fail "a path from a variable did not follow the working directory"
pass "a relative path from \${VAR} is the working directory's"

# -c twice: two files make one config; a pipeline named in both is an error
# naming both places.
cat > "$work/etc/second.conf" <<CONF
pipeline "second" {
  source "file" { paths = ["$work/etc/in.csv"]; watch = false }
  transform "csv" { header = true }
  sink "file" { path = "$work/second.jsonl" }
}
CONF
"$PIPELINED" --once -c ../etc/main.conf -c "$work/etc/second.conf" 2> "$work/log" \
  || { cat "$work/log"; fail "two -c failed"; }
[ "$(count_lines "$work/second.jsonl")" -eq 21 ] || fail "the second file's pipeline did not run"
[ "$(count_lines "$work/etc/out.jsonl")" -eq 42 ] || fail "the first file's pipeline did not run"
set +e
"$PIPELINED" --check -c ../etc/main.conf -c "$work/etc/conf.d/10-local.conf" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || { cat "$work/err"; fail "a pipeline defined twice exits $rc"; }
expect_contains "$work/err" "10-local.conf:1:1: pipeline \"local\" is defined twice (first at ../etc/conf.d/10-local.conf:1:1)"
pass "-c given twice merges; a name defined twice names both places"

# A stage that cannot start up, in an included file: its error names that
# file, not the one given with -c.
mkdir -p "$work/bad/conf.d"
printf 'log_level = "info"\n\ninclude "conf.d/*.conf"\n' > "$work/bad/main.conf"
cat > "$work/bad/conf.d/p.conf" <<CONF
# The stage below is on line 5.

pipeline "p" {
  source "file" { paths = ["$work/etc/in.csv"]; watch = false }
  transform "csv" { header = false }
  sink "file" { path = "$work/bad.jsonl" }
}
CONF
set +e
"$PIPELINED" --check -c "$work/bad/main.conf" 2> "$work/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || { cat "$work/err"; fail "a stage that cannot initialise passed --check"; }
expect_contains "$work/err" "$work/bad/conf.d/p.conf:5:3: pipeline \"p\": transform-csv: cannot initialise"
pass "a stage's start-up error names the included file it is in"

# -c -: the config from standard input (relative paths: the working
# directory's), which a reload cannot read again.
sed "s|../out.jsonl|$work/stdin.jsonl|; s|../in.csv|$work/etc/in.csv|" \
  "$work/etc/conf.d/10-local.conf" | "$PIPELINED" --once -c - 2> "$work/log" \
  || { cat "$work/log"; fail "-c - failed"; }
[ "$(count_lines "$work/stdin.jsonl")" -eq 21 ] || fail "-c - did not run"
printf 'pipeline "p" {\n  source "nope" { }\n' | { "$PIPELINED" --check -c - 2> "$work/err" && fail "bad stdin accepted"; } || true
expect_contains "$work/err" "<stdin>:"
pass "-c - reads the config from standard input"

# --describe with -c: the config's plugin_path (a relative one: its file's
# neighbour) finds plugins that no other path has.
ln -s "$PIPELINED_TEST_PLUGIN_DIR" "$work/etc/test-plugins"
echo 'plugin_path = ["test-plugins"]' > "$work/etc/plugins.conf"
"$PIPELINED" --describe source-good -c ../etc/plugins.conf > "$work/out" 2>&1 \
  || { cat "$work/out"; fail "--describe -c did not find the plugin"; }
set +e
"$PIPELINED" --describe source-good > "$work/out2" 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "source-good found without the config's plugin_path"
pass "--describe NAME -c FILE searches that config's plugin_path"

# A daemon whose config came from standard input cannot reload it.
sed "s|../out.jsonl|$work/stdin2.jsonl|; s|../in.csv|$work/etc/in.csv|" \
  "$work/etc/conf.d/10-local.conf" > "$work/stdin.conf"
"$PIPELINED" -c - < "$work/stdin.conf" 2> "$work/daemon.log" &
pid=$!
cleanup_pids+=("$pid")
wait_lines "$work/stdin2.jsonl" -eq 21 || { cat "$work/daemon.log"; fail "-c - daemon did not run"; }
kill -HUP "$pid"
wait_for grep -qF "reload refused" "$work/daemon.log" || { cat "$work/daemon.log"; fail "no refusal"; }
expect_contains "$work/daemon.log" "the config was read from standard input (-c -), which cannot be read again: restart the daemon"
kill -TERM "$pid"; wait "$pid"
pass "a reload of a config read from standard input is refused"
