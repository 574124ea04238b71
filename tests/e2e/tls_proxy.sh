#!/usr/bin/env bash
# tests/tools/tls_proxy.py, the loopback TLS terminator that the tests of
# pipelined's own TLS client put in front of bench/tools/fake_aws, works
# as they need, checked with curl(1):
#   - with the test CA (tests/data/tls/ca.pem), https://127.0.0.1:P and
#     https://localhost:P answer exactly what fake_aws answers over http;
#   - a keep-alive connection carries several requests (one connect);
#   - a client without the test CA is refused (curl exit 60), and so is a
#     name the certificate does not hold (wrong.pem for localhost), while
#     the proxy goes on serving;
#   - SIGTERM ends it with status 0, and fake_aws counted every request.
. "$(dirname "$0")/lib.sh"

command -v curl > /dev/null || fail "curl(1) is needed"
tls="$test_data/tls"

start_fake_aws

# ask URL [CURL ARGS...]: a GetQueueAttributes request; the answer in
# $work/answer.
ask() {
  local url=$1
  shift
  curl -sS -o "$work/answer" -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
    -H 'Content-Type: application/x-amz-json-1.0' -d '{"QueueUrl":"q"}' "$@" "$url"
}

start_tls_proxy server
ask "http://127.0.0.1:$fake_port/"
mv "$work/answer" "$work/direct"
[ -s "$work/direct" ] || fail "fake_aws answered nothing"
for host in 127.0.0.1 localhost; do
  ask "https://$host:$port/" --cacert "$tls/ca.pem" || fail "https://$host:$port/ failed with the test CA"
  cmp -s "$work/direct" "$work/answer" || fail "https://$host:$port/ answered $(cat "$work/answer")"
done
pass "https://127.0.0.1:$port and https://localhost:$port answer what fake_aws answers"

# Three requests on one keep-alive connection: one connect, then none.
connects=$(curl -sS -o /dev/null -o /dev/null -o /dev/null --cacert "$tls/ca.pem" \
  -H 'X-Amz-Target: DynamoDB_20120810.UpdateItem' -d '{}' -w '%{http_code}:%{num_connects} ' \
  "https://127.0.0.1:$port/" "https://127.0.0.1:$port/" "https://127.0.0.1:$port/")
[ "$connects" = "200:1 200:0 200:0 " ] || fail "keep-alive: $connects"
pass "keep-alive: three requests on one connection ($connects)"

# A client without the test CA: refused by curl's verification (60).
rc=0
ask "https://127.0.0.1:$port/" 2> "$work/curl.err" || rc=$?
[ "$rc" = 60 ] || { cat "$work/curl.err"; fail "without the test CA curl exited $rc, expected 60"; }
ask "https://127.0.0.1:$port/" --cacert "$tls/ca.pem" || fail "the proxy stopped after a refused client"
pass "a client without the test CA is refused, the proxy goes on"

stop_tls_proxy

# The certificate of another name: curl refuses localhost (60).
start_tls_proxy wrong
rc=0
ask "https://localhost:$port/" --cacert "$tls/ca.pem" 2> "$work/curl.err" || rc=$?
[ "$rc" = 60 ] || { cat "$work/curl.err"; fail "wrong.pem for localhost: curl exited $rc, expected 60"; }
curl -sS -o /dev/null --cacert "$tls/ca.pem" --resolve "wrong.example:$port:127.0.0.1" \
  -H 'X-Amz-Target: DynamoDB_20120810.UpdateItem' -d '{}' "https://wrong.example:$port/" \
  || fail "wrong.example (resolved to 127.0.0.1) was refused"
stop_tls_proxy
pass "a name the certificate lacks is refused, its own name passes"

stop_fake_aws
# GetQueueAttributes: direct 1, proxied 2, and 1 after the refusal (the
# refused ones never reached it); UpdateItem: 3 on one connection, and
# wrong.example's.
python3 - "$work/stats.json" <<'EOF' || { cat "$work/stats.json"; fail "fake_aws's counts"; }
import json, sys
requests = json.load(open(sys.argv[1]))["requests"]
assert requests.get("GetQueueAttributes") == 4, requests
assert requests.get("UpdateItem") == 4, requests
EOF
pass "fake_aws counted every request that went through"
