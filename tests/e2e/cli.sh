#!/usr/bin/env bash
# The command line: help, version, plugin listing and description, --check.
. "$(dirname "$0")/lib.sh"

"$PIPELINED" --help > "$work/help" || fail "--help exits non-zero"
expect_contains "$work/help" "--once"
"$PIPELINED" --version | grep -q "^pipelined " || fail "--version"

set +e
"$PIPELINED" --bogus 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an unknown option exits 2, got $rc"
pass "help, version, usage errors"

"$PIPELINED" --list-plugins > "$work/list"
for p in source-file transform-csv sink-file; do
  expect_contains "$work/list" "$p"
done
pass "--list-plugins lists the built plugins"

"$PIPELINED" --describe sink-file > "$work/describe"
expect_contains "$work/describe" "path"
expect_contains "$work/describe" "required"
expect_contains "$work/describe" "batch_size"
"$PIPELINED" --describe transform-csv --json > "$work/describe.json"
"$PIPELINED" --describe-json transform-csv | cmp -s - "$work/describe.json" \
  || fail "--describe-json differs from --describe --json"
python3 - "$work/describe.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["name"] == "transform-csv", doc
names = [o["name"] for o in doc["options"]]
assert "columns" in names and "delimiter" in names, names
for o in doc["options"]:
    assert o["description"], o
PY
"$PIPELINED" --describe-json=transform-csv | cmp -s - "$work/describe.json" \
  || fail "--describe-json=NAME differs from --describe NAME --json"
# Without a NAME: every plugin, as one document.
"$PIPELINED" --describe-json > "$work/all.json"
python3 - "$work/all.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
names = [p["name"] for p in doc["plugins"]]
assert "transform-csv" in names and "sink-file" in names, names
assert [o["name"] for o in doc["stage_options"]][0] == "batch_size", doc
PY
expect_contains "$work/describe" "range: at least 1"
set +e
"$PIPELINED" --describe sink-nothing 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--describe of a missing plugin exits $rc, want 2 (a usage error)"
expect_contains "$work/err" "no plugin sink-nothing"
for name in nosuch --json; do
  set +e
  "$PIPELINED" --describe "$name" 2> "$work/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "--describe $name exits $rc, want 2 (a usage error)"
  expect_contains "$work/err" "name a plugin as <kind>-<name>"
done
pass "--describe from the option tables"

# The aws { } block's settings, from the extension's own table, when the
# AWS plugins are built.
if "$PIPELINED" --list-plugins 2> /dev/null | grep "^sink-sqs " > /dev/null; then
  "$PIPELINED" --describe aws > "$work/aws" || fail "--describe aws exits non-zero"
  for want in "read by sink-dynamodb, sink-s3, sink-sqs, source-s3, source-sqs" \
              retry_mode ca_file "range: 1 to 100"; do
    expect_contains "$work/aws" "$want"
  done
  "$PIPELINED" --describe aws --json > "$work/aws.json"
  python3 - "$work/aws.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["name"] == "aws" and doc["kind"] == "extension", doc
names = [o["name"] for o in doc["options"]]
assert "region" in names and "max_attempts" in names, names
PY
  pass "--describe aws shows the aws block's settings"
fi

INPUT=x OUTPUT=y REJECTS=z "$PIPELINED" --check -c "$top_srcdir/etc/local.conf" > "$work/check"
expect_contains "$work/check" "ok"
pass "--check accepts etc/local.conf"

# --check --live: a file pipeline has nothing to check on AWS (every
# stage says so, and the run passes); --live and --strict need --check.
INPUT=x OUTPUT=y REJECTS=z "$PIPELINED" --check --live --strict \
  -c "$top_srcdir/etc/local.conf" > "$work/live"
expect_contains "$work/live" "-    pipeline local-inventory: source file: nothing to check live"
expect_contains "$work/live" "preflight: 0 ok, 0 warning(s), 0 failed"
for args in "--live" "--strict" "--check --strict"; do
  set +e
  # shellcheck disable=SC2086 # the words of $args, on purpose
  "$PIPELINED" $args -c "$top_srcdir/etc/local.conf" 2> "$work/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "$args without what it goes with exits $rc, not 2"
  expect_contains "$work/err" "goes with"
