#!/usr/bin/env bash
# memory_limit bounds the bytes the records hold. A fast source-file reads
# a 64 MiB file into a sink-file that writes to a FIFO nobody reads yet (the
# sink stalls), and the sink's queue and batches are configured to take the
# whole file. With memory_limit = 8MiB the source pauses at the budget: the
# daemon's peak RSS stays near its base plus the budget, and /metrics shows
# at most the limit plus one chunk held; the same for 200,000 CSV rows
# through transform-csv. Once the FIFO is read everything arrives, byte for
# byte. Without memory_limit the same run holds the file.
# Prints the figures (peak RSS with and without, and the daemon's base).
. "$(dirname "$0")/lib.sh"

# --describe settings and --check know the setting.
"$PIPELINED" --describe settings > "$work/settings"
expect_contains "$work/settings" "memory_limit         size      default: 0"
expect_contains "$work/settings" "sources pause at it and resume at 90% of it"
"$PIPELINED" --describe settings --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert any(o["name"] == "memory_limit" and o["type"] == "size" for o in doc["options"]), doc
' || fail "--describe settings --json has no memory_limit"
printf 'memory_limit = "lots"\npipeline "p" {\n  source "file" { paths = ["%s"] }\n  sink "file" { path = "-" }\n}\n' \
  "$work" > "$work/bad.conf"
set +e
"$PIPELINED" --check -c "$work/bad.conf" > "$work/check" 2>&1; rc=$?
set -e
[ "$rc" = 2 ] || { cat "$work/check"; fail "--check of a bad memory_limit exits $rc"; }
expect_contains "$work/check" "bad.conf:1:16: top level: option 'memory_limit' expects a size"
sed -i 's/"lots"/64MiB/' "$work/bad.conf"
"$PIPELINED" --check -c "$work/bad.conf" > "$work/check" 2>&1 \
  || { cat "$work/check"; fail "--check refuses memory_limit = 64MiB"; }
pass "--describe settings and --check know memory_limit"

mib=$((1024 * 1024))
limit=$((8 * mib))
mkdir -p "$work/in" "$work/empty"
python3 - "$work/in/big.txt" <<'PY'
import sys
line = b"%09d the quick brown fox jumps over the lazy dog, again and again\n"
with open(sys.argv[1], "wb") as f:
    n, size = 0, 0
    while size < 64 * 1024 * 1024:
        chunk = b"".join(line % (n + i) for i in range(10000))
        f.write(chunk)
        n += 10000
        size += len(chunk)
PY
size=$(stat -c %s "$work/in/big.txt")
# Rows parsed into JSON objects take more memory than their lines: 200,000
# rows of six fields through transform-csv.
mkdir -p "$work/csv"
python3 - "$work/csv/rows.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name,qty,price,city,note\n")
    for i in range(200000):
        f.write(f"{i},item-{i},{i % 100},{i % 1000}.25,city{i % 50},some note text\n")
PY

# config FILE INPUT_DIR OUTPUT [MEMORY_LIMIT] [csv]
config() {
  {
    echo "metrics_listen = \"127.0.0.1:$port\""
    [ -n "${4:-}" ] && echo "memory_limit = $4"
    echo "pipeline \"big\" {"
    echo "  source \"file\" { paths = [\"$2\"]; watch = false }"
    [ "${5:-}" = csv ] && echo "  transform \"csv\" { header = true; queue_size = 1000000 }"
    cat <<CONF
  # Room for the whole file in the queue and in each batch: only the
  # budget can hold the source back.
  sink "file" { path = "$3"; queue_size = 1000000; batch_size = 1000000
                batch_bytes = 1GiB; max_in_flight = 2 }
}
CONF
  } > "$1"
}

