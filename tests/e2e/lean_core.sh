#!/usr/bin/env bash
# The core does not carry the AWS layer: libpipelined needs no libcurl,
# expat, libcrypto or libssl; libpipelined-aws needs expat, libcrypto and
# libssl, and only the AWS plugins link it. libcurl no one links: the curl
# transport opens it at its first request (src/aws/curl_api.c), which the
# builtin client leaves to bodies over 1 MiB (S3 parts) and proxies. A
# file-to-file daemon never maps any of them; one with an AWS sink maps
# all but libcurl.
# pipelined-aws.pc is installed beside pipelined.pc.
. "$(dirname "$0")/lib.sh"

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
aws_deps='^lib(curl|expat|crypto|ssl)\.'

core="$top_builddir/.libs/libpipelined.so"
aws="$top_builddir/.libs/libpipelined-aws.so"
[ -f "$core" ] && [ -f "$aws" ] || fail "libraries not built ($core, $aws)"
needed "$core" > "$work/core.needed"
if grep -Eq "$aws_deps" "$work/core.needed"; then
  cat "$work/core.needed"; fail "libpipelined links an AWS dependency"
fi
pass "libpipelined needs $(tr '\n' ' ' < "$work/core.needed")"
needed "$aws" > "$work/aws.needed"
for lib in libexpat libcrypto libssl libpipelined.so; do
  grep -q "^$lib" "$work/aws.needed" || { cat "$work/aws.needed"; fail "libpipelined-aws does not link $lib"; }
done
if grep -q "^libcurl" "$work/aws.needed"; then
  cat "$work/aws.needed"; fail "libpipelined-aws links libcurl"
fi
pass "libpipelined-aws links expat, libcrypto, libssl and libpipelined, not libcurl"

plugins="$top_builddir/plugins/.libs"
for p in source-file transform-csv transform-schema sink-file; do
  [ -f "$plugins/$p.so" ] || continue
  if needed "$plugins/$p.so" | grep -Eq "^libpipelined-aws|$aws_deps"; then
    fail "$p links the AWS layer"
  fi
done
for p in source-sqs source-s3 sink-sqs sink-dynamodb sink-s3; do
  [ -f "$plugins/$p.so" ] || continue
  needed "$plugins/$p.so" | grep -q "^libpipelined-aws" || fail "$p does not link libpipelined-aws"
done
pass "only the AWS plugins link libpipelined-aws"

# maps_of CONF SINK: the libraries a daemon running CONF has mapped, read
# once it has loaded plugin SINK (the last of CONF's, with what it links)
# and run a second more. (It logs no line when it has started.)
maps_of() {
  "$PIPELINED" -c "$1" 2> "$work/log" &
  local pid=$!
  cleanup_pids+=("$pid")
  wait_for grep -q "/$2\.so\$" "/proc/$pid/maps" ||
    { cat "$work/log" >&2; fail "the daemon for $1 did not load $2 within 20 s"; }
  sleep 1
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; fail "the daemon for $1 exited"; }
  awk '{print $6}' "/proc/$pid/maps" | grep '\.so' | sort -u
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

mkdir -p "$work/in"
cat > "$work/file.conf" <<CONF
pipeline "copy" {
  source "file" { paths = ["$work/in"] }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
maps_of "$work/file.conf" sink-file > "$work/file.maps"
if grep -Eq '/lib(curl|expat|crypto|ssl|pipelined-aws)\.' "$work/file.maps"; then
  grep -E 'curl|expat|crypto|ssl|aws' "$work/file.maps"
  fail "a file-to-file daemon loaded the AWS layer"
fi
pass "a file-to-file daemon maps no libcurl, expat, libcrypto, libssl or libpipelined-aws"

if [ -f "$plugins/sink-sqs.so" ]; then
  cat > "$work/sqs.conf" <<CONF
pipeline "to-sqs" {
  source "file" { paths = ["$work/in"] }
  sink "sqs" { queue_url = "http://127.0.0.1:9/000000000000/q" }
}
aws { region = "us-east-1"; endpoint = "http://127.0.0.1:9" }
CONF
  maps_of "$work/sqs.conf" sink-sqs > "$work/sqs.maps"
  grep -q 'libpipelined-aws\.' "$work/sqs.maps" || { cat "$work/sqs.maps"; fail "sink-sqs did not load libpipelined-aws"; }
  if grep -q 'libcurl\.' "$work/sqs.maps"; then
    fail "a daemon with an SQS sink mapped libcurl before any request needed it"
  fi
  pass "a daemon with an SQS sink maps libpipelined-aws, and not libcurl ($(wc -l < "$work/sqs.maps") libraries)"
fi

dest=$(installed_tree)
pcdir=$(dirname "$(find "$dest" -name pipelined-aws.pc | head -n 1)")
[ -f "$pcdir/pipelined-aws.pc" ] || fail "pipelined-aws.pc not installed"
libs=$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config --libs pipelined-aws)
case "$libs" in
  *-lpipelined-aws*-lpipelined*) pass "pkg-config --libs pipelined-aws: $libs" ;;
  *) fail "pkg-config --libs pipelined-aws gives '$libs'" ;;
esac