done
pass "--check --live on a file pipeline; --live and --strict need --check"

# A standard descriptor closed by the parent: it becomes /dev/null, and the
# run is the same as with it open (libuv used to abort closing fd 0-2).
for redirect in '<&-' '>&-' '2>&-'; do
  rm -f "$work/closed.jsonl"
  set +e
  eval 'INPUT=x OUTPUT=y REJECTS=z "$PIPELINED" --check \
    -c "$top_srcdir/etc/local.conf" > "$work/check" 2> "$work/err" '"$redirect"
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || { cat "$work/err"; fail "--check with $redirect exits $rc"; }
  [ "$redirect" = '>&-' ] || expect_contains "$work/check" "ok"
  set +e
  eval 'INPUT="$test_data/sample_inventory.csv" OUTPUT="$work/closed.jsonl" \
    REJECTS="$work/closed-bad.jsonl" "$PIPELINED" --once \
    -c "$top_srcdir/etc/local.conf" > "$work/out" 2> "$work/err" '"$redirect"
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || { cat "$work/err"; fail "--once with $redirect exits $rc"; }
  [ "$(count_lines "$work/closed.jsonl")" -eq 21 ] \
    || fail "--once with $redirect: expected 21 records"
  # Nothing but the run's summary line.
  [ "$redirect" = '2>&-' ] || [ "$(grep -vc ' info  pipeline "local-inventory": 1 group(s) committed' "$work/err")" -eq 0 ] \
    || { cat "$work/err"; fail "--once with $redirect logged something"; }
done
pass "--check and --once with stdin, stdout or stderr closed"

# --print-setting NAME: a top-level setting as the daemon reads the config
# (every -c file, their includes, ${VAR}s expanded), its default when
# unset, nothing when it has none; a config error or an unknown setting
# exits 2.
mkdir -p "$work/ps/conf.d"
printf 'include "conf.d/*.conf"\nshutdown_timeout = 5s\n' > "$work/ps/main.conf"
printf 'metrics_listen = "127.0.0.1:${PS_PORT:-9100}"\n' > "$work/ps/conf.d/m.conf"
printf 'pipeline "p" { source "file" { paths = ["x"] } sink "file" { path = "y" } }\n' > "$work/ps/p.conf"
out=$(PS_PORT=9333 "$PIPELINED" --print-setting metrics_listen -c "$work/ps/main.conf" -c "$work/ps/p.conf")
[ "$out" = "127.0.0.1:9333" ] || fail "--print-setting metrics_listen printed '$out'"
out=$("$PIPELINED" -c "$work/ps/main.conf" --print-setting shutdown_timeout)
[ "$out" = "5s" ] || fail "--print-setting shutdown_timeout printed '$out'"
out=$("$PIPELINED" -c "$work/ps/p.conf" --print-setting memory_limit)
[ "$out" = "0" ] || fail "--print-setting of an unset setting printed '$out', not its default"
out=$("$PIPELINED" -c "$work/ps/p.conf" --print-setting metrics_listen)
[ -z "$out" ] || fail "--print-setting of an unset setting without a default printed '$out'"
set +e
"$PIPELINED" -c "$work/ps/p.conf" --print-setting metrics_lisen 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--print-setting of an unknown setting exits $rc, not 2"
expect_contains "$work/err" "no top-level setting metrics_lisen (did you mean metrics_listen?)"
set +e
"$PIPELINED" -c "$work/ps/main.conf" -c "$work/ps/main.conf" --print-setting metrics_listen > "$work/out" 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && [ ! -s "$work/out" ] || fail "--print-setting of a config in error exits $rc"
expect_contains "$work/err" "duplicate setting 'metrics_listen'"
set +e
"$PIPELINED" --print-setting metrics_listen 2> "$work/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "--print-setting without -c exits $rc, not 2"
pass "--print-setting prints a top-level setting as the daemon reads it"
