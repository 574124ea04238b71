# Shared by the bench/ scripts (sourced, not run).
# shellcheck shell=bash
#
#   bench_build            sets build, bin (the real binary, not libtool's
#                          wrapper, so that time(1) measures it) and exports
#                          PIPELINED_PLUGIN_PATH and LD_LIBRARY_PATH; BUILD
#                          names the build directory (default: build/gcc,
#                          else the source tree). Needs $top.
#   bench_gen_csv N FILE   N generated inventory rows with a header
#                          (product_id,location,quantity,update_date)
#   bench_timed OUT CMD... runs CMD under bench/timed.py (/usr/bin/time with
#                          microseconds); OUT gets "wall user sys
#                          peak_rss_kib" of CMD's own process
#   bench_row SECTION TOOL CASE ROWS TIMEFILE [EXTRA]
#                          prints one row of the benchmark JSON (see
#                          bench/run) from a TIMEFILE as bench_timed writes
#                          it; EXTRA: more members, e.g. '"requests": {...}'
#   bench_json_array FILE  reads rows (one per line) on stdin and writes
#                          them to FILE as a JSON array
#   bench_consumer_confs DIR
#                          writes DIR/update.conf and DIR/put.conf: the aws
#                          block and the consumer pipeline of
#                          etc/inventory.conf (update mode, as configured
#                          there), and the same in put mode without
#                          newer_than (BatchWriteItem has no conditions),
#                          each with wait_time = "1s"
#   bench_fake_confs DIR   the configurations run against fake_aws
#                          (bench/on-fake, bench/floor), each with
#                          log_level = "warn": DIR/producer.conf
#                          (etc/file-to-sqs.conf), and from
#                          bench_consumer_confs DIR/consumer-put.conf,
#                          DIR/consumer-update.conf and
#                          DIR/consumer-batched.conf (update mode with
#                          batch_updates = true)
#   bench_fake_start CMD...
#                          starts fake_aws (CMD: its path and arguments) in
#                          the background, its output in $work/fake.out;
#                          sets fake_pid and fake_port (the first line it
#                          prints) and exports AWS_ENDPOINT_URL; fails when
#                          it prints no port within 30 s. Needs $work.
#   bench_fake_stop        stops it (SIGTERM), fails when it exited
#                          non-zero, writes its counts (the last line it
#                          prints) to $work/stats.json and empties fake_pid
#   bench_perf PID SUFFIX  attaches perf to PID in the background when the
#                          caller's environment asks: PERF_DATA=FILE records
#                          a profile (perf record -g) into FILE$SUFFIX,
#                          PERF_STAT=FILE counts (task clock, context
#                          switches, system calls; each call by name with
#                          PERF_STAT_SYSCALLS=1) into FILE$SUFFIX; sets
#                          perf to perf's PID (empty when neither is set):
#                          wait for it after PID ends; perf's own errors
#                          (not installed, not allowed) go to stderr

bench_build() {
  build=${BUILD:-}
  if [ -z "$build" ]; then
    local d
    for d in "${top:?}/build/gcc" "$top"; do [ -x "$d/pipelined" ] && build=$d && break; done
  fi
  if [ -z "$build" ] || [ ! -x "$build/pipelined" ]; then echo "build pipelined first" >&2; exit 1; fi
  export PIPELINED_PLUGIN_PATH="$build/plugins"
  bin="$build/.libs/pipelined"; [ -x "$bin" ] || bin="$build/pipelined"
  export LD_LIBRARY_PATH="$build/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

bench_gen_csv() {
  awk -v n="$1" 'BEGIN { print "product_id,location,quantity,update_date";
    for (i = 0; i < n; i++) printf "P%07d,Warehouse %c,%d,2023-%02d-%02d\n", i, 65 + i % 3, i % 1000, 1 + i % 12, 1 + i % 28 }' \
    > "$2"
}