metric() { # metric NAME: its value in $work/metrics
  awk -v n="$1" '$1 == n { print $2 }' "$work/metrics"
}
scrape() { curl -sf "http://127.0.0.1:$port/metrics" -o "$work/metrics"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# The daemon's base: the same pipeline on an empty directory.
port=$(free_port)
config "$work/base.conf" "$work/empty" "$work/base.jsonl"
"$PIPELINED" -c "$work/base.conf" 2> "$work/base.log" &
pid=$!
cleanup_pids+=("$pid")
wait_for scrape || { cat "$work/base.log"; fail "no /metrics"; }
sleep 0.5
base_kib=$(hwm_kib "$pid")
kill -TERM "$pid"
wait "$pid" || { cat "$work/base.log"; fail "the idle daemon exited non-zero"; }

# run NAME [MEMORY_LIMIT [csv]]: a --once run into a FIFO that is read
# only once the source has stopped (at the budget, or at the end of the
# file); sets hwm_kib_<NAME> and leaves /metrics of that moment in
# $work/metrics.<NAME>. With csv, the CSV file through transform-csv.
run() {
  local name=$1 fifo="$work/$1.fifo" input="$work/in"
  [ "${3:-}" = csv ] && input="$work/csv"
  port=$(free_port)
  mkfifo "$fifo"
  # Opened for reading and writing: the daemon's open does not wait, and
  # nothing reads until cat does.
  exec 3<> "$fifo"
  config "$work/$name.conf" "$input" "$fifo" "${2:-}" "${3:-}"
  "$PIPELINED" --once -c "$work/$name.conf" 2> "$work/$name.log" &
  pid=$!
  cleanup_pids+=("$pid")
  if [ -n "${2:-}" ]; then
    # Paused for the budget, and nothing moves any more.
    wait_for eval 'scrape && [ "$(metric pipelined_memory_pauses_total)" -ge 1 ]' \
      || { cat "$work/$name.log"; fail "$name: the source never paused for the budget"; }
  else
    wait_for eval 'scrape && [ "$(metric "pipelined_plugin_bytes_read_total{pipeline=\"big\",stage=\"source\",plugin=\"source-file\"}")" = "$size" ]' \
      || { cat "$work/$name.log"; fail "$name: the file was not read"; }
  fi
  sleep 1
  scrape
  cp "$work/metrics" "$work/metrics.$name"
  eval "hwm_kib_$name=$(hwm_kib "$pid")"
  # Read the FIFO: everything must come out, then the daemon exits 0. The
  # reader is opened before the shell lets go of its end: the daemon never
  # sees a FIFO without a reader (a broken pipe).
  exec 4< "$fifo"
  cat <&4 4<&- 3<&- > "$work/$name.jsonl" &
  local reader=$!
  cleanup_pids+=("$reader")
  exec 3<&- 4<&-
  wait "$pid" || { cat "$work/$name.log"; fail "$name: the daemon exited non-zero"; }
  wait "$reader"
  expect_contains "$work/$name.log" "0 failed"
  if [ "${3:-}" = csv ]; then
    [ "$(count_lines "$work/$name.jsonl")" = 200000 ] || fail "$name: rows missing"
    [ "$(json_field "$work/$name.jsonl" 200000 id)" = 199999 ] || fail "$name: the last row"
    return
  fi
  python3 - "$work/$name.jsonl" "$work/in/big.txt" <<'PY' || fail "$name: the output is not the file"
import json, sys
out = b"".join(json.loads(line)["raw"].encode() for line in open(sys.argv[1]))
assert out == open(sys.argv[2], "rb").read(), (len(out),)
PY
}

run limited 8MiB
run unlimited
run csv 8MiB csv

cp "$work/metrics.limited" "$work/metrics"
held=$(metric pipelined_memory_held_bytes)
peak=$(metric pipelined_memory_held_peak_bytes)
[ "$(metric pipelined_memory_limit_bytes)" = "$limit" ] || fail "limit not reported"
# One chunk (64 KiB) and its record past the limit at most.
one=$((64 * 1024 + 256))
[ "$held" -le $((limit + one)) ] || fail "held $held bytes, over the limit"
[ "$held" -ge $((limit * 9 / 10)) ] || fail "held only $held bytes at the pause"
[ "$peak" -le $((limit + one)) ] || fail "peak of $peak bytes, over the limit"
cp "$work/metrics.unlimited" "$work/metrics"
held_unlimited=$(metric pipelined_memory_held_bytes)
[ "$(metric pipelined_memory_limit_bytes)" = 0 ] || fail "no limit should say 0"
[ "$(metric pipelined_memory_pauses_total)" = 0 ] || fail "paused without a limit"

cp "$work/metrics.csv" "$work/metrics"
peak_csv=$(metric pipelined_memory_held_peak_bytes)
# One chunk's rows past the limit at most (about 1,200 rows of 1 KiB).
[ "$peak_csv" -le $((limit + 2 * mib)) ] || fail "csv: peak of $peak_csv bytes, over the limit"

# shellcheck disable=SC2154 # set by run through eval
echo "memory_limit figures: file $((size / mib)) MiB; daemon base VmHWM $((base_kib / 1024)) MiB;" \
  "memory_limit=8MiB: VmHWM $((hwm_kib_limited / 1024)) MiB, held $((held / 1024)) KiB" \
  "(peak $((peak / 1024)) KiB); no limit: VmHWM $((hwm_kib_unlimited / 1024)) MiB," \
  "held $((held_unlimited / 1024)) KiB; 200,000 CSV rows, memory_limit=8MiB:" \
  "VmHWM $((hwm_kib_csv / 1024)) MiB, peak held $((peak_csv / 1024)) KiB"
# Near the budget: the base and the records, with room for what sink-file
# has encoded into its write buffer and for the allocator.
[ "$hwm_kib_limited" -le $((base_kib + 2 * limit / 1024 + 8 * 1024)) ] \
  || fail "peak RSS ${hwm_kib_limited} KiB is not near the budget (base ${base_kib} KiB)"
[ "$hwm_kib_csv" -le $((base_kib + 2 * limit / 1024 + 8 * 1024)) ] \
  || fail "csv: peak RSS ${hwm_kib_csv} KiB is not near the budget (base ${base_kib} KiB)"
# Without the budget the same run holds the file: the bound above is the
# budget's doing.
[ "$hwm_kib_unlimited" -ge $((base_kib + size / 1024 * 3 / 4)) ] \
  || fail "without memory_limit the run held less than the file (${hwm_kib_unlimited} KiB)"
pass "memory_limit holds a stalled pipeline near the budget and delivers everything"
