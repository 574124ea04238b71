# Shared helpers of the end-to-end tests (sourced). The test environment
# (Makefile.am) exports PIPELINED, PIPELINED_PLUGIN_PATH, top_srcdir and
# top_builddir.
set -euo pipefail

: "${PIPELINED:?run through make check}"
test_data="${PIPELINED_TEST_DATA:?run through make check}"
work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-e2e.XXXXXX")
cleanup_pids=()
cleanup() {
  for pid in "${cleanup_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# expect_contains FILE TEXT
expect_contains() {
  grep -qF -- "$2" "$1" || { echo "---- $1:"; cat "$1"; fail "$1 does not contain: $2"; }
}

# count_lines FILE
count_lines() { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# wait_for CMD... : retries for up to 20 s.
wait_for() {
  for _ in $(seq 1 200); do "$@" && return 0; sleep 0.1; done
  return 1
}

# json_field FILE N FIELD: FIELD of the Nth (1-based) JSON line.
json_field() {
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])-1])[sys.argv[3]])' "$@"
}

# wait_lines FILE OP N: waits until FILE's line count satisfies OP N
# (e.g. -ge 21), for up to 20 s.
wait_lines() {
  for _ in $(seq 1 200); do
    [ "$(count_lines "$1")" "$2" "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
