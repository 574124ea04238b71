#!/usr/bin/env bash
# The daemon's two HTTP clients (aws { http_client }) on the producer path
# (file -> csv -> sink-sqs) against bench/tools/fake_aws:
#   - builtin over http, and curl over http: every row delivered, one
#     SendMessageBatch per 10 rows; libcurl is loaded by the curl client's
#     first request, never by the builtin client's;
#   - an S3 object streamed by source-s3 (GetObject): the same rows with
#     either client, and libcurl loaded by the curl client only;
#   - builtin over https through tests/tools/tls_proxy.py with the test CA
#     (SSL_CERT_FILE): every row delivered;
#   - a certificate for another name (wrong.pem for localhost): no row gets
#     through and the log says why (certificate verify failed);
#   - aws { ca_file } instead of SSL_CERT_FILE, for both clients (libcurl
#     ignores SSL_CERT_FILE): every row delivered over https; a ca_file that
#     cannot be read or holds no certificate stops the start, named; a
#     relative one is relative to the config file's directory.
. "$(dirname "$0")/lib.sh"

tls="$test_data/tls"
export AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy

start_fake_aws

rows=345
awk -v n="$rows" 'BEGIN { print "product_id,location,quantity,update_date";
  for (i = 0; i < n; i++) printf "P%07d,Warehouse %c,%d,2023-%02d-%02d\n", i, 65 + i % 3, i % 1000, 1 + i % 12, 1 + i % 28 }' \
  > "$work/in.csv"

# producer CLIENT ENDPOINT [CA_FILE]: runs the producer once; its log in
# $work/producer.log, its status returned.
producer() {
  {
    cat <<EOF
aws {
  http_client = "$1"
  max_attempts = 1
  ${3:+ca_file = \"$3\"}
}
EOF
    producer_conf "$2/000000000000/bench" "endpoint = \"$2\"" "retry_limit = 0"
  } > "$work/producer.conf"
  rm -f "$work/rejects.jsonl"
  AWS_ENDPOINT_URL="$2" timeout 60 "$PIPELINED" --once -c "$work/producer.conf" 2> "$work/producer.log"
}

batches() {
  curl -sf "http://127.0.0.1:$fake_port/__stats" 2> /dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("SendMessageBatch", 0))'
}

# check_libcurl CLIENT WHAT: the dynamic loader's account of the libraries
# it opened ($work/ld.*, LD_DEBUG) names libcurl for the curl client and
# never for the builtin one; the count in $curl_opened.
check_libcurl() {
  curl_opened=$(cat "$work"/ld.* | grep -c 'file=libcurl\.so' || true)
  if [ "$1" = builtin ]; then
    [ "$curl_opened" = 0 ] || fail "builtin: $2 loaded libcurl ($curl_opened times)"
  else
    [ "$curl_opened" -gt 0 ] || fail "curl: libcurl was never loaded for $2"
  fi
}

# libcurl only where a request needs it, the curl client's.
for client in builtin curl; do
  before=$(batches)
  rm -f "$work"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld" producer "$client" "http://127.0.0.1:$fake_port" \
    || { cat "$work/producer.log"; fail "$client: the producer failed"; }
  [ ! -s "$work/rejects.jsonl" ] || fail "$client: rows were rejected"
  got=$(($(batches) - before))
  [ "$got" = $(((rows + 9) / 10)) ] || fail "$client: $got SendMessageBatch requests"
  check_libcurl "$client" "the producer"
  pass "http_client = $client over http: $rows rows in $got SendMessageBatch requests, the loader names libcurl $curl_opened time(s)"
done

# A download: source-s3 lists the fake's bucket and streams its object
# (1,000 rows, GetObject) into transform-csv. The builtin client streams
# it itself: libcurl is loaded only by the curl client.
for client in builtin curl; do
  cat > "$work/s3.conf" <<EOF
