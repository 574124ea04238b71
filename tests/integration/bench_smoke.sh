#!/usr/bin/env bash
# The benchmark suite keeps working: bench/run --smoke (small sizes, one run
# each, on fauxqs + dynalite) into a work directory. Asserts that it exited
# 0, that results.json parses, that the sections that always run (parse,
# producer, baseline, memory) and those whose script exists (consumer:
# bench/consumer, on_fake: bench/on-fake, floor: bench/floor, far_away:
# bench/far-away) each
# have rows, every row with
# a positive row count and peak RSS and its CPU seconds (positive in at
# least one row of each section), that the parse path ran
# for pipelined and Python, that the memory section has the consumer with
# a stalled sink (bench/stalled, when it exists) and that the memory chart
# was drawn. It never
# asserts the figures themselves: they depend on the machine.
#
# Needs PIPELINED (make check sets it; bench/run uses its build directory,
# top_builddir) and the sink-sqs plugin; runs in the gcc build of
# scripts/test only. KEEP_WORK=1 keeps the work directory.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
: "${PIPELINED:?run through make check (PIPELINED is the daemon to test)}"
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
# shellcheck source=needs.sh
source "$here/needs.sh"
needs_full_build_and "the benchmark smoke test" sink-sqs

work=$(mktemp -d "${TMPDIR:-/tmp}/pipelined-bench-smoke.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

t0=$(date +%s)
BUILD=${top_builddir:-$(dirname "$PIPELINED")} "$top_srcdir/bench/run" --smoke --out "$work" \
  > "$work/run.log" 2>&1 || { tail -n 60 "$work/run.log" >&2; fail "bench/run --smoke exited non-zero"; }
echo "bench/run --smoke took $(($(date +%s) - t0)) s"
grep '^==== ' "$work/run.log"
sed -n '/^==== results/,$p' "$work/run.log"

expect=(parse producer baseline memory)
[ ! -x "$top_srcdir/bench/consumer" ] || expect+=(consumer)
[ ! -x "$top_srcdir/bench/far-away" ] || expect+=(far_away)
[ ! -x "$top_srcdir/bench/on-fake" ] || expect+=(on_fake)
[ ! -x "$top_srcdir/bench/floor" ] || expect+=(floor)
stalled=0
[ ! -x "$top_srcdir/bench/stalled" ] || stalled=1
python3 - "$work/results.json" "$stalled" "${expect[@]}" <<'PY' || fail "results.json is not what bench/run promises"
import json, sys
path, stalled, expect = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
data = json.load(open(path))
rows = data["rows"]
assert data["smoke"] is True, "not marked as a smoke run"
for section in expect:
    mine = [r for r in rows if r["section"] == section]
    assert mine, f"no rows for section {section}"
    for r in mine:
        for key in ("rows", "rss_mib"):
            assert isinstance(r.get(key), (int, float)) and r[key] > 0, f"{section} row without a positive {key}: {r}"
        # A section timed with time(1) (hundredths) may show 0.00 for a tiny run.
        assert isinstance(r.get("cpu_s"), (int, float)) and r["cpu_s"] >= 0, f"{section} row without cpu_s: {r}"
        assert r["tool"] and r["case"], f"{section} row without tool or case: {r}"
    assert any(r["cpu_s"] > 0 for r in mine), f"no {section} row with positive CPU seconds"
far = [r for r in rows if r["section"] == "far_away"]
if far:
    cases = {(r["case"].split()[0], r.get("max_in_flight")) for r in far if r.get("concurrency") == "fixed"}
    for kind in ("producer", "put", "update"):
        for mif in (4, 64):
            assert (kind, mif) in cases, f"far_away: no fixed run of {kind} at max_in_flight {mif}"
    for r in far:
        assert r["rows_per_s"] > 0 and r["wall_s"] > 0, f"far_away row without rows/s or wall: {r}"
fake = {(r["tool"], r["case"].split(":")[0].split()[0]) for r in rows if r["section"] == "on_fake"}
if "on_fake" in expect:
    for want in (("pipelined", "producer"), ("pipelined", "consumer"), ("boto3", "producer"), ("boto3", "consumer")):
        assert want in fake, f"on_fake: no {want[0]} {want[1]} row: {sorted(fake)}"
    assert sum(1 for r in rows if r["section"] == "on_fake" and r["tool"] == "pipelined") == 4, \
        "on_fake: not the producer, both consumer modes and batch_updates"
if "floor" in expect:
    floor = {r["case"] for r in rows if r["section"] == "floor"}
    for path in ("producer", "put", "update", "batched"):
        assert f"floor: {path}" in floor, f"floor: no row for the {path} path: {sorted(floor)}"
    ops = [r for r in rows if r["section"] == "floor" and not r["case"].startswith("floor:")]
    assert len(ops) == 6 and all(r["us_per_row"] > 0 for r in ops), f"floor: not six operations with a cost: {ops}"
tools = {r["tool"] for r in rows if r["section"] == "parse"}
assert {"pipelined", "python"} <= tools, f"parse path ran for {tools} only"
if stalled:
    cases = {r["case"] for r in rows if r["section"] == "memory"}
    assert any(c.startswith("consumer: sink stalled") and "memory_limit" in c for c in cases) \
        and any(c.startswith("consumer: sink stalled") and "memory_limit" not in c for c in cases), \
        f"no consumer with a stalled sink, with and without memory_limit, in the memory section: {cases}"
print(f"results.json: {len(rows)} rows in sections {sorted({r['section'] for r in rows})}")
PY
grep -q '^| comparison ' "$work/run.log" || fail "no table of ratios printed"
grep -q '<svg' "$work/bench-memory.svg" || fail "the memory chart was not drawn"
echo "PASS: bench/run --smoke ran every section and wrote figures"
