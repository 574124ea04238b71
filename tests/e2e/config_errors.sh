#!/usr/bin/env bash
# A bad config exits non-zero, names file:line:col, and starts nothing.
. "$(dirname "$0")/lib.sh"

check_error() { # CONFIG-TEXT EXPECTED-MESSAGE
  printf '%s\n' "$1" > "$work/bad.conf"
  set +e
  "$PIPELINED" --once -c "$work/bad.conf" > "$work/out" 2> "$work/err"; rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "config accepted: $1"
  expect_contains "$work/err" "$2"
}

check_error 'pipeline "p" {
  source "file" { paths = ["/dev/null"] }
  sink "file" { path = "'"$work"'/out.jsonl" }' \
  "bad.conf:1:14: "
check_error 'pipeline "p" {
  source "file" { pahts = ["x"] }
  sink "file" { path = "/tmp/x" }
}' 'bad.conf:2:19: pipeline "p": source "file": unknown option '"'pahts'"' (did you mean '"'paths'"'?)'
check_error 'pipeline "p" {
  source "file" { }
  sink "file" { path = "/tmp/x" }
}' "missing required option 'paths'"
check_error 'pipeline "p" {
  source "file" { paths = ["${PIPELINED_TEST_UNSET_VAR}"] }
  sink "file" { path = "/tmp/x" }
}' "PIPELINED_TEST_UNSET_VAR is not set"
check_error 'pipeline "p" {
  source "file" { paths = ["${PIPELINED_TEST_UNSET_VAR:?set it to the input directory}"] }
  sink "file" { path = "/tmp/x" }
}' "bad.conf:2:29: PIPELINED_TEST_UNSET_VAR: set it to the input directory"
check_error 'pipeline "p" {
  source "file" { paths = ["x"] }
  sink "file" { path = "/tmp/x"; batch_size = "lots" }
}' "bad.conf:3:47: pipeline \"p\": sink \"file\": option 'batch_size' expects an integer"
check_error 'pipeline "p" {
  source "file" { paths = ["x"] }
  transform "cvs" { }
  sink "file" { path = "/tmp/x" }
}' "bad.conf:3:3: pipeline \"p\": transform \"cvs\": no plugin transform-cvs"
pass "config errors name file:line:col and what was expected"

# A variable that is set but empty must not turn a path into "here": with
# INPUT= etc/local.conf would read the working directory, its own output
# included. Both --check and a run refuse it, naming the string.
paths_line=$(grep -n '^ *paths *= *\["\${INPUT}"\]' "$top_srcdir/etc/local.conf" | cut -d: -f1)
mkdir "$work/cwd"
printf 'product_id,location,quantity,update_date\nP1,A,1,2023-05-01\n' > "$work/cwd/in.csv"
for mode in --check --once; do
  set +e
  (cd "$work/cwd" && INPUT= OUTPUT=out.jsonl REJECTS=bad.jsonl \
     "$PIPELINED" "$mode" -c "$top_srcdir/etc/local.conf" > "$work/out" 2> "$work/err"); rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "$mode with an empty INPUT exited $rc, want 2 (a config error)"
  expect_contains "$work/err" "local.conf:$paths_line:17: pipeline \"local-inventory\": source \"file\": option 'paths' is empty"
  [ ! -e "$work/cwd/out.jsonl" ] || fail "$mode with an empty INPUT wrote out.jsonl"
done
set +e
INPUT=in.csv OUTPUT= REJECTS=bad.jsonl "$PIPELINED" --check -c "$top_srcdir/etc/local.conf" 2> "$work/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "--check accepted an empty OUTPUT"
expect_contains "$work/err" "sink \"file\": option 'path' is empty"
check_error 'pipeline "p" {
  source "file" { paths = ["x"]; state_dir = "" }
  sink "file" { path = "/tmp/x" }
}' "bad.conf:2:46: pipeline \"p\": source \"file\": option 'state_dir' is empty"
pass "an empty path (a variable set to nothing) is a config error at --check and at start"

set +e
"$PIPELINED" -c "$work/missing.conf" 2> "$work/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a missing config file is accepted"
expect_contains "$work/err" "missing.conf"
pass "a missing config file is an error naming it"

# An aws block in a config whose stages use no AWS plugin names the plugins
# that read it rather than leaving the user to guess what it belongs to.
if "$PIPELINED" --list-plugins 2> /dev/null | grep "^sink-sqs " > /dev/null; then
  check_error 'pipeline "p" {
  source "file" { paths = ["x"] }
  sink "file" { path = "/tmp/x" }
}
aws { region = "us-east-1" }' "bad.conf:5:1: top level: block 'aws' is read only by the plugins sink-dynamodb, sink-s3, sink-sqs, source-s3, source-sqs, and no stage of this config uses one"
  pass "an aws block without an AWS stage names the AWS plugins"
fi
