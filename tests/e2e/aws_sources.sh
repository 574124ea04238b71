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

# No region configured: the daemon asks instance metadata (IMDSv2, here a
# loopback fake that records what it was asked) and says so.
imds_port=$(free_port)
cat > "$work/imds.py" <<'PY'
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path,
                    self.headers.get("X-aws-ec2-metadata-token", "-")))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_PUT(self):
        self.answer(200, b"imds-token")
    def do_GET(self):
        if self.path == "/latest/meta-data/placement/region":
            self.answer(200, b"ap-southeast-2")
        else:
            self.answer(404, b"")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$work/imds.py" "$imds_port" "$work/imds.log" &
cleanup_pids+=("$!")
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $imds_port), 1)" 2>/dev/null && break
  sleep 0.1
done
run_check AWS_REGION= AWS_EC2_METADATA_DISABLED=false \
  AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds_port"
grep -qxF "info aws: region ap-southeast-2 (from instance metadata)" "$work/out" \
  || { cat "$work/out" "$work/err"; fail "the region does not come from instance metadata"; }
grep -qF "region ap-southeast-2 from instance metadata" "$work/err" \
  || { cat "$work/err"; fail "the log does not say where the region came from"; }
[ "$(cat "$work/imds.log")" = "PUT /latest/api/token -
GET /latest/meta-data/placement/region imds-token" ] \
  || { cat "$work/imds.log"; fail "instance metadata was not asked once, IMDSv2 style"; }
pass "without a configured region, the region of the instance (IMDSv2), once"

# Instance metadata off and no region: the error names every source.
run_check AWS_REGION=
[ "$rc" -eq 1 ] || fail "no region at all exits $rc, not 1"
grep -qF "no AWS region: not in the stage's region option, the aws {} block, AWS_REGION, AWS_DEFAULT_REGION or profile prod in $work/aws-config, nor from instance metadata (disabled by AWS_EC2_METADATA_DISABLED)" "$work/err" \
  || { cat "$work/out" "$work/err"; fail "the no-region error does not name every source"; }
pass "no region anywhere: one error naming every source tried"
