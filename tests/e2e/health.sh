#!/usr/bin/env bash
# /healthz tells the truth: a daemon whose sink cannot write (an SQS
# endpoint on a closed loopback port) answers 503 with JSON naming the
# stage and its last error once unhealthy_after has passed, while /readyz
# says it started; and rows that transform-csv rejects are counted on the
# transform. Nothing leaves loopback: the "AWS" endpoint is a closed port.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
closed=$(free_port) # nothing listens there
mkdir -p "$work/in"
printf 'product_id,location,quantity,update_date\nP1,A,1,2023-05-01\nP2,B,lots,2023-05-02\n' > "$work/in/a.csv"
sqs_unreachable_config "$port" "$closed" "$work/in" "$work/rejects.jsonl" > "$work/h.conf"
AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_EC2_METADATA_DISABLED=true \
  "$PIPELINED" -c "$work/h.conf" 2> "$work/log" &
pid=$!
cleanup_pids+=("$pid")

wait_for curl -sf "http://127.0.0.1:$port/readyz" -o "$work/ready" || { cat "$work/log"; fail "/readyz"; }
expect_contains "$work/ready" "ready"

# 503 within unhealthy_after plus the retries' backoff.
unhealthy() {
  code=$(curl -s -o "$work/health" -w '%{http_code}' "http://127.0.0.1:$port/healthz")
  [ "$code" = 503 ]
}
wait_for unhealthy || { cat "$work/log" "$work/health"; fail "/healthz never said 503 while every write failed"; }
python3 - "$work/health" <<'PY' || fail "the unhealthy answer is not the JSON that names the stage"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "unhealthy", d
assert (d["pipeline"], d["stage"], d["plugin"]) == ("h", "sink", "sink-sqs"), d
assert d["failing_for_ms"] >= 1000, d
assert "connection failed" in d["last_error"] or "ConnectionError" in d["last_error"], d
PY
pass "/healthz answers 503 naming sink-sqs once its writes have failed for unhealthy_after; /readyz 200"

curl -sf "http://127.0.0.1:$port/metrics" -o "$work/metrics" || fail "/metrics"
expect_contains "$work/metrics" 'pipelined_rejected_total{pipeline="h",stage="transform",plugin="transform-csv",reason="invalid_row"} 1'
pass "a row rejected by transform-csv is counted on the transform"

# The AWS layer's own families: every failed SendMessageBatch attempt is a
# network error of sqs, and its latency is in the histogram.
python3 "$top_srcdir/tests/tools/prom_check.py" "$work/metrics" || { cat "$work/metrics"; fail "/metrics is not well formed"; }
python3 - "$work/metrics" <<'PY' || { cat "$work/metrics"; fail "no AWS request metrics"; }
import re, sys
text = open(sys.argv[1]).read()
def value(series):
    m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
    assert m, series
    return float(m.group(1))
labels = 'service="sqs",operation="SendMessageBatch"'
errors = value('pipelined_aws_request_errors_total{%s,class="network"}' % labels)
count = value('pipelined_aws_request_duration_seconds_count{%s}' % labels)
inf = value('pipelined_aws_request_duration_seconds_bucket{%s,le="+Inf"}' % labels)
assert errors >= 2 and count >= errors and inf == count, (errors, count, inf)
assert value('pipelined_aws_request_errors_total{%s,class="5xx"}' % labels) == 0
PY
pass "AWS request latency and errors by class are on /metrics"

kill -TERM "$pid"
wait "$pid" || true