aws {
  http_client = "$client"
  endpoint = "http://127.0.0.1:$fake_port"
  max_attempts = 1
}
pipeline "s3" {
  source "s3" { bucket = "bench" }
  transform "csv" {
    header  = true
    columns = ["product_id:string", "location:string", "quantity:int",
               "update_date:date"]
  }
  sink "file" { path = "$work/s3-$client.jsonl" }
  dead_letter "file" { path = "$work/s3-rejects.jsonl" }
}
EOF
  rm -f "$work"/ld.*
  LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld" timeout 60 "$PIPELINED" --once -c "$work/s3.conf" \
    2> "$work/s3.log" || { cat "$work/s3.log"; fail "$client: the download failed"; }
  [ ! -s "$work/s3-rejects.jsonl" ] || fail "$client: rows of the object were rejected"
  got=$(wc -l < "$work/s3-$client.jsonl")
  [ "$got" = 1000 ] || fail "$client: $got rows of the object's 1000"
  check_libcurl "$client" "the download"
  pass "http_client = $client, an S3 download: $got rows; the loader names libcurl $curl_opened time(s)"
done
cmp -s "$work/s3-builtin.jsonl" "$work/s3-curl.jsonl" || fail "the two clients read the object differently"

export SSL_CERT_FILE="$tls/ca.pem"
start_tls_proxy server
before=$(batches)
producer builtin "https://localhost:$port" || { cat "$work/producer.log"; fail "builtin over https failed"; }
[ ! -s "$work/rejects.jsonl" ] || fail "https: rows were rejected"
got=$(($(batches) - before))
[ "$got" = $(((rows + 9) / 10)) ] || fail "https: $got SendMessageBatch requests"
pass "http_client = builtin over https (tls_proxy.py, the test CA): $rows rows in $got requests"
stop_tls_proxy

start_tls_proxy wrong
before=$(batches)
producer builtin "https://localhost:$port" && fail "a certificate for another name was accepted"
[ "$(($(batches) - before))" = 0 ] || fail "requests got through a certificate for another name"
grep -q "TLS handshake with localhost: certificate verify failed" "$work/producer.log" || { cat "$work/producer.log"; fail "the log does not say why"; }
pass "a certificate for another name: nothing sent, and the log says $(grep -o -m 1 'TLS handshake with localhost: certificate verify failed[^(]*' "$work/producer.log")"
stop_tls_proxy

unset SSL_CERT_FILE
start_tls_proxy server
for client in builtin curl; do
  before=$(batches)
  producer "$client" "https://localhost:$port" "$tls/ca.pem" ||
    { cat "$work/producer.log"; fail "$client over https with ca_file failed"; }
  [ ! -s "$work/rejects.jsonl" ] || fail "$client, ca_file: rows were rejected"
  got=$(($(batches) - before))
  [ "$got" = $(((rows + 9) / 10)) ] || fail "$client, ca_file: $got SendMessageBatch requests"
  pass "http_client = $client over https with aws { ca_file } (no SSL_CERT_FILE): $rows rows in $got requests"
done
echo "not a certificate" > "$work/bad.pem"
for ca in "$work/missing.pem" "$work/bad.pem"; do
  before=$(batches)
  producer builtin "https://localhost:$port" "$ca" && fail "ca_file $ca was accepted"
  [ "$(($(batches) - before))" = 0 ] || fail "ca_file $ca: requests were sent"
  grep -q "error \[aws:-\] ca_file: cannot load CA file $ca" "$work/producer.log" ||
    { cat "$work/producer.log"; fail "ca_file $ca: the log does not name it"; }
  pass "ca_file $(basename "$ca"): the daemon does not start, and says $(grep -o -m 1 'ca_file: cannot load.*' "$work/producer.log")"
done

# A relative ca_file is relative to the config file's directory, as every
# other path option is, whatever the working directory.
cp "$tls/ca.pem" "$work/ca.pem"
mkdir -p "$work/elsewhere"
before=$(batches)
(cd "$work/elsewhere" && producer builtin "https://localhost:$port" ca.pem) ||
  { cat "$work/producer.log"; fail "ca_file = \"ca.pem\" beside the config was not found from another directory"; }
got=$(($(batches) - before))
[ "$got" = $(((rows + 9) / 10)) ] || fail "relative ca_file: $got SendMessageBatch requests"
pass "a relative ca_file is read from the config file's directory"