bench_consumer_confs() {
  local dir=$1
  awk '/^aws \{/,/^\}/ { print } /^pipeline "sqs-to-dynamodb"/ { p = 1 } p' \
    "${top:?}/etc/inventory.conf" > "$dir/update.conf"
  grep -q 'mode *= *"update"' "$dir/update.conf" || { echo "etc/inventory.conf changed: no update mode" >&2; exit 1; }
  # A stopping source-sqs (SIGTERM, or --once at an empty queue) waits for
  # its long polls to end (wait_time, 20 s by default) so that what they
  # bring is released at once. A 1 s wait_time makes that stop quick; it
  # changes nothing while the queue has messages (every receive returns at
  # once with 10).
  # shellcheck disable=SC2016 # the config's own ${...}, not the shell's
  sed -i 's|^\( *\)queue_url *= *"${INVENTORY_UPDATES_QUEUE_URL}"|&\n\1wait_time = "1s"|' "$dir/update.conf"
  grep -q 'wait_time = "1s"' "$dir/update.conf" || { echo "etc/inventory.conf changed: no queue_url line" >&2; exit 1; }
  sed -e 's/mode *= *"update"/mode = "put"/' -e '/newer_than *=/d' "$dir/update.conf" > "$dir/put.conf"
}

bench_fake_confs() {
  local dir=$1 mode
  { echo 'log_level = "warn"'; cat "${top:?}/etc/file-to-sqs.conf"; } > "$dir/producer.conf"
  bench_consumer_confs "$dir"
  for mode in put update; do
    { echo 'log_level = "warn"'; cat "$dir/$mode.conf"; } > "$dir/consumer-$mode.conf"
  done
  sed 's/^\( *\)mode *= *"update"/&\n\1batch_updates = true/' "$dir/consumer-update.conf" \
    > "$dir/consumer-batched.conf"
  grep -q 'batch_updates = true' "$dir/consumer-batched.conf" || { echo "etc/inventory.conf changed: no update mode line" >&2; exit 1; }
}

bench_fake_start() {
  # Not truncated by the background job's redirection, which may come
  # after the check below: the last run's port would be read.
  rm -f "${work:?}/fake.out"
  "$@" > "$work/fake.out" &
  fake_pid=$!
  local _i
  for _i in $(seq 1 600); do [ -s "$work/fake.out" ] && break; sleep 0.05; done
  fake_port=$(head -n 1 "$work/fake.out")
  [ -n "$fake_port" ] || { echo "$1 did not start" >&2; exit 1; }
  AWS_ENDPOINT_URL="http://127.0.0.1:$fake_port"
  export AWS_ENDPOINT_URL
}

bench_fake_stop() {
  kill -TERM "$fake_pid"
  wait "$fake_pid" || { echo "fake_aws exited non-zero" >&2; exit 1; }
  fake_pid=
  tail -n 1 "$work/fake.out" > "$work/stats.json"
}

bench_timed() {
  local out=$1; shift
  python3 "$top/bench/timed.py" "$out" "$@"
}

bench_row() {
  local section=$1 tool=$2 case=$3 rows=$4 extra=${6:-} wall user sys rss
  read -r wall user sys rss < "$5"
  awk -v s="$section" -v t="$tool" -v c="$case" -v n="$rows" -v w="$wall" -v u="$user" \
      -v y="$sys" -v r="$rss" -v x="$extra" 'BEGIN {
    cpu = u + y
    printf "{\"section\": \"%s\", \"tool\": \"%s\", \"case\": \"%s\", \"rows\": %d, ", s, t, c, n
    printf "\"wall_s\": %.3f, \"cpu_s\": %.3f, \"us_per_row\": %.3f, \"rss_mib\": %.1f, ", w, cpu, cpu / n * 1e6, r / 1024
    printf "\"rows_per_s\": %.0f%s}\n", (w > 0 ? n / w : 0), (x == "" ? "" : ", " x)
  }'
}

bench_json_array() {
  awk 'BEGIN { printf "[" } { printf "%s\n  %s", (NR > 1 ? "," : ""), $0 } END { print "\n]" }' > "$1"
}

# shellcheck disable=SC2034 # perf is the caller's
bench_perf() {
  local pid=$1 suffix=$2
  perf=
  if [ -n "${PERF_DATA:-}" ]; then
    perf record -q -g -o "$PERF_DATA$suffix" -p "$pid" &
    perf=$!
  elif [ -n "${PERF_STAT:-}" ]; then
    perf stat -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
      ${PERF_STAT_SYSCALLS:+-e 'syscalls:sys_enter_*'} -o "$PERF_STAT$suffix" -p "$pid" &
    perf=$!
  fi
}
