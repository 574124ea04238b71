#!/usr/bin/env bash
# pipelined --check --live names where each AWS setting came from (profile,
# region, endpoint, max_attempts, retry_mode) with "info aws:" lines, and
# never a secret; a bad AWS_RETRY_MODE is an error naming it. Nothing
# leaves loopback: the "AWS" endpoint is a closed loopback port, so the
# live checks themselves fail, which is not what this test looks at.
. "$(dirname "$0")/lib.sh"

closed=$(free_port) # nothing listens there
cat > "$work/aws-config" <<'INI'
# pipelined test profile
[profile prod]
retry_mode = legacy
INI
cat > "$work/s.conf" <<CONF
pipeline "s" {
  source "file" { paths = ["$work/in"] }
  sink "sqs" { queue_url = "http://127.0.0.1:$closed/000000000000/updates" }
}
CONF
mkdir -p "$work/in"
canary="canary-secret-$$-do-not-print"
run_check() {
  set +e
  env -i PATH="$PATH" HOME="$work" \
    PIPELINED_PLUGIN_PATH="$PIPELINED_PLUGIN_PATH" \
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY="$canary" \
    AWS_EC2_METADATA_DISABLED=true AWS_REGION=eu-west-1 \
    AWS_ENDPOINT_URL="http://127.0.0.1:$closed" \
    AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_PROFILE=prod AWS_MAX_ATTEMPTS=1 "$@" \
    "$PIPELINED" --check --live -c "$work/s.conf" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
}

run_check
[ "$rc" -eq 1 ] || { cat "$work/out" "$work/err"; fail "--check --live against a closed port exits $rc, not 1"; }
for line in \
  "info aws: profile prod (from AWS_PROFILE)" \
  "info aws: region eu-west-1 (from AWS_REGION)" \
  "info aws: sqs endpoint http://127.0.0.1:$closed (from AWS_ENDPOINT_URL)" \
  "info aws: max_attempts 1 (from AWS_MAX_ATTEMPTS)" \
  "info aws: retry_mode legacy (from profile prod in $work/aws-config line 3)" \
  "ok   aws: credentials from environment"; do
  grep -qxF "$line" "$work/out" || { cat "$work/out"; fail "no line '$line'"; }
done
! grep -q "$canary" "$work/out" "$work/err" || fail "the secret key was printed"
pass "--check --live says where each AWS setting came from, without secrets"

# The environment's retry mode wins over the profile's; a bad one is named.
run_check AWS_RETRY_MODE=standard
grep -qxF "info aws: retry_mode standard (from AWS_RETRY_MODE)" "$work/out" \
  || { cat "$work/out"; fail "AWS_RETRY_MODE does not win over the profile"; }
run_check AWS_RETRY_MODE=sometimes
[ "$rc" -eq 1 ] || fail "a bad AWS_RETRY_MODE exits $rc, not 1"
grep -qF "AWS_RETRY_MODE=sometimes: expected legacy, standard or adaptive" \
  "$work/err" || { cat "$work/out" "$work/err"; fail "the bad AWS_RETRY_MODE is not named"; }
! grep -q "$canary" "$work/out" "$work/err" || fail "the secret key was printed"
pass "AWS_RETRY_MODE over the profile's retry_mode; a bad value is named"
